/* Unit tests of run planning: --shard parsing and selection, --filter and
 * --tag, plan order, machine names and output path components. */
#include <check.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "runner-internal.h"

START_TEST(test_plan_shard__parses_valid)
{
        RunShard s;
        ck_assert_int_eq(runner_shard_parse("1/2", &s), 0);
        ck_assert_uint_eq(s.index, 1);
        ck_assert_uint_eq(s.total, 2);
        ck_assert_int_eq(runner_shard_parse("7/7", &s), 0);
        ck_assert_uint_eq(s.index, 7);
}
END_TEST

START_TEST(test_plan_shard__rejects_invalid)
{
        RunShard s = { .index = 9, .total = 9 };
        const char *bad[] = { "",     "1",    "0/2",  "3/2",  "1/0",       "a/b",
                              "1/2x", "-1/2", "1//2", "1/ 2", "1/1000000", " 1/2" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(runner_shard_parse(bad[i], &s) < 0, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(s.index, 9); /* untouched on failure */
}
END_TEST

START_TEST(test_plan_shard__every_test_in_exactly_one_shard_balanced_by_count)
{
        char *ids[200];
        unsigned shard[200], rev[200], count[8];

        for (unsigned t = 0; t < 200; t++)
                ck_assert_ptr_nonnull(ids[t] = th_strdup_printf("suite/test %u", t));
        for (unsigned n = 1; n <= 7; n++)
                for (unsigned total = 0; total <= 200; total += 20) {
                        memset(count, 0, sizeof(count));
                        ck_assert_int_eq(runner_shard_assign((const char *const *)ids, total, n,
                                                             NULL, shard),
                                         0);
                        for (unsigned t = 0; t < total; t++) {
                                ck_assert(shard[t] >= 1 && shard[t] <= n);
                                count[shard[t] - 1]++;
                        }
                        /* Without durations: counts differ by at most one. */
                        unsigned lo = UINT_MAX, hi = 0;
                        for (unsigned i = 0; i < n; i++) {
                                lo = count[i] < lo ? count[i] : lo;
                                hi = count[i] > hi ? count[i] : hi;
                        }
                        ck_assert_uint_le(hi - lo, 1);
                }
        /* 20 tests in 2 shards: 10 and 10 (the hash split gave 6 and 14). */
        memset(count, 0, sizeof(count));
        ck_assert_int_eq(runner_shard_assign((const char *const *)ids, 20, 2, NULL, shard), 0);
        for (unsigned t = 0; t < 20; t++)
                count[shard[t] - 1]++;
        ck_assert_uint_eq(count[0], 10);
        ck_assert_uint_eq(count[1], 10);
        /* A function of the ids, not of their order. */
        char *reversed[20];
        for (unsigned t = 0; t < 20; t++)
                reversed[t] = ids[19 - t];
        ck_assert_int_eq(runner_shard_assign((const char *const *)reversed, 20, 2, NULL, rev), 0);
        for (unsigned t = 0; t < 20; t++)
                ck_assert_uint_eq(rev[19 - t], shard[t]);
        for (unsigned t = 0; t < 200; t++)
                free(ids[t]);
}
END_TEST

START_TEST(test_plan_shard__durations_balance_longest_first)
{
        /* 40 tests: 4 of 20s, 4 of 5s, 32 of 1s (132s: 33s a shard), and 4
         * with no recorded time. */
        char *ids[44];
        unsigned shard[44], unknown[4] = { 0 };
        double load[4] = { 0 }, sec[44];
        RunDurations d = { 0 };

        d.v = calloc(40, sizeof(*d.v));
        ck_assert_ptr_nonnull(d.v);
        for (unsigned t = 0; t < 44; t++) {
                ids[t] = th_strdup_printf("skew/t%02u", t);
                sec[t] = t % 10 == 0 ? 20 : t % 5 == 0 ? 5 : 1;
                if (t >= 40)
                        continue;
                d.v[d.n++] = (RunDuration){ .id = strdup(ids[t]), .sec = sec[t] };
        }
        runner_durations_sort(&d);
        double got;
        ck_assert(runner_durations_find(&d, "skew/t10", &got));
        ck_assert(got == 20);
        ck_assert(!runner_durations_find(&d, "skew/t41", &got));
        ck_assert_int_eq(runner_shard_assign((const char *const *)ids, 44, 4, &d, shard), 0);
        for (unsigned t = 0; t < 44; t++) {
                if (t < 40)
                        load[shard[t] - 1] += sec[t];
                else
                        unknown[shard[t] - 1]++;
        }
        for (unsigned i = 0; i < 4; i++) {
                ck_assert_msg(load[i] == 33, "shard %u: %.0fs", i + 1, load[i]);
                ck_assert_uint_eq(unknown[i], 1); /* spread evenly */
        }
        runner_durations_done(&d);
        for (unsigned t = 0; t < 44; t++)
                free(ids[t]);
}
END_TEST

START_TEST(test_plan_order__unknown_then_longest_first)
{
        /* a 1s, b unknown, c 90s, d 5s, e unknown, f 90s: b and e (new, of
         * unknown length) in their order, then c and f (90s, a tie kept in
         * order), d, a. */
        const char *ids[] = { "s/a", "s/b", "s/c", "s/d", "s/e", "s/f" };
        const double sec[] = { 1, -1, 90, 5, -1, 90 };
        const size_t want[] = { 1, 4, 2, 5, 3, 0 };
        size_t order[6];
        RunDurations d = { 0 };

        d.v = calloc(6, sizeof(*d.v));
        ck_assert_ptr_nonnull(d.v);
        for (unsigned t = 0; t < 6; t++)
                if (sec[t] >= 0)
                        d.v[d.n++] = (RunDuration){ .id = strdup(ids[t]), .sec = sec[t] };
        runner_durations_sort(&d);
        ck_assert_int_eq(runner_order_longest_first(ids, 6, &d, order), 0);
        for (unsigned k = 0; k < 6; k++)
                ck_assert_uint_eq(order[k], want[k]);
        /* No durations: the given order. */
        RunDurations none = { 0 };
        ck_assert_int_eq(runner_order_longest_first(ids, 6, &none, order), 0);
        for (unsigned k = 0; k < 6; k++)
                ck_assert_uint_eq(order[k], k);
        runner_durations_done(&d);
}
END_TEST

START_TEST(test_plan_shard__stable_hash)
{
        /* Machine names use it: the same on every run. */
        ck_assert_uint_eq(runner_test_hash("a", "b"), runner_test_hash("a", "b"));
        ck_assert_uint_ne(runner_test_hash("a", "bc"), runner_test_hash("ab", "c"));
}
END_TEST

static char *write_tmp(const char *text)
{
        char *path = strdup("/tmp/th-durations-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

START_TEST(test_plan_durations__junit_and_ctrf)
{
        static const char junit[] =
                "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<testsuites>"
                "<testsuite name=\"outer\"><testcase name=\"no class\" time=\"1.5\"/>"
                "<testcase classname='a&amp;b' name=\"x&lt;&#233;&#x41;\" time=\"2\">"
                "<system-out><![CDATA[<testcase name=\"fake\" time=\"9\"/>]]></system-out>"
                "</testcase><!-- <testcase name=\"hidden\" time=\"9\"/> -->"
                "<testcase name=\"inf\" time=\"1e400\"/><testcase name=\"neg\" time=\"-1\"/>"
                "<testcase name=\"junk\" time=\"soon\"/></testsuite></testsuites>\n";
        static const char ctrf[] =
                "{\"results\": {\"tool\": {\"name\": \"harness\"}, \"tests\": ["
                "{\"name\": \"t\\u00e9\", \"status\": \"passed\", \"duration\": 1500,"
                " \"suite\": [\"s\"], \"retryAttempts\": [{\"name\": \"x\", \"duration\": 9}]},"
                "{\"name\": \"u\", \"duration\": 250, \"suite\": \"plain\"},"
                "{\"name\": \"v\", \"duration\": \"n/a\"}]}}";
        RunDurations d = { 0 };
        ThError err = { 0 };
        double sec = 0;
        char *path = write_tmp(junit);

        ck_assert_int_eq(runner_durations_load(path, &d, &err), 0);
        ck_assert_uint_eq(d.n, 2);
        ck_assert(runner_durations_find(&d, "outer/no class", &sec) && sec == 1.5);
        ck_assert(runner_durations_find(&d,
                                        "a&b/x<\xc3\xa9"
                                        "A",
                                        &sec) &&
                  sec == 2);
        ck_assert(!runner_durations_find(&d, "outer/fake", NULL));
        ck_assert(!runner_durations_find(&d, "outer/hidden", NULL));
        runner_durations_done(&d);
        unlink(path);
        free(path);

        path = write_tmp(ctrf);
        ck_assert_int_eq(runner_durations_load(path, &d, &err), 0);
        ck_assert_uint_eq(d.n, 2);
        ck_assert(runner_durations_find(&d, "s/t\xc3\xa9", &sec) && sec == 1.5);
        ck_assert(runner_durations_find(&d, "plain/u", &sec) && sec == 0.25);
        runner_durations_done(&d);
        unlink(path);
        free(path);

        path = write_tmp("name: not a report\n");
        ck_assert_int_eq(runner_durations_load(path, &d, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "neither JUnit XML nor CTRF JSON"));
        unlink(path);
        free(path);
}
END_TEST

static const char *const *fake_env;

static char *fake_getenv(const char *name)
{
        for (const char *const *e = fake_env; e && *e; e += 2)
                if (strcmp(e[0], name) == 0)
                        return (char *)e[1];
        return NULL;
}

START_TEST(test_plan_shard__auto_from_ci_variables)
{
        RunShard s;
        const char *gitlab[] = { "CI_NODE_INDEX", "2", "CI_NODE_TOTAL", "3", NULL };
        const char *circle[] = { "CIRCLE_NODE_INDEX", "0", "CIRCLE_NODE_TOTAL", "4", NULL };
        const char *buildkite[] = { "BUILDKITE_PARALLEL_JOB", "4", "BUILDKITE_PARALLEL_JOB_COUNT",
                                    "5", NULL };
        const char *bad[] = { "CIRCLE_NODE_INDEX", "4", "CIRCLE_NODE_TOTAL", "4", NULL };
        const char *junk[] = { "CI_NODE_INDEX", "x", "CI_NODE_TOTAL", "3", NULL };
        const char *github[] = { "HARNESS_SHARD_INDEX",
                                 "4",
                                 "HARNESS_SHARD_TOTAL",
                                 "4",
                                 "CI_NODE_INDEX",
                                 "1",
                                 "CI_NODE_TOTAL",
                                 "2",
                                 NULL };

        fake_env = gitlab;
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), 0);
        ck_assert_uint_eq(s.index, 2); /* GitLab is 1-based already */
        ck_assert_uint_eq(s.total, 3);
        fake_env = circle;
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), 0);
        ck_assert_uint_eq(s.index, 1);
        ck_assert_uint_eq(s.total, 4);
        fake_env = buildkite;
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), 0);
        ck_assert_uint_eq(s.index, 5);
        fake_env = bad;
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), -EINVAL);
        fake_env = junk;
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), -EINVAL);
        fake_env = github; /* ours first, 1-based */
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), 0);
        ck_assert_uint_eq(s.index, 4);
        ck_assert_uint_eq(s.total, 4);
        fake_env = NULL;
        ck_assert_int_eq(runner_shard_from_env(fake_getenv, &s), -ENOENT);
}
END_TEST

static TestSpec mk_test(const char *name, char **tags)
{
        return (TestSpec){ .name = (char *)name, .tags = tags };
}

START_TEST(test_plan_select__filter_and_tags)
{
        regex_t re;
        char *tags_a[] = { "install", "slow", NULL };
        char *tags_b[] = { "fast", NULL };
        char *want[] = { "install", NULL };
        TestSpec a = mk_test("installs cleanly", tags_a), b = mk_test("purges", tags_b),
                 c = mk_test("untagged", NULL);

        ck_assert_int_eq(regcomp(&re, "^pkg/inst", REG_EXTENDED | REG_NOSUB), 0);
        RunSelect by_filter = { .filters = &re, .n_filters = 1 };
        ck_assert(runner_test_selected(&by_filter, "pkg", &a));
        ck_assert(!runner_test_selected(&by_filter, "pkg", &b));
        ck_assert(!runner_test_selected(&by_filter, "other", &a));
        /* Repeated --filter: any of them. */
        regex_t two[2];
        ck_assert_int_eq(regcomp(&two[0], "^pkg/inst", REG_EXTENDED | REG_NOSUB), 0);
        ck_assert_int_eq(regcomp(&two[1], "purges$", REG_EXTENDED | REG_NOSUB), 0);
        RunSelect by_filters = { .filters = two, .n_filters = 2 };
        ck_assert(runner_test_selected(&by_filters, "pkg", &a));
        ck_assert(runner_test_selected(&by_filters, "pkg", &b));
        ck_assert(!runner_test_selected(&by_filters, "pkg", &c));
        regfree(&two[0]);
        regfree(&two[1]);

        RunSelect by_tag = { .tags = want };
        ck_assert(runner_test_selected(&by_tag, "pkg", &a));
        ck_assert(!runner_test_selected(&by_tag, "pkg", &b));
        ck_assert(!runner_test_selected(&by_tag, "pkg", &c));
        ck_assert(runner_test_selected(NULL, "pkg", &c));
        regfree(&re);
}
END_TEST

START_TEST(test_plan_build__keeps_file_order_and_shards)
{
        TestSpec t1[] = { mk_test("a", NULL), mk_test("b", NULL), mk_test("c", NULL) };
        TestSpec t2[] = { mk_test("d", NULL), mk_test("e", NULL) };
        Suite s1 = { .name = "one", .tests = t1, .n_tests = 3 };
        Suite s2 = { .name = "two", .tests = t2, .n_tests = 2 };
        Suite *suites[] = { &s1, &s2 };
        RunPlanItem *items = NULL;
        size_t n = 0, total = 0;

        ck_assert_int_eq(runner_plan_build(suites, 2, NULL, &items, &n, NULL), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(items[0].suite, 0);
        ck_assert_uint_eq(items[2].test, 2);
        ck_assert_uint_eq(items[3].suite, 1);
        ck_assert_uint_eq(items[4].test, 1);
        free(items);

        for (unsigned i = 1; i <= 3; i++) {
                RunSelect sel = { .shard = { .index = i, .total = 3 } };
                size_t unsharded = 0;
                ck_assert_int_eq(runner_plan_build(suites, 2, &sel, &items, &n, &unsharded), 0);
                ck_assert_uint_eq(unsharded, 5);
                ck_assert(n == 1 || n == 2);   /* 5 by count: 2, 2, 1 */
                for (size_t k = 1; k < n; k++) /* order kept inside a shard */
                        ck_assert(items[k - 1].suite < items[k].suite ||
                                  (items[k - 1].suite == items[k].suite &&
                                   items[k - 1].test < items[k].test));
                total += n;
                free(items);
        }
        ck_assert_uint_eq(total, 5);
}
END_TEST

static bool valid_hostname(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

START_TEST(test_plan_machine_name__valid_and_unique)
{
        char a[64], b[64], c[64];
        const char *long_name = "A very long test name with Ünïcödé, spaces/slashes and "
                                "more words than any hostname can hold at all";

        ck_assert_int_eq(runner_machine_name("My Suite", "installs cleanly", 1, a, sizeof(a)), 0);
        ck_assert_msg(valid_hostname(a), "'%s'", a);
        ck_assert_ptr_nonnull(strstr(a, "my-suite-installs-cleanly"));
        ck_assert_int_eq(runner_machine_name("My Suite", long_name, 1, b, sizeof(b)), 0);
        ck_assert_msg(valid_hostname(b), "'%s'", b);
        ck_assert_int_eq(runner_machine_name("My Suite", long_name, 2, c, sizeof(c)), 0);
        ck_assert_str_ne(b, c);
        ck_assert_int_eq(runner_machine_name("---", "!!!", 0, c, sizeof(c)), 0);
        ck_assert_msg(valid_hostname(c), "'%s'", c);
}
END_TEST

START_TEST(test_plan_path_component__safe)
{
        char buf[128];
        ck_assert_int_eq(runner_path_component("plain-name_1.0", buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "plain-name_1.0");
        ck_assert_int_eq(runner_path_component("../etc/passwd", buf, sizeof(buf)), 0);
        ck_assert_ptr_null(strchr(buf, '/'));
        ck_assert(buf[0] != '.');
        ck_assert_int_eq(runner_path_component("..", buf, sizeof(buf)), 0);
        ck_assert(buf[0] != '.');
        ck_assert_int_eq(runner_path_component("a b", buf, sizeof(buf)), 0);
        char other[128];
        ck_assert_int_eq(runner_path_component("a_b", other, sizeof(other)), 0);
        ck_assert_str_ne(buf, other); /* replaced characters add a hash */
}
END_TEST

static Suite *plan_suite(void)
{
        Suite *s = suite_create("plan");
        TCase *tc = tcase_create("plan");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_plan_shard__parses_valid);
        tcase_add_test(tc, test_plan_shard__rejects_invalid);
        tcase_add_test(tc, test_plan_shard__every_test_in_exactly_one_shard_balanced_by_count);
        tcase_add_test(tc, test_plan_shard__durations_balance_longest_first);
        tcase_add_test(tc, test_plan_shard__stable_hash);
        tcase_add_test(tc, test_plan_order__unknown_then_longest_first);
        tcase_add_test(tc, test_plan_durations__junit_and_ctrf);
        tcase_add_test(tc, test_plan_shard__auto_from_ci_variables);
        tcase_add_test(tc, test_plan_select__filter_and_tags);
        tcase_add_test(tc, test_plan_build__keeps_file_order_and_shards);
        tcase_add_test(tc, test_plan_machine_name__valid_and_unique);
        tcase_add_test(tc, test_plan_path_component__safe);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(plan_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

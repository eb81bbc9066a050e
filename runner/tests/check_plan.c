/* Unit tests of run planning: --shard parsing and selection, --filter and
 * --tag, plan order, machine names and output path components. */
#include <check.h>
#include <string.h>

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

START_TEST(test_plan_shard__every_test_in_exactly_one_shard)
{
        char name[32];
        for (unsigned n = 1; n <= 7; n++)
                for (unsigned t = 0; t < 200; t++) {
                        unsigned hits = 0;
                        snprintf(name, sizeof(name), "test %u", t);
                        for (unsigned i = 1; i <= n; i++) {
                                RunShard s = { .index = i, .total = n };
                                hits += runner_shard_selects(&s, "suite", name);
                        }
                        ck_assert_uint_eq(hits, 1);
                }
}
END_TEST

START_TEST(test_plan_shard__stable_and_balanced)
{
        /* The hash is part of the contract: shards computed on different
         * machines and runs must agree. */
        ck_assert_uint_eq(runner_test_hash("a", "b"), runner_test_hash("a", "b"));
        ck_assert_uint_ne(runner_test_hash("a", "bc"), runner_test_hash("ab", "c"));
        unsigned count[4] = { 0 };
        char name[32];
        for (unsigned t = 0; t < 400; t++) {
                snprintf(name, sizeof(name), "t%u", t);
                count[runner_test_hash("s", name) % 4]++;
        }
        for (unsigned i = 0; i < 4; i++)
                ck_assert_uint_gt(count[i], 50);
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
        RunSelect by_filter = { .filter = &re };
        ck_assert(runner_test_selected(&by_filter, "pkg", &a));
        ck_assert(!runner_test_selected(&by_filter, "pkg", &b));
        ck_assert(!runner_test_selected(&by_filter, "other", &a));

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

        ck_assert_int_eq(runner_plan_build(suites, 2, NULL, &items, &n), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(items[0].suite, 0);
        ck_assert_uint_eq(items[2].test, 2);
        ck_assert_uint_eq(items[3].suite, 1);
        ck_assert_uint_eq(items[4].test, 1);
        free(items);

        for (unsigned i = 1; i <= 3; i++) {
                RunSelect sel = { .shard = { .index = i, .total = 3 } };
                ck_assert_int_eq(runner_plan_build(suites, 2, &sel, &items, &n), 0);
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
        tcase_add_test(tc, test_plan_shard__every_test_in_exactly_one_shard);
        tcase_add_test(tc, test_plan_shard__stable_and_balanced);
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

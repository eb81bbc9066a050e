/* isolate: unit tests of the registry's entry format: hostile values
 * (newlines, '=', escapes, 10 KB) round-trip and never add a key. */
#include <check.h>
#include <string.h>

#include "isolate-internal.h"

static FILE *written(const RegistryEntry *e)
{
        FILE *f = tmpfile();
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(isolate_registry_write(f, e), 0);
        rewind(f);
        return f;
}

START_TEST(test_registry__hostile_values_round_trip)
{
        char big[10 * 1024 + 1];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        /* The old reader's 2047-byte boundary, then a would-be key line. */
        memcpy(big + 2041, "leader=1\ncgroup=/sys/fs/cgroup/x\n", 33);
        _cleanup_free_ char *bigenv = th_strdup_printf("A=%s", big);
        char *env[] = { "B=1\nleader=1\ncgroup=/", "C=a=b=c", "D=back\\slash\\n\033[31m", bigenv,
                        NULL };
        const RegistryEntry e = { .name = "m1",
                                  .test = "t\nleader=1",
                                  .suite = "s=x",
                                  .leader = 4242,
                                  .start_usec = 17,
                                  .rootfs = "/srv/r\r\n",
                                  .boot = true,
                                  .network = "veth",
                                  .address = "10.0.0.2",
                                  .cgroup = "/sys/fs/cgroup/harness/c1-0-ab/payload",
                                  .env = env };
        _cleanup_fclose_ FILE *f = written(&e);
        /* Every line starts with a fixed key. */
        char line[16];
        rewind(f);
        size_t lines = 0;
        for (int c, at = 0; (c = fgetc(f)) != EOF;) {
                if (at < 15)
                        line[at++] = (char)c;
                if (c == '\n') {
                        line[at] = 0;
                        lines++;
                        ck_assert_msg(strncmp(line, "name=", 5) == 0 ||
                                              strncmp(line, "test=", 5) == 0 ||
                                              strncmp(line, "suite=", 6) == 0 ||
                                              strncmp(line, "leader=", 7) == 0 ||
                                              strncmp(line, "start=", 6) == 0 ||
                                              strncmp(line, "rootfs=", 7) == 0 ||
                                              strncmp(line, "mode=", 5) == 0 ||
                                              strncmp(line, "network=", 8) == 0 ||
                                              strncmp(line, "address=", 8) == 0 ||
                                              strncmp(line, "cgroup=", 7) == 0 ||
                                              strncmp(line, "env=", 4) == 0,
                                      "line '%s'", line);
                        at = 0;
                }
        }
        ck_assert_uint_eq(lines, 10 + 4);
        rewind(f);
        IsolateMachine m;
        _cleanup_strv_ char **got = NULL;
        ck_assert_int_eq(isolate_registry_parse(f, &m, &got), 0);
        ck_assert_str_eq(m.name, "m1");
        ck_assert_int_eq(m.leader, 4242);
        ck_assert_str_eq(m.cgroup, "/sys/fs/cgroup/harness/c1-0-ab/payload");
        ck_assert_str_eq(m.test, "t\nleader=1");
        ck_assert_str_eq(m.suite, "s=x");
        ck_assert_str_eq(m.rootfs, "/srv/r\r\n");
        ck_assert(m.boot);
        ck_assert_uint_eq(th_strv_length(got), 4);
        for (size_t i = 0; env[i]; i++)
                ck_assert_str_eq(got[i], env[i]);
}
END_TEST

static int parse_text(const char *text)
{
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        IsolateMachine m;
        ck_assert_ptr_nonnull(f);
        int r = isolate_registry_parse(f, &m, NULL);
        fclose(f);
        return r;
}

START_TEST(test_registry__refuses_what_it_never_writes)
{
        ck_assert_int_eq(parse_text("name=a\nleader=5\ncgroup=/x\n"), 0);
        /* A second leader or cgroup: an injection, not an entry. */
        ck_assert_int_eq(parse_text("name=a\nleader=5\nleader=6\n"), -EBADMSG);
        ck_assert_int_eq(parse_text("name=a\nleader=5\ncgroup=/x\ncgroup=/y\n"), -EBADMSG);
        ck_assert_int_eq(parse_text("name=a\nleader=5x\n"), -EBADMSG);
        ck_assert_int_eq(parse_text("name=a\nleader=-1\n"), -EBADMSG);
        ck_assert_int_eq(parse_text("name=a\nleader=5\nbroken line\n"), -EBADMSG);
        ck_assert_int_eq(parse_text("name=a\nleader=5\nenv=\\q\n"), -EBADMSG);
        ck_assert_int_eq(parse_text("name=a\n"), -EBADMSG);
        /* A cgroup too long for its field is not cut into another path. */
        char big[1200 + 32];
        memset(big, 0, sizeof(big));
        strcpy(big, "name=a\nleader=5\ncgroup=/");
        memset(big + strlen(big), 'c', 1100);
        ck_assert_int_eq(parse_text(big), -EBADMSG);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("registry");
        TCase *tc = tcase_create("format");
        tcase_add_test(tc, test_registry__hostile_values_round_trip);
        tcase_add_test(tc, test_registry__refuses_what_it_never_writes);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

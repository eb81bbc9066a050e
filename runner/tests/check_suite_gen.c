/* Unit tests of the generated-suite glue (suite-gen.c): what
 * runner_yaml_quote() writes reads back through the suite loader as the
 * very same text, and runner_shell_quote() through /bin/sh; the `result`
 * file of a test folder is read back. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

static const char *const nasty[] = {
        "plain",
        "quote \" and backslash \\ and 'single'",
        "lines\nand\ttabs\n",
        "yaml: {looks: [like, a, mapping]} # not a comment",
        "- a list?",
        "ctrl \x01\x1f end",
        "unicode \xc3\xa9\xe2\x82\xac",
        "$(echo no) `echo no` ${HOME}",
};

START_TEST(test_suite_gen__yaml_quote_round_trips)
{
        for (size_t i = 0; i < ELEMENTSOF(nasty); i++) {
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                ck_assert_ptr_nonnull(f);
                fputs("name: gen\ntests:\n  - name: t\n    run: ", f);
                runner_yaml_quote(f, nasty[i]);
                fputc('\n', f);
                fclose(f);
                Suite *s = NULL;
                SuiteDiags d = { 0 };
                int r = suite_load_buffer("/gen.yaml", text, len, &s, &d);
                /* The loader refuses C0 controls other than tab and newline
                 * in scripts? Then it must say so, not read something else. */
                if (r < 0) {
                        ck_assert_int_eq(r, -EINVAL);
                        ck_assert(strpbrk(nasty[i], "\x01\x1f") != NULL);
                } else {
                        ck_assert_str_eq(s->tests[0].run, nasty[i]);
                }
                suite_free(s);
                suite_diags_done(&d);
                free(text);
        }
}
END_TEST

/* What YAML reads as a line break or refuses in a stream, and C1 and
 * bidirectional controls: escaped, so the quoted scalar is one line of
 * printable text, and it reads back as the same text. */
START_TEST(test_suite_gen__yaml_quote_keeps_one_line)
{
        static const char *const breaks[] = {
                "evil\xe2\x80\xa8"
                "bogus: 1\xe2\x80\xa8#",
                "evil\rbogus: 1",
                "a\xc2\x85"
                "b\xe2\x80\xa9"
                "c",
                "c1 \xc2\x80\xc2\x9b del \x7f bidi \xe2\x80\xae nbsp \xc2\xa0 bom \xef\xbb\xbf",
                "nonchar \xef\xbf\xbe\xef\xbf\xbf end",
        };
        for (size_t i = 0; i < ELEMENTSOF(breaks); i++) {
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                ck_assert_ptr_nonnull(f);
                runner_yaml_quote(f, breaks[i]);
                fclose(f);
                for (size_t k = 0, n; k < len; k += n) {
                        int32_t u = th_utf8_decode(text + k, &n);
                        ck_assert_msg(u >= 0x20 && !th_unichar_is_unsafe((uint32_t)u) &&
                                              u != 0xfffe && u != 0xffff,
                                      "U+%04X raw in %s", (unsigned)u, text);
                }
                free(text);
                text = NULL;
                f = open_memstream(&text, &len);
                fputs("name: gen\ntests:\n  - name: t\n    run: ", f);
                runner_yaml_quote(f, breaks[i]);
                fputc('\n', f);
                fclose(f);
                Suite *s = NULL;
                SuiteDiags d = { 0 };
                ck_assert_int_eq(suite_load_buffer("/gen.yaml", text, len, &s, &d), 0);
                ck_assert_str_eq(s->tests[0].run, breaks[i]);
                suite_free(s);
                suite_diags_done(&d);
                free(text);
        }
}
END_TEST

START_TEST(test_suite_gen__shell_quote_is_one_word)
{
        for (size_t i = 0; i < ELEMENTSOF(nasty); i++) {
                char *cmd = NULL, out[512] = { 0 };
                size_t len = 0;
                FILE *f = open_memstream(&cmd, &len);
                ck_assert_ptr_nonnull(f);
                fputs("printf %s ", f);
                runner_shell_quote(f, nasty[i]);
                fclose(f);
                FILE *p = popen(cmd, "r");
                ck_assert_ptr_nonnull(p);
                size_t n = fread(out, 1, sizeof(out) - 1, p);
                ck_assert_int_eq(pclose(p), 0);
                out[n] = '\0';
                ck_assert_str_eq(out, nasty[i]);
                free(cmd);
        }
}
END_TEST

START_TEST(test_suite_gen__result_file)
{
        char dir[] = "/tmp/th-check-suite-gen-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        char *p = th_strdup_printf("%s/result", dir);
        const char text[] = "id: s/t\nstatus: skip\ntype: skip-exit\n"
                            "message: exit status 77 (expect: skip-exit)\ntime: 1.500\n";
        ThError err = { 0 };
        ck_assert_int_eq(th_write_file_atomic(p, text, strlen(text), &err), 0);
        RunnerGenResult r;
        ck_assert_int_eq(runner_gen_result_read(dir, &r, &err), 0);
        ck_assert_int_eq(r.status, REPORT_SKIP);
        ck_assert_str_eq(r.type, "skip-exit");
        ck_assert_str_eq(r.message, "exit status 77 (expect: skip-exit)");
        ck_assert(r.time_sec > 1.4 && r.time_sec < 1.6);
        runner_gen_result_done(&r);
        unlink(p);
        ck_assert_int_lt(runner_gen_result_read(dir, &r, &err), 0); /* no file: an error */
        runner_gen_result_done(&r);
        char *td = NULL;
        ck_assert_int_eq(runner_gen_test_dir("/out", "src", "a b", &td), 0);
        ck_assert_ptr_nonnull(strstr(td, "/out/src/"));
        free(td);
        free(p);
        th_rm_rf(dir);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("suite_gen");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_suite_gen__yaml_quote_round_trips);
        tcase_add_test(tc, test_suite_gen__yaml_quote_keeps_one_line);
        tcase_add_test(tc, test_suite_gen__shell_quote_is_one_word);
        tcase_add_test(tc, test_suite_gen__result_file);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

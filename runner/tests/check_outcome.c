/* Unit tests of outcome classification: isolate statuses, exit status, and
 * the stdout/stderr expectations evaluated on streamed files. */
#include <check.h>
#include <fcntl.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

static char tmpdir[] = "/tmp/th-check-outcome-XXXXXX";

static void setup(void)
{
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Every regex a test compiled, freed in teardown. */
static regex_t compiled[32];
static size_t n_compiled;

static void teardown(void)
{
        for (size_t i = 0; i < n_compiled; i++)
                regfree(&compiled[i]);
        n_compiled = 0;
        th_rm_rf(tmpdir);
        memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

static void write_file(const char *name, const char *data, size_t len, char *ret_path)
{
        snprintf(ret_path, 4096, "%s/%s", tmpdir, name);
        int fd = open(ret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(th_write_all(fd, data, len), 0);
        close(fd);
}

static SuiteRegex re(const char *pattern)
{
        SuiteRegex r = { .pattern = (char *)pattern };
        ck_assert_int_eq(regcomp(&r.re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
        ck_assert_uint_lt(n_compiled, ELEMENTSOF(compiled));
        compiled[n_compiled++] = r.re;
        return r;
}

static IsolateResult exited(int status)
{
        return (IsolateResult){ .status = ISOLATE_EXITED, .exit_status = status };
}

START_TEST(test_outcome_classify__exit_status)
{
        TestSpec t = { .name = "t" };
        IsolateResult res = exited(3);
        RunOutcome o;

        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "exit-status");
        ck_assert_str_eq(o.message, "exit status 3, expected 0");

        t.expect.exit_status = 3;
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_PASS);
        ck_assert_str_eq(o.type, "");
}
END_TEST

START_TEST(test_outcome_classify__skip_exit_and_stderr_empty)
{
        char err_path[4096], empty_path[4096];
        TestSpec t = { .name = "t", .expect = { .skip_exit = 77, .stderr_empty = true } };
        IsolateResult res = exited(77);
        RunOutcome o;

        write_file("stderr", "  warning: x  \t\r\nsecond\n", strlen("  warning: x  \t\r\nsecond\n"),
                   err_path);
        write_file("empty", "", 0, empty_path);
        /* The skip status skips, whatever stderr holds. */
        snprintf(res.stderr_path, sizeof(res.stderr_path), "%s", err_path);
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_SKIP);
        ck_assert_str_eq(o.message, "exit status 77 (expect: skip-exit)");
        /* A failing status is said first, as autopkgtest does. */
        res = exited(2);
        snprintf(res.stderr_path, sizeof(res.stderr_path), "%s", err_path);
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "exit-status");
        /* Exit 0 with something on stderr: its first line, trailing blanks cut. */
        res = exited(0);
        snprintf(res.stderr_path, sizeof(res.stderr_path), "%s", err_path);
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "stderr");
        ck_assert_str_eq(o.message, "stderr:   warning: x");
        snprintf(res.stderr_path, sizeof(res.stderr_path), "%s", empty_path);
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_PASS);
        /* Without stderr-empty, stderr is not looked at; without skip-exit, 77 fails. */
        t.expect.stderr_empty = false;
        t.expect.skip_exit = 0;
        snprintf(res.stderr_path, sizeof(res.stderr_path), "%s", err_path);
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_PASS);
        res = exited(77);
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
}
END_TEST

START_TEST(test_outcome_classify__classes_kept_apart)
{
        TestSpec t = { .name = "t", .timeout_usec = 2 * 1000000ULL };
        ThError err = { .code = EPERM, .msg = "mount overlay: Operation not permitted" };
        IsolateResult res = { 0 };
        RunOutcome o;

        runner_outcome_classify(-EPERM, &err, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_ERROR);
        ck_assert_ptr_nonnull(strstr(o.message, "mount overlay"));

        res = (IsolateResult){ .status = ISOLATE_TIMEOUT, .exit_status = 137, .timed_out = true };
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "timeout");
        ck_assert_ptr_nonnull(strstr(o.message, "timed out after 2s"));
        /* the timeout the try ran with (--timeout), not the suite's */
        runner_outcome_classify(0, NULL, &res, &t, 500000, &o);
        ck_assert_ptr_nonnull(strstr(o.message, "timed out after 500ms"));

        res = (IsolateResult){ .status = ISOLATE_OOM, .exit_status = 137, .oom = true };
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "oom");

        res = (IsolateResult){ .status = ISOLATE_SETUP_FAILED, .exit_status = 5 };
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "setup");
        ck_assert_str_eq(o.message, "setup exited with status 5");

        res = (IsolateResult){ .status = ISOLATE_SIGNALED, .exit_status = 139, .term_signal = 11 };
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "signal");
        ck_assert_ptr_nonnull(strstr(o.message, "SIGSEGV"));
}
END_TEST

START_TEST(test_outcome_classify__artifacts_cut_at_the_limit_fail_the_test)
{
        TestSpec t = { .name = "t", .artifacts_bytes = 64u << 20 };
        IsolateResult res = exited(0);
        RunOutcome o;

        runner_outcome_classify(0, NULL, &res, &t, 0, &o);
        ck_assert_int_eq(o.status, REPORT_PASS);
        res.artifacts_limit_hit = true;
        snprintf(res.artifacts_cut_at, sizeof(res.artifacts_cut_at), "/var/log");
        runner_outcome_classify(0, NULL, &res, &t, 0, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "artifacts");
        ck_assert_str_eq(o.message, "artifacts stopped at the 64M limit (limits: artifacts) in "
                                    "'/var/log'; what follows was not copied");
        /* A test that failed anyway keeps its reason first. */
        res.exit_status = 2;
        runner_outcome_classify(0, NULL, &res, &t, 0, &o);
        ck_assert_str_eq(o.type, "exit-status");
        ck_assert_ptr_nonnull(strstr(o.details, "artifacts stopped at the 64M limit"));
}
END_TEST

START_TEST(test_outcome_classify__output_cut_fails_the_test_first)
{
        TestSpec t = { .name = "t" };
        IsolateResult res = exited(1);
        RunOutcome o;

        res.output_limit_hit = true;
        res.output_limit = 64u << 20;
        runner_outcome_classify(0, NULL, &res, &t, 0, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "output");
        ck_assert_ptr_nonnull(strstr(o.message, "the output reached the 64M limit"));
        /* The exit status after the ENOSPC follows, in the details. */
        ck_assert_ptr_nonnull(strstr(o.details, "exit status 1"));
}
END_TEST

START_TEST(test_outcome_classify__result_missing_is_the_tests_failure)
{
        TestSpec t = { .name = "t" };
        IsolateResult res = exited(254);
        RunOutcome o;

        res.result_missing = true;
        runner_outcome_classify(0, NULL, &res, &t, 0, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "result");
}
END_TEST

START_TEST(test_outcome_classify__stopped_is_a_failure_whatever_the_status)
{
        /* harness stop during the boot (systemd exits 0 before the unit) or
         * during the command (SIGTERM): a failure "stopped", never an error,
         * and even a test expecting that status does not pass. */
        TestSpec t = { .name = "t" };
        IsolateResult res = exited(0);
        RunOutcome o;

        res.stopped = true;
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "stopped");
        ck_assert_str_eq(o.message, "stopped by `harness stop`");

        res = (IsolateResult){
                .status = ISOLATE_SIGNALED, .exit_status = 143, .term_signal = 15, .stopped = true
        };
        t.expect.exit_status = 143;
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "stopped");
}
END_TEST

START_TEST(test_outcome_expect__stdout_hits_and_misses)
{
        const char out[] = "hello\nSetting up hello (1.0)\nall good\n";
        SuiteRegex must[] = { re("^Setting up hello"), re("good$") };
        SuiteRegex missing[] = { re("^never") };
        TestSpec t = { .name = "t" };
        IsolateResult res = exited(0);
        RunOutcome o;

        write_file("stdout", out, strlen(out), res.stdout_path);
        t.expect.stdout_match = must;
        t.expect.n_stdout_match = 2;
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_PASS);

        t.expect.stderr_match = missing; /* no stderr file: empty */
        t.expect.n_stderr_match = 1;
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_int_eq(o.status, REPORT_FAIL);
        ck_assert_str_eq(o.type, "expectation");
        ck_assert_str_eq(o.message, "stderr did not match '^never'");
}
END_TEST

START_TEST(test_outcome_expect__forbidden_names_pattern_and_line)
{
        const char out[] = "ok\nW: \x1b[31mwarning\x1b[0m here\nwarning again\n";
        SuiteRegex not [] = { re("warning") };
        RunOutcome o = { .status = REPORT_PASS };
        char path[4096];

        write_file("out", out, strlen(out), path);
        ck_assert_int_eq(runner_expect_stream(path, "stdout", NULL, 0, not, 1, &o), 1);
        ck_assert_str_eq(o.type, "expectation");
        ck_assert_str_eq(o.message, "stdout matched forbidden 'warning' at line 2: "
                                    "W: ?[31mwarning?[0m here");
        /* one report per pattern, not per line */
        ck_assert_ptr_null(strchr(strchr(o.details, '\n') + 1, '\n'));
}
END_TEST

START_TEST(test_outcome_expect__anchors_are_per_line)
{
        const char out[] = "first\nsecond line\nthird";
        SuiteRegex must[] = { re("^second line$"), re("^third$") };
        SuiteRegex across[] = { re("first.second") };
        RunOutcome o = { .status = REPORT_PASS };
        char path[4096];

        write_file("out", out, strlen(out), path);
        ck_assert_int_eq(runner_expect_stream(path, "stdout", must, 2, NULL, 0, &o), 0);
        ck_assert_int_eq(runner_expect_stream(path, "stdout", across, 1, NULL, 0, &o), 1);
}
END_TEST

START_TEST(test_outcome_expect__match_at_end_of_big_stream)
{
        /* A match far beyond any capped copy, and an unterminated long line
         * (longer than the 64 KiB piece size) before it. */
        char path[4096];
        snprintf(path, sizeof(path), "%s/big", tmpdir);
        FILE *f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < 200000; i++)
                fprintf(f, "line %d of noise\n", i);
        for (int i = 0; i < 200000; i++)
                fputc('x', f);
        fputs("\nFINAL MARKER\n", f);
        fclose(f);

        SuiteRegex must[] = { re("^FINAL MARKER$") };
        SuiteRegex not [] = { re("^line 199999 of") };
        RunOutcome o = { .status = REPORT_PASS };
        ck_assert_int_eq(runner_expect_stream(path, "stdout", must, 1, NULL, 0, &o), 0);
        ck_assert_int_eq(runner_expect_stream(path, "stdout", NULL, 0, not, 1, &o), 1);
        ck_assert_ptr_nonnull(strstr(o.message, "at line 200000:"));
}
END_TEST

START_TEST(test_outcome_expect__status_first_then_expectations_in_details)
{
        const char out[] = "nothing\n";
        SuiteRegex must[] = { re("something") };
        TestSpec t = { .name = "t" };
        IsolateResult res = exited(1);
        RunOutcome o;

        write_file("stdout", out, strlen(out), res.stdout_path);
        t.expect.stdout_match = must;
        t.expect.n_stdout_match = 1;
        runner_outcome_classify(0, NULL, &res, &t, t.timeout_usec, &o);
        ck_assert_str_eq(o.type, "exit-status");
        ck_assert_ptr_nonnull(strstr(o.details, "stdout did not match 'something'"));
}
END_TEST

START_TEST(test_outcome_retry__until_pass_or_tries_used)
{
        /* retries: 2 = at most 3 tries */
        ck_assert_int_eq(runner_next_after_try(REPORT_PASS, 1, 3, false), RUN_NEXT_DONE);
        ck_assert_int_eq(runner_next_after_try(REPORT_FAIL, 1, 3, false), RUN_NEXT_RETRY);
        ck_assert_int_eq(runner_next_after_try(REPORT_ERROR, 2, 3, false), RUN_NEXT_RETRY);
        ck_assert_int_eq(runner_next_after_try(REPORT_PASS, 2, 3, true), RUN_NEXT_DONE);
        ck_assert_int_eq(runner_next_after_try(REPORT_FAIL, 3, 3, false), RUN_NEXT_DONE);
        /* no retries */
        ck_assert_int_eq(runner_next_after_try(REPORT_FAIL, 1, 1, false), RUN_NEXT_DONE);
}
END_TEST

START_TEST(test_outcome_retry__fail_fast_only_on_final_failure)
{
        ck_assert_int_eq(runner_next_after_try(REPORT_FAIL, 1, 2, true), RUN_NEXT_RETRY);
        ck_assert_int_eq(runner_next_after_try(REPORT_FAIL, 2, 2, true), RUN_NEXT_STOP);
        ck_assert_int_eq(runner_next_after_try(REPORT_ERROR, 1, 1, true), RUN_NEXT_STOP);
        ck_assert_int_eq(runner_next_after_try(REPORT_PASS, 1, 1, true), RUN_NEXT_DONE);
        ck_assert_int_eq(runner_next_after_try(REPORT_SKIP, 1, 1, true), RUN_NEXT_DONE);
}
END_TEST

static Suite *outcome_suite(void)
{
        Suite *s = suite_create("outcome");
        TCase *tc = tcase_create("outcome");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_outcome_classify__exit_status);
        tcase_add_test(tc, test_outcome_classify__skip_exit_and_stderr_empty);
        tcase_add_test(tc, test_outcome_classify__classes_kept_apart);
        tcase_add_test(tc, test_outcome_classify__stopped_is_a_failure_whatever_the_status);
        tcase_add_test(tc, test_outcome_classify__artifacts_cut_at_the_limit_fail_the_test);
        tcase_add_test(tc, test_outcome_classify__output_cut_fails_the_test_first);
        tcase_add_test(tc, test_outcome_classify__result_missing_is_the_tests_failure);
        tcase_add_test(tc, test_outcome_expect__stdout_hits_and_misses);
        tcase_add_test(tc, test_outcome_expect__forbidden_names_pattern_and_line);
        tcase_add_test(tc, test_outcome_expect__anchors_are_per_line);
        tcase_add_test(tc, test_outcome_expect__match_at_end_of_big_stream);
        tcase_add_test(tc, test_outcome_expect__status_first_then_expectations_in_details);
        tcase_add_test(tc, test_outcome_retry__until_pass_or_tries_used);
        tcase_add_test(tc, test_outcome_retry__fail_fast_only_on_final_failure);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(outcome_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

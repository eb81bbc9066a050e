/* Unit tests of the live status line: it names the running tests, fits
 * the terminal's width (cut with "..."), and colour follows NO_COLOR. */
#include <check.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

static size_t code_points(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

START_TEST(test_progress_format__names_running_tests)
{
        RunProgress p;
        char line[1024];

        runner_progress_init(&p, stdout, true, 20);
        runner_progress_started(&p, "pkg/installs");
        runner_progress_started(&p, "pkg/purges");
        p.done = 3;
        ck_assert_int_eq(runner_progress_format(&p, 2, 5.2, 200, line, sizeof(line)), 0);
        ck_assert_str_eq(line,
                         "[3/20] 5s, 0 failed, 0 errors, 2 running: pkg/installs, pkg/purges");
        runner_progress_stopped(&p, p.names[0]);
        ck_assert_int_eq(runner_progress_format(&p, 1, 5.2, 200, line, sizeof(line)), 0);
        ck_assert_ptr_nonnull(strstr(line, "running: pkg/purges"));
        ck_assert_ptr_null(strstr(line, "installs"));
        runner_progress_done(&p);
}
END_TEST

START_TEST(test_progress_format__fits_the_width)
{
        RunProgress p;
        char line[1024];
        const char *ids[] = { "suite/ünïcödé test name that is long", "suite/another long one",
                              "suite/\033[31mhostile\n" };

        runner_progress_init(&p, stdout, true, 99);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                runner_progress_started(&p, ids[i]);
        for (unsigned w = 1; w <= 120; w++) {
                ck_assert_int_eq(runner_progress_format(&p, 3, 1, w, line, sizeof(line)), 0);
                ck_assert_msg(code_points(line) <= (w > 1 ? w - 1 : 1), "width %u: '%s'", w, line);
                ck_assert_ptr_null(strchr(line, '\033')); /* names are escaped */
                ck_assert_ptr_null(strchr(line, '\n'));
        }
        ck_assert_int_eq(runner_progress_format(&p, 3, 1, 40, line, sizeof(line)), 0);
        ck_assert_uint_eq(code_points(line), 39);
        ck_assert_str_eq(line + strlen(line) - 3, "...");
        runner_progress_done(&p);
}
END_TEST

START_TEST(test_progress_colour__no_color)
{
        ck_assert(runner_colour_wanted(true, NULL, "xterm"));
        ck_assert(runner_colour_wanted(true, "", "xterm")); /* empty: as unset */
        ck_assert(!runner_colour_wanted(true, "1", "xterm"));
        ck_assert(!runner_colour_wanted(true, "0", "xterm")); /* any value */
        ck_assert(!runner_colour_wanted(true, NULL, "dumb"));
        ck_assert(!runner_colour_wanted(false, NULL, "xterm")); /* plain mode */
}
END_TEST

static Suite *progress_suite(void)
{
        Suite *s = suite_create("progress");
        TCase *tc = tcase_create("progress");
        tcase_add_test(tc, test_progress_format__names_running_tests);
        tcase_add_test(tc, test_progress_format__fits_the_width);
        tcase_add_test(tc, test_progress_colour__no_color);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(progress_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

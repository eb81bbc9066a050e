/* runner: `harness check`: loads each suite file and prints every error as
 * FILE:LINE:COLUMN: message. Exit 0 when all are valid, 2 otherwise. */
#include <getopt.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"
#include "suite.h"

static const char usage[] =
        "Usage: harness check [OPTIONS] SUITE...\n"
        "\n"
        "Validate suite files without running anything. Every error is printed as\n"
        "FILE:LINE:COLUMN: message (up to 20 per file). Exit 0 when all are valid,\n"
        "2 otherwise. What 'harness run' allows only with --allow-privileged is\n"
        "noted, not refused. Also checked, as 'harness run' would before building\n"
        "anything: suite names unique among the files given, Debian release names\n"
        "(distro-info-data), rootfs directories, fixture sources, and systemd in a\n"
        "tree whose tests boot (a managed tree only once built).\n"
        "\n"
        "A file named 'control' is read as a debian/tests/control (DEP-8), with the\n"
        "debian/control beside it: errors as FILE:LINE: message, as autopkgtest\n"
        "would refuse the file.\n"
        "\n"
        "Options:\n"
        "  -q, --quiet   print nothing for valid files\n"
        "      --allow-outside-fixtures  as for 'harness run'\n"
        "  -h, --help    show this help\n";

int runner_cmd_check(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "quiet", no_argument, NULL, 'q' },
                { "allow-outside-fixtures", no_argument, NULL, 'O' },
                {},
        };
        bool quiet = false, allow_outside = false;
        int c, ret = RUNNER_EXIT_OK;

        while ((c = getopt_long(argc, argv, "+hq", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                case 'q':
                        quiet = true;
                        break;
                case 'O':
                        allow_outside = true;
                        break;
                default:
                        return runner_usage_error("check", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("check", "no suite file given");

        Suite **loaded = NULL;
        size_t n_loaded = 0;
        for (int i = optind; i < argc; i++) {
                if (runner_is_dep8_control(argv[i])) {
                        RunnerDep8 d = {};
                        if (runner_dep8_load(argv[i], &d) < 0) {
                                ret = RUNNER_EXIT_USAGE;
                                continue;
                        }
                        if (!quiet)
                                printf("%s: ok, %zu test%s\n", runner_safe(argv[i]),
                                       d.tests->n_tests, d.tests->n_tests == 1 ? "" : "s");
                        runner_dep8_done(&d);
                        continue;
                }
                SuiteDiags diags = {};
                size_t from = n_loaded;
                int r = runner_load_suite_file(argv[i], &loaded, &n_loaded, &diags);
                bool bad = r < 0;
                if (r < 0)
                        runner_print_suite_diags(argv[i], r, &diags);
                /* Every tree of a matrix; the privileged notes once a file. */
                if (!bad && runner_check_privileged(loaded[from], RUNNER_PRIVILEGED_NOTE) < 0)
                        bad = true;
                if (!bad && runner_check_suites(loaded + from, n_loaded - from, /* trees= */ true,
                                                allow_outside) < 0)
                        bad = true;
                if (bad)
                        ret = RUNNER_EXIT_USAGE;
                else if (!quiet)
                        printf("%s: ok, %zu test%s%s\n", runner_safe(argv[i]),
                               loaded[from]->n_tests, loaded[from]->n_tests == 1 ? "" : "s",
                               n_loaded - from > 1 ? ", on each tree of the rootfs list" : "");
                suite_diags_done(&diags);
        }
        fflush(stdout);
        if (runner_check_suite_names(loaded, n_loaded) < 0)
                ret = RUNNER_EXIT_USAGE;
        for (size_t i = 0; i < n_loaded; i++)
                suite_free(loaded[i]);
        free(loaded);
        return ret;
}

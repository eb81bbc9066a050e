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
        "noted, not refused.\n"
        "\n"
        "Options:\n"
        "  -q, --quiet   print nothing for valid files\n"
        "  -h, --help    show this help\n";

int runner_cmd_check(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "quiet", no_argument, NULL, 'q' },
                {},
        };
        bool quiet = false;
        int c, ret = RUNNER_EXIT_OK;

        while ((c = getopt_long(argc, argv, "+hq", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return runner_usage_error("check", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("check", "no suite file given");

        for (int i = optind; i < argc; i++) {
                SuiteDiags diags = {};
                Suite *s = NULL;
                int r = suite_load(argv[i], &s, &diags);
                if (r < 0) {
                        runner_print_suite_diags(argv[i], r, &diags);
                        ret = RUNNER_EXIT_USAGE;
                } else if (runner_check_privileged(s, RUNNER_PRIVILEGED_NOTE) < 0) {
                        ret = RUNNER_EXIT_USAGE;
                } else if (!quiet) {
                        printf("%s: ok, %zu test%s\n", argv[i], s->n_tests,
                               s->n_tests == 1 ? "" : "s");
                }
                suite_free(s);
                suite_diags_done(&diags);
        }
        fflush(stdout);
        return ret;
}

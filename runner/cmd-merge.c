/* runner: `harness merge -o OUT IN...`: joins JUnit, TAP or JSON reports
 * (typically one per --shard I/N run) into one file of the same format. The
 * merging itself, and telling the formats apart, is in reports/. */
#include <getopt.h>

#include "report.h"
#include "runner.h"
#include "runner-internal.h"

static const char usage[] =
        "Usage: harness merge -o OUTPUT INPUT...\n"
        "\n"
        "Merge reports of one format (for example one per --shard I/N run) into\n"
        "one: JUnit XML, TAP or JSON (CTRF), told apart by their content. JUnit:\n"
        "suites of the same name are joined and every count is recomputed; TAP:\n"
        "test points renumbered under one plan; JSON: tests joined and the summary\n"
        "recomputed. The same test in two inputs is an error.\n"
        "\n"
        "Options:\n"
        "  -o, --output FILE        the merged report (written atomically)\n"
        "      --junit-flavor NAME  of a JUnit merge: default, jenkins (Jenkins\n"
        "                           xUnit's junit-10.xsd) or surefire (Maven\n"
        "                           Surefire's XSD), as for harness run\n"
        "  -h, --help               show this help\n";

int runner_cmd_merge(int argc, char **argv)
{
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "junit-flavor", required_argument, NULL, 'F' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        ReportOptions opts = {};
        const char *output = NULL;
        ThError err = {};
        int c;

        while ((c = getopt_long(argc, argv, "+:o:h", options, NULL)) >= 0) {
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'F':
                        opts.junit_flavor = report_junit_flavor_from_string(optarg);
                        if (opts.junit_flavor < 0)
                                return runner_usage_error(
                                        "merge",
                                        "invalid --junit-flavor '%s': default, jenkins or surefire",
                                        optarg);
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                case ':':
                        return runner_usage_error("merge", "option '%s' needs an argument",
                                                  argv[optind - 1]);
                default:
                        return runner_usage_error("merge", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (!output || !*output)
                return runner_usage_error("merge", "no output file given (-o FILE)");
        if (optind >= argc)
                return runner_usage_error("merge", "no input files given");

        if (report_merge(argv + optind, (size_t)(argc - optind), &opts, output, &err) < 0) {
                th_log(TH_LOG_ERROR, "merge: %s", err.msg);
                return RUNNER_EXIT_USAGE;
        }
        th_log(TH_LOG_INFO, "merged %d report(s) into '%s'", argc - optind, output);
        return RUNNER_EXIT_OK;
}

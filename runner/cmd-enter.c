/* runner: `harness enter NAME [CMD...]`, a shell or a command inside a running
 * container (its namespaces, cgroup, root and environment). */
#include <getopt.h>
#include <string.h>

#include "isolate.h"
#include "runner.h"
#include "runner-internal.h"

static const char usage[] =
        "Usage: harness enter NAME [--] [CMD [ARG...]]\n"
        "\n"
        "Run CMD (default: the container's /bin/sh) inside the running container\n"
        "NAME (see 'harness ps'), as its root, with its environment. The program is\n"
        "the container's own, found with the container's PATH.\n"
        "\n"
        "CMD runs in a session of its own: with a terminal on stdin, stdout or\n"
        "stderr it gets a new pty of the container (window size passed on; Ctrl-]\n"
        "three times in a row leaves), without one no controlling terminal.\n"
        "\n"
        "The exit status is the command's; 3 when the container cannot be entered.\n";

int runner_cmd_enter(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                default:
                        return runner_usage_error("enter", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("enter", "no machine name given");
        const char *name = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        int status = 0;
        ThError err = {};
        IsolateMachine m;
        /* An unknown name is the user's mistake (2); failing to enter is 3. */
        if (isolate_machine_get(name, &m, &err) < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return RUNNER_EXIT_USAGE;
        }
        int r = isolate_machine_enter(name, optind < argc ? argv + optind : NULL, &status, &err);
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return RUNNER_EXIT_INFRA;
        }
        return status;
}

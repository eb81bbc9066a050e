/* runner: the top-level command line. Global options, then dispatch to one
 * subcommand; each subcommand parses its own options in cmd-*.c. */
#include <getopt.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

static const RunnerCommand commands[] = {
        { "run", "run suites in fresh containers and write reports", runner_cmd_run },
        { "check", "validate suite files", runner_cmd_check },
        { "list", "list the tests of suites", runner_cmd_list },
        { "shell", "run a command or a shell in a container (nspawn-like)", runner_cmd_shell },
        { "rootfs", "build, list and remove managed root filesystems", runner_cmd_rootfs },
        { "merge", "merge JUnit, TAP or JSON reports from shards", runner_cmd_merge },
        { "ps", "list running containers", runner_cmd_ps },
        { "enter", "run a shell or command inside a running container", runner_cmd_enter },
        { "stop", "stop a running container", runner_cmd_stop },
        { "pkg", "check a package's install, purge and upgrade (no suite to write)",
          runner_cmd_pkg },
        { "autopkgtest", "run a source package's DEP-8 tests", runner_cmd_autopkgtest },
};

static void help(FILE *f)
{
        fprintf(f, "Usage: harness [OPTIONS] COMMAND [ARGS...]\n"
                   "\n"
                   "Run test suites in fresh Linux containers and report in JUnit, TAP and JSON.\n"
                   "\n"
                   "Options:\n"
                   "  -h, --help      show this help\n"
                   "      --version   show the version\n"
                   "  -v, --verbose   more messages (repeat for debug)\n"
                   "  -q, --quiet     only errors\n"
                   "\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\nRun 'harness COMMAND --help' for a command's options.\n");
}

int runner_usage_error(const char *cmd, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        th_log(TH_LOG_ERROR, "%s", msg);
        fprintf(stderr, "Try 'harness %s%s--help' for more information.\n", cmd ? cmd : "",
                cmd ? " " : "");
        return RUNNER_EXIT_USAGE;
}

int runner_main(int argc, char **argv)
{
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                {},
        };
        int level = TH_LOG_INFO, c;

        th_log_set_sink(th_log_stderr_sink, NULL);
        th_log_set_max_level(level);

        /* '+': stop at the first non-option, the subcommand. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+hvq", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help(stdout);
                        return RUNNER_EXIT_OK;
                case ARG_VERSION:
                        printf("harness %s\n", HARNESS_VERSION);
                        return RUNNER_EXIT_OK;
                case 'v':
                        level++;
                        break;
                case 'q':
                        level = TH_LOG_ERROR;
                        break;
                default:
                        return runner_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
                }
        }
        th_log_set_max_level(level);

        if (optind >= argc)
                return runner_usage_error(NULL, "no command given");

        const char *name = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i].name, name) == 0) {
                        int first = optind;
                        optind = 0; /* reset getopt for the subcommand */
                        opterr = 0;
                        return commands[i].fn(argc - first, argv + first);
                }
        return runner_usage_error(NULL, "unknown command '%s'", name);
}

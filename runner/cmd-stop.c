/* runner: `harness stop NAME`, a clean poweroff of a booted container (or
 * SIGTERM to a direct-mode command), then a kill when it does not end. */
#include <getopt.h>
#include <string.h>

#include "isolate.h"
#include "runner.h"
#include "runner-internal.h"

static const char usage[] =
        "Usage: harness stop [--timeout DURATION] NAME...\n"
        "\n"
        "Stop running containers: boot mode asks systemd to power off, direct mode\n"
        "sends SIGTERM to the command; after the timeout (default 10s) every process\n"
        "of the container is killed. Returns when the container is gone.\n"
        "\n"
        "Options:\n"
        "      --timeout DURATION   how long to wait before killing (default 10s)\n"
        "  -h, --help               show this help\n";

int runner_cmd_stop(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        uint64_t timeout = 10 * USEC_PER_SEC;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                case 't':
                        if (th_parse_duration(optarg, &timeout) < 0)
                                return runner_usage_error("stop", "invalid duration '%s'", optarg);
                        break;
                default:
                        return runner_usage_error("stop", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("stop", "no machine name given");
        int ret = RUNNER_EXIT_OK;
        for (int i = optind; i < argc; i++) {
                ThError err = {};
                int r = isolate_machine_stop(argv[i], timeout, &err);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "%s", err.msg);
                        ret = r == -ENOENT || r == -EINVAL ? RUNNER_EXIT_USAGE : RUNNER_EXIT_INFRA;
                }
        }
        return ret;
}

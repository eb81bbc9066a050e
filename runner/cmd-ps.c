/* runner: `harness ps`, the running containers from isolate's registry as a
 * table or as JSON. */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "isolate.h"
#include "runner.h"
#include "runner-internal.h"

static const char usage[] = "Usage: harness ps [--json]\n"
                            "\n"
                            "List the running containers: machine name, suite, test, PID 1 (as\n"
                            "the host sees it), start time, mode, network address and root.\n"
                            "\n"
                            "Options:\n"
                            "      --json     one JSON array of objects\n"
                            "  -h, --help     show this help\n";

static void print_json(const IsolateMachine *v, size_t n)
{
        printf("[");
        for (size_t i = 0; i < n; i++) {
                const IsolateMachine *m = &v[i];
                printf("%s\n  {\"name\": ", i ? "," : "");
                runner_json_string(stdout, m->name);
                printf(", \"suite\": ");
                runner_json_string(stdout, m->suite);
                printf(", \"test\": ");
                runner_json_string(stdout, m->test);
                printf(", \"leader\": %d, \"start_usec\": %llu, \"mode\": \"%s\", \"network\": ",
                       (int)m->leader, (unsigned long long)m->start_usec,
                       m->boot ? "boot" : "direct");
                runner_json_string(stdout, m->network);
                printf(", \"address\": ");
                runner_json_string(stdout, m->address);
                printf(", \"rootfs\": ");
                runner_json_string(stdout, m->rootfs);
                printf(", \"cgroup\": ");
                runner_json_string(stdout, m->cgroup);
                printf("}");
        }
        printf("%s]\n", n ? "\n" : "");
}

static void print_table(const IsolateMachine *v, size_t n)
{
        printf("%-40s %-8s %-20s %-6s %-8s %-16s %s\n", "MACHINE", "PID", "STARTED", "MODE",
               "NETWORK", "ADDRESS", "SUITE/TEST");
        for (size_t i = 0; i < n; i++) {
                const IsolateMachine *m = &v[i];
                char when[32] = "-";
                time_t t = (time_t)(m->start_usec / USEC_PER_SEC);
                struct tm tm;
                if (localtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                /* The registry holds names from suite files: escaped. */
                printf("%-40s %-8d %-20s %-6s %-8s %-16s %s%s%s\n", runner_safe(m->name),
                       (int)m->leader, when, m->boot ? "boot" : "direct",
                       m->network[0] ? runner_safe(m->network) : "-",
                       m->address[0] ? runner_safe(m->address) : "-", runner_safe(m->suite),
                       m->suite[0] ? "/" : "",
                       m->test[0] ? runner_safe(m->test) : (m->suite[0] ? "" : "-"));
        }
}

int runner_cmd_ps(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {},
        };
        bool json = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return RUNNER_EXIT_OK;
                case 'j':
                        json = true;
                        break;
                default:
                        return runner_usage_error("ps", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return runner_usage_error("ps", "unexpected argument '%s'", argv[optind]);
        _cleanup_free_ IsolateMachine *v = NULL;
        size_t n = 0;
        ThError err = {};
        int r = isolate_machine_list(&v, &n, &err);
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return RUNNER_EXIT_INFRA;
        }
        if (json)
                print_json(v, n);
        else
                print_table(v, n);
        return RUNNER_EXIT_OK;
}

/* bench: times report_write_junit() on N synthetic results (1 in 100 failed,
 * 1 in 50 skipped) and prints the seconds spent inside the writer. Built on
 * demand (target bench_junit) by bench/run; not part of the harness binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

static char *xstrdup(const char *s)
{
        char *p = strdup(s);
        if (!p) {
                fputs("bench_junit: out of memory\n", stderr);
                exit(1);
        }
        return p;
}

static char *case_name(size_t i)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "synthetic test %zu", i);
        return xstrdup(buf);
}

static void fill_case(ReportCase *c, size_t i)
{
        c->name = case_name(i);
        c->classname = xstrdup("bench-junit");
        c->line = (unsigned)(i + 3);
        c->time_sec = 0.001 * (double)(i % 97);
        c->status = REPORT_PASS;
        if (i % 100 == 7) {
                c->status = REPORT_FAIL;
                c->type = xstrdup("exit-status");
                c->message = xstrdup("exited with status 1, expected 0");
                c->details = xstrdup("stdout did not match 'Setting up hello'\n"
                                     "stderr: E: <unable> & \"failed\"\n");
        } else if (i % 50 == 13) {
                c->status = REPORT_SKIP;
                c->message = xstrdup("waiting for upstream fix");
        }
}

static double now_sec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fputs("Usage: bench_junit N OUTPUT.xml\n", stderr);
                return 2;
        }
        size_t n = strtoull(argv[1], NULL, 10);
        ReportCase *cases = calloc(n ? n : 1, sizeof(ReportCase));
        ReportSuite *suite = calloc(1, sizeof(ReportSuite));
        if (!cases || !suite) {
                fputs("bench_junit: out of memory\n", stderr);
                return 1;
        }
        for (size_t i = 0; i < n; i++)
                fill_case(&cases[i], i);
        suite->name = xstrdup("bench-junit");
        suite->hostname = xstrdup("bench");
        suite->timestamp_usec = 1767225600ULL * 1000000ULL;
        suite->cases = cases;
        suite->n_cases = n;
        ReportRun run = { .suites = suite, .n_suites = 1 };
        ReportOptions opts = { 0 };
        ThError err = { 0 };

        double t0 = now_sec();
        int r = report_write_junit(&run, &opts, argv[2], &err);
        double t1 = now_sec();
        if (r < 0) {
                fprintf(stderr, "bench_junit: %s\n", err.msg);
                return 1;
        }
        printf("%.6f\n", t1 - t0);
        report_run_done(&run);
        return 0;
}

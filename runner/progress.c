/* runner: progress of `harness run` on the terminal. On a TTY one status
 * line redrawn in place (done/total, running, failures, elapsed) with
 * non-passing tests printed above it; otherwise one line per finished test. */
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

void runner_progress_init(RunProgress *p, FILE *out, bool live, size_t total)
{
        *p = (RunProgress){ .out = out, .live = live, .total = total, .start_usec = th_now_usec() };
}

void runner_progress_clear(RunProgress *p)
{
        if (!p->live || !p->line_drawn)
                return;
        fputs("\r\033[K", p->out);
        p->line_drawn = false;
}

static const char *status_word(ReportStatus s, bool flaky)
{
        switch (s) {
        case REPORT_PASS:
                return flaky ? "FLAKY" : "PASS";
        case REPORT_FAIL:
                return "FAIL";
        case REPORT_ERROR:
                return "ERROR";
        case REPORT_SKIP:
                return "SKIP";
        case _REPORT_STATUS_MAX:
        case _REPORT_STATUS_INVALID:
                break;
        }
        return "?";
}

void runner_progress_result(RunProgress *p, const char *suite, const char *test,
                            ReportStatus status, bool flaky, double time_sec, const char *message)
{
        p->done++;
        p->failed += status == REPORT_FAIL;
        p->errors += status == REPORT_ERROR;
        p->skipped += status == REPORT_SKIP;
        p->flaky += flaky;
        /* Live or -q: only what did not pass gets a line. */
        if ((p->live || th_log_get_max_level() < TH_LOG_NOTICE) && status == REPORT_PASS &&
            !flaky) {
                runner_progress_tick(p, p->running);
                return;
        }
        runner_progress_clear(p);
        /* Names come from the suite file, the message can quote the
         * container (an error, a line): all escaped. */
        fprintf(p->out, "%-5s %s/%s", status_word(status, flaky), runner_safe(suite),
                runner_safe(test));
        if (status != REPORT_SKIP)
                fprintf(p->out, " (%.2fs)", time_sec);
        if (message && message[0]) {
                char safe[2048];
                th_cescape_buf(message, safe, sizeof(safe), 0);
                fprintf(p->out, ": %s", safe);
        }
        fputc('\n', p->out);
        if (p->live)
                runner_progress_tick(p, p->running);
        fflush(p->out);
}

void runner_progress_tick(RunProgress *p, unsigned running)
{
        double elapsed = (double)(th_now_usec() - p->start_usec) / 1e6;

        p->running = running;
        if (!p->live)
                return;
        fprintf(p->out, "\r\033[K[%zu/%zu] %u running, %zu failed, %zu errors, %.0fs", p->done,
                p->total, running, p->failed, p->errors, elapsed);
        p->line_drawn = true;
        fflush(p->out);
}

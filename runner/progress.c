/* runner: progress of `harness run`. On a terminal ("live") one status line
 * redrawn in place (done/total, elapsed, failures, then the names of the
 * running tests, cut to the terminal's width), cleared before any other
 * line (a result, a log message), with colour unless NO_COLOR is set;
 * otherwise ("plain", a CI log) one line per finished test and no escape
 * sequence at all. */
#include <string.h>
#include <sys/ioctl.h>

#include "runner.h"
#include "runner-internal.h"

#define SGR_RED    "\033[31m"
#define SGR_GREEN  "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_BOLD   "\033[1m"
#define SGR_RESET  "\033[0m"

bool runner_colour_wanted(bool terminal, const char *no_color, const char *term)
{
        /* https://no-color.org: set and not empty disables colour. */
        return terminal && !(no_color && *no_color) && !th_streq(term, "dumb");
}

void runner_progress_init(RunProgress *p, FILE *out, bool live, size_t total)
{
        *p = (RunProgress){ .out = out,
                            .live = live,
                            .colour =
                                    runner_colour_wanted(live, getenv("NO_COLOR"), getenv("TERM")),
                            .total = total,
                            .start_usec = th_now_usec(),
                            .pid = getpid() };
}

void runner_progress_done(RunProgress *p)
{
        free(p->names);
        p->names = NULL;
        p->n_names = 0;
}

void runner_progress_clear(RunProgress *p)
{
        if (!p->live || !p->line_drawn)
                return;
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->line_drawn = false;
}

void runner_progress_started(RunProgress *p, const char *id)
{
        const char **n = reallocarray(p->names, p->n_names + 1, sizeof(*n));

        if (!n)
                return; /* the name is left out of the status line */
        p->names = n;
        p->names[p->n_names++] = id;
}

void runner_progress_stopped(RunProgress *p, const char *id)
{
        for (size_t i = 0; i < p->n_names; i++)
                if (p->names[i] == id) {
                        memmove(&p->names[i], &p->names[i + 1],
                                (p->n_names - i - 1) * sizeof(*p->names));
                        p->n_names--;
                        return;
                }
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

static const char *status_colour(ReportStatus s, bool flaky)
{
        switch (s) {
        case REPORT_PASS:
                return flaky ? SGR_YELLOW : SGR_GREEN;
        case REPORT_FAIL:
                return SGR_RED;
        case REPORT_ERROR:
                return SGR_BOLD SGR_RED;
        case REPORT_SKIP:
                return SGR_YELLOW;
        case _REPORT_STATUS_MAX:
        case _REPORT_STATUS_INVALID:
                break;
        }
        return "";
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
        if (p->colour)
                fprintf(p->out, "%s%-5s%s", status_colour(status, flaky),
                        status_word(status, flaky), SGR_RESET);
        else
                fprintf(p->out, "%-5s", status_word(status, flaky));
        fprintf(p->out, " %s/%s", runner_safe(suite), runner_safe(test));
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

/* Terminal columns of UTF-8 text, one per code point (escaped names hold
 * no controls). */
static size_t columns_of(const char *s, size_t len)
{
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                n += ((unsigned char)s[i] & 0xc0) != 0x80;
        return n;
}

/* The longest prefix of s (whole code points) that fits in cols columns. */
static size_t prefix_fitting(const char *s, size_t len, size_t cols)
{
        size_t n = 0, i = 0;

        for (; i < len; i++) {
                if (((unsigned char)s[i] & 0xc0) != 0x80) {
                        if (n == cols)
                                break;
                        n++;
                }
        }
        return i;
}

static unsigned terminal_columns(FILE *out)
{
        struct winsize ws;

        if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        const char *c = getenv("COLUMNS");
        long v = c ? strtol(c, NULL, 10) : 0;
        return v > 0 && v < 10000 ? (unsigned)v : 80;
}

int runner_progress_format(const RunProgress *p, unsigned running, double elapsed, unsigned width,
                           char *buf, size_t size)
{
        char line[1024];
        size_t len, fit;
        int r;

        r = snprintf(line, sizeof(line), "[%zu/%zu] %.0fs, %zu failed, %zu errors, %u running",
                     p->done, p->total, elapsed, p->failed, p->errors, running);
        if (r < 0)
                return -EINVAL;
        len = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
        for (size_t i = 0; i < p->n_names && len < sizeof(line) - 1; i++) {
                r = snprintf(line + len, sizeof(line) - len, "%s%s", i == 0 ? ": " : ", ",
                             runner_safe(p->names[i]));
                if (r < 0)
                        break;
                len += (size_t)r < sizeof(line) - len ? (size_t)r : sizeof(line) - len - 1;
        }
        /* One column short of the width: a full line would wrap on some
         * terminals, and \r would then redraw only its second half. */
        size_t cols = width > 1 ? width - 1 : 1;
        if (columns_of(line, len) > cols) {
                fit = prefix_fitting(line, len, cols > 3 ? cols - 3 : 0);
                memcpy(line + fit, "...", 4);
                len = fit + (cols > 3 ? 3 : 0);
                line[len] = 0;
        }
        r = th_snprintf(buf, size, "%.*s", (int)len, line);
        return r < 0 ? r : 0;
}

void runner_progress_tick(RunProgress *p, unsigned running)
{
        double elapsed = (double)(th_now_usec() - p->start_usec) / 1e6;
        char line[1024];

        p->running = running;
        if (!p->live)
                return;
        if (runner_progress_format(p, running, elapsed, terminal_columns(p->out), line,
                                   sizeof(line)) < 0)
                return;
        fprintf(p->out, "\r\033[K%s", line);
        p->line_drawn = true;
        fflush(p->out);
}

void runner_progress_log_sink(ThLogLevel level, const char *msg, void *userdata)
{
        RunProgress *p = userdata;

        if (!p->live) {
                th_log_stderr_sink(level, msg, NULL);
                return;
        }
        if (getpid() != p->pid) {
                /* A worker: the runner redraws its line on its next tick. */
                fputs("\r\033[K", p->out);
                fflush(p->out);
                th_log_stderr_sink(level, msg, NULL);
                return;
        }
        bool drawn = p->line_drawn;
        runner_progress_clear(p);
        th_log_stderr_sink(level, msg, NULL);
        fflush(stderr);
        if (drawn)
                runner_progress_tick(p, p->running);
}

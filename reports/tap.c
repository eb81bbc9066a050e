/* reports: the TAP writer: TAP 14 content under a "TAP version 13" line by
 * default (see ReportOptions.tap_version). One test point per test case, in
 * report order, with a YAML diagnostic block (2-space indent, as TAP 14
 * says) for failures, errors and flaky passes. Every string is escaped so
 * that Perl's TAP::Parser (prove) reads it. */
#include <inttypes.h>
#include <string.h>

#include "report-internal.h"

static int yaml_kv(RBuf *b, const char *indent, const char *key, const char *value)
{
        int r = rbuf_printf(b, "%s%s: ", indent, key);
        if (r >= 0)
                r = yaml_quote(value, strlen(value), /* one_line= */ false, b);
        return r < 0 ? r : rbuf_putc(b, '\n');
}

static const char *severity(const ReportCase *c)
{
        switch (c->status) {
        case REPORT_PASS:
                return "ok";
        case REPORT_FAIL:
                return "fail";
        case REPORT_SKIP:
                return "skip";
        case REPORT_ERROR:
        case _REPORT_STATUS_MAX:
        case _REPORT_STATUS_INVALID:
        default:
                return "error";
        }
}

static int diagnostics(RBuf *b, const ReportSuite *s, const ReportCase *c)
{
        const char *file = c->file ? c->file : s->file;
        char secs[REPORT_SECONDS_MAX];
        int r;

        format_seconds(c->time_sec, secs);
        r = rbuf_puts(b, "  ---\n");
        if (r >= 0 && c->message)
                r = yaml_kv(b, "  ", "message", c->message);
        if (r >= 0)
                r = rbuf_printf(b, "  severity: %s\n", severity(c));
        if (r >= 0 && c->type)
                r = yaml_kv(b, "  ", "type", c->type);
        if (r >= 0)
                r = rbuf_printf(b, "  duration_ms: %" PRIu64 "\n", seconds_to_msec(c->time_sec));
        if (r >= 0 && c->details)
                r = yaml_kv(b, "  ", "details", c->details);
        if (r >= 0 && c->flaky)
                r = rbuf_puts(b, "  flaky: true\n");
        if (r >= 0 && c->n_attempts > 0)
                r = rbuf_printf(b, "  attempts: %zu\n", c->n_attempts + 1);
        if (r >= 0 && file) {
                r = rbuf_puts(b, "  at:\n");
                if (r >= 0)
                        r = yaml_kv(b, "    ", "file", file);
                if (r >= 0 && c->line > 0)
                        r = rbuf_printf(b, "    line: %u\n", c->line);
        }
        if (r >= 0 && c->stdout_path)
                r = yaml_kv(b, "  ", "stdout", c->stdout_path);
        if (r >= 0 && c->stderr_path)
                r = yaml_kv(b, "  ", "stderr", c->stderr_path);
        return r < 0 ? r : rbuf_puts(b, "  ...\n");
}

static bool needs_diagnostics(const ReportCase *c)
{
        return c->status != REPORT_PASS && c->status != REPORT_SKIP ? true : c->flaky;
}

static int test_point(RBuf *b, size_t n, const ReportSuite *s, const ReportCase *c)
{
        const char *cls = report_case_classname(s, c);
        const char *name = c->name ? c->name : "(unnamed)";
        bool ok = c->status == REPORT_PASS || c->status == REPORT_SKIP;
        int r;

        r = rbuf_printf(b, "%s %zu - ", ok ? "ok" : "not ok", n);
        if (r >= 0)
                r = tap_escape_description(cls, strlen(cls), b);
        if (r >= 0)
                r = rbuf_puts(b, ": ");
        if (r >= 0)
                r = tap_escape_description(name, strlen(name), b);
        if (r >= 0 && c->status == REPORT_SKIP) {
                r = rbuf_puts(b, " # SKIP");
                if (r >= 0 && c->message && *c->message) {
                        r = rbuf_putc(b, ' ');
                        if (r >= 0)
                                r = tap_escape_description(c->message, strlen(c->message), b);
                }
        }
        if (r >= 0)
                r = rbuf_putc(b, '\n');
        if (r >= 0 && needs_diagnostics(c))
                r = diagnostics(b, s, c);
        return r;
}

static int flush(int fd, RBuf *b)
{
        int r = th_write_all(fd, b->data, b->len);
        b->len = 0;
        return r;
}

static int document(int fd, const ReportRun *run, unsigned version)
{
        ReportCase interrupted = {
                .name = (char *)"run interrupted",
                .classname = (char *)"harness",
                .status = REPORT_ERROR,
                .type = (char *)"interrupted",
                .message = (char *)"the run was interrupted; tests that had not finished are "
                                   "not in this report",
        };
        ReportSuite harness = { .name = (char *)"harness" };
        size_t total = run->interrupted ? 1 : 0, n = 0;
        RBuf b = {};
        int r;

        for (size_t i = 0; i < run->n_suites; i++)
                total += run->suites[i].n_cases;
        r = rbuf_printf(&b, "TAP version %u\n", version);
        if (r >= 0)
                r = total > 0 ? rbuf_printf(&b, "1..%zu\n", total)
                              : rbuf_puts(&b, "1..0 # SKIP no tests selected\n");
        for (size_t i = 0; r >= 0 && i < run->n_suites; i++)
                for (size_t k = 0; r >= 0 && k < run->suites[i].n_cases; k++) {
                        ReportCase tmp;
                        const ReportCase *c;
                        r = report_case_get(&run->suites[i], k, &tmp, &c);
                        if (r < 0)
                                break;
                        r = test_point(&b, ++n, &run->suites[i], c);
                        report_case_put(&run->suites[i], &tmp);
                        if (r >= 0 && b.len > 64 * 1024)
                                r = flush(fd, &b);
                }
        if (r >= 0 && run->interrupted)
                r = test_point(&b, ++n, &harness, &interrupted);
        if (r >= 0)
                r = flush(fd, &b);
        rbuf_done(&b);
        return r;
}

int report_write_tap(const ReportRun *run, const ReportOptions *opts, const char *path,
                     ThError *err)
{
        ReportFile f = REPORT_FILE_NULL;
        int r;

        unsigned version = opts && opts->tap_version ? opts->tap_version : 13;
        if (!run)
                return th_error_set(err, EINVAL, "no results to report");
        if (version != 13 && version != 14)
                return th_error_set(err, EINVAL, "unsupported TAP version %u (13 or 14)", version);
        r = report_file_open(&f, path, err);
        if (r < 0)
                return r;
        r = document(f.fd, run, version);
        if (r < 0)
                r = th_error_errno(err, -r, "write TAP report '%s'", path);
        else
                r = report_file_commit(&f, err);
        report_file_done(&f);
        return r;
}

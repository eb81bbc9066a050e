/* reports: the JSON writer, shaped as CTRF (Common Test Report Format) so
 * CTRF tooling reads it: results.tool, results.summary and results.tests,
 * with harness-specific fields under "extra". A small escaping writer of
 * our own (json_escape in text.c); the key set is in docs/reports.md. */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "report-internal.h"

typedef struct Json {
        RBuf b;
        int fd;
        const ReportOptions *opts;
        bool first[16]; /* per nesting level: no comma needed yet */
        unsigned depth;
} Json;

static int flush(Json *j)
{
        int r = th_write_all(j->fd, j->b.data, j->b.len);
        j->b.len = 0;
        return r;
}

static int sep(Json *j)
{
        if (j->first[j->depth]) {
                j->first[j->depth] = false;
                return 0;
        }
        return rbuf_putc(&j->b, ',');
}

static int open_(Json *j, const char *key, char bracket)
{
        int r = sep(j);
        if (r >= 0 && key) {
                r = json_escape(key, strlen(key), &j->b);
                if (r >= 0)
                        r = rbuf_putc(&j->b, ':');
        }
        if (r >= 0)
                r = rbuf_putc(&j->b, bracket);
        if (r < 0)
                return r;
        if (j->depth + 1 >= ELEMENTSOF(j->first))
                return -E2BIG;
        j->first[++j->depth] = true;
        return 0;
}

static int close_(Json *j, char bracket)
{
        j->depth--;
        int r = rbuf_putc(&j->b, bracket);
        if (r >= 0 && j->b.len > 64 * 1024)
                r = flush(j);
        return r;
}

static int key(Json *j, const char *k)
{
        int r = sep(j);
        if (r >= 0 && k) {
                r = json_escape(k, strlen(k), &j->b);
                if (r >= 0)
                        r = rbuf_putc(&j->b, ':');
        }
        return r;
}

static int kv_str(Json *j, const char *k, const char *v)
{
        int r = key(j, k);
        if (r < 0)
                return r;
        if (!v)
                return rbuf_puts(&j->b, "null");
        return json_escape(v, strlen(v), &j->b);
}

static int kv_u64(Json *j, const char *k, uint64_t v)
{
        int r = key(j, k);
        return r < 0 ? r : rbuf_printf(&j->b, "%" PRIu64, v);
}

static int kv_bool(Json *j, const char *k, bool v)
{
        int r = key(j, k);
        return r < 0 ? r : rbuf_puts(&j->b, v ? "true" : "false");
}

static const char *ctrf_status(ReportStatus s)
{
        switch (s) {
        case REPORT_PASS:
                return "passed";
        case REPORT_SKIP:
                return "skipped";
        case REPORT_FAIL:
        case REPORT_ERROR:
        case _REPORT_STATUS_MAX:
        case _REPORT_STATUS_INVALID:
        default:
                /* An error is not the test's fault, but it must not look green;
                 * extra.outcome keeps "error" apart. */
                return "failed";
        }
}

/* "stdout": [lines...] from the capped copy of a log. */
static int output_lines(Json *j, const char *k, const char *path, size_t cap)
{
        Capture c = {};
        ThError e = {};
        RBuf raw = {};
        int r;

        if (capture_read(path, cap, &c, &e) < 0)
                r = rbuf_printf(&raw, "[harness: cannot include the log: %s]", e.msg);
        else
                r = capture_join(&c, &raw);
        capture_done(&c);
        if (r >= 0)
                r = open_(j, k, '[');
        for (size_t start = 0; r >= 0 && start < raw.len;) {
                const char *nl = memchr(raw.data + start, '\n', raw.len - start);
                size_t end = nl ? (size_t)(nl - raw.data) : raw.len;
                r = sep(j);
                if (r >= 0)
                        r = json_escape(raw.data + start, end - start, &j->b);
                start = end + 1;
        }
        rbuf_done(&raw);
        return r < 0 ? r : close_(j, ']');
}

static int attachment(Json *j, const char *name, const char *path)
{
        _cleanup_free_ char *p = report_attachment_path(j->opts, path);
        int r = p ? open_(j, NULL, '{') : -ENOMEM;
        if (r >= 0)
                r = kv_str(j, "name", name);
        if (r >= 0)
                r = kv_str(j, "contentType", "text/plain");
        if (r >= 0)
                r = kv_str(j, "path", p);
        return r < 0 ? r : close_(j, '}');
}

static int attachments(Json *j, const ReportCase *c)
{
        int r;

        if (!c->stdout_path && !c->stderr_path && !(c->attachments && c->attachments[0]))
                return 0;
        r = open_(j, "attachments", '[');
        if (r >= 0 && c->stdout_path)
                r = attachment(j, "stdout", c->stdout_path);
        if (r >= 0 && c->stderr_path)
                r = attachment(j, "stderr", c->stderr_path);
        for (size_t i = 0; r >= 0 && c->attachments && c->attachments[i]; i++) {
                if (access(c->attachments[i], F_OK) < 0)
                        continue;
                const char *slash = strrchr(c->attachments[i], '/');
                r = attachment(j, slash ? slash + 1 : c->attachments[i], c->attachments[i]);
        }
        return r < 0 ? r : close_(j, ']');
}

static int retry_attempts(Json *j, const ReportCase *c)
{
        int r = open_(j, "retryAttempts", '[');

        for (size_t i = 0; r >= 0 && i < c->n_attempts; i++) {
                const ReportAttempt *a = &c->attempts[i];
                r = open_(j, NULL, '{');
                if (r >= 0)
                        r = kv_u64(j, "attempt", i + 1);
                if (r >= 0)
                        r = kv_str(j, "status", ctrf_status(a->status));
                if (r >= 0)
                        r = kv_u64(j, "duration", seconds_to_msec(a->time_sec));
                if (r >= 0 && a->message)
                        r = kv_str(j, "message", a->message);
                if (r >= 0 && (a->stdout_path || a->stderr_path))
                        r = open_(j, "attachments", '[');
                if (r >= 0 && a->stdout_path)
                        r = attachment(j, "stdout", a->stdout_path);
                if (r >= 0 && a->stderr_path)
                        r = attachment(j, "stderr", a->stderr_path);
                if (r >= 0 && (a->stdout_path || a->stderr_path))
                        r = close_(j, ']');
                /* CTRF allows no other key in an attempt: ours go in extra. */
                if (r >= 0 && a->type && (r = open_(j, "extra", '{')) >= 0) {
                        r = kv_str(j, "type", a->type);
                        if (r >= 0)
                                r = close_(j, '}');
                }
                if (r >= 0)
                        r = close_(j, '}');
        }
        return r < 0 ? r : close_(j, ']');
}

static int tags(Json *j, const ReportCase *c)
{
        int r = open_(j, "tags", '[');
        for (size_t i = 0; r >= 0 && c->tags[i]; i++) {
                r = sep(j);
                if (r >= 0)
                        r = json_escape(c->tags[i], strlen(c->tags[i]), &j->b);
        }
        return r < 0 ? r : close_(j, ']');
}

static int test(Json *j, const ReportSuite *s, const ReportCase *c)
{
        const char *file = c->file ? c->file : s->file;
        int r = open_(j, NULL, '{');

        if (r >= 0)
                r = kv_str(j, "name", c->name ? c->name : "(unnamed)");
        if (r >= 0)
                r = kv_str(j, "status", ctrf_status(c->status));
        if (r >= 0)
                r = kv_u64(j, "duration", seconds_to_msec(c->time_sec));
        if (r >= 0 && (r = open_(j, "suite", '[')) >= 0) {
                r = kv_str(j, NULL, report_case_classname(s, c));
                if (r >= 0)
                        r = close_(j, ']');
        }
        if (r >= 0 && c->message)
                r = kv_str(j, "message", c->message);
        if (r >= 0 && c->details)
                r = kv_str(j, "trace", c->details);
        if (r >= 0 && file)
                r = kv_str(j, "filePath", file);
        if (r >= 0 && c->line > 0)
                r = kv_u64(j, "line", c->line);
        if (r >= 0)
                r = kv_u64(j, "retries", c->n_attempts);
        if (r >= 0)
                r = kv_bool(j, "flaky", c->flaky);
        if (r >= 0 && c->n_attempts > 0)
                r = retry_attempts(j, c);
        if (r >= 0 && c->tags && c->tags[0])
                r = tags(j, c);
        if (r >= 0 && c->stdout_path)
                r = output_lines(j, "stdout", c->stdout_path, report_output_cap(j->opts, c));
        if (r >= 0 && c->stderr_path)
                r = output_lines(j, "stderr", c->stderr_path, report_output_cap(j->opts, c));
        if (r >= 0)
                r = attachments(j, c);
        if (r >= 0 && (r = open_(j, "extra", '{')) >= 0) {
                r = kv_str(j, "outcome", report_status_to_string(c->status));
                if (r >= 0 && c->type)
                        r = kv_str(j, "type", c->type);
                if (r >= 0)
                        r = close_(j, '}');
        }
        return r < 0 ? r : close_(j, '}');
}

typedef struct Summary {
        ReportCounts n;
        uint64_t start_ms, stop_ms;
} Summary;

/* start and stop are the run's: its start and its wall time. */
static void summarize(const ReportRun *run, Summary *ret)
{
        Summary sum = {};

        for (size_t i = 0; i < run->n_suites; i++) {
                const ReportSuite *s = &run->suites[i];
                ReportCounts n;
                report_suite_count(s, &n);
                sum.n.tests += n.tests, sum.n.passed += n.passed, sum.n.skipped += n.skipped;
                sum.n.failures += n.failures, sum.n.errors += n.errors, sum.n.flaky += n.flaky;
        }
        sum.start_ms = report_run_timestamp(run) / 1000;
        if (sum.start_ms > 0)
                sum.stop_ms = sum.start_ms + seconds_to_msec(report_run_time(run));
        if (run->interrupted)
                sum.n.tests++, sum.n.errors++;
        *ret = sum;
}

static int summary(Json *j, const ReportRun *run)
{
        Summary s;
        int r;

        summarize(run, &s);
        r = open_(j, "summary", '{');
        if (r >= 0)
                r = kv_u64(j, "tests", s.n.tests);
        if (r >= 0)
                r = kv_u64(j, "passed", s.n.passed);
        if (r >= 0)
                r = kv_u64(j, "failed", s.n.failures + s.n.errors);
        if (r >= 0)
                r = kv_u64(j, "pending", 0);
        if (r >= 0)
                r = kv_u64(j, "skipped", s.n.skipped);
        if (r >= 0)
                r = kv_u64(j, "other", 0);
        if (r >= 0)
                r = kv_u64(j, "flaky", s.n.flaky);
        if (r >= 0)
                r = kv_u64(j, "start", s.start_ms);
        if (r >= 0)
                r = kv_u64(j, "stop", s.stop_ms);
        if (r >= 0)
                r = kv_u64(j, "duration", s.stop_ms - s.start_ms);
        if (r >= 0 && (r = open_(j, "extra", '{')) >= 0) {
                r = kv_u64(j, "errors", s.n.errors);
                if (r >= 0)
                        r = kv_bool(j, "interrupted", run->interrupted);
                if (r >= 0)
                        r = close_(j, '}');
        }
        return r < 0 ? r : close_(j, '}');
}

static int interrupted_test(Json *j)
{
        ReportCase c = {
                .name = (char *)"run interrupted",
                .classname = (char *)"harness",
                .status = REPORT_ERROR,
                .type = (char *)"interrupted",
                .message = (char *)"the run was interrupted; tests that had not finished are "
                                   "not in this report",
        };
        ReportSuite s = { .name = (char *)"harness" };
        return test(j, &s, &c);
}

static int document(Json *j, const ReportRun *run)
{
        int r;

        j->first[0] = true;
        r = open_(j, NULL, '{');
        if (r >= 0)
                r = kv_str(j, "reportFormat", "CTRF");
        if (r >= 0)
                r = kv_str(j, "specVersion", "1.0.0");
        if (r >= 0)
                r = open_(j, "results", '{');
        if (r >= 0 && (r = open_(j, "tool", '{')) >= 0) {
                r = kv_str(j, "name", "harness");
                if (r >= 0)
                        r = kv_str(j, "version", HARNESS_VERSION);
                if (r >= 0)
                        r = close_(j, '}');
        }
        if (r >= 0)
                r = summary(j, run);
        if (r >= 0)
                r = open_(j, "tests", '[');
        for (size_t i = 0; r >= 0 && i < run->n_suites; i++)
                for (size_t k = 0; r >= 0 && k < run->suites[i].n_cases; k++) {
                        ReportCase tmp;
                        const ReportCase *c;
                        r = report_case_get(&run->suites[i], k, &tmp, &c);
                        if (r < 0)
                                break;
                        r = test(j, &run->suites[i], c);
                        report_case_put(&run->suites[i], &tmp);
                }
        if (r >= 0 && run->interrupted)
                r = interrupted_test(j);
        if (r >= 0)
                r = close_(j, ']');
        if (r >= 0)
                r = close_(j, '}'); /* results */
        if (r >= 0)
                r = close_(j, '}');
        if (r >= 0)
                r = rbuf_putc(&j->b, '\n');
        return r < 0 ? r : flush(j);
}

int report_write_json(const ReportRun *run, const ReportOptions *opts, const char *path,
                      ThError *err)
{
        ReportFile f = REPORT_FILE_NULL;
        Json j = { .opts = opts };
        int r;

        if (!run)
                return th_error_set(err, EINVAL, "no results to report");
        r = report_file_open(&f, path, err);
        if (r < 0)
                return r;
        j.fd = f.fd;
        r = document(&j, run);
        rbuf_done(&j.b);
        if (r < 0)
                r = th_error_errno(err, -r, "write JSON report '%s'", path);
        else
                r = report_file_commit(&f, err);
        report_file_done(&f);
        return r;
}

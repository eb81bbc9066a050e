/* reports: the JUnit XML writer. libxml2's xmlTextWriter does structure and
 * markup escaping; every string goes through xml_sanitize() first, because
 * the writer passes control characters and invalid UTF-8 through. Layout and
 * the meaning of each element are in docs/reports.md. */
#include <limits.h>
#include <string.h>

#include "report-internal.h"
#include "xml-lib.h"

/* Any xmlTextWriter call returning < 0 means the output failed. */
#define XW(call)                     \
        do {                         \
                if ((call) < 0)      \
                        return -EIO; \
        } while (0)

#define BAD_CAST_S(s) ((const xmlChar *)(s))

typedef struct Junit {
        xmlTextWriterPtr w;
        const ReportOptions *opts;
        RBuf scratch, defused;
} Junit;

/* Sanitised, and with every `[[ATTACHMENT|` a test could have printed
 * defused: only attachment_line() writes one that consumers recognise. */
static int clean(Junit *j, const char *s, size_t len, bool one_line)
{
        int r;

        j->scratch.len = 0;
        j->defused.len = 0;
        r = xml_sanitize(s, len, one_line, &j->scratch);
        if (r >= 0)
                r = attachment_defuse(j->scratch.data, j->scratch.len, &j->defused);
        return r;
}

static int attr(Junit *j, const char *name, const char *value)
{
        int r = clean(j, value ? value : "", value ? strlen(value) : 0, /* one_line= */ true);

        if (r < 0)
                return r;
        XW(sym_xmlTextWriterWriteAttribute(j->w, BAD_CAST_S(name),
                                           BAD_CAST_S(rbuf_str(&j->defused))));
        return 0;
}

static int attr_size(Junit *j, const char *name, size_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%zu", v);
        return attr(j, name, buf);
}

static int attr_seconds(Junit *j, const char *name, double sec)
{
        char buf[REPORT_SECONDS_MAX];
        format_seconds(sec, buf);
        return attr(j, name, buf);
}

static int text(Junit *j, const char *s, size_t len)
{
        int r = clean(j, s, len, /* one_line= */ false);

        if (r < 0)
                return r;
        XW(sym_xmlTextWriterWriteString(j->w, BAD_CAST_S(rbuf_str(&j->defused))));
        return 0;
}

/* Jenkins' junit-attachments syntax: the line alone, nothing around it. A
 * file that does not exist is not named (the plugin would fail on it), nor
 * one whose name could break the line (an artifact's name is the test's
 * choice). Written past clean(), which would defuse it. */
static int attachment_line(Junit *j, const char *path)
{
        if (access(path, F_OK) < 0 || !attachment_path_ok(path))
                return 0;
        _cleanup_free_ char *p = report_attachment_path(j->opts, path);
        if (!p)
                return -ENOMEM;
        if (!attachment_path_ok(p))
                return 0;
        j->scratch.len = 0;
        int r = rbuf_printf(&j->scratch, "[[ATTACHMENT|%s]]\n", p);
        j->defused.len = 0;
        if (r >= 0)
                r = xml_sanitize(j->scratch.data, j->scratch.len, false, &j->defused);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterWriteString(j->w, BAD_CAST_S(rbuf_str(&j->defused))));
        return 0;
}

/* The capped copy of one log, as raw bytes. */
static int stream_body(const char *path, size_t cap, RBuf *out)
{
        Capture c = {};
        ThError e = {};
        int r = 0;

        if (path) {
                if (capture_read(path, cap, &c, &e) < 0)
                        r = rbuf_printf(out, "[harness: cannot include the log: %s]\n", e.msg);
                else
                        r = capture_join(&c, out);
                capture_done(&c);
                if (r >= 0 && out->len > 0 && out->data[out->len - 1] != '\n')
                        r = rbuf_putc(out, '\n');
        }
        return r;
}

static int stream_element(Junit *j, const char *elem, const char *path, size_t cap,
                          char *const *extra)
{
        RBuf body = {};
        int r;

        if (!path && !(extra && extra[0]))
                return 0;
        r = stream_body(path, cap, &body);
        if (r >= 0 && sym_xmlTextWriterStartElement(j->w, BAD_CAST_S(elem)) < 0)
                r = -EIO;
        if (r >= 0)
                r = text(j, rbuf_str(&body), body.len);
        if (r >= 0 && path)
                r = attachment_line(j, path);
        for (size_t i = 0; r >= 0 && extra && extra[i]; i++)
                r = attachment_line(j, extra[i]);
        if (r >= 0 && sym_xmlTextWriterEndElement(j->w) < 0)
                r = -EIO;
        rbuf_done(&body);
        return r;
}

static int property(Junit *j, const char *name, const char *value)
{
        int r;

        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("property")));
        r = attr(j, "name", name);
        if (r >= 0)
                r = attr(j, "value", value);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

static int case_properties(Junit *j, const ReportCase *c)
{
        char buf[32];
        int r = 0;

        if (c->n_attempts == 0 && !(c->tags && c->tags[0]))
                return 0;
        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("properties")));
        if (c->n_attempts > 0) {
                snprintf(buf, sizeof(buf), "%zu", c->n_attempts + 1);
                r = property(j, "harness.attempts", buf);
        }
        for (size_t i = 0; r >= 0 && c->tags && c->tags[i]; i++)
                r = property(j, "harness.tag", c->tags[i]);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

/* <failure|error message type>details</...> */
static int outcome_element(Junit *j, const char *elem, const ReportCase *c)
{
        const char *body = c->details ? c->details : c->message;
        int r;

        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S(elem)));
        r = attr(j, "message", c->message ? c->message : report_status_to_string(c->status));
        if (r >= 0)
                r = attr(j, "type", c->type ? c->type : elem);
        if (r >= 0 && body)
                r = text(j, body, strlen(body));
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

static const char *attempt_element(const ReportCase *c, const ReportAttempt *a)
{
        bool error = a->status == REPORT_ERROR;
        if (c->status == REPORT_PASS)
                return error ? "flakyError" : "flakyFailure";
        return error ? "rerunError" : "rerunFailure";
}

/* Surefire's flakyFailure/rerunFailure: message, type, a stackTrace with the
 * reason, and the (smaller) capped output of that try. */
static int attempt(Junit *j, const ReportCase *c, size_t i)
{
        const ReportAttempt *a = &c->attempts[i];
        char secs[REPORT_SECONDS_MAX];
        size_t cap = report_output_cap(j->opts, NULL) / 4;
        RBuf trace = {};
        int r;

        format_seconds(a->time_sec, secs);
        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S(attempt_element(c, a))));
        r = attr(j, "message", a->message ? a->message : "failed");
        if (r >= 0)
                r = attr(j, "type", a->type ? a->type : "failure");
        if (r >= 0)
                r = rbuf_printf(&trace, "try %zu of %zu (%s s): %s\n", i + 1, c->n_attempts + 1,
                                secs, a->message ? a->message : "failed");
        if (r >= 0 && sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("stackTrace")) < 0)
                r = -EIO;
        if (r >= 0)
                r = text(j, rbuf_str(&trace), trace.len);
        rbuf_done(&trace);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        r = stream_element(j, "system-out", a->stdout_path, cap > 1024 ? cap : 1024, NULL);
        if (r >= 0)
                r = stream_element(j, "system-err", a->stderr_path, cap > 1024 ? cap : 1024, NULL);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

/* The earlier tries that failed (errors = false) or errored (true), in try
 * order; the try number is in each stackTrace. */
static int attempts(Junit *j, const ReportCase *c, bool errors)
{
        int r = 0;

        if (c->status == REPORT_SKIP)
                return 0;
        for (size_t i = 0; r >= 0 && i < c->n_attempts; i++)
                if ((c->attempts[i].status == REPORT_ERROR) == errors)
                        r = attempt(j, c, i);
        return r;
}

static bool flavor_is(const Junit *j, ReportJunitFlavor f)
{
        ReportJunitFlavor mine = j->opts ? j->opts->junit_flavor : REPORT_JUNIT_DEFAULT;
        return mine == f;
}

/* Children in the order Surefire's XSD requires (failure, rerunFailure,
 * flakyFailure, skipped, error, rerunError, flakyError, system-out,
 * system-err), which junit-10.xsd and every reader also accept. */
static int testcase(Junit *j, const ReportSuite *s, const ReportCase *c)
{
        const char *file = c->file ? c->file : s->file;
        bool error =
                c->status != REPORT_PASS && c->status != REPORT_FAIL && c->status != REPORT_SKIP;
        int r;

        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("testcase")));
        r = attr(j, "name", c->name ? c->name : "(unnamed)");
        if (r >= 0)
                r = attr(j, "classname", report_case_classname(s, c));
        if (r >= 0)
                r = attr_seconds(j, "time", c->time_sec);
        /* file, line and per-testcase properties are what GitLab and the
         * GitHub actions read, and what both XSDs reject. */
        if (flavor_is(j, REPORT_JUNIT_DEFAULT)) {
                if (r >= 0 && file)
                        r = attr(j, "file", file);
                if (r >= 0 && c->line > 0)
                        r = attr_size(j, "line", c->line);
                if (r >= 0)
                        r = case_properties(j, c);
        }
        if (r >= 0 && c->status == REPORT_FAIL)
                r = outcome_element(j, "failure", c);
        if (r >= 0)
                r = attempts(j, c, /* errors= */ false);
        if (r >= 0 && c->status == REPORT_SKIP) {
                XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("skipped")));
                if (c->message)
                        r = attr(j, "message", c->message);
                if (r >= 0 && sym_xmlTextWriterEndElement(j->w) < 0)
                        r = -EIO;
        }
        if (r >= 0 && error)
                r = outcome_element(j, "error", c);
        if (r >= 0)
                r = attempts(j, c, /* errors= */ true);
        if (r >= 0)
                r = stream_element(j, "system-out", c->stdout_path, report_output_cap(j->opts, c),
                                   c->attachments);
        if (r >= 0)
                r = stream_element(j, "system-err", c->stderr_path, report_output_cap(j->opts, c),
                                   NULL);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

/* Case i of s, loaded if s keeps its cases elsewhere. */
static int suite_case(Junit *j, const ReportSuite *s, size_t i)
{
        ReportCase tmp;
        const ReportCase *c;
        int r = report_case_get(s, i, &tmp, &c);

        if (r < 0)
                return r;
        r = testcase(j, s, c);
        report_case_put(s, &tmp);
        return r;
}

/* name, tests, failures, errors, skipped, time, timestamp: the attributes
 * every flavor's testsuite has (junit-10.xsd's testsuites has no skipped
 * and no timestamp: skipped_and_timestamp = false). */
static int suite_attrs(Junit *j, const char *name, const ReportCounts *n, double time_sec,
                       uint64_t timestamp_usec, bool skipped_and_timestamp)
{
        char ts[REPORT_TIMESTAMP_MAX];
        int r = attr(j, "name", name);

        if (r >= 0)
                r = attr_size(j, "tests", n->tests);
        if (r >= 0)
                r = attr_size(j, "failures", n->failures);
        if (r >= 0)
                r = attr_size(j, "errors", n->errors);
        if (r >= 0 && skipped_and_timestamp)
                r = attr_size(j, "skipped", n->skipped);
        if (r >= 0)
                r = attr_seconds(j, "time", time_sec);
        if (r >= 0 && skipped_and_timestamp && timestamp_usec > 0) {
                format_timestamp(timestamp_usec, ts);
                r = attr(j, "timestamp", ts);
        }
        return r;
}

static int testsuite(Junit *j, const ReportSuite *s)
{
        ReportCounts n;
        int r;

        report_suite_count(s, &n);
        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("testsuite")));
        r = suite_attrs(j, s->name ? s->name : "harness", &n, report_suite_time(s),
                        s->timestamp_usec, true);
        if (r >= 0)
                r = attr(j, "hostname", s->hostname ? s->hostname : "localhost");
        if (r >= 0 && s->file)
                r = attr(j, "file", s->file);
        for (size_t i = 0; r >= 0 && i < s->n_cases; i++)
                r = suite_case(j, s, i);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

/* An interrupted run gets one more suite, "harness", holding one testcase
 * with an <error>: every consumer then shows the report as not green. */
static const ReportCase interrupted_case = {
        .name = (char *)"run interrupted",
        .classname = (char *)"harness",
        .status = REPORT_ERROR,
        .type = (char *)"interrupted",
        .message = (char *)"the run was interrupted; tests that had not finished are "
                           "not in this report",
};

static int interrupted_suite(Junit *j, const ReportRun *run)
{
        ReportSuite s = {
                .name = (char *)"harness",
                .cases = (ReportCase *)&interrupted_case,
                .n_cases = 1,
                .hostname = run->n_suites > 0 ? run->suites[0].hostname : NULL,
                .timestamp_usec = th_realtime_usec(),
        };
        return testsuite(j, &s);
}

static void run_totals(const ReportRun *run, ReportCounts *ret, double *ret_cases_time)
{
        ReportCounts t = {};
        double time = 0;

        for (size_t i = 0; i < run->n_suites; i++) {
                ReportCounts n;
                report_suite_count(&run->suites[i], &n);
                t.tests += n.tests, t.failures += n.failures, t.errors += n.errors;
                t.skipped += n.skipped, t.passed += n.passed, t.flaky += n.flaky;
                time += report_suite_time(&run->suites[i]);
        }
        if (run->interrupted)
                t.tests++, t.errors++;
        *ret = t;
        *ret_cases_time = time;
}

/* Surefire's schema has a single <testsuite> as its root (one file per test
 * class): every case of the run goes in it, classname naming its suite. */
static int surefire_document(Junit *j, const ReportRun *run, const ReportCounts *t,
                             double cases_time)
{
        const char *name =
                run->n_suites == 1 && run->suites[0].name ? run->suites[0].name : "harness";
        ReportSuite harness = { .name = (char *)"harness" };
        int r;

        XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("testsuite")));
        r = suite_attrs(j, name, t, cases_time, report_run_timestamp(run), true);
        if (r >= 0)
                r = attr_size(j, "flakes", t->flaky);
        for (size_t i = 0; r >= 0 && i < run->n_suites; i++)
                for (size_t k = 0; r >= 0 && k < run->suites[i].n_cases; k++)
                        r = suite_case(j, &run->suites[i], k);
        if (r >= 0 && run->interrupted)
                r = testcase(j, &harness, &interrupted_case);
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndElement(j->w));
        return 0;
}

static int document(Junit *j, const ReportRun *run)
{
        ReportCounts t;
        double cases_time;
        int r;

        run_totals(run, &t, &cases_time);
        XW(sym_xmlTextWriterSetIndent(j->w, 1));
        XW(sym_xmlTextWriterSetIndentString(j->w, BAD_CAST_S("  ")));
        XW(sym_xmlTextWriterStartDocument(j->w, "1.0", "UTF-8", NULL));
        if (flavor_is(j, REPORT_JUNIT_SUREFIRE)) {
                r = surefire_document(j, run, &t, cases_time);
        } else {
                XW(sym_xmlTextWriterStartElement(j->w, BAD_CAST_S("testsuites")));
                /* The run's wall time: with several tests at a time it is less
                 * than the suites' times added up. */
                r = suite_attrs(j, "harness", &t, report_run_time(run), report_run_timestamp(run),
                                !flavor_is(j, REPORT_JUNIT_JENKINS));
                for (size_t i = 0; r >= 0 && i < run->n_suites; i++)
                        r = testsuite(j, &run->suites[i]);
                if (r >= 0 && run->interrupted)
                        r = interrupted_suite(j, run);
        }
        if (r < 0)
                return r;
        XW(sym_xmlTextWriterEndDocument(j->w));
        XW(sym_xmlTextWriterFlush(j->w));
        return 0;
}

int report_write_junit(const ReportRun *run, const ReportOptions *opts, const char *path,
                       ThError *err)
{
        ReportFile f = REPORT_FILE_NULL;
        Junit j = { .opts = opts };
        xmlOutputBufferPtr out;
        XmlQuiet quiet;
        int r;

        if (!run)
                return th_error_set(err, EINVAL, "no results to report");
        if (opts && !report_junit_flavor_to_string(opts->junit_flavor))
                return th_error_set(err, EINVAL, "unknown JUnit flavor %d",
                                    (int)opts->junit_flavor);
        r = xml_lib_load(err); /* the runner names the report */
        if (r < 0)
                return r;
        r = report_file_open(&f, path, err);
        if (r < 0)
                return r;
        xml_quiet_begin(&quiet);
        out = sym_xmlOutputBufferCreateFd(f.fd, NULL); /* does not close the fd */
        j.w = out ? sym_xmlNewTextWriter(out) : NULL;
        if (!j.w) {
                if (out)
                        sym_xmlOutputBufferClose(out);
                report_file_done(&f);
                xml_quiet_end(&quiet);
                return th_error_set(err, ENOMEM, "cannot create an XML writer for '%s'", path);
        }
        r = document(&j, run);
        sym_xmlFreeTextWriter(j.w); /* also closes (flushes) the output buffer */
        xml_quiet_end(&quiet);
        rbuf_done(&j.scratch);
        rbuf_done(&j.defused);
        if (r < 0)
                r = th_error_set(err, -r, "write JUnit report '%s': %s", path, strerror(-r));
        else
                r = report_file_commit(&f, err);
        report_file_done(&f);
        return r;
}

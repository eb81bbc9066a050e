/* runner: the outcome of one try of a test. Classifies what isolate_run()
 * returned and checks the expectations (exit status, stdout/stderr regexes)
 * on the full streamed output files, line by line with bounded memory. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

#define LINE_MAX_BYTES (64u * 1024u)
#define EXCERPT_MAX    160

/* A one-line, printable excerpt of a matched line for a message. */
static void excerpt(const char *line, size_t len, char *buf, size_t size)
{
        size_t o = 0;

        for (size_t i = 0; i < len && o + 4 < size; i++) {
                unsigned char c = (unsigned char)line[i];
                if (o >= EXCERPT_MAX) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        }
        buf[o] = '\0';
}

/* The first problem becomes the message; every problem is a line in details. */
void runner_outcome_add(RunOutcome *out, const char *type, const char *fmt, ...)
{
        char line[RUN_MESSAGE_MAX];
        size_t dl = strlen(out->details);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);

        if (out->status == REPORT_PASS) {
                out->status = REPORT_FAIL;
                snprintf(out->type, sizeof(out->type), "%s", type);
                snprintf(out->message, sizeof(out->message), "%s", line);
        }
        if (dl + 1 < sizeof(out->details))
                snprintf(out->details + dl, sizeof(out->details) - dl, "%s\n", line);
}

#define outcome_add runner_outcome_add

typedef struct Scan {
        const char *stream;
        const SuiteRegex *match, *not ;
        size_t n_match, n_not;
        bool *found; /* per match regex */
        size_t n_found;
        bool *hit; /* per not regex: reported already */
        unsigned long lineno;
        RunOutcome *out;
        int failed;
} Scan;

/* line is NUL-terminated, without its newline. */
static void scan_line(Scan *s, const char *line, size_t len)
{
        for (size_t i = 0; i < s->n_match; i++)
                if (!s->found[i] && regexec(&s->match[i].re, line, 0, NULL, 0) == 0) {
                        s->found[i] = true;
                        s->n_found++;
                }
        for (size_t i = 0; i < s->n_not; i++) {
                char ex[EXCERPT_MAX + 8];
                if (s->hit[i] || regexec(&s->not [i].re, line, 0, NULL, 0) != 0)
                        continue;
                s->hit[i] = true;
                excerpt(line, len, ex, sizeof(ex));
                outcome_add(s->out, "expectation", "%s matched forbidden '%s' at line %lu: %s",
                            s->stream, s->not [i].pattern, s->lineno, ex);
                s->failed = 1;
        }
}

static bool scan_can_stop(const Scan *s)
{
        return s->n_not == 0 && s->n_found == s->n_match;
}

static int scan_fd(Scan *s, int fd)
{
        _cleanup_free_ char *buf = malloc(LINE_MAX_BYTES + 1);
        size_t len = 0;
        bool split = false; /* the previous piece was cut inside a line */

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, LINE_MAX_BYTES - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                len += (size_t)n;

                size_t start = 0;
                for (;;) {
                        char *nl = memchr(buf + start, '\n', len - start);
                        size_t end = nl ? (size_t)(nl - buf) : len;
                        bool full = !nl && (n == 0 || len == LINE_MAX_BYTES) && end > start;
                        if (!nl && !full)
                                break;
                        if (!split)
                                s->lineno++;
                        buf[end] = '\0';
                        /* NUL bytes inside a line end it early for regexec;
                         * the rest of that line is not seen. */
                        scan_line(s, buf + start, end - start);
                        split = !nl;
                        start = nl ? end + 1 : end;
                        if (scan_can_stop(s))
                                return 0;
                }
                memmove(buf, buf + start, len - start);
                len -= start;
                if (n == 0)
                        return 0;
        }
}

int runner_expect_stream(const char *path, const char *stream, const SuiteRegex *match,
                         size_t n_match, const SuiteRegex * not, size_t n_not, RunOutcome *out)
{
        _cleanup_free_ bool *found = NULL, *hit = NULL;
        _cleanup_close_ int fd = -1;
        Scan s = {
                .stream = stream,
                .match = match,
                .not = not,
                .n_match = n_match,
                .n_not = n_not,
                .out = out,
        };
        int r;

        if (n_match == 0 && n_not == 0)
                return 0;
        found = calloc(n_match + 1, sizeof(bool));
        hit = calloc(n_not + 1, sizeof(bool));
        if (!found || !hit)
                return -ENOMEM;
        s.found = found;
        s.hit = hit;

        if (path && path[0]) {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 && errno != ENOENT)
                        return -errno;
        }
        if (fd >= 0) {
                r = scan_fd(&s, fd);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_match; i++)
                if (!found[i]) {
                        outcome_add(out, "expectation", "%s did not match '%s'", stream,
                                    match[i].pattern);
                        s.failed = 1;
                }
        return s.failed;
}

/* `stderr-empty`: anything written to stderr fails the test; the message
 * quotes its first line without trailing blanks, as autopkgtest does. */
static int stderr_first_line(const char *path, RunOutcome *out)
{
        char buf[EXCERPT_MAX + 1], ex[EXCERPT_MAX + 8];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (!path || !path[0])
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        do
                n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return 0;
        size_t len = (size_t)n;
        char *nl = memchr(buf, '\n', len);
        if (nl)
                len = (size_t)(nl - buf);
        while (len > 0 && strchr(" \t\r", buf[len - 1]))
                len--;
        excerpt(buf, len, ex, sizeof(ex));
        outcome_add(out, "stderr", "stderr: %s", ex);
        return 1;
}

/* 64M, 2G, 96K or 1000-byte. */
static void size_text(uint64_t b, char *buf, size_t size)
{
        if (b % (UINT64_C(1) << 30) == 0)
                snprintf(buf, size, "%lluG", (unsigned long long)(b >> 30));
        else if (b % (1024 * 1024) == 0)
                snprintf(buf, size, "%lluM", (unsigned long long)(b >> 20));
        else if (b % 1024 == 0)
                snprintf(buf, size, "%lluK", (unsigned long long)(b >> 10));
        else
                snprintf(buf, size, "%llu-byte", (unsigned long long)b);
}

static void classify_status(const IsolateResult *res, const TestSpec *test, uint64_t timeout_usec,
                            RunOutcome *out)
{
        char t[64];
        uint64_t ms = timeout_usec / 1000;

        if (res->stopped) {
                outcome_add(out, "stopped", "stopped by `harness stop`");
                return;
        }
        if (res->reboot_limit_hit) {
                outcome_add(out, "reboots",
                            "the container rebooted %u times and once more: more than "
                            "reboots: %u allows; the test did not end",
                            res->reboots, test->reboots);
                return;
        }
        switch (res->status) {
        case ISOLATE_TIMEOUT:
                if (ms % 1000 == 0)
                        snprintf(t, sizeof(t), "%llus", (unsigned long long)(ms / 1000));
                else
                        snprintf(t, sizeof(t), "%llums", (unsigned long long)ms);
                outcome_add(out, "timeout", "timed out after %s; the container was killed", t);
                return;
        case ISOLATE_OOM:
                outcome_add(out, "oom", "killed by the out-of-memory killer (memory limit)");
                return;
        case ISOLATE_SETUP_FAILED:
                outcome_add(out, "setup", "setup exited with status %d", res->exit_status);
                return;
        case ISOLATE_SIGNALED:
                if (res->exit_status != test->expect.exit_status)
                        outcome_add(out, "signal",
                                    "killed by signal %d (SIG%s), expected exit status %d",
                                    res->term_signal, sigabbrev_np(res->term_signal) ?: "?",
                                    test->expect.exit_status);
                return;
        case ISOLATE_EXITED:
                if (res->result_missing) {
                        outcome_add(out, "result",
                                    "the test's unit ended, but its result was not written: the "
                                    "container's /bin/sh (ExecStopPost=) did not run as it "
                                    "should (did the test break or replace it?)");
                        return;
                }
                if (test->expect.skip_exit > 0 && res->exit_status == test->expect.skip_exit) {
                        out->status = REPORT_SKIP;
                        snprintf(out->type, sizeof(out->type), "skip-exit");
                        snprintf(out->message, sizeof(out->message),
                                 "exit status %d (expect: skip-exit)", res->exit_status);
                        return;
                }
                if (res->exit_status != test->expect.exit_status)
                        outcome_add(out, "exit-status", "exit status %d, expected %d",
                                    res->exit_status, test->expect.exit_status);
                return;
        case _ISOLATE_STATUS_MAX:
        case _ISOLATE_STATUS_INVALID:
                break;
        }
        outcome_add(out, "error", "unknown container status %d", (int)res->status);
        out->status = REPORT_ERROR;
}

void runner_outcome_classify(int isolate_r, const ThError *err, const IsolateResult *res,
                             const TestSpec *test, uint64_t timeout_usec, RunOutcome *ret)
{
        const SuiteExpect *e = &test->expect;
        int r;

        *ret = (RunOutcome){ .status = REPORT_PASS };
        if (isolate_r < 0) {
                ret->status = REPORT_ERROR;
                snprintf(ret->type, sizeof(ret->type), "infrastructure");
                snprintf(ret->message, sizeof(ret->message), "container could not be set up: %s",
                         err->msg);
                return;
        }
        /* Output cut at its limit is not silently dropped: the test fails,
         * for that first (what it did next, e.g. its exit status after the
         * ENOSPC, follows from it). */
        if (res->output_limit_hit && !res->stopped) {
                char size[32];
                uint64_t b = res->output_limit ? res->output_limit
                                               : (test->output_bytes ? test->output_bytes
                                                                     : SUITE_OUTPUT_DEFAULT);
                size_text(b, size, sizeof(size));
                outcome_add(ret, "output",
                            "the output reached the %s limit (limits: output, at most half of "
                            "limits: memory): writes past it failed (ENOSPC) and the files in "
                            "the test's folder are cut there",
                            size);
        }
        classify_status(res, test, timeout_usec, ret);
        /* Artifacts cut short are not silently dropped: the test fails. */
        if (res->artifacts_limit_hit) {
                char size[32];
                size_text(test->artifacts_bytes, size, sizeof(size));
                outcome_add(ret, "artifacts",
                            "artifacts stopped at the %s limit (limits: artifacts) in '%s'; "
                            "what follows was not copied",
                            size, res->artifacts_cut_at);
        }
        /* A test that did not run to its end has no meaningful output to check,
         * nor one that skipped itself. */
        if (res->stopped || (res->status != ISOLATE_EXITED && res->status != ISOLATE_SIGNALED) ||
            ret->status == REPORT_SKIP)
                return;
        if (e->stderr_empty) {
                r = stderr_first_line(res->stderr_path, ret);
                if (r < 0)
                        outcome_add(ret, "error", "cannot read stderr '%s': %s", res->stderr_path,
                                    strerror(-r));
        }

        r = runner_expect_stream(res->stdout_path, "stdout", e->stdout_match, e->n_stdout_match,
                                 e->stdout_not, e->n_stdout_not, ret);
        if (r < 0)
                outcome_add(ret, "error", "cannot read stdout '%s': %s", res->stdout_path,
                            strerror(-r));
        r = runner_expect_stream(res->stderr_path, "stderr", e->stderr_match, e->n_stderr_match,
                                 e->stderr_not, e->n_stderr_not, ret);
        if (r < 0)
                outcome_add(ret, "error", "cannot read stderr '%s': %s", res->stderr_path,
                            strerror(-r));
        runner_expect_system(res, test, ret);
}

RunNext runner_next_after_try(ReportStatus status, unsigned attempt, unsigned max_attempts,
                              bool fail_fast)
{
        bool bad = status == REPORT_FAIL || status == REPORT_ERROR;

        if (bad && attempt < max_attempts)
                return RUN_NEXT_RETRY;
        if (bad && fail_fast)
                return RUN_NEXT_STOP;
        return RUN_NEXT_DONE;
}

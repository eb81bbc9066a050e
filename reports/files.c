/* reports: file access of the writers: streamed atomic report files (tmp in
 * the same directory + fsync + rename) and the capped reader that takes the
 * head and tail of a log of any size without reading the middle. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report-internal.h"

/* ---- atomic streamed files ----------------------------------------------- */

/* The file is written unnamed (O_TMPFILE in the report's directory) and
 * gets a name only for the rename: a run killed while it writes leaves
 * nothing behind. Where the file system has no O_TMPFILE, a named
 * temporary file is written instead, as before. */
int report_file_open(ReportFile *f, const char *path, ThError *err)
{
        _cleanup_free_ char *tmp = NULL, *dup = NULL, *dir = NULL;
        _cleanup_close_ int fd = -1;
        const char *slash;

        if (!path || !*path)
                return th_error_set(err, EINVAL, "no report path given");
        slash = strrchr(path, '/');
        dup = strdup(path);
        dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
        tmp = th_strdup_printf("%s.XXXXXX", path);
        if (!dup || !tmp || !dir)
                return th_error_set(err, ENOMEM, "out of memory");
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0) {
                free(tmp);
                tmp = NULL;
        } else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
                fd = mkostemp(tmp, O_CLOEXEC);
        }
        if (fd < 0)
                return th_error_errno(err, errno, "create a temporary file for '%s'", path);
        /* Both create 0600; reports are for everyone who can read the dir. */
        if (fchmod(fd, 0644) < 0) {
                int r = -errno;
                if (tmp)
                        unlink(tmp);
                return th_error_errno(err, -r, "chmod the temporary file for '%s'", path);
        }
        f->fd = TAKE_FD(fd);
        f->path = TAKE_PTR(dup);
        f->tmp_path = TAKE_PTR(tmp);
        return 0;
}

/* Names the unnamed file PATH.PID-N, for the rename. */
static int link_tmpfile(ReportFile *f, ThError *err)
{
        char proc[64];

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
        for (int i = 0; i < 100; i++) {
                _cleanup_free_ char *tmp =
                        th_strdup_printf("%s.%ld-%d", f->path, (long)getpid(), i);
                if (!tmp)
                        return th_error_set(err, ENOMEM, "out of memory");
                if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
                        f->tmp_path = TAKE_PTR(tmp);
                        return 0;
                }
                if (errno != EEXIST)
                        return th_error_errno(err, errno, "link the report '%s'", f->path);
        }
        return th_error_set(err, EEXIST, "no free temporary name for '%s'", f->path);
}

int report_file_commit(ReportFile *f, ThError *err)
{
        int r = 0;

        if (fsync(f->fd) < 0)
                r = th_error_errno(err, errno, "fsync the report '%s'", f->path);
        if (r >= 0 && !f->tmp_path)
                r = link_tmpfile(f, err);
        if (close(f->fd) < 0 && r >= 0)
                r = th_error_errno(err, errno, "close the report '%s'", f->path);
        f->fd = -1;
        if (r >= 0 && rename(f->tmp_path, f->path) < 0)
                r = th_error_errno(err, errno, "rename '%s' to '%s'", f->tmp_path, f->path);
        if (r >= 0) {
                free(f->tmp_path);
                f->tmp_path = NULL; /* committed: nothing to remove */
        }
        return r;
}

void report_file_done(ReportFile *f)
{
        if (f->fd >= 0)
                close(f->fd);
        if (f->tmp_path)
                unlink(f->tmp_path);
        free(f->tmp_path);
        free(f->path);
        *f = (ReportFile)REPORT_FILE_NULL;
}

/* ---- capped log reading -------------------------------------------------- */

static int pread_full(int fd, char *buf, size_t len, off_t off, size_t *ret_len)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        *ret_len = done;
        return 0;
}

static bool utf8_continuation(char c)
{
        return ((unsigned char)c & 0xC0) == 0x80;
}

/* Moves the cut points onto character boundaries so that a cut never turns
 * a valid character into U+FFFD. A broken sequence stays broken. */
static void align_cuts(Capture *c)
{
        size_t back = 0, skip = 0;

        /* head: drop an incomplete trailing sequence (lead byte + 0..2 cont.) */
        while (back < 3 && back < c->head_len && utf8_continuation(c->head[c->head_len - 1 - back]))
                back++;
        if (back < c->head_len) {
                unsigned char lead = (unsigned char)c->head[c->head_len - 1 - back];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (need > back + 1 && need <= 4) {
                        c->head_len -= back + 1;
                        c->omitted += back + 1;
                }
        }
        while (skip < 3 && skip < c->tail_len && utf8_continuation(c->tail[skip]))
                skip++;
        memmove(c->tail, c->tail + skip, c->tail_len - skip);
        c->tail_len -= skip;
        c->omitted += skip;
}

int capture_read(const char *path, size_t cap, Capture *ret, ThError *err)
{
        Capture c = {};
        struct stat st;
        size_t half;
        int r;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return th_error_errno(err, errno, "open '%s'", path);
        if (fstat(fd, &st) < 0)
                return th_error_errno(err, errno, "stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "'%s' is not a regular file", path);

        c.total = (uint64_t)st.st_size;
        if (cap < 2)
                cap = 2;
        half = cap / 2;
        if (c.total <= cap) {
                c.head = malloc(c.total + 1);
                if (!c.head)
                        return th_error_set(err, ENOMEM, "out of memory");
                r = pread_full(fd, c.head, (size_t)c.total, 0, &c.head_len);
                if (r < 0) {
                        capture_done(&c);
                        return th_error_errno(err, -r, "read '%s'", path);
                }
                *ret = c;
                return 0;
        }

        c.head = malloc(half + 1);
        c.tail = malloc(half + 1);
        if (!c.head || !c.tail) {
                capture_done(&c);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        r = pread_full(fd, c.head, half, 0, &c.head_len);
        if (r >= 0)
                r = pread_full(fd, c.tail, half, (off_t)(c.total - half), &c.tail_len);
        if (r < 0) {
                capture_done(&c);
                return th_error_errno(err, -r, "read '%s'", path);
        }
        c.omitted = c.total - c.head_len - c.tail_len;
        align_cuts(&c);
        *ret = c;
        return 0;
}

void capture_done(Capture *c)
{
        free(c->head);
        free(c->tail);
        *c = (Capture){};
}

int capture_join(const Capture *c, RBuf *out)
{
        int r = rbuf_put(out, c->head, c->head_len);
        if (r < 0 || c->omitted == 0)
                return r;
        if (c->head_len > 0 && c->head[c->head_len - 1] != '\n')
                r = rbuf_putc(out, '\n');
        if (r >= 0)
                r = rbuf_printf(out, "[... %" PRIu64 " bytes omitted ...]\n", c->omitted);
        if (r >= 0)
                r = rbuf_put(out, c->tail, c->tail_len);
        return r;
}

/* ---- model helpers ------------------------------------------------------- */

int report_case_get(const ReportSuite *s, size_t i, ReportCase *tmp, const ReportCase **ret)
{
        int r;

        if (s->cases || !s->load_case) {
                *ret = &s->cases[i];
                return 0;
        }
        r = s->load_case(s->load_userdata, i, tmp);
        if (r < 0)
                return r;
        *ret = tmp;
        return 0;
}

void report_case_put(const ReportSuite *s, ReportCase *tmp)
{
        if (!s->cases && s->load_case)
                report_case_done(tmp);
}

int report_case_summary(const ReportSuite *s, size_t i, ReportStatus *ret_status, bool *ret_flaky,
                        double *ret_time_sec)
{
        ReportCase tmp;
        const ReportCase *c;
        int r;

        if (!s->cases && s->load_summary)
                return s->load_summary(s->load_userdata, i, ret_status, ret_flaky, ret_time_sec);
        r = report_case_get(s, i, &tmp, &c);
        if (r < 0)
                return r;
        *ret_status = c->status;
        *ret_flaky = c->flaky;
        *ret_time_sec = c->time_sec;
        report_case_put(s, &tmp);
        return 0;
}

void report_suite_count(const ReportSuite *s, ReportCounts *ret)
{
        ReportCounts n = { .tests = s->n_cases };

        for (size_t i = 0; i < s->n_cases; i++) {
                ReportStatus status;
                bool flaky;
                double time_sec;
                if (report_case_summary(s, i, &status, &flaky, &time_sec) < 0) {
                        n.errors++;
                        continue;
                }
                switch (status) {
                case REPORT_PASS:
                        n.passed++;
                        if (flaky)
                                n.flaky++;
                        break;
                case REPORT_FAIL:
                        n.failures++;
                        break;
                case REPORT_ERROR:
                        n.errors++;
                        break;
                case REPORT_SKIP:
                        n.skipped++;
                        break;
                case _REPORT_STATUS_MAX:
                case _REPORT_STATUS_INVALID:
                default:
                        /* An unknown status must not look green. */
                        n.errors++;
                        break;
                }
        }
        *ret = n;
}

double report_suite_time(const ReportSuite *s)
{
        uint64_t ms = 0;

        for (size_t i = 0; i < s->n_cases; i++) {
                ReportStatus status;
                bool flaky;
                double time_sec;
                if (report_case_summary(s, i, &status, &flaky, &time_sec) >= 0)
                        ms += seconds_to_msec(time_sec);
        }
        return (double)ms / 1000.0;
}

double report_run_time(const ReportRun *run)
{
        double t = 0;

        if (run->time_sec > 0)
                return run->time_sec;
        for (size_t i = 0; i < run->n_suites; i++)
                t += report_suite_time(&run->suites[i]);
        return t;
}

uint64_t report_run_timestamp(const ReportRun *run)
{
        uint64_t ts = 0;

        if (run->timestamp_usec > 0)
                return run->timestamp_usec;
        for (size_t i = 0; i < run->n_suites; i++)
                if (run->suites[i].timestamp_usec > 0 &&
                    (ts == 0 || run->suites[i].timestamp_usec < ts))
                        ts = run->suites[i].timestamp_usec;
        return ts;
}

const char *report_case_classname(const ReportSuite *s, const ReportCase *c)
{
        if (c->classname && *c->classname)
                return c->classname;
        if (s->name && *s->name)
                return s->name;
        return "harness";
}

size_t report_output_cap(const ReportOptions *opts, const ReportCase *c)
{
        size_t cap = opts && opts->output_cap_bytes > 0 ? opts->output_cap_bytes
                                                        : REPORT_OUTPUT_CAP_DEFAULT;
        if (c && (c->status == REPORT_PASS || c->status == REPORT_SKIP)) {
                if (opts && opts->passed_output_cap_bytes > 0)
                        return opts->passed_output_cap_bytes;
                if (cap > REPORT_PASSED_OUTPUT_CAP_DEFAULT)
                        return REPORT_PASSED_OUTPUT_CAP_DEFAULT;
        }
        return cap;
}

char *report_attachment_path(const ReportOptions *opts, const char *path)
{
        _cleanup_free_ char *abs = realpath(path, NULL);
        _cleanup_free_ char *base = NULL;
        size_t n;

        if (!abs)
                return strdup(path); /* gone already: name it as given */
        if (!opts || !opts->attachment_base)
                return TAKE_PTR(abs);
        base = realpath(opts->attachment_base, NULL);
        if (!base)
                return TAKE_PTR(abs);
        n = strlen(base);
        if (n == 1) /* "/" */
                return strdup(abs + 1);
        if (strncmp(abs, base, n) == 0 && abs[n] == '/')
                return strdup(abs + n + 1);
        return TAKE_PTR(abs);
}

/* reports: the spool of finished cases (ReportSpool in report.h). One
 * record per case, appended with pwrite() to an unlinked file:
 *
 *   u64 length of what follows
 *   u32 status, u32 line, u8 flaky, double time_sec
 *   strings name, classname, file, type, message, details, stdout_path,
 *           stderr_path (each: u32 length + 1, 0 for NULL, then the bytes)
 *   lists attachments, tags (u32 count + 1, 0 for NULL, then strings)
 *   u32 n_attempts, each: u32 status, double time_sec, strings type,
 *           message, stdout_path, stderr_path
 *
 * so that the runner holds an offset per finished test, not its case. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "report-internal.h"

/* No case comes near this; a record that claims more is not ours. */
#define SPOOL_RECORD_MAX (64u * 1024u * 1024u)

struct ReportSpool {
        int fd;
        uint64_t end;
        RBuf buf; /* the record being appended */
        char *rd; /* the record being loaded */
        size_t rd_cap;
};

int report_spool_open(const char *dir, ReportSpool **ret, ThError *err)
{
        ReportSpool *s = calloc(1, sizeof(*s));

        if (!s)
                return th_error_set(err, ENOMEM, "out of memory");
        s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                /* A file system without O_TMPFILE: a named file, unlinked. */
                _cleanup_free_ char *p = th_strdup_printf("%s/.spool-XXXXXX", dir);
                if (!p) {
                        free(s);
                        return th_error_set(err, ENOMEM, "out of memory");
                }
                s->fd = mkostemp(p, O_CLOEXEC);
                if (s->fd >= 0)
                        (void)unlink(p);
        }
        if (s->fd < 0) {
                int e = errno;
                free(s);
                return th_error_errno(err, e, "cannot create the results spool in '%s'", dir);
        }
        *ret = s;
        return 0;
}

void report_spool_free(ReportSpool *s)
{
        if (!s)
                return;
        if (s->fd >= 0)
                close(s->fd);
        rbuf_done(&s->buf);
        free(s->rd);
        free(s);
}

static int put_u32(RBuf *b, uint32_t v)
{
        return rbuf_put(b, &v, sizeof(v));
}

static int put_str(RBuf *b, const char *str)
{
        size_t len = str ? strlen(str) : 0;
        int r;

        if (len >= SPOOL_RECORD_MAX)
                return -E2BIG;
        r = put_u32(b, str ? (uint32_t)len + 1 : 0);
        if (r >= 0 && len > 0)
                r = rbuf_put(b, str, len);
        return r;
}

static int put_strv(RBuf *b, char *const *v)
{
        size_t n = th_strv_length(v);
        int r = put_u32(b, v ? (uint32_t)n + 1 : 0);

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = put_str(b, v[i]);
        return r;
}

static int encode(RBuf *b, const ReportCase *c)
{
        uint64_t len = 0;
        uint8_t flaky = c->flaky;
        int r;

        r = rbuf_put(b, &len, sizeof(len)); /* filled in below */
        if (r >= 0)
                r = put_u32(b, (uint32_t)c->status);
        if (r >= 0)
                r = put_u32(b, c->line);
        if (r >= 0)
                r = rbuf_put(b, &flaky, sizeof(flaky));
        if (r >= 0)
                r = rbuf_put(b, &c->time_sec, sizeof(c->time_sec));
        const char *strs[] = { c->name,    c->classname, c->file,        c->type,
                               c->message, c->details,   c->stdout_path, c->stderr_path };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(strs); i++)
                r = put_str(b, strs[i]);
        if (r >= 0)
                r = put_strv(b, c->attachments);
        if (r >= 0)
                r = put_strv(b, c->tags);
        if (r >= 0)
                r = put_u32(b, (uint32_t)c->n_attempts);
        for (size_t i = 0; r >= 0 && i < c->n_attempts; i++) {
                const ReportAttempt *a = &c->attempts[i];
                r = put_u32(b, (uint32_t)a->status);
                if (r >= 0)
                        r = rbuf_put(b, &a->time_sec, sizeof(a->time_sec));
                const char *as[] = { a->type, a->message, a->stdout_path, a->stderr_path };
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(as); k++)
                        r = put_str(b, as[k]);
        }
        if (r < 0)
                return r;
        if (b->len > SPOOL_RECORD_MAX)
                return -E2BIG;
        len = b->len - sizeof(len);
        memcpy(b->data, &len, sizeof(len));
        return 0;
}

int report_spool_append(ReportSpool *s, const ReportCase *c, uint64_t *ret_offset, ThError *err)
{
        int r;

        s->buf.len = 0;
        r = encode(&s->buf, c);
        if (r < 0)
                return th_error_errno(err, -r, "cannot spool the result of '%s'",
                                      c->name ? c->name : "?");
        for (size_t done = 0; done < s->buf.len;) {
                ssize_t n = pwrite(s->fd, s->buf.data + done, s->buf.len - done,
                                   (off_t)(s->end + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return th_error_errno(err, n < 0 ? errno : EIO,
                                              "cannot spool the result of '%s'",
                                              c->name ? c->name : "?");
                done += (size_t)n;
        }
        *ret_offset = s->end;
        s->end += s->buf.len;
        return 0;
}

typedef struct Reader {
        const char *p, *end;
} Reader;

static int get(Reader *rd, void *v, size_t n)
{
        if ((size_t)(rd->end - rd->p) < n)
                return -EBADMSG;
        memcpy(v, rd->p, n);
        rd->p += n;
        return 0;
}

static int get_str(Reader *rd, char **ret)
{
        uint32_t n;
        int r = get(rd, &n, sizeof(n));

        if (r < 0)
                return r;
        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        if ((size_t)(rd->end - rd->p) < n - 1)
                return -EBADMSG;
        *ret = strndup(rd->p, n - 1);
        if (!*ret)
                return -ENOMEM;
        rd->p += n - 1;
        return 0;
}

static int get_strv(Reader *rd, char ***ret)
{
        uint32_t n;
        int r = get(rd, &n, sizeof(n));

        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        if ((size_t)(rd->end - rd->p) / sizeof(uint32_t) < n - 1)
                return -EBADMSG;
        char **v = calloc(n, sizeof(char *));
        if (!v)
                return -ENOMEM;
        *ret = v;
        for (uint32_t i = 0; i + 1 < n; i++) {
                r = get_str(rd, &v[i]);
                if (r < 0)
                        return r;
                if (!v[i])
                        return -EBADMSG;
        }
        return 0;
}

static int decode(Reader *rd, ReportCase *c)
{
        uint32_t status, n;
        uint8_t flaky;
        int r;

        r = get(rd, &status, sizeof(status));
        if (r >= 0)
                r = get(rd, &c->line, sizeof(c->line));
        if (r >= 0)
                r = get(rd, &flaky, sizeof(flaky));
        if (r >= 0)
                r = get(rd, &c->time_sec, sizeof(c->time_sec));
        if (r < 0)
                return r;
        c->status = (ReportStatus)status;
        c->flaky = flaky;
        char **strs[] = { &c->name,    &c->classname, &c->file,        &c->type,
                          &c->message, &c->details,   &c->stdout_path, &c->stderr_path };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(strs); i++)
                r = get_str(rd, strs[i]);
        if (r >= 0)
                r = get_strv(rd, &c->attachments);
        if (r >= 0)
                r = get_strv(rd, &c->tags);
        if (r >= 0)
                r = get(rd, &n, sizeof(n));
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        if ((size_t)(rd->end - rd->p) / (sizeof(uint32_t) * 5 + sizeof(double)) < n)
                return -EBADMSG;
        c->attempts = calloc(n, sizeof(ReportAttempt));
        if (!c->attempts)
                return -ENOMEM;
        for (uint32_t i = 0; r >= 0 && i < n; i++) {
                ReportAttempt *a = &c->attempts[c->n_attempts++];
                r = get(rd, &status, sizeof(status));
                if (r >= 0)
                        r = get(rd, &a->time_sec, sizeof(a->time_sec));
                a->status = (ReportStatus)status;
                char **as[] = { &a->type, &a->message, &a->stdout_path, &a->stderr_path };
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(as); k++)
                        r = get_str(rd, as[k]);
        }
        return r;
}

static int read_at(int fd, void *buf, size_t len, uint64_t offset)
{
        for (size_t done = 0; done < len;) {
                ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EBADMSG;
                done += (size_t)n;
        }
        return 0;
}

/* The fixed part at the start of every record. */
typedef struct __attribute__((packed)) RecordHead {
        uint64_t len;
        uint32_t status, line;
        uint8_t flaky;
        double time_sec;
} RecordHead;

int report_spool_load_summary(ReportSpool *s, uint64_t offset, ReportStatus *ret_status,
                              bool *ret_flaky, double *ret_time_sec)
{
        RecordHead h;
        int r;

        if (offset >= s->end || s->end - offset < sizeof(h))
                return -EINVAL;
        r = read_at(s->fd, &h, sizeof(h), offset);
        if (r < 0)
                return r;
        if (h.len > SPOOL_RECORD_MAX || h.len > s->end - offset - sizeof(h.len))
                return -EBADMSG;
        *ret_status = (ReportStatus)h.status;
        *ret_flaky = h.flaky;
        *ret_time_sec = h.time_sec;
        return 0;
}

int report_spool_load(ReportSpool *s, uint64_t offset, ReportCase *ret)
{
        uint64_t len;
        int r;

        *ret = (ReportCase){};
        if (offset >= s->end)
                return -EINVAL;
        r = read_at(s->fd, &len, sizeof(len), offset);
        if (r < 0)
                return r;
        if (len > SPOOL_RECORD_MAX || len > s->end - offset - sizeof(len))
                return -EBADMSG;
        if (s->rd_cap < len + 1) {
                char *p = realloc(s->rd, (size_t)len + 1);
                if (!p)
                        return -ENOMEM;
                s->rd = p;
                s->rd_cap = (size_t)len + 1;
        }
        r = read_at(s->fd, s->rd, (size_t)len, offset + sizeof(len));
        if (r < 0)
                return r;
        Reader rd = { s->rd, s->rd + len };
        r = decode(&rd, ret);
        if (r >= 0 && rd.p != rd.end)
                r = -EBADMSG;
        if (r < 0)
                report_case_done(ret);
        return r;
}

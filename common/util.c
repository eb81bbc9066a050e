/* common: small libc-only helpers: clocks, duration and size parsing, whole
 * writes, atomic files, mkdir -p, a rm -rf that stays on its mount, strv. */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "common.h"

uint64_t th_now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t th_realtime_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* Parses a non-negative decimal with an optional fraction, locale-free. */
static int parse_decimal(const char *s, double *ret, const char **ret_end)
{
        const char *p = s;
        double v = 0;
        bool digits = false;

        while (*p >= '0' && *p <= '9') {
                v = v * 10 + (*p++ - '0');
                digits = true;
        }
        if (*p == '.') {
                double scale = 0.1;
                p++;
                while (*p >= '0' && *p <= '9') {
                        v += (*p++ - '0') * scale;
                        scale /= 10;
                        digits = true;
                }
        }
        if (!digits)
                return -EINVAL;
        *ret = v;
        *ret_end = p;
        return 0;
}

int th_parse_duration(const char *s, uint64_t *ret_usec)
{
        static const struct {
                const char *suffix;
                double usec;
        } units[] = {
                { "", USEC_PER_SEC },         { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },      { "us", 1 },
                { "m", 60 * USEC_PER_SEC },   { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        const char *end;
        double v;

        if (!s || parse_decimal(s, &v, &end) < 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(end, units[i].suffix) == 0) {
                        double us = v * units[i].usec;
                        if (us > (double)UINT64_MAX / 2)
                                return -ERANGE;
                        *ret_usec = (uint64_t)llround(us);
                        return 0;
                }
        return -EINVAL;
}

int th_parse_size(const char *s, uint64_t *ret_bytes)
{
        static const struct {
                const char *suffix;
                double factor;
        } units[] = {
                { "", 1 },
                { "K", 1024.0 },
                { "M", 1024.0 * 1024 },
                { "G", 1024.0 * 1024 * 1024 },
                { "T", 1024.0 * 1024 * 1024 * 1024 },
        };
        const char *end;
        double v;

        if (!s || parse_decimal(s, &v, &end) < 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(end, units[i].suffix) == 0) {
                        double b = v * units[i].factor;
                        if (b > (double)UINT64_MAX / 2)
                                return -ERANGE;
                        *ret_bytes = (uint64_t)llround(b);
                        return 0;
                }
        return -EINVAL;
}

int th_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int th_write_file_atomic(const char *path, const void *buf, size_t len, ThError *err)
{
        char tmp[PATH_MAX];
        int r;

        if (th_snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) < 0)
                return th_error_set(err, ENAMETOOLONG, "path too long: '%s'", path);

        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return th_error_errno(err, errno, "create '%s'", tmp);
        r = th_write_all(fd, buf, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return th_error_errno(err, -r, "write '%s'", tmp);
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return th_error_errno(err, -r, "rename to '%s'", path);
        }
        return 0;
}

int th_mkdir_p(const char *path, mode_t mode)
{
        char buf[PATH_MAX];

        if (th_snprintf(buf, sizeof(buf), "%s", path) < 0)
                return -ENAMETOOLONG;
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_rf_children(int dfd, dev_t dev)
{
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        int r = 0;

        if (!d) {
                close(dfd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                r = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (st.st_dev != dev) { /* a mount point: never cross it */
                                r = -EBUSY;
                                continue;
                        }
                        int cfd = openat(dirfd(d), de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0) {
                                r = -errno;
                                continue;
                        }
                        int q = rm_rf_children(cfd, dev);
                        if (q < 0)
                                r = q;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = -errno;
                }
        }
        return r;
}

int th_rm_rf(const char *path)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;

        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = rm_rf_children(fd, st.st_dev);
        if (rmdir(path) < 0 && errno != ENOENT && r >= 0)
                r = -errno;
        return r;
}

int th_snprintf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        return n;
}

char *th_strdup_printf(const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

void th_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t th_strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int th_strv_push(char ***v, const char *s)
{
        size_t n = th_strv_length(*v);
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[n] = copy;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

/* ---- text from elsewhere ------------------------------------------------- */

int32_t th_utf8_decode(const char *s, size_t *ret_len)
{
        const unsigned char *u = (const unsigned char *)s;
        uint32_t c;
        size_t n;

        *ret_len = 1;
        if (u[0] < 0x80)
                return u[0];
        if (u[0] >= 0xc2 && u[0] <= 0xdf)
                n = 2, c = u[0] & 0x1f;
        else if (u[0] >= 0xe0 && u[0] <= 0xef)
                n = 3, c = u[0] & 0x0f;
        else if (u[0] >= 0xf0 && u[0] <= 0xf4)
                n = 4, c = u[0] & 0x07;
        else
                return -1;
        /* A NUL is no continuation byte: this never reads past the end. */
        for (size_t i = 1; i < n; i++) {
                if ((u[i] & 0xc0) != 0x80)
                        return -1;
                c = c << 6 | (u[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
            (c >= 0xd800 && c <= 0xdfff))
                return -1;
        *ret_len = n;
        return (int32_t)c;
}

bool th_unichar_is_unsafe(uint32_t c)
{
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f ||
               c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
               (c >= 0x2066 && c <= 0x2069);
}

/* The escape for s[i] (or "" to copy it as it is); *ret_skip: bytes taken. */
static const char *escape_one(const unsigned char *s, size_t i, unsigned flags, char tmp[16],
                              size_t *ret_skip)
{
        unsigned char c = s[i];
        *ret_skip = 1;
        if (c == '\\')
                return flags & TH_ESCAPE_BACKSLASH ? "\\\\" : "";
        if (c == '\n')
                return "\\n";
        if (c == '\t')
                return "\\t";
        if (c == '\r')
                return "\\r";
        int32_t u = th_utf8_decode((const char *)s + i, ret_skip);
        if (u < 0 || u < 0x80) {
                /* A byte of no valid UTF-8 sequence (0x9b alone is CSI to a
                 * terminal that is not in UTF-8 mode) or a C0 control. */
                if (u >= 0x20 && u != 0x7f)
                        return "";
                snprintf(tmp, 16, "\\x%02x", c);
                return tmp;
        }
        if (th_unichar_is_unsafe((uint32_t)u)) {
                snprintf(tmp, 16, "\\u{%04x}", (unsigned)u);
                return tmp;
        }
        return "";
}

size_t th_cescape_buf(const char *s, char *buf, size_t size, unsigned flags)
{
        const unsigned char *u = (const unsigned char *)(s ? s : "");
        size_t o = 0;
        if (size == 0)
                return 0;
        for (size_t i = 0; u[i];) {
                char tmp[16];
                size_t skip;
                const char *e = escape_one(u, i, flags, tmp, &skip);
                size_t n = e[0] ? strlen(e) : skip;
                if (o + n >= size)
                        break;
                memcpy(buf + o, e[0] ? e : (const char *)u + i, n);
                o += n;
                i += skip;
        }
        buf[o] = 0;
        return o;
}

char *th_cescape(const char *s, unsigned flags)
{
        size_t len = strlen(s ? s : "");
        /* \xHH for one byte, \u{HHHH} for two: 4x is the worst case. */
        char *buf = malloc(len * 4 + 1);
        if (buf)
                th_cescape_buf(s, buf, len * 4 + 1, flags);
        return buf;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static size_t utf8_encode(uint32_t c, char *out)
{
        if (c < 0x80) {
                out[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char)(0xc0 | c >> 6);
                out[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char)(0xe0 | c >> 12);
                out[1] = (char)(0x80 | (c >> 6 & 0x3f));
                out[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | c >> 18);
        out[1] = (char)(0x80 | (c >> 12 & 0x3f));
        out[2] = (char)(0x80 | (c >> 6 & 0x3f));
        out[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

int th_cunescape(const char *s, char **ret)
{
        size_t len = strlen(s);
        _cleanup_free_ char *out = malloc(len + 1);
        size_t o = 0;
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                if (s[i] != '\\') {
                        out[o++] = s[i];
                        continue;
                }
                char e = s[++i];
                if (e == 'n')
                        out[o++] = '\n';
                else if (e == 't')
                        out[o++] = '\t';
                else if (e == 'r')
                        out[o++] = '\r';
                else if (e == '\\')
                        out[o++] = '\\';
                else if (e == 'x' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
                         hexval(s[i + 2]) >= 0) {
                        int v = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
                        if (v == 0)
                                return -EINVAL;
                        out[o++] = (char)v;
                        i += 2;
                } else if (e == 'u' && s[i + 1] == '{') {
                        /* \u{HHHH}: a code point, written back as UTF-8. */
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(s + i + 2, &end, 16);
                        if (errno || end == s + i + 2 || *end != '}' || v == 0 || v > 0x10ffff ||
                            (v >= 0xd800 && v <= 0xdfff) || !isxdigit((unsigned char)s[i + 2]))
                                return -EINVAL;
                        o += utf8_encode((uint32_t)v, out + o);
                        i = (size_t)(end - s);
                } else
                        return -EINVAL;
        }
        out[o] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

int th_open_beneath(int dir_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)flags | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, dir_fd, *path ? path : ".", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

int th_open_in_root(int root_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)flags | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        while (*path == '/')
                path++;
        int fd = (int)syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

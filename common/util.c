/* common: small libc-only helpers: clocks, duration and size parsing, whole
 * writes, atomic files, mkdir -p, a rm -rf that stays on its mount, strv. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

uint64_t th_now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t th_realtime_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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
                { "", 1e6 },   { "s", 1e6 },    { "ms", 1e3 },   { "us", 1 },
                { "m", 60e6 }, { "min", 60e6 }, { "h", 3600e6 },
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

/* isolate: copying out of a finished container: artifacts (resolved inside
 * the container's root, written beneath the test's artifacts dir without
 * following anything) and the upper dir kept for --keep-failed. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "isolate-internal.h"
#include "isolate-copy.h"

static int charge(IsolateCopy *cp, uint64_t n)
{
        if (n > cp->left) {
                cp->limit_hit = true;
                return -EFBIG;
        }
        cp->left -= n;
        return 0;
}

static int write_at(int out, const char *buf, size_t len, off_t off)
{
        while (len > 0) {
                ssize_t n = pwrite(out, buf, len, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                buf += n, len -= (size_t)n, off += n;
        }
        return 0;
}

/* Copies the data regions of in (SEEK_DATA/SEEK_HOLE), so holes stay holes,
 * then sets the length. At the limit the copy is cut there: what was
 * written is an exact prefix. */
static int copy_data(int in, int out, off_t size, IsolateCopy *cp)
{
        char buf[65536];
        off_t off = 0;

        while (off < size) {
                off_t data = lseek(in, off, SEEK_DATA);
                if ((data < 0 && errno == ENXIO) || data >= size)
                        break; /* a hole up to the end */
                if (data < 0)
                        data = off; /* no SEEK_DATA here: all data */
                off_t hole = lseek(in, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size; /* (or it grew since its size was taken) */
                for (off = data; off < hole;) {
                        size_t want = hole - off < (off_t)sizeof(buf) ? (size_t)(hole - off)
                                                                      : sizeof(buf);
                        if (want > cp->left) {
                                want = (size_t)cp->left;
                                cp->limit_hit = true;
                        }
                        ssize_t n = want ? pread(in, buf, want, off) : 0;
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n == 0 && !cp->limit_hit)
                                return ftruncate(out, off) < 0 ? -errno : 0; /* it shrank */
                        int r = write_at(out, buf, (size_t)n, off);
                        if (r < 0)
                                return r;
                        off += n;
                        cp->left -= (uint64_t)n;
                        if (cp->limit_hit) {
                                (void)ftruncate(out, off);
                                return -EFBIG;
                        }
                }
        }
        return ftruncate(out, size) < 0 ? -errno : 0;
}

/* Extended attributes: overlay's trusted.overlay.* (opaque directories,
 * redirects) and security.capability must survive, or a kept upper dir used
 * as a layer is a different tree. Best effort per attribute. */
static void copy_xattrs(int in, int out)
{
        char names[65536], value[65536];
        ssize_t n = flistxattr(in, names, sizeof(names));
        for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
                ssize_t v = fgetxattr(in, names + off, value, sizeof(value));
                if (v >= 0)
                        (void)fsetxattr(out, names + off, value, (size_t)v, 0);
        }
}

/* Owner, mode and attributes as they were (faithful) or the harness's own
 * owner and the mode masked: no set-uid, set-gid or sticky bit, no write
 * for group and others. */
static void copy_meta(int in, int out, const struct stat *st, const IsolateCopy *cp)
{
        struct timespec ts[2] = { st->st_atim, st->st_mtim };

        if (cp->faithful) {
                /* Owner before mode (chown clears set-uid bits), caps last. */
                (void)fchown(out, st->st_uid, st->st_gid);
                (void)fchmod(out, st->st_mode & 07777);
                copy_xattrs(in, out);
        } else
                (void)fchmod(out, (st->st_mode & 0755) | (S_ISDIR(st->st_mode) ? 0700 : 0));
        (void)futimens(out, ts);
}

/* dir/name opened for reading without following a link, blocking on a
 * fifo or taking a terminal: its fd, *st filled, or -EBADFD when it is not
 * a regular file (replaced meanwhile, say), or -errno. */
static int open_regular(int dir, const char *name, struct stat *st)
{
        int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = fstat(fd, st) < 0 ? -errno : S_ISREG(st->st_mode) ? 0 : -EBADFD;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

static int copy_file(int src_dir, const char *name, int dst_dir, const char *dst_name,
                     IsolateCopy *cp)
{
        struct stat st;
        _cleanup_close_ int in = open_regular(src_dir, name, &st);
        if (in == -EBADFD)
                return 0; /* swapped meanwhile */
        if (in < 0)
                return in;
        int r = charge(cp, ISOLATE_COPY_ENTRY_COST);
        if (r < 0)
                return r;
        _cleanup_close_ int out = openat(
                dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        r = copy_data(in, out, st.st_size, cp);
        copy_meta(in, out, &st, cp);
        return r;
}

static int copy_symlink(int src_dir, const char *name, int dst_dir, const char *dst_name,
                        const struct stat *st, IsolateCopy *cp)
{
        char target[4096];
        ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = 0;
        int r = charge(cp, ISOLATE_COPY_ENTRY_COST + (uint64_t)n);
        if (r < 0)
                return r;
        if (symlinkat(target, dst_dir, dst_name) < 0)
                return -errno;
        if (cp->faithful)
                (void)fchownat(dst_dir, dst_name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int copy_dir(int src_dir, const char *name, int dst_dir, const char *dst_name,
                    IsolateCopy *cp, unsigned depth)
{
        struct stat st;
        _cleanup_close_ int s =
                openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
                return -errno;
        if (fstat(s, &st) < 0)
                return -errno;
        int r = charge(cp, ISOLATE_COPY_ENTRY_COST);
        if (r < 0)
                return r;
        /* An existing directory is one this copy made (the parents of an
         * earlier artifact): entered, never followed. */
        if (mkdirat(dst_dir, dst_name, 0700) < 0 && errno != EEXIST)
                return -errno;
        _cleanup_close_ int d =
                openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
                return -errno;
        _cleanup_close_ int meta = fcntl(s, F_DUPFD_CLOEXEC, 3);
        _cleanup_closedir_ DIR *dir = fdopendir(s);
        if (!dir)
                return -errno;
        s = -1;
        int ret = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = isolate_copy_entry(dirfd(dir), de->d_name, d, de->d_name, cp, depth + 1);
                if (r < 0 && ret == 0)
                        ret = r;
                if (r == -EFBIG)
                        break;
        }
        if (meta >= 0)
                copy_meta(meta, d, &st, cp);
        return ret;
}

int isolate_copy_entry(int src_dir, const char *name, int dst_dir, const char *dst_name,
                       IsolateCopy *cp, unsigned depth)
{
        struct stat st;
        if (depth > ISOLATE_COPY_MAX_DEPTH)
                return -ELOOP;
        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISREG(st.st_mode))
                return copy_file(src_dir, name, dst_dir, dst_name, cp);
        if (S_ISLNK(st.st_mode))
                return copy_symlink(src_dir, name, dst_dir, dst_name, &st, cp);
        if (S_ISDIR(st.st_mode))
                return copy_dir(src_dir, name, dst_dir, dst_name, cp, depth);
        if (cp->faithful && S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 &&
            minor(st.st_rdev) == 0) {
                /* An overlay whiteout. */
                if (mknodat(dst_dir, dst_name, S_IFCHR | 0, makedev(0, 0)) < 0)
                        return -errno;
                return 0;
        }
        return 0; /* devices, FIFOs, sockets: not copied */
}

/* The next component of *p ("" at the end), skipping "." and repeated '/'. */
static size_t next_component(const char **p)
{
        for (;;) {
                while (**p == '/')
                        (*p)++;
                size_t n = strcspn(*p, "/");
                if (n == 1 && **p == '.') {
                        (*p)++;
                        continue;
                }
                return n;
        }
}

/* Opens (creating) the directory rel beneath dst_fd, one component at a
 * time: nothing in the way may be a symlink or lead out. */
static int open_dst_dir(int dst_fd, const char *rel, IsolateCopy *cp, int *ret_fd)
{
        struct open_how how = {
                .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                           RESOLVE_NO_XDEV,
        };
        _cleanup_close_ int fd = fcntl(dst_fd, F_DUPFD_CLOEXEC, 3);
        const char *p = rel;
        size_t n;

        if (fd < 0)
                return -errno;
        while ((n = next_component(&p)) > 0) {
                char comp[NAME_MAX + 1];
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, n);
                comp[n] = 0;
                p += n;
                if (mkdirat(fd, comp, 0755) == 0) {
                        int r = charge(cp, ISOLATE_COPY_ENTRY_COST);
                        if (r < 0)
                                return r;
                } else if (errno != EEXIST)
                        return -errno;
                int nfd = (int)syscall(SYS_openat2, fd, comp, &how, sizeof(how));
                if (nfd < 0)
                        return -errno;
                close(fd);
                fd = nfd;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* "/var/log/apt/history.log" -> dst_fd/var/log/apt/history.log. */
int isolate_copy_artifact(int root_fd, const char *path, int dst_fd, IsolateCopy *cp, ThError *err)
{
        char parent[4096], name[NAME_MAX + 1] = "";
        size_t plen = 0, n;
        const char *p = path;

        /* parent: the components but the last, '/'-joined; name: the last. */
        while ((n = next_component(&p)) > 0) {
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return th_error_set(err, EINVAL, "artifact '%s': '..' is not allowed",
                                            path);
                if (n > NAME_MAX)
                        return th_error_set(err, ENAMETOOLONG, "artifact '%s'", path);
                if (name[0]) {
                        size_t l = strlen(name);
                        if (plen + l + 2 >= sizeof(parent))
                                return th_error_set(err, ENAMETOOLONG, "artifact '%s'", path);
                        if (plen)
                                parent[plen++] = '/';
                        memcpy(parent + plen, name, l);
                        plen += l;
                }
                memcpy(name, p, n);
                name[n] = 0;
                p += n;
        }
        parent[plen] = 0;
        if (!name[0])
                return th_error_set(err, EINVAL, "artifact '%s' is not a file path", path);

        /* The directory is resolved inside the root; the last component is
         * then taken as it is (a symlink is copied as a symlink). */
        _cleanup_close_ int src =
                th_open_in_root(root_fd, plen ? parent : ".", O_RDONLY | O_DIRECTORY);
        if (src < 0)
                return th_error_errno(err, -src, "artifact '%s'", path);
        _cleanup_close_ int dst = -1;
        int r = open_dst_dir(dst_fd, parent, cp, &dst);
        if (r == -EFBIG)
                return th_error_set(err, EFBIG, "artifact '%s': the size limit was reached", path);
        if (r < 0)
                return th_error_errno(err, -r, "artifact '%s': its destination", path);
        r = isolate_copy_entry(src, name, dst, name, cp, 0);
        if (r == -EFBIG)
                return th_error_set(err, EFBIG, "artifact '%s': the size limit was reached", path);
        if (r < 0)
                return th_error_errno(err, -r, "copy artifact '%s'", path);
        return 0;
}

int isolate_copy_output(int src_dir, const char *name, int dst_dir, uint64_t max, bool *ret_cut)
{
        struct stat st;
        _cleanup_close_ int in = open_regular(src_dir, name, &st);
        if (in < 0)
                return in;
        if (unlinkat(dst_dir, name, 0) < 0 && errno != ENOENT)
                return -errno;
        _cleanup_close_ int out =
                openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (out < 0)
                return -errno;
        (void)fchmod(out, 0644);
        off_t size = st.st_size;
        if ((uint64_t)size > max) {
                size = (off_t)max;
                *ret_cut = true;
        }
        IsolateCopy cp = { .left = UINT64_MAX };
        return copy_data(in, out, size, &cp);
}

static bool changed_since(const struct stat *st, const struct timespec *since)
{
        return st->st_ctim.tv_sec > since->tv_sec ||
               (st->st_ctim.tv_sec == since->tv_sec && st->st_ctim.tv_nsec >= since->tv_nsec);
}

/* Takes the privileges off the regular file open as fd if the container
 * changed it: the set-uid and set-gid bits, and file capabilities (a
 * security.capability written through an idmapped mount is valid for the
 * host's root). */
static void strip_fd(int fd, const struct timespec *since)
{
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !changed_since(&st, since))
                return;
        (void)fremovexattr(fd, "security.capability");
        if (st.st_mode & (S_ISUID | S_ISGID))
                (void)fchmod(fd, st.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID));
}

/* One directory of the walk below: where its reading stopped, and who it
 * is, to check that its ".." leads back to it. */
typedef struct StripLevel {
        long cookie;
        dev_t dev;
        ino_t ino;
} StripLevel;

/* Walks the tree below dir with one directory open at a time, however
 * deep it is (a depth limit would leave a set-uid file below it on the
 * host): down through each subdirectory, back up through "..", checked to
 * be the directory it came from (the walk never leaves the tree at dir).
 * -ESTALE when the tree moved under the walk. */
static int strip_tree(int dir, dev_t dev, const struct timespec *since)
{
        _cleanup_free_ StripLevel *stack = NULL;
        size_t depth = 0, cap = 0;
        struct stat st;
        _cleanup_close_ int cur = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0 || fstat(cur, &st) < 0)
                return -errno;
        long cookie = 0;
        for (;;) {
                int d2 = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
                if (!d) {
                        if (d2 >= 0)
                                close(d2);
                        return -errno;
                }
                if (cookie)
                        seekdir(d, cookie);
                int down = -1;
                for (struct dirent *e; down < 0 && (e = readdir(d));) {
                        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
                            fstatat(cur, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                            st.st_dev != dev)
                                continue;
                        if (S_ISDIR(st.st_mode)) {
                                down = openat(cur, e->d_name,
                                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                if (down >= 0) {
                                        cookie = telldir(d);
                                        break;
                                }
                        } else if (S_ISREG(st.st_mode) && changed_since(&st, since)) {
                                _cleanup_close_ int f = openat(cur, e->d_name,
                                                               O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                                                                       O_NOCTTY | O_CLOEXEC);
                                if (f >= 0)
                                        strip_fd(f, since);
                        }
                }
                closedir(d);
                struct stat here;
                if (fstat(cur, &here) < 0)
                        return -errno;
                if (down >= 0) {
                        /* Down: remember where to go on here. */
                        if (depth == cap) {
                                size_t n = cap ? 2 * cap : 64;
                                StripLevel *ns = realloc(stack, n * sizeof(*ns));
                                if (!ns) {
                                        close(down);
                                        return -ENOMEM;
                                }
                                stack = ns, cap = n;
                        }
                        stack[depth++] = (StripLevel){ cookie, here.st_dev, here.st_ino };
                        close(cur);
                        cur = down;
                        cookie = 0;
                        continue;
                }
                if (depth == 0)
                        return 0;
                /* Up, to the directory this one was entered from. */
                StripLevel *up = &stack[--depth];
                int parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (parent < 0)
                        return -errno;
                if (fstat(parent, &st) < 0 || st.st_dev != up->dev || st.st_ino != up->ino) {
                        close(parent);
                        return -ESTALE;
                }
                close(cur);
                cur = parent;
                cookie = up->cookie;
        }
}

void isolate_strip_setid(int fd, const struct timespec *since)
{
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return;
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int dir = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                /* A tree moved under the walk is walked again from the top. */
                int r = -ESTALE;
                for (int i = 0; dir >= 0 && r == -ESTALE && i < 3; i++)
                        r = strip_tree(dir, st.st_dev, since);
                if (r < 0)
                        th_debug("set-id strip of a writable bind: %s", strerror(-r));
        } else if (S_ISREG(st.st_mode) && changed_since(&st, since)) {
                char p[64];
                th_snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
                _cleanup_close_ int f = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                if (f >= 0)
                        strip_fd(f, since);
        }
}

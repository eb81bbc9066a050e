/* isolate: copying out of a finished container: artifacts (resolved inside
 * the container's root, never following a symlink out of it) and the upper
 * dir kept for --keep-failed. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "isolate-internal.h"
#include "isolate-copy.h"

static int copy_fd(int in, int out)
{
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                int r = th_write_all(out, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
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

static void copy_times(int out, const struct stat *st)
{
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        (void)futimens(out, ts);
}

/* Copies the entry name in src_dir to dst_dir (created entries never follow
 * symlinks; directories recurse, depth-limited). */
int isolate_copy_entry(int src_dir, const char *name, int dst_dir, const char *dst_name,
                       unsigned depth)
{
        struct stat st;
        if (depth > 256)
                return -ELOOP;
        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int out = openat(
                        dst_dir, dst_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 07777);
                if (in < 0 || out < 0)
                        return -errno;
                int r = copy_fd(in, out);
                /* Owner before mode (chown clears set-uid bits), caps last. */
                (void)fchown(out, st.st_uid, st.st_gid);
                (void)fchmod(out, st.st_mode & 07777);
                copy_xattrs(in, out);
                copy_times(out, &st);
                return r;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = 0;
                if (symlinkat(target, dst_dir, dst_name) < 0 && errno != EEXIST)
                        return -errno;
                (void)fchownat(dst_dir, dst_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0) {
                /* An overlay whiteout. */
                if (mknodat(dst_dir, dst_name, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
                        return -errno;
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return 0; /* devices, FIFOs, sockets: not copied */

        if (mkdirat(dst_dir, dst_name, 0700) < 0 && errno != EEXIST)
                return -errno;
        _cleanup_close_ int s =
                openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int d =
                openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
                return -errno;
        _cleanup_closedir_ DIR *dir = fdopendir(s);
        if (!dir)
                return -errno;
        s = -1;
        int ret = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int r = isolate_copy_entry(dirfd(dir), de->d_name, d, de->d_name, depth + 1);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        (void)fchown(d, st.st_uid, st.st_gid);
        (void)fchmod(d, st.st_mode & 07777);
        _cleanup_close_ int src_again =
                openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src_again >= 0)
                copy_xattrs(src_again, d);
        copy_times(d, &st);
        return ret;
}

/* "/var/log/apt/history.log" -> artifacts_dir/var/log/apt/history.log. */
int isolate_copy_artifact(int root_fd, const char *path, const char *artifacts_dir, ThError *err)
{
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        const char *rel = path;
        while (*rel == '/')
                rel++;
        if (!*rel)
                return th_error_set(err, EINVAL, "artifact '%s' is not a file path", path);

        char parent[4096];
        const char *slash = strrchr(rel, '/');
        const char *name = slash ? slash + 1 : rel;
        size_t plen = slash ? (size_t)(slash - rel) : 0;
        if (plen >= sizeof(parent))
                return th_error_set(err, ENAMETOOLONG, "artifact '%s'", path);
        memcpy(parent, rel, plen);
        parent[plen] = 0;
        if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
                return th_error_set(err, EINVAL, "artifact '%s' is not a file path", path);

        /* The directory is resolved inside the root; the last component is
         * then taken as it is (a symlink is copied as a symlink). */
        how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
        _cleanup_close_ int src =
                (int)syscall(SYS_openat2, root_fd, plen ? parent : ".", &how, sizeof(how));
        if (src < 0)
                return th_error_errno(err, errno, "artifact '%s'", path);

        _cleanup_free_ char *dst_parent = th_strdup_printf("%s/%s", artifacts_dir, parent);
        if (!dst_parent)
                return -ENOMEM;
        int r = th_mkdir_p(dst_parent, 0755);
        if (r < 0)
                return th_error_errno(err, -r, "create '%s'", dst_parent);
        _cleanup_close_ int dst = open(dst_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
                return th_error_errno(err, errno, "open '%s'", dst_parent);
        r = isolate_copy_entry(src, name, dst, name, 0);
        if (r < 0)
                return th_error_errno(err, -r, "copy artifact '%s'", path);
        return 0;
}

/* isolate: private users. Each running container gets its own 65536-id
 * range on the host (a lock file per range, like systemd-nspawn's "pick"),
 * a user namespace mapping 0..65535 onto it, and idmapped mounts of the
 * tree and binds so files on disk keep their owners. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "isolate-internal.h"

/* Candidate ranges: base = k * 65536, k in [FIRST, FIRST + COUNT), the same
 * region systemd-nspawn picks from (0x00080000..0x6FFF0000). */
#define RANGE_FIRST 8u
#define RANGE_COUNT 0x6ff0u

int isolate_userns_map_format(uid_t base, char *buf, size_t size)
{
        return th_snprintf(buf, size, "0 %u %u\n", (unsigned)base, ISOLATE_UID_RANGE);
}

static int lock_range(const char *dir, unsigned k, int *ret_fd, char **ret_path)
{
        _cleanup_free_ char *p = th_strdup_printf("%s/%u.lock", dir, k * ISOLATE_UID_RANGE);
        if (!p)
                return -ENOMEM;
        _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return -errno;
        /* The previous holder may have unlinked it between our open and flock. */
        struct stat a, b;
        if (fstat(fd, &a) < 0 || stat(p, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
                return -EAGAIN;
        *ret_fd = TAKE_FD(fd);
        *ret_path = TAKE_PTR(p);
        return 0;
}

static int write_map(pid_t pid, const char *file, const char *map)
{
        char p[64];
        th_snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, file);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return write(fd, map, strlen(map)) < 0 ? -errno : 0;
}

/* A short-lived child unshares a user namespace; we map it and keep an fd. */
static int make_userns(uid_t base, int *ret_fd, ThError *err)
{
        int ready[2], hold[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return th_error_errno(err, errno, "pipe");
        if (pipe2(hold, O_CLOEXEC) < 0) {
                close(ready[0]);
                close(ready[1]);
                return th_error_errno(err, errno, "pipe");
        }
        pid_t pid = fork();
        if (pid == 0) {
                char c = unshare(CLONE_NEWUSER) < 0 ? 'E' : 'K';
                close(ready[0]);
                close(hold[1]);
                (void)!write(ready[1], &c, 1);
                (void)!read(hold[0], &c, 1);
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        int r = 0;
        char c = 0, map[64];
        if (pid < 0)
                r = th_error_errno(err, errno, "fork");
        else if (read(ready[0], &c, 1) != 1 || c != 'K')
                r = th_error_set(err, EOPNOTSUPP,
                                 "user namespaces are not available (unshare(CLONE_NEWUSER) "
                                 "failed); use --private-users=no");
        if (r >= 0) {
                isolate_userns_map_format(base, map, sizeof(map));
                int w = write_map(pid, "uid_map", map);
                if (w >= 0)
                        w = write_map(pid, "gid_map", map);
                if (w < 0)
                        r = th_error_errno(err, -w, "write the uid/gid map of a user namespace");
        }
        if (r >= 0) {
                char p[64];
                th_snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = th_error_errno(err, errno, "open '%s'", p);
                else
                        *ret_fd = fd;
        }
        close(ready[0]);
        close(hold[1]); /* the helper exits */
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        return r;
}

int isolate_userns_acquire(const char *state_dir, Userns *ret, ThError *err)
{
        Userns u = { .lock_fd = -1, .userns_fd = -1 };
        _cleanup_free_ char *dir = th_strdup_printf("%s/userns", state_dir);
        if (!dir)
                return th_error_set(err, ENOMEM, "out of memory");
        int r = th_mkdir_p(dir, 0700);
        if (r < 0)
                return th_error_errno(err, -r, "create '%s'", dir);

        unsigned start = (unsigned)(getpid() * 2654435761u ^ (unsigned)th_now_usec()) % RANGE_COUNT;
        for (unsigned i = 0; i < RANGE_COUNT; i++) {
                unsigned k = RANGE_FIRST + (start + i) % RANGE_COUNT;
                r = lock_range(dir, k, &u.lock_fd, &u.lock_path);
                if (r == -EWOULDBLOCK || r == -EAGAIN)
                        continue;
                if (r < 0)
                        return th_error_errno(err, -r, "lock a uid range in '%s'", dir);
                u.base = k * ISOLATE_UID_RANGE;
                break;
        }
        if (u.lock_fd < 0)
                return th_error_set(err, EBUSY, "no free uid range for a private user namespace");
        r = make_userns(u.base, &u.userns_fd, err);
        if (r < 0) {
                isolate_userns_release(&u);
                return r;
        }
        *ret = u;
        return 0;
}

void isolate_userns_release(Userns *u)
{
        if (u->userns_fd >= 0)
                close(u->userns_fd);
        if (u->lock_path && u->lock_fd >= 0)
                (void)unlink(u->lock_path);
        if (u->lock_fd >= 0)
                close(u->lock_fd);
        free(u->lock_path);
        *u = (Userns){ .lock_fd = -1, .userns_fd = -1 };
}

int isolate_detached_bind(int dir_fd, const char *path, int userns_fd, unsigned attr_set,
                          int *ret_fd, ThError *err)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (path[0] ? 0 : AT_EMPTY_PATH);
        _cleanup_close_ int fd = open_tree(dir_fd, path, flags);
        if (fd < 0)
                return th_error_errno(err, errno, "clone a mount of '%s'", path);
        struct mount_attr a = { .attr_set = attr_set };
        if (userns_fd >= 0) {
                a.attr_set |= MOUNT_ATTR_IDMAP;
                a.userns_fd = (uint64_t)userns_fd;
        }
        if (a.attr_set && mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
                int e = errno;
                if (userns_fd >= 0 && (e == EINVAL || e == EOPNOTSUPP || e == EPERM))
                        return th_error_errno(err, EOPNOTSUPP,
                                              "idmapped mount of '%s' (the kernel or file system "
                                              "cannot idmap)",
                                              path);
                return th_error_errno(err, e, "set attributes on a mount of '%s'", path);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void isolate_state_sweep(const char *state_dir)
{
        _cleanup_free_ char *locks = th_strdup_printf("%s/userns", state_dir);
        _cleanup_closedir_ DIR *d = locks ? opendir(locks) : NULL;
        struct dirent *de;
        /* A lock file nobody holds belongs to a dead worker. */
        while (d && (de = readdir(d))) {
                if (!strstr(de->d_name, ".lock"))
                        continue;
                _cleanup_close_ int fd =
                        openat(dirfd(d), de->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        _cleanup_free_ char *stage = th_strdup_printf("%s/stage", state_dir);
        _cleanup_closedir_ DIR *s = stage ? opendir(stage) : NULL;
        while (s && (de = readdir(s))) {
                int pid;
                if (sscanf(de->d_name, "c%d-", &pid) != 1 || pid <= 0)
                        continue;
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        (void)unlinkat(dirfd(s), de->d_name, AT_REMOVEDIR);
        }
}

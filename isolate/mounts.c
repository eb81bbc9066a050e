/* isolate: the one interpreter of the mount plan. Every path inside the
 * container is resolved relative to the new root with RESOLVE_IN_ROOT, so a
 * symlink in the tree can never send a mount or a mkdir onto the host. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "isolate-internal.h"

static int split_parent(const char *path, char *parent, size_t size, const char **ret_name)
{
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        size_t n = (size_t)(slash - path);
        if (n + 1 > size)
                return -ENAMETOOLONG;
        memcpy(parent, path, n);
        parent[n] = 0;
        *ret_name = slash + 1;
        return 0;
}

static int create_entry(int dfd, const char *name, bool is_file, mode_t mode, uid_t uid, gid_t gid);

/* Creates the missing entry name in the directory at parent (a container
 * path): a directory, or with is_file an empty regular file. */
static int create_in(int root_fd, const char *parent, const char *name, bool is_file, mode_t mode,
                     uid_t uid, gid_t gid)
{
        _cleanup_close_ int dfd =
                th_open_in_root(root_fd, parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY);
        if (dfd < 0)
                return dfd;
        int r = create_entry(dfd, name, is_file, mode, uid, gid);
        if (r != -EOVERFLOW || uid == 0)
                return r;
        /* The tree itself on an idmapped mount (private users without an
         * overlay): host root has no id on it. Create as the container's
         * root, whose host id the mount maps to the tree's root. */
        uid_t old_uid = (uid_t)setfsuid(uid);
        gid_t old_gid = (gid_t)setfsgid(gid);
        r = create_entry(dfd, name, is_file, mode, uid, gid);
        (void)setfsgid(old_gid);
        (void)setfsuid(old_uid);
        return r;
}

static int create_entry(int dfd, const char *name, bool is_file, mode_t mode, uid_t uid, gid_t gid)
{
        if (is_file) {
                _cleanup_close_ int f =
                        openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                               mode ? mode : 0644);
                if (f < 0)
                        return -errno;
                (void)fchown(f, uid, gid);
                return 0;
        }
        /* mkdirat never follows a symlink at name (EEXIST). */
        if (mkdirat(dfd, name, mode ? mode : 0755) < 0)
                return -errno;
        (void)fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        return 0;
}

/* If name in parent is a symlink, the path to create instead: its target
 * (resolved again inside the root) followed by rest. */
static int follow_link(int root_fd, const char *parent, const char *name, const char *rest,
                       char **ret_path)
{
        _cleanup_close_ int dfd =
                th_open_in_root(root_fd, parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
        char target[4096];
        if (dfd < 0)
                return dfd;
        ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
        if (n < 0)
                return errno == EINVAL || errno == ENOENT ? 0 : -errno;
        target[n] = 0;
        *ret_path = th_strdup_printf("%s%s%s%s%s", target[0] == '/' ? "" : parent,
                                     target[0] == '/' ? "" : "/", target, *rest ? "/" : "", rest);
        return *ret_path ? 1 : -ENOMEM;
}

static int resolve_create(int root_fd, const char *path, bool is_file, mode_t mode, uid_t uid,
                          gid_t gid, unsigned depth, int *ret_fd)
{
        int flags = O_PATH | (is_file ? 0 : O_DIRECTORY);
        int fd = th_open_in_root(root_fd, path, flags);
        if (fd >= 0 || fd != -ENOENT) {
                *ret_fd = fd;
                return fd < 0 ? fd : 0;
        }
        if (depth > 40)
                return -ELOOP;

        /* Walk the prefixes; create what is missing, follow symlinks inside the root. */
        char prefix[4096];
        size_t len = strlen(path);
        if (len >= sizeof(prefix))
                return -ENAMETOOLONG;
        for (size_t i = 1; i <= len; i++) {
                if (i < len && path[i] != '/')
                        continue;
                if (path[i - 1] == '/')
                        continue;
                memcpy(prefix, path, i);
                prefix[i] = 0;
                bool last = i == len || path[i + strspn(path + i, "/")] == 0;
                _cleanup_close_ int t = th_open_in_root(
                        root_fd, prefix, O_PATH | (last && is_file ? 0 : O_DIRECTORY));
                if (t >= 0)
                        continue;
                if (t != -ENOENT)
                        return t;
                char *slash = strrchr(prefix, '/');
                *slash = 0;
                const char *name = slash + 1, *rest = path + i + strspn(path + i, "/");
                _cleanup_free_ char *via = NULL;
                int r = follow_link(root_fd, prefix, name, rest, &via);
                if (r < 0)
                        return r;
                if (r > 0)
                        return resolve_create(root_fd, via, is_file, mode, uid, gid, depth + 1,
                                              ret_fd);
                r = create_in(root_fd, prefix, name, last && is_file, last ? mode : 0755, uid, gid);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        fd = th_open_in_root(root_fd, path, flags);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int isolate_resolve_in_root(int root_fd, const char *path, bool is_file, mode_t mode, uid_t uid,
                            gid_t gid, int *ret_fd, ThError *err)
{
        int r = resolve_create(root_fd, path, is_file, mode, uid, gid, 0, ret_fd);
        if (r < 0)
                return th_error_errno(err, -r, "resolve '%s' in the container", path);
        return 0;
}

/* A new file system instance with comma-separated options, attached at
 * target_fd. */
static int mount_fs(const char *fstype, const char *data, unsigned attr, int target_fd)
{
        _cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        _cleanup_free_ char *opts = data ? strdup(data) : NULL;
        if (data && !opts)
                return -ENOMEM;
        char *save = NULL;
        for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
             o = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(o, '=');
                int r;
                if (eq) {
                        *eq = 0;
                        r = fsconfig(fs, FSCONFIG_SET_STRING, o, eq + 1, 0);
                } else
                        r = fsconfig(fs, FSCONFIG_SET_FLAG, o, NULL, 0);
                if (r < 0)
                        return -errno;
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
        if (mnt < 0)
                return -errno;
        if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
            0)
                return -errno;
        return 0;
}

static int op_target(const MountOp *op, int root_fd, const MountPlan *plan, int *ret_fd,
                     ThError *err)
{
        if (root_fd >= 0)
                return isolate_resolve_in_root(root_fd, op->target, op->is_file, 0, plan->owner_uid,
                                               plan->owner_gid, ret_fd, err);
        int fd = open(op->target, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return th_error_errno(err, errno, "open '%s'", op->target);
        *ret_fd = fd;
        return 0;
}

static int op_parent(const MountOp *op, int root_fd, const MountPlan *plan, int *ret_dfd,
                     const char **ret_name, ThError *err)
{
        char parent[4096];
        int r = split_parent(op->target, parent, sizeof(parent), ret_name);
        if (r < 0)
                return th_error_errno(err, -r, "'%s'", op->target);
        _cleanup_close_ int pfd = -1;
        r = isolate_resolve_in_root(root_fd, parent[0] ? parent : "/", false, 0755, plan->owner_uid,
                                    plan->owner_gid, &pfd, err);
        if (r < 0)
                return r;
        int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return th_error_errno(err, errno, "open '%s'", parent);
        *ret_dfd = dfd;
        return 0;
}

static int apply_create(const MountOp *op, int root_fd, const MountPlan *plan, ThError *err)
{
        _cleanup_close_ int dfd = -1;
        const char *name = NULL;
        int r = op_parent(op, root_fd, plan, &dfd, &name, err);
        if (r < 0)
                return r;
        switch (op->kind) {
        case MOUNT_OP_MKDIR:
                r = mkdirat(dfd, name, op->mode);
                if (r < 0 && errno == EEXIST)
                        return 0;
                break;
        case MOUNT_OP_MKNOD:
                r = mknodat(dfd, name, S_IFCHR | op->mode, op->dev);
                if (r >= 0)
                        (void)fchmodat(dfd, name, op->mode, 0);
                break;
        case MOUNT_OP_SYMLINK:
                r = symlinkat(op->source, dfd, name);
                break;
        case MOUNT_OP_FILE: {
                _cleanup_close_ int f = openat(
                        dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, op->mode);
                if (f < 0)
                        return th_error_errno(err, errno, "create '%s'", op->target);
                r = th_write_all(f, op->data, strlen(op->data));
                if (r < 0)
                        return th_error_errno(err, -r, "write '%s'", op->target);
                break;
        }
        case MOUNT_OP_BIND_FD:
        case MOUNT_OP_FS:
        case MOUNT_OP_MASK:
        case MOUNT_OP_BIND_SELF:
        case MOUNT_OP_REMOUNT_RO:
        case _MOUNT_OP_KIND_MAX:
        case _MOUNT_OP_KIND_INVALID:
                return th_error_set(err, EINVAL, "not a create op");
        }
        if (r < 0)
                return th_error_errno(err, errno, "create '%s' (%s)", op->target,
                                      mount_op_kind_to_string(op->kind));
        (void)fchownat(dfd, name, plan->owner_uid, plan->owner_gid, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int apply_mask(const MountOp *op, int root_fd, const MountPlan *plan, ThError *err)
{
        _cleanup_close_ int t = -1;
        int r = op_target(op, root_fd, plan, &t, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(t, &st) < 0)
                return th_error_errno(err, errno, "stat '%s'", op->target);
        if (S_ISDIR(st.st_mode))
                r = mount_fs("tmpfs", "mode=0000,size=4k", MOUNT_ATTR_RDONLY, t);
        else {
                _cleanup_close_ int null =
                        open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC };
                r = null < 0 ? -errno : 0;
                if (r >= 0 && mount_setattr(null, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
                        r = -errno;
                if (r >= 0 && move_mount(null, "", t, "",
                                         MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        r = -errno;
        }
        return r < 0 ? th_error_errno(err, -r, "mask '%s'", op->target) : 0;
}

static int apply_one(const MountOp *op, int root_fd, const MountPlan *plan, const int *fds,
                     size_t n_fds, ThError *err)
{
        _cleanup_close_ int t = -1;
        int r;

        switch (op->kind) {
        case MOUNT_OP_MKDIR:
        case MOUNT_OP_MKNOD:
        case MOUNT_OP_SYMLINK:
        case MOUNT_OP_FILE:
                return apply_create(op, root_fd, plan, err);
        case MOUNT_OP_MASK:
                return apply_mask(op, root_fd, plan, err);
        case MOUNT_OP_BIND_FD:
                if (op->fd_index < 0 || (size_t)op->fd_index >= n_fds || fds[op->fd_index] < 0)
                        return th_error_set(err, EBADF, "no mount for '%s'", op->target);
                r = op_target(op, root_fd, plan, &t, err);
                if (r < 0)
                        return r;
                if (move_mount(fds[op->fd_index], "", t, "",
                               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return th_error_errno(err, errno, "bind onto '%s'", op->target);
                return 0;
        case MOUNT_OP_FS:
                r = op_target(op, root_fd, plan, &t, err);
                if (r < 0)
                        return r;
                r = mount_fs(op->source, op->data, op->attr, t);
                if (r < 0)
                        return th_error_errno(err, -r, "mount %s on '%s'", op->source, op->target);
                return 0;
        case MOUNT_OP_BIND_SELF: {
                r = op_target(op, root_fd, plan, &t, err);
                if (r < 0)
                        return r;
                _cleanup_close_ int m = open_tree(
                        t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (m < 0 ||
                    move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return th_error_errno(err, errno, "bind '%s' onto itself", op->target);
                return 0;
        }
        case MOUNT_OP_REMOUNT_RO: {
                struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
                r = op_target(op, root_fd, plan, &t, err);
                if (r < 0)
                        return r;
                if (mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                        return th_error_errno(err, errno, "make '%s' read-only", op->target);
                return 0;
        }
        case _MOUNT_OP_KIND_MAX:
        case _MOUNT_OP_KIND_INVALID:
                break;
        }
        return th_error_set(err, EINVAL, "unknown mount op %d", (int)op->kind);
}

int isolate_plan_apply(const MountPlan *plan, MountPhase phase, int root_fd, const int *fds,
                       size_t n_fds, ThError *err)
{
        for (size_t i = 0; i < plan->n_ops; i++) {
                const MountOp *op = &plan->ops[i];
                if (op->phase != phase)
                        continue;
                ThError scratch = {};
                int r = apply_one(op, root_fd, plan, fds, n_fds, op->optional ? &scratch : err);
                /* Optional ops tolerate only an absent path or an absent
                 * kernel feature; a mask that exists and fails is fatal. */
                if (r < 0 && op->optional &&
                    (r == -ENOENT || (op->kind == MOUNT_OP_FS && (r == -ENODEV || r == -EPERM))))
                        continue;
                if (r < 0) {
                        if (op->optional)
                                *err = scratch;
                        return r;
                }
        }
        return 0;
}

/* isolate: isolate_run(), the container's lifecycle. Its files follow
 * the process boundaries, and each lists its steps in the order they run,
 * next to the code (a step runs only after the one before succeeded):
 *   spawn.c        the worker: preparing what the container needs on the
 *                  host, the clone of the outer child, teardown;
 *   spawn-outer.c  the outer child: the new root, then PID 1's clone;
 *   spawn-inner.c  PID 1: its own setup, then the exec of its init;
 *   spawn-wait.c   the worker again: the wait loop and the results.
 * Teardown (container_done) leaves nothing behind: kill the cgroup, wait
 * until it is empty, copy artifacts, remove the cgroup, the registry entry,
 * the veth namespace and the staging dir, release the id range. Mounts die
 * with the mount namespaces. */
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "container.h"

#define STATE_DIR "/run/harness"

const char *const isolate_output_files[ISOLATE_OUTPUT_FILES_MAX + 1] = {
        "stdout",       "stderr", "journal",  "result", "setup-result",
        "journal.json", "units",  "services", NULL,
};

static const char *const systemd_paths[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd" };

/* ---- 1. checks ----------------------------------------------------------- */

static int check_spec(Container *c, bool *bind_is_file, ThError *err)
{
        const IsolateSpec *s = c->spec;
        if (!s->rootfs)
                return th_error_set(err, EINVAL, "no rootfs given");
        _cleanup_close_ int root =
                s->rootfs_fd > 0 ? openat(s->rootfs_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)
                                 : open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0 && errno == ENOTDIR)
                return th_error_set(err, ENOTDIR, "rootfs '%s' is not a directory", s->rootfs);
        if (root < 0)
                return th_error_errno(err, errno, "rootfs '%s'", s->rootfs);
        _cleanup_close_ int sh = th_open_in_root(root, "/bin/sh", O_PATH);
        if (sh < 0)
                return th_error_set(err, ENOENT, "rootfs '%s' has no /bin/sh", s->rootfs);
        if (s->boot) {
                for (size_t i = 0; i < ELEMENTSOF(systemd_paths) && !c->systemd; i++) {
                        _cleanup_close_ int fd = th_open_in_root(root, systemd_paths[i], O_PATH);
                        if (fd >= 0)
                                c->systemd = systemd_paths[i];
                }
                if (!c->systemd)
                        return th_error_set(err, ENOENT,
                                            "rootfs '%s' has no systemd (/lib/systemd/systemd); "
                                            "use direct mode (boot: false)",
                                            s->rootfs);
        }
        if (!s->boot && !s->argv)
                return th_error_set(err, EINVAL, "no command given");
        if (s->max_reboots && (!s->boot || !s->ephemeral || !s->argv || s->interactive))
                return th_error_set(err, EINVAL,
                                    "reboots need boot mode, an ephemeral tree and a command");
        if (!s->interactive && !s->output_dir)
                return th_error_set(err, EINVAL, "no output directory given");
        for (size_t i = 0; i < s->n_binds; i++) {
                const IsolateBind *b = &s->binds[i];
                struct stat st;
                if (b->source_fd >= 0 && b->source_fd <= STDERR_FILENO)
                        return th_error_set(err, EBADF,
                                            "bind source '%s' given as fd %d (a standard stream; "
                                            "-1 means no fd)",
                                            b->source ? b->source : "", b->source_fd);
                if (b->source_fd >= 0 ? fstat(b->source_fd, &st) < 0
                                      : !b->source || stat(b->source, &st) < 0)
                        return th_error_set(err, ENOENT, "bind source '%s' does not exist",
                                            s->binds[i].source ? s->binds[i].source : "");
                if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                        return th_error_set(err, EINVAL,
                                            "bind source '%s' is not a directory or regular file",
                                            s->binds[i].source);
                /* The fd is what was checked; if it was removed since (by an
                 * earlier test, say), there is nothing left to bind. */
                if (b->source_fd >= 0 && st.st_nlink == 0)
                        return th_error_set(err, ENOENT,
                                            "bind source '%s' was removed after it was checked",
                                            b->source ? b->source : "");
                bind_is_file[i] = !S_ISDIR(st.st_mode);
        }
        return 0;
}

/* The output files' paths in output_dir; what an earlier run left there
 * goes (the copies are made anew after the container, see copy_output()).
 * The console's copy is the worker's own file, written as it reads it. */
static int open_outputs(Container *c, IsolateResult *ret, ThError *err)
{
        const IsolateSpec *s = c->spec;
        char *const paths[] = { ret->stdout_path, ret->stderr_path, ret->journal_path };
        if (!s->output_dir)
                return 0;
        for (size_t i = 0; i < (s->boot ? 3u : 2u); i++) {
                int r = th_snprintf(paths[i], sizeof(ret->stdout_path), "%s/%s", s->output_dir,
                                    isolate_output_files[i]);
                if (r < 0)
                        return th_error_errno(err, -r, "output path in '%s'", s->output_dir);
        }
        for (size_t i = 0; isolate_output_files[i]; i++) {
                char p[4096];
                if (th_snprintf(p, sizeof(p), "%s/%s", s->output_dir, isolate_output_files[i]) >=
                            0 &&
                    unlink(p) < 0 && errno != ENOENT)
                        return th_error_errno(err, errno, "remove '%s'", p);
        }
        if (!s->boot)
                return 0;
        int r = th_snprintf(ret->console_path, sizeof(ret->console_path), "%s/console",
                            s->output_dir);
        if (r < 0)
                return th_error_errno(err, -r, "output path in '%s'", s->output_dir);
        c->fd[CFD_CONSOLE_LOG] =
                open(ret->console_path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (c->fd[CFD_CONSOLE_LOG] < 0)
                return th_error_errno(err, errno, "open '%s'", ret->console_path);
        return 0;
}

/* ---- 4. detached mounts and the console ---------------------------------- */

static int open_console(Container *c, ThError *err)
{
        c->fd[CFD_CONSOLE_MASTER] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (c->fd[CFD_CONSOLE_MASTER] < 0 || grantpt(c->fd[CFD_CONSOLE_MASTER]) < 0 ||
            unlockpt(c->fd[CFD_CONSOLE_MASTER]) < 0)
                return th_error_errno(err, errno, "allocate the console pty");
        char name[128];
        if (ptsname_r(c->fd[CFD_CONSOLE_MASTER], name, sizeof(name)) != 0)
                return th_error_errno(err, errno, "allocate the console pty");
        c->fd[CFD_CONSOLE_SLAVE] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->fd[CFD_CONSOLE_SLAVE] < 0)
                return th_error_errno(err, errno, "open '%s'", name);
        /* Owned by the container's root and its tty group (gid 5). */
        (void)fchown(c->fd[CFD_CONSOLE_SLAVE], c->base, c->base + 5);
        if (c->spec->interactive && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                        (void)ioctl(c->fd[CFD_CONSOLE_MASTER], TIOCSWINSZ, &ws);
        }
        return 0;
}

/* The kept tmpfs as this boot's upper: a clone of the detached mount
 * (moved into the container, whose end unmounts it; the kept one stays). */
static int clone_upper(Container *c, ThError *err)
{
        c->fd[CFD_UPPER] =
                open_tree(c->upper_keep, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (c->fd[CFD_UPPER] < 0)
                return th_error_errno(err, errno,
                                      "clone the upper dir's tmpfs for the next boot (reboots "
                                      "need a kernel that clones detached mounts, 6.15 or later)");
        return 0;
}

static int make_upper(Container *c, ThError *err)
{
        if (c->upper_keep >= 0)
                return clone_upper(c, err); /* a reboot: the same upper dir */
        char size[32];
        uint64_t bytes = c->spec->upper_size ? c->spec->upper_size : ISOLATE_UPPER_SIZE_DEFAULT;
        th_snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
        _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return th_error_errno(err, errno, "create the tmpfs for the upper dir");
        c->fd[CFD_UPPER] = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (c->fd[CFD_UPPER] < 0)
                return th_error_errno(err, errno, "create the tmpfs for the upper dir");
        struct stat st;
        if (c->spec->rootfs_fd > 0 ? fstat(c->spec->rootfs_fd, &st) < 0
                                   : stat(c->spec->rootfs, &st) < 0)
                return th_error_errno(err, errno, "stat '%s'", c->spec->rootfs);
        /* The overlay's root takes the upper dir's owner and mode. */
        if (mkdirat(c->fd[CFD_UPPER], "upper", st.st_mode & 07777) < 0 ||
            mkdirat(c->fd[CFD_UPPER], "work", 0700) < 0 ||
            fchownat(c->fd[CFD_UPPER], "upper", c->base + st.st_uid, c->base + st.st_gid, 0) < 0 ||
            fchmodat(c->fd[CFD_UPPER], "upper", st.st_mode & 07777, 0) < 0)
                return th_error_errno(err, errno, "prepare the upper dir");
        if (!c->spec->max_reboots)
                return 0;
        c->upper_keep = TAKE_FD(c->fd[CFD_UPPER]);
        return clone_upper(c, err);
}

uint64_t isolate_output_size(const IsolateSpec *s)
{
        uint64_t bytes = s->output_max_bytes ? s->output_max_bytes : ISOLATE_OUTPUT_SIZE_DEFAULT;
        uint64_t half = s->limits.memory_bytes / 2;
        if (half && half < bytes)
                bytes = half < (UINT64_C(1) << 20) ? UINT64_C(1) << 20 : half;
        return bytes;
}

/* The tmpfs of everything the container writes for the harness: its own
 * superblock, size-limited, nosuid, nodev, noexec, never mounted in a host
 * mount namespace (it dies with its last fd, a SIGKILLed harness's too).
 * Its root is the harness's (the container's root cannot add, remove or
 * replace entries); the files the container writes exist up front, owned
 * by the container's root. */
static int create_output(Container *c, ThError *err)
{
        const IsolateSpec *s = c->spec;
        uint64_t bytes = isolate_output_size(s);
        char size[32];
        th_snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
        _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", "64", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return th_error_errno(err, errno, "create the tmpfs for the output");
        c->fd[CFD_OUTPUT] = fsmount(fs, FSMOUNT_CLOEXEC,
                                    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (c->fd[CFD_OUTPUT] < 0)
                return th_error_errno(err, errno, "create the tmpfs for the output");
        size_t n = s->boot ? (s->system_state ? ISOLATE_OUTPUT_FILES_MAX : 5) : 2;
        for (size_t i = 0; i < n; i++) {
                const char *name = isolate_output_files[i];
                _cleanup_close_ int fd =
                        openat(c->fd[CFD_OUTPUT], name,
                               O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                /* Boot mode: written by the container's root through systemd. */
                if (fd < 0 || (s->boot && fchown(fd, c->base, c->base) < 0))
                        return th_error_errno(err, errno, "create '%s' for the output", name);
                if (i < 5)
                        c->fd[CFD_STDOUT + i] = TAKE_FD(fd);
        }
        /* Nor can a root without private users (CAP_FOWNER over it) remove,
         * rename or replace them: the directory is immutable (the files are
         * not). Only a kernel with tmpfs file flags (6.0) can; best effort. */
        _cleanup_close_ int dir =
                openat(c->fd[CFD_OUTPUT], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int flags = FS_IMMUTABLE_FL;
        if (dir < 0 || ioctl(dir, FS_IOC_SETFLAGS, &flags) < 0)
                th_debug("the output tmpfs's root cannot be made immutable: %m");
        return 0;
}

/* The output tmpfs, made once: a reboot keeps the output of the boots
 * before (undo_outputs closes it); boot mode mounts it at /run/harness. */
static int make_output(Container *c, ThError *err)
{
        const IsolateSpec *s = c->spec;
        if (!s->output_dir)
                return 0;
        if (c->fd[CFD_OUTPUT] < 0) {
                int r = create_output(c, err);
                if (r < 0)
                        return r;
        }
        if (s->boot) {
                /* A mount moved into a container stays there: each boot of
                 * one that may reboot gets a clone (as the upper dir). */
                c->fds[PLAN_FD_OUTPUT] =
                        s->max_reboots
                                ? open_tree(c->fd[CFD_OUTPUT], "",
                                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)
                                : fcntl(c->fd[CFD_OUTPUT], F_DUPFD_CLOEXEC, 3);
                if (c->fds[PLAN_FD_OUTPUT] < 0)
                        return th_error_errno(err, errno, "the output tmpfs");
        }
        return 0;
}

static int make_mounts(Container *c, ThError *err)
{
        const IsolateSpec *s = c->spec;
        int userns = c->private_users ? c->userns.userns_fd : -1;
        int r;

        c->n_layers = 1 + (s->ephemeral ? s->n_layers : 0);
        c->layer_fds = malloc(c->n_layers * sizeof(int));
        if (!c->layer_fds)
                return th_error_errno(err, ENOMEM, "the layers' mounts");
        for (size_t i = 0; i < c->n_layers; i++)
                c->layer_fds[i] = -1;
        /* nodev on every layer and bind: a device node in the tree or in a
         * fixture directory (owned by host root, so by container root once
         * idmapped) must not open a host device. The container's devices
         * are the ones bound into its own /dev. */
        for (size_t i = 0; i < c->n_layers; i++) {
                bool tree_fd = i == 0 && s->rootfs_fd > 0;
                const char *path = tree_fd ? "" : i == 0 ? s->rootfs : s->layers[i - 1];
                r = isolate_detached_bind(tree_fd ? s->rootfs_fd : AT_FDCWD, path, userns,
                                          MOUNT_ATTR_NODEV | (s->ephemeral ? MOUNT_ATTR_RDONLY : 0),
                                          &c->layer_fds[i], err);
                if (r < 0)
                        return r;
        }
        if (s->ephemeral) {
                r = make_upper(c, err);
                if (r < 0)
                        return r;
        }

        c->n_fds = _PLAN_FD_BINDS + s->n_binds;
        c->fds = malloc(c->n_fds * sizeof(int));
        if (!c->fds)
                return th_error_errno(err, ENOMEM, "the mount plan's fds");
        for (size_t i = 0; i < c->n_fds; i++)
                c->fds[i] = -1;
        if (c->fd[CFD_CONSOLE_SLAVE] >= 0) {
                r = isolate_detached_bind(c->fd[CFD_CONSOLE_SLAVE], "", -1, 0,
                                          &c->fds[PLAN_FD_CONSOLE], err);
                if (r < 0)
                        return r;
        }
        r = make_output(c, err);
        if (r < 0)
                return r;
        /* Binds also nosuid: a setuid-root file in a bound directory (one
         * a test wrote into a writable fixture, say) runs as its caller. A
         * source the caller opened is cloned from its fd, never looked up
         * by path again. */
        for (size_t i = 0; i < s->n_binds; i++) {
                const IsolateBind *b = &s->binds[i];
                r = isolate_detached_bind(b->source_fd >= 0 ? b->source_fd : AT_FDCWD,
                                          b->source_fd >= 0 ? "" : b->source, userns,
                                          MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID |
                                                  (b->writable ? 0 : MOUNT_ATTR_RDONLY),
                                          &c->fds[_PLAN_FD_BINDS + i], err);
                if (r < 0)
                        return th_error_prefix(err, "bind '%s'", s->binds[i].source);
        }
        return 0;
}

/* ---- the environment ----------------------------------------------------- */

static int build_env(Container *c, ThError *err)
{
        const IsolateSpec *s = c->spec;
        const char *term = getenv("TERM");
        char **env = NULL;
        int r = th_strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                   "/sbin:/bin");
        if (r >= 0)
                r = th_strv_push(&env, "container=harness");
        if (r >= 0 && !s->boot)
                r = th_strv_push(&env, "HOME=/root");
        /* The console is a file for the report: no colour codes in it
         * (read by systemd itself; units get their own environment). */
        if (r >= 0 && s->boot && !s->interactive)
                r = th_strv_push(&env, "SYSTEMD_COLORS=0");
        if (r >= 0 && s->interactive) {
                _cleanup_free_ char *t = th_strdup_printf("TERM=%s", term ? term : "vt220");
                r = t ? th_strv_push(&env, t) : -ENOMEM;
        }
        /* The caller's variables follow; in direct mode they override. */
        for (size_t i = 0; r >= 0 && !s->boot && s->env && s->env[i]; i++)
                r = th_strv_push(&env, s->env[i]);
        if (r < 0) {
                th_strv_free(env);
                return th_error_errno(err, -r, "environment");
        }
        c->env = env;
        return 0;
}

/* ---- isolate_run -------------------------------------------------------- */

void isolate_sweep(void)
{
        isolate_cgroup_sweep("/sys/fs/cgroup");
        isolate_state_sweep(STATE_DIR);
        isolate_registry_sweep();
        isolate_net_sweep();
}

static int prepare_users(Container *c, ThError *err)
{
        static bool warned;
        if (!c->spec->private_users)
                return 0;
        int r = isolate_userns_acquire(STATE_DIR, &c->userns, err);
        if (r < 0)
                return r;
        /* Probe once whether the tree's file system can be idmapped. */
        int fd = -1;
        ThError probe = {};
        if (c->spec->rootfs_fd > 0)
                r = isolate_detached_bind(c->spec->rootfs_fd, "", c->userns.userns_fd, 0, &fd,
                                          &probe);
        else
                r = isolate_detached_bind(AT_FDCWD, c->spec->rootfs, c->userns.userns_fd, 0, &fd,
                                          &probe);
        if (r == -EOPNOTSUPP && c->spec->private_users_required) {
                isolate_userns_release(&c->userns);
                return th_error_set(err, EOPNOTSUPP,
                                    "the kernel cannot idmap '%s', and this container needs "
                                    "private users (without them, its root is host root)",
                                    c->spec->rootfs);
        }
        if (r == -EOPNOTSUPP) {
                if (!warned)
                        th_log(TH_LOG_WARNING,
                               "the kernel cannot idmap '%s': running without private users",
                               c->spec->rootfs);
                warned = true;
                isolate_userns_release(&c->userns);
                return 1;
        }
        if (r < 0) {
                *err = probe;
                return r;
        }
        close(fd);
        c->private_users = true;
        c->base = c->userns.base;
        return 0;
}

/* ---- the worker's preparation: ordered steps, each with its undo ------- */

static void close_fds(Container *c, ContainerFd first, ContainerFd last)
{
        for (int i = (int)first; i <= (int)last; i++)
                if (c->fd[i] >= 0)
                        close(TAKE_FD(c->fd[i]));
}

static int step_spec(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        c->bind_is_file = calloc(c->spec->n_binds + 1, sizeof(bool));
        if (!c->bind_is_file)
                return th_error_errno(err, ENOMEM, "the binds");
        return check_spec(c, c->bind_is_file, err);
}

static void undo_spec(Container *c)
{
        free(c->bind_is_file);
        c->bind_is_file = NULL;
}

static int step_outputs(Container *c, IsolateResult *ret, ThError *err)
{
        int r = open_outputs(c, ret, err);
        if (r >= 0 && !c->spec->boot)
                c->init_fd = container_init_fd();
        return r;
}

static void undo_outputs(Container *c)
{
        /* The output tmpfs is made with the mounts, but kept across a
         * reboot like the files it holds. */
        close_fds(c, CFD_OUTPUT, CFD_OUTPUT);
        close_fds(c, CFD_STDOUT, CFD_CONSOLE_LOG);
}

/* What a SIGKILLed harness left is swept by the next run. */
static int step_sweep(Container *c, IsolateResult *ret, ThError *err)
{
        static unsigned counter;
        (void)ret;
        (void)err;
        isolate_sweep();
        th_snprintf(c->name, sizeof(c->name), "c%d-%u-%llx", (int)getpid(), counter++,
                    (unsigned long long)(th_now_usec() & 0xffffff));
        return 0;
}

/* Users before the cgroup: a tree the kernel cannot idmap runs without
 * private users, and then the device policy must apply. */
static int step_users(Container *c, IsolateResult *ret, ThError *err)
{
        int r = prepare_users(c, err);
        if (r < 0)
                return r;
        if (r > 0)
                ret->private_users_off = true;
        ret->uid_base = c->private_users ? (uint32_t)c->base : 0;
        return 0;
}

static void undo_users(Container *c)
{
        isolate_userns_release(&c->userns);
}

static int step_cgroup(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        return isolate_cgroup_create("/sys/fs/cgroup", c->name, &c->spec->limits, !c->private_users,
                                     &c->cg, err);
}

static void undo_cgroup(Container *c)
{
        ThError scratch = {};
        (void)isolate_cgroup_destroy(&c->cg, &scratch);
}

static int step_registry(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        return isolate_registry_reserve(c->spec, &c->reg, err);
}

static void undo_registry(Container *c)
{
        isolate_registry_release(&c->reg);
}

static int step_network(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        return isolate_net_prepare(c->spec, c->private_users ? c->userns.userns_fd : -1, &c->net,
                                   err);
}

static void undo_network(Container *c)
{
        c->net = isolate_net_release(c->net);
}

/* Boot mode with private users: the container's cgroup is delegated to its
 * root, as systemd does (removed with the cgroup). */
static int step_delegate(Container *c, IsolateResult *ret, ThError *err)
{
        const char *files[] = { "", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads" };
        (void)ret;
        (void)err;
        if (!c->private_users || !c->spec->boot)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = th_strdup_printf("%s%s", c->cg.v2_path, files[i]);
                if (p)
                        (void)chown(p, c->base, c->base);
        }
        return 0;
}

static int step_console(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        if (!c->spec->boot && !(c->spec->interactive && isatty(STDIN_FILENO)))
                return 0;
        return open_console(c, err);
}

static void undo_console(Container *c)
{
        close_fds(c, CFD_CONSOLE_MASTER, CFD_CONSOLE_SLAVE);
}

static int step_mounts(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        return make_mounts(c, err);
}

static void undo_mounts(Container *c)
{
        for (size_t i = 0; c->fds && i < c->n_fds; i++)
                if (c->fds[i] >= 0)
                        close(c->fds[i]);
        free(c->fds);
        c->fds = NULL;
        for (size_t i = 0; c->layer_fds && i < c->n_layers; i++)
                if (c->layer_fds[i] >= 0)
                        close(c->layer_fds[i]);
        free(c->layer_fds);
        c->layer_fds = NULL;
        close_fds(c, CFD_UPPER, CFD_UPPER);
}

/* What PID 1 applies, as data. */
static int step_plan(Container *c, IsolateResult *ret, ThError *err)
{
        const IsolateSpec *s = c->spec;
        PlanContext ctx = { .owner_uid = c->base,
                            .owner_gid = c->base,
                            .has_console = c->fd[CFD_CONSOLE_SLAVE] >= 0,
                            .network_host = s->network == ISOLATE_NETWORK_HOST,
                            .bind_is_file = c->bind_is_file };
        (void)ret;
        int r = isolate_plan_build(s, &ctx, &c->plan, err);
        if (r >= 0)
                r = isolate_caps_bounding(s->caps_keep, s->n_caps_keep, &c->caps, err);
        if (r >= 0)
                r = isolate_seccomp_program(&c->seccomp, err);
        return r;
}

static void undo_plan(Container *c)
{
        isolate_plan_done(&c->plan);
}

static int step_environment(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        return build_env(c, err);
}

static void undo_environment(Container *c)
{
        th_strv_free(c->env);
        c->env = NULL;
}

/* The staging dir (host path; the outer child mounts on it in its own
 * mount namespace only). */
static int step_stage(Container *c, IsolateResult *ret, ThError *err)
{
        (void)ret;
        int r = th_mkdir_p(STATE_DIR "/stage", 0700);
        if (r < 0)
                return th_error_errno(err, -r, "create '%s'", STATE_DIR "/stage");
        c->stage = th_strdup_printf(STATE_DIR "/stage/%s", c->name);
        if (!c->stage)
                return th_error_errno(err, ENOMEM, "the staging dir");
        if (mkdir(c->stage, 0700) < 0) {
                r = th_error_errno(err, errno, "create '%s'", c->stage);
                free(c->stage);
                c->stage = NULL;
                return r;
        }
        return 0;
}

static void undo_stage(Container *c)
{
        if (c->stage)
                (void)rmdir(c->stage);
        free(c->stage);
        c->stage = NULL;
}

static int step_sockets(Container *c, IsolateResult *ret, ThError *err)
{
        int sync[2], pidsock[2];
        (void)ret;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
                return th_error_errno(err, errno, "socketpair");
        c->fd[CFD_SYNC] = sync[0];
        c->fd[CFD_SYNC_PID1] = sync[1];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pidsock) < 0)
                return th_error_errno(err, errno, "socketpair");
        c->fd[CFD_PIDSOCK] = pidsock[0];
        c->fd[CFD_PIDSOCK_OUTER] = pidsock[1];
        return 0;
}

static void undo_sockets(Container *c)
{
        close_fds(c, CFD_SYNC, CFD_PIDSOCK_OUTER);
}

typedef struct PrepareStep {
        const char *name; /* prefixes the step's error */
        int (*run)(Container *c, IsolateResult *ret, ThError *err);
        void (*undo)(Container *c); /* also after a partial run; NULL: nothing to undo */
} PrepareStep;

/* The worker's preparation, in the order it runs; the teardown runs the
 * undos in reverse, from the last step that started.
 *  spec: rootfs is a directory with /bin/sh, systemd for boot mode, bind
 *     sources exist.
 *  outputs: the output files; direct mode: harness-init in a sealed memfd
 *     (once per process).
 *  sweep: what a SIGKILLed harness left (cgroups, staging dirs, registry
 *     entries, veth namespaces); the container's name.
 *  users: private users: lock a free 65536-id range, create a user
 *     namespace mapping 0..65535 onto it; the worker writes the maps. A tree
 *     the kernel cannot idmap runs without (warned once).
 *  cgroup: v2 for cgroup.kill and the container's /sys/fs/cgroup; v1
 *     memory/pids/cpu/devices on hybrid hosts; limits; without private users
 *     the device policy (v1 list or v2 program) on it, the processes one
 *     cgroup below (payload).
 *  registry: the entry under /run/harness/machines (the name reserved).
 *  network: veth: the network namespace and its link (net.c).
 *  delegation: boot mode with private users: the cgroup to the container's
 *     root.
 *  console: the console pty (boot mode, or an interactive terminal).
 *  mounts: detached mounts (open_tree) of the rootfs layers and the bind
 *     sources (from the caller's fd when given), nodev (binds also nosuid),
 *     idmapped to that user namespace; a size-limited tmpfs for the
 *     overlay's upper dir; the console; the output tmpfs and its files
 *     (boot mode mounts it at /run/harness; direct mode's stdout and
 *     stderr are files on it).
 *  plan: what PID 1 applies, as data: the mount plan, the capability
 *     bounding set, the system call filter (seccomp.c).
 *  environment: PID 1's.
 *  staging dir: where the outer child builds the new root.
 *  sockets: the sync socket (PID 1 -> worker) and the outer child's (its
 *     one message: PID 1's pidfd and the root).
 * Then isolate_run() clones the outer child (CLONE_NEWNS |
 * CLONE_INTO_CGROUP, still host root in the host user namespace) and
 * waits (spawn-wait.c). */
static const PrepareStep prepare_steps[] = {
        { "spec", step_spec, undo_spec },
        { "outputs", step_outputs, undo_outputs },
        { "sweep", step_sweep, NULL },
        { "users", step_users, undo_users },
        { "cgroup", step_cgroup, undo_cgroup },
        { "registry", step_registry, undo_registry },
        { "network", step_network, undo_network },
        { "delegation", step_delegate, NULL },
        { "console", step_console, undo_console },
        { "mounts", step_mounts, undo_mounts },
        { "plan", step_plan, undo_plan },
        { "environment", step_environment, undo_environment },
        { "staging dir", step_stage, undo_stage },
        { "sockets", step_sockets, undo_sockets },
};

/* prepare_steps[OUTPUTS_STEP] is "outputs". */
#define OUTPUTS_STEP 1

static const char *fail_at; /* isolate_prepare_fail_at() */

const char *isolate_prepare_step(size_t i)
{
        return i < ELEMENTSOF(prepare_steps) ? prepare_steps[i].name : NULL;
}

void isolate_prepare_fail_at(const char *step)
{
        fail_at = step;
}

static int prepare(Container *c, size_t from, IsolateResult *ret, ThError *err)
{
        for (size_t i = from; i < ELEMENTSOF(prepare_steps); i++) {
                const PrepareStep *st = &prepare_steps[i];
                /* A step that fails is undone too: it may have done part. */
                c->n_started = i + 1;
                int r = st->run(c, ret, err);
                if (r >= 0 && fail_at && strcmp(fail_at, st->name) == 0)
                        r = th_error_set(err, EIO, "failure injected after the step");
                if (r < 0)
                        return th_error_prefix(err, "%s", st->name);
        }
        return 0;
}

/* Undoes the steps begun, down to step `to`. */
static void container_undo_to(Container *c, size_t to)
{
        for (size_t i = c->n_started; i-- > to;)
                if (prepare_steps[i].undo)
                        prepare_steps[i].undo(c);
        if (c->n_started > to)
                c->n_started = to;
}

static void container_done(Container *c)
{
        container_undo_to(c, 0);
        if (c->upper_keep >= 0)
                close(TAKE_FD(c->upper_keep));
}

/* Where a reboot starts over: the container's cgroup, registry entry,
 * network, console, mounts (the kept upper dir cloned again), plan and
 * sockets are made again; its output files, name and user namespace range
 * (the upper dir's owners) stay. */
static size_t reboot_step(void)
{
        for (size_t i = 0; i < ELEMENTSOF(prepare_steps); i++)
                if (strcmp(prepare_steps[i].name, "cgroup") == 0)
                        return i;
        return 0;
}

/* PID 1 ended by the kernel's reboot of its PID namespace (reboot(2) with
 * RB_AUTOBOOT in a PID namespace: its init ends as if killed by SIGHUP),
 * and not by the timeout, a stop signal, `harness stop` or the OOM killer. */
static bool rebooted(Container *c, const Waiter *w)
{
        return c->spec->max_reboots && w->pid1 > 0 && WIFSIGNALED(w->wstatus) &&
               WTERMSIG(w->wstatus) == SIGHUP && !w->timed_out && !w->interrupted && !w->kept &&
               !isolate_registry_stopped(&c->reg) && !isolate_cgroup_oom(&c->cg);
}

/* The container rebooted once more than spec->max_reboots allows: it was
 * not started again, and its test did not end. */
static void result_from_reboot_limit(Container *c, const Waiter *w, IsolateResult *res)
{
        res->status = ISOLATE_SIGNALED;
        res->term_signal = SIGHUP;
        res->exit_status = 128 + SIGHUP;
        res->pids_limit_hit = isolate_cgroup_pids_hit(&c->cg);
        res->interrupted = w->interrupted;
}

int isolate_run(const IsolateSpec *spec, IsolateResult *ret, ThError *err)
{
        Container c = { .spec = spec,
                        .init_fd = -1,
                        .cg = { .v2_fd = -1 },
                        .userns = { .lock_fd = -1, .userns_fd = -1 },
                        .reg = { .lock_fd = -1 },
                        .worker = getpid(),
                        .upper_keep = -1 };
        Waiter w = { .pid1_fd = -1, .root_fd = -1 };
        IsolateResult res = {};
        uint64_t start = th_now_usec();
        struct timespec started;
        (void)clock_gettime(CLOCK_REALTIME, &started);
        int outer_fd = -1, r;
        size_t from = 0;

        for (size_t i = 0; i < _CFD_MAX; i++)
                c.fd[i] = -1;
        for (;;) {
                r = prepare(&c, from, &res, err);
                if (r < 0)
                        goto out;

                pid_t outer = container_clone3(CLONE_NEWNS | CLONE_PIDFD, &outer_fd, c.cg.v2_fd);
                if (outer < 0) {
                        r = th_error_errno(err, errno, "clone3");
                        goto out;
                }
                if (outer == 0)
                        container_outer_child(&c);
                container_join_outer(&c, outer);
                close(TAKE_FD(c.fd[CFD_SYNC_PID1]));
                close(TAKE_FD(c.fd[CFD_PIDSOCK_OUTER]));
                container_wait(&c, outer, outer_fd, &w, start, &res);
                /* Nothing may survive PID 1 (e.g. the outer child on an error path). */
                container_kill(&c, &w);
                if (w.failed || !rebooted(&c, &w))
                        break;
                if (res.reboots >= spec->max_reboots) {
                        res.reboot_limit_hit = true;
                        break;
                }
                /* A reboot: the same container once more, over its upper dir. */
                res.reboots++;
                th_debug("container %s rebooted (%u of at most %u)", c.name, res.reboots,
                         spec->max_reboots);
                closep(&w.root_fd);
                closep(&w.pid1_fd);
                closep(&outer_fd);
                w = (Waiter){ .pid1_fd = -1, .root_fd = -1 };
                from = reboot_step();
                container_undo_to(&c, from);
        }
        container_copy_output(&c, &res);

        if (w.failed) {
                *err = w.err;
                r = -err->code;
                goto out;
        }
        if (res.reboot_limit_hit) {
                result_from_reboot_limit(&c, &w, &res);
                r = 0;
        } else
                r = container_collect(&c, &w, &res, err);
        if (r < 0 && res.boot_failed)
                *ret = res;
        if (r < 0)
                goto out;
        container_copy_out(&c, &w, &res, &started);
        res.wall_usec = th_now_usec() - start - w.held_usec;
        *ret = res;
        r = 0;
out:
        if (spec->collected) {
                /* The output files are the caller's from here on. */
                if (c.n_started > OUTPUTS_STEP)
                        undo_outputs(&c);
                spec->collected(r, ret, err, spec->collected_userdata);
        }
        if (w.root_fd >= 0)
                close(w.root_fd);
        if (w.pid1_fd >= 0)
                close(w.pid1_fd);
        if (outer_fd >= 0)
                close(outer_fd);
        container_done(&c);
        return r;
}

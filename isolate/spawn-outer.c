/* isolate: the outer child, host root in the host user namespace with a
 * mount namespace of its own, which builds the new root and clones PID 1. */
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "container.h"

/* ---- 5-9. the outer child ------------------------------------------------ */

pid_t container_clone3(uint64_t flags, int *pidfd, int cgroup_fd)
{
        struct clone_args a = {
                .flags = flags,
                .pidfd = (uint64_t)(uintptr_t)pidfd,
                .exit_signal = SIGCHLD,
        };
        if (cgroup_fd >= 0) {
                a.flags |= CLONE_INTO_CGROUP;
                a.cgroup = (uint64_t)cgroup_fd;
        }
        return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

static int mount_overlay(Container *c, const char *stage, const char *root, ThError *err)
{
        _cleanup_free_ char *lower = NULL;
        for (size_t i = c->n_layers; i-- > 0;) {
                char *n = th_strdup_printf("%s%s%s/l%zu", lower ? lower : "", lower ? ":" : "",
                                           stage, i);
                free(lower);
                lower = n;
                if (!lower)
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        _cleanup_free_ char *upper = th_strdup_printf("%s/upper/upper", stage);
        _cleanup_free_ char *work = th_strdup_printf("%s/upper/work", stage);
        if (!upper || !work)
                return th_error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return th_error_errno(err, errno, "create the overlay over '%s'", c->spec->rootfs);
        _cleanup_close_ int m = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (m < 0 || move_mount(m, "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return th_error_errno(err, errno, "mount the overlay");
        return 0;
}

/* The worker's part of step 1, right after the clone: it moves the outer
 * child into the v1 cgroups while the child builds the root, and tells it
 * (SYNC_JOINED, or SYNC_ERROR with the error, which the child passes on
 * through the sync socket). A child already gone has its own error there. */
void container_join_outer(Container *c, pid_t outer)
{
        ThError err = {};
        int r = isolate_cgroup_join_v1(&c->cg, outer, &err);
        (void)isolate_sync_send(c->fd[CFD_PIDSOCK], r < 0 ? SYNC_ERROR : SYNC_JOINED, 0,
                                r < 0 ? &err : NULL);
}

/* The outer child's wait for that message, before anything it starts can
 * run: PID 1 and every process of the container inherit these cgroups, so
 * the memory and pids limits hold from PID 1's first instruction. */
static int wait_joined(Container *c, ThError *err)
{
        SyncMsg m = {};
        ssize_t n;
        do
                n = recv(c->fd[CFD_PIDSOCK_OUTER], &m, sizeof(m), 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof(m) || (m.kind != SYNC_JOINED && m.kind != SYNC_ERROR))
                return th_error_set(err, EPROTO,
                                    "the harness did not join the container's cgroups");
        if (m.kind == SYNC_ERROR) {
                m.err.msg[sizeof(m.err.msg) - 1] = 0;
                return th_error_set(err, m.err.code, "%s", m.err.msg);
        }
        return 0;
}

/* The outer child, in this order:
 *  1. PR_SET_PDEATHSIG (the worker must still be its parent); "/" made
 *     MS_SLAVE|MS_REC before any mount. The worker moves it into the v1
 *     cgroups meanwhile (container_join_outer).
 *  2. the staging tmpfs; the tree moved there (or, with -x, the layers and
 *     the upper tmpfs, and an overlay of them with fresh upper/work dirs)
 *     -> the new root.
 *  3. plan phase OUTER: /dev, /run, /tmp, boot-mode files, binds, and with
 *     network host /sys read-only (a fresh sysfs needs privilege over the
 *     network namespace's owner, which the container's root lacks) — each
 *     target resolved inside the new root (RESOLVE_IN_ROOT).
 *  4. the wait for the worker's join of the v1 cgroups (the cgroup
 *     namespace's root is taken from them); unshare(CLONE_NEWCGROUP), still
 *     in the host user namespace, and the container's cgroup2 made (a
 *     detached mount PID 1 attaches).
 *  5. chdir into the new root; veth: setns() into the prepared network
 *     namespace; private users: setns() into the user namespace, root in it.
 *  6. clone3(CLONE_PARENT and new mount, PID, UTS, IPC and, unless the
 *     network is the host's or veth's, network namespaces): PID 1. Its mount
 *     namespace is a less privileged copy, so the kernel locks the outer
 *     mounts (a read-only bind cannot be made writable). The outer child
 *     passes PID 1's pidfd (CLONE_PIDFD) and an O_PATH fd of the root to the
 *     worker (artifacts are read through it later) on a socket of its own,
 *     which PID 1 closes before anything else runs, and exits. The worker
 *     takes the leader only from that pidfd, once, and checks that it is its
 *     own child: nothing the container can send names a process. */
static int outer_setup(Container *c, const char *root, int *ret_root_fd, ThError *err)
{
        const char *stage = c->stage;
        int r;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->worker)
                return th_error_set(err, ESRCH, "the harness went away during setup");
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return th_error_errno(err, errno, "make / a slave mount");
        if (mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k") < 0)
                return th_error_errno(err, errno, "mount the staging tmpfs on '%s'", stage);
        char p[4096];
        if (th_snprintf(p, sizeof(p), "%s/root", stage) < 0 || mkdir(p, 0755) < 0)
                return th_error_errno(err, errno, "mkdir '%s'", p);
        if (!c->spec->ephemeral) {
                if (move_mount(c->layer_fds[0], "", AT_FDCWD, root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return th_error_errno(err, errno, "mount '%s'", c->spec->rootfs);
        } else {
                for (size_t i = 0; i < c->n_layers; i++) {
                        th_snprintf(p, sizeof(p), "%s/l%zu", stage, i);
                        if (mkdir(p, 0755) < 0 || move_mount(c->layer_fds[i], "", AT_FDCWD, p,
                                                             MOVE_MOUNT_F_EMPTY_PATH) < 0)
                                return th_error_errno(err, errno, "mount layer '%s'", p);
                }
                th_snprintf(p, sizeof(p), "%s/upper", stage);
                if (mkdir(p, 0755) < 0 ||
                    move_mount(c->fd[CFD_UPPER], "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return th_error_errno(err, errno, "mount the upper tmpfs");
                r = mount_overlay(c, stage, root, err);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return th_error_errno(err, errno, "open the new root");
        r = isolate_plan_apply(&c->plan, MOUNT_PHASE_OUTER, root_fd, c->fds, c->n_fds, err);
        if (r < 0)
                return r;
        /* The cgroup namespace is created here, before entering the user
         * namespace, so it is owned by the host's: the kernel then refuses
         * cgroup v1 mounts to the container's root (cgroup1_get_tree checks
         * CAP_SYS_ADMIN over the cgroup namespace's owner). Its cgroup2 is
         * mounted now and attached by PID 1. Its root in each hierarchy is
         * this process's cgroup there: the v1 join comes first. */
        r = wait_joined(c, err);
        if (r < 0)
                return r;
        if (unshare(CLONE_NEWCGROUP) < 0)
                return th_error_errno(err, errno, "create the cgroup namespace");
        _cleanup_close_ int cgfs = fsopen("cgroup2", FSOPEN_CLOEXEC);
        if (cgfs < 0 || fsconfig(cgfs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return th_error_errno(err, errno, "mount the container's cgroup2");
        c->fds[PLAN_FD_CGROUP] = fsmount(cgfs, FSMOUNT_CLOEXEC,
                                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (c->fds[PLAN_FD_CGROUP] < 0)
                return th_error_errno(err, errno, "mount the container's cgroup2");
        if (fchdir(root_fd) < 0)
                return th_error_errno(err, errno, "enter the new root");
        /* veth: the prepared network namespace, joined while still host root. */
        if (c->net && setns(isolate_net_netns_fd(c->net), CLONE_NEWNET) < 0)
                return th_error_errno(err, errno, "enter the network namespace");
        if (c->private_users) {
                if (setns(c->userns.userns_fd, CLONE_NEWUSER) < 0)
                        return th_error_errno(err, errno, "enter the user namespace");
                if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        return th_error_errno(err, errno, "become root in the user namespace");
        }
        *ret_root_fd = TAKE_FD(root_fd);
        return 0;
}

_Noreturn void container_outer_child(Container *c)
{
        ThError err = {};
        char root[4096];
        int root_fd = -1;
        close(c->fd[CFD_SYNC]);
        close(c->fd[CFD_PIDSOCK]);
        if (th_snprintf(root, sizeof(root), "%s/root", c->stage) < 0)
                _exit(127);
        if (outer_setup(c, root, &root_fd, &err) < 0)
                isolate_sync_fail(c->fd[CFD_SYNC_PID1], &err);

        uint64_t flags = CLONE_PARENT | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (c->spec->network != ISOLATE_NETWORK_HOST && !c->net)
                flags |= CLONE_NEWNET;
        int pidfd = -1;
        struct clone_args a = { .flags = flags | CLONE_PIDFD,
                                .pidfd = (uint64_t)(uintptr_t)&pidfd };
        pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        if (pid < 0) {
                th_error_errno(&err, errno, "create the container's namespaces");
                isolate_sync_fail(c->fd[CFD_SYNC_PID1], &err);
        }
        if (pid == 0)
                container_inner_child(c);
        const int pass[] = { pidfd, root_fd };
        (void)isolate_sync_send_fds(c->fd[CFD_PIDSOCK_OUTER], SYNC_PID, 0, pass, ELEMENTSOF(pass));
        _exit(0);
}

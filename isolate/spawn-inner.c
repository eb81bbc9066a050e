/* isolate: the container's PID 1, from its clone to the exec of its init. */
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "container.h"

/* ---- 10-15. PID 1 ------------------------------------------------------- */

static int loopback_up(void)
{
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};
        if (s < 0)
                return -errno;
        strncpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name) - 1);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* PID 1, in this order:
 *  1. close the outer child's socket; default signal handling;
 *     PR_SET_PDEATHSIG; hostname; lo up (network none).
 *  2. the new root bound onto itself (it is locked); plan phase INNER:
 *     /proc, /sys read-only (own network namespace only), the own cgroup2 at
 *     /sys/fs/cgroup, devpts.
 *  3. pivot_root into the new root; detach the old root.
 *  4. plan phase FINAL: masks and read-only remounts of /proc parts; a mask
 *     that fails is fatal.
 *  5. capabilities: bounding set, then the process sets (libcap).
 *  6. every fd >= 3 close-on-exec; the system call filter (built by the
 *     worker).
 *  7. the console on fds 0-2 (or /dev/null and a new session); READY to the
 *     worker.
 *  8. exec the rootfs's systemd (boot) or harness-init from the sealed memfd
 *     (direct; the stub init of init.c, as a fork when the kernel refuses). */
static int inner_setup(Container *c, ThError *err)
{
        const IsolateSpec *s = c->spec;
        int r;
        /* Our parent is outside our PID namespace (getppid() is 0); if the
         * worker died before this, the READY message below fails. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return th_error_errno(err, errno, "PR_SET_PDEATHSIG");
        const char *host = s->machine ? s->machine : "container";
        if (sethostname(host, strlen(host)) < 0)
                return th_error_errno(err, errno, "set hostname '%s'", host);
        if (s->network == ISOLATE_NETWORK_NONE && (r = loopback_up()) < 0)
                return th_error_errno(err, -r, "bring up lo");

        /* The outer child left us in the new root: clone() moved the cwd
         * into our copy of the mount namespace (no path walk through the
         * host's staging dir, which our root may not traverse). */
        /* The new root came from a more privileged mount namespace, so it is
         * locked and pivot_root() refuses it (EINVAL): bind it recursively
         * onto itself and pivot into that copy, which is ours. */
        _cleanup_close_ int root_fd =
                open_tree(AT_FDCWD, ".", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (root_fd < 0 || move_mount(root_fd, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return th_error_errno(err, errno, "bind the new root onto itself");
        r = isolate_plan_apply(&c->plan, MOUNT_PHASE_INNER, root_fd, c->fds, c->n_fds, err);
        if (r < 0)
                return r;

        if (fchdir(root_fd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
                return th_error_errno(err, errno, "pivot_root");
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                return th_error_errno(err, errno, "detach the old root");

        r = isolate_plan_apply(&c->plan, MOUNT_PHASE_FINAL, -1, c->fds, c->n_fds, err);
        if (r < 0)
                return r;
        r = isolate_caps_apply(c->caps, err);
        if (r < 0)
                return r;
        /* Every fd the harness had becomes close-on-exec; the ones the
         * command needs are dup2()ed onto 0..2 just before exec. */
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return th_error_errno(err, errno, "close_range");
        return isolate_seccomp_load(c->seccomp, err);
}

/* The container starts with default signal handling, whatever the caller
 * blocked or ignored (dispositions SIG_IGN and the mask survive exec). */
static void reset_signals(void)
{
        sigset_t none;
        sigemptyset(&none);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)signal(sig, SIG_DFL);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- the stub init program (init-main.c, embedded by init-blob.S) -------- */

extern const unsigned char isolate_init_blob[], isolate_init_blob_end[];

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* harness-init in a sealed memfd, made once per process and kept open
 * (close-on-exec) for every container it starts. -1 when the kernel refuses
 * one (vm.memfd_noexec=2): PID 1 then runs the stub init as a fork of the
 * harness, which is not dumpable but shows the harness binary as
 * /proc/1/exe (docs/security.md). */
int container_init_fd(void)
{
        static int fd = -2;
        if (fd != -2)
                return fd;
        fd = -1;
        _cleanup_close_ int m =
                memfd_create("harness-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (m < 0 && errno == EINVAL) /* before Linux 6.3 */
                m = memfd_create("harness-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
        if (m < 0 ||
            th_write_all(m, isolate_init_blob,
                         (size_t)(isolate_init_blob_end - isolate_init_blob)) < 0 ||
            fchmod(m, 0555) < 0 ||
            (fcntl(m, F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 && fcntl(m, F_ADD_SEALS, seals) < 0)) {
                th_log(TH_LOG_WARNING, "cannot make a sealed memfd of harness-init (%m): the "
                                       "direct-mode init runs as a fork of the harness");
                return -1;
        }
        fd = TAKE_FD(m);
        return fd;
}

void isolate_preload(void)
{
        const struct sock_fprog *prog;
        (void)container_init_fd();
        (void)isolate_seccomp_program(&prog, NULL);
}

/* PID 1 of direct mode becomes harness-init from the sealed memfd; returns
 * only when the kernel refused the exec. */
static void exec_init(Container *c, const InitParams *p)
{
        char **argv = isolate_init_argv(p);
        if (!argv)
                return;
        const int keep[] = { p->sync_fd, p->stdout_fd, p->stderr_fd };
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                if (keep[i] >= 0)
                        (void)fcntl(keep[i], F_SETFD, 0);
        (void)execveat(c->init_fd, "", argv, p->env, AT_EMPTY_PATH);
        free(argv);
}

_Noreturn void container_inner_child(Container *c)
{
        ThError err = {};
        /* The outer child's channel to the worker is never the container's. */
        close(c->fd[CFD_PIDSOCK_OUTER]);
        reset_signals();
        const IsolateSpec *s = c->spec;
        if (inner_setup(c, &err) < 0)
                isolate_sync_fail(c->fd[CFD_SYNC_PID1], &err);

        bool console = c->fd[CFD_CONSOLE_SLAVE] >= 0;
        if (console &&
            (dup2(c->fd[CFD_CONSOLE_SLAVE], 0) < 0 || dup2(c->fd[CFD_CONSOLE_SLAVE], 1) < 0 ||
             dup2(c->fd[CFD_CONSOLE_SLAVE], 2) < 0)) {
                th_error_errno(&err, errno, "attach the console");
                isolate_sync_fail(c->fd[CFD_SYNC_PID1], &err);
        }
        if (s->boot) {
                /* The test unit is the default target: one that fails to load
                 * sends systemd to emergency.target, which ends the boot. */
                char *argv[] = { (char *)c->systemd, s->argv ? "--unit=harness-test.service" : NULL,
                                 NULL };
                (void)setsid();
                (void)ioctl(0, TIOCSCTTY, 0);
                if (isolate_sync_send(c->fd[CFD_SYNC_PID1], SYNC_READY, 0, NULL) < 0)
                        _exit(127);
                execve(c->systemd, argv, c->env);
                th_error_errno(&err, errno, "execute '%s' in the container", c->systemd);
                isolate_sync_fail(c->fd[CFD_SYNC_PID1], &err);
        }
        if (!console && !s->interactive) {
                /* Nothing of the harness's terminal or session stays with
                 * PID 1 (no TIOCSTI through an inherited fd). */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
                        th_error_errno(&err, errno, "redirect PID 1's stdio");
                        isolate_sync_fail(c->fd[CFD_SYNC_PID1], &err);
                }
                close(null);
                (void)setsid();
        }
        InitParams p = {
                .argv = s->argv,
                .setup_argv = s->setup_argv,
                .env = c->env,
                .user = s->user,
                .workdir = s->workdir,
                .interactive = s->interactive,
                .hold = s->hold != NULL,
                .stdout_fd = c->fd[CFD_STDOUT],
                .stderr_fd = c->fd[CFD_STDERR],
                .sync_fd = c->fd[CFD_SYNC_PID1],
        };
        if (isolate_sync_send(c->fd[CFD_SYNC_PID1], SYNC_READY, 0, NULL) < 0)
                _exit(127);
        if (c->init_fd >= 0)
                exec_init(c, &p);
        isolate_stub_init(&p);
}

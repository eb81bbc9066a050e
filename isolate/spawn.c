/* isolate: isolate_run(), the container's lifecycle: preparing what the
 * container needs on the host, the two setup processes, waiting with a
 * timeout, and a teardown that leaves nothing behind.
 *
 * Setup order (each step only after the one before succeeded):
 *  1. worker: check the spec (rootfs is a directory with /bin/sh, systemd
 *     for boot mode, bind sources exist); open the output files; direct
 *     mode: harness-init in a sealed memfd (once per process).
 *  2. worker: private users: lock a free 65536-id range, create a user
 *     namespace mapping 0..65535 onto it; the worker writes the maps. A
 *     tree the kernel cannot idmap runs without (warned once).
 *  3. worker: the container's cgroup (v2 for cgroup.kill and the container's
 *     /sys/fs/cgroup; v1 memory/pids/cpu/devices on hybrid hosts), limits;
 *     without private users the device policy (v1 list or v2 program) on
 *     it, the processes one cgroup below (payload).
 *  4. worker: detached mounts (open_tree) of the rootfs layers and the bind
 *     sources (from the caller's fd when given), nodev (binds also
 *     nosuid), idmapped to that user namespace; a size-limited tmpfs
 *     for the overlay's upper dir; the console pty.
 *  5. clone3(CLONE_NEWNS | CLONE_INTO_CGROUP): the outer child, still host
 *     root in the host user namespace.
 *  6. outer: PR_SET_PDEATHSIG; join the v1 cgroups; "/" made MS_SLAVE|MS_REC
 *     before any mount.
 *  7. outer: overlay of the layers with fresh upper/work dirs -> new root.
 *  8. outer: plan phase OUTER: /dev, /run, /tmp, boot-mode files, binds,
 *     and with network host /sys read-only (a fresh sysfs needs privilege
 *     over the network namespace's owner, which the container's root
 *     lacks) — each target resolved inside the new root (RESOLVE_IN_ROOT).
 *  9. outer: setns() into the user namespace, then clone3(CLONE_PARENT and
 *     new mount, PID, UTS, IPC, network and cgroup namespaces): PID 1. Its
 *     mount namespace is a less privileged copy, so the kernel locks the
 *     outer mounts (a read-only bind cannot be made writable). The outer
 *     child passes PID 1's pidfd (CLONE_PIDFD) and an O_PATH fd of the root
 *     to the worker (artifacts are read through it later) on a socket of
 *     its own, which PID 1 closes before anything else runs, and exits. The
 *     worker takes the leader only from that pidfd, once, and checks that it
 *     is its own child: nothing the container can send names a process.
 * 10. PID 1: PR_SET_PDEATHSIG; hostname; lo up; plan phase INNER: /proc,
 *     /sys read-only (own network namespace only), the own cgroup2 at
 *     /sys/fs/cgroup, devpts.
 * 11. pivot_root into the new root; detach the old root.
 * 12. plan phase FINAL: masks and read-only remounts of /proc parts; a mask
 *     that fails is fatal.
 * 13. capabilities: bounding set, then the process sets (libcap).
 * 14. every fd >= 3 close-on-exec; the system call filter (seccomp.c, built
 *     by the worker); READY to the worker.
 * 15. exec the rootfs's systemd (boot) or harness-init from the sealed memfd
 *     (direct; the stub init of init.c, as a fork when the kernel refuses).
 * worker: poll the PID 1 pidfd, the sync socket, the console and the
 * deadline; a timeout kills the whole cgroup. Teardown: kill the cgroup, wait
 * until it is empty, copy artifacts, remove the cgroup, release the id range.
 * Mounts die with the mount namespaces. */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "isolate-internal.h"
#include "isolate-copy.h"

#define STATE_DIR "/run/harness"

static const char *const systemd_paths[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd" };

/* Everything one container needs; owned by the worker. */
typedef struct Container {
        const IsolateSpec *spec;
        bool private_users;
        uid_t base;
        Cgroup cg;
        Userns userns;
        MountPlan plan;
        int *fds; /* the plan's fd table */
        size_t n_fds;
        int *layer_fds;
        size_t n_layers;
        int upper_fd; /* the tmpfs holding upper/ and work/, or -1 */
        int init_fd;  /* harness-init's sealed memfd (not owned), or -1 */
        int console_master, console_slave;
        int out_fd, err_fd, console_fd, journal_fd, result_fd, setup_result_fd;
        int sync[2];         /* PID 1 -> worker: READY, errors before it, status claims */
        int pidsock[2];      /* outer child -> worker: PID 1's pidfd and the root, once */
        const char *systemd; /* path inside the rootfs */
        char *stage;         /* per-container staging dir (host path, own mount ns only) */
        char **env;
        uint64_t caps;
        const struct sock_fprog *seccomp; /* the filter PID 1 loads last */
        pid_t worker;
        IsolateNet *net;  /* veth: the namespace made by net.c, joined by the outer child */
        Registration reg; /* the entry under /run/harness/machines */
} Container;

static int open_in_root(int root_fd, const char *path, int flags)
{
        struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        while (*path == '/')
                path++;
        int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* ---- 1. checks ----------------------------------------------------------- */

static int check_spec(Container *c, bool *bind_is_file, ThError *err)
{
        const IsolateSpec *s = c->spec;
        if (!s->rootfs)
                return th_error_set(err, EINVAL, "no rootfs given");
        _cleanup_close_ int root = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0 && errno == ENOTDIR)
                return th_error_set(err, ENOTDIR, "rootfs '%s' is not a directory", s->rootfs);
        if (root < 0)
                return th_error_errno(err, errno, "rootfs '%s'", s->rootfs);
        _cleanup_close_ int sh = open_in_root(root, "/bin/sh", O_PATH);
        if (sh < 0)
                return th_error_set(err, ENOENT, "rootfs '%s' has no /bin/sh", s->rootfs);
        if (s->boot) {
                for (size_t i = 0; i < ELEMENTSOF(systemd_paths) && !c->systemd; i++) {
                        _cleanup_close_ int fd = open_in_root(root, systemd_paths[i], O_PATH);
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

static int open_output(const char *dir, const char *name, char *ret_path, size_t size, int *ret_fd,
                       ThError *err)
{
        int r = th_snprintf(ret_path, size, "%s/%s", dir, name);
        if (r < 0)
                return th_error_errno(err, -r, "output path in '%s'", dir);
        /* Read-write: the result files are read back after the run. */
        int fd = open(ret_path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return th_error_errno(err, errno, "open '%s'", ret_path);
        *ret_fd = fd;
        return 0;
}

static int open_outputs(Container *c, IsolateResult *ret, ThError *err)
{
        const IsolateSpec *s = c->spec;
        char scratch[4096];
        int r = 0;
        if (!s->output_dir)
                return 0;
        r = open_output(s->output_dir, "stdout", ret->stdout_path, sizeof(ret->stdout_path),
                        &c->out_fd, err);
        if (r >= 0)
                r = open_output(s->output_dir, "stderr", ret->stderr_path, sizeof(ret->stderr_path),
                                &c->err_fd, err);
        if (r < 0 || !s->boot)
                return r;
        r = open_output(s->output_dir, "journal", ret->journal_path, sizeof(ret->journal_path),
                        &c->journal_fd, err);
        if (r >= 0)
                r = open_output(s->output_dir, "console", ret->console_path,
                                sizeof(ret->console_path), &c->console_fd, err);
        if (r >= 0)
                r = open_output(s->output_dir, "result", scratch, sizeof(scratch), &c->result_fd,
                                err);
        if (r >= 0)
                r = open_output(s->output_dir, "setup-result", scratch, sizeof(scratch),
                                &c->setup_result_fd, err);
        return r;
}

/* ---- 4. detached mounts and the console ---------------------------------- */

static int open_console(Container *c, ThError *err)
{
        c->console_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (c->console_master < 0 || grantpt(c->console_master) < 0 ||
            unlockpt(c->console_master) < 0)
                return th_error_errno(err, errno, "allocate the console pty");
        char name[128];
        if (ptsname_r(c->console_master, name, sizeof(name)) != 0)
                return th_error_errno(err, errno, "allocate the console pty");
        c->console_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->console_slave < 0)
                return th_error_errno(err, errno, "open '%s'", name);
        /* Owned by the container's root and its tty group (gid 5). */
        (void)fchown(c->console_slave, c->base, c->base + 5);
        if (c->spec->interactive && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                        (void)ioctl(c->console_master, TIOCSWINSZ, &ws);
        }
        return 0;
}

static int make_upper(Container *c, ThError *err)
{
        char size[32];
        uint64_t bytes = c->spec->upper_size ? c->spec->upper_size : ISOLATE_UPPER_SIZE_DEFAULT;
        th_snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
        _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return th_error_errno(err, errno, "create the tmpfs for the upper dir");
        c->upper_fd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (c->upper_fd < 0)
                return th_error_errno(err, errno, "create the tmpfs for the upper dir");
        struct stat st;
        if (stat(c->spec->rootfs, &st) < 0)
                return th_error_errno(err, errno, "stat '%s'", c->spec->rootfs);
        /* The overlay's root takes the upper dir's owner and mode. */
        if (mkdirat(c->upper_fd, "upper", st.st_mode & 07777) < 0 ||
            mkdirat(c->upper_fd, "work", 0700) < 0 ||
            fchownat(c->upper_fd, "upper", c->base + st.st_uid, c->base + st.st_gid, 0) < 0 ||
            fchmodat(c->upper_fd, "upper", st.st_mode & 07777, 0) < 0)
                return th_error_errno(err, errno, "prepare the upper dir");
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
                return -ENOMEM;
        for (size_t i = 0; i < c->n_layers; i++)
                c->layer_fds[i] = -1;
        /* nodev on every layer and bind: a device node in the tree or in a
         * fixture directory (owned by host root, so by container root once
         * idmapped) must not open a host device. The container's devices
         * are the ones bound into its own /dev. */
        for (size_t i = 0; i < c->n_layers; i++) {
                const char *path = i == 0 ? s->rootfs : s->layers[i - 1];
                r = isolate_detached_bind(AT_FDCWD, path, userns,
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
                return -ENOMEM;
        for (size_t i = 0; i < c->n_fds; i++)
                c->fds[i] = -1;
        if (c->console_slave >= 0) {
                r = isolate_detached_bind(c->console_slave, "", -1, 0, &c->fds[PLAN_FD_CONSOLE],
                                          err);
                if (r < 0)
                        return r;
        }
        if (s->boot && s->output_dir) {
                const int files[] = { c->out_fd, c->err_fd, c->journal_fd, c->result_fd,
                                      c->setup_result_fd };
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        /* The container's root writes these through systemd. */
                        (void)fchown(files[i], c->base, c->base);
                        r = isolate_detached_bind(files[i], "", -1, MOUNT_ATTR_NOEXEC,
                                                  &c->fds[PLAN_FD_STDOUT + i], err);
                        if (r < 0)
                                return r;
                }
        }
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

static int inner_setup(Container *c, const char *root, ThError *err)
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
        (void)root;
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
static int isolate_init_fd(void)
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
        (void)isolate_init_fd();
        (void)isolate_seccomp_program(&prog, NULL);
}

/* PID 1 of direct mode becomes harness-init from the sealed memfd; returns
 * only when the kernel refused the exec. */
static void exec_init(Container *c, const InitParams *p)
{
        char sync[16], out[16], err[16], nsetup[16];
        size_t n_setup = th_strv_length(p->setup_argv), n_argv = th_strv_length(p->argv), n = 0;
        char **argv = calloc(n_setup + n_argv + 20, sizeof(char *));
        if (!argv)
                return;
        th_snprintf(sync, sizeof(sync), "%d", p->sync_fd);
        th_snprintf(out, sizeof(out), "%d", p->stdout_fd);
        th_snprintf(err, sizeof(err), "%d", p->stderr_fd);
        th_snprintf(nsetup, sizeof(nsetup), "%zu", n_setup);
        argv[n++] = "harness-init";
        argv[n++] = "--sync";
        argv[n++] = sync;
        if (p->stdout_fd >= 0) {
                argv[n++] = "--stdout";
                argv[n++] = out;
        }
        if (p->stderr_fd >= 0) {
                argv[n++] = "--stderr";
                argv[n++] = err;
        }
        if (p->interactive)
                argv[n++] = "--interactive";
        if (p->hold)
                argv[n++] = "--hold";
        if (p->user) {
                argv[n++] = "--user";
                argv[n++] = (char *)p->user;
        }
        if (p->workdir) {
                argv[n++] = "--chdir";
                argv[n++] = (char *)p->workdir;
        }
        if (n_setup) {
                argv[n++] = "--setup";
                argv[n++] = nsetup;
                for (size_t i = 0; i < n_setup; i++)
                        argv[n++] = p->setup_argv[i];
        }
        argv[n++] = "--";
        for (size_t i = 0; i < n_argv; i++)
                argv[n++] = p->argv[i];
        const int keep[] = { p->sync_fd, p->stdout_fd, p->stderr_fd };
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                if (keep[i] >= 0)
                        (void)fcntl(keep[i], F_SETFD, 0);
        (void)execveat(c->init_fd, "", argv, p->env, AT_EMPTY_PATH);
        free(argv);
}

static _Noreturn void inner_child(Container *c, const char *root)
{
        ThError err = {};
        /* The outer child's channel to the worker is never the container's. */
        close(c->pidsock[1]);
        reset_signals();
        const IsolateSpec *s = c->spec;
        if (inner_setup(c, root, &err) < 0)
                isolate_sync_fail(c->sync[1], &err);

        bool console = c->console_slave >= 0;
        if (console && (dup2(c->console_slave, 0) < 0 || dup2(c->console_slave, 1) < 0 ||
                        dup2(c->console_slave, 2) < 0)) {
                th_error_errno(&err, errno, "attach the console");
                isolate_sync_fail(c->sync[1], &err);
        }
        if (s->boot) {
                /* The test unit is the default target: one that fails to load
                 * sends systemd to emergency.target, which ends the boot. */
                char *argv[] = { (char *)c->systemd, s->argv ? "--unit=harness-test.service" : NULL,
                                 NULL };
                (void)setsid();
                (void)ioctl(0, TIOCSCTTY, 0);
                if (isolate_sync_send(c->sync[1], SYNC_READY, 0, NULL) < 0)
                        _exit(127);
                execve(c->systemd, argv, c->env);
                th_error_errno(&err, errno, "execute '%s' in the container", c->systemd);
                isolate_sync_fail(c->sync[1], &err);
        }
        if (!console && !s->interactive) {
                /* Nothing of the harness's terminal or session stays with
                 * PID 1 (no TIOCSTI through an inherited fd). */
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
                        th_error_errno(&err, errno, "redirect PID 1's stdio");
                        isolate_sync_fail(c->sync[1], &err);
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
                .stdout_fd = c->out_fd,
                .stderr_fd = c->err_fd,
                .sync_fd = c->sync[1],
        };
        if (isolate_sync_send(c->sync[1], SYNC_READY, 0, NULL) < 0)
                _exit(127);
        if (c->init_fd >= 0)
                exec_init(c, &p);
        isolate_stub_init(&p);
}

/* ---- 5-9. the outer child ------------------------------------------------ */

static pid_t clone3_simple(uint64_t flags, int *pidfd, int cgroup_fd)
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
                        return -ENOMEM;
        }
        _cleanup_free_ char *upper = th_strdup_printf("%s/upper/upper", stage);
        _cleanup_free_ char *work = th_strdup_printf("%s/upper/work", stage);
        if (!upper || !work)
                return -ENOMEM;
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

static int outer_setup(Container *c, const char *root, int *ret_root_fd, ThError *err)
{
        const char *stage = c->stage;
        int r;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != c->worker)
                return th_error_set(err, ESRCH, "the harness went away during setup");
        r = isolate_cgroup_join_v1(&c->cg, err);
        if (r < 0)
                return r;
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
                    move_mount(c->upper_fd, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
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
         * mounted now and attached by PID 1. */
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

static _Noreturn void outer_child(Container *c)
{
        ThError err = {};
        char root[4096];
        int root_fd = -1;
        close(c->sync[0]);
        close(c->pidsock[0]);
        if (th_snprintf(root, sizeof(root), "%s/root", c->stage) < 0)
                _exit(127);
        if (outer_setup(c, root, &root_fd, &err) < 0)
                isolate_sync_fail(c->sync[1], &err);

        uint64_t flags = CLONE_PARENT | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (c->spec->network != ISOLATE_NETWORK_HOST && !c->net)
                flags |= CLONE_NEWNET;
        int pidfd = -1;
        struct clone_args a = { .flags = flags | CLONE_PIDFD,
                                .pidfd = (uint64_t)(uintptr_t)&pidfd };
        pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        if (pid < 0) {
                th_error_errno(&err, errno, "create the container's namespaces");
                isolate_sync_fail(c->sync[1], &err);
        }
        if (pid == 0)
                inner_child(c, root);
        const int pass[] = { pidfd, root_fd };
        (void)isolate_sync_send_fds(c->pidsock[1], SYNC_PID, 0, pass, ELEMENTSOF(pass));
        _exit(0);
}

/* ---- the worker's wait loop ---------------------------------------------- */

typedef struct Waiter {
        int pid1_fd;
        pid_t pid1;
        int root_fd;
        bool ready, sync_eof, timed_out, failed, setup_failed;
        bool kept;       /* the command ended and the container was kept */
        int interrupted; /* the stop signal that arrived, or 0 */
        int setup_status;
        int wstatus;
        int kept_wstatus;   /* the kept command's, as a wait status */
        uint64_t held_usec; /* in spec->hold: not the container's time */
        ThError err;
} Waiter;

/* The pid a pidfd refers to, from its fdinfo; 0 once the process is gone. */
static pid_t pidfd_pid(int pidfd)
{
        char p[64], line[256];
        th_snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", pidfd);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "Pid:", 4) == 0)
                        return (pid_t)strtol(line + 4, NULL, 10);
        return -1;
}

static void wait_fail(Waiter *w, int code, const char *what)
{
        if (w->failed)
                return;
        w->failed = true;
        th_error_set(&w->err, code, "container setup: %s", what);
}

/* The outer child's one message: PID 1's pidfd and the root. Accepted once;
 * the leader is what that pidfd refers to, and it must be our own child
 * (CLONE_PARENT) other than the outer child. */
static void recv_pid(Container *c, Waiter *w, pid_t outer)
{
        SyncMsg m = {};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 2)];
        } cb;
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = cb.buf,
                              .msg_controllen = sizeof(cb.buf) };
        ssize_t n = recvmsg(c->pidsock[0], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        /* One message at most, whatever it was. */
        close(TAKE_FD(c->pidsock[0]));
        int fds[2] = { -1, -1 };
        size_t n_fds = 0;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
                if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
                        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int got[8];
                        memcpy(got, CMSG_DATA(h), (k > 8 ? 8 : k) * sizeof(int));
                        for (size_t i = 0; i < k && i < 8; i++) {
                                if (n_fds < 2)
                                        fds[n_fds] = got[i];
                                else
                                        close(got[i]);
                                n_fds++;
                        }
                }
        _cleanup_close_ int pidfd = fds[0], root = fds[1];
        if (n <= 0)
                return; /* the outer child failed; its error is on the sync socket */
        if (n != (ssize_t)sizeof(m) || m.kind != SYNC_PID || n_fds != 2 ||
            (msg.msg_flags & MSG_CTRUNC)) {
                wait_fail(w, EPROTO, "malformed message from the setup process");
                return;
        }
        pid_t pid = pidfd_pid(pidfd);
        siginfo_t si = {};
        struct stat st;
        if (pid <= 0 || pid == outer ||
            waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            fstat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
                wait_fail(w, EPROTO, "the container's PID 1 is not the harness's child");
                return;
        }
        w->pid1 = pid;
        w->pid1_fd = TAKE_FD(pidfd);
        w->root_fd = TAKE_FD(root);
        isolate_registry_started(&c->reg, c->spec, w->pid1, c->cg.v2_path,
                                 isolate_net_address(c->net), c->env);
}

/* Messages from PID 1, which container root can forge once anything of the
 * container runs (after READY): then only the command's status claims count,
 * which the test controls anyway. */
static void recv_msg(Container *c, Waiter *w, pid_t outer)
{
        SyncMsg m = {};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } cb;
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = cb.buf,
                              .msg_controllen = sizeof(cb.buf) };
        ssize_t n = recvmsg(c->sync[0], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                w->sync_eof = true;
                return;
        }
        /* No fd is ever expected here. */
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
                if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
                        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k && i < 4; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
                                close(fd);
                        }
                }
        if (n != (ssize_t)sizeof(m))
                return;
        switch (m.kind) {
        case SYNC_READY:
                /* The leader is known before anything of the container runs:
                 * the outer child sent it right after the clone. */
                if (!w->ready && c->pidsock[0] >= 0) {
                        struct pollfd q = { .fd = c->pidsock[0], .events = POLLIN };
                        if (poll(&q, 1, 10000) > 0)
                                recv_pid(c, w, outer);
                }
                if (w->pid1_fd < 0)
                        wait_fail(w, EPROTO, "PID 1 is ready, but its pid never came");
                w->ready = true;
                break;
        case SYNC_ERROR:
                if (w->ready) {
                        th_debug("ignoring an error message from the running container");
                        break;
                }
                if (!w->failed) {
                        w->failed = true;
                        w->err = m.err;
                        w->err.msg[sizeof(w->err.msg) - 1] = 0;
                        if (w->err.code <= 0 || w->err.code > 4095)
                                w->err.code = EIO;
                }
                break;
        case SYNC_SETUP_FAILED:
                if (!w->ready)
                        break;
                w->setup_failed = true;
                w->setup_status = m.value & 0xff;
                break;
        case SYNC_KEPT:
                if (!w->ready)
                        break;
                w->kept = true;
                w->kept_wstatus = W_EXITCODE(m.value & 0xff, 0);
                break;
        default:
                break;
        }
}

static void pump(int from, int to1, int to2)
{
        char buf[16384];
        for (int i = 0; i < 64; i++) {
                ssize_t n = read(from, buf, sizeof(buf));
                if (n <= 0)
                        return;
                if (to1 >= 0)
                        (void)th_write_all(to1, buf, (size_t)n);
                if (to2 >= 0)
                        (void)th_write_all(to2, buf, (size_t)n);
        }
}

static void kill_container(Container *c, Waiter *w)
{
        if (c->cg.v2_path) {
                char p[4096];
                th_snprintf(p, sizeof(p), "%s/cgroup.kill", c->cg.v2_path);
                _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
                if (fd >= 0 && write(fd, "1", 1) == 1)
                        return;
        }
        if (w->pid1_fd >= 0)
                (void)pidfd_send_signal(w->pid1_fd, SIGKILL, NULL, 0);
}

/* SIGINT, SIGTERM and SIGHUP, if the caller blocked them: their arrival
 * stops the container (killed, torn down, reported as interrupted) instead
 * of killing the caller with the container's cgroup left behind. */
static int stop_signal_fd(void)
{
        sigset_t blocked, stop;
        if (sigprocmask(SIG_BLOCK, NULL, &blocked) < 0)
                return -1;
        sigemptyset(&stop);
        const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                if (sigismember(&blocked, sigs[i]))
                        sigaddset(&stop, sigs[i]);
        if (sigisemptyset(&stop))
                return -1;
        return signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Ctrl-] three times in a row on an interactive console kills the
 * container, as with systemd-nspawn. */
static bool escape_pressed(const char *buf, size_t n, unsigned *count)
{
        for (size_t i = 0; i < n; i++) {
                *count = buf[i] == 0x1d ? *count + 1 : 0;
                if (*count >= 3)
                        return true;
        }
        return false;
}

/* ---- kept containers (IsolateSpec.hold) ------------------------------- */

/* Boot mode: the test unit's ExecStopPost writes the result file last, and
 * the unit has no SuccessAction=/FailureAction= to end the system; a watch
 * on the file tells when it ended. Direct mode needs none: the stub init
 * sends SYNC_KEPT. */
static int watch_result(const Container *c)
{
        const IsolateSpec *s = c->spec;
        char p[4096];
        if (!s->hold || !s->boot || !s->argv || !s->output_dir ||
            th_snprintf(p, sizeof(p), "%s/result", s->output_dir) < 0)
                return -1;
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd >= 0 && inotify_add_watch(fd, p, IN_CLOSE_WRITE) < 0) {
                th_debug("inotify on '%s': %m; the container is not held after its command", p);
                closep(&fd);
        }
        return fd;
}

static int parse_result_file(int fd, bool *ret_signaled, int *ret_value);

static void result_written(Container *c, Waiter *w, int wfd)
{
        char buf[4096];
        bool sig = false;
        int v = 0;
        while (read(wfd, buf, sizeof(buf)) > 0)
                ;
        if (parse_result_file(c->result_fd, &sig, &v) >= 0) {
                w->kept = true;
                w->kept_wstatus = sig ? W_EXITCODE(0, v) : W_EXITCODE(v & 0xff, 0);
        }
}

static void result_from_wait(const Waiter *w, IsolateResult *ret);

/* Hands the running container to the caller, then ends it. */
static void hold_container(Container *c, Waiter *w, const IsolateResult *base)
{
        IsolateResult res = *base;
        result_from_wait(w, &res);
        uint64_t t = th_now_usec();
        c->spec->hold(c->reg.name, &res, c->spec->hold_userdata);
        w->held_usec = th_now_usec() - t;
        kill_container(c, w);
}

static void wait_container(Container *c, pid_t outer, int outer_fd, Waiter *w, uint64_t start,
                           const IsolateResult *base)
{
        const IsolateSpec *s = c->spec;
        bool outer_done = false, pid1_done = false, stdin_open = s->interactive, held = false;
        bool console_hup = false;
        uint64_t deadline = s->timeout_usec ? start + s->timeout_usec : 0;
        int console_copy = c->console_fd >= 0 ? c->console_fd : -1;
        int console_tty = s->interactive ? STDOUT_FILENO : -1;
        _cleanup_close_ int sfd = stop_signal_fd();
        _cleanup_close_ int wfd = watch_result(c);
        unsigned escapes = 0;

        while (!pid1_done || !outer_done) {
                struct pollfd p[8];
                int n = 0, i_sync = -1, i_outer = -1, i_pid1 = -1, i_con = -1, i_in = -1,
                    i_sig = -1, i_watch = -1, i_pidsock = -1;
                if (c->pidsock[0] >= 0)
                        i_pidsock = n,
                        p[n++] = (struct pollfd){ .fd = c->pidsock[0], .events = POLLIN };
                if (sfd >= 0 && !w->interrupted)
                        i_sig = n, p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                if (wfd >= 0 && !held)
                        i_watch = n, p[n++] = (struct pollfd){ .fd = wfd, .events = POLLIN };
                if (!w->sync_eof)
                        i_sync = n, p[n++] = (struct pollfd){ .fd = c->sync[0], .events = POLLIN };
                if (!outer_done)
                        i_outer = n, p[n++] = (struct pollfd){ .fd = outer_fd, .events = POLLIN };
                if (!pid1_done && w->pid1_fd >= 0)
                        i_pid1 = n, p[n++] = (struct pollfd){ .fd = w->pid1_fd, .events = POLLIN };
                if (c->console_master >= 0 && !console_hup)
                        i_con = n,
                        p[n++] = (struct pollfd){ .fd = c->console_master, .events = POLLIN };
                if (stdin_open && c->console_master >= 0)
                        i_in = n, p[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };

                int timeout = -1;
                if (deadline && !w->timed_out) {
                        uint64_t now = th_now_usec();
                        timeout = now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
                }
                int r = poll(p, (nfds_t)n, timeout);
                if (r < 0 && errno != EINTR)
                        break;
                if (deadline && !w->timed_out && th_now_usec() >= deadline) {
                        w->timed_out = true;
                        kill_container(c, w);
                }
                if (r <= 0)
                        continue;
                if (i_sig >= 0 && p[i_sig].revents) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                w->interrupted = (int)si.ssi_signo;
                                kill_container(c, w);
                        }
                }
                if (i_pidsock >= 0 && p[i_pidsock].revents)
                        recv_pid(c, w, outer);
                if (i_sync >= 0 && p[i_sync].revents)
                        recv_msg(c, w, outer);
                if (i_watch >= 0 && p[i_watch].revents)
                        result_written(c, w, wfd);
                if (w->kept && !held && !pid1_done && !w->timed_out && !w->interrupted &&
                    !w->failed) {
                        held = true;
                        deadline = 0; /* the timeout does not run while held */
                        hold_container(c, w, base);
                }
                if (i_con >= 0 && (p[i_con].revents & POLLIN))
                        pump(c->console_master, console_copy, console_tty);
                else if (i_con >= 0 && p[i_con].revents)
                        console_hup = true; /* no slave open: polling it would spin */
                if (i_in >= 0 && p[i_in].revents) {
                        char buf[4096];
                        ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
                        if (k <= 0)
                                stdin_open = false;
                        else if (escape_pressed(buf, (size_t)k, &escapes)) {
                                w->interrupted = SIGKILL;
                                kill_container(c, w);
                        } else
                                (void)th_write_all(c->console_master, buf, (size_t)k);
                }
                if (i_outer >= 0 && p[i_outer].revents) {
                        siginfo_t si = {};
                        if (waitid(P_PIDFD, (id_t)outer_fd, &si, WEXITED) == 0) {
                                outer_done = true;
                                /* Drain its last messages before judging. */
                                if (c->pidsock[0] >= 0)
                                        recv_pid(c, w, outer);
                                while (!w->sync_eof && w->pid1 <= 0) {
                                        struct pollfd q = { .fd = c->sync[0], .events = POLLIN };
                                        if (poll(&q, 1, 0) <= 0)
                                                break;
                                        recv_msg(c, w, outer);
                                }
                                if (w->pid1 <= 0) {
                                        pid1_done = true;
                                        if (!w->failed) {
                                                w->failed = true;
                                                th_error_set(&w->err, EIO,
                                                             "container setup process died (%s %d)",
                                                             si.si_code == CLD_EXITED ? "status"
                                                                                      : "signal",
                                                             si.si_status);
                                        }
                                }
                        }
                }
                if (i_pid1 >= 0 && p[i_pid1].revents) {
                        siginfo_t si = {};
                        if (waitid(P_PIDFD, (id_t)w->pid1_fd, &si, WEXITED) == 0) {
                                pid1_done = true;
                                w->wstatus = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0)
                                                                      : W_EXITCODE(0, si.si_status);
                        } else if (errno != EINTR) {
                                /* Readable but not waitable would spin here. */
                                pid1_done = true;
                                wait_fail(w, errno, "cannot wait for PID 1");
                        }
                }
                if (w->failed && !pid1_done)
                        kill_container(c, w);
        }
        /* Late messages (an exec error, a failed setup) and console output. */
        for (int i = 0; i < 64 && !w->sync_eof; i++) {
                struct pollfd q = { .fd = c->sync[0], .events = POLLIN };
                if (poll(&q, 1, 0) <= 0)
                        break;
                recv_msg(c, w, outer);
        }
        if (c->console_master >= 0)
                pump(c->console_master, console_copy, console_tty);
}

/* ---- results ------------------------------------------------------------- */

static int signal_from_name(const char *name)
{
        for (int i = 1; i < 65; i++) {
                const char *a = sigabbrev_np(i);
                if (a && strcmp(a, name) == 0)
                        return i;
        }
        return 0;
}

/* Parses "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS" (ExecStopPost=). */
static int parse_result_file(int fd, bool *ret_signaled, int *ret_value)
{
        char buf[256] = {}, result[64], code[64], status[64];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return -ENODATA;
        if (strncmp(buf, "boot-failed", 11) == 0)
                return -EBADMSG;
        if (sscanf(buf, "%63s %63s %63s", result, code, status) != 3)
                return -ENODATA;
        if (strcmp(code, "exited") == 0) {
                *ret_signaled = false;
                *ret_value = atoi(status);
                return 0;
        }
        *ret_signaled = true;
        *ret_value = signal_from_name(status);
        return 0;
}

static void result_from_wait(const Waiter *w, IsolateResult *ret)
{
        /* A kept container was killed after its command ended. */
        int ws = w->kept ? w->kept_wstatus : w->wstatus;
        if (WIFSIGNALED(ws)) {
                ret->status = ISOLATE_SIGNALED;
                ret->term_signal = WTERMSIG(ws);
                ret->exit_status = 128 + ret->term_signal;
        } else {
                ret->status = ISOLATE_EXITED;
                ret->exit_status = WEXITSTATUS(ws);
        }
}

static int collect(Container *c, const Waiter *w, IsolateResult *ret, ThError *err)
{
        const IsolateSpec *s = c->spec;
        result_from_wait(w, ret);
        ret->stopped = isolate_registry_stopped(&c->reg);
        if (s->boot && s->argv && !w->timed_out) {
                bool sig = false;
                int v = 0;
                int r = parse_result_file(c->setup_result_fd, &sig, &v);
                if (r >= 0 && (sig || v != 0)) {
                        ret->status = ISOLATE_SETUP_FAILED;
                        ret->exit_status = sig ? 128 + v : v;
                        return 0;
                }
                r = parse_result_file(c->result_fd, &sig, &v);
                if (r < 0 && !isolate_cgroup_oom(&c->cg) && !ret->stopped)
                        return th_error_set(err, EIO,
                                            "boot failed: systemd ended before the test unit "
                                            "ran (exit status %d); see '%s' and '%s'",
                                            ret->exit_status, ret->console_path, ret->journal_path);
                if (r >= 0) {
                        ret->status = sig ? ISOLATE_SIGNALED : ISOLATE_EXITED;
                        ret->term_signal = sig ? v : 0;
                        ret->exit_status = sig ? 128 + v : v;
                }
        }
        if (w->setup_failed) {
                ret->status = ISOLATE_SETUP_FAILED;
                ret->exit_status = w->setup_status;
        }
        ret->pids_limit_hit = isolate_cgroup_pids_hit(&c->cg);
        if (isolate_cgroup_oom(&c->cg)) {
                ret->oom = true;
                ret->status = ISOLATE_OOM;
        }
        if (w->timed_out) {
                ret->timed_out = true;
                ret->status = ISOLATE_TIMEOUT;
        }
        ret->interrupted = w->interrupted;
        return 0;
}

/* Artifacts go beneath the caller's artifacts dir only, nothing the
 * container made is followed there (copy.c). */
static void copy_artifacts(const IsolateSpec *s, int root_fd, IsolateResult *res)
{
        IsolateCopy cp = { .left = s->artifacts_max_bytes ?: UINT64_MAX };
        _cleanup_close_ int dst = -1;

        if (!s->artifacts_dir || root_fd < 0 || s->n_artifacts == 0)
                return;
        dst = open(s->artifacts_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0) {
                th_debug("artifacts: open '%s': %m", s->artifacts_dir);
                return;
        }
        for (size_t i = 0; i < s->n_artifacts; i++) {
                ThError e = {};
                if (isolate_copy_artifact(root_fd, s->artifacts[i], dst, &cp, &e) < 0)
                        th_debug("artifact: %s", e.msg);
                if (cp.limit_hit) {
                        res->artifacts_limit_hit = true;
                        th_snprintf(res->artifacts_cut_at, sizeof(res->artifacts_cut_at), "%s",
                                    s->artifacts[i]);
                        return;
                }
        }
}

/* What the container left in its writable binds keeps no set-id bit. */
static void strip_writable_binds(const IsolateSpec *s, const struct timespec *since)
{
        for (size_t i = 0; i < s->n_binds; i++) {
                const IsolateBind *b = &s->binds[i];
                if (!b->writable)
                        continue;
                _cleanup_close_ int fd = b->source_fd >= 0
                                                 ? fcntl(b->source_fd, F_DUPFD_CLOEXEC, 3)
                                                 : open(b->source, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                isolate_strip_setid(fd, since);
        }
}

static void copy_out(Container *c, const Waiter *w, IsolateResult *res,
                     const struct timespec *started)
{
        const IsolateSpec *s = c->spec;
        strip_writable_binds(s, started);
        copy_artifacts(s, w->root_fd, res);
        if (s->keep_upper_dir && c->upper_fd >= 0) {
                IsolateCopy cp = { .faithful = true, .left = UINT64_MAX };
                /* 0700: the copy keeps set-uid files and their owners. */
                int r = th_mkdir_p(s->keep_upper_dir, 0700);
                _cleanup_close_ int d = open(s->keep_upper_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int u =
                        openat(c->upper_fd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int src =
                        openat(c->upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (r < 0 || d < 0 || src < 0 ||
                    isolate_copy_entry(src, "upper", d, "upper", &cp, 0) < 0)
                        th_log(TH_LOG_WARNING, "could not keep the upper dir in '%s'",
                               s->keep_upper_dir);
                (void)u;
        }
}

/* ---- isolate_run -------------------------------------------------------- */

void isolate_sweep(void)
{
        isolate_cgroup_sweep("/sys/fs/cgroup");
        isolate_state_sweep(STATE_DIR);
        isolate_registry_sweep();
        isolate_net_sweep();
}

static void container_done(Container *c)
{
        ThError scratch = {};
        const int fds[] = { c->upper_fd,        c->console_master, c->console_slave, c->out_fd,
                            c->err_fd,          c->console_fd,     c->journal_fd,    c->result_fd,
                            c->setup_result_fd, c->sync[0],        c->sync[1],       c->pidsock[0],
                            c->pidsock[1] };
        (void)isolate_cgroup_destroy(&c->cg, &scratch);
        c->net = isolate_net_release(c->net);
        isolate_registry_release(&c->reg);
        isolate_userns_release(&c->userns);
        for (size_t i = 0; c->fds && i < c->n_fds; i++)
                if (c->fds[i] >= 0)
                        close(c->fds[i]);
        free(c->fds);
        for (size_t i = 0; c->layer_fds && i < c->n_layers; i++)
                if (c->layer_fds[i] >= 0)
                        close(c->layer_fds[i]);
        free(c->layer_fds);
        /* Output files handed to the container's root come back to us. */
        const int owned[] = { c->out_fd, c->err_fd, c->journal_fd, c->result_fd,
                              c->setup_result_fd };
        for (size_t i = 0; c->base && i < ELEMENTSOF(owned); i++)
                if (owned[i] >= 0)
                        (void)fchown(owned[i], getuid(), getgid());
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        if (c->stage)
                (void)rmdir(c->stage);
        free(c->stage);
        th_strv_free(c->env);
        isolate_plan_done(&c->plan);
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
        r = isolate_detached_bind(AT_FDCWD, c->spec->rootfs, c->userns.userns_fd, 0, &fd, &probe);
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

static int prepare(Container *c, IsolateResult *ret, ThError *err)
{
        const IsolateSpec *s = c->spec;
        static unsigned counter;
        _cleanup_free_ bool *bind_is_file = calloc(s->n_binds + 1, sizeof(bool));
        if (!bind_is_file)
                return -ENOMEM;
        int r = check_spec(c, bind_is_file, err);
        if (r < 0)
                return r;
        r = open_outputs(c, ret, err);
        if (r < 0)
                return r;
        if (!s->boot)
                c->init_fd = isolate_init_fd();

        /* What a SIGKILLed harness left is swept by the next run. */
        isolate_sweep();

        char name[64];
        th_snprintf(name, sizeof(name), "c%d-%u-%llx", (int)getpid(), counter++,
                    (unsigned long long)(th_now_usec() & 0xffffff));
        /* Users first: a tree the kernel cannot idmap runs without private
         * users, and then the device policy must apply. */
        r = prepare_users(c, err);
        if (r < 0)
                return r;
        if (r > 0)
                ret->private_users_off = true;
        ret->uid_base = c->private_users ? (uint32_t)c->base : 0;
        r = isolate_cgroup_create("/sys/fs/cgroup", name, &s->limits, !c->private_users, &c->cg,
                                  err);
        if (r < 0)
                return r;
        r = isolate_registry_reserve(s, &c->reg, err);
        if (r < 0)
                return r;
        r = isolate_net_prepare(s, c->private_users ? c->userns.userns_fd : -1, &c->net, err);
        if (r < 0)
                return r;
        if (c->private_users && s->boot) {
                /* Delegate the container's cgroup to its root, as systemd does. */
                const char *files[] = { "", "/cgroup.procs", "/cgroup.subtree_control",
                                        "/cgroup.threads" };
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *p = th_strdup_printf("%s%s", c->cg.v2_path, files[i]);
                        if (p)
                                (void)chown(p, c->base, c->base);
                }
        }
        if (s->boot || (s->interactive && isatty(STDIN_FILENO))) {
                r = open_console(c, err);
                if (r < 0)
                        return r;
        }
        r = make_mounts(c, err);
        if (r < 0)
                return r;
        PlanContext ctx = { .owner_uid = c->base,
                            .owner_gid = c->base,
                            .has_console = c->console_slave >= 0,
                            .network_host = s->network == ISOLATE_NETWORK_HOST,
                            .bind_is_file = bind_is_file };
        r = isolate_plan_build(s, &ctx, &c->plan, err);
        if (r < 0)
                return r;
        r = isolate_caps_bounding(s->caps_keep, s->n_caps_keep, &c->caps, err);
        if (r < 0)
                return r;
        r = isolate_seccomp_program(&c->seccomp, err);
        if (r < 0)
                return r;
        r = build_env(c, err);
        if (r < 0)
                return r;
        r = th_mkdir_p(STATE_DIR "/stage", 0700);
        c->stage = th_strdup_printf(STATE_DIR "/stage/%s", name);
        if (r < 0 || !c->stage || mkdir(c->stage, 0700) < 0)
                return th_error_errno(err, r < 0 ? -r : errno, "create the staging dir");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sync) < 0 ||
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->pidsock) < 0)
                return th_error_errno(err, errno, "socketpair");
        return 0;
}

int isolate_run(const IsolateSpec *spec, IsolateResult *ret, ThError *err)
{
        Container c = { .spec = spec,
                        .upper_fd = -1,
                        .init_fd = -1,
                        .console_master = -1,
                        .console_slave = -1,
                        .out_fd = -1,
                        .err_fd = -1,
                        .console_fd = -1,
                        .journal_fd = -1,
                        .result_fd = -1,
                        .setup_result_fd = -1,
                        .sync = { -1, -1 },
                        .pidsock = { -1, -1 },
                        .cg = { .v2_fd = -1 },
                        .userns = { .lock_fd = -1, .userns_fd = -1 },
                        .reg = { .lock_fd = -1 },
                        .worker = getpid() };
        Waiter w = { .pid1_fd = -1, .root_fd = -1 };
        IsolateResult res = {};
        uint64_t start = th_now_usec();
        struct timespec started;
        (void)clock_gettime(CLOCK_REALTIME, &started);
        int outer_fd = -1, r;

        r = prepare(&c, &res, err);
        if (r < 0)
                goto out;

        struct termios saved;
        bool raw =
                spec->interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        pid_t outer = clone3_simple(CLONE_NEWNS | CLONE_PIDFD, &outer_fd, c.cg.v2_fd);
        if (outer < 0) {
                r = th_error_errno(err, errno, "clone3");
                goto out;
        }
        if (outer == 0)
                outer_child(&c);
        close(TAKE_FD(c.sync[1]));
        close(TAKE_FD(c.pidsock[1]));
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &t);
        }
        wait_container(&c, outer, outer_fd, &w, start, &res);
        if (raw)
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        /* Nothing may survive PID 1 (e.g. the outer child on an error path). */
        kill_container(&c, &w);

        if (w.failed) {
                *err = w.err;
                r = -err->code;
                goto out;
        }
        r = collect(&c, &w, &res, err);
        if (r < 0)
                goto out;
        copy_out(&c, &w, &res, &started);
        res.wall_usec = th_now_usec() - start - w.held_usec;
        *ret = res;
        r = 0;
out:
        if (w.root_fd >= 0)
                close(w.root_fd);
        if (w.pid1_fd >= 0)
                close(w.pid1_fd);
        if (outer_fd >= 0)
                close(outer_fd);
        container_done(&c);
        return r;
}

/* isolate: acting on a running container from outside: entering its
 * namespaces and cgroup (harness enter) and stopping it (harness stop). What
 * runs inside is always the container's own binary, resolved after setns(). */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include "isolate-internal.h"

extern char **environ;

/* The leader's environment, "K=V" strings (at most 1 MiB). */
static int read_environ(pid_t pid, char ***ret)
{
        char p[64];
        th_snprintf(p, sizeof(p), "/proc/%d/environ", (int)pid);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = 1 << 20, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (ssize_t n; len < cap && (n = read(fd, buf + len, cap - len)) != 0;) {
                if (n < 0)
                        return -errno;
                len += (size_t)n;
        }
        buf[len] = 0;
        char **env = NULL;
        for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
                if (buf[i] && th_strv_push(&env, buf + i) < 0) {
                        th_strv_free(env);
                        return -ENOMEM;
                }
        if (!env && th_strv_push(&env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return -ENOMEM;
        *ret = env;
        return 0;
}

static int read_capbnd(pid_t pid, uint64_t *ret)
{
        char p[64], line[256];
        th_snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "CapBnd:", 7) == 0) {
                        *ret = strtoull(line + 7, NULL, 16);
                        return 0;
                }
        return -ENODATA;
}

static bool same_ns(pid_t pid, const char *ns)
{
        char a[64], b[64];
        struct stat sa, sb;
        th_snprintf(a, sizeof(a), "/proc/self/ns/%s", ns);
        th_snprintf(b, sizeof(b), "/proc/%d/ns/%s", (int)pid, ns);
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
               sa.st_dev == sb.st_dev;
}

/* Joins a cgroup of our own below the container's v2 cgroup (enter_cg), and
 * the leader's v1 cgroups (limits), as the host sees them; a v1 hierarchy
 * that is not mounted is skipped. Not the leader's v2 cgroup: a booting
 * systemd moves whatever is in its root cgroup and fails (EIO) on processes
 * outside its PID namespace. */
static int join_cgroups(pid_t pid, const char *enter_cg, ThError *err)
{
        char p[64], line[4096];
        th_snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return th_error_errno(err, errno, "open '%s'", p);
        struct statfs sf;
        const char *v2 =
                statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC
                        ? "/sys/fs/cgroup/unified"
                        : "/sys/fs/cgroup";
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = 0;
                const char *ctrl = c1 + 1, *path = c2 + 1;
                bool unified = ctrl[0] == 0;
                if (strncmp(ctrl, "name=", 5) == 0)
                        ctrl += 5;
                if (unified && enter_cg) {
                        if (mkdir(enter_cg, 0755) < 0 && errno != EEXIST)
                                return th_error_errno(err, errno, "create the cgroup '%s'",
                                                      enter_cg);
                        path = "";
                        v2 = enter_cg;
                }
                _cleanup_free_ char *procs =
                        unified ? th_strdup_printf("%s%s/cgroup.procs", v2, path)
                                : th_strdup_printf("/sys/fs/cgroup/%s%s/cgroup.procs", ctrl, path);
                if (!procs)
                        return th_error_set(err, ENOMEM, "out of memory");
                _cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0 && !unified)
                        continue;
                if (fd < 0 || write(fd, "0", 1) != 1)
                        return th_error_errno(err, errno, "join the cgroup '%s'", procs);
        }
        return 0;
}

/* The v2 hierarchy as mounted on this host. */
static const char *v2_mount(void)
{
        struct statfs sf;
        return statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC
                       ? "/sys/fs/cgroup/unified"
                       : "/sys/fs/cgroup";
}

/* The recorded cgroup must be one of harness's own: V2/harness/NAME or
 * V2/harness/NAME/payload. Returns the part below the mount. */
static const char *harness_cgroup(const char *cgroup)
{
        const char *v2 = v2_mount();
        size_t l = strlen(v2);
        if (strncmp(cgroup, v2, l) != 0 || strncmp(cgroup + l, "/harness/", 9) != 0)
                return NULL;
        const char *name = cgroup + l + 9, *end = name;
        while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') ||
               (*end >= '0' && *end <= '9') || *end == '-' || *end == '_')
                end++;
        if (end == name || (*end && strcmp(end, "/payload") != 0))
                return NULL;
        return cgroup + l;
}

/* Whether the leader's v2 cgroup is rel or below it. */
static int leader_in_cgroup(pid_t pid, const char *rel)
{
        char p[64];
        th_snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, l = strlen(rel);
        ssize_t n;
        if (!f)
                return -errno;
        while ((n = getline(&line, &cap, f)) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (strncmp(line, "0::", 3) != 0)
                        continue;
                const char *cg = line + 3;
                return strncmp(cg, rel, l) == 0 && (cg[l] == 0 || cg[l] == '/');
        }
        return 0;
}

/* The registry is only a file: act on its leader only when the process is
 * in the recorded cgroup and that cgroup is one harness made. The pidfd pins
 * the process: checked once more after reading its cgroup, it was the same
 * process throughout. */
static int open_leader(const IsolateMachine *m, int *ret_pidfd, ThError *err)
{
        const char *rel = harness_cgroup(m->cgroup);
        if (!rel)
                return th_error_set(err, EPERM,
                                    "machine '%s': its registry entry names the cgroup '%s', "
                                    "which is not harness's; refusing",
                                    m->name, m->cgroup);
        _cleanup_close_ int pidfd = pidfd_open(m->leader, 0);
        if (pidfd < 0)
                return th_error_errno(err, errno, "machine '%s': PID %d", m->name, (int)m->leader);
        int r = leader_in_cgroup(m->leader, rel);
        if (r >= 0 && pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
                r = -errno;
        if (r < 0)
                return th_error_errno(err, -r, "machine '%s': PID %d", m->name, (int)m->leader);
        if (r == 0)
                return th_error_set(err, EPERM,
                                    "machine '%s': PID %d is not in the container's cgroup '%s'; "
                                    "refusing",
                                    m->name, (int)m->leader, m->cgroup);
        *ret_pidfd = TAKE_FD(pidfd);
        return 0;
}

typedef struct EnterCtx {
        pid_t leader;
        int pidfd;
        char **env;
        uint64_t capbnd;
        char *const *argv;
        const char *enter_cg; /* NULL: the leader's v2 cgroup */
} EnterCtx;

/* In a child of `harness enter`: cgroups, namespaces, root, capabilities,
 * the system call filter; then a grandchild (inside the PID namespace) execs
 * the command. */
static int enter_child(const EnterCtx *e, ThError *err)
{
        int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
        const struct sock_fprog *filter;
        int r = isolate_seccomp_program(&filter, err);
        if (r < 0)
                return r;
        r = join_cgroups(e->leader, e->enter_cg, err);
        if (r < 0)
                return r;
        /* Nothing in the container may ptrace us or open our fds while we
         * still hold host resources. */
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                return th_error_errno(err, errno, "PR_SET_DUMPABLE");
        if (!same_ns(e->leader, "net"))
                flags |= CLONE_NEWNET;
        if (!same_ns(e->leader, "user"))
                flags |= CLONE_NEWUSER;
        if (setns(e->pidfd, flags) < 0)
                return th_error_errno(err, errno, "enter the container's namespaces");
        /* setns(CLONE_NEWNS) put us at the container's root; make sure. */
        if (chroot("/") < 0 || chdir("/") < 0)
                return th_error_errno(err, errno, "enter the container's root");
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return th_error_errno(err, errno, "become the container's root");
        r = isolate_caps_apply(e->capbnd, err);
        if (r < 0)
                return r;
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return th_error_errno(err, errno, "close_range");
        /* The container's system call filter, as PID 1 has it. */
        return isolate_seccomp_load(filter, err);
}

/* The command's terminal: with one on the caller's stdio, a pty of the
 * container's own devpts (a controlling terminal and job control in its PID
 * namespace; the caller's terminal is not even visible there) in place of
 * each of fds 0-2 that is a terminal. The caller's terminal itself never
 * reaches the command: TIOCSTI on it would type into the caller's shell. */
typedef struct EnterTty {
        bool is_tty[3];
        int master;
        char slave[128];
} EnterTty;

static bool enter_tty_any(const EnterTty *t)
{
        return t->is_tty[0] || t->is_tty[1] || t->is_tty[2];
}

/* The command: a session of its own always; the pty as its controlling
 * terminal when there is one, none otherwise. */
static _Noreturn void exec_command(const EnterCtx *e, const EnterTty *t, int err_fd)
{
        ThError err = {};
        static char *const shell[] = { "/bin/sh", "-l", NULL };
        char *const *argv = e->argv && e->argv[0] ? e->argv : shell;
        if (setsid() < 0) {
                th_error_errno(&err, errno, "setsid");
                goto fail;
        }
        if (t->master >= 0) {
                int slave = open(t->slave, O_RDWR);
                if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
                        th_error_errno(&err, errno, "attach the pty '%s'", t->slave);
                        goto fail;
                }
                for (int fd = 0; fd < 3; fd++)
                        if (t->is_tty[fd] && dup2(slave, fd) < 0) {
                                th_error_errno(&err, errno, "attach the pty '%s'", t->slave);
                                goto fail;
                        }
                if (slave > 2)
                        close(slave);
        }
        environ = e->env;
        /* Resolved in the container's root and with its PATH. */
        execvp(argv[0], argv);
        th_error_errno(&err, errno, "execute '%s' in the container", argv[0]);
fail:
        (void)th_write_all(err_fd, &err, sizeof(err));
        _exit(127);
}

static _Noreturn void run_child(const EnterCtx *e, int err_fd)
{
        ThError err = {};
        EnterTty t = { .master = -1 };
        if (enter_child(e, &err) < 0) {
                (void)th_write_all(err_fd, &err, sizeof(err));
                _exit(127);
        }
        for (int fd = 0; fd < 3; fd++)
                t.is_tty[fd] = isatty(fd);
        int size_fd = t.is_tty[0] ? 0 : t.is_tty[1] ? 1 : t.is_tty[2] ? 2 : -1;
        if (enter_tty_any(&t) &&
            isolate_pty_open(size_fd, &t.master, t.slave, sizeof(t.slave), &err) < 0) {
                (void)th_write_all(err_fd, &err, sizeof(err));
                _exit(127);
        }
        pid_t pid = fork();
        if (pid < 0) {
                th_error_errno(&err, errno, "fork");
                (void)th_write_all(err_fd, &err, sizeof(err));
                _exit(127);
        }
        if (pid == 0)
                exec_command(e, &t, err_fd);
        close(err_fd);
        if (t.master >= 0) {
                IsolatePtyForward f = { .master = t.master,
                                        .in_fd = t.is_tty[0] ? 0 : -1,
                                        .out_fd = t.is_tty[1] ? 1 : 2,
                                        .copy_fd = -1,
                                        .size_fd = size_fd,
                                        .escape_presses = 3 };
                if (isolate_pty_forward(&f) == ISOLATE_PTY_ESCAPE) {
                        /* The command's session, whatever it started. */
                        (void)kill(-pid, SIGKILL);
                        (void)kill(pid, SIGKILL);
                }
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        _exit(127);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int isolate_machine_enter(const char *name, char *const *argv, int *ret_status, ThError *err)
{
        IsolateMachine m;
        int r = isolate_machine_get(name, &m, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *enter_cg =
                m.cgroup[0] ? th_strdup_printf("%s/harness-enter-%d", m.cgroup, (int)getpid())
                            : NULL;
        EnterCtx e = { .leader = m.leader, .argv = argv, .enter_cg = enter_cg };
        _cleanup_close_ int pidfd = -1;
        r = open_leader(&m, &pidfd, err);
        if (r < 0)
                return r;
        e.pidfd = pidfd;
        _cleanup_strv_ char **env = NULL;
        r = isolate_registry_env(m.name, &env);
        if (r >= 0 && !env)
                r = read_environ(m.leader, &env);
        if (r < 0)
                return th_error_errno(err, -r, "machine '%s': environment", name);
        e.env = env;
        r = read_capbnd(m.leader, &e.capbnd);
        if (r < 0)
                return th_error_errno(err, -r, "machine '%s': capabilities", name);

        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return th_error_errno(err, errno, "pipe");
        /* The forwarder makes the terminal raw and restores it; this is
         * for a forwarder that was killed. */
        struct termios saved;
        bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        pid_t pid = fork();
        if (pid < 0) {
                if (raw)
                        (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
                close(pipefd[0]);
                close(pipefd[1]);
                return th_error_errno(err, errno, "fork");
        }
        if (pid == 0) {
                close(pipefd[0]);
                run_child(&e, pipefd[1]);
        }
        close(pipefd[1]);
        /* Ignore ^C here: the terminal's signals are for what runs inside. */
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
        sigaction(SIGINT, &ign, &old_int);
        sigaction(SIGQUIT, &ign, &old_quit);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        if (raw)
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        /* Empty unless something was left running in the background; then
         * it goes with the container's cgroup. */
        if (enter_cg)
                (void)rmdir(enter_cg);
        ThError child = {};
        ssize_t n = read(pipefd[0], &child, sizeof(child));
        close(pipefd[0]);
        if (n == (ssize_t)sizeof(child) && child.code > 0) {
                child.msg[sizeof(child.msg) - 1] = 0;
                *err = child;
                return th_error_prefix(err, "machine '%s'", name);
        }
        *ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 0;
}

/* ---- stop ------------------------------------------------------------------ */

/* After the kill, how long the container's PID 1 may take to end; then how
 * long its harness may take to tear it down, polled. */
#define STOP_KILL_WAIT_USEC     (30 * USEC_PER_SEC)
#define STOP_TEARDOWN_WAIT_USEC (30 * USEC_PER_SEC)
#define STOP_POLL_USEC          (50 * USEC_PER_MSEC)

static bool wait_exit(int pidfd, uint64_t usec)
{
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        return poll(&p, 1, (int)(usec / USEC_PER_MSEC)) > 0;
}

/* Only ever a cgroup open_leader() accepted. */
static bool kill_cgroup(const char *cgroup)
{
        return cgroup[0] && isolate_cgroup_kill(cgroup) >= 0;
}

int isolate_machine_stop(const char *name, uint64_t timeout_usec, ThError *err)
{
        IsolateMachine m;
        int r = isolate_machine_get(name, &m, err);
        if (r < 0)
                return r;
        _cleanup_close_ int pidfd = -1;
        r = open_leader(&m, &pidfd, err);
        if (r < 0)
                return r;
        /* Tell the harness that runs it why it ends, whatever stage it is in
         * (a boot stopped before its test unit started is not a boot failure). */
        isolate_registry_mark_stopped(m.name);
        /* systemd: SIGRTMIN+4 starts poweroff.target; the stub init forwards
         * SIGTERM to the command. */
        int sig = m.boot ? SIGRTMIN + 4 : SIGTERM;
        if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                return th_error_errno(err, errno, "signal machine '%s'", name);
        if (!wait_exit(pidfd, timeout_usec)) {
                if (!kill_cgroup(m.cgroup))
                        (void)pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                if (!wait_exit(pidfd, STOP_KILL_WAIT_USEC))
                        return th_error_set(err, ETIMEDOUT, "machine '%s' did not stop", name);
        }
        /* Until the harness tore it down (its registry lock is released). */
        for (uint64_t waited = 0; waited < STOP_TEARDOWN_WAIT_USEC; waited += STOP_POLL_USEC) {
                IsolateMachine again;
                ThError scratch = {};
                if (isolate_machine_get(name, &again, &scratch) < 0 || again.leader != m.leader)
                        return 0;
                struct timespec ts = { .tv_nsec = (long)(STOP_POLL_USEC * NSEC_PER_USEC) };
                nanosleep(&ts, NULL);
        }
        return 0;
}

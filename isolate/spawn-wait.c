/* isolate: the worker's wait loop and the results it reads afterwards.
 * It polls the outer child's socket, the sync socket, both processes'
 * pidfds, the console, the caller's stop signals and the deadline; a
 * timeout, a stop signal or a failed setup kills the whole cgroup. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "container.h"

#include "isolate-copy.h"

/* How long READY waits for the outer child's PID 1 message, which it sent
 * before PID 1 could run. */
#define PID_MSG_WAIT_MSEC 10000
/* Reads per drain of the console or the sync socket: the container cannot
 * keep the worker from going on. */
#define DRAIN_MAX 64
/* The largest errno (the kernel's MAX_ERRNO). */
#define ERRNO_MAX 4095

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
        SyncMsg m;
        int fds[ISOLATE_SYNC_MAX_FDS];
        size_t n_fds;
        int r = isolate_sync_recv(c->fd[CFD_PIDSOCK], &m, fds, &n_fds);
        if (r == -EAGAIN || r == -EINTR)
                return;
        /* One message at most, whatever it was. */
        close(TAKE_FD(c->fd[CFD_PIDSOCK]));
        _cleanup_close_ int pidfd = fds[0], root = fds[1];
        if (r == 0 || (r < 0 && r != -EBADMSG))
                return; /* the outer child failed; its error is on the sync socket */
        if (r < 0 || m.kind != SYNC_PID || n_fds != 2) {
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
        SyncMsg m;
        int fds[ISOLATE_SYNC_MAX_FDS];
        size_t n_fds;
        int r = isolate_sync_recv(c->fd[CFD_SYNC], &m, fds, &n_fds);
        if (r == -EAGAIN || r == -EINTR)
                return;
        /* No fd is ever expected here. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                closep(&fds[i]);
        if (r == 0 || (r < 0 && r != -EBADMSG)) {
                w->sync_eof = true;
                return;
        }
        if (r < 0)
                return;
        switch (m.kind) {
        case SYNC_READY:
                /* The leader is known before anything of the container runs:
                 * the outer child sent it right after the clone. */
                if (!w->ready && c->fd[CFD_PIDSOCK] >= 0) {
                        struct pollfd q = { .fd = c->fd[CFD_PIDSOCK], .events = POLLIN };
                        if (poll(&q, 1, PID_MSG_WAIT_MSEC) > 0)
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
                        if (w->err.code <= 0 || w->err.code > ERRNO_MAX)
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

void container_kill(Container *c, Waiter *w)
{
        if (c->cg.v2_path && isolate_cgroup_kill(c->cg.v2_path) >= 0)
                return;
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

/* ---- kept containers (IsolateSpec.hold) ------------------------------- */

/* Boot mode: the test unit's ExecStopPost writes the result file last, and
 * the unit has no SuccessAction=/FailureAction= to end the system; a watch
 * on the file tells when it ended. Direct mode needs none: the stub init
 * sends SYNC_KEPT. The light boot watches it too: once the result is
 * there, so are the journal and the unit states, and the container is
 * killed instead of waiting for systemd's own shutdown (docs/container.md,
 * "The light boot"). */
static int watch_result(const Container *c)
{
        const IsolateSpec *s = c->spec;
        char p[4096];
        /* Watched for a hold, and for the light boot's end (not with
         * reboots: each reboot's shutdown writes a result too). */
        if ((!s->hold && (s->full_boot || s->max_reboots)) || !s->boot || !s->argv ||
            c->fd[CFD_OUTPUT] < 0 ||
            th_snprintf(p, sizeof(p), "/proc/self/fd/%d/result", c->fd[CFD_OUTPUT]) < 0)
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
        if (parse_result_file(c->fd[CFD_RESULT], &sig, &v) >= 0) {
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
        /* The caller judges the test from the copies. */
        container_copy_output(c, &res);
        uint64_t t = th_now_usec();
        c->spec->hold(c->reg.name, &res, c->spec->hold_userdata);
        w->held_usec = th_now_usec() - t;
        container_kill(c, w);
}

/* ---- the loop: fds and their handlers -------------------------------- */

typedef struct Loop {
        Container *c;
        Waiter *w;
        const IsolateResult *base;
        pid_t outer;
        int outer_fd;
        bool outer_done, pid1_done, held, console_hup;
        uint64_t deadline; /* 0: none */
        int sfd;           /* the caller's stop signals, or -1 */
        int wfd;           /* the result file's watch (hold), or -1 */
        IsolatePtyForward console;
        IsolatePty pty; /* the console to the terminal and its copy */
        bool pty_on;
} Loop;

/* One source of events: the fd to poll now (or -1), and its handler. A
 * source without fd runs after every poll that reported something, in
 * its place in the table. */
typedef struct Source {
        int (*fd)(const Loop *l);
        void (*ready)(Loop *l, short revents);
} Source;

static int signal_fd(const Loop *l)
{
        return l->w->interrupted ? -1 : l->sfd;
}

static void signal_ready(Loop *l, short revents)
{
        struct signalfd_siginfo si;
        (void)revents;
        if (read(l->sfd, &si, sizeof(si)) == sizeof(si)) {
                l->w->interrupted = (int)si.ssi_signo;
                container_kill(l->c, l->w);
        }
}

static int pidsock_fd(const Loop *l)
{
        return l->c->fd[CFD_PIDSOCK];
}

static void pidsock_ready(Loop *l, short revents)
{
        (void)revents;
        recv_pid(l->c, l->w, l->outer);
}

static int sync_fd(const Loop *l)
{
        return l->w->sync_eof ? -1 : l->c->fd[CFD_SYNC];
}

static void sync_ready(Loop *l, short revents)
{
        (void)revents;
        recv_msg(l->c, l->w, l->outer);
}

static int result_fd(const Loop *l)
{
        return l->held ? -1 : l->wfd;
}

static void result_ready(Loop *l, short revents)
{
        (void)revents;
        result_written(l->c, l->w, l->wfd);
}

/* The command ended and the container is kept: the caller has it now. */
static void hold_if_kept(Loop *l, short revents)
{
        Waiter *w = l->w;
        (void)revents;
        if (w->kept && !l->held && !l->pid1_done && !w->timed_out && !w->interrupted &&
            !w->failed) {
                l->held = true;
                if (!l->c->spec->hold) {
                        /* The light boot's end: the unit's result is in.
                         * Closing the watch waits for a grace period: done
                         * here, that overlaps with the container dying. */
                        container_kill(l->c, w);
                        closep(&l->wfd);
                        return;
                }
                l->deadline = 0; /* the timeout does not run while held */
                hold_container(l->c, w, l->base);
        }
}

static int console_fd(const Loop *l)
{
        return l->pty_on && !l->console_hup ? l->console.master : -1;
}

/* Whatever the console has now, up to a bound (it is non-blocking). */
static void console_drain(Loop *l)
{
        for (int i = 0; i < DRAIN_MAX && isolate_pty_pump(&l->pty) > 0; i++)
                ;
}

static void console_ready(Loop *l, short revents)
{
        if (revents & POLLIN)
                console_drain(l);
        else
                l->console_hup = true; /* no slave open: polling it would spin */
}

static int winch_fd(const Loop *l)
{
        return l->pty_on ? l->pty.winch_fd : -1;
}

static void winch_ready(Loop *l, short revents)
{
        (void)revents;
        isolate_pty_resized(&l->pty);
}

static int input_fd(const Loop *l)
{
        return l->pty_on && l->pty.in_open ? l->console.in_fd : -1;
}

/* Ctrl-] three times in a row kills the container, as with nspawn. */
static void input_ready(Loop *l, short revents)
{
        (void)revents;
        if (isolate_pty_input(&l->pty) == ISOLATE_PTY_ESCAPE) {
                l->w->interrupted = SIGKILL;
                container_kill(l->c, l->w);
        }
}

static int outer_fd(const Loop *l)
{
        return l->outer_done ? -1 : l->outer_fd;
}

static void outer_ready(Loop *l, short revents)
{
        Container *c = l->c;
        Waiter *w = l->w;
        siginfo_t si = {};
        (void)revents;
        if (waitid(P_PIDFD, (id_t)l->outer_fd, &si, WEXITED) < 0)
                return;
        l->outer_done = true;
        /* Drain its last messages before judging. */
        if (c->fd[CFD_PIDSOCK] >= 0)
                recv_pid(c, w, l->outer);
        while (!w->sync_eof && w->pid1 <= 0) {
                struct pollfd q = { .fd = c->fd[CFD_SYNC], .events = POLLIN };
                if (poll(&q, 1, 0) <= 0)
                        break;
                recv_msg(c, w, l->outer);
        }
        if (w->pid1 > 0)
                return;
        l->pid1_done = true;
        if (!w->failed) {
                w->failed = true;
                th_error_set(&w->err, EIO, "container setup process died (%s %d)",
                             si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
        }
}

static int pid1_fd(const Loop *l)
{
        return l->pid1_done ? -1 : l->w->pid1_fd;
}

static void pid1_ready(Loop *l, short revents)
{
        Waiter *w = l->w;
        siginfo_t si = {};
        (void)revents;
        if (waitid(P_PIDFD, (id_t)w->pid1_fd, &si, WEXITED) == 0) {
                l->pid1_done = true;
                w->wstatus = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0)
                                                      : W_EXITCODE(0, si.si_status);
        } else if (errno != EINTR) {
                /* Readable but not waitable would spin here. */
                l->pid1_done = true;
                wait_fail(w, errno, "cannot wait for PID 1");
        }
}

static void kill_if_failed(Loop *l, short revents)
{
        (void)revents;
        if (l->w->failed && !l->pid1_done)
                container_kill(l->c, l->w);
}

/* In the order they are handled after each poll. */
static const Source sources[] = {
        { signal_fd, signal_ready }, { pidsock_fd, pidsock_ready }, { sync_fd, sync_ready },
        { result_fd, result_ready }, { NULL, hold_if_kept },        { console_fd, console_ready },
        { winch_fd, winch_ready },   { input_fd, input_ready },     { outer_fd, outer_ready },
        { pid1_fd, pid1_ready },     { NULL, kill_if_failed },
};

/* One poll over the sources' fds, bounded by the deadline, then their
 * handlers. Returns false when poll failed for good. */
static bool loop_once(Loop *l)
{
        struct pollfd p[ELEMENTSOF(sources)];
        int idx[ELEMENTSOF(sources)];
        nfds_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                int fd = sources[i].fd ? sources[i].fd(l) : -1;
                idx[i] = fd >= 0 ? (int)n : -1;
                if (fd >= 0)
                        p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
        }
        int timeout = -1;
        if (l->deadline && !l->w->timed_out) {
                uint64_t now = th_now_usec();
                timeout = now >= l->deadline ? 0 : (int)((l->deadline - now + 999) / 1000);
        }
        int r = poll(p, n, timeout);
        if (r < 0 && errno != EINTR)
                return false;
        if (l->deadline && !l->w->timed_out && th_now_usec() >= l->deadline) {
                l->w->timed_out = true;
                container_kill(l->c, l->w);
        }
        if (r <= 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                if (!sources[i].fd)
                        sources[i].ready(l, 0);
                else if (idx[i] >= 0 && p[idx[i]].revents)
                        sources[i].ready(l, p[idx[i]].revents);
        }
        return true;
}

void container_wait(Container *c, pid_t outer, int outer_fd, Waiter *w, uint64_t start,
                    const IsolateResult *base)
{
        const IsolateSpec *s = c->spec;
        bool tty = s->interactive && isatty(STDIN_FILENO);
        Loop l = { .c = c,
                   .w = w,
                   .base = base,
                   .outer = outer,
                   .outer_fd = outer_fd,
                   .deadline = s->timeout_usec ? start + s->timeout_usec : 0,
                   .sfd = stop_signal_fd(),
                   .wfd = watch_result(c),
                   .console = { .master = c->fd[CFD_CONSOLE_MASTER],
                                .in_fd = s->interactive ? STDIN_FILENO : -1,
                                .out_fd = s->interactive ? STDOUT_FILENO : -1,
                                .copy_fd = c->fd[CFD_CONSOLE_LOG],
                                .copy_max = isolate_output_size(s),
                                .size_fd = tty ? STDIN_FILENO : -1,
                                .escape_presses = 3 } };
        l.pty_on = l.console.master >= 0 && isolate_pty_begin(&l.pty, &l.console) >= 0;

        while ((!l.pid1_done || !l.outer_done) && loop_once(&l))
                ;
        /* Late messages (an exec error, a failed setup) and console output. */
        for (int i = 0; i < DRAIN_MAX && !w->sync_eof; i++) {
                struct pollfd q = { .fd = c->fd[CFD_SYNC], .events = POLLIN };
                if (poll(&q, 1, 0) <= 0)
                        break;
                recv_msg(c, w, outer);
        }
        if (l.pty_on) {
                console_drain(&l);
                isolate_pty_end(&l.pty);
        }
        if (l.sfd >= 0)
                close(l.sfd);
        if (l.wfd >= 0)
                close(l.wfd);
}

/* ---- results ------------------------------------------------------------- */

static int signal_from_name(const char *name)
{
        for (int i = 1; i < _NSIG; i++) {
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
        if (strncmp(buf, ISOLATE_RESULT_BOOT_FAILED, strlen(ISOLATE_RESULT_BOOT_FAILED)) == 0)
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

int container_collect(Container *c, const Waiter *w, IsolateResult *ret, ThError *err)
{
        const IsolateSpec *s = c->spec;
        result_from_wait(w, ret);
        ret->stopped = isolate_registry_stopped(&c->reg);
        if (s->boot && s->argv && !w->timed_out) {
                bool sig = false;
                int v = 0;
                int r = parse_result_file(c->fd[CFD_SETUP_RESULT], &sig, &v);
                if (r >= 0 && (sig || v != 0)) {
                        ret->status = ISOLATE_SETUP_FAILED;
                        ret->exit_status = sig ? 128 + v : v;
                        return 0;
                }
                r = parse_result_file(c->fd[CFD_RESULT], &sig, &v);
                /* The unit ran and ended systemd, but what writes the result
                 * (the container's own /bin/sh) did not: the test's doing. */
                if (r == -ENODATA && WIFEXITED(w->wstatus) &&
                    WEXITSTATUS(w->wstatus) == ISOLATE_EXIT_UNIT_ENDED) {
                        ret->result_missing = true;
                        r = 0;
                }
                if (r < 0 && !isolate_cgroup_oom(&c->cg) && !ret->stopped) {
                        ret->boot_failed = true;
                        return th_error_set(err, EIO,
                                            "boot failed: systemd ended before the test unit "
                                            "ran (exit status %d); see '%s' and '%s'",
                                            ret->exit_status, ret->console_path, ret->journal_path);
                }
                if (r >= 0 && !ret->result_missing) {
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

void container_copy_output(Container *c, IsolateResult *res)
{
        const IsolateSpec *s = c->spec;
        uint64_t max = isolate_output_size(s);
        struct statfs sf;
        if (c->fd[CFD_OUTPUT] < 0 || !s->output_dir)
                return;
        res->output_limit = max;
        _cleanup_close_ int dst = open(s->output_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0) {
                th_debug("output: open '%s': %m", s->output_dir);
                return;
        }
        /* Full: a write failed with ENOSPC. */
        if (fstatfs(c->fd[CFD_OUTPUT], &sf) == 0 && sf.f_bavail == 0)
                res->output_limit_hit = true;
        for (size_t i = 0; isolate_output_files[i]; i++) {
                bool cut = false;
                int r = isolate_copy_output(c->fd[CFD_OUTPUT], isolate_output_files[i], dst, max,
                                            &cut);
                if (r < 0 && r != -ENOENT)
                        th_debug("output: copy '%s': %s", isolate_output_files[i], strerror(-r));
                if (cut)
                        res->output_limit_hit = true;
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

void container_copy_out(Container *c, const Waiter *w, IsolateResult *res,
                        const struct timespec *started)
{
        const IsolateSpec *s = c->spec;
        strip_writable_binds(s, started);
        copy_artifacts(s, w->root_fd, res);
        if (s->keep_upper_dir && c->fd[CFD_UPPER] >= 0) {
                IsolateCopy cp = { .faithful = true, .left = UINT64_MAX };
                /* 0700: the copy keeps set-uid files and their owners. */
                int r = th_mkdir_p(s->keep_upper_dir, 0700);
                _cleanup_close_ int d = open(s->keep_upper_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int src =
                        openat(c->fd[CFD_UPPER], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (r < 0 || d < 0 || src < 0 ||
                    isolate_copy_entry(src, "upper", d, "upper", &cp, 0) < 0)
                        th_log(TH_LOG_WARNING, "could not keep the upper dir in '%s'",
                               s->keep_upper_dir);
        }
}

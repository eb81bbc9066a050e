/* runner: the worker pool of `harness run`. One forked worker process per
 * try (isolate_run() clones inside it, never next to a thread), at most -j
 * at a time. The runner stays single-threaded: it waits with poll() on each
 * worker's pidfd and result pipe and on a signalfd for SIGINT/SIGTERM.
 *
 * A worker sends its record as soon as the result is final and then tears
 * its container down (runner_pool_report()); the runner takes the record
 * as the try's end and starts the next try in that slot while the worker
 * finishes behind it, at most one such worker per slot. The pool returns
 * only when every worker was reaped: nothing is left when harness exits. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "runner.h"
#include "runner-internal.h"

#define USEC_PER_SEC         1000000ULL
#define KILL_GRACE_USEC      (5 * USEC_PER_SEC)
#define WATCHDOG_MARGIN_USEC (60 * USEC_PER_SEC)

typedef struct Worker {
        pid_t pid;
        int pidfd;
        int pipefd;
        int holdfd; /* SOCK_SEQPACKET to the worker with ops->hold, or -1 */
        size_t item;
        unsigned attempt;
        uint64_t start_usec;
        uint64_t held_usec;     /* spent in ops->hold, not the test's time */
        uint64_t deadline_usec; /* watchdog; UINT64_MAX = none */
        uint64_t kill_usec;     /* SIGKILL after this once terminated; 0 = not yet */
        uint64_t term_usec;     /* when SIGTERM was last sent */
        RunTryRecord *rec;
        size_t got;
        bool reported; /* its record went to ops->finished (worker_report()) */
} Worker;

typedef struct Queue {
        size_t *item;
        unsigned *attempt;
        size_t head, len, cap;
} Queue;

/* A worker that sent its record and tears its container down. */
typedef struct Teardown {
        pid_t pid; /* 0: free */
        int pidfd;
        uint64_t kill_usec; /* SIGKILL its process group after this */
} Teardown;

#define TEARDOWN_LIMIT_USEC (60 * USEC_PER_SEC)

typedef struct Pool {
        const RunPoolOps *ops;
        void *userdata;
        Worker *w;
        Teardown *tear; /* jobs of them */
        unsigned jobs, running, tearing;
        Queue q;
        bool stop, interrupted;
        int signal;
        int sigfd;
        sigset_t oldmask;
} Pool;

static int queue_push(Queue *q, size_t item, unsigned attempt, bool front)
{
        if (q->head + q->len == q->cap || (front && q->head == 0)) {
                /* Compact, then grow with room in front for retries. */
                size_t cap = q->len * 2 + 16, head = cap / 4;
                size_t *ni = calloc(cap, sizeof(*ni));
                unsigned *na = calloc(cap, sizeof(*na));
                if (!ni || !na) {
                        free(ni);
                        free(na);
                        return -ENOMEM;
                }
                if (q->len > 0) {
                        memcpy(ni + head, q->item + q->head, q->len * sizeof(*ni));
                        memcpy(na + head, q->attempt + q->head, q->len * sizeof(*na));
                }
                free(q->item);
                free(q->attempt);
                q->item = ni;
                q->attempt = na;
                q->head = head;
                q->cap = cap;
        }
        if (front)
                q->head--;
        size_t at = front ? q->head : q->head + q->len;
        q->item[at] = item;
        q->attempt[at] = attempt;
        q->len++;
        return 0;
}

static void queue_done(Queue *q)
{
        free(q->item);
        free(q->attempt);
        *q = (Queue){ 0 };
}

static void worker_reset(Worker *w)
{
        closep(&w->pidfd);
        closep(&w->pipefd);
        closep(&w->holdfd);
        free(w->rec);
        *w = (Worker){ .pid = 0, .pidfd = -1, .pipefd = -1, .holdfd = -1 };
}

static volatile sig_atomic_t worker_stopping;

/* The worker's end of its hold socket (a worker is a process of its own). */
static int worker_hold_fd = -1;

/* The worker's end of its record pipe, and whether the record was sent. */
static int worker_record_fd = -1;
static bool worker_reported;

int runner_pool_report(const RunTryRecord *rec)
{
        if (worker_record_fd < 0)
                return -ENOTCONN;
        if (worker_reported)
                return 0;
        /* A runner that died (SIGKILL) must not kill the worker with
         * SIGPIPE here, before its container's teardown: EPIPE instead. */
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;
        (void)sigaction(SIGPIPE, &ign, &old);
        int r = th_write_all(worker_record_fd, rec, sizeof(*rec));
        (void)sigaction(SIGPIPE, &old, NULL);
        if (r >= 0)
                worker_reported = true;
        return r;
}

/* A hold message: when it was sent (CLOCK_MONOTONIC, the same in every
 * process), then the caller's bytes. */
typedef struct HoldPacket {
        uint64_t sent_usec;
        char msg[RUN_HOLD_MAX];
} HoldPacket;

int runner_pool_hold(const void *msg, size_t len)
{
        HoldPacket p;
        char ack;
        if (worker_hold_fd < 0)
                return -ENOTCONN;
        if (len > RUN_HOLD_MAX)
                return -EMSGSIZE;
        p.sent_usec = th_now_usec();
        memcpy(p.msg, msg, len);
        if (send(worker_hold_fd, &p, offsetof(HoldPacket, msg) + len, MSG_NOSIGNAL) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(worker_hold_fd, &ack, 1, 0);
                if (n < 0 && errno == EINTR && !worker_stopping)
                        continue;
                return n == 1 ? 0 : n == 0 ? -ECONNRESET : -errno;
        }
}

/* SIGTERM in a worker (the runner stopping it, or the runner's death via
 * PDEATHSIG): kill the worker's children, which are the container's init and
 * isolate's helpers, so that isolate_run() returns and tears the container
 * down (cgroup, state) as after any other end, instead of the worker dying
 * with the container half-owned. Async-signal-safe: open, read, kill. */
static void worker_on_term(int sig)
{
        char buf[4096];
        int saved = errno, fd;
        ssize_t n;

        (void)sig;
        worker_stopping = 1;
        fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                goto out;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < n;) {
                pid_t pid = 0;
                while (i < n && (buf[i] < '0' || buf[i] > '9'))
                        i++;
                while (i < n && buf[i] >= '0' && buf[i] <= '9')
                        pid = pid * 10 + (buf[i++] - '0');
                if (pid > 0)
                        kill(pid, SIGKILL);
        }
out:
        errno = saved;
}

/* In the worker: own process group (a terminal's ^C reaches only the runner,
 * which then stops workers in order), die with the runner, default signals. */
static _Noreturn void worker_main(Pool *p, Worker *self, int wfd, int hfd, pid_t parent)
{
        RunTryRecord *rec;
        sigset_t none;

        (void)setpgid(0, 0);
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
                _exit(127);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        struct sigaction sa = { .sa_handler = worker_on_term, .sa_flags = SA_RESTART };
        sigaction(SIGTERM, &sa, NULL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close(p->sigfd);
        for (unsigned i = 0; i < p->jobs; i++) {
                if (&p->w[i] != self && p->w[i].pid > 0) {
                        close(p->w[i].pidfd);
                        close(p->w[i].pipefd);
                        closep(&p->w[i].holdfd);
                }
                if (p->tear[i].pid > 0)
                        closep(&p->tear[i].pidfd);
        }
        closep(&self->holdfd);
        worker_hold_fd = hfd;
        worker_record_fd = wfd;

        /* SIGTERM may have been pending since fork (the runner blocks it);
         * then there is nothing to run. */
        if (worker_stopping)
                _exit(1);
        rec = calloc(1, sizeof(*rec));
        if (!rec)
                _exit(127);
        p->ops->work(p->userdata, self->item, self->attempt, rec);
        if (runner_pool_report(rec) < 0)
                _exit(127);
        _exit(0);
}

static int worker_start(Pool *p, Worker *w, size_t item, unsigned attempt, ThError *err)
{
        int fds[2], hold[2] = { -1, -1 };
        pid_t parent = getpid();
        uint64_t limit;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return th_error_errno(err, errno, "pipe");
        if (p->ops->hold && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hold) < 0) {
                int e = errno;
                close(fds[0]);
                close(fds[1]);
                return th_error_errno(err, e, "socketpair");
        }
        w->holdfd = hold[0];
        w->item = item;
        w->attempt = attempt;
        w->start_usec = th_now_usec();
        w->held_usec = 0;
        limit = p->ops->limit_usec ? p->ops->limit_usec(p->userdata, item) : 0;
        w->deadline_usec =
                limit ? w->start_usec + limit + limit / 10 + WATCHDOG_MARGIN_USEC : UINT64_MAX;
        w->kill_usec = 0;
        w->got = 0;
        w->rec = calloc(1, sizeof(*w->rec));
        if (!w->rec) {
                close(fds[0]);
                close(fds[1]);
                closep(&hold[1]);
                closep(&w->holdfd);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        fflush(NULL); /* no buffered output is written twice */
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(fds[0]);
                close(fds[1]);
                closep(&hold[1]);
                closep(&w->holdfd);
                return th_error_errno(err, e, "fork");
        }
        if (pid == 0) {
                close(fds[0]);
                worker_main(p, w, fds[1], hold[1], parent);
        }
        close(fds[1]);
        closep(&hold[1]);
        (void)setpgid(pid, pid); /* also from here, so kill(-pid) works at once */
        w->pid = pid;
        w->pipefd = fds[0];
        (void)fcntl(w->pipefd, F_SETFL, O_NONBLOCK);
        w->pidfd = pidfd_open(pid, 0);
        if (w->pidfd < 0) {
                int e = errno;
                kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                worker_reset(w);
                return th_error_errno(err, e, "pidfd_open");
        }
        p->running++;
        th_debug("worker %d started: item %zu, try %u", (int)pid, item, attempt);
        if (p->ops->started)
                p->ops->started(p->userdata, item, attempt);
        return 0;
}

static void worker_drain(Worker *w)
{
        while (w->got < sizeof(*w->rec)) {
                ssize_t n = read(w->pipefd, (char *)w->rec + w->got, sizeof(*w->rec) - w->got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                w->got += (size_t)n;
        }
}

/* A worker holds (its test's container kept): let ops->hold have it, then
 * answer. The hold's time, from when the worker asked (it may have waited
 * for the runner to finish another hold), is not the test's: the watchdog
 * moves on. */
static void worker_hold(Pool *p, Worker *w)
{
        HoldPacket h;
        ssize_t n = recv(w->holdfd, &h, sizeof(h), MSG_DONTWAIT);
        if (n < (ssize_t)offsetof(HoldPacket, msg)) {
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        closep(&w->holdfd); /* the worker is gone or done */
                return;
        }
        if (!p->interrupted)
                p->ops->hold(p->userdata, w->item, h.msg, (size_t)n - offsetof(HoldPacket, msg));
        uint64_t now = th_now_usec();
        uint64_t t = now > h.sent_usec ? now - h.sent_usec : 0;
        w->held_usec += t;
        if (w->deadline_usec != UINT64_MAX)
                w->deadline_usec += t;
        (void)send(w->holdfd, "", 1, MSG_NOSIGNAL);
}

static void worker_terminate(Worker *w, uint64_t now)
{
        if (w->kill_usec != 0)
                return;
        kill(-w->pid, SIGTERM);
        kill(w->pid, SIGTERM);
        w->term_usec = now;
        w->kill_usec = now + KILL_GRACE_USEC;
}

/* The worker exited: reap it, turn what it sent into a record. */
static int worker_reap(Pool *p, Worker *w, ThError *err)
{
        siginfo_t si = { 0 };
        RunTryRecord *rec = w->rec;
        bool watchdog = w->kill_usec != 0 && !p->interrupted;
        uint64_t wall = th_now_usec() - w->start_usec - w->held_usec;
        RunNext next;

        worker_drain(w);
        if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED) < 0)
                return th_error_errno(err, errno, "waitid");
        /* Anything left in the worker's process group goes too. */
        kill(-w->pid, SIGKILL);
        p->running--;
        if (w->reported) {
                /* Its try was reported already (worker_report()). */
                if (si.si_code != CLD_EXITED || si.si_status != 0)
                        th_debug("worker %d: teardown ended with %d/%d", (int)w->pid, si.si_code,
                                 si.si_status);
                worker_reset(w);
                return 0;
        }

        if (p->interrupted) {
                worker_reset(w);
                return 0;
        }
        /* A worker the watchdog stopped may still have sent a record (its
         * container killed under it); the watchdog is the true cause. */
        if (watchdog || w->got != sizeof(*rec) || si.si_code != CLD_EXITED || si.si_status != 0) {
                *rec = (RunTryRecord){ .isolate_r = -EIO };
                rec->outcome.status = REPORT_ERROR;
                snprintf(rec->outcome.type, sizeof(rec->outcome.type), "infrastructure");
                if (watchdog)
                        snprintf(rec->outcome.message, sizeof(rec->outcome.message),
                                 "the test did not end within its timeout plus a margin; "
                                 "the harness killed it");
                else if (si.si_code == CLD_EXITED)
                        snprintf(rec->outcome.message, sizeof(rec->outcome.message),
                                 "the harness worker exited with status %d without a result",
                                 si.si_status);
                else
                        snprintf(rec->outcome.message, sizeof(rec->outcome.message),
                                 "the harness worker was killed by signal %d (SIG%s)", si.si_status,
                                 sigabbrev_np(si.si_status) ?: "?");
        }
        size_t item = w->item;
        unsigned attempt = w->attempt;
        next = p->ops->finished(p->userdata, item, attempt, rec, wall);
        worker_reset(w);
        if (next == RUN_NEXT_STOP)
                p->stop = true;
        if (next == RUN_NEXT_RETRY && !p->stop)
                return queue_push(&p->q, item, attempt + 1, /* front= */ true) < 0
                               ? th_error_set(err, ENOMEM, "out of memory")
                               : 0;
        return 0;
}

/* The worker's record is complete and the worker was not stopped: the try
 * ended. Report it now; the worker tears its container down behind, in
 * the slot's teardown place if it is free (then the slot runs the next
 * try at once), else where it is, reaped by worker_reap(). */
static int worker_report(Pool *p, Worker *w, unsigned slot, ThError *err)
{
        uint64_t wall = th_now_usec() - w->start_usec - w->held_usec;
        size_t item = w->item;
        unsigned attempt = w->attempt;
        RunNext next = p->ops->finished(p->userdata, item, attempt, w->rec, wall);

        w->reported = true;
        if (next == RUN_NEXT_STOP)
                p->stop = true;
        if (next == RUN_NEXT_RETRY && !p->stop &&
            queue_push(&p->q, item, attempt + 1, /* front= */ true) < 0)
                return th_error_set(err, ENOMEM, "out of memory");
        Teardown *t = &p->tear[slot];
        if (t->pid > 0)
                return 0;
        *t = (Teardown){ .pid = w->pid,
                         .pidfd = TAKE_FD(w->pidfd),
                         .kill_usec = th_now_usec() + TEARDOWN_LIMIT_USEC };
        p->running--;
        p->tearing++;
        worker_reset(w);
        return 0;
}

static void teardown_reap(Pool *p, Teardown *t)
{
        siginfo_t si = { 0 };
        if (waitid(P_PIDFD, (id_t)t->pidfd, &si, WEXITED) < 0 && errno == EINTR)
                return;
        kill(-t->pid, SIGKILL);
        if (si.si_code != CLD_EXITED || si.si_status != 0)
                th_debug("worker %d: teardown ended with %d/%d", (int)t->pid, si.si_code,
                         si.si_status);
        closep(&t->pidfd);
        *t = (Teardown){ .pidfd = -1 };
        p->tearing--;
}

static void pool_interrupt(Pool *p, int sig)
{
        uint64_t now = th_now_usec();

        if (p->interrupted) {
                /* A second signal: no more grace. */
                for (unsigned i = 0; i < p->jobs; i++)
                        if (p->w[i].pid > 0) {
                                kill(-p->w[i].pid, SIGKILL);
                                kill(p->w[i].pid, SIGKILL);
                        }
                return;
        }
        p->interrupted = true;
        p->stop = true;
        p->signal = sig;
        for (unsigned i = 0; i < p->jobs; i++)
                if (p->w[i].pid > 0)
                        worker_terminate(&p->w[i], now);
}

static int pool_read_signal(Pool *p)
{
        struct signalfd_siginfo si;
        ssize_t n = read(p->sigfd, &si, sizeof(si));

        if (n == (ssize_t)sizeof(si))
                pool_interrupt(p, (int)si.ssi_signo);
        return 0;
}

/* Watchdogs and the SIGKILL after the grace period; returns the poll
 * timeout in ms until the next of them. */
static int pool_timers(Pool *p)
{
        uint64_t now = th_now_usec(), next = now + USEC_PER_SEC / 4;

        for (unsigned i = 0; i < p->jobs; i++) {
                Worker *w = &p->w[i];
                if (w->pid <= 0)
                        continue;
                if (w->kill_usec != 0 && now >= w->kill_usec) {
                        kill(-w->pid, SIGKILL);
                        kill(w->pid, SIGKILL);
                } else if (w->kill_usec == 0 && now >= w->deadline_usec)
                        worker_terminate(w, now);
                else if (w->kill_usec != 0 && now >= w->term_usec + USEC_PER_SEC / 4) {
                        /* Again, for a container started after the first
                         * SIGTERM: the worker kills its children each time. */
                        kill(w->pid, SIGTERM);
                        w->term_usec = now;
                }
                if (w->kill_usec != 0 && w->kill_usec > now && w->kill_usec < next)
                        next = w->kill_usec;
                if (w->kill_usec == 0 && w->deadline_usec < next)
                        next = w->deadline_usec;
        }
        for (unsigned i = 0; i < p->jobs; i++) {
                Teardown *t = &p->tear[i];
                if (t->pid <= 0)
                        continue;
                if (now >= t->kill_usec) {
                        kill(-t->pid, SIGKILL);
                        kill(t->pid, SIGKILL);
                        t->kill_usec = now + USEC_PER_SEC;
                }
                if (t->kill_usec < next)
                        next = t->kill_usec;
        }
        return next > now ? (int)((next - now + 999) / 1000) : 0;
}

static int pool_fill(Pool *p, ThError *err)
{
        for (unsigned i = 0; i < p->jobs && !p->stop && p->q.len > 0; i++) {
                if (p->w[i].pid > 0)
                        continue;
                size_t item = p->q.item[p->q.head];
                unsigned attempt = p->q.attempt[p->q.head];
                p->q.head++;
                p->q.len--;
                int r = worker_start(p, &p->w[i], item, attempt, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int pool_wait(Pool *p, ThError *err)
{
        struct pollfd pfd[1 + 4 * p->jobs];
        unsigned map[1 + 4 * p->jobs];
        bool is_tear[1 + 4 * p->jobs];
        nfds_t n = 0;
        int timeout = pool_timers(p), r;

        is_tear[n] = false;
        pfd[n++] = (struct pollfd){ .fd = p->sigfd, .events = POLLIN };
        for (unsigned i = 0; i < p->jobs; i++) {
                if (p->tear[i].pid > 0) {
                        map[n] = i;
                        is_tear[n] = true;
                        pfd[n++] = (struct pollfd){ .fd = p->tear[i].pidfd, .events = POLLIN };
                }
                if (p->w[i].pid <= 0)
                        continue;
                is_tear[n] = is_tear[n + 1] = is_tear[n + 2] = false;
                map[n] = i;
                pfd[n++] = (struct pollfd){ .fd = p->w[i].pidfd, .events = POLLIN };
                map[n] = i;
                pfd[n++] = (struct pollfd){ .fd = p->w[i].pipefd, .events = POLLIN };
                if (p->w[i].holdfd >= 0) {
                        map[n] = i;
                        pfd[n++] = (struct pollfd){ .fd = p->w[i].holdfd, .events = POLLIN };
                }
        }
        r = poll(pfd, n, timeout);
        if (r < 0 && errno == EINTR)
                return 0;
        if (r < 0)
                return th_error_errno(err, errno, "poll");
        if (pfd[0].revents & POLLIN)
                pool_read_signal(p);
        for (nfds_t k = 1; k < n; k++) {
                Worker *w = &p->w[map[k]];
                if (is_tear[k]) {
                        if (pfd[k].revents && p->tear[map[k]].pid > 0)
                                teardown_reap(p, &p->tear[map[k]]);
                        continue;
                }
                if (!pfd[k].revents || w->pid <= 0)
                        continue;
                if (pfd[k].fd == w->pipefd) {
                        worker_drain(w);
                        if (w->got == sizeof(*w->rec) && !w->reported && w->kill_usec == 0 &&
                            !p->interrupted) {
                                r = worker_report(p, w, map[k], err);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (pfd[k].fd == w->holdfd) {
                        worker_hold(p, w);
                        continue;
                }
                if (pfd[k].fd != w->pidfd)
                        continue;
                r = worker_reap(p, w, err);
                if (r < 0)
                        return r;
        }
        if (p->ops->tick)
                p->ops->tick(p->userdata, p->running);
        return 0;
}

static void pool_done(Pool *p)
{
        /* Error paths: no worker outlives the pool. */
        for (unsigned i = 0; p->w && i < p->jobs; i++)
                if (p->w[i].pid > 0) {
                        kill(-p->w[i].pid, SIGKILL);
                        kill(p->w[i].pid, SIGKILL);
                        (void)waitpid(p->w[i].pid, NULL, 0);
                        worker_reset(&p->w[i]);
                }
        /* A teardown under way is let finish: killing it would leave its
         * container's cgroups for the next run's sweep. */
        for (unsigned i = 0; p->tear && i < p->jobs; i++)
                if (p->tear[i].pid > 0) {
                        (void)waitpid(p->tear[i].pid, NULL, 0);
                        kill(-p->tear[i].pid, SIGKILL);
                        closep(&p->tear[i].pidfd);
                }
        free(p->tear);
        free(p->w);
        queue_done(&p->q);
        closep(&p->sigfd);
        sigprocmask(SIG_SETMASK, &p->oldmask, NULL);
}

int runner_pool_run(size_t n_items, unsigned jobs, const RunPoolOps *ops, void *userdata,
                    int *ret_signal, ThError *err)
{
        _cleanup_(pool_done)
                Pool p = { .ops = ops, .userdata = userdata, .sigfd = -1, .jobs = jobs ? jobs : 1 };
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, &p.oldmask) < 0)
                return th_error_errno(err, errno, "sigprocmask");
        p.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (p.sigfd < 0)
                return th_error_errno(err, errno, "signalfd");
        p.w = calloc(p.jobs, sizeof(*p.w));
        p.tear = calloc(p.jobs, sizeof(*p.tear));
        if (!p.w || !p.tear)
                return th_error_set(err, ENOMEM, "out of memory");
        for (unsigned i = 0; i < p.jobs; i++) { /* not worker_reset(): that closes fd 0 */
                p.w[i] = (Worker){ .pidfd = -1, .pipefd = -1, .holdfd = -1 };
                p.tear[i] = (Teardown){ .pidfd = -1 };
        }
        for (size_t i = 0; i < n_items; i++)
                if (queue_push(&p.q, i, 1, /* front= */ false) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");

        for (;;) {
                r = pool_fill(&p, err);
                if (r < 0)
                        return r;
                if (p.running == 0 && p.tearing == 0 && (p.stop || p.q.len == 0))
                        break;
                r = pool_wait(&p, err);
                if (r < 0)
                        return r;
        }
        if (ret_signal)
                *ret_signal = p.signal;
        return p.interrupted ? 1 : 0;
}

/* isolate: the pty forwarder. A terminal on one side, the master of a pty
 * whose slave a command in a container holds on the other: bytes both ways,
 * the terminal raw meanwhile (the pty does the line discipline) and restored
 * on every way out, window size changes (SIGWINCH) passed on, and Ctrl-]
 * pressed a number of times in a row as the way out that the command cannot
 * stop. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>

#include "isolate-internal.h"

#define ESCAPE_BYTE 0x1d /* Ctrl-] */

int isolate_pty_open(int size_fd, int *ret_master, char *ret_slave, size_t size, ThError *err)
{
        _cleanup_close_ int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
                return th_error_errno(err, errno, "allocate a pty");
        if (ptsname_r(m, ret_slave, size) != 0)
                return th_error_errno(err, errno, "allocate a pty");
        struct winsize ws;
        if (size_fd >= 0 && ioctl(size_fd, TIOCGWINSZ, &ws) == 0)
                (void)ioctl(m, TIOCSWINSZ, &ws);
        *ret_master = TAKE_FD(m);
        return 0;
}

static void copy_size(int from, int to)
{
        struct winsize ws;
        if (from >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0)
                (void)ioctl(to, TIOCSWINSZ, &ws);
}

/* Counts Ctrl-] in a row over buf; returns the offset just past the press
 * that reached want, or -1. */
static ssize_t find_escape(const char *buf, size_t n, unsigned want, unsigned *count)
{
        for (size_t i = 0; want && i < n; i++) {
                *count = (unsigned char)buf[i] == ESCAPE_BYTE ? *count + 1 : 0;
                if (*count >= want)
                        return (ssize_t)i + 1;
        }
        return -1;
}

ssize_t isolate_pty_pump(IsolatePty *p)
{
        char buf[16384];
        ssize_t n = read(p->f->master, buf, sizeof(buf));
        if (n < 0)
                return -errno;
        if (n > 0 && p->f->out_fd >= 0)
                (void)th_write_all(p->f->out_fd, buf, (size_t)n);
        if (n > 0 && p->f->copy_fd >= 0) {
                /* The container's to fill: never past copy_max. */
                off_t at = p->f->copy_max ? lseek(p->f->copy_fd, 0, SEEK_CUR) : 0;
                uint64_t room = !p->f->copy_max                  ? (uint64_t)n
                                : at < 0                         ? 0
                                : (uint64_t)at >= p->f->copy_max ? 0
                                                                 : p->f->copy_max - (uint64_t)at;
                if (room)
                        (void)th_write_all(p->f->copy_fd, buf,
                                           room < (uint64_t)n ? (size_t)room : (size_t)n);
        }
        return n;
}

int isolate_pty_input(IsolatePty *p)
{
        char buf[16384];
        ssize_t n = read(p->f->in_fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n <= 0) {
                p->in_open = false;
                return 0;
        }
        ssize_t at = find_escape(buf, (size_t)n, p->f->escape_presses, &p->presses);
        if (at >= 0) {
                if (!p->f->escape || p->f->escape(p->f->userdata))
                        return ISOLATE_PTY_ESCAPE;
                p->presses = 0;
        }
        (void)th_write_all(p->f->master, buf, (size_t)n);
        return 0;
}

void isolate_pty_resized(IsolatePty *p)
{
        struct signalfd_siginfo si;
        while (read(p->winch_fd, &si, sizeof(si)) == sizeof(si))
                ;
        copy_size(p->f->size_fd, p->f->master);
}

int isolate_pty_begin(IsolatePty *p, const IsolatePtyForward *f)
{
        *p = (IsolatePty){ .f = f, .in_open = f->in_fd >= 0, .winch_fd = -1 };
        p->raw = f->in_fd >= 0 && isatty(f->in_fd) && tcgetattr(f->in_fd, &p->saved) == 0;
        sigset_t winch;
        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &winch, &p->old_mask) < 0)
                return -errno;
        if (f->size_fd >= 0)
                p->winch_fd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
        if (p->raw) {
                struct termios t = p->saved;
                cfmakeraw(&t);
                (void)tcsetattr(f->in_fd, TCSANOW, &t);
        }
        /* The size may have changed between the pty's opening and now. */
        copy_size(f->size_fd, f->master);
        return 0;
}

void isolate_pty_end(IsolatePty *p)
{
        if (p->raw)
                (void)tcsetattr(p->f->in_fd, TCSANOW, &p->saved);
        p->raw = false;
        if (p->winch_fd >= 0)
                close(TAKE_FD(p->winch_fd));
        (void)sigprocmask(SIG_SETMASK, &p->old_mask, NULL);
}

static int forward(IsolatePty *p)
{
        for (;;) {
                struct pollfd q[3] = {
                        { .fd = p->f->master, .events = POLLIN },
                        { .fd = p->in_open ? p->f->in_fd : -1, .events = POLLIN },
                        { .fd = p->winch_fd, .events = POLLIN },
                };
                if (poll(q, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (q[2].revents)
                        isolate_pty_resized(p);
                if (q[0].revents) {
                        ssize_t n = isolate_pty_pump(p);
                        if (n == -EINTR || n == -EAGAIN)
                                continue;
                        if (n <= 0)
                                return ISOLATE_PTY_HANGUP; /* EIO: every slave fd is closed */
                }
                if (q[1].revents && isolate_pty_input(p) == ISOLATE_PTY_ESCAPE)
                        return ISOLATE_PTY_ESCAPE;
        }
}

int isolate_pty_forward(const IsolatePtyForward *f)
{
        IsolatePty p;
        int r = isolate_pty_begin(&p, f);
        if (r < 0)
                return r;
        r = forward(&p);
        isolate_pty_end(&p);
        return r;
}

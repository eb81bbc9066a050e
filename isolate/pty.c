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

static int forward(const IsolatePtyForward *f, int winch_fd)
{
        unsigned presses = 0;
        bool in_open = f->in_fd >= 0;
        char buf[16384];
        for (;;) {
                struct pollfd p[3] = {
                        { .fd = f->master, .events = POLLIN },
                        { .fd = in_open ? f->in_fd : -1, .events = POLLIN },
                        { .fd = winch_fd, .events = POLLIN },
                };
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[2].revents) {
                        struct signalfd_siginfo si;
                        while (read(winch_fd, &si, sizeof(si)) == sizeof(si))
                                ;
                        copy_size(f->size_fd, f->master);
                }
                if (p[0].revents) {
                        ssize_t n = read(f->master, buf, sizeof(buf));
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0)
                                return ISOLATE_PTY_HANGUP; /* EIO: every slave fd is closed */
                        if (f->out_fd >= 0)
                                (void)th_write_all(f->out_fd, buf, (size_t)n);
                }
                if (p[1].revents) {
                        ssize_t n = read(f->in_fd, buf, sizeof(buf));
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0) {
                                in_open = false;
                                continue;
                        }
                        ssize_t at = find_escape(buf, (size_t)n, f->escape_presses, &presses);
                        if (at >= 0) {
                                if (!f->escape || f->escape(f->userdata))
                                        return ISOLATE_PTY_ESCAPE;
                                presses = 0;
                        }
                        (void)th_write_all(f->master, buf, (size_t)n);
                }
        }
}

int isolate_pty_forward(const IsolatePtyForward *f)
{
        struct termios saved;
        bool raw = f->in_fd >= 0 && isatty(f->in_fd) && tcgetattr(f->in_fd, &saved) == 0;
        sigset_t winch, old;
        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &winch, &old) < 0)
                return -errno;
        int winch_fd = f->size_fd >= 0 ? signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK) : -1;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                (void)tcsetattr(f->in_fd, TCSANOW, &t);
        }
        /* The size may have changed between the pty's opening and now. */
        copy_size(f->size_fd, f->master);
        int r = forward(f, winch_fd);
        if (raw)
                (void)tcsetattr(f->in_fd, TCSANOW, &saved);
        if (winch_fd >= 0)
                close(winch_fd);
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

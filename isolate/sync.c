/* isolate: the sync protocol's wire format, both directions: PID 1 and the
 * outer child send (isolate_sync_send*), the worker's wait loop receives
 * (isolate_sync_recv). One SyncMsg per SOCK_SEQPACKET message, with at most
 * ISOLATE_SYNC_MAX_FDS fds (SCM_RIGHTS). Linked into harness-init too. */
#include <string.h>
#include <sys/socket.h>

#include "isolate-internal.h"

typedef union SyncControl {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * ISOLATE_SYNC_MAX_FDS)];
} SyncControl;

int isolate_sync_send_fds(int fd, SyncKind kind, int value, const int *fds, size_t n_fds)
{
        SyncMsg m = { .kind = kind, .value = value };
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
        SyncControl c = {};
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > ISOLATE_SYNC_MAX_FDS)
                return -EINVAL;
        if (n_fds > 0) {
                msg.msg_control = c.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
                h->cmsg_level = SOL_SOCKET;
                h->cmsg_type = SCM_RIGHTS;
                h->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(h), fds, sizeof(int) * n_fds);
        }
        return sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int isolate_sync_send(int fd, SyncKind kind, int value, const ThError *err)
{
        SyncMsg m = { .kind = kind, .value = value };
        if (err)
                m.err = *err;
        return send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0 ? -errno : 0;
}

_Noreturn void isolate_sync_fail(int fd, const ThError *err)
{
        (void)isolate_sync_send(fd, SYNC_ERROR, 0, err);
        _exit(127);
}

/* The fds of every SCM_RIGHTS header, in order: the first max into fds,
 * the rest closed. Returns how many arrived. */
static size_t take_fds(struct msghdr *msg, int *fds, size_t max)
{
        size_t n = 0;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(msg); h; h = CMSG_NXTHDR(msg, h)) {
                if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++, n++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
                        if (n < max)
                                fds[n] = fd;
                        else
                                close(fd);
                }
        }
        return n;
}

int isolate_sync_recv(int fd, SyncMsg *ret, int fds[ISOLATE_SYNC_MAX_FDS], size_t *ret_n_fds)
{
        SyncControl c;
        struct iovec iov = { .iov_base = ret, .iov_len = sizeof(*ret) };
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = c.buf,
                              .msg_controllen = sizeof(c.buf) };
        for (size_t i = 0; i < ISOLATE_SYNC_MAX_FDS; i++)
                fds[i] = -1;
        *ret_n_fds = 0;
        *ret = (SyncMsg){};
        ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0)
                return -errno;
        /* Whatever the message was, its fds are the caller's or closed. */
        *ret_n_fds = take_fds(&msg, fds, ISOLATE_SYNC_MAX_FDS);
        if (n == 0)
                return 0;
        if (n != (ssize_t)sizeof(*ret) || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
                for (size_t i = 0; i < ISOLATE_SYNC_MAX_FDS; i++) {
                        closep(&fds[i]);
                        fds[i] = -1;
                }
                *ret_n_fds = 0;
                return -EBADMSG;
        }
        return 1;
}

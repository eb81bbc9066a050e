/* isolate: veth networking over rtnetlink (libmnl): the container's network
 * namespace made before the container, the veth pair, addresses from a
 * link-local pool locked under /run/harness/net, group bridges, and the
 * loopback tcp forwarders of --port. Everything is removed at release. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "isolate-internal.h"

#define NET_DIR       "/run/harness/net"
#define CONTAINER_IF  "host0"
#define FWD_MAX_CONNS 64
#define FWD_MAX_PORTS 16

struct IsolateNet {
        int netns_fd;
        char host_if[IFNAMSIZ];
        char bridge[IFNAMSIZ]; /* group mode */
        int slot_fd;           /* lock on the pool slot (or group member) */
        char *slot_path;
        int group_fd; /* group mode: LOCK_SH on the group file */
        char *group_path;
        char address[32];
        pid_t forwarder;
};

/* ---- rtnetlink ----------------------------------------------------------- */

typedef struct Nl {
        struct mnl_socket *sock;
        unsigned seq;
        char buf[8192];
} Nl;

static void nl_close(Nl *nl)
{
        if (nl->sock)
                mnl_socket_close(nl->sock);
        nl->sock = NULL;
}

static int nl_open(Nl *nl)
{
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock)
                return -errno;
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                nl_close(nl);
                return r;
        }
        return 0;
}

/* A netlink socket inside the namespace netns_fd: sockets stay in the
 * namespace they were created in, so the thread goes there and back. */
static int nl_open_in(Nl *nl, int netns_fd)
{
        _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        int r = nl_open(nl);
        if (setns(self, CLONE_NEWNET) < 0)
                abort(); /* never continue in the container's namespace */
        return r;
}

static struct nlmsghdr *nl_msg(Nl *nl, uint16_t type, uint16_t flags)
{
        struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        h->nlmsg_seq = ++nl->seq;
        return h;
}

static int nl_talk(Nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
        unsigned portid = mnl_socket_get_portid(nl->sock);
        if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
                if (n < 0)
                        return -errno;
                int r = mnl_cb_run(nl->buf, (size_t)n, h->nlmsg_seq, portid, cb, data);
                if (r < 0)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *h, int index)
{
        struct ifinfomsg *i = mnl_nlmsg_put_extra_header(h, sizeof(*i));
        i->ifi_family = AF_UNSPEC;
        i->ifi_index = index;
        return i;
}

static int link_create_veth(Nl *nl, const char *host_if, int netns_fd)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        put_ifinfo(h, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, host_if);
        struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
        /* The peer's attributes follow its own ifinfomsg. */
        struct ifinfomsg *pi = mnl_nlmsg_get_payload_tail(h);
        memset(pi, 0, sizeof(*pi));
        pi->ifi_family = AF_UNSPEC;
        h->nlmsg_len += MNL_ALIGN(sizeof(*pi));
        mnl_attr_put_strz(h, IFLA_IFNAME, CONTAINER_IF);
        mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
        mnl_attr_nest_end(h, peer);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
        return nl_talk(nl, h, NULL, NULL);
}

static int link_create_bridge(Nl *nl, const char *name)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        put_ifinfo(h, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(h, info);
        return nl_talk(nl, h, NULL, NULL);
}

/* Up, and optionally a port of master (ifindex; 0 = none). By name, so it
 * works in a namespace whose indices we do not know. */
static int link_set_up(Nl *nl, const char *name, int master)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
        struct ifinfomsg *i = put_ifinfo(h, 0);
        i->ifi_flags = IFF_UP;
        i->ifi_change = IFF_UP;
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        if (master > 0)
                mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
        return nl_talk(nl, h, NULL, NULL);
}

static int link_delete(Nl *nl, const char *name)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_DELLINK, 0);
        put_ifinfo(h, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        return nl_talk(nl, h, NULL, NULL);
}

static int index_cb(const struct nlmsghdr *h, void *data)
{
        const struct ifinfomsg *i = mnl_nlmsg_get_payload(h);
        *(int *)data = i->ifi_index;
        return MNL_CB_OK;
}

static int link_index(Nl *nl, const char *name, int *ret)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_GETLINK, 0);
        put_ifinfo(h, 0);
        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        *ret = 0;
        int r = nl_talk(nl, h, index_cb, ret);
        return r < 0 ? r : *ret > 0 ? 0 : -ENODEV;
}

static int addr_add(Nl *nl, int index, uint32_t addr, unsigned prefix)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        struct ifaddrmsg *a = mnl_nlmsg_put_extra_header(h, sizeof(*a));
        a->ifa_family = AF_INET;
        a->ifa_prefixlen = (unsigned char)prefix;
        a->ifa_scope = RT_SCOPE_UNIVERSE;
        a->ifa_index = (unsigned)index;
        uint32_t be = htonl(addr);
        mnl_attr_put_u32(h, IFA_LOCAL, be);
        mnl_attr_put_u32(h, IFA_ADDRESS, be);
        return nl_talk(nl, h, NULL, NULL);
}

static int route_add_default(Nl *nl, int index, uint32_t gateway)
{
        struct nlmsghdr *h = nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
        rt->rtm_family = AF_INET;
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_BOOT;
        rt->rtm_scope = RT_SCOPE_UNIVERSE;
        rt->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gateway));
        mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
        return nl_talk(nl, h, NULL, NULL);
}

/* ---- the pool ------------------------------------------------------------ */

/* Locks path exclusively without waiting; 0 and the fd when it was free.
 * A file unlinked by its previous holder between our open and our flock is
 * detected by comparing inodes, so two holders never share a name. */
static int try_lock(const char *path, int how, int *ret_fd)
{
        for (int tries = 0; tries < 8; tries++) {
                _cleanup_close_ int fd =
                        open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -errno;
                if (flock(fd, how | LOCK_NB) < 0)
                        return errno == EWOULDBLOCK ? -EBUSY : -errno;
                struct stat a, b;
                if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino)
                        continue;
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        return -EBUSY;
}

/* The pool's directory lock serialises group joins and leaves. */
static int lock_pool(void)
{
        int r = th_mkdir_p(NET_DIR, 0700);
        if (r < 0)
                return r;
        int fd = open(NET_DIR "/lock", O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int acquire_slot(IsolateNet *n, unsigned start, ThError *err)
{
        for (unsigned i = 0; i < ISOLATE_NET_SLOTS; i++) {
                unsigned slot = (start + i) % ISOLATE_NET_SLOTS;
                _cleanup_free_ char *p = th_strdup_printf(NET_DIR "/slot-%u", slot);
                if (!p)
                        return th_error_set(err, ENOMEM, "out of memory");
                int r = try_lock(p, LOCK_EX, &n->slot_fd);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return th_error_errno(err, -r, "lock '%s'", p);
                n->slot_path = TAKE_PTR(p);
                return (int)slot;
        }
        return th_error_set(err, EADDRNOTAVAIL, "no free link-local /30 left in the pool");
}

/* ---- the network namespace ----------------------------------------------- */

/* A child enters the user namespace (when given) and unshares a network
 * namespace, so the new namespace is owned by the container's user
 * namespace, as if PID 1 had created it; we keep a reference to it. */
static int make_netns(int userns_fd, int *ret_fd, ThError *err)
{
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return th_error_errno(err, errno, "pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return th_error_errno(err, errno, "fork");
        }
        if (pid == 0) {
                char b = 0;
                close(pipefd[0]);
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                if ((userns_fd >= 0 && setns(userns_fd, CLONE_NEWUSER) < 0) ||
                    unshare(CLONE_NEWNET) < 0)
                        _exit(1);
                if (write(pipefd[1], &b, 1) != 1)
                        _exit(1);
                /* Until the parent took its reference and kills us. */
                for (;;)
                        pause();
        }
        close(pipefd[1]);
        char b;
        int r = 0;
        if (read(pipefd[0], &b, 1) != 1)
                r = th_error_set(err, EPERM, "create the container's network namespace");
        if (r >= 0) {
                char p[64];
                th_snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
                *ret_fd = open(p, O_RDONLY | O_CLOEXEC);
                if (*ret_fd < 0)
                        r = th_error_errno(err, errno, "open '%s'", p);
        }
        close(pipefd[0]);
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        return r;
}

/* ---- the port forwarder -------------------------------------------------- */

typedef struct Conn {
        int fd[2];
        bool eof[2];
} Conn;

static void conn_close(Conn *c)
{
        for (int i = 0; i < 2; i++)
                if (c->fd[i] >= 0)
                        close(c->fd[i]);
        c->fd[0] = c->fd[1] = -1;
}

static int connect_to(uint32_t addr, uint16_t port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(addr) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Moves what is readable on one side to the other; half-closes on EOF. */
static void conn_pump(Conn *c, int from)
{
        char buf[16384];
        ssize_t k = read(c->fd[from], buf, sizeof(buf));
        if (k > 0 && th_write_all(c->fd[!from], buf, (size_t)k) >= 0)
                return;
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        c->eof[from] = true;
        (void)shutdown(c->fd[!from], SHUT_WR);
        if (k != 0 || c->eof[!from])
                conn_close(c);
}

static _Noreturn void forwarder(const int *listen_fds, const IsolatePort *ports, size_t n_ports,
                                uint32_t addr)
{
        Conn conns[FWD_MAX_CONNS];
        for (size_t i = 0; i < FWD_MAX_CONNS; i++)
                conns[i] = (Conn){ .fd = { -1, -1 } };
        for (;;) {
                struct pollfd p[FWD_MAX_PORTS + 2 * FWD_MAX_CONNS];
                size_t n = 0;
                for (size_t i = 0; i < n_ports; i++)
                        p[n++] = (struct pollfd){ .fd = listen_fds[i], .events = POLLIN };
                for (size_t i = 0; i < FWD_MAX_CONNS; i++)
                        for (int s = 0; s < 2; s++)
                                p[n++] = (struct pollfd){ .fd = conns[i].fd[s] >= 0 &&
                                                                                !conns[i].eof[s]
                                                                        ? conns[i].fd[s]
                                                                        : -1,
                                                          .events = POLLIN };
                if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
                        _exit(1);
                for (size_t i = 0; i < n_ports; i++) {
                        if (!p[i].revents)
                                continue;
                        int a = accept4(listen_fds[i], NULL, NULL, SOCK_CLOEXEC);
                        if (a < 0)
                                continue;
                        int b = connect_to(addr, ports[i].container);
                        size_t slot = FWD_MAX_CONNS;
                        for (size_t k = 0; k < FWD_MAX_CONNS && slot == FWD_MAX_CONNS; k++)
                                if (conns[k].fd[0] < 0)
                                        slot = k;
                        if (b < 0 || slot == FWD_MAX_CONNS) {
                                close(a);
                                if (b >= 0)
                                        close(b);
                                continue;
                        }
                        conns[slot] = (Conn){ .fd = { a, b } };
                }
                for (size_t i = 0; i < FWD_MAX_CONNS; i++)
                        for (int s = 0; s < 2; s++)
                                if (p[n_ports + 2 * i + (size_t)s].revents && conns[i].fd[s] >= 0)
                                        conn_pump(&conns[i], s);
        }
}

static int start_forwarder(IsolateNet *n, const IsolateSpec *spec, uint32_t addr, ThError *err)
{
        if (spec->n_ports > FWD_MAX_PORTS)
                return th_error_set(err, E2BIG, "at most %d forwarded ports", FWD_MAX_PORTS);
        int fds[FWD_MAX_PORTS];
        size_t k = 0;
        int r = 0;
        for (; k < spec->n_ports; k++) {
                struct sockaddr_in sa = { .sin_family = AF_INET,
                                          .sin_port = htons(spec->ports[k].host),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int one = 1;
                fds[k] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fds[k] < 0 ||
                    setsockopt(fds[k], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                    bind(fds[k], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
                    listen(fds[k], 64) < 0) {
                        r = th_error_errno(err, errno, "listen on 127.0.0.1:%u",
                                           spec->ports[k].host);
                        if (fds[k] >= 0)
                                close(fds[k]);
                        break;
                }
        }
        if (r >= 0) {
                n->forwarder = fork();
                if (n->forwarder < 0)
                        r = th_error_errno(err, errno, "fork the port forwarder");
        }
        if (r >= 0 && n->forwarder == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                /* Only the listeners: the worker's sync socket and locks
                 * must not live on in here. */
                int moved[16];
                /* Out of the way first, so no dup3() below hits a listener
                 * that still has to move. */
                for (size_t i = 0; i < k; i++)
                        if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 1024)) < 0)
                                _exit(1);
                for (size_t i = 0; i < k; i++) {
                        moved[i] = 3 + (int)i;
                        if (dup3(fds[i], moved[i], O_CLOEXEC) < 0)
                                _exit(1);
                }
                (void)syscall(SYS_close_range, 3 + k, ~0U, 0);
                forwarder(moved, spec->ports, k, addr);
        }
        for (size_t i = 0; i < k; i++)
                close(fds[i]);
        return r;
}

/* ---- groups --------------------------------------------------------------- */

static void group_bridge_name(unsigned group, char *buf, size_t size)
{
        th_snprintf(buf, size, "hbr%u", group);
}

/* Finds the group's /24 (or a free one) and takes a member address; called
 * with the pool lock held. Returns the member's slot number. */
static int join_group(IsolateNet *n, Nl *nl, const char *key, unsigned *ret_group, ThError *err)
{
        int r, free_group = -1;
        for (unsigned g = 0; g < ISOLATE_NET_GROUPS; g++) {
                _cleanup_free_ char *p = th_strdup_printf(NET_DIR "/group-%u", g);
                if (!p)
                        return th_error_set(err, ENOMEM, "out of memory");
                char buf[256] = {};
                _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        if (free_group < 0)
                                free_group = (int)g;
                        continue;
                }
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                bool in_use = flock(fd, LOCK_EX | LOCK_NB) < 0;
                if (in_use && k > 0 && strcmp(buf, key) == 0) {
                        *ret_group = g;
                        goto found;
                }
                if (!in_use) {
                        /* A stale group of a killed harness: remove its bridge. */
                        char br[IFNAMSIZ];
                        group_bridge_name(g, br, sizeof(br));
                        (void)link_delete(nl, br);
                        (void)unlink(p);
                        if (free_group < 0)
                                free_group = (int)g;
                }
        }
        if (free_group < 0)
                return th_error_set(err, EADDRNOTAVAIL, "no free link-local /24 for a group");
        *ret_group = (unsigned)free_group;
        {
                _cleanup_free_ char *p = th_strdup_printf(NET_DIR "/group-%u", *ret_group);
                _cleanup_close_ int fd =
                        p ? open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)
                          : -1;
                if (fd < 0 || th_write_all(fd, key, strlen(key)) < 0)
                        return th_error_errno(err, errno, "create the group file");
                char br[IFNAMSIZ];
                uint32_t baddr, unused;
                group_bridge_name(*ret_group, br, sizeof(br));
                (void)isolate_net_group_addrs(*ret_group, 0, &baddr, &unused);
                int idx = 0;
                r = link_create_bridge(nl, br);
                if (r >= 0)
                        r = link_index(nl, br, &idx);
                if (r >= 0)
                        r = addr_add(nl, idx, baddr, 24);
                if (r >= 0)
                        r = link_set_up(nl, br, 0);
                if (r < 0) {
                        (void)link_delete(nl, br);
                        (void)unlink(p);
                        return th_error_errno(err, -r, "create the bridge '%s'", br);
                }
        }
found:
        n->group_path = th_strdup_printf(NET_DIR "/group-%u", *ret_group);
        if (!n->group_path)
                return th_error_set(err, ENOMEM, "out of memory");
        n->group_fd = open(n->group_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (n->group_fd < 0 || flock(n->group_fd, LOCK_SH) < 0)
                return th_error_errno(err, errno, "lock '%s'", n->group_path);
        group_bridge_name(*ret_group, n->bridge, sizeof(n->bridge));
        for (unsigned m = 0; m < ISOLATE_NET_GROUP_MEMBERS; m++) {
                _cleanup_free_ char *p = th_strdup_printf(NET_DIR "/group-%u-%u", *ret_group, m);
                if (!p)
                        return th_error_set(err, ENOMEM, "out of memory");
                r = try_lock(p, LOCK_EX, &n->slot_fd);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return th_error_errno(err, -r, "lock '%s'", p);
                n->slot_path = TAKE_PTR(p);
                return (int)m;
        }
        return th_error_set(err, EADDRNOTAVAIL, "group '%s' is full", key);
}

/* With the pool lock held: the last member removes the bridge. */
static void leave_group(IsolateNet *n, Nl *nl)
{
        if (n->group_fd < 0)
                return;
        (void)flock(n->group_fd, LOCK_UN);
        if (flock(n->group_fd, LOCK_EX | LOCK_NB) == 0) {
                (void)link_delete(nl, n->bridge);
                (void)unlink(n->group_path);
        }
        close(n->group_fd);
        n->group_fd = -1;
}

/* ---- setup and release ---------------------------------------------------- */

static int configure_inside(int netns_fd, uint32_t addr, unsigned prefix, uint32_t gateway,
                            ThError *err)
{
        Nl nl = {};
        int idx = 0;
        int r = nl_open_in(&nl, netns_fd);
        if (r < 0)
                return th_error_errno(err, -r, "netlink in the container's namespace");
        r = link_set_up(&nl, "lo", 0);
        if (r >= 0)
                r = link_index(&nl, CONTAINER_IF, &idx);
        if (r >= 0)
                r = addr_add(&nl, idx, addr, prefix);
        if (r >= 0)
                r = link_set_up(&nl, CONTAINER_IF, 0);
        if (r >= 0)
                r = route_add_default(&nl, idx, gateway);
        nl_close(&nl);
        return r < 0 ? th_error_errno(err, -r, "configure '" CONTAINER_IF "' in the container") : 0;
}

static int setup(IsolateNet *n, const IsolateSpec *spec, int userns_fd, ThError *err)
{
        static unsigned counter;
        uint32_t host_addr = 0, addr = 0;
        unsigned prefix = 30;
        Nl nl = {};
        int r = make_netns(userns_fd, &n->netns_fd, err);
        if (r < 0)
                return r;
        th_snprintf(n->host_if, sizeof(n->host_if), "hv%x",
                    ((unsigned)getpid() << 8) | (counter++ & 0xff));
        r = nl_open(&nl);
        if (r < 0)
                return th_error_errno(err, -r, "netlink");
        int lock = lock_pool();
        if (lock < 0) {
                nl_close(&nl);
                return th_error_errno(err, -lock, "lock '" NET_DIR "'");
        }
        if (spec->network_group) {
                unsigned group = 0;
                r = join_group(n, &nl, spec->network_group, &group, err);
                if (r >= 0)
                        r = isolate_net_group_addrs(group, (unsigned)r, &host_addr, &addr);
                prefix = 24;
        } else {
                r = acquire_slot(n, ((unsigned)getpid() * 2654435761u) % ISOLATE_NET_SLOTS, err);
                if (r >= 0)
                        r = isolate_net_slot_addrs((unsigned)r, &host_addr, &addr);
        }
        int master = 0;
        if (r >= 0 && (r = link_create_veth(&nl, n->host_if, n->netns_fd)) < 0)
                th_error_errno(err, -r, "create the veth pair '%s'", n->host_if);
        else if (r >= 0 && n->bridge[0] && (r = link_index(&nl, n->bridge, &master)) < 0)
                th_error_errno(err, -r, "bridge '%s'", n->bridge);
        close(lock);
        if (r >= 0 && !n->bridge[0]) {
                int idx = 0;
                r = link_index(&nl, n->host_if, &idx);
                if (r >= 0)
                        r = addr_add(&nl, idx, host_addr, prefix);
                if (r < 0)
                        th_error_errno(err, -r, "address on '%s'", n->host_if);
        }
        if (r >= 0 && (r = link_set_up(&nl, n->host_if, master)) < 0)
                th_error_errno(err, -r, "set '%s' up", n->host_if);
        nl_close(&nl);
        if (r < 0)
                return r;
        r = configure_inside(n->netns_fd, addr, prefix, host_addr, err);
        if (r < 0)
                return r;
        (void)isolate_net_format_addr(addr, n->address, sizeof(n->address));
        if (spec->n_ports > 0)
                return start_forwarder(n, spec, addr, err);
        return 0;
}

/* What a killed harness left in the pool: entries whose lock is free, and
 * the bridges of such groups (their veth pairs died with the members'
 * namespaces). A racing try_lock() notices an unlinked file by its inode.
 * Cheap when the pool is empty. */
void isolate_net_sweep(void)
{
        _cleanup_closedir_ DIR *d = opendir(NET_DIR);
        bool any = false;
        for (struct dirent *de; d && (de = readdir(d));)
                any |= de->d_name[0] != '.' && strcmp(de->d_name, "lock") != 0;
        if (!any)
                return;
        Nl nl = {};
        int lock = lock_pool();
        if (lock < 0 || nl_open(&nl) < 0) {
                if (lock >= 0)
                        close(lock);
                return;
        }
        rewinddir(d);
        for (struct dirent *de; (de = readdir(d));) {
                unsigned g;
                char tail;
                if (de->d_name[0] == '.' || strcmp(de->d_name, "lock") == 0)
                        continue;
                _cleanup_close_ int fd =
                        openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                if (sscanf(de->d_name, "group-%u%c", &g, &tail) == 1) {
                        char br[IFNAMSIZ];
                        group_bridge_name(g, br, sizeof(br));
                        (void)link_delete(&nl, br);
                }
                (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        nl_close(&nl);
        close(lock);
}

int isolate_net_prepare(const IsolateSpec *spec, int userns_fd, IsolateNet **ret, ThError *err)
{
        isolate_net_sweep();
        if (spec->network != ISOLATE_NETWORK_VETH) {
                if (spec->n_ports > 0 || spec->network_group)
                        return th_error_set(err, EINVAL,
                                            "ports and groups need network 'veth', not '%s'",
                                            isolate_network_to_string(spec->network));
                *ret = NULL;
                return 0;
        }
        IsolateNet *n = calloc(1, sizeof(*n));
        if (!n)
                return th_error_set(err, ENOMEM, "out of memory");
        *n = (IsolateNet){ .netns_fd = -1, .slot_fd = -1, .group_fd = -1 };
        int r = setup(n, spec, userns_fd, err);
        if (r < 0) {
                isolate_net_release(n);
                return r;
        }
        *ret = n;
        return 0;
}

int isolate_net_netns_fd(const IsolateNet *n)
{
        return n ? n->netns_fd : -1;
}

const char *isolate_net_address(const IsolateNet *n)
{
        return n && n->address[0] ? n->address : NULL;
}

IsolateNet *isolate_net_release(IsolateNet *n)
{
        if (!n)
                return NULL;
        if (n->forwarder > 0) {
                (void)kill(n->forwarder, SIGKILL);
                (void)waitpid(n->forwarder, NULL, 0);
        }
        Nl nl = {};
        int lock = lock_pool();
        if (nl_open(&nl) >= 0) {
                /* Deleting one end deletes the pair, now rather than when the
                 * namespace is freed (asynchronously, after the last fd). */
                if (n->host_if[0])
                        (void)link_delete(&nl, n->host_if);
                leave_group(n, &nl);
                nl_close(&nl);
        }
        if (n->slot_path) {
                (void)unlink(n->slot_path);
                free(n->slot_path);
        }
        if (n->slot_fd >= 0)
                close(n->slot_fd);
        if (n->group_fd >= 0)
                close(n->group_fd);
        free(n->group_path);
        if (lock >= 0)
                close(lock);
        if (n->netns_fd >= 0)
                close(n->netns_fd);
        free(n);
        return NULL;
}

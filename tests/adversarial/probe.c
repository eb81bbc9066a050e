/* A static probe for the adversarial tests, bound into containers as a
 * fixture (crun's tests/init.c model). Each sub-command tries one thing a
 * hostile test would do and prints what happened; the exit status says
 * whether the protection held (0) or was broken (1). Usage errors exit 2.
 *
 *   probe tiocsti            inject a command into fds 0-2 and /dev/tty
 *   probe fds                no fd >= 3 of any visible process is a directory
 *                            or leads outside the root; cwd inside the root
 *   probe abstract-listen N  (host side) serve the abstract socket @N
 *   probe abstract-connect N connect to @N: must fail
 *   probe syscalls           call each syscall the container's seccomp filter
 *                            denies, raw (and through the 32-bit ABI on
 *                            x86_64), and print what each returned; 0 when
 *                            every one failed with EPERM
 *   probe fill PATH          write PATH in 1 MiB steps until a write fails;
 *                            print the bytes written and the errno
 *   probe setcap PATH        give PATH the file capability cap_dac_read_search
 *                            (a raw security.capability xattr, v2); prints
 *                            "SETCAP ok" when the kernel took it
 *   probe forge-sync pid|error [PID]
 *                            take PID 1's sync socket with pidfd_getfd() and
 *                            send a forged SYNC_PID naming the host's PID, or
 *                            a SYNC_ERROR full of terminal escapes; prints
 *                            "STOLE fd N" and "SENT ..." when that worked
 *   probe privs              (host side, run as an unprivileged user) print
 *                            the effective uid and capabilities this process
 *                            got; 1 when it got root or any capability (a
 *                            set-uid or file-capability copy of the probe) */
#define _GNU_SOURCE 1 /* strerrorname_np() */
#include <dirent.h>
#include <stdint.h>
#include <sys/xattr.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int try_tiocsti(int fd, const char *what)
{
        int bad = 0;
        const char *cmd = "touch /tmp/PWNED-BY-TIOCSTI\n";
        /* The plain request, and the high-bit variant that defeated
         * flatpak's seccomp filter (CVE-2019-10063). */
        unsigned long reqs[] = { TIOCSTI, (1UL << 32) | TIOCSTI };
        for (size_t r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
                /* TIOCSTI queues one byte per call: the whole command, one
                 * byte at a time, so a hole would run it for real. */
                long rc = 0;
                for (const char *c = cmd; *c && rc == 0; c++)
                        rc = syscall(SYS_ioctl, fd, reqs[r], c);
                if (rc == 0) {
                        printf("INJECTED via %s (request %#lx)\n", what, reqs[r]);
                        bad = 1;
                } else
                        printf("tiocsti %s request %#lx: %s\n", what, reqs[r], strerror(errno));
        }
        return bad;
}

static int cmd_tiocsti(void)
{
        int bad = 0;
        for (int fd = 0; fd <= 2; fd++) {
                char what[16];
                snprintf(what, sizeof(what), "fd %d", fd);
                bad |= try_tiocsti(fd, what);
        }
        int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (tty < 0)
                printf("open /dev/tty: %s\n", strerror(errno));
        else {
                bad |= try_tiocsti(tty, "/dev/tty");
                close(tty);
        }
        return bad;
}

/* Every fd >= 3 of every process we can see: none may be a directory (a
 * directory fd is a way out of the root: fchdir + ..), none may point at a
 * path outside the container. Our own directory stream is skipped. */
static int cmd_fds(void)
{
        int bad = 0;
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/') {
                printf("BAD cwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : strerror(errno));
                bad = 1;
        } else
                printf("cwd %s\n", cwd);
        DIR *proc = opendir("/proc");
        if (!proc) {
                printf("BAD: opendir /proc: %s\n", strerror(errno));
                return 1;
        }
        struct dirent *p;
        int self = getpid();
        while ((p = readdir(proc))) {
                int pid = atoi(p->d_name);
                if (pid <= 0)
                        continue;
                char path[64], link[4096];
                snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
                ssize_t n = readlink(path, link, sizeof(link) - 1);
                if (n > 0) {
                        link[n] = 0;
                        if (link[0] != '/') {
                                printf("BAD pid %d cwd outside the root: %s\n", pid, link);
                                bad = 1;
                        }
                }
                snprintf(path, sizeof(path), "/proc/%d/root", pid);
                n = readlink(path, link, sizeof(link) - 1);
                if (n > 0) {
                        link[n] = 0;
                        if (strcmp(link, "/") != 0) {
                                printf("BAD pid %d root is %s\n", pid, link);
                                bad = 1;
                        }
                }
                snprintf(path, sizeof(path), "/proc/%d/fd", pid);
                DIR *fds = opendir(path);
                if (!fds) {
                        printf("pid %d fds: %s\n", pid, strerror(errno));
                        continue;
                }
                struct dirent *f;
                while ((f = readdir(fds))) {
                        int fd = atoi(f->d_name);
                        if (f->d_name[0] == '.' || fd <= 2)
                                continue;
                        if (pid == self && fd == dirfd(fds))
                                continue;
                        if (pid == self && fd == dirfd(proc))
                                continue;
                        char fpath[512];
                        snprintf(fpath, sizeof(fpath), "%s/%s", path, f->d_name);
                        n = readlink(fpath, link, sizeof(link) - 1);
                        link[n > 0 ? n : 0] = 0;
                        /* A directory fd is fine only if it is the very
                         * directory its path names inside the container
                         * (systemd's own /sys/fs/cgroup); a host directory
                         * shows a path that is another inode here. */
                        struct stat st, in;
                        if (stat(fpath, &st) == 0 && S_ISDIR(st.st_mode) &&
                            (stat(link, &in) < 0 || in.st_dev != st.st_dev ||
                             in.st_ino != st.st_ino)) {
                                printf("BAD pid %d fd %d is a directory outside: %s\n", pid, fd,
                                       link);
                                bad = 1;
                        } else
                                printf("pid %d fd %d -> %s\n", pid, fd, link);
                }
                closedir(fds);
        }
        closedir(proc);
        return bad;
}

static socklen_t abstract_addr(const char *name, struct sockaddr_un *a)
{
        memset(a, 0, sizeof(*a));
        a->sun_family = AF_UNIX;
        size_t l = strlen(name);
        if (l > sizeof(a->sun_path) - 2)
                l = sizeof(a->sun_path) - 2;
        memcpy(a->sun_path + 1, name, l);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
}

static int cmd_abstract_listen(const char *name)
{
        struct sockaddr_un a;
        socklen_t len = abstract_addr(name, &a);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 16) < 0) {
                perror("abstract-listen");
                return 2;
        }
        printf("listening on @%s\n", name);
        fflush(stdout);
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
                int c = accept(s, NULL, NULL);
                if (c < 0)
                        continue;
                (void)!write(c, "HOST-SECRET\n", 12);
                close(c);
        }
}

static int cmd_abstract_connect(const char *name)
{
        struct sockaddr_un a;
        socklen_t len = abstract_addr(name, &a);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
                printf("socket: %s\n", strerror(errno));
                return 0;
        }
        if (connect(s, (struct sockaddr *)&a, len) < 0) {
                printf("connect @%s: %s\n", name, strerror(errno));
                return 0;
        }
        char buf[64] = {};
        (void)!read(s, buf, sizeof(buf) - 1);
        printf("CONNECTED to @%s: %s", name, buf);
        return 1;
}

/* ---- syscalls: the seccomp filter's denials ------------------------------ */

#ifndef KEYCTL_GET_KEYRING_ID
#define KEYCTL_GET_KEYRING_ID 0
#endif
#define KEY_SPEC_SESSION_KEYRING (-3)
#define KEY_SPEC_PROCESS_KEYRING (-2)
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static int denied_total, denied_eperm;

/* Prints "NAME: ok" or "NAME: ERRNO"; counts the EPERMs. */
static void report(const char *name, long rc, int e)
{
        denied_total++;
        if (rc >= 0) {
                printf("%s: ok (%ld)\n", name, rc);
                return;
        }
        const char *n = strerrorname_np(e);
        printf("%s: %s\n", name, n ? n : "?");
        if (e == EPERM)
                denied_eperm++;
}

#define RAW(name, ...)                                            \
        do {                                                      \
                errno = 0;                                        \
                long rc_ = syscall(__VA_ARGS__);                  \
                int e_ = errno;                                   \
                report(name, rc_, e_);                            \
                if (rc_ > 2 && rc_ < 65536 && strstr(name, "fd")) \
                        close((int)rc_);                          \
        } while (0)

#if defined(__x86_64__)
/* The i386 ABI from a 64-bit process: int 0x80 takes 32-bit numbers and
 * arguments in ebx, ecx, edx, esi, edi. */
static long int80(long nr, long a, long b, long c, long d)
{
        long ret;
        __asm__ volatile("int $0x80"
                         : "=a"(ret)
                         : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
                         : "memory", "r8", "r9", "r10", "r11");
        return ret;
}

static void report32(const char *name, long ret)
{
        if (ret < 0 && ret > -4096)
                report(name, -1, (int)-ret);
        else
                report(name, ret, 0);
}
#endif

static int cmd_syscalls(void)
{
        /* Each call is harmless where it is allowed: invalid or empty
         * arguments, or an object that dies with the process. */
        struct io_uring_params up = {};
        RAW("io_uring_setup fd", SYS_io_uring_setup, 1, &up);
        RAW("io_uring_enter", SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
        RAW("io_uring_register", SYS_io_uring_register, -1, 0, NULL, 0);
        RAW("keyctl", SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
        RAW("add_key", SYS_add_key, "user", "harness-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
        RAW("request_key", SYS_request_key, "user", "harness-probe-none", NULL, 0);
        RAW("bpf", SYS_bpf, 0x7fff, NULL, 0);
        struct perf_event_attr pa = { .type = PERF_TYPE_SOFTWARE,
                                      .size = sizeof(pa),
                                      .config = PERF_COUNT_SW_DUMMY,
                                      .disabled = 1,
                                      .exclude_kernel = 1 };
        RAW("perf_event_open fd", SYS_perf_event_open, &pa, 0, -1, -1, 0);
        struct {
                unsigned int handle_bytes;
                int handle_type;
                unsigned char f_handle[128];
        } fh = { .handle_bytes = 128 };
        int mnt_id;
        /* name_to_handle_at stays allowed (systemd reads cgroup ids with
         * it); the handle it gives is what open_by_handle_at must refuse. */
        if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mnt_id, 0) < 0)
                fh.handle_bytes = 8;
        RAW("open_by_handle_at fd", SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
        RAW("kexec_load", SYS_kexec_load, 0, 0, NULL, 0xdead0000UL);
        RAW("kexec_file_load", SYS_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL);
        RAW("userfaultfd fd", SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
        RAW("finit_module", SYS_finit_module, -1, "", 0);
        RAW("delete_module", SYS_delete_module, "harness_probe_none", O_NONBLOCK);
        RAW("swapoff", SYS_swapoff, "/harness-probe-none");
#if defined(__x86_64__)
        RAW("iopl", SYS_iopl, 0);
        RAW("ioperm", SYS_ioperm, 0, 0, 0);
        /* i386 numbers: keyctl 288, add_key 286, bpf 357, io_uring_setup 425. */
        report32("keyctl/i386", int80(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0));
        report32("add_key/i386", int80(286, 0, 0, 0, 0));
        report32("bpf/i386", int80(357, 0x7fff, 0, 0, 0));
        report32("io_uring_setup/i386", int80(425, 1, 0, 0, 0));
#endif
        printf("%d of %d calls failed with EPERM\n", denied_eperm, denied_total);
        return denied_eperm == denied_total ? 0 : 1;
}

static int cmd_fill(const char *path)
{
        static char buf[1 << 20];
        memset(buf, 'x', sizeof(buf));
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                printf("fill %s: open: %s\n", path, strerrorname_np(errno));
                return 2;
        }
        unsigned long long total = 0;
        for (;;) {
                ssize_t n = write(fd, buf, sizeof(buf));
                if (n <= 0) {
                        printf("fill %s: %llu bytes (%llu MiB): %s\n", path, total, total >> 20,
                               n < 0 ? strerrorname_np(errno) : "short");
                        break;
                }
                total += (unsigned long long)n;
        }
        close(fd);
        unlink(path);
        return 0;
}

/* The worker's SyncMsg (isolate-internal.h): kind, value, ThError. */
struct forged_msg {
        int kind;
        int value;
        int code;
        char msg[512];
};

static int cmd_forge_sync(const char *what, const char *arg)
{
        int pidfd = pidfd_open(1, 0);
        if (pidfd < 0) {
                printf("pidfd_open(1): %s\n", strerror(errno));
                return 0;
        }
        int sock = -1;
        for (int target = 3; target < 256 && sock < 0; target++) {
                int fd = pidfd_getfd(pidfd, target, 0);
                if (fd < 0)
                        continue;
                int type = 0;
                socklen_t len = sizeof(type);
                struct sockaddr_storage a;
                socklen_t alen = sizeof(a);
                if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
                    type == SOCK_SEQPACKET && getsockname(fd, (struct sockaddr *)&a, &alen) == 0 &&
                    a.ss_family == AF_UNIX) {
                        printf("STOLE fd %d of PID 1 (a unix seqpacket socket)\n", target);
                        sock = fd;
                } else
                        close(fd);
        }
        if (sock < 0) {
                printf("pidfd_getfd: no sync socket in PID 1 (%s)\n", strerror(errno));
                return 0;
        }
        struct forged_msg m = {};
        if (strcmp(what, "pid") == 0) {
                m.kind = 0; /* SYNC_PID */
                m.value = arg ? atoi(arg) : 1;
        } else {
                m.kind = 2; /* SYNC_ERROR */
                m.code = 5;
                snprintf(m.msg, sizeof(m.msg),
                         "FORGED \033]0;PWNED-TITLE\007\033[2J\033[31mred\033[0m bell\a end");
        }
        if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m)) {
                printf("send forged %s: %s\n", what, strerror(errno));
                return 0;
        }
        printf("SENT forged SYNC_%s%s%s\n", strcmp(what, "pid") == 0 ? "PID " : "ERROR",
               strcmp(what, "pid") == 0 && arg ? arg : "", "");
        return 1;
}

static int cmd_setcap(const char *path)
{
        /* struct vfs_cap_data, revision 2: permitted and effective
         * CAP_DAC_READ_SEARCH (2). */
        uint32_t cap[5] = { 0x02000000u | 0x000001u, 1u << 2, 0, 0, 0 };
        if (setxattr(path, "security.capability", cap, sizeof(cap), 0) < 0) {
                printf("setcap %s: %s\n", path, strerror(errno));
                return 1;
        }
        printf("SETCAP ok %s\n", path);
        return 0;
}

static int cmd_privs(void)
{
        char line[256];
        unsigned long long eff = 0;
        FILE *f = fopen("/proc/self/status", "re");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "CapEff:", 7) == 0)
                        eff = strtoull(line + 7, NULL, 16);
        if (f)
                fclose(f);
        printf("EUID %d CAPEFF %llx\n", (int)geteuid(), eff);
        return geteuid() == 0 || eff != 0;
}

int main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 2 && strcmp(argv[1], "tiocsti") == 0)
                return cmd_tiocsti();
        if (argc == 2 && strcmp(argv[1], "fds") == 0)
                return cmd_fds();
        if (argc == 3 && strcmp(argv[1], "abstract-listen") == 0)
                return cmd_abstract_listen(argv[2]);
        if (argc == 3 && strcmp(argv[1], "abstract-connect") == 0)
                return cmd_abstract_connect(argv[2]);
        if (argc == 2 && strcmp(argv[1], "syscalls") == 0)
                return cmd_syscalls();
        if (argc == 3 && strcmp(argv[1], "fill") == 0)
                return cmd_fill(argv[2]);
        if (argc == 3 && strcmp(argv[1], "setcap") == 0)
                return cmd_setcap(argv[2]);
        if (argc >= 3 && strcmp(argv[1], "forge-sync") == 0)
                return cmd_forge_sync(argv[2], argc > 3 ? argv[3] : NULL);
        if (argc == 2 && strcmp(argv[1], "privs") == 0)
                return cmd_privs();
        fprintf(stderr, "usage: probe tiocsti|fds|abstract-listen NAME|abstract-connect NAME|"
                        "forge-sync pid|error [PID]|syscalls|fill PATH|privs\n");
        return 2;
}

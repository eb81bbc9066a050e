/* isolate: the stub init of direct mode (PID 1: runs the command as PID 2,
 * reaps, forwards SIGTERM/SIGINT, exits with the command's status) and the
 * user switch inside the container. */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "isolate-internal.h"

/* ---- harness-init's command line (built by PID 1, parsed by init-main.c) */

/* The options, in the order they are written. */
#define INIT_OPT_SYNC        "--sync"
#define INIT_OPT_STDOUT      "--stdout"
#define INIT_OPT_STDERR      "--stderr"
#define INIT_OPT_INTERACTIVE "--interactive"
#define INIT_OPT_HOLD        "--hold"
#define INIT_OPT_USER        "--user"
#define INIT_OPT_CHDIR       "--chdir"
#define INIT_OPT_SETUP       "--setup"
#define INIT_OPT_END         "--"

/* argv[0], the options with their values, and the NULL after the command. */
#define INIT_ARGV_FIXED 18
#define INIT_NUMBER_MAX 24 /* an int or a size_t in decimal, with its NUL */

char **isolate_init_argv(const InitParams *p)
{
        size_t n_setup = th_strv_length(p->setup_argv), n_argv = th_strv_length(p->argv), n = 0;
        size_t slots = INIT_ARGV_FIXED + n_setup + n_argv;
        /* One allocation: the pointers, then the numbers they point to. */
        char **argv = calloc(1, slots * sizeof(char *) + 4 * INIT_NUMBER_MAX);
        if (!argv)
                return NULL;
        char *num = (char *)(argv + slots);
        char *sync = num, *out = num + INIT_NUMBER_MAX, *err = num + 2 * INIT_NUMBER_MAX,
             *nsetup = num + 3 * INIT_NUMBER_MAX;
        th_snprintf(sync, INIT_NUMBER_MAX, "%d", p->sync_fd);
        th_snprintf(out, INIT_NUMBER_MAX, "%d", p->stdout_fd);
        th_snprintf(err, INIT_NUMBER_MAX, "%d", p->stderr_fd);
        th_snprintf(nsetup, INIT_NUMBER_MAX, "%zu", n_setup);
        argv[n++] = "harness-init";
        argv[n++] = INIT_OPT_SYNC;
        argv[n++] = sync;
        if (p->stdout_fd >= 0) {
                argv[n++] = INIT_OPT_STDOUT;
                argv[n++] = out;
        }
        if (p->stderr_fd >= 0) {
                argv[n++] = INIT_OPT_STDERR;
                argv[n++] = err;
        }
        if (p->interactive)
                argv[n++] = INIT_OPT_INTERACTIVE;
        if (p->hold)
                argv[n++] = INIT_OPT_HOLD;
        if (p->user) {
                argv[n++] = INIT_OPT_USER;
                argv[n++] = (char *)p->user;
        }
        if (p->workdir) {
                argv[n++] = INIT_OPT_CHDIR;
                argv[n++] = (char *)p->workdir;
        }
        if (n_setup) {
                argv[n++] = INIT_OPT_SETUP;
                argv[n++] = nsetup;
                for (size_t i = 0; i < n_setup; i++)
                        argv[n++] = p->setup_argv[i];
        }
        argv[n++] = INIT_OPT_END;
        for (size_t i = 0; i < n_argv; i++)
                argv[n++] = p->argv[i];
        return argv;
}

static int fd_arg(const char *s)
{
        char *end;
        long v = strtol(s, &end, 10);
        return *s && !*end && v >= 0 && v < 65536 ? (int)v : -1;
}

int isolate_init_parse(int argc, char **argv, InitParams *p)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, INIT_OPT_END) == 0) {
                        p->argv = &argv[i + 1];
                        break;
                } else if (strcmp(a, INIT_OPT_INTERACTIVE) == 0)
                        p->interactive = true;
                else if (strcmp(a, INIT_OPT_HOLD) == 0)
                        p->hold = true;
                else if (v && strcmp(a, INIT_OPT_USER) == 0)
                        p->user = argv[++i];
                else if (v && strcmp(a, INIT_OPT_CHDIR) == 0)
                        p->workdir = argv[++i];
                else if (v && strcmp(a, INIT_OPT_SYNC) == 0)
                        p->sync_fd = fd_arg(argv[++i]);
                else if (v && strcmp(a, INIT_OPT_STDOUT) == 0)
                        p->stdout_fd = fd_arg(argv[++i]);
                else if (v && strcmp(a, INIT_OPT_STDERR) == 0)
                        p->stderr_fd = fd_arg(argv[++i]);
                else if (v && strcmp(a, INIT_OPT_SETUP) == 0) {
                        int n = fd_arg(argv[++i]);
                        if (n <= 0 || n > argc - i - 1)
                                return -EINVAL;
                        char **setup = calloc((size_t)n + 1, sizeof(char *));
                        if (!setup)
                                return -ENOMEM;
                        memcpy(setup, &argv[i + 1], (size_t)n * sizeof(char *));
                        p->setup_argv = setup;
                        i += n;
                } else
                        return -EINVAL;
        }
        return p->sync_fd < 0 || !p->argv || !p->argv[0] ? -EINVAL : 0;
}

/* Looks the user up in the container's /etc/passwd (name or number). */
static int lookup_user(const char *user, uid_t *ret_uid, gid_t *ret_gid, char **ret_home,
                       ThError *err)
{
        char *end;
        unsigned long n = strtoul(user, &end, 10);
        bool numeric = *user && !*end;
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        char line[1024];
        while (f && fgets(line, sizeof(line), f)) {
                char *save = NULL, *name = strtok_r(line, ":", &save);
                char *pw = strtok_r(NULL, ":", &save), *uid = strtok_r(NULL, ":", &save);
                char *gid = strtok_r(NULL, ":", &save), *gecos = strtok_r(NULL, ":", &save);
                char *home = strtok_r(NULL, ":", &save);
                (void)pw;
                if (!name || !uid || !gid)
                        continue;
                if (home && gecos && !*gecos)
                        gecos = NULL;
                if (numeric ? strtoul(uid, NULL, 10) != n : strcmp(name, user) != 0)
                        continue;
                *ret_uid = (uid_t)strtoul(uid, NULL, 10);
                *ret_gid = (gid_t)strtoul(gid, NULL, 10);
                *ret_home = strdup(home && *home ? home : "/");
                return 0;
        }
        if (numeric) {
                *ret_uid = (uid_t)n;
                *ret_gid = (gid_t)n;
                *ret_home = strdup("/");
                return 0;
        }
        return th_error_set(err, ESRCH, "user '%s' not found in the container's /etc/passwd", user);
}

/* The supplementary groups of name in the container's /etc/group (what
 * initgroups() would find, without the host's NSS). */
static size_t lookup_groups(const char *name, gid_t primary, gid_t *gids, size_t max)
{
        size_t n = 0;
        gids[n++] = primary;
        _cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
        char line[4096];
        while (f && n < max && fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                char *save = NULL, *gname = strtok_r(line, ":", &save);
                char *pw = strtok_r(NULL, ":", &save), *gid = strtok_r(NULL, ":", &save);
                char *members = strtok_r(NULL, ":", &save), *msave = NULL;
                (void)gname;
                (void)pw;
                if (!gid || !members)
                        continue;
                for (char *m = strtok_r(members, ",", &msave); m; m = strtok_r(NULL, ",", &msave))
                        if (strcmp(m, name) == 0) {
                                gids[n++] = (gid_t)strtoul(gid, NULL, 10);
                                break;
                        }
        }
        return n;
}

static int switch_user(const char *user, char **env, ThError *err)
{
        uid_t uid = 0;
        gid_t gid = 0;
        _cleanup_free_ char *home = NULL;
        int r = lookup_user(user, &uid, &gid, &home, err);
        if (r < 0)
                return r;
        gid_t groups[64];
        size_t n = lookup_groups(user, gid, groups, ELEMENTSOF(groups));
        if (setgroups(n, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0)
                return th_error_errno(err, errno, "switch to user '%s'", user);
        /* Update HOME in place when the caller did not set it. */
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], "HOME=/root", 10) == 0 && home) {
                        char *h = th_strdup_printf("HOME=%s", home);
                        if (h)
                                env[i] = h; /* leaks into a process about to exec */
                }
        return 0;
}

/* PID 2 before its exec. The worker took READY already and believes no
 * error from the container any more: a failure here is the command's (exit
 * 127, like a shell's), told on its stderr. */
static _Noreturn void command_fail(const ThError *err)
{
        char line[sizeof(err->msg) + 32];
        int n = snprintf(line, sizeof(line), "harness-init: %s\n", err->msg);
        if (n > 0)
                (void)th_write_all(STDERR_FILENO, line,
                                   (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        _exit(127);
}

static _Noreturn void exec_child(const InitParams *p, char *const *argv)
{
        ThError err = {};
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        /* Nothing of the worker's channel reaches the command. */
        if (p->sync_fd >= 0)
                close(p->sync_fd);
        (void)setsid();
        if (p->interactive)
                (void)ioctl(0, TIOCSCTTY, 0); /* fails harmlessly without a terminal */
        else {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(p->stdout_fd, 1) < 0 ||
                    dup2(p->stderr_fd, 2) < 0) {
                        th_error_errno(&err, errno, "set up the command's stdio");
                        command_fail(&err);
                }
        }
        if (p->user && switch_user(p->user, p->env, &err) < 0)
                command_fail(&err);
        if (chdir(p->workdir ? p->workdir : "/") < 0) {
                th_error_errno(&err, errno, "change to directory '%s' in the container",
                               p->workdir);
                command_fail(&err);
        }
        execvpe(argv[0], argv, p->env);
        th_error_errno(&err, errno, "execute '%s' in the container", argv[0]);
        command_fail(&err);
}

static int status_of(int wstatus)
{
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        return 255;
}

/* Runs argv as PID 2 and waits for it, reaping every other child that the
 * kernel re-parents to us. Returns the status (0..255, 128+N). */
static int run_as_pid2(const InitParams *p, char *const *argv, int sfd)
{
        pid_t child = fork();
        if (child < 0)
                return 255;
        if (child == 0)
                exec_child(p, argv);
        for (;;) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
                        if (errno == EINTR)
                                continue;
                        return 255;
                }
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) {
                        (void)kill(child, (int)si.ssi_signo);
                        continue;
                }
                int ws;
                pid_t pid;
                while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
                        if (pid == child)
                                return status_of(ws);
        }
}

/* The stub init is a fork of the harness, so its /proc/PID/environ still shows
 * the harness's environment (CI secrets) to container root without private
 * users. Zero that block (env_start..env_end in /proc/self/stat) and point
 * environ at the container's own variables, as nspawn's stub PID 1 does. */
static void flush_host_environ(char **env)
{
        char buf[2048];
        _cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        char *f = n > 0 ? (buf[n] = 0, strrchr(buf, ')')) : NULL;
        unsigned long start = 0, end = 0;
        /* Fields after "comm)" start at 3; env_start and env_end are 50, 51. */
        for (int i = 2; f && i < 50; i++)
                f = strchr(f + 1, ' ');
        if (f && sscanf(f, " %lu %lu", &start, &end) == 2 && start && end > start)
                memset((void *)start, 0, end - start);
        environ = env;
}

/* The stub init never execs, so close-on-exec protects nothing here: every
 * fd the harness held (the caller's inherited fds, layer and cgroup dirs,
 * the host root) would stay open in PID 1, and /proc/1/fd/N of a directory
 * is a way out of the root for container root without private users
 * (CVE-2024-21626 class). Keep only stdio and the fds PID 1 needs. */
static void close_host_fds(const InitParams *p)
{
        int keep[] = { p->stdout_fd, p->stderr_fd, p->sync_fd };
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                for (size_t j = i + 1; j < ELEMENTSOF(keep); j++)
                        if (keep[j] < keep[i]) {
                                int t = keep[i];
                                keep[i] = keep[j];
                                keep[j] = t;
                        }
        unsigned lo = 3;
        for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                if (keep[i] < (int)lo)
                        continue;
                if ((unsigned)keep[i] > lo)
                        (void)syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
                lo = (unsigned)keep[i] + 1;
        }
        (void)syscall(SYS_close_range, lo, ~0U, 0);
}

_Noreturn void isolate_stub_init(const InitParams *p)
{
        if (!p->own_image)
                flush_host_environ(p->env);
        close_host_fds(p);
        /* This process never execs: its memory is the harness's. Not
         * dumpable, so the container (even its root: the mm belongs to the
         * host's user namespace) cannot ptrace it or read its /proc files. */
        (void)prctl(PR_SET_DUMPABLE, 0);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, NULL);
        int sfd = signalfd(-1, &set, SFD_CLOEXEC);
        if (sfd < 0) {
                ThError err = {};
                th_error_errno(&err, errno, "signalfd");
                isolate_sync_fail(p->sync_fd, &err);
        }
        (void)prctl(PR_SET_NAME, "harness-init");
        if (p->setup_argv) {
                int s = run_as_pid2(p, p->setup_argv, sfd);
                if (s != 0) {
                        (void)isolate_sync_send(p->sync_fd, SYNC_SETUP_FAILED, s, NULL);
                        _exit(s);
                }
        }
        int s = run_as_pid2(p, p->argv, sfd);
        if (!p->hold)
                _exit(s);
        /* Held for the caller (IsolateSpec.hold): reap what is left running
         * until SIGTERM, SIGINT or SIGHUP ends the container. */
        (void)isolate_sync_send(p->sync_fd, SYNC_KEPT, s, NULL);
        for (;;) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
                        if (errno == EINTR)
                                continue;
                        _exit(s);
                }
                if (si.ssi_signo != SIGCHLD)
                        _exit(s);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
        }
}

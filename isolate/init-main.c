/* harness-init: the stub init of direct mode as a program of its own.
 *
 * isolate embeds this small static binary, copies it into a sealed memfd
 * and has the container's PID 1 execveat() it, as runc (exeseal) and crun
 * (ensure_cloned_binary) do for their in-container helpers: no process of
 * the container is an image of the harness binary (CVE-2019-5736 class:
 * /proc/1/exe names the sealed copy, which no one can write), and PID 1
 * holds none of the harness's memory. It runs isolate_stub_init() (init.c).
 *
 * Usage, from isolate only:
 *   harness-init --sync FD --stdout FD --stderr FD [--interactive] [--hold]
 *                [--user USER] [--chdir DIR] [--setup N ARG...] -- CMD [ARG...]
 * The environment is the container's. */
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>

#include "isolate-internal.h"

static int fd_arg(const char *s)
{
        char *end;
        long v = strtol(s, &end, 10);
        return *s && !*end && v >= 0 && v < 65536 ? (int)v : -1;
}

int main(int argc, char **argv)
{
        InitParams p = {
                .env = environ, .own_image = true, .stdout_fd = -1, .stderr_fd = -1, .sync_fd = -1
        };
        int i;

        (void)prctl(PR_SET_DUMPABLE, 0);
        for (i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--") == 0) {
                        p.argv = &argv[i + 1];
                        break;
                } else if (strcmp(a, "--interactive") == 0)
                        p.interactive = true;
                else if (strcmp(a, "--hold") == 0)
                        p.hold = true;
                else if (v && strcmp(a, "--user") == 0)
                        p.user = argv[++i];
                else if (v && strcmp(a, "--chdir") == 0)
                        p.workdir = argv[++i];
                else if (v && strcmp(a, "--sync") == 0)
                        p.sync_fd = fd_arg(argv[++i]);
                else if (v && strcmp(a, "--stdout") == 0)
                        p.stdout_fd = fd_arg(argv[++i]);
                else if (v && strcmp(a, "--stderr") == 0)
                        p.stderr_fd = fd_arg(argv[++i]);
                else if (v && strcmp(a, "--setup") == 0) {
                        int n = fd_arg(argv[++i]);
                        if (n <= 0 || n > argc - i - 1)
                                break;
                        char **setup = calloc((size_t)n + 1, sizeof(char *));
                        if (!setup)
                                return 127;
                        memcpy(setup, &argv[i + 1], (size_t)n * sizeof(char *));
                        p.setup_argv = setup;
                        i += n;
                } else
                        break;
        }
        if (p.sync_fd < 0 || !p.argv || !p.argv[0]) {
                static const char msg[] = "harness-init: only harness starts this program\n";
                (void)!write(2, msg, sizeof(msg) - 1);
                return 127;
        }
        /* Inherited across the exec; the command gets only 0-2. */
        const int fds[] = { p.sync_fd, p.stdout_fd, p.stderr_fd };
        for (size_t k = 0; k < ELEMENTSOF(fds); k++)
                if (fds[k] >= 0 && fcntl(fds[k], F_SETFD, FD_CLOEXEC) < 0)
                        return 127;
        isolate_stub_init(&p);
}

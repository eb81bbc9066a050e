/* harness-init: the stub init of direct mode as a program of its own.
 *
 * isolate embeds this small static binary, copies it into a sealed memfd
 * and has the container's PID 1 execveat() it, as runc (exeseal) and crun
 * (ensure_cloned_binary) do for their in-container helpers: no process of
 * the container is an image of the harness binary (CVE-2019-5736 class:
 * /proc/1/exe names the sealed copy, which no one can write), and PID 1
 * holds none of the harness's memory. It runs isolate_stub_init() (init.c).
 *
 * Usage, from isolate only (isolate_init_argv() writes it, isolate_init_parse()
 * reads it, both in init.c):
 *   harness-init --sync FD --stdout FD --stderr FD [--interactive] [--hold]
 *                [--user USER] [--chdir DIR] [--setup N ARG...] -- CMD [ARG...]
 * The environment is the container's. */
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>

#include "isolate-internal.h"

int main(int argc, char **argv)
{
        InitParams p = {
                .env = environ, .own_image = true, .stdout_fd = -1, .stderr_fd = -1, .sync_fd = -1
        };

        (void)prctl(PR_SET_DUMPABLE, 0);
        if (isolate_init_parse(argc, argv, &p) < 0) {
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

/* runner: an interactive shell inside a running container, in the
 * foreground of the harness's terminal (harness run --shell-on-fail). */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>

#include "isolate.h"
#include "runner-internal.h"

/* The terminal's foreground process group becomes pgrp (SIGTTOU would stop a
 * background caller). */
static int give_terminal(int fd, pid_t pgrp)
{
        sigset_t ttou, old;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        sigprocmask(SIG_BLOCK, &ttou, &old);
        int r = tcsetpgrp(fd, pgrp) < 0 ? -errno : 0;
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

int runner_terminal_shell(const char *machine, int *ret_status, ThError *err)
{
        struct termios saved;
        bool have_modes = tcgetattr(STDIN_FILENO, &saved) == 0;
        pid_t fg = tcgetpgrp(STDIN_FILENO);

        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return th_error_errno(err, errno, "fork");
        if (pid == 0) {
                /* Its own process group in the foreground: ^C and ^Z reach
                 * the shell, not the runner (which blocks SIGINT to stop the
                 * whole run on it). */
                (void)setpgid(0, 0);
                if (give_terminal(STDIN_FILENO, getpid()) < 0)
                        th_debug("cannot take the terminal's foreground: %m");
                const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
                for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                        signal(sigs[i], SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                int status = 0;
                ThError e = {};
                if (isolate_machine_enter(machine, NULL, &status, &e) < 0) {
                        th_log(TH_LOG_ERROR, "%s", e.msg);
                        _exit(127);
                }
                _exit(status & 0xff);
        }
        (void)setpgid(pid, pid);
        (void)give_terminal(STDIN_FILENO, pid);
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0)
                if (errno != EINTR)
                        return th_error_errno(err, errno, "waitpid");
        if (fg > 0)
                (void)give_terminal(STDIN_FILENO, fg);
        if (have_modes)
                (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        *ret_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        return 0;
}

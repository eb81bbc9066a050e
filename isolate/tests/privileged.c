/* isolate: what the privileged Check tests (real containers) share. */
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privileged.h"

bool isolate_test_can_run(void)
{
        if (geteuid() != 0)
                return false;
        pid_t p = fork();
        if (p == 0)
                _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? 1 : 0);
        int st;
        return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

char *isolate_test_read_file(const char *path)
{
        static char buf[65536];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
                close(fd);
        buf[n > 0 ? n : 0] = 0;
        return buf;
}

/* bench/ns-true: the physical limit of a container on this machine as the
 * bench sees it: clone() a child into a fresh mount namespace, make its
 * mounts private, chroot into TREE and exec its `true`; wait for it. No PID,
 * user or network namespace, no overlay, no cgroup: what is left is the cost
 * of a process, an exec and a mount namespace's creation and teardown,
 * which every container pays.
 *
 * Usage: ns-true TREE [N]. Runs it N times (default 1); with N > 1 prints
 * the median wall time of one run in microseconds, measured inside this
 * program (no fork/exec of the measuring tool in it). Run as root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *tree;
static char stack[64 * 1024] __attribute__((aligned(16)));

static int child(void *arg)
{
        (void)arg;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || chroot(tree) < 0 ||
            chdir("/") < 0)
                _exit(126);
        char *argv[] = { (char *)"true", NULL };
        char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
        execve("/usr/bin/true", argv, envp);
        execve("/bin/true", argv, envp);
        _exit(127);
}

static int once(void)
{
        int status;
        pid_t pid = clone(child, stack + sizeof(stack), CLONE_NEWNS | SIGCHLD, NULL);

        if (pid < 0) {
                fprintf(stderr, "ns-true: clone: %s\n", strerror(errno));
                return -1;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        fprintf(stderr, "ns-true: waitpid: %s\n", strerror(errno));
                        return -1;
                }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "ns-true: the child failed (status 0x%x)\n", status);
                return -1;
        }
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
        long n = 1;

        if (argc < 2 || argc > 3 || (argc == 3 && (n = strtol(argv[2], NULL, 10)) < 1)) {
                fprintf(stderr, "usage: ns-true TREE [N]\n");
                return 2;
        }
        tree = argv[1];
        double *us = calloc((size_t)n, sizeof(double));
        if (!us)
                return 1;
        for (long i = 0; i < n; i++) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                if (once() < 0)
                        return 1;
                clock_gettime(CLOCK_MONOTONIC, &b);
                us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
        }
        if (n > 1) {
                qsort(us, (size_t)n, sizeof(double), cmp_double);
                printf("%.1f\n", us[n / 2]);
        }
        free(us);
        return 0;
}

/* isolate: one container's state, shared by the files of its lifecycle:
 * spawn.c (the worker: host-side preparation, isolate_run(), teardown),
 * spawn-outer.c (the outer child), spawn-inner.c (PID 1's setup and exec)
 * and spawn-wait.c (the worker's wait loop and the results). Internal to
 * isolate/. */
#pragma once

#include "isolate-internal.h"

/* The container's own fds, each -1 until its step made it; the teardown
 * closes them all. CFD_STDOUT..CFD_SETUP_RESULT are the worker's fds of the
 * files of the same names on the CFD_OUTPUT tmpfs (direct mode gives the
 * first two to the command; boot mode mounts the whole tmpfs). */
typedef enum ContainerFd {
        CFD_UPPER,          /* the tmpfs holding upper/ and work/ (-x) */
        CFD_OUTPUT,         /* the tmpfs of what the container writes for the harness */
        CFD_CONSOLE_MASTER, /* the console pty */
        CFD_CONSOLE_SLAVE,
        CFD_STDOUT, /* files on the output tmpfs */
        CFD_STDERR,
        CFD_JOURNAL,
        CFD_RESULT,
        CFD_SETUP_RESULT,
        CFD_CONSOLE_LOG,   /* the console's copy */
        CFD_SYNC,          /* PID 1 -> worker: READY, errors before it, status claims */
        CFD_SYNC_PID1,     /* its other end */
        CFD_PIDSOCK,       /* outer child -> worker: PID 1's pidfd and the root, once */
        CFD_PIDSOCK_OUTER, /* its other end */
        _CFD_MAX,
} ContainerFd;

/* The files on the output tmpfs, NULL-terminated: the first five in the
 * order of CFD_STDOUT..CFD_SETUP_RESULT; direct mode has the first two,
 * boot mode five, eight with system_state. */
#define ISOLATE_OUTPUT_FILES_MAX 8
extern const char *const isolate_output_files[ISOLATE_OUTPUT_FILES_MAX + 1];

/* Everything one container needs; owned by the worker. */
typedef struct Container {
        const IsolateSpec *spec;
        bool private_users;
        uid_t base;
        Cgroup cg;
        Userns userns;
        MountPlan plan;
        int *fds; /* the plan's fd table */
        size_t n_fds;
        int *layer_fds;
        size_t n_layers;
        int init_fd; /* harness-init's sealed memfd (not owned), or -1 */
        int fd[_CFD_MAX];
        const char *systemd; /* path inside the rootfs */
        char *stage;         /* per-container staging dir (host path, own mount ns only) */
        char **env;
        uint64_t caps;
        const struct sock_fprog *seccomp; /* the filter PID 1 loads last */
        pid_t worker;
        IsolateNet *net;  /* veth: the namespace made by net.c, joined by the outer child */
        Registration reg; /* the entry under /run/harness/machines */
        char name[64];    /* of its cgroup and staging dir */
        bool *bind_is_file;
        size_t n_started; /* preparation steps begun (spawn.c), undone in reverse */
        /* With max_reboots: the upper dir's tmpfs, kept across boots (a
         * detached mount; each boot gets a clone of it as CFD_UPPER). */
        int upper_keep;
} Container;

/* What the worker learns while it waits; owned by isolate_run(). */
typedef struct Waiter {
        int pid1_fd;
        pid_t pid1;
        int root_fd;
        bool ready, sync_eof, timed_out, failed, setup_failed;
        bool kept;       /* the command ended and the container was kept */
        int interrupted; /* the stop signal that arrived, or 0 */
        int setup_status;
        int wstatus;
        int kept_wstatus;   /* the kept command's, as a wait status */
        uint64_t held_usec; /* in spec->hold: not the container's time */
        ThError err;
} Waiter;

/* spawn-inner.c */
int container_init_fd(void);
_Noreturn void container_inner_child(Container *c);

/* spawn-outer.c */
pid_t container_clone3(uint64_t flags, int *pidfd, int cgroup_fd);
void container_join_outer(Container *c, pid_t outer);
_Noreturn void container_outer_child(Container *c);

/* spawn-wait.c */
void container_wait(Container *c, pid_t outer, int outer_fd, Waiter *w, uint64_t start,
                    const IsolateResult *base);
void container_kill(Container *c, Waiter *w);
int container_collect(Container *c, const Waiter *w, IsolateResult *ret, ThError *err);
/* started: when the container was created (CLOCK_REALTIME): files of its
 * writable binds changed since then lose their set-id bits. */
/* Copies the output tmpfs's files into output_dir (isolate_copy_output());
 * sets res->output_limit_hit when the tmpfs is full or a file was cut. Once
 * the command ended: before a hold, and after the container. */
void container_copy_output(Container *c, IsolateResult *res);
/* The output tmpfs's size (IsolateSpec.output_max_bytes). */
uint64_t isolate_output_size(const IsolateSpec *s);
void container_copy_out(Container *c, const Waiter *w, IsolateResult *res,
                        const struct timespec *started);

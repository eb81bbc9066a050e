/* isolate: declarations shared by the module's own files. The mount plan is
 * data (built purely from the spec in plan.c, unit-tested without privileges)
 * and one interpreter applies it (mounts.c). */
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include "isolate.h"

/* What the boot's emergency unit writes to the result file (plan.c) when
 * systemd gave up before the test unit ran, as the worker reads it. */
#define ISOLATE_RESULT_BOOT_FAILED "boot-failed"
/* systemd's exit status when the test's (or setup's) unit ended it
 * (SuccessActionExitStatus=, FailureActionExitStatus=): the unit ran even
 * when no result file says how (the boot-failed drop-in exits 255). */
#define ISOLATE_EXIT_UNIT_ENDED   254
#define ISOLATE_EXIT_UNIT_ENDED_S "254"

/* Where the plan's ops run:
 *   OUTER: the setup child, host user namespace, own mount namespace, paths
 *          relative to the new root, before the container's namespaces exist;
 *   INNER: PID 1 of the container, inside its namespaces, before pivot_root;
 *   FINAL: PID 1 after pivot_root (absolute paths; masks and r/o remounts). */
typedef enum MountPhase {
        MOUNT_PHASE_OUTER,
        MOUNT_PHASE_INNER,
        MOUNT_PHASE_FINAL,
        _MOUNT_PHASE_MAX,
        _MOUNT_PHASE_INVALID = -EINVAL,
} MountPhase;

typedef enum MountOpKind {
        MOUNT_OP_BIND_FD,   /* move the detached mount fds[fd_index] onto target */
        MOUNT_OP_FS,        /* a new file system: source = fs type, data = options */
        MOUNT_OP_MKDIR,     /* a directory (mode) */
        MOUNT_OP_MKNOD,     /* a character device (mode, dev) */
        MOUNT_OP_SYMLINK,   /* target -> source */
        MOUNT_OP_FILE,      /* a regular file with data as content */
        MOUNT_OP_MASK,      /* bind /dev/null over a file, or an empty r/o tmpfs over a dir */
        MOUNT_OP_BIND_SELF, /* bind target onto itself (so it can be made r/o) */
        MOUNT_OP_REMOUNT_RO,
        _MOUNT_OP_KIND_MAX,
        _MOUNT_OP_KIND_INVALID = -EINVAL,
} MountOpKind;

/* Extra mount attributes (MOUNT_ATTR_*) for FS ops. */
typedef struct MountOp {
        MountOpKind kind;
        MountPhase phase;
        const char *target; /* container path, absolute */
        const char *source;
        const char *data;
        unsigned attr; /* MOUNT_ATTR_* for the new mount */
        mode_t mode;
        dev_t dev;
        int fd_index;  /* MOUNT_OP_BIND_FD: index into the fd table */
        bool is_file;  /* the mount point is a file, not a directory */
        bool optional; /* a failure is ignored (e.g. a mask on a missing path) */
} MountOp;

typedef struct MountPlan {
        MountOp *ops;
        size_t n_ops;
        char **strings; /* owned strings the ops point into */
        size_t n_strings;
        uid_t owner_uid; /* host ids of the container's root: what OUTER ops chown to */
        gid_t owner_gid;
} MountPlan;

/* Indices into the fd table the setup child receives. Binds follow. */
enum {
        PLAN_FD_CONSOLE, /* the console pty's slave, or -1 */
        PLAN_FD_OUTPUT,  /* boot mode: the output tmpfs, mounted at /run/harness */
        PLAN_FD_CGROUP,  /* the container's cgroup2, mounted by the outer child */
        _PLAN_FD_BINDS,  /* spec->binds[i] is fds[_PLAN_FD_BINDS + i] */
};

/* The tmpfs holding the overlay's upper dir when the spec gives no size. */
#define ISOLATE_UPPER_SIZE_DEFAULT (UINT64_C(1) << 30)

/* What the plan needs to know beyond the spec. */
typedef struct PlanContext {
        uid_t owner_uid;
        gid_t owner_gid;
        bool has_console;
        bool network_host;
        const bool *bind_is_file; /* per spec->binds[i]: the source is not a directory */
} PlanContext;

int isolate_plan_build(const IsolateSpec *spec, const PlanContext *ctx, MountPlan *ret_plan,
                       ThError *err);
void isolate_plan_done(MountPlan *plan);
/* The size of /tmp, /dev/shm and the spec's tmpfs mounts in bytes: half the
 * memory limit, or without one half the upper dir's size; /run has half of
 * that (pure). */
uint64_t isolate_plan_tmpfs_size(const IsolateSpec *spec);
const char *mount_op_kind_to_string(MountOpKind k);

/* Applies the ops of one phase. root_fd: the new root (OUTER, INNER), or -1
 * for FINAL (absolute paths after pivot_root). fds: the detached-mount table. */
int isolate_plan_apply(const MountPlan *plan, MountPhase phase, int root_fd, const int *fds,
                       size_t n_fds, ThError *err);

/* Opens (creating missing directories, owned by uid/gid) path inside root_fd;
 * symlinks resolve inside root_fd, never to the host. ret_fd: O_PATH. */
int isolate_resolve_in_root(int root_fd, const char *path, bool is_file, mode_t mode, uid_t uid,
                            gid_t gid, int *ret_fd, ThError *err);

/* ---- boot mode (pure) --------------------------------------------------- */

/* Escapes one argument for an ExecStart= line (double-quoted, $ and % doubled). */
char *isolate_unit_quote(const char *arg);
/* The generated units; NULL on OOM. */
char *isolate_unit_test(const IsolateSpec *spec);
char *isolate_unit_setup(const IsolateSpec *spec);
extern const char isolate_unit_boot_failed_dropin[];
extern const char isolate_unit_exit[];

/* ---- capabilities (caps.c) ---------------------------------------------- */

/* The bounding set as a bitmask of capability numbers (pure). */
int isolate_caps_bounding(const char *const *keep, size_t n_keep, uint64_t *ret_mask, ThError *err);
/* Drops every capability outside mask from the bounding, inheritable,
 * permitted and effective sets, and clears the ambient set. */
int isolate_caps_apply(uint64_t mask, ThError *err);

/* ---- system call filter (seccomp.c) ------------------------------------- */

struct sock_fprog;
/* The container's filter as a BPF program, built once per process (call it
 * before clone so the child allocates nothing). */
int isolate_seccomp_program(const struct sock_fprog **ret, ThError *err);
/* Loads it into the calling process (seccomp(2), without no_new_privs: the
 * caller holds CAP_SYS_ADMIN in its user namespace). */
int isolate_seccomp_load(const struct sock_fprog *prog, ThError *err);

/* ---- cgroups (cgroup.c) ------------------------------------------------- */

typedef enum CgroupLayout {
        CGROUP_LAYOUT_UNIFIED, /* pure v2 at /sys/fs/cgroup */
        CGROUP_LAYOUT_HYBRID,  /* v2 at /sys/fs/cgroup/unified, v1 controllers beside it */
        _CGROUP_LAYOUT_MAX,
        _CGROUP_LAYOUT_INVALID = -EINVAL,
} CgroupLayout;

typedef struct Cgroup {
        CgroupLayout layout;
        char *v2_path; /* the container's v2 cgroup directory (its processes) */
        /* harness/<name>: the limits and the device program; v2_path or its parent */
        char *v2_top;
        char *v1_paths[4];   /* memory, pids, cpu, devices (NULL when absent) */
        int v2_fd;           /* O_DIRECTORY fd on v2_path, for CLONE_INTO_CGROUP */
        bool devices_policy; /* a device allowlist is active */
        /* Joined instead of v1_paths[devices] when set (the list sits above). */
        char *v1_devices_payload;
} Cgroup;

/* Root of the cgroup file systems; tests point it at a private mount. */
int isolate_cgroup_detect(const char *root, CgroupLayout *ret_layout, ThError *err);
int isolate_cgroup_create(const char *root, const char *name, const IsolateLimits *limits,
                          bool device_policy, Cgroup *ret, ThError *err);
/* Moves pid into the v1 hierarchies (the v2 one is joined by
 * CLONE_INTO_CGROUP). On a quiet host the first cgroup.procs write waits for
 * an RCU grace period (cgroup_threadgroup_rwsem): the worker writes the
 * outer child's pid while that child builds the mounts. */
int isolate_cgroup_join_v1(const Cgroup *cg, pid_t pid, ThError *err);
bool isolate_cgroup_oom(const Cgroup *cg);
bool isolate_cgroup_pids_hit(const Cgroup *cg);
/* Kills and removes cgroups left by a harness that was SIGKILLed. */
void isolate_cgroup_sweep(const char *root);
/* Kills every process, waits until the cgroup is empty, removes it. */
int isolate_cgroup_destroy(Cgroup *cg, ThError *err);
/* SIGKILL to everything in the v2 cgroup DIR and below (cgroup.kill). */
int isolate_cgroup_kill(const char *dir);
/* Limit values as the v1/v2 files want them (pure). */
int isolate_cgroup_cpu_max(double cpus, char *buf, size_t size);

/* ---- device policy (devices.c) -------------------------------------------- */

/* Access bits, the kernel's BPF_DEVCG_ACC_* values. */
enum {
        DEVICE_ACCESS_MKNOD = 1u << 0,
        DEVICE_ACCESS_READ = 1u << 1,
        DEVICE_ACCESS_WRITE = 1u << 2,
};

typedef struct DeviceRule {
        char type; /* 'c' or 'b' */
        unsigned major;
        int minor;       /* -1: any */
        unsigned access; /* DEVICE_ACCESS_* */
} DeviceRule;

/* What a container without private users may use; everything else, above
 * all every block device, is denied. One table for v1 and v2. */
extern const DeviceRule isolate_devices_allow[];
extern const size_t isolate_devices_n_allow;

struct bpf_insn;
/* "c 1:3 rwm", as devices.allow wants it (pure). */
int isolate_device_rule_format(const DeviceRule *r, char *buf, size_t size);
/* The BPF_PROG_TYPE_CGROUP_DEVICE program allowing exactly rules, default
 * deny (pure). *ret_insns is malloc()ed. */
int isolate_devices_program(const DeviceRule *rules, size_t n_rules, struct bpf_insn **ret_insns,
                            size_t *ret_n, ThError *err);
/* Loads that program; ret_fd: the program's fd (O_CLOEXEC). */
int isolate_devices_load(const DeviceRule *rules, size_t n_rules, int *ret_fd, ThError *err);
/* Loads the program for isolate_devices_allow and attaches it to the cgroup2
 * directory cgroup_fd (BPF_F_ALLOW_MULTI). No fd stays open: the attachment
 * keeps the program alive and dies with the cgroup. */
int isolate_devices_attach(int cgroup_fd, ThError *err);

/* ---- user namespaces (userns.c) ----------------------------------------- */

#define ISOLATE_UID_RANGE 65536u

typedef struct Userns {
        uid_t base;
        int lock_fd;
        int userns_fd;
        char *lock_path;
} Userns;

/* Picks a free 65536-id range (a lock file per range under the state dir)
 * and creates a user namespace mapping 0..65535 onto it. */
int isolate_userns_acquire(const char *state_dir, Userns *ret, ThError *err);
void isolate_userns_release(Userns *u);
/* Removes stale range locks and staging dirs of dead workers. */
void isolate_state_sweep(const char *state_dir);
/* "0 BASE 65536\n" (pure). */
int isolate_userns_map_format(uid_t base, char *buf, size_t size);
/* A detached clone of path (recursive), idmapped to userns_fd when >= 0,
 * with attributes attr_set (MOUNT_ATTR_RDONLY...). */
int isolate_detached_bind(int dir_fd, const char *path, int userns_fd, unsigned attr_set,
                          int *ret_fd, ThError *err);

/* ---- the stub init (init.c) --------------------------------------------- */

typedef struct InitParams {
        char *const *argv;
        char *const *setup_argv;
        char **env;
        const char *user;
        const char *workdir;
        bool interactive; /* stdio is the console pty (fd 0..2 already) */
        bool hold;        /* after the command: SYNC_KEPT, then wait for SIGTERM */
        bool own_image;   /* harness-init after exec: the environment is env already */
        int stdout_fd, stderr_fd;
        int sync_fd;
} InitParams;

/* Runs as PID 1 of the container: forks the command as PID 2, reaps, forwards
 * SIGTERM/SIGINT, exits with the command's status. Never returns. */
_Noreturn void isolate_stub_init(const InitParams *p);
/* harness-init's command line, both sides (init.c): the argv that hands p
 * to harness-init (one allocation: free() it), or NULL without memory; and
 * its parse, into p as the caller initialised it (fds -1): 0, or -EINVAL
 * for a command line isolate_init_argv() does not write, -ENOMEM. */
char **isolate_init_argv(const InitParams *p);
int isolate_init_parse(int argc, char **argv, InitParams *p);

/* Messages to the worker (SOCK_SEQPACKET, one message per write), and one
 * from it: SYNC_JOINED (or SYNC_ERROR) to the outer child. SYNC_PID
 * comes only from the outer child on a socket of its own, which PID 1 closes
 * first; everything else on the sync socket, which PID 1 keeps and container
 * root can take from it (pidfd_getfd), so the worker believes it only as far
 * as the container controls it anyway: SYNC_ERROR only before SYNC_READY
 * (nothing of the container runs yet), after it only the command's own
 * status claims. No message names a process or a path. */
typedef enum SyncKind {
        SYNC_PID,          /* outer child: PID 1's pidfd + an O_PATH root fd (SCM_RIGHTS) */
        SYNC_READY,        /* PID 1 finished setup */
        SYNC_ERROR,        /* err; setup only, before READY */
        SYNC_SETUP_FAILED, /* value = the setup command's status */
        SYNC_KEPT,         /* value = the command's status; PID 1 stays (hold) */
        SYNC_JOINED,       /* worker -> outer child: it is in the v1 cgroups */
        _SYNC_KIND_MAX,
        _SYNC_KIND_INVALID = -EINVAL,
} SyncKind;

typedef struct SyncMsg {
        int kind;
        int value;
        ThError err;
} SyncMsg;

/* The wire format, both directions (sync.c). */
#define ISOLATE_SYNC_MAX_FDS 2
int isolate_sync_send(int fd, SyncKind kind, int value, const ThError *err);
/* A message carrying up to ISOLATE_SYNC_MAX_FDS fds (SCM_RIGHTS). */
int isolate_sync_send_fds(int fd, SyncKind kind, int value, const int *fds, size_t n_fds);
/* SYNC_ERROR with err, then _exit(127). */
_Noreturn void isolate_sync_fail(int fd, const ThError *err);
/* One message, without waiting: 1 with *ret and the fds it carried (the
 * caller's to close; the rest of fds -1, *ret_n_fds how many came), 0 at
 * EOF, -EBADMSG for a message of another size or whose fds did not fit
 * (its fds closed), -EAGAIN when none is there, other -errno. */
int isolate_sync_recv(int fd, SyncMsg *ret, int fds[ISOLATE_SYNC_MAX_FDS], size_t *ret_n_fds);

/* ---- network (net.c, net-util.c) ----------------------------------------- */

#define ISOLATE_NET_SLOTS         (127u * 64u) /* single veth /30s */
#define ISOLATE_NET_GROUPS        127u         /* group /24s */
#define ISOLATE_NET_GROUP_MEMBERS 253u

/* Host-order IPv4 addresses of pool slot `slot` (pure). */
int isolate_net_slot_addrs(unsigned slot, uint32_t *ret_host, uint32_t *ret_container);
int isolate_net_group_addrs(unsigned group, unsigned member, uint32_t *ret_bridge,
                            uint32_t *ret_member);
int isolate_net_format_addr(uint32_t addr, char *buf, size_t size);

typedef struct IsolateNet IsolateNet;

/* veth: a network namespace (owned by userns_fd's namespace when >= 0) with
 * lo up and host0, one end of a veth pair whose host end has an address from
 * the pool (or is a port of the group's bridge), the default route via the
 * host, and the port forwarders. The outer child joins it with setns(). */
int isolate_net_prepare(const IsolateSpec *spec, int userns_fd, IsolateNet **ret, ThError *err);
int isolate_net_netns_fd(const IsolateNet *n);
const char *isolate_net_address(const IsolateNet *n);
/* Kills the forwarders, deletes the veth pair (and the group's bridge when
 * this was its last member) and frees the pool slot. NULL-safe. */
IsolateNet *isolate_net_release(IsolateNet *n);
/* Removes pool entries and group bridges a killed harness left (their locks
 * are free); isolate_net_prepare() does this first anyway. */
void isolate_net_sweep(void);

/* ---- the runtime registry (registry.c) ----------------------------------- */

typedef struct Registration {
        char name[64];
        int lock_fd; /* flock held while the container runs */
        bool machined;
} Registration;

/* Reserves a name under /run/harness/machines (spec->machine, with a -N
 * suffix when it is taken). */
int isolate_registry_reserve(const IsolateSpec *spec, Registration *ret, ThError *err);
/* Writes the entry once PID 1 is known; registers with systemd-machined
 * when it runs. Failures are only logged: the container still runs. */
void isolate_registry_started(Registration *reg, const IsolateSpec *spec, pid_t leader,
                              const char *cgroup, const char *address, char *const *env);
/* The container's environment as recorded at start ("K=V"). */
int isolate_registry_env(const char *name, char ***ret);

/* One entry as written (pure, for the tests too). */
typedef struct RegistryEntry {
        const char *name, *test, *suite;
        pid_t leader;
        uint64_t start_usec;
        const char *rootfs;
        bool boot;
        const char *network, *address, *cgroup;
        char *const *env;
} RegistryEntry;
int isolate_registry_write(FILE *f, const RegistryEntry *e);
/* -EBADMSG: not an entry (a line without '=', a bad escape, a NUL, a second
 * leader or cgroup, a value too long for its field). ret_env may be NULL. */
int isolate_registry_parse(FILE *f, IsolateMachine *m, char ***ret_env);
void isolate_registry_release(Registration *reg);
/* Whether `harness stop` asked this container to end (isolate_machine_stop()
 * writes "stop" into the entry's lock file before it signals). */
bool isolate_registry_stopped(const Registration *reg);
void isolate_registry_mark_stopped(const char *name);
/* Removes entries whose lock is free (their harness was killed). */
void isolate_registry_sweep(void);
/* Whether systemd-machined can be asked (systemd runs under run_dir). */
bool isolate_machined_available(const char *run_dir);

/* The worker's preparation steps (spawn.c) by index, in the order they run;
 * NULL past the last. */
const char *isolate_prepare_step(size_t i);
/* Tests: isolate_run() fails right after the step named STEP (NULL: none),
 * as if that step had failed, and must leave nothing behind. */
void isolate_prepare_fail_at(const char *step);

/* The same forwarder in steps, for a caller with a poll loop of its own
 * (the container's wait loop): begin makes the terminal raw and blocks
 * SIGWINCH (winch_fd then reports it), end restores both; between them the
 * caller polls f->master, f->in_fd while in_open, and winch_fd. */
typedef struct IsolatePty {
        const IsolatePtyForward *f;
        unsigned presses; /* Ctrl-] so far in a row */
        bool in_open;
        bool raw;
        struct termios saved;
        sigset_t old_mask;
        int winch_fd; /* SIGWINCH as an fd, or -1 */
} IsolatePty;
int isolate_pty_begin(IsolatePty *p, const IsolatePtyForward *f);
void isolate_pty_end(IsolatePty *p);
/* One read of the master to out_fd and copy_fd: bytes, 0 at EOF, -errno. */
ssize_t isolate_pty_pump(IsolatePty *p);
/* One read of the input to the master: ISOLATE_PTY_ESCAPE or 0. */
int isolate_pty_input(IsolatePty *p);
/* SIGWINCH arrived: the pty takes size_fd's window size. */
void isolate_pty_resized(IsolatePty *p);

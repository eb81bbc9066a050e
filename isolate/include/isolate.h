/* isolate: the container. Namespaces, overlay, mounts, /dev, capabilities,
 * cgroups, stub init, systemd boot, user namespaces, network. Knows nothing of
 * YAML, fixtures or reports: it takes an IsolateSpec of plain data and
 * returns an IsolateResult. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

typedef enum IsolateNetwork {
        ISOLATE_NETWORK_NONE, /* a new network namespace with only lo */
        ISOLATE_NETWORK_HOST, /* share the host's network namespace */
        ISOLATE_NETWORK_VETH, /* a veth pair to the host */
        _ISOLATE_NETWORK_MAX,
        _ISOLATE_NETWORK_INVALID = -EINVAL,
} IsolateNetwork;

typedef struct IsolateBind {
        const char *source; /* host path (names the bind in errors) */
        const char *target; /* absolute path inside the container */
        bool writable;      /* default read-only */
        /* The source already opened by the caller (O_PATH is enough): the
         * bind is cloned from this fd and source is not looked up again.
         * -1 = open source by path (set it: 0 is stdin, and refused). */
        int source_fd;
} IsolateBind;

typedef struct IsolateLimits {
        uint64_t memory_bytes; /* 0 = no limit */
        uint64_t pids;         /* 0 = no limit */
        double cpu;            /* CPUs (1.5 = 150%); 0 = no limit */
} IsolateLimits;

/* --port HOST:CONTAINER: tcp on the host's 127.0.0.1:host is forwarded to
 * the container's address:container (veth only). */
typedef struct IsolatePort {
        uint16_t host;
        uint16_t container;
} IsolatePort;

typedef struct IsolateResult IsolateResult;

/* IsolateSpec.output_max_bytes when 0. */
#define ISOLATE_OUTPUT_SIZE_DEFAULT (UINT64_C(2) << 30)

typedef struct IsolateSpec {
        const char *rootfs; /* the tree; with ephemeral, the overlay's lowest layer */
        /* > 0: the tree, opened by the caller where it checked it: used
         * instead of looking rootfs up again (rootfs then only names it). */
        int rootfs_fd;
        /* Extra read-only layers stacked on top of rootfs, lowest first (the
         * cached package layer). May be NULL. */
        const char *const *layers;
        size_t n_layers;
        bool ephemeral;      /* overlay with a fresh upper dir; the tree is never written */
        uint64_t upper_size; /* bytes for the tmpfs holding the upper dir; 0 = default */
        const IsolateBind *binds;
        size_t n_binds;
        const char *const *tmpfs; /* absolute paths inside the container */
        size_t n_tmpfs;
        const char *machine; /* machine name = hostname; NULL: rootfs basename */
        char *const *env;    /* "K=V", NULL-terminated; may be NULL */
        const char *user;    /* user name or uid inside the container; NULL = root */
        const char *workdir; /* NULL = "/" */
        bool boot;           /* systemd as PID 1; false = stub init (direct mode) */
        /* Boot mode with a command: boot every unit and generator of the
         * tree, as on a machine. false = the light boot (docs/container.md,
         * "The light boot"): what a container never needs is masked. */
        bool full_boot;
        bool private_users; /* user namespace with an unprivileged id range */
        /* With private_users: refuse to run when the kernel cannot idmap the
         * tree, instead of running without private users. */
        bool private_users_required;
        IsolateNetwork network;
        IsolateLimits limits;
        uint64_t timeout_usec;   /* 0 = none; kills the whole container */
        char *const *setup_argv; /* runs first, same container; NULL = none */
        char *const *argv;       /* the command; NULL with boot = interactive console */

        /* Where output goes. With interactive, the container gets the caller's
         * stdin/stdout/stderr (a terminal for `harness shell`). Otherwise the
         * command's stdout and stderr, and in boot mode the journal, the
         * result files and the system_state files, are written into a tmpfs
         * of this container's own (output_max_bytes, nosuid, nodev, noexec,
         * mounted at /run/harness in boot mode; in no host mount namespace)
         * and copied by the worker into output_dir after the command ended:
         * created anew (O_EXCL, never following a link), mode 0644, the
         * caller's owner, no extended attributes, at most output_max_bytes
         * of length each (holes count). The container never gets a host
         * file. Boot mode adds output_dir/console, the worker's copy of the
         * console. Nothing is buffered whole in memory. */
        bool interactive;
        const char *output_dir; /* host directory, must exist */
        /* The size of that tmpfs; 0 = ISOLATE_OUTPUT_SIZE_DEFAULT; with a
         * memory limit at most half of it (its pages are the container's
         * memory: a flood meets ENOSPC before the OOM killer). A write past
         * it fails with ENOSPC (see IsolateResult.output_limit_hit). */
        uint64_t output_max_bytes;

        /* Container paths copied out after the command exits into
         * artifacts_dir (a directory the caller made), resolved so no symlink
         * can lead out of the tree, written beneath artifacts_dir without
         * following or overwriting anything, set-uid bits and owners
         * dropped. The copy stops after artifacts_max_bytes (data plus
         * ISOLATE_COPY_ENTRY_COST per entry; 0 = no limit), see
         * IsolateResult.artifacts_limit_hit. */
        const char *const *artifacts;
        size_t n_artifacts;
        const char *artifacts_dir;
        uint64_t artifacts_max_bytes;

        /* With ephemeral: keep the upper dir at this host path instead of
         * deleting it (--keep-failed); NULL = delete. */
        const char *keep_upper_dir;

        const char *const *caps_keep; /* extra capability names to keep; may be NULL */
        size_t n_caps_keep;

        /* veth: containers with the same group (unique per run) share a bridge
         * and reach each other; NULL = a point-to-point /30 to the host. */
        const char *network_group;
        const IsolatePort *ports; /* veth: tcp forwarded from 127.0.0.1:host */
        size_t n_ports;
        /* Boot mode: the test's unit, when it stops, also writes the journal
         * as JSON (journal.json, `journalctl -o json`: priorities and fields
         * kept), the states of all units (units, `systemctl list-units
         * --all`) and the services' commands (services, `systemctl show -p
         * Id,ExecStart`) into /run/harness, copied to output_dir like the
         * rest. */
        bool system_state;
        /* Shown by `harness ps`; may be NULL. */
        const char *test_name;
        const char *suite_name;

        /* When set, the container is held once its command ended (whatever
         * its status; not after a timeout, an OOM kill or a failed setup):
         * hold is called with the registry name and the result so far while
         * the container still runs, and once it returns the container is
         * torn down as usual and reported with that result. The timeout does
         * not run meanwhile. `harness run --shell-on-fail` judges the result
         * and opens a shell in a failed test's container. NULL: torn down at
         * once. */
        void (*hold)(const char *machine, const IsolateResult *res, void *userdata);
        void *hold_userdata;

        /* Boot mode with ephemeral and argv: the container may reboot this
         * many times (systemd's reboot: PID 1 ends as if killed by SIGHUP).
         * Each reboot starts the container again, systemd and the test unit
         * again, over the same upper dir (the files the container wrote are
         * kept, its tmpfs mounts are new), in the same cgroup name, user
         * namespace range and output files (stdout and stderr go on, the
         * result and the journal are the last boot's). The timeout covers
         * all boots. One reboot more ends the container: reboot_limit_hit.
         * 0: a reboot is not told apart from another end of systemd. */
        unsigned max_reboots;
        /* When set, called once what isolate_run() will return is final (r,
         * and *res and *err as the caller will find them), after the
         * artifacts were copied and the output files closed, before the
         * teardown: the caller can report the result while the container's
         * cgroups, mounts and id range are released behind it. isolate_run()
         * still returns only after the teardown. NULL: none. */
        void (*collected)(int r, const IsolateResult *res, const ThError *err, void *userdata);
        void *collected_userdata;
} IsolateSpec;

typedef enum IsolateStatus {
        ISOLATE_EXITED,       /* the command ran; see exit_status */
        ISOLATE_SIGNALED,     /* the command was killed by signal term_signal */
        ISOLATE_TIMEOUT,      /* the timeout fired; the container was killed */
        ISOLATE_OOM,          /* the memory limit's OOM killer fired */
        ISOLATE_SETUP_FAILED, /* the setup command failed; exit_status is its */
        _ISOLATE_STATUS_MAX,
        _ISOLATE_STATUS_INVALID = -EINVAL,
} IsolateStatus;

struct IsolateResult {
        IsolateStatus status;
        int exit_status; /* 0..255, or 128+N for a signal */
        int term_signal;
        bool timed_out;
        bool oom;
        uint64_t wall_usec;
        /* Host paths of what the container wrote ("" when not produced). */
        char stdout_path[4096];
        char stderr_path[4096];
        char journal_path[4096];
        char console_path[4096];
        /* The kernel could not idmap the tree, so the container ran without
         * private users (warned once through th_log). */
        bool private_users_off;
        /* With private users: the host id of the container's root (its id
         * range is uid_base .. uid_base + 65535); 0 without. */
        uint32_t uid_base;
        /* The pids limit refused a fork at least once (a fork bomb). */
        bool pids_limit_hit;
        /* The artifacts reached artifacts_max_bytes: the copy stopped in
         * artifacts_cut_at (a container path) and copied nothing after it. */
        bool artifacts_limit_hit;
        char artifacts_cut_at[256];
        /* What the container wrote for the harness filled output_max_bytes
         * (a write failed with ENOSPC), or a file was longer and its copy in
         * output_dir was cut there. */
        bool output_limit_hit;
        uint64_t output_limit; /* that tmpfs's size in bytes */
        /* SIGINT, SIGTERM or SIGHUP arrived while the caller had it blocked:
         * the container was stopped and torn down (see isolate_run);
         * SIGKILL: Ctrl-] three times on an interactive console. */
        int interrupted;
        /* `harness stop` ended the container (whatever stage it was in). */
        bool stopped;
        /* With max_reboots: how many times the container rebooted, and
         * whether it rebooted once more than allowed (then it was not
         * started again; status SIGNALED, term_signal SIGHUP). */
        unsigned reboots;
        bool reboot_limit_hit;
        /* Boot mode: systemd ended before the test unit ran. isolate_run()
         * then fails (EIO) and fills ret all the same: console_path and
         * journal_path name what the boot left for the user to read. */
        bool boot_failed;
        /* Boot mode: the test's unit ran and ended systemd, but no result
         * file says how (the container's /bin/sh that writes it was broken
         * or replaced by the test): the test's failure, not the harness's;
         * status is ISOLATE_EXITED, exit_status systemd's. */
        bool result_missing;
};

/* Runs spec->argv in a fresh container and waits for it. Returns 0 when the
 * container ran (whatever the command's status: see ret->status), or a
 * negative errno with err filled when it could not be set up: that is an
 * infrastructure error (ret untouched, except for a failed boot: see
 * boot_failed). Nothing is left behind on either path. A caller that
 * blocks SIGINT, SIGTERM or SIGHUP gets them handled here: the container is
 * killed and torn down, and ret->interrupted names the signal. */
int isolate_run(const IsolateSpec *spec, IsolateResult *ret, ThError *err);

const char *isolate_network_to_string(IsolateNetwork n);
IsolateNetwork isolate_network_from_string(const char *s);
const char *isolate_status_to_string(IsolateStatus s);

/* Makes ahead of time what the containers of this process and of the
 * children it forks share (harness-init's sealed memfd), so that forked
 * workers do not each make their own. Optional: isolate_run() makes what is
 * missing. Never fails. */
void isolate_preload(void);

/* Removes what containers of dead harness processes left behind (their
 * cgroups, uid-range locks, staging dirs), recognised by the dead pid in the
 * name. isolate_run() does this on every start; a runner that killed its
 * workers (SIGINT) calls it once after reaping them. Never fails. */
void isolate_sweep(void);

/* ---- running containers (registry.c, enter.c, net-util.c) ----------------
 *
 * Every running container has an entry under /run/harness/machines. */

typedef struct IsolateMachine {
        char name[64];
        char test[256];
        char suite[256];
        pid_t leader;        /* PID 1 of the container, as the host sees it */
        uint64_t start_usec; /* CLOCK_REALTIME */
        char rootfs[1024];
        bool boot;
        char network[16];
        char address[32]; /* the container's address with veth, else "" */
        char cgroup[1024];
} IsolateMachine;

/* The running containers, sorted by name; stale entries are swept. */
int isolate_machine_list(IsolateMachine **ret, size_t *ret_n, ThError *err);
int isolate_machine_get(const char *name, IsolateMachine *ret, ThError *err);
/* Runs argv (NULL: the container's /bin/sh) inside a running container's
 * namespaces and cgroup as its root with its environment; waits and returns
 * the exit status (128+N for a signal) in ret_status. */
int isolate_machine_enter(const char *name, char *const *argv, int *ret_status, ThError *err);
/* Boot mode: asks systemd to power off, waits up to timeout_usec, then kills;
 * direct mode: SIGTERM, then kill. Returns once PID 1 is gone. */
int isolate_machine_stop(const char *name, uint64_t timeout_usec, ThError *err);
/* ---- the pty forwarder (pty.c) -------------------------------------------- */

enum {
        ISOLATE_PTY_HANGUP, /* every slave fd is closed (the command ended) */
        ISOLATE_PTY_ESCAPE, /* Ctrl-] was pressed escape_presses times in a row */
};

typedef struct IsolatePtyForward {
        int master;              /* the pty's master */
        int in_fd;               /* the terminal's input (made raw meanwhile), or -1 */
        int out_fd;              /* where the pty's output goes, or -1 */
        int copy_fd;             /* a second copy of it (a log), or -1 */
        uint64_t copy_max;       /* copy_fd stops at this offset; 0: no limit */
        int size_fd;             /* the terminal whose window size the pty follows, or -1 */
        unsigned escape_presses; /* Ctrl-] this many times in a row; 0: no escape */
        /* Called on the escape; returns whether to stop (NULL: stop). */
        bool (*escape)(void *userdata);
        void *userdata;
} IsolatePtyForward;

/* A new pty (master O_CLOEXEC, O_NOCTTY) with size_fd's window size, from the
 * devpts of the caller's mount namespace; ret_slave: the slave's path. */
int isolate_pty_open(int size_fd, int *ret_master, char *ret_slave, size_t size, ThError *err);
/* Forwards until the pty hangs up or the escape; the terminal's mode and the
 * signal mask are restored on every return. ISOLATE_PTY_* or -errno. */
int isolate_pty_forward(const IsolatePtyForward *f);

/* "8080:80" (pure). */
int isolate_port_parse(const char *s, IsolatePort *ret);

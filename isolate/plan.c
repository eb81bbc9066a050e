/* isolate: the mount plan, built as data from the spec (pure: no syscalls),
 * and the generated systemd units of boot mode. Applied by mounts.c. */
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "isolate-internal.h"

static const char *const kind_names[_MOUNT_OP_KIND_MAX] = {
        [MOUNT_OP_BIND_FD] = "bind-fd",
        [MOUNT_OP_FS] = "fs",
        [MOUNT_OP_MKDIR] = "mkdir",
        [MOUNT_OP_MKNOD] = "mknod",
        [MOUNT_OP_SYMLINK] = "symlink",
        [MOUNT_OP_FILE] = "file",
        [MOUNT_OP_MASK] = "mask",
        [MOUNT_OP_BIND_SELF] = "bind-self",
        [MOUNT_OP_REMOUNT_RO] = "remount-ro",
};

const char *mount_op_kind_to_string(MountOpKind k)
{
        return k >= 0 && k < _MOUNT_OP_KIND_MAX ? kind_names[k] : NULL;
}

void isolate_plan_done(MountPlan *plan)
{
        if (!plan)
                return;
        for (size_t i = 0; i < plan->n_strings; i++)
                free(plan->strings[i]);
        free(plan->strings);
        free(plan->ops);
        *plan = (MountPlan){};
}

static int plan_add(MountPlan *p, MountOp op)
{
        MountOp *n = realloc(p->ops, (p->n_ops + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        p->ops = n;
        p->ops[p->n_ops++] = op;
        return 0;
}

/* Keeps s (takes ownership) for the plan's lifetime; NULL on OOM. */
static const char *plan_own(MountPlan *p, char *s)
{
        if (!s)
                return NULL;
        char **n = realloc(p->strings, (p->n_strings + 1) * sizeof(*n));
        if (!n) {
                free(s);
                return NULL;
        }
        p->strings = n;
        p->strings[p->n_strings++] = s;
        return s;
}

static bool path_is_valid_target(const char *t)
{
        if (!t || t[0] != '/' || strlen(t) >= 4096)
                return false;
        /* ".." could climb out of a mount point we created; refuse it outright. */
        for (const char *c = t; (c = strstr(c, "..")); c += 2)
                if ((c == t || c[-1] == '/') && (c[2] == '/' || c[2] == 0))
                        return false;
        return true;
}

typedef struct UserMount {
        const char *target;
        size_t index;
        bool is_bind;
} UserMount;

static int user_mount_cmp(const void *a, const void *b)
{
        const UserMount *x = a, *y = b;
        int r = strcmp(x->target, y->target);
        return r ? r : (x->index < y->index ? -1 : 1);
}

static const struct {
        const char *name;
        unsigned major, minor;
} dev_nodes[] = {
        { "/dev/null", 1, 3 },   { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
        { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const struct {
        const char *name, *to;
} dev_links[] = {
        { "/dev/fd", "/proc/self/fd" },       { "/dev/stdin", "/proc/self/fd/0" },
        { "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
        { "/dev/ptmx", "pts/ptmx" },
};

/* Kernel interfaces a container must not write: made read-only (files and
 * directories), or hidden behind an empty read-only object. */
static const char *const proc_ro[] = {
        "/proc/sys", "/proc/sysrq-trigger", "/proc/bus",  "/proc/fs",
        "/proc/irq", "/proc/acpi",          "/proc/scsi", "/proc/asound",
};
static const char *const proc_masked[] = {
        "/proc/kcore",    "/proc/keys",        "/proc/timer_list",
        "/proc/kallsyms", "/proc/sched_debug", "/proc/latency_stats",
};

/* Bounded by the test's limits, not the host's tmpfs default (half of its
 * RAM): a runaway write meets ENOSPC, a clear error, before the memory
 * limit's OOM killer (tmpfs pages are charged to the container's memory).
 * At least 1 MiB. */
uint64_t isolate_plan_tmpfs_size(const IsolateSpec *spec)
{
        uint64_t base = spec->limits.memory_bytes;
        if (!base)
                base = spec->upper_size ? spec->upper_size : ISOLATE_UPPER_SIZE_DEFAULT;
        base /= 2;
        return base < (UINT64_C(1) << 20) ? UINT64_C(1) << 20 : base;
}

static int plan_dev(MountPlan *p, const PlanContext *ctx, const char *owner_opts,
                    const char *size_opt)
{
        int r;
        const char *d = plan_own(p, th_strdup_printf("mode=0755,size=4m,%s", owner_opts));
        const char *shm = plan_own(p, th_strdup_printf("mode=1777,%s,%s", size_opt, owner_opts));
        if (!d || !shm)
                return -ENOMEM;
        r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FS,
                                   .target = "/dev",
                                   .source = "tmpfs",
                                   .data = d,
                                   .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC });
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dev_nodes); i++)
                r = plan_add(p,
                             (MountOp){ .kind = MOUNT_OP_MKNOD,
                                        .target = dev_nodes[i].name,
                                        .mode = 0666,
                                        .dev = makedev(dev_nodes[i].major, dev_nodes[i].minor) });
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dev_links); i++)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_SYMLINK,
                                           .target = dev_links[i].name,
                                           .source = dev_links[i].to });
        if (r >= 0)
                r = plan_add(
                        p, (MountOp){ .kind = MOUNT_OP_MKDIR, .target = "/dev/pts", .mode = 0755 });
        if (r >= 0)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FS,
                                           .target = "/dev/shm",
                                           .source = "tmpfs",
                                           .data = shm,
                                           .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV });
        if (r >= 0 && ctx->has_console)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_BIND_FD,
                                           .target = "/dev/console",
                                           .fd_index = PLAN_FD_CONSOLE,
                                           .is_file = true });
        return r;
}

/* The light boot (docs/container.md, "The light boot", keeps this list):
 * generators and units a container running one test never needs, masked
 * by an empty file of the same name in /run, which comes before the
 * tree's /lib. The full boot (spec->full_boot) writes none of it. */
static const char *const light_boot_masks[] = {
        /* Block devices, disks and boot loaders the container has none of. */
        "/run/systemd/system-generators/systemd-cryptsetup-generator",
        "/run/systemd/system-generators/systemd-integritysetup-generator",
        "/run/systemd/system-generators/systemd-veritysetup-generator",
        "/run/systemd/system-generators/systemd-gpt-auto-generator",
        "/run/systemd/system-generators/systemd-hibernate-resume-generator",
        "/run/systemd/system-generators/systemd-bless-boot-generator",
        "/run/systemd/system-generators/systemd-system-update-generator",
        /* Read the kernel command line, which is the host's. */
        "/run/systemd/system-generators/systemd-debug-generator",
        "/run/systemd/system-generators/systemd-run-generator",
        /* The console is a file for the report: no login prompt on it. */
        "/run/systemd/system-generators/systemd-getty-generator",
        "/run/systemd/system/console-getty.service",
        /* First-boot and bookkeeping work of a machine. */
        "/run/systemd/system/systemd-update-utmp.service",
        "/run/systemd/system/systemd-update-utmp-runlevel.service",
        "/run/systemd/system/systemd-sysusers.service",
        "/run/systemd/system/systemd-tmpfiles-setup-dev.service",
        "/run/systemd/system/systemd-remount-fs.service",
        /* The journal stays in /run (Storage=volatile below). */
        "/run/systemd/system/systemd-journal-flush.service",
        /* Password agents (disks to unlock): each path unit holds an
         * inotify watch whose release waits for a grace period when PID 1
         * exits. */
        "/run/systemd/system/systemd-ask-password-console.path",
        "/run/systemd/system/systemd-ask-password-wall.path",
};

static int plan_light_boot(MountPlan *p, const IsolateSpec *spec)
{
        (void)spec;
        int r = 0;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(light_boot_masks); i++)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FILE,
                                           .target = light_boot_masks[i],
                                           .data = "",
                                           .mode = 0644 });
        /* /dev/mqueue mounted here, in the container's IPC namespace, is
         * one fork, exec and cgroup move less for systemd (dev-mqueue.mount
         * finds it mounted); where the kernel refuses, systemd mounts it. */
        if (r >= 0)
                r = plan_add(
                        p,
                        (MountOp){ .kind = MOUNT_OP_MKDIR, .target = "/dev/mqueue", .mode = 0755 });
        if (r >= 0)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FS,
                                           .phase = MOUNT_PHASE_INNER,
                                           .target = "/dev/mqueue",
                                           .source = "mqueue",
                                           .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                   MOUNT_ATTR_NOEXEC,
                                           .optional = true });
        if (r >= 0)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FILE,
                                           .target = "/run/systemd/journald.conf.d/harness.conf",
                                           .data = "[Journal]\nStorage=volatile\n",
                                           .mode = 0644 });
        return r;
}

static int plan_boot(MountPlan *p, const IsolateSpec *spec)
{
        int r = plan_add(
                p, (MountOp){ .kind = MOUNT_OP_MKDIR, .target = "/run/harness", .mode = 0755 });
        /* The output tmpfs (the worker's, never a host file); without an
         * output dir (an interactive boot) there is none. */
        if (r >= 0 && spec->output_dir)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_BIND_FD,
                                           .target = "/run/harness",
                                           .fd_index = PLAN_FD_OUTPUT });
        if (r < 0 || !spec->argv)
                return r;

        const char *unit = plan_own(p, isolate_unit_test(spec));
        if (!unit)
                return -ENOMEM;
        r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FILE,
                                   .target = "/run/systemd/system/harness-test.service",
                                   .data = unit,
                                   .mode = 0644 });
        if (r >= 0 && spec->setup_argv) {
                const char *setup = plan_own(p, isolate_unit_setup(spec));
                if (!setup)
                        return -ENOMEM;
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FILE,
                                           .target = "/run/systemd/system/harness-setup.service",
                                           .data = setup,
                                           .mode = 0644 });
        }
        if (r >= 0 && spec->max_reboots && !spec->hold)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FILE,
                                           .target = "/run/systemd/system/harness-exit.service",
                                           .data = isolate_unit_exit,
                                           .mode = 0644 });
        if (r >= 0 && !spec->full_boot)
                r = plan_light_boot(p, spec);
        /* A boot that falls into emergency or rescue mode must end, not wait
         * for a login on the console. */
        static const char *const dropins[] = {
                "/run/systemd/system/emergency.service.d/harness.conf",
                "/run/systemd/system/rescue.service.d/harness.conf",
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(dropins); i++)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FILE,
                                           .target = dropins[i],
                                           .data = isolate_unit_boot_failed_dropin,
                                           .mode = 0644 });
        return r;
}

static int plan_user_mounts(MountPlan *p, const IsolateSpec *spec, const bool *bind_is_file,
                            const char *owner_opts, const char *size_opt, ThError *err)
{
        size_t n = spec->n_binds + spec->n_tmpfs;
        _cleanup_free_ UserMount *m = calloc(n ? n : 1, sizeof(*m));
        if (!m)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < spec->n_binds; i++)
                m[i] = (UserMount){ spec->binds[i].target, i, true };
        for (size_t i = 0; i < spec->n_tmpfs; i++)
                m[spec->n_binds + i] = (UserMount){ spec->tmpfs[i], i, false };
        for (size_t i = 0; i < n; i++)
                if (!path_is_valid_target(m[i].target))
                        return th_error_set(err, EINVAL,
                                            "mount target '%s' must be an absolute path "
                                            "without '..'",
                                            m[i].target ? m[i].target : "");
        /* Parents before children: "/srv" is mounted before "/srv/x". */
        qsort(m, n, sizeof(*m), user_mount_cmp);

        const char *tmpfs_opts =
                plan_own(p, th_strdup_printf("mode=0755,%s,%s", size_opt, owner_opts));
        if (!tmpfs_opts)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int r;
                if (m[i].is_bind)
                        r = plan_add(p, (MountOp){ .kind = MOUNT_OP_BIND_FD,
                                                   .target = m[i].target,
                                                   .fd_index = (int)(_PLAN_FD_BINDS + m[i].index),
                                                   .is_file = bind_is_file &&
                                                              bind_is_file[m[i].index] });
                else
                        r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FS,
                                                   .target = m[i].target,
                                                   .source = "tmpfs",
                                                   .data = tmpfs_opts,
                                                   .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* sysfs shows the network devices of the network namespace it is mounted
 * in, and the kernel gives a fresh one only to a caller privileged over
 * that namespace's owner. With its own network namespace, PID 1 mounts it
 * (INNER). Sharing the host's, the container's root is not privileged over
 * it: the outer child, still host root, mounts it read-only before the
 * container's namespaces exist (OUTER, as systemd-nspawn's outer child
 * does). With private users, PID 1's less privileged copy of the mount
 * namespace then holds it locked: it cannot be made writable, nor
 * unmounted to reveal the directory below. */
static int plan_sysfs(MountPlan *p, const PlanContext *ctx)
{
        const unsigned attr =
                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY;
        int r = plan_add(
                p, (MountOp){ .kind = MOUNT_OP_FS,
                              .phase = ctx->network_host ? MOUNT_PHASE_OUTER : MOUNT_PHASE_INNER,
                              .target = "/sys",
                              .source = "sysfs",
                              .attr = attr });
        if (r >= 0)
                /* Over the read-only sysfs, after it; the cgroup2 mount is
                 * made by the outer child (spawn-outer.c, step 4) after the
                 * OUTER phase, so it is attached by PID 1. */
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_BIND_FD,
                                           .phase = MOUNT_PHASE_INNER,
                                           .target = "/sys/fs/cgroup",
                                           .fd_index = PLAN_FD_CGROUP });
        return r;
}

static int plan_kernel_fs(MountPlan *p, const PlanContext *ctx)
{
        const unsigned base = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        int r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FS,
                                       .phase = MOUNT_PHASE_INNER,
                                       .target = "/proc",
                                       .source = "proc",
                                       .attr = base });
        if (r >= 0)
                r = plan_sysfs(p, ctx);
        if (r >= 0)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_FS,
                                           .phase = MOUNT_PHASE_INNER,
                                           .target = "/dev/pts",
                                           .source = "devpts",
                                           .data = "newinstance,ptmxmode=0666,mode=0620,gid=5",
                                           .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC });
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(proc_ro); i++) {
                bool is_file = strcmp(proc_ro[i], "/proc/sysrq-trigger") == 0;
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_BIND_SELF,
                                           .phase = MOUNT_PHASE_FINAL,
                                           .target = proc_ro[i],
                                           .is_file = is_file,
                                           .optional = true });
                if (r >= 0)
                        r = plan_add(p, (MountOp){ .kind = MOUNT_OP_REMOUNT_RO,
                                                   .phase = MOUNT_PHASE_FINAL,
                                                   .target = proc_ro[i],
                                                   .optional = true });
        }
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(proc_masked); i++)
                r = plan_add(p, (MountOp){ .kind = MOUNT_OP_MASK,
                                           .phase = MOUNT_PHASE_FINAL,
                                           .target = proc_masked[i],
                                           .optional = true });
        return r;
}

int isolate_plan_build(const IsolateSpec *spec, const PlanContext *ctx, MountPlan *ret_plan,
                       ThError *err)
{
        MountPlan p = { .owner_uid = ctx->owner_uid, .owner_gid = ctx->owner_gid };
        int r;

        const char *owner = plan_own(&p, th_strdup_printf("uid=%u,gid=%u", (unsigned)ctx->owner_uid,
                                                          (unsigned)ctx->owner_gid));
        const uint64_t size = isolate_plan_tmpfs_size(spec);
        const char *size_opt =
                plan_own(&p, th_strdup_printf("size=%llu", (unsigned long long)size));
        const char *run = plan_own(&p, th_strdup_printf("mode=0755,size=%llu,%s",
                                                        (unsigned long long)size / 2, owner));
        const char *tmp = plan_own(&p, th_strdup_printf("mode=1777,%s,%s", size_opt, owner));
        if (!owner || !size_opt || !run || !tmp) {
                r = -ENOMEM;
                goto fail;
        }

        r = plan_dev(&p, ctx, owner, size_opt);
        if (r >= 0)
                r = plan_add(&p, (MountOp){ .kind = MOUNT_OP_FS,
                                            .target = "/run",
                                            .source = "tmpfs",
                                            .data = run,
                                            .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV });
        if (r >= 0)
                r = plan_add(&p, (MountOp){ .kind = MOUNT_OP_FS,
                                            .target = "/tmp",
                                            .source = "tmpfs",
                                            .data = tmp,
                                            .attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV });
        if (r >= 0 && spec->boot)
                r = plan_boot(&p, spec);
        if (r >= 0)
                r = plan_user_mounts(&p, spec, ctx->bind_is_file, owner, size_opt, err);
        if (r >= 0)
                r = plan_kernel_fs(&p, ctx);
        if (r < 0)
                goto fail;

        *ret_plan = p;
        return 0;
fail:
        isolate_plan_done(&p);
        if (err && err->code)
                return -err->code;
        return th_error_errno(err, -r, "building the mount plan");
}

/* ---- boot mode units ----------------------------------------------------- */

char *isolate_unit_quote(const char *arg)
{
        size_t n = strlen(arg);
        char *out = malloc(2 * n + 3), *o = out;
        if (!out)
                return NULL;
        *o++ = '"';
        for (const char *c = arg; *c; c++) {
                if (*c == '"' || *c == '\\')
                        *o++ = '\\';
                else if (*c == '$' || *c == '%')
                        *o++ = *c; /* "$$" and "%%" are a literal $ and % */
                if (*c == '\n') {
                        *o++ = '\\';
                        *o++ = 'n';
                        continue;
                }
                *o++ = *c;
        }
        *o++ = '"';
        *o = 0;
        return out;
}

/* Appends to a growing string; frees it and returns NULL on OOM. */
static char *str_append(char *s, const char *add)
{
        size_t a = s ? strlen(s) : 0, b = strlen(add);
        char *n = realloc(s, a + b + 1);
        if (!n) {
                free(s);
                return NULL;
        }
        memcpy(n + a, add, b + 1);
        return n;
}

static char *unit_exec_line(char *u, const char *key, char *const *argv)
{
        u = str_append(u, key);
        for (size_t i = 0; u && argv[i]; i++) {
                _cleanup_free_ char *q = isolate_unit_quote(argv[i]);
                if (!q) {
                        free(u);
                        return NULL;
                }
                u = str_append(u, i ? " " : "");
                u = u ? str_append(u, q) : NULL;
        }
        return u ? str_append(u, "\n") : NULL;
}

/* "%" doubled; newlines (which would start a new setting) become spaces. */
static char *unit_escape_specifiers(const char *s)
{
        char *out = malloc(2 * strlen(s) + 1), *o = out;
        if (!out)
                return NULL;
        for (; *s; s++) {
                if (*s == '%')
                        *o++ = '%';
                *o++ = *s == '\n' ? ' ' : *s;
        }
        *o = 0;
        return out;
}

static char *unit_service_common(char *u, const IsolateSpec *spec, const char *result)
{
        u = str_append(u, "StandardInput=null\n"
                          "StandardOutput=append:/run/harness/stdout\n"
                          "StandardError=append:/run/harness/stderr\n");
        if (u && spec->user) {
                _cleanup_free_ char *q = unit_escape_specifiers(spec->user);
                _cleanup_free_ char *l = q ? th_strdup_printf("User=%s\n", q) : NULL;
                u = l ? str_append(u, l) : (free(u), NULL);
        }
        if (u) {
                /* Not quoted: systemd takes quotes here literally. */
                _cleanup_free_ char *q =
                        unit_escape_specifiers(spec->workdir ? spec->workdir : "/");
                _cleanup_free_ char *l = q ? th_strdup_printf("WorkingDirectory=%s\n", q) : NULL;
                u = l ? str_append(u, l) : (free(u), NULL);
        }
        for (size_t i = 0; u && spec->env && spec->env[i]; i++) {
                _cleanup_free_ char *q = isolate_unit_quote(spec->env[i]);
                _cleanup_free_ char *l = q ? th_strdup_printf("Environment=%s\n", q) : NULL;
                u = l ? str_append(u, l) : (free(u), NULL);
        }
        /* "+": with full privileges whatever User= is, so the journal is
         * complete and the result file writable. The result is written
         * last: once it is there, so is the journal (a kept container's
         * worker waits for it). */
        const char *state =
                spec->system_state ? "journalctl -b --no-pager -o json > /run/harness/journal.json "
                                     "2>/dev/null; "
                                     "systemctl list-units --all --plain --no-legend --no-pager "
                                     "> /run/harness/units 2>/dev/null; "
                                     "systemctl show --no-pager --property=Id,ExecStart "
                                     "\"*.service\" > /run/harness/services 2>/dev/null; "
                                   : "";
        _cleanup_free_ char *post = th_strdup_printf(
                "ExecStopPost=+/bin/sh -c 'journalctl -b --no-pager -o short-monotonic "
                "> /run/harness/journal 2>&1; %secho \"$$SERVICE_RESULT $$EXIT_CODE "
                "$$EXIT_STATUS\" "
                "> /run/harness/%s'\n",
                state, result);
        return u && post ? str_append(u, post) : (free(u), NULL);
}

char *isolate_unit_test(const IsolateSpec *spec)
{
        char *u = str_append(NULL, "[Unit]\n"
                                   "Description=harness test\n"
                                   "Wants=multi-user.target\n"
                                   "After=multi-user.target\n");
        /* A container held for spec->hold stays up after the unit. One
         * that may reboot ends through harness-exit.service, which a
         * shutdown does not start: the unit's own actions would also fire
         * when a reboot stops it, and end the system instead. */
        if (u && !spec->hold && spec->max_reboots)
                u = str_append(u, "OnSuccess=harness-exit.service\n"
                                  "OnFailure=harness-exit.service\n");
        else if (u && !spec->hold)
                u = str_append(u, "SuccessAction=exit-force\n"
                                  "FailureAction=exit-force\n"
                                  "SuccessActionExitStatus=" ISOLATE_EXIT_UNIT_ENDED_S "\n"
                                  "FailureActionExitStatus=" ISOLATE_EXIT_UNIT_ENDED_S "\n");
        if (u && spec->setup_argv)
                u = str_append(u, "Requires=harness-setup.service\n"
                                  "After=harness-setup.service\n");
        u = u ? str_append(u, "\n[Service]\nType=oneshot\n") : NULL;
        u = u ? unit_exec_line(u, "ExecStart=", spec->argv) : NULL;
        return u ? unit_service_common(u, spec, "result") : NULL;
}

char *isolate_unit_setup(const IsolateSpec *spec)
{
        char *u = str_append(NULL, "[Unit]\n"
                                   "Description=harness test setup\n"
                                   "After=multi-user.target\n"
                                   "FailureAction=exit-force\n"
                                   "FailureActionExitStatus=" ISOLATE_EXIT_UNIT_ENDED_S "\n"
                                   "\n[Service]\nType=oneshot\nRemainAfterExit=yes\n");
        u = u ? unit_exec_line(u, "ExecStart=", spec->setup_argv) : NULL;
        return u ? unit_service_common(u, spec, "setup-result") : NULL;
}

/* With max_reboots: started when the test unit ends (OnSuccess=,
 * OnFailure=); its default dependencies (Conflicts=shutdown.target) keep a
 * shutdown from starting it, so a reboot reboots. */
const char isolate_unit_exit[] = "[Unit]\n"
                                 "Description=harness test ended\n"
                                 "SuccessAction=exit-force\n"
                                 "FailureAction=exit-force\n"
                                 "\n[Service]\n"
                                 "Type=oneshot\n"
                                 "ExecStart=/bin/true\n";

const char isolate_unit_boot_failed_dropin[] =
        "[Unit]\n"
        "SuccessAction=exit-force\n"
        "FailureAction=exit-force\n"
        "SuccessActionExitStatus=255\n"
        "FailureActionExitStatus=255\n"
        "\n[Service]\n"
        "ExecStartPre=\n"
        "ExecStart=\n"
        "ExecStart=-/bin/sh -c 'echo " ISOLATE_RESULT_BOOT_FAILED " > /run/harness/result; "
        "journalctl -b --no-pager -o short-monotonic > /run/harness/journal 2>&1'\n"
        "StandardInput=null\n"
        "StandardOutput=journal+console\n";

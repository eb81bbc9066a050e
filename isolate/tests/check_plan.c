/* isolate: unit tests of the pure parts — the mount plan, the generated
 * units, the capability bounding set, uid maps and cgroup values. */
#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include "isolate-internal.h"

static const MountOp *find_op(const MountPlan *p, MountOpKind kind, const char *target)
{
        for (size_t i = 0; i < p->n_ops; i++)
                if (p->ops[i].kind == kind && strcmp(p->ops[i].target, target) == 0)
                        return &p->ops[i];
        return NULL;
}

static ssize_t op_index(const MountPlan *p, const char *target)
{
        for (size_t i = 0; i < p->n_ops; i++)
                if (strcmp(p->ops[i].target, target) == 0)
                        return (ssize_t)i;
        return -1;
}

START_TEST(test_plan_build__binds_sorted_parent_first)
{
        IsolateBind binds[] = { { "/h/b", "/srv/a/b", false, -1 }, { "/h/a", "/srv/a", true, -1 } };
        const char *tmpfs[] = { "/srv/a/b/c" };
        bool is_file[] = { false, false };
        IsolateSpec s = { .binds = binds, .n_binds = 2, .tmpfs = tmpfs, .n_tmpfs = 1 };
        PlanContext ctx = { .bind_is_file = is_file };
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
        ssize_t a = op_index(&p, "/srv/a"), b = op_index(&p, "/srv/a/b"),
                c = op_index(&p, "/srv/a/b/c");
        ck_assert(a >= 0 && b > a && c > b);
        ck_assert_int_eq(p.ops[a].fd_index, _PLAN_FD_BINDS + 1);
        ck_assert_int_eq(p.ops[b].fd_index, _PLAN_FD_BINDS + 0);
        ck_assert_int_eq(p.ops[a].phase, MOUNT_PHASE_OUTER);
        isolate_plan_done(&p);
}
END_TEST

START_TEST(test_plan_build__dotdot_target_refused)
{
        IsolateBind binds[] = { { "/h", "/srv/../etc", true, -1 } };
        bool is_file[] = { false };
        IsolateSpec s = { .binds = binds, .n_binds = 1 };
        PlanContext ctx = { .bind_is_file = is_file };
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "'/srv/../etc'"));
        ck_assert_ptr_null(p.ops);
}
END_TEST

START_TEST(test_plan_build__relative_target_refused)
{
        const char *tmpfs[] = { "srv" };
        IsolateSpec s = { .tmpfs = tmpfs, .n_tmpfs = 1 };
        PlanContext ctx = {};
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), -EINVAL);
}
END_TEST

START_TEST(test_plan_build__kernel_fs_and_masks)
{
        IsolateSpec s = {};
        PlanContext ctx = { .owner_uid = 65536, .owner_gid = 65536 };
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
        const MountOp *sys = find_op(&p, MOUNT_OP_FS, "/sys");
        ck_assert_ptr_nonnull(sys);
        ck_assert(sys->attr & MOUNT_ATTR_RDONLY);
        ck_assert_int_eq(sys->phase, MOUNT_PHASE_INNER);
        ck_assert(!sys->optional);
        ck_assert_ptr_nonnull(find_op(&p, MOUNT_OP_FS, "/proc"));
        ck_assert_ptr_nonnull(find_op(&p, MOUNT_OP_BIND_FD, "/sys/fs/cgroup"));
        /* /proc/sys: bind first, then read-only, both after pivot_root. */
        ssize_t bind = -1, ro = -1;
        for (size_t i = 0; i < p.n_ops; i++) {
                if (strcmp(p.ops[i].target, "/proc/sys") != 0)
                        continue;
                if (p.ops[i].kind == MOUNT_OP_BIND_SELF)
                        bind = (ssize_t)i;
                if (p.ops[i].kind == MOUNT_OP_REMOUNT_RO)
                        ro = (ssize_t)i;
        }
        ck_assert(bind >= 0 && ro > bind);
        ck_assert_int_eq(p.ops[ro].phase, MOUNT_PHASE_FINAL);
        ck_assert_ptr_nonnull(find_op(&p, MOUNT_OP_MASK, "/proc/kcore"));
        ck_assert_ptr_nonnull(find_op(&p, MOUNT_OP_REMOUNT_RO, "/proc/sysrq-trigger"));
        /* tmpfs owned by the container's root. */
        const MountOp *run = find_op(&p, MOUNT_OP_FS, "/run");
        ck_assert_ptr_nonnull(strstr(run->data, "uid=65536,gid=65536"));
        ck_assert_ptr_nonnull(find_op(&p, MOUNT_OP_MKNOD, "/dev/null"));
        ck_assert_ptr_null(find_op(&p, MOUNT_OP_BIND_FD, "/dev/console"));
        isolate_plan_done(&p);
}
END_TEST

START_TEST(test_plan_build__sysfs_outer_with_network_host)
{
        const unsigned want =
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
        for (int host = 0; host < 2; host++) {
                IsolateSpec s = {};
                PlanContext ctx = { .owner_uid = 65536, .owner_gid = 65536, .network_host = host };
                MountPlan p = {};
                ThError err = {};
                ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
                /* Sharing the host's network namespace, only the outer child
                 * (host root) may mount a fresh sysfs; it stays read-only and
                 * nothing about it is optional any more. */
                const MountOp *sys = find_op(&p, MOUNT_OP_FS, "/sys");
                ck_assert_ptr_nonnull(sys);
                ck_assert_str_eq(sys->source, "sysfs");
                ck_assert_int_eq(sys->phase, host ? MOUNT_PHASE_OUTER : MOUNT_PHASE_INNER);
                ck_assert_uint_eq(sys->attr & want, want);
                ck_assert(!sys->optional);
                /* The container's own cgroup2 goes over it, attached by PID 1. */
                const MountOp *cg = find_op(&p, MOUNT_OP_BIND_FD, "/sys/fs/cgroup");
                ck_assert_ptr_nonnull(cg);
                ck_assert_int_eq(cg->phase, MOUNT_PHASE_INNER);
                ck_assert_int_eq(cg->fd_index, PLAN_FD_CGROUP);
                ck_assert(!cg->optional);
                ck_assert(op_index(&p, "/sys") < op_index(&p, "/sys/fs/cgroup"));
                isolate_plan_done(&p);
        }
}
END_TEST

START_TEST(test_plan_build__boot_writes_units)
{
        char *argv[] = { "sh", "-c", "echo $HOME 100%", NULL };
        IsolateSpec s = { .boot = true, .argv = argv, .output_dir = "/out" };
        PlanContext ctx = { .has_console = true };
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
        const MountOp *u = find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/harness-test.service");
        ck_assert_ptr_nonnull(u);
        ck_assert_ptr_nonnull(strstr(u->data, "ExecStart=\"sh\" \"-c\" \"echo $$HOME 100%%\"\n"));
        ck_assert_ptr_nonnull(strstr(u->data, "SuccessAction=exit-force"));
        ck_assert_ptr_nonnull(strstr(u->data, "After=multi-user.target"));
        /* The output tmpfs, never a host file. */
        const MountOp *o = find_op(&p, MOUNT_OP_BIND_FD, "/run/harness");
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(o->fd_index, PLAN_FD_OUTPUT);
        ck_assert_ptr_null(find_op(&p, MOUNT_OP_BIND_FD, "/run/harness/stdout"));
        ck_assert_ptr_nonnull(find_op(&p, MOUNT_OP_BIND_FD, "/dev/console"));
        ck_assert_ptr_nonnull(
                find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/emergency.service.d/harness.conf"));
        ck_assert_ptr_null(find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/harness-setup.service"));
        isolate_plan_done(&p);
}
END_TEST

/* A container that may reboot ends through harness-exit.service (not
 * started by a shutdown), never through the test unit's own actions, which
 * a reboot's stop of the unit would fire. */
START_TEST(test_plan_build__reboots_end_through_exit_unit)
{
        char *argv[] = { "true", NULL };
        IsolateSpec s = { .boot = true, .argv = argv, .output_dir = "/out", .max_reboots = 2 };
        PlanContext ctx = { .has_console = true };
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
        const MountOp *u = find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/harness-test.service");
        ck_assert_ptr_nonnull(u);
        ck_assert_ptr_null(strstr(u->data, "SuccessAction="));
        ck_assert_ptr_null(strstr(u->data, "FailureAction="));
        ck_assert_ptr_nonnull(strstr(u->data, "OnSuccess=harness-exit.service\n"));
        ck_assert_ptr_nonnull(strstr(u->data, "OnFailure=harness-exit.service\n"));
        const MountOp *x = find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/harness-exit.service");
        ck_assert_ptr_nonnull(x);
        ck_assert_ptr_nonnull(strstr(x->data, "SuccessAction=exit-force\n"));
        /* Default dependencies (Conflicts=shutdown.target) stay on. */
        ck_assert_ptr_null(strstr(x->data, "DefaultDependencies=no"));
        isolate_plan_done(&p);

        s.max_reboots = 0;
        p = (MountPlan){};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
        ck_assert_ptr_null(find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/harness-exit.service"));
        isolate_plan_done(&p);
}
END_TEST

START_TEST(test_plan_build__light_boot_masks_full_boot_none)
{
        char *argv[] = { "true", NULL };
        PlanContext ctx = {};
        static const char *const masked[] = {
                "/run/systemd/system/console-getty.service",
                "/run/systemd/system/systemd-journal-flush.service",
                "/run/systemd/system-generators/systemd-getty-generator",
        };
        for (int full = 0; full <= 1; full++) {
                IsolateSpec s = {
                        .boot = true, .full_boot = full, .argv = argv, .output_dir = "/o"
                };
                MountPlan p = {};
                ThError err = {};
                ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
                for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
                        const MountOp *m = find_op(&p, MOUNT_OP_FILE, masked[i]);
                        if (full)
                                ck_assert_ptr_null(m);
                        else
                                ck_assert(m && m->data && m->data[0] == 0); /* empty: masked */
                }
                const MountOp *j =
                        find_op(&p, MOUNT_OP_FILE, "/run/systemd/journald.conf.d/harness.conf");
                const MountOp *mq = find_op(&p, MOUNT_OP_FS, "/dev/mqueue");
                if (full) {
                        ck_assert_ptr_null(j);
                        ck_assert_ptr_null(mq);
                } else {
                        ck_assert_ptr_nonnull(strstr(j->data, "Storage=volatile"));
                        ck_assert_int_eq(mq->phase, MOUNT_PHASE_INNER);
                        ck_assert(mq->optional);
                }
                /* The units every boot keeps. */
                ck_assert_ptr_null(
                        find_op(&p, MOUNT_OP_FILE, "/run/systemd/system/systemd-logind.service"));
                isolate_plan_done(&p);
        }
        /* An interactive boot (no command) is a full boot. */
        IsolateSpec s = { .boot = true };
        MountPlan p = {};
        ThError err = {};
        ck_assert_int_eq(isolate_plan_build(&s, &ctx, &p, &err), 0);
        ck_assert_ptr_null(find_op(&p, MOUNT_OP_FILE, masked[0]));
        isolate_plan_done(&p);
}
END_TEST

START_TEST(test_unit_quote__escapes)
{
        char *q = isolate_unit_quote("a\"b\\c$d%e\nf");
        ck_assert_str_eq(q, "\"a\\\"b\\\\c$$d%%e\\nf\"");
        free(q);
}
END_TEST

START_TEST(test_unit_test__user_workdir_env_setup)
{
        char *argv[] = { "true", NULL }, *setup[] = { "mkdir", "/x", NULL };
        char *env[] = { "A=1 2", NULL };
        IsolateSpec s = { .argv = argv,
                          .setup_argv = setup,
                          .user = "nobody",
                          .workdir = "/srv/100%",
                          .env = env };
        char *u = isolate_unit_test(&s);
        ck_assert_ptr_nonnull(strstr(u, "User=nobody\n"));
        ck_assert_ptr_nonnull(strstr(u, "WorkingDirectory=/srv/100%%\n"));
        ck_assert_ptr_nonnull(strstr(u, "Environment=\"A=1 2\"\n"));
        ck_assert_ptr_nonnull(strstr(u, "Requires=harness-setup.service\n"));
        ck_assert_ptr_nonnull(strstr(u, "ExecStopPost=+"));
        free(u);
        u = isolate_unit_setup(&s);
        ck_assert_ptr_nonnull(strstr(u, "ExecStart=\"mkdir\" \"/x\"\n"));
        ck_assert_ptr_nonnull(strstr(u, "/run/harness/setup-result"));
        free(u);
}
END_TEST

START_TEST(test_caps_bounding__drops_host_only)
{
        uint64_t m = 0;
        ThError err = {};
        ck_assert_int_eq(isolate_caps_bounding(NULL, 0, &m, &err), 0);
        ck_assert(!(m & (UINT64_C(1) << 16))); /* CAP_SYS_MODULE */
        ck_assert(!(m & (UINT64_C(1) << 17))); /* CAP_SYS_RAWIO */
        ck_assert(!(m & (UINT64_C(1) << 25))); /* CAP_SYS_TIME */
        ck_assert(m & (UINT64_C(1) << 21));    /* CAP_SYS_ADMIN */
        ck_assert(m & (UINT64_C(1) << 0));     /* CAP_CHOWN */
}
END_TEST

START_TEST(test_caps_bounding__keep_adds_and_rejects_unknown)
{
        const char *keep[] = { "sys_time", "CAP_NET_ADMIN" };
        const char *bad[] = { "CAP_FLY" };
        uint64_t m = 0;
        ThError err = {};
        ck_assert_int_eq(isolate_caps_bounding(keep, 2, &m, &err), 0);
        ck_assert(m & (UINT64_C(1) << 25));
        ck_assert(m & (UINT64_C(1) << 12));
        ck_assert_int_eq(isolate_caps_bounding(bad, 1, &m, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "'CAP_FLY'"));
}
END_TEST

START_TEST(test_formats__uid_map_and_cpu)
{
        char buf[64];
        ck_assert_int_ge(isolate_userns_map_format(524288, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "0 524288 65536\n");
        isolate_cgroup_cpu_max(1.5, buf, sizeof(buf));
        ck_assert_str_eq(buf, "150000 100000");
        isolate_cgroup_cpu_max(0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "max 100000");
}
END_TEST

/* isolate_resolve_in_root needs no privileges: a plain directory stands in
 * for the container's root. */
static char rootdir[] = "/tmp/harness-resolve.XXXXXX";

static void make_root(void)
{
        ck_assert_ptr_nonnull(mkdtemp(rootdir));
}

static void remove_root(void)
{
        th_rm_rf(rootdir);
}

static bool exists_under(const char *rel)
{
        char p[4096];
        th_snprintf(p, sizeof(p), "%s/%s", rootdir, rel);
        struct stat st;
        return lstat(p, &st) == 0;
}

START_TEST(test_resolve_in_root__absolute_symlink_stays_inside)
{
        char p[4096], outside[4096];
        th_snprintf(outside, sizeof(outside), "%s-outside", rootdir);
        th_snprintf(p, sizeof(p), "%s/srv", rootdir);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        th_snprintf(p, sizeof(p), "%s/srv/link", rootdir);
        /* Points at a host path next to the root: inside, it means root/... */
        ck_assert_int_eq(symlink(outside, p), 0);
        _cleanup_close_ int root = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd = -1;
        ThError err = {};
        ck_assert_int_eq(isolate_resolve_in_root(root, "/srv/link/data", false, 0755, getuid(),
                                                 getgid(), &fd, &err),
                         0);
        close(fd);
        ck_assert_int_ne(access(outside, F_OK), 0);
        th_snprintf(p, sizeof(p), "%s/data", outside + 1); /* relative to the root */
        ck_assert(exists_under(p));
}
END_TEST

START_TEST(test_resolve_in_root__dotdot_symlink_clamped)
{
        char p[4096];
        th_snprintf(p, sizeof(p), "%s/up", rootdir);
        ck_assert_int_eq(symlink("../../../../..", p), 0);
        _cleanup_close_ int root = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd = -1;
        ThError err = {};
        ck_assert_int_eq(isolate_resolve_in_root(root, "/up/harness-resolve-escape", true, 0644,
                                                 getuid(), getgid(), &fd, &err),
                         0);
        close(fd);
        ck_assert(exists_under("harness-resolve-escape"));
        ck_assert_int_ne(access("/harness-resolve-escape", F_OK), 0);
}
END_TEST

START_TEST(test_resolve_in_root__symlink_loop_fails)
{
        char p[4096];
        th_snprintf(p, sizeof(p), "%s/a", rootdir);
        ck_assert_int_eq(symlink("/b", p), 0);
        th_snprintf(p, sizeof(p), "%s/b", rootdir);
        ck_assert_int_eq(symlink("/a", p), 0);
        _cleanup_close_ int root = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd = -1;
        ThError err = {};
        ck_assert_int_lt(
                isolate_resolve_in_root(root, "/a/x", false, 0755, getuid(), getgid(), &fd, &err),
                0);
        ck_assert_ptr_nonnull(strstr(err.msg, "'/a/x'"));
}
END_TEST

/* ---- harness-init's command line and the sync wire format -------------- */

static int argv_count(char **argv)
{
        int n = 0;
        while (argv[n])
                n++;
        return n;
}

START_TEST(test_init_argv__round_trip)
{
        char *cmd[] = { "sh", "-c", "--hold", "--", NULL };
        char *setup[] = { "/bin/setup", "--user", NULL };
        char *env[] = { "A=1", NULL };
        InitParams in = { .argv = cmd,
                          .setup_argv = setup,
                          .env = env,
                          .user = "nobody",
                          .workdir = "/w d",
                          .interactive = true,
                          .hold = true,
                          .stdout_fd = 7,
                          .stderr_fd = 8,
                          .sync_fd = 5 };
        char **argv = isolate_init_argv(&in);
        ck_assert_ptr_nonnull(argv);
        ck_assert_str_eq(argv[0], "harness-init");
        InitParams out = { .stdout_fd = -1, .stderr_fd = -1, .sync_fd = -1 };
        ck_assert_int_eq(isolate_init_parse(argv_count(argv), argv, &out), 0);
        ck_assert_int_eq(out.sync_fd, 5);
        ck_assert_int_eq(out.stdout_fd, 7);
        ck_assert_int_eq(out.stderr_fd, 8);
        ck_assert(out.interactive && out.hold);
        ck_assert_str_eq(out.user, "nobody");
        ck_assert_str_eq(out.workdir, "/w d");
        ck_assert_int_eq(th_strv_length(out.setup_argv), 2);
        ck_assert_str_eq(out.setup_argv[0], "/bin/setup");
        ck_assert_str_eq(out.setup_argv[1], "--user");
        /* The command's own words are never options. */
        ck_assert_int_eq(th_strv_length(out.argv), 4);
        for (size_t i = 0; i < 4; i++)
                ck_assert_str_eq(out.argv[i], cmd[i]);
        free((void *)out.setup_argv);
        free(argv);
}
END_TEST

START_TEST(test_init_argv__minimal_and_refused)
{
        char *cmd[] = { "true", NULL };
        InitParams in = { .argv = cmd, .stdout_fd = -1, .stderr_fd = -1, .sync_fd = 3 };
        char **argv = isolate_init_argv(&in);
        ck_assert_ptr_nonnull(argv);
        ck_assert_int_eq(argv_count(argv), 5); /* harness-init --sync 3 -- true */
        InitParams out = { .stdout_fd = -1, .stderr_fd = -1, .sync_fd = -1 };
        ck_assert_int_eq(isolate_init_parse(argv_count(argv), argv, &out), 0);
        ck_assert_int_eq(out.stdout_fd, -1);
        ck_assert(!out.interactive && !out.hold && !out.user && !out.setup_argv);
        free(argv);

        char *no_sync[] = { "harness-init", "--", "true", NULL };
        char *no_cmd[] = { "harness-init", "--sync", "3", "--", NULL };
        char *unknown[] = { "harness-init", "--sync", "3", "--bogus", "--", "true", NULL };
        char *short_setup[] = { "harness-init", "--sync", "3", "--setup", "5", "a", NULL };
        char **bad[] = { no_sync, no_cmd, unknown, short_setup };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                InitParams o = { .stdout_fd = -1, .stderr_fd = -1, .sync_fd = -1 };
                ck_assert_int_eq(isolate_init_parse(argv_count(bad[i]), bad[i], &o), -EINVAL);
        }
}
END_TEST

static bool fd_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(test_sync__recv_what_send_sent)
{
        int sp[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        SyncMsg m;
        int fds[ISOLATE_SYNC_MAX_FDS];
        size_t n;
        ck_assert_int_eq(isolate_sync_recv(sp[0], &m, fds, &n), -EAGAIN);

        ThError e = {};
        th_error_set(&e, ENOENT, "setup: %s", "gone");
        ck_assert_int_eq(isolate_sync_send(sp[1], SYNC_ERROR, 3, &e), 0);
        ck_assert_int_eq(isolate_sync_recv(sp[0], &m, fds, &n), 1);
        ck_assert_int_eq(m.kind, SYNC_ERROR);
        ck_assert_int_eq(m.value, 3);
        ck_assert_int_eq(m.err.code, ENOENT);
        ck_assert_str_eq(m.err.msg, e.msg);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(fds[0], -1);

        int pass[2] = { open("/", O_PATH | O_CLOEXEC), open("/", O_PATH | O_CLOEXEC) };
        ck_assert_int_eq(isolate_sync_send_fds(sp[1], SYNC_PID, 0, pass, 2), 0);
        ck_assert_int_eq(isolate_sync_recv(sp[0], &m, fds, &n), 1);
        ck_assert_int_eq(m.kind, SYNC_PID);
        ck_assert_uint_eq(n, 2);
        ck_assert(fd_open(fds[0]) && fd_open(fds[1]));
        ck_assert_int_eq(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(fds[0]);
        close(fds[1]);
        ck_assert_int_eq(isolate_sync_send_fds(sp[1], SYNC_PID, 0, pass, 3), -EINVAL);
        close(pass[0]);
        close(pass[1]);

        close(sp[1]);
        ck_assert_int_eq(isolate_sync_recv(sp[0], &m, fds, &n), 0);
        close(sp[0]);
}
END_TEST

/* What a forger sends: a short message, one with more fds than the format
 * has; refused, and no fd of it stays open in the receiver. */
START_TEST(test_sync__recv_refuses_malformed)
{
        int sp[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        SyncMsg m;
        int fds[ISOLATE_SYNC_MAX_FDS];
        size_t n;
        int kind = SYNC_READY;
        ck_assert_int_eq(send(sp[1], &kind, sizeof(kind), 0), (ssize_t)sizeof(kind));
        ck_assert_int_eq(isolate_sync_recv(sp[0], &m, fds, &n), -EBADMSG);

        int three[3] = { open("/", O_PATH | O_CLOEXEC), open("/", O_PATH | O_CLOEXEC),
                         open("/", O_PATH | O_CLOEXEC) };
        SyncMsg out = { .kind = SYNC_PID };
        struct iovec iov = { .iov_base = &out, .iov_len = sizeof(out) };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(three))];
        } c = {};
        struct msghdr msg = { .msg_iov = &iov,
                              .msg_iovlen = 1,
                              .msg_control = c.buf,
                              .msg_controllen = sizeof(c.buf) };
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(three));
        memcpy(CMSG_DATA(h), three, sizeof(three));
        ck_assert_int_eq(sendmsg(sp[1], &msg, 0), (ssize_t)sizeof(out));
        for (size_t i = 0; i < 3; i++)
                close(three[i]);
        int before = open("/", O_PATH | O_CLOEXEC);
        close(before);
        ck_assert_int_eq(isolate_sync_recv(sp[0], &m, fds, &n), -EBADMSG);
        ck_assert_int_eq(fds[0], -1);
        ck_assert_int_eq(fds[1], -1);
        ck_assert_uint_eq(n, 0);
        /* The lowest free fd is the one it was before the receive: none kept. */
        int after = open("/", O_PATH | O_CLOEXEC);
        ck_assert_int_eq(after, before);
        close(after);
        close(sp[0]);
        close(sp[1]);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("isolate_plan");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_plan_build__binds_sorted_parent_first);
        tcase_add_test(tc, test_plan_build__dotdot_target_refused);
        tcase_add_test(tc, test_plan_build__relative_target_refused);
        tcase_add_test(tc, test_plan_build__kernel_fs_and_masks);
        tcase_add_test(tc, test_plan_build__sysfs_outer_with_network_host);
        tcase_add_test(tc, test_plan_build__boot_writes_units);
        tcase_add_test(tc, test_plan_build__reboots_end_through_exit_unit);
        tcase_add_test(tc, test_plan_build__light_boot_masks_full_boot_none);
        tcase_add_test(tc, test_unit_quote__escapes);
        tcase_add_test(tc, test_unit_test__user_workdir_env_setup);
        tcase_add_test(tc, test_caps_bounding__drops_host_only);
        tcase_add_test(tc, test_caps_bounding__keep_adds_and_rejects_unknown);
        tcase_add_test(tc, test_formats__uid_map_and_cpu);
        tcase_add_test(tc, test_init_argv__round_trip);
        tcase_add_test(tc, test_init_argv__minimal_and_refused);
        tcase_add_test(tc, test_sync__recv_what_send_sent);
        tcase_add_test(tc, test_sync__recv_refuses_malformed);
        suite_add_tcase(s, tc);
        TCase *rs = tcase_create("resolve");
        tcase_add_checked_fixture(rs, make_root, remove_root);
        tcase_add_test(rs, test_resolve_in_root__absolute_symlink_stays_inside);
        tcase_add_test(rs, test_resolve_in_root__dotdot_symlink_clamped);
        tcase_add_test(rs, test_resolve_in_root__symlink_loop_fails);
        suite_add_tcase(s, rs);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

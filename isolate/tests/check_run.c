/* isolate: privileged tests — real containers through isolate_run() on the
 * test tree (HARNESS_TEST_ROOTFS): statuses, timeout, limits, setup,
 * artifacts, symlinked bind targets, the upper dir, parallel runs, the
 * pure-v2 cgroup layout, and a host left exactly as it was. Exit 77 without
 * root, user namespaces or the tree. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "isolate.h"
#include "privileged.h"

static const char *tree;
static char work[] = "/tmp/harness-isolate-run.XXXXXX";

/* ---- host snapshot ------------------------------------------------------- */

/* The cgroups a dead worker left: harness/c<pid>-... whose pid is gone.
 * (Other processes on a shared machine create and remove cgroups of their
 * own; ours are named after the worker's pid.) */
static void list_leftovers(const char *dir, FILE *out, int depth)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && depth < 4 && (de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char p[4096];
                int pid;
                th_snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (sscanf(de->d_name, "c%d-", &pid) == 1 && strstr(dir, "/harness")) {
                        if (kill(pid, 0) < 0 && errno == ESRCH)
                                fprintf(out, "leftover cgroup %s\n", p);
                        continue;
                }
                list_leftovers(p, out, depth + 1);
        }
        if (d)
                closedir(d);
}

/* Mount points a container could leak onto the host (ours and the
 * standard ones), with their options; other mounts on a shared machine
 * come and go on their own. */
static bool watched_mount(const char *mp)
{
        const char *exact[] = { "/", "/run", "/tmp", "/dev", "/proc", "/sys" };
        for (size_t i = 0; i < ELEMENTSOF(exact); i++)
                if (strcmp(mp, exact[i]) == 0)
                        return true;
        const char *prefix[] = { tree, work, "/run/harness", "/sys/fs/cgroup", "/dev/", "/proc/" };
        for (size_t i = 0; i < ELEMENTSOF(prefix); i++)
                if (strncmp(mp, prefix[i], strlen(prefix[i])) == 0)
                        return true;
        return false;
}

static char *snapshot(void)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        FILE *m = fopen("/proc/self/mountinfo", "re");
        char line[8192];
        while (m && fgets(line, sizeof(line), m)) {
                char *f[10] = {};
                char *save = NULL, *t = strtok_r(line, " ", &save);
                for (int i = 0; t && i < 10; i++, t = strtok_r(NULL, " ", &save))
                        f[i] = t;
                if (f[4] && watched_mount(f[4]))
                        fprintf(out, "%s %s\n", f[4], f[5] ? f[5] : "");
        }
        if (m)
                fclose(m);
        list_leftovers("/sys/fs/cgroup", out, 0);
        fclose(out);
        return buf;
}

static char *snap_before;

static void setup_snapshot(void)
{
        snap_before = snapshot();
}

static void check_snapshot(void)
{
        char *after = snapshot();
        if (strcmp(snap_before, after) != 0) {
                /* Show the first line that differs. */
                const char *a = snap_before, *b = after;
                while (*a && *a == *b)
                        a++, b++;
                while (a > snap_before && a[-1] != '\n')
                        a--, b--;
                ck_abort_msg("the host's mounts or cgroups changed: before '%.200s' after '%.200s'",
                             a, b);
        }
        free(after);
        free(snap_before);
}

/* ---- helpers -------------------------------------------------------------- */

static char *outdir(const char *name)
{
        static char p[4096];
        th_snprintf(p, sizeof(p), "%s/%s", work, name);
        th_mkdir_p(p, 0755);
        return p;
}

static IsolateSpec base_spec(char **argv, const char *name)
{
        return (IsolateSpec){ .rootfs = tree,
                              .ephemeral = true,
                              .private_users = true,
                              .machine = "check",
                              .argv = argv,
                              .output_dir = outdir(name),
                              .timeout_usec = 60 * USEC_PER_SEC };
}

static IsolateResult run_ok(const IsolateSpec *s)
{
        IsolateResult r = {};
        ThError err = {};
        int x = isolate_run(s, &r, &err);
        ck_assert_msg(x == 0, "isolate_run: %d %s", x, err.msg);
        return r;
}

static bool process_running(const char *arg)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        bool found = false;
        while (d && !found && (de = readdir(d))) {
                char p[300], buf[512] = {};
                th_snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                for (ssize_t i = 0; i < n; i++)
                        if (!buf[i])
                                buf[i] = ' ';
                if (n > 0 && strstr(buf, arg))
                        found = true;
        }
        if (d)
                closedir(d);
        return found;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_run__direct_exit_statuses)
{
        const char *cmds[] = { "echo out; echo err >&2; exit 0", "exit 3", "exit 42" };
        const int want[] = { 0, 3, 42 };
        for (size_t i = 0; i < 3; i++) {
                char *argv[] = { "/bin/sh", "-c", (char *)cmds[i], NULL };
                IsolateSpec s = base_spec(argv, "direct");
                IsolateResult r = run_ok(&s);
                ck_assert_int_eq(r.status, ISOLATE_EXITED);
                ck_assert_int_eq(r.exit_status, want[i]);
                if (i == 0) {
                        ck_assert_str_eq(isolate_test_read_file(r.stdout_path), "out\n");
                        ck_assert_str_eq(isolate_test_read_file(r.stderr_path), "err\n");
                }
        }
}
END_TEST

START_TEST(test_run__direct_signal_reported)
{
        char *argv[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
        IsolateSpec s = base_spec(argv, "signal");
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.exit_status, 128 + SIGTERM);
}
END_TEST

START_TEST(test_run__boot_status_journal_console)
{
        char *argv[] = { "/bin/sh", "-c",
                         "echo booted; test $(cat /proc/1/comm) = systemd && exit 42", NULL };
        IsolateSpec s = base_spec(argv, "boot");
        s.boot = true;
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_EXITED);
        ck_assert_int_eq(r.exit_status, 42);
        ck_assert_str_eq(isolate_test_read_file(r.stdout_path), "booted\n");
        ck_assert_ptr_nonnull(
                strstr(isolate_test_read_file(r.journal_path), "harness-test.service"));
        ck_assert_ptr_nonnull(strstr(isolate_test_read_file(r.console_path), "multi-user.target"));
}
END_TEST

START_TEST(test_run__boot_failure_is_infrastructure_error)
{
        /* A relative WorkingDirectory= makes the test unit fail to load:
         * systemd falls back to emergency.target, which must end the boot. */
        char *argv[] = { "/bin/true", NULL };
        IsolateSpec s = base_spec(argv, "bootfail");
        s.boot = true;
        s.workdir = "relative";
        IsolateResult r = {};
        ThError err = {};
        ck_assert_int_lt(isolate_run(&s, &r, &err), 0);
        ck_assert_msg(strstr(err.msg, "boot failed"), "%s", err.msg);
}
END_TEST

/* hold: what the callback saw of the held container. */
typedef struct Held {
        int calls;
        char name[64];
        int exit_status;
        bool listed;      /* in the registry while held */
        int enter_status; /* of a command run inside with isolate_machine_enter() */
} Held;

static void hold_probe(const char *machine, const IsolateResult *res, void *userdata)
{
        Held *h = userdata;
        IsolateMachine m;
        ThError err = {};
        char *argv[] = { "/bin/sh", "-c", "test -f /tmp/marker && exit 7", NULL };

        h->calls++;
        th_snprintf(h->name, sizeof(h->name), "%s", machine);
        h->exit_status = res->exit_status;
        h->listed = isolate_machine_get(machine, &m, &err) == 0 && m.leader > 0;
        if (isolate_machine_enter(machine, argv, &h->enter_status, &err) < 0)
                h->enter_status = -1;
        /* Longer than the test's timeout: the timeout must not fire while held. */
        sleep(3);
}

static void check_kept(bool boot)
{
        char *argv[] = { "/bin/sh", "-c", "touch /tmp/marker; exit 3", NULL };
        IsolateSpec s = base_spec(argv, boot ? "keepboot" : "keep");
        Held h = {};
        IsolateMachine m;
        ThError err = {};

        s.boot = boot;
        s.timeout_usec = 2 * USEC_PER_SEC;
        s.hold = hold_probe;
        s.hold_userdata = &h;
        if (boot)
                s.timeout_usec = 30 * USEC_PER_SEC;
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(h.calls, 1);
        ck_assert_int_eq(h.exit_status, 3);
        ck_assert_msg(h.listed, "the kept container '%s' is not in the registry", h.name);
        ck_assert_int_eq(h.enter_status, 7); /* /tmp/marker of the failed command is there */
        /* Reported with the command's status, not the kill that ended it. */
        ck_assert_int_eq(r.status, ISOLATE_EXITED);
        ck_assert_int_eq(r.exit_status, 3);
        ck_assert(!r.timed_out);
        ck_assert_int_lt(isolate_machine_get(h.name, &m, &err), 0);
}

START_TEST(test_run__hold_keeps_direct_container)
{
        check_kept(false);
}
END_TEST

START_TEST(test_run__hold_keeps_booted_container)
{
        check_kept(true);
}
END_TEST

START_TEST(test_run__hold_sees_success_too)
{
        /* The caller judges the result (a test may expect a non-zero exit),
         * so a command that exits 0 is held too. */
        char *argv[] = { "/bin/sh", "-c", "touch /tmp/marker", NULL };
        for (int boot = 0; boot < 2; boot++) {
                IsolateSpec s = base_spec(argv, "holdok");
                Held h = {};
                s.boot = boot;
                s.hold = hold_probe;
                s.hold_userdata = &h;
                IsolateResult r = run_ok(&s);
                ck_assert_int_eq(r.exit_status, 0);
                ck_assert_int_eq(h.calls, 1);
                ck_assert_int_eq(h.exit_status, 0);
                ck_assert_int_eq(h.enter_status, 7);
        }
}
END_TEST

START_TEST(test_run__timeout_kills_everything)
{
        char *argv[] = { "/bin/sh", "-c", "sleep 100.0472 & sleep 100.0472 & sleep 100.0472",
                         NULL };
        IsolateSpec s = base_spec(argv, "timeout");
        s.timeout_usec = 2 * USEC_PER_SEC;
        uint64_t t = th_now_usec();
        IsolateResult r = run_ok(&s);
        uint64_t took = th_now_usec() - t;
        ck_assert_int_eq(r.status, ISOLATE_TIMEOUT);
        ck_assert(r.timed_out);
        ck_assert_msg(took < 4 * USEC_PER_SEC, "took %llu us", (unsigned long long)took);
        ck_assert(!process_running("sleep 100.0472"));
}
END_TEST

START_TEST(test_run__boot_timeout)
{
        char *argv[] = { "/bin/sleep", "100.0472", NULL };
        IsolateSpec s = base_spec(argv, "boottimeout");
        s.boot = true;
        s.timeout_usec = 8 * USEC_PER_SEC;
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_TIMEOUT);
        ck_assert(!process_running("sleep 100.0472"));
}
END_TEST

START_TEST(test_run__fork_bomb_contained)
{
        char *argv[] = { "/bin/sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 3; exit 0", NULL };
        IsolateSpec s = base_spec(argv, "forkbomb");
        s.limits.pids = 64;
        s.timeout_usec = 6 * USEC_PER_SEC;
        IsolateResult r = run_ok(&s);
        ck_assert(r.pids_limit_hit);
        ck_assert(r.status == ISOLATE_TIMEOUT || r.status == ISOLATE_EXITED);
}
END_TEST

START_TEST(test_run__memory_hog_oom)
{
        char *argv[] = { "/bin/sh", "-c", "x=$(head -c 300M /dev/zero | tr '\\0' a); echo ${#x}",
                         NULL };
        IsolateSpec s = base_spec(argv, "oom");
        s.limits.memory_bytes = 64ULL << 20;
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_OOM);
        ck_assert(r.oom);
}
END_TEST

START_TEST(test_run__setup_runs_first_and_failure_reported)
{
        char *setup[] = { "/bin/sh", "-c", "mkdir /srv/work", NULL };
        char *argv[] = { "/bin/sh", "-c", "test -d /srv/work", NULL };
        IsolateSpec s = base_spec(argv, "setup");
        s.setup_argv = setup;
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_EXITED);
        ck_assert_int_eq(r.exit_status, 0);

        char *bad[] = { "/bin/sh", "-c", "exit 7", NULL };
        s.setup_argv = bad;
        r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_SETUP_FAILED);
        ck_assert_int_eq(r.exit_status, 7);

        s.boot = true;
        r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_SETUP_FAILED);
        ck_assert_int_eq(r.exit_status, 7);
}
END_TEST

START_TEST(test_run__artifacts_never_leave_the_root)
{
        char *argv[] = { "/bin/sh", "-c",
                         "echo log > /var/log/a.log; echo inside > /etc/marker;"
                         "ln -s /etc /var/log/abs; ln -s / /var/log/up;"
                         "ln -s /etc/marker /var/log/link",
                         NULL };
        const char *arts[] = { "/var/log/a.log", "/var/log/abs/marker", "/var/log/up/etc/marker",
                               "/var/log/link", "/var/log/missing" };
        IsolateSpec s = base_spec(argv, "artifacts");
        char dir[4096];
        th_snprintf(dir, sizeof(dir), "%s/arts", work);
        ck_assert_int_eq(th_mkdir_p(dir, 0755), 0); /* the caller's, as documented */
        s.artifacts = arts;
        s.n_artifacts = 5;
        s.artifacts_dir = dir;
        run_ok(&s);
        char p[4096];
        th_snprintf(p, sizeof(p), "%s/var/log/a.log", dir);
        ck_assert_str_eq(isolate_test_read_file(p), "log\n");
        th_snprintf(p, sizeof(p), "%s/var/log/abs/marker", dir);
        ck_assert_str_eq(isolate_test_read_file(p), "inside\n");
        th_snprintf(p, sizeof(p), "%s/var/log/up/etc/marker", dir);
        ck_assert_str_eq(isolate_test_read_file(p), "inside\n");
        /* A symlink artifact is copied as a symlink, never followed. */
        struct stat st;
        th_snprintf(p, sizeof(p), "%s/var/log/link", dir);
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert(S_ISLNK(st.st_mode));
}
END_TEST

START_TEST(test_run__bind_target_behind_absolute_symlink_stays_inside)
{
        /* A layer over the tree where /srv/fix is an absolute symlink to a
         * directory that exists on the host: the bind must land inside. */
        char layer[4096], hostdir[4096], src[4096], link[4096];
        th_snprintf(layer, sizeof(layer), "%s/layer", work);
        th_snprintf(hostdir, sizeof(hostdir), "%s/hostside", work);
        th_snprintf(src, sizeof(src), "%s/fixture", work);
        th_mkdir_p(hostdir, 0755);
        th_mkdir_p(src, 0755);
        th_snprintf(link, sizeof(link), "%s/srv", layer);
        th_mkdir_p(link, 0755);
        th_snprintf(link, sizeof(link), "%s/srv/fix", layer);
        ck_assert_int_eq(symlink(hostdir, link), 0);
        int fd = open(strcat(strcpy((char[4096]){ 0 }, src), "/file"), O_WRONLY | O_CREAT, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);

        const char *layers[] = { layer };
        IsolateBind binds[] = { { src, "/srv/fix/data", false, -1 } };
        char *argv[] = { "/bin/sh", "-c", "test -e /srv/fix/data/file && mkdir -p /srv/fix/made",
                         NULL };
        IsolateSpec s = base_spec(argv, "symlink");
        s.layers = layers;
        s.n_layers = 1;
        s.binds = binds;
        s.n_binds = 1;
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.exit_status, 0);
        char p[4096];
        th_snprintf(p, sizeof(p), "%s/data", hostdir);
        ck_assert_int_ne(access(p, F_OK), 0);
        th_snprintf(p, sizeof(p), "%s/made", hostdir);
        ck_assert_int_ne(access(p, F_OK), 0);
}
END_TEST

START_TEST(test_run__keep_upper_dir)
{
        char *argv[] = { "/bin/sh", "-c",
                         "echo kept > /etc/kept; rm /etc/hostname;"
                         "rm -rf /usr/share/doc && mkdir /usr/share/doc",
                         NULL };
        IsolateSpec s = base_spec(argv, "keep");
        char keep[4096], p[4096];
        th_snprintf(keep, sizeof(keep), "%s/upper-kept", work);
        s.keep_upper_dir = keep;
        run_ok(&s);
        th_snprintf(p, sizeof(p), "%s/upper/etc/kept", keep);
        ck_assert_str_eq(isolate_test_read_file(p), "kept\n");
        /* Whiteouts and opaque directories survive: the kept dir is a layer. */
        struct stat st;
        th_snprintf(p, sizeof(p), "%s/upper/etc/hostname", keep);
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert(S_ISCHR(st.st_mode) && st.st_rdev == 0);
        char v[8] = {};
        th_snprintf(p, sizeof(p), "%s/upper/usr/share/doc", keep);
        ck_assert_int_eq(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
        ck_assert_int_eq(v[0], 'y');
        th_snprintf(p, sizeof(p), "%s/upper/etc/kept", keep);
        ck_assert_str_eq(isolate_test_read_file(p), "kept\n");
        th_snprintf(p, sizeof(p), "%s/etc/kept", tree);
        ck_assert_int_ne(access(p, F_OK), 0);
}
END_TEST

START_TEST(test_run__parallel_workers)
{
        pid_t pids[3];
        for (int i = 0; i < 3; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        char cmd[64], name[32];
                        th_snprintf(cmd, sizeof(cmd), "echo %d; exit %d", i, 10 + i);
                        th_snprintf(name, sizeof(name), "par%d", i);
                        char *argv[] = { "/bin/sh", "-c", cmd, NULL };
                        IsolateSpec s = base_spec(argv, name);
                        IsolateResult r = {};
                        ThError err = {};
                        if (isolate_run(&s, &r, &err) < 0)
                                _exit(1);
                        _exit(r.exit_status == 10 + i ? 0 : 2);
                }
        }
        for (int i = 0; i < 3; i++) {
                int st;
                ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
                ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker %d: %d", i, st);
        }
}
END_TEST

START_TEST(test_run__pure_cgroup_v2_layout)
{
        /* A cgroup2-only /sys/fs/cgroup in a private mount namespace: the
         * container must detect it and still run and clean up. */
        int fd = open("/sys/fs/cgroup/unified", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return; /* already a unified host: covered by every other test */
        close(fd);
        ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
        ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        ck_assert_int_eq(mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL), 0);
        char *argv[] = { "/bin/sh", "-c", "grep -qx '0::/' /proc/self/cgroup && exit 5", NULL };
        IsolateSpec s = base_spec(argv, "v2");
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.exit_status, 5);
        /* No v2 pids controller here (it is bound to v1): a clear error. */
        s.limits.pids = 64;
        ThError err = {};
        int x = isolate_run(&s, &r, &err);
        if (x < 0)
                ck_assert_msg(strstr(err.msg, "pids"), "%s", err.msg);
}
END_TEST

int main(void)
{
        tree = getenv("HARNESS_TEST_ROOTFS");
        char sh[4096];
        th_snprintf(sh, sizeof(sh), "%s/bin/sh", tree ? tree : "");
        if (!tree || access(sh, X_OK) < 0 || !isolate_test_can_run()) {
                fprintf(stderr, "skip: needs root, user namespaces and HARNESS_TEST_ROOTFS\n");
                return 77;
        }
        if (!mkdtemp(work))
                return 1;

        Suite *s = suite_create("isolate_run");
        TCase *tc = tcase_create("containers");
        tcase_set_tags(tc, "privileged");
        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, setup_snapshot, check_snapshot);
        tcase_add_test(tc, test_run__direct_exit_statuses);
        tcase_add_test(tc, test_run__direct_signal_reported);
        tcase_add_test(tc, test_run__boot_status_journal_console);
        tcase_add_test(tc, test_run__boot_failure_is_infrastructure_error);
        tcase_add_test(tc, test_run__hold_keeps_direct_container);
        tcase_add_test(tc, test_run__hold_keeps_booted_container);
        tcase_add_test(tc, test_run__hold_sees_success_too);
        tcase_add_test(tc, test_run__timeout_kills_everything);
        tcase_add_test(tc, test_run__boot_timeout);
        tcase_add_test(tc, test_run__fork_bomb_contained);
        tcase_add_test(tc, test_run__memory_hog_oom);
        tcase_add_test(tc, test_run__setup_runs_first_and_failure_reported);
        tcase_add_test(tc, test_run__artifacts_never_leave_the_root);
        tcase_add_test(tc, test_run__bind_target_behind_absolute_symlink_stays_inside);
        tcase_add_test(tc, test_run__keep_upper_dir);
        tcase_add_test(tc, test_run__parallel_workers);
        suite_add_tcase(s, tc);
        /* Its own mount namespace: no host snapshot around it. */
        TCase *v2 = tcase_create("cgroup-v2");
        tcase_set_tags(v2, "privileged");
        tcase_set_timeout(v2, 120);
        tcase_add_test(v2, test_run__pure_cgroup_v2_layout);
        suite_add_tcase(s, v2);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        th_rm_rf(work);
        return failed ? 1 : 0;
}

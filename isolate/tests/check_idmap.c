/* isolate: privileged tests of the "kernel cannot idmap" fallback. A tiny
 * tree (dash, a few coreutils and their libraries from the host) on ramfs,
 * which the kernel refuses to idmap (no FS_ALLOW_IDMAP): the container runs
 * without private users, warns once, and the device policy applies. Exit 77
 * without root or user namespaces. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "isolate-internal.h"
#include "privileged.h"

static char work[] = "/tmp/harness-isolate-idmap.XXXXXX";
static char tree[4096];

/* What the container runs, copied from the host's PATH into the tree's /bin. */
static const char *const programs[] = { "sh", "id", "cat", "mknod", "rm" };

/* ---- the ramfs tree ------------------------------------------------------ */

static int copy_file(const char *from, const char *to)
{
        int in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        char dir[4096];
        th_snprintf(dir, sizeof(dir), "%s", to);
        *strrchr(dir, '/') = 0;
        th_mkdir_p(dir, 0755);
        int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        char buf[65536];
        ssize_t n = 0;
        while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
                if (th_write_all(out, buf, (size_t)n) < 0)
                        n = -1;
        int r = out < 0 || n < 0 ? -EIO : 0;
        close(in);
        if (out >= 0)
                close(out);
        return r;
}

/* The program and every library ldd names, each at the same path in the
 * tree (the dynamic loader's path is fixed in the program). */
static int copy_program(const char *name)
{
        char host[4096], cmd[4400], dst[4096], line[4096];
        th_snprintf(cmd, sizeof(cmd), "command -v %s", name);
        FILE *f = popen(cmd, "re");
        if (!f || !fgets(host, sizeof(host), f)) {
                if (f)
                        pclose(f);
                return -ENOENT;
        }
        pclose(f);
        host[strcspn(host, "\n")] = 0;
        th_snprintf(dst, sizeof(dst), "%s/bin/%s", tree, name);
        int r = copy_file(host, dst);
        if (r < 0)
                return r;
        th_snprintf(cmd, sizeof(cmd), "ldd '%s'", host);
        f = popen(cmd, "re");
        if (!f)
                return -errno;
        while (r >= 0 && fgets(line, sizeof(line), f)) {
                /* "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
                 * "/lib64/ld-linux-x86-64.so.2 (0x...)"; skip the vdso. */
                char *p = strstr(line, "=> ");
                p = p ? p + 3 : line + strspn(line, " \t");
                if (*p != '/')
                        continue;
                p[strcspn(p, " \t\n")] = 0;
                th_snprintf(dst, sizeof(dst), "%s%s", tree, p);
                r = copy_file(p, dst);
        }
        pclose(f);
        return r;
}

static int make_tree(void)
{
        th_snprintf(tree, sizeof(tree), "%s/tree", work);
        if (mkdir(tree, 0755) < 0 || mount("ramfs", tree, "ramfs", MS_NOSUID, "mode=0755") < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(programs); i++) {
                int r = copy_program(programs[i]);
                if (r < 0) {
                        fprintf(stderr, "cannot copy '%s' into the tree: %s\n", programs[i],
                                strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* ---- host snapshot: nothing of ours may stay mounted or in a cgroup ------ */

static int line_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines: a mount namespace of our own (one test makes one) lists the
 * same mounts in another order. */
static char *snapshot(void)
{
        char *lines[256];
        size_t n = 0;
        FILE *m = fopen("/proc/self/mountinfo", "re");
        char line[8192];
        while (m && n < ELEMENTSOF(lines) && fgets(line, sizeof(line), m)) {
                char *f[6] = {};
                char *save = NULL, *t = strtok_r(line, " ", &save);
                for (int i = 0; t && i < 6; i++, t = strtok_r(NULL, " ", &save))
                        f[i] = t;
                if (f[4] && (strncmp(f[4], work, strlen(work)) == 0 ||
                             strncmp(f[4], "/run/harness", 12) == 0 || strcmp(f[4], "/") == 0 ||
                             strcmp(f[4], "/sys") == 0 || strcmp(f[4], "/proc") == 0))
                        lines[n++] = th_strdup_printf("%s %s", f[4], f[5] ? f[5] : "");
        }
        if (m)
                fclose(m);
        /* Our containers' cgroups are named after this process tree's pids. */
        const char *roots[] = { "/sys/fs/cgroup/unified/harness", "/sys/fs/cgroup/devices/harness",
                                "/sys/fs/cgroup/harness" };
        for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                DIR *d = opendir(roots[i]);
                struct dirent *de;
                while (d && n < ELEMENTSOF(lines) && (de = readdir(d))) {
                        int pid;
                        if (sscanf(de->d_name, "c%d-", &pid) == 1 && pid == getpid())
                                lines[n++] = th_strdup_printf("cgroup %s/%s", roots[i], de->d_name);
                }
                if (d)
                        closedir(d);
        }
        qsort(lines, n, sizeof(*lines), line_cmp);
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        for (size_t i = 0; i < n; i++) {
                fprintf(out, "%s\n", lines[i]);
                free(lines[i]);
        }
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
        ck_assert_msg(strcmp(snap_before, after) == 0, "the host changed: before\n%s\nafter\n%s",
                      snap_before, after);
        free(after);
        free(snap_before);
}

/* ---- helpers ------------------------------------------------------------- */

static unsigned n_warnings;
static char last_warning[TH_ERROR_MSG_MAX];

static void capture_sink(ThLogLevel level, const char *msg, void *userdata)
{
        (void)userdata;
        if (level == TH_LOG_WARNING && strstr(msg, "cannot idmap")) {
                n_warnings++;
                th_snprintf(last_warning, sizeof(last_warning), "%s", msg);
        }
}

static IsolateSpec spec_for(char **argv, const char *name)
{
        static char out[4096];
        th_snprintf(out, sizeof(out), "%s/%s", work, name);
        th_mkdir_p(out, 0755);
        return (IsolateSpec){ .rootfs = tree,
                              .ephemeral = true,
                              .private_users = true,
                              .machine = "idmap",
                              .argv = argv,
                              .output_dir = out,
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

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_idmap__ramfs_tree_runs_without_private_users)
{
        char *argv[] = { "/bin/sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map",
                         NULL };
        IsolateSpec s = spec_for(argv, "plain");
        IsolateResult r = run_ok(&s);
        ck_assert_int_eq(r.status, ISOLATE_EXITED);
        ck_assert_int_eq(r.exit_status, 0);
        ck_assert(r.private_users_off);

        /* The host's identity map: no user namespace around the container. */
        unsigned uid = 1, in[2] = { 1, 1 }, out[2] = { 1, 1 }, len[2] = { 0, 0 };
        const char *o = isolate_test_read_file(r.stdout_path);
        ck_assert_msg(sscanf(o, "%u %u %u %u %u %u %u", &uid, &in[0], &out[0], &len[0], &in[1],
                             &out[1], &len[1]) == 7,
                      "stdout: '%s' stderr: '%s'", o, isolate_test_read_file(r.stderr_path));
        ck_assert_uint_eq(uid, 0);
        for (int i = 0; i < 2; i++) {
                ck_assert_uint_eq(in[i], 0);
                ck_assert_uint_eq(out[i], 0);
                ck_assert_uint_eq(len[i], 4294967295u);
        }
}
END_TEST

START_TEST(test_idmap__warned_once_across_runs)
{
        th_log_set_sink(capture_sink, NULL);
        char *argv[] = { "/bin/sh", "-c", "exit 4", NULL };
        for (int i = 0; i < 2; i++) {
                IsolateSpec s = spec_for(argv, "twice");
                IsolateResult r = run_ok(&s);
                ck_assert(r.private_users_off);
                ck_assert_int_eq(r.exit_status, 4);
        }
        th_log_set_sink(NULL, NULL);
        ck_assert_uint_eq(n_warnings, 1);
        ck_assert_msg(strstr(last_warning, tree) && strstr(last_warning, "without private users"),
                      "%s", last_warning);
}
END_TEST

START_TEST(test_idmap__private_users_off_is_not_reported_when_not_asked)
{
        th_log_set_sink(capture_sink, NULL);
        char *argv[] = { "/bin/sh", "-c", "exit 0", NULL };
        IsolateSpec s = spec_for(argv, "asked-off");
        s.private_users = false;
        IsolateResult r = run_ok(&s);
        th_log_set_sink(NULL, NULL);
        ck_assert(!r.private_users_off);
        ck_assert_uint_eq(n_warnings, 0);
}
END_TEST

START_TEST(test_idmap__device_policy_applies)
{
        /* An allowed character device can be made (CAP_MKNOD is kept), a
         * block device cannot: the denial is the cgroup's (the v1 devices
         * list, or the v2 device program on a pure v2 host), not a missing
         * capability. */
        char *argv[] = { "/bin/sh", "-c",
                         "mknod /tmp/null c 1 3 || exit 10; "
                         "mknod /tmp/sda b 8 0 2>/dev/null && exit 11; "
                         "mknod /tmp/mem c 1 1 2>/dev/null && exit 12; exit 0",
                         NULL };
        IsolateSpec s = spec_for(argv, "devices");
        IsolateResult r = run_ok(&s);
        ck_assert(r.private_users_off);
        ck_assert_msg(r.exit_status == 0, "exit %d: %s", r.exit_status,
                      isolate_test_read_file(r.stderr_path));
}
END_TEST

/* `harness shell` end to end: the one-line warning on stderr. */
START_TEST(test_idmap__shell_warns_on_stderr)
{
        const char *bin = getenv("HARNESS_BIN");
        ck_assert_msg(bin, "HARNESS_BIN is not set");
        char out[4096], errp[4096];
        th_snprintf(out, sizeof(out), "%s/shell.out", work);
        th_snprintf(errp, sizeof(errp), "%s/shell.err", work);
        pid_t p = fork();
        if (p == 0) {
                int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
                        _exit(126);
                execl(bin, bin, "shell", "-D", tree, "-x", "--", "/bin/sh", "-c",
                      "id -u; cat /proc/self/uid_map", (char *)NULL);
                _exit(127);
        }
        int st = 0;
        ck_assert_int_eq(waitpid(p, &st, 0), p);
        char *e = strdup(isolate_test_read_file(errp));
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d, stderr: %s", st, e);
        unsigned uid = 1, a = 1, b = 1, n = 0;
        ck_assert_int_eq(sscanf(isolate_test_read_file(out), "%u %u %u %u", &uid, &a, &b, &n), 4);
        ck_assert_uint_eq(uid, 0);
        ck_assert_uint_eq(n, 4294967295u);
        /* Exactly one line names the fallback. */
        unsigned lines = 0;
        for (char *l = e; (l = strstr(l, "cannot idmap")); l++)
                lines++;
        ck_assert_msg(lines == 1, "stderr: %s", e);
        ck_assert_msg(strstr(e, "running without private users"), "stderr: %s", e);
        free(e);
}
END_TEST

/* The probe itself: ramfs refuses an idmapped mount with EINVAL, which the
 * harness must read as "cannot idmap" (EOPNOTSUPP), never as a setup error. */
START_TEST(test_idmap__probe_reports_eopnotsupp)
{
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t child = fork();
        if (child == 0) {
                char c = unshare(CLONE_NEWUSER) < 0 ? 'E' : 'K';
                (void)!write(p[1], &c, 1);
                pause();
                _exit(0);
        }
        char c = 0, path[64];
        ck_assert_int_eq(read(p[0], &c, 1), 1);
        ck_assert_int_eq(c, 'K');
        const char *files[] = { "uid_map", "gid_map" };
        for (int i = 0; i < 2; i++) {
                th_snprintf(path, sizeof(path), "/proc/%d/%s", (int)child, files[i]);
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                ck_assert_int_ge(fd, 0);
                ck_assert_int_gt(write(fd, "0 1000000 65536\n", 16), 0);
                close(fd);
        }
        th_snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
        int ufd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(ufd, 0);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);

        int fd = -1;
        ThError err = {};
        ck_assert_int_eq(isolate_detached_bind(AT_FDCWD, tree, ufd, 0, &fd, &err), -EOPNOTSUPP);
        ck_assert_int_eq(fd, -1);
        ck_assert_msg(strstr(err.msg, "cannot idmap") && strstr(err.msg, tree), "%s", err.msg);

        /* The control: tmpfs can be idmapped (since Linux 6.3). */
        char tmp[4096];
        th_snprintf(tmp, sizeof(tmp), "%s/tmpfs", work);
        ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
        ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        ck_assert_int_eq(th_mkdir_p(tmp, 0755), 0);
        ck_assert_int_eq(mount("tmpfs", tmp, "tmpfs", 0, "size=64k"), 0);
        err = (ThError){};
        ck_assert_msg(isolate_detached_bind(AT_FDCWD, tmp, ufd, 0, &fd, &err) == 0, "%s", err.msg);
        close(fd);
        close(ufd);
        ck_assert_int_eq(umount(tmp), 0);
}
END_TEST

int main(void)
{
        if (!isolate_test_can_run()) {
                fprintf(stderr, "skip: needs root and user namespaces\n");
                return 77;
        }
        if (!mkdtemp(work))
                return 1;
        int failed = 1;
        if (make_tree() < 0)
                goto out;

        Suite *s = suite_create("isolate_idmap");
        TCase *tc = tcase_create("ramfs");
        tcase_set_tags(tc, "privileged");
        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, setup_snapshot, check_snapshot);
        tcase_add_test(tc, test_idmap__ramfs_tree_runs_without_private_users);
        tcase_add_test(tc, test_idmap__warned_once_across_runs);
        tcase_add_test(tc, test_idmap__private_users_off_is_not_reported_when_not_asked);
        tcase_add_test(tc, test_idmap__device_policy_applies);
        tcase_add_test(tc, test_idmap__shell_warns_on_stderr);
        tcase_add_test(tc, test_idmap__probe_reports_eopnotsupp);
        suite_add_tcase(s, tc);

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
out:
        if (umount2(tree, MNT_DETACH) < 0 && errno != EINVAL)
                failed = 1;
        th_rm_rf(work);
        return failed ? 1 : 0;
}

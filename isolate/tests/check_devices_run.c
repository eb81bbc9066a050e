/* isolate: privileged tests of the cgroup v2 device program — the loader on
 * a scratch cgroup, and real containers through isolate_run() on a pure v2
 * layout (a cgroup2 /sys/fs/cgroup in a private mount namespace). Exit 77
 * without root, user namespaces, the BPF cgroup hooks or the test tree. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "isolate-internal.h"
#include "privileged.h"

static const char *tree;

/* ---- helpers -------------------------------------------------------------- */

static int sys_bpf(int cmd, union bpf_attr *a)
{
        long r = syscall(SYS_bpf, cmd, a, sizeof(*a));
        return r < 0 ? -errno : (int)r;
}

static bool is_cgroup2(const char *path)
{
        struct statfs s;
        return statfs(path, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

static bool is_v1_devices(void)
{
        struct statfs s;
        return statfs("/sys/fs/cgroup/devices", &s) == 0 && s.f_type == CGROUP_SUPER_MAGIC;
}

static const char *v2_root(void)
{
        return is_cgroup2("/sys/fs/cgroup") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
}

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;
        while (d && readdir(d))
                n++;
        if (d)
                closedir(d);
        return n;
}

/* The device programs attached to the cgroup at path (not inherited ones). */
static unsigned attached(const char *path, uint32_t *ret_id, uint32_t *ret_flags)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_msg(fd >= 0, "open '%s': %m", path);
        uint32_t ids[8] = {};
        union bpf_attr a = { .query = { .target_fd = (uint32_t)fd,
                                        .attach_type = BPF_CGROUP_DEVICE,
                                        .prog_ids = (uint64_t)(uintptr_t)ids,
                                        .prog_cnt = ELEMENTSOF(ids) } };
        int r = sys_bpf(BPF_PROG_QUERY, &a);
        close(fd);
        ck_assert_msg(r >= 0, "BPF_PROG_QUERY '%s': %s", path, strerror(-r));
        if (ret_id)
                *ret_id = ids[0];
        if (ret_flags)
                *ret_flags = a.query.attach_flags;
        return a.query.prog_cnt;
}

/* The kernel frees a cgroup's programs asynchronously after rmdir: wait
 * (bounded) until the program id no longer resolves. */
static bool program_released(uint32_t id)
{
        for (int i = 0; i < 3000; i++) {
                union bpf_attr a = { .prog_id = id };
                int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
                if (fd == -ENOENT)
                        return true;
                if (fd >= 0)
                        close(fd);
                usleep(10000);
        }
        return false;
}

/* A private mount namespace (this Check child's only) with a tmpfs that
 * allows device nodes at a fresh temp dir. */
static char *private_dev_dir(void)
{
        static char dir[64];
        ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
        ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        th_snprintf(dir, sizeof(dir), "/tmp/harness-devices.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(mount("tmpfs", dir, "tmpfs", MS_NOSUID, "mode=0755"), 0);
        return dir;
}

static void private_dev_dir_done(const char *dir)
{
        ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}

static void make_node(const char *dir, const char *name, mode_t mode, dev_t dev)
{
        char p[256];
        th_snprintf(p, sizeof(p), "%s/%s", dir, name);
        ck_assert_msg(mknod(p, mode, dev) == 0, "mknod '%s': %m", p);
        ck_assert_int_eq(chmod(p, mode & 07777), 0);
}

static int try_open(const char *path, int flags);

/* dir/blk: the host's root file system device, or (when the host itself
 * refuses it, e.g. a sandbox guarding its disk, or / is no block device)
 * sda or loop0. Outside the cgroup it must not be refused with EPERM (it
 * opens, or the device is absent): what the container is refused is then
 * the program's doing. */
static void make_block_node(const char *dir)
{
        struct stat st;
        ck_assert_int_eq(stat("/", &st), 0);
        const dev_t cand[] = { st.st_dev, makedev(8, 0), makedev(7, 0) };
        char p[256];
        th_snprintf(p, sizeof(p), "%s/blk", dir);
        for (size_t i = 0; i < ELEMENTSOF(cand); i++) {
                if (major(cand[i]) == 0)
                        continue;
                make_node(dir, "blk", S_IFBLK | 0600, cand[i]);
                if (try_open(p, O_RDONLY) != -EPERM)
                        return;
                ck_assert_int_eq(unlink(p), 0);
        }
        ck_abort_msg("the host refuses every candidate block device even outside the cgroup");
}

static const char *errname(int r)
{
        return r >= 0 ? "ok" : r == -EPERM ? "EPERM" : strerror(-r);
}

static int try_open(const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

static int try_mknod(const char *dir, const char *name, mode_t mode, dev_t dev)
{
        char p[256];
        th_snprintf(p, sizeof(p), "%s/%s", dir, name);
        return mknod(p, mode, dev) < 0 ? -errno : 0;
}

/* ---- the loader on a scratch cgroup --------------------------------------- */

START_TEST(test_devices_attach__scratch_cgroup_denies_block_devices)
{
        const char *dir = private_dev_dir();
        make_block_node(dir);
        char blk_path[256];
        th_snprintf(blk_path, sizeof(blk_path), "%s/blk", dir);

        char cg[256];
        th_snprintf(cg, sizeof(cg), "%s/harness-check-devices-%d", v2_root(), (int)getpid());
        ck_assert_msg(mkdir(cg, 0755) == 0, "mkdir '%s': %m", cg);
        int cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(cg_fd, 0);
        int fds = count_fds();
        ThError err = {};
        int r = isolate_devices_attach(cg_fd, &err);
        ck_assert_msg(r == 0, "%d %s", r, err.msg);
        ck_assert_int_eq(count_fds(), fds); /* the program fd is closed */
        close(cg_fd);
        uint32_t id = 0, flags = 0;
        ck_assert_uint_eq(attached(cg, &id, &flags), 1);
        ck_assert_uint_eq(flags, BPF_F_ALLOW_MULTI);

        int pipefd[2];
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char procs[300], out[512];
                th_snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
                int fd = open(procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(3);
                close(fd);
                th_snprintf(out, sizeof(out),
                            "mknod-block=%s open-block-r=%s open-block-w=%s mknod-mem=%s "
                            "null=%s zero=%s mknod-null=%s",
                            errname(try_mknod(dir, "b2", S_IFBLK | 0600, makedev(8, 0))),
                            errname(try_open(blk_path, O_RDONLY)),
                            errname(try_open(blk_path, O_WRONLY)),
                            errname(try_mknod(dir, "mem", S_IFCHR | 0600, makedev(1, 1))),
                            errname(try_open("/dev/null", O_RDWR)),
                            errname(try_open("/dev/zero", O_RDONLY)),
                            errname(try_mknod(dir, "null", S_IFCHR | 0666, makedev(1, 3))));
                _exit(write(pipefd[1], out, strlen(out)) > 0 ? 0 : 4);
        }
        close(pipefd[1]);
        char got[512] = {};
        ck_assert_int_gt(read(pipefd[0], got, sizeof(got) - 1), 0);
        close(pipefd[0]);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
        ck_assert_str_eq(got, "mknod-block=EPERM open-block-r=EPERM open-block-w=EPERM "
                              "mknod-mem=EPERM null=ok zero=ok mknod-null=ok");

        /* The attachment dies with the cgroup: nothing pinned, nothing left. */
        ck_assert_msg(rmdir(cg) == 0, "rmdir '%s': %m", cg);
        ck_assert_msg(program_released(id), "program %u still exists after rmdir", id);
        private_dev_dir_done(dir);
}
END_TEST

START_TEST(test_devices_attach__bad_cgroup_fd_is_a_clear_error)
{
        /* Not a cgroup: the attach step fails and says which feature. */
        int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fds = count_fds();
        ThError err = {};
        int r = isolate_devices_attach(fd, &err);
        close(fd);
        ck_assert_int_lt(r, 0);
        ck_assert_msg(strstr(err.msg, "attach the device program") &&
                              strstr(err.msg, "BPF_CGROUP_DEVICE"),
                      "%s", err.msg);
        ck_assert_int_eq(count_fds(), fds - 1);
}
END_TEST

/* ---- real containers on a pure v2 layout ---------------------------------- */

/* Each line: "<name>: ok", "<name>: EPERM", "<name>: EACCES" or "<name>:
 * failed". Opens use dash's redirections; they run while the parent
 * inspects the cgroup. The nodes in the bound directory do not reach the
 * program: binds are nodev (EACCES); the program's verdict on opens is
 * checked on a scratch cgroup above, its verdict on mknod here. */
static const char script[] =
        "check() { n=$1; shift; if out=$(\"$@\" 2>&1); then echo \"$n: ok\"; else\n"
        "  case $out in *'not permitted'*) echo \"$n: EPERM\";; *'ermission denied'*) echo \"$n: "
        "EACCES\";; *) echo \"$n: failed\";; esac; fi; "
        "}\n"
        "touch /mnt/devs/ready\n"
        "while [ ! -e /mnt/devs/go ]; do sleep 0.05; done\n"
        "check mknod-block mknod /tmp/b b 8 0\n"
        "check open-block sh -c 'exec 3< /mnt/devs/blk'\n"
        "check open-tun sh -c 'exec 3< /mnt/devs/tun'\n"
        "check null sh -c 'echo x > /dev/null'\n"
        "check zero sh -c 'head -c 1 /dev/zero > /dev/null'\n"
        "check mknod-null mknod /tmp/n c 1 3\n";

typedef struct Run {
        char stdout_text[4096];
        unsigned programs; /* device programs on the container's cgroup */
        uint32_t prog_id;
        unsigned programs_below; /* ... on the cgroups below it (systemd's) */
        char cgroup[512];
} Run;

/* The container's cgroup: harness/c<worker pid>-... under the v2 root. */
static bool find_cgroup(pid_t worker, char *buf, size_t size)
{
        char prefix[32];
        th_snprintf(prefix, sizeof(prefix), "c%d-", (int)worker);
        char dir[300];
        th_snprintf(dir, sizeof(dir), "%s/harness", v2_root());
        DIR *d = opendir(dir);
        struct dirent *de;
        bool found = false;
        while (d && !found && (de = readdir(d)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
                        th_snprintf(buf, size, "%s/%s", dir, de->d_name);
                        found = true;
                }
        if (d)
                closedir(d);
        return found;
}

/* The device programs attached anywhere below path. */
static unsigned attached_below(const char *path, int depth)
{
        unsigned n = 0;
        DIR *d = depth < 6 ? opendir(path) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                char p[1024];
                if (th_snprintf(p, sizeof(p), "%s/%s", path, de->d_name) < 0)
                        continue;
                n += attached(p, NULL, NULL) + attached_below(p, depth + 1);
        }
        if (d)
                closedir(d);
        return n;
}

static void run_container(const char *dir, bool private_users, bool boot, const char *cmd, Run *ret)
{
        char out_dir[256];
        th_snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
        ck_assert_int_eq(mkdir(out_dir, 0755), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
                const IsolateBind binds[] = {
                        { .source = dir, .target = "/mnt/devs", .writable = true, .source_fd = -1 }
                };
                IsolateSpec s = { .rootfs = tree,
                                  .ephemeral = true,
                                  .private_users = private_users,
                                  .boot = boot,
                                  .machine = "devices",
                                  .argv = argv,
                                  .binds = binds,
                                  .n_binds = 1,
                                  .output_dir = out_dir,
                                  .timeout_usec = 60 * USEC_PER_SEC };
                IsolateResult r = {};
                ThError err = {};
                if (isolate_run(&s, &r, &err) < 0) {
                        fprintf(stderr, "isolate_run: %s\n", err.msg);
                        _exit(2);
                }
                _exit(r.status == ISOLATE_EXITED && r.exit_status == 0 ? 0 : 3);
        }
        /* The command says "ready" and waits for "go": look at the cgroups
         * meanwhile (systemd's units before it have started). */
        char ready[300];
        th_snprintf(ready, sizeof(ready), "%s/ready", dir);
        bool found = false;
        for (int i = 0; i < 12000 && !found; i++) {
                found = access(ready, F_OK) == 0;
                if (!found)
                        usleep(10000);
        }
        found = found && find_cgroup(pid, ret->cgroup, sizeof(ret->cgroup));
        if (found) {
                ret->programs = attached(ret->cgroup, &ret->prog_id, NULL);
                ret->programs_below = attached_below(ret->cgroup, 0);
        }
        char go[300];
        th_snprintf(go, sizeof(go), "%s/go", dir);
        int fd = open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(found, "the container never said ready");
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker status %d", st);

        char p[300];
        th_snprintf(p, sizeof(p), "%s/stdout", out_dir);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ssize_t n = read(fd, ret->stdout_text, sizeof(ret->stdout_text) - 1);
        close(fd);
        ret->stdout_text[n > 0 ? n : 0] = 0;
        /* Torn down: the cgroup is gone and with it the program. */
        ck_assert_msg(access(ret->cgroup, F_OK) < 0, "'%s' left behind", ret->cgroup);
        if (ret->programs)
                ck_assert_msg(program_released(ret->prog_id), "program %u left behind",
                              ret->prog_id);
}

/* A pure v2 /sys/fs/cgroup for this Check child (already one on a unified
 * host); the child stays in the host's v1 devices root (allow all), so
 * what is denied inside is the program's doing. */
static const char *pure_v2_setup(void)
{
        const char *dir = private_dev_dir();
        if (!is_cgroup2("/sys/fs/cgroup"))
                ck_assert_int_eq(mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL), 0);
        make_block_node(dir);
        make_node(dir, "tun", S_IFCHR | 0666, makedev(10, 200));
        return dir;
}

START_TEST(test_devices_run__pure_v2_without_private_users_denies_block_devices)
{
        const char *dir = pure_v2_setup();
        Run run = {};
        run_container(dir, /* private_users= */ false, /* boot= */ false, script, &run);
        ck_assert_uint_eq(run.programs, 1);
        ck_assert_str_eq(run.stdout_text, "mknod-block: EPERM\n"
                                          "open-block: EACCES\n"
                                          "open-tun: EACCES\n"
                                          "null: ok\n"
                                          "zero: ok\n"
                                          "mknod-null: ok\n");
        private_dev_dir_done(dir);
}
END_TEST

START_TEST(test_devices_run__pure_v2_with_private_users_has_no_program)
{
        const char *dir = pure_v2_setup();
        Run run = {};
        run_container(dir, /* private_users= */ true, /* boot= */ false, script, &run);
        ck_assert_uint_eq(run.programs, 0);
        /* No program: mknod is refused by the user namespace, the bound
         * nodes by nodev. */
        ck_assert_msg(strstr(run.stdout_text, "open-tun: EACCES\n"), "%s", run.stdout_text);
        ck_assert_msg(strstr(run.stdout_text, "null: ok\nzero: ok\n"), "%s", run.stdout_text);
        private_dev_dir_done(dir);
}
END_TEST

START_TEST(test_devices_run__boot_without_private_users_systemd_goes_on_without_bpf)
{
        /* The system call filter denies bpf(2) (docs/container.md): systemd
         * in the container attaches no device program of its own below the
         * harness's, the boot does not fail, and the harness's policy holds. */
        const char *dir = pure_v2_setup();
        Run run = {};
        run_container(dir, /* private_users= */ false, /* boot= */ true, script, &run);
        ck_assert_uint_eq(run.programs, 1);
        ck_assert_uint_eq(run.programs_below, 0);
        ck_assert_msg(strstr(run.stdout_text, "mknod-block: EPERM\nopen-block: EACCES\n"
                                              "open-tun: EACCES\nnull: ok\nzero: ok\n"),
                      "%s", run.stdout_text);
        private_dev_dir_done(dir);
}
END_TEST

START_TEST(test_devices_run__container_root_cannot_detach_the_program)
{
        /* Container root without private users holds CAP_SYS_ADMIN: it can
         * look programs up by id. The program sits one cgroup above its
         * cgroup namespace's root, so there is no cgroup to detach it from. */
        const char *probe = getenv("HARNESS_DEVICES_PROBE");
        ck_assert_msg(probe && access(probe, X_OK) == 0, "HARNESS_DEVICES_PROBE not set");
        const char *dir = pure_v2_setup();
        char cmd[512];
        th_snprintf(cmd, sizeof(cmd), "cp '%s' '%s/probe'", probe, dir);
        ck_assert_int_eq(system(cmd), 0);
        Run run = {};
        run_container(dir, /* private_users= */ false, /* boot= */ false,
                      "touch /mnt/devs/ready\n"
                      "while [ ! -e /mnt/devs/go ]; do sleep 0.05; done\n"
                      "/mnt/devs/probe\n",
                      &run);
        ck_assert_uint_eq(run.programs, 1);
        ck_assert_str_eq(run.stdout_text, "detached=0 mknod-block=EPERM\n");
        private_dev_dir_done(dir);
}
END_TEST

START_TEST(test_devices_run__hybrid_v1_list_cannot_be_lifted)
{
        /* Where the v1 devices controller exists it holds the policy (no
         * program stacked on it). Container root without private users can
         * mount that hierarchy: widening the devices.allow it sees must
         * fail, since the list sits one cgroup above. */
        if (is_cgroup2("/sys/fs/cgroup") || !is_v1_devices())
                return; /* pure v2 host: the program tests cover it */
        const char *dir = private_dev_dir();
        make_block_node(dir);
        Run run = {};
        run_container(dir, /* private_users= */ false, /* boot= */ false,
                      "touch /mnt/devs/ready\n"
                      "while [ ! -e /mnt/devs/go ]; do sleep 0.05; done\n"
                      "mkdir -p /tmp/v1 && mount -t cgroup -o devices none /tmp/v1 && "
                      "for rule in a 'b *:* rwm' 'b 8:0 rwm'; do "
                      "(echo \"$rule\" > /tmp/v1/devices.allow) 2>/dev/null && "
                      "echo \"$rule: lifted\" || echo \"$rule: refused\"; done\n"
                      "umount /tmp/v1\n"
                      "mknod /tmp/b b 8 0 2>/dev/null && echo mknod-block: ok || "
                      "echo mknod-block: refused\n"
                      "(exec 3< /mnt/devs/blk) 2>/dev/null && echo open-block: ok || "
                      "echo open-block: refused\n",
                      &run);
        ck_assert_uint_eq(run.programs, 0);
        ck_assert_str_eq(run.stdout_text, "a: refused\nb *:* rwm: refused\nb 8:0 rwm: refused\n"
                                          "mknod-block: refused\nopen-block: refused\n");
        private_dev_dir_done(dir);
}
END_TEST

/* bpf(2) fails with EPERM from here on, in this process and its children
 * (a kernel without CONFIG_CGROUP_BPF or a confined harness, as seen from
 * the loader). */
static void refuse_bpf(void)
{
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_bpf, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(f), .filter = f };
        ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

START_TEST(test_devices_run__refused_program_is_fatal_and_leaves_nothing)
{
        const char *dir = pure_v2_setup();
        char out_dir[256];
        th_snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
        ck_assert_int_eq(mkdir(out_dir, 0755), 0);
        int pipefd[2];
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                refuse_bpf();
                char *argv[] = { "/bin/true", NULL };
                IsolateSpec s = { .rootfs = tree,
                                  .ephemeral = true,
                                  .machine = "devices",
                                  .argv = argv,
                                  .output_dir = out_dir,
                                  .timeout_usec = 60 * USEC_PER_SEC };
                IsolateResult r = {};
                ThError err = {};
                int x = isolate_run(&s, &r, &err);
                (void)!write(pipefd[1], err.msg, strlen(err.msg));
                if (x != -EPERM)
                        _exit(2);
                /* With private users no program is needed: it runs. */
                s.private_users = true;
                ThError err2 = {};
                _exit(isolate_run(&s, &r, &err2) == 0 && r.exit_status == 0 ? 0 : 3);
        }
        close(pipefd[1]);
        char msg[TH_ERROR_MSG_MAX] = {};
        ssize_t n = read(pipefd[0], msg, sizeof(msg) - 1);
        close(pipefd[0]);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker status %d: %s", st, msg);
        ck_assert_int_gt(n, 0);
        const char *want[] = { "cgroup v2 device policy", "BPF_PROG_LOAD",
                               "Operation not permitted", "CONFIG_CGROUP_BPF",
                               "--private-users=yes" };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                ck_assert_msg(strstr(msg, want[i]), "'%s' not in: %s", want[i], msg);
        char cg[512];
        ck_assert_msg(!find_cgroup(pid, cg, sizeof(cg)), "'%s' left behind", cg);
        private_dev_dir_done(dir);
}
END_TEST

/* ---- main ----------------------------------------------------------------- */

/* The kernel loads the program (CONFIG_CGROUP_BPF, CAP_BPF or SYS_ADMIN). */
static bool can_load(void)
{
        int fd = -1;
        ThError err = {};
        if (isolate_devices_load(isolate_devices_allow, isolate_devices_n_allow, &fd, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return false;
        }
        close(fd);
        return is_cgroup2(v2_root());
}

/* What a failed test (its Check child exits at the failed assertion) may
 * leave: a scratch cgroup of a dead pid, an empty temp dir. */
static void sweep(void)
{
        const char *roots[] = { v2_root(), "/tmp" };
        const char *prefixes[] = { "harness-check-devices-", "harness-devices." };
        for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                DIR *d = opendir(roots[i]);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])) != 0)
                                continue;
                        int pid = atoi(de->d_name + strlen(prefixes[i]));
                        if (i == 0 && (pid <= 0 || kill(pid, 0) == 0))
                                continue;
                        char p[512];
                        th_snprintf(p, sizeof(p), "%s/%s", roots[i], de->d_name);
                        if (i == 1) {
                                char out[600];
                                th_snprintf(out, sizeof(out), "%s/out", p);
                                (void)rmdir(out);
                        }
                        (void)rmdir(p);
                }
                if (d)
                        closedir(d);
        }
}

int main(void)
{
        tree = getenv("HARNESS_TEST_ROOTFS");
        char sh[4096];
        th_snprintf(sh, sizeof(sh), "%s/bin/sh", tree ? tree : "");
        if (!tree || access(sh, X_OK) < 0 || !isolate_test_can_run() || !can_load()) {
                fprintf(stderr, "skip: needs root, user namespaces, cgroup BPF and "
                                "HARNESS_TEST_ROOTFS\n");
                return 77;
        }
        Suite *s = suite_create("isolate_devices_run");
        /* Each test runs in its own mount namespace: no host snapshot. */
        TCase *tc = tcase_create("device-program");
        tcase_set_tags(tc, "privileged");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_devices_attach__scratch_cgroup_denies_block_devices);
        tcase_add_test(tc, test_devices_attach__bad_cgroup_fd_is_a_clear_error);
        tcase_add_test(tc, test_devices_run__pure_v2_without_private_users_denies_block_devices);
        tcase_add_test(tc, test_devices_run__pure_v2_with_private_users_has_no_program);
        tcase_add_test(tc,
                       test_devices_run__boot_without_private_users_systemd_goes_on_without_bpf);
        tcase_add_test(tc, test_devices_run__container_root_cannot_detach_the_program);
        tcase_add_test(tc, test_devices_run__hybrid_v1_list_cannot_be_lifted);
        tcase_add_test(tc, test_devices_run__refused_program_is_fatal_and_leaves_nothing);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        sweep();
        return failed ? 1 : 0;
}

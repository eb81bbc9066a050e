/* isolate: one cgroup per container. The v2 hierarchy gives cgroup.kill and
 * the container's own /sys/fs/cgroup; on hybrid hosts the v1 memory, pids,
 * cpu and devices controllers carry the limits v2 has none for there. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "isolate-internal.h"

static const char *const v1_names[4] = { "memory", "pids", "cpu", "devices" };
enum { V1_MEMORY, V1_PIDS, V1_CPU, V1_DEVICES };

static void kill_procs(const char *dir);
static int device_program(Cgroup *cg, bool device_policy, ThError *err);
static void rmdir_retry(const char *path);

static bool is_fs(const char *path, long magic)
{
        struct statfs s;
        return statfs(path, &s) == 0 && (long)s.f_type == magic;
}

int isolate_cgroup_detect(const char *root, CgroupLayout *ret_layout, ThError *err)
{
        char p[4096];
        if (is_fs(root, CGROUP2_SUPER_MAGIC)) {
                *ret_layout = CGROUP_LAYOUT_UNIFIED;
                return 0;
        }
        if (th_snprintf(p, sizeof(p), "%s/unified", root) >= 0 && is_fs(p, CGROUP2_SUPER_MAGIC)) {
                *ret_layout = CGROUP_LAYOUT_HYBRID;
                return 0;
        }
        return th_error_set(err, EOPNOTSUPP,
                            "cgroup v2 is not mounted at '%s' or '%s/unified' (needed for "
                            "cgroup.kill and the container's /sys/fs/cgroup)",
                            root, root);
}

static int write_file(const char *dir, const char *file, const char *value)
{
        char p[4096];
        int r = th_snprintf(p, sizeof(p), "%s/%s", dir, file);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, value, strlen(value));
        return n < 0 ? -errno : 0;
}

int isolate_cgroup_kill(const char *dir)
{
        return write_file(dir, "cgroup.kill", "1");
}

static int read_key(const char *dir, const char *file, const char *key, uint64_t *ret)
{
        char p[4096], line[256];
        if (th_snprintf(p, sizeof(p), "%s/%s", dir, file) < 0)
                return -ENAMETOOLONG;
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        size_t kl = strlen(key);
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
                        *ret = strtoull(line + kl + 1, NULL, 10);
                        return 0;
                }
        return -ENOENT;
}

/* The CFS period the cpu limit's quota is a share of (cgroup v2 cpu.max,
 * v1 cpu.cfs_period_us). */
#define CPU_PERIOD_USEC 100000ULL

int isolate_cgroup_cpu_max(double cpus, char *buf, size_t size)
{
        if (cpus <= 0)
                return th_snprintf(buf, size, "max %llu", CPU_PERIOD_USEC);
        return th_snprintf(buf, size, "%llu %llu",
                           (unsigned long long)(cpus * (double)CPU_PERIOD_USEC + 0.5),
                           CPU_PERIOD_USEC);
}

/* mkdir parent/harness and parent/harness/name; the "harness" level may
 * vanish under us when another worker removes it empty: retry. */
static int make_dir(const char *parent, const char *name, char **ret_path)
{
        _cleanup_free_ char *mid = th_strdup_printf("%s/harness", parent);
        _cleanup_free_ char *leaf = th_strdup_printf("%s/harness/%s", parent, name);
        if (!mid || !leaf)
                return -ENOMEM;
        for (int attempt = 0; attempt < 16; attempt++) {
                if (mkdir(mid, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (mkdir(leaf, 0755) == 0) {
                        *ret_path = TAKE_PTR(leaf);
                        return 0;
                }
                if (errno != ENOENT)
                        return -errno;
        }
        return -EAGAIN;
}

static int set_limit(const char *dir, const char *file, const char *value, ThError *err)
{
        int r = write_file(dir, file, value);
        if (r < 0)
                return th_error_errno(err, -r, "set '%s/%s' to %s", dir, file, value);
        return 0;
}

static int limits_v2(Cgroup *cg, const char *root, const IsolateLimits *l, ThError *err)
{
        char v[64];
        _cleanup_free_ char *mid = th_strdup_printf("%s/harness", root);
        if (!mid)
                return th_error_set(err, ENOMEM, "out of memory");
        /* Controllers must be enabled from the root down to our parent. */
        const char *ctl[] = { "+memory", "+pids", "+cpu" };
        bool want[] = { l->memory_bytes > 0, l->pids > 0, l->cpu > 0 };
        for (size_t i = 0; i < ELEMENTSOF(ctl); i++) {
                if (!want[i])
                        continue;
                int r = write_file(root, "cgroup.subtree_control", ctl[i]);
                if (r >= 0)
                        r = write_file(mid, "cgroup.subtree_control", ctl[i]);
                if (r < 0)
                        return th_error_errno(err, -r, "enable the cgroup v2 %s controller",
                                              ctl[i] + 1);
        }
        if (l->memory_bytes > 0) {
                th_snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory_bytes);
                if (set_limit(cg->v2_top, "memory.max", v, err) < 0)
                        return -err->code;
                (void)write_file(cg->v2_top, "memory.swap.max", "0");
        }
        if (l->pids > 0) {
                th_snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids);
                if (set_limit(cg->v2_top, "pids.max", v, err) < 0)
                        return -err->code;
        }
        if (l->cpu > 0) {
                isolate_cgroup_cpu_max(l->cpu, v, sizeof(v));
                if (set_limit(cg->v2_top, "cpu.max", v, err) < 0)
                        return -err->code;
        }
        return 0;
}

static int limits_v1(Cgroup *cg, const IsolateLimits *l, bool device_policy, ThError *err)
{
        char v[64];
        if (l->memory_bytes > 0) {
                if (!cg->v1_paths[V1_MEMORY])
                        return th_error_set(err, EOPNOTSUPP, "no memory cgroup controller");
                th_snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory_bytes);
                if (set_limit(cg->v1_paths[V1_MEMORY], "memory.limit_in_bytes", v, err) < 0)
                        return -err->code;
                (void)write_file(cg->v1_paths[V1_MEMORY], "memory.memsw.limit_in_bytes", v);
        }
        if (l->pids > 0) {
                if (!cg->v1_paths[V1_PIDS])
                        return th_error_set(err, EOPNOTSUPP, "no pids cgroup controller");
                th_snprintf(v, sizeof(v), "%llu", (unsigned long long)l->pids);
                if (set_limit(cg->v1_paths[V1_PIDS], "pids.max", v, err) < 0)
                        return -err->code;
        }
        if (l->cpu > 0) {
                if (!cg->v1_paths[V1_CPU])
                        return th_error_set(err, EOPNOTSUPP, "no cpu cgroup controller");
                char period[32];
                th_snprintf(period, sizeof(period), "%llu", CPU_PERIOD_USEC);
                th_snprintf(v, sizeof(v), "%llu",
                            (unsigned long long)(l->cpu * (double)CPU_PERIOD_USEC + 0.5));
                if (set_limit(cg->v1_paths[V1_CPU], "cpu.cfs_period_us", period, err) < 0 ||
                    set_limit(cg->v1_paths[V1_CPU], "cpu.cfs_quota_us", v, err) < 0)
                        return -err->code;
        }
        if (device_policy && cg->v1_paths[V1_DEVICES]) {
                if (set_limit(cg->v1_paths[V1_DEVICES], "devices.deny", "a", err) < 0)
                        return -err->code;
                /* The same table the v2 device program is built from. */
                for (size_t i = 0; i < isolate_devices_n_allow; i++) {
                        char line[64];
                        int r = isolate_device_rule_format(&isolate_devices_allow[i], line,
                                                           sizeof(line));
                        if (r < 0)
                                return th_error_errno(err, -r, "device rule %zu", i);
                        if (set_limit(cg->v1_paths[V1_DEVICES], "devices.allow", line, err) < 0)
                                return -err->code;
                }
                /* Container root without private users (CAP_SYS_ADMIN) can
                 * mount the devices hierarchy and write "a" to its own
                 * cgroup's devices.allow, which the kernel grants when the
                 * parent allows it: it joins a child of the cgroup holding
                 * the list (which the child inherits), never the cgroup. */
                cg->v1_devices_payload = th_strdup_printf("%s/payload", cg->v1_paths[V1_DEVICES]);
                if (!cg->v1_devices_payload)
                        return th_error_set(err, ENOMEM, "out of memory");
                if (mkdir(cg->v1_devices_payload, 0755) < 0)
                        return th_error_errno(err, errno, "create cgroup '%s'",
                                              cg->v1_devices_payload);
                cg->devices_policy = true;
        }
        return 0;
}

/* Removes what a killed harness left under parent/harness: cgroups named
 * c<pid>-... whose worker pid no longer exists. */
static void sweep_dir(const char *parent)
{
        _cleanup_free_ char *mid = th_strdup_printf("%s/harness", parent);
        _cleanup_closedir_ DIR *d = mid ? opendir(mid) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                int pid;
                if (de->d_type != DT_DIR || sscanf(de->d_name, "c%d-", &pid) != 1 || pid <= 0)
                        continue;
                if (kill(pid, 0) == 0 || errno != ESRCH)
                        continue;
                _cleanup_free_ char *leaf = th_strdup_printf("%s/%s", mid, de->d_name);
                if (!leaf)
                        continue;
                th_debug("removing the stale cgroup '%s'", leaf);
                if (isolate_cgroup_kill(leaf) < 0)
                        kill_procs(leaf);
                rmdir_retry(leaf);
        }
}

void isolate_cgroup_sweep(const char *root)
{
        CgroupLayout layout;
        if (isolate_cgroup_detect(root, &layout, NULL) < 0)
                return;
        _cleanup_free_ char *v2 = layout == CGROUP_LAYOUT_HYBRID
                                          ? th_strdup_printf("%s/unified", root)
                                          : strdup(root);
        if (v2)
                sweep_dir(v2);
        for (size_t i = 0; layout == CGROUP_LAYOUT_HYBRID && i < ELEMENTSOF(v1_names); i++) {
                _cleanup_free_ char *c = th_strdup_printf("%s/%s", root, v1_names[i]);
                if (c)
                        sweep_dir(c);
        }
}

/* Where the container's processes go. Without the v1 devices controller the
 * device policy is a BPF program, and container root (host root without
 * private users, CAP_SYS_ADMIN) could look it up by id and detach it from a
 * cgroup it can open: so the program sits on v2_top and the processes one
 * level below, in "payload" (nspawn's name for it), the root of their cgroup
 * namespace; v2_top is out of their reach. Otherwise both are one cgroup. */
static int make_payload(Cgroup *cg, bool device_policy, ThError *err)
{
        bool nest = device_policy && !cg->v1_paths[V1_DEVICES];
        cg->v2_path = nest ? th_strdup_printf("%s/payload", cg->v2_top) : strdup(cg->v2_top);
        if (!cg->v2_path)
                return th_error_set(err, ENOMEM, "out of memory");
        if (nest && mkdir(cg->v2_path, 0755) < 0)
                return th_error_errno(err, errno, "create cgroup '%s'", cg->v2_path);
        return 0;
}

int isolate_cgroup_create(const char *root, const char *name, const IsolateLimits *limits,
                          bool device_policy, Cgroup *ret, ThError *err)
{
        Cgroup cg = { .v2_fd = -1 };
        ThError scratch = {};
        int r = isolate_cgroup_detect(root, &cg.layout, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *v2_root = cg.layout == CGROUP_LAYOUT_HYBRID
                                               ? th_strdup_printf("%s/unified", root)
                                               : strdup(root);
        if (!v2_root)
                return th_error_set(err, ENOMEM, "out of memory");
        r = make_dir(v2_root, name, &cg.v2_top);
        if (r < 0)
                return th_error_errno(err, -r, "create cgroup '%s/harness/%s'", v2_root, name);

        /* A v1 controller is joined only for what it enforces, as v2 ones
         * are enabled: the join is a cgroup.procs write, and the first one
         * after a quiet moment waits for an RCU grace period (6-13 ms)
         * before PID 1 can start. Without a limit the container counts in
         * the harness's own v1 memory and pids cgroups, like anything else
         * it runs; its v2 cgroup still holds and kills every process. A
         * cpu cgroup would also make the whole container one task to the
         * scheduler (one share against every host process). */
        const bool wanted[] = { [V1_MEMORY] = limits->memory_bytes > 0,
                                [V1_PIDS] = limits->pids > 0,
                                [V1_CPU] = limits->cpu > 0,
                                [V1_DEVICES] = device_policy };
        if (cg.layout == CGROUP_LAYOUT_HYBRID)
                for (size_t i = 0; i < ELEMENTSOF(v1_names); i++) {
                        if (!wanted[i])
                                continue;
                        _cleanup_free_ char *c = th_strdup_printf("%s/%s", root, v1_names[i]);
                        if (!c || !is_fs(c, CGROUP_SUPER_MAGIC))
                                continue;
                        r = make_dir(c, name, &cg.v1_paths[i]);
                        if (r < 0) {
                                th_error_errno(err, -r, "create cgroup '%s/harness/%s'", c, name);
                                goto fail;
                        }
                }

        r = make_payload(&cg, device_policy, err);
        if (r < 0)
                goto fail;
        cg.v2_fd = open(cg.v2_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg.v2_fd < 0) {
                r = th_error_errno(err, errno, "open '%s'", cg.v2_path);
                goto fail;
        }
        r = cg.layout == CGROUP_LAYOUT_HYBRID ? limits_v1(&cg, limits, device_policy, err)
                                              : limits_v2(&cg, v2_root, limits, err);
        if (r < 0)
                goto fail;
        r = device_program(&cg, device_policy, err);
        if (r < 0)
                goto fail;
        *ret = cg;
        return 0;
fail:
        (void)isolate_cgroup_destroy(&cg, &scratch);
        return r;
}

/* Without the v1 devices controller (pure v2, or a hybrid host without it)
 * the policy is a BPF program on the v2 cgroup; the v1 controller, where
 * present, is not stacked with one. No policy at all would leave container
 * root (host root without private users) every block device of the host:
 * fatal, with the way around it. */
static int device_program(Cgroup *cg, bool device_policy, ThError *err)
{
        if (!device_policy || cg->devices_policy)
                return 0;
        ThError inner = {};
        int fd = open(cg->v2_top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return th_error_errno(err, errno, "open '%s'", cg->v2_top);
        int r = isolate_devices_attach(fd, &inner);
        close(fd);
        if (r < 0)
                return th_error_set(err, inner.code,
                                    "cgroup v2 device policy: %s; without it (and without the "
                                    "v1 devices controller) root in a container without private "
                                    "users could open the host's block devices: it needs a kernel "
                                    "with CONFIG_CGROUP_BPF and CAP_BPF or CAP_SYS_ADMIN, or use "
                                    "private users (--private-users=yes)",
                                    inner.msg);
        cg->devices_policy = true;
        return 0;
}

int isolate_cgroup_join_v1(const Cgroup *cg, pid_t pid, ThError *err)
{
        char value[32];
        int r = th_snprintf(value, sizeof(value), "%d", (int)pid);
        if (r < 0)
                return th_error_errno(err, -r, "join the cgroups");
        for (size_t i = 0; i < ELEMENTSOF(cg->v1_paths); i++) {
                const char *p = i == V1_DEVICES && cg->v1_devices_payload ? cg->v1_devices_payload
                                                                          : cg->v1_paths[i];
                if (!p)
                        continue;
                r = write_file(p, "cgroup.procs", value);
                if (r < 0)
                        return th_error_errno(err, -r, "join cgroup '%s'", p);
        }
        return 0;
}

bool isolate_cgroup_oom(const Cgroup *cg)
{
        uint64_t n = 0;
        if (cg->layout == CGROUP_LAYOUT_UNIFIED && cg->v2_top)
                return read_key(cg->v2_top, "memory.events", "oom_kill", &n) >= 0 && n > 0;
        if (cg->v1_paths[V1_MEMORY])
                return read_key(cg->v1_paths[V1_MEMORY], "memory.oom_control", "oom_kill", &n) >=
                               0 &&
                       n > 0;
        return false;
}

bool isolate_cgroup_pids_hit(const Cgroup *cg)
{
        uint64_t n = 0;
        const char *dir = cg->layout == CGROUP_LAYOUT_UNIFIED ? cg->v2_top : cg->v1_paths[V1_PIDS];
        return dir && read_key(dir, "pids.events", "max", &n) >= 0 && n > 0;
}

/* Teardown's bounds: kill rounds a millisecond apart (kill_procs), the wait
 * for an empty cgroup, rmdir retries on EBUSY (a second in all). */
#define KILL_ROUNDS      1000
#define KILL_ROUND_USEC  USEC_PER_MSEC
#define EMPTY_WAIT_USEC  (10 * USEC_PER_SEC)
#define EMPTY_POLL_MSEC  100
#define RMDIR_TRIES      200
#define RMDIR_RETRY_USEC (5 * USEC_PER_MSEC)

/* SIGKILL every pid listed until none is left (no cgroup.kill, or v1). */
static void kill_procs(const char *dir)
{
        char p[4096];
        if (th_snprintf(p, sizeof(p), "%s/cgroup.procs", dir) < 0)
                return;
        for (int round = 0; round < KILL_ROUNDS; round++) {
                _cleanup_fclose_ FILE *f = fopen(p, "re");
                unsigned long pid;
                bool any = false;
                while (f && fscanf(f, "%lu", &pid) == 1) {
                        (void)kill((pid_t)pid, SIGKILL);
                        any = true;
                }
                if (!any)
                        return;
                usleep(KILL_ROUND_USEC);
        }
}

/* Waits on cgroup.events (POLLPRI on change) until "populated 0". */
static void wait_empty(const char *dir)
{
        char p[4096];
        if (th_snprintf(p, sizeof(p), "%s/cgroup.events", dir) < 0)
                return;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        uint64_t populated = 1;
        uint64_t deadline = th_now_usec() + EMPTY_WAIT_USEC;
        while (fd >= 0 && th_now_usec() < deadline) {
                if (read_key(dir, "cgroup.events", "populated", &populated) < 0 || !populated)
                        return;
                struct pollfd pfd = { .fd = fd, .events = POLLPRI };
                (void)poll(&pfd, 1, EMPTY_POLL_MSEC);
        }
}

/* Removes a cgroup and the ones below it (systemd in the container makes
 * its own: init.scope, system.slice, ...), children first. */
static void rmdir_retry(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *sub = th_strdup_printf("%s/%s", path, de->d_name);
                if (sub)
                        rmdir_retry(sub);
        }
        for (int i = 0; i < RMDIR_TRIES; i++) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return;
                if (errno != EBUSY)
                        return;
                usleep(RMDIR_RETRY_USEC);
        }
}

static void rmdir_parent(const char *leaf)
{
        _cleanup_free_ char *mid = strdup(leaf);
        char *slash = mid ? strrchr(mid, '/') : NULL;
        if (!slash)
                return;
        *slash = 0;
        (void)rmdir(mid); /* fails while other containers run: fine */
}

int isolate_cgroup_destroy(Cgroup *cg, ThError *err)
{
        int ret = 0;
        if (cg->v2_top) {
                /* cgroup.kill and "populated" cover the payload below. */
                if (isolate_cgroup_kill(cg->v2_top) < 0) {
                        kill_procs(cg->v2_top);
                        if (cg->v2_path)
                                kill_procs(cg->v2_path);
                }
                wait_empty(cg->v2_top);
        }
        for (size_t i = 0; i < ELEMENTSOF(cg->v1_paths); i++)
                if (cg->v1_paths[i])
                        kill_procs(cg->v1_paths[i]);
        if (cg->v1_devices_payload)
                kill_procs(cg->v1_devices_payload);
        if (cg->v2_fd >= 0)
                close(cg->v2_fd);
        cg->v2_fd = -1;
        if (cg->v2_top) {
                rmdir_retry(cg->v2_top); /* the payload first */
                if (access(cg->v2_top, F_OK) == 0)
                        ret = th_error_errno(err, EBUSY, "remove cgroup '%s'", cg->v2_top);
                rmdir_parent(cg->v2_top);
        }
        for (size_t i = 0; i < ELEMENTSOF(cg->v1_paths); i++) {
                if (!cg->v1_paths[i])
                        continue;
                rmdir_retry(cg->v1_paths[i]); /* a payload first */
                rmdir_parent(cg->v1_paths[i]);
                free(cg->v1_paths[i]);
                cg->v1_paths[i] = NULL;
        }
        free(cg->v1_devices_payload);
        cg->v1_devices_payload = NULL;
        free(cg->v2_path);
        cg->v2_path = NULL;
        free(cg->v2_top);
        cg->v2_top = NULL;
        return ret;
}

/* isolate: the runtime registry of running containers. One key=value file
 * per machine under /run/harness/machines (fixed keys, one per line, every
 * value escaped with th_cescape(): a value holds no newline, so nothing a
 * test chose, its environment above all, can add a line; lines of any
 * length) plus a lock file the worker holds
 * while the container runs (an entry whose lock is free is stale and swept),
 * and the registration with systemd-machined when it runs. */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "isolate-internal.h"

/* libsystemd is loaded only when systemd-machined may be asked: linking it
 * would make every harness start map it and its dependencies (libgcrypt,
 * lz4, zstd, lzma), a third of the process start-up cost of `harness shell`
 * (bench/README.md). systemd loads its own optional libraries the same way. */
typedef struct SdBus {
        int (*open_system)(sd_bus **ret);
        int (*call_method)(sd_bus *bus, const char *destination, const char *path,
                           const char *interface, const char *member, sd_bus_error *ret_error,
                           sd_bus_message **reply, const char *types, ...);
        void (*error_free)(sd_bus_error *e);
        sd_bus *(*flush_close_unref)(sd_bus *bus);
} SdBus;

static const SdBus *sd_bus_lib(void)
{
        static SdBus lib;
        static int loaded; /* 0 = not tried, 1 = loaded, -1 = unavailable */

        if (loaded)
                return loaded > 0 ? &lib : NULL;
        loaded = -1;
        const ThDlSymbol symbols[] = {
                { "sd_bus_open_system", (void **)&lib.open_system },
                { "sd_bus_call_method", (void **)&lib.call_method },
                { "sd_bus_error_free", (void **)&lib.error_free },
                { "sd_bus_flush_close_unref", (void **)&lib.flush_close_unref },
        };
        ThError err = {};
        if (th_dlopen_symbols("libsystemd.so.0", "registering with systemd-machined needs", symbols,
                              ELEMENTSOF(symbols), &err) < 0) {
                th_debug("systemd-machined: %s, ignoring", err.msg);
                return NULL;
        }
        loaded = 1;
        return &lib;
}

#define MACHINES_DIR "/run/harness/machines"

static bool valid_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' || s[i] == '_'))
                        return false;
        return true;
}

static int lock_name(const char *name, int *ret_fd)
{
        char p[256];
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s.lock", name);
        for (int tries = 0; tries < 8; tries++) {
                _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -errno;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                        return errno == EWOULDBLOCK ? -EBUSY : -errno;
                struct stat a, b;
                if (fstat(fd, &a) < 0 || stat(p, &b) < 0 || a.st_ino != b.st_ino)
                        continue;
                /* A stop mark of a killed harness's container is not ours. */
                if (ftruncate(fd, 0) < 0)
                        return -errno;
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        return -EBUSY;
}

int isolate_registry_reserve(const IsolateSpec *spec, Registration *ret, ThError *err)
{
        /* The host name may hold anything; the registry's name is the
         * machine name with what a file name or machinectl refuses replaced. */
        char base[64];
        th_snprintf(base, sizeof(base), "%s",
                    spec->machine && spec->machine[0] ? spec->machine : "container");
        for (char *c = base; *c; c++)
                if (!valid_name((char[]){ 'a', *c, 0 }))
                        *c = '-';
        if (!valid_name(base))
                base[0] = 'c';
        int r = th_mkdir_p(MACHINES_DIR, 0755);
        if (r < 0)
                return th_error_errno(err, -r, "create '" MACHINES_DIR "'");
        for (unsigned i = 0; i < 1000; i++) {
                char name[64];
                if (i == 0)
                        th_snprintf(name, sizeof(name), "%s", base);
                else
                        th_snprintf(name, sizeof(name), "%.*s-%u", 58, base, i);
                int fd = -1;
                r = lock_name(name, &fd);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return th_error_errno(err, -r, "lock machine '%s'", name);
                char p[256];
                th_snprintf(p, sizeof(p), MACHINES_DIR "/%s", name);
                (void)unlink(p); /* a stale entry */
                *ret = (Registration){ .lock_fd = fd };
                memcpy(ret->name, name, sizeof(name));
                return 0;
        }
        return th_error_set(err, EBUSY, "machine name '%s' is taken", base);
}

static int put(FILE *f, const char *key, const char *value)
{
        _cleanup_free_ char *e = th_cescape(value ? value : "", TH_ESCAPE_BACKSLASH);
        if (!e)
                return -ENOMEM;
        return fprintf(f, "%s=%s\n", key, e) < 0 ? -EIO : 0;
}

int isolate_registry_write(FILE *f, const RegistryEntry *e)
{
        char num[32];
        int r = put(f, "name", e->name);
        if (r >= 0)
                r = put(f, "test", e->test);
        if (r >= 0)
                r = put(f, "suite", e->suite);
        th_snprintf(num, sizeof(num), "%d", (int)e->leader);
        if (r >= 0)
                r = put(f, "leader", num);
        th_snprintf(num, sizeof(num), "%llu", (unsigned long long)e->start_usec);
        if (r >= 0)
                r = put(f, "start", num);
        if (r >= 0)
                r = put(f, "rootfs", e->rootfs);
        if (r >= 0)
                r = put(f, "mode", e->boot ? "boot" : "direct");
        if (r >= 0)
                r = put(f, "network", e->network);
        if (r >= 0)
                r = put(f, "address", e->address);
        if (r >= 0)
                r = put(f, "cgroup", e->cgroup);
        /* What `harness enter` runs with: the direct-mode stub init never
         * exec()s, so its /proc/PID/environ is not the container's. */
        for (size_t i = 0; r >= 0 && e->env && e->env[i]; i++)
                r = put(f, "env", e->env[i]);
        return r;
}

static void machined_register(Registration *reg, const IsolateSpec *spec, pid_t leader)
{
        if (!isolate_machined_available("/run/systemd/system"))
                return;
        const SdBus *lib = sd_bus_lib();
        if (!lib)
                return;
        sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = lib->open_system(&bus);
        if (r >= 0)
                r = lib->call_method(bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                     "org.freedesktop.machine1.Manager", "RegisterMachine", &e,
                                     NULL, "sayssus", reg->name, 0, "harness", "container",
                                     (uint32_t)leader, spec->rootfs ? spec->rootfs : "");
        if (r < 0)
                th_debug("systemd-machined: register '%s': %s, ignoring", reg->name,
                         e.message ? e.message : strerror(-r));
        else
                reg->machined = true;
        lib->error_free(&e);
        if (bus)
                lib->flush_close_unref(bus);
}

static void machined_unregister(Registration *reg)
{
        const SdBus *lib = reg->machined ? sd_bus_lib() : NULL;
        sd_bus *bus = NULL;
        if (!lib || lib->open_system(&bus) < 0)
                return;
        (void)lib->call_method(bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                               "org.freedesktop.machine1.Manager", "UnregisterMachine", NULL, NULL,
                               "s", reg->name);
        lib->flush_close_unref(bus);
        reg->machined = false;
}

bool isolate_machined_available(const char *run_dir)
{
        struct stat st;
        return run_dir && lstat(run_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

void isolate_registry_started(Registration *reg, const IsolateSpec *spec, pid_t leader,
                              const char *cgroup, const char *address, char *const *env)
{
        if (reg->lock_fd < 0)
                return;
        char path[256], tmp[280];
        th_snprintf(path, sizeof(path), MACHINES_DIR "/%s", reg->name);
        th_snprintf(tmp, sizeof(tmp), MACHINES_DIR "/.%s.tmp", reg->name);
        _cleanup_close_ int fd =
                open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        FILE *f = fd >= 0 ? fdopen(TAKE_FD(fd), "we") : NULL;
        if (!f) {
                th_debug("registry: cannot write '%s'", tmp);
                return;
        }
        const RegistryEntry e = { .name = reg->name,
                                  .test = spec->test_name,
                                  .suite = spec->suite_name,
                                  .leader = leader,
                                  .start_usec = th_realtime_usec(),
                                  .rootfs = spec->rootfs,
                                  .boot = spec->boot,
                                  .network = isolate_network_to_string(spec->network),
                                  .address = address,
                                  .cgroup = cgroup,
                                  .env = env };
        bool ok = isolate_registry_write(f, &e) >= 0 && fflush(f) == 0 && !ferror(f);
        fclose(f);
        if (!ok || rename(tmp, path) < 0) {
                (void)unlink(tmp);
                th_debug("registry: cannot write '%s'", path);
                return;
        }
        machined_register(reg, spec, leader);
}

void isolate_registry_release(Registration *reg)
{
        if (reg->lock_fd < 0)
                return;
        machined_unregister(reg);
        char p[256];
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s", reg->name);
        (void)unlink(p);
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s.lock", reg->name);
        (void)unlink(p);
        close(reg->lock_fd);
        reg->lock_fd = -1;
}

bool isolate_registry_stopped(const Registration *reg)
{
        char buf[4];
        return reg->lock_fd >= 0 && pread(reg->lock_fd, buf, sizeof(buf), 0) == sizeof(buf) &&
               memcmp(buf, "stop", sizeof(buf)) == 0;
}

void isolate_registry_mark_stopped(const char *name)
{
        char p[256];
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s.lock", name);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || pwrite(fd, "stop", 4, 0) != 4)
                th_debug("registry: cannot mark '%s' stopped", name);
}

/* ---- reading ------------------------------------------------------------- */

/* The name and the cgroup: too long for the field is not cut, a cut path
 * names another. */
static int copy_value(char *dst, size_t size, const char *v)
{
        return th_snprintf(dst, size, "%s", v);
}

/* What is only shown may be cut. */
static int copy_shown(char *dst, size_t size, const char *v)
{
        snprintf(dst, size, "%s", v);
        return 0;
}

int isolate_registry_parse(FILE *f, IsolateMachine *m, char ***ret_env)
{
        _cleanup_free_ char *line = NULL;
        _cleanup_strv_ char **env = NULL;
        size_t cap = 0;
        ssize_t len;
        int r = 0;
        *m = (IsolateMachine){};
        while (r >= 0 && (len = getline(&line, &cap, f)) >= 0) {
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = 0;
                if ((size_t)len != strlen(line))
                        return -EBADMSG; /* a NUL byte */
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                const char *k = line;
                _cleanup_free_ char *v = NULL;
                if (th_cunescape(eq + 1, &v) < 0)
                        return -EBADMSG;
                if (strcmp(k, "name") == 0)
                        r = copy_value(m->name, sizeof(m->name), v);
                else if (strcmp(k, "test") == 0)
                        r = copy_shown(m->test, sizeof(m->test), v);
                else if (strcmp(k, "suite") == 0)
                        r = copy_shown(m->suite, sizeof(m->suite), v);
                else if (strcmp(k, "leader") == 0) {
                        char *end;
                        long pid = strtol(v, &end, 10);
                        if (m->leader || !*v || *end || pid <= 0 || pid > INT32_MAX)
                                return -EBADMSG;
                        m->leader = (pid_t)pid;
                } else if (strcmp(k, "start") == 0)
                        m->start_usec = strtoull(v, NULL, 10);
                else if (strcmp(k, "rootfs") == 0)
                        r = copy_shown(m->rootfs, sizeof(m->rootfs), v);
                else if (strcmp(k, "mode") == 0)
                        m->boot = strcmp(v, "boot") == 0;
                else if (strcmp(k, "network") == 0)
                        r = copy_shown(m->network, sizeof(m->network), v);
                else if (strcmp(k, "address") == 0)
                        r = copy_shown(m->address, sizeof(m->address), v);
                else if (strcmp(k, "cgroup") == 0) {
                        if (m->cgroup[0])
                                return -EBADMSG;
                        r = copy_value(m->cgroup, sizeof(m->cgroup), v);
                } else if (strcmp(k, "env") == 0 && ret_env)
                        r = th_strv_push(&env, v);
        }
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (!m->name[0] || m->leader <= 0)
                return -EBADMSG;
        if (ret_env)
                *ret_env = TAKE_PTR(env);
        return 0;
}

/* 1 = running, 0 = stale (swept), < 0 = unreadable. */
static int read_entry(const char *name, IsolateMachine *m)
{
        char p[256];
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s.lock", name);
        _cleanup_close_ int lock = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        bool running = lock >= 0 && flock(lock, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        if (!running) {
                /* Nobody holds it: the worker is gone; sweep the entry. */
                th_snprintf(p, sizeof(p), MACHINES_DIR "/%s", name);
                (void)unlink(p);
                if (lock >= 0) {
                        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s.lock", name);
                        (void)unlink(p);
                }
                return 0;
        }
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s", name);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        return isolate_registry_parse(f, m, NULL) < 0 ? -EBADMSG : 1;
}

static int cmp_machine(const void *a, const void *b)
{
        return strcmp(((const IsolateMachine *)a)->name, ((const IsolateMachine *)b)->name);
}

int isolate_machine_list(IsolateMachine **ret, size_t *ret_n, ThError *err)
{
        _cleanup_free_ IsolateMachine *v = NULL;
        size_t n = 0;
        _cleanup_closedir_ DIR *d = opendir(MACHINES_DIR);
        if (!d && errno != ENOENT)
                return th_error_errno(err, errno, "open '" MACHINES_DIR "'");
        for (struct dirent *de; d && (de = readdir(d));) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || (len > 5 && strcmp(de->d_name + len - 5, ".lock") == 0))
                        continue;
                IsolateMachine m;
                if (read_entry(de->d_name, &m) <= 0)
                        continue;
                IsolateMachine *nv = reallocarray(v, n + 1, sizeof(*v));
                if (!nv)
                        return th_error_set(err, ENOMEM, "out of memory");
                v = nv;
                v[n++] = m;
        }
        if (n > 0)
                qsort(v, n, sizeof(*v), cmp_machine);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int isolate_machine_get(const char *name, IsolateMachine *ret, ThError *err)
{
        if (!valid_name(name))
                return th_error_set(err, EINVAL, "invalid machine name '%s'", name ? name : "");
        int r = read_entry(name, ret);
        if (r == 0 || r == -ENOENT)
                return th_error_set(err, ENOENT, "no running machine '%s'", name);
        if (r < 0)
                return th_error_errno(err, -r, "machine '%s'", name);
        return 0;
}

int isolate_registry_env(const char *name, char ***ret)
{
        char p[256];
        IsolateMachine m;
        if (!valid_name(name))
                return -EINVAL;
        th_snprintf(p, sizeof(p), MACHINES_DIR "/%s", name);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f)
                return -errno;
        return isolate_registry_parse(f, &m, ret);
}

void isolate_registry_sweep(void)
{
        IsolateMachine *v = NULL;
        size_t n = 0;
        /* Listing sweeps the entries whose lock is free. */
        if (isolate_machine_list(&v, &n, NULL) >= 0)
                free(v);
}

/* runner: the container side of the cached package layer. fixtures owns the
 * cache entry (key, lock, temp dir, manifest, atomic rename) but may not
 * call isolate, so the runner registers this builder: apt-get installs the
 * packages in a throw-away container over the base tree, and the overlay's
 * upper dir, kept, becomes the layer (whiteouts included, so it stacks).
 *
 * Per-container identity does not go into the layer: its machine-id is
 * emptied and SSH host keys are removed, to be made in each container.
 *
 * The install runs the tree's own code (its /bin/sh, apt, maintainer
 * scripts), so it gets the isolation of a test: private users, required
 * (never host root). Only the network is the host's, for the download.
 * Items that are apt relations rather than names are installed with
 * `apt-get satisfy`. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fixture.h"
#include "isolate.h"
#include "runner-internal.h"

#define LAYER_TIMEOUT_USEC (30 * 60 * USEC_PER_SEC)
#define LAYER_ID_RANGE     65536u /* the ids of a private-users container */
#define CAPS_XATTR         "security.capability"

/* Runs in the container. Lists are fetched for the install and dropped
 * again: the layer is the packages, not a snapshot of the archive. Only the
 * list files go ("*_*"): the tree's own lists/lock and lists/partial stay,
 * or the layer would carry whiteouts for them. */
static const char install_script[] =
        "set -e\n"
        "apt-get update\n"
        "if [ \"$1\" = --satisfy ]; then\n"
        "        shift\n"
        "        apt-get satisfy -y --no-install-recommends \"$@\"\n"
        "else\n"
        "        apt-get install -y --no-install-recommends \"$@\"\n"
        "fi\n"
        "apt-get clean\n"
        "rm -rf /var/lib/apt/lists/*_* /var/lib/apt/lists/auxfiles\n"
        /* Identity is per container, not per layer: an empty machine-id
         * makes systemd generate a new one at every boot; SSH host keys
         * are generated when ssh.service first starts in a container
         * (Debian's unit only checks them, with sshd -t). */
        "if [ -s /etc/machine-id ]; then : >/etc/machine-id; fi\n"
        "if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then\n"
        "        rm -f /var/lib/dbus/machine-id\n"
        "fi\n"
        "if ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1; then\n"
        "        rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub\n"
        "        d=/etc/systemd/system/ssh.service.d\n"
        "        mkdir -p $d\n"
        "        printf '[Service]\\nExecStartPre=\\nExecStartPre=/usr/bin/ssh-keygen -A\\n"
        "ExecStartPre=/usr/sbin/sshd -t\\n' >$d/harness-host-keys.conf\n"
        "fi\n";

static void append_file(FILE *log, const char *title, const char *path)
{
        _cleanup_fclose_ FILE *f = path && *path ? fopen(path, "re") : NULL;
        char buf[8192];
        size_t n;

        if (!f)
                return;
        fprintf(log, "--- %s ---\n", title);
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, log);
}

/* A file capability written by root of the build's user namespace is a v3
 * one bound to that namespace (rootid = uid_base); the layer is idmapped
 * again for every test, so it gets the plain v2 form (or rootid - uid_base). */
static void shift_file_caps(int fd, const char *cap, ssize_t n, uint32_t base)
{
        struct vfs_ns_cap_data v3;
        if (n != XATTR_CAPS_SZ_3)
                return;
        memcpy(&v3, cap, sizeof(v3));
        if ((le32toh(v3.magic_etc) & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_3)
                return;
        uint32_t root = le32toh(v3.rootid);
        if (root < base || root - base >= LAYER_ID_RANGE)
                return;
        if (root == base) {
                v3.magic_etc = htole32(VFS_CAP_REVISION_2 |
                                       (le32toh(v3.magic_etc) & VFS_CAP_FLAGS_EFFECTIVE));
                n = XATTR_CAPS_SZ_2;
        } else {
                v3.rootid = htole32(root - base);
        }
        (void)fsetxattr(fd, CAPS_XATTR, &v3, (size_t)n, 0);
}

/* The build's upper dir holds the host's view of the container's ids,
 * uid_base + N: overlayfs creates upper files with the caller's ids as the
 * (not idmapped) upper file system stores them, and a copy-up keeps the ids
 * the idmapped lower showed. A layer is stored like the base tree, with the
 * container's own ids (0 = root), because it is idmapped again for every
 * test: shift N back. Owner before mode (chown clears set-id bits), file
 * capabilities last (chown clears them too). */
static int shift_ids(int dir, const char *name, uint32_t base, unsigned depth)
{
        struct stat st;
        if (depth > 256)
                return -ELOOP;
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        uid_t u = st.st_uid;
        gid_t g = st.st_gid;
        if (u >= base && u - base < LAYER_ID_RANGE)
                u -= base;
        if (g >= base && g - base < LAYER_ID_RANGE)
                g -= base;
        if (u != st.st_uid || g != st.st_gid) {
                char cap[XATTR_CAPS_SZ_3];
                ssize_t n = -1;
                _cleanup_close_ int fd = -1;
                if (S_ISREG(st.st_mode)) {
                        fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return -errno;
                        n = fgetxattr(fd, CAPS_XATTR, cap, sizeof(cap));
                }
                if (fchownat(dir, name, u, g, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (!S_ISLNK(st.st_mode) && fchmodat(dir, name, st.st_mode & 07777, 0) < 0)
                        return -errno;
                if (fd >= 0 && n > 0)
                        shift_file_caps(fd, cap, n, base);
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        _cleanup_close_ int d = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
                return -errno;
        _cleanup_closedir_ DIR *dd = fdopendir(d);
        if (!dd)
                return -errno;
        d = -1;
        for (struct dirent *de; (de = readdir(dd));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                int r = shift_ids(dirfd(dd), de->d_name, base, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int layer_build(const char *base, char *const *lower_layers, char *const *packages,
                       const char *upper_dir, const char *log_path, void *userdata, ThError *err)
{
        (void)userdata;
        char parent[PATH_MAX];
        if (th_snprintf(parent, sizeof(parent), "%s", upper_dir) < 0)
                return th_error_set(err, ENAMETOOLONG, "path too long: '%s'", upper_dir);
        dirname(parent);
        _cleanup_free_ char *out = th_strdup_printf("%s/out", parent);
        _cleanup_free_ char *keep = th_strdup_printf("%s/keep", parent);
        _cleanup_free_ char *kept = th_strdup_printf("%s/keep/upper", parent);
        _cleanup_free_ char *resolv_copy = th_strdup_printf("%s/resolv.conf", parent);
        _cleanup_strv_ char **argv = NULL;
        if (!out || !keep || !kept || !resolv_copy)
                return th_error_set(err, ENOMEM, "out of memory");
        if (mkdir(out, 0755) < 0)
                return th_error_errno(err, errno, "create '%s'", out);
        const char *head[] = { "/bin/sh", "-c", install_script, "sh" };
        for (size_t i = 0; i < ELEMENTSOF(head); i++)
                if (th_strv_push(&argv, head[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        /* Relations ("a (>= 1) | b, c") are for apt-get satisfy, which
         * takes plain names too; names alone keep apt-get install (it
         * also takes NAME=VERSION). */
        bool satisfy = false;
        for (size_t i = 0; packages[i]; i++)
                satisfy |= suite_package_is_relation(packages[i]);
        if (satisfy && th_strv_push(&argv, "--satisfy") < 0)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; packages[i]; i++)
                if (th_strv_push(&argv, packages[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");

        char *env[] = { "DEBIAN_FRONTEND=noninteractive",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        IsolateBind resolv = { .source = resolv_copy,
                               .target = "/etc/resolv.conf",
                               .source_fd = -1 };
        /* apt needs a resolver; the copy goes before the layer is kept. */
        ThError resolv_err = { 0 };
        bool have_resolv = runner_resolv_conf_copy(resolv_copy, &resolv_err) >= 0;
        IsolateSpec spec = {
                .rootfs = base,
                .layers = (const char *const *)lower_layers,
                .n_layers = th_strv_length(lower_layers),
                .ephemeral = true,
                .upper_size = 4ull << 30,
                .binds = &resolv,
                .n_binds = have_resolv ? 1 : 0,
                .machine = "harness-layer",
                .env = env,
                .boot = false,
                .private_users = true,
                .private_users_required = true,
                .network = ISOLATE_NETWORK_HOST,
                .timeout_usec = LAYER_TIMEOUT_USEC,
                .argv = argv,
                .output_dir = out,
                .keep_upper_dir = keep,
        };
        IsolateResult res = {};
        int r = isolate_run(&spec, &res, err);

        _cleanup_fclose_ FILE *log = fopen(log_path, "we");
        if (log) {
                append_file(log, "stdout", res.stdout_path);
                append_file(log, "stderr", res.stderr_path);
        }
        if (r < 0)
                return th_error_prefix(err, "container for the package layer");
        if (res.status != ISOLATE_EXITED || res.exit_status != 0)
                return th_error_set(err, EIO, "apt-get in the layer container: %s, status %d",
                                    isolate_status_to_string(res.status), res.exit_status);
        if (res.uid_base == 0)
                return th_error_set(err, EPERM, "the layer container ran without private users");
        r = shift_ids(AT_FDCWD, kept, res.uid_base, 0);
        if (r < 0)
                return th_error_errno(err, -r, "give the layer's files the container's ids ('%s')",
                                      kept);
        (void)unlink(resolv_copy);
        if (rename(kept, upper_dir) < 0)
                return th_error_errno(err, errno, "the container's upper dir was not kept ('%s')",
                                      kept);
        (void)th_rm_rf(keep);
        (void)th_rm_rf(out);
        return 0;
}

void runner_register_layer_builder(void)
{
        fixture_set_layer_builder(layer_build, /* userdata= */ NULL);
}

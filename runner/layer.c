/* runner: the container side of the cached package layer. fixtures owns the
 * cache entry (key, lock, temp dir, manifest, atomic rename) but may not
 * call isolate, so the runner registers this builder: apt-get installs the
 * packages in a throw-away container over the base tree, and the overlay's
 * upper dir, kept, becomes the layer (whiteouts included, so it stacks). */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "isolate.h"
#include "runner-internal.h"

#define LAYER_TIMEOUT_USEC (30ull * 60 * 1000000)

/* Runs in the container. Lists are fetched for the install and dropped
 * again: the layer is the packages, not a snapshot of the archive. Only the
 * list files go ("*_*"): the tree's own lists/lock and lists/partial stay,
 * or the layer would carry whiteouts for them. */
static const char install_script[] = "set -e\n"
                                     "apt-get update\n"
                                     "apt-get install -y --no-install-recommends \"$@\"\n"
                                     "apt-get clean\n"
                                     "rm -rf /var/lib/apt/lists/*_* /var/lib/apt/lists/auxfiles\n";

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
        _cleanup_strv_ char **argv = NULL;
        if (!out || !keep || !kept)
                return th_error_set(err, ENOMEM, "out of memory");
        if (mkdir(out, 0755) < 0)
                return th_error_errno(err, errno, "create '%s'", out);
        const char *head[] = { "/bin/sh", "-c", install_script, "sh" };
        for (size_t i = 0; i < ELEMENTSOF(head); i++)
                if (th_strv_push(&argv, head[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; packages[i]; i++)
                if (th_strv_push(&argv, packages[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");

        char *env[] = { "DEBIAN_FRONTEND=noninteractive",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        /* The tree's resolv.conf is empty on purpose; apt needs the host's. */
        IsolateBind resolv = { .source = "/etc/resolv.conf",
                               .target = "/etc/resolv.conf",
                               .source_fd = -1 };
        IsolateSpec spec = {
                .rootfs = base,
                .layers = (const char *const *)lower_layers,
                .n_layers = th_strv_length(lower_layers),
                .ephemeral = true,
                .upper_size = 4ull << 30,
                .binds = &resolv,
                .n_binds = access("/etc/resolv.conf", R_OK) == 0 ? 1 : 0,
                .machine = "harness-layer",
                .env = env,
                .boot = false,
                /* Real root: the layer's files get the same owners as the
                 * base tree, which was built by mmdebstrap as root. */
                .private_users = false,
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

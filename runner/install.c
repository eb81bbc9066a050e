/* runner: `install: [pkg, pkg=version, ./local.deb]`. Before the tests run,
 * the packages of a suite are downloaded once into a cached local apt
 * repository (fixtures/aptrepo.c owns the cache entry); the download runs
 * here, in a container over the suite's tree with the host's network and a
 * copy of the host's resolver, with private users required, like the
 * package layer's build. Every test that installs then gets the repository
 * bound read-only and runs apt-get from it inside its own container, as
 * root, before its `setup`: maintainer scripts and service starts run under
 * the test's own systemd, in the test's own network namespace. */
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "isolate.h"
#include "runner-internal.h"

#define REPO_TIMEOUT_USEC (30 * 60 * USEC_PER_SEC)
#define DOWNLOAD_TARGET   "/var/cache/harness-download"
#define LOCAL_TARGET      "/var/lib/harness-local"

/* Runs in the download container. The lists are fetched into the
 * throw-away container only. */
static const char download_script[] = "set -e\n"
                                      "mkdir -p " DOWNLOAD_TARGET "/partial\n"
                                      "apt-get update\n"
                                      "apt-get install -y --download-only --no-install-recommends "
                                      "-o Dir::Cache::archives=" DOWNLOAD_TARGET "/ \"$@\"\n";

static bool strv_has(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

int runner_install_local_path(const Suite *s, const char *item, bool allow_outside, char **ret_abs,
                              ThError *err)
{
        char real[PATH_MAX], dir[PATH_MAX];
        struct stat st;
        _cleanup_free_ char *joined = th_strdup_printf("%s/%s", s->base_dir, item);
        if (!joined)
                return th_error_set(err, ENOMEM, "out of memory");
        if (!realpath(joined, real) || stat(real, &st) < 0)
                return th_error_errno(err, errno, "install: local package '%s'", item);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "install: local package '%s' is not a file", item);
        if (!realpath(s->base_dir, dir))
                return th_error_errno(err, errno, "'%s'", s->base_dir);
        size_t n = strlen(dir);
        if (!allow_outside && (strncmp(real, dir, n) != 0 || real[n] != '/'))
                return th_error_set(err, EPERM,
                                    "install: local package '%s' lies outside the suite's "
                                    "directory ('%s'); --allow-outside-fixtures allows it",
                                    item, real);
        *ret_abs = strdup(real);
        return *ret_abs ? 0 : th_error_set(err, ENOMEM, "out of memory");
}

int runner_install_script(const Suite *s, const TestSpec *t, bool allow_outside, char **ret,
                          ThError *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&text, &len);
        if (!f)
                return th_error_set(err, ENOMEM, "out of memory");
        /* Only the harness repository: the tree's own sources are not
         * reachable from a test's network namespace. */
        fprintf(f, "set -e\n"
                   "l=/etc/apt/sources.list.d/harness-install.list\n"
                   "echo 'deb [trusted=yes] file:" RUNNER_INSTALL_TARGET " ./' >$l\n"
                   "set -- -q -o Dir::Etc::SourceList=$l -o Dir::Etc::SourceParts=/dev/null\n"
                   "apt-get \"$@\" update >/dev/null\n"
                   "DEBIAN_FRONTEND=noninteractive apt-get \"$@\" install -y "
                   "--no-install-recommends");
        for (size_t i = 0; t->install && t->install[i]; i++) {
                if (!suite_install_is_local(t->install[i])) {
                        fprintf(f, " '%s'", t->install[i]); /* checked: no quotes */
                        continue;
                }
                _cleanup_free_ char *abs = NULL;
                int r = runner_install_local_path(s, t->install[i], allow_outside, &abs, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *name = fixture_apt_repo_local_name(abs);
                if (!name)
                        return th_error_set(err, ENOMEM, "out of memory");
                fprintf(f, " " RUNNER_INSTALL_TARGET "/%s", name);
        }
        /* apt's messages (debconf's warnings on stderr too) go to stdout:
         * stderr and its expectations are the test's own. */
        fprintf(f, " 2>&1 || { echo 'harness: install: apt-get failed' >&2; exit 100; }\n");
        if (t->setup)
                fprintf(f, "set +e --\n%s\n", t->setup);
        if (fclose(TAKE_PTR(f)) != 0)
                return th_error_set(err, ENOMEM, "out of memory");
        *ret = TAKE_PTR(text);
        return 0;
}

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

static int repo_build(const char *base, char *const *layers, char *const *specs,
                      char *const *locals, const char *download_dir, const char *log_path,
                      void *userdata, ThError *err)
{
        (void)userdata;
        char parent[PATH_MAX];
        if (th_snprintf(parent, sizeof(parent), "%s", download_dir) < 0)
                return th_error_set(err, ENAMETOOLONG, "path too long: '%s'", download_dir);
        dirname(parent);
        _cleanup_free_ char *out = th_strdup_printf("%s/out", parent);
        _cleanup_free_ char *resolv_copy = th_strdup_printf("%s/resolv.conf", parent);
        _cleanup_strv_ char **argv = NULL, **targets = NULL;
        size_t n_locals = th_strv_length(locals);
        _cleanup_free_ IsolateBind *binds = calloc(n_locals + 2, sizeof(IsolateBind));
        if (!out || !resolv_copy || !binds)
                return th_error_set(err, ENOMEM, "out of memory");
        if (mkdir(out, 0755) < 0)
                return th_error_errno(err, errno, "create '%s'", out);
        const char *head[] = { "/bin/sh", "-c", download_script, "sh" };
        for (size_t i = 0; i < ELEMENTSOF(head); i++)
                if (th_strv_push(&argv, head[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; specs && specs[i]; i++)
                if (th_strv_push(&argv, specs[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        size_t n = 0;
        binds[n++] = (IsolateBind){
                .source = download_dir, .target = DOWNLOAD_TARGET, .writable = true, .source_fd = -1
        };
        for (size_t i = 0; i < n_locals; i++) {
                _cleanup_free_ char *name = fixture_apt_repo_local_name(locals[i]);
                _cleanup_free_ char *target =
                        name ? th_strdup_printf(LOCAL_TARGET "/%s", name) : NULL;
                if (!target || th_strv_push(&targets, target) < 0 ||
                    th_strv_push(&argv, target) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_locals; i++)
                binds[n++] =
                        (IsolateBind){ .source = locals[i], .target = targets[i], .source_fd = -1 };
        ThError resolv_err = { 0 };
        if (runner_resolv_conf_copy(resolv_copy, &resolv_err) >= 0)
                binds[n++] = (IsolateBind){ .source = resolv_copy,
                                            .target = "/etc/resolv.conf",
                                            .source_fd = -1 };
        char *env[] = { "DEBIAN_FRONTEND=noninteractive",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        IsolateSpec spec = {
                .rootfs = base,
                .layers = (const char *const *)layers,
                .n_layers = th_strv_length(layers),
                .ephemeral = true,
                .upper_size = 1ull << 30,
                .binds = binds,
                .n_binds = n,
                .machine = "harness-install",
                .env = env,
                .boot = false,
                .private_users = true,
                .private_users_required = true,
                .network = ISOLATE_NETWORK_HOST,
                .timeout_usec = REPO_TIMEOUT_USEC,
                .argv = argv,
                .output_dir = out,
        };
        IsolateResult res = {};
        int r = isolate_run(&spec, &res, err);
        _cleanup_fclose_ FILE *log = fopen(log_path, "we");
        if (log) {
                append_file(log, "stdout", res.stdout_path);
                append_file(log, "stderr", res.stderr_path);
        }
        (void)unlink(resolv_copy);
        if (r < 0)
                return th_error_prefix(err, "container for the install download");
        if (res.status != ISOLATE_EXITED || res.exit_status != 0)
                return th_error_set(err, EIO, "apt-get in the download container: %s, status %d",
                                    isolate_status_to_string(res.status), res.exit_status);
        (void)th_rm_rf(out);
        return 0;
}

void runner_register_repo_builder(void)
{
        fixture_set_repo_builder(repo_build, /* userdata= */ NULL);
}

int runner_install_repo(const Suite *s, const FixtureRootfs *rootfs, const TestSpec *tests,
                        const bool *selected, bool allow_outside, uint64_t max_age_usec,
                        FixtureProgress progress, char **ret_dir, ThError *err)
{
        _cleanup_strv_ char **specs = NULL, **locals = NULL;
        for (size_t i = 0; i < s->n_tests; i++) {
                if (selected && !selected[i])
                        continue;
                for (size_t k = 0; tests[i].install && tests[i].install[k]; k++) {
                        const char *item = tests[i].install[k];
                        if (!suite_install_is_local(item)) {
                                if (!strv_has(specs, item) && th_strv_push(&specs, item) < 0)
                                        return th_error_set(err, ENOMEM, "out of memory");
                                continue;
                        }
                        _cleanup_free_ char *abs = NULL;
                        int r = runner_install_local_path(s, item, allow_outside, &abs, err);
                        if (r < 0)
                                return r;
                        if (!strv_has(locals, abs) && th_strv_push(&locals, abs) < 0)
                                return th_error_set(err, ENOMEM, "out of memory");
                }
        }
        if (!specs && !locals) {
                *ret_dir = NULL;
                return 0;
        }
        return fixture_apt_repo_ensure(rootfs->dir, rootfs->layers, specs, locals, max_age_usec,
                                       progress, NULL, ret_dir, err);
}

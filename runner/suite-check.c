/* runner: what `harness run` would refuse about a set of suites, checked
 * before anything is built, by `harness check` and `harness run` alike.
 * Every message is FILE:LINE:COLUMN: message on stderr.
 *
 * - suite names are unique in a run: two suites of one name would share
 *   their test ids, their output folders and their reports' classnames;
 * - a managed tree's release is a Debian release distro-info-data knows
 *   (a typo would otherwise be found by mmdebstrap, minutes later);
 * - a directory tree exists and is a root filesystem, every fixture
 *   source is there, and a tree that boots has systemd;
 * - `install:` runs as root, and its local .deb files are there. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "runner-internal.h"

#define DEBIAN_CSV "/usr/share/distro-info/debian.csv"

int runner_check_suite_names(Suite *const *suites, size_t n)
{
        int ret = 0;
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++) {
                        const Suite *a = suites[j], *b = suites[i];
                        if (strcmp(a->name, b->name) != 0)
                                continue;
                        fprintf(stderr,
                                "%s:%u:%u: suite name '%s' is also the name of %s:%u:%u; suite "
                                "names must be unique in a run (their test ids, output folders "
                                "and reports would collide)\n",
                                runner_safe(b->path), b->name_loc.line ? b->name_loc.line : 1,
                                b->name_loc.column ? b->name_loc.column : 1, runner_safe(b->name),
                                runner_safe(a->path), a->name_loc.line ? a->name_loc.line : 1,
                                a->name_loc.column ? a->name_loc.column : 1);
                        ret = -EINVAL;
                        break;
                }
        return ret;
}

static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return SIZE_MAX;
        size_t row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        diag = up;
                        row[j] = best;
                }
        }
        return row[lb];
}

/* The series column of distro-info-data's debian.csv, and the archive's
 * aliases. */
int runner_debian_releases(const char *csv, char ***ret)
{
        static const char *const aliases[] = { "oldstable", "stable", "testing", "unstable" };
        _cleanup_fclose_ FILE *f = fopen(csv, "re");
        _cleanup_strv_ char **names = NULL;
        char line[512];

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
                char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
                if (!c3 || strncmp(line, "version,", 8) == 0)
                        continue;
                *c3 = 0;
                if (c2[1] && th_strv_push(&names, c2 + 1) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (th_strv_push(&names, aliases[i]) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

static int check_release(const Suite *s, const SuiteRootfs *rs, char *const *known)
{
        if (!rs->release || !rs->distro || strcmp(rs->distro, "debian") != 0)
                return 0;
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        for (size_t i = 0; known[i]; i++) {
                if (strcmp(known[i], rs->release) == 0)
                        return 0;
                size_t d = edit_distance(known[i], rs->release);
                if (d < best_d) {
                        best_d = d;
                        best = known[i];
                }
        }
        if (best && best_d <= 3)
                fprintf(stderr,
                        "%s:%u:%u: unknown Debian release '%s': did you mean '%s'? (releases "
                        "from distro-info-data)\n",
                        runner_safe(s->path), rs->loc.line, rs->loc.column,
                        runner_safe(rs->release), best);
        else
                fprintf(stderr,
                        "%s:%u:%u: unknown Debian release '%s' (releases from "
                        "distro-info-data)\n",
                        runner_safe(s->path), rs->loc.line, rs->loc.column,
                        runner_safe(rs->release));
        return -EINVAL;
}

/* 1 when the tree has systemd, 0 when not, -errno when it cannot be
 * looked at. */
static int tree_has_systemd(const char *dir)
{
        static const char *const paths[] = { "usr/lib/systemd/systemd", "lib/systemd/systemd" };
        _cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_close_ int fd = th_open_in_root(root, paths[i], O_PATH);
                if (fd >= 0)
                        return 1;
        }
        return 0;
}

static int check_tree(const Suite *s, bool allow_outside)
{
        int ret = 0;
        ThError err = {};
        const char *dir = s->rootfs.dir;
        _cleanup_free_ char *managed = NULL;

        if (dir && fixture_rootfs_check_dir(dir, &err) < 0) {
                fprintf(stderr, "%s:%u:%u: %s\n", runner_safe(s->path), s->rootfs.loc.line,
                        s->rootfs.loc.column, runner_safe(err.msg));
                ret = -EINVAL;
                dir = NULL;
        }
        if (!s->rootfs.dir) { /* a managed tree already built can be looked at */
                FixtureTreeSpec spec = {};
                ThError ignored = {};
                if (fixture_tree_spec_from_suite(&s->rootfs, &spec, &ignored) >= 0 &&
                    fixture_tree_lookup(&spec, &managed, &ignored) >= 0)
                        dir = managed;
                fixture_tree_spec_done(&spec);
        }
        /* A tree that cannot be opened is reported by its own check. */
        bool systemd = !dir || tree_has_systemd(dir) != 0;
        for (size_t i = 0; i < s->n_tests; i++) {
                const TestSpec *t = &s->tests[i];
                if (t->skip)
                        continue;
                if (!systemd && t->boot) {
                        fprintf(stderr,
                                "%s:%u:%u: test '%s' boots (boot: true, the default) but the "
                                "tree '%s' has no systemd (/lib/systemd/systemd): install it "
                                "or set 'boot: false'\n",
                                runner_safe(s->path), t->loc.line, t->loc.column,
                                runner_safe(t->name), runner_safe(dir));
                        ret = -EINVAL;
                }
                const SuiteExpect *x = &t->expect;
                if (!t->boot &&
                    (x->n_journal_match || x->n_journal_not || x->units || x->units_no_failed)) {
                        fprintf(stderr,
                                "%s:%u:%u: test '%s' expects journal or unit states, which "
                                "only a booted test has (boot: false); 'crashes' works in "
                                "both modes\n",
                                runner_safe(s->path), t->loc.line, t->loc.column,
                                runner_safe(t->name));
                        ret = -EINVAL;
                }
                if (t->install && t->user && strcmp(t->user, "root") != 0 &&
                    strcmp(t->user, "0") != 0) {
                        fprintf(stderr,
                                "%s:%u:%u: test '%s' installs packages (install:) as user "
                                "'%s': apt-get runs before setup, as root; leave 'user' to "
                                "root and switch users in 'run' (e.g. with runuser)\n",
                                runner_safe(s->path), t->install_loc.line, t->install_loc.column,
                                runner_safe(t->name), runner_safe(t->user));
                        ret = -EINVAL;
                }
                for (size_t k = 0; t->install && t->install[k]; k++) {
                        _cleanup_free_ char *abs = NULL;
                        err = (ThError){};
                        if (!suite_install_is_local(t->install[k]) ||
                            runner_install_local_path(s, t->install[k], allow_outside, &abs,
                                                      &err) >= 0)
                                continue;
                        fprintf(stderr, "%s:%u:%u: %s\n", runner_safe(s->path), t->install_loc.line,
                                t->install_loc.column, runner_safe(err.msg));
                        ret = -EINVAL;
                }
                err = (ThError){};
                if (fixture_check_test(s, t, allow_outside, &err) < 0) {
                        fprintf(stderr, "%s\n", runner_safe(err.msg));
                        ret = -EINVAL;
                }
        }
        return ret;
}

int runner_check_suites(Suite *const *suites, size_t n, bool trees, bool allow_outside)
{
        _cleanup_strv_ char **known = NULL;
        int ret = runner_check_suite_names(suites, n);
        int r = runner_debian_releases(DEBIAN_CSV, &known);
        if (r < 0)
                th_log(TH_LOG_WARNING, "release names not checked: %s: %s", DEBIAN_CSV,
                       strerror(-r));
        for (size_t i = 0; i < n; i++) {
                if (known && check_release(suites[i], &suites[i]->rootfs, known) < 0)
                        ret = -EINVAL;
                if (trees && check_tree(suites[i], allow_outside) < 0)
                        ret = -EINVAL;
        }
        return ret;
}

static int load_suite_file(const char *path, bool tests, Suite ***suites, size_t *n,
                           SuiteDiags *diags)
{
        static const SuiteEach check_only = {};
        const SuiteEach *each = tests ? NULL : &check_only;
        Suite *first = NULL;
        int r = suite_load_each(path, 0, each, &first, diags);
        if (r < 0)
                return r;
        size_t count = first->n_matrix;
        Suite **grown = realloc(*suites, (*n + count + 1) * sizeof(Suite *));
        if (!grown) {
                suite_free(first);
                return -ENOMEM;
        }
        *suites = grown;
        grown[(*n)++] = first;
        grown[*n] = NULL;
        for (size_t i = 1; i < count; i++) {
                SuiteDiags more = {};
                r = suite_load_each(path, i, each, &grown[*n], &more);
                suite_diags_done(&more);
                if (r < 0)
                        return r; /* the file changed meanwhile */
                grown[++(*n)] = NULL;
        }
        return 0;
}

int runner_load_suite_file(const char *path, Suite ***suites, size_t *n, SuiteDiags *diags)
{
        return load_suite_file(path, true, suites, n, diags);
}

int runner_load_suite_headers(const char *path, Suite ***suites, size_t *n, SuiteDiags *diags)
{
        return load_suite_file(path, false, suites, n, diags);
}

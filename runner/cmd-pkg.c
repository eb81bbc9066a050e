/* runner: `harness pkg check TARGET...`: piuparts-grade checks of a
 * package's life cycle (install, remove and purge, install again, the files
 * it ships, upgrade), each a test in a fresh container booted under
 * systemd. The command writes an ordinary suite (gensuite.c) whose tests
 * run pkg-check.sh, embedded here, and runs it through `harness run`, so
 * every option of `harness run` works and `--print-suite` shows exactly
 * what runs (docs/pkg.md). */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "runner.h"
#include "runner-internal.h"

#define DEFAULT_OUTPUT_DIR "harness-results"
#define SUITE_DIR          "pkg-check-suite"
#define CHECK_TARGET       "/usr/lib/harness-pkg"
#define NEW_TARGET         "/srv/harness-pkg-new"
#define NEXT_TARGET        "/srv/harness-pkg-next"
#define PARSE_HELP         1000
#define NEXT_MAX_AGE_USEC  (7ull * 24 * 3600 * USEC_PER_SEC)

extern const char runner_pkg_check_script[], runner_pkg_check_script_end[];

static const char usage[] =
        "Usage: harness pkg check [OPTIONS] TARGET...\n"
        "\n"
        "Check packages' install, remove, purge and reinstall, each step in a fresh\n"
        "container booted under systemd, with no suite to write. TARGET is a package\n"
        "of the release's archive, a .deb file, or a .changes file (all its .debs).\n"
        "\n"
        "Options:\n"
        "      --release NAME        the Debian release (default: bookworm)\n"
        "      --rootfs SPEC         the tree instead: debian:RELEASE or a directory\n"
        "      --ignore PATH         a path the purge comparison ignores (repeat);\n"
        "                            PATH/ ignores the directory but not its entries\n"
        "      --upgrade             also check the upgrade from the release's version\n"
        "                            to the .debs given (their packages must be in it)\n"
        "      --upgrade-from OLD.deb  the same, from this .deb (repeat)\n"
        "      --distupgrade         also check the upgrade of the release before\n"
        "                            --release, the package installed, to --release\n"
        "      --from-release NAME   the same, from this release\n"
        "      --distupgrade-from OLD.deb  install this .deb in the old release instead\n"
        "                            of its archive's version (repeat)\n"
        "      --no-layer            install the dependencies in every check instead of\n"
        "                            once into a cached layer\n"
        "      --print-suite         print the suites it would run, and run nothing but\n"
        "                            the resolution of the dependencies\n"
        "  -j, --jobs N              containers at a time (default: all the checks)\n"
        "      --junit FILE, --tap FILE, --json FILE   reports, as `harness run`\n"
        "  -o, --output-dir DIR      per-test folders (default: ./" DEFAULT_OUTPUT_DIR "); the\n"
        "                            suite is written to DIR/" SUITE_DIR "/\n"
        "      --filter REGEX        only checks whose id matches (e.g. purge$)\n"
        "      --timeout DURATION    the time limit of each check (default 15m)\n"
        "      --shell-on-fail       on a terminal: a shell in a failed check's container\n"
        "      --keep-failed, --refresh, --allow-privileged   as `harness run`\n"
        "  -h, --help                show this help\n"
        "\n"
        "Checks: install, remove-purge, install-purge-install, files; upgrade with\n"
        "--upgrade or --upgrade-from; distupgrade with --distupgrade or --from-release.\n"
        "Exit status as `harness run`: 0 all passed, 1 a check failed, 2 usage error.\n";

static const char download_only_conf[] =
        "// harness pkg check: the install step of the suite only downloads the\n"
        "// packages; harness-pkg-check installs them (-o APT::Get::Download-Only=false).\n"
        "APT::Get::Download-Only \"true\";\n";

typedef struct PkgTarget {
        char *name;    /* the package */
        char *install; /* for apt-get install: NAME or NAME=VERSION */
        char *item;    /* for `install:`: NAME, or ./debs/FILE */
        char *local;   /* the .deb on the host, NULL for an archive package */
} PkgTarget;

typedef struct PkgArgs {
        const char *release, *rootfs, *output_dir, *timeout;
        char **ignore;
        char **pass; /* options for `harness run` */
        bool print_suite, upgrade, upgrade_from;
        PkgTarget *targets;
        size_t n_targets;
        PkgTarget *old; /* --upgrade-from */
        size_t n_old;
        char **deps; /* the targets' dependencies the tree lacks */
        bool no_layer;
        bool distupgrade;
        const char *from_release; /* distupgrade: the old release */
        PkgTarget *dold;          /* --distupgrade-from */
        size_t n_dold;
        char **old_deps; /* distupgrade: the dependencies in the old release */
} PkgArgs;

static void targets_free(PkgTarget *t, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(t[i].name);
                free(t[i].install);
                free(t[i].item);
                free(t[i].local);
        }
        free(t);
}

static void pkg_args_done(PkgArgs *a)
{
        th_strv_free(a->ignore);
        th_strv_free(a->pass);
        targets_free(a->targets, a->n_targets);
        targets_free(a->old, a->n_old);
        targets_free(a->dold, a->n_dold);
        th_strv_free(a->deps);
        th_strv_free(a->old_deps);
}

/* The Debian releases in order, for the distupgrade's default old release. */
static const char *const debian_releases[] = { "stretch", "buster", "bullseye", "bookworm",
                                               "trixie",  "forky",  "sid" };

static int release_index(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(debian_releases); i++)
                if (th_streq(debian_releases[i], name))
                        return (int)i;
        return -1;
}

static bool valid_name(const char *s, size_t n)
{
        if (n < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+-.", s[i]))
                        return false;
        return true;
}

static bool valid_version(const char *s)
{
        if (!*s || !(*s >= '0' && *s <= '9'))
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.~:",
                            *s))
                        return false;
        return true;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Package and Version of a .deb, from dpkg-deb, which reads the file open
 * at fd (checked to be a regular file: a FIFO would keep it waiting). */
static int deb_fields(const char *path, int fd, char **ret_name, char **ret_version, ThError *err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return th_error_errno(err, errno, "pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return th_error_errno(err, errno, "fork");
        }
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                if (fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(fd, 3) < 0)
                        _exit(127);
                execlp("dpkg-deb", "dpkg-deb", "--field", "--", "/proc/self/fd/3", "Package",
                       "Version", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        _cleanup_fclose_ FILE *f = fdopen(p[0], "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (f && (n = getline(&line, &cap, f)) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (strncmp(line, "Package: ", 9) == 0 && !*ret_name)
                        *ret_name = strdup(line + 9);
                else if (strncmp(line, "Version: ", 9) == 0 && !*ret_version)
                        *ret_version = strdup(line + 9);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !*ret_name || !*ret_version)
                return th_error_set(err, EINVAL, "'%s': not a .deb dpkg-deb can read", path);
        if (!valid_name(*ret_name, strlen(*ret_name)) || !valid_version(*ret_version))
                return th_error_set(err, EINVAL, "'%s': unexpected package name or version", path);
        return 0;
}

static int push_target(PkgTarget **v, size_t *n, PkgTarget t)
{
        PkgTarget *m = realloc(*v, (*n + 1) * sizeof(*m));
        if (!m)
                return -ENOMEM;
        *v = m;
        (*v)[(*n)++] = t;
        return 0;
}

enum { DEB_TARGET, DEB_OLD, DEB_DOLD };

/* A .deb as a target (into debs/), as --upgrade-from (into old/) or as
 * --distupgrade-from (into dold/). */
static int add_deb(PkgArgs *a, const char *path, int kind, ThError *err)
{
        static const char *const dirs[] = { "debs", "old", "dold" };
        char real[PATH_MAX];
        PkgTarget t = { 0 };
        _cleanup_free_ char *version = NULL;

        if (!realpath(path, real))
                return th_error_errno(err, errno, "'%s'", path);
        /* Not blocking on a FIFO a .changes names; only a regular file is read. */
        _cleanup_close_ int fd = open(real, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return th_error_errno(err, errno, "'%s'", path);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "'%s': not a regular file", path);
        int r = deb_fields(real, fd, &t.name, &version, err);
        if (r < 0) {
                free(t.name);
                return r;
        }
        const char *base = strrchr(real, '/') + 1;
        t.install = th_strdup_printf("%s=%s", t.name, version);
        t.item = th_strdup_printf("./%s/%s", dirs[kind], base);
        t.local = strdup(real);
        PkgTarget **v = kind == DEB_OLD ? &a->old : kind == DEB_DOLD ? &a->dold : &a->targets;
        size_t *n = kind == DEB_OLD ? &a->n_old : kind == DEB_DOLD ? &a->n_dold : &a->n_targets;
        if (!t.install || !t.item || !t.local || push_target(v, n, t) < 0) {
                free(t.name), free(t.install), free(t.item), free(t.local);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

/* The .debs of a .changes file's Files: field, beside it. */
static int add_changes(PkgArgs *a, const char *path, ThError *err)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL, *copy = strdup(path);
        size_t cap = 0;
        bool in_files = false;
        unsigned n = 0;

        if (!f)
                return th_error_errno(err, errno, "'%s'", path);
        if (!copy)
                return th_error_set(err, ENOMEM, "out of memory");
        const char *dir = dirname(copy);
        while (getline(&line, &cap, f) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (line[0] != ' ') {
                        in_files = strcmp(line, "Files:") == 0;
                        continue;
                }
                if (!in_files)
                        continue;
                /* " MD5 SIZE SECTION PRIORITY FILE" */
                const char *file = strrchr(line, ' ') + 1;
                if (!ends_with(file, ".deb"))
                        continue;
                if (strchr(file, '/'))
                        return th_error_set(err, EINVAL, "'%s': a file name with '/': '%s'", path,
                                            file);
                _cleanup_free_ char *deb = th_strdup_printf("%s/%s", dir, file);
                if (!deb)
                        return th_error_set(err, ENOMEM, "out of memory");
                /* Only the files beside it: a symlink would bring in any
                 * .deb of the host (into the results and the containers). */
                struct stat st;
                if (lstat(deb, &st) < 0)
                        return th_error_errno(err, errno, "'%s'", deb);
                if (S_ISLNK(st.st_mode))
                        return th_error_set(err, EINVAL, "'%s': a symlink, named in '%s'", deb,
                                            path);
                int r = add_deb(a, deb, DEB_TARGET, err);
                if (r < 0)
                        return r;
                n++;
        }
        if (n == 0)
                return th_error_set(err, EINVAL, "'%s': no .deb in its Files:", path);
        return 0;
}

static int add_target(PkgArgs *a, const char *arg, ThError *err)
{
        if (ends_with(arg, ".deb"))
                return add_deb(a, arg, DEB_TARGET, err);
        if (ends_with(arg, ".changes"))
                return add_changes(a, arg, err);
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        if (!valid_name(arg, n) || (eq && !valid_version(eq + 1)))
                return th_error_set(err, EINVAL,
                                    "'%s' is neither a .deb, a .changes nor a package name "
                                    "(NAME or NAME=VERSION)",
                                    arg);
        PkgTarget t = { .name = strndup(arg, n), .install = strdup(arg), .item = strdup(arg) };
        if (!t.name || !t.install || !t.item || push_target(&a->targets, &a->n_targets, t) < 0) {
                free(t.name), free(t.install), free(t.item);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

static int pass(PkgArgs *a, const char *opt, const char *value)
{
        if (th_strv_push(&a->pass, opt) < 0 || (value && th_strv_push(&a->pass, value) < 0))
                return -ENOMEM;
        return 0;
}

/* --upgrade-from and --distupgrade-from: the older version's .deb. Returns
 * 0, -ENOMEM or RUNNER_EXIT_USAGE. */
static int add_old_deb(PkgArgs *a, const char *option, const char *path, int kind)
{
        ThError err = { 0 };
        int r;

        if (!ends_with(path, ".deb"))
                return runner_usage_error("pkg", "%s '%s': not a .deb", option, path);
        r = add_deb(a, path, kind, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return runner_usage_error("pkg", "%s: %s", option, err.msg);
        return 0;
}

static int parse_args(int argc, char **argv, PkgArgs *a)
{
        enum {
                ARG_RELEASE = 0x100,
                ARG_ROOTFS,
                ARG_FROM_RELEASE,
                ARG_IGNORE,
                ARG_PRINT_SUITE,
                ARG_JUNIT,
                ARG_TAP,
                ARG_JSON,
                ARG_FILTER,
                ARG_TIMEOUT,
                ARG_SHELL_ON_FAIL,
                ARG_KEEP_FAILED,
                ARG_REFRESH,
                ARG_ALLOW_PRIVILEGED,
                ARG_UPGRADE,
                ARG_UPGRADE_FROM,
                ARG_NO_LAYER,
                ARG_DISTUPGRADE,
                ARG_DISTUPGRADE_FROM,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "release", required_argument, NULL, ARG_RELEASE },
                { "rootfs", required_argument, NULL, ARG_ROOTFS },
                { "from-release", required_argument, NULL, ARG_FROM_RELEASE },
                { "ignore", required_argument, NULL, ARG_IGNORE },
                { "print-suite", no_argument, NULL, ARG_PRINT_SUITE },
                { "jobs", required_argument, NULL, 'j' },
                { "junit", required_argument, NULL, ARG_JUNIT },
                { "tap", required_argument, NULL, ARG_TAP },
                { "json", required_argument, NULL, ARG_JSON },
                { "output-dir", required_argument, NULL, 'o' },
                { "filter", required_argument, NULL, ARG_FILTER },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "shell-on-fail", no_argument, NULL, ARG_SHELL_ON_FAIL },
                { "keep-failed", no_argument, NULL, ARG_KEEP_FAILED },
                { "refresh", no_argument, NULL, ARG_REFRESH },
                { "allow-privileged", no_argument, NULL, ARG_ALLOW_PRIVILEGED },
                { "upgrade", no_argument, NULL, ARG_UPGRADE },
                { "upgrade-from", required_argument, NULL, ARG_UPGRADE_FROM },
                { "no-layer", no_argument, NULL, ARG_NO_LAYER },
                { "distupgrade", no_argument, NULL, ARG_DISTUPGRADE },
                { "distupgrade-from", required_argument, NULL, ARG_DISTUPGRADE_FROM },
                {},
        };
        /* Options handed on to `harness run` as they are. */
        static const struct {
                int id;
                const char *flag;
                bool arg;
        } forwarded[] = {
                { 'j', "-j", true },
                { ARG_JUNIT, "--junit", true },
                { ARG_TAP, "--tap", true },
                { ARG_JSON, "--json", true },
                { ARG_FILTER, "--filter", true },
                { ARG_SHELL_ON_FAIL, "--shell-on-fail", false },
                { ARG_KEEP_FAILED, "--keep-failed", false },
                { ARG_REFRESH, "--refresh", false },
                { ARG_ALLOW_PRIVILEGED, "--allow-privileged", false },
        };
        int c, r = 0;

        /* Skip "pkg"; the verb comes next. */
        if (argc < 2)
                return runner_usage_error("pkg", "no command given (check)");
        if (th_streq(argv[1], "-h") || th_streq(argv[1], "--help")) {
                fputs(usage, stdout);
                return PARSE_HELP;
        }
        if (!th_streq(argv[1], "check"))
                return runner_usage_error("pkg", "unknown command '%s' (check)", argv[1]);
        argc--, argv++;
        while ((c = getopt_long(argc, argv, "hj:o:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return PARSE_HELP;
                case ARG_RELEASE:
                        if (!valid_name(optarg, strlen(optarg)))
                                return runner_usage_error("pkg", "invalid --release '%s'", optarg);
                        a->release = optarg;
                        break;
                case ARG_ROOTFS:
                        a->rootfs = optarg;
                        break;
                case ARG_FROM_RELEASE:
                        if (release_index(optarg) < 0)
                                return runner_usage_error(
                                        "pkg",
                                        "--from-release '%s': not a Debian release (stretch, "
                                        "buster, bullseye, bookworm, trixie, forky, sid)",
                                        optarg);
                        a->from_release = optarg;
                        a->distupgrade = true;
                        break;
                case ARG_DISTUPGRADE:
                        a->distupgrade = true;
                        break;
                case ARG_DISTUPGRADE_FROM:
                        r = add_old_deb(a, "--distupgrade-from", optarg, DEB_DOLD);
                        if (r != 0)
                                return r;
                        a->distupgrade = true;
                        break;
                case ARG_IGNORE:
                        if (optarg[0] != '/' || strpbrk(optarg, " \t\n\"\\"))
                                return runner_usage_error("pkg",
                                                          "--ignore '%s': an absolute path without "
                                                          "spaces, quotes or backslashes",
                                                          optarg);
                        if (th_strv_push(&a->ignore, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_UPGRADE:
                        a->upgrade = true;
                        break;
                case ARG_NO_LAYER:
                        a->no_layer = true;
                        break;
                case ARG_UPGRADE_FROM:
                        r = add_old_deb(a, "--upgrade-from", optarg, DEB_OLD);
                        if (r != 0)
                                return r;
                        a->upgrade = a->upgrade_from = true;
                        break;
                case ARG_PRINT_SUITE:
                        a->print_suite = true;
                        break;
                case 'o':
                        a->output_dir = optarg;
                        break;
                case ARG_TIMEOUT:
                        a->timeout = optarg;
                        break;
                default:
                        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                                if (forwarded[i].id == c) {
                                        r = pass(a, forwarded[i].flag,
                                                 forwarded[i].arg ? optarg : NULL);
                                        goto next;
                                }
                        return runner_usage_error("pkg", "unknown or incomplete option '%s'",
                                                  argv[optind - 1]);
                }
        next:
                if (r < 0)
                        return r;
        }
        if (optind >= argc)
                return runner_usage_error("pkg", "no package, .deb or .changes given");
        for (int i = optind; i < argc; i++) {
                ThError err = { 0 };
                r = add_target(a, argv[i], &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return runner_usage_error("pkg", "%s", err.msg);
        }
        for (size_t i = 0; i < a->n_targets; i++)
                for (size_t k = 0; k < i; k++)
                        if (th_streq(a->targets[i].name, a->targets[k].name))
                                return runner_usage_error("pkg", "package '%s' given twice",
                                                          a->targets[i].name);
        if (a->distupgrade) {
                const char *to = a->release ? a->release : "bookworm";
                int ti = release_index(to);
                if (a->rootfs)
                        return runner_usage_error("pkg", "the distupgrade check needs --release, "
                                                         "not --rootfs");
                if (ti < 0)
                        return runner_usage_error("pkg",
                                                  "--release '%s': the distupgrade check knows "
                                                  "no release before it",
                                                  to);
                if (!a->from_release) {
                        if (ti == 0)
                                return runner_usage_error(
                                        "pkg", "--release '%s': no release before it", to);
                        a->from_release = debian_releases[ti - 1];
                }
                if (release_index(a->from_release) >= ti)
                        return runner_usage_error("pkg",
                                                  "--from-release '%s' is not older than "
                                                  "--release '%s'",
                                                  a->from_release, to);
                for (size_t i = 0; i < a->n_dold; i++) {
                        bool found = false;
                        for (size_t k = 0; k < a->n_targets && !found; k++)
                                found = th_streq(a->dold[i].name, a->targets[k].name);
                        if (!found)
                                return runner_usage_error("pkg",
                                                          "--distupgrade-from: '%s' is not a "
                                                          "target's package",
                                                          a->dold[i].name);
                }
        }
        return 0;
}

/* "A B ...": the words of v, space-separated; "" for none. */
static char *strv_join(char *const *v)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        for (size_t i = 0; v && v[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", v[i]);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(text);
}

/* "NAME NAME ..." of one field of the targets. */
static char *join_targets(const PkgArgs *a, size_t off)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        for (size_t i = 0; i < a->n_targets; i++)
                fprintf(f, "%s%s", i ? " " : "", *(char **)((char *)&a->targets[i] + off));
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(text);
}

static void write_test(FILE *f, const char *name, const char *check, const char *comment,
                       const char *extra)
{
        fprintf(f,
                "\n  # %s\n"
                "  - name: %s\n"
                "    run: " CHECK_TARGET "/harness-pkg-check %s\n"
                "    tags: [%s]\n"
                "%s",
                comment, name, check, check, extra ? extra : "");
}

/* The `rootfs:` value: a managed spec as given, a directory made absolute
 * (the suite lives elsewhere), or the release's tree; release, when not
 * NULL, picks that release's tree instead (the distupgrade's old one). */
static int write_rootfs(const PkgArgs *a, const char *release, FILE *f, ThError *err)
{
        if (release && release_index(release) < release_index("bookworm"))
                /* A tree as Debian's installer made it then: /usr merged
                 * (bookworm needs it, and usrmerge cannot convert a tree
                 * on overlayfs). */
                fprintf(f, "{distro: debian, suite: %s, include: [usrmerge]}", release);
        else if (release)
                fprintf(f, "debian:%s", release);
        else if (a->rootfs && strchr(a->rootfs, ':') && a->rootfs[0] != '/' && a->rootfs[0] != '.')
                runner_yaml_quote(f, a->rootfs);
        else if (a->rootfs) {
                char real[PATH_MAX];
                if (!realpath(a->rootfs, real))
                        return th_error_errno(err, errno, "--rootfs '%s'", a->rootfs);
                runner_yaml_quote(f, real);
        } else
                fprintf(f, "debian:%s", a->release ? a->release : "bookworm");
        return 0;
}

/* The top of a suite: name, tree, and the defaults every check shares. */
static int write_head(const PkgArgs *a, const char *release, FILE *f, const char *suite,
                      const char *names, const char *install, char *const *items,
                      char *const *layer, const char *extra_fixture, ThError *err)
{
        int r;

        fprintf(f, "# Written by `harness pkg check` (docs/pkg.md): each check is a test in a\n"
                   "# fresh container booted under systemd, run by check/harness-pkg-check.\n"
                   "# The install step only downloads the packages (check/download-only.conf);\n"
                   "# the check installs them itself, after the dependencies, so it can list\n"
                   "# the tree before the install. Run it again: harness run THIS-FILE\n");
        fprintf(f, "name: %s\n", suite);
        fprintf(f, "rootfs: ");
        r = write_rootfs(a, release, f, err);
        if (r < 0)
                return r;
        fprintf(f, "\ndefaults:\n"
                   "  boot: true\n"
                   "  network: none\n"
                   "  timeout: ");
        runner_yaml_quote(f, a->timeout ? a->timeout : "15m");
        fprintf(f, "\n  env:\n"
                   "    DEBIAN_FRONTEND: noninteractive\n"
                   "    HARNESS_PKG_NAMES: ");
        runner_yaml_quote(f, names);
        fprintf(f, "\n    HARNESS_PKG_INSTALL: ");
        runner_yaml_quote(f, install);
        fprintf(f, "\n    HARNESS_PKG_IGNORE: ");
        _cleanup_free_ char *ignore = strv_join(a->ignore);
        if (!ignore)
                return th_error_set(err, ENOMEM, "out of memory");
        runner_yaml_quote(f, ignore); /* a CR or U+2028 in a path stays in the value */
        fprintf(f, "\n");
        if (layer) {
                fprintf(f, "  # the dependencies, in a cached layer under every check, installed\n"
                           "  # before the tree is listed (as piuparts does)\n"
                           "  packages: [");
                for (size_t i = 0; layer[i]; i++)
                        fprintf(f, "%s%s", i ? ", " : "", layer[i]);
                fprintf(f, "]\n");
        }
        fprintf(f,
                "  fixtures:\n"
                "    - check:" CHECK_TARGET "\n"
                "    - check/download-only.conf:/etc/apt/apt.conf.d/00harness-pkg\n"
                "%s"
                "  install: [",
                extra_fixture ? extra_fixture : "");
        for (size_t i = 0; items && items[i]; i++) {
                fprintf(f, "%s", i ? ", " : "");
                runner_yaml_quote(f, items[i]);
        }
        fprintf(f, "]\n"
                   "  expect:\n"
                   "    stdout: [\"^DONE: \"]        # the check ran to its end\n"
                   "    stdout-not: [\"^FAIL: \"]    # each problem is one FAIL: line\n"
                   "tests:");
        return ferror(f) ? th_error_set(err, ENOMEM, "out of memory") : 0;
}

/* The check script, the apt.conf, and the local .debs. */
static int write_files(const PkgArgs *a, GenSuite *g, ThError *err)
{
        int r = runner_gensuite_write(
                g, "check/harness-pkg-check", runner_pkg_check_script,
                (size_t)(runner_pkg_check_script_end - runner_pkg_check_script), 0755, err);
        if (r < 0)
                return r;
        r = runner_gensuite_write(g, "check/download-only.conf", download_only_conf,
                                  sizeof(download_only_conf) - 1, 0644, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < a->n_targets; i++) {
                if (!a->targets[i].local)
                        continue;
                r = runner_gensuite_add_file(g, a->targets[i].local, a->targets[i].item + 2, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The dependencies, for the cached layer: a suite of one direct-mode test
 * over the same repository asks apt what it would install with the
 * targets (DEP NAME lines), and the targets are taken out. release, when
 * not NULL, is the tree's release instead of the checks' (the
 * distupgrade's old one), items and install what is installed there. */
static int resolve_deps(const PkgArgs *a, GenSuite *g, const char *out, const char *release,
                        const char *suite, char *const *items, const char *install,
                        char ***ret_deps, ThError *err)
{
        _cleanup_strv_ char **run = NULL, **paths = NULL;
        FILE *f = g->yaml;
        char comp[128];
        int r;

        fprintf(f,
                "# Written by `harness pkg check`: what apt installs with the targets, for\n"
                "# the cached layer of the checks' suite.\n"
                "name: %s\nrootfs: ",
                suite);
        r = write_rootfs(a, release, f, err);
        if (r < 0)
                return r;
        fprintf(f, "\ntests:\n"
                   "  - name: dependencies\n"
                   "    boot: false\n"
                   "    fixtures: [check/download-only.conf:/etc/apt/apt.conf.d/00harness-pkg]\n"
                   "    install: [");
        for (size_t i = 0; items[i]; i++) {
                fprintf(f, "%s", i ? ", " : "");
                runner_yaml_quote(f, items[i]);
        }
        fprintf(f, "]\n"
                   "    env: {HARNESS_PKG_INSTALL: ");
        runner_yaml_quote(f, install);
        fprintf(f, "}\n"
                   "    run: |\n"
                   "      apt-get -s -q --no-install-recommends -o Dir::Etc::SourceParts=/dev/null "
                   "\\\n"
                   "              -o "
                   "Dir::Etc::SourceList=/etc/apt/sources.list.d/harness-install.list \\\n"
                   "              install $HARNESS_PKG_INSTALL >/tmp/simulated\n"
                   "      sed -n 's/^Inst \\([^ ]*\\) .*/DEP \\1/p' /tmp/simulated\n");
        if (ferror(f))
                return th_error_set(err, ENOMEM, "out of memory");
        r = runner_gensuite_finish(g, suite, err);
        if (r < 0)
                return r;
        if (th_strv_push(&paths, g->paths[th_strv_length(g->paths) - 1]) < 0 ||
            th_strv_push(&run, "-o") < 0 || th_strv_push(&run, out) < 0)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; a->pass && a->pass[i]; i++)
                if ((th_streq(a->pass[i], "--refresh") ||
                     th_streq(a->pass[i], "--allow-privileged")) &&
                    th_strv_push(&run, a->pass[i]) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        th_log(TH_LOG_INFO, "resolving the dependencies%s%s", release ? " in " : "",
               release ? release : "");
        r = runner_gen_run(run, paths);
        if (r != RUNNER_EXIT_OK)
                return th_error_set(err, EIO, "resolving the dependencies failed (status %d)", r);
        r = runner_path_component(suite, comp, sizeof(comp));
        if (r < 0)
                return th_error_set(err, -r, "'%s'", suite);
        _cleanup_free_ char *stdout_path = th_strdup_printf("%s/%s/dependencies/stdout", out, comp);
        _cleanup_fclose_ FILE *in = stdout_path ? fopen(stdout_path, "re") : NULL;
        if (!in)
                return th_error_errno(err, errno, "'%s'", stdout_path ? stdout_path : "?");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, in) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (strncmp(line, "DEP ", 4) != 0 || !valid_name(line + 4, strlen(line + 4)))
                        continue;
                bool target = false;
                for (size_t i = 0; i < a->n_targets && !target; i++)
                        target = th_streq(a->targets[i].name, line + 4);
                if (!target && th_strv_push(ret_deps, line + 4) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        th_log(TH_LOG_INFO, "%zu dependencies for the cached layer", th_strv_length(*ret_deps));
        return 0;
}

/* The checks' dependencies, in the release of the checks. */
static int resolve_check_deps(PkgArgs *a, GenSuite *g, const char *out, ThError *err)
{
        _cleanup_free_ char *install = join_targets(a, offsetof(PkgTarget, install));
        _cleanup_free_ char *suite = th_strdup_printf("pkg-%s-deps", a->targets[0].name);
        _cleanup_strv_ char **items = NULL;

        if (!install || !suite)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_targets; i++)
                if (th_strv_push(&items, a->targets[i].item) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        return resolve_deps(a, g, out, NULL, suite, items, install, &a->deps, err);
}

static int write_suite(const PkgArgs *a, GenSuite *g, ThError *err)
{
        FILE *f = g->yaml;
        _cleanup_free_ char *names = join_targets(a, offsetof(PkgTarget, name));
        _cleanup_free_ char *install = join_targets(a, offsetof(PkgTarget, install));
        _cleanup_free_ char *suite = th_strdup_printf("pkg-%s%s", a->targets[0].name,
                                                      a->n_targets > 1 ? "-and-more" : "");
        _cleanup_strv_ char **items = NULL;
        int r;

        if (!names || !install || !suite)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_targets; i++)
                if (th_strv_push(&items, a->targets[i].item) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        r = write_head(a, NULL, f, suite, names, install, items, a->deps, NULL, err);
        if (r < 0)
                return r;
        write_test(f, "install", "install",
                   "apt installs it: no dpkg error or warning, dpkg --audit clean, no\n"
                   "  # failed unit, its enabled services active",
                   "    expect: {units: {failed: none}}\n");
        write_test(f, "remove-purge", "purge",
                   "remove, then purge: its processes gone, and nothing left compared\n"
                   "  # with the tree before the install (files, alternatives, diversions,\n"
                   "  # users, broken symlinks; its units no longer active)",
                   NULL);
        write_test(f, "install-purge-install", "reinstall",
                   "installs again after a purge, its units as after the first install", NULL);
        write_test(f, "files", "files",
                   "what it ships: libraries of its ELF files, symlinks that lead\n"
                   "  # nowhere, files outside /etc, /var, /srv and /tmp no package owns",
                   NULL);
        if (ferror(f))
                return th_error_set(err, ENOMEM, "out of memory");
        return runner_gensuite_finish(g, suite, err);
}

/* The upgrade check, a suite of its own: its repository holds the old
 * versions (from the archive, or --upgrade-from files), and the new .debs
 * are bound in as files. (In one repository with the new .debs, apt would
 * download only the newest version of each package.) */
static int write_upgrade_suite(const PkgArgs *a, GenSuite *g, ThError *err)
{
        FILE *f = g->yaml;
        _cleanup_strv_ char **items = NULL, **names = NULL, **old = NULL;
        _cleanup_free_ char *new_debs = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *nd = open_memstream(&new_debs, &len);
        int r;

        if (!nd)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_targets; i++) {
                const PkgTarget *t = &a->targets[i];
                if (!t->local)
                        continue;
                fprintf(nd, "%s" NEW_TARGET "/%s", len ? " " : "", t->item + strlen("./debs/"));
                fflush(nd);
                if (th_strv_push(&names, t->name) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
                if (!a->upgrade_from &&
                    (th_strv_push(&items, t->name) < 0 || th_strv_push(&old, t->name) < 0))
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        if (!names)
                return th_error_set(err, EINVAL,
                                    "--upgrade needs a .deb or .changes to upgrade to");
        for (size_t i = 0; i < a->n_old; i++) {
                const PkgTarget *t = &a->old[i];
                r = runner_gensuite_add_file(g, t->local, t->item + 2, err);
                if (r < 0)
                        return r;
                if (th_strv_push(&items, t->item) < 0 || th_strv_push(&old, t->install) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        if (fclose(TAKE_PTR(nd)) != 0)
                return th_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *suite =
                th_strdup_printf("pkg-%s%s-upgrade", names[0], names[1] ? "-and-more" : "");
        _cleanup_free_ char *names_s = strv_join(names), *old_s = strv_join(old);
        if (!names_s || !old_s || !suite)
                return th_error_set(err, ENOMEM, "out of memory");
        r = write_head(a, NULL, f, suite, names_s, old_s, items, a->deps,
                       "    - debs:" NEW_TARGET "   # the new versions\n", err);
        if (r < 0)
                return r;
        write_test(f, "upgrade", "upgrade",
                   "the old version, its conffiles changed locally, then the upgrade to\n"
                   "  # the new .debs: the local changes kept, and the install check's checks",
                   NULL);
        fprintf(f, "    env: {HARNESS_PKG_NEW: ");
        runner_yaml_quote(f, new_debs);
        fprintf(f, "}\n");
        if (ferror(f))
                return th_error_set(err, ENOMEM, "out of memory");
        return runner_gensuite_finish(g, suite, err);
}

/* ---- distupgrade ------------------------------------------------------- */

/* What is installed in the old release: a --distupgrade-from .deb for its
 * package, the old release's own version (NAME) for the others. */
static int old_release_items(const PkgArgs *a, char ***ret_items, char **ret_install)
{
        _cleanup_strv_ char **install = NULL;
        for (size_t i = 0; i < a->n_targets; i++) {
                const PkgTarget *t = &a->targets[i], *d = NULL;
                for (size_t k = 0; k < a->n_dold && !d; k++)
                        if (th_streq(a->dold[k].name, t->name))
                                d = &a->dold[k];
                if (th_strv_push(ret_items, d ? d->item : t->name) < 0 ||
                    th_strv_push(&install, d ? d->install : t->name) < 0)
                        return -ENOMEM;
        }
        *ret_install = strv_join(install);
        return *ret_install ? 0 : -ENOMEM;
}

/* The new release's packages the full-upgrade needs: a container over the
 * old release's tree, the targets installed as in the check, with the
 * host's network, switches apt's sources to the new release and downloads
 * what `apt-get full-upgrade` would install (and what the new local .debs
 * need); the .debs come out as its artifacts. */
static const char next_download_script[] =
        "set -eu\n"
        "rm -f /etc/apt/sources.list.d/harness-install.list\n"
        "l=/etc/apt/sources.list\n"
        "sed -i -e \"s#[[:space:]]$HARNESS_PKG_FROM/updates[[:space:]]# $HARNESS_PKG_TO-security "
        "#\" "
        "\\\n"
        "       -e "
        "\"s#\\([[:space:]]\\)$HARNESS_PKG_FROM\\([-[:space:]]\\)#\\1$HARNESS_PKG_TO\\2#\" $l\n"
        "[ \"$HARNESS_PKG_TO\" != sid ] || sed -i -E '/[[:space:]]sid-(updates|security)/d' $l\n"
        "cat $l\n"
        "apt-get -q update\n"
        "d=/var/cache/harness-next\n"
        "mkdir -p $d/partial\n"
        "set -- -q -y --no-install-recommends -d -o Dir::Cache::archives=$d/\n"
        "apt-get \"$@\" full-upgrade\n"
        "# shellcheck disable=SC2086\n"
        "[ -z \"${HARNESS_PKG_NEW:-}\" ] || apt-get \"$@\" install $HARNESS_PKG_NEW\n"
        "rm -rf $d/partial $d/lock\n";

static int run_scanpackages(const char *dir, ThError *err)
{
        pid_t pid = fork();
        if (pid < 0)
                return th_error_errno(err, errno, "fork");
        if (pid == 0) {
                if (chdir(dir) < 0)
                        _exit(127);
                int fd = open("Packages", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || null < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
                    dup2(null, STDERR_FILENO) < 0)
                        _exit(127);
                execlp("dpkg-scanpackages", "dpkg-scanpackages", "--multiversion", ".", "/dev/null",
                       (char *)NULL);
                _exit(127);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return th_error_set(err, EIO,
                                    "dpkg-scanpackages in '%s' failed (status %d; is dpkg-dev "
                                    "installed?)",
                                    dir, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
}

/* A hard link of from at to, or a copy (another file system). */
static int link_or_copy(const char *from, const char *to, ThError *err)
{
        char buf[65536];
        ssize_t n;

        if (link(from, to) == 0)
                return 0;
        _cleanup_close_ int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) < 0)
                return th_error_errno(err, errno, "open '%s'", from);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "'%s' is not a file", from);
        _cleanup_close_ int out =
                open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (out < 0)
                return th_error_errno(err, errno, "create '%s'", to);
        while ((n = read(in, buf, sizeof(buf))) > 0) {
                int r = th_write_all(out, buf, (size_t)n);
                if (r < 0)
                        return th_error_errno(err, -r, "write '%s'", to);
        }
        return n < 0 ? th_error_errno(err, errno, "read '%s'", from) : 0;
}

/* The .debs of the directory from (regular files only) into to, moved
 * (move), hard-linked or copied. */
static int copy_debs(const char *from, const char *to, bool move, unsigned *ret_n, ThError *err)
{
        int r = th_mkdir_p(to, 0755);
        if (r < 0)
                return th_error_errno(err, -r, "create '%s'", to);
        _cleanup_closedir_ DIR *d = opendir(from);
        if (!d)
                return th_error_errno(err, errno, "the new release's packages ('%s')", from);
        *ret_n = 0;
        for (struct dirent *e; (e = readdir(d));) {
                if (!ends_with(e->d_name, ".deb"))
                        continue;
                _cleanup_free_ char *src = th_strdup_printf("%s/%s", from, e->d_name);
                _cleanup_free_ char *dst = th_strdup_printf("%s/%s", to, e->d_name);
                struct stat st;
                if (!src || !dst)
                        return th_error_set(err, ENOMEM, "out of memory");
                if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (!(move && rename(src, dst) == 0)) {
                        r = link_or_copy(src, dst, err);
                        if (r < 0)
                                return r;
                }
                (*ret_n)++;
        }
        return 0;
}

/* A cached download is used for a week, as `install:`'s repositories. */
static bool next_fresh(const char *entry)
{
        _cleanup_free_ char *stamp = th_strdup_printf("%s/built", entry);
        _cleanup_fclose_ FILE *f = stamp ? fopen(stamp, "re") : NULL;
        unsigned long long t = 0;
        if (!f || fscanf(f, "%llu", &t) != 1)
                return false;
        uint64_t now = th_realtime_usec();
        return t > 0 && t <= now && now - t < NEXT_MAX_AGE_USEC;
}

/* Keeps next/'s .debs as the cache entry (replacing an older one). */
static int next_store(const char *next, const char *entry, ThError *err)
{
        _cleanup_free_ char *tmp = th_strdup_printf("%s.new-%d", entry, (int)getpid());
        _cleanup_free_ char *stamp = tmp ? th_strdup_printf("%s/built", tmp) : NULL;
        _cleanup_free_ char *built =
                th_strdup_printf("%llu\n", (unsigned long long)th_realtime_usec());
        unsigned n = 0;
        if (!tmp || !stamp || !built)
                return th_error_set(err, ENOMEM, "out of memory");
        (void)th_rm_rf(tmp);
        int r = copy_debs(next, tmp, false, &n, err);
        if (r >= 0)
                r = th_write_file_atomic(stamp, built, strlen(built), err);
        if (r >= 0) {
                (void)th_rm_rf(entry);
                if (rename(tmp, entry) < 0)
                        r = th_error_errno(err, errno, "'%s'", entry);
        }
        if (r < 0)
                (void)th_rm_rf(tmp);
        return r;
}

/* The key of the download: the releases, what is installed on the old
 * one, and the local .debs (path, size, modification time). */
static char *next_key(const PkgArgs *a, const char *to, const char *install, const char *new_debs)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        fprintf(f, "from=%s\nto=%s\ninstall=%s\nnew=%s\ndeps=", a->from_release, to, install,
                new_debs);
        for (size_t i = 0; a->old_deps && a->old_deps[i]; i++)
                fprintf(f, "%s ", a->old_deps[i]);
        for (int k = 0; k < 2; k++) {
                const PkgTarget *v = k ? a->dold : a->targets;
                size_t n = k ? a->n_dold : a->n_targets;
                /* By content, never by path, size and time: a .deb of the
                 * same size and mtime must not find the other's packages. */
                for (size_t i = 0; i < n; i++) {
                        char hex[65];
                        _cleanup_close_ int fd =
                                v[i].local ? open(v[i].local, O_RDONLY | O_CLOEXEC) : -1;
                        if (fd >= 0 && th_sha256_fd(fd, hex) == 0)
                                fprintf(f, "\nlocal=%s sha256=%s", v[i].local, hex);
                        else if (v[i].local)
                                fprintf(f, "\nlocal=%s unreadable", v[i].local);
                }
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(text);
}

/* The old release's dependencies (for its layer), and the new release's
 * packages in the suite's next/, indexed as an apt repository. */
static int prepare_distupgrade(PkgArgs *a, GenSuite *g, const char *out, ThError *err)
{
        const char *to = a->release ? a->release : "bookworm";
        _cleanup_strv_ char **items = NULL, **run = NULL, **paths = NULL;
        _cleanup_free_ char *install = NULL, *new_debs = NULL;
        _cleanup_free_ char *deps_suite =
                th_strdup_printf("pkg-%s-%s-deps", a->targets[0].name, a->from_release);
        _cleanup_free_ char *suite =
                th_strdup_printf("pkg-%s-distupgrade-download", a->targets[0].name);
        size_t len = 0;
        char comp[128];
        int r;

        if (!deps_suite || !suite || old_release_items(a, &items, &install) < 0)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_dold; i++) {
                r = runner_gensuite_add_file(g, a->dold[i].local, a->dold[i].item + 2, err);
                if (r < 0)
                        return r;
        }
        if (!a->no_layer) {
                r = resolve_deps(a, g, out, a->from_release, deps_suite, items, install,
                                 &a->old_deps, err);
                if (r < 0)
                        return r;
        }
        _cleanup_fclose_ FILE *nd = open_memstream(&new_debs, &len);
        if (!nd)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n_targets; i++)
                if (a->targets[i].local) {
                        fprintf(nd, "%s" NEW_TARGET "/%s", len ? " " : "",
                                a->targets[i].item + strlen("./debs/"));
                        fflush(nd);
                }
        if (fclose(TAKE_PTR(nd)) != 0)
                return th_error_set(err, ENOMEM, "out of memory");

        FILE *f = g->yaml;
        fprintf(f,
                "# Written by `harness pkg check`: the packages of %s that `apt-get\n"
                "# full-upgrade` needs on %s with the targets installed, for the\n"
                "# distupgrade check's repository (next/). It needs the network.\n"
                "name: %s\nrootfs: ",
                to, a->from_release, suite);
        r = write_rootfs(a, a->from_release, f, err);
        if (r < 0)
                return r;
        fprintf(f, "\n");
        if (a->old_deps) {
                fprintf(f, "defaults:\n  packages: [");
                for (size_t i = 0; a->old_deps[i]; i++)
                        fprintf(f, "%s%s", i ? ", " : "", a->old_deps[i]);
                fprintf(f, "]\n");
        }
        fprintf(f, "tests:\n"
                   "  - name: download\n"
                   "    boot: false\n"
                   "    network: host\n"
                   "    limits: {artifacts: 8G}\n"
                   "    artifacts: [/var/cache/harness-next]\n");
        if (*new_debs)
                fprintf(f, "    fixtures: [debs:" NEW_TARGET "]\n");
        fprintf(f, "    install: [");
        for (size_t i = 0; items[i]; i++) {
                fprintf(f, "%s", i ? ", " : "");
                runner_yaml_quote(f, items[i]);
        }
        fprintf(f,
                "]\n    env:\n      DEBIAN_FRONTEND: noninteractive\n"
                "      HARNESS_PKG_FROM: %s\n      HARNESS_PKG_TO: %s\n"
                "      HARNESS_PKG_NEW: ",
                a->from_release, to);
        runner_yaml_quote(f, new_debs);
        fprintf(f, "\n    run: |\n");
        for (const char *l = next_download_script; *l;) {
                size_t n = strcspn(l, "\n");
                fprintf(f, "      %.*s\n", (int)n, l);
                l += n + (l[n] == '\n');
        }
        if (ferror(f))
                return th_error_set(err, ENOMEM, "out of memory");
        r = runner_gensuite_finish(g, suite, err);
        if (r < 0)
                return r;
        bool refresh = false;
        for (size_t i = 0; a->pass && a->pass[i]; i++)
                refresh = refresh || th_streq(a->pass[i], "--refresh");
        _cleanup_free_ char *key = next_key(a, to, install, new_debs);
        _cleanup_free_ char *store = NULL;
        _cleanup_free_ char *next = th_strdup_printf("%s/next", g->dir);
        char hash[17];
        if (!key || !next)
                return th_error_set(err, ENOMEM, "out of memory");
        r = fixture_store_dir("pkg-next", &store, err);
        if (r < 0)
                return r;
        fixture_hash_hex(key, hash);
        _cleanup_free_ char *entry = th_strdup_printf("%s/%s-%.12s", store, to, hash);
        unsigned n = 0;
        if (!entry)
                return th_error_set(err, ENOMEM, "out of memory");
        if (!refresh && next_fresh(entry)) {
                r = copy_debs(entry, next, false, &n, err);
                if (r < 0)
                        return r;
                th_log(TH_LOG_INFO, "the packages of %s for the distupgrade: cached in %s", to,
                       entry);
        } else {
                if (th_strv_push(&paths, g->paths[th_strv_length(g->paths) - 1]) < 0 ||
                    th_strv_push(&run, "-o") < 0 || th_strv_push(&run, out) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
                for (size_t i = 0; a->pass && a->pass[i]; i++)
                        if ((th_streq(a->pass[i], "--refresh") ||
                             th_streq(a->pass[i], "--allow-privileged")) &&
                            th_strv_push(&run, a->pass[i]) < 0)
                                return th_error_set(err, ENOMEM, "out of memory");
                th_log(TH_LOG_INFO, "downloading what the full-upgrade from %s to %s needs",
                       a->from_release, to);
                r = runner_gen_run(run, paths);
                if (r != RUNNER_EXIT_OK)
                        return th_error_set(
                                err, EIO,
                                "downloading the packages of %s failed (status %d; see %s/)", to, r,
                                out);
                r = runner_path_component(suite, comp, sizeof(comp));
                if (r < 0)
                        return th_error_set(err, -r, "'%s'", suite);
                _cleanup_free_ char *art = th_strdup_printf(
                        "%s/%s/download/artifacts/var/cache/harness-next", out, comp);
                if (!art)
                        return th_error_set(err, ENOMEM, "out of memory");
                r = copy_debs(art, next, true, &n, err);
                if (r < 0)
                        return r;
                r = th_mkdir_p(entry, 0755); /* its parent, and a place to replace */
                if (r < 0)
                        return th_error_errno(err, -r, "create '%s'", entry);
                /* The cache is a saving, not a need: a run that could
                 * not keep it (another replacing it meanwhile) goes on. */
                ThError store_err = { 0 };
                if (next_store(next, entry, &store_err) < 0)
                        th_log(TH_LOG_WARNING, "not cached: %s", store_err.msg);
        }
        for (size_t i = 0; i < a->n_targets; i++) {
                if (!a->targets[i].local)
                        continue;
                _cleanup_free_ char *rel =
                        th_strdup_printf("next/%s", a->targets[i].item + strlen("./debs/"));
                if (!rel)
                        return th_error_set(err, ENOMEM, "out of memory");
                r = runner_gensuite_add_file(g, a->targets[i].local, rel, err);
                if (r < 0)
                        return r;
                n++;
        }
        r = run_scanpackages(next, err);
        if (r < 0)
                return r;
        th_log(TH_LOG_INFO, "%u packages of %s for the distupgrade", n, to);
        return 0;
}

/* The distupgrade check, a suite of its own on the old release's tree:
 * its repository the old release's packages, and the new release's bound
 * in at NEXT_TARGET. */
static int write_distupgrade_suite(const PkgArgs *a, GenSuite *g, ThError *err)
{
        FILE *f = g->yaml;
        const char *to = a->release ? a->release : "bookworm";
        _cleanup_strv_ char **items = NULL;
        _cleanup_free_ char *install = NULL;
        _cleanup_free_ char *names = join_targets(a, offsetof(PkgTarget, name));
        _cleanup_free_ char *suite = th_strdup_printf("pkg-%s%s-distupgrade", a->targets[0].name,
                                                      a->n_targets > 1 ? "-and-more" : "");
        int r;

        if (!names || !suite || old_release_items(a, &items, &install) < 0)
                return th_error_set(err, ENOMEM, "out of memory");
        r = write_head(a, a->from_release, f, suite, names, install, items, a->old_deps,
                       "    - next:" NEXT_TARGET "   # the new release's packages\n", err);
        if (r < 0)
                return r;
        write_test(f, "distupgrade", "distupgrade",
                   "installed on the old release, then the tree upgraded to the new one\n"
                   "  # with apt-get full-upgrade: the install check's checks after it",
                   "    expect: {units: {failed: none}}\n");
        fprintf(f, "    env: {HARNESS_PKG_FROM: %s, HARNESS_PKG_TO: %s}\n", a->from_release, to);
        if (ferror(f))
                return th_error_set(err, ENOMEM, "out of memory");
        return runner_gensuite_finish(g, suite, err);
}

static int print_suites(char *const *paths)
{
        for (size_t i = 0; paths && paths[i]; i++) {
                _cleanup_fclose_ FILE *f = fopen(paths[i], "re");
                char buf[8192];
                size_t n;
                if (!f)
                        return -errno;
                if (i > 0)
                        printf("\n");
                printf("# ---- %s ----\n", strrchr(paths[i], '/') + 1);
                while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                        fwrite(buf, 1, n, stdout);
        }
        return fflush(stdout) == 0 ? 0 : -EIO;
}

int runner_cmd_pkg(int argc, char **argv)
{
        _cleanup_(pkg_args_done) PkgArgs a = { 0 };
        _cleanup_(runner_gensuite_done) GenSuite g = { 0 };
        _cleanup_free_ char *dir = NULL;
        ThError err = { 0 };
        int r;

        r = parse_args(argc, argv, &a);
        if (r == PARSE_HELP)
                return RUNNER_EXIT_OK;
        if (r != 0)
                return r > 0 ? r : RUNNER_EXIT_INFRA;
        const char *out = a.output_dir ? a.output_dir : DEFAULT_OUTPUT_DIR;
        dir = th_strdup_printf("%s/" SUITE_DIR, out);
        if (!dir)
                return RUNNER_EXIT_INFRA;
        if (runner_gensuite_open(&g, dir, &err) < 0 || write_files(&a, &g, &err) < 0 ||
            (!a.no_layer && resolve_check_deps(&a, &g, out, &err) < 0) ||
            (a.distupgrade && prepare_distupgrade(&a, &g, out, &err) < 0)) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return err.code == ENOMEM ? RUNNER_EXIT_INFRA : RUNNER_EXIT_USAGE;
        }
        size_t first = th_strv_length(g.paths);
        if (write_suite(&a, &g, &err) < 0 || (a.upgrade && write_upgrade_suite(&a, &g, &err) < 0) ||
            (a.distupgrade && write_distupgrade_suite(&a, &g, &err) < 0)) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return err.code == ENOMEM ? RUNNER_EXIT_INFRA : RUNNER_EXIT_USAGE;
        }
        if (a.print_suite) {
                if (print_suites(g.paths + first) < 0)
                        return RUNNER_EXIT_INFRA;
                th_log(TH_LOG_NOTICE, "written to %s/, with check/ and the .debs", g.dir);
                return RUNNER_EXIT_OK;
        }
        th_log(TH_LOG_INFO, "suites in %s/", g.dir);
        if (pass(&a, "-o", out) < 0)
                return RUNNER_EXIT_INFRA;
        /* All checks at once unless -j says otherwise: a check's container
         * waits much of its time (its boot, apt's and dpkg's I/O, services
         * settling), so more of them than CPUs is faster. */
        bool jobs = false;
        for (size_t i = 0; a.pass && a.pass[i]; i++)
                jobs = jobs || th_streq(a.pass[i], "-j");
        char n_checks[16];
        (void)th_snprintf(n_checks, sizeof(n_checks), "%d", 4 + a.upgrade + a.distupgrade);
        if (!jobs && pass(&a, "-j", n_checks) < 0)
                return RUNNER_EXIT_INFRA;
        r = runner_gen_run(a.pass, g.paths + first);
        return r < 0 ? RUNNER_EXIT_INFRA : r;
}

/* runner: `harness autopkgtest`, a source package's DEP-8 tests
 * (debian/tests/control) run unchanged with autopkgtest's verdicts. The
 * tests become harness suites, one per distinct dependency set (installed
 * once into a cached package layer), written as YAML into the output
 * directory and run through `harness run` (suite-gen.c); the results are
 * read back and told as autopkgtest tells them: one summary line per test
 * and its exit status. docs/autopkgtest.md. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "dep8.h"
#include "fixture.h"
#include "runner.h"
#include "runner-internal.h"

#define DEFAULT_OUTPUT_DIR "autopkgtest-results"
#define PARSE_HELP         1000
#define SOURCE_TARGET      "/srv/autopkgtest/source" /* the host's tree, read-only */
#define BUILT_TARGET       "/srv/autopkgtest/built"  /* build-needed: the built tree */
#define SCRATCH            "/tmp/autopkgtest"
#define NORMAL_USER        "autopkgtest"
/* Not under /tmp: a tmpfs of the container that the artifact copy does not see. */
#define ARTIFACTS    "/var/tmp/autopkgtest-artifacts"
#define TEST_TIMEOUT "10000" /* autopkgtest's --timeout-test default, seconds */
/* needs-reboot: reboots of one test; one more fails it (a reboot loop). */
#define AP_MAX_REBOOTS 10

/* autopkgtest's exit statuses (bits). */
enum {
        AP_EXIT_OK = 0,
        AP_EXIT_SKIPPED = 2,  /* a test was skipped, or a flaky one failed */
        AP_EXIT_FAILED = 4,   /* a test failed */
        AP_EXIT_NO_TESTS = 8, /* no test, or every non-superficial one skipped */
        AP_EXIT_BADPKG = 12,  /* erroneous package */
        AP_EXIT_TESTBED = 16, /* testbed failure */
        AP_EXIT_OTHER = 20,   /* other unexpected failure (and usage errors) */
};

static const char usage[] =
        "Usage: harness autopkgtest [OPTIONS] SOURCE\n"
        "\n"
        "Run a source package's DEP-8 tests (debian/tests/control), each in a fresh\n"
        "container, with autopkgtest's verdicts and exit status.\n"
        "SOURCE is an unpacked source tree, a .dsc (unpacked with dpkg-source) or a\n"
        "source package name (apt-get source from the release), both in a container.\n"
        "\n"
        "Options:\n"
        "      --release NAME        the Debian release of the tree (default bookworm)\n"
        "      --rootfs SPEC         the tree instead: debian:RELEASE or a directory\n"
        "  -o, --output-dir DIR      logs, artifacts, generated suites and the summary\n"
        "                            (default ./" DEFAULT_OUTPUT_DIR ")\n"
        "  -j, --jobs N              containers at a time (default: twice the CPUs)\n"
        "      --junit FILE          a JUnit XML report (classname: the source package)\n"
        "      --tap FILE            a TAP report\n"
        "      --json FILE           a JSON (CTRF) report\n"
        "      --test NAME           only this test (repeat for several)\n"
        "      --needs-internet=run|try|skip  tests with needs-internet: run them with the\n"
        "                            host's network (default run), run them and call a\n"
        "                            failure a skip (try), or skip them\n"
        "      --timeout DURATION    per test (default 10000s, as autopkgtest)\n"
        "      --print-suite         print the generated suites and run nothing\n"
        "      --deb FILE            a local .deb in place of the archive's package of\n"
        "                            that name (repeat for several)\n"
        "      --changes FILE        the .debs a .changes lists, the same way\n"
        "      --refresh             build the package layers this run uses and the\n"
        "                            build-needed tree again, and download the local\n"
        "                            packages' dependencies again (the archive moved on)\n"
        "      --allow-privileged    passed to harness run (needed for packages over a\n"
        "                            directory tree)\n"
        "  -h, --help                show this help\n"
        "\n"
        "Exit status (autopkgtest's): 0 all passed, 2 a test skipped or a flaky test\n"
        "failed, 4 a test failed, 6 both, 8 no test ran (or only superficial ones\n"
        "passed), 12 erroneous package, 16 testbed failure, 20 other failure.\n";

typedef enum NeedsInternet { NI_RUN, NI_TRY, NI_SKIP } NeedsInternet;

typedef struct ApArgs {
        const char *release, *rootfs, *output_dir, *junit, *tap, *json, *jobs, *timeout;
        char **only;
        char **debs; /* --deb, --changes: absolute paths of local .debs */
        NeedsInternet needs_internet;
        bool print_suite, allow_privileged, refresh;
        const char *source;
} ApArgs;

/* V_ABORT: autopkgtest stops the whole run there (a missing test script);
 * V_NOT_REACHED: a test after it, neither run nor reported. */
typedef enum Verdict {
        V_NONE,
        V_PASS,
        V_FAIL,
        V_SKIP,
        V_FLAKY,
        V_BADPKG,
        V_ABORT,
        V_NOT_REACHED,
} Verdict;

typedef struct ApTest {
        const Dep8Test *t;
        char *depends;  /* expanded relation, for the layer */
        char **install; /* local .debs that replace packages of the relation */
        char *key;      /* depends and install: tests of one key share a suite */
        size_t group;   /* index into groups; SIZE_MAX: not run */
        Verdict verdict;
        char *reason; /* after the verdict word */
        char *dir;    /* the test's output folder */
        double time_sec;
} ApTest;

typedef struct ApGroup {
        char *depends;
        char *key;
        char *name; /* the generated suite's name */
        char *path; /* its file */
        bool uninstallable;
        char *install_error;
} ApGroup;

typedef struct ApCtx {
        ApArgs *args;
        char *source_dir; /* absolute */
        char *output_dir; /* absolute */
        char *rootfs;     /* the suites' rootfs: value */
        char *arch;
        Dep8Control *control;
        DebControl *deb;
        ApTest *tests;
        size_t n_tests;
        ApGroup *groups;
        size_t n_groups;
        char *build_depends; /* build-needed: the build's relation, or NULL */
        char *built_tree;    /* build-needed: the built tree (host), or NULL */
        char *times_path;    /* the tests' times of the last runs, or NULL */
        RunDurations times;  /* read from it: "SOURCE/TEST" */
} ApCtx;

static void ap_ctx_done(ApCtx *c)
{
        for (size_t i = 0; i < c->n_tests; i++) {
                free(c->tests[i].depends);
                th_strv_free(c->tests[i].install);
                free(c->tests[i].key);
                free(c->tests[i].reason);
                free(c->tests[i].dir);
        }
        free(c->tests);
        for (size_t i = 0; i < c->n_groups; i++) {
                free(c->groups[i].depends);
                free(c->groups[i].key);
                free(c->groups[i].name);
                free(c->groups[i].path);
                free(c->groups[i].install_error);
        }
        free(c->groups);
        free(c->build_depends);
        free(c->built_tree);
        free(c->times_path);
        runner_durations_done(&c->times);
        dep8_free(c->control);
        deb_control_free(c->deb);
        free(c->source_dir);
        free(c->output_dir);
        free(c->rootfs);
        free(c->arch);
        th_strv_free(c->args->only);
        th_strv_free(c->args->debs);
}

static int add_deb(ApArgs *a, const char *path)
{
        size_t n = strlen(path);
        struct stat st;

        if (n < 5 || !th_streq(path + n - 4, ".deb") || !strrchr(path, '_'))
                return -EINVAL;
        _cleanup_free_ char *abs = realpath(path, NULL);
        if (!abs)
                return -errno;
        if (stat(abs, &st) < 0 || !S_ISREG(st.st_mode))
                return -EINVAL;
        return th_strv_push(&a->debs, abs) < 0 ? -ENOMEM : 0;
}

/* The .deb files a .changes lists (Files:, next to it). */
static int add_changes(ApArgs *a, const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL, *dir = strdup(path);
        size_t cap = 0;
        bool in_files = false;
        int found = 0;

        if (!dir)
                return -ENOMEM;
        if (!f)
                return -errno;
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = '\0';
        else
                strcpy(dir, ".");
        while (getline(&line, &cap, f) >= 0) {
                line[strcspn(line, "\n")] = '\0';
                if (line[0] != ' ' && line[0] != '\t') {
                        in_files = strncasecmp(line, "Files:", 6) == 0;
                        continue;
                }
                if (!in_files)
                        continue;
                char *name = strrchr(line, ' ');
                size_t n = name ? strlen(name + 1) : 0;
                if (n < 5 || !th_streq(name + 1 + n - 4, ".deb") || strchr(name + 1, '/'))
                        continue;
                _cleanup_free_ char *p = th_strdup_printf("%s/%s", dir, name + 1);
                if (!p)
                        return -ENOMEM;
                /* Only the files beside it: a symlink would bring in any
                 * .deb of the host (into the output and the containers). */
                struct stat st;
                if (lstat(p, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode))
                        return -ELOOP;
                int r = add_deb(a, p);
                if (r < 0)
                        return r;
                found++;
        }
        return found > 0 ? 0 : -ENOENT;
}

static int parse_args(int argc, char **argv, ApArgs *a)
{
        enum {
                ARG_RELEASE = 0x100,
                ARG_ROOTFS,
                ARG_JUNIT,
                ARG_TAP,
                ARG_JSON,
                ARG_TEST,
                ARG_NEEDS_INTERNET,
                ARG_TIMEOUT,
                ARG_PRINT_SUITE,
                ARG_ALLOW_PRIVILEGED,
                ARG_DEB,
                ARG_CHANGES,
                ARG_REFRESH,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "release", required_argument, NULL, ARG_RELEASE },
                { "rootfs", required_argument, NULL, ARG_ROOTFS },
                { "output-dir", required_argument, NULL, 'o' },
                { "jobs", required_argument, NULL, 'j' },
                { "junit", required_argument, NULL, ARG_JUNIT },
                { "tap", required_argument, NULL, ARG_TAP },
                { "json", required_argument, NULL, ARG_JSON },
                { "test", required_argument, NULL, ARG_TEST },
                { "needs-internet", required_argument, NULL, ARG_NEEDS_INTERNET },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "print-suite", no_argument, NULL, ARG_PRINT_SUITE },
                { "allow-privileged", no_argument, NULL, ARG_ALLOW_PRIVILEGED },
                { "deb", required_argument, NULL, ARG_DEB },
                { "changes", required_argument, NULL, ARG_CHANGES },
                { "refresh", no_argument, NULL, ARG_REFRESH },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "ho:j:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return PARSE_HELP;
                case ARG_RELEASE:
                        if (!optarg[0] || strspn(optarg, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                                  strlen(optarg))
                                return runner_usage_error("autopkgtest", "invalid --release '%s'",
                                                          optarg);
                        a->release = optarg;
                        break;
                case ARG_ROOTFS:
                        a->rootfs = optarg;
                        break;
                case 'o':
                        a->output_dir = optarg;
                        break;
                case 'j':
                        a->jobs = optarg;
                        break;
                case ARG_JUNIT:
                        a->junit = optarg;
                        break;
                case ARG_TAP:
                        a->tap = optarg;
                        break;
                case ARG_JSON:
                        a->json = optarg;
                        break;
                case ARG_TEST:
                        if (th_strv_push(&a->only, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_NEEDS_INTERNET:
                        if (th_streq(optarg, "run"))
                                a->needs_internet = NI_RUN;
                        else if (th_streq(optarg, "try"))
                                a->needs_internet = NI_TRY;
                        else if (th_streq(optarg, "skip"))
                                a->needs_internet = NI_SKIP;
                        else
                                return runner_usage_error("autopkgtest",
                                                          "invalid --needs-internet '%s': run, "
                                                          "try or skip",
                                                          optarg);
                        break;
                case ARG_TIMEOUT:
                        a->timeout = optarg;
                        break;
                case ARG_PRINT_SUITE:
                        a->print_suite = true;
                        break;
                case ARG_ALLOW_PRIVILEGED:
                        a->allow_privileged = true;
                        break;
                case ARG_REFRESH:
                        a->refresh = true;
                        break;
                case ARG_DEB:
                case ARG_CHANGES: {
                        int r = c == ARG_DEB ? add_deb(a, optarg) : add_changes(a, optarg);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return runner_usage_error("autopkgtest", "%s '%s': %s",
                                                          c == ARG_DEB ? "--deb" : "--changes",
                                                          optarg, strerror(-r));
                        break;
                }
                default:
                        return runner_usage_error("autopkgtest",
                                                  "unknown or incomplete option '%s'",
                                                  argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("autopkgtest", "no source given");
        if (optind + 1 < argc)
                return runner_usage_error("autopkgtest", "one source at a time, got '%s' too",
                                          argv[optind + 1]);
        if (a->release && a->rootfs)
                return runner_usage_error("autopkgtest", "--release and --rootfs: give one");
        a->source = argv[optind];
        return 0;
}

/* The Debian name of the machine's architecture. */
static char *host_arch(void)
{
        static const char *const map[][2] = {
                { "x86_64", "amd64" },        { "aarch64", "arm64" },   { "i686", "i386" },
                { "i586", "i386" },           { "armv7l", "armhf" },    { "ppc64le", "ppc64el" },
                { "s390x", "s390x" },         { "riscv64", "riscv64" }, { "mips64", "mips64el" },
                { "loongarch64", "loong64" },
        };
        struct utsname u;

        if (uname(&u) == 0)
                for (size_t i = 0; i < ELEMENTSOF(map); i++)
                        if (th_streq(u.machine, map[i][0]))
                                return strdup(map[i][1]);
        return strdup("amd64");
}

/* autopkgtest's "blame:"/"badpkg:" lines for an erroneous package. */
static const char *blamed = "";

static int badpkg(const char *msg)
{
        printf("blame: %s\nbadpkg: %s\n", runner_safe(blamed), runner_safe(msg));
        th_log(TH_LOG_ERROR, "erroneous package: %s", msg);
        return AP_EXIT_BADPKG;
}

static void print_diags(const char *path, int r, const SuiteDiags *d)
{
        if (d->n == 0)
                th_log(TH_LOG_ERROR, "%s: %s", runner_safe(path), strerror(-r));
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "%s:%u: %s\n", runner_safe(d->items[i].file), d->items[i].loc.line,
                        runner_safe(d->items[i].message));
}

/* The files read on the host lie in the tree, not behind a symlink (a
 * fetched tree is the archive's, not ours). */
static int check_in_tree(const char *root, const char *rel)
{
        _cleanup_free_ char *p = th_strdup_printf("%s/%s", root, rel);
        struct stat st;

        if (!p)
                return -ENOMEM;
        for (char *s = p + strlen(root); s; s = strchr(s + 1, '/')) {
                char save = *s;
                *s = '\0';
                int r = lstat(p, &st);
                *s = save;
                if (r < 0)
                        return errno == ENOENT ? 0 : -errno;
                if (S_ISLNK(st.st_mode))
                        return -ELOOP;
        }
        if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
                return -ELOOP;
        return 0;
}

/* A .dsc or a package name: unpacked with dpkg-source (`apt-get source`
 * for a name, with deb-src added inside the container and the host's
 * network for that step only) in a container of the release, never on the
 * host. Names are cached under $HARNESS_CACHE/autopkgtest-sources; a .dsc
 * is unpacked into the output directory. *ret: the tree. */
static int fetch_source(ApCtx *c, const char *out, char **ret)
{
        const char *src = c->args->source;
        size_t n = strlen(src);
        bool dsc = n > 4 && th_streq(src + n - 4, ".dsc");
        _cleanup_free_ char *dsc_abs = NULL, *entry = NULL, *cache = NULL, *text = NULL;
        _cleanup_free_ char *path = NULL, *runout = NULL, *tree = NULL, *dsc_dir = NULL;
        size_t len = 0;
        ThError err = { 0 };
        int r;

        if (dsc) {
                dsc_abs = realpath(src, NULL);
                if (!dsc_abs) {
                        th_log(TH_LOG_ERROR, "'%s': %m", runner_safe(src));
                        return AP_EXIT_OTHER;
                }
                dsc_dir = strdup(dsc_abs);
                if (!dsc_dir)
                        return -ENOMEM;
                *strrchr(dsc_dir, '/') = '\0';
                entry = th_strdup_printf("%s/source", out);
        } else {
                if (!n || n > 100 || strspn(src, "abcdefghijklmnopqrstuvwxyz0123456789+-.") != n ||
                    src[0] == '-' || src[0] == '.') {
                        th_log(TH_LOG_ERROR,
                               "'%s' is neither a source tree, a .dsc nor a source package name",
                               runner_safe(src));
                        return AP_EXIT_OTHER;
                }
                r = fixture_store_dir("autopkgtest-sources", &cache, &err);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "%s", err.msg);
                        return r == -ENOMEM ? r : AP_EXIT_OTHER;
                }
                char label[128];
                if (runner_path_component(c->rootfs, label, sizeof(label)) < 0)
                        return -ENOMEM;
                entry = th_strdup_printf("%s/%s/%s", cache, label, src);
        }
        if (!entry)
                return -ENOMEM;
        tree = th_strdup_printf("%s/tree", entry);
        _cleanup_free_ char *ready = th_strdup_printf("%s/tree/debian/control", entry);
        if (!tree || !ready)
                return -ENOMEM;
        if (!dsc && access(ready, F_OK) == 0) {
                th_log(TH_LOG_INFO, "source of '%s': cached in %s", src, tree);
                *ret = TAKE_PTR(tree);
                return 0;
        }
        (void)th_rm_rf(entry);
        _cleanup_free_ char *work = th_strdup_printf("%s/work", entry);
        if (!work || th_mkdir_p(work, 0755) < 0) {
                th_log(TH_LOG_ERROR, "cannot create '%s'", entry);
                return AP_EXIT_OTHER;
        }

        _cleanup_fclose_ FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("# harness autopkgtest: the source, unpacked in a container\nname: fetch\nrootfs: ",
              f);
        runner_yaml_quote(f, c->rootfs);
        fputs("\ndefaults:\n  packages: [dpkg-dev]\n  boot: false\n  timeout: 30m\n", f);
        fputs("  fixtures:\n    - {source: ", f);
        runner_yaml_quote(f, work);
        fputs(", target: /srv/autopkgtest/work, writable: true}\n", f);
        if (dsc) {
                fputs("    - {source: ", f);
                runner_yaml_quote(f, dsc_dir);
                fputs(", target: /srv/autopkgtest/dsc}\n", f);
        }
        fputs("tests:\n  - name: source\n", f);
        _cleanup_free_ char *script = NULL;
        size_t sl = 0;
        _cleanup_fclose_ FILE *sf = open_memstream(&script, &sl);
        if (!sf)
                return -ENOMEM;
        fputs("set -e\ncd /srv/autopkgtest/work\n", sf);
        if (dsc) {
                fputs("dpkg-source --no-check -x /srv/autopkgtest/dsc/", sf);
                runner_shell_quote(sf, strrchr(dsc_abs, '/') + 1);
                fputs(" tree\n", sf);
        } else {
                fputs("sed -n 's/^deb /deb-src /p' /etc/apt/sources.list "
                      ">/etc/apt/sources.list.d/harness-deb-src.list 2>/dev/null || true\n"
                      "for f in /etc/apt/sources.list.d/*.sources; do\n"
                      "        [ -e \"$f\" ] || continue\n"
                      "        sed -i 's/^Types: deb$/Types: deb deb-src/' \"$f\"\n"
                      "done\n"
                      "apt-get update\n"
                      "apt-get source --only-source ",
                      sf);
                runner_shell_quote(sf, src);
                fputs("\nfor d in */; do [ \"$d\" = tree/ ] || mv \"$d\" tree; done\n"
                      "test -f tree/debian/control\n",
                      sf);
        }
        fclose(TAKE_PTR(sf));
        if (!script)
                return -ENOMEM;
        fputs("    run: ", f);
        runner_yaml_quote(f, script);
        fprintf(f, "\n    network: %s\n", dsc ? "none" : "host");
        fclose(TAKE_PTR(f));
        if (!text)
                return -ENOMEM;
        if (runner_gen_write(entry, "fetch", text, &path, &err) < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return AP_EXIT_OTHER;
        }
        runout = th_strdup_printf("%s/run", entry);
        if (!runout)
                return -ENOMEM;
        char *args[] = { (char *)"-o", runout, (char *)"--allow-outside-fixtures",
                         c->args->allow_privileged ? (char *)"--allow-privileged" : NULL, NULL };
        char *suites[] = { path, NULL };
        r = runner_gen_run(args, suites);
        _cleanup_free_ char *moved = th_strdup_printf("%s/work/tree", entry);
        if (r != 0 || !moved || rename(moved, tree) < 0) {
                th_log(TH_LOG_ERROR,
                       "cannot get the source '%s' (%s): see %s/fetch/source/stdout and stderr",
                       runner_safe(src),
                       dsc ? "dpkg-source -x" : "apt-get source from the release's deb-src",
                       runner_safe(runout));
                return AP_EXIT_OTHER;
        }
        (void)th_rm_rf(work);
        *ret = TAKE_PTR(tree);
        return 0;
}

/* SOURCE: a directory with debian/tests/control, a .dsc or a source
 * package name; its control files. */
static int load_source(ApCtx *c, const char *out)
{
        const char *src = c->args->source;
        struct stat st;
        SuiteDiags d = { 0 };
        int r;

        if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
                c->source_dir = realpath(src, NULL);
                if (!c->source_dir)
                        return -errno;
        } else {
                r = th_mkdir_p(out, 0755);
                if (r < 0)
                        return r;
                _cleanup_free_ char *abs_out = realpath(out, NULL);
                if (!abs_out)
                        return -errno;
                r = fetch_source(c, abs_out, &c->source_dir);
                if (r != 0)
                        return r;
        }
        _cleanup_free_ char *tc = th_strdup_printf("%s/debian/tests/control", c->source_dir);
        _cleanup_free_ char *dc = th_strdup_printf("%s/debian/control", c->source_dir);
        if (!tc || !dc)
                return -ENOMEM;
        if (check_in_tree(c->source_dir, "debian/control") < 0 ||
            check_in_tree(c->source_dir, "debian/tests/control") < 0)
                return badpkg("debian/control or debian/tests/control is a symlink");
        r = deb_control_load(dc, &c->deb, &d);
        if (r < 0) {
                print_diags(dc, r, &d);
                suite_diags_done(&d);
                return badpkg(r == -ENOENT ? "no debian/control" : "invalid debian/control");
        }
        suite_diags_done(&d);
        if (access(tc, F_OK) < 0) {
                printf("%-20s %s\n", "*", "SKIP no tests in this package");
                return AP_EXIT_NO_TESTS;
        }
        d = (SuiteDiags){ 0 };
        r = dep8_load(tc, &c->control, &d);
        if (r < 0) {
                print_diags(tc, r, &d);
                suite_diags_done(&d);
                return badpkg("invalid debian/tests/control");
        }
        suite_diags_done(&d);
        return 0;
}

static bool selected(const ApCtx *c, const char *name)
{
        if (!c->args->only)
                return true;
        for (char **p = c->args->only; *p; p++)
                if (th_streq(*p, name))
                        return true;
        return false;
}

static int set_verdict(ApTest *t, Verdict v, const char *reason)
{
        t->verdict = v;
        free(t->reason);
        t->reason = strdup(reason ? reason : "");
        return t->reason ? 0 : -ENOMEM;
}

/* The package a .deb file is, from its name NAME_VERSION_ARCH.deb. */
static char *deb_package(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        return strndup(base, strcspn(base, "_"));
}

/* --deb/--changes: every clause of the relation that names a package of a
 * local .deb (in any alternative) is dropped, and the .deb goes into the
 * test's `install:` instead, so apt installs the local file and resolves
 * its dependencies; t->key says both. */
static int use_local_debs(ApCtx *c, ApTest *t)
{
        _cleanup_free_ char *rel = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&rel, &len);
        _cleanup_free_ char *copy = strdup(t->depends);
        bool first = true;

        if (!f || !copy)
                return -ENOMEM;
        for (char *save = NULL, *cl = strtok_r(copy, ",", &save); cl;
             cl = strtok_r(NULL, ",", &save)) {
                bool local = false;
                cl += strspn(cl, " ");
                for (char **d = c->args->debs; d && *d; d++) {
                        _cleanup_free_ char *name = deb_package(*d);
                        if (!name)
                                return -ENOMEM;
                        for (const char *alt = cl; alt; alt = strchr(alt, '|')) {
                                alt += strspn(alt, "| ");
                                size_t n = strcspn(alt, " (:[<|");
                                if (n == strlen(name) && strncmp(alt, name, n) == 0) {
                                        local = true;
                                        bool have = false;
                                        for (char **i = t->install; i && *i; i++)
                                                have |= th_streq(*i, *d);
                                        if (!have && th_strv_push(&t->install, *d) < 0)
                                                return -ENOMEM;
                                }
                        }
                }
                if (local)
                        continue;
                fprintf(f, "%s%s", first ? "" : ", ", cl);
                first = false;
        }
        fclose(TAKE_PTR(f));
        if (!rel)
                return -ENOMEM;
        free(t->depends);
        t->depends = TAKE_PTR(rel);
        _cleanup_free_ char *debs = NULL;
        size_t dl = 0;
        _cleanup_fclose_ FILE *df = open_memstream(&debs, &dl);
        if (!df)
                return -ENOMEM;
        for (char **i = t->install; i && *i; i++)
                fprintf(df, "\n%s", *i);
        fclose(TAKE_PTR(df));
        t->key = th_strdup_printf("%s%s", t->depends, debs ? debs : "");
        return t->key ? 0 : -ENOMEM;
}

/* What is decided before anything runs: autopkgtest's own skips (unknown
 * restrictions and fields, Architecture:), the testbed capabilities harness
 * does not give, and each test's dependency set. */
static int plan(ApCtx *c)
{
        bool aborted = false;

        c->tests = calloc(c->control->n_tests + 1, sizeof(ApTest));
        c->groups = calloc(c->control->n_tests + 1, sizeof(ApGroup));
        if (!c->tests || !c->groups)
                return -ENOMEM;
        for (size_t i = 0; i < c->control->n_tests; i++) {
                const Dep8Test *dt = &c->control->tests[i];
                _cleanup_free_ char *why = NULL;
                ThError err = { 0 };
                int r;

                if (!selected(c, dt->name))
                        continue;
                ApTest *t = &c->tests[c->n_tests++];
                *t = (ApTest){ .t = dt, .group = SIZE_MAX };
                r = dep8_test_skip_reason(dt, c->arch, &why);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (set_verdict(t, V_SKIP, why) < 0)
                                return -ENOMEM;
                        continue;
                }
                const char *cap = NULL, *restr = NULL;
                if (dt->restrictions & DEP8_ISOLATION_MACHINE)
                        restr = "isolation-machine", cap = "isolation-machine";
                else if ((dt->restrictions & DEP8_NEEDS_INTERNET) &&
                         c->args->needs_internet == NI_SKIP)
                        restr = "needs-internet", cap = "has_internet";
                if (restr) {
                        _cleanup_free_ char *m = th_strdup_printf(
                                "Test restriction \"%s\" requires testbed capability \"%s\"", restr,
                                cap);
                        if (!m || set_verdict(t, V_SKIP, m) < 0)
                                return -ENOMEM;
                        continue;
                }
                /* Past a missing script autopkgtest runs nothing more. */
                if (aborted) {
                        t->verdict = V_NOT_REACHED;
                        continue;
                }
                if (dt->path) {
                        /* Looked up beneath the tree only: a symlink out of
                         * it is as missing as no file, so the result tells
                         * nothing of the host's paths. */
                        _cleanup_close_ int root =
                                open(c->source_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        _cleanup_close_ int fd =
                                root < 0 ? -EBADF : th_open_beneath(root, dt->path, O_PATH);
                        if (fd < 0) {
                                _cleanup_free_ char *m =
                                        th_strdup_printf("%s does not exist", dt->path);
                                if (!m || set_verdict(t, V_ABORT, m) < 0)
                                        return -ENOMEM;
                                aborted = true;
                                continue;
                        }
                }
                r = dep8_expand_depends(dt, c->deb, c->arch, &t->depends, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (set_verdict(t, V_BADPKG, err.msg) < 0)
                                return -ENOMEM;
                        continue;
                }
                /* build-needed: the tree is built in the test's container
                 * first, so its build dependencies join the test's (as
                 * autopkgtest installs them before building). */
                if (dt->restrictions & DEP8_BUILD_NEEDED) {
                        Dep8Test bt = *dt;
                        _cleanup_free_ char *bd = NULL;
                        bt.depends = (char *)"@builddeps@, fakeroot";
                        bt.restrictions = 0;
                        r = dep8_expand_depends(&bt, c->deb, c->arch, &bd, &err);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                if (set_verdict(t, V_BADPKG, err.msg) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                        if (!c->build_depends &&
                            !(c->build_depends = th_strdup_printf("%s, dpkg-dev", bd)))
                                return -ENOMEM;
                        char *d = th_strdup_printf("%s%s%s", t->depends, t->depends[0] ? ", " : "",
                                                   bd);
                        if (!d)
                                return -ENOMEM;
                        free(t->depends);
                        t->depends = d;
                }
                /* A booted test needs systemd as init in its layer. */
                if (dt->restrictions & (DEP8_ISOLATION_CONTAINER | DEP8_NEEDS_REBOOT)) {
                        char *d = th_strdup_printf("%s%ssystemd-sysv", t->depends,
                                                   t->depends[0] ? ", " : "");
                        if (!d)
                                return -ENOMEM;
                        free(t->depends);
                        t->depends = d;
                }
                /* autopkgtest's testbed always has dpkg-dev: it unpacks the
                 * source there with dpkg-source (and with it come xz-utils,
                 * patch, make, binutils), and tests rely on them. */
                {
                        char *d = th_strdup_printf("%s%sdpkg-dev", t->depends,
                                                   t->depends[0] ? ", " : "");
                        if (!d)
                                return -ENOMEM;
                        free(t->depends);
                        t->depends = d;
                }
                r = use_local_debs(c, t);
                if (r < 0)
                        return r;
                size_t g = 0;
                while (g < c->n_groups && !th_streq(c->groups[g].key, t->key))
                        g++;
                if (g == c->n_groups) {
                        ApGroup *gr = &c->groups[c->n_groups++];
                        gr->depends = strdup(t->depends);
                        gr->key = strdup(t->key);
                        if (!gr->key)
                                return -ENOMEM;
                        gr->name = g == 0 ? strdup(c->deb->source)
                                          : th_strdup_printf("%s-deps%zu", c->deb->source, g + 1);
                        if (!gr->depends || !gr->name)
                                return -ENOMEM;
                }
                t->group = g;
        }
        return 0;
}

/* `setup`, as root: the copy of the source tree, the normal user, and
 * autopkgtest's environment (adt_testbed.py run_test()) in a file the test
 * sources. Quiet unless it fails, so stderr is the test's own. */
static const char setup_script[] =
        "prep() {\n"
        "        mkdir -p -m 1777 " SCRATCH " &&\n"
        "        mkdir -p " SCRATCH "/build &&\n"
        "        cp -r --preserve=mode,timestamps,links \"${AP_SOURCE:-" SOURCE_TARGET
        "}\" " SCRATCH "/build/src &&\n"
        "        { id -u " NORMAL_USER " >/dev/null 2>&1 ||\n"
        "          useradd --create-home --shell /bin/bash " NORMAL_USER "; } &&\n"
        /* The container's name resolves, as on a testbed (sudo asks). */
        "        { grep -qw \"$(hostname)\" /etc/hosts 2>/dev/null ||\n"
        "          echo \"127.0.1.1 $(hostname)\" >>/etc/hosts; } &&\n"
        /* autopkgtest's copydown: the tree belongs to the normal user. */
        "        chown -R " NORMAL_USER " " SCRATCH "/build &&\n"
        "        cat >" SCRATCH "/env <<'EOF'\n"
        "set -e; export USER=`id -nu`; . /etc/profile >/dev/null 2>&1 || true\n"
        ". ~/.profile >/dev/null 2>&1 || true; buildtree=\"" SCRATCH "/build/src\"\n"
        "mkdir -p -m 1777 -- \"" ARTIFACTS "\"\n"
        "export AUTOPKGTEST_ARTIFACTS=\"" ARTIFACTS "\"\n"
        "export ADT_ARTIFACTS=\"$AUTOPKGTEST_ARTIFACTS\"\n"
        "mkdir -p -m 755 \"" SCRATCH "/autopkgtest_tmp\"\n"
        "export AUTOPKGTEST_TMP=\"" SCRATCH
        "/autopkgtest_tmp\"; export ADTTMP=\"$AUTOPKGTEST_TMP\"\n"
        "export DEBIAN_FRONTEND=noninteractive; export LANG=C.UTF-8\n"
        "export DEB_BUILD_OPTIONS=parallel=$(nproc)\n"
        "unset LANGUAGE LC_CTYPE LC_NUMERIC LC_TIME LC_COLLATE LC_MONETARY LC_MESSAGES LC_PAPER\n"
        "unset LC_NAME LC_ADDRESS LC_TELEPHONE LC_MEASUREMENT LC_IDENTIFICATION LC_ALL\n"
        "cd \"$buildtree\"\n"
        "EOF\n"
        "}\n"
        "if ! prep >" SCRATCH ".prep.log 2>&1; then\n"
        "        echo 'harness autopkgtest: preparing the testbed failed:' >&2\n"
        "        cat " SCRATCH ".prep.log >&2\n"
        "        exit 1\n"
        "fi\n";

/* build-needed: `dpkg-buildpackage -us -uc -b` then `dpkg-source
 * --before-build .` in the tree as the normal user, as autopkgtest's
 * build_source() does; its output goes to a log, shown when it fails. */
static const char build_script[] =
        "if ! su -s /bin/bash " NORMAL_USER " -c 'cd " SCRATCH "/build/src && "
        "DEB_BUILD_OPTIONS=\"parallel=$(nproc) $DEB_BUILD_OPTIONS\" "
        "dpkg-buildpackage -us -uc -b && dpkg-source --before-build .' "
        ">" SCRATCH ".build.log 2>&1; then\n"
        "        echo 'harness autopkgtest: building the tree (build-needed) failed:' >&2\n"
        "        tail -n 50 " SCRATCH ".build.log >&2\n"
        "        exit 1\n"
        "fi\n";

/* needs-sudo: autopkgtest's setup-commands/enable-sudo. */
static const char sudo_script[] =
        "usermod -a -G sudo " NORMAL_USER " &&\n"
        "install -d /etc/sudoers.d &&\n"
        "echo '%sudo ALL=(ALL:ALL) NOPASSWD: ALL' >/etc/sudoers.d/autopkgtest-needs-sudo &&\n"
        "chmod 440 /etc/sudoers.d/autopkgtest-needs-sudo ||\n"
        "        { echo 'harness autopkgtest: enabling sudo (needs-sudo) failed' >&2; exit 1; }\n";

/* needs-reboot, as autopkgtest's in-testbed reboot.sh and
 * reboot-prepare.sh and its cmd_reboot(): the helpers save the scratch
 * tree (source copy, AUTOPKGTEST_TMP) into /var/cache, which the reboot
 * keeps, and the mark beside it; `/tmp/autopkgtest-reboot` then reboots
 * and ends the test with SIGKILL, `-reboot-prepare` leaves the reboot to
 * the test. After the reboot, `setup` restores the tree instead of making
 * it; the run script hands the mark to the test. */
#define REBOOT_TAR  "/var/cache/autopkgtest-tmpdir.tar"
#define REBOOT_MARK "/var/cache/autopkgtest-reboot-mark"
#define SCRIPT_PID  "/tmp/autopkgtest_script_pid"

static const char restore_script[] =
        "if [ -e " REBOOT_TAR " ]; then\n"
        "        tar --warning=none --extract --absolute-names -f " REBOOT_TAR " &&\n"
        "        rm -f " REBOOT_TAR " ||\n"
        "        { echo 'harness autopkgtest: restoring the tree after the reboot failed' >&2;\n"
        "          exit 1; }\n"
        "else\n";

static const char reboot_script[] =
        "cat >/tmp/autopkgtest-reboot <<'EOF'\n"
        "#!/bin/sh\n"
        "set -e\n"
        "[ -n \"$1\" ] || { echo \"Usage: $0 <mark>\" >&2; exit 1; }\n"
        "tar --warning=none --create --absolute-names -f " REBOOT_TAR " " SCRATCH "\n"
        "echo \"$1\" >" REBOOT_MARK "\n"
        /* Find what to kill before the reboot starts: once it does,
         * systemd's SIGTERM may end a command substitution mid-write, and
         * its "Broken pipe" would land on the test's stderr. A Test-Command
         * of one command is exec'ed by bash: this helper is then the test
         * itself. */
        "read -r test_script_pid <" SCRIPT_PID "\n"
        "p=$$\n"
        "pp=\"$PPID\"\n"
        "while [ \"$pp\" -gt 1 ] && [ \"$pp\" -ne \"$test_script_pid\" ]; do\n"
        "    p=\"$pp\"\n"
        "    read -r _ _ _ pp _ <\"/proc/$p/stat\"\n"
        "done\n"
        "systemctl --no-block reboot\n"
        "kill -KILL \"$p\"\n"
        "EOF\n"
        "cat >/tmp/autopkgtest-reboot-prepare <<'EOF'\n"
        "#!/bin/sh\n"
        "set -e\n"
        "[ -n \"$1\" ] || { echo \"Usage: $0 <mark>\" >&2; exit 1; }\n"
        "tar --warning=none --create --absolute-names -f " REBOOT_TAR " " SCRATCH "\n"
        "echo \"$1\" >" REBOOT_MARK "\n"
        "EOF\n"
        "chmod 755 /tmp/autopkgtest-reboot /tmp/autopkgtest-reboot-prepare\n"
        "ln -fns /tmp/autopkgtest-reboot /sbin/autopkgtest-reboot\n";

static const char lists_script[] = "apt-get update >" SCRATCH ".lists.log 2>&1 || true\n";

/* `run`: the test as autopkgtest runs it, through su as the normal user
 * unless needs-root. */
static void write_run_script(FILE *f, const Dep8Test *t)
{
        bool root = t->restrictions & DEP8_NEEDS_ROOT;
        _cleanup_free_ char *script = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *s = open_memstream(&script, &len);

        if (!s)
                return;
        fputs(". " SCRATCH "/env; ", s);
        if (t->restrictions & DEP8_NEEDS_REBOOT)
                fputs("if [ -s " SCRATCH "/reboot-mark ]; then "
                      "export AUTOPKGTEST_REBOOT_MARK=\"$(cat " SCRATCH "/reboot-mark)\"; "
                      "export ADT_REBOOT_MARK=\"$AUTOPKGTEST_REBOOT_MARK\"; fi; ",
                      s);
        if (root)
                fputs("export AUTOPKGTEST_NORMAL_USER=" NORMAL_USER "; "
                      "export ADT_NORMAL_USER=" NORMAL_USER "; ",
                      s);
        /* needs-reboot: su's own words when a reboot ends the test
         * ("Killed", "Session terminated") are not the test's stderr (in
         * autopkgtest they never reach the test's log either). */
        if (t->restrictions & DEP8_NEEDS_REBOOT)
                fputs("exec 2>&3 3>&-; ", s);
        if (t->path) {
                fprintf(s, "chmod +x " SCRATCH "/build/src/%s; exec " SCRATCH "/build/src/%s",
                        t->path, t->path);
        } else {
                fputs("exec bash -ec ", s);
                runner_shell_quote(s, t->command);
        }
        fclose(TAKE_PTR(s));
        if (!script)
                return;
        /* needs-reboot: the mark of the reboot, if one brought us here,
         * and the pid /tmp/autopkgtest-reboot ends the test below. */
        if (t->restrictions & DEP8_NEEDS_REBOOT)
                fputs("rm -f " SCRATCH "/reboot-mark\n"
                      "if [ -e " REBOOT_MARK " ]; then\n"
                      "        mv " REBOOT_MARK " " SCRATCH "/reboot-mark\n"
                      "        chmod 644 " SCRATCH "/reboot-mark\n"
                      "fi\n"
                      "echo $$ >" SCRIPT_PID "\n"
                      "exec 3>&2\n",
                      f);
        fprintf(f, "exec su -s /bin/bash %s -c ", root ? "root" : NORMAL_USER);
        runner_shell_quote(f, script);
        fputs(t->restrictions & DEP8_NEEDS_REBOOT ? " 2>/dev/null\n" : "\n", f);
}

/* One suite per dependency set. */
static int generate(ApCtx *c, size_t g, char **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&text, &len);
        const ApGroup *gr = &c->groups[g];

        if (!f)
                return -ENOMEM;
        /* escaped: a raw line break would end the comment */
        fprintf(f, "# harness autopkgtest: the DEP-8 tests of %s with this dependency set\n",
                runner_safe(c->deb->source));
        fputs("name: ", f);
        runner_yaml_quote(f, gr->name);
        fputs("\nrootfs: ", f);
        runner_yaml_quote(f, c->rootfs);
        fputs("\ndefaults:\n", f);
        if (gr->depends[0]) {
                fputs("  packages: [", f);
                runner_yaml_quote(f, gr->depends);
                fputs("]\n", f);
        }
        fprintf(f, "  boot: false\n  timeout: %s\n  fixtures:\n    - {source: ",
                c->args->timeout ? c->args->timeout : TEST_TIMEOUT);
        runner_yaml_quote(f, c->source_dir);
        fputs(", target: " SOURCE_TARGET "}\n"
              "  artifacts: [" ARTIFACTS "]\n"
              "  setup: ",
              f);
        runner_yaml_quote(f, setup_script);
        fputs("\ntests:\n", f);
        for (size_t i = 0; i < c->n_tests; i++) {
                const ApTest *t = &c->tests[i];
                if (t->group != g)
                        continue;
                _cleanup_free_ char *run = NULL;
                size_t rl = 0;
                _cleanup_fclose_ FILE *rf = open_memstream(&run, &rl);
                if (!rf)
                        return -ENOMEM;
                write_run_script(rf, t->t);
                fclose(TAKE_PTR(rf));
                if (!run)
                        return -ENOMEM;
                fputs("  - name: ", f);
                runner_yaml_quote(f, t->t->name);
                fputs("\n    run: ", f);
                runner_yaml_quote(f, run);
                fputc('\n', f);
                if (t->install) {
                        fputs("    install: [", f);
                        /* copied next to the suite (copy_debs) */
                        for (char **d = t->install; *d; d++) {
                                _cleanup_free_ char *rel =
                                        th_strdup_printf("debs/%s", strrchr(*d, '/') + 1);
                                if (!rel)
                                        return -ENOMEM;
                                fputs(d == t->install ? "" : ", ", f);
                                runner_yaml_quote(f, rel);
                        }
                        fputs("]\n", f);
                }
                /* A test's own setup: the shared one (build-needed: from
                 * the tree built once, build_tree()), then the archive's
                 * package lists for needs-internet (autopkgtest's testbed
                 * has them; the layer keeps none), sudo for needs-sudo. */
                uint32_t rs = t->t->restrictions;
                if (rs & DEP8_BUILD_NEEDED) {
                        fputs("    fixtures:\n      - {source: ", f);
                        runner_yaml_quote(f, c->built_tree ? c->built_tree
                                                           : "(built before the tests run)");
                        fputs(", target: " BUILT_TARGET "}\n", f);
                }
                if (rs & (DEP8_NEEDS_INTERNET | DEP8_NEEDS_SUDO | DEP8_BUILD_NEEDED |
                          DEP8_NEEDS_REBOOT)) {
                        _cleanup_free_ char *own = th_strdup_printf(
                                "%s%s%s%s%s%s%s", rs & DEP8_NEEDS_REBOOT ? restore_script : "",
                                rs & DEP8_BUILD_NEEDED ? "AP_SOURCE=" BUILT_TARGET "\n" : "",
                                setup_script, rs & DEP8_NEEDS_INTERNET ? lists_script : "",
                                rs & DEP8_NEEDS_SUDO ? sudo_script : "",
                                rs & DEP8_NEEDS_REBOOT ? "fi\n" : "",
                                rs & DEP8_NEEDS_REBOOT ? reboot_script : "");
                        if (!own)
                                return -ENOMEM;
                        fputs("    setup: ", f);
                        runner_yaml_quote(f, own);
                        fputc('\n', f);
                }
                if (t->t->restrictions & (DEP8_ISOLATION_CONTAINER | DEP8_NEEDS_REBOOT))
                        fputs("    boot: true\n", f);
                if (t->t->restrictions & DEP8_NEEDS_REBOOT)
                        fprintf(f, "    reboots: %d\n", AP_MAX_REBOOTS);
                if (t->t->restrictions & DEP8_NEEDS_INTERNET)
                        fputs("    network: host\n", f);
                fprintf(f, "    expect: {stderr-empty: %s%s}\n",
                        t->t->restrictions & DEP8_ALLOW_STDERR ? "false" : "true",
                        t->t->restrictions & DEP8_SKIPPABLE ? ", skip-exit: 77" : "");
        }
        fclose(TAKE_PTR(f));
        if (!text)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

/* Whether a layer was built in this run (fixtures says so in its progress
 * lines), to tell a reused cached layer from a rebuilt one. */
static void layer_progress(const char *line, void *userdata)
{
        bool *built = userdata;
        if (built && strncmp(line, "built the package layer", 23) == 0)
                *built = true;
        th_log(TH_LOG_INFO, "%s", line);
}

/* --deb/--changes: the files are copied beside the generated suites
 * (`install:` takes local files within the suite's directory). */
static int copy_debs(ApCtx *c, const char *suites_dir)
{
        _cleanup_free_ char *dir = th_strdup_printf("%s/debs", suites_dir);
        int r;

        if (!dir)
                return -ENOMEM;
        if (!c->args->debs)
                return 0;
        r = th_mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        for (char **d = c->args->debs; *d; d++) {
                _cleanup_free_ char *to = th_strdup_printf("%s%s", dir, strrchr(*d, '/'));
                _cleanup_close_ int in = open(*d, O_RDONLY | O_CLOEXEC);
                if (!to)
                        return -ENOMEM;
                if (in < 0)
                        return -errno;
                (void)unlink(to);
                _cleanup_close_ int out =
                        open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (out < 0)
                        return -errno;
                char buf[65536];
                for (ssize_t n; (n = read(in, buf, sizeof(buf))) != 0;) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        r = th_write_all(out, buf, (size_t)n);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The layer's entry in the store, from its directory ".../NAME/upper". */
static char *layer_name(const char *layer)
{
        _cleanup_free_ char *dir = strdup(layer);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (!slash)
                return NULL;
        *slash = '\0';
        slash = strrchr(dir, '/');
        return strdup(slash ? slash + 1 : dir);
}

/* One suite's tree and package layer; with --refresh a cached layer is
 * removed and built again (the archive may have moved on). Says whether
 * the layer was reused or built. */
static int prepare_layer(ApCtx *c, const Suite *s, const char *suite_name, FixtureRootfs *rf,
                         ThError *err)
{
        bool built = false;
        int r = fixture_rootfs_prepare(s, layer_progress, &built, rf, err);
        if (r < 0 || !rf->layers || !rf->layers[0] || built)
                return r;
        _cleanup_free_ char *name = layer_name(rf->layers[0]);
        if (!name)
                return th_error_set(err, ENOMEM, "out of memory");
        if (!c->args->refresh) {
                th_log(TH_LOG_INFO,
                       "suite '%s': reusing the cached package layer %s (--refresh "
                       "builds it again)",
                       suite_name, name);
                return 0;
        }
        th_log(TH_LOG_INFO, "suite '%s': --refresh: building the package layer %s again",
               suite_name, name);
        r = fixture_layer_remove_name(name, err);
        if (r < 0 && r != -ENOENT)
                return r;
        fixture_rootfs_done(rf);
        return fixture_rootfs_prepare(s, layer_progress, &built, rf, err);
}

/* The package layer of each suite, built (or found) before anything runs,
 * and the local repository of its --deb files: a set apt cannot install is
 * the tests' verdict (badpkg, or a skip with skip-not-installable), not the
 * run's error. */
static int prepare_layers(ApCtx *c)
{
        for (size_t g = 0; g < c->n_groups; g++) {
                ApGroup *gr = &c->groups[g];
                Suite *s = NULL;
                SuiteDiags d = { 0 };
                FixtureRootfs rf = { 0 };
                ThError err = { 0 };
                int r = suite_load(gr->path, &s, &d);
                if (r < 0) {
                        runner_print_suite_diags(gr->path, r, &d);
                        suite_diags_done(&d);
                        th_log(TH_LOG_ERROR, "the generated suite '%s' is invalid",
                               runner_safe(gr->path));
                        return AP_EXIT_OTHER;
                }
                suite_diags_done(&d);
                r = prepare_layer(c, s, gr->name, &rf, &err);
                if (r >= 0) {
                        _cleanup_free_ char *repo = NULL;
                        /* apt resolves the local files' dependencies here,
                         * before any test runs (harness run then finds the
                         * repository cached). */
                        r = runner_install_repo(s, &rf, s->tests, NULL, true,
                                                c->args->refresh ? 0 : RUNNER_INSTALL_MAX_AGE_USEC,
                                                layer_progress, &repo, &err);
                }
                fixture_rootfs_done(&rf);
                suite_free(s);
                if (r >= 0)
                        continue;
                if (r != -EIO) {
                        th_log(TH_LOG_ERROR, "testbed failure: %s",
                               err.msg[0] ? err.msg : strerror(-r));
                        return AP_EXIT_TESTBED;
                }
                gr->uninstallable = true;
                gr->install_error = strdup(err.msg);
                th_log(TH_LOG_WARNING, "dependencies of suite '%s' cannot be installed: %s",
                       runner_safe(gr->name), runner_safe(err.msg));
        }
        return 0;
}

/* ---- build-needed: the tree built once -------------------------------- */

#define HASH_MAX_DEPTH 64

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The content of the tree below dirfd into h: every entry's path, type,
 * mode, and a file's bytes or a symlink's target, in name order; nothing
 * is followed. */
static int hash_dir(ThSha256 *h, int dirfd, const char *rel, unsigned depth)
{
        _cleanup_strv_ char **names = NULL;
        size_t n = 0;

        if (depth > HASH_MAX_DEPTH)
                return -ELOOP;
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (th_streq(de->d_name, ".") || th_streq(de->d_name, ".."))
                        continue;
                if (th_strv_push(&names, de->d_name) < 0)
                        return -ENOMEM;
                n++;
        }
        if (n)
                qsort(names, n, sizeof(*names), name_cmp);
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                char head[64];
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                th_sha256_update(h, rel, strlen(rel));
                th_sha256_update(h, names[i], strlen(names[i]) + 1);
                snprintf(head, sizeof(head), "%o %lld", (unsigned)st.st_mode,
                         (long long)st.st_size);
                th_sha256_update(h, head, strlen(head) + 1);
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t l = readlinkat(dirfd, names[i], target, sizeof(target));
                        if (l < 0)
                                return -errno;
                        th_sha256_update(h, target, (size_t)l);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int f =
                                openat(dirfd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        char buf[65536];
                        if (f < 0)
                                return -errno;
                        for (ssize_t l; (l = read(f, buf, sizeof(buf))) != 0;) {
                                if (l < 0 && errno == EINTR)
                                        continue;
                                if (l < 0)
                                        return -errno;
                                th_sha256_update(h, buf, (size_t)l);
                        }
                } else if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = openat(
                                dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_free_ char *subrel = th_strdup_printf("%s%s/", rel, names[i]);
                        if (sub < 0)
                                return -errno;
                        if (!subrel)
                                return -ENOMEM;
                        int r = hash_dir(h, sub, subrel, depth + 1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* What a killed run left half-built in the store (.build-PID-*, its pid
 * gone) is removed by the next one. */
static void sweep_builds(const char *store)
{
        _cleanup_closedir_ DIR *d = opendir(store);
        for (struct dirent *de; d && (de = readdir(d));) {
                int pid = 0;
                if (sscanf(de->d_name, ".build-%d-", &pid) != 1 || pid <= 0 || kill(pid, 0) == 0 ||
                    errno != ESRCH)
                        continue;
                _cleanup_free_ char *p = th_strdup_printf("%s/%s", store, de->d_name);
                if (p)
                        (void)th_rm_rf(p);
        }
}

/* Marks the build-needed tests that would run (skip-not-installable: a
 * skip; else badpkg), as for a layer apt cannot install. */
static int build_deps_unsatisfiable(ApCtx *c, const char *why)
{
        for (size_t i = 0; i < c->n_tests; i++) {
                ApTest *t = &c->tests[i];
                if (t->verdict != V_NONE || !(t->t->restrictions & DEP8_BUILD_NEEDED))
                        continue;
                t->group = SIZE_MAX;
                if (t->t->restrictions & DEP8_SKIP_NOT_INSTALLABLE) {
                        if (set_verdict(t, V_SKIP,
                                        "installation fails and skip-not-installable set") < 0)
                                return -ENOMEM;
                        continue;
                }
                _cleanup_free_ char *m =
                        th_strdup_printf("Test dependencies are unsatisfiable: %s", why);
                if (!m || set_verdict(t, V_BADPKG, m) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* build-needed, as autopkgtest: the tree is built once (build
 * dependencies installed, `dpkg-buildpackage -us -uc -b` as the normal
 * user, then `dpkg-source --before-build .`) before any test runs, and
 * every build-needed test starts from the built tree. The built tree is
 * cached in $HARNESS_CACHE/autopkgtest-builds, keyed by the SHA-256 of the
 * source tree's content and the build's package layer (its tree and the
 * build dependencies): reused while both are the same, built again when
 * either changes or with --refresh. A failed build is autopkgtest's
 * badpkg, and the run stops there. */
static int build_tree(ApCtx *c, const char *suites_dir)
{
        bool needed = false;
        for (size_t i = 0; i < c->n_tests; i++)
                needed |= c->tests[i].verdict == V_NONE &&
                          (c->tests[i].t->restrictions & DEP8_BUILD_NEEDED);
        if (!needed || !c->build_depends)
                return 0;

        _cleanup_free_ char *name = th_strdup_printf("%s-build", c->deb->source);
        _cleanup_free_ char *store = NULL;
        _cleanup_free_ char *work = NULL, *text = NULL, *path = NULL;
        size_t len = 0;
        ThError err = { 0 };
        int r;

        if (!name)
                return -ENOMEM;
        r = fixture_store_dir("autopkgtest-builds", &store, &err);
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return r == -ENOMEM ? r : AP_EXIT_OTHER;
        }
        sweep_builds(store);
        work = th_strdup_printf("%s/.build-%d-XXXXXX", store, (int)getpid());
        if (!work)
                return -ENOMEM;
        if (!mkdtemp(work) || chmod(work, 0755) < 0) {
                th_log(TH_LOG_ERROR, "cannot create a directory in '%s': %m", store);
                return AP_EXIT_OTHER;
        }
        _cleanup_fclose_ FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# harness autopkgtest: the tree of %s built once for its build-needed tests\n",
                c->deb->source);
        fputs("name: ", f);
        runner_yaml_quote(f, name);
        fputs("\nrootfs: ", f);
        runner_yaml_quote(f, c->rootfs);
        fputs("\ndefaults:\n  packages: [", f);
        runner_yaml_quote(f, c->build_depends);
        fprintf(f, "]\n  boot: false\n  timeout: %s\n  fixtures:\n    - {source: ",
                c->args->timeout ? c->args->timeout : TEST_TIMEOUT);
        runner_yaml_quote(f, c->source_dir);
        fputs(", target: " SOURCE_TARGET "}\n    - {source: ", f);
        runner_yaml_quote(f, work);
        fputs(", target: " BUILT_TARGET ", writable: true}\n  setup: ", f);
        runner_yaml_quote(f, setup_script);
        fputs("\ntests:\n  - name: build\n    run: ", f);
        _cleanup_free_ char *run = th_strdup_printf("%scp -a --no-preserve=ownership " SCRATCH
                                                    "/build/src " BUILT_TARGET "/tree &&\n"
                                                    "chmod -R ug-s " BUILT_TARGET "/tree\n",
                                                    build_script);
        if (!run)
                return -ENOMEM;
        runner_yaml_quote(f, run);
        fputc('\n', f);
        fclose(TAKE_PTR(f));
        if (!text)
                return -ENOMEM;
        r = runner_gen_write(suites_dir, name, text, &path, &err);
        if (r < 0) {
                (void)th_rm_rf(work);
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return AP_EXIT_OTHER;
        }

        /* The build's layer, then the key: the tree's content and that layer. */
        Suite *s = NULL;
        SuiteDiags d = { 0 };
        FixtureRootfs rf = { 0 };
        r = suite_load(path, &s, &d);
        suite_diags_done(&d);
        if (r >= 0)
                r = prepare_layer(c, s, name, &rf, &err);
        suite_free(s);
        _cleanup_free_ char *layer =
                r >= 0 && rf.layers && rf.layers[0] ? layer_name(rf.layers[0]) : NULL;
        fixture_rootfs_done(&rf);
        if (r == -EIO) {
                (void)th_rm_rf(work);
                th_log(TH_LOG_WARNING, "the build dependencies cannot be installed: %s", err.msg);
                return build_deps_unsatisfiable(c, err.msg) < 0 ? -ENOMEM : 0;
        }
        if (r < 0 || !layer) {
                (void)th_rm_rf(work);
                th_log(TH_LOG_ERROR, "testbed failure: %s", err.msg[0] ? err.msg : strerror(-r));
                return AP_EXIT_TESTBED;
        }
        ThSha256 h;
        char tree_hash[65], key[65];
        th_sha256_init(&h);
        _cleanup_close_ int root = open(c->source_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = root < 0 ? -errno : hash_dir(&h, root, "", 0);
        if (r < 0) {
                (void)th_rm_rf(work);
                th_log(TH_LOG_ERROR, "cannot read the source tree '%s': %s", c->source_dir,
                       strerror(-r));
                return AP_EXIT_OTHER;
        }
        th_sha256_final_hex(&h, tree_hash);
        th_sha256_init(&h);
        _cleanup_free_ char *keytext =
                th_strdup_printf("source %s\nlayer %s\narch %s\n", tree_hash, layer, c->arch);
        if (!keytext)
                return -ENOMEM;
        th_sha256_update(&h, keytext, strlen(keytext));
        th_sha256_final_hex(&h, key);
        _cleanup_free_ char *entry = th_strdup_printf("%s/%.32s", store, key);
        _cleanup_free_ char *tree = th_strdup_printf("%s/%.32s/tree", store, key);
        if (!entry || !tree)
                return -ENOMEM;
        struct stat st;
        if (!c->args->refresh && lstat(tree, &st) == 0 && S_ISDIR(st.st_mode)) {
                (void)th_rm_rf(work);
                th_log(TH_LOG_INFO,
                       "build-needed: reusing the built tree %s (the same source content and "
                       "build layer %s; --refresh builds it again)",
                       tree, layer);
                c->built_tree = TAKE_PTR(tree);
                return 0;
        }
        th_log(TH_LOG_INFO, "build-needed: building the tree once for the build-needed tests");
        char *args[] = { (char *)"-o", c->output_dir, (char *)"--allow-outside-fixtures",
                         c->args->allow_privileged ? (char *)"--allow-privileged" : NULL, NULL };
        char *suites[] = { path, NULL };
        r = runner_gen_run(args, suites);
        _cleanup_free_ char *built = th_strdup_printf("%s/tree", work);
        if (!built)
                return -ENOMEM;
        if (r != 0 || lstat(built, &st) < 0 || !S_ISDIR(st.st_mode)) {
                (void)th_rm_rf(work);
                _cleanup_free_ char *dir = NULL;
                (void)runner_gen_test_dir(c->output_dir, name, "build", &dir);
                _cleanup_free_ char *m =
                        th_strdup_printf("building the tree (build-needed) failed: see %s/stderr",
                                         dir ? dir : c->output_dir);
                if (!m)
                        return -ENOMEM;
                /* As autopkgtest's print_exception(): the run ends here. */
                _cleanup_free_ char *sp = th_strdup_printf("%s/summary", c->output_dir);
                _cleanup_fclose_ FILE *sum = sp ? fopen(sp, "we") : NULL;
                if (sum)
                        fprintf(sum, "blame: %s\nbadpkg: %s\nerroneous package: %s\n",
                                runner_safe(blamed), runner_safe(m), runner_safe(m));
                printf("\n");
                return badpkg(m);
        }
        /* Published whole or not at all; a run that built the same key
         * meanwhile wins, and ours goes. */
        if (c->args->refresh)
                (void)th_rm_rf(entry);
        (void)mkdir(entry, 0755);
        if (rename(built, tree) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
                th_log(TH_LOG_ERROR, "cannot store the built tree in '%s': %m", tree);
                (void)th_rm_rf(work);
                return AP_EXIT_OTHER;
        }
        (void)th_rm_rf(work);
        th_log(TH_LOG_INFO, "build-needed: built the tree into %s", tree);
        c->built_tree = TAKE_PTR(tree);
        return 0;
}

/* autopkgtest's verdict from harness's result of a test that ran. */
static int verdict_of(ApCtx *c, ApTest *t)
{
        RunnerGenResult res = { 0 };
        ThError err = { 0 };
        uint32_t rs = t->t->restrictions;
        int r = runner_gen_test_dir(c->output_dir, c->groups[t->group].name, t->t->name, &t->dir);

        if (r < 0)
                return r;
        r = runner_gen_result_read(t->dir, &res, &err);
        if (r < 0) {
                r = set_verdict(t, V_FAIL, "testbed failure: no result");
                return r;
        }
        t->time_sec = res.time_sec;
        const char *type = res.type ? res.type : "", *msg = res.message ? res.message : "";
        _cleanup_free_ char *why = NULL;
        Verdict v;

        if (res.status == REPORT_PASS) {
                v = V_PASS;
        } else if (res.status == REPORT_SKIP && th_streq(type, "skip-exit")) {
                v = V_SKIP;
                why = strdup("exit status 77 and marked as skippable");
        } else if (th_streq(type, "timeout")) {
                v = V_FAIL;
                why = strdup("timed out");
        } else if (th_streq(type, "exit-status")) {
                int code = 0;
                (void)sscanf(msg, "exit status %d", &code);
                v = V_FAIL;
                why = th_strdup_printf("non-zero exit status %d", code);
        } else if (th_streq(type, "setup")) {
                v = V_FAIL;
                why = th_strdup_printf("testbed failure: preparing the test failed (%s/stderr)",
                                       t->dir);
        } else if (th_streq(type, "stderr")) {
                v = V_FAIL;
                why = strdup(msg); /* "stderr: FIRST LINE" */
        } else if (th_streq(type, "signal")) {
                int sig = 0;
                (void)sscanf(msg, "killed by signal %d", &sig);
                v = V_FAIL;
                why = th_strdup_printf("non-zero exit status %d", 128 + sig);
        } else {
                v = V_FAIL;
                why = th_strdup_printf("%s", msg);
        }
        runner_gen_result_done(&res);
        if (!why && v != V_PASS)
                return -ENOMEM;
        if (v == V_FAIL && (rs & DEP8_NEEDS_INTERNET) && c->args->needs_internet == NI_TRY) {
                v = V_SKIP;
                free(why);
                why = strdup("Failed, but test has needs-internet and that's not guaranteed");
        } else if (v == V_FAIL && (rs & DEP8_FLAKY))
                v = V_FLAKY;
        if (v == V_PASS && (rs & DEP8_SUPERFICIAL))
                return set_verdict(t, V_PASS, "(superficial)");
        return set_verdict(t, v, why);
}

static const char *verdict_word(Verdict v)
{
        switch (v) {
        case V_PASS:
                return "PASS";
        case V_FAIL:
        case V_BADPKG:
                return "FAIL";
        case V_SKIP:
                return "SKIP";
        case V_FLAKY:
                return "FLAKY";
        case V_ABORT:
                return "FAIL";
        case V_NONE:
        case V_NOT_REACHED:
                break;
        }
        return "?";
}

/* autopkgtest's run_tests(): the bits of the exit status, one summary line
 * a test (also into OUTPUT/summary). */
static int summarize(ApCtx *c)
{
        _cleanup_free_ char *path = th_strdup_printf("%s/summary", c->output_dir);
        _cleanup_fclose_ FILE *sum = path ? fopen(path, "we") : NULL;
        bool any_positive = false;
        int code = 0;

        if (!sum)
                th_log(TH_LOG_WARNING, "cannot write '%s': %m", path ? path : "summary");
        printf("\n");
        /* autopkgtest reports the tests it skips while reading the control
         * file first, then the others in order. */
        for (size_t k = 0; k < 2 * c->n_tests; k++) {
                ApTest *t = &c->tests[k % c->n_tests];
                bool early = t->group == SIZE_MAX && t->verdict == V_SKIP;
                if (early != (k < c->n_tests))
                        continue;
                char line[4096];
                if (t->verdict == V_NOT_REACHED)
                        continue;
                if (t->verdict == V_ABORT) {
                        /* print_exception(): the run ends with 12 alone. */
                        printf("blame: %s\nbadpkg: %s\n", runner_safe(blamed),
                               runner_safe(t->reason));
                        if (sum)
                                fprintf(sum, "blame: %s\nbadpkg: %s\nerroneous package: %s\n",
                                        runner_safe(blamed), runner_safe(t->reason),
                                        runner_safe(t->reason));
                        th_log(TH_LOG_ERROR, "erroneous package: %s", runner_safe(t->reason));
                        return AP_EXIT_BADPKG;
                }
                if (t->verdict == V_BADPKG)
                        snprintf(line, sizeof(line), "%-20s FAIL badpkg", t->t->name);
                else if (t->reason && t->reason[0])
                        snprintf(line, sizeof(line), "%-20s %s %s", t->t->name,
                                 verdict_word(t->verdict), t->reason);
                else
                        snprintf(line, sizeof(line), "%-20s %s", t->t->name,
                                 verdict_word(t->verdict));
                printf("%s\n", runner_safe(line));
                /* escaped as on stdout: CI jobs print this file */
                if (sum)
                        fprintf(sum, "%s\n", runner_safe(line));
                if (t->verdict == V_BADPKG) {
                        printf("blame: %s\nbadpkg: %s\n", runner_safe(blamed),
                               runner_safe(t->reason));
                        if (sum)
                                fprintf(sum, "blame: %s\nbadpkg: %s\n", runner_safe(blamed),
                                        runner_safe(t->reason));
                        code |= AP_EXIT_BADPKG;
                } else if (t->verdict == V_SKIP || t->verdict == V_FLAKY)
                        code |= AP_EXIT_SKIPPED;
                else if (t->verdict == V_FAIL)
                        code |= AP_EXIT_FAILED;
                else if (t->verdict == V_PASS && !(t->t->restrictions & DEP8_SUPERFICIAL))
                        any_positive = true;
        }
        if (c->n_tests == 0) {
                printf("%-20s %s\n", "*", "SKIP no tests in this package");
                if (sum)
                        fprintf(sum, "%-20s %s\n", "*", "SKIP no tests in this package");
                return AP_EXIT_NO_TESTS;
        }
        if ((code == 0 || code == AP_EXIT_SKIPPED) && !any_positive)
                code = AP_EXIT_NO_TESTS;
        return code;
}

/* JUnit/TAP/JSON with autopkgtest's verdicts: one case a DEP-8 test,
 * classname the source package. */
static int write_reports(ApCtx *c)
{
        const ApArgs *a = c->args;
        ReportRun run = { 0 };
        ReportOptions opts = { 0 };
        int ret = 0;

        if (!a->junit && !a->tap && !a->json)
                return 0;
        run.suites = calloc(1, sizeof(ReportSuite));
        if (!run.suites)
                return -ENOMEM;
        run.n_suites = 1;
        ReportSuite *rs = &run.suites[0];
        rs->name = strdup(c->deb->source);
        rs->file = th_strdup_printf("%s/debian/tests/control", c->source_dir);
        rs->hostname = strdup("localhost");
        rs->timestamp_usec = th_realtime_usec();
        rs->cases = calloc(c->n_tests + 1, sizeof(ReportCase));
        if (!rs->name || !rs->file || !rs->hostname || !rs->cases) {
                report_run_done(&run);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_tests; i++) {
                const ApTest *t = &c->tests[i];
                if (t->verdict == V_NOT_REACHED)
                        continue;
                ReportCase *rc = &rs->cases[rs->n_cases++];
                rc->name = strdup(t->t->name);
                rc->classname = strdup(c->deb->source);
                rc->file = strdup(rs->file);
                rc->line = t->t->line;
                rc->time_sec = t->time_sec;
                switch (t->verdict) {
                case V_PASS:
                        rc->status = REPORT_PASS;
                        break;
                case V_SKIP:
                        rc->status = REPORT_SKIP;
                        rc->message = strdup(t->reason);
                        break;
                case V_FLAKY: /* reported, not failing the run, as autopkgtest */
                        rc->status = REPORT_SKIP;
                        rc->message = th_strdup_printf("FLAKY %s", t->reason);
                        break;
                case V_NONE:
                case V_FAIL:
                case V_BADPKG:
                case V_ABORT:
                case V_NOT_REACHED:
                        rc->status = REPORT_FAIL;
                        rc->type = strdup(t->verdict == V_BADPKG || t->verdict == V_ABORT
                                                  ? "badpkg"
                                                  : "autopkgtest");
                        rc->message = strdup(t->reason);
                        break;
                }
                if (t->dir) {
                        rc->stdout_path = th_strdup_printf("%s/stdout", t->dir);
                        rc->stderr_path = th_strdup_printf("%s/stderr", t->dir);
                }
        }
        struct {
                const char *path;
                int (*write)(const ReportRun *, const ReportOptions *, const char *, ThError *);
        } writers[] = {
                { a->junit, report_write_junit },
                { a->tap, report_write_tap },
                { a->json, report_write_json },
        };
        for (size_t i = 0; i < ELEMENTSOF(writers); i++) {
                ThError err = { 0 };
                if (!writers[i].path)
                        continue;
                int r = writers[i].write(&run, &opts, writers[i].path, &err);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "cannot write report '%s': %s", writers[i].path,
                               err.msg[0] ? err.msg : strerror(-r));
                        ret = r;
                }
        }
        report_run_done(&run);
        return ret;
}

/* Twice the CPUs: DEP-8 tests mostly wait (for a daemon, a timeout, a
 * boot, cron's minute), and a slot per CPU leaves the CPUs idle then
 * (glib2.0's 15 tests: 66 s at -j 2, 39 s, its longest test, at -j 4 on 2
 * CPUs); a test that compiles gets its CPU share either way. */
static unsigned default_jobs(void)
{
        cpu_set_t set;
        long n = 0;

        if (sched_getaffinity(0, sizeof(set), &set) == 0)
                n = CPU_COUNT(&set);
        if (n <= 0)
                n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 && n < 1024 ? 2 * (unsigned)n : 2;
}

/* ---- the tests' times, for starting the longest first ----------------- */

/* Each test's time of the last run that ran it, kept per tree and source
 * package (CTRF JSON: suite the source package, name the test) in
 * $HARNESS_CACHE/autopkgtest-times/TREE/SOURCE.json. A missing or
 * unreadable file only costs the order. */
static int load_times(ApCtx *c)
{
        _cleanup_free_ char *store = NULL;
        ThError err = { 0 };
        char label[128], src[128];

        if (fixture_store_dir("autopkgtest-times", &store, &err) < 0)
                return 0;
        if (runner_path_component(c->rootfs, label, sizeof(label)) < 0 ||
            runner_path_component(c->deb->source, src, sizeof(src)) < 0)
                return -ENOMEM;
        c->times_path = th_strdup_printf("%s/%s/%s.json", store, label, src);
        if (!c->times_path)
                return -ENOMEM;
        if (access(c->times_path, F_OK) < 0)
                return 0;
        if (runner_durations_load(c->times_path, &c->times, &err) < 0) {
                th_log(TH_LOG_WARNING, "ignoring the tests' times in '%s': %s", c->times_path,
                       err.msg);
                runner_durations_done(&c->times);
        }
        return 0;
}

static void times_entry(FILE *f, bool *first, const char *suite, const char *name, double sec)
{
        fputs(*first ? "\n" : ",\n", f);
        *first = false;
        fputs("{\"suite\": ", f);
        runner_json_string(f, suite);
        fputs(", \"name\": ", f);
        runner_json_string(f, name);
        fprintf(f, ", \"duration\": %.0f}", sec * 1000);
}

/* The recorded times as harness run's --durations: "GROUP/TEST", the
 * groups of this run. *ret: NULL when no test has a time. */
static int write_run_times(ApCtx *c, const char *suites_dir, char **ret)
{
        _cleanup_free_ char *text = NULL, *path = NULL, *id = NULL;
        size_t len = 0;
        bool first = true;
        double sec;
        ThError err = { 0 };

        *ret = NULL;
        if (c->times.n == 0)
                return 0;
        _cleanup_fclose_ FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("{\"results\": {\"tests\": [", f);
        for (size_t i = 0; i < c->n_tests; i++) {
                const ApTest *t = &c->tests[i];
                if (t->group == SIZE_MAX)
                        continue;
                free(id);
                id = th_strdup_printf("%s/%s", c->deb->source, t->t->name);
                if (!id)
                        return -ENOMEM;
                if (runner_durations_find(&c->times, id, &sec))
                        times_entry(f, &first, c->groups[t->group].name, t->t->name, sec);
        }
        fputs("\n]}}\n", f);
        fclose(TAKE_PTR(f));
        if (!text)
                return -ENOMEM;
        if (first)
                return 0;
        path = th_strdup_printf("%s/times.json", suites_dir);
        if (!path)
                return -ENOMEM;
        int r = th_write_file_atomic(path, text, strlen(text), &err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(path);
        return 0;
}

/* After the run: the times of the tests that ran, and the recorded ones
 * of the tests that did not (--test). */
static void save_times(ApCtx *c)
{
        _cleanup_free_ char *text = NULL, *dir = NULL;
        size_t len = 0;
        bool first = true;
        ThError err = { 0 };

        if (!c->times_path)
                return;
        _cleanup_fclose_ FILE *f = open_memstream(&text, &len);
        if (!f)
                return;
        fputs("{\"results\": {\"tests\": [", f);
        for (size_t i = 0; i < c->n_tests; i++) {
                const ApTest *t = &c->tests[i];
                if (t->dir && t->time_sec > 0)
                        times_entry(f, &first, c->deb->source, t->t->name, t->time_sec);
        }
        size_t plen = strlen(c->deb->source);
        for (size_t k = 0; k < c->times.n; k++) {
                const char *id = c->times.v[k].id;
                bool ran = false;
                if (strncmp(id, c->deb->source, plen) != 0 || id[plen] != '/')
                        continue;
                for (size_t i = 0; i < c->n_tests && !ran; i++)
                        ran = c->tests[i].dir && c->tests[i].time_sec > 0 &&
                              th_streq(c->tests[i].t->name, id + plen + 1);
                if (!ran)
                        times_entry(f, &first, c->deb->source, id + plen + 1, c->times.v[k].sec);
        }
        fputs("\n]}}\n", f);
        fclose(TAKE_PTR(f));
        dir = text ? strdup(c->times_path) : NULL;
        if (!dir || first)
                return;
        *strrchr(dir, '/') = '\0';
        if (th_mkdir_p(dir, 0755) < 0 ||
            th_write_file_atomic(c->times_path, text, strlen(text), &err) < 0)
                th_log(TH_LOG_WARNING, "cannot keep the tests' times in '%s'", c->times_path);
}

static int run_all(ApCtx *c, const char *suites_dir)
{
        _cleanup_strv_ char **args = NULL, **suites = NULL;
        _cleanup_free_ char *times = NULL;
        const ApArgs *a = c->args;
        bool any = false;

        for (size_t g = 0; g < c->n_groups; g++) {
                if (c->groups[g].uninstallable)
                        continue;
                if (th_strv_push(&suites, c->groups[g].path) < 0)
                        return -ENOMEM;
                any = true;
        }
        if (!any)
                return 0;
        if (th_strv_push(&args, "-o") < 0 || th_strv_push(&args, c->output_dir) < 0)
                return -ENOMEM;
        char jobs[16];
        snprintf(jobs, sizeof(jobs), "%u", default_jobs());
        if (th_strv_push(&args, "-j") < 0 || th_strv_push(&args, a->jobs ? a->jobs : jobs) < 0)
                return -ENOMEM;
        if (a->allow_privileged && th_strv_push(&args, "--allow-privileged") < 0)
                return -ENOMEM;
        /* The longest tests of the last run first: one long test started
         * last would run alone while the other slots stay idle. */
        int r = write_run_times(c, suites_dir, &times);
        if (r == -ENOMEM)
                return r;
        if (r < 0) /* the order only */
                th_log(TH_LOG_WARNING, "cannot write '%s/times.json': %s", suites_dir,
                       strerror(-r));
        if (times && (th_strv_push(&args, "--durations") < 0 || th_strv_push(&args, times) < 0))
                return -ENOMEM;
        /* The source tree is the one the user named, wherever it lies. */
        if (th_strv_push(&args, "--allow-outside-fixtures") < 0)
                return -ENOMEM;
        r = runner_gen_run(args, suites);
        if (r < 0)
                return r;
        /* 0 and 1 are verdicts; 2 and 3 mean the run did not happen as planned. */
        if (r == RUNNER_EXIT_USAGE)
                return AP_EXIT_OTHER;
        if (r == RUNNER_EXIT_INTERRUPTED)
                return AP_EXIT_OTHER;
        return 0;
}

int runner_cmd_autopkgtest(int argc, char **argv)
{
        ApArgs args = { 0 };
        _cleanup_(ap_ctx_done) ApCtx c = { .args = &args };
        int r;

        r = parse_args(argc, argv, &args);
        if (r == PARSE_HELP)
                return AP_EXIT_OK;
        if (r != 0) {
                th_strv_free(args.only);
                args.only = NULL;
                return AP_EXIT_OTHER;
        }
        blamed = args.source;
        c.arch = host_arch();
        c.rootfs = args.rootfs ? strdup(args.rootfs)
                               : th_strdup_printf("debian:%s",
                                                  args.release ? args.release : "bookworm");
        if (!c.arch || !c.rootfs)
                return AP_EXIT_OTHER;
        /* A relative directory tree is relative to here, not to the suite. */
        if (args.rootfs && !strchr(args.rootfs, ':')) {
                char *abs = realpath(args.rootfs, NULL);
                if (!abs) {
                        th_log(TH_LOG_ERROR, "--rootfs '%s': %m", runner_safe(args.rootfs));
                        return AP_EXIT_OTHER;
                }
                free(c.rootfs);
                c.rootfs = abs;
        }
        const char *out = args.output_dir ? args.output_dir : DEFAULT_OUTPUT_DIR;
        runner_register_layer_builder();
        runner_register_repo_builder();
        r = load_source(&c, out);
        if (r != 0)
                return r > 0 ? r : AP_EXIT_OTHER;
        r = plan(&c);
        if (r < 0)
                return AP_EXIT_OTHER;

        if (!args.print_suite) {
                r = th_mkdir_p(out, 0755);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "cannot create '%s': %s", runner_safe(out),
                               strerror(-r));
                        return AP_EXIT_OTHER;
                }
                c.output_dir = realpath(out, NULL);
                if (!c.output_dir)
                        return AP_EXIT_OTHER;
        }
        _cleanup_free_ char *suites_dir =
                c.output_dir ? th_strdup_printf("%s/suites", c.output_dir) : NULL;
        if (suites_dir && copy_debs(&c, suites_dir) < 0) {
                th_log(TH_LOG_ERROR, "cannot copy the local .debs into '%s/debs'", suites_dir);
                return AP_EXIT_OTHER;
        }
        if (!args.print_suite) {
                r = build_tree(&c, suites_dir);
                if (r != 0)
                        return r > 0 ? r : AP_EXIT_OTHER;
        }
        for (size_t g = 0; g < c.n_groups; g++) {
                _cleanup_free_ char *text = NULL;
                ThError err = { 0 };
                r = generate(&c, g, &text);
                if (r < 0)
                        return AP_EXIT_OTHER;
                if (args.print_suite) {
                        printf("%s---\n", g ? "" : "");
                        fputs(text, stdout);
                        continue;
                }
                if (!suites_dir || runner_gen_write(suites_dir, c.groups[g].name, text,
                                                    &c.groups[g].path, &err) < 0) {
                        th_log(TH_LOG_ERROR, "%s", err.msg);
                        return AP_EXIT_OTHER;
                }
        }
        if (args.print_suite) {
                for (size_t i = 0; i < c.n_tests; i++)
                        if (c.tests[i].verdict != V_NONE && c.tests[i].verdict != V_NOT_REACHED)
                                printf("# not run: %s %s %s\n", runner_safe(c.tests[i].t->name),
                                       verdict_word(c.tests[i].verdict),
                                       runner_safe(c.tests[i].reason));
                return AP_EXIT_OK;
        }

        r = prepare_layers(&c);
        if (r != 0)
                return r;
        if (load_times(&c) < 0)
                return AP_EXIT_OTHER;
        r = run_all(&c, suites_dir);
        if (r != 0)
                return r > 0 ? r : AP_EXIT_OTHER;
        for (size_t i = 0; i < c.n_tests; i++) {
                ApTest *t = &c.tests[i];
                if (t->verdict != V_NONE)
                        continue;
                const ApGroup *gr = &c.groups[t->group];
                if (gr->uninstallable) {
                        if (t->t->restrictions & DEP8_SKIP_NOT_INSTALLABLE)
                                r = set_verdict(t, V_SKIP,
                                                "installation fails and skip-not-installable set");
                        else {
                                _cleanup_free_ char *m = th_strdup_printf(
                                        "Test dependencies are unsatisfiable: %s",
                                        gr->install_error ? gr->install_error : "");
                                r = m ? set_verdict(t, V_BADPKG, m) : -ENOMEM;
                        }
                } else
                        r = verdict_of(&c, t);
                if (r < 0)
                        return AP_EXIT_OTHER;
        }
        save_times(&c);
        int code = summarize(&c);
        if (write_reports(&c) < 0 && code == AP_EXIT_OK)
                code = AP_EXIT_OTHER;
        return code;
}

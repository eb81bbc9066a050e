/* runner: `harness run`, the main verb. Parses options, loads and checks the
 * suites, plans what runs (filter, tag, shard), prepares the root
 * filesystems, runs every test in a fresh container through the worker pool
 * (retries, timeouts, --fail-fast, signals), and writes the per-test output
 * folders, the reports and the exit status. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "runner.h"
#include "runner-internal.h"

#define DEFAULT_OUTPUT_DIR "harness-results"
#define MAX_JOBS           256
#define MAX_RETRIES        10
#define MAX_ATTACHMENTS    100
#define PARSE_HELP         1000 /* parse_args: --help was shown */

static const char usage[] =
        "Usage: harness run [OPTIONS] SUITE...\n"
        "\n"
        "Run every test of the suites, each in a fresh container, and report.\n"
        "\n"
        "Options:\n"
        "  -j, --jobs N              containers at a time (default: number of CPUs)\n"
        "      --junit FILE          write a JUnit XML report\n"
        "      --junit-flavor NAME   default (GitLab, Jenkins junit, GitHub), jenkins\n"
        "                            (Jenkins xUnit's junit-10.xsd) or surefire (Maven\n"
        "                            Surefire's XSD)\n"
        "      --tap FILE            write a TAP report (TAP 14 content)\n"
        "      --tap-version 13|14   its version line (default 13: Debian 12's prove\n"
        "                            refuses 14)\n"
        "      --json FILE           write a JSON (CTRF) report\n"
        "      --attachments-relative-to DIR  name logs in the reports relative to DIR\n"
        "                            when under it (GitLab: $CI_PROJECT_DIR); default\n"
        "                            absolute paths\n"
        "  -o, --output-dir DIR      per-test folders with stdout, stderr, journal,\n"
        "                            artifacts/ and result (default: ./" DEFAULT_OUTPUT_DIR ")\n"
        "      --filter REGEX        only tests whose id SUITE/TEST matches (POSIX ERE;\n"
        "                            repeat: any of them)\n"
        "      --tag TAG             only tests with this tag (repeat: any of them)\n"
        "      --allow-empty         selecting no test is not an error (exit 0)\n"
        "      --shard I/N|auto      only shard I of N (1-based; balanced by count);\n"
        "                            auto: HARNESS_SHARD_INDEX/TOTAL, or GitLab,\n"
        "                            CircleCI or Buildkite variables\n"
        "      --durations FILE      start the longest tests first, and balance the\n"
        "                            shards, by the test times of this\n"
        "                            JUnit or CTRF JSON report of an earlier run\n"
        "      --retries N           retries for every test (overrides the suites)\n"
        "      --timeout DURATION    timeout for every test, e.g. 90s, 2m (overrides)\n"
        "      --keep-failed         keep the container's upper dir of failed tests\n"
        "      --fail-fast           start no new test after the first failure\n"
        "      --shell-on-fail       on a terminal: keep a failed test's container and\n"
        "                            open a shell in it; the run goes on once it exits\n"
        "      --output-cap SIZE     output per stream of a failed test kept in the\n"
        "                            JUnit and JSON reports (default 64K; passed: 8K)\n"
        "      --allow-outside-fixtures  allow fixtures that lead outside the suite's\n"
        "                            directory through a symlink\n"
        "      --refresh             download the packages of 'install:' again, even\n"
        "                            if the cached repository is not a week old yet\n"
        "      --allow-privileged    allow suites that lower the isolation\n"
        "                            (private-users: false: container root can become\n"
        "                            host root)\n"
        "  -h, --help                show this help\n"
        "\n"
        "Exit status: 0 all passed, 1 a test failed, 2 usage error, invalid suite or no\n"
        "test selected, 3 a container could not be set up (or not root), 130\n"
        "interrupted.\n";

typedef struct RunArgs {
        unsigned jobs;
        const char *junit, *tap, *json;
        const char *output_dir;
        regex_t *filters;
        size_t n_filters;
        char **tags;
        RunShard shard;
        const char *durations;
        bool allow_empty;
        int retries;           /* -1 = as the suite says */
        uint64_t timeout_usec; /* 0 = as the suite says */
        bool keep_failed, fail_fast, allow_outside, shell_on_fail, allow_privileged, refresh;
        uint64_t output_cap;
        ReportJunitFlavor junit_flavor;
        unsigned tap_version;
        const char *attachment_base;
        char **suites; /* positional */
} RunArgs;

/* One test while it is tried, finished or reported: made from its TestSlot
 * by test_run_open() (in the worker for a try, in the runner from its
 * first try to its result), freed once its result is in the spool. */
typedef struct TestRun {
        Suite *suite;
        /* In the worker: its test, in the window slot_spec() loaded. The
         * runner's windows move on: there it is NULL. */
        const TestSpec *test;
        const FixtureRootfs *rootfs;
        char *dir;        /* per-test output folder */
        char *id;         /* "SUITE/TEST" */
        const char *name; /* the test's, in id */
        char **tags;      /* the test's, for its case */
        unsigned line;
        unsigned max_attempts;
        uint64_t timeout_usec;
        uint64_t total_usec;
        ReportAttempt *attempts; /* the failed tries before this one */
        size_t n_attempts;
        const char *install_repo; /* the suite's `install:` repository; NULL = none */
} TestRun;

/* What the run keeps of every planned test, whatever their number: a
 * finished test's case is in the spool (RunCtx.spool), not in memory, so
 * that the run's memory does not grow with its results. */
typedef struct TestSlot {
        uint32_t suite;   /* index into RunCtx.suites */
        uint32_t index;   /* of the test in its suite file (slot_spec()) */
        uint32_t name;    /* of the test's name in RunCtx.names */
        bool skip;        /* `skip:`: reported, not run */
        uint8_t status;   /* ReportStatus, once finished */
        uint64_t spooled; /* 1 + the offset of its case in the spool; 0 = not finished */
        TestRun *live;    /* from its first try to its result; NULL otherwise */
} TestSlot;

/* A fixture source opened at the check, bound from this fd by every test
 * that names it (the same source of the same suite is opened once). */
typedef struct HeldSource {
        const Suite *suite;
        char *source_abs;
        int fd;
        bool writable; /* by at least one test */
} HeldSource;

/* The suites' tests are not held (there may be 100,000 of them): a test's
 * TestSpec is loaded again, with the SPEC_WINDOW tests around it, from
 * the suite file checked at the start (suite_load_each(), which refuses a
 * file changed since). Plan order is file order, so a run loads each
 * window about once. */
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#define SPEC_WINDOW  256
#define SPEC_WINDOWS 2
typedef struct SpecWindow {
        size_t suite, first, n; /* n 0: empty */
        TestSpec *tests;        /* SPEC_WINDOW of them */
        Suite *owner;           /* the load they came from (defaults' regexes are shared) */
        uint64_t used;
} SpecWindow;

typedef struct RunCtx {
        const RunArgs *args;
        Suite **suites;
        size_t n_suites;
        FixtureRootfs *rootfs; /* per suite */
        char **install_repo;   /* per suite; NULL entries: nothing to install */
        TestSlot *tests;       /* plan order */
        /* The planned tests' names, one after the other: a test whose file
         * cannot be loaded again is still reported by its name. */
        char *names;
        size_t n_tests;
        size_t *runnable; /* indices into tests of those that run */
        size_t n_runnable;
        HeldSource *held; /* fixture sources, open for the whole run */
        size_t n_held;
        SpecWindow windows[SPEC_WINDOWS];
        uint64_t window_clock;
        bool *install; /* per suite: a test that runs installs */
        bool any_host_network;
        bool fixtures_bad;
        const char *skip_reason; /* record_skips(): for tests not `skip:`ped */
        ReportSpool *spool;      /* the finished tests' cases */
        RunProgress progress;
        char *output_dir;  /* absolute */
        char *resolv_conf; /* the host's, copied for `network: host`; NULL = none */
        uint64_t start_realtime, start_usec;
        bool any_fail, any_error;
} RunCtx;

static void run_args_done(RunArgs *a)
{
        runner_filters_free(a->filters, a->n_filters);
        th_strv_free(a->tags);
        th_strv_free(a->suites);
}

static unsigned default_jobs(void)
{
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
                return (unsigned)CPU_COUNT(&set);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)n : 1;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
        char *end;
        unsigned long v;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > max)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

static int parse_args(int argc, char **argv, RunArgs *a)
{
        enum {
                ARG_JUNIT = 0x100,
                ARG_TAP,
                ARG_JSON,
                ARG_FILTER,
                ARG_TAG,
                ARG_SHARD,
                ARG_RETRIES,
                ARG_TIMEOUT,
                ARG_KEEP_FAILED,
                ARG_FAIL_FAST,
                ARG_OUTPUT_CAP,
                ARG_ALLOW_OUTSIDE,
                ARG_SHELL_ON_FAIL,
                ARG_ALLOW_PRIVILEGED,
                ARG_REFRESH,
                ARG_DURATIONS,
                ARG_ALLOW_EMPTY,
                ARG_JUNIT_FLAVOR,
                ARG_TAP_VERSION,
                ARG_ATTACHMENTS_RELATIVE_TO,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "jobs", required_argument, NULL, 'j' },
                { "junit", required_argument, NULL, ARG_JUNIT },
                { "tap", required_argument, NULL, ARG_TAP },
                { "json", required_argument, NULL, ARG_JSON },
                { "output-dir", required_argument, NULL, 'o' },
                { "filter", required_argument, NULL, ARG_FILTER },
                { "tag", required_argument, NULL, ARG_TAG },
                { "shard", required_argument, NULL, ARG_SHARD },
                { "retries", required_argument, NULL, ARG_RETRIES },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "keep-failed", no_argument, NULL, ARG_KEEP_FAILED },
                { "fail-fast", no_argument, NULL, ARG_FAIL_FAST },
                { "output-cap", required_argument, NULL, ARG_OUTPUT_CAP },
                { "allow-outside-fixtures", no_argument, NULL, ARG_ALLOW_OUTSIDE },
                { "shell-on-fail", no_argument, NULL, ARG_SHELL_ON_FAIL },
                { "allow-privileged", no_argument, NULL, ARG_ALLOW_PRIVILEGED },
                { "refresh", no_argument, NULL, ARG_REFRESH },
                { "durations", required_argument, NULL, ARG_DURATIONS },
                { "allow-empty", no_argument, NULL, ARG_ALLOW_EMPTY },
                { "junit-flavor", required_argument, NULL, ARG_JUNIT_FLAVOR },
                { "tap-version", required_argument, NULL, ARG_TAP_VERSION },
                { "attachments-relative-to", required_argument, NULL, ARG_ATTACHMENTS_RELATIVE_TO },
                {},
        };
        unsigned u;
        int c, r;

        while ((c = getopt_long(argc, argv, ":hj:o:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return PARSE_HELP;
                case 'j':
                        if (parse_uint(optarg, MAX_JOBS, &u) < 0 || u == 0)
                                return runner_usage_error("run", "invalid -j '%s': 1 to %u", optarg,
                                                          MAX_JOBS);
                        a->jobs = u;
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
                case 'o':
                        a->output_dir = optarg;
                        break;
                case ARG_FILTER:
                        r = runner_filter_option("run", optarg, &a->filters, &a->n_filters);
                        if (r != 0)
                                return r;
                        break;
                case ARG_TAG:
                        if (th_strv_push(&a->tags, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_SHARD:
                        r = runner_shard_option("run", optarg, &a->shard);
                        if (r != 0)
                                return r;
                        break;
                case ARG_DURATIONS:
                        a->durations = optarg;
                        break;
                case ARG_ALLOW_EMPTY:
                        a->allow_empty = true;
                        break;
                case ARG_RETRIES:
                        if (parse_uint(optarg, MAX_RETRIES, &u) < 0)
                                return runner_usage_error("run", "invalid --retries '%s': 0 to %u",
                                                          optarg, MAX_RETRIES);
                        a->retries = (int)u;
                        break;
                case ARG_TIMEOUT:
                        if (th_parse_duration(optarg, &a->timeout_usec) < 0 || a->timeout_usec == 0)
                                return runner_usage_error(
                                        "run", "invalid --timeout '%s': e.g. 90, 90s, 2m, 500ms",
                                        optarg);
                        break;
                case ARG_KEEP_FAILED:
                        a->keep_failed = true;
                        break;
                case ARG_FAIL_FAST:
                        a->fail_fast = true;
                        break;
                case ARG_OUTPUT_CAP:
                        if (th_parse_size(optarg, &a->output_cap) < 0 || a->output_cap == 0)
                                return runner_usage_error(
                                        "run", "invalid --output-cap '%s': e.g. 64K, 1M", optarg);
                        break;
                case ARG_ALLOW_OUTSIDE:
                        a->allow_outside = true;
                        break;
                case ARG_SHELL_ON_FAIL:
                        a->shell_on_fail = true;
                        break;
                case ARG_ALLOW_PRIVILEGED:
                        a->allow_privileged = true;
                        break;
                case ARG_REFRESH:
                        a->refresh = true;
                        break;
                case ARG_JUNIT_FLAVOR:
                        a->junit_flavor = report_junit_flavor_from_string(optarg);
                        if (a->junit_flavor < 0)
                                return runner_usage_error(
                                        "run",
                                        "invalid --junit-flavor '%s': default, jenkins or surefire",
                                        optarg);
                        break;
                case ARG_TAP_VERSION:
                        if (parse_uint(optarg, 14, &u) < 0 || u < 13)
                                return runner_usage_error(
                                        "run", "invalid --tap-version '%s': 13 or 14", optarg);
                        a->tap_version = u;
                        break;
                case ARG_ATTACHMENTS_RELATIVE_TO:
                        if (access(optarg, F_OK) < 0)
                                return runner_usage_error(
                                        "run", "--attachments-relative-to '%s': %m", optarg);
                        a->attachment_base = optarg;
                        break;
                case ':':
                        return runner_usage_error("run", "option '%s' needs an argument",
                                                  argv[optind - 1]);
                default:
                        return runner_usage_error("run", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return runner_usage_error("run", "no suite given");
        for (int i = optind; i < argc; i++)
                if (th_strv_push(&a->suites, argv[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* ---- loading and checking ----------------------------------------------- */

static void suites_free(Suite **s, size_t n)
{
        for (size_t i = 0; s && i < n; i++)
                suite_free(s[i]);
        free(s);
}

/* Loads suite s's file again (the same bytes: else -ESTALE), handing
 * tests [first, first + count) to fn (count 0: every test). The Suite of
 * that load goes to *ret_owner when given (the tests' regexes may be its
 * defaults'), else it is freed. err: the file's first message. */
static int reload_suite(const Suite *s, size_t first, size_t count, SuiteTestFn fn, void *userdata,
                        Suite **ret_owner, ThError *err)
{
        SuiteEach each = {
                .fn = fn, .userdata = userdata, .first = first, .count = count, .sha256 = s->sha256
        };
        SuiteDiags diags = { 0 };
        Suite *again = NULL;
        int r = suite_load_each(s->path, s->matrix_index, &each, &again, &diags);

        if (r < 0) {
                _cleanup_free_ char *msg = diags.n ? suite_diag_format(&diags.items[0]) : NULL;
                if (msg)
                        th_error_set(err, -r, "%s", msg);
                else
                        th_error_errno(err, -r, "suite '%s'", s->path);
        }
        suite_diags_done(&diags);
        if (r >= 0 && ret_owner)
                *ret_owner = again;
        else
                suite_free(again);
        return r;
}

static int privileged_test(void *userdata, const Suite *s, size_t index, TestSpec *t)
{
        (void)s;
        (void)index;
        runner_privileged_test(userdata, t);
        return 0;
}

/* runner_check_privileged() over a suite whose tests are not held. */
static int check_privileged(const Suite *s, RunnerPrivileged mode)
{
        RunnerPrivilegedCheck p;
        ThError err = { 0 };

        runner_privileged_begin(&p, s, mode);
        int r = reload_suite(s, 0, 0, privileged_test, &p, NULL, &err);
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return r;
        }
        return runner_privileged_end(&p);
}

/* Loads every suite; prints every diagnostic. Returns 0 or exit status 2. */
static int load_suites(RunCtx *ctx, char *const *paths)
{
        size_t n = th_strv_length(paths);
        bool bad = false;

        for (size_t i = 0; i < n; i++) {
                SuiteDiags diags = { 0 };
                int r = runner_load_suite_headers(paths[i], &ctx->suites, &ctx->n_suites, &diags);
                if (r == -ENOMEM) {
                        suite_diags_done(&diags);
                        return r;
                }
                if (r >= 0) {
                        suite_diags_done(&diags);
                        continue;
                }
                bad = true;
                runner_print_suite_diags(paths[i], r, &diags);
                suite_diags_done(&diags);
        }
        if (!bad && runner_check_suites(ctx->suites, ctx->n_suites, /* trees= */ false,
                                        ctx->args->allow_outside) < 0)
                bad = true;
        if (bad) {
                th_log(TH_LOG_ERROR, "invalid suite, nothing was run");
                return RUNNER_EXIT_USAGE;
        }
        for (size_t i = 0; i < ctx->n_suites; i++) {
                int r = check_privileged(ctx->suites[i], ctx->args->allow_privileged
                                                                 ? RUNNER_PRIVILEGED_ALLOW
                                                                 : RUNNER_PRIVILEGED_REFUSE);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        bad = true;
        }
        if (bad) {
                th_log(TH_LOG_ERROR, "suite refused, nothing was run");
                return RUNNER_EXIT_USAGE;
        }
        return 0;
}

static void rootfs_progress(const char *line, void *userdata)
{
        (void)userdata;
        th_log(TH_LOG_INFO, "%s", line);
}

static int suite_dirname(const RunCtx *ctx, size_t s, char *buf, size_t size)
{
        char comp[128];
        int r = runner_path_component(ctx->suites[s]->name, comp, sizeof(comp));

        if (r < 0)
                return r;
        /* Two suites of one name get their own folders. */
        for (size_t o = 0; o < s; o++)
                if (strcmp(ctx->suites[o]->name, ctx->suites[s]->name) == 0) {
                        r = th_snprintf(buf, size, "%s-%zu", comp, s + 1);
                        return r < 0 ? r : 0;
                }
        r = th_snprintf(buf, size, "%s", comp);
        return r < 0 ? r : 0;
}

/* The selection, a suite file at a time (runner_plan_build() without
 * holding the tests). */
typedef struct PlanSelect {
        const RunSelect *sel;
        size_t suite;
        RunPlanItem *items;
        size_t n, cap;
        char **ids; /* with a shard: each item's "SUITE/TEST" */
        char *names;
        size_t names_len, names_cap;
} PlanSelect;

static int plan_select_test(void *userdata, const Suite *s, size_t index, TestSpec *t)
{
        PlanSelect *p = userdata;

        if (!runner_test_selected(p->sel, s->name, t))
                return 0;
        if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 256;
                RunPlanItem *items = reallocarray(p->items, cap, sizeof(*items));
                if (!items)
                        return -ENOMEM;
                p->items = items;
                if (p->sel->shard.total > 0) {
                        char **ids = reallocarray(p->ids, cap, sizeof(*ids));
                        if (!ids)
                                return -ENOMEM;
                        p->ids = ids;
                }
                p->cap = cap;
        }
        if (p->sel->shard.total > 0 &&
            !(p->ids[p->n] = th_strdup_printf("%s/%s", s->name, t->name)))
                return -ENOMEM;
        size_t len = strlen(t->name) + 1;
        if (p->names_len + len > UINT32_MAX)
                return -E2BIG;
        if (p->names_len + len > p->names_cap) {
                size_t cap = MAX(p->names_cap * 2, (size_t)4096);
                char *names = realloc(p->names, cap);
                if (!names)
                        return -ENOMEM;
                p->names = names;
                p->names_cap = cap;
        }
        memcpy(p->names + p->names_len, t->name, len);
        p->items[p->n++] = (RunPlanItem){ .suite = p->suite,
                                          .test = index,
                                          .skip = t->skip != NULL,
                                          .name = (uint32_t)p->names_len };
        p->names_len += len;
        return 0;
}

static int plan_select(RunCtx *ctx, const RunSelect *sel, RunPlanItem **ret, size_t *ret_n,
                       size_t *ret_n_unsharded)
{
        PlanSelect p = { .sel = sel };
        int r = 0;

        for (size_t s = 0; s < ctx->n_suites && r >= 0; s++) {
                ThError err = { 0 };
                p.suite = s;
                r = reload_suite(ctx->suites[s], 0, 0, plan_select_test, &p, NULL, &err);
                if (r < 0 && r != -ENOMEM)
                        th_log(TH_LOG_ERROR, "%s", err.msg);
        }
        *ret_n_unsharded = p.n;
        size_t n_ids = p.ids ? p.n : 0;
        if (r >= 0)
                r = runner_plan_shard(p.items, &p.n, (const char *const *)p.ids, sel);
        for (size_t i = 0; i < n_ids; i++)
                free(p.ids[i]);
        free(p.ids);
        if (r < 0) {
                free(p.items);
                free(p.names);
                return r == -ENOMEM ? r : RUNNER_EXIT_USAGE;
        }
        ctx->names = p.names;
        *ret = p.items;
        *ret_n = p.n;
        return 0;
}

static int plan_tests(RunCtx *ctx)
{
        const RunArgs *a = ctx->args;
        _cleanup_free_ RunPlanItem *items = NULL;
        _cleanup_(runner_durations_done) RunDurations durations = { 0 };
        RunSelect sel = { .filters = a->filters,
                          .n_filters = a->n_filters,
                          .tags = a->tags,
                          .shard = a->shard,
                          .durations = a->durations ? &durations : NULL };
        size_t n, n_unsharded;
        int r;

        if (a->durations) {
                ThError err = { 0 };
                r = runner_durations_load(a->durations, &durations, &err);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "%s", err.msg);
                        return r == -ENOMEM ? r : RUNNER_EXIT_USAGE;
                }
        }
        r = plan_select(ctx, &sel, &items, &n, &n_unsharded);
        if (r != 0)
                return r;
        /* --filter or --tag that select nothing are a mistake (as pytest's
         * "no tests collected"); a shard that got none of the tests is not
         * (more shards than tests). */
        if (n_unsharded == 0 && !a->allow_empty) {
                th_log(TH_LOG_ERROR, "no test selected (--allow-empty to accept that)");
                return RUNNER_EXIT_USAGE;
        }
        if (ctx->n_suites > UINT32_MAX)
                return -E2BIG;
        ctx->tests = calloc(n + 1, sizeof(TestSlot));
        ctx->runnable = calloc(n + 1, sizeof(size_t));
        if (!ctx->tests || !ctx->runnable)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                TestSlot *t = &ctx->tests[ctx->n_tests++];
                t->suite = (uint32_t)items[i].suite;
                t->index = (uint32_t)items[i].test;
                t->skip = items[i].skip;
                t->name = items[i].name;
                if (!t->skip)
                        ctx->runnable[ctx->n_runnable++] = i;
        }
        /* --durations: the longest tests start first (ids[k]: "SUITE/TEST"
         * of runnable[k]; the suites' tests are not held). */
        if (!a->durations || ctx->n_runnable < 2)
                return 0;
        char **ids = calloc(ctx->n_runnable, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        int q = 0;
        for (size_t k = 0; k < ctx->n_runnable && q == 0; k++) {
                const TestSlot *t = &ctx->tests[ctx->runnable[k]];
                ids[k] = th_strdup_printf("%s/%s", ctx->suites[t->suite]->name,
                                          ctx->names + t->name);
                if (!ids[k])
                        q = -ENOMEM;
        }
        if (q == 0)
                q = runner_plan_order((const char *const *)ids, ctx->runnable, ctx->n_runnable,
                                      &durations);
        for (size_t k = 0; k < ctx->n_runnable; k++)
                free(ids[k]);
        free(ids);
        return q;
}

/* ---- a test's TestSpec, loaded again when needed ------------------------ */

static void window_clear(SpecWindow *w)
{
        for (size_t i = 0; w->tests && i < SPEC_WINDOW; i++)
                test_spec_done(&w->tests[i]);
        w->n = 0;
        w->owner = suite_free(w->owner);
}

static int window_keep(void *userdata, const Suite *s, size_t index, TestSpec *t)
{
        SpecWindow *w = userdata;
        (void)s;
        if (index < w->first || index - w->first >= SPEC_WINDOW)
                return 0;
        w->tests[index - w->first] = *t;
        *t = (TestSpec){};
        w->n = MAX(w->n, index - w->first + 1);
        return 0;
}

/* The slot's TestSpec, valid until the next call; NULL (err filled) when
 * its file cannot be loaded again or changed since it was checked. */
static const TestSpec *slot_spec(RunCtx *ctx, const TestSlot *slot, ThError *err)
{
        SpecWindow *lru = &ctx->windows[0];
        int r;

        for (size_t i = 0; i < SPEC_WINDOWS; i++) {
                SpecWindow *w = &ctx->windows[i];
                if (w->n && w->suite == slot->suite && slot->index >= w->first &&
                    slot->index - w->first < w->n) {
                        w->used = ++ctx->window_clock;
                        return &w->tests[slot->index - w->first];
                }
                if (w->used < lru->used)
                        lru = w;
        }
        window_clear(lru);
        if (!lru->tests && !(lru->tests = calloc(SPEC_WINDOW, sizeof(TestSpec)))) {
                th_error_set(err, ENOMEM, "out of memory");
                return NULL;
        }
        lru->suite = slot->suite;
        lru->first = slot->index - slot->index % SPEC_WINDOW;
        r = reload_suite(ctx->suites[slot->suite], lru->first, SPEC_WINDOW, window_keep, lru,
                         &lru->owner, err);
        if (r >= 0 && slot->index - lru->first >= lru->n)
                r = th_error_set(err, ESTALE, "suite '%s': test %u is gone",
                                 ctx->suites[slot->suite]->path, slot->index + 1);
        if (r < 0) {
                window_clear(lru);
                return NULL;
        }
        lru->used = ++ctx->window_clock;
        return &lru->tests[slot->index - lru->first];
}

/* One load of each suite file for the slots want() picks (their tests in
 * plan order, which is file order within a suite): fn gets each one's
 * TestSpec, valid during the call. A file that cannot be loaded again
 * stops the pass (err). */
typedef bool (*SlotWant)(const RunCtx *ctx, const TestSlot *slot);
typedef int (*SlotFn)(RunCtx *ctx, TestSlot *slot, const TestSpec *t);
typedef struct SlotPass {
        RunCtx *ctx;
        size_t next, end; /* slots of this suite still to see */
        SlotWant want;
        SlotFn fn;
} SlotPass;

static int slot_pass_test(void *userdata, const Suite *s, size_t index, TestSpec *t)
{
        SlotPass *p = userdata;
        (void)s;
        for (; p->next < p->end && p->ctx->tests[p->next].index <= index; p->next++) {
                TestSlot *slot = &p->ctx->tests[p->next];
                if (slot->index < index || !p->want(p->ctx, slot))
                        continue;
                int r = p->fn(p->ctx, slot, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int for_each_slot(RunCtx *ctx, SlotWant want, SlotFn fn, ThError *err)
{
        for (size_t a = 0, b; a < ctx->n_tests; a = b) {
                uint32_t s = ctx->tests[a].suite;
                size_t first = SIZE_MAX, last = 0;
                for (b = a; b < ctx->n_tests && ctx->tests[b].suite == s; b++)
                        if (want(ctx, &ctx->tests[b])) {
                                first = MIN(first, (size_t)ctx->tests[b].index);
                                last = MAX(last, (size_t)ctx->tests[b].index);
                        }
                if (first == SIZE_MAX)
                        continue;
                SlotPass p = { .ctx = ctx, .next = a, .end = b, .want = want, .fn = fn };
                int r = reload_suite(ctx->suites[s], first, last - first + 1, slot_pass_test, &p,
                                     NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void test_run_done(TestRun *t)
{
        free(t->dir);
        free(t->id);
        th_strv_free(t->tags);
        for (size_t i = 0; i < t->n_attempts; i++) {
                free(t->attempts[i].type);
                free(t->attempts[i].message);
                free(t->attempts[i].stdout_path);
                free(t->attempts[i].stderr_path);
        }
        free(t->attempts);
        *t = (TestRun){};
}

/* What a slot's test (spec) runs with: its folder, id, tries and timeout. */
static int test_run_open(const RunCtx *ctx, const TestSlot *slot, const TestSpec *spec,
                         TestRun *ret)
{
        const RunArgs *a = ctx->args;
        char sdir[160], tdir[128];
        int r;

        *ret = (TestRun){
                .suite = ctx->suites[slot->suite],
                .rootfs = &ctx->rootfs[slot->suite],
                .line = spec->loc.line,
                .max_attempts = 1 + (a->retries >= 0 ? (unsigned)a->retries : spec->retries),
                .timeout_usec = a->timeout_usec ? a->timeout_usec : spec->timeout_usec,
                .install_repo = ctx->install_repo ? ctx->install_repo[slot->suite] : NULL,
        };
        r = suite_dirname(ctx, slot->suite, sdir, sizeof(sdir));
        if (r < 0)
                return r;
        r = runner_path_component(spec->name, tdir, sizeof(tdir));
        if (r < 0)
                return r;
        ret->dir = th_strdup_printf("%s/%s/%s", ctx->output_dir, sdir, tdir);
        ret->id = th_strdup_printf("%s/%s", ret->suite->name, spec->name);
        if (!ret->dir || !ret->id) {
                test_run_done(ret);
                return -ENOMEM;
        }
        ret->name = ret->id + strlen(ret->suite->name) + 1;
        for (char **tag = spec->tags; tag && *tag; tag++)
                if (th_strv_push(&ret->tags, *tag) < 0) {
                        test_run_done(ret);
                        return -ENOMEM;
                }
        return 0;
}

/* The fd check_fixtures() opened for a fixture of a suite; -1 if none. */
static int held_fd(const RunCtx *ctx, const Suite *suite, const SuiteFixture *f)
{
        for (size_t i = 0; i < ctx->n_held; i++)
                if (ctx->held[i].suite == suite && th_streq(ctx->held[i].source_abs, f->source_abs))
                        return ctx->held[i].fd;
        return -1;
}

static int hold_source(RunCtx *ctx, const Suite *suite, const SuiteFixture *f, int *ret_fd,
                       ThError *err)
{
        for (size_t i = 0; i < ctx->n_held; i++)
                if (ctx->held[i].suite == suite &&
                    th_streq(ctx->held[i].source_abs, f->source_abs)) {
                        ctx->held[i].writable |= f->writable;
                        *ret_fd = ctx->held[i].fd;
                        return 0;
                }
        HeldSource *n = realloc(ctx->held, (ctx->n_held + 1) * sizeof(*n));
        if (!n)
                return th_error_set(err, ENOMEM, "out of memory");
        ctx->held = n;
        char *source_abs = strdup(f->source_abs);
        if (!source_abs)
                return th_error_set(err, ENOMEM, "out of memory");
        int r = fixture_open_source(suite, f, ctx->args->allow_outside, ret_fd, err);
        if (r < 0) {
                free(source_abs);
                return r;
        }
        ctx->held[ctx->n_held++] = (HeldSource){ suite, source_abs, *ret_fd, f->writable };
        return 0;
}

/* Every fixture of every test that will run is checked before anything
 * runs, and opened: containers bind the fds opened here (O_CLOEXEC, so no
 * container process inherits one), never the paths again. */
static bool slot_runs(const RunCtx *ctx, const TestSlot *slot)
{
        (void)ctx;
        return !slot->skip;
}

/* The pass over the tests that run also notes what the later steps need:
 * which suites install, whether a test has the host's network. */
static int check_fixtures_test(RunCtx *ctx, TestSlot *slot, const TestSpec *t)
{
        const Suite *suite = ctx->suites[slot->suite];
        ThError err = { 0 };

        ctx->install[slot->suite] |= t->install != NULL;
        ctx->any_host_network |= t->network == SUITE_NETWORK_HOST;
        for (size_t i = 0; i < t->n_fixtures; i++) {
                int fd;
                if (hold_source(ctx, suite, &t->fixtures[i], &fd, &err) >= 0)
                        continue;
                if (err.code == ENOMEM)
                        return -ENOMEM;
                th_log(TH_LOG_ERROR, "%s", err.msg);
                ctx->fixtures_bad = true;
                return 0;
        }
        return 0;
}

static int check_fixtures(RunCtx *ctx)
{
        ThError err = { 0 };
        bool bad = false;

        ctx->install = calloc(ctx->n_suites + 1, sizeof(bool));
        if (!ctx->install)
                return -ENOMEM;
        int r = for_each_slot(ctx, slot_runs, check_fixtures_test, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                bad = true;
        }
        bad |= ctx->fixtures_bad;
        if (bad) {
                th_log(TH_LOG_ERROR, "fixture check failed, nothing was run");
                return RUNNER_EXIT_USAGE;
        }
        return 0;
}

static int prepare_rootfs(RunCtx *ctx)
{
        ctx->rootfs = calloc(ctx->n_suites + 1, sizeof(FixtureRootfs));
        if (!ctx->rootfs)
                return -ENOMEM;
        return 0;
}

static bool is_user_error(int r)
{
        return r == -ENOENT || r == -ENOTDIR || r == -EINVAL || r == -ELOOP;
}

/* Only suites with a test to run need their tree. A tree that is not there
 * or not usable is the suite's problem (2); anything else is ours (3). */
static int prepare_trees(RunCtx *ctx)
{
        for (size_t s = 0; s < ctx->n_suites; s++) {
                bool needed = false;
                ThError err = { 0 };
                for (size_t k = 0; k < ctx->n_runnable && !needed; k++)
                        needed = ctx->tests[ctx->runnable[k]].suite == s;
                if (!needed)
                        continue;
                int r = fixture_rootfs_prepare(ctx->suites[s], rootfs_progress, NULL,
                                               &ctx->rootfs[s], &err);
                if (r >= 0)
                        continue;
                th_log(TH_LOG_ERROR, "suite '%s': rootfs: %s", ctx->suites[s]->path,
                       err.msg[0] ? err.msg : strerror(-r));
                return is_user_error(r) ? RUNNER_EXIT_USAGE : RUNNER_EXIT_INFRA;
        }
        return 0;
}

/* The local apt repository of each suite whose selected tests `install:`
 * (runner/install.c), downloaded before any test runs. */
static int prepare_install(RunCtx *ctx)
{
        ctx->install_repo = calloc(ctx->n_suites + 1, sizeof(char *));
        if (!ctx->install_repo)
                return -ENOMEM;
        for (size_t s = 0; s < ctx->n_suites; s++) {
                Suite *suite = NULL;
                _cleanup_free_ bool *selected = NULL;
                bool any = false;
                ThError err = { 0 };
                if (!ctx->install[s])
                        continue;
                /* A suite that installs has its tests loaded at once here
                 * (the repository is made of all their packages). */
                int r = suite_load_matrix(ctx->suites[s]->path, ctx->suites[s]->matrix_index,
                                          &suite, NULL);
                if (r >= 0 && strcmp(suite->sha256, ctx->suites[s]->sha256) != 0)
                        r = -ESTALE;
                if (r < 0) {
                        suite = suite_free(suite);
                        th_log(TH_LOG_ERROR, "suite '%s': %s", ctx->suites[s]->path,
                               r == -ESTALE ? "changed since it was checked" : strerror(-r));
                        return r == -ENOMEM ? r : RUNNER_EXIT_USAGE;
                }
                selected = calloc(suite->n_tests + 1, sizeof(bool));
                if (!selected)
                        return -ENOMEM;
                for (size_t k = 0; k < ctx->n_runnable; k++) {
                        const TestSlot *t = &ctx->tests[ctx->runnable[k]];
                        if (t->suite != s || t->index >= suite->n_tests ||
                            !suite->tests[t->index].install)
                                continue;
                        selected[t->index] = any = true;
                }
                if (!any) {
                        suite_free(suite);
                        continue;
                }
                r = runner_install_repo(suite, &ctx->rootfs[s], suite->tests, selected,
                                        ctx->args->allow_outside,
                                        ctx->args->refresh ? 0 : RUNNER_INSTALL_MAX_AGE_USEC,
                                        rootfs_progress, &ctx->install_repo[s], &err);
                suite_free(suite);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "suite '%s': install: %s", ctx->suites[s]->path,
                               err.msg[0] ? err.msg : strerror(-r));
                        return is_user_error(r) || r == -EPERM ? RUNNER_EXIT_USAGE
                                                               : RUNNER_EXIT_INFRA;
                }
        }
        return 0;
}

/* ---- one try, in the worker --------------------------------------------- */

static IsolateNetwork network_of(SuiteNetwork n)
{
        switch (n) {
        case SUITE_NETWORK_HOST:
                return ISOLATE_NETWORK_HOST;
        case SUITE_NETWORK_VETH:
                return ISOLATE_NETWORK_VETH;
        case SUITE_NETWORK_NONE:
        case _SUITE_NETWORK_MAX:
        case _SUITE_NETWORK_INVALID:
                break;
        }
        return ISOLATE_NETWORK_NONE;
}

typedef struct SpecStorage {
        const TestRun *test; /* for the hold of --shell-on-fail */
        IsolateBind *binds;
        char **env;
        char *artifacts_dir, *upper_dir;
        char *network_group; /* the suite's group, scoped to this run */
        char machine[64];
        char *setup_argv[4], *argv[4];
        char *setup;        /* `install:` then `setup` */
        char **git_targets; /* the read-only .git binds of writable fixtures */
        int *git_fds;
        size_t n_git;
} SpecStorage;

static void spec_storage_done(SpecStorage *s)
{
        for (size_t i = 0; i < s->n_git; i++)
                close(s->git_fds[i]);
        free(s->git_fds);
        th_strv_free(s->git_targets);
        free(s->binds);
        th_strv_free(s->env);
        free(s->artifacts_dir);
        free(s->upper_dir);
        free(s->network_group);
        free(s->setup);
}

/* ---- --shell-on-fail ------------------------------------------------------ */

typedef struct HoldMsg {
        char machine[64];
        char message[RUN_MESSAGE_MAX];
} HoldMsg;

/* In the worker, the container still running after its command: a test
 * that failed is handed to the runner, which owns the terminal. */
static void run_hold_worker(const char *machine, const IsolateResult *res, void *userdata)
{
        const SpecStorage *st = userdata;
        RunOutcome o;
        HoldMsg m = { 0 };

        runner_outcome_classify(0, NULL, res, st->test->test, st->test->timeout_usec, &o);
        if (o.status == REPORT_PASS || o.status == REPORT_SKIP)
                return;
        snprintf(m.machine, sizeof(m.machine), "%s", machine);
        snprintf(m.message, sizeof(m.message), "%s", o.message);
        int r = runner_pool_hold(&m, sizeof(m));
        if (r < 0)
                th_debug("hold of '%s': %s", machine, strerror(-r));
}

/* In the runner: the shell, then the run goes on. */
static void run_hold(void *userdata, size_t item, const void *msg, size_t len)
{
        RunCtx *ctx = userdata;
        const TestRun *t = ctx->tests[ctx->runnable[item]].live;
        HoldMsg m;
        ThError err = { 0 };
        int status = 0;

        if (len != sizeof(m))
                return;
        memcpy(&m, msg, sizeof(m));
        m.machine[sizeof(m.machine) - 1] = m.message[sizeof(m.message) - 1] = 0;
        runner_progress_clear(&ctx->progress);
        char safe[sizeof(m.message) * 4];
        th_cescape_buf(m.message, safe, sizeof(safe), 0);
        fprintf(stderr,
                "FAIL  %s: %s\n"
                "harness: container '%s' kept; a shell in it follows (root, the test's "
                "environment); exit the shell to go on\n",
                runner_safe(t ? t->id : "?"), safe, runner_safe(m.machine));
        if (runner_terminal_shell(m.machine, &status, &err) < 0) {
                th_log(TH_LOG_ERROR, "shell in '%s': %s", m.machine, err.msg);
                return;
        }
        fprintf(stderr, "harness: shell exited with status %d; removing '%s'\n", status,
                runner_safe(m.machine));
}

/* The container for one try, from the merged test and its suite's tree. */
static int build_spec(const RunCtx *ctx, const TestRun *t, unsigned attempt, SpecStorage *st,
                      IsolateSpec *ret)
{
        const TestSpec *ts = t->test;
        int r;

        st->binds = calloc(2 * ts->n_fixtures + 5, sizeof(IsolateBind));
        st->git_fds = calloc(ts->n_fixtures + 1, sizeof(int));
        if (!st->binds || !st->git_fds)
                return -ENOMEM;
        size_t n_binds = ts->n_fixtures;
        for (size_t i = 0; i < ts->n_fixtures; i++)
                st->binds[i] =
                        (IsolateBind){ .source = ts->fixtures[i].source_abs,
                                       .target = ts->fixtures[i].target,
                                       .writable = ts->fixtures[i].writable,
                                       .source_fd = held_fd(ctx, t->suite, &ts->fixtures[i]) };
        /* A writable fixture over a git work tree: its .git is the host's
         * configuration, not the repository's content (hooks and
         * core.fsmonitor run as whoever runs git next, host root in CI).
         * It is bound read-only over itself. */
        for (size_t i = 0; i < ts->n_fixtures; i++) {
                struct stat gst;
                int src = st->binds[i].source_fd;
                if (!st->binds[i].writable || src < 0)
                        continue;
                int g = openat(src, ".git", O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (g < 0)
                        continue;
                if (fstat(g, &gst) < 0 || !(S_ISDIR(gst.st_mode) || S_ISREG(gst.st_mode))) {
                        close(g);
                        continue;
                }
                st->git_fds[st->n_git++] = g;
                _cleanup_free_ char *target = th_strdup_printf(
                        "%s/.git", th_streq(st->binds[i].target, "/") ? "" : st->binds[i].target);
                if (!target || th_strv_push(&st->git_targets, target) < 0)
                        return -ENOMEM;
                st->binds[n_binds++] =
                        (IsolateBind){ .source = st->binds[i].source,
                                       .target =
                                               st->git_targets[th_strv_length(st->git_targets) - 1],
                                       .source_fd = g };
        }
        /* The host's resolver, read-only, unless a fixture brings its own. */
        if (ts->network == SUITE_NETWORK_HOST && ctx->resolv_conf &&
            !runner_binds_target(st->binds, n_binds, "/etc/resolv.conf"))
                st->binds[n_binds++] = (IsolateBind){ .source = ctx->resolv_conf,
                                                      .target = "/etc/resolv.conf",
                                                      .source_fd = -1 };
        /* The suite's package repository, read-only; the install runs
         * first in the setup step. */
        if (ts->install && t->install_repo) {
                ThError err = { 0 };
                st->binds[n_binds++] = (IsolateBind){ .source = t->install_repo,
                                                      .target = RUNNER_INSTALL_TARGET,
                                                      .source_fd = -1 };
                r = runner_install_script(t->suite, ts, ctx->args->allow_outside, &st->setup, &err);
                if (r < 0) {
                        th_log(TH_LOG_ERROR, "%s", err.msg);
                        return r;
                }
        }
        for (size_t i = 0; i < ts->n_env; i++) {
                _cleanup_free_ char *kv =
                        th_strdup_printf("%s=%s", ts->env[i].key, ts->env[i].value);
                if (!kv || th_strv_push(&st->env, kv) < 0)
                        return -ENOMEM;
        }
        st->artifacts_dir = th_strdup_printf("%s/artifacts", t->dir);
        st->upper_dir = th_strdup_printf("%s/upper", t->dir);
        if (!st->artifacts_dir || !st->upper_dir)
                return -ENOMEM;
        r = runner_machine_name(t->suite->name, ts->name, (uint32_t)getpid() ^ (attempt << 24),
                                st->machine, sizeof(st->machine));
        if (r < 0)
                return r;
        /* Workers are children of the run's process: its pid scopes the group. */
        if (ts->network_group &&
            !(st->network_group = th_strdup_printf("%s@%d", ts->network_group, (int)getppid())))
                return -ENOMEM;
        st->argv[0] = st->setup_argv[0] = (char *)"/bin/sh";
        st->argv[1] = st->setup_argv[1] = (char *)"-c";
        st->argv[2] = ts->run;
        st->setup_argv[2] = st->setup ? st->setup : ts->setup;

        *ret = (IsolateSpec){
                .rootfs = t->rootfs->dir,
                .rootfs_fd = t->rootfs->dir_fd,
                .layers = (const char *const *)t->rootfs->layers,
                .n_layers = th_strv_length(t->rootfs->layers),
                .ephemeral = true,
                .binds = st->binds,
                .n_binds = n_binds,
                .machine = st->machine,
                .env = st->env,
                .user = ts->user,
                .workdir = ts->workdir,
                .boot = ts->boot,
                .full_boot = ts->full_boot,
                .private_users = ts->private_users,
                /* A tree the kernel cannot idmap would otherwise run its
                 * code as host root: the operator has to allow that. */
                .private_users_required = !ctx->args->allow_privileged,
                .network = network_of(ts->network),
                .limits = { .memory_bytes = ts->memory_bytes, .pids = ts->pids, .cpu = ts->cpu },
                .timeout_usec = t->timeout_usec,
                .setup_argv = st->setup_argv[2] ? st->setup_argv : NULL,
                .argv = st->argv,
                .output_dir = t->dir,
                .artifacts = (const char *const *)ts->artifacts,
                .n_artifacts = th_strv_length(ts->artifacts),
                .artifacts_dir = st->artifacts_dir,
                .artifacts_max_bytes = ts->artifacts_bytes,
                .keep_upper_dir = ctx->args->keep_failed ? st->upper_dir : NULL,
                .network_group = st->network_group,
                /* Boot mode: the journal as JSON and the units' states too,
                 * copied into the test's folder with the rest. */
                .system_state = ts->boot,
                .output_max_bytes = ts->output_bytes,
                .test_name = ts->name,
                .suite_name = t->suite->name,
                .max_reboots = ts->reboots,
        };
        if (ctx->args->shell_on_fail) {
                st->test = t;
                ret->hold = run_hold_worker;
                ret->hold_userdata = st;
        }
        return 0;
}

static void try_error(RunTryRecord *rec, int r, const char *what)
{
        rec->isolate_r = r < 0 ? r : -EIO;
        rec->outcome.status = REPORT_ERROR;
        snprintf(rec->outcome.type, sizeof(rec->outcome.type), "infrastructure");
        snprintf(rec->outcome.message, sizeof(rec->outcome.message), "%s: %s", what,
                 strerror(r < 0 ? -r : EIO));
}

/* The try's result is final (isolate_run() fills rec's res and err, the
 * ones passed here): classify and send it before the container's teardown,
 * which the worker does behind it (runner_pool_report()). */
typedef struct TryCollect {
        const TestRun *t;
        RunTryRecord *rec;
} TryCollect;

static void try_collected(int r, const IsolateResult *res, const ThError *err, void *userdata)
{
        TryCollect *tc = userdata;
        RunTryRecord *rec = tc->rec;
        if (res != &rec->res || err != &rec->err)
                return; /* not this try's: keep the report for after the return */
        rec->isolate_r = r;
        runner_outcome_classify(r, &rec->err, &rec->res, tc->t->test, tc->t->timeout_usec,
                                &rec->outcome);
        (void)runner_pool_report(rec);
}

static void run_work(void *userdata, size_t item, unsigned attempt, RunTryRecord *rec)
{
        RunCtx *ctx = userdata;
        _cleanup_(test_run_done) TestRun test = {};
        TestRun *t = &test;
        _cleanup_(spec_storage_done) SpecStorage st = { 0 };
        _cleanup_free_ char *artifacts = NULL;
        IsolateSpec spec;
        int r;

        ThError err = { 0 };
        const TestSpec *ts = slot_spec(ctx, &ctx->tests[ctx->runnable[item]], &err);
        if (!ts) {
                try_error(rec, -err.code, "cannot load the test again");
                snprintf(rec->outcome.message, sizeof(rec->outcome.message), "%s", err.msg);
                return;
        }
        r = test_run_open(ctx, &ctx->tests[ctx->runnable[item]], ts, t);
        if (r < 0) {
                try_error(rec, r, "out of memory");
                return;
        }
        t->test = ts; /* nothing loads another window in this process */

        /* The first try starts from an empty folder; later tries find the
         * earlier ones moved to try-N/ by the runner. */
        if (attempt == 1)
                (void)th_rm_rf(t->dir);
        artifacts = th_strdup_printf("%s/artifacts", t->dir);
        if (!artifacts) {
                try_error(rec, -ENOMEM, "out of memory");
                return;
        }
        r = th_mkdir_p(artifacts, 0755);
        if (r < 0) {
                try_error(rec, r, "cannot create the test's output folder");
                return;
        }
        r = build_spec(ctx, t, attempt, &st, &spec);
        if (r < 0) {
                try_error(rec, r, "cannot build the container spec");
                return;
        }

        TryCollect tc = { .t = t, .rec = rec };
        spec.collected = try_collected;
        spec.collected_userdata = &tc;
        rec->isolate_r = isolate_run(&spec, &rec->res, &rec->err);
        runner_outcome_classify(rec->isolate_r, &rec->err, &rec->res, t->test, t->timeout_usec,
                                &rec->outcome);
}

/* ---- results, in the runner --------------------------------------------- */

static char *path_if_nonempty(const char *dir, const char *name)
{
        struct stat st;
        char *p = th_strdup_printf("%s/%s", dir, name);

        if (p && (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0))
                p = (free(p), NULL);
        return p;
}

static char *path_if_exists(const char *dir, const char *name)
{
        char *p = th_strdup_printf("%s/%s", dir, name);

        if (p && access(p, F_OK) < 0)
                p = (free(p), NULL);
        return p;
}

static char ***nftw_list; /* nftw has no userdata */

static int collect_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)ftw;
        if (flag == FTW_F && S_ISREG(st->st_mode) && th_strv_length(*nftw_list) < MAX_ATTACHMENTS)
                (void)th_strv_push(nftw_list, path);
        return 0;
}

/* The journal, the console log and every artifact file. */
static char **collect_attachments(const char *dir)
{
        char **list = NULL;
        const char *logs[] = { "journal", "console" };
        _cleanup_free_ char *artifacts = th_strdup_printf("%s/artifacts", dir);

        for (size_t i = 0; i < ELEMENTSOF(logs); i++) {
                _cleanup_free_ char *p = path_if_nonempty(dir, logs[i]);
                if (p)
                        (void)th_strv_push(&list, p);
        }
        if (artifacts) {
                nftw_list = &list;
                (void)nftw(artifacts, collect_file, 16, FTW_PHYS);
                nftw_list = NULL;
        }
        return list;
}

/* The `result` file of a test folder (or of a try-N/ folder): key: value
 * lines. Written by the runner after the try, over anything else of that
 * name (isolate's own boot-mode status file). */
static void write_result_file(const char *dir, const char *id, ReportStatus status,
                              const char *type, const char *message, double time_sec,
                              size_t attempts, bool flaky)
{
        _cleanup_free_ char *path = th_strdup_printf("%s/result", dir);
        _cleanup_free_ char *text = th_strdup_printf(
                "id: %s\nstatus: %s\ntype: %s\nmessage: %s\ntime: %.3f\nattempts: %zu\n"
                "flaky: %s\n",
                id, report_status_to_string(status), type ? type : "", message ? message : "",
                time_sec, attempts, flaky ? "true" : "false");
        ThError err = { 0 };

        if (!path || !text)
                return;
        /* A test that ended before its worker made the folder (its suite
         * file changed since it was checked) gets one for its result. */
        (void)th_mkdir_p(dir, 0755);
        if (th_write_file_atomic(path, text, strlen(text), &err) < 0)
                th_log(TH_LOG_WARNING, "%s, ignoring", err.msg);
}

/* Moves what a failed try left into try-N/, so the next try starts clean
 * and the report can point at every try's logs. */
static char *stash_try(const TestRun *t, unsigned attempt)
{
        static const char *const names[] = { "stdout",    "stderr", "journal",      "console",
                                             "artifacts", "result", "setup-result", "upper" };
        char *dest = th_strdup_printf("%s/try-%u", t->dir, attempt);

        if (!dest)
                return NULL;
        (void)th_rm_rf(dest);
        if (th_mkdir_p(dest, 0755) < 0)
                return dest;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *from = th_strdup_printf("%s/%s", t->dir, names[i]);
                _cleanup_free_ char *to = th_strdup_printf("%s/%s", dest, names[i]);
                if (from && to && rename(from, to) < 0 && errno != ENOENT)
                        th_log(TH_LOG_WARNING, "cannot move '%s' to '%s': %m, ignoring", from, to);
        }
        return dest;
}

static int add_attempt(TestRun *t, unsigned attempt, const RunOutcome *o, uint64_t wall_usec)
{
        ReportAttempt *a = reallocarray(t->attempts, t->n_attempts + 1, sizeof(*a));
        _cleanup_free_ char *dest = NULL;

        if (!a)
                return -ENOMEM;
        t->attempts = a;
        write_result_file(t->dir, t->id, o->status, o->type, o->message, (double)wall_usec / 1e6,
                          attempt, false);
        dest = stash_try(t, attempt);
        a = &t->attempts[t->n_attempts++];
        *a = (ReportAttempt){
                .status = o->status,
                .type = strdup(o->type[0] ? o->type : "failure"),
                .message = strdup(o->message),
                .time_sec = (double)wall_usec / 1e6,
                .stdout_path = dest ? path_if_exists(dest, "stdout") : NULL,
                .stderr_path = dest ? path_if_exists(dest, "stderr") : NULL,
        };
        return 0;
}

static char *details_of(const TestRun *t, const RunOutcome *o)
{
        if (o->details[0])
                return th_strdup_printf("%slogs: %s\n", o->details, t->dir);
        return th_strdup_printf("%s\nlogs: %s\n", o->message, t->dir);
}

/* A finished test's case goes to the spool; the run keeps its offset and
 * status. The case borrows the test's and suite's strings (name, suite,
 * file, tags) and owns the rest. */
static void spool_case(RunCtx *ctx, TestSlot *slot, const char *name, char **tags, unsigned line,
                       ReportCase *c)
{
        const Suite *suite = ctx->suites[slot->suite];
        ThError err = { 0 };
        uint64_t off;

        c->name = (char *)name;
        c->classname = suite->name;
        c->file = suite->path;
        c->line = line;
        c->tags = tags;
        slot->status = (uint8_t)c->status;
        if (report_spool_append(ctx->spool, c, &off, &err) >= 0)
                slot->spooled = off + 1;
        else {
                /* Never a report that leaves out a test silently. */
                th_log(TH_LOG_ERROR, "%s", err.msg);
                ctx->any_error = true;
        }
        c->name = c->classname = c->file = NULL;
        c->tags = NULL;
}

static const char *slot_name(const RunCtx *ctx, const TestSlot *slot)
{
        return ctx->names + slot->name;
}

/* A test whose file could not be loaded again: an error in the report
 * (by its name; its line and tags are not known), never left out. */
static void spool_lost(RunCtx *ctx, TestSlot *slot, const char *message)
{
        ReportCase c = { .status = REPORT_ERROR,
                         .type = (char *)"infrastructure",
                         .message = (char *)message };

        spool_case(ctx, slot, slot_name(ctx, slot), NULL, 0, &c);
        runner_progress_result(&ctx->progress, ctx->suites[slot->suite]->name, slot_name(ctx, slot),
                               REPORT_ERROR, false, 0, message);
        ctx->any_error = true;
}

/* The final try decides the test's result. */
static void finish_test(RunCtx *ctx, TestSlot *slot, const RunTryRecord *rec)
{
        TestRun *t = slot->live;
        ReportCase c = {};
        const RunOutcome *o = &rec->outcome;

        c.time_sec = (double)t->total_usec / 1e6;
        c.status = o->status;
        c.flaky = o->status == REPORT_PASS && t->n_attempts > 0;
        if (o->status != REPORT_PASS) {
                c.type = strdup(o->type[0] ? o->type : "failure");
                c.message = strdup(o->message);
                c.details = details_of(t, o);
        }
        c.stdout_path = path_if_exists(t->dir, "stdout");
        c.stderr_path = path_if_exists(t->dir, "stderr");
        c.attachments = collect_attachments(t->dir);
        if (o->status == REPORT_PASS && ctx->args->keep_failed) {
                _cleanup_free_ char *upper = th_strdup_printf("%s/upper", t->dir);
                if (upper)
                        (void)th_rm_rf(upper);
        }
        write_result_file(t->dir, t->id, c.status, c.type, c.message, c.time_sec, t->n_attempts + 1,
                          c.flaky);
        ctx->any_fail |= o->status == REPORT_FAIL;
        ctx->any_error |= o->status == REPORT_ERROR;
        runner_progress_result(&ctx->progress, t->suite->name, t->name, c.status, c.flaky,
                               c.time_sec, c.message);
        /* The tries move into the case; the test's run state goes. */
        c.attempts = TAKE_PTR(t->attempts);
        c.n_attempts = t->n_attempts;
        t->n_attempts = 0;
        spool_case(ctx, slot, t->name, t->tags, t->line, &c);
        report_case_done(&c);
        test_run_done(t);
        slot->live = (free(t), NULL);
}

/* The run state of a slot's test, from its first try on. */
static TestRun *test_live(RunCtx *ctx, TestSlot *slot)
{
        if (slot->live)
                return slot->live;
        ThError err = { 0 };
        const TestSpec *spec = slot_spec(ctx, slot, &err);
        if (!spec) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return NULL;
        }
        TestRun *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        if (test_run_open(ctx, slot, spec, t) < 0) {
                free(t);
                return NULL;
        }
        return slot->live = t;
}

static RunNext run_finished(void *userdata, size_t item, unsigned attempt, const RunTryRecord *rec,
                            uint64_t wall_usec)
{
        RunCtx *ctx = userdata;
        TestSlot *slot = &ctx->tests[ctx->runnable[item]];
        TestRun *t = test_live(ctx, slot);

        if (!t) {
                spool_lost(ctx, slot,
                           rec->outcome.status == REPORT_ERROR
                                   ? rec->outcome.message
                                   : "its suite file cannot be loaded again");
                return RUN_NEXT_DONE;
        }
        /* A test stopped by hand is not tried again. */
        unsigned max = rec->res.stopped ? attempt : t->max_attempts;
        RunNext next =
                runner_next_after_try(rec->outcome.status, attempt, max, ctx->args->fail_fast);

        t->total_usec += wall_usec;
        runner_progress_stopped(&ctx->progress, t->id);
        if (next == RUN_NEXT_RETRY && add_attempt(t, attempt, &rec->outcome, wall_usec) >= 0) {
                th_log(TH_LOG_INFO, "%s: try %u failed (%s), retrying", t->id, attempt,
                       rec->outcome.message);
                return RUN_NEXT_RETRY;
        }
        finish_test(ctx, slot, rec);
        return next == RUN_NEXT_RETRY ? RUN_NEXT_DONE : next;
}

static void run_started(void *userdata, size_t item, unsigned attempt)
{
        RunCtx *ctx = userdata;
        TestRun *t = test_live(ctx, &ctx->tests[ctx->runnable[item]]);

        (void)attempt;
        if (t)
                runner_progress_started(&ctx->progress, t->id);
}

static void run_tick(void *userdata, unsigned running)
{
        RunCtx *ctx = userdata;
        runner_progress_tick(&ctx->progress, running);
}

static uint64_t run_limit(void *userdata, size_t item)
{
        RunCtx *ctx = userdata;
        ThError err = { 0 };
        /* Called before the worker is forked: it finds the test's window
         * loaded. */
        const TestSpec *test = slot_spec(ctx, &ctx->tests[ctx->runnable[item]], &err);
        if (ctx->args->timeout_usec)
                return ctx->args->timeout_usec;
        return test ? test->timeout_usec : 0;
}

static bool slot_skipped(const RunCtx *ctx, const TestSlot *slot)
{
        return !slot->spooled && (slot->skip || ctx->skip_reason);
}

static int record_skip(RunCtx *ctx, TestSlot *slot, const TestSpec *t)
{
        const char *reason = t->skip ? t->skip : ctx->skip_reason;
        ReportCase c = { .status = REPORT_SKIP, .message = (char *)reason };

        spool_case(ctx, slot, t->name, t->tags, t->loc.line, &c);
        runner_progress_result(&ctx->progress, ctx->suites[slot->suite]->name, t->name, REPORT_SKIP,
                               false, 0, reason);
        return 0;
}

static void record_skips(RunCtx *ctx, const char *fail_fast_reason)
{
        ThError err = { 0 };

        ctx->skip_reason = fail_fast_reason;
        if (for_each_slot(ctx, slot_skipped, record_skip, &err) < 0) {
                /* Never a report that leaves out a test silently. */
                th_log(TH_LOG_ERROR, "%s", err.msg);
                for (size_t i = 0; i < ctx->n_tests; i++)
                        if (slot_skipped(ctx, &ctx->tests[i]))
                                spool_lost(ctx, &ctx->tests[i], err.msg);
        }
        ctx->skip_reason = NULL;
}

/* ---- reports, summary, exit --------------------------------------------- */

/* A suite's finished cases, in plan order, for ReportSuite.load_case. */
typedef struct SpooledCases {
        ReportSpool *spool;
        uint64_t *offsets; /* of each case in the spool */
} SpooledCases;

static int load_spooled(void *userdata, size_t i, ReportCase *ret)
{
        const SpooledCases *sc = userdata;
        return report_spool_load(sc->spool, sc->offsets[i], ret);
}

static int load_spooled_summary(void *userdata, size_t i, ReportStatus *ret_status, bool *ret_flaky,
                                double *ret_time_sec)
{
        const SpooledCases *sc = userdata;
        return report_spool_load_summary(sc->spool, sc->offsets[i], ret_status, ret_flaky,
                                         ret_time_sec);
}

typedef struct RunReport {
        ReportRun run;
        SpooledCases *cases; /* per suite */
} RunReport;

static void run_report_done(RunReport *rep)
{
        for (size_t s = 0; rep->cases && s < rep->run.n_suites; s++)
                free(rep->cases[s].offsets);
        free(rep->cases);
        report_run_done(&rep->run);
        *rep = (RunReport){};
}

/* A report model of the finished cases, in plan order, each read from the
 * spool when a writer gets to it. */
static int build_report(RunCtx *ctx, bool interrupted, RunReport *rep)
{
        char host[256] = "localhost";
        double elapsed = (double)(th_now_usec() - ctx->start_usec) / 1e6;
        ReportRun *ret = &rep->run;

        (void)gethostname(host, sizeof(host) - 1);
        *ret = (ReportRun){ .interrupted = interrupted,
                            .time_sec = elapsed,
                            .timestamp_usec = ctx->start_realtime };
        ret->suites = calloc(ctx->n_suites + 1, sizeof(ReportSuite));
        rep->cases = calloc(ctx->n_suites + 1, sizeof(SpooledCases));
        if (!ret->suites || !rep->cases)
                return -ENOMEM;
        for (size_t s = 0; s < ctx->n_suites; s++) {
                ReportSuite *rs = &ret->suites[ret->n_suites++];
                SpooledCases *sc = &rep->cases[s];
                size_t n = 0;
                rs->name = strdup(ctx->suites[s]->name);
                rs->file = strdup(ctx->suites[s]->path);
                rs->hostname = strdup(host);
                rs->timestamp_usec = ctx->start_realtime;
                if (!rs->name || !rs->file || !rs->hostname)
                        return -ENOMEM;
                for (size_t i = 0; i < ctx->n_tests; i++)
                        n += ctx->tests[i].suite == s && ctx->tests[i].spooled;
                sc->spool = ctx->spool;
                sc->offsets = calloc(n + 1, sizeof(uint64_t));
                if (!sc->offsets)
                        return -ENOMEM;
                for (size_t i = 0; i < ctx->n_tests; i++)
                        if (ctx->tests[i].suite == s && ctx->tests[i].spooled)
                                sc->offsets[rs->n_cases++] = ctx->tests[i].spooled - 1;
                rs->load_case = load_spooled;
                rs->load_summary = load_spooled_summary;
                rs->load_userdata = sc;
        }
        return 0;
}

/* quiet: the placeholder written before the first test; a report that
 * cannot be written is said once, by the final write. */
static int write_reports(RunCtx *ctx, const ReportRun *run, bool quiet)
{
        const RunArgs *a = ctx->args;
        ReportOptions opts = { .output_cap_bytes = (size_t)a->output_cap,
                               .attachment_base = a->attachment_base,
                               .tap_version = a->tap_version,
                               .junit_flavor = a->junit_flavor };
        struct {
                const char *path;
                int (*write)(const ReportRun *, const ReportOptions *, const char *, ThError *);
        } writers[] = {
                { a->junit, report_write_junit },
                { a->tap, report_write_tap },
                { a->json, report_write_json },
        };
        int ret = 0;

        for (size_t i = 0; i < ELEMENTSOF(writers); i++) {
                ThError err = { 0 };
                if (!writers[i].path)
                        continue;
                int r = writers[i].write(run, &opts, writers[i].path, &err);
                if (r < 0 && !quiet)
                        th_log(TH_LOG_ERROR, "cannot write report '%s': %s", writers[i].path,
                               err.msg[0] ? err.msg : strerror(-r));
                if (r < 0)
                        ret = r;
        }
        return ret;
}

/* A CI log shows a failed test's output, not only where it is: the last
 * lines of a file (at most TAIL_LINES, from its last TAIL_BYTES, each cut
 * at TAIL_LINE_MAX bytes), escaped, indented under the test. */
#define TAIL_LINES    20
#define TAIL_BYTES    8192
#define TAIL_LINE_MAX 300

static void print_tail(FILE *f, const char *label, const char *path)
{
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
        char buf[TAIL_BYTES + 1];
        struct stat st;
        off_t from;
        ssize_t n;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
                return;
        from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
        n = pread(fd, buf, TAIL_BYTES, from);
        if (n <= 0)
                return;
        buf[n] = 0;
        char *start = buf, *end = buf + n;
        if (from > 0) { /* the first line is cut: start at the next */
                char *nl = memchr(buf, '\n', (size_t)n);
                start = nl ? nl + 1 : end;
        }
        if (end > start && end[-1] == '\n')
                end--;
        /* The last TAIL_LINES lines: walk back over that many newlines. */
        char *p = end;
        unsigned lines = 0;
        while (p > start && lines < TAIL_LINES) {
                p--;
                if (*p == '\n' && ++lines == TAIL_LINES) {
                        p++;
                        break;
                }
        }
        if (p >= end)
                return;
        fprintf(f, "        %s (last lines of %s):\n", label, runner_safe(path));
        while (p < end) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = (size_t)((nl ? nl : end) - p);
                char line[TAIL_LINE_MAX + 1], safe[TAIL_LINE_MAX * 4 + 1];
                bool cut = len > TAIL_LINE_MAX;
                memcpy(line, p, cut ? TAIL_LINE_MAX : len);
                line[cut ? TAIL_LINE_MAX : len] = 0;
                th_cescape_buf(line, safe, sizeof(safe), 0);
                fprintf(f, "        | %s%s\n", safe, cut ? "..." : "");
                p = nl ? nl + 1 : end;
        }
}

static void print_summary(RunCtx *ctx, bool interrupted)
{
        RunProgress *p = &ctx->progress;
        size_t passed = 0, n = 0;
        FILE *f = p->out;

        runner_progress_clear(p);
        for (size_t i = 0; i < ctx->n_tests; i++)
                if (ctx->tests[i].spooled) {
                        n++;
                        passed += ctx->tests[i].status == REPORT_PASS;
                }
        fprintf(f,
                "\n%zu tests: %zu passed (%zu flaky), %zu failed, %zu errors, %zu skipped in "
                "%.2fs%s\n",
                n, passed, p->flaky, p->failed, p->errors, p->skipped,
                (double)(th_now_usec() - ctx->start_usec) / 1e6,
                interrupted ? " (interrupted)" : "");
        if (interrupted && n < ctx->n_tests)
                fprintf(f, "%zu selected tests did not finish\n", ctx->n_tests - n);
        for (size_t s = 0; s < ctx->n_suites; s++)
                for (size_t i = 0; i < ctx->n_tests; i++) {
                        TestSlot *slot = &ctx->tests[i];
                        _cleanup_(report_case_done) ReportCase c = {};
                        _cleanup_(test_run_done) TestRun t = {};
                        if (slot->suite != s || !slot->spooled ||
                            (slot->status != REPORT_FAIL && slot->status != REPORT_ERROR))
                                continue;
                        ThError err = { 0 };
                        const TestSpec *spec = NULL;
                        if (report_spool_load(ctx->spool, slot->spooled - 1, &c) < 0) {
                                fprintf(f, "  %s %s: (its result cannot be read back)\n",
                                        slot->status == REPORT_FAIL ? "FAIL " : "ERROR",
                                        runner_safe(slot_name(ctx, slot)));
                                continue;
                        }
                        /* A test whose suite file changed since the check has
                         * no folder to point at: its message says why. */
                        if (!(spec = slot_spec(ctx, slot, &err)) ||
                            test_run_open(ctx, slot, spec, &t) < 0) {
                                fprintf(f, "  %s %s/%s: %s\n",
                                        c.status == REPORT_FAIL ? "FAIL " : "ERROR",
                                        runner_safe(c.classname), runner_safe(c.name),
                                        runner_safe(c.message));
                                continue;
                        }
                        fprintf(f, "  %s %s/%s: %s\n        logs: %s/\n",
                                c.status == REPORT_FAIL ? "FAIL " : "ERROR",
                                runner_safe(c.classname), runner_safe(c.name),
                                runner_safe(c.message), runner_safe(t.dir));
                        /* Plain mode (a CI log): the output itself. */
                        if (!p->live) {
                                print_tail(f, "stdout", c.stdout_path);
                                print_tail(f, "stderr", c.stderr_path);
                        }
                }
        fflush(f);
}

static void run_ctx_done(RunCtx *ctx)
{
        th_log_set_sink(th_log_stderr_sink, NULL);
        runner_progress_done(&ctx->progress);
        for (size_t i = 0; ctx->tests && i < ctx->n_tests; i++)
                if (ctx->tests[i].live) {
                        test_run_done(ctx->tests[i].live);
                        free(ctx->tests[i].live);
                }
        free(ctx->tests);
        free(ctx->runnable);
        report_spool_free(ctx->spool);
        for (size_t i = 0; i < ctx->n_held; i++) {
                close(ctx->held[i].fd);
                free(ctx->held[i].source_abs);
        }
        free(ctx->held);
        for (size_t i = 0; i < SPEC_WINDOWS; i++) {
                window_clear(&ctx->windows[i]);
                free(ctx->windows[i].tests);
        }
        free(ctx->install);
        free(ctx->names);
        for (size_t s = 0; ctx->rootfs && s < ctx->n_suites; s++)
                fixture_rootfs_done(&ctx->rootfs[s]);
        free(ctx->rootfs);
        for (size_t s = 0; ctx->install_repo && s < ctx->n_suites; s++)
                free(ctx->install_repo[s]);
        free(ctx->install_repo);
        suites_free(ctx->suites, ctx->n_suites);
        free(ctx->output_dir);
        if (ctx->resolv_conf)
                (void)unlink(ctx->resolv_conf);
        free(ctx->resolv_conf);
}

static int make_output_dir(RunCtx *ctx)
{
        const char *dir = ctx->args->output_dir ? ctx->args->output_dir : DEFAULT_OUTPUT_DIR;
        int r = th_mkdir_p(dir, 0755);

        if (r < 0) {
                th_log(TH_LOG_ERROR, "cannot create the output directory '%s': %s", dir,
                       strerror(-r));
                return RUNNER_EXIT_USAGE;
        }
        /* The folder given, not one a symlink there (left by an earlier
         * test, say) points at: the harness empties and writes folders in it. */
        struct stat st;
        if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
                th_log(TH_LOG_ERROR,
                       "the output directory '%s' is a symlink: give the folder itself (-o)", dir);
                return RUNNER_EXIT_USAGE;
        }
        ctx->output_dir = realpath(dir, NULL);
        return ctx->output_dir ? 0 : -errno;
}

/* Whether path is dir or below it (both absolute, resolved). */
static bool path_below(const char *path, const char *dir)
{
        size_t n = strlen(dir);
        return th_streq(dir, "/") ||
               (strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

/* Whether one of the two is the other or below it. */
static bool paths_overlap(const char *a, const char *b)
{
        return path_below(a, b) || path_below(b, a);
}

/* The folder of a report file, resolved as far as it exists (the rest,
 * made later by the writer, appended as written). */
static char *report_dir(const char *file)
{
        _cleanup_free_ char *dir = strdup(file), *rest = NULL;
        if (!dir)
                return NULL;
        char *slash = strrchr(dir, '/');
        if (!slash)
                return realpath(".", NULL);
        slash[slash == dir ? 1 : 0] = '\0'; /* "/x" -> "/" */
        for (;;) {
                _cleanup_free_ char *real = realpath(dir, NULL);
                if (real && !rest)
                        return TAKE_PTR(real);
                if (real)
                        return th_strdup_printf("%s/%s", th_streq(real, "/") ? "" : real, rest);
                slash = strrchr(dir, '/');
                char *last = slash ? slash + 1 : dir;
                char *r = rest ? th_strdup_printf("%s/%s", last, rest) : strdup(last);
                if (!r)
                        return NULL;
                free(rest);
                rest = r;
                if (!slash) {
                        /* Relative, and none of its folders exists: below the cwd. */
                        free(dir);
                        dir = strdup(".");
                        if (!dir)
                                return NULL;
                } else {
                        slash[slash == dir ? 1 : 0] = '\0';
                }
        }
}

/* The folders the harness writes to must be out of reach of every test: a
 * writable fixture over the results folder, or over a report's folder,
 * would let a test swap one of them for a symlink to any host folder while
 * the run writes there. And a symlink (or any non-folder) in place of a
 * suite's folder, left by an earlier run, is removed: the tests make the
 * folder. */
static int check_outputs(RunCtx *ctx)
{
        const char *const reports[] = { ctx->args->junit, ctx->args->tap, ctx->args->json };
        char *dirs[1 + ELEMENTSOF(reports)] = { 0 };
        const char *what[1 + ELEMENTSOF(reports)] = { "the output directory", "the --junit folder",
                                                      "the --tap folder", "the --json folder" };
        int ret = 0;

        dirs[0] = strdup(ctx->output_dir);
        for (size_t i = 0; i < ELEMENTSOF(reports); i++) {
                if (!reports[i])
                        continue;
                dirs[1 + i] = report_dir(reports[i]);
        }
        for (size_t h = 0; h < ctx->n_held && ret == 0; h++) {
                char proc[64], src[PATH_MAX];
                if (!ctx->held[h].writable)
                        continue;
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", ctx->held[h].fd);
                ssize_t n = readlink(proc, src, sizeof(src) - 1);
                if (n <= 0)
                        continue;
                src[n] = '\0';
                /* A fixture inside a report's folder changes nothing of the
                 * report's path; one inside the results folder may hold the
                 * suites' and tests' folders. */
                for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                        if (dirs[i] &&
                            (i == 0 ? paths_overlap(dirs[i], src) : path_below(dirs[i], src))) {
                                th_log(TH_LOG_ERROR,
                                       "%s '%s' and the writable fixture '%s' of '%s' overlap: a "
                                       "test could swap the folders the harness writes to for "
                                       "links to host folders; write the results elsewhere or "
                                       "make the fixture read-only",
                                       what[i], dirs[i], src, ctx->held[h].suite->path);
                                ret = RUNNER_EXIT_USAGE;
                                break;
                        }
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                free(dirs[i]);
        if (ret)
                return ret;

        for (size_t s = 0; s < ctx->n_suites; s++) {
                char sdir[256];
                struct stat st;
                int r = suite_dirname(ctx, s, sdir, sizeof(sdir));
                if (r < 0)
                        return r;
                _cleanup_free_ char *path = th_strdup_printf("%s/%s", ctx->output_dir, sdir);
                if (!path)
                        return -ENOMEM;
                if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) < 0) {
                        th_log(TH_LOG_ERROR, "cannot remove '%s' (not a folder): %m", path);
                        return RUNNER_EXIT_USAGE;
                }
        }
        return 0;
}

/* One copy of the host's resolv.conf for the run's `network: host` tests
 * (runner/resolv.c); a host without one leaves theirs as the tree has it. */
static int prepare_resolv_conf(RunCtx *ctx)
{
        ThError err = { 0 };
        bool any = false;

        any = ctx->any_host_network;
        if (!any)
                return 0;
        ctx->resolv_conf = th_strdup_printf("%s/.resolv.conf", ctx->output_dir);
        if (!ctx->resolv_conf)
                return -ENOMEM;
        (void)unlink(ctx->resolv_conf);
        if (runner_resolv_conf_copy(ctx->resolv_conf, &err) < 0) {
                th_log(TH_LOG_WARNING, "network: host: no resolver for the containers: %s",
                       err.msg);
                ctx->resolv_conf = (free(ctx->resolv_conf), NULL);
        }
        return 0;
}

static int exit_status(const RunCtx *ctx, bool interrupted)
{
        if (interrupted)
                return RUNNER_EXIT_INTERRUPTED;
        if (ctx->any_error)
                return RUNNER_EXIT_INFRA;
        if (ctx->any_fail)
                return RUNNER_EXIT_FAILED;
        return RUNNER_EXIT_OK;
}

/* Runs the plan and reports; returns the exit status. */
static int execute(RunCtx *ctx)
{
        const RunPoolOps ops = {
                .work = run_work,
                .finished = run_finished,
                .started = run_started,
                .tick = run_tick,
                .limit_usec = run_limit,
                .hold = ctx->args->shell_on_fail ? run_hold : NULL,
        };
        RunReport rep = {};
        ThError err = { 0 };
        int sig = 0, r, ret;
        bool interrupted;

        r = report_spool_open(ctx->output_dir, &ctx->spool, &err);
        if (r < 0) {
                th_log(TH_LOG_ERROR, "%s", err.msg);
                return r;
        }
        runner_progress_init(&ctx->progress, stdout, isatty(STDOUT_FILENO) == 1, ctx->n_tests);
        /* Log lines (a retry, a warning) never tangle with the status line. */
        th_log_set_sink(runner_progress_log_sink, &ctx->progress);
        ctx->start_usec = th_now_usec();
        ctx->start_realtime = th_realtime_usec();
        /* Until the run ends, the report files say "run interrupted": a
         * harness killed with SIGKILL must never leave an earlier green
         * report in place (nothing has finished yet, so nothing is moved). */
        if (build_report(ctx, true, &rep) == 0)
                (void)write_reports(ctx, &rep.run, /* quiet= */ true);
        run_report_done(&rep);
        record_skips(ctx, NULL);

        isolate_preload(); /* once here rather than in every worker */
        r = runner_pool_run(ctx->n_runnable, ctx->args->jobs, &ops, ctx, &sig, &err);
        /* Workers stopped or killed on the way out (SIGINT, errors, the
         * watchdog) may have left container state; remove it now rather
         * than at the next run. */
        if (r != 0 || ctx->any_error)
                isolate_sweep();
        if (r < 0) {
                runner_progress_clear(&ctx->progress);
                th_log(TH_LOG_ERROR, "%s", err.msg);
        }
        interrupted = r == 1;
        if (interrupted) {
                runner_progress_clear(&ctx->progress);
                th_log(TH_LOG_WARNING, "interrupted by SIG%s; writing reports of what finished",
                       sigabbrev_np(sig) ?: "?");
        } else if (r == 0)
                record_skips(ctx, "not run: an earlier test failed (--fail-fast)");

        if (build_report(ctx, interrupted, &rep) < 0) {
                run_report_done(&rep);
                return -ENOMEM;
        }
        print_summary(ctx, interrupted);
        ret = exit_status(ctx, interrupted);
        if (r < 0)
                ret = RUNNER_EXIT_INFRA;
        if (write_reports(ctx, &rep.run, /* quiet= */ false) < 0 && ret == RUNNER_EXIT_OK)
                ret = RUNNER_EXIT_INFRA;
        run_report_done(&rep);
        return ret;
}

int runner_cmd_run(int argc, char **argv)
{
        _cleanup_(run_args_done) RunArgs args = { .jobs = default_jobs(), .retries = -1 };
        _cleanup_(run_ctx_done) RunCtx ctx = { .args = &args };
        int r;

        r = parse_args(argc, argv, &args);
        if (r == PARSE_HELP)
                return RUNNER_EXIT_OK;
        if (r != 0)
                return r > 0 ? r : RUNNER_EXIT_INFRA;
        if (args.shell_on_fail && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
                th_log(TH_LOG_WARNING, "--shell-on-fail: not on a terminal; failed tests' "
                                       "containers are removed as usual");
                args.shell_on_fail = false;
        }
        r = load_suites(&ctx, args.suites);
        if (r != 0)
                return r > 0 ? r : RUNNER_EXIT_INFRA;
        /* Namespaces, mounts, cgroups and /run/harness: said once, before
         * anything is built, rather than as every test's error. */
        if (geteuid() != 0) {
                th_log(TH_LOG_ERROR, "harness run needs root (it creates namespaces, mounts "
                                     "and cgroups); run it as root, e.g. with sudo");
                return RUNNER_EXIT_INFRA;
        }
        runner_register_layer_builder();
        runner_register_repo_builder();
        r = prepare_rootfs(&ctx);
        if (r == 0)
                r = make_output_dir(&ctx);
        if (r == 0)
                r = plan_tests(&ctx);
        if (r == 0)
                r = check_fixtures(&ctx);
        if (r == 0)
                r = check_outputs(&ctx);
        if (r == 0)
                r = prepare_trees(&ctx);
        if (r == 0)
                r = prepare_install(&ctx);
        if (r == 0)
                r = prepare_resolv_conf(&ctx);
        if (r != 0)
                return r > 0 ? r : RUNNER_EXIT_INFRA;
        if (ctx.n_tests == 0)
                th_log(TH_LOG_NOTICE, "no test selected%s",
                       args.shard.total ? " in this shard" : "");
        r = execute(&ctx);
        return r < 0 ? RUNNER_EXIT_INFRA : r;
}

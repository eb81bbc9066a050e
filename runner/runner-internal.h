/* runner: declarations shared by the runner's own files.
 *
 * Returns, in the runner (README "Conventions"):
 *  - runner_main(), the subcommands (runner_cmd_*, RunnerCommand.fn, and
 *    `harness rootfs`'s own) and the functions named for it (exit_status())
 *    return the process's exit status: RUNNER_EXIT_* or a container
 *    command's own status, never -errno. They alone turn an error into an
 *    exit status (a user's mistake: RUNNER_EXIT_USAGE, through
 *    runner_usage_error(); anything else: RUNNER_EXIT_INFRA).
 *  - Every other function returning int returns >= 0 on success (a value
 *    its comment names, such as "1 when something failed" for a check that
 *    ran) and -errno on failure, as the other modules do; never an exit
 *    status.
 *  - Who tells the user: a function that takes ThError *err fills it on
 *    every failure and prints nothing; its caller prints err.msg (never a
 *    strerror() fallback: err is always filled). A function without err
 *    prints its own diagnostics (its comment says "Prints") and its caller
 *    adds at most a summary line.
 *  - bool only for a question that cannot fail. */
#pragma once

#include <getopt.h>

#include "common.h"

typedef struct RunnerCommand {
        const char *name;
        const char *summary;
        int (*fn)(int argc, char **argv);
} RunnerCommand;

/* text.c: s with every control and bidirectional control escaped (see
 * th_cescape()), for a line on the terminal; valid until 8 more calls in
 * this thread; "?" when out of memory. */
const char *runner_safe(const char *s);
/* s as a JSON string: controls, C1 and bidirectional controls as \uXXXX,
 * a byte of no valid UTF-8 sequence as \ufffd. */
void runner_json_string(FILE *f, const char *s);

/* Logs "error: MSG" and a "Try 'harness CMD --help'" hint; returns 2. */
int runner_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- harness run: planning (plan.c, pure) ------------------------------- */

#include <regex.h>

#include "fixture.h"
#include "isolate.h"
#include "report.h"
#include "suite.h"

/* Prints a suite file's load errors to stderr, one FILE:LINE:COL: message a
 * line, then a line for a truncated list or an error without a location
 * (suite-diags.c). r is suite_load()'s result. */
void runner_print_suite_diags(const char *path, int r, const SuiteDiags *d);

/* What a suite may not decide on its own (privileged.c): `private-users:
 * false` needs the operator's --allow-privileged (refused: an error per key,
 * FILE:LINE:COL; allowed: one warning per suite; note: for commands that run
 * nothing); a rootfs that is the host's root directory is always refused.
 * Prints to stderr; returns 0, or -EPERM when the suite may not run. */
typedef enum RunnerPrivileged {
        RUNNER_PRIVILEGED_REFUSE,
        RUNNER_PRIVILEGED_ALLOW,
        RUNNER_PRIVILEGED_NOTE,
} RunnerPrivileged;
int runner_check_privileged(const Suite *s, RunnerPrivileged mode);
/* The same a test at a time, for a suite whose tests are not all held:
 * begin, every test in file order, end (which returns what
 * runner_check_privileged() would). */
typedef struct RunnerPrivilegedCheck {
        const Suite *s;
        RunnerPrivileged mode;
        int ret;
        bool seen_defaults; /* `private-users: false` in defaults, reported */
        SuiteLoc first;     /* of the first `private-users: false` */
        size_t n_off;
        bool install; /* a test that runs installs: install_loc is its */
        SuiteLoc install_loc;
} RunnerPrivilegedCheck;
void runner_privileged_begin(RunnerPrivilegedCheck *p, const Suite *s, RunnerPrivileged mode);
void runner_privileged_test(RunnerPrivilegedCheck *p, const TestSpec *t);
int runner_privileged_end(RunnerPrivilegedCheck *p);

/* suite-check.c: what `harness run` would refuse about these suites, before
 * anything is built: names unique in the run, Debian release names known to
 * distro-info-data (with "did you mean"), and with trees: the directory
 * trees, every fixture source, and systemd in a tree whose tests boot.
 * Prints FILE:LINE:COL: messages; returns 0 or -EINVAL. */
int runner_check_suites(Suite *const *suites, size_t n, bool trees, bool allow_outside);
int runner_check_suite_names(Suite *const *suites, size_t n);
/* Loads a suite file, once per tree of a `rootfs:` list, appending to
 * *suites (kept NULL-terminated) and *n. diags: of the first load. */
int runner_load_suite_file(const char *path, Suite ***suites, size_t *n, SuiteDiags *diags);
/* The same, checking every test but keeping none (suite_load_each()):
 * each Suite has n_file_tests and the file's digest, to load its tests
 * again a few at a time. */
int runner_load_suite_headers(const char *path, Suite ***suites, size_t *n, SuiteDiags *diags);
/* The release names of distro-info-data's debian.csv (its series column)
 * and the archive's aliases (stable, testing, ...). */
int runner_debian_releases(const char *csv, char ***ret);

/* resolv.c: the host's /etc/resolv.conf copied to dst (created, 0644), for
 * a read-only bind over a `network: host` container's (as systemd-nspawn's
 * --resolv-conf=copy-host). */
int runner_resolv_conf_copy(const char *dst, ThError *err);
/* Whether one of the binds has this container target. */
bool runner_binds_target(const IsolateBind *binds, size_t n, const char *target);

/* --shard I/N: 1-based index; total == 0 means no sharding. */
typedef struct RunShard {
        unsigned index;
        unsigned total;
} RunShard;

/* Parses "I/N" with 1 <= I <= N <= 100000. */
int runner_shard_parse(const char *s, RunShard *ret);
/* --shard auto: the CI's own split, from getenv_fn (getenv in the program):
 * HARNESS_SHARD_INDEX/HARNESS_SHARD_TOTAL (1-based; set from a GitHub Actions
 * matrix, or by hand on any CI), GitLab CI_NODE_INDEX/CI_NODE_TOTAL
 * (1-based), CircleCI CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL and Buildkite
 * BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT (0-based), first found
 * in that order, normalised to 1-based. -ENOENT when none is set, -EINVAL
 * when the values are not a valid shard. */
int runner_shard_from_env(char *(*getenv_fn)(const char *name), RunShard *ret);
/* --shard I/N|auto of `run` and `list` (cmd-list.c): 0, or a usage error
 * logged for cmd and its exit status. */
int runner_shard_option(const char *cmd, const char *arg, RunShard *ret);
/* --filter REGEX of `run` and `list`: compiled and appended (repeated
 * filters: any of them matches). 0, -ENOMEM or a usage error's exit status. */
int runner_filter_option(const char *cmd, const char *arg, regex_t **filters, size_t *n);
void runner_filters_free(regex_t *filters, size_t n);
/* A stable 32-bit FNV-1a hash of the test id "SUITE/TEST". */
uint32_t runner_test_hash(const char *suite, const char *test);

/* Recorded test durations (--durations FILE), sorted by id "SUITE/TEST". */
typedef struct RunDuration {
        char *id;
        double sec;
} RunDuration;
typedef struct RunDurations {
        RunDuration *v;
        size_t n;
} RunDurations;

void runner_durations_sort(RunDurations *d);
bool runner_durations_find(const RunDurations *d, const char *id, double *ret_sec);
void runner_durations_done(RunDurations *d);
/* durations.c: the test times of an earlier run's report, JUnit XML
 * (testcase classname/name and time) or CTRF JSON (results.tests[]: suite,
 * name, duration in ms), told apart by the first character. */
int runner_durations_load(const char *path, RunDurations *ret, ThError *err);

/* Splits n tests (ids) into total shards, ret[i] = 1..total. Tests with a
 * recorded duration go longest first into the shard with the least recorded
 * time (greedy LPT); tests without one (all of them without durations) go,
 * in id order, to the shard with the fewest such tests: a split by count.
 * Deterministic: a function of the ids and durations only, not of their
 * order. */
int runner_shard_assign(const char *const *ids, size_t n, unsigned total, const RunDurations *d,
                        unsigned *ret);

/* The order to start n tests (ids) in, given an earlier run's durations:
 * order[k] is the position of the k-th to start. Tests without a recorded
 * time first (new ones, of unknown length), in their given order; then the
 * others longest first (ties in their given order), so that a long test
 * does not start last and leave the other slots idle (LPT). */
int runner_order_longest_first(const char *const *ids, size_t n, const RunDurations *d,
                               size_t *order);

typedef struct RunSelect {
        const regex_t *filters; /* any of them matches "SUITE/TEST"; none = all */
        size_t n_filters;
        char *const *tags; /* NULL-terminated; a test needs one of them; NULL = all */
        RunShard shard;
        const RunDurations *durations; /* for the shards; NULL = split by count */
} RunSelect;

/* By --filter and --tag (not --shard: that needs the whole selection). */
bool runner_test_selected(const RunSelect *sel, const char *suite, const TestSpec *test);

typedef struct RunPlanItem {
        size_t suite; /* index into the suites given */
        size_t test;  /* index into that suite's tests */
        /* Set by harness run: whether the test is `skip:`ped, where its
         * name is in the run's names. */
        bool skip;
        uint32_t name;
} RunPlanItem;

/* Selected tests in suite order, then file order; with a shard, the
 * tests of that shard of the selection (runner_shard_assign()).
 * ret_n_unsharded (may be NULL): how many the selection had before. */
int runner_plan_build(Suite *const *suites, size_t n_suites, const RunSelect *sel,
                      RunPlanItem **ret, size_t *ret_n, size_t *ret_n_unsharded);
/* The shard part of it: keeps of items[0..*n) (ids[i]: item i's
 * "SUITE/TEST") those of sel's shard, in order; nothing without one. */
int runner_plan_shard(RunPlanItem *items, size_t *n, const char *const *ids, const RunSelect *sel);

/* --durations: runnable (n positions into items) put in the order of
 * runner_order_longest_first() by the ids "SUITE/TEST". */
int runner_plan_order(const char *const *ids, size_t *runnable, size_t n, const RunDurations *d);

/* A machine name (hostname) for a test: "[a-z0-9-]", at most 63 characters,
 * ending in a hash of suite, test and salt so that concurrent tests differ. */
int runner_machine_name(const char *suite, const char *test, uint32_t salt, char *buf, size_t size);
/* A file-name-safe form of a suite or test name for the output directory:
 * [A-Za-z0-9._-], others '_', at most 80 characters plus a hash suffix when
 * anything was changed or cut. */
int runner_path_component(const char *name, char *buf, size_t size);

/* ---- harness run: outcome of one try (outcome.c) ------------------------ */

#define RUN_MESSAGE_MAX 1024
#define RUN_DETAILS_MAX 4096

typedef struct RunOutcome {
        ReportStatus status;
        char type[32]; /* "" for pass */
        char message[RUN_MESSAGE_MAX];
        char details[RUN_DETAILS_MAX]; /* every expectation that failed, one a line */
} RunOutcome;

/* Adds a failure of type: the first becomes the message, every one a line
 * of details. */
void runner_outcome_add(RunOutcome *out, const char *type, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* `expect: {journal, journal-not, units, crashes}` (expect-system.c): from
 * journal.json and units beside res->stdout_path in boot mode, from the
 * exit status in direct mode. */
void runner_expect_system(const IsolateResult *res, const TestSpec *test, RunOutcome *out);

/* Streams the file at path (missing or "" = empty) line by line with bounded
 * memory and checks the regexes: every `match` must match some line, no
 * `not` may match any line. Lines longer than 64 KiB are matched in 64 KiB
 * pieces. Appends to out (status FAIL, type "expectation") on a miss.
 * Returns 0 when all held, 1 when something failed, < 0 when the file could
 * not be read. */
int runner_expect_stream(const char *path, const char *stream, const SuiteRegex *match,
                         size_t n_match, const SuiteRegex * not, size_t n_not, RunOutcome *out);

typedef enum RunNext {
        RUN_NEXT_DONE,  /* the item is finished */
        RUN_NEXT_RETRY, /* run the item again, attempt + 1 */
        RUN_NEXT_STOP,  /* finished; schedule nothing new (--fail-fast) */
} RunNext;

/* What follows try `attempt` (1-based) of at most max_attempts that ended
 * with status: another try while it did not pass and tries are left; else
 * the test is finished, and with fail_fast a final non-pass stops the run.
 * A pass after failed tries is flaky. */
RunNext runner_next_after_try(ReportStatus status, unsigned attempt, unsigned max_attempts,
                              bool fail_fast);

/* Classifies one try: isolate_r/err from isolate_run(), then status, exit
 * status and expectations on the streamed output files. timeout_usec is the
 * timeout the try ran with (--timeout overrides the test's), for messages. */
void runner_outcome_classify(int isolate_r, const ThError *err, const IsolateResult *res,
                             const TestSpec *test, uint64_t timeout_usec, RunOutcome *ret);

/* ---- harness run: the worker pool (schedule.c) -------------------------- */

/* What one try sends from its worker to the runner: a fixed-size record. */
typedef struct RunTryRecord {
        int isolate_r;
        ThError err;
        IsolateResult res;
        RunOutcome outcome;
} RunTryRecord;

typedef struct RunPoolOps {
        /* In the forked worker (its own process group, signals reset): run
         * one try and fill ret. */
        void (*work)(void *userdata, size_t item, unsigned attempt, RunTryRecord *ret);
        /* In the runner when a try ended; wall_usec as seen by the runner. */
        RunNext (*finished)(void *userdata, size_t item, unsigned attempt, const RunTryRecord *rec,
                            uint64_t wall_usec);
        /* In the runner when a try starts. May be NULL. */
        void (*started)(void *userdata, size_t item, unsigned attempt);
        /* In the runner about once a second and on every change. May be NULL. */
        void (*tick)(void *userdata, unsigned running);
        /* The item's own time limit (0 = none): the watchdog kills the worker
         * at limit + margin, in case the container's own timeout failed. */
        uint64_t (*limit_usec)(void *userdata, size_t item);
        /* In the runner: a worker called runner_pool_hold() and waits until
         * this returns (its watchdog is moved on by the time it took). NULL:
         * workers cannot hold. */
        void (*hold)(void *userdata, size_t item, const void *msg, size_t len);
} RunPoolOps;

/* In a worker: hands msg (at most RUN_HOLD_MAX bytes) to ops->hold in the
 * runner and waits until it returned. -ENOTCONN without ops->hold. */
#define RUN_HOLD_MAX 4096
int runner_pool_hold(const void *msg, size_t len);

/* In a worker: sends rec as the try's record now (once; later calls and
 * the pool's own send after ops->work do nothing), so that the runner
 * reports the try while the worker still tears its container down. */
int runner_pool_report(const RunTryRecord *rec);

/* ---- a shell in a running container (terminal.c) ------------------------- */

/* Runs the container's /bin/sh as its root (harness enter) in the terminal
 * on stdin, as the foreground process group; waits and gives the terminal
 * back. ret_status: the shell's exit status. */
int runner_terminal_shell(const char *machine, int *ret_status, ThError *err);

/* Runs items 0..n-1 with at most jobs workers at a time, one forked process
 * per try; the runner stays single-threaded and waits with poll() on pidfds,
 * the result pipes and a signalfd. SIGINT/SIGTERM stop scheduling and
 * terminate the running workers (SIGTERM, then SIGKILL after a grace period).
 * Returns 0 when every item finished or scheduling was stopped, 1 when
 * interrupted by a signal (ret_signal = which), < 0 on errors of the runner. */
int runner_pool_run(size_t n_items, unsigned jobs, const RunPoolOps *ops, void *userdata,
                    int *ret_signal, ThError *err);

/* ---- harness run: progress (progress.c) --------------------------------- */

typedef struct RunProgress {
        FILE *out;
        bool live;   /* a TTY: one status line redrawn with \r */
        bool colour; /* live, NO_COLOR unset or empty, TERM not "dumb" */
        size_t total, done, failed, errors, skipped, flaky;
        unsigned running;
        uint64_t start_usec;
        bool line_drawn;
        const char **names; /* the ids of the running tests (not owned) */
        size_t n_names;
        pid_t pid; /* the runner's (workers share the sink) */
} RunProgress;

/* Colour on a terminal, unless NO_COLOR is set and not empty
 * (https://no-color.org) or TERM is "dumb". */
bool runner_colour_wanted(bool terminal, const char *no_color, const char *term);
void runner_progress_init(RunProgress *p, FILE *out, bool live, size_t total);
void runner_progress_done(RunProgress *p);
/* A try of the test id started or ended: its name is on the status line
 * meanwhile. id must stay valid until stopped. */
void runner_progress_started(RunProgress *p, const char *id);
void runner_progress_stopped(RunProgress *p, const char *id);
/* One finished test: a line ("PASS suite/test (0.43s)", "FAIL ...: message"),
 * shown for every test when not live and for non-passes when live. */
void runner_progress_result(RunProgress *p, const char *suite, const char *test,
                            ReportStatus status, bool flaky, double time_sec, const char *message);
void runner_progress_tick(RunProgress *p, unsigned running);
/* The status line, at most width - 1 columns (cut with "..."). */
int runner_progress_format(const RunProgress *p, unsigned running, double elapsed, unsigned width,
                           char *buf, size_t size);
/* Clears the live line before other output. */
void runner_progress_clear(RunProgress *p);
/* A log sink (userdata: the RunProgress) for the run: clears the live line,
 * writes the message as th_log_stderr_sink() does, draws the line again. */
void runner_progress_log_sink(ThLogLevel level, const char *msg, void *userdata);

/* ---- install: (install.c) ----------------------------------------------- */

/* Where a test sees the local apt repository of `install:` (read-only). */
#define RUNNER_INSTALL_TARGET "/var/lib/harness-apt"
/* How long a built repository is used before it is downloaded again. */
#define RUNNER_INSTALL_MAX_AGE_USEC (7 * 24 * 3600 * USEC_PER_SEC)

void runner_register_repo_builder(void);
/* A local .deb of `install:` (relative to the suite file): its real path,
 * a regular file within the suite's directory unless allow_outside. */
int runner_install_local_path(const Suite *s, const char *item, bool allow_outside, char **ret_abs,
                              ThError *err);
/* The test's setup script: apt-get install of its `install:` items from
 * the repository at RUNNER_INSTALL_TARGET, then its own `setup`. */
int runner_install_script(const Suite *s, const TestSpec *t, bool allow_outside, char **ret,
                          ThError *err);
/* The repository for the tests of s (those selected[i], or all when
 * selected is NULL) on rootfs; *ret_dir NULL when none installs anything. */
int runner_install_repo(const Suite *s, const FixtureRootfs *rootfs, const TestSpec *tests,
                        const bool *selected, bool allow_outside, uint64_t max_age_usec,
                        FixtureProgress progress, char **ret_dir, ThError *err);

/* ---- package layers (layer.c) ------------------------------------------- */

/* Registers the container-based builder fixtures uses for `defaults.packages`. */
void runner_register_layer_builder(void);

/* ---- generated suites (suite-gen.c) ------------------------------------- */

/* s as a YAML double-quoted scalar; as a shell single-quoted word. */
void runner_yaml_quote(FILE *f, const char *s);
void runner_shell_quote(FILE *f, const char *s);
/* Writes text as DIR/NAME.yaml (NAME made a path component), atomically. */
int runner_gen_write(const char *dir, const char *name, const char *text, char **ret_path,
                     ThError *err);
/* `harness run ARGS... -- SUITES...` in this process; its exit status, or
 * -ENOMEM. */
int runner_gen_run(char *const *args, char *const *suites);
/* The folder `harness run -o OUTPUT_DIR` gives test of a (single-tree) suite. */
int runner_gen_test_dir(const char *output_dir, const char *suite, const char *test, char **ret);

/* What a test's `result` file says. */
typedef struct RunnerGenResult {
        ReportStatus status;
        char *type, *message; /* may be NULL */
        double time_sec;
} RunnerGenResult;

int runner_gen_result_read(const char *test_dir, RunnerGenResult *ret, ThError *err);
void runner_gen_result_done(RunnerGenResult *r);

/* A suite directory built piece by piece (the YAML file, the files its
 * fixtures bind, the local .debs its `install:` names), for a command such
 * as `harness pkg check` whose suite is more than one file. */
typedef struct GenSuite {
        char *dir;    /* absolute; created fresh by runner_gensuite_open() */
        char **paths; /* dir/NAME.yaml of each suite written */
        FILE *yaml;   /* the suite's text, written by the caller */
        char *text;
        size_t len;
} GenSuite;

/* Creates DIR (emptied if it exists) and an empty YAML text in g->yaml. */
int runner_gensuite_open(GenSuite *g, const char *dir, ThError *err);
void runner_gensuite_done(GenSuite *g);

/* Writes a file of the suite's directory, REL relative to it (parents
 * created), with MODE. */
int runner_gensuite_write(GenSuite *g, const char *rel, const void *data, size_t len, mode_t mode,
                          ThError *err);

/* Brings a host file into the suite's directory as REL: a hard link where
 * the file systems allow one, else a copy keeping its modification time
 * (the `install:` cache keys on it). */
int runner_gensuite_add_file(GenSuite *g, const char *source, const char *rel, ThError *err);

/* Writes g->yaml's text to DIR/NAME.yaml, adds it to g->paths, and
 * starts an empty text for the next suite. */
int runner_gensuite_finish(GenSuite *g, const char *name, ThError *err);

/* ---- debian/tests/control in check and list (dep8-files.c) ------------- */

#include "dep8.h"

typedef struct RunnerDep8 {
        Dep8Control *tests;
        DebControl *control; /* the debian/control beside it; NULL when there is none */
        char *control_path;
} RunnerDep8;

/* Whether a file given to check or list is a DEP-8 control file (named
 * "control") rather than a suite. */
bool runner_is_dep8_control(const char *path);
/* The Debian architecture this program was built for ("amd64"). */
const char *runner_dep8_host_arch(void);
/* Loads path and the debian/control two levels up, checks that every
 * test's Depends: expands; prints every error (FILE:LINE: message) to
 * stderr. Returns 0 and *ret, or a negative errno. */
int runner_dep8_load(const char *path, RunnerDep8 *ret);
void runner_dep8_done(RunnerDep8 *d);
/* The source package's name (Source: of debian/control), else "autopkgtest". */
const char *runner_dep8_source(const RunnerDep8 *d);

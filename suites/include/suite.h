/* suites: the suite file format. A libyaml loader with FILE:LINE:COL errors
 * into a plain-data model (Suite, TestSpec), strict validation, and the merge
 * of `defaults` into each test. Knows nothing of containers or reports. */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

typedef struct SuiteLoc {
        unsigned line;   /* 1-based */
        unsigned column; /* 1-based */
} SuiteLoc;

typedef enum SuiteNetwork {
        SUITE_NETWORK_NONE,
        SUITE_NETWORK_HOST,
        SUITE_NETWORK_VETH,
        _SUITE_NETWORK_MAX,
        _SUITE_NETWORK_INVALID = -EINVAL,
} SuiteNetwork;

typedef struct SuiteFixture {
        char *source;     /* as written (relative to the suite file's directory) */
        char *source_abs; /* resolved against the suite file's directory */
        char *target;     /* absolute path inside the container */
        bool writable;
        SuiteLoc loc;
} SuiteFixture;

typedef struct SuiteRegex {
        char *pattern; /* POSIX extended */
        regex_t re;    /* compiled at load time with REG_EXTENDED|REG_NEWLINE */
        SuiteLoc loc;
        bool borrowed; /* re is shared with the same regex in defaults; freed there */
} SuiteRegex;

typedef struct SuiteEnv {
        char *key;
        char *value;
} SuiteEnv;

/* Which fields were set explicitly (in defaults or in the test); like
 * nspawn's SettingsMask. */
typedef enum SuiteField {
        SUITE_FIELD_RUN = 1u << 0,
        SUITE_FIELD_BOOT = 1u << 1,
        SUITE_FIELD_TIMEOUT = 1u << 2,
        SUITE_FIELD_NETWORK = 1u << 3,
        SUITE_FIELD_PRIVATE_USERS = 1u << 4,
        SUITE_FIELD_USER = 1u << 5,
        SUITE_FIELD_WORKDIR = 1u << 6,
        SUITE_FIELD_ENV = 1u << 7,
        SUITE_FIELD_FIXTURES = 1u << 8,
        SUITE_FIELD_LIMITS = 1u << 9,
        SUITE_FIELD_SETUP = 1u << 10,
        SUITE_FIELD_EXPECT = 1u << 11,
        SUITE_FIELD_ARTIFACTS = 1u << 12,
        SUITE_FIELD_TAGS = 1u << 13,
        SUITE_FIELD_RETRIES = 1u << 14,
        SUITE_FIELD_SKIP = 1u << 15,
        SUITE_FIELD_PACKAGES = 1u << 16,
        SUITE_FIELD_INSTALL = 1u << 17,
        SUITE_FIELD_REBOOTS = 1u << 18,
        SUITE_FIELD_FULL_BOOT = 1u << 19,
} SuiteField;

/* Which keys of `expect` and `limits` were set; they merge key by key. */
typedef enum SuiteSubField {
        SUITE_EXPECT_EXIT = 1u << 0,
        SUITE_EXPECT_STDOUT = 1u << 1,
        SUITE_EXPECT_STDOUT_NOT = 1u << 2,
        SUITE_EXPECT_STDERR = 1u << 3,
        SUITE_EXPECT_STDERR_NOT = 1u << 4,
        SUITE_EXPECT_JOURNAL = 1u << 5,
        SUITE_EXPECT_JOURNAL_NOT = 1u << 6,
        SUITE_EXPECT_UNITS = 1u << 7,
        SUITE_EXPECT_CRASHES = 1u << 16,
        SUITE_EXPECT_SKIP_EXIT = 1u << 12,
        SUITE_EXPECT_STDERR_EMPTY = 1u << 13,
        SUITE_LIMIT_MEMORY = 1u << 8,
        SUITE_LIMIT_PIDS = 1u << 9,
        SUITE_LIMIT_CPU = 1u << 10,
        SUITE_LIMIT_ARTIFACTS = 1u << 11,
        SUITE_LIMIT_OUTPUT = 1u << 17,
} SuiteSubField;

typedef struct SuiteExpect {
        int exit_status; /* default 0 */
        SuiteRegex *stdout_match, *stdout_not, *stderr_match, *stderr_not;
        size_t n_stdout_match, n_stdout_not, n_stderr_match, n_stderr_not;
        /* Boot mode: journal entries of journal_priority (0 emerg .. 7
         * debug, default 7: all) or more important, as
         * "IDENTIFIER[PID]: MESSAGE": every journal_match must match one,
         * no journal_not any. */
        SuiteRegex *journal_match, *journal_not;
        size_t n_journal_match, n_journal_not;
        int journal_priority;
        /* Boot mode, `units:`: pairs of unit name and state (NULL-terminated,
         * [name, state, name, state, ...]); units_no_failed: `failed: none`. */
        char **units;
        bool units_no_failed;
        bool no_crashes; /* `crashes: none` */
        /* `skip-exit: N`: the test skipped itself when `run` exits with N
         * (a test that knows it cannot run here: autopkgtest's skippable,
         * exit 77); 1 to 255, 0 = none. */
        int skip_exit;
        /* `stderr-empty: true`: anything on stderr fails the test (the
         * message quotes its first line). */
        bool stderr_empty;
} SuiteExpect;

typedef struct TestSpec {
        char *name;
        SuiteLoc loc;          /* of the test's mapping in the file */
        uint32_t set;          /* SuiteField bits set explicitly (here or in defaults) */
        uint32_t sub_set;      /* SuiteSubField bits of expect and limits */
        char *run;             /* shell script, run with /bin/sh -c */
        char *setup;           /* shell script run before `run` in the same container */
        bool boot;             /* default true */
        bool full_boot;        /* boot every unit of the tree; default false (light boot) */
        uint64_t timeout_usec; /* default 120 s */
        SuiteNetwork network;  /* default none */
        char *network_group;   /* veth group name for `network: {veth: NAME}`; NULL */
        bool private_users;    /* default true */
        /* Where `private-users` was set (line 0: the default). */
        SuiteLoc private_users_loc;
        char *user;    /* NULL = root */
        char *workdir; /* NULL = / */
        SuiteEnv *env;
        size_t n_env;
        SuiteFixture *fixtures;
        size_t n_fixtures;
        uint64_t memory_bytes; /* 0 = unlimited */
        uint64_t pids;         /* 0 = unlimited */
        double cpu;            /* 0 = unlimited */
        /* Bytes the artifacts may take when copied out; default
         * SUITE_ARTIFACTS_DEFAULT. */
        uint64_t artifacts_bytes;
        /* Bytes of everything the container writes for the harness (stdout,
         * stderr, the journal, the boot-mode state files); default
         * SUITE_OUTPUT_DEFAULT. */
        uint64_t output_bytes;
        SuiteExpect expect;
        char **artifacts; /* NULL-terminated container paths */
        char **tags;      /* NULL-terminated */
        unsigned retries;
        char *skip; /* skip reason; NULL = run; `skip: true` gives "skipped" */
        /* defaults only: the cached layer's packages: names, or apt
         * relations ("a (>= 1) | b, c") installed with `apt-get satisfy`. */
        char **packages;
        SuiteLoc packages_loc;
        /* `install: [pkg, pkg=version, ./local.deb]`: installed with apt
         * from the suite's cached local repository before `setup`. Local
         * files are as written (relative to the suite file's directory). */
        char **install;
        SuiteLoc install_loc; /* where the test's (or the defaults') list is */
        /* `reboots: N` (boot mode): the container may reboot N times,
         * keeping its files, and the test unit runs again after each; one
         * more fails the test. 0 = a reboot is not expected. */
        unsigned reboots;
} TestSpec;

/* rootfs: either a directory (relative to the suite file) or a managed tree. */
typedef struct SuiteRootfs {
        char *dir;     /* set for a directory; resolved against the suite's directory */
        char *distro;  /* managed: "debian" */
        char *release; /* managed: "bookworm", "trixie" */
        char *variant; /* managed: NULL = default */
        char **include;
        char *mirror;
        SuiteLoc loc;
} SuiteRootfs;

typedef struct Suite {
        char *path;        /* the file as given */
        char *base_dir;    /* the file's directory (absolute) */
        char *name;        /* `name:` or the file stem */
        SuiteLoc name_loc; /* of the `name:` value; line 0: the file stem */
        /* `rootfs: [debian:bookworm, debian:trixie]`: the suite is loaded
         * once per tree (suite_load_matrix), this load has matrix_index of
         * n_matrix, its name is "NAME@LABEL" (the release, or the
         * directory's name). n_matrix 1: a single tree, the name as is. */
        size_t matrix_index, n_matrix;
        SuiteRootfs rootfs;
        TestSpec defaults;
        TestSpec *tests; /* defaults already merged in; NULL from suite_load_each() */
        size_t n_tests;
        size_t n_file_tests; /* how many the file has */
        char sha256[65];     /* of the file's bytes, hex; "" for a buffer */
} Suite;

/* One located message: "FILE:LINE:COL: message". */
typedef struct SuiteDiag {
        char *file;
        SuiteLoc loc;
        char *message;
} SuiteDiag;

typedef struct SuiteDiags {
        SuiteDiag *items;
        size_t n;
        bool truncated; /* more than SUITE_MAX_DIAGS errors */
} SuiteDiags;

#define SUITE_MAX_DIAGS 20

/* Limits on what a suite file may hold (enforced at load time). */
#define SUITE_MAX_FILE_SIZE (1024 * 1024) /* bytes of YAML */
#define SUITE_MAX_DEPTH     32            /* nesting of mappings and sequences */
#define SUITE_MAX_TESTS     100000
#define SUITE_MAX_STRING    (256 * 1024) /* any one scalar */
#define SUITE_MAX_NAME      256          /* suite and test names, bytes */
#define SUITE_MAX_PACKAGE   128          /* a `packages:` name, bytes */
#define SUITE_MAX_RELATION  4096         /* a `packages:` relation, bytes */
#define SUITE_MAX_LIST      4096         /* items of env, fixtures, tags, artifacts, regexes */
#define SUITE_MAX_RETRIES   10
#define SUITE_MAX_REBOOTS   100
#define SUITE_MAX_MODEL     (64u * 1024 * 1024) /* bytes of model after merging defaults */
#define SUITE_MAX_REGEX     4096                /* bytes of one pattern */
#define SUITE_MAX_REGEX_NFA 20000  /* estimated regcomp work of one pattern (nodes x operators) */
#define SUITE_MAX_REGEX_ALL 250000 /* the same for all patterns of a suite */

/* `limits: {artifacts: ...}` when not set. */
#define SUITE_ARTIFACTS_DEFAULT (256ull * 1024 * 1024)
/* `limits: {output: ...}` when not set. */
#define SUITE_OUTPUT_DEFAULT (2ull * 1024 * 1024 * 1024)

/* Loads and validates a suite. Returns 0 and *ret, or a negative errno with
 * *ret NULL: -EINVAL for an invalid suite, -EFBIG over SUITE_MAX_FILE_SIZE,
 * the open/read errno for an unreadable file, -ENOMEM. diags (zeroed by the
 * caller, may be NULL) gets every error found, sorted by position, at most
 * SUITE_MAX_DIAGS; an error about the whole file has line 0. Messages and
 * s->path name the file as given; relative rootfs and fixture paths resolve
 * against the real directory of the file. */
int suite_load(const char *path, Suite **ret, SuiteDiags *diags);
/* The same for the index'th tree of a `rootfs:` list (suite_load: 0);
 * *ret's n_matrix says how many there are. */
int suite_load_matrix(const char *path, size_t index, Suite **ret, SuiteDiags *diags);
/* Each test of a suite file as it is loaded, so that a caller that does not
 * need them all at once never holds them all: the file is checked as by
 * suite_load_matrix() (the same errors, the same result), but its tests
 * are not kept in *ret (tests NULL, n_tests 0, n_file_tests set); each
 * valid one is handed to fn, in file order (index: its position in the
 * file), as long as the file has no error so far. fn may move *t out
 * (leaving it zeroed); else it is freed when fn returns. A negative return
 * stops the load with that error (a suite loaded up to a point is no
 * suite: the caller drops what fn kept when the load fails).
 *
 * With sha256 set the file must still have those bytes (Suite.sha256 of an
 * earlier load; else -ESTALE, "changed since it was checked"); with it and
 * count > 0, only tests [first, first + count) are parsed and handed out,
 * the others skipped unread (they passed when the file was checked). */
typedef int (*SuiteTestFn)(void *userdata, const Suite *s, size_t index, TestSpec *t);
typedef struct SuiteEach {
        SuiteTestFn fn; /* NULL: only check */
        void *userdata;
        size_t first, count; /* count 0: every test */
        const char *sha256;  /* NULL: any */
} SuiteEach;
int suite_load_each(const char *path, size_t index, const SuiteEach *each, Suite **ret,
                    SuiteDiags *diags);
/* The same from a buffer (for tests and fuzzing): name is used in messages
 * and, made absolute against the working directory, as the file's location. */
int suite_load_buffer(const char *name, const char *data, size_t size, Suite **ret,
                      SuiteDiags *diags);

Suite *suite_free(Suite *s);
/* Frees what a TestSpec holds (one moved out of suite_load_each()). */
void test_spec_done(TestSpec *t);
void suite_diags_done(SuiteDiags *d);

/* Formats a diag as "FILE:LINE:COL: message" (or "FILE: message" for errors
 * about the whole file, line 0) into a malloc'ed string; NULL on OOM. */
char *suite_diag_format(const SuiteDiag *d);

const char *suite_network_to_string(SuiteNetwork n);
SuiteNetwork suite_network_from_string(const char *s);

/* The stable id of a test, "SUITE-NAME/TEST-NAME"; malloc'ed, NULL on OOM. */
char *suite_test_id(const Suite *s, const TestSpec *t);

/* Whether an `install:` item names a local .deb file (has a `/`, ends in
 * `.deb`) rather than a package of the archive. */
bool suite_install_is_local(const char *item);

/* Whether a `packages:` item is an apt relation ("a (>= 1) | b, c") rather
 * than a package name: it has a space, a comma, `|`, `(` or `[`. */
bool suite_package_is_relation(const char *item);
/* Whether a `packages:` item is one harness hands to apt: a name of letters,
 * digits and +-.:=/_~ (at most SUITE_MAX_PACKAGE bytes) or a relation of
 * those and <>()|,[]! and spaces (at most SUITE_MAX_RELATION), never
 * starting with '-' (an apt-get option) or a space. The loader refuses any
 * other, so `harness check` and `harness run` agree; the layer checks again. */
bool suite_package_valid(const char *item);

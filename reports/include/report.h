/* reports: JUnit XML, TAP 14 and JSON (CTRF-shaped) writers and JUnit merge,
 * from a small result model of its own that the runner fills. Knows nothing
 * of containers or YAML. Every writer writes atomically (tmp + fsync +
 * rename) and sanitises text for its format. Every string and array in the
 * model is owned (malloc'd) by it and freed by report_*_done(); writers only
 * read it. Layout of each format: docs/reports.md. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

typedef enum ReportStatus {
        REPORT_PASS,
        REPORT_FAIL,  /* the test's fault: status, expectation, timeout, OOM */
        REPORT_ERROR, /* ours or the environment's: the container could not be set up */
        REPORT_SKIP,
        _REPORT_STATUS_MAX,
        _REPORT_STATUS_INVALID = -EINVAL,
} ReportStatus;

/* A failed try before the final one (Surefire's flakyFailure/rerunFailure). */
typedef struct ReportAttempt {
        ReportStatus status; /* REPORT_FAIL or REPORT_ERROR */
        char *type;          /* "exit-status", "expectation", "timeout", "oom", ... */
        char *message;       /* one line */
        double time_sec;
        char *stdout_path; /* full log of that try; may be NULL */
        char *stderr_path;
} ReportAttempt;

typedef struct ReportCase {
        char *name;
        char *classname; /* the suite name */
        char *file;      /* suite file; may be NULL */
        unsigned line;   /* line of the test in the suite; 0 = unknown */
        double time_sec;
        ReportStatus status;
        char *type;    /* failure/error type; NULL for pass/skip */
        char *message; /* one-line reason; skip reason for skips */
        char *details; /* multi-line details (failure body); may be NULL */
        /* Full logs on disk; the XML holds a capped head+tail copy and
         * references the files with [[ATTACHMENT|path]]. May be NULL. */
        char *stdout_path;
        char *stderr_path;
        char **attachments;      /* NULL-terminated extra files (journal, artifacts) */
        bool flaky;              /* passed after failed tries */
        ReportAttempt *attempts; /* failed tries before the final one */
        size_t n_attempts;
        char **tags; /* NULL-terminated; may be NULL */
} ReportCase;

/* A suite's time is not kept: every writer gives a suite the sum of its
 * cases' times (each rounded to the millisecond, so the file adds up), which
 * is what a suite cost whatever ran in parallel; the run's own wall time is
 * ReportRun.time_sec. */
typedef struct ReportSuite {
        char *name;
        char *file;
        char *hostname;
        uint64_t timestamp_usec; /* CLOCK_REALTIME at start */
        ReportCase *cases;
        size_t n_cases;
        /* Instead of cases (NULL): n_cases cases kept elsewhere (a
         * ReportSpool), each loaded by load_case into a ReportCase that the
         * writer frees with report_case_done() once written, so that a
         * report of any size is written in bounded memory. */
        int (*load_case)(void *userdata, size_t i, ReportCase *ret);
        /* Optional, with load_case: only case i's status, flaky and time,
         * which the totals need (cheaper than loading the whole case). */
        int (*load_summary)(void *userdata, size_t i, ReportStatus *ret_status, bool *ret_flaky,
                            double *ret_time_sec);
        void *load_userdata;
} ReportSuite;

typedef struct ReportRun {
        ReportSuite *suites;
        size_t n_suites;
        bool interrupted;        /* the run was stopped before it finished */
        double time_sec;         /* wall time of the whole run; 0 = the suites' sum */
        uint64_t timestamp_usec; /* CLOCK_REALTIME at start; 0 = the earliest suite's */
} ReportRun;

/* Which consumers' schema the JUnit file follows (docs/reports.md). */
typedef enum ReportJunitFlavor {
        /* GitLab, Jenkins' junit plugin, GitHub actions: file/line and
         * properties per testcase, skipped/timestamp on testsuites. */
        REPORT_JUNIT_DEFAULT,
        REPORT_JUNIT_JENKINS,  /* passes Jenkins xUnit's junit-10.xsd */
        REPORT_JUNIT_SUREFIRE, /* passes Maven Surefire's XSD: one <testsuite> root */
        _REPORT_JUNIT_FLAVOR_MAX,
        _REPORT_JUNIT_FLAVOR_INVALID = -EINVAL,
} ReportJunitFlavor;

typedef struct ReportOptions {
        size_t output_cap_bytes; /* per stream in the XML, head + tail; 0 = 64 KiB */
        /* The same for passing and skipped tests, whose output few readers
         * look at (Jenkins shows 1000 characters of it) but which make up
         * most of a big report; 0 = 8 KiB (or output_cap_bytes if smaller). */
        size_t passed_output_cap_bytes;
        /* [[ATTACHMENT|path]] lines and JSON attachment paths: absolute
         * (Jenkins' junit-attachments) when NULL; relative to this directory
         * when the file is under it (GitLab wants paths relative to
         * $CI_PROJECT_DIR). */
        const char *attachment_base;
        /* The TAP version line: 13 or 14; 0 = 13. The content follows TAP 14
         * either way; Perl's TAP::Parser before 3.48 (Debian 12's prove)
         * rejects "TAP version 14", and TAP 14 harnesses accept 13. */
        unsigned tap_version;
        ReportJunitFlavor junit_flavor;
} ReportOptions;

int report_write_junit(const ReportRun *run, const ReportOptions *opts, const char *path,
                       ThError *err);
int report_write_tap(const ReportRun *run, const ReportOptions *opts, const char *path,
                     ThError *err);
int report_write_json(const ReportRun *run, const ReportOptions *opts, const char *path,
                      ThError *err);
/* Merges JUnit files (from shards) into one, of the default flavor. */
int report_merge_junit(char *const *inputs, size_t n_inputs, const char *output, ThError *err);
/* The same, written as the flavor says: jenkins and surefire leave out
 * what their XSDs refuse, surefire has one <testsuite> root. */
int report_merge_junit_as(char *const *inputs, size_t n_inputs, ReportJunitFlavor flavor,
                          const char *output, ThError *err);
/* Merges TAP streams written by report_write_tap(): test points renumbered,
 * one plan, the highest version line. */
int report_merge_tap(char *const *inputs, size_t n_inputs, const char *output, ThError *err);
/* Merges CTRF JSON reports: tests concatenated, the summary recomputed. */
int report_merge_json(char *const *inputs, size_t n_inputs, const char *output, ThError *err);
/* Detects the inputs' format (all must share it) and merges them; opts
 * (may be NULL) gives the JUnit flavor of a JUnit merge. */
int report_merge(char *const *inputs, size_t n_inputs, const ReportOptions *opts,
                 const char *output, ThError *err);

/* Finished cases on disk rather than in memory: an unlinked file in a
 * directory, one record per case, appended as each case is finished and
 * read back by offset (e.g. from a ReportSuite.load_case) when the reports
 * are written. Private to the process: host byte order, no versioning. */
typedef struct ReportSpool ReportSpool;

int report_spool_open(const char *dir, ReportSpool **ret, ThError *err);
/* Appends c; *ret_offset is what report_spool_load() takes. */
int report_spool_append(ReportSpool *s, const ReportCase *c, uint64_t *ret_offset, ThError *err);
/* The case at offset, owned by the caller (report_case_done()). */
int report_spool_load(ReportSpool *s, uint64_t offset, ReportCase *ret);
/* Only its status, flaky and time (ReportSuite.load_summary). */
int report_spool_load_summary(ReportSpool *s, uint64_t offset, ReportStatus *ret_status,
                              bool *ret_flaky, double *ret_time_sec);
void report_spool_free(ReportSpool *s);

void report_run_done(ReportRun *run);
void report_suite_done(ReportSuite *s);
void report_case_done(ReportCase *c);

const char *report_status_to_string(ReportStatus s);
const char *report_junit_flavor_to_string(ReportJunitFlavor f);
/* "default" (also "gitlab"), "jenkins", "surefire". */
ReportJunitFlavor report_junit_flavor_from_string(const char *s);

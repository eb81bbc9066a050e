/* reports: declarations shared by the writers: a growable byte buffer, the
 * UTF-8 decoder and the per-format sanitisers, locale-free number formatting,
 * the capped (head + tail) reader for log files, and streamed atomic files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "report.h"

#define REPORT_OUTPUT_CAP_DEFAULT        (64u * 1024u)
#define REPORT_PASSED_OUTPUT_CAP_DEFAULT (8u * 1024u)
/* Attribute-like one-line values (messages, names) are cut here. */
#define REPORT_LINE_MAX 4096u

/* ---- byte buffer --------------------------------------------------------- */

typedef struct RBuf {
        char *data; /* always NUL-terminated once anything was added */
        size_t len;
        size_t cap;
} RBuf;

int rbuf_put(RBuf *b, const void *p, size_t n);
int rbuf_puts(RBuf *b, const char *s);
int rbuf_putc(RBuf *b, char c);
int rbuf_printf(RBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rbuf_done(RBuf *b);
static inline const char *rbuf_str(const RBuf *b)
{
        return b->data ? b->data : "";
}

/* ---- text ---------------------------------------------------------------- */

#define UTF8_REPLACEMENT 0xFFFDu

/* Decodes one code point from s (len >= 1). Strict: overlong forms,
 * surrogates and values above U+10FFFF are invalid. Returns the number of
 * bytes consumed; an invalid sequence consumes one byte and yields
 * U+FFFD in *ret_cp. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret_cp);
int utf8_encode(uint32_t cp, RBuf *out);
/* Length of a CSI escape sequence (ESC '[' params intermediates final) at s,
 * or 0 if s does not start one. ANSI colours are dropped from reports. */
size_t ansi_csi_length(const unsigned char *s, size_t len);

/* Valid UTF-8 of XML 1.0 Char only: invalid UTF-8 and illegal code points
 * become U+FFFD, ANSI CSI sequences are dropped. one_line: TAB, LF and CR
 * become spaces (attribute values) and the result is cut at REPORT_LINE_MAX
 * bytes. The result never contains NUL. Markup escaping (&, <) is left to
 * the XML writer. */
int xml_sanitize(const char *s, size_t len, bool one_line, RBuf *out);
/* Copies s to out with every `[[ATTACHMENT|` (any case) turned into
 * `[ [ATTACHMENT|`, so no text a test printed reads as an attachment line of
 * Jenkins' junit-attachments or GitLab; run it after xml_sanitize() (which
 * drops ANSI sequences that could otherwise join the two brackets). */
int attachment_defuse(const char *s, size_t len, RBuf *out);
/* Whether path can be named by an [[ATTACHMENT|...]] line as it is: no
 * control characters (a newline would start a line of its own), no `[[` or
 * `]]`. */
bool attachment_path_ok(const char *path);
/* A JSON string literal including the quotes; control characters as
 * \u00XX, invalid UTF-8 as U+FFFD. */
int json_escape(const char *s, size_t len, RBuf *out);
/* A TAP description: one line, '\' and '#' escaped, controls → U+FFFD. */
int tap_escape_description(const char *s, size_t len, RBuf *out);
/* A double-quoted YAML scalar that TAP::Parser's YAMLish reader accepts. */
int yaml_quote(const char *s, size_t len, bool one_line, RBuf *out);

/* Seconds with three decimals and a '.', never a locale's separator. */
#define REPORT_SECONDS_MAX 32
void format_seconds(double sec, char buf[static REPORT_SECONDS_MAX]);
uint64_t seconds_to_msec(double sec);
/* ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SS" (no zone, as Ant's JUnit.xsd wants). */
#define REPORT_TIMESTAMP_MAX 32
void format_timestamp(uint64_t realtime_usec, char buf[static REPORT_TIMESTAMP_MAX]);

/* ---- capped log reading -------------------------------------------------- */

/* The head and tail of a log file, read streaming: at most cap bytes are
 * held, whatever the file's size. Cut points are moved to UTF-8 character
 * boundaries. */
typedef struct Capture {
        char *head;
        size_t head_len;
        char *tail;
        size_t tail_len;
        uint64_t omitted; /* bytes between head and tail; 0 = complete */
        uint64_t total;
} Capture;

int capture_read(const char *path, size_t cap, Capture *ret, ThError *err);
void capture_done(Capture *c);
/* head + "[... N bytes omitted ...]" marker + tail, as raw bytes. */
int capture_join(const Capture *c, RBuf *out);

/* ---- atomic streamed files ----------------------------------------------- */

typedef struct ReportFile {
        int fd;
        char *path;
        char *tmp_path;
} ReportFile;

#define REPORT_FILE_NULL \
        {                \
                .fd = -1 \
        }

/* Creates a temporary file next to path. */
int report_file_open(ReportFile *f, const char *path, ThError *err);
/* fsync, close and rename over path. */
int report_file_commit(ReportFile *f, ThError *err);
/* Removes the temporary file unless committed. */
void report_file_done(ReportFile *f);

/* ---- model helpers ------------------------------------------------------- */

typedef struct ReportCounts {
        size_t tests, failures, errors, skipped, passed, flaky;
} ReportCounts;

/* Case i of s: &s->cases[i], or (s->load_case) loaded into *tmp; give it
 * back with report_case_put() once written. */
int report_case_get(const ReportSuite *s, size_t i, ReportCase *tmp, const ReportCase **ret);
void report_case_put(const ReportSuite *s, ReportCase *tmp);
/* Only case i's status, flaky and time (ReportSuite.load_summary if set). */
int report_case_summary(const ReportSuite *s, size_t i, ReportStatus *ret_status, bool *ret_flaky,
                        double *ret_time_sec);

/* A case that cannot be loaded counts as an error. */
void report_suite_count(const ReportSuite *s, ReportCounts *ret);
/* A suite's time: the sum of its cases' times, each rounded to the
 * millisecond as the reports write them, so the file adds up. */
double report_suite_time(const ReportSuite *s);
/* The run's wall time (ReportRun.time_sec, or the suites' sum if unset) and
 * start (ReportRun.timestamp_usec, or the earliest suite's; 0 = unknown). */
double report_run_time(const ReportRun *run);
uint64_t report_run_timestamp(const ReportRun *run);
const char *report_case_classname(const ReportSuite *s, const ReportCase *c);
/* The head + tail budget per stream of one case's final try. */
size_t report_output_cap(const ReportOptions *opts, const ReportCase *c);
/* A log's path as reports name it (see ReportOptions.attachment_base);
 * NULL on OOM. */
char *report_attachment_path(const ReportOptions *opts, const char *path);

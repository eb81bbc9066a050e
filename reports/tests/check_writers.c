/* reports tests: the JUnit, TAP and JSON writers and the JUnit merge, from
 * hand-built result models with hostile strings. Every report is checked by
 * the tools its consumers use: xmllint and libxml2 for JUnit, Perl's
 * TAP::Parser (what prove uses) for TAP, Python's json module for JSON. */
#include <check.h>
#include <limits.h>
#include <fcntl.h>
#include <locale.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "report.h"
#include "report-internal.h"

/* Control characters, ANSI colour, invalid UTF-8, a surrogate, U+FFFE, a
 * CDATA terminator, markup, quotes, and valid é and emoji. */
#define HOSTILE                                                                            \
        "ctl\x01\x02\x08\x0b\x0c\x1f \x1b[31mred\x1b[0m ]]> <tag a=\"b\"> & 'q' \xff\xfe " \
        "\xed\xa0\x80 \xef\xbf\xbe caf\xc3\xa9 \xf0\x9f\x98\x80"

/* main() makes the base directory and removes it after every test ran, in
 * the parent: a failed assertion ends a test's process without teardown. */
static char basedir[] = "/tmp/check-reports.XXXXXX";
static char tmpdir[PATH_MAX];

static void tmp_setup(void)
{
        ck_assert_int_ge(th_snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir), 0);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
        th_rm_rf(tmpdir);
}

static char *tmp_path(const char *name)
{
        char *p = th_strdup_printf("%s/%s", tmpdir, name);
        ck_assert_ptr_nonnull(p);
        return p;
}

static char *write_log(const char *name, const char *data)
{
        char *p = tmp_path(name);
        ck_assert_int_eq(th_write_file_atomic(p, data, strlen(data), NULL), 0);
        return p;
}

static char *xstrdup(const char *s)
{
        return s ? strdup(s) : NULL;
}

/* ---- running the consumers' tools ---------------------------------------- */

/* Runs argv, returns its exit status; its stdout goes to *ret_out if given. */
static int run_tool(char *const argv[], char **ret_out)
{
        int pipefd[2];
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(pipefd[1]);
        RBuf b = {};
        char buf[4096];
        ssize_t n;
        while ((n = read(pipefd[0], buf, sizeof(buf))) > 0)
                ck_assert_int_eq(rbuf_put(&b, buf, (size_t)n), 0);
        close(pipefd[0]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (ret_out)
                *ret_out = b.data ? b.data : strdup("");
        else
                rbuf_done(&b);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void assert_xmllint_ok(const char *path)
{
        char *argv[] = { (char *)"xmllint", (char *)"--noout", (char *)path, NULL };
        ck_assert_msg(run_tool(argv, NULL) == 0, "xmllint rejects '%s'", path);
}

static xmlDocPtr parse_xml(const char *path)
{
        xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_HUGE);
        ck_assert_msg(doc != NULL, "libxml2 cannot parse '%s'", path);
        return doc;
}

static double xpath_num(xmlDocPtr doc, const char *expr)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
        ck_assert_msg(o != NULL, "bad xpath %s", expr);
        double v = xmlXPathCastToNumber(o);
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return v;
}

static char *xpath_str(xmlDocPtr doc, const char *expr)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
        ck_assert_msg(o != NULL, "bad xpath %s", expr);
        xmlChar *s = xmlXPathCastToString(o);
        char *r = strdup((const char *)s);
        xmlFree(s);
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return r;
}

#define ck_assert_xpath_num(doc, expr, v)                                        \
        ck_assert_msg(xpath_num(doc, expr) == (v), "%s = %g, expected %g", expr, \
                      xpath_num(doc, expr), (double)(v))

/* ---- the model ------------------------------------------------------------ */

static ReportCase mkcase(const char *name, ReportStatus status, const char *type,
                         const char *message)
{
        return (ReportCase){
                .name = xstrdup(name),
                .status = status,
                .type = xstrdup(type),
                .message = xstrdup(message),
                .time_sec = 0.25,
                .file = xstrdup("suites/alpha.yaml"),
                .line = 7,
        };
}

static void add_attempt(ReportCase *c, ReportStatus status, const char *type, const char *msg,
                        const char *stdout_path)
{
        c->attempts = reallocarray(c->attempts, c->n_attempts + 1, sizeof(ReportAttempt));
        ck_assert_ptr_nonnull(c->attempts);
        c->attempts[c->n_attempts++] = (ReportAttempt){
                .status = status,
                .type = xstrdup(type),
                .message = xstrdup(msg),
                .time_sec = 1.5,
                .stdout_path = xstrdup(stdout_path),
        };
}

/* Cases of suite "alpha" (index 0..7) and "beta" (8..9). shard 0 = all,
 * 1 = even indexes, 2 = odd ones. */
#define N_ALPHA 8
#define N_BETA  2

static ReportCase alpha_case(size_t i)
{
        _cleanup_free_ char *try_log = NULL;
        ReportCase c;

        switch (i) {
        case 0:
                c = mkcase("passes", REPORT_PASS, NULL, NULL);
                c.stdout_path = write_log("passes.out", "hello\n");
                c.stderr_path = write_log("passes.err", "");
                return c;
        case 1:
                c = mkcase("fails", REPORT_FAIL, "exit-status", "exit status 1, expected 0");
                c.details = xstrdup("exit status 1\nexpected 0\n");
                c.stdout_path = write_log("fails.out", HOSTILE "\n");
                return c;
        case 2:
                try_log = write_log("flaky.try1.out", "first try " HOSTILE "\n");
                c = mkcase("flaky", REPORT_PASS, NULL, NULL);
                c.flaky = true;
                add_attempt(&c, REPORT_FAIL, "expectation", "stdout did not match 'ready'",
                            try_log);
                return c;
        case 3:
                c = mkcase("always fails", REPORT_FAIL, "timeout", "timed out after 5s");
                add_attempt(&c, REPORT_FAIL, "timeout", "timed out after 5s", NULL);
                add_attempt(&c, REPORT_ERROR, "setup", "container setup failed", NULL);
                return c;
        case 4:
                c = mkcase("skipped", REPORT_SKIP, NULL, "waiting for upstream # fix");
                return c;
        case 5:
                c = mkcase("infra", REPORT_ERROR, "setup", "mount '/srv' failed: EPERM");
                return c;
        case 6:
                c = mkcase("hostile " HOSTILE, REPORT_FAIL, "expectation\x01",
                           "line one\nline two " HOSTILE);
                c.details = xstrdup(HOSTILE "\n" HOSTILE);
                c.stderr_path = write_log("hostile.err", HOSTILE);
                c.tags = calloc(2, sizeof(char *));
                c.tags[0] = xstrdup("tag " HOSTILE);
                return c;
        default:
                c = mkcase("with attachments", REPORT_PASS, NULL, NULL);
                c.attachments = calloc(3, sizeof(char *));
                c.attachments[0] = write_log("journal.txt", "journal\n");
                c.attachments[1] = tmp_path("never-copied.txt");
                return c;
        }
}

static void add_suite(ReportRun *run, const char *name, size_t first, size_t n, int shard)
{
        run->suites = reallocarray(run->suites, run->n_suites + 1, sizeof(ReportSuite));
        ReportSuite *s = &run->suites[run->n_suites++];
        *s = (ReportSuite){
                .name = xstrdup(name),
                .file = th_strdup_printf("suites/%s.yaml", name),
                .hostname = xstrdup("host " HOSTILE),
                .timestamp_usec = UINT64_C(1700000000) * 1000000 + first,
        };
        for (size_t i = first; i < first + n; i++) {
                if (shard != 0 && (int)(i % 2) != shard - 1)
                        continue;
                s->cases = reallocarray(s->cases, s->n_cases + 1, sizeof(ReportCase));
                if (first == 0) {
                        s->cases[s->n_cases] = alpha_case(i);
                } else {
                        _cleanup_free_ char *nm = th_strdup_printf("b%zu", i);
                        s->cases[s->n_cases] = mkcase(nm, REPORT_PASS, NULL, NULL);
                }
                s->cases[s->n_cases].classname = xstrdup(name);
                s->n_cases++;
        }
}

static void build_run(ReportRun *run, int shard)
{
        *run = (ReportRun){};
        add_suite(run, "alpha", 0, N_ALPHA, shard);
        add_suite(run, "beta", N_ALPHA, N_BETA, shard);
}

static char *write_junit(const ReportRun *run, const ReportOptions *opts, const char *name)
{
        char *p = tmp_path(name);
        ThError e = {};
        ck_assert_msg(report_write_junit(run, opts, p, &e) == 0, "%s", e.msg);
        return p;
}

/* ---- JUnit ------------------------------------------------------------------ */

START_TEST(test_junit__hostile_strings_pass_xmllint)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        assert_xmllint_ok(p);

        /* é and the emoji survive; the illegal characters do not. */
        xmlDocPtr doc = parse_xml(p);
        _cleanup_free_ char *name =
                xpath_str(doc, "string(//testcase[starts-with(@name,'hostile')]/@name)");
        ck_assert(strstr(name, "caf\xc3\xa9 \xf0\x9f\x98\x80") != NULL);
        ck_assert(strstr(name, "]]> <tag a=\"b\"> & 'q'") != NULL);
        ck_assert(strchr(name, '\x01') == NULL && strchr(name, '\x1b') == NULL);
        ck_assert(strstr(name, "red") != NULL && strstr(name, "[31m") == NULL);
        _cleanup_free_ char *msg =
                xpath_str(doc, "string(//testcase[starts-with(@name,'hostile')]/failure/@message)");
        ck_assert(strchr(msg, '\n') == NULL);
        ck_assert(strstr(msg, "line one line two") != NULL);
        xmlFreeDoc(doc);
        report_run_done(&run);
}
END_TEST

/* Output that prints [[ATTACHMENT|...]] lines (any case, or with an ANSI
 * sequence the sanitiser drops between the brackets) and an artifact whose
 * name would start a line of its own: only the harness's lines remain
 * recognisable, for Jenkins' junit-attachments and GitLab alike. */
START_TEST(test_junit__printed_attachment_lines_are_defused)
{
        _cleanup_free_ char *log = write_log("fake.out", "[[ATTACHMENT|/etc/shadow]]\n"
                                                         "x [[attachment|/etc/shadow]] y\n"
                                                         "[\033[0m[ATTACHMENT|/etc/shadow]]\n"
                                                         "[[[ATTACHMENT|/etc/shadow]]\n");
        _cleanup_free_ char *evil = tmp_path("a\n[[ATTACHMENT|x]]");
        _cleanup_free_ char *good = write_log("journal.txt", "j\n");
        ck_assert_int_eq(th_write_file_atomic(evil, "e", 1, NULL), 0);
        ReportCase c = mkcase("fake", REPORT_FAIL, "expectation",
                              "stdout-not matched '[[ATTACHMENT|/etc/shadow]]'");
        c.details = xstrdup("line: [[ATTACHMENT|/etc/shadow]]\n");
        c.stdout_path = xstrdup(log);
        ck_assert_int_eq(th_strv_push(&c.attachments, evil), 0);
        ck_assert_int_eq(th_strv_push(&c.attachments, good), 0);
        ReportRun run = { .suites = calloc(1, sizeof(ReportSuite)), .n_suites = 1 };
        ck_assert_ptr_nonnull(run.suites);
        run.suites[0] =
                (ReportSuite){ .name = xstrdup("s"), .cases = calloc(1, sizeof(c)), .n_cases = 1 };
        run.suites[0].cases[0] = c;

        _cleanup_free_ char *p = write_junit(&run, NULL, "fake.xml");
        _cleanup_free_ char *xml = NULL;
        char *argv[] = { (char *)"cat", p, NULL };
        ck_assert_int_eq(run_tool(argv, &xml), 0);
        ck_assert_msg(strcasestr(xml, "[[ATTACHMENT|/etc") == NULL, "%s", xml);
        ck_assert(strcasestr(xml, "[[ATTACHMENT|x") == NULL);
        ck_assert(strstr(xml, "[ [ATTACHMENT|/etc/shadow]]") != NULL);
        ck_assert(strstr(xml, "x [ [attachment|/etc/shadow]] y") != NULL);
        /* The harness's own lines, alone on their lines, are still there. */
        _cleanup_free_ char *own = th_strdup_printf("\n[[ATTACHMENT|%s]]\n", log);
        _cleanup_free_ char *own2 = th_strdup_printf("\n[[ATTACHMENT|%s]]\n", good);
        ck_assert(strstr(xml, own) != NULL);
        ck_assert(strstr(xml, own2) != NULL);
        report_run_done(&run);
}
END_TEST

START_TEST(test_junit__structure_counts_and_reruns)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        xmlDocPtr doc = parse_xml(p);

        ck_assert_xpath_num(doc, "count(/testsuites)", 1);
        ck_assert_xpath_num(doc, "/testsuites/@tests", N_ALPHA + N_BETA);
        ck_assert_xpath_num(doc, "/testsuites/@failures", 3);
        ck_assert_xpath_num(doc, "/testsuites/@errors", 1);
        ck_assert_xpath_num(doc, "/testsuites/@skipped", 1);
        /* no run time given: the suites' times (their cases', 10 x 0.25 s) */
        ck_assert_xpath_num(doc, "/testsuites/@time", 2.5);
        ck_assert_xpath_num(doc, "count(/testsuites/testsuite)", 2);
        ck_assert_xpath_num(doc, "/testsuites/testsuite[@name='alpha']/@tests", N_ALPHA);
        ck_assert_xpath_num(doc, "/testsuites/testsuite[@name='alpha']/@failures", 3);
        ck_assert_xpath_num(doc, "/testsuites/testsuite[@name='alpha']/@errors", 1);
        ck_assert_xpath_num(doc, "/testsuites/testsuite[@name='alpha']/@skipped", 1);
        ck_assert_xpath_num(doc, "count(//testsuite[not(@timestamp) or not(@hostname)])", 0);
        _cleanup_free_ char *ts = xpath_str(doc, "string(//testsuite[@name='alpha']/@timestamp)");
        ck_assert_str_eq(ts, "2023-11-14T22:13:20");

        /* one testcase per test, classname = suite name, file and line */
        ck_assert_xpath_num(doc, "count(//testcase)", N_ALPHA + N_BETA);
        ck_assert_xpath_num(doc, "count(//testsuite[@name='alpha']/testcase[@classname!='alpha'])",
                            0);
        ck_assert_xpath_num(doc, "count(//testcase[@name='flaky'])", 1);
        ck_assert_xpath_num(doc, "//testcase[@name='fails']/@line", 7);
        _cleanup_free_ char *file = xpath_str(doc, "string(//testcase[@name='fails']/@file)");
        ck_assert_str_eq(file, "suites/alpha.yaml");

        /* flaky: passing, with a flakyFailure carrying the try's output */
        ck_assert_xpath_num(doc, "count(//testcase[@name='flaky']/failure)", 0);
        ck_assert_xpath_num(doc, "count(//testcase[@name='flaky']/flakyFailure)", 1);
        _cleanup_free_ char *ftype =
                xpath_str(doc, "string(//testcase[@name='flaky']/flakyFailure/@type)");
        ck_assert_str_eq(ftype, "expectation");
        ck_assert_xpath_num(doc, "count(//testcase[@name='flaky']/flakyFailure/stackTrace)", 1);
        _cleanup_free_ char *fout =
                xpath_str(doc, "string(//testcase[@name='flaky']/flakyFailure/system-out)");
        ck_assert(strstr(fout, "first try") != NULL);
        ck_assert(strstr(fout, "[[ATTACHMENT|/") != NULL);
        _cleanup_free_ char *att = xpath_str(doc, "string(//testcase[@name='flaky']/properties/"
                                                  "property[@name='harness.attempts']/@value)");
        ck_assert_str_eq(att, "2");

        /* failed every try: failure plus one rerun element per earlier try */
        ck_assert_xpath_num(doc, "count(//testcase[@name='always fails']/failure)", 1);
        ck_assert_xpath_num(doc, "count(//testcase[@name='always fails']/rerunFailure)", 1);
        ck_assert_xpath_num(doc, "count(//testcase[@name='always fails']/rerunError)", 1);
        _cleanup_free_ char *ftype2 =
                xpath_str(doc, "string(//testcase[@name='always fails']/failure/@type)");
        ck_assert_str_eq(ftype2, "timeout");

        /* skip and error */
        _cleanup_free_ char *skip =
                xpath_str(doc, "string(//testcase[@name='skipped']/skipped/@message)");
        ck_assert_str_eq(skip, "waiting for upstream # fix");
        ck_assert_xpath_num(doc, "count(//testcase[@name='infra']/error[@type='setup'])", 1);
        ck_assert_xpath_num(doc,
                            "count(//testcase[@name='passes']/*[self::failure or self::error or "
                            "self::skipped])",
                            0);

        /* logs and attachments */
        _cleanup_free_ char *out = xpath_str(doc, "string(//testcase[@name='passes']/system-out)");
        ck_assert(strncmp(out, "hello\n[[ATTACHMENT|/", 20) == 0);
        _cleanup_free_ char *att2 =
                xpath_str(doc, "string(//testcase[@name='with attachments']/system-out)");
        ck_assert(strstr(att2, "journal.txt]]") != NULL);
        ck_assert(strstr(att2, "never-copied") == NULL);
        ck_assert_xpath_num(doc, "count(//testcase[@name='fails']/system-err)", 0);

        xmlFreeDoc(doc);
        report_run_done(&run);
}
END_TEST

/* Writes MiB of numbered lines with colour, a control character and é. */
static void fill(int fd, size_t mib)
{
        RBuf b = {};
        for (size_t i = 0; b.len < 1024 * 1024; i++)
                ck_assert_int_eq(rbuf_printf(&b, "line %zu \x1b[32mok\x1b[0m \x01 \xc3\xa9\n", i),
                                 0);
        for (size_t i = 0; i < mib; i++)
                ck_assert_int_eq(th_write_all(fd, b.data, 1024 * 1024), 0);
        rbuf_done(&b);
}

START_TEST(test_junit__large_output_is_capped)
{
        ReportRun run;
        build_run(&run, 0);
        ReportCase *c = &run.suites[1].cases[0];
        c->stdout_path = tmp_path("big.out");
        c->stderr_path = tmp_path("big.err");
        free(run.suites[0].cases[1].stdout_path);
        run.suites[0].cases[1].stdout_path = tmp_path("big.out");
        for (int k = 0; k < 2; k++) {
                _cleanup_close_ int fd = open(k ? c->stderr_path : c->stdout_path,
                                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                ck_assert_int_ge(fd, 0);
                fill(fd, k ? 1 : 50);
        }

        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_msg(st.st_size < 2 * 1024 * 1024, "report is %jd bytes", (intmax_t)st.st_size);
        assert_xmllint_ok(p);

        xmlDocPtr doc = parse_xml(p);
        _cleanup_free_ char *out = xpath_str(doc, "string(//testcase[@name='b8']/system-out)");
        ck_assert(strncmp(out, "line 0 ok \xef\xbf\xbd \xc3\xa9\n", 15) == 0);
        ck_assert(strstr(out, " bytes omitted ...]\n") != NULL);
        ck_assert(strstr(out, "big.out]]\n") != NULL);
        /* b8 passed: the smaller cap for passing tests (plus FFFD growth) */
        ck_assert_uint_le(strlen(out), 8 * 1024 * 2);
        _cleanup_free_ char *fout = xpath_str(doc, "string(//testcase[@name='fails']/system-out)");
        ck_assert_uint_ge(strlen(fout), 40 * 1024); /* colour codes are dropped */
        ck_assert_uint_le(strlen(fout), 64 * 1024 * 2);

        /* a configured cap */
        ReportOptions small = { .output_cap_bytes = 1024 };
        _cleanup_free_ char *p2 = write_junit(&run, &small, "small.xml");
        ck_assert_int_eq(stat(p2, &st), 0);
        ck_assert_int_lt(st.st_size, 64 * 1024);
        xmlFreeDoc(doc);
        report_run_done(&run);
}
END_TEST

START_TEST(test_junit__attachment_paths_relative_to_a_base)
{
        ReportRun run;
        build_run(&run, 0);
        ReportOptions rel = { .attachment_base = tmpdir };
        _cleanup_free_ char *p = write_junit(&run, &rel, "junit.xml");
        xmlDocPtr doc = parse_xml(p);
        _cleanup_free_ char *out = xpath_str(doc, "string(//testcase[@name='passes']/system-out)");
        ck_assert_str_eq(out, "hello\n[[ATTACHMENT|passes.out]]\n");

        /* outside the base: absolute */
        ReportOptions other = { .attachment_base = "/proc" };
        _cleanup_free_ char *p2 = write_junit(&run, &other, "junit2.xml");
        xmlDocPtr doc2 = parse_xml(p2);
        _cleanup_free_ char *out2 =
                xpath_str(doc2, "string(//testcase[@name='passes']/system-out)");
        ck_assert(strncmp(out2, "hello\n[[ATTACHMENT|/", 20) == 0);

        _cleanup_free_ char *jp = tmp_path("r.json");
        ck_assert_int_eq(report_write_json(&run, &rel, jp, NULL), 0);
        _cleanup_free_ char *json = NULL;
        char *argv[] = { (char *)"cat", jp, NULL };
        ck_assert_int_eq(run_tool(argv, &json), 0);
        ck_assert(strstr(json, "\"path\":\"passes.out\"") != NULL);
        xmlFreeDoc(doc);
        xmlFreeDoc(doc2);
        report_run_done(&run);
}
END_TEST

START_TEST(test_junit__interrupted_run_is_not_green)
{
        ReportRun run = {};
        add_suite(&run, "beta", N_ALPHA, N_BETA, 0);
        run.interrupted = true;
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        assert_xmllint_ok(p);
        xmlDocPtr doc = parse_xml(p);
        ck_assert_xpath_num(doc, "/testsuites/@errors", 1);
        ck_assert_xpath_num(doc, "/testsuites/@tests", N_BETA + 1);
        ck_assert_xpath_num(
                doc, "count(//testcase[@classname='harness']/error[@type='interrupted'])", 1);
        xmlFreeDoc(doc);
        report_run_done(&run);
}
END_TEST

START_TEST(test_junit__empty_run_is_valid)
{
        ReportRun run = {};
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        assert_xmllint_ok(p);
        xmlDocPtr doc = parse_xml(p);
        ck_assert_xpath_num(doc, "/testsuites/@tests", 0);
        xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_junit__write_is_atomic_and_reports_errors)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");

        /* nothing but the report is left in the directory */
        _cleanup_closedir_ DIR *d = opendir(tmpdir);
        struct dirent *de;
        while ((de = readdir(d)))
                ck_assert_msg(strstr(de->d_name, "junit.xml.") == NULL, "left behind: %s",
                              de->d_name);

        ThError e = {};
        _cleanup_free_ char *bad = tmp_path("no/such/dir/junit.xml");
        ck_assert_int_eq(report_write_junit(&run, NULL, bad, &e), -ENOENT);
        ck_assert(strstr(e.msg, "no/such/dir/junit.xml") != NULL);
        ck_assert_int_eq(report_write_tap(&run, NULL, bad, &e), -ENOENT);
        ck_assert_int_eq(report_write_json(&run, NULL, bad, &e), -ENOENT);
        report_run_done(&run);
}
END_TEST

/* A full disk, as far as this process can tell: writes past 512 bytes fail with
 * EFBIG. Each writer must fail with its path in the message, print nothing
 * (libxml2 would, by default) and leave no temporary file. */
START_TEST(test_junit__write_errors_are_returned_not_printed)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *errlog = tmp_path("stderr.log");
        _cleanup_close_ int efd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(efd, 0);
        ck_assert_int_eq(dup2(efd, STDERR_FILENO), STDERR_FILENO);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { .rlim_cur = 512, .rlim_max = RLIM_INFINITY };
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);

        static const char *const names[] = { "r.xml", "r.tap", "r.json" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = tmp_path(names[i]);
                ThError e = {};
                int r = i == 0   ? report_write_junit(&run, NULL, p, &e)
                        : i == 1 ? report_write_tap(&run, NULL, p, &e)
                                 : report_write_json(&run, NULL, p, &e);
                ck_assert_msg(r < 0, "%s: writing past RLIMIT_FSIZE succeeded", names[i]);
                ck_assert_msg(strstr(e.msg, names[i]) != NULL, "'%s' lacks the path", e.msg);
                ck_assert_int_eq(access(p, F_OK), -1);
        }
        rl.rlim_cur = RLIM_INFINITY;
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);

        struct stat st;
        ck_assert_int_eq(stat(errlog, &st), 0);
        ck_assert_msg(st.st_size == 0, "the writers printed %jd bytes", (intmax_t)st.st_size);
        _cleanup_closedir_ DIR *d = opendir(tmpdir);
        struct dirent *de;
        while ((de = readdir(d)))
                ck_assert_msg(de->d_name[0] != 'r' || de->d_name[1] != '.', "left behind: %s",
                              de->d_name);
        report_run_done(&run);
}
END_TEST

/* A locale with ',' as decimal separator: the system's de_DE.UTF-8, or one
 * compiled into the temp dir with localedef (LOCPATH). false if neither. */
static bool comma_locale(void)
{
        if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
                _cleanup_free_ char *dest = tmp_path("de_DE.UTF-8");
                char *argv[] = { (char *)"localedef",
                                 (char *)"-i",
                                 (char *)"de_DE",
                                 (char *)"-f",
                                 (char *)"UTF-8",
                                 dest,
                                 NULL };
                if (run_tool(argv, NULL) > 1) /* 1 = warnings, locale still written */
                        return false;
                setenv("LOCPATH", tmpdir, 1);
                if (!setlocale(LC_ALL, "de_DE.UTF-8"))
                        return false;
        }
        char buf[16];
        snprintf(buf, sizeof(buf), "%.1f", 1.5);
        return strcmp(buf, "1,5") == 0;
}

START_TEST(test_junit__times_use_dot_under_a_comma_locale)
{
        bool comma = comma_locale();
        if (!comma)
                ck_assert_ptr_nonnull(setlocale(LC_ALL, "C.UTF-8"));
        ReportRun run;
        build_run(&run, 0);
        run.suites[0].cases[0].time_sec = 1234.5;
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        _cleanup_free_ char *tp = tmp_path("r.tap");
        _cleanup_free_ char *jp = tmp_path("r.json");
        ck_assert_int_eq(report_write_tap(&run, NULL, tp, NULL), 0);
        ck_assert_int_eq(report_write_json(&run, NULL, jp, NULL), 0);
        setlocale(LC_ALL, "C");

        xmlDocPtr doc = parse_xml(p);
        _cleanup_free_ char *t = xpath_str(doc, "string(//testcase[@name='passes']/@time)");
        ck_assert_str_eq(t, "1234.500");
        _cleanup_free_ char *st = xpath_str(doc, "string(/testsuites/@time)");
        ck_assert_str_eq(st, "1236.750"); /* no run time set: the suites' sum */
        ck_assert_xpath_num(doc, "count(//@time[contains(., ',')])", 0);
        xmlFreeDoc(doc);
        report_run_done(&run);
        if (!comma)
                fprintf(stderr, "note: no comma locale available; checked under C.UTF-8\n");
}
END_TEST

/* Each testsuite's time is its own (the sum of its cases' times, as
 * written), testsuites' the run's wall time: not the whole run's time
 * repeated per suite and added up. */
START_TEST(test_junit__suite_time_is_its_cases_run_time_the_wall_time)
{
        ReportRun run;
        build_run(&run, 0);
        for (size_t i = 0; i < run.suites[0].n_cases; i++)
                run.suites[0].cases[i].time_sec = 0.1 * (double)(i + 1) + 0.00049;
        run.suites[1].cases[0].time_sec = 2.0;
        run.suites[1].cases[1].time_sec = 0.75;
        run.time_sec = 3.25; /* two at a time: less than 3.6 + 2.75 */
        run.timestamp_usec = UINT64_C(1700000000) * 1000000;
        _cleanup_free_ char *p = write_junit(&run, NULL, "junit.xml");
        _cleanup_free_ char *jp = tmp_path("r.json");
        ck_assert_int_eq(report_write_json(&run, NULL, jp, NULL), 0);

        xmlDocPtr doc = parse_xml(p);
        _cleanup_free_ char *a = xpath_str(doc, "string(//testsuite[@name='alpha']/@time)");
        _cleanup_free_ char *b = xpath_str(doc, "string(//testsuite[@name='beta']/@time)");
        _cleanup_free_ char *all = xpath_str(doc, "string(/testsuites/@time)");
        ck_assert_str_eq(a, "3.600"); /* 0.100 + 0.200 + ... + 0.800 */
        ck_assert_str_eq(b, "2.750");
        ck_assert_str_eq(all, "3.250");
        ck_assert_xpath_num(doc, "round(sum(//testsuite[@name='alpha']/testcase/@time) * 1000)",
                            3600);
        _cleanup_free_ char *ts = xpath_str(doc, "string(/testsuites/@timestamp)");
        ck_assert_str_eq(ts, "2023-11-14T22:13:20");
        xmlFreeDoc(doc);

        static const char check[] = "import json, sys\n"
                                    "s = json.load(open(sys.argv[1]))['results']['summary']\n"
                                    "print(s['start'], s['stop'], s['duration'])\n";
        _cleanup_free_ char *out = NULL;
        char *argv[] = { (char *)"python3", (char *)"-c", (char *)check, jp, NULL };
        ck_assert_int_eq(run_tool(argv, &out), 0);
        ck_assert_str_eq(out, "1700000000000 1700000003250 3250\n");
        report_run_done(&run);
}
END_TEST

/* xmllint --schema XSD FILE, the XSD from reports/tests/schemas/. */
static int xsd_check(const char *xsd, const char *path, bool quiet)
{
        _cleanup_free_ char *schema = th_strdup_printf("%s/%s", REPORTS_SCHEMA_DIR, xsd);
        char *argv[] = { (char *)"sh",
                         (char *)"-c",
                         (char *)"exec xmllint --noout --schema \"$0\" \"$1\" 2>&1",
                         schema,
                         (char *)path,
                         NULL };
        _cleanup_free_ char *out = NULL;
        int r = run_tool(argv, &out);
        if (r != 0 && !quiet)
                fprintf(stderr, "%s", out);
        return r;
}

/* Every flavor passes its consumers' schema, with flaky, rerun, skipped,
 * error and hostile cases, interrupted or not. */
START_TEST(test_junit__flavors_pass_their_schemas)
{
        static const struct {
                ReportJunitFlavor flavor;
                const char *xsd;
        } flavors[] = {
                { REPORT_JUNIT_JENKINS, "junit-10.xsd" },
                { REPORT_JUNIT_SUREFIRE, "surefire-test-report.xsd" },
        };
        for (size_t f = 0; f < ELEMENTSOF(flavors); f++)
                for (int interrupted = 0; interrupted <= 1; interrupted++) {
                        ReportRun run;
                        build_run(&run, 0);
                        run.interrupted = interrupted;
                        ReportOptions o = { .junit_flavor = flavors[f].flavor };
                        _cleanup_free_ char *p = write_junit(&run, &o, "flavor.xml");
                        ck_assert_msg(xsd_check(flavors[f].xsd, p, false) == 0,
                                      "%s rejects the %s flavor", flavors[f].xsd,
                                      report_junit_flavor_to_string(flavors[f].flavor));
                        xmlDocPtr doc = parse_xml(p);
                        ck_assert_xpath_num(doc, "count(//testcase)", 10 + interrupted);
                        ck_assert_xpath_num(doc, "count(//testcase[@name='flaky']/flakyFailure)",
                                            1);
                        ck_assert_xpath_num(
                                doc, "count(//testcase[@name='always fails']/rerunFailure)", 1);
                        ck_assert_xpath_num(
                                doc, "count(//testcase[@name='always fails']/rerunError)", 1);
                        ck_assert_xpath_num(doc, "count(//testcase/@file)", 0);
                        if (flavors[f].flavor == REPORT_JUNIT_SUREFIRE) {
                                ck_assert_xpath_num(doc, "count(/testsuite)", 1);
                                ck_assert_xpath_num(doc, "/testsuite/@tests", 10 + interrupted);
                                ck_assert_xpath_num(doc, "/testsuite/@flakes", 1);
                                /* a testsuite's time is its cases' here too */
                                ck_assert_xpath_num(doc, "/testsuite/@time", 2.5);
                        }
                        xmlFreeDoc(doc);
                        report_run_done(&run);
                }

        /* The default keeps what GitLab reads (file, line, properties in
         * testcase), which is exactly what junit-10.xsd refuses. */
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = write_junit(&run, NULL, "default.xml");
        ck_assert_int_ne(xsd_check("junit-10.xsd", p, true), 0);
        xmlDocPtr doc = parse_xml(p);
        ck_assert_xpath_num(doc, "count(//testcase[@file and @line])", 10);
        xmlFreeDoc(doc);
        ck_assert_ptr_null(report_junit_flavor_to_string(_REPORT_JUNIT_FLAVOR_MAX));
        ck_assert_int_eq(report_junit_flavor_from_string("gitlab"), REPORT_JUNIT_DEFAULT);
        ck_assert_int_eq(report_junit_flavor_from_string("surefire"), REPORT_JUNIT_SUREFIRE);
        ck_assert_int_eq(report_junit_flavor_from_string("ant"), -EINVAL);
        report_run_done(&run);
}
END_TEST

/* ---- TAP ---------------------------------------------------------------------- */

static const char tap_check[] =
        "use strict; use TAP::Parser;"
        "open(my $f, '<:raw', $ARGV[0]) or die; local $/; my $t = <$f>;"
        "my $p = TAP::Parser->new({ tap => $t }); my ($yaml, $msg) = (0, '');"
        "while (my $r = $p->next) { if ($r->is_yaml) { $yaml++;"
        "  $msg = $r->data->{message} if $r->data->{severity} eq 'error'; } }"
        "my @e = $p->parse_errors; print STDERR join(\"\\n\", @e), \"\\n\" if @e;"
        "printf \"%d %d %d %d %d %d %d %s\\n\", scalar(@e), $p->version, $p->tests_planned,"
        "  $p->tests_run, scalar($p->passed), scalar($p->failed), scalar($p->skipped), $msg;";

START_TEST(test_tap__accepted_by_tap_parser)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = tmp_path("r.tap");
        ThError e = {};
        ck_assert_msg(report_write_tap(&run, NULL, p, &e) == 0, "%s", e.msg);

        _cleanup_free_ char *out = NULL;
        char *argv[] = { (char *)"perl", (char *)"-e", (char *)tap_check, p, NULL };
        ck_assert_int_eq(run_tool(argv, &out), 0);
        /* no parse errors, version 13, 10 planned and run, 6 passed
         * (pass, flaky, skip, attachments, b8, b9), 4 failed, 1 skipped */
        ck_assert_msg(strncmp(out, "0 13 10 10 6 4 1 mount '/srv' failed: EPERM\n", 44) == 0,
                      "TAP::Parser says: %s", out);
        report_run_done(&run);
}
END_TEST

/* The "TAP version 14" line: TAP::Parser >= 3.48 reads it; older ones
 * (Debian 12) refuse exactly that line, which is why 13 is the default. */
START_TEST(test_tap__version_14_line_on_request)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = tmp_path("r.tap");
        ReportOptions v14 = { .tap_version = 14 }, v15 = { .tap_version = 15 };
        ThError e = {};
        ck_assert_int_eq(report_write_tap(&run, &v15, p, &e), -EINVAL);
        ck_assert(strstr(e.msg, "TAP version 15") != NULL);
        ck_assert_int_eq(report_write_tap(&run, &v14, p, NULL), 0);

        char *vargv[] = { (char *)"perl", (char *)"-MTAP::Parser", (char *)"-e",
                          (char *)"exit($TAP::Parser::VERSION >= 3.48 ? 0 : 1)", NULL };
        bool knows_14 = run_tool(vargv, NULL) == 0;
        _cleanup_free_ char *out = NULL;
        char *argv[] = { (char *)"perl", (char *)"-e", (char *)tap_check, p, NULL };
        ck_assert_int_eq(run_tool(argv, &out), 0);
        if (knows_14)
                ck_assert_msg(strncmp(out, "0 14 10 10 6 4 1 ", 17) == 0, "%s", out);
        else /* one error, the version line; the rest parsed as TAP 13 */
                ck_assert_msg(strncmp(out, "1 13 10 10 6 4 1 ", 17) == 0, "%s", out);
        report_run_done(&run);
}
END_TEST

START_TEST(test_tap__prove_exit_follows_outcome)
{
        ReportRun run = {};
        add_suite(&run, "beta", N_ALPHA, N_BETA, 0);
        _cleanup_free_ char *p = tmp_path("pass.tap");
        ck_assert_int_eq(report_write_tap(&run, NULL, p, NULL), 0);
        char *argv[] = { (char *)"prove", (char *)"-Q", (char *)"-e", (char *)"cat", p, NULL };
        ck_assert_int_eq(run_tool(argv, NULL), 0);

        run.interrupted = true; /* one more, failing, test point */
        ck_assert_int_eq(report_write_tap(&run, NULL, p, NULL), 0);
        ck_assert_int_ne(run_tool(argv, NULL), 0);
        report_run_done(&run);
}
END_TEST

/* ---- JSON --------------------------------------------------------------------- */

static const char json_check[] =
        "import json, sys\n"
        "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
        "assert d['reportFormat'] == 'CTRF'\n"
        "r = d['results']; s = r['summary']; t = r['tests']\n"
        "assert r['tool']['name'] == 'harness'\n"
        "assert s['tests'] == len(t)\n"
        "assert s['passed'] + s['failed'] + s['skipped'] + s['pending'] + s['other'] == "
        "s['tests']\n"
        "byname = {x['name']: x for x in t}\n"
        "h = [x for x in t if x['name'].startswith('hostile')][0]\n"
        "assert 'caf\\u00e9 \\U0001f600' in h['name'] and '\\x01' in h['name'], h['name']\n"
        "assert h['stderr'][0].startswith('ctl\\x01'), h['stderr']\n"
        "f = byname['flaky']\n"
        "assert f['flaky'] is True and f['retries'] == 1 and f['status'] == 'passed'\n"
        "assert f['retryAttempts'][0]['status'] == 'failed'\n"
        "assert byname['passes']['duration'] == 250 and byname['passes']['stdout'] == ['hello']\n"
        "assert byname['infra']['status'] == 'failed' and byname['infra']['extra']['outcome'] == "
        "'error'\n"
        "assert byname['fails']['suite'] == ['alpha'] and byname['fails']['line'] == 7\n"
        "print(s['tests'], s['passed'], s['failed'], s['skipped'], s['start'] <= s['stop'],\n"
        "      r['summary']['extra']['interrupted'])\n";

START_TEST(test_json__parsed_by_python)
{
        ReportRun run;
        build_run(&run, 0);
        _cleanup_free_ char *p = tmp_path("r.json");
        ThError e = {};
        ck_assert_msg(report_write_json(&run, NULL, p, &e) == 0, "%s", e.msg);

        _cleanup_free_ char *out = NULL;
        char *argv[] = { (char *)"python3", (char *)"-c", (char *)json_check, p, NULL };
        ck_assert_int_eq(run_tool(argv, &out), 0);
        ck_assert_str_eq(out, "10 5 4 1 True False\n");

        run.interrupted = true;
        ck_assert_int_eq(report_write_json(&run, NULL, p, NULL), 0);
        free(out);
        out = NULL;
        ck_assert_int_eq(run_tool(argv, &out), 0);
        ck_assert_str_eq(out, "11 5 5 1 True True\n");
        report_run_done(&run);
}
END_TEST

/* The JSON passes ctrf-io's schema (Debian's python3-jsonschema), retries
 * and all, interrupted or not. */
static const char ctrf_check[] =
        "import json, sys, jsonschema\n"
        "schema = json.load(open(sys.argv[1]))\n"
        "doc = json.load(open(sys.argv[2], encoding='utf-8'))\n"
        "errs = list(jsonschema.Draft7Validator(schema).iter_errors(doc))\n"
        "for e in errs: print('/'.join(map(str, e.absolute_path)), e.message)\n"
        "sys.exit(1 if errs else 0)\n";

START_TEST(test_json__passes_the_ctrf_schema)
{
        /* Debian's python3, for which python3-jsonschema is installed
         * (scripts/deps), whatever other python3 is first on PATH. */
        const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        _cleanup_free_ char *schema = th_strdup_printf("%s/ctrf.schema.json", REPORTS_SCHEMA_DIR);
        for (int interrupted = 0; interrupted <= 1; interrupted++) {
                ReportRun run;
                build_run(&run, 0);
                run.interrupted = interrupted;
                _cleanup_free_ char *p = tmp_path("r.json");
                ck_assert_int_eq(report_write_json(&run, NULL, p, NULL), 0);
                _cleanup_free_ char *out = NULL;
                char *argv[] = { (char *)py, (char *)"-c", (char *)ctrf_check, schema, p, NULL };
                ck_assert_msg(run_tool(argv, &out) == 0, "ctrf.schema.json rejects it: %s", out);
                report_run_done(&run);
        }
}
END_TEST

/* ---- merge -------------------------------------------------------------------- */

static const char junit_set[] =
        "import sys, xml.etree.ElementTree as ET\n"
        "r = ET.parse(sys.argv[1]).getroot()\n"
        "cases = sorted((c.get('classname'), c.get('name'),\n"
        "                tuple(sorted(x.tag for x in c))) for c in r.iter('testcase'))\n"
        "print(repr(cases))\n"
        "print(r.get('tests'), r.get('failures'), r.get('errors'), r.get('skipped'))\n"
        "for s in sorted(r.findall('testsuite'), key=lambda s: s.get('name')):\n"
        "    print(s.get('name'), s.get('tests'), s.get('failures'), s.get('errors'),\n"
        "          s.get('skipped'), s.get('timestamp'))\n";

static char *junit_summary(const char *path)
{
        char *out = NULL;
        char *argv[] = { (char *)"python3", (char *)"-c", (char *)junit_set, (char *)path, NULL };
        ck_assert_int_eq(run_tool(argv, &out), 0);
        return out;
}

START_TEST(test_merge__shards_equal_the_full_run)
{
        ReportRun full, s1, s2;
        build_run(&full, 0);
        build_run(&s1, 1);
        build_run(&s2, 2);
        /* side by side: started together, 2 s and 3 s of wall time */
        s1.timestamp_usec = s2.timestamp_usec = UINT64_C(1700000000) * 1000000;
        s1.time_sec = 2;
        s2.time_sec = 3;
        _cleanup_free_ char *pf = write_junit(&full, NULL, "full.xml");
        _cleanup_free_ char *p1 = write_junit(&s1, NULL, "shard1.xml");
        _cleanup_free_ char *p2 = write_junit(&s2, NULL, "shard2.xml");
        _cleanup_free_ char *pm = tmp_path("merged.xml");
        char *inputs[] = { p2, p1 };
        ThError e = {};

        ck_assert_msg(report_merge_junit(inputs, 2, pm, &e) == 0, "%s", e.msg);
        assert_xmllint_ok(pm);
        _cleanup_free_ char *a = junit_summary(pf);
        _cleanup_free_ char *b = junit_summary(pm);
        ck_assert_str_eq(a, b);

        xmlDocPtr doc = parse_xml(pm);
        ck_assert_xpath_num(doc, "count(/testsuites/testsuite)", 2);
        /* each shard's alpha holds half its cases: together the full run's */
        ck_assert_xpath_num(doc, "/testsuites/testsuite[@name='alpha']/@time", 2);
        /* the merged run's wall time: the longest shard, not their sum */
        ck_assert_xpath_num(doc, "/testsuites/@time", 3);
        xmlFreeDoc(doc);
        report_run_done(&full);
        report_run_done(&s1);
        report_run_done(&s2);
}
END_TEST

START_TEST(test_merge__accepts_a_bare_testsuite_root_and_no_cases)
{
        _cleanup_free_ char *in =
                write_log("bare.xml", "<testsuite name=\"x\" tests=\"9\"><testcase "
                                      "name=\"a\" classname=\"x\"><failure/></testcase>"
                                      "</testsuite>");
        _cleanup_free_ char *out = tmp_path("out.xml");
        char *inputs[] = { in };
        ck_assert_int_eq(report_merge_junit(inputs, 1, out, NULL), 0);
        xmlDocPtr doc = parse_xml(out);
        ck_assert_xpath_num(doc, "/testsuites/@tests", 1);
        ck_assert_xpath_num(doc, "/testsuites/testsuite/@failures", 1);
        xmlFreeDoc(doc);

        /* no testcase at all (the fuzzer's first find: qsort of nothing) */
        _cleanup_free_ char *empty = write_log("empty.xml", "<testsuites/>");
        char *empties[] = { empty, empty };
        ck_assert_int_eq(report_merge_junit(empties, 2, out, NULL), 0);
        doc = parse_xml(out);
        ck_assert_xpath_num(doc, "/testsuites/@tests", 0);
        xmlFreeDoc(doc);
}
END_TEST

/* An input shard's text is defused as the writer defuses a test's output:
 * only a line alone naming a file beneath the shard's directory, or a
 * relative path without "..", stays an attachment line. */
START_TEST(test_merge__defuses_the_inputs_attachment_lines)
{
        _cleanup_free_ char *art = write_log("art.txt", "an artifact\n");
        _cleanup_free_ char *xml = th_strdup_printf(
                "<testsuites><testsuite name=\"s\"><testcase name=\"a\" classname=\"s\">"
                "<failure message=\"[[ATTACHMENT|/etc/shadow]]\">[[ATTACHMENT|/etc/passwd]]"
                "</failure><system-out>[[ATTACHMENT|/etc/shadow]]\n"
                "[[ATTACHMENT|%s]]\n"
                "x [[attachment|%s]]\n"
                "[[ATTACHMENT|sub/../../../etc/shadow]]\n"
                "[[ATTACHMENT|rel/art.txt]]\n"
                "<![CDATA[[[Attachment|/etc/group]]]]></system-out>"
                "<system-err>[[ATTACHMENT|%s/../../etc/hosts]]</system-err>"
                "</testcase></testsuite></testsuites>",
                art, art, tmpdir);
        ck_assert_ptr_nonnull(xml);
        _cleanup_free_ char *in = write_log("foreign.xml", xml);
        _cleanup_free_ char *out = tmp_path("out.xml");
        char *inputs[] = { in };
        ThError e = {};
        ck_assert_msg(report_merge_junit(inputs, 1, out, &e) == 0, "%s", e.msg);
        xmlDocPtr doc = parse_xml(out);
        _cleanup_free_ char *text = xpath_str(doc, "string(//system-out)");
        _cleanup_free_ char *kept = th_strdup_printf("\n[[ATTACHMENT|%s]]\n", art);
        ck_assert_ptr_nonnull(strstr(text, kept));
        ck_assert_ptr_nonnull(strstr(text, "\n[[ATTACHMENT|rel/art.txt]]\n"));
        ck_assert_ptr_nonnull(strstr(text, "[ [ATTACHMENT|/etc/shadow]]"));
        ck_assert_ptr_nonnull(strstr(text, "x [ [attachment|"));
        ck_assert_ptr_nonnull(strstr(text, "[ [ATTACHMENT|sub/../"));
        ck_assert_ptr_nonnull(strstr(text, "[ [Attachment|/etc/group]]"));
        xmlFreeDoc(doc);
        /* nowhere in the file: the raw tag but for the two kept lines */
        char *raw = NULL;
        size_t n = 0;
        FILE *f = fopen(out, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(getdelim(&raw, &n, '\0', f), 0);
        fclose(f);
        int count = 0;
        for (const char *p = raw; (p = strcasestr(p, "[[ATTACHMENT|")); p++)
                count++;
        ck_assert_int_eq(count, 2);
        free(raw);
}
END_TEST

START_TEST(test_merge__rejects_bad_input_naming_the_file)
{
        _cleanup_free_ char *good = write_log("good.xml", "<testsuites/>");
        _cleanup_free_ char *broken = write_log("broken.xml", "<testsuites><testsuite>");
        _cleanup_free_ char *other = write_log("other.xml", "<html/>");
        _cleanup_free_ char *missing = tmp_path("missing.xml");
        _cleanup_free_ char *xxe = write_log(
                "xxe.xml", "<?xml version=\"1.0\"?><!DOCTYPE t [<!ENTITY x SYSTEM "
                           "\"file:///etc/passwd\">]><testsuites><testsuite name=\"a\"><testcase "
                           "name=\"b\"><system-out>&x;</system-out></testcase></testsuite>"
                           "</testsuites>");
        _cleanup_free_ char *sysdtd =
                write_log("sysdtd.xml", "<!DOCTYPE t SYSTEM \"file:///etc/passwd\"><testsuites/>");
        _cleanup_free_ char *pe =
                write_log("pe.xml", "<!DOCTYPE t [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
                                    "<testsuites/>");
        RBuf laughs = {};
        ck_assert_int_eq(rbuf_puts(&laughs, "<!DOCTYPE t [<!ENTITY l0 \"lol\">"), 0);
        for (int i = 1; i < 10; i++) {
                ck_assert_int_eq(rbuf_printf(&laughs, "<!ENTITY l%d \"", i), 0);
                for (int k = 0; k < 10; k++)
                        ck_assert_int_eq(rbuf_printf(&laughs, "&l%d;", i - 1), 0);
                ck_assert_int_eq(rbuf_puts(&laughs, "\">"), 0);
        }
        ck_assert_int_eq(rbuf_puts(&laughs, "]><testsuites><testsuite name=\"&l9;\"/>"
                                            "</testsuites>"),
                         0);
        _cleanup_free_ char *lol = write_log("laughs.xml", laughs.data);
        rbuf_done(&laughs);
        _cleanup_free_ char *out = tmp_path("out.xml");
        struct {
                const char *path, *needle;
                int code;
        } cases[] = {
                { sysdtd, "DTD is not allowed", -EINVAL }, { pe, "DTD is not allowed", -EINVAL },
                { lol, "DTD is not allowed", -EINVAL },    { broken, "broken.xml': line", -EINVAL },
                { other, "not a JUnit report", -EINVAL },  { missing, "missing.xml", -ENOENT },
                { xxe, "DTD is not allowed", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *inputs[] = { good, (char *)cases[i].path };
                ThError e = {};
                ck_assert_int_eq(report_merge_junit(inputs, 2, out, &e), cases[i].code);
                ck_assert_msg(strstr(e.msg, cases[i].needle) != NULL, "'%s' lacks '%s'", e.msg,
                              cases[i].needle);
                ck_assert_int_eq(access(out, F_OK), -1);
        }
}
END_TEST

START_TEST(test_merge__rejects_the_same_testcase_twice)
{
        ReportRun s1;
        build_run(&s1, 1);
        _cleanup_free_ char *p1 = write_junit(&s1, NULL, "shard1.xml");
        _cleanup_free_ char *pm = tmp_path("merged.xml");
        char *inputs[] = { p1, p1 };
        ThError e = {};
        ck_assert_int_eq(report_merge_junit(inputs, 2, pm, &e), -EEXIST);
        ck_assert_msg(strstr(e.msg, "of 'alpha' is in both") != NULL, "%s", e.msg);
        report_run_done(&s1);
}
END_TEST

/* TAP and JSON shards merge into the full run's tests and outcomes; the
 * format is told from the content, whatever the file's name. */
START_TEST(test_merge__tap_and_json_shards_equal_the_full_run)
{
        ReportRun full, s1, s2;
        build_run(&full, 0);
        build_run(&s1, 1);
        build_run(&s2, 2);
        static const char *const ext[] = { "tap", "json" };
        int (*const writers[])(const ReportRun *, const ReportOptions *, const char *,
                               ThError *) = { report_write_tap, report_write_json };
        static const char tap_set[] =
                "use TAP::Parser; my $p = TAP::Parser->new({ source => $ARGV[0] }); my @l;"
                "while (my $r = $p->next) { push @l, join('|', $r->is_ok, $r->description,"
                "  $r->directive) if $r->is_test; }"
                "exit 1 if $p->parse_errors || $p->tests_run != $p->tests_planned;"
                "print \"$_\\n\" for sort @l;";
        static const char json_set[] =
                "import json, sys\n"
                "r = json.load(open(sys.argv[1]))['results']\n"
                "for t in sorted(r['tests'], key=lambda t: (t['suite'], t['name'])):\n"
                "    print(t['suite'], t['name'], t['status'], t['flaky'], t['retries'])\n"
                "s = r['summary']\n"
                "print(s['tests'], s['passed'], s['failed'], s['skipped'], s['flaky'],\n"
                "      s['extra']['errors'])\n";

        for (size_t f = 0; f < ELEMENTSOF(ext); f++) {
                _cleanup_free_ char *nf = th_strdup_printf("full.%s", ext[f]);
                _cleanup_free_ char *n1 = th_strdup_printf("s1.%s", ext[f]);
                _cleanup_free_ char *n2 = th_strdup_printf("s2.%s", ext[f]);
                _cleanup_free_ char *pf = tmp_path(nf), *p1 = tmp_path(n1), *p2 = tmp_path(n2);
                _cleanup_free_ char *nm = th_strdup_printf("merged.%s", ext[f]);
                _cleanup_free_ char *pm = tmp_path(nm);
                ck_assert_int_eq(writers[f](&full, NULL, pf, NULL), 0);
                ck_assert_int_eq(writers[f](&s1, NULL, p1, NULL), 0);
                ck_assert_int_eq(writers[f](&s2, NULL, p2, NULL), 0);
                char *inputs[] = { p2, p1 };
                ThError e = {};
                ck_assert_msg(report_merge(inputs, 2, NULL, pm, &e) == 0, "%s", e.msg);

                _cleanup_free_ char *a = NULL, *b = NULL;
                char *argv_f[] = { (char *)(f == 0 ? "perl" : "python3"),
                                   (char *)(f == 0 ? "-e" : "-c"),
                                   (char *)(f == 0 ? tap_set : json_set), pf, NULL };
                char *argv_m[] = { argv_f[0], argv_f[1], argv_f[2], pm, NULL };
                ck_assert_int_eq(run_tool(argv_f, &a), 0);
                ck_assert_int_eq(run_tool(argv_m, &b), 0);
                ck_assert_msg(strlen(a) > 100, "%s", a);
                ck_assert_str_eq(a, b);

                /* the same shard twice */
                char *twice[] = { p1, p1 };
                ck_assert_int_eq(report_merge(twice, 2, NULL, pm, &e), -EEXIST);
                ck_assert_msg(strstr(e.msg, "is in both") != NULL, "%s", e.msg);
        }

        /* A truncated TAP file, a JSON file that is not CTRF, mixed formats,
         * and something else: each named, none "Start tag expected". */
        _cleanup_free_ char *tap = write_log("a.tap", "TAP version 13\n1..3\nok 1 - a\n");
        _cleanup_free_ char *json = write_log("b.json", "{\"x\": [1, 2, {\"y\": null}]}");
        _cleanup_free_ char *xml = write_log("c.xml", "<testsuites/>");
        _cleanup_free_ char *txt = write_log("d.txt", "hello\n");
        _cleanup_free_ char *out = tmp_path("out");
        struct {
                char *a, *b;
                const char *needle;
        } bad[] = {
                { tap, NULL, "plan says 3 tests but there are 1" },
                { json, NULL, "not a CTRF report" },
                { xml, json, "is JUnit XML but" },
                { txt, NULL, "not a JUnit XML, TAP or CTRF JSON report" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *inputs[] = { bad[i].a, bad[i].b };
                ThError e = {};
                ck_assert_int_eq(report_merge(inputs, bad[i].b ? 2 : 1, NULL, out, &e), -EINVAL);
                ck_assert_msg(strstr(e.msg, bad[i].needle) != NULL, "'%s' lacks '%s'", e.msg,
                              bad[i].needle);
                ck_assert_int_eq(access(out, F_OK), -1);
        }
        report_run_done(&full);
        report_run_done(&s1);
        report_run_done(&s2);
}
END_TEST

/* Shards merged as a strict flavor pass that flavor's schema, whatever the
 * inputs' flavor; merged as the default they would not. */
START_TEST(test_merge__as_a_flavor_passes_its_schema)
{
        ReportRun s1, s2;
        build_run(&s1, 1);
        build_run(&s2, 2);
        static const struct {
                ReportJunitFlavor in, out;
                const char *xsd;
        } cases[] = {
                { REPORT_JUNIT_JENKINS, REPORT_JUNIT_JENKINS, "junit-10.xsd" },
                { REPORT_JUNIT_DEFAULT, REPORT_JUNIT_JENKINS, "junit-10.xsd" },
                { REPORT_JUNIT_DEFAULT, REPORT_JUNIT_SUREFIRE, "surefire-test-report.xsd" },
                { REPORT_JUNIT_SUREFIRE, REPORT_JUNIT_SUREFIRE, "surefire-test-report.xsd" },
                { REPORT_JUNIT_JENKINS, REPORT_JUNIT_SUREFIRE, "surefire-test-report.xsd" },
        };
        ReportRun full;
        build_run(&full, 0);
        /* what the strict flavors leave of the full run (no properties) */
        ReportOptions strict = { .junit_flavor = REPORT_JUNIT_JENKINS };
        _cleanup_free_ char *pf = write_junit(&full, &strict, "full.xml");
        _cleanup_free_ char *want = junit_summary(pf);
        /* the counts line of the root and per suite differ by flavor; the
         * testcases (first line) do not */
        want[strcspn(want, "\n")] = '\0';

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ReportOptions o = { .junit_flavor = cases[i].in };
                _cleanup_free_ char *p1 = write_junit(&s1, &o, "s1.xml");
                _cleanup_free_ char *p2 = write_junit(&s2, &o, "s2.xml");
                _cleanup_free_ char *pm = tmp_path("merged.xml");
                char *inputs[] = { p1, p2 };
                ThError e = {};
                ck_assert_msg(report_merge_junit_as(inputs, 2, cases[i].out, pm, &e) == 0, "%s",
                              e.msg);
                ck_assert_msg(xsd_check(cases[i].xsd, pm, false) == 0,
                              "%s rejects a merge %s -> %s", cases[i].xsd,
                              report_junit_flavor_to_string(cases[i].in),
                              report_junit_flavor_to_string(cases[i].out));
                _cleanup_free_ char *got = junit_summary(pm);
                got[strcspn(got, "\n")] = '\0';
                ck_assert_str_eq(want, got);
                xmlDocPtr doc = parse_xml(pm);
                ck_assert_xpath_num(doc, "count(//testcase)", N_ALPHA + N_BETA);
                if (cases[i].out == REPORT_JUNIT_SUREFIRE) {
                        ck_assert_xpath_num(doc, "/testsuite/@tests", N_ALPHA + N_BETA);
                        ck_assert_xpath_num(doc, "/testsuite/@failures", 3);
                        ck_assert_xpath_num(doc, "/testsuite/@flakes", 1);
                        ck_assert_xpath_num(doc, "/testsuite/@time", 2.5);
                }
                xmlFreeDoc(doc);

                /* the default merge keeps the testsuites attributes that
                 * junit-10.xsd refuses */
                if (cases[i].in == REPORT_JUNIT_JENKINS && cases[i].out == REPORT_JUNIT_JENKINS) {
                        ck_assert_int_eq(report_merge_junit(inputs, 2, pm, &e), 0);
                        ck_assert_int_ne(xsd_check(cases[i].xsd, pm, true), 0);
                }
        }
        report_run_done(&full);
        report_run_done(&s1);
        report_run_done(&s2);
}
END_TEST

/* ---- the spool ---------------------------------------------------------------- */

typedef struct SpoolSrc {
        ReportSpool *spool;
        uint64_t *offsets;
} SpoolSrc;

static int load_from(void *userdata, size_t i, ReportCase *ret)
{
        const SpoolSrc *src = userdata;
        return report_spool_load(src->spool, src->offsets[i], ret);
}

static int summary_from(void *userdata, size_t i, ReportStatus *ret_status, bool *ret_flaky,
                        double *ret_time_sec)
{
        const SpoolSrc *src = userdata;
        return report_spool_load_summary(src->spool, src->offsets[i], ret_status, ret_flaky,
                                         ret_time_sec);
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        char *data = NULL;
        size_t size = 0;

        ck_assert_ptr_nonnull(f);
        FILE *m = open_memstream(&data, &size);
        ck_assert_ptr_nonnull(m);
        for (int c; (c = fgetc(f)) != EOF;)
                fputc(c, m);
        fclose(f);
        fclose(m);
        ck_assert_uint_gt(size, 0);
        return data;
}

/* Every report written from cases read back from the spool, one at a time,
 * is the file written from the same cases in memory, byte for byte: every
 * format, every JUnit flavor, interrupted or not, with the totals from
 * whole cases or from load_summary. */
START_TEST(test_spool__reports_equal_those_from_memory)
{
        ReportRun mem, spooled = {};
        ReportSpool *spool = NULL;
        SpoolSrc src[2] = {};
        ThError e = {};

        build_run(&mem, 0);
        mem.interrupted = (_i & 1) != 0;
        mem.time_sec = 12.5;
        ck_assert_int_eq(report_spool_open(tmpdir, &spool, &e), 0);
        spooled = mem;
        spooled.suites = calloc(mem.n_suites, sizeof(ReportSuite));
        ck_assert_ptr_nonnull(spooled.suites);
        for (size_t s = 0; s < mem.n_suites; s++) {
                ReportSuite *m = &mem.suites[s];
                src[s].spool = spool;
                src[s].offsets = calloc(m->n_cases + 1, sizeof(uint64_t));
                /* appended in reverse: the order comes from the offsets */
                for (size_t k = m->n_cases; k-- > 0;)
                        ck_assert_int_eq(
                                report_spool_append(spool, &m->cases[k], &src[s].offsets[k], &e),
                                0);
                spooled.suites[s] = (ReportSuite){ .name = m->name,
                                                   .file = m->file,
                                                   .hostname = m->hostname,
                                                   .timestamp_usec = m->timestamp_usec,
                                                   .n_cases = m->n_cases,
                                                   .load_case = load_from,
                                                   .load_summary = _i & 2 ? summary_from : NULL,
                                                   .load_userdata = &src[s] };
        }
        /* What is read back is what went in. */
        ReportCase back;
        ck_assert_int_eq(report_spool_load(spool, src[0].offsets[2], &back), 0);
        ck_assert_str_eq(back.name, mem.suites[0].cases[2].name);
        ck_assert_int_eq(back.n_attempts, mem.suites[0].cases[2].n_attempts);
        report_case_done(&back);
        ck_assert_int_lt(report_spool_load(spool, UINT64_C(1) << 40, &back), 0);
        ReportStatus st;
        bool flaky;
        double secs;
        ck_assert_int_eq(report_spool_load_summary(spool, src[0].offsets[2], &st, &flaky, &secs),
                         0);
        ck_assert_int_eq(st, mem.suites[0].cases[2].status);
        ck_assert(secs == mem.suites[0].cases[2].time_sec);

        for (int f = 0; f < _REPORT_JUNIT_FLAVOR_MAX; f++) {
                ReportOptions o = { .junit_flavor = (ReportJunitFlavor)f };
                _cleanup_free_ char *a = tmp_path("mem.xml"), *b = tmp_path("spool.xml");
                ck_assert_int_eq(report_write_junit(&mem, &o, a, &e), 0);
                ck_assert_int_eq(report_write_junit(&spooled, &o, b, &e), 0);
                _cleanup_free_ char *x = slurp(a), *y = slurp(b);
                ck_assert_str_eq(x, y);
        }
        int (*writers[])(const ReportRun *, const ReportOptions *, const char *,
                         ThError *) = { report_write_tap, report_write_json };
        for (size_t w = 0; w < ELEMENTSOF(writers); w++) {
                _cleanup_free_ char *a = tmp_path("mem.out"), *b = tmp_path("spool.out");
                ck_assert_int_eq(writers[w](&mem, NULL, a, &e), 0);
                ck_assert_int_eq(writers[w](&spooled, NULL, b, &e), 0);
                _cleanup_free_ char *x = slurp(a), *y = slurp(b);
                ck_assert_str_eq(x, y);
        }
        for (size_t s = 0; s < mem.n_suites; s++)
                free(src[s].offsets);
        free(spooled.suites);
        report_spool_free(spool);
        report_run_done(&mem);
}
END_TEST

static Suite *writers_suite(void)
{
        Suite *s = suite_create("reports-writers");
        TCase *tc = tcase_create("junit");
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_junit__hostile_strings_pass_xmllint);
        tcase_add_test(tc, test_junit__printed_attachment_lines_are_defused);
        tcase_add_test(tc, test_junit__structure_counts_and_reruns);
        tcase_add_test(tc, test_junit__large_output_is_capped);
        tcase_add_test(tc, test_junit__attachment_paths_relative_to_a_base);
        tcase_add_test(tc, test_junit__interrupted_run_is_not_green);
        tcase_add_test(tc, test_junit__empty_run_is_valid);
        tcase_add_test(tc, test_junit__write_is_atomic_and_reports_errors);
        tcase_add_test(tc, test_junit__write_errors_are_returned_not_printed);
        tcase_add_test(tc, test_junit__times_use_dot_under_a_comma_locale);
        tcase_add_test(tc, test_junit__suite_time_is_its_cases_run_time_the_wall_time);
        tcase_add_test(tc, test_junit__flavors_pass_their_schemas);
        suite_add_tcase(s, tc);

        tc = tcase_create("tap-json");
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_tap__accepted_by_tap_parser);
        tcase_add_test(tc, test_tap__version_14_line_on_request);
        tcase_add_test(tc, test_tap__prove_exit_follows_outcome);
        tcase_add_test(tc, test_json__parsed_by_python);
        tcase_add_test(tc, test_json__passes_the_ctrf_schema);
        suite_add_tcase(s, tc);

        tc = tcase_create("merge");
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_merge__shards_equal_the_full_run);
        tcase_add_test(tc, test_merge__accepts_a_bare_testsuite_root_and_no_cases);
        tcase_add_test(tc, test_merge__rejects_bad_input_naming_the_file);
        tcase_add_test(tc, test_merge__defuses_the_inputs_attachment_lines);
        tcase_add_test(tc, test_merge__rejects_the_same_testcase_twice);
        tcase_add_test(tc, test_merge__tap_and_json_shards_equal_the_full_run);
        tcase_add_test(tc, test_merge__as_a_flavor_passes_its_schema);
        suite_add_tcase(s, tc);

        tc = tcase_create("spool");
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_spool__reports_equal_those_from_memory, 0, 4);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        if (!mkdtemp(basedir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        SRunner *sr = srunner_create(writers_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        th_rm_rf(basedir);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* reports fuzz: the whole JUnit and TAP writers on a one-case model built
 * from the input (name, message, type, details and the log's bytes, split
 * at NUL bytes; the first byte picks the output cap so head/tail cuts land
 * everywhere). The JUnit report must parse with libxml2 and hold exactly one
 * testcase; every TAP line must be one of the forms the writer emits. */
#include <fcntl.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "report-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fresh directory per input, removed before returning (libFuzzer may end
 * with _exit, so nothing may outlive an input); tmpfs where there is one,
 * since the writers fsync. */
static bool make_dir(char dir[static 64])
{
        snprintf(dir, 64, "/dev/shm/fuzz-junit-write.XXXXXX");
        if (mkdtemp(dir))
                return true;
        snprintf(dir, 64, "/tmp/fuzz-junit-write.XXXXXX");
        return mkdtemp(dir) != NULL;
}

/* Next NUL-separated field of the input, malloc'd. */
static char *field(const uint8_t **p, const uint8_t *end)
{
        const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
        size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
        char *s = strndup((const char *)*p, n);
        *p += nul ? n + 1 : n;
        if (!s)
                abort();
        return s;
}

static void check_junit(const char *path)
{
        xmlDocPtr doc = xmlReadFile(path, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                            XML_PARSE_HUGE);
        if (!doc)
                abort();
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)"count(//testcase)", ctx);
        if (!o || xmlXPathCastToNumber(o) != 1)
                abort();
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
}

static bool tap_line_ok(const char *l, bool *in_yaml)
{
        if (*in_yaml) {
                if (strcmp(l, "  ...") == 0)
                        *in_yaml = false;
                return strncmp(l, "  ", 2) == 0;
        }
        if (strcmp(l, "  ---") == 0)
                return (*in_yaml = true);
        return strncmp(l, "TAP version ", 12) == 0 || strncmp(l, "1..", 3) == 0 ||
               strncmp(l, "ok ", 3) == 0 || strncmp(l, "not ok ", 7) == 0;
}

static void check_tap(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t n = 0;
        bool in_yaml = false;
        unsigned points = 0;

        if (!f)
                abort();
        while (getline(&line, &n, f) > 0) {
                line[strcspn(line, "\n")] = '\0';
                if (!tap_line_ok(line, &in_yaml))
                        abort();
                points += strncmp(line, "ok ", 3) == 0 || strncmp(line, "not ok ", 7) == 0;
        }
        free(line);
        if (in_yaml || points != 1)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char log[96], xml[96], tap[96];

        if (size < 2)
                return 0;
        char dir[64];
        if (!make_dir(dir))
                abort();
        snprintf(log, sizeof(log), "%s/log", dir);
        snprintf(xml, sizeof(xml), "%s/r.xml", dir);
        snprintf(tap, sizeof(tap), "%s/r.tap", dir);

        ReportOptions opts = { .output_cap_bytes = 16 + (size_t)data[0] * 4,
                               .passed_output_cap_bytes = 16 + (size_t)data[0] };
        const uint8_t *p = data + 2, *end = data + size;
        ReportCase c = { .status = (ReportStatus)(data[1] % _REPORT_STATUS_MAX),
                         .flaky = data[1] & 0x80 };
        c.name = field(&p, end);
        c.message = field(&p, end);
        c.type = field(&p, end);
        c.details = field(&p, end);
        if (th_write_file_atomic(log, p, (size_t)(end - p), NULL) < 0)
                abort();
        c.stdout_path = strdup(log);
        ReportSuite s = { .name = strdup("fuzz"), .cases = &c, .n_cases = 1 };
        ReportRun run = { .suites = &s, .n_suites = 1 };

        if (report_write_junit(&run, &opts, xml, NULL) < 0 ||
            report_write_tap(&run, &opts, tap, NULL) < 0)
                abort();
        check_junit(xml);
        check_tap(tap);
        s.cases = NULL, s.n_cases = 0;
        report_case_done(&c);
        report_suite_done(&s);
        th_rm_rf(dir);
        return 0;
}

/* reports fuzz: report_merge_junit() on arbitrary input documents. It must
 * either fail with a message or write a well-formed report whose totals
 * match its testcases; merging a document with itself must fail whenever it
 * holds a testcase (the duplicate check). */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "report-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double xpath_num(xmlDocPtr doc, const char *expr)
{
        xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
        double v = o ? xmlXPathCastToNumber(o) : -1;
        xmlXPathFreeObject(o);
        xmlXPathFreeContext(ctx);
        return v;
}

/* Returns the number of testcases in the merged report, those of nested
 * suites included: they are not counted in the totals, but they take part in
 * the duplicate check. */
static double check_output(const char *out)
{
        xmlDocPtr doc = xmlReadFile(out, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                            XML_PARSE_HUGE);
        if (!doc)
                abort();
        if (xpath_num(doc, "/testsuites/@tests") !=
            xpath_num(doc, "count(/testsuites/testsuite/testcase)"))
                abort();
        if (xpath_num(doc, "/testsuites/@failures") !=
            xpath_num(doc, "count(/testsuites/testsuite/testcase[failure])"))
                abort();
        /* testcases under chains of testsuite elements only, as the
         * duplicate check walks them */
        double cases = xpath_num(doc, "count(/testsuites/testsuite//testcase[not(ancestor::*["
                                      "not(self::testsuite) and not(self::testsuites)]) and "
                                      "count(ancestor::testsuites) = 1])");
        xmlFreeDoc(doc);
        return cases;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char in[64], out[64];
        ThError e = {};

        /* a fresh directory per input, removed before returning: libFuzzer
         * may end with _exit, so nothing may outlive an input */
        char dir[] = "/tmp/fuzz-junit-merge.XXXXXX";
        if (!mkdtemp(dir))
                abort();
        _cleanup_close_ int fd = memfd_create("in", MFD_CLOEXEC);
        if (fd < 0 || th_write_all(fd, data, size) < 0)
                abort();
        snprintf(in, sizeof(in), "/proc/self/fd/%d", fd);
        snprintf(out, sizeof(out), "%s/out.xml", dir);

        char *inputs[] = { in, in };
        if (report_merge_junit(inputs, 1, out, &e) < 0) {
                if (e.msg[0] == '\0')
                        abort(); /* every failure says why */
        } else {
                double cases = check_output(out);
                /* the same document twice: every testcase is a duplicate */
                e = (ThError){};
                int r = report_merge_junit(inputs, 2, out, &e);
                if ((cases > 0) != (r == -EEXIST))
                        abort();
        }
        th_rm_rf(dir);
        return 0;
}

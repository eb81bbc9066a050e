/* reports: merging JUnit files (typically one per shard) into one report.
 * Inputs are parsed with libxml2 without network, DTD loading or entity
 * substitution, and parsing stops at "<!DOCTYPE": a document with a DTD is
 * refused, so XXE and entity expansion stay impossible. Suites of the same
 * name are joined, and every count is recomputed from the testcases present. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "report-internal.h"
#include "xml-lib.h"

#define XML_STR(s) ((const xmlChar *)(s))

static void xml_free_docp(xmlDocPtr *d)
{
        if (*d)
                sym_xmlFreeDoc(*d);
}
static void xml_freep(xmlChar **p)
{
        if (*p)
                sym_xmlFree(*p);
}
#define _cleanup_xml_doc_ _cleanup_(xml_free_docp)
#define _cleanup_xml_str_ _cleanup_(xml_freep)

typedef struct CaseKey {
        char *key; /* classname \x1f name */
        size_t input;
} CaseKey;

typedef struct Merge {
        xmlDocPtr doc;
        xmlNodePtr root;
        char *const *inputs;
        CaseKey *keys;
        size_t n_keys, cap_keys;
        /* The inputs' runs, for the merged run's wall time: the longest, and
         * from the earliest start to the latest end (timestamps have whole
         * seconds). */
        double longest;
        time_t first_start;
        double last_end;
        ReportJunitFlavor flavor;
} Merge;

static bool is_element(const xmlNode *n, const char *name)
{
        return n->type == XML_ELEMENT_NODE && sym_xmlStrcmp(n->name, XML_STR(name)) == 0;
}

/* Seconds as written by JUnit producers: digits, '.', digits. Locale-free;
 * anything else counts as 0. */
static double parse_seconds(const xmlChar *s)
{
        double v = 0, scale = 0.1;
        const xmlChar *p = s;

        if (!p)
                return 0;
        for (; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (*p - '0');
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        v += (*p - '0') * scale;
        return *p == '\0' ? v : 0;
}

/* SAX hook at "<!DOCTYPE": stop before any declaration inside it is read. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
        xmlParserCtxtPtr c = ctx;
        (void)name, (void)external_id, (void)system_id;
        *(bool *)c->_private = true;
        sym_xmlStopParser(c);
}

static void xml_free_parser_ctxtp(xmlParserCtxtPtr *c)
{
        if (*c)
                sym_xmlFreeParserCtxt(*c);
}

static int read_input(const char *path, xmlDocPtr *ret, ThError *err)
{
        _cleanup_(xml_free_parser_ctxtp) xmlParserCtxtPtr ctxt = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        bool dtd = false;
        xmlDocPtr doc;

        if (fd < 0)
                return th_error_errno(err, errno, "'%s'", path);
        ctxt = sym_xmlNewParserCtxt();
        if (!ctxt)
                return th_error_set(err, ENOMEM, "out of memory");
        ctxt->sax->internalSubset = refuse_dtd;
        ctxt->_private = &dtd;
        /* No XML_PARSE_NOENT / DTDLOAD / HUGE: entities are not expanded,
         * nothing external is fetched, libxml2's size limits stay on. */
        doc = sym_xmlCtxtReadFd(ctxt, fd, path, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (dtd) {
                if (doc)
                        sym_xmlFreeDoc(doc);
                return th_error_set(err, EINVAL, "'%s': a DTD is not allowed in a JUnit report",
                                    path);
        }
        if (!doc) {
                const xmlError *e = sym_xmlCtxtGetLastError(ctxt);
                char msg[256] = "not well-formed XML";
                if (e && e->message) {
                        snprintf(msg, sizeof(msg), "line %d: %s", e->line, e->message);
                        msg[strcspn(msg, "\n")] = '\0';
                }
                return th_error_set(err, EINVAL, "'%s': %s", path, msg);
        }
        *ret = doc;
        return 0;
}

static xmlNodePtr find_suite(Merge *m, const xmlChar *name)
{
        for (xmlNodePtr n = m->root->children; n; n = n->next) {
                if (!is_element(n, "testsuite"))
                        continue;
                _cleanup_xml_str_ xmlChar *other = sym_xmlGetProp(n, XML_STR("name"));
                if (sym_xmlStrcmp(other, name) == 0)
                        return n;
        }
        return NULL;
}

static int remember_case(Merge *m, xmlNodePtr tc, const xmlChar *suite_name, size_t input)
{
        _cleanup_xml_str_ xmlChar *cls = sym_xmlGetProp(tc, XML_STR("classname"));
        _cleanup_xml_str_ xmlChar *name = sym_xmlGetProp(tc, XML_STR("name"));

        if (m->n_keys == m->cap_keys) {
                size_t cap = m->cap_keys ? m->cap_keys * 2 : 256;
                CaseKey *k = realloc(m->keys, cap * sizeof(*k));
                if (!k)
                        return -ENOMEM;
                m->keys = k;
                m->cap_keys = cap;
        }
        char *key = th_strdup_printf("%s\x1f%s", cls ? (const char *)cls : (const char *)suite_name,
                                     name ? (const char *)name : "");
        if (!key)
                return -ENOMEM;
        m->keys[m->n_keys++] = (CaseKey){ .key = key, .input = input };
        return 0;
}

/* Also the testcases of nested suites: they are not counted, but readers
 * (Jenkins, GitLab) see them, so they must not repeat another shard's
 * (libxml2 bounds the nesting at 256 levels). */
static int remember_cases(Merge *m, xmlNodePtr suite, size_t input)
{
        _cleanup_xml_str_ xmlChar *sname = sym_xmlGetProp(suite, XML_STR("name"));
        int r = 0;

        for (xmlNodePtr n = suite->children; r >= 0 && n; n = n->next)
                if (is_element(n, "testcase"))
                        r = remember_case(m, n, sname ? sname : XML_STR(""), input);
                else if (is_element(n, "testsuite"))
                        r = remember_cases(m, n, input);
        return r;
}

/* Moves the testcases of a suite from another shard into the existing one,
 * and its nested suites (not counted, but read by Jenkins and GitLab, and
 * part of the duplicate check), keeping the earliest timestamp. */
static int join_suite(xmlNodePtr into, xmlNodePtr from)
{
        _cleanup_xml_str_ xmlChar *ts_into = sym_xmlGetProp(into, XML_STR("timestamp"));
        _cleanup_xml_str_ xmlChar *ts_from = sym_xmlGetProp(from, XML_STR("timestamp"));
        _cleanup_xml_str_ xmlChar *t_into = sym_xmlGetProp(into, XML_STR("time"));
        _cleanup_xml_str_ xmlChar *t_from = sym_xmlGetProp(from, XML_STR("time"));
        char secs[REPORT_SECONDS_MAX];

        for (xmlNodePtr n = from->children; n; n = n->next) {
                if (!is_element(n, "testcase") && !is_element(n, "testsuite"))
                        continue;
                xmlNodePtr copy = sym_xmlDocCopyNode(n, into->doc, /* recursive= */ 1);
                if (!copy || !sym_xmlAddChild(into, copy)) {
                        sym_xmlFreeNode(copy);
                        return -ENOMEM;
                }
        }
        if (ts_from && (!ts_into || sym_xmlStrcmp(ts_from, ts_into) < 0))
                sym_xmlSetProp(into, XML_STR("timestamp"), ts_from);
        format_seconds(parse_seconds(t_into) + parse_seconds(t_from), secs);
        sym_xmlSetProp(into, XML_STR("time"), XML_STR(secs));
        return 0;
}

static int add_suite(Merge *m, xmlNodePtr suite, size_t input)
{
        _cleanup_xml_str_ xmlChar *name = sym_xmlGetProp(suite, XML_STR("name"));
        xmlNodePtr into = name ? find_suite(m, name) : NULL;
        int r = remember_cases(m, suite, input);

        if (r < 0)
                return r;
        if (into)
                return join_suite(into, suite);
        xmlNodePtr copy = sym_xmlDocCopyNode(suite, m->doc, /* recursive= */ 1);
        if (!copy || !sym_xmlAddChild(m->root, copy)) {
                sym_xmlFreeNode(copy);
                return -ENOMEM;
        }
        return 0;
}

/* "YYYY-MM-DDTHH:MM:SS" (UTC, as written by harness; anything after the
 * seconds is ignored); 0 if not one. */
static time_t parse_timestamp(const xmlChar *s)
{
        struct tm tm = {};

        if (!s || !strptime((const char *)s, "%Y-%m-%dT%H:%M:%S", &tm))
                return 0;
        return timegm(&tm);
}

/* One input's run: its time and start (its root's, or its earliest suite's
 * timestamp). */
static void note_run(Merge *m, xmlNodePtr root)
{
        _cleanup_xml_str_ xmlChar *t = sym_xmlGetProp(root, XML_STR("time"));
        _cleanup_xml_str_ xmlChar *ts = sym_xmlGetProp(root, XML_STR("timestamp"));
        double time = parse_seconds(t);
        time_t start = parse_timestamp(ts);

        for (xmlNodePtr n = root->children; start == 0 && n; n = n->next)
                if (is_element(n, "testsuite")) {
                        _cleanup_xml_str_ xmlChar *sts = sym_xmlGetProp(n, XML_STR("timestamp"));
                        time_t st = parse_timestamp(sts);
                        if (st > 0 && (start == 0 || st < start))
                                start = st;
                }
        if (time > m->longest)
                m->longest = time;
        if (start > 0) {
                if (m->first_start == 0 || start < m->first_start)
                        m->first_start = start;
                if ((double)start + time > m->last_end)
                        m->last_end = (double)start + time;
        }
}

/* ---- attachment lines of the inputs -------------------------------------
 *
 * The JUnit writer defuses every `[[ATTACHMENT|` a test printed and writes
 * its own lines alone on theirs, for files of the run: an absolute path
 * beneath the report's output, or one relative to --attachments-relative-to
 * (never with ".."). An input shard is a file from elsewhere, so its text
 * goes through the same attachment_defuse(); only a line of <system-out>
 * or <system-err> that is such a line alone, naming an existing file beneath the shard's
 * own directory (absolute) or a relative path without "..", is kept. */

static bool has_dotdot(const char *p)
{
        for (const char *s = p; (s = strstr(s, "..")); s += 2)
                if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
                        return true;
        return false;
}

static bool attachment_line_ours(const char *line, size_t len, const char *shard_dir)
{
        static const char tag[] = "[[ATTACHMENT|";
        if (len < strlen(tag) + 3 || strncmp(line, tag, strlen(tag)) != 0 ||
            strncmp(line + len - 2, "]]", 2) != 0)
                return false;
        _cleanup_free_ char *path = strndup(line + strlen(tag), len - strlen(tag) - 2);
        if (!path || !path[0] || !attachment_path_ok(path) || has_dotdot(path))
                return false;
        if (path[0] != '/')
                return true;
        char real[PATH_MAX];
        size_t n = strlen(shard_dir);
        return shard_dir[0] && realpath(path, real) && strncmp(real, shard_dir, n) == 0 &&
               (shard_dir[n - 1] == '/' || real[n] == '/');
}

static int defuse_text(xmlNodePtr n, bool keep_own, const char *shard_dir, RBuf *out)
{
        const char *s = (const char *)n->content;
        if (!s || !strcasestr(s, "[[ATTACHMENT|"))
                return 0;
        out->len = 0;
        int r = rbuf_put(out, "", 0);
        for (const char *line = s; r >= 0 && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                if (keep_own && attachment_line_ours(line, len, shard_dir))
                        r = rbuf_put(out, line, len);
                else
                        r = attachment_defuse(line, len, out);
                if (r >= 0 && nl)
                        r = rbuf_putc(out, '\n');
                line += len + (nl ? 1 : 0);
        }
        if (r < 0)
                return r;
        sym_xmlNodeSetContent(n, (const xmlChar *)rbuf_str(out));
        return 0;
}

static int defuse_tree(xmlNodePtr n, const char *shard_dir, RBuf *out)
{
        int r = 0;
        for (; r >= 0 && n; n = n->next) {
                if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
                        r = defuse_text(n,
                                        n->parent && (is_element(n->parent, "system-out") ||
                                                      is_element(n->parent, "system-err")),
                                        shard_dir, out);
                else if (n->type == XML_ELEMENT_NODE) {
                        for (xmlAttrPtr a = n->properties; r >= 0 && a; a = a->next)
                                r = defuse_tree(a->children, shard_dir, out);
                        if (r >= 0)
                                r = defuse_tree(n->children, shard_dir, out);
                }
        }
        return r;
}

static int defuse_input(xmlNodePtr root, const char *path)
{
        char dir[PATH_MAX], real[PATH_MAX] = "";
        RBuf out = {};
        if (th_snprintf(dir, sizeof(dir), "%s", path) < 0)
                return -ENAMETOOLONG;
        if (!realpath(dirname(dir), real))
                real[0] = '\0'; /* no absolute line is kept */
        int r = defuse_tree(root, real, &out);
        rbuf_done(&out);
        return r;
}

static int add_input(Merge *m, size_t input, ThError *err)
{
        const char *path = m->inputs[input];
        _cleanup_xml_doc_ xmlDocPtr doc = NULL;
        xmlNodePtr root;
        int r;

        r = read_input(path, &doc, err);
        if (r < 0)
                return r;
        root = sym_xmlDocGetRootElement(doc);
        if (root && (is_element(root, "testsuite") || is_element(root, "testsuites")))
                note_run(m, root);
        r = root ? defuse_input(root, path) : 0;
        if (r < 0)
                return th_error_errno(err, -r, "'%s'", path);
        if (root && is_element(root, "testsuite"))
                r = add_suite(m, root, input);
        else if (root && is_element(root, "testsuites"))
                for (xmlNodePtr n = root->children; r >= 0 && n; n = n->next) {
                        if (is_element(n, "testsuite"))
                                r = add_suite(m, n, input);
                }
        else
                return th_error_set(err, EINVAL,
                                    "'%s': not a JUnit report (root element is '%s', expected "
                                    "'testsuites' or 'testsuite')",
                                    path, root ? (const char *)root->name : "(none)");
        if (r < 0)
                return th_error_errno(err, -r, "'%s'", path);
        return 0;
}

static int cmp_key(const void *a, const void *b)
{
        const CaseKey *x = a, *y = b;
        return strcmp(x->key, y->key);
}

/* The same classname+name twice would be silently dropped by GitLab, so a
 * merge that produces it fails and names both files. */
static int check_duplicates(Merge *m, ThError *err)
{
        if (m->n_keys < 2)
                return 0; /* and qsort must not see a NULL array */
        qsort(m->keys, m->n_keys, sizeof(*m->keys), cmp_key);
        for (size_t i = 1; i < m->n_keys; i++) {
                if (strcmp(m->keys[i - 1].key, m->keys[i].key) != 0)
                        continue;
                /* XML 1.0 has no U+001F, so the separator is unambiguous. */
                char *sep = strchr(m->keys[i].key, '\x1f');
                *sep = '\0';
                return th_error_set(err, EEXIST,
                                    "testcase '%s' of '%s' is in both '%s' and '%s' (the same "
                                    "shard twice?)",
                                    sep + 1, m->keys[i].key, m->inputs[m->keys[i - 1].input],
                                    m->inputs[m->keys[i].input]);
        }
        return 0;
}

static void set_count(xmlNodePtr n, const char *name, size_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%zu", v);
        sym_xmlSetProp(n, XML_STR(name), XML_STR(buf));
}

static void recount_suite(xmlNodePtr suite, ReportCounts *total)
{
        ReportCounts n = {};

        for (xmlNodePtr tc = suite->children; tc; tc = tc->next) {
                if (!is_element(tc, "testcase"))
                        continue;
                /* A testcase counts once per kind, however many <failure>
                 * (or <error>, <skipped>) elements it carries. */
                bool failure = false, error = false, skipped = false;
                n.tests++;
                for (xmlNodePtr c = tc->children; c; c = c->next) {
                        failure |= is_element(c, "failure");
                        error |= is_element(c, "error");
                        skipped |= is_element(c, "skipped");
                }
                n.failures += failure, n.errors += error, n.skipped += skipped;
        }
        set_count(suite, "tests", n.tests);
        set_count(suite, "failures", n.failures);
        set_count(suite, "errors", n.errors);
        set_count(suite, "skipped", n.skipped);
        total->tests += n.tests, total->failures += n.failures;
        total->errors += n.errors, total->skipped += n.skipped;
}

static void recount(Merge *m)
{
        _cleanup_xml_str_ xmlChar *earliest = NULL;
        ReportCounts t = {};
        char secs[REPORT_SECONDS_MAX];
        /* The merged run's wall time, not the sum of the shards': they
         * usually ran side by side. */
        double time = m->longest;

        if (m->first_start > 0 && m->last_end - (double)m->first_start > time)
                time = m->last_end - (double)m->first_start;
        for (xmlNodePtr s = m->root->children; s; s = s->next) {
                if (!is_element(s, "testsuite"))
                        continue;
                _cleanup_xml_str_ xmlChar *ts = sym_xmlGetProp(s, XML_STR("timestamp"));
                recount_suite(s, &t);
                if (ts && (!earliest || sym_xmlStrcmp(ts, earliest) < 0)) {
                        sym_xmlFree(earliest);
                        earliest = TAKE_PTR(ts);
                }
        }
        sym_xmlSetProp(m->root, XML_STR("name"), XML_STR("harness"));
        set_count(m->root, "tests", t.tests);
        set_count(m->root, "failures", t.failures);
        set_count(m->root, "errors", t.errors);
        set_count(m->root, "skipped", t.skipped);
        format_seconds(time, secs);
        sym_xmlSetProp(m->root, XML_STR("time"), XML_STR(secs));
        if (earliest)
                sym_xmlSetProp(m->root, XML_STR("timestamp"), earliest);
}

/* What junit-10.xsd and Surefire's XSD refuse on a testcase: file and line
 * attributes, properties children. */
static void strip_case(xmlNodePtr tc)
{
        xmlNodePtr next;

        sym_xmlUnsetProp(tc, XML_STR("file"));
        sym_xmlUnsetProp(tc, XML_STR("line"));
        for (xmlNodePtr c = tc->children; c; c = next) {
                next = c->next;
                if (is_element(c, "properties")) {
                        sym_xmlUnlinkNode(c);
                        sym_xmlFreeNode(c);
                }
        }
}

static const char *const surefire_order[] = {
        "failure",    "rerunFailure", "flakyFailure", "skipped",    "error",
        "rerunError", "flakyError",   "system-out",   "system-err",
};

static size_t child_rank(const xmlNode *n)
{
        for (size_t i = 0; i < ELEMENTSOF(surefire_order); i++)
                if (is_element(n, surefire_order[i]))
                        return i;
        return ELEMENTSOF(surefire_order);
}

/* A testcase's children in the order Surefire's XSD requires (a stable
 * sort: tries keep their order), with the time it requires. */
static int surefire_case(xmlNodePtr tc)
{
        _cleanup_xml_str_ xmlChar *time = sym_xmlGetProp(tc, XML_STR("time"));
        _cleanup_free_ xmlNodePtr *kids = NULL;
        size_t n = 0, cap = 0;
        xmlNodePtr next;

        strip_case(tc);
        if (!time)
                sym_xmlSetProp(tc, XML_STR("time"), XML_STR("0.000"));
        for (xmlNodePtr c = tc->children; c; c = next) {
                next = c->next;
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        xmlNodePtr *k = reallocarray(kids, cap, sizeof(*k));
                        if (!k)
                                return -ENOMEM;
                        kids = k;
                }
                kids[n++] = c;
        }
        for (size_t i = 1; i < n; i++)
                for (size_t k = i; k > 0 && child_rank(kids[k - 1]) > child_rank(kids[k]); k--) {
                        xmlNodePtr t = kids[k];
                        kids[k] = kids[k - 1];
                        kids[k - 1] = t;
                }
        for (size_t i = 0; i < n; i++) {
                sym_xmlUnlinkNode(kids[i]);
                sym_xmlAddChild(tc, kids[i]);
        }
        return 0;
}

/* Jenkins xUnit's junit-10.xsd: no skipped or timestamp on testsuites,
 * nothing of strip_case() on testcases. */
static void to_jenkins(Merge *m)
{
        sym_xmlUnsetProp(m->root, XML_STR("skipped"));
        sym_xmlUnsetProp(m->root, XML_STR("timestamp"));
        for (xmlNodePtr s = m->root->children; s; s = s->next)
                if (is_element(s, "testsuite"))
                        for (xmlNodePtr tc = s->children; tc; tc = tc->next)
                                if (is_element(tc, "testcase"))
                                        strip_case(tc);
}

/* Surefire's XSD: one <testsuite> root holding every testcase (each keeps
 * its classname), with the totals, flakes, and the cases' time. */
static int to_surefire(Merge *m)
{
        _cleanup_xml_str_ xmlChar *ts = sym_xmlGetProp(m->root, XML_STR("timestamp"));
        xmlNodePtr suite = sym_xmlNewDocNode(m->doc, NULL, XML_STR("testsuite"), NULL);
        xmlNodePtr only = NULL, next;
        size_t n_suites = 0, flakes = 0;
        ReportCounts t = {};
        char secs[REPORT_SECONDS_MAX];
        double time = 0;
        int r = 0;

        if (!suite)
                return -ENOMEM;
        for (xmlNodePtr s = m->root->children; s; s = s->next) {
                if (!is_element(s, "testsuite"))
                        continue;
                n_suites++, only = s;
                for (xmlNodePtr tc = s->children; r >= 0 && tc; tc = next) {
                        next = tc->next;
                        if (!is_element(tc, "testcase"))
                                continue;
                        _cleanup_xml_str_ xmlChar *tt = sym_xmlGetProp(tc, XML_STR("time"));
                        time += parse_seconds(tt);
                        for (xmlNodePtr c = tc->children; c; c = c->next)
                                if (is_element(c, "flakyFailure") || is_element(c, "flakyError")) {
                                        flakes++;
                                        break;
                                }
                        r = surefire_case(tc);
                        sym_xmlUnlinkNode(tc);
                        sym_xmlAddChild(suite, tc);
                }
        }
        _cleanup_xml_str_ xmlChar *name =
                n_suites == 1 ? sym_xmlGetProp(only, XML_STR("name")) : NULL;
        sym_xmlSetProp(suite, XML_STR("name"), name ? name : XML_STR("harness"));
        recount_suite(suite, &t);
        format_seconds(time, secs);
        sym_xmlSetProp(suite, XML_STR("time"), XML_STR(secs));
        if (ts)
                sym_xmlSetProp(suite, XML_STR("timestamp"), ts);
        set_count(suite, "flakes", flakes);
        xmlNodePtr old = sym_xmlDocSetRootElement(m->doc, suite);
        if (old)
                sym_xmlFreeNode(old);
        m->root = suite;
        return r;
}

static int write_output(Merge *m, const char *output, ThError *err)
{
        xmlChar *mem = NULL;
        int size = 0, r;

        sym_xmlDocDumpFormatMemoryEnc(m->doc, &mem, &size, "UTF-8", /* format= */ 1);
        if (!mem || size < 0)
                return th_error_set(err, ENOMEM, "cannot serialise the merged report");
        r = th_write_file_atomic(output, mem, (size_t)size, err);
        sym_xmlFree(mem);
        return r;
}

static void merge_done(Merge *m)
{
        for (size_t i = 0; i < m->n_keys; i++)
                free(m->keys[i].key);
        free(m->keys);
        if (m->doc)
                sym_xmlFreeDoc(m->doc);
}

int report_merge_junit(char *const *inputs, size_t n_inputs, const char *output, ThError *err)
{
        return report_merge_junit_as(inputs, n_inputs, REPORT_JUNIT_DEFAULT, output, err);
}

int report_merge_junit_as(char *const *inputs, size_t n_inputs, ReportJunitFlavor flavor,
                          const char *output, ThError *err)
{
        Merge m = { .inputs = inputs, .flavor = flavor };
        XmlQuiet quiet;
        int r = 0;

        if (n_inputs == 0 || !output)
                return th_error_set(err, EINVAL, "nothing to merge");
        if (!report_junit_flavor_to_string(flavor))
                return th_error_set(err, EINVAL, "unknown JUnit flavor %d", (int)flavor);
        r = xml_lib_load(err); /* the runner names the report */
        if (r < 0)
                return r;
        xml_quiet_begin(&quiet);
        m.doc = sym_xmlNewDoc(XML_STR("1.0"));
        m.root = m.doc ? sym_xmlNewDocNode(m.doc, NULL, XML_STR("testsuites"), NULL) : NULL;
        if (!m.root) {
                merge_done(&m);
                xml_quiet_end(&quiet);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        sym_xmlDocSetRootElement(m.doc, m.root);
        for (size_t i = 0; r >= 0 && i < n_inputs; i++)
                r = add_input(&m, i, err);
        if (r >= 0)
                r = check_duplicates(&m, err);
        if (r >= 0) {
                recount(&m);
                if (flavor == REPORT_JUNIT_JENKINS)
                        to_jenkins(&m);
                else if (flavor == REPORT_JUNIT_SUREFIRE)
                        r = to_surefire(&m) < 0 ? th_error_set(err, ENOMEM, "out of memory") : 0;
        }
        if (r >= 0)
                r = write_output(&m, output, err);
        merge_done(&m);
        xml_quiet_end(&quiet);
        return r;
}

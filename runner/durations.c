/* runner: `--durations FILE`, the test times of an earlier run's report for
 * `--shard` to balance on. JUnit XML: every <testcase> start tag's
 * classname (else the enclosing <testsuite>'s name), name and time; a
 * tolerant scanner of start tags, since any tool's JUnit will do and only
 * three attributes matter. CTRF JSON: results.tests[] with suite, name and
 * duration (ms), read with libyaml (JSON is YAML's flow style). */
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "runner.h"
#include "runner-internal.h"

#define DURATIONS_FILE_MAX (256u << 20)

static int push(RunDurations *d, size_t *cap, const char *suite, const char *name, double sec)
{
        if (!name || !*name || !(sec >= 0) || !isfinite(sec))
                return 0;
        if (d->n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                RunDuration *v = reallocarray(d->v, c, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                d->v = v;
                *cap = c;
        }
        d->v[d->n].id = th_strdup_printf("%s/%s", suite ? suite : "", name);
        if (!d->v[d->n].id)
                return -ENOMEM;
        d->v[d->n++].sec = sec;
        return 0;
}

/* ---- JUnit XML ----------------------------------------------------------- */

static void append_utf8(char *out, size_t *len, unsigned long cp)
{
        if (cp == 0 || cp > 0x10ffff)
                cp = 0xfffd;
        if (cp < 0x80)
                out[(*len)++] = (char)cp;
        else if (cp < 0x800) {
                out[(*len)++] = (char)(0xc0 | (cp >> 6));
                out[(*len)++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                out[(*len)++] = (char)(0xe0 | (cp >> 12));
                out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[(*len)++] = (char)(0x80 | (cp & 0x3f));
        } else {
                out[(*len)++] = (char)(0xf0 | (cp >> 18));
                out[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[(*len)++] = (char)(0x80 | (cp & 0x3f));
        }
}

/* An attribute value [s, e) with its entity and character references
 * decoded (never longer than the raw text). */
static char *xml_unescape(const char *s, const char *e)
{
        static const struct {
                const char *name;
                char c;
        } ents[] = {
                { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' }
        };
        char *out = malloc((size_t)(e - s) + 4);
        size_t len = 0;

        if (!out)
                return NULL;
        while (s < e) {
                if (*s != '&') {
                        out[len++] = *s++;
                        continue;
                }
                const char *semi = memchr(s, ';', (size_t)(e - s));
                bool done = false;
                if (semi && s[1] == '#') {
                        char *end;
                        unsigned long cp =
                                s[2] == 'x' ? strtoul(s + 3, &end, 16) : strtoul(s + 2, &end, 10);
                        if (end == semi && semi - s <= 10) {
                                append_utf8(out, &len, cp);
                                s = semi + 1;
                                done = true;
                        }
                }
                for (size_t i = 0; semi && !done && i < ELEMENTSOF(ents); i++)
                        if ((size_t)(e - s - 1) >= strlen(ents[i].name) &&
                            strncmp(s + 1, ents[i].name, strlen(ents[i].name)) == 0) {
                                out[len++] = ents[i].c;
                                s += 1 + strlen(ents[i].name);
                                done = true;
                        }
                if (!done)
                        out[len++] = *s++;
        }
        out[len] = 0;
        return out;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The attributes of the start tag from p (after the element name) to its
 * '>': name, classname, time. Returns where the tag ends. */
static const char *scan_attrs(const char *p, const char *end, char **name, char **classname,
                              char **time, bool *ret_oom)
{
        while (p < end && *p != '>') {
                const char *an = p, *ae;
                if (is_space(*p) || *p == '/') {
                        p++;
                        continue;
                }
                while (p < end && !is_space(*p) && *p != '=' && *p != '>')
                        p++;
                ae = p;
                while (p < end && is_space(*p))
                        p++;
                if (p >= end || *p != '=')
                        continue;
                p++;
                while (p < end && is_space(*p))
                        p++;
                if (p >= end || (*p != '"' && *p != '\''))
                        continue;
                char q = *p++;
                const char *vs = p;
                while (p < end && *p != q)
                        p++;
                char **slot = NULL;
                size_t alen = (size_t)(ae - an);
                if (alen == 4 && strncmp(an, "name", 4) == 0)
                        slot = name;
                else if (alen == 9 && strncmp(an, "classname", 9) == 0)
                        slot = classname;
                else if (alen == 4 && strncmp(an, "time", 4) == 0)
                        slot = time;
                if (slot) {
                        free(*slot);
                        *slot = xml_unescape(vs, p);
                        if (!*slot)
                                *ret_oom = true;
                }
                if (p < end)
                        p++;
        }
        return p;
}

static const char *skip_past(const char *p, const char *end, const char *what)
{
        const char *f = memmem(p, (size_t)(end - p), what, strlen(what));
        return f ? f + strlen(what) : end;
}

static int parse_junit(const char *buf, size_t size, RunDurations *d, ThError *err)
{
        const char *p = buf, *end = buf + size;
        _cleanup_free_ char *suite = NULL;
        size_t cap = 0;
        bool any_case = false;

        while ((p = memchr(p, '<', (size_t)(end - p)))) {
                if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
                        p = skip_past(p + 4, end, "-->");
                        continue;
                }
                if (end - p >= 9 && strncmp(p, "<![CDATA[", 9) == 0) {
                        p = skip_past(p + 9, end, "]]>");
                        continue;
                }
                if (end - p >= 2 && (p[1] == '?' || p[1] == '!' || p[1] == '/')) {
                        p = skip_past(p + 2, end, ">");
                        continue;
                }
                const char *n = ++p;
                while (p < end && !is_space(*p) && *p != '>' && *p != '/')
                        p++;
                size_t nlen = (size_t)(p - n);
                bool is_suite = nlen == 9 && strncmp(n, "testsuite", 9) == 0;
                bool is_case = nlen == 8 && strncmp(n, "testcase", 8) == 0;
                if (!is_suite && !is_case)
                        continue;
                _cleanup_free_ char *name = NULL, *classname = NULL, *time = NULL;
                bool oom = false;
                p = scan_attrs(p, end, &name, is_case ? &classname : NULL, is_case ? &time : NULL,
                               &oom);
                if (oom)
                        return th_error_set(err, ENOMEM, "out of memory");
                if (is_suite) {
                        free(suite);
                        suite = TAKE_PTR(name);
                        continue;
                }
                any_case = true;
                if (!time)
                        continue;
                char *tend;
                double sec = strtod(time, &tend);
                if (tend == time)
                        continue;
                if (push(d, &cap, classname ? classname : suite, name, sec) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        if (!any_case && d->n == 0)
                return th_error_set(err, EINVAL, "no <testcase> in it (not a JUnit report?)");
        return 0;
}

/* ---- CTRF JSON ----------------------------------------------------------- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
        if (!map || map->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
             pair < map->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = yaml_document_get_node(doc, pair->key);
                if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
                    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
                        return yaml_document_get_node(doc, pair->value);
        }
        return NULL;
}

static const char *scalar(yaml_node_t *n)
{
        return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* CTRF's suite: a string, or (newer) a list of names from the outside in,
 * joined with '/'. */
static char *suite_of(yaml_document_t *doc, yaml_node_t *n)
{
        if (scalar(n))
                return strdup(scalar(n));
        if (!n || n->type != YAML_SEQUENCE_NODE)
                return strdup("");
        /* appended in place: joining into a new string each time is
         * quadratic in the number of parts */
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        bool first = true;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
                const char *part = scalar(yaml_document_get_node(doc, *it));
                if (!first || *(part ? part : ""))
                        fprintf(f, "%s%s", first ? "" : "/", part ? part : "");
                first = first && !*(part ? part : "");
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* JSON is read with libyaml, which takes more than JSON: an anchor named by
 * many aliases would be walked again for each (a small file expanding into
 * gigabytes), and its scanner is quadratic in the nesting depth. One pass
 * over the events first refuses aliases and anything nested deeper than
 * JSON_DEPTH_MAX, after reading at most that many levels. */
#define JSON_DEPTH_MAX 64

static int ctrf_precheck(const char *buf, size_t size, ThError *err)
{
        yaml_parser_t parser;
        unsigned depth = 0;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return th_error_set(err, ENOMEM, "out of memory");
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, size);
        for (bool done = false; !done && r == 0;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&parser, &ev)) {
                        r = th_error_set(err, EINVAL, "invalid JSON at line %zu: %s",
                                         parser.problem_mark.line + 1,
                                         parser.problem ? parser.problem : "?");
                        break;
                }
                switch (ev.type) {
                case YAML_ALIAS_EVENT:
                        r = th_error_set(err, EINVAL, "line %zu: a YAML alias, not JSON",
                                         ev.start_mark.line + 1);
                        break;
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        if (++depth > JSON_DEPTH_MAX)
                                r = th_error_set(err, EINVAL,
                                                 "line %zu: nested more than %d levels deep",
                                                 ev.start_mark.line + 1, JSON_DEPTH_MAX);
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        depth--;
                        break;
                case YAML_STREAM_END_EVENT:
                case YAML_NO_EVENT:
                        done = true;
                        break;
                case YAML_STREAM_START_EVENT:
                case YAML_DOCUMENT_START_EVENT:
                case YAML_DOCUMENT_END_EVENT:
                case YAML_SCALAR_EVENT:
                        break;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&parser);
        return r;
}

static int parse_ctrf(const char *buf, size_t size, RunDurations *d, ThError *err)
{
        yaml_parser_t parser;
        yaml_document_t doc;
        size_t cap = 0;
        int r = ctrf_precheck(buf, size, err);

        if (r < 0)
                return r;
        if (!yaml_parser_initialize(&parser))
                return th_error_set(err, ENOMEM, "out of memory");
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, size);
        if (!yaml_parser_load(&parser, &doc)) {
                r = th_error_set(err, EINVAL, "invalid JSON at line %zu: %s",
                                 parser.problem_mark.line + 1,
                                 parser.problem ? parser.problem : "?");
                yaml_parser_delete(&parser);
                return r;
        }
        yaml_node_t *tests =
                map_get(&doc, map_get(&doc, yaml_document_get_root_node(&doc), "results"), "tests");
        if (!tests || tests->type != YAML_SEQUENCE_NODE)
                r = th_error_set(err, EINVAL, "no results.tests list (not a CTRF report?)");
        for (yaml_node_item_t *it = tests ? tests->data.sequence.items.start : NULL;
             r == 0 && it && it < tests->data.sequence.items.top; it++) {
                yaml_node_t *t = yaml_document_get_node(&doc, *it);
                const char *name = scalar(map_get(&doc, t, "name"));
                const char *ms = scalar(map_get(&doc, t, "duration"));
                char *end;
                if (!name || !ms)
                        continue;
                double v = strtod(ms, &end);
                if (end == ms)
                        continue;
                _cleanup_free_ char *suite = suite_of(&doc, map_get(&doc, t, "suite"));
                if (!suite || push(d, &cap, suite, name, v / 1000.0) < 0)
                        r = th_error_set(err, ENOMEM, "out of memory");
        }
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        return r;
}

int runner_durations_load(const char *path, RunDurations *ret, ThError *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        RunDurations d = { 0 };
        struct stat st;
        size_t len = 0;
        int r;

        if (fd < 0)
                return th_error_errno(err, errno, "durations '%s'", path);
        if (fstat(fd, &st) < 0)
                return th_error_errno(err, errno, "durations '%s'", path);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "'%s' is not a regular file", path);
        if ((uint64_t)st.st_size > DURATIONS_FILE_MAX)
                return th_error_set(err, EFBIG, "'%s' is larger than %u MiB", path,
                                    DURATIONS_FILE_MAX >> 20);
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return th_error_set(err, ENOMEM, "out of memory");
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return th_error_errno(err, errno, "durations '%s'", path);
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        const char *p = buf;
        while (p < buf + len && (is_space(*p) || (unsigned char)*p == 0xef ||
                                 (unsigned char)*p == 0xbb || (unsigned char)*p == 0xbf))
                p++; /* blanks and a UTF-8 byte order mark */
        if (*p == '<')
                r = parse_junit(buf, len, &d, err);
        else if (*p == '{')
                r = parse_ctrf(buf, len, &d, err);
        else
                r = th_error_set(err, EINVAL, "neither JUnit XML nor CTRF JSON");
        if (r < 0) {
                runner_durations_done(&d);
                return th_error_prefix(err, "durations '%s'", path);
        }
        runner_durations_sort(&d);
        *ret = d;
        return 0;
}

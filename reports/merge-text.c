/* reports: merging TAP and CTRF JSON reports (typically one per shard), and
 * report_merge(), which tells the formats apart by their first bytes so that
 * `harness merge` takes any of the three. TAP: test points are renumbered in
 * input order under one plan and the highest version line; each point keeps
 * its YAML block. JSON: the tests are copied as they are (their raw text)
 * and the summary is recomputed from them, start and stop spanning the
 * inputs. The same test in two inputs is an error naming both files, as
 * for JUnit. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "report-internal.h"

#define MERGE_INPUT_MAX (512u * 1024u * 1024u)
#define JSON_DEPTH_MAX  64

static int read_input(const char *path, RBuf *out, ThError *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[65536];
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return th_error_errno(err, errno, "'%s'", path);
        if (fstat(fd, &st) < 0)
                return th_error_errno(err, errno, "'%s'", path);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "'%s': not a regular file", path);
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
                if (out->len + (size_t)n > MERGE_INPUT_MAX)
                        return th_error_set(err, EFBIG, "'%s': larger than %u MiB", path,
                                            MERGE_INPUT_MAX >> 20);
                if (rbuf_put(out, buf, (size_t)n) < 0)
                        return th_error_set(err, ENOMEM, "out of memory");
        }
        if (n < 0)
                return th_error_errno(err, errno, "'%s'", path);
        if (rbuf_putc(out, '\0') < 0) /* NUL-terminated, len unchanged */
                return th_error_set(err, ENOMEM, "out of memory");
        out->len--;
        return 0;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
        size_t n = strlen(prefix);
        return len >= n && memcmp(s, prefix, n) == 0;
}

/* ---- TAP ----------------------------------------------------------------- */

typedef struct TapPoint {
        bool ok;
        const char *rest; /* after "ok N": " - desc # directive" */
        size_t rest_len;
        const char *block; /* the lines up to the next point (YAML, comments) */
        size_t block_len;
        bool block_closed; /* a plan line came after it: the block ends there */
        size_t input;
        char *desc; /* the description as a TAP reader sees it, for comparison */
        size_t desc_len;
} TapPoint;

typedef struct TapMerge {
        char *const *inputs;
        RBuf *texts;
        TapPoint *points;
        size_t n_points, cap_points;
        unsigned version;
} TapMerge;

static bool tap_is_interrupted(const TapPoint *p)
{
        static const char d[] = " - harness: run interrupted";
        return p->rest_len == strlen(d) && memcmp(p->rest, d, p->rest_len) == 0;
}

static int tap_add_point(TapMerge *m, bool ok, const char *rest, size_t rest_len, size_t input)
{
        if (m->n_points == m->cap_points) {
                size_t cap = m->cap_points ? m->cap_points * 2 : 256;
                TapPoint *p = reallocarray(m->points, cap, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                m->points = p;
                m->cap_points = cap;
        }
        /* The description without the " - " separator, the directive
         * (from an unescaped '#') and surrounding white space, "\#" and
         * "\\" unescaped: "- s/t", "s/t " and "s/t # TODO" name one test. */
        const char *d = rest, *e = rest + rest_len;
        while (d < e && (*d == ' ' || *d == '\t'))
                d++;
        if (d < e && *d == '-' && (d + 1 == e || d[1] == ' ' || d[1] == '\t'))
                for (d++; d < e && (*d == ' ' || *d == '\t');)
                        d++;
        char *desc = malloc((size_t)(e - d) + 1);
        size_t n = 0;
        if (!desc)
                return -ENOMEM;
        for (; d < e && *d != '#'; d++) {
                if (*d == '\\' && d + 1 < e && (d[1] == '#' || d[1] == '\\'))
                        d++;
                desc[n++] = *d;
        }
        while (n > 0 && (desc[n - 1] == ' ' || desc[n - 1] == '\t' || desc[n - 1] == '\r'))
                n--;
        desc[n] = '\0';
        m->points[m->n_points++] = (TapPoint){ .ok = ok,
                                               .rest = rest,
                                               .rest_len = rest_len,
                                               .input = input,
                                               .desc = desc,
                                               .desc_len = n };
        return 0;
}

static int tap_read(TapMerge *m, size_t input, ThError *err)
{
        const char *path = m->inputs[input];
        const RBuf *t = &m->texts[input];
        size_t first = m->n_points, planned = 0, line_no = 0, yaml_indent = 0, yaml_line = 0;
        bool have_plan = false;
        const char *s = t->data ? t->data : "", *end = s + t->len;

        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                const char *eol = nl ? nl : end;
                size_t len = (size_t)(eol - s);
                bool ok = starts_with(s, len, "ok"), not_ok = starts_with(s, len, "not ok");
                line_no++;
                /* A YAML block ("  ---" to "  ...") is copied as it is: one
                 * left open would take the next input's lines into it. */
                if (yaml_line && len > yaml_indent && s[0] == ' ' &&
                    strspn(s, " ") >= yaml_indent) {
                        if (len >= yaml_indent + 3 && memcmp(s + yaml_indent, "...", 3) == 0 &&
                            strspn(s + yaml_indent + 3, " \t\r") == len - yaml_indent - 3)
                                yaml_line = 0;
                } else if (yaml_line) {
                        return th_error_set(err, EINVAL,
                                            "'%s': line %zu: the YAML block of line %zu is not "
                                            "closed by '...' (a truncated report?)",
                                            path, line_no, yaml_line);
                } else if (len > 3 && s[0] == ' ' && m->n_points > first) {
                        size_t ind = strspn(s, " ");
                        if (ind + 3 <= len && memcmp(s + ind, "---", 3) == 0 &&
                            strspn(s + ind + 3, " \t\r") == len - ind - 3)
                                yaml_indent = ind, yaml_line = line_no;
                }
                if (line_no == 1 && starts_with(s, len, "TAP version ")) {
                        unsigned v = (unsigned)strtoul(s + 12, NULL, 10);
                        if (v > m->version)
                                m->version = v;
                } else if (starts_with(s, len, "1..")) {
                        char *e;
                        if (have_plan)
                                return th_error_set(err, EINVAL, "'%s': line %zu: a second plan",
                                                    path, line_no);
                        if (len < 4 || s[3] < '0' || s[3] > '9' ||
                            ((planned = (size_t)strtoull(s + 3, &e, 10)), e < eol && *e != ' '))
                                return th_error_set(err, EINVAL,
                                                    "'%s': line %zu: not a plan (1..N)", path,
                                                    line_no);
                        have_plan = true;
                        /* the lines after a trailing plan are not the last
                         * point's: they would carry the plan into it */
                        if (m->n_points > first)
                                m->points[m->n_points - 1].block_closed = true;
                } else if ((ok && (len == 2 || s[2] == ' ')) ||
                           (not_ok && (len == 6 || s[6] == ' '))) {
                        const char *r = s + (ok ? 2 : 6);
                        const char *after = r;
                        while (after < eol && *after == ' ')
                                after++;
                        if (after < eol && *after >= '0' && *after <= '9') {
                                while (after < eol && *after >= '0' && *after <= '9')
                                        after++;
                                r = after;
                        }
                        if (tap_add_point(m, ok, r, (size_t)(eol - r), input) < 0)
                                return th_error_set(err, ENOMEM, "out of memory");
                } else if (starts_with(s, len, "Bail out!")) {
                        return th_error_set(err, EINVAL, "'%s': line %zu: the run bailed out", path,
                                            line_no);
                } else if (m->n_points > first && !m->points[m->n_points - 1].block_closed) {
                        TapPoint *p = &m->points[m->n_points - 1];
                        if (!p->block)
                                p->block = s;
                        p->block_len = (size_t)((nl ? nl + 1 : end) - p->block);
                }
                s = nl ? nl + 1 : end;
        }
        if (yaml_line)
                return th_error_set(err, EINVAL,
                                    "'%s': the YAML block of line %zu is not closed by '...' (a "
                                    "truncated report?)",
                                    path, yaml_line);
        if (!have_plan)
                return th_error_set(err, EINVAL, "'%s': not a TAP report (no plan line '1..N')",
                                    path);
        if (planned != m->n_points - first)
                return th_error_set(err, EINVAL,
                                    "'%s': the plan says %zu tests but there are %zu (a "
                                    "truncated report?)",
                                    path, planned, m->n_points - first);
        return 0;
}

static int cmp_point(const void *a, const void *b)
{
        const TapPoint *x = *(const TapPoint *const *)a, *y = *(const TapPoint *const *)b;
        size_t n = x->desc_len < y->desc_len ? x->desc_len : y->desc_len;
        int c = memcmp(x->desc, y->desc, n);
        return c != 0 ? c : (x->desc_len > y->desc_len) - (x->desc_len < y->desc_len);
}

/* The same description in two inputs: the same shard given twice. */
static int tap_check_duplicates(TapMerge *m, ThError *err)
{
        _cleanup_free_ const TapPoint **sorted = NULL;

        if (m->n_points < 2)
                return 0;
        sorted = calloc(m->n_points, sizeof(*sorted));
        if (!sorted)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < m->n_points; i++)
                sorted[i] = &m->points[i];
        qsort(sorted, m->n_points, sizeof(*sorted), cmp_point);
        for (size_t i = 1; i < m->n_points; i++) {
                const TapPoint *a = sorted[i - 1], *b = sorted[i];
                if (a->input == b->input || cmp_point(&a, &b) != 0 ||
                    (tap_is_interrupted(a) && tap_is_interrupted(b)))
                        continue;
                return th_error_set(err, EEXIST,
                                    "test '%.*s' is in both '%s' and '%s' (the same shard twice?)",
                                    (int)a->desc_len, a->desc,
                                    m->inputs[a->input < b->input ? a->input : b->input],
                                    m->inputs[a->input < b->input ? b->input : a->input]);
        }
        return 0;
}

/* Whether point i is written: one "run interrupted" point however many
 * shards were interrupted. */
static bool tap_keep(const TapMerge *m, size_t i, bool *interrupted_seen)
{
        if (!tap_is_interrupted(&m->points[i]))
                return true;
        if (*interrupted_seen)
                return false;
        *interrupted_seen = true;
        return true;
}

static int tap_write(TapMerge *m, const char *output, ThError *err)
{
        bool seen = false;
        RBuf out = {};
        size_t n = 0;
        int r;

        for (size_t i = 0; i < m->n_points; i++)
                n += tap_keep(m, i, &seen);
        r = rbuf_printf(&out, "TAP version %u\n", m->version ? m->version : 13);
        if (r >= 0)
                r = n > 0 ? rbuf_printf(&out, "1..%zu\n", n)
                          : rbuf_puts(&out, "1..0 # SKIP no tests selected\n");
        seen = false;
        n = 0;
        for (size_t i = 0; r >= 0 && i < m->n_points; i++) {
                const TapPoint *p = &m->points[i];
                if (!tap_keep(m, i, &seen))
                        continue;
                r = rbuf_printf(&out, "%s %zu%.*s\n", p->ok ? "ok" : "not ok", ++n,
                                (int)p->rest_len, p->rest);
                if (r >= 0 && p->block)
                        r = rbuf_put(&out, p->block, p->block_len);
        }
        if (r < 0) {
                rbuf_done(&out);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        r = th_write_file_atomic(output, rbuf_str(&out), out.len, err);
        rbuf_done(&out);
        return r;
}

int report_merge_tap(char *const *inputs, size_t n_inputs, const char *output, ThError *err)
{
        TapMerge m = { .inputs = inputs };
        int r = 0;

        if (n_inputs == 0 || !output)
                return th_error_set(err, EINVAL, "nothing to merge");
        m.texts = calloc(n_inputs, sizeof(RBuf));
        if (!m.texts)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; r >= 0 && i < n_inputs; i++) {
                r = read_input(inputs[i], &m.texts[i], err);
                if (r >= 0)
                        r = tap_read(&m, i, err);
        }
        if (r >= 0)
                r = tap_check_duplicates(&m, err);
        if (r >= 0)
                r = tap_write(&m, output, err);
        for (size_t i = 0; i < n_inputs; i++)
                rbuf_done(&m.texts[i]);
        free(m.texts);
        for (size_t i = 0; i < m.n_points; i++)
                free(m.points[i].desc);
        free(m.points);
        return r;
}

/* ---- JSON ---------------------------------------------------------------- */

typedef enum JvType { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } JvType;

/* A parsed JSON value: only its raw text and, for arrays and objects, its
 * children; strings are kept escaped as they are (enough to copy them and to
 * compare them with ASCII constants). */
typedef struct Jv {
        JvType type;
        const char *raw;
        size_t len;
        const char *key; /* raw key with its quotes, for an object's member */
        size_t key_len;
        struct Jv *kids;
        size_t n_kids;
} Jv;

typedef struct JsonParser {
        const char *p, *end;
        unsigned depth;
} JsonParser;

static void jv_done(Jv *v)
{
        for (size_t i = 0; i < v->n_kids; i++)
                jv_done(&v->kids[i]);
        free(v->kids);
        *v = (Jv){};
}

static void jp_ws(JsonParser *jp)
{
        while (jp->p < jp->end &&
               (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\r' || *jp->p == '\t'))
                jp->p++;
}

static int jp_string(JsonParser *jp)
{
        if (jp->p >= jp->end || *jp->p != '"')
                return -EINVAL;
        for (jp->p++; jp->p < jp->end; jp->p++) {
                unsigned char c = (unsigned char)*jp->p;
                if (c == '"') {
                        jp->p++;
                        return 0;
                }
                if (c < 0x20)
                        return -EINVAL;
                /* an escape is one of JSON's: never a control byte (a NUL
                 * would cut the raw copies short) */
                if (c == '\\' && (++jp->p >= jp->end || !*jp->p || !strchr("\"\\/bfnrtu", *jp->p)))
                        return -EINVAL;
        }
        return -EINVAL;
}

static int jp_value(JsonParser *jp, Jv *v);

static int jp_push(Jv *v, Jv *kid, size_t *cap)
{
        if (v->n_kids == *cap) {
                size_t n = *cap ? *cap * 2 : 8;
                Jv *k = reallocarray(v->kids, n, sizeof(*k));
                if (!k)
                        return -ENOMEM;
                v->kids = k;
                *cap = n;
        }
        v->kids[v->n_kids++] = *kid;
        return 0;
}

static int jp_container(JsonParser *jp, Jv *v, char close)
{
        size_t cap = 0;
        int r;

        if (++jp->depth > JSON_DEPTH_MAX)
                return -ELOOP;
        jp->p++;
        jp_ws(jp);
        if (jp->p < jp->end && *jp->p == close) {
                jp->p++;
                jp->depth--;
                return 0;
        }
        for (;;) {
                Jv kid = {};
                jp_ws(jp);
                if (close == '}') {
                        kid.key = jp->p;
                        r = jp_string(jp);
                        if (r < 0)
                                return r;
                        kid.key_len = (size_t)(jp->p - kid.key);
                        jp_ws(jp);
                        if (jp->p >= jp->end || *jp->p++ != ':')
                                return -EINVAL;
                }
                r = jp_value(jp, &kid);
                if (r >= 0)
                        r = jp_push(v, &kid, &cap);
                if (r < 0) {
                        jv_done(&kid);
                        return r;
                }
                jp_ws(jp);
                if (jp->p >= jp->end)
                        return -EINVAL;
                if (*jp->p == ',') {
                        jp->p++;
                        continue;
                }
                if (*jp->p++ != close)
                        return -EINVAL;
                jp->depth--;
                return 0;
        }
}

static int jp_value(JsonParser *jp, Jv *v)
{
        int r = 0;

        jp_ws(jp);
        if (jp->p >= jp->end)
                return -EINVAL;
        v->raw = jp->p;
        switch (*jp->p) {
        case '{':
                v->type = JV_OBJ;
                r = jp_container(jp, v, '}');
                break;
        case '[':
                v->type = JV_ARR;
                r = jp_container(jp, v, ']');
                break;
        case '"':
                v->type = JV_STR;
                r = jp_string(jp);
                break;
        default:
                if (starts_with(jp->p, (size_t)(jp->end - jp->p), "true") ||
                    starts_with(jp->p, (size_t)(jp->end - jp->p), "null")) {
                        v->type = *jp->p == 't' ? JV_BOOL : JV_NULL;
                        jp->p += 4;
                } else if (starts_with(jp->p, (size_t)(jp->end - jp->p), "false")) {
                        v->type = JV_BOOL;
                        jp->p += 5;
                } else if (*jp->p == '-' || (*jp->p >= '0' && *jp->p <= '9')) {
                        v->type = JV_NUM;
                        jp->p++;
                        while (jp->p < jp->end && *jp->p && strchr("0123456789.eE+-", *jp->p))
                                jp->p++;
                } else
                        r = -EINVAL;
        }
        v->len = (size_t)(jp->p - v->raw);
        return r;
}

static int hex4(const char *p, const char *end)
{
        int v = 0;
        if (end - p < 4)
                return -1;
        for (int i = 0; i < 4; i++) {
                char c = p[i];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                        return -1;
                v = v * 16 + d;
        }
        return v;
}

static int put_utf8(RBuf *b, uint32_t c)
{
        char u[4];
        size_t n;
        if (c < 0x80)
                u[0] = (char)c, n = 1;
        else if (c < 0x800)
                u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3f)), n = 2;
        else if (c < 0x10000)
                u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
                u[2] = (char)(0x80 | (c & 0x3f)), n = 3;
        else
                u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
                u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), n = 4;
        return rbuf_put(b, u, n);
}

/* The value of the JSON string raw[0..len) (with its quotes), its escapes
 * decoded, appended to b: what a JSON reader sees, so that two spellings of
 * one string compare equal. A lone surrogate becomes U+FFFD. -EINVAL for an
 * escape JSON does not have. */
static int json_unescape(const char *raw, size_t len, RBuf *b)
{
        const char *p = raw + 1, *end = raw + len - 1;
        int r = 0;

        while (r >= 0 && p < end) {
                const char *bs = memchr(p, '\\', (size_t)(end - p));
                if (!bs)
                        return rbuf_put(b, p, (size_t)(end - p));
                r = rbuf_put(b, p, (size_t)(bs - p));
                p = bs + 1;
                if (r < 0 || p >= end)
                        return r < 0 ? r : -EINVAL;
                const char *esc = strchr("\"\\/bfnrt", *p);
                if (*p != 'u') {
                        if (!esc || !*p)
                                return -EINVAL;
                        r = rbuf_putc(b, "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"]);
                        p++;
                        continue;
                }
                int c = hex4(p + 1, end);
                if (c < 0)
                        return -EINVAL;
                p += 5;
                uint32_t cp = (uint32_t)c;
                if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                        int lo = hex4(p + 2, end);
                        if (lo >= 0xdc00 && lo < 0xe000) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                                p += 6;
                        }
                }
                if (cp >= 0xd800 && cp < 0xe000)
                        cp = 0xfffd;
                r = put_utf8(b, cp);
        }
        return r;
}

/* Whether the raw JSON string (with its quotes) means the ASCII constant s. */
static bool json_str_is(const char *raw, size_t len, const char *s)
{
        size_t n = strlen(s);
        if (len == n + 2 && memcmp(raw + 1, s, n) == 0)
                return true;
        if (!memchr(raw, '\\', len))
                return false;
        RBuf b = {};
        bool eq = json_unescape(raw, len, &b) >= 0 && b.len == n && memcmp(rbuf_str(&b), s, n) == 0;
        rbuf_done(&b);
        return eq;
}

static const Jv *jv_get(const Jv *obj, const char *key)
{
        if (!obj || obj->type != JV_OBJ)
                return NULL;
        for (size_t i = 0; i < obj->n_kids; i++)
                if (json_str_is(obj->kids[i].key, obj->kids[i].key_len, key))
                        return &obj->kids[i];
        return NULL;
}

/* A string value equal to the ASCII constant s. */
static bool jv_is(const Jv *v, const char *s)
{
        return v && v->type == JV_STR && json_str_is(v->raw, v->len, s);
}

static uint64_t jv_u64(const Jv *v)
{
        char buf[32];

        if (!v || v->type != JV_NUM || v->len >= sizeof(buf) || v->raw[0] == '-')
                return 0;
        memcpy(buf, v->raw, v->len);
        buf[v->len] = '\0';
        return strtoull(buf, NULL, 10);
}

typedef struct JsonTest {
        const Jv *test;
        size_t input;
        char *key; /* suite path and name as a JSON reader sees them */
        size_t key_len;
} JsonTest;

typedef struct JsonMerge {
        char *const *inputs;
        RBuf *texts;
        Jv *docs;
        JsonTest *tests;
        size_t n_tests;
        uint64_t start, stop;
        bool interrupted;
} JsonMerge;

static bool json_is_interrupted(const Jv *t)
{
        const Jv *suite = jv_get(t, "suite");
        return jv_is(jv_get(t, "name"), "run interrupted") && suite && suite->n_kids == 1 &&
               jv_is(&suite->kids[0], "harness");
}

/* One part of a test's key: a string as decoded, anything else as written;
 * its length first, so that no two sequences of parts give one key. */
static int key_part(RBuf *b, const Jv *v)
{
        RBuf s = {};
        int r = 0;

        if (v && v->type == JV_STR)
                r = json_unescape(v->raw, v->len, &s);
        else if (v)
                r = rbuf_put(&s, v->raw, v->len);
        if (r >= 0)
                r = rbuf_printf(b, "%zu:", s.len);
        if (r >= 0)
                r = rbuf_put(b, rbuf_str(&s), s.len);
        rbuf_done(&s);
        return r;
}

static int cmp_bytes(const void *a, const void *b)
{
        const RBuf *x = a, *y = b;
        int c = memcmp(rbuf_str(x), rbuf_str(y), x->len < y->len ? x->len : y->len);
        return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* A test's members must have distinct names as a JSON reader decodes them
 * (readers differ in which of two they keep), and its key is its suite path
 * and name as decoded: another spelling of one test is the same test. */
static int json_test_key(JsonTest *jt)
{
        const Jv *t = jt->test, *suite = jv_get(t, "suite");
        _cleanup_free_ RBuf *keys = calloc(t->n_kids ? t->n_kids : 1, sizeof(*keys));
        RBuf b = {};
        int r = keys ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < t->n_kids; i++)
                r = json_unescape(t->kids[i].key, t->kids[i].key_len, &keys[i]);
        if (r >= 0 && t->n_kids > 1) {
                qsort(keys, t->n_kids, sizeof(*keys), cmp_bytes);
                for (size_t i = 1; i < t->n_kids; i++)
                        if (cmp_bytes(&keys[i - 1], &keys[i]) == 0)
                                r = -EINVAL;
        }
        for (size_t i = 0; keys && i < t->n_kids; i++)
                rbuf_done(&keys[i]);
        if (r < 0)
                return r;
        if (suite && suite->type == JV_ARR)
                for (size_t i = 0; r >= 0 && i < suite->n_kids; i++)
                        r = key_part(&b, &suite->kids[i]);
        else
                r = key_part(&b, suite);
        if (r >= 0)
                r = rbuf_putc(&b, '/');
        if (r >= 0)
                r = key_part(&b, jv_get(t, "name"));
        if (r < 0) {
                rbuf_done(&b);
                return r;
        }
        jt->key_len = b.len;
        jt->key = malloc(b.len + 1);
        if (!jt->key) {
                rbuf_done(&b);
                return -ENOMEM;
        }
        memcpy(jt->key, rbuf_str(&b), b.len + 1);
        rbuf_done(&b);
        return 0;
}

static int json_read(JsonMerge *m, size_t input, ThError *err)
{
        const char *path = m->inputs[input];
        const RBuf *t = &m->texts[input];
        JsonParser jp = { .p = t->data ? t->data : "", .end = (t->data ? t->data : "") + t->len };
        Jv *doc = &m->docs[input];
        int r = jp_value(&jp, doc);

        if (r >= 0) {
                jp_ws(&jp);
                if (jp.p != jp.end)
                        r = -EINVAL;
        }
        if (r < 0)
                return th_error_set(err, EINVAL, "'%s': not valid JSON (at byte %zu)%s", path,
                                    (size_t)(jp.p - (t->data ? t->data : "")),
                                    r == -ELOOP ? ": nested too deeply" : "");
        const Jv *results = jv_get(doc, "results");
        const Jv *tests = jv_get(results, "tests");
        const Jv *summary = jv_get(results, "summary");
        if (!jv_is(jv_get(doc, "reportFormat"), "CTRF") || !tests || tests->type != JV_ARR)
                return th_error_set(err, EINVAL,
                                    "'%s': not a CTRF report (no reportFormat \"CTRF\" with "
                                    "results.tests)",
                                    path);
        uint64_t start = jv_u64(jv_get(summary, "start")), stop = jv_u64(jv_get(summary, "stop"));
        if (start > 0 && (m->start == 0 || start < m->start))
                m->start = start;
        if (stop > m->stop)
                m->stop = stop;
        const Jv *interrupted = jv_get(jv_get(summary, "extra"), "interrupted");
        m->interrupted |= interrupted && interrupted->type == JV_BOOL && interrupted->raw[0] == 't';
        JsonTest *all = reallocarray(m->tests, m->n_tests + tests->n_kids + 1, sizeof(*all));
        if (!all)
                return th_error_set(err, ENOMEM, "out of memory");
        m->tests = all;
        for (size_t i = 0; i < tests->n_kids; i++) {
                if (tests->kids[i].type != JV_OBJ || !jv_get(&tests->kids[i], "name") ||
                    !jv_get(&tests->kids[i], "status"))
                        return th_error_set(err, EINVAL,
                                            "'%s': results.tests[%zu] is not a test (an object "
                                            "with name and status)",
                                            path, i);
                JsonTest *jt = &m->tests[m->n_tests++];
                *jt = (JsonTest){ .test = &tests->kids[i], .input = input };
                r = json_test_key(jt);
                if (r == -ENOMEM)
                        return th_error_set(err, ENOMEM, "out of memory");
                if (r < 0)
                        return th_error_set(err, EINVAL,
                                            "'%s': results.tests[%zu] has a member twice or a "
                                            "string with an invalid escape",
                                            path, i);
        }
        return 0;
}

/* The suite path and name, decoded: what identifies a test across shards. */
static int json_key_cmp(const JsonTest *a, const JsonTest *b)
{
        int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);
        return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static int json_test_qcmp(const void *a, const void *b)
{
        return json_key_cmp(*(const JsonTest *const *)a, *(const JsonTest *const *)b);
}

static int json_check_duplicates(JsonMerge *m, ThError *err)
{
        _cleanup_free_ const JsonTest **sorted = NULL;

        if (m->n_tests < 2)
                return 0;
        sorted = calloc(m->n_tests, sizeof(*sorted));
        if (!sorted)
                return th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < m->n_tests; i++)
                sorted[i] = &m->tests[i];
        qsort(sorted, m->n_tests, sizeof(*sorted), json_test_qcmp);
        for (size_t i = 1; i < m->n_tests; i++) {
                const JsonTest *a = sorted[i - 1], *b = sorted[i];
                if (a->input == b->input || json_key_cmp(a, b) != 0 || json_is_interrupted(a->test))
                        continue;
                const Jv *name = jv_get(a->test, "name");
                return th_error_set(err, EEXIST,
                                    "test %.*s is in both '%s' and '%s' (the same shard twice?)",
                                    (int)name->len, name->raw,
                                    m->inputs[a->input < b->input ? a->input : b->input],
                                    m->inputs[a->input < b->input ? b->input : a->input]);
        }
        return 0;
}

static int json_write(JsonMerge *m, const char *output, ThError *err)
{
        const Jv *spec = jv_get(&m->docs[0], "specVersion");
        const Jv *tool = jv_get(jv_get(&m->docs[0], "results"), "tool");
        ReportCounts n = {};
        size_t pending = 0, other = 0;
        bool first = true, interrupted_seen = false;
        RBuf out = {};
        int r;

        for (size_t i = 0; i < m->n_tests; i++) {
                const Jv *t = m->tests[i].test, *st = jv_get(t, "status");
                const Jv *flaky = jv_get(t, "flaky");
                if (json_is_interrupted(t) && interrupted_seen)
                        continue;
                interrupted_seen |= json_is_interrupted(t);
                n.tests++;
                n.passed += jv_is(st, "passed");
                n.failures += jv_is(st, "failed");
                n.skipped += jv_is(st, "skipped");
                pending += jv_is(st, "pending");
                other += !jv_is(st, "passed") && !jv_is(st, "failed") && !jv_is(st, "skipped") &&
                         !jv_is(st, "pending");
                n.flaky += flaky && flaky->type == JV_BOOL && flaky->raw[0] == 't';
                n.errors += jv_is(jv_get(jv_get(t, "extra"), "outcome"), "error");
        }
        r = rbuf_printf(&out, "{\"reportFormat\":\"CTRF\",\"specVersion\":%.*s,\"results\":{",
                        spec ? (int)spec->len : 7, spec ? spec->raw : "\"1.0.0\"");
        if (r >= 0)
                r = rbuf_printf(&out, "\"tool\":%.*s,", tool ? (int)tool->len : 18,
                                tool ? tool->raw : "{\"name\":\"harness\"}");
        if (r >= 0)
                r = rbuf_printf(&out,
                                "\"summary\":{\"tests\":%zu,\"passed\":%zu,\"failed\":%zu,"
                                "\"pending\":%zu,\"skipped\":%zu,\"other\":%zu,\"flaky\":%zu,"
                                "\"start\":%" PRIu64 ",\"stop\":%" PRIu64 ",\"duration\":%" PRIu64
                                ",\"extra\":{\"errors\":%zu,\"interrupted\":%s}},\"tests\":[",
                                n.tests, n.passed, n.failures, pending, n.skipped, other, n.flaky,
                                m->start, m->stop, m->stop > m->start ? m->stop - m->start : 0,
                                n.errors, m->interrupted ? "true" : "false");
        interrupted_seen = false;
        for (size_t i = 0; r >= 0 && i < m->n_tests; i++) {
                const Jv *t = m->tests[i].test;
                if (json_is_interrupted(t) && interrupted_seen)
                        continue;
                interrupted_seen |= json_is_interrupted(t);
                if (!first)
                        r = rbuf_putc(&out, ',');
                first = false;
                if (r >= 0)
                        r = rbuf_put(&out, t->raw, t->len);
        }
        if (r >= 0)
                r = rbuf_puts(&out, "]}}\n");
        if (r < 0) {
                rbuf_done(&out);
                return th_error_set(err, ENOMEM, "out of memory");
        }
        r = th_write_file_atomic(output, rbuf_str(&out), out.len, err);
        rbuf_done(&out);
        return r;
}

int report_merge_json(char *const *inputs, size_t n_inputs, const char *output, ThError *err)
{
        JsonMerge m = { .inputs = inputs };
        int r = 0;

        if (n_inputs == 0 || !output)
                return th_error_set(err, EINVAL, "nothing to merge");
        m.texts = calloc(n_inputs, sizeof(RBuf));
        m.docs = calloc(n_inputs, sizeof(Jv));
        if (!m.texts || !m.docs)
                r = th_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; r >= 0 && i < n_inputs; i++) {
                r = read_input(inputs[i], &m.texts[i], err);
                if (r >= 0)
                        r = json_read(&m, i, err);
        }
        if (r >= 0)
                r = json_check_duplicates(&m, err);
        if (r >= 0)
                r = json_write(&m, output, err);
        for (size_t i = 0; m.docs && i < n_inputs; i++)
                jv_done(&m.docs[i]);
        for (size_t i = 0; m.texts && i < n_inputs; i++)
                rbuf_done(&m.texts[i]);
        for (size_t i = 0; i < m.n_tests; i++)
                free(m.tests[i].key);
        free(m.docs);
        free(m.texts);
        free(m.tests);
        return r;
}

/* ---- any format ------------------------------------------------------------ */

typedef enum MergeFormat {
        MERGE_UNKNOWN,
        MERGE_JUNIT,
        MERGE_TAP,
        MERGE_JSON,
} MergeFormat;

static const char *const format_names[] = {
        [MERGE_UNKNOWN] = "unknown",
        [MERGE_JUNIT] = "JUnit XML",
        [MERGE_TAP] = "TAP",
        [MERGE_JSON] = "JSON",
};

/* From the first bytes, after a byte order mark and white space. */
static int detect_format(const char *path, MergeFormat *ret, ThError *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[256];
        ssize_t n;
        size_t i = 0;

        if (fd < 0)
                return th_error_errno(err, errno, "'%s'", path);
        n = read(fd, buf, sizeof(buf));
        if (n < 0)
                return th_error_errno(err, errno, "'%s'", path);
        if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                i = 3;
        while (i < (size_t)n && buf[i] && strchr(" \t\r\n", buf[i]))
                i++;
        const char *s = buf + i;
        size_t len = (size_t)n - i;
        if (len > 0 && *s == '<')
                *ret = MERGE_JUNIT;
        else if (len > 0 && *s == '{')
                *ret = MERGE_JSON;
        else if (starts_with(s, len, "TAP version ") || starts_with(s, len, "1..") ||
                 starts_with(s, len, "ok") || starts_with(s, len, "not ok"))
                *ret = MERGE_TAP;
        else
                return th_error_set(err, EINVAL,
                                    "'%s': not a JUnit XML, TAP or CTRF JSON report (%s)", path,
                                    len == 0 ? "empty"
                                             : "it starts with none of '<', '{', "
                                               "'TAP version', '1..'");
        return 0;
}

int report_merge(char *const *inputs, size_t n_inputs, const ReportOptions *opts,
                 const char *output, ThError *err)
{
        MergeFormat first = MERGE_UNKNOWN;
        int r;

        if (n_inputs == 0 || !output)
                return th_error_set(err, EINVAL, "nothing to merge");
        for (size_t i = 0; i < n_inputs; i++) {
                MergeFormat f;
                r = detect_format(inputs[i], &f, err);
                if (r < 0)
                        return r;
                if (i == 0)
                        first = f;
                else if (f != first)
                        return th_error_set(err, EINVAL,
                                            "'%s' is %s but '%s' is %s: merge reports of one "
                                            "format at a time",
                                            inputs[0], format_names[first], inputs[i],
                                            format_names[f]);
        }
        switch (first) {
        case MERGE_TAP:
                return report_merge_tap(inputs, n_inputs, output, err);
        case MERGE_JSON:
                return report_merge_json(inputs, n_inputs, output, err);
        case MERGE_JUNIT:
        case MERGE_UNKNOWN:
        default:
                return report_merge_junit_as(inputs, n_inputs,
                                             opts ? opts->junit_flavor : REPORT_JUNIT_DEFAULT,
                                             output, err);
        }
}

/* suites: a deb822 reader (debian/control, debian/tests/control) with
 * located errors. The rules, those of autopkgtest's reader with dpkg's
 * errors for what dpkg refuses, are written down in dep8.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dep8-internal.h"

static bool is_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool all_space(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!is_space(s[i]))
                        return false;
        return true;
}

/* autopkgtest joins continuation lines, then replaces each "  " by " ",
 * left to right without overlap (Python's str.replace). */
static void squeeze_pairs(char *s)
{
        char *w = s;
        for (const char *r = s; *r;) {
                if (r[0] == ' ' && r[1] == ' ') {
                        *w++ = ' ';
                        r += 2;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

static void stanza_done(Deb822Stanza *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->fields[i].name);
                free(s->fields[i].value);
        }
        free(s->fields);
        *s = (Deb822Stanza){};
}

void deb822_done(Deb822 *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                stanza_done(&d->stanzas[i]);
        free(d->stanzas);
        *d = (Deb822){};
}

const Deb822Field *deb822_get(const Deb822Stanza *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcasecmp(s->fields[i].name, name) == 0)
                        return &s->fields[i];
        return NULL;
}

typedef struct Reader {
        LoadCtx *c;
        Deb822 *out;
        Deb822Stanza cur;
        /* The value being built of the last field of cur. */
        char *value;
        size_t len, cap;
        size_t stanzas_cap;
        bool full; /* cur has DEP8_MAX_FIELDS fields */
} Reader;

static int value_append(Reader *r, const char *s, size_t n)
{
        if (r->len + n + 1 > r->cap) {
                size_t cap = r->cap ? r->cap : 64;
                while (cap < r->len + n + 1)
                        cap *= 2;
                char *v = realloc(r->value, cap);
                if (!v)
                        return -ENOMEM;
                r->value = v;
                r->cap = cap;
        }
        memcpy(r->value + r->len, s, n);
        r->len += n;
        r->value[r->len] = '\0';
        return 0;
}

/* Stores the value being built into the last field. */
static int field_finish(Reader *r)
{
        if (r->cur.n == 0 || !r->value)
                return 0;
        Deb822Field *f = &r->cur.fields[r->cur.n - 1];
        /* Trailing whitespace of the last line goes, as dpkg and
         * python-debian strip it from a one-line value. */
        while (r->len > 0 && is_space(r->value[r->len - 1]))
                r->value[--r->len] = '\0';
        squeeze_pairs(r->value);
        f->value = r->value;
        r->value = NULL;
        r->len = r->cap = 0;
        return 0;
}

static int stanza_finish(Reader *r)
{
        field_finish(r);
        if (r->cur.n == 0)
                return 0;
        if (r->out->n >= r->stanzas_cap) {
                size_t cap = r->stanzas_cap ? r->stanzas_cap * 2 : 8;
                Deb822Stanza *v = reallocarray(r->out->stanzas, cap, sizeof(Deb822Stanza));
                if (!v)
                        return -ENOMEM;
                r->out->stanzas = v;
                r->stanzas_cap = cap;
        }
        r->out->stanzas[r->out->n++] = r->cur;
        r->cur = (Deb822Stanza){};
        r->full = false;
        return 0;
}

static int field_start(Reader *r, const char *name, size_t name_len, const char *value,
                       size_t value_len, unsigned line)
{
        field_finish(r);
        _cleanup_free_ char *n = strndup(name, name_len);
        if (!n)
                return -ENOMEM;
        if (n[0] == '-')
                ctx_error(r->c, (SuiteLoc){ line, 0 }, "field cannot start with a hyphen");
        if (deb822_get(&r->cur, n)) {
                ctx_error(r->c, (SuiteLoc){ line, 0 }, "duplicate field %s found", n);
                return 0; /* the first one stays */
        }
        if (r->cur.n >= DEP8_MAX_FIELDS) {
                if (!r->full)
                        ctx_error(r->c, (SuiteLoc){ line, 0 }, "more than %d fields in a stanza",
                                  DEP8_MAX_FIELDS);
                r->full = true; /* reported once, the rest ignored */
                return 0;
        }
        Deb822Field *v = reallocarray(r->cur.fields, r->cur.n + 1, sizeof(Deb822Field));
        if (!v)
                return -ENOMEM;
        r->cur.fields = v;
        if (r->cur.n == 0)
                r->cur.line = line;
        v[r->cur.n++] = (Deb822Field){ .name = TAKE_PTR(n), .line = line };
        r->len = 0;
        return value_append(r, value, value_len);
}

/* One line, without its newline. */
static int read_line(Reader *r, const char *s, size_t n, unsigned line, bool *in_field)
{
        /* A '#' in the first column drops the line; elsewhere it starts a
         * comment, and a line left blank by one is dropped as well. */
        if (n > 0 && s[0] == '#')
                return 0;
        const char *hash = memchr(s, '#', n);
        if (hash) {
                n = (size_t)(hash - s);
                if (all_space(s, n))
                        return 0;
        }
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
                n--;
        if (all_space(s, n)) {
                *in_field = false;
                return stanza_finish(r);
        }
        if (is_space(s[0])) {
                if (!*in_field) {
                        ctx_error(r->c, (SuiteLoc){ line, 0 }, "continued value line not in field");
                        return 0;
                }
                return r->value ? value_append(r, s, n) : 0;
        }
        size_t k = 0;
        while (k < n && s[k] != ':' && !is_space(s[k]))
                k++;
        size_t colon = k;
        while (colon < n && is_space(s[colon]))
                colon++;
        if (k == 0 || colon >= n || s[colon] != ':') {
                ctx_error(r->c, (SuiteLoc){ line, 0 },
                          "line with unknown format (not field-colon-value)");
                *in_field = false;
                return 0;
        }
        size_t v = colon + 1;
        while (v < n && is_space(s[v]))
                v++;
        *in_field = true;
        return field_start(r, s, k, s + v, n - v, line);
}

/* The offset of the first byte of s[0..n) that starts no valid UTF-8
 * sequence, or n. */
static size_t utf8_invalid_at(const char *s, size_t n)
{
        for (size_t i = 0, k; i < n; i += k)
                if (th_utf8_decode(s + i, &k) < 0 || i + k > n)
                        return i;
        return n;
}

int deb822_parse(LoadCtx *c, const char *data, size_t size, Deb822 *ret)
{
        Deb822 out = {};
        Reader r = { .c = c, .out = &out };
        bool in_field = false;
        unsigned line = 1;
        int k = 0;

        for (size_t pos = 0; pos < size && k >= 0; line++) {
                const char *nl = memchr(data + pos, '\n', size - pos);
                size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
                size_t bad = utf8_invalid_at(data + pos, n);
                if (memchr(data + pos, '\0', n)) {
                        ctx_error(c, (SuiteLoc){ line, 0 }, "NUL byte in line");
                        in_field = false;
                } else if (bad < n) {
                        /* Debian Policy 5.1: control files are UTF-8; names
                         * of other bytes could not be written anywhere
                         * (a generated suite, a report) as they are. */
                        ctx_error(c, (SuiteLoc){ line, (unsigned)bad + 1 },
                                  "not UTF-8 (byte 0x%02x)", (unsigned char)data[pos + bad]);
                        in_field = false;
                } else {
                        k = read_line(&r, data + pos, n, line, &in_field);
                }
                pos += n + 1;
        }
        if (k >= 0)
                k = stanza_finish(&r);
        free(r.value);
        stanza_done(&r.cur);
        if (k < 0) {
                deb822_done(&out);
                return k;
        }
        *ret = out;
        return 0;
}

int deb822_read_file(LoadCtx *c, const char *path, size_t max, char **ret, size_t *ret_size)
{
        /* O_NONBLOCK: a FIFO (an unpacked source tree may hold one) must
         * not keep the open waiting; it is refused just below. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0) {
                int e = errno;
                ctx_error(c, (SuiteLoc){}, "cannot open: %s", strerror(e));
                return -e;
        }
        if (!S_ISREG(st.st_mode)) {
                ctx_error(c, (SuiteLoc){}, "not a regular file");
                return -EINVAL;
        }
        _cleanup_free_ char *buf = malloc(max + 1);
        size_t len = 0;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, max + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        ctx_error(c, (SuiteLoc){}, "cannot read: %s", strerror(e));
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max) {
                        ctx_error(c, (SuiteLoc){ 1, 0 }, "file is larger than %zu bytes", max);
                        return -EFBIG;
                }
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = len;
        return 0;
}

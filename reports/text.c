/* reports: text handling shared by every format: a byte buffer, a strict
 * UTF-8 decoder, the XML / JSON / TAP / YAML sanitisers and locale-free
 * number and time formatting. Pure code; fuzzed by reports/fuzz/. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "report-internal.h"

/* ---- byte buffer --------------------------------------------------------- */

int rbuf_put(RBuf *b, const void *p, size_t n)
{
        if (n >= SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int rbuf_puts(RBuf *b, const char *s)
{
        return rbuf_put(b, s, strlen(s));
}

int rbuf_putc(RBuf *b, char c)
{
        return rbuf_put(b, &c, 1);
}

int rbuf_printf(RBuf *b, const char *fmt, ...)
{
        char small[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t)n < sizeof(small))
                return rbuf_put(b, small, (size_t)n);

        _cleanup_free_ char *big = malloc((size_t)n + 1);
        if (!big)
                return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return rbuf_put(b, big, (size_t)n);
}

void rbuf_done(RBuf *b)
{
        free(b->data);
        *b = (RBuf){};
}

/* ---- UTF-8 --------------------------------------------------------------- */

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret_cp)
{
        uint32_t cp, min;
        size_t n;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if ((s[0] & 0xE0) == 0xC0) {
                n = 2, cp = s[0] & 0x1F, min = 0x80;
        } else if ((s[0] & 0xF0) == 0xE0) {
                n = 3, cp = s[0] & 0x0F, min = 0x800;
        } else if ((s[0] & 0xF8) == 0xF0) {
                n = 4, cp = s[0] & 0x07, min = 0x10000;
        } else {
                *ret_cp = UTF8_REPLACEMENT;
                return 1;
        }
        if (len < n) {
                *ret_cp = UTF8_REPLACEMENT;
                return 1;
        }
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xC0) != 0x80) {
                        *ret_cp = UTF8_REPLACEMENT;
                        return 1;
                }
                cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                *ret_cp = UTF8_REPLACEMENT;
                return 1;
        }
        *ret_cp = cp;
        return n;
}

int utf8_encode(uint32_t cp, RBuf *out)
{
        unsigned char b[4];
        size_t n;

        if (cp < 0x80) {
                b[0] = (unsigned char)cp, n = 1;
        } else if (cp < 0x800) {
                b[0] = 0xC0 | (cp >> 6), b[1] = 0x80 | (cp & 0x3F), n = 2;
        } else if (cp < 0x10000) {
                b[0] = 0xE0 | (cp >> 12), b[1] = 0x80 | ((cp >> 6) & 0x3F);
                b[2] = 0x80 | (cp & 0x3F), n = 3;
        } else {
                b[0] = 0xF0 | (cp >> 18), b[1] = 0x80 | ((cp >> 12) & 0x3F);
                b[2] = 0x80 | ((cp >> 6) & 0x3F), b[3] = 0x80 | (cp & 0x3F), n = 4;
        }
        return rbuf_put(out, b, n);
}

size_t ansi_csi_length(const unsigned char *s, size_t len)
{
        size_t i = 2;

        if (len < 2 || s[0] != 0x1B || s[1] != '[')
                return 0;
        while (i < len && s[i] >= 0x30 && s[i] <= 0x3F)
                i++;
        while (i < len && s[i] >= 0x20 && s[i] <= 0x2F)
                i++;
        if (i < len && s[i] >= 0x40 && s[i] <= 0x7E)
                return i + 1;
        return 0;
}

static bool xml_char_ok(uint32_t cp)
{
        /* XML 1.0, production [2] Char. */
        return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
               (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* Walks s as UTF-8, calling emit() once per code point (invalid → U+FFFD),
 * with ANSI CSI sequences skipped. Stops early when emit() returns > 0. */
typedef int (*EmitFn)(uint32_t cp, RBuf *out, void *userdata);

static int walk(const char *s, size_t len, EmitFn emit, RBuf *out, void *userdata)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;
        int r;

        while (i < len) {
                uint32_t cp;
                size_t n = ansi_csi_length(p + i, len - i);
                if (n > 0) {
                        i += n;
                        continue;
                }
                i += utf8_decode(p + i, len - i, &cp);
                r = emit(cp, out, userdata);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return 0;
}

typedef struct LineState {
        size_t start; /* out->len when the value began */
        bool one_line;
} LineState;

/* > 0 when a one-line value reached its limit. */
static int line_full(const RBuf *out, const LineState *st)
{
        return st->one_line && out->len - st->start >= REPORT_LINE_MAX;
}

static int emit_xml(uint32_t cp, RBuf *out, void *userdata)
{
        LineState *st = userdata;

        if (line_full(out, st))
                return rbuf_puts(out, "…") < 0 ? -ENOMEM : 1;
        if (!xml_char_ok(cp))
                cp = UTF8_REPLACEMENT;
        if (st->one_line && (cp == '\t' || cp == '\n' || cp == '\r'))
                cp = ' ';
        return utf8_encode(cp, out);
}

int xml_sanitize(const char *s, size_t len, bool one_line, RBuf *out)
{
        LineState st = { .start = out->len, .one_line = one_line };
        int r = rbuf_put(out, "", 0); /* NUL-terminate even when empty */
        if (r < 0)
                return r;
        return walk(s, len, emit_xml, out, &st);
}

/* ---- attachment lines ---------------------------------------------------- */

#define ATTACHMENT_TAG "ATTACHMENT|"

int attachment_defuse(const char *s, size_t len, RBuf *out)
{
        size_t from = 0;
        int r = rbuf_put(out, "", 0);

        for (size_t i = 0; r >= 0 && i + 2 + strlen(ATTACHMENT_TAG) <= len; i++) {
                if (s[i] != '[' || s[i + 1] != '[' ||
                    strncasecmp(s + i + 2, ATTACHMENT_TAG, strlen(ATTACHMENT_TAG)) != 0)
                        continue;
                r = rbuf_put(out, s + from, i + 1 - from);
                if (r >= 0)
                        r = rbuf_putc(out, ' ');
                from = i + 1;
        }
        if (r >= 0)
                r = rbuf_put(out, s + from, len - from);
        return r;
}

bool attachment_path_ok(const char *path)
{
        for (const unsigned char *p = (const unsigned char *)path; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return !strstr(path, "[[") && !strstr(path, "]]");
}

static int emit_json(uint32_t cp, RBuf *out, void *userdata)
{
        (void)userdata;
        switch (cp) {
        case '"':
                return rbuf_puts(out, "\\\"");
        case '\\':
                return rbuf_puts(out, "\\\\");
        case '\n':
                return rbuf_puts(out, "\\n");
        case '\r':
                return rbuf_puts(out, "\\r");
        case '\t':
                return rbuf_puts(out, "\\t");
        default:
                if (cp < 0x20 || cp == 0x7F)
                        return rbuf_printf(out, "\\u%04x", (unsigned)cp);
                /* U+2028/2029 are valid JSON but break JavaScript embedding. */
                if (cp == 0x2028 || cp == 0x2029)
                        return rbuf_printf(out, "\\u%04x", (unsigned)cp);
                return utf8_encode(cp, out);
        }
}

int json_escape(const char *s, size_t len, RBuf *out)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;
        int r;

        /* No CSI stripping here: JSON can carry ESC as \u001b faithfully. */
        r = rbuf_putc(out, '"');
        while (r >= 0 && i < len) {
                uint32_t cp;
                i += utf8_decode(p + i, len - i, &cp);
                r = emit_json(cp, out, NULL);
        }
        return r < 0 ? r : rbuf_putc(out, '"');
}

static uint32_t tap_char(uint32_t cp, bool one_line)
{
        if (one_line && (cp == '\t' || cp == '\n' || cp == '\r'))
                return ' ';
        if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7F || !xml_char_ok(cp))
                return UTF8_REPLACEMENT;
        return cp;
}

static int emit_tap(uint32_t cp, RBuf *out, void *userdata)
{
        LineState *st = userdata;

        if (line_full(out, st))
                return rbuf_puts(out, "…") < 0 ? -ENOMEM : 1;
        cp = tap_char(cp, true);
        if (cp == '\\' || cp == '#')
                return rbuf_printf(out, "\\%c", (char)cp);
        return utf8_encode(cp, out);
}

int tap_escape_description(const char *s, size_t len, RBuf *out)
{
        LineState st = { .start = out->len, .one_line = true };
        int r = rbuf_put(out, "", 0);
        if (r < 0)
                return r;
        return walk(s, len, emit_tap, out, &st);
}

static int emit_yaml(uint32_t cp, RBuf *out, void *userdata)
{
        LineState *st = userdata;

        if (line_full(out, st))
                return rbuf_puts(out, "…") < 0 ? -ENOMEM : 1;
        cp = tap_char(cp, st->one_line);
        /* YAMLish knows \" \\ \n \t and \xHH; nothing else. */
        switch (cp) {
        case '"':
                return rbuf_puts(out, "\\\"");
        case '\\':
                return rbuf_puts(out, "\\\\");
        case '\n':
                return rbuf_puts(out, "\\n");
        case '\t':
                return rbuf_puts(out, "\\t");
        default:
                return utf8_encode(cp, out);
        }
}

int yaml_quote(const char *s, size_t len, bool one_line, RBuf *out)
{
        LineState st = { .start = out->len, .one_line = one_line };
        int r = rbuf_putc(out, '"');
        if (r < 0)
                return r;
        r = walk(s, len, emit_yaml, out, &st);
        return r < 0 ? r : rbuf_putc(out, '"');
}

/* ---- numbers and time ---------------------------------------------------- */

uint64_t seconds_to_msec(double sec)
{
        /* NaN, negative and absurd values (> ~31 years) are clamped. */
        if (!(sec > 0))
                return 0;
        if (sec > 1e9)
                sec = 1e9;
        return (uint64_t)llround(sec * 1000.0);
}

void format_seconds(double sec, char buf[static REPORT_SECONDS_MAX])
{
        uint64_t ms = seconds_to_msec(sec);
        /* Integers only: printf's %f would follow LC_NUMERIC. */
        snprintf(buf, REPORT_SECONDS_MAX, "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
}

void format_timestamp(uint64_t realtime_usec, char buf[static REPORT_TIMESTAMP_MAX])
{
        time_t t = (time_t)(realtime_usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm)) {
                snprintf(buf, REPORT_TIMESTAMP_MAX, "1970-01-01T00:00:00");
                return;
        }
        /* Numeric fields only, so strftime's locale does not matter. */
        if (strftime(buf, REPORT_TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                snprintf(buf, REPORT_TIMESTAMP_MAX, "1970-01-01T00:00:00");
}

/* reports fuzz: json_escape() must produce one valid JSON string literal
 * (RFC 8259: no raw control characters, only the defined escapes, valid
 * UTF-8) that decodes to the input with invalid UTF-8 replaced by U+FFFD. */
#include <string.h>

#include "report-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        abort();
}

/* Decodes the literal, aborting on anything a JSON parser would reject. */
static void decode(const char *s, size_t len, RBuf *out)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 1;

        if (len < 2 || s[0] != '"' || s[len - 1] != '"')
                abort();
        while (i < len - 1) {
                uint32_t cp;
                if (p[i] < 0x20 || p[i] == '"')
                        abort();
                if (p[i] != '\\') {
                        size_t n = utf8_decode(p + i, len - 1 - i, &cp);
                        if (n == 1 && p[i] >= 0x80)
                                abort(); /* invalid UTF-8 in the output */
                        utf8_encode(cp, out);
                        i += n;
                        continue;
                }
                if (i + 1 >= len - 1)
                        abort();
                char e = s[i + 1];
                const char *esc = strchr("\"\\/bfnrt", e);
                if (e && esc) {
                        static const char to[] = "\"\\/\b\f\n\r\t";
                        rbuf_putc(out, to[esc - "\"\\/bfnrt"]);
                        i += 2;
                        continue;
                }
                if (e != 'u' || i + 6 > len - 1)
                        abort();
                cp = 0;
                for (size_t k = 2; k < 6; k++)
                        cp = cp * 16 + (uint32_t)hexval(s[i + k]);
                if (cp >= 0xD800 && cp <= 0xDFFF)
                        abort(); /* we never need surrogate pairs */
                utf8_encode(cp, out);
                i += 6;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        RBuf lit = {}, back = {}, expect = {};

        if (json_escape((const char *)data, size, &lit) < 0)
                abort();
        decode(lit.data, lit.len, &back);
        for (size_t i = 0; i < size;) {
                uint32_t cp;
                i += utf8_decode(data + i, size - i, &cp);
                utf8_encode(cp, &expect);
        }
        if (back.len != expect.len || (back.len && memcmp(back.data, expect.data, back.len)))
                abort();
        rbuf_done(&lit);
        rbuf_done(&back);
        rbuf_done(&expect);
        return 0;
}

/* reports fuzz: a TAP description must stay one line with every '#' and '\'
 * escaped (so no input can forge a directive such as "# SKIP"), and a YAML
 * scalar must stay one double-quoted line that TAP::Parser's YAMLish reads:
 * only \" \\ \n \t escapes, no control characters, valid UTF-8. */
#include <string.h>

#include "report-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8_no_controls(const RBuf *b)
{
        const unsigned char *p = (const unsigned char *)rbuf_str(b);
        for (size_t i = 0; i < b->len;) {
                uint32_t cp;
                size_t n = utf8_decode(p + i, b->len - i, &cp);
                if (n == 1 && p[i] >= 0x80)
                        abort();
                if (cp < 0x20 || cp == 0x7F)
                        abort();
                i += n;
        }
}

static void check_description(const RBuf *b)
{
        const char *s = rbuf_str(b);
        check_utf8_no_controls(b);
        for (size_t i = 0; i < b->len; i++) {
                if (s[i] == '\\') {
                        if (s[i + 1] != '\\' && s[i + 1] != '#')
                                abort();
                        i++;
                } else if (s[i] == '#') {
                        abort();
                }
        }
}

static void check_yaml(const RBuf *b, bool one_line)
{
        const char *s = rbuf_str(b);
        check_utf8_no_controls(b);
        if (b->len < 2 || s[0] != '"' || s[b->len - 1] != '"')
                abort();
        for (size_t i = 1; i < b->len - 1; i++) {
                if (s[i] == '"')
                        abort();
                if (s[i] == '\\') {
                        if (!strchr("\"\\nt", s[i + 1]) || i + 1 >= b->len - 1)
                                abort();
                        if (one_line && (s[i + 1] == 'n' || s[i + 1] == 't'))
                                abort();
                        i++;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        RBuf d = {}, y = {}, y1 = {};

        if (tap_escape_description((const char *)data, size, &d) < 0 ||
            yaml_quote((const char *)data, size, /* one_line= */ false, &y) < 0 ||
            yaml_quote((const char *)data, size, /* one_line= */ true, &y1) < 0)
                abort();
        check_description(&d);
        check_yaml(&y, /* one_line= */ false);
        check_yaml(&y1, /* one_line= */ true);
        rbuf_done(&d);
        rbuf_done(&y);
        rbuf_done(&y1);
        return 0;
}

/* runner: text from suite files and containers, made safe to print (see
 * th_cescape()): for a terminal line, and for a JSON string. */
#include <string.h>

#include "runner-internal.h"

const char *runner_safe(const char *s)
{
        /* A few at a time, so that one printf can show several; each lives
         * until RING later calls. */
        static __thread char *ring[8];
        static __thread unsigned next;
        unsigned i = next++ % ELEMENTSOF(ring);

        free(ring[i]);
        ring[i] = th_cescape(s ? s : "", 0);
        return ring[i] ? ring[i] : "?";
}

void runner_json_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (size_t i = 0, n; s && s[i]; i += n) {
                unsigned char c = (unsigned char)s[i];
                int32_t u = th_utf8_decode(s + i, &n);
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (u < 0) /* not UTF-8: no JSON string can hold it */
                        fputs("\\ufffd", f);
                else if (th_unichar_is_unsafe((uint32_t)u))
                        fprintf(f, "\\u%04x", (unsigned)u);
                else
                        fwrite(s + i, 1, n, f);
        }
        fputc('"', f);
}

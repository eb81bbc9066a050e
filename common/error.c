/* common: the ThError type. Safe to use in a child after clone(): no
 * allocation, only vsnprintf into the fixed buffer. */
#include <string.h>

#include "common.h"

__attribute__((format(printf, 3, 0))) static void error_vset(ThError *err, int code,
                                                             const char *fmt, va_list ap)
{
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int th_error_set(ThError *err, int code, const char *fmt, ...)
{
        if (code <= 0)
                code = EIO;
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                error_vset(err, code, fmt, ap);
                va_end(ap);
        }
        return -code;
}

int th_error_errno(ThError *err, int code, const char *fmt, ...)
{
        if (code <= 0)
                code = EIO;
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                error_vset(err, code, fmt, ap);
                va_end(ap);
                size_t n = strlen(err->msg);
                /* strerrordesc_np() returns a static string: no locale, no malloc. */
                const char *desc = strerrordesc_np(code);
                snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", desc ? desc : "Unknown error");
        }
        return -code;
}

int th_error_prefix(ThError *err, const char *fmt, ...)
{
        if (!err)
                return -EIO;
        if (err->code <= 0)
                err->code = EIO;

        char buf[TH_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        size_t used = n < 0 ? 0 : (size_t)n;
        if (used > sizeof(buf) - 1)
                used = sizeof(buf) - 1;
        for (const char *p = ": "; *p && used < sizeof(buf) - 1; p++)
                buf[used++] = *p;
        for (const char *p = err->msg; *p && used < sizeof(buf) - 1; p++)
                buf[used++] = *p;
        buf[used] = '\0';
        memcpy(err->msg, buf, sizeof(err->msg));
        return -err->code;
}

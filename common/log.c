/* common: the log hook. Library modules log through th_log(); the runner
 * decides where it goes (the default sink writes to stderr). */
#include <string.h>

#include "common.h"

static ThLogSink log_sink;
static void *log_userdata;
static ThLogLevel log_max_level = TH_LOG_NOTICE;

void th_log_set_sink(ThLogSink sink, void *userdata)
{
        log_sink = sink;
        log_userdata = userdata;
}

void th_log_set_max_level(ThLogLevel level)
{
        if (level < 0)
                level = TH_LOG_ERROR;
        if (level >= _TH_LOG_LEVEL_MAX)
                level = TH_LOG_DEBUG;
        log_max_level = level;
}

ThLogLevel th_log_get_max_level(void)
{
        return log_max_level;
}

void th_log(ThLogLevel level, const char *fmt, ...)
{
        if (!log_sink || level > log_max_level)
                return;

        char msg[2048];
        int saved = errno;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_sink(level, msg, log_userdata);
        errno = saved;
}

static bool use_colour(void)
{
        static int cached = -1;

        if (cached < 0) {
                const char *nc = getenv("NO_COLOR");
                const char *term = getenv("TERM");
                cached = isatty(STDERR_FILENO) && !(nc && *nc) && !th_streq(term, "dumb");
        }
        return cached;
}

void th_log_stderr_sink(ThLogLevel level, const char *msg, void *userdata)
{
        static const char *const prefix[_TH_LOG_LEVEL_MAX] = {
                [TH_LOG_ERROR] = "error: ", [TH_LOG_WARNING] = "warning: ", [TH_LOG_NOTICE] = "",
                [TH_LOG_INFO] = "",         [TH_LOG_DEBUG] = "debug: ",
        };
        static const char *const colour[_TH_LOG_LEVEL_MAX] = {
                [TH_LOG_ERROR] = "\033[1;31m", [TH_LOG_WARNING] = "\033[1;33m",
                [TH_LOG_NOTICE] = "",          [TH_LOG_INFO] = "",
                [TH_LOG_DEBUG] = "\033[2m",
        };
        bool c = use_colour() && colour[level][0];
        /* Messages carry text from containers and files (an error a test
         * made, a path): no control character reaches the terminal. */
        char safe[4096];

        th_cescape_buf(msg, safe, sizeof(safe), 0);
        fprintf(stderr, "harness: %s%s%s%s\n", c ? colour[level] : "", prefix[level], safe,
                c ? "\033[0m" : "");
}

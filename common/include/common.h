/* common: the one error type, cleanup attributes and ownership hand-offs, the
 * log hook, and small libc-only helpers shared by every module. Depends on
 * libc only. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <unistd.h>

/* ---- errors -------------------------------------------------------------
 *
 * Convention: functions return int, >= 0 on success and a negative errno on
 * failure. Where the reason must reach the user or a report, a caller-provided
 * ThError *err comes last and carries the message. The message buffer is
 * fixed-size, so a child after clone() can fill it without malloc and write
 * it to the sync pipe in one piece. Cleanup failures on an error path go into
 * a scratch ThError that is thrown away, so the first error is the one
 * reported. */

#define TH_ERROR_MSG_MAX 512

typedef struct ThError {
        int code; /* positive errno; 0 = no error */
        char msg[TH_ERROR_MSG_MAX];
} ThError;

/* Fill err (may be NULL) and return -code. code <= 0 is taken as EIO. */
int th_error_set(ThError *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Like th_error_set, appending ": <strerror(code)>". */
int th_error_errno(ThError *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Prepend "ctx: " to an existing message; returns -err->code. */
int th_error_prefix(ThError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- cleanup ------------------------------------------------------------ */

#define _cleanup_(f) __attribute__((cleanup(f)))

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p)     \
        {                                       \
                if (*p)                         \
                        func(*p);               \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* Frees a NULL-terminated array of strings. */
void th_strv_free(char **v);
static inline void th_strv_freep(char ***v)
{
        th_strv_free(*v);
}

#define _cleanup_free_     _cleanup_(freep)
#define _cleanup_close_    _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_strv_     _cleanup_(th_strv_freep)

#define TAKE_PTR(p)                     \
        ({                              \
                __typeof__(p) _p = (p); \
                (p) = NULL;             \
                _p;                     \
        })

#define TAKE_FD(fd)             \
        ({                      \
                int _fd = (fd); \
                (fd) = -1;      \
                _fd;            \
        })

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Typed cleanups for the libraries we use; each block exists only where the
 * library's header was included first, so common itself stays libc-only. */
#ifdef YAML_H
static inline void yaml_parser_deletep(yaml_parser_t **p)
{
        if (*p) {
                yaml_parser_delete(*p);
                free(*p);
        }
}
static inline void yaml_event_deletep(yaml_event_t *e)
{
        yaml_event_delete(e);
}
#define _cleanup_yaml_parser_ _cleanup_(yaml_parser_deletep)
#define _cleanup_yaml_event_  _cleanup_(yaml_event_deletep)
#endif

#ifdef _LIBMOUNT_MOUNT_H
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter)
#define _cleanup_mnt_table_ _cleanup_(mnt_unref_tablep)
#define _cleanup_mnt_iter_  _cleanup_(mnt_free_iterp)
#endif

#ifdef _SYS_CAPABILITY_H
static inline void cap_freep(cap_t *c)
{
        if (*c)
                cap_free(*c);
}
#define _cleanup_cap_ _cleanup_(cap_freep)
#endif

/* ---- logging ------------------------------------------------------------
 *
 * Only the runner prints to the user. Library modules may emit debug
 * messages through th_log(), which goes to a sink the runner installs (none:
 * dropped). */

typedef enum ThLogLevel {
        TH_LOG_ERROR,
        TH_LOG_WARNING,
        TH_LOG_NOTICE,
        TH_LOG_INFO,
        TH_LOG_DEBUG,
        _TH_LOG_LEVEL_MAX,
        _TH_LOG_LEVEL_INVALID = -EINVAL,
} ThLogLevel;

typedef void (*ThLogSink)(ThLogLevel level, const char *msg, void *userdata);

void th_log_set_sink(ThLogSink sink, void *userdata);
void th_log_set_max_level(ThLogLevel level);
ThLogLevel th_log_get_max_level(void);
void th_log(ThLogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define th_debug(...) th_log(TH_LOG_DEBUG, __VA_ARGS__)

/* The default sink for programs: "harness: " prefix on stderr, colour only on
 * a TTY and when NO_COLOR is unset. */
void th_log_stderr_sink(ThLogLevel level, const char *msg, void *userdata);

/* ---- small helpers ------------------------------------------------------ */

/* Time is kept in microseconds (uint64_t ..._usec); one spelling of the
 * units, as systemd's. */
#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL

/* Monotonic and wall clocks in microseconds. */
uint64_t th_now_usec(void);
uint64_t th_realtime_usec(void);

/* Parse "90s", "2m", "500ms", "1h", "1.5s" or plain seconds into usec. */
int th_parse_duration(const char *s, uint64_t *ret_usec);
/* Parse "512M", "2G", "64K", "1024" (bytes; binary multiples) into bytes. */
int th_parse_size(const char *s, uint64_t *ret_bytes);

/* Write all of buf; retries on EINTR and short writes. */
int th_write_all(int fd, const void *buf, size_t len);
/* Write a whole file atomically: tmp in the same directory + fsync + rename. */
int th_write_file_atomic(const char *path, const void *buf, size_t len, ThError *err);
/* mkdir -p with the given mode. */
int th_mkdir_p(const char *path, mode_t mode);
/* rm -rf that never crosses into another mount and never follows symlinks. */
int th_rm_rf(const char *path);
/* Opens path inside root_fd as if root_fd were "/" (openat2 with
 * RESOLVE_IN_ROOT, no magic links; O_CLOEXEC added), as a container or a
 * tree's own symlinks would resolve it: an fd or -errno. */
int th_open_in_root(int root_fd, const char *path, int flags);
/* Opens path beneath dir_fd (openat2 with RESOLVE_BENEATH, no magic links;
 * O_CLOEXEC added): an absolute path, a ".." or a symlink that leads out of
 * dir_fd fails with -EXDEV, so nothing outside is opened or looked at. An fd
 * or -errno. */
int th_open_beneath(int dir_fd, const char *path, int flags);

/* snprintf into a fixed buffer; returns -ENAMETOOLONG on truncation. */
int th_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* malloc'ing formatters; NULL on OOM. */
char *th_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t th_strv_length(char *const *v);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int th_strv_push(char ***v, const char *s);

/* ---- text from elsewhere -------------------------------------------------
 *
 * A string a container or a file could have chosen, made safe to show or to
 * store on one line: C0 controls and DEL become \n, \t, \r or \xHH, a byte
 * of no valid UTF-8 sequence (such as a lone 0x9b, CSI to a terminal not in
 * UTF-8 mode) \xHH, and C1 controls and the bidirectional controls written in
 * UTF-8 \u{HHHH}, as are U+2028 and U+2029, the line and paragraph
 * separators YAML, JavaScript and Python's splitlines() end a line at; so no
 * terminal escape, newline, bell or reordering of the line gets through. With TH_ESCAPE_BACKSLASH a backslash becomes \\ as well
 * and th_cunescape() gives back the exact bytes (a stored value). */
#define TH_ESCAPE_BACKSLASH 1u
/* Into buf (always NUL-terminated, cut at an escape boundary); returns the
 * length written. */
size_t th_cescape_buf(const char *s, char *buf, size_t size, unsigned flags);
/* malloc()ed; NULL on OOM. */
char *th_cescape(const char *s, unsigned flags);
/* The code point of the UTF-8 sequence at s and its length in *ret_len, or
 * -1 (*ret_len = 1) when s does not start a valid one (a stray byte, an
 * overlong form, a surrogate). Reads no further than a NUL. */
int32_t th_utf8_decode(const char *s, size_t *ret_len);
/* Whether a code point must not reach a terminal or a name as it is: C0
 * controls, DEL, C1 controls (U+0080..U+009F), the line and paragraph
 * separators (U+2028, U+2029) and the bidirectional controls that reorder
 * what is shown (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069). */
bool th_unichar_is_unsafe(uint32_t c);
/* Reverses th_cescape(s, TH_ESCAPE_BACKSLASH); -EINVAL on a malformed escape
 * or one that makes a NUL. */
int th_cunescape(const char *s, char **ret);

static inline bool th_streq(const char *a, const char *b)
{
        return a && b && __builtin_strcmp(a, b) == 0;
}

/* ---- SHA-256 -------------------------------------------------------------- */

typedef struct ThSha256 {
        uint32_t h[8];
        uint8_t buf[64];
        size_t fill;
        uint64_t bytes;
} ThSha256;

void th_sha256_init(ThSha256 *c);
void th_sha256_update(ThSha256 *c, const void *data, size_t len);
/* 64 lowercase hex digits and a NUL; c is spent. */
void th_sha256_final_hex(ThSha256 *c, char ret[static 65]);
/* The digest of everything fd holds, read with pread() from offset 0 (the
 * file offset is left alone): 0 or -errno. */
int th_sha256_fd(int fd, char ret[static 65]);

/* ---- optional libraries -------------------------------------------------- */

/* A function of a library loaded with th_dlopen_symbols(): its name and the
 * pointer it fills. */
typedef struct ThDlSymbol {
        const char *name;
        void **slot;
} ThDlSymbol;

/* Loads soname (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE: it stays for the life
 * of the process, as a linked library would) and fills every slot, or none.
 * -ELIBACC: "cannot load SONAME, which NEEDED_FOR: <dlerror>"; -ELIBBAD:
 * "SONAME has no symbol 'NAME'". Libraries that harness needs only for some
 * work are loaded this way, so a start does not map them. */
int th_dlopen_symbols(const char *soname, const char *needed_for, const ThDlSymbol *symbols,
                      size_t n, ThError *err);

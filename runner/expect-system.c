/* runner: expectations about the system a booted test ran in, read after
 * the container ended from what its unit saved (isolate/plan.c):
 *
 * - journal.json (`journalctl -o json`, one flat object a line): the
 *   `journal:` / `journal-not:` patterns, matched against
 *   "IDENTIFIER[PID]: MESSAGE" of the entries at or above the priority
 *   floor, and `crashes: none`: systemd's "UNIT: Main process exited,
 *   code=dumped, status=11/SEGV" (also "Control process") and
 *   systemd-coredump's "Process N (PROG) of user U dumped core.";
 * - units (`systemctl list-units --all --plain --no-legend`): `units:`.
 *
 * In direct mode there is no journal: `crashes: none` looks at how the
 * command ended. These files are the container's to write: every line is
 * parsed with bounds, nothing is trusted beyond being text, and at most
 * SYSTEM_READ_MAX bytes of a file are read, each line at most JLINE_MAX
 * (a longer one is skipped whole), so a hostile file cannot grow the worker
 * or keep it busy. */
#include <signal.h>
#include <string.h>

#include "runner-internal.h"

#define JLINE_MAX       (256u * 1024u)
#define JFIELD_MAX      2048
#define UNITS_SEEN      128
#define UNIT_NAME_N     256
#define SYSTEM_READ_MAX (UINT64_C(1) << 30)

/* Lines of one of those files, bounded (see above). */
typedef struct LineReader {
        FILE *f;
        char *line; /* JLINE_MAX + 2 bytes */
        off_t at;
} LineReader;

static void line_reader_done(LineReader *r)
{
        if (r->f)
                fclose(r->f);
        free(r->line);
}

static int line_reader_open(LineReader *r, const char *path)
{
        *r = (LineReader){ .f = path ? fopen(path, "re") : NULL };
        if (!r->f)
                return path ? -errno : -ENOENT;
        r->line = malloc(JLINE_MAX + 2);
        return r->line ? 0 : -ENOMEM;
}

/* The next line (NUL-terminated, with its newline if it had one): its
 * length, or -1 at the end or at SYSTEM_READ_MAX. */
static ssize_t line_reader_next(LineReader *r)
{
        bool skip = false;
        while ((uint64_t)r->at < SYSTEM_READ_MAX && fgets(r->line, JLINE_MAX + 2, r->f)) {
                off_t at = ftello(r->f);
                if (at < r->at)
                        return -1;
                size_t n = (size_t)(at - r->at);
                r->at = at;
                bool whole = n > 0 && r->line[n - 1] == '\n';
                if (!whole && n > JLINE_MAX) {
                        skip = true; /* longer than JLINE_MAX: skipped to its end */
                        continue;
                }
                if (skip) {
                        skip = !whole;
                        continue;
                }
                return (ssize_t)n;
        }
        return -1;
}

typedef struct JEntry {
        char message[JFIELD_MAX];
        char ident[128], comm[128], pid[24], unit[UNIT_NAME_N], sys_unit[UNIT_NAME_N];
        char priority[8], cd_comm[128], cd_signal[32], cd_pid[24];
} JEntry;

/* Decodes a JSON string at *p (after its opening quote) into buf
 * (truncated, NUL-terminated); *p ends after the closing quote. */
static int json_string(const char **p, char *buf, size_t size)
{
        size_t o = 0;
        const char *s = *p;
        for (;;) {
                unsigned char c = (unsigned char)*s++;
                unsigned out = c;
                if (c == '\0')
                        return -EINVAL;
                if (c == '"')
                        break;
                if (c == '\\') {
                        c = (unsigned char)*s++;
                        switch (c) {
                        case 'n':
                                out = '\n';
                                break;
                        case 't':
                                out = '\t';
                                break;
                        case 'r':
                                out = '\r';
                                break;
                        case 'b':
                        case 'f':
                                out = ' ';
                                break;
                        case 'u': {
                                unsigned v = 0;
                                for (int i = 0; i < 4; i++) {
                                        char h = *s++;
                                        v <<= 4;
                                        if (h >= '0' && h <= '9')
                                                v |= (unsigned)(h - '0');
                                        else if (h >= 'a' && h <= 'f')
                                                v |= (unsigned)(h - 'a' + 10);
                                        else if (h >= 'A' && h <= 'F')
                                                v |= (unsigned)(h - 'A' + 10);
                                        else
                                                return -EINVAL;
                                }
                                out = v < 0x80 ? v : '?';
                                break;
                        }
                        case '\0':
                                return -EINVAL;
                        default:
                                out = c; /* \" \\ \/ */
                        }
                }
                if (o + 1 < size)
                        buf[o++] = (char)out;
        }
        buf[o] = '\0';
        *p = s;
        return 0;
}

/* journalctl writes a field that is not valid UTF-8 as an array of byte
 * values. */
static int json_bytes(const char **p, char *buf, size_t size)
{
        size_t o = 0;
        const char *s = *p;
        for (;;) {
                while (*s == ' ' || *s == ',')
                        s++;
                if (*s == ']') {
                        s++;
                        break;
                }
                char *end;
                unsigned long v = strtoul(s, &end, 10);
                if (end == s)
                        return -EINVAL;
                s = end;
                if (o + 1 < size)
                        buf[o++] = v && v < 256 ? (char)v : '?';
        }
        buf[o] = '\0';
        *p = s;
        return 0;
}

static char *field_of(JEntry *e, const char *key, size_t *size)
{
        static const struct {
                const char *key;
                size_t off, size;
        } map[] = {
#define F(k, f) { k, offsetof(JEntry, f), sizeof(((JEntry *)0)->f) }
                F("MESSAGE", message),
                F("SYSLOG_IDENTIFIER", ident),
                F("_COMM", comm),
                F("_PID", pid),
                F("UNIT", unit),
                F("_SYSTEMD_UNIT", sys_unit),
                F("PRIORITY", priority),
                F("COREDUMP_COMM", cd_comm),
                F("COREDUMP_SIGNAL_NAME", cd_signal),
                F("COREDUMP_PID", cd_pid),
#undef F
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(map[i].key, key) == 0) {
                        *size = map[i].size;
                        return (char *)e + map[i].off;
                }
        return NULL;
}

static int json_entry(const char *line, JEntry *e)
{
        char key[64], skip[8];
        const char *s = line;
        *e = (JEntry){};
        while (*s == ' ')
                s++;
        if (*s++ != '{')
                return -EINVAL;
        for (;;) {
                while (*s == ' ' || *s == ',')
                        s++;
                if (*s == '}')
                        return 0;
                if (*s++ != '"' || json_string(&s, key, sizeof(key)) < 0)
                        return -EINVAL;
                while (*s == ' ')
                        s++;
                if (*s++ != ':')
                        return -EINVAL;
                while (*s == ' ')
                        s++;
                size_t size = 0;
                char *dst = field_of(e, key, &size);
                if (!dst) {
                        dst = skip;
                        size = sizeof(skip);
                }
                int r;
                if (*s == '"') {
                        s++;
                        r = json_string(&s, dst, size);
                } else if (*s == '[') {
                        s++;
                        r = json_bytes(&s, dst, size);
                } else {
                        /* null or a number */
                        r = strchr("n-0123456789", *s) && *s ? 0 : -EINVAL;
                        while (*s && *s != ',' && *s != '}')
                                s++;
                        dst[0] = '\0';
                }
                if (r < 0)
                        return r;
        }
}

/* The last program and message seen of each unit, to name them. */
typedef struct UnitSeen {
        char unit[UNIT_NAME_N];
        char comm[128];
        char message[512]; /* the last line of the unit's own processes */
        char systemd[512]; /* the last line systemd wrote about it */
} UnitSeen;

typedef struct SysScan {
        const SuiteExpect *e;
        const char *services; /* the services file */
        RunOutcome *out;
        bool *found, *hit;
        UnitSeen seen[UNITS_SEEN];
        size_t n_seen;
        unsigned crashes;
} SysScan;

static UnitSeen *seen_of(SysScan *s, const char *unit, bool add)
{
        for (size_t i = 0; i < s->n_seen; i++)
                if (strcmp(s->seen[i].unit, unit) == 0)
                        return &s->seen[i];
        if (!add || s->n_seen == UNITS_SEEN || !unit[0])
                return NULL;
        UnitSeen *u = &s->seen[s->n_seen++];
        *u = (UnitSeen){};
        snprintf(u->unit, sizeof(u->unit), "%s", unit);
        return u;
}

static void safe_text(const char *in, char *buf, size_t size)
{
        th_cescape_buf(in, buf, size, 0);
}

/* The program of a service's main process: the basename of the path= of
 * its ExecStart in `systemctl show -p Id,ExecStart` (blocks of lines,
 * ExecStart= before Id=, separated by empty lines). */
static int service_program(const char *path, const char *unit, char *buf, size_t size)
{
        _cleanup_(line_reader_done) LineReader lr = {};
        char exec[256] = "";
        if (line_reader_open(&lr, path) < 0)
                return -ENOENT;
        for (char *line = lr.line; line_reader_next(&lr) > 0;) {
                line[strcspn(line, "\n")] = '\0';
                if (!line[0]) {
                        exec[0] = '\0';
                        continue;
                }
                const char *p = strncmp(line, "ExecStart={ path=", 17) == 0 ? line + 17 : NULL;
                if (p && !exec[0]) {
                        size_t l = strcspn(p, " ;");
                        const char *slash = memrchr(p, '/', l);
                        const char *b = slash ? slash + 1 : p;
                        snprintf(exec, sizeof(exec), "%.*s", (int)(p + l - b), b);
                        continue;
                }
                if (strncmp(line, "Id=", 3) == 0 && strcmp(line + 3, unit) == 0 && exec[0]) {
                        snprintf(buf, size, "%s", exec);
                        return 0;
                }
        }
        return -ENOENT;
}

static bool core_signal_name(const char *n)
{
        static const char *const names[] = { "QUIT", "ILL",  "TRAP", "ABRT", "BUS",
                                             "FPE",  "SEGV", "SYS",  "XCPU", "XFSZ" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(n, names[i]) == 0)
                        return true;
        return false;
}

static void check_crash(SysScan *s, const JEntry *e, const char *unit)
{
        char sig[48] = "", prog[128] = "", line[600];
        const char *m = e->message;
        /* code=dumped, or code=killed when the core size limit is 0 (the
         * signal is a core-dumping one all the same). */
        static const char exited[] = " process exited, code=";
        const char *p = strstr(m, exited);
        if (p && !(p >= m + 4 && strncmp(p - 4, "Main", 4) == 0) &&
            !(p >= m + 7 && strncmp(p - 7, "Control", 7) == 0))
                p = NULL;
        const char *st = p ? strstr(p, ", status=") : NULL;
        const char *name = st ? strchr(st, '/') : NULL;
        if (name && !core_signal_name(name + 1))
                p = NULL;
        if (p && name) {
                snprintf(sig, sizeof(sig), "SIG%.20s", name + 1);
                UnitSeen *u = seen_of(s, unit, false);
                bool main = strncmp(p - 4, "Main", 4) == 0;
                if (!main || service_program(s->services, unit, prog, sizeof(prog)) < 0)
                        snprintf(prog, sizeof(prog), "%s",
                                 !main             ? "a control process"
                                 : u && u->comm[0] ? u->comm
                                                   : "?");
        } else if (strncmp(m, "Process ", 8) == 0 && strstr(m, " dumped core")) {
                const char *a = strchr(m, '('), *b = a ? strchr(a, ')') : NULL;
                if (e->cd_comm[0])
                        snprintf(prog, sizeof(prog), "%s", e->cd_comm);
                else if (a && b)
                        snprintf(prog, sizeof(prog), "%.*s", (int)(b - a - 1), a + 1);
                snprintf(sig, sizeof(sig), "%.31s",
                         e->cd_signal[0] ? e->cd_signal : "a core-dumping signal");
        } else {
                return;
        }
        bool dumped = strstr(m, "code=dumped") || strstr(m, "dumped core");
        char su[UNIT_NAME_N * 4], sp[512];
        safe_text(m, line, sizeof(line));
        safe_text(unit[0] ? unit : "?", su, sizeof(su));
        safe_text(prog, sp, sizeof(sp));
        s->crashes++;
        runner_outcome_add(s->out, "crash",
                           "crashes: none, but %s (unit %s) was killed by %s%s: journal: %s", sp,
                           su, sig, dumped ? " (core dumped)" : "", line);
}

static void scan_entry(SysScan *s, const JEntry *e)
{
        const SuiteExpect *x = s->e;
        /* systemd writes about a unit with UNIT=; the unit's own
         * processes carry _SYSTEMD_UNIT=. */
        const char *unit = e->unit[0] ? e->unit : e->sys_unit;
        if (e->sys_unit[0] && !e->unit[0]) {
                UnitSeen *u = seen_of(s, e->sys_unit, true);
                if (u && e->comm[0])
                        snprintf(u->comm, sizeof(u->comm), "%s", e->comm);
                if (u)
                        snprintf(u->message, sizeof(u->message), "%.*s",
                                 (int)sizeof(u->message) - 1, e->message);
        }
        if (e->unit[0]) {
                UnitSeen *u = seen_of(s, e->unit, true);
                if (u)
                        snprintf(u->systemd, sizeof(u->systemd), "%.*s",
                                 (int)sizeof(u->systemd) - 1, e->message);
        }
        if (x->no_crashes)
                check_crash(s, e, unit);

        int prio = e->priority[0] >= '0' && e->priority[0] <= '7' ? e->priority[0] - '0' : 6;
        if (prio > x->journal_priority)
                return;
        char line[JFIELD_MAX + 200];
        snprintf(line, sizeof(line), "%s%s%s%s: %s", e->ident[0] ? e->ident : e->comm,
                 e->pid[0] ? "[" : "", e->pid, e->pid[0] ? "]" : "", e->message);
        for (size_t i = 0; i < x->n_journal_match; i++)
                if (!s->found[i] && regexec(&x->journal_match[i].re, line, 0, NULL, 0) == 0)
                        s->found[i] = true;
        for (size_t i = 0; i < x->n_journal_not; i++) {
                if (s->hit[i] || regexec(&x->journal_not[i].re, line, 0, NULL, 0) != 0)
                        continue;
                char sl[700], su[UNIT_NAME_N * 4], sp[JFIELD_MAX];
                s->hit[i] = true;
                safe_text(x->journal_not[i].pattern, sp, sizeof(sp));
                safe_text(line, sl, 600);
                safe_text(unit[0] ? unit : "-", su, sizeof(su));
                runner_outcome_add(s->out, "journal",
                                   "journal-not '%s' matched, unit %s, priority %d: %s", sp, su,
                                   prio, sl);
        }
}

static int scan_journal(SysScan *s, const char *path)
{
        _cleanup_(line_reader_done) LineReader lr = {};
        _cleanup_free_ JEntry *e = malloc(sizeof(JEntry));
        int r = line_reader_open(&lr, path);
        if (r < 0)
                return r;
        if (!e)
                return -ENOMEM;
        while (line_reader_next(&lr) > 0) {
                if (json_entry(lr.line, e) < 0)
                        continue;
                scan_entry(s, e);
        }
        return 0;
}

/* One line of `systemctl list-units --plain --no-legend`: UNIT LOAD
 * ACTIVE SUB DESCRIPTION (a failed unit may start with a bullet). */
static bool unit_line(char *line, char **unit, char **active, char **sub)
{
        char *save = NULL, *t = strtok_r(line, " \t\n", &save);
        if (t && strcmp(t, "\xe2\x97\x8f") == 0)
                t = strtok_r(NULL, " \t\n", &save);
        char *load = strtok_r(NULL, " \t\n", &save);
        *unit = t;
        *active = strtok_r(NULL, " \t\n", &save);
        *sub = strtok_r(NULL, " \t\n", &save);
        return t && load && *active && *sub;
}

/* "; journal: LINE; systemd: LINE" of a unit, escaped. */
static void unit_lines(SysScan *s, const char *unit, char *buf, size_t size)
{
        UnitSeen *u = seen_of(s, unit, false);
        char a[1100] = "", b[1100] = "";
        buf[0] = '\0';
        if (!u)
                return;
        safe_text(u->message, a, sizeof(a));
        safe_text(u->systemd, b, sizeof(b));
        snprintf(buf, size, "%s%s%s%s%s%s", a[0] ? "; journal: " : "",
                 a[0] && u->comm[0] ? u->comm : "", a[0] && u->comm[0] ? ": " : "", a,
                 b[0] ? "; systemd: " : "", b);
}

static bool harness_unit(const char *u)
{
        return strcmp(u, "harness-test.service") == 0 || strcmp(u, "harness-setup.service") == 0;
}

static void check_units(SysScan *s, const char *path)
{
        const SuiteExpect *x = s->e;
        size_t n_want = th_strv_length(x->units) / 2;
        _cleanup_free_ bool *met = calloc(n_want + 1, sizeof(bool));
        _cleanup_(line_reader_done) LineReader lr = {};
        if (!met)
                return;
        int r = line_reader_open(&lr, path);
        if (r < 0) {
                runner_outcome_add(s->out, "error", "units: no unit states saved ('%s'): %s", path,
                                   strerror(-r));
                return;
        }
        while (line_reader_next(&lr) > 0) {
                char *unit, *active, *sub;
                if (!unit_line(lr.line, &unit, &active, &sub) || harness_unit(unit))
                        continue;
                char su[UNIT_NAME_N * 4], sm[2100];
                safe_text(unit, su, sizeof(su));
                unit_lines(s, unit, sm, sizeof(sm));
                if (x->units_no_failed && strcmp(active, "failed") == 0)
                        runner_outcome_add(s->out, "unit", "units: failed: none, but %s failed%s",
                                           su, sm);
                for (size_t i = 0; i < n_want; i++) {
                        if (strcmp(x->units[2 * i], unit) != 0)
                                continue;
                        met[i] = true;
                        if (strcmp(x->units[2 * i + 1], active) == 0 ||
                            strcmp(x->units[2 * i + 1], sub) == 0)
                                continue;
                        runner_outcome_add(s->out, "unit", "units: %s is %s (%s), expected %s%s",
                                           su, active, sub, x->units[2 * i + 1], sm);
                }
        }
        for (size_t i = 0; i < n_want; i++)
                if (!met[i]) {
                        char su[UNIT_NAME_N * 4];
                        safe_text(x->units[2 * i], su, sizeof(su));
                        runner_outcome_add(s->out, "unit",
                                           "units: %s is not loaded (no such unit), expected %s",
                                           su, x->units[2 * i + 1]);
                }
}

static bool core_signal(int sig)
{
        return sig == SIGQUIT || sig == SIGILL || sig == SIGTRAP || sig == SIGABRT ||
               sig == SIGBUS || sig == SIGFPE || sig == SIGSEGV || sig == SIGSYS ||
               sig == SIGXCPU || sig == SIGXFSZ;
}

void runner_expect_system(const IsolateResult *res, const TestSpec *test, RunOutcome *out)
{
        const SuiteExpect *x = &test->expect;
        bool journal = x->n_journal_match || x->n_journal_not;
        if (!journal && !x->units && !x->units_no_failed && !x->no_crashes)
                return;
        if (!test->boot) {
                /* The command itself, or a process the shell reported as
                 * killed (status 128 + signal). */
                int sig = res->status == ISOLATE_SIGNALED ? res->term_signal
                          : res->status == ISOLATE_EXITED && res->exit_status > 128
                                  ? res->exit_status - 128
                                  : 0;
                if (x->no_crashes && core_signal(sig))
                        runner_outcome_add(
                                out, "crash",
                                "crashes: none, but %s was killed by SIG%s (core-dumping "
                                "signal %d)",
                                res->status == ISOLATE_SIGNALED
                                        ? "the test's command (run)"
                                        : "a process of the test (the shell's exit status)",
                                sigabbrev_np(sig) ?: "?", sig);
                return;
        }
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", res->stdout_path);
        char *slash = strrchr(dir, '/');
        if (!slash)
                return;
        *slash = '\0';
        _cleanup_free_ char *jpath = th_strdup_printf("%s/journal.json", dir);
        _cleanup_free_ char *upath = th_strdup_printf("%s/units", dir);
        _cleanup_free_ char *spath = th_strdup_printf("%s/services", dir);
        _cleanup_free_ SysScan *s = calloc(1, sizeof(SysScan));
        _cleanup_free_ bool *found = calloc(x->n_journal_match + 1, sizeof(bool));
        _cleanup_free_ bool *hit = calloc(x->n_journal_not + 1, sizeof(bool));
        if (!jpath || !upath || !spath || !s || !found || !hit) {
                runner_outcome_add(out, "error", "out of memory");
                return;
        }
        *s = (SysScan){ .e = x, .services = spath, .out = out, .found = found, .hit = hit };
        int r = scan_journal(s, jpath);
        if (r < 0) {
                runner_outcome_add(out, "error", "journal: no JSON journal saved ('%s'): %s", jpath,
                                   strerror(-r));
                return;
        }
        for (size_t i = 0; i < x->n_journal_match; i++)
                if (!found[i]) {
                        char sp[JFIELD_MAX];
                        safe_text(x->journal_match[i].pattern, sp, sizeof(sp));
                        runner_outcome_add(out, "journal",
                                           "journal did not match '%s' (priority %d or more "
                                           "important)",
                                           sp, x->journal_priority);
                }
        if (x->units || x->units_no_failed)
                check_units(s, upath);
}

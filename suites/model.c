/* suites: the plain-data model's lifetime (free functions), the located
 * diagnostics, regex compilation, and the test id the runner names tests by
 * (which tests run is the runner's choice: runner_test_selected()). */
#include <string.h>

#include "suite-internal.h"

void ctx_error(LoadCtx *c, SuiteLoc loc, const char *fmt, ...)
{
        SuiteDiags *d = c->diags;
        va_list ap;

        if (c->quiet)
                return; /* said by the other pass of a streamed load */
        c->n_errors++;
        if (!d)
                return;
        if (d->n >= SUITE_MAX_DIAGS) {
                d->truncated = true;
                return;
        }
        if (!d->items) {
                d->items = calloc(SUITE_MAX_DIAGS, sizeof(SuiteDiag));
                if (!d->items) {
                        c->oom = true;
                        return;
                }
        }
        SuiteDiag *diag = &d->items[d->n];
        char *msg = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        diag->file = strdup(c->file);
        if (r < 0 || !diag->file) {
                free(diag->file);
                diag->file = NULL;
                if (r >= 0)
                        free(msg);
                c->oom = true;
                return;
        }
        diag->message = msg;
        diag->loc = loc;
        d->n++;
}

bool ctx_account(LoadCtx *c, size_t bytes)
{
        if (c->model_bytes > SUITE_MAX_MODEL || bytes > SUITE_MAX_MODEL - c->model_bytes) {
                c->model_bytes = SIZE_MAX / 2;
                return false;
        }
        c->model_bytes += bytes;
        return true;
}

char *ctx_strdup(LoadCtx *c, const char *s)
{
        if (!s)
                return NULL;
        size_t len = strlen(s);
        if (!ctx_account(c, len + 1))
                return NULL;
        char *copy = strdup(s);
        if (!copy)
                c->oom = true;
        return copy;
}

void suite_diags_done(SuiteDiags *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (SuiteDiags){};
}

char *suite_diag_format(const SuiteDiag *d)
{
        if (d->loc.line == 0) /* the file as a whole: cannot open, not a file */
                return th_strdup_printf("%s: %s", d->file ? d->file : "-",
                                        d->message ? d->message : "error");
        if (d->loc.column == 0) /* formats of lines only (debian/tests/control) */
                return th_strdup_printf("%s:%u: %s", d->file ? d->file : "-", d->loc.line,
                                        d->message ? d->message : "error");
        return th_strdup_printf("%s:%u:%u: %s", d->file ? d->file : "-", d->loc.line, d->loc.column,
                                d->message ? d->message : "error");
}

void suite_regex_done(SuiteRegex *r)
{
        if (!r)
                return;
        if (r->pattern && !r->borrowed)
                regfree(&r->re);
        free(r->pattern);
        r->pattern = NULL;
}

void suite_regexes_free(SuiteRegex *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                suite_regex_done(&v[i]);
        free(v);
}

void test_spec_done(TestSpec *t)
{
        if (!t)
                return;
        free(t->name);
        free(t->run);
        free(t->setup);
        free(t->network_group);
        free(t->user);
        free(t->workdir);
        for (size_t i = 0; i < t->n_env; i++) {
                free(t->env[i].key);
                free(t->env[i].value);
        }
        free(t->env);
        for (size_t i = 0; i < t->n_fixtures; i++) {
                free(t->fixtures[i].source);
                free(t->fixtures[i].source_abs);
                free(t->fixtures[i].target);
        }
        free(t->fixtures);
        suite_regexes_free(t->expect.stdout_match, t->expect.n_stdout_match);
        suite_regexes_free(t->expect.stdout_not, t->expect.n_stdout_not);
        suite_regexes_free(t->expect.stderr_match, t->expect.n_stderr_match);
        suite_regexes_free(t->expect.stderr_not, t->expect.n_stderr_not);
        suite_regexes_free(t->expect.journal_match, t->expect.n_journal_match);
        suite_regexes_free(t->expect.journal_not, t->expect.n_journal_not);
        th_strv_free(t->expect.units);
        th_strv_free(t->artifacts);
        th_strv_free(t->tags);
        free(t->skip);
        th_strv_free(t->packages);
        th_strv_free(t->install);
        *t = (TestSpec){};
}

void suite_rootfs_done(SuiteRootfs *r)
{
        free(r->dir);
        free(r->distro);
        free(r->release);
        free(r->variant);
        th_strv_free(r->include);
        free(r->mirror);
        *r = (SuiteRootfs){};
}

Suite *suite_free(Suite *s)
{
        if (!s)
                return NULL;
        free(s->path);
        free(s->base_dir);
        free(s->name);
        suite_rootfs_done(&s->rootfs);
        test_spec_done(&s->defaults);
        for (size_t i = 0; i < s->n_tests; i++)
                test_spec_done(&s->tests[i]);
        free(s->tests);
        free(s);
        return NULL;
}

char *suite_test_id(const Suite *s, const TestSpec *t)
{
        return th_strdup_printf("%s/%s", s->name ? s->name : "", t->name ? t->name : "");
}

/* Skips a bracket expression starting at p ('['); returns its last char. */
static const char *skip_bracket(const char *p)
{
        p++;
        if (*p == '^')
                p++;
        if (*p == ']')
                p++;
        while (*p && *p != ']') {
                if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                        const char *close = strstr(p + 2, (char[]){ p[1], ']', 0 });
                        p = close ? close + 1 : p + 1;
                        continue;
                }
                p++;
        }
        return *p ? p : p - 1;
}

/* What regcomp's time grows with, measured on glibc: the nodes it builds
 * ({n,m} and x+ copy the preceding atom or group), times the repetition
 * operators among them (the epsilon closures it computes for each). */
typedef struct RegexCost {
        uint64_t nodes, ops;
} RegexCost;

static void cost_add(RegexCost *a, RegexCost b)
{
        a->nodes += b.nodes;
        a->ops += b.ops;
}

static int regex_refuse(LoadCtx *c, const SuiteRegex *r, const char *why)
{
        ctx_error(c, r->loc, "invalid regular expression '%s': %s", r->pattern, why);
        return -EINVAL;
}

/* Parses "{n}", "{n,}", "{n,m}" at p; returns the copies it makes (n,m
 * maxed, +1 for an open end) and moves *p to the closing brace. */
static unsigned long interval_copies(const char **p)
{
        unsigned long bound = 0;
        const char *q = *p + 1;
        bool open_end = false;

        while ((*q >= '0' && *q <= '9') || *q == ',') {
                char *end;
                if (*q == ',') {
                        open_end = q[1] == '}';
                        q++;
                        continue;
                }
                unsigned long n = strtoul(q, &end, 10);
                bound = n > bound ? n : bound;
                q = end;
        }
        *p = *q ? q : q - 1;
        return bound > 255 ? bound : bound + open_end;
}

/* Estimates regcomp's work for a pattern and refuses what makes it or the
 * matcher explode: back-references (exponential matching), repetition
 * operators one after another (undefined in POSIX; x+++ doubles each time in
 * glibc), counts over 255, groups nested deeper than 32. */
static int regex_estimate(LoadCtx *c, const SuiteRegex *r, uint64_t *ret)
{
        RegexCost stack[32], cur = {}, last = {};
        size_t depth = 0;
        bool after_dup = false;

        for (const char *p = r->pattern; *p; p++) {
                bool dup = false;
                if (*p == '[') {
                        p = skip_bracket(p);
                        cur.nodes++, last = (RegexCost){ 1, 0 };
                } else if (*p == '\\') {
                        if (p[1] >= '1' && p[1] <= '9')
                                return regex_refuse(c, r, "back-references are not supported");
                        if (p[1])
                                p++;
                        cur.nodes++, last = (RegexCost){ 1, 0 };
                } else if (*p == '(') {
                        if (depth == ELEMENTSOF(stack))
                                return regex_refuse(c, r, "groups are nested deeper than 32");
                        stack[depth++] = cur;
                        cur = (RegexCost){}, last = (RegexCost){};
                } else if (*p == ')' && depth > 0) {
                        RegexCost group = cur;
                        group.nodes++;
                        cur = stack[--depth];
                        cost_add(&cur, group);
                        last = group;
                } else if (*p == '*' || *p == '?' || *p == '+' ||
                           (*p == '{' && ((p[1] >= '0' && p[1] <= '9') || p[1] == ','))) {
                        unsigned long copies = *p == '{' ? interval_copies(&p) : *p == '+' ? 2 : 1;
                        if (after_dup)
                                return regex_refuse(c, r,
                                                    "repetition operators one after "
                                                    "another (like 'a**' or '.*?') are not "
                                                    "supported");
                        if (copies > 255) {
                                ctx_error(c, r->loc,
                                          "invalid regular expression '%s': "
                                          "repetition count %lu exceeds 255",
                                          r->pattern, copies);
                                return -EINVAL;
                        }
                        if (copies > 1) {
                                cur.nodes += last.nodes * (copies - 1);
                                cur.ops += last.ops * (copies - 1);
                                last.nodes *= copies, last.ops *= copies;
                        }
                        cur.nodes++, cur.ops++, last.nodes++, last.ops++;
                        dup = true;
                } else {
                        cur.nodes++, last = (RegexCost){ 1, 0 };
                }
                after_dup = dup;
                RegexCost total = cur;
                for (size_t i = 0; i < depth; i++)
                        cost_add(&total, stack[i]);
                if (total.nodes * (total.ops + 1) > SUITE_MAX_REGEX_NFA) {
                        ctx_error(c, r->loc,
                                  "regular expression '%s' is too complex: its "
                                  "repetitions expand too much",
                                  r->pattern);
                        return -EINVAL;
                }
                if (*p == '\0')
                        break;
        }
        RegexCost total = cur;
        for (size_t i = 0; i < depth; i++)
                cost_add(&total, stack[i]);
        *ret = total.nodes * (total.ops + 1);
        return 0;
}

int suite_regex_compile(LoadCtx *c, SuiteRegex *r)
{
        char buf[256];
        uint64_t nodes;

        if (strlen(r->pattern) > SUITE_MAX_REGEX) {
                ctx_error(c, r->loc, "regular expression is longer than %d bytes", SUITE_MAX_REGEX);
                return -EINVAL;
        }
        int k = regex_estimate(c, r, &nodes);
        if (k < 0)
                return k;
        c->regex_nodes += nodes + 1;
        if (c->regex_nodes > SUITE_MAX_REGEX_ALL) {
                /* Reported once, where the budget ran out. */
                if (c->regex_nodes - (nodes + 1) <= SUITE_MAX_REGEX_ALL)
                        ctx_error(c, r->loc,
                                  "too many regular expressions: together they "
                                  "expand to more than %d nodes",
                                  SUITE_MAX_REGEX_ALL);
                return -E2BIG;
        }
        int e = regcomp(&r->re, r->pattern, REG_EXTENDED | REG_NEWLINE);
        if (e == REG_ESPACE) {
                c->oom = true;
                return -ENOMEM;
        }
        if (e != 0) {
                regerror(e, &r->re, buf, sizeof(buf));
                ctx_error(c, r->loc, "invalid regular expression '%s': %s", r->pattern, buf);
                return -EINVAL;
        }
        return 0;
}

/* suites: the plain-data model's lifetime (free functions), the located
 * diagnostics, regex compilation, and the helpers the runner uses to name and
 * select tests. */
#include <string.h>

#include "suite-internal.h"

void ctx_error(LoadCtx *c, SuiteLoc loc, const char *fmt, ...)
{
        SuiteDiags *d = c->diags;
        va_list ap;

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

static void regexes_free(SuiteRegex *v, size_t n)
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
        regexes_free(t->expect.stdout_match, t->expect.n_stdout_match);
        regexes_free(t->expect.stdout_not, t->expect.n_stdout_not);
        regexes_free(t->expect.stderr_match, t->expect.n_stderr_match);
        regexes_free(t->expect.stderr_not, t->expect.n_stderr_not);
        th_strv_free(t->artifacts);
        th_strv_free(t->tags);
        free(t->skip);
        th_strv_free(t->packages);
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

bool suite_test_has_tag(const TestSpec *t, const char *tag)
{
        for (char **p = t->tags; p && *p; p++)
                if (strcmp(*p, tag) == 0)
                        return true;
        return false;
}

bool suite_test_matches(const Suite *s, const TestSpec *t, const regex_t *filter, const char *tag)
{
        if (tag && !suite_test_has_tag(t, tag))
                return false;
        if (!filter)
                return true;
        _cleanup_free_ char *id = suite_test_id(s, t);
        return id && regexec(filter, id, 0, NULL, 0) == 0;
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

/* Estimates the nodes regcomp builds for a pattern, which is what its time
 * and memory grow with: one per atom, and {n,m} copies the preceding atom or
 * group max(n,m) times (x+ is xx*, one copy), so nested repetitions multiply. Also refuses
 * back-references, which make glibc's matcher exponential. */
static int regex_estimate(LoadCtx *c, const SuiteRegex *r, uint64_t *ret)
{
        uint64_t stack[64], outer = 0, cur = 0, last = 0;
        size_t depth = 0;

        for (const char *p = r->pattern; *p; p++) {
                if (*p == '[') {
                        p = skip_bracket(p);
                        cur++, last = 1;
                } else if (*p == '\\') {
                        if (p[1] >= '1' && p[1] <= '9') {
                                ctx_error(c, r->loc,
                                          "invalid regular expression '%s': "
                                          "back-references are not supported",
                                          r->pattern);
                                return -EINVAL;
                        }
                        if (p[1])
                                p++;
                        cur++, last = 1;
                } else if (*p == '(' && depth < ELEMENTSOF(stack)) {
                        stack[depth++] = cur;
                        outer += cur;
                        cur = 0, last = 0;
                } else if (*p == ')' && depth > 0) {
                        uint64_t group = cur + 1;
                        cur = stack[--depth];
                        outer -= cur;
                        cur += group, last = group;
                } else if (*p == '{' && ((p[1] >= '0' && p[1] <= '9') || p[1] == ',')) {
                        unsigned long bound = 0;
                        const char *q = p + 1;
                        while ((*q >= '0' && *q <= '9') || *q == ',') {
                                char *end;
                                if (*q == ',') {
                                        q++;
                                        continue;
                                }
                                unsigned long n = strtoul(q, &end, 10);
                                bound = n > bound ? n : bound;
                                q = end;
                        }
                        if (bound > 255) {
                                ctx_error(c, r->loc,
                                          "invalid regular expression '%s': "
                                          "repetition count %lu exceeds 255",
                                          r->pattern, bound);
                                return -EINVAL;
                        }
                        /* {n,} is n copies and a star: one more. */
                        if (q[-1] == ',' || q[0] != '}')
                                bound++;
                        if (bound > 1) {
                                cur += last * (bound - 1);
                                last *= bound;
                        }
                        p = *q ? q : q - 1;
                } else if (*p == '+') {
                        /* glibc compiles x+ as xx*: a copy, so a+++ doubles thrice. */
                        cur += last + 1;
                        last = last * 2 + 1;
                } else if (*p == '*' || *p == '?') {
                        cur++, last++;
                } else {
                        cur++, last = 1;
                }
                if (outer + cur > SUITE_MAX_REGEX_NFA) {
                        ctx_error(c, r->loc,
                                  "regular expression '%s' is too complex: its "
                                  "repetitions expand to more than %d nodes",
                                  r->pattern, SUITE_MAX_REGEX_NFA);
                        return -EINVAL;
                }
        }
        *ret = outer + cur;
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

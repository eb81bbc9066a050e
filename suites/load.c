/* suites: the node tree to the model. One key table per mapping (suite,
 * test/defaults, rootfs, expect, limits, fixture), typed value parsers that
 * say what they expected, and the whole-suite checks (required keys, unique
 * test names). Every error is collected with its location; none stops the walk. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "suite-internal.h"

typedef int (*ParseFn)(LoadCtx *c, const Node *v, void *dst);

typedef struct KeyDef {
        const char *key;
        ParseFn parse;
        size_t offset;
        uint32_t field; /* SuiteField or SuiteSubField bit recorded when set */
        unsigned scope; /* SCOPE_* where the key is allowed */
} KeyDef;

enum {
        SCOPE_TEST = 1u << 0,
        SCOPE_DEFAULTS = 1u << 1,
        SCOPE_BOTH = SCOPE_TEST | SCOPE_DEFAULTS,
};

/* ---- scalar typing ------------------------------------------------------ */

static bool is_null(const Node *v)
{
        return v->kind == NODE_SCALAR && v->plain &&
               (v->len == 0 || th_streq(v->value, "~") || th_streq(v->value, "null") ||
                th_streq(v->value, "Null") || th_streq(v->value, "NULL"));
}

static int bool_value(const Node *v)
{
        static const char *const t[] = { "true", "True", "TRUE" }, *const f[] = { "false", "False",
                                                                                  "FALSE" };
        if (v->kind != NODE_SCALAR || !v->plain)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                if (strcmp(v->value, t[i]) == 0)
                        return 1;
                if (strcmp(v->value, f[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static const char *describe(const Node *v)
{
        switch (v->kind) {
        case NODE_MAPPING:
                return "a mapping";
        case NODE_SEQUENCE:
                return "a list";
        case NODE_SCALAR:
                if (is_null(v))
                        return "an empty value";
                if (bool_value(v) >= 0)
                        return "a boolean";
                return v->plain && v->len > 0 && strspn(v->value, "0123456789.-+") == v->len
                               ? "a number"
                               : "a string";
        case NODE_INVALID:
        case _NODE_KIND_MAX:
        case _NODE_KIND_INVALID:
        default:
                return "an invalid value";
        }
}

/* Reports "expected WHAT, got a KIND" unless v was already reported. */
static int expected(LoadCtx *c, const Node *v, const char *what)
{
        if (v->kind != NODE_INVALID)
                ctx_error(c, v->loc, "expected %s, got %s", what, describe(v));
        return -EINVAL;
}

/* A string: any scalar but null and booleans (a bare `true` is a boolean in
 * YAML; making the user quote it avoids surprises). Numbers are kept as text. */
static const char *string_value(LoadCtx *c, const Node *v, const char *what)
{
        if (v->kind == NODE_SCALAR && bool_value(v) >= 0) {
                ctx_error(c, v->loc, "expected %s, got a boolean (quote it: \"%s\")", what,
                          v->value);
                return NULL;
        }
        if (v->kind != NODE_SCALAR || is_null(v)) {
                expected(c, v, what);
                return NULL;
        }
        return v->value;
}

static bool has_control_chars(const char *s, bool allow_newlines)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if ((*p < 0x20 && !(allow_newlines && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
                        return true;
        return false;
}

/* Names and path-like values are printed to the operator's terminal and
 * used as paths: none may hold a character a terminal acts on instead of
 * showing (C0, DEL, C1: escapes, clearing, clipboard writes) or that
 * reorders the line (bidirectional controls). Reports "FIELD must not
 * contain U+XXXX (...)" at loc; returns 0 or -EINVAL. */
static int check_chars(LoadCtx *c, SuiteLoc loc, const char *field, const char *s)
{
        for (size_t i = 0, n; s[i]; i += n) {
                int32_t u = th_utf8_decode(s + i, &n);
                if (u < 0) {
                        ctx_error(c, loc, "%s must be UTF-8, not byte 0x%02x", field,
                                  (unsigned char)s[i]);
                        return -EINVAL;
                }
                if (th_unichar_is_unsafe((uint32_t)u)) {
                        ctx_error(c, loc, "%s must not contain U+%04X (%s)", field, (unsigned)u,
                                  u <= 0x9f                    ? "a control character"
                                  : u == 0x2028 || u == 0x2029 ? "a line separator"
                                                               : "a bidirectional control");
                        return -EINVAL;
                }
        }
        return 0;
}

static int set_string(LoadCtx *c, char **dst, const char *s)
{
        char *copy = ctx_strdup(c, s);
        if (!copy)
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

/* An integer in [min, max], written as a plain YAML integer. */
static int int_value(LoadCtx *c, const Node *v, long long min, long long max, long long *ret)
{
        char *end;
        if (v->kind != NODE_SCALAR || !v->plain || v->len == 0 || v->len > 19 ||
            strspn(v->value, "0123456789") != v->len)
                return expected(c, v, "an integer");
        long long n = strtoll(v->value, &end, 10);
        if (n < min || n > max) {
                ctx_error(c, v->loc, "%s is out of range: expected %lld to %lld", v->value, min,
                          max);
                return -ERANGE;
        }
        *ret = n;
        return 0;
}

/* ---- value parsers (ParseFn) -------------------------------------------- */

static int parse_name(LoadCtx *c, const Node *v, void *dst)
{
        const char *s = string_value(c, v, "a name (a string)");
        if (!s)
                return -EINVAL;
        if (v->len == 0) {
                ctx_error(c, v->loc, "name must not be empty");
                return -EINVAL;
        }
        if (v->len > SUITE_MAX_NAME) {
                ctx_error(c, v->loc, "name is longer than %d bytes", SUITE_MAX_NAME);
                return -EINVAL;
        }
        if (check_chars(c, v->loc, c->key, s) < 0)
                return -EINVAL;
        return set_string(c, dst, s);
}

static int parse_script(LoadCtx *c, const Node *v, void *dst)
{
        const char *s = string_value(c, v, "a shell script (a string)");
        if (!s)
                return -EINVAL;
        if (strspn(s, " \t\n") == v->len) {
                ctx_error(c, v->loc, "script must not be empty");
                return -EINVAL;
        }
        return set_string(c, dst, s);
}

static int parse_bool(LoadCtx *c, const Node *v, void *dst)
{
        int b = bool_value(v);
        if (b < 0)
                return expected(c, v, "a boolean (true or false)");
        *(bool *)dst = b;
        return 0;
}

/* private-users: where it was set, so that a refusal can point at it. */
static int parse_private_users(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        int r = parse_bool(c, v, &t->private_users);
        if (r >= 0)
                t->private_users_loc = c->key_loc;
        return r;
}

static int parse_words(LoadCtx *c, const Node *v, void *dst);
static int check_list(LoadCtx *c, const Node *v, const char *what);

/* packages: names or relations; where they were named, so that a refusal
 * can point at them. */
static int parse_packages(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        int ret = 0;

        if (check_list(c, v, "a list of package names or relations") < 0)
                return -EINVAL;
        th_strv_free(t->packages);
        t->packages = NULL;
        for (size_t i = 0; i < v->n; i++) {
                const char *s = string_value(c, v->items[i], "a package name or relation");
                if (!s) {
                        ret = -EINVAL;
                        continue;
                }
                if (check_chars(c, v->items[i]->loc, c->key, s) < 0) {
                        ret = -EINVAL;
                        continue;
                }
                if (!suite_package_valid(s) || strlen(s) != v->items[i]->len) {
                        ctx_error(c, v->items[i]->loc,
                                  "invalid package or relation '%s': expected a name "
                                  "(nginx-light) or an apt relation ('a (>= 1) | b, c') "
                                  "of letters, digits and +-.:~=<>()|,[]!/_ and spaces, "
                                  "not starting with '-'",
                                  s);
                        ret = -EINVAL;
                        continue;
                }
                if (!ctx_account(c, v->items[i]->len + sizeof(char *)) ||
                    th_strv_push(&t->packages, s) < 0)
                        return -ENOMEM;
        }
        if (ret >= 0)
                t->packages_loc = c->key_loc;
        return ret;
}

/* install: package names (`nginx-light`, `nginx-light=1.22.1-9`) or local
 * .deb files relative to the suite file (`./pkgs/hello_1.0_all.deb`): a
 * local file is an item with a `/` that ends in `.deb`. */
static int parse_install(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        int r = parse_words(c, v, &t->install);
        if (r < 0)
                return r;
        t->install_loc = c->key_loc;
        for (size_t i = 0; i < v->n; i++) {
                const char *s = v->items[i]->value;
                if (suite_install_is_local(s)) {
                        if (s[0] == '/') {
                                ctx_error(c, v->items[i]->loc,
                                          "invalid install item '%s': a local .deb is relative "
                                          "to the suite file (./%s)",
                                          s, strrchr(s, '/') + 1);
                                r = -EINVAL;
                        }
                        continue;
                }
                size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789+-.");
                bool ok = n > 1 && s[0] != '-' && s[0] != '.' &&
                          (s[n] == 0 ||
                           (s[n] == '=' && s[n + 1] &&
                            strspn(s + n + 1, "abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~:-") ==
                                    strlen(s + n + 1)));
                if (!ok) {
                        ctx_error(c, v->items[i]->loc,
                                  "invalid install item '%s': expected a package name, "
                                  "NAME=VERSION or a local file ./FILE.deb",
                                  s);
                        r = -EINVAL;
                }
        }
        return r;
}

static int parse_timeout(LoadCtx *c, const Node *v, void *dst)
{
        uint64_t usec;
        if (v->kind != NODE_SCALAR || is_null(v) || bool_value(v) >= 0)
                return expected(c, v, "a duration such as 120, \"90s\", \"2m\" or \"500ms\"");
        if (th_parse_duration(v->value, &usec) < 0) {
                ctx_error(c, v->loc,
                          "invalid duration '%s': expected seconds or a number with ms, s, m "
                          "or h, such as \"90s\", \"2m\", \"500ms\"",
                          v->value);
                return -EINVAL;
        }
        if (usec < 1000 || usec > 24ull * 3600 * 1000000) {
                ctx_error(c, v->loc, "timeout '%s' is out of range: expected 1ms to 24h", v->value);
                return -ERANGE;
        }
        *(uint64_t *)dst = usec;
        return 0;
}

static int parse_network(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        static const char what[] = "a network mode: none, host, veth or {veth: GROUP}";

        if (v->kind == NODE_MAPPING) {
                const Node *bad = v->n == 0 ? v : NULL;
                for (size_t i = 0; !bad && i < v->n; i += 2)
                        if (v->items[i]->kind != NODE_SCALAR ||
                            !th_streq(v->items[i]->value, "veth"))
                                bad = v->items[i];
                if (bad) {
                        ctx_error(c, bad->loc, "invalid network: expected {veth: GROUP}");
                        return -EINVAL;
                }
                c->key = "network group";
                if (parse_name(c, v->items[1], &t->network_group) < 0)
                        return -EINVAL;
                t->network = SUITE_NETWORK_VETH;
                return 0;
        }
        if (v->kind != NODE_SCALAR || is_null(v) || bool_value(v) >= 0)
                return expected(c, v, what);
        SuiteNetwork n = suite_network_from_string(v->value);
        if (n < 0) {
                ctx_error(c, v->loc,
                          "invalid network mode '%s': expected none, host, veth or "
                          "{veth: GROUP}",
                          v->value);
                return -EINVAL;
        }
        t->network = n;
        free(t->network_group);
        t->network_group = NULL;
        return 0;
}

static int parse_user(LoadCtx *c, const Node *v, void *dst)
{
        const char *s = string_value(c, v, "a user name or uid");
        if (!s)
                return -EINVAL;
        if (check_chars(c, v->loc, "user", s) < 0)
                return -EINVAL;
        if (v->len == 0 || v->len > 256 || strpbrk(s, ":/ ")) {
                ctx_error(c, v->loc, "invalid user '%s': expected a user name or a uid", s);
                return -EINVAL;
        }
        return set_string(c, dst, s);
}

static int abs_path_value(LoadCtx *c, const Node *v, const char *what, const char **ret)
{
        const char *s = string_value(c, v, what);
        if (!s)
                return -EINVAL;
        if (check_chars(c, v->loc, c->key, s) < 0)
                return -EINVAL;
        if (s[0] != '/' || v->len >= PATH_MAX) {
                ctx_error(c, v->loc, "'%s' is not %s", s, what);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

static int parse_abs_path(LoadCtx *c, const Node *v, void *dst)
{
        const char *s;
        if (abs_path_value(c, v, "an absolute path", &s) < 0)
                return -EINVAL;
        return set_string(c, dst, s);
}

static int check_list(LoadCtx *c, const Node *v, const char *what)
{
        if (v->kind != NODE_SEQUENCE)
                return expected(c, v, what);
        if (v->n > SUITE_MAX_LIST) {
                ctx_error(c, v->loc, "list has more than %d items", SUITE_MAX_LIST);
                return -E2BIG;
        }
        return 0;
}

/* A list of words (tags, packages): no spaces, commas or control characters,
 * so they print unambiguously. */
static int parse_words(LoadCtx *c, const Node *v, void *dst)
{
        char ***strv = dst;
        int ret = 0;

        if (check_list(c, v, "a list of words") < 0)
                return -EINVAL;
        th_strv_free(*strv);
        *strv = NULL;
        for (size_t i = 0; i < v->n; i++) {
                const char *s = string_value(c, v->items[i], "a word (a string)");
                if (!s) {
                        ret = -EINVAL;
                        continue;
                }
                if (check_chars(c, v->items[i]->loc, c->key, s) < 0) {
                        ret = -EINVAL;
                        continue;
                }
                if (v->items[i]->len == 0 || v->items[i]->len > SUITE_MAX_NAME ||
                    strpbrk(s, " ,\t")) {
                        ctx_error(c, v->items[i]->loc,
                                  "invalid '%s': expected a non-empty word without spaces or "
                                  "commas",
                                  s);
                        ret = -EINVAL;
                        continue;
                }
                if (!ctx_account(c, v->items[i]->len + sizeof(char *)) || th_strv_push(strv, s) < 0)
                        return -ENOMEM;
        }
        return ret;
}

/* A `..` component: an artifact path names a place inside the container
 * and a place inside the test's artifacts folder, and must not climb out of
 * either. */
static bool has_dotdot(const char *path)
{
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p += n;
                p += strspn(p, "/");
        }
        return false;
}

/* Artifact paths: absolute, without `..`. */
static int parse_paths(LoadCtx *c, const Node *v, void *dst)
{
        char ***strv = dst;
        int ret = 0;

        if (check_list(c, v, "a list of absolute paths") < 0)
                return -EINVAL;
        th_strv_free(*strv);
        *strv = NULL;
        for (size_t i = 0; i < v->n; i++) {
                const char *s;
                if (abs_path_value(c, v->items[i], "an absolute path", &s) < 0) {
                        ret = -EINVAL;
                        continue;
                }
                if (has_dotdot(s)) {
                        ctx_error(c, v->items[i]->loc,
                                  "artifact path '%s' must not contain '..' components", s);
                        ret = -EINVAL;
                        continue;
                }
                if (!ctx_account(c, v->items[i]->len + sizeof(char *)) || th_strv_push(strv, s) < 0)
                        return -ENOMEM;
        }
        return ret;
}

static int parse_retries(LoadCtx *c, const Node *v, void *dst)
{
        long long n;
        if (int_value(c, v, 0, SUITE_MAX_RETRIES, &n) < 0)
                return -EINVAL;
        *(unsigned *)dst = (unsigned)n;
        return 0;
}

static int parse_reboots(LoadCtx *c, const Node *v, void *dst)
{
        long long n;
        if (int_value(c, v, 0, SUITE_MAX_REBOOTS, &n) < 0)
                return -EINVAL;
        *(unsigned *)dst = (unsigned)n;
        return 0;
}

static int parse_skip(LoadCtx *c, const Node *v, void *dst)
{
        char **skip = dst;
        int b = bool_value(v);
        if (b == 0) {
                free(*skip);
                *skip = NULL;
                return 0;
        }
        if (b == 1)
                return set_string(c, skip, "skipped");
        const char *s = string_value(c, v, "a reason (a string) or a boolean");
        if (!s)
                return -EINVAL;
        if (v->len == 0 || has_control_chars(s, true)) {
                ctx_error(c, v->loc, "skip reason must be a non-empty line of text");
                return -EINVAL;
        }
        return set_string(c, skip, s);
}

static int parse_env(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        int ret = 0;

        if (v->kind != NODE_MAPPING)
                return expected(c, v, "a mapping of variable names to values");
        if (v->n / 2 > SUITE_MAX_LIST) {
                ctx_error(c, v->loc, "env has more than %d variables", SUITE_MAX_LIST);
                return -E2BIG;
        }
        t->env = calloc(v->n / 2 + 1, sizeof(SuiteEnv));
        if (!t->env || !ctx_account(c, (v->n / 2 + 1) * sizeof(SuiteEnv)))
                return -ENOMEM;
        for (size_t i = 0; i + 1 < v->n; i += 2) {
                const Node *k = v->items[i], *val = v->items[i + 1];
                const char *key = string_value(c, k, "a variable name");
                if (!key) {
                        ret = -EINVAL;
                        continue;
                }
                if (check_chars(c, k->loc, "env variable name", key) < 0) {
                        ret = -EINVAL;
                        continue;
                }
                if (k->len == 0 || k->len > SUITE_MAX_NAME || strchr(key, '=')) {
                        ctx_error(c, k->loc, "invalid variable name '%s'", key);
                        ret = -EINVAL;
                        continue;
                }
                if (val->kind != NODE_SCALAR || is_null(val)) {
                        ret = expected(c, val, "a value (a string)");
                        continue;
                }
                SuiteEnv *e = &t->env[t->n_env];
                e->key = ctx_strdup(c, key);
                e->value = ctx_strdup(c, val->value);
                t->n_env++;
                if (!e->key || !e->value)
                        return -ENOMEM;
        }
        return ret;
}

/* ---- key tables and the mapping walker ---------------------------------- */

static unsigned edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[64];

        if (la >= 64 || lb >= ELEMENTSOF(row))
                return UINT_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned prev = row[0];
                row[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cur = row[j];
                        unsigned best = prev + (a[i - 1] != b[j - 1]);
                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        prev = cur;
                }
        }
        return row[lb];
}

static void unknown_key(LoadCtx *c, const Node *k, const KeyDef *table, size_t n, const char *where)
{
        const char *best = NULL;
        unsigned best_d = UINT_MAX;

        /* The suggestion costs; skip it when the message would be dropped. */
        for (size_t i = 0; i < n && !ctx_full(c); i++) {
                unsigned d = edit_distance(k->value, table[i].key);
                if (d < best_d) {
                        best_d = d;
                        best = table[i].key;
                }
        }
        if (best && best_d <= 2 && best_d < strlen(k->value))
                ctx_error(c, k->loc, "unknown key '%s' in %s; did you mean '%s'?", k->value, where,
                          best);
        else
                ctx_error(c, k->loc, "unknown key '%s' in %s", k->value, where);
}

/* Walks a mapping with a key table: each known key's value goes to its parser
 * at base + offset, with its field bit recorded in *set. */
static int walk_mapping(LoadCtx *c, const Node *m, const KeyDef *table, size_t n, unsigned scope,
                        const char *where, void *base, uint32_t *set)
{
        int ret = 0;

        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const Node *k = m->items[i], *v = m->items[i + 1];
                const KeyDef *def = NULL;

                if (k->kind != NODE_SCALAR) {
                        ret = expected(c, k, "a key (a string)");
                        continue;
                }
                for (size_t j = 0; j < n; j++)
                        if (strcmp(table[j].key, k->value) == 0)
                                def = &table[j];
                if (!def) {
                        unknown_key(c, k, table, n, where);
                        ret = -EINVAL;
                        continue;
                }
                if (!(def->scope & scope)) {
                        ctx_error(c, k->loc, "'%s' is not allowed in %s%s", k->value, where,
                                  scope == SCOPE_TEST && (def->scope & SCOPE_DEFAULTS)
                                          ? "; it belongs in 'defaults'"
                                          : "");
                        ret = -EINVAL;
                        continue;
                }
                if (v->kind == NODE_INVALID) {
                        ret = -EINVAL;
                        continue;
                }
                c->key_loc = k->loc;
                c->key = def->key;
                int r = def->parse(c, v, (char *)base + def->offset);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        ret = r;
                else if (set)
                        *set |= def->field;
        }
        return ret;
}

/* ---- expect, limits, fixtures ------------------------------------------- */

static int parse_regex_list(LoadCtx *c, const Node *v, SuiteRegex **ret_v, size_t *ret_n)
{
        const Node *const *items = (const Node *const *)&v;
        size_t n = 1;
        int ret = 0;

        if (v->kind == NODE_SEQUENCE) {
                if (check_list(c, v, "a list of regular expressions") < 0)
                        return -EINVAL;
                items = (const Node *const *)v->items;
                n = v->n;
        }
        SuiteRegex *res = calloc(n ? n : 1, sizeof(SuiteRegex));
        size_t k = 0;
        if (!res || !ctx_account(c, n * sizeof(SuiteRegex))) {
                free(res);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const char *s = string_value(c, items[i], "a regular expression (a string)");
                if (!s) {
                        ret = -EINVAL;
                        continue;
                }
                res[k].pattern = ctx_strdup(c, s);
                res[k].loc = items[i]->loc;
                if (!res[k].pattern) {
                        ret = -ENOMEM;
                        break;
                }
                int r = suite_regex_compile(c, &res[k]);
                if (r < 0) {
                        free(res[k].pattern);
                        res[k].pattern = NULL;
                        ret = ret == -ENOMEM ? ret : r;
                        if (r == -ENOMEM)
                                break;
                        continue;
                }
                k++;
        }
        *ret_v = res;
        *ret_n = k;
        return ret;
}

#define REGEX_PARSER(fn, field)                                          \
        static int fn(LoadCtx *c, const Node *v, void *dst)              \
        {                                                                \
                SuiteExpect *e = dst;                                    \
                return parse_regex_list(c, v, &e->field, &e->n_##field); \
        }
REGEX_PARSER(parse_stdout_match, stdout_match)
REGEX_PARSER(parse_stdout_not, stdout_not)
REGEX_PARSER(parse_stderr_match, stderr_match)
REGEX_PARSER(parse_stderr_not, stderr_not)

static int parse_exit(LoadCtx *c, const Node *v, void *dst)
{
        long long n;
        if (int_value(c, v, 0, 255, &n) < 0)
                return -EINVAL;
        *(int *)dst = (int)n;
        return 0;
}

static const char *const priority_names[] = { "emerg",   "alert",  "crit", "err",
                                              "warning", "notice", "info", "debug" };

static int parse_priority(LoadCtx *c, const Node *v, int *ret)
{
        const char *s = string_value(c, v, "a journal priority");
        if (!s)
                return -EINVAL;
        for (int i = 0; i < (int)ELEMENTSOF(priority_names); i++)
                if (strcmp(s, priority_names[i]) == 0 || (s[0] == '0' + i && !s[1])) {
                        *ret = i;
                        return 0;
                }
        ctx_error(c, v->loc,
                  "invalid priority '%s': expected emerg, alert, crit, err, warning, notice, "
                  "info, debug or 0 to 7",
                  s);
        return -EINVAL;
}

static int set_journal_not(LoadCtx *c, const Node *v, SuiteExpect *e)
{
        if (e->journal_not) {
                ctx_error(c, v->loc,
                          "journal patterns that must not match are given twice "
                          "('journal-not' and 'journal: {not: ...}')");
                return -EINVAL;
        }
        return parse_regex_list(c, v, &e->journal_not, &e->n_journal_not);
}

/* journal: REGEX | [REGEX...] | {priority: P, match: [...], not: [...]} */
static int parse_journal(LoadCtx *c, const Node *v, void *dst)
{
        SuiteExpect *e = dst;
        if (v->kind != NODE_MAPPING)
                return parse_regex_list(c, v, &e->journal_match, &e->n_journal_match);
        int ret = 0;
        for (size_t i = 0; i + 1 < v->n; i += 2) {
                const Node *k = v->items[i], *val = v->items[i + 1];
                const char *key = k->kind == NODE_SCALAR ? k->value : "";
                int r;
                if (strcmp(key, "priority") == 0)
                        r = parse_priority(c, val, &e->journal_priority);
                else if (strcmp(key, "match") == 0)
                        r = parse_regex_list(c, val, &e->journal_match, &e->n_journal_match);
                else if (strcmp(key, "not") == 0)
                        r = set_journal_not(c, val, e);
                else {
                        ctx_error(c, k->loc,
                                  "unknown key '%s' in 'journal': expected priority, match, not",
                                  key);
                        r = -EINVAL;
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        ret = r;
        }
        return ret;
}

static int parse_journal_not(LoadCtx *c, const Node *v, void *dst)
{
        return set_journal_not(c, v, dst);
}

/* units: {failed: none, UNIT: STATE, ...} */
static int parse_units(LoadCtx *c, const Node *v, void *dst)
{
        SuiteExpect *e = dst;
        int ret = 0;
        if (v->kind != NODE_MAPPING || v->n == 0)
                return expected(c, v, "a mapping such as {failed: none, nginx.service: active}");
        for (size_t i = 0; i + 1 < v->n; i += 2) {
                const Node *k = v->items[i], *val = v->items[i + 1];
                const char *name = k->kind == NODE_SCALAR ? k->value : NULL;
                const char *state = string_value(c, val, "a unit state such as active");
                if (!state) {
                        ret = -EINVAL;
                        continue;
                }
                if (name && strcmp(name, "failed") == 0) {
                        if (strcmp(state, "none") != 0) {
                                ctx_error(c, val->loc, "'failed' takes 'none' (no failed unit)");
                                ret = -EINVAL;
                        } else
                                e->units_no_failed = true;
                        continue;
                }
                if (!name || !name[0] || strpbrk(name, " \t/'\"") || !strchr(name, '.') ||
                    strlen(name) > SUITE_MAX_NAME || check_chars(c, k->loc, "unit", name) < 0) {
                        ctx_error(c, k->loc,
                                  "invalid unit name: expected NAME.TYPE such as "
                                  "nginx.service");
                        ret = -EINVAL;
                        continue;
                }
                if (!state[0] || strspn(state, "abcdefghijklmnopqrstuvwxyz-") != strlen(state)) {
                        ctx_error(c, val->loc,
                                  "invalid unit state '%s': expected an active state (active, "
                                  "inactive, failed, activating, ...) or a sub-state (running, "
                                  "exited, dead, ...)",
                                  state);
                        ret = -EINVAL;
                        continue;
                }
                if (!ctx_account(c, strlen(name) + strlen(state) + 2 * sizeof(char *)) ||
                    th_strv_push(&e->units, name) < 0 || th_strv_push(&e->units, state) < 0)
                        return -ENOMEM;
        }
        return ret;
}

static int parse_crashes(LoadCtx *c, const Node *v, void *dst)
{
        SuiteExpect *e = dst;
        const char *s = string_value(c, v, "'none'");
        if (!s)
                return -EINVAL;
        if (strcmp(s, "none") != 0) {
                ctx_error(c, v->loc, "crashes takes 'none' (no process may dump core)");
                return -EINVAL;
        }
        e->no_crashes = true;
        return 0;
}

/* skip-exit: a status of its own, not the one that passes (0 means none). */
static int parse_skip_exit(LoadCtx *c, const Node *v, void *dst)
{
        long long n;
        if (int_value(c, v, 1, 255, &n) < 0)
                return -EINVAL;
        *(int *)dst = (int)n;
        return 0;
}

static const KeyDef expect_keys[] = {
        { "exit", parse_exit, 0, SUITE_EXPECT_EXIT, SCOPE_BOTH },
        { "stdout", parse_stdout_match, 0, SUITE_EXPECT_STDOUT, SCOPE_BOTH },
        { "stdout-not", parse_stdout_not, 0, SUITE_EXPECT_STDOUT_NOT, SCOPE_BOTH },
        { "stderr", parse_stderr_match, 0, SUITE_EXPECT_STDERR, SCOPE_BOTH },
        { "stderr-not", parse_stderr_not, 0, SUITE_EXPECT_STDERR_NOT, SCOPE_BOTH },
        { "journal", parse_journal, 0, SUITE_EXPECT_JOURNAL, SCOPE_BOTH },
        { "journal-not", parse_journal_not, 0, SUITE_EXPECT_JOURNAL_NOT, SCOPE_BOTH },
        { "units", parse_units, 0, SUITE_EXPECT_UNITS, SCOPE_BOTH },
        { "crashes", parse_crashes, 0, SUITE_EXPECT_CRASHES, SCOPE_BOTH },
        { "skip-exit", parse_skip_exit, offsetof(SuiteExpect, skip_exit), SUITE_EXPECT_SKIP_EXIT,
          SCOPE_BOTH },
        { "stderr-empty", parse_bool, offsetof(SuiteExpect, stderr_empty),
          SUITE_EXPECT_STDERR_EMPTY, SCOPE_BOTH },
};

static int parse_expect(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        if (v->kind != NODE_MAPPING)
                return expected(c, v,
                                "a mapping with exit, stdout, stdout-not, stderr, stderr-not, "
                                "journal, journal-not, units, crashes, skip-exit, stderr-empty");
        /* Replacing a list would leak the first; each key appears once (dedup). */
        return walk_mapping(c, v, expect_keys, ELEMENTSOF(expect_keys), SCOPE_BOTH, "'expect'",
                            &t->expect, &t->sub_set);
}

static int parse_memory(LoadCtx *c, const Node *v, void *dst)
{
        uint64_t bytes;
        if (v->kind != NODE_SCALAR || is_null(v) || bool_value(v) >= 0)
                return expected(c, v, "a size such as 512M or 2G");
        if (th_parse_size(v->value, &bytes) < 0) {
                ctx_error(c, v->loc,
                          "invalid size '%s': expected bytes or a number with K, M, G "
                          "or T, such as 512M or 2G",
                          v->value);
                return -EINVAL;
        }
        if (bytes < 1024 * 1024) {
                ctx_error(c, v->loc, "memory limit '%s' is too small: expected at least 1M",
                          v->value);
                return -ERANGE;
        }
        *(uint64_t *)dst = bytes;
        return 0;
}

static int parse_artifacts_limit(LoadCtx *c, const Node *v, void *dst)
{
        uint64_t bytes;
        if (v->kind != NODE_SCALAR || is_null(v) || bool_value(v) >= 0)
                return expected(c, v, "a size such as 64M or 1G");
        if (th_parse_size(v->value, &bytes) < 0) {
                ctx_error(c, v->loc,
                          "invalid size '%s': expected bytes or a number with K, M, G "
                          "or T, such as 64M or 1G",
                          v->value);
                return -EINVAL;
        }
        if (bytes < 64 * 1024) {
                ctx_error(c, v->loc, "artifacts limit '%s' is too small: expected at least 64K",
                          v->value);
                return -ERANGE;
        }
        *(uint64_t *)dst = bytes;
        return 0;
}

static int parse_output_limit(LoadCtx *c, const Node *v, void *dst)
{
        uint64_t bytes;
        if (v->kind != NODE_SCALAR || is_null(v) || bool_value(v) >= 0)
                return expected(c, v, "a size such as 64M or 2G");
        if (th_parse_size(v->value, &bytes) < 0) {
                ctx_error(c, v->loc,
                          "invalid size '%s': expected bytes or a number with K, M, G "
                          "or T, such as 64M or 2G",
                          v->value);
                return -EINVAL;
        }
        if (bytes < 1024 * 1024) {
                ctx_error(c, v->loc, "output limit '%s' is too small: expected at least 1M",
                          v->value);
                return -ERANGE;
        }
        *(uint64_t *)dst = bytes;
        return 0;
}

static int parse_pids(LoadCtx *c, const Node *v, void *dst)
{
        long long n;
        if (int_value(c, v, 1, 4194304, &n) < 0)
                return -EINVAL;
        *(uint64_t *)dst = (uint64_t)n;
        return 0;
}

static int parse_cpu(LoadCtx *c, const Node *v, void *dst)
{
        char *end;
        if (v->kind != NODE_SCALAR || !v->plain || v->len == 0 ||
            strspn(v->value, "0123456789.") != v->len)
                return expected(c, v, "a number of CPUs such as 1.5");
        double d = strtod(v->value, &end);
        if (*end || !isfinite(d) || d < 0.01 || d > 4096) {
                ctx_error(c, v->loc, "cpu '%s' is out of range: expected 0.01 to 4096", v->value);
                return -ERANGE;
        }
        *(double *)dst = d;
        return 0;
}

static const KeyDef limits_keys[] = {
        { "memory", parse_memory, offsetof(TestSpec, memory_bytes), SUITE_LIMIT_MEMORY,
          SCOPE_BOTH },
        { "pids", parse_pids, offsetof(TestSpec, pids), SUITE_LIMIT_PIDS, SCOPE_BOTH },
        { "cpu", parse_cpu, offsetof(TestSpec, cpu), SUITE_LIMIT_CPU, SCOPE_BOTH },
        { "artifacts", parse_artifacts_limit, offsetof(TestSpec, artifacts_bytes),
          SUITE_LIMIT_ARTIFACTS, SCOPE_BOTH },
        { "output", parse_output_limit, offsetof(TestSpec, output_bytes), SUITE_LIMIT_OUTPUT,
          SCOPE_BOTH },
};

static int parse_limits(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        if (v->kind != NODE_MAPPING)
                return expected(c, v, "a mapping with memory, pids, cpu, artifacts, output");
        return walk_mapping(c, v, limits_keys, ELEMENTSOF(limits_keys), SCOPE_BOTH, "'limits'", t,
                            &t->sub_set);
}

static int fixture_finish(LoadCtx *c, SuiteFixture *f, const Node *v)
{
        if (check_chars(c, v->loc, "fixture source", f->source) < 0 ||
            check_chars(c, v->loc, "fixture target", f->target) < 0)
                return -EINVAL;
        if (!f->source[0]) {
                ctx_error(c, v->loc, "fixture source must not be empty");
                return -EINVAL;
        }
        if (f->target[0] != '/' || strlen(f->target) >= PATH_MAX) {
                ctx_error(c, v->loc, "fixture target '%s' is not an absolute path", f->target);
                return -EINVAL;
        }
        f->source_abs = f->source[0] == '/' ? ctx_strdup(c, f->source)
                                            : th_strdup_printf("%s/%s", c->base_dir, f->source);
        if (!f->source_abs || !ctx_account(c, strlen(f->source_abs) + 1))
                return -ENOMEM;
        return 0;
}

/* "SOURCE:TARGET", "SOURCE:TARGET:rw" or "SOURCE:TARGET:ro". */
static int fixture_from_string(LoadCtx *c, const Node *v, SuiteFixture *f)
{
        const char *s = string_value(c, v, "a fixture \"SOURCE:TARGET[:rw]\" or a mapping");
        if (!s)
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        size_t len = strlen(copy);
        if (len > 3 && (strcmp(copy + len - 3, ":rw") == 0 || strcmp(copy + len - 3, ":ro") == 0)) {
                f->writable = copy[len - 1] == 'w';
                copy[len - 3] = '\0';
        }
        char *colon = strrchr(copy, ':');
        if (!colon) {
                ctx_error(c, v->loc, "fixture '%s' has no ':': expected \"SOURCE:TARGET[:rw]\"", s);
                return -EINVAL;
        }
        *colon = '\0';
        f->source = ctx_strdup(c, copy);
        f->target = ctx_strdup(c, colon + 1);
        if (!f->source || !f->target)
                return -ENOMEM;
        return fixture_finish(c, f, v);
}

static int parse_fixture_string(LoadCtx *c, const Node *v, void *dst)
{
        char **p = dst;
        const char *s = string_value(c, v, "a path (a string)");
        if (!s)
                return -EINVAL;
        return set_string(c, p, s);
}

static const KeyDef fixture_keys[] = {
        { "source", parse_fixture_string, offsetof(SuiteFixture, source), 1u << 0, SCOPE_BOTH },
        { "target", parse_fixture_string, offsetof(SuiteFixture, target), 1u << 1, SCOPE_BOTH },
        { "writable", parse_bool, offsetof(SuiteFixture, writable), 1u << 2, SCOPE_BOTH },
};

static int fixture_from_mapping(LoadCtx *c, const Node *v, SuiteFixture *f)
{
        uint32_t set = 0;
        int r = walk_mapping(c, v, fixture_keys, ELEMENTSOF(fixture_keys), SCOPE_BOTH, "a fixture",
                             f, &set);
        if (r < 0)
                return r;
        if (!(set & 1u) || !(set & 2u)) {
                ctx_error(c, v->loc, "fixture is missing '%s'", !(set & 1u) ? "source" : "target");
                return -EINVAL;
        }
        return fixture_finish(c, f, v);
}

static int parse_fixtures(LoadCtx *c, const Node *v, void *dst)
{
        TestSpec *t = dst;
        int ret = 0;

        if (check_list(c, v, "a list of fixtures") < 0)
                return -EINVAL;
        t->fixtures = calloc(v->n + 1, sizeof(SuiteFixture));
        if (!t->fixtures || !ctx_account(c, (v->n + 1) * sizeof(SuiteFixture)))
                return -ENOMEM;
        for (size_t i = 0; i < v->n; i++) {
                SuiteFixture *f = &t->fixtures[t->n_fixtures++];
                const Node *item = v->items[i];
                int r;

                f->loc = item->loc;
                if (item->kind == NODE_MAPPING)
                        r = fixture_from_mapping(c, item, f);
                else
                        r = fixture_from_string(c, item, f);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* Only whole fixtures stay, so merging never sees half of one. */
                        free(f->source);
                        free(f->source_abs);
                        free(f->target);
                        *f = (SuiteFixture){};
                        t->n_fixtures--;
                        ret = r;
                }
        }
        return ret;
}

/* ---- tests and defaults -------------------------------------------------- */

static const KeyDef test_keys[] = {
        { "name", parse_name, offsetof(TestSpec, name), 0, SCOPE_TEST },
        { "run", parse_script, offsetof(TestSpec, run), SUITE_FIELD_RUN, SCOPE_BOTH },
        { "setup", parse_script, offsetof(TestSpec, setup), SUITE_FIELD_SETUP, SCOPE_BOTH },
        { "boot", parse_bool, offsetof(TestSpec, boot), SUITE_FIELD_BOOT, SCOPE_BOTH },
        { "full-boot", parse_bool, offsetof(TestSpec, full_boot), SUITE_FIELD_FULL_BOOT,
          SCOPE_BOTH },
        { "timeout", parse_timeout, offsetof(TestSpec, timeout_usec), SUITE_FIELD_TIMEOUT,
          SCOPE_BOTH },
        { "network", parse_network, 0, SUITE_FIELD_NETWORK, SCOPE_BOTH },
        { "private-users", parse_private_users, 0, SUITE_FIELD_PRIVATE_USERS, SCOPE_BOTH },
        { "user", parse_user, offsetof(TestSpec, user), SUITE_FIELD_USER, SCOPE_BOTH },
        { "workdir", parse_abs_path, offsetof(TestSpec, workdir), SUITE_FIELD_WORKDIR, SCOPE_BOTH },
        { "env", parse_env, 0, SUITE_FIELD_ENV, SCOPE_BOTH },
        { "fixtures", parse_fixtures, 0, SUITE_FIELD_FIXTURES, SCOPE_BOTH },
        { "limits", parse_limits, 0, SUITE_FIELD_LIMITS, SCOPE_BOTH },
        { "expect", parse_expect, 0, SUITE_FIELD_EXPECT, SCOPE_BOTH },
        { "artifacts", parse_paths, offsetof(TestSpec, artifacts), SUITE_FIELD_ARTIFACTS,
          SCOPE_BOTH },
        { "tags", parse_words, offsetof(TestSpec, tags), SUITE_FIELD_TAGS, SCOPE_BOTH },
        { "retries", parse_retries, offsetof(TestSpec, retries), SUITE_FIELD_RETRIES, SCOPE_BOTH },
        { "skip", parse_skip, offsetof(TestSpec, skip), SUITE_FIELD_SKIP, SCOPE_BOTH },
        { "packages", parse_packages, 0, SUITE_FIELD_PACKAGES, SCOPE_DEFAULTS },
        { "install", parse_install, 0, SUITE_FIELD_INSTALL, SCOPE_BOTH },
        { "reboots", parse_reboots, offsetof(TestSpec, reboots), SUITE_FIELD_REBOOTS, SCOPE_BOTH },
};

static void test_spec_init(TestSpec *t)
{
        *t = (TestSpec){
                .boot = true,
                .timeout_usec = 120 * 1000000ull,
                .network = SUITE_NETWORK_NONE,
                .private_users = true,
                .artifacts_bytes = SUITE_ARTIFACTS_DEFAULT,
                .output_bytes = SUITE_OUTPUT_DEFAULT,
                .expect = { .journal_priority = 7 },
        };
}

static int parse_test(LoadCtx *c, const Node *v, TestSpec *t, unsigned scope,
                      SuiteLoc *ret_name_loc)
{
        test_spec_init(t);
        t->loc = v->loc;
        if (v->kind != NODE_MAPPING)
                return expected(c, v, scope == SCOPE_TEST ? "a test (a mapping)" : "a mapping");
        int r = walk_mapping(c, v, test_keys, ELEMENTSOF(test_keys), scope,
                             scope == SCOPE_TEST ? "a test" : "'defaults'", t, &t->set);
        for (size_t i = 0; i + 1 < v->n; i += 2)
                if (v->items[i]->kind == NODE_SCALAR && th_streq(v->items[i]->value, "name"))
                        *ret_name_loc = v->items[i + 1]->loc;
        return r;
}

/* ---- the suite ----------------------------------------------------------- */

static bool is_managed_release(const char *s)
{
        return s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(s);
}

static int parse_rootfs_string(LoadCtx *c, const Node *v, SuiteRootfs *r)
{
        const char *s = string_value(c, v, "a rootfs: debian:RELEASE, a directory or a mapping");
        if (!s)
                return -EINVAL;
        if (check_chars(c, v->loc, "rootfs", s) < 0)
                return -EINVAL;
        if (v->len == 0 || v->len >= PATH_MAX) {
                ctx_error(c, v->loc, "invalid rootfs '%s'", s);
                return -EINVAL;
        }
        if (strncmp(s, "debian:", 7) == 0 && is_managed_release(s + 7)) {
                r->distro = ctx_strdup(c, "debian");
                r->release = ctx_strdup(c, s + 7);
                return r->distro && r->release ? 0 : -ENOMEM;
        }
        r->dir = s[0] == '/' ? ctx_strdup(c, s) : th_strdup_printf("%s/%s", c->base_dir, s);
        return r->dir ? 0 : -ENOMEM;
}

static int parse_word(LoadCtx *c, const Node *v, void *dst)
{
        const char *s = string_value(c, v, "a word (a string)");
        if (!s)
                return -EINVAL;
        if (!is_managed_release(s)) {
                ctx_error(c, v->loc, "invalid '%s': expected lower-case letters, digits, '.', '-'",
                          s);
                return -EINVAL;
        }
        return set_string(c, dst, s);
}

static int parse_variant(LoadCtx *c, const Node *v, void *dst)
{
        static const char *const variants[] = { "extract",     "custom",  "essential", "apt",
                                                "required",    "minbase", "buildd",    "important",
                                                "debootstrap", "standard" };
        const char *s = string_value(c, v, "an mmdebstrap variant");
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(variants); i++)
                if (strcmp(s, variants[i]) == 0)
                        return set_string(c, dst, s);
        ctx_error(c, v->loc,
                  "invalid variant '%s': expected one of essential, apt, required, "
                  "minbase, buildd, important, standard, debootstrap, custom, extract",
                  s);
        return -EINVAL;
}

static int parse_mirror(LoadCtx *c, const Node *v, void *dst)
{
        const char *s = string_value(c, v, "a mirror URL");
        if (!s)
                return -EINVAL;
        if (check_chars(c, v->loc, "mirror", s) < 0)
                return -EINVAL;
        if (!strstr(s, "://") || strpbrk(s, " \t")) {
                ctx_error(c, v->loc,
                          "invalid mirror '%s': expected a URL such as "
                          "http://deb.debian.org/debian",
                          s);
                return -EINVAL;
        }
        return set_string(c, dst, s);
}

static const KeyDef rootfs_keys[] = {
        { "distro", parse_word, offsetof(SuiteRootfs, distro), 1u << 0, SCOPE_BOTH },
        { "suite", parse_word, offsetof(SuiteRootfs, release), 1u << 1, SCOPE_BOTH },
        { "variant", parse_variant, offsetof(SuiteRootfs, variant), 1u << 2, SCOPE_BOTH },
        { "include", parse_words, offsetof(SuiteRootfs, include), 1u << 3, SCOPE_BOTH },
        { "mirror", parse_mirror, offsetof(SuiteRootfs, mirror), 1u << 4, SCOPE_BOTH },
};

static int parse_rootfs_one(LoadCtx *c, const Node *v, SuiteRootfs *r);

static char *rootfs_label(const SuiteRootfs *r)
{
        if (r->release)
                return strdup(r->release);
        const char *slash = strrchr(r->dir, '/');
        return strdup(slash && slash[1] ? slash + 1 : r->dir);
}

/* `rootfs: [A, B, ...]`: every entry is checked, the matrix_index'th kept. */
static int parse_rootfs_list(LoadCtx *c, const Node *v, SuiteRootfs *r)
{
        if (v->n == 0) {
                ctx_error(c, v->loc, "'rootfs' is an empty list: name at least one tree");
                return -EINVAL;
        }
        _cleanup_strv_ char **labels = NULL;
        int ret = 0;
        c->n_matrix = v->n;
        for (size_t i = 0; i < v->n; i++) {
                SuiteRootfs one = { .loc = v->items[i]->loc };
                int q = parse_rootfs_one(c, v->items[i], &one);
                if (q == -ENOMEM) {
                        suite_rootfs_done(&one);
                        return q;
                }
                if (q < 0) {
                        ret = q;
                        suite_rootfs_done(&one);
                        continue;
                }
                one.loc = v->items[i]->loc;
                _cleanup_free_ char *label = rootfs_label(&one);
                if (!label || th_strv_push(&labels, label) < 0) {
                        suite_rootfs_done(&one);
                        return -ENOMEM;
                }
                for (size_t j = 0; labels[j + 1]; j++)
                        if (strcmp(labels[j], label) == 0) {
                                ctx_error(c, v->items[i]->loc,
                                          "rootfs '%s' is listed twice (test ids name the "
                                          "tree by it)",
                                          label);
                                ret = -EINVAL;
                        }
                if (i == c->matrix_index) {
                        *r = one;
                        free(c->matrix_label);
                        c->matrix_label = TAKE_PTR(label);
                } else
                        suite_rootfs_done(&one);
        }
        return ret;
}

static int parse_rootfs(LoadCtx *c, const Node *v, void *dst)
{
        SuiteRootfs *r = dst;

        suite_rootfs_done(r);
        r->loc = c->key_loc; /* the key: a refusal of the tree points at it */
        if (v->kind == NODE_SEQUENCE) {
                int q = parse_rootfs_list(c, v, r);
                if (r->loc.line == 0)
                        r->loc = c->key_loc;
                return q;
        }
        return parse_rootfs_one(c, v, r);
}

static int parse_rootfs_one(LoadCtx *c, const Node *v, SuiteRootfs *r)
{
        uint32_t set = 0;

        if (v->kind != NODE_MAPPING)
                return parse_rootfs_string(c, v, r);
        int ret = walk_mapping(c, v, rootfs_keys, ELEMENTSOF(rootfs_keys), SCOPE_BOTH, "'rootfs'",
                               r, &set);
        if (ret < 0)
                return ret;
        if (!(set & 2u)) {
                ctx_error(c, v->loc, "rootfs is missing 'suite' (the release, such as bookworm)");
                return -EINVAL;
        }
        if (!r->distro)
                return set_string(c, &r->distro, "debian");
        return 0;
}

/* The top level: values parsed in place; defaults and tests are kept as
 * nodes because tests need the defaults parsed first. */
typedef struct SuiteDoc {
        char *name;
        SuiteRootfs rootfs;
        const Node *defaults, *tests;
} SuiteDoc;

static int keep_node(LoadCtx *c, const Node *v, void *dst)
{
        *(const Node **)dst = v;
        return 0;
}

enum {
        DOC_NAME = 1u << 0,
        DOC_ROOTFS = 1u << 1,
};

static const KeyDef suite_keys[] = {
        { "name", parse_name, offsetof(SuiteDoc, name), DOC_NAME, SCOPE_BOTH },
        { "rootfs", parse_rootfs, offsetof(SuiteDoc, rootfs), DOC_ROOTFS, SCOPE_BOTH },
        { "defaults", keep_node, offsetof(SuiteDoc, defaults), 0, SCOPE_BOTH },
        { "tests", keep_node, offsetof(SuiteDoc, tests), 0, SCOPE_BOTH },
};

typedef struct NameRef {
        const char *name;
        size_t index;
} NameRef;

static int nameref_cmp(const void *a, const void *b)
{
        const NameRef *x = a, *y = b;
        int r = strcmp(x->name, y->name);
        return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* The tests of a load: each handed to each->fn as it is parsed, or (no
 * each) kept in s->tests. */
typedef struct TestsLoad {
        Suite *s;
        const SuiteEach *each;
        bool checked; /* a file checked before (same digest): the range only */
        char **names; /* every test's name, for the duplicate check */
        SuiteLoc *name_locs;
        size_t n;
} TestsLoad;

static void tests_load_done(TestsLoad *l)
{
        for (size_t i = 0; l->names && i < l->n; i++)
                free(l->names[i]);
        free(l->names);
        free(l->name_locs);
}

static int check_unique_names(LoadCtx *c, const TestsLoad *l)
{
        _cleanup_free_ NameRef *refs = calloc(l->n + 1, sizeof(NameRef));
        size_t n = 0;
        if (!refs)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++)
                if (l->names[i])
                        refs[n++] = (NameRef){ l->names[i], i };
        qsort(refs, n, sizeof(NameRef), nameref_cmp);
        for (size_t i = 1, first = 0; i < n; i++) {
                if (strcmp(refs[i].name, refs[first].name) != 0) {
                        first = i;
                        continue;
                }
                ctx_error(c, l->name_locs[refs[i].index],
                          "duplicate test name '%s' (first at line %u)", refs[i].name,
                          l->name_locs[refs[first].index].line);
        }
        return 0;
}

static int load_test(LoadCtx *c, const Node *v, size_t i, void *userdata)
{
        TestsLoad *l = userdata;
        Suite *s = l->s;
        _cleanup_(test_spec_done) TestSpec t = {};
        SuiteLoc name_loc = {};
        int r = parse_test(c, v, &t, SCOPE_TEST, &name_loc);
        if (r == -ENOMEM)
                return r;
        if (!l->checked) {
                l->name_locs[i] = name_loc;
                if (t.name && !(l->names[i] = strdup(t.name)))
                        return -ENOMEM;
        }
        if (v->kind != NODE_MAPPING)
                return 0;
        if (!t.name) {
                if (name_loc.line == 0) /* else the name was reported */
                        ctx_error(c, v->loc, "test is missing 'name'");
                return 0;
        }
        r = test_spec_merge_defaults(c, &t, &s->defaults);
        if (r < 0)
                return r;
        if (!t.run && !t.skip)
                ctx_error(c, v->loc,
                          "test '%s' is missing 'run' (required unless 'skip' "
                          "is set)",
                          t.name);
        if (t.reboots && !t.boot)
                ctx_error(c, v->loc,
                          "test '%s': reboots need boot mode (boot: true): systemd "
                          "reboots the container",
                          t.name);
        if (t.expect.skip_exit > 0 && t.expect.skip_exit == t.expect.exit_status)
                ctx_error(c, v->loc,
                          "test '%s': expect: skip-exit %d is also the exit status that "
                          "passes",
                          t.name, t.expect.skip_exit);
        /* A suite with an error is no suite: nothing more is handed out. */
        if (c->n_errors > 0)
                return 0;
        if (!l->each) {
                s->tests[s->n_tests++] = t;
                t = (TestSpec){};
                return 0;
        }
        if (!l->each->fn || i < l->each->first ||
            (l->each->count && i - l->each->first >= l->each->count))
                return 0;
        return l->each->fn(l->each->userdata, s, i, &t);
}

/* The tests, streamed by a second parse of the file (the first counted
 * them and gave the defaults they merge). */
static int load_tests(LoadCtx *c, Suite *s, const Node *tests, size_t n_items, const char *data,
                      size_t size, const SuiteEach *each)
{
        _cleanup_(tests_load_done) TestsLoad l = { .s = s, .each = each };
        _cleanup_node_ Node *again = NULL;
        size_t n = 0;
        int r;

        if (tests->kind != NODE_SEQUENCE)
                return expected(c, tests, "a list of tests");
        if (n_items == 0) {
                ctx_error(c, tests->loc, "'tests' is empty: a suite needs at least one test");
                return -EINVAL;
        }
        if (n_items > SUITE_MAX_TESTS) {
                ctx_error(c, tests->loc, "more than %d tests", SUITE_MAX_TESTS);
                return -E2BIG;
        }
        s->n_file_tests = n_items;
        /* The model's size counts every test, kept or not, so that a suite
         * is accepted or refused alike however it is loaded. */
        if (!ctx_account(c, n_items * sizeof(TestSpec)))
                return -ENOMEM;
        l.checked = each && each->sha256 && each->count > 0;
        if (!l.checked) {
                l.names = calloc(n_items, sizeof(char *));
                l.name_locs = calloc(n_items, sizeof(SuiteLoc));
                if (!l.names || !l.name_locs)
                        return -ENOMEM;
                l.n = n_items;
        }
        if (!each && !(s->tests = calloc(n_items, sizeof(TestSpec))))
                return -ENOMEM;
        r = yaml_tree_stream(c, data, size, load_test, &l, l.checked ? each->first : 0,
                             l.checked ? each->count : 0, &again, &n);
        if (r < 0)
                return r;
        if (!l.checked && n != n_items)
                return -EIO; /* the same bytes parsed differently: cannot be */
        return l.checked ? 0 : check_unique_names(c, &l);
}

static char *file_stem(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t len = strlen(base);
        if (len > 5 && strcmp(base + len - 5, ".yaml") == 0)
                len -= 5;
        else if (len > 4 && strcmp(base + len - 4, ".yml") == 0)
                len -= 4;
        return strndup(base, len);
}

static int load_root(LoadCtx *c, const Node *root, Suite *s, const Node **ret_tests)
{
        SuiteDoc doc = {};
        uint32_t set = 0;
        int r;

        if (!root) {
                ctx_error(c, (SuiteLoc){ 1, 1 }, "empty suite: expected a mapping with 'tests'");
                return -EINVAL;
        }
        if (root->kind != NODE_MAPPING)
                return expected(c, root, "a suite (a mapping with name, rootfs, defaults, tests)");
        r = walk_mapping(c, root, suite_keys, ELEMENTSOF(suite_keys), SCOPE_BOTH, "the suite", &doc,
                         &set);
        s->name = TAKE_PTR(doc.name);
        s->rootfs = doc.rootfs;
        for (size_t i = 0; i + 1 < root->n; i += 2)
                if (root->items[i]->kind == NODE_SCALAR && th_streq(root->items[i]->value, "name"))
                        s->name_loc = root->items[i + 1]->loc;
        if (r == -ENOMEM)
                return r;

        test_spec_init(&s->defaults);
        if (doc.defaults) {
                SuiteLoc ignored;
                r = parse_test(c, doc.defaults, &s->defaults, SCOPE_DEFAULTS, &ignored);
                if (r == -ENOMEM)
                        return r;
        }
        if (s->rootfs.loc.line == 0) { /* no rootfs key: the default */
                suite_rootfs_done(&s->rootfs);
                s->rootfs.loc = (SuiteLoc){ 1, 1 };
                if (set_string(c, &s->rootfs.distro, "debian") < 0 ||
                    set_string(c, &s->rootfs.release, "bookworm") < 0)
                        return -ENOMEM;
        }
        if (!doc.tests) {
                ctx_error(c, root->loc, "missing required key 'tests'");
                return -EINVAL;
        }
        *ret_tests = doc.tests;
        return 0;
}

static int diag_cmp(const void *a, const void *b)
{
        const SuiteDiag *x = a, *y = b;
        if (x->loc.line != y->loc.line)
                return x->loc.line < y->loc.line ? -1 : 1;
        return (x->loc.column > y->loc.column) - (x->loc.column < y->loc.column);
}

static char *base_dir_of(const char *name)
{
        _cleanup_free_ char *abs = NULL;
        if (name[0] == '/') {
                abs = strdup(name);
        } else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                abs = cwd ? th_strdup_printf("%s/%s", cwd, name) : NULL;
        }
        if (!abs)
                return NULL;
        char *slash = strrchr(abs, '/');
        if (slash == abs)
                slash[1] = '\0';
        else
                *slash = '\0';
        return TAKE_PTR(abs);
}

/* name: how messages and s->path name the file; location: where it is, for
 * the base directory (they differ when suite_load resolved symlinks). */
static int load_buffer(const char *name, const char *location, size_t matrix_index,
                       const char *data, size_t size, const SuiteEach *each, Suite **ret,
                       SuiteDiags *diags)
{
        _cleanup_(suite_freep) Suite *s = calloc(1, sizeof(Suite));
        _cleanup_node_ Node *root = NULL;
        const Node *tests = NULL;
        size_t n_items = 0;
        _cleanup_free_ char *base_dir = base_dir_of(location);
        LoadCtx c = {
                .file = name, .base_dir = base_dir, .diags = diags, .matrix_index = matrix_index
        };
        int r;

        *ret = NULL;
        if (!s || !base_dir)
                return -ENOMEM;
        s->path = strdup(name);
        s->base_dir = TAKE_PTR(base_dir);
        c.base_dir = s->base_dir;
        if (!s->path)
                return -ENOMEM;
        /* Two passes, neither holding every test at once: the first
         * builds the tree without the tests' items (counted only) and reads
         * the suite's keys; the second streams the items, each parsed with
         * the defaults and let go. */
        r = yaml_tree_stream(&c, data, size, NULL, NULL, 0, 0, &root, &n_items);
        if (r >= 0)
                r = load_root(&c, root, s, &tests);
        if (r >= 0)
                r = load_tests(&c, s, tests, n_items, data, size, each);
        if (r >= 0 && !s->name && !(s->name = file_stem(name)))
                r = -ENOMEM;
        if (r >= 0 && s->name_loc.line == 0)
                r = check_chars(&c, (SuiteLoc){ 1, 1 }, "suite name (the file's name)", s->name);
        s->matrix_index = c.n_matrix ? matrix_index : 0;
        s->n_matrix = c.n_matrix ? c.n_matrix : 1;
        if (r >= 0 && c.n_matrix > 1 && c.matrix_label) {
                char *named = th_strdup_printf("%s@%s", s->name, c.matrix_label);
                if (!named)
                        r = -ENOMEM;
                else
                        free(s->name), s->name = named;
        }
        free(c.matrix_label);
        bool too_large = c.model_bytes > SUITE_MAX_MODEL;
        if (too_large)
                ctx_error(&c, (SuiteLoc){ 1, 1 },
                          "suite is too large: more than %u MiB after merging defaults",
                          SUITE_MAX_MODEL >> 20);
        if (diags && diags->n > 1)
                qsort(diags->items, diags->n, sizeof(SuiteDiag), diag_cmp);
        if (c.oom || (r == -ENOMEM && !too_large))
                return -ENOMEM;
        if (r == -EFBIG)
                return r;
        if (c.n_errors > 0 || r < 0)
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

int suite_load_buffer(const char *name, const char *data, size_t size, Suite **ret,
                      SuiteDiags *diags)
{
        return load_buffer(name, name, 0, data, size, NULL, ret, diags);
}

int suite_load(const char *path, Suite **ret, SuiteDiags *diags)
{
        return suite_load_matrix(path, 0, ret, diags);
}

int suite_load_matrix(const char *path, size_t index, Suite **ret, SuiteDiags *diags)
{
        return suite_load_each(path, index, NULL, ret, diags);
}

int suite_load_each(const char *path, size_t index, const SuiteEach *each, Suite **ret,
                    SuiteDiags *diags)
{
        LoadCtx c = { .file = path, .diags = diags };
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;

        *ret = NULL;
        if (fd < 0 || fstat(fd, &st) < 0) {
                int e = errno;
                ctx_error(&c, (SuiteLoc){}, "cannot open: %s", strerror(e));
                return -e;
        }
        if (!S_ISREG(st.st_mode)) {
                ctx_error(&c, (SuiteLoc){}, "not a regular file");
                return -EINVAL;
        }
        if (st.st_size > SUITE_MAX_FILE_SIZE) {
                ctx_error(&c, (SuiteLoc){ 1, 1 }, "file is larger than %d bytes",
                          SUITE_MAX_FILE_SIZE);
                return -EFBIG;
        }
        _cleanup_free_ char *buf = malloc(SUITE_MAX_FILE_SIZE + 1);
        size_t len = 0;
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, SUITE_MAX_FILE_SIZE + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        ctx_error(&c, (SuiteLoc){}, "cannot read: %s", strerror(e));
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > SUITE_MAX_FILE_SIZE) {
                        ctx_error(&c, (SuiteLoc){ 1, 1 }, "file is larger than %d bytes",
                                  SUITE_MAX_FILE_SIZE);
                        return -EFBIG;
                }
        }
        char digest[65];
        ThSha256 sha;
        th_sha256_init(&sha);
        th_sha256_update(&sha, buf, len);
        th_sha256_final_hex(&sha, digest);
        if (each && each->sha256 && strcmp(each->sha256, digest) != 0) {
                ctx_error(&c, (SuiteLoc){}, "changed since it was checked");
                return -ESTALE;
        }
        _cleanup_free_ char *real = realpath(path, NULL);
        int r = load_buffer(path, real ? real : path, index, buf, len, each, ret, diags);
        if (r >= 0)
                memcpy((*ret)->sha256, digest, sizeof(digest));
        return r;
}

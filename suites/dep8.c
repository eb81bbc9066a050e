/* suites: DEP-8 debian/tests/control and debian/control into the model of
 * dep8.h, architecture matching, and the expansion of a test's Depends:
 * into one relation string, all as autopkgtest 5.28 (lib/testdesc.py) and
 * dpkg's Dpkg::Deps and Dpkg::Arch do it. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dep8-internal.h"

/* ---- restrictions ------------------------------------------------------ */

static const char *const restriction_names[] = {
        "allow-stderr",
        "breaks-testbed",
        "build-needed",
        "flaky",
        "hint-testsuite-triggers",
        "isolation-container",
        "isolation-machine",
        "needs-internet",
        "needs-reboot",
        "needs-recommends",
        "needs-root",
        "needs-sudo",
        "rw-build-tree",
        "skip-not-installable",
        "skippable",
        "superficial",
};

const char *dep8_restriction_to_string(Dep8Restriction r)
{
        for (size_t i = 0; i < ELEMENTSOF(restriction_names); i++)
                if ((uint32_t)r == 1u << i)
                        return restriction_names[i];
        return NULL;
}

Dep8Restriction dep8_restriction_from_string(const char *s)
{
        for (size_t i = 0; s && i < ELEMENTSOF(restriction_names); i++)
                if (strcmp(s, restriction_names[i]) == 0)
                        return (Dep8Restriction)(1u << i);
        return 0;
}

/* ---- small helpers ----------------------------------------------------- */

static bool is_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool in_set(char ch, const char *set)
{
        return ch != '\0' && strchr(set, ch) != NULL;
}

#define LOWER_DIGIT "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM       LOWER_DIGIT "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Python's str.split() after replacing ',' by ' ', without duplicates when
 * dedup (autopkgtest keeps sets), in linear time. Returns 0 and *ret (never
 * NULL), -E2BIG over max items, -ENOMEM. */
static int split_list(const char *s, bool dedup, size_t max, char ***ret)
{
        _cleanup_strv_ char **v = calloc(1, sizeof(char *));
        size_t n_items = 0, cap = 1;
        if (!v)
                return -ENOMEM;
        while (s && *s) {
                while (*s && (is_space(*s) || *s == ','))
                        s++;
                size_t n = 0;
                while (s[n] && !is_space(s[n]) && s[n] != ',')
                        n++;
                if (n == 0)
                        break;
                bool seen = false;
                for (size_t i = 0; dedup && i < n_items && !seen; i++)
                        seen = strlen(v[i]) == n && strncmp(v[i], s, n) == 0;
                if (!seen) {
                        if (n_items >= max)
                                return -E2BIG;
                        if (n_items + 1 >= cap) {
                                char **w = reallocarray(v, cap * 2, sizeof(char *));
                                if (!w)
                                        return -ENOMEM;
                                v = w;
                                cap *= 2;
                        }
                        if (!(v[n_items] = strndup(s, n)))
                                return -ENOMEM;
                        v[++n_items] = NULL;
                }
                s += n;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static char *strip_dup(const char *s, size_t n)
{
        while (n > 0 && is_space(*s))
                s++, n--;
        while (n > 0 && is_space(s[n - 1]))
                n--;
        return strndup(s, n);
}

/* Python's string.capwords() of a field name: "TEST-COMMAND" -> "Test-command". */
static char *capword(const char *s)
{
        char *w = strdup(s);
        for (char *p = w; p && *p; p++)
                *p = p == w ? (char)toupper((unsigned char)*p) : (char)tolower((unsigned char)*p);
        return w;
}

/* ---- architectures ----------------------------------------------------- */

typedef struct DebArchTuple {
        const char *arch, *abi, *libc, *os, *cpu;
} DebArchTuple;

#include "deb-arch-table.h"

static int arch_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const DebArchTuple *)elem)->arch);
}

static const DebArchTuple *arch_tuple(const char *arch)
{
        return bsearch(arch, deb_arch_table, ELEMENTSOF(deb_arch_table), sizeof(DebArchTuple),
                       arch_cmp);
}

bool deb_arch_is(const char *arch, const char *wildcard)
{
        if (!arch || !wildcard)
                return false;
        if (strcmp(wildcard, arch) == 0 || strcmp(wildcard, "any") == 0)
                return true;
        const DebArchTuple *real = arch_tuple(arch);
        if (!real)
                return false;
        /* Dpkg::Arch::debwildcard_to_debtuple: a wildcard with "any" in it
         * is split on '-' into at most 4 parts, padded with "any" in front;
         * any other is an architecture name. */
        const char *alias[4] = {};
        char buf[256];
        if (strlen(wildcard) >= sizeof(buf))
                return false;
        strcpy(buf, wildcard);
        char *parts[4];
        size_t n = 0;
        bool has_any = false;
        for (char *p = buf; n < 4;) {
                parts[n++] = p;
                char *dash = n < 4 ? strchr(p, '-') : NULL;
                if (!dash)
                        break;
                *dash = '\0';
                p = dash + 1;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(parts[i], "any") == 0)
                        has_any = true;
        if (has_any) {
                for (size_t i = 0; i < 4; i++)
                        alias[i] = i < 4 - n ? "any" : parts[i - (4 - n)];
                if (n == 1)
                        alias[0] = alias[1] = alias[2] = alias[3] = "any";
        } else {
                const DebArchTuple *t = arch_tuple(wildcard);
                if (!t)
                        return false;
                alias[0] = t->abi, alias[1] = t->libc, alias[2] = t->os, alias[3] = t->cpu;
        }
        const char *r[4] = { real->abi, real->libc, real->os, real->cpu };
        for (size_t i = 0; i < 4; i++)
                if (strcmp(alias[i], r[i]) != 0 && strcmp(alias[i], "any") != 0)
                        return false;
        return true;
}

/* Dpkg::Deps::Simple::arch_is_concerned over a whitespace-separated list
 * ("amd64 !i386"), lowercased as dpkg does. */
static int arch_list_concerned(const char *list, const char *arch, bool *ret)
{
        _cleanup_strv_ char **v = NULL;
        int r = split_list(list, false, SIZE_MAX, &v);
        if (r < 0)
                return r;
        bool seen = false;
        for (char **p = v; *p; p++) {
                for (char *q = *p; *q; q++)
                        *q = (char)tolower((unsigned char)*q);
                if ((*p)[0] == '!') {
                        if (deb_arch_is(arch, *p + 1)) {
                                seen = false;
                                break;
                        }
                        seen = true;
                } else if (deb_arch_is(arch, *p)) {
                        seen = true;
                        break;
                }
        }
        *ret = seen;
        return 0;
}

/* ---- autopkgtest's check of a test's Depends: -------------------------- */

/* python-debian's NativeVersion: [epoch:]upstream[-revision] over
 * [A-Za-z0-9.+:~-], a ':' only after a numeric epoch. */
static bool version_valid(const char *v)
{
        if (!*v)
                return false;
        for (const char *p = v; *p; p++)
                if (!in_set(*p, ALNUM ".+:~-"))
                        return false;
        const char *colon = strchr(v, ':');
        if (!colon)
                return true;
        if (colon == v || colon[1] == '\0')
                return false;
        for (const char *p = v; p < colon; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

/* testdesc.dep_re on one alternative: 0, 1 invalid, 2 invalid version. */
static int check_test_dep(const char *s)
{
        size_t i = 0, n;
        for (n = 0; in_set(s[i + n], LOWER_DIGIT "+,-."); n++)
                ;
        if (n == 0)
                return 1;
        i += n;
        if (s[i] == ':') {
                for (n = 0; in_set(s[i + 1 + n], LOWER_DIGIT "_-"); n++)
                        ;
                if (n == 0)
                        return 1;
                i += 1 + n;
        }
        while (is_space(s[i]))
                i++;
        const char *version = NULL;
        size_t version_len = 0;
        if (s[i] == '(') {
                static const char *const ops[] = { "<<", "<=", ">=", "=", ">>" };
                size_t j = i + 1, k;
                for (k = 0; k < ELEMENTSOF(ops); k++)
                        if (strncmp(s + j, ops[k], strlen(ops[k])) == 0)
                                break;
                if (k == ELEMENTSOF(ops))
                        return 1;
                j += strlen(ops[k]);
                while (is_space(s[j]))
                        j++;
                version = s + j;
                while (s[j] && s[j] != ')')
                        j++;
                if (s[j] != ')')
                        return 1;
                version_len = (size_t)(s + j - version);
                i = j + 1;
        }
        size_t a = i;
        while (is_space(s[a]))
                a++;
        if (s[a] == '[') {
                for (n = 0; in_set(s[a + 1 + n], LOWER_DIGIT "+,-.! "); n++)
                        ;
                if (n == 0 || s[a + 1 + n] != ']')
                        return 1;
                i = a + 2 + n;
        }
        if (s[i] != '\0')
                return 1;
        if (version) {
                _cleanup_free_ char *v = strndup(version, version_len);
                if (!v)
                        return -ENOMEM;
                /* An empty version is let through by autopkgtest and refused
                 * by apt later; refuse it here. */
                if (!version_valid(v))
                        return 2;
        }
        return 0;
}

static bool is_macro(const char *g)
{
        return strcmp(g, "@") == 0 || strcmp(g, "@builddeps@") == 0 ||
               strcmp(g, "@recommends@") == 0;
}

static int check_depends(LoadCtx *c, const Deb822Field *f)
{
        for (const char *g = f->value; g;) {
                const char *comma = strchr(g, ',');
                size_t gl = comma ? (size_t)(comma - g) : strlen(g);
                _cleanup_free_ char *group = strip_dup(g, gl);
                if (!group)
                        return -ENOMEM;
                g = comma ? comma + 1 : NULL;
                if (!group[0] || is_macro(group))
                        continue;
                for (const char *a = group; a;) {
                        const char *bar = strchr(a, '|');
                        size_t al = bar ? (size_t)(bar - a) : strlen(a);
                        _cleanup_free_ char *alt = strip_dup(a, al);
                        if (!alt)
                                return -ENOMEM;
                        a = bar ? bar + 1 : NULL;
                        int r = check_test_dep(alt);
                        if (r < 0)
                                return r;
                        if (r == 1)
                                ctx_error(c, (SuiteLoc){ f->line, 0 },
                                          "Test Depends field contains an invalid dependency `%s'",
                                          alt);
                        else if (r == 2)
                                ctx_error(c, (SuiteLoc){ f->line, 0 },
                                          "Test Depends field contains dependency `%s' with an "
                                          "invalid version",
                                          alt);
                        if (r > 0)
                                return 0; /* one error a field, as autopkgtest stops */
                }
        }
        return 0;
}

/* ---- debian/tests/control ---------------------------------------------- */

static void test_done(Dep8Test *t)
{
        free(t->name);
        free(t->path);
        free(t->command);
        free(t->depends);
        th_strv_free(t->unknown_restrictions);
        th_strv_free(t->features);
        th_strv_free(t->classes);
        free(t->architecture);
        th_strv_free(t->unknown_fields);
}

Dep8Control *dep8_free(Dep8Control *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_tests; i++)
                test_done(&c->tests[i]);
        free(c->tests);
        free(c->path);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Dep8Control *, dep8_free)

static const char *const known_fields[] = {
        "Tests",   "Test-Command",    "Restrictions", "Features",
        "Depends", "Tests-Directory", "Classes",      "Architecture",
};

static const char *field_value(const Deb822Stanza *s, const char *name)
{
        const Deb822Field *f = deb822_get(s, name);
        return f ? f->value : NULL;
}

static int strv_dup(char *const *v, char ***ret)
{
        _cleanup_strv_ char **w = calloc(1, sizeof(char *));
        if (!w)
                return -ENOMEM;
        for (; v && *v; v++)
                if (th_strv_push(&w, *v) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

/* What every test of a stanza shares. */
typedef struct StanzaCommon {
        char *depends;
        uint32_t restrictions;
        char **unknown_restrictions, **features, **classes, **unknown_fields;
        char *architecture;
} StanzaCommon;

static void common_done(StanzaCommon *s)
{
        free(s->depends);
        th_strv_free(s->unknown_restrictions);
        th_strv_free(s->features);
        th_strv_free(s->classes);
        th_strv_free(s->unknown_fields);
        free(s->architecture);
}

static size_t strv_bytes(char *const *v)
{
        size_t n = sizeof(char *);
        for (; v && *v; v++)
                n += strlen(*v) + 1 + sizeof(char *);
        return n;
}

/* Every test holds a copy of its stanza's fields: bounded in all. */
static int test_fill(LoadCtx *c, Dep8Test *t, const StanzaCommon *s, unsigned line)
{
        size_t bytes = sizeof(Dep8Test) + strlen(s->depends) + strlen(t->name) +
                       (t->path ? strlen(t->path) : 0) + (t->command ? strlen(t->command) : 0) +
                       (s->architecture ? strlen(s->architecture) : 0) +
                       strv_bytes(s->unknown_restrictions) + strv_bytes(s->features) +
                       strv_bytes(s->classes) + strv_bytes(s->unknown_fields);
        c->model_bytes += bytes;
        if (c->model_bytes > DEP8_MAX_MODEL) {
                ctx_error(c, (SuiteLoc){ line, 0 },
                          "the tests take more than %d MiB (each a copy of its stanza's fields)",
                          DEP8_MAX_MODEL >> 20);
                return -EFBIG;
        }
        t->line = line;
        t->restrictions = s->restrictions;
        if (!(t->depends = strdup(s->depends)))
                return -ENOMEM;
        if (s->architecture && !(t->architecture = strdup(s->architecture)))
                return -ENOMEM;
        if (strv_dup(s->unknown_restrictions, &t->unknown_restrictions) < 0 ||
            strv_dup(s->features, &t->features) < 0 || strv_dup(s->classes, &t->classes) < 0 ||
            strv_dup(s->unknown_fields, &t->unknown_fields) < 0)
                return -ENOMEM;
        return 0;
}

static int push_test(LoadCtx *c, Dep8Control *ctl, unsigned line, Dep8Test **ret)
{
        if (ctl->n_tests >= DEP8_MAX_TESTS) {
                ctx_error(c, (SuiteLoc){ line, 0 }, "more than %d tests", DEP8_MAX_TESTS);
                return -EFBIG;
        }
        Dep8Test *v = reallocarray(ctl->tests, ctl->n_tests + 1, sizeof(Dep8Test));
        if (!v)
                return -ENOMEM;
        ctl->tests = v;
        *ret = &v[ctl->n_tests++];
        **ret = (Dep8Test){};
        return 0;
}

/* A relative path that stays inside the source tree. */
static bool path_inside(const char *p)
{
        if (!p[0] || p[0] == '/')
                return false;
        for (const char *s = p; *s;) {
                size_t n = strcspn(s, "/");
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return false;
                s += n;
                while (*s == '/')
                        s++;
        }
        return true;
}

static int load_stanza(LoadCtx *c, const Deb822Stanza *st, Dep8Control *ctl,
                       unsigned *command_counter)
{
        _cleanup_(common_done) StanzaCommon s = {};
        _cleanup_strv_ char **restr = NULL, **features = NULL;
        const Deb822Field *tests = deb822_get(st, "Tests");
        const Deb822Field *command = deb822_get(st, "Test-Command");
        const Deb822Field *depends = deb822_get(st, "Depends");
        const Deb822Field *feat = deb822_get(st, "Features");
        const char *test_name = NULL;
        unsigned errors = c->n_errors;
        int r;

        static const char *const lists[] = { "Restrictions", "Features", "Classes" };
        char ***outs[] = { &restr, &features, &s.classes };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                const Deb822Field *f = deb822_get(st, lists[i]);
                r = split_list(f ? f->value : NULL, true, DEP8_MAX_LIST, outs[i]);
                if (r == -E2BIG) {
                        ctx_error(c, (SuiteLoc){ f->line, 0 }, "more than %d values in %s",
                                  DEP8_MAX_LIST, f->name);
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        if (!(s.unknown_restrictions = calloc(1, sizeof(char *))) ||
            !(s.unknown_fields = calloc(1, sizeof(char *))))
                return -ENOMEM;
        for (char **p = restr; *p; p++) {
                Dep8Restriction b = dep8_restriction_from_string(*p);
                if (b)
                        s.restrictions |= b;
                else if (th_strv_push(&s.unknown_restrictions, *p) < 0)
                        return -ENOMEM;
        }
        for (char **p = features; *p; p++) {
                if (strncmp(*p, "test-name", 9) != 0 || ((*p)[9] != '=' && (*p)[9] != '\0'))
                        continue;
                if ((*p)[9] == '\0' || (*p)[10] == '\0')
                        ctx_error(c, (SuiteLoc){ feat->line, 0 },
                                  "test-name feature with no argument");
                else if (test_name)
                        ctx_error(c, (SuiteLoc){ feat->line, 0 },
                                  "only one test-name feature allowed");
                else
                        test_name = *p + 10;
        }
        s.features = TAKE_PTR(features);
        const char *arch = field_value(st, "Architecture");
        if (arch && !(s.architecture = strdup(arch)))
                return -ENOMEM;
        for (size_t i = 0; i < st->n; i++) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(known_fields); k++)
                        if (strcasecmp(st->fields[i].name, known_fields[k]) == 0)
                                known = true;
                _cleanup_free_ char *name = known ? NULL : capword(st->fields[i].name);
                if (!known && (!name || th_strv_push(&s.unknown_fields, name) < 0))
                        return -ENOMEM;
        }
        if (!(s.depends = strdup(depends ? depends->value : "@")))
                return -ENOMEM;
        if (depends && (r = check_depends(c, depends)) < 0)
                return r;

        if (!tests && !command) {
                ctx_error(c, (SuiteLoc){ st->line, 0 },
                          "missing \"Tests\" or \"Test-Command\" field");
                return 0;
        }
        if (tests && command)
                ctx_error(c, (SuiteLoc){ st->line, 0 },
                          "Only one of \"Tests\" or \"Test-Command\" may be given");
        if (tests && test_name)
                ctx_error(c, (SuiteLoc){ feat->line, 0 },
                          "test-name feature incompatible with Tests");
        if (command) {
                if (c->n_errors > errors)
                        return 0;
                Dep8Test *t;
                if ((r = push_test(c, ctl, st->line, &t)) < 0)
                        return r;
                if (test_name)
                        t->name = strdup(test_name);
                else
                        t->name = th_strdup_printf("command%u", ++*command_counter);
                if (!t->name || !(t->command = strdup(command->value)))
                        return -ENOMEM;
                return test_fill(c, t, &s, st->line);
        }

        _cleanup_strv_ char **names = NULL;
        r = split_list(tests->value, false, DEP8_MAX_TESTS, &names);
        if (r == -E2BIG) {
                ctx_error(c, (SuiteLoc){ st->line, 0 }, "more than %d tests", DEP8_MAX_TESTS);
                return -EFBIG;
        }
        if (r < 0)
                return r;
        if (!names[0])
                ctx_error(c, (SuiteLoc){ tests->line, 0 }, "\"Tests\" field is empty");
        const Deb822Field *dir_field = deb822_get(st, "Tests-Directory");
        const char *dir = dir_field ? dir_field->value : "debian/tests";
        if (!path_inside(dir))
                ctx_error(c, (SuiteLoc){ dir_field->line, 0 },
                          "Tests-Directory '%s' is not a relative path inside the source tree",
                          dir);
        if (c->n_errors > errors)
                return 0;
        size_t dl = strlen(dir);
        for (char **n = names; *n; n++) {
                Dep8Test *t;
                if ((r = push_test(c, ctl, st->line, &t)) < 0)
                        return r;
                /* os.path.join(dir, name); a name with a '/' is skipped
                 * (dep8_test_skip_reason), its path never used. */
                if (!(t->name = strdup(*n)) ||
                    !(t->path = th_strdup_printf("%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", *n)))
                        return -ENOMEM;
                if ((r = test_fill(c, t, &s, st->line)) < 0)
                        return r;
        }
        return 0;
}

static int load_tests(LoadCtx *c, const char *name, const char *data, size_t size,
                      Dep8Control **ret)
{
        _cleanup_(dep8_freep) Dep8Control *ctl = calloc(1, sizeof(Dep8Control));
        _cleanup_(deb822_done) Deb822 d = {};
        unsigned counter = 0;
        int r;

        if (!ctl || !(ctl->path = strdup(name)))
                return -ENOMEM;
        if ((r = deb822_parse(c, data, size, &d)) < 0)
                return r;
        for (size_t i = 0; i < d.n; i++)
                if ((r = load_stanza(c, &d.stanzas[i], ctl, &counter)) < 0)
                        return r == -EFBIG ? -EINVAL : r;
        if (c->n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(ctl);
        return 0;
}

static int diag_cmp(const void *a, const void *b)
{
        const SuiteDiag *x = a, *y = b;
        return (x->loc.line > y->loc.line) - (x->loc.line < y->loc.line);
}

static int finish(LoadCtx *c, int r)
{
        if (c->diags && c->diags->n > 1)
                qsort(c->diags->items, c->diags->n, sizeof(SuiteDiag), diag_cmp);
        if (c->oom)
                return -ENOMEM;
        return r;
}

int dep8_load_buffer(const char *name, const char *data, size_t size, Dep8Control **ret,
                     SuiteDiags *diags)
{
        LoadCtx c = { .file = name, .diags = diags };
        *ret = NULL;
        if (size > DEP8_MAX_FILE_SIZE) {
                ctx_error(&c, (SuiteLoc){ 1, 0 }, "file is larger than %d bytes",
                          DEP8_MAX_FILE_SIZE);
                return finish(&c, -EFBIG);
        }
        return finish(&c, load_tests(&c, name, data, size, ret));
}

int dep8_load(const char *path, Dep8Control **ret, SuiteDiags *diags)
{
        LoadCtx c = { .file = path, .diags = diags };
        _cleanup_free_ char *buf = NULL;
        size_t len;
        *ret = NULL;
        int r = deb822_read_file(&c, path, DEP8_MAX_FILE_SIZE, &buf, &len);
        if (r < 0)
                return finish(&c, r);
        return finish(&c, load_tests(&c, path, buf, len, ret));
}

/* ---- debian/control ---------------------------------------------------- */

DebControl *deb_control_free(DebControl *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_binaries; i++) {
                DebBinary *b = &c->binaries[i];
                free(b->name);
                free(b->architecture);
                free(b->depends);
                free(b->recommends);
                free(b->build_profiles);
                free(b->package_type);
        }
        free(c->binaries);
        free(c->path);
        free(c->source);
        free(c->build_depends);
        free(c->build_depends_indep);
        free(c->build_depends_arch);
        free(c->testsuite_triggers);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DebControl *, deb_control_free)

static int dup_field(const Deb822Stanza *s, const char *name, char **ret)
{
        const char *v = field_value(s, name);
        if (v && !(*ret = strdup(v)))
                return -ENOMEM;
        return 0;
}

static int load_control(LoadCtx *c, const char *name, const char *data, size_t size,
                        DebControl **ret)
{
        _cleanup_(deb_control_freep) DebControl *ctl = calloc(1, sizeof(DebControl));
        _cleanup_(deb822_done) Deb822 d = {};
        int r;

        if (!ctl || !(ctl->path = strdup(name)))
                return -ENOMEM;
        if ((r = deb822_parse(c, data, size, &d)) < 0)
                return r;
        if (d.n == 0 && c->n_errors == 0)
                ctx_error(c, (SuiteLoc){ 1, 0 }, "no source stanza");
        for (size_t i = 0; i < d.n; i++) {
                const Deb822Stanza *st = &d.stanzas[i];
                if (i == 0) {
                        if (!deb822_get(st, "Source"))
                                ctx_error(c, (SuiteLoc){ st->line, 0 },
                                          "the first stanza has no Source field");
                        if (dup_field(st, "Source", &ctl->source) < 0 ||
                            dup_field(st, "Build-Depends", &ctl->build_depends) < 0 ||
                            dup_field(st, "Build-Depends-Indep", &ctl->build_depends_indep) < 0 ||
                            dup_field(st, "Build-Depends-Arch", &ctl->build_depends_arch) < 0 ||
                            dup_field(st, "Testsuite-Triggers", &ctl->testsuite_triggers) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (!deb822_get(st, "Package")) {
                        ctx_error(c, (SuiteLoc){ st->line, 0 },
                                  "binary stanza without a Package field");
                        continue;
                }
                if (!deb822_get(st, "Architecture")) {
                        ctx_error(c, (SuiteLoc){ st->line, 0 },
                                  "binary stanza without an Architecture field");
                        continue;
                }
                if (ctl->n_binaries >= DEP8_MAX_TESTS) {
                        ctx_error(c, (SuiteLoc){ st->line, 0 }, "more than %d binary packages",
                                  DEP8_MAX_TESTS);
                        return -EINVAL;
                }
                DebBinary *v = reallocarray(ctl->binaries, ctl->n_binaries + 1, sizeof(DebBinary));
                if (!v)
                        return -ENOMEM;
                ctl->binaries = v;
                DebBinary *b = &v[ctl->n_binaries++];
                *b = (DebBinary){ .line = st->line };
                if (dup_field(st, "Package", &b->name) < 0 ||
                    dup_field(st, "Architecture", &b->architecture) < 0 ||
                    dup_field(st, "Depends", &b->depends) < 0 ||
                    dup_field(st, "Recommends", &b->recommends) < 0 ||
                    dup_field(st, "Build-Profiles", &b->build_profiles) < 0 ||
                    dup_field(st,
                              deb822_get(st, "Package-Type") ? "Package-Type" : "XC-Package-Type",
                              &b->package_type) < 0)
                        return -ENOMEM;
        }
        if (c->n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(ctl);
        return 0;
}

int deb_control_load_buffer(const char *name, const char *data, size_t size, DebControl **ret,
                            SuiteDiags *diags)
{
        LoadCtx c = { .file = name, .diags = diags };
        *ret = NULL;
        if (size > DEP8_MAX_FILE_SIZE) {
                ctx_error(&c, (SuiteLoc){ 1, 0 }, "file is larger than %d bytes",
                          DEP8_MAX_FILE_SIZE);
                return finish(&c, -EFBIG);
        }
        return finish(&c, load_control(&c, name, data, size, ret));
}

int deb_control_load(const char *path, DebControl **ret, SuiteDiags *diags)
{
        LoadCtx c = { .file = path, .diags = diags };
        _cleanup_free_ char *buf = NULL;
        size_t len;
        *ret = NULL;
        int r = deb822_read_file(&c, path, DEP8_MAX_FILE_SIZE, &buf, &len);
        if (r < 0)
                return finish(&c, r);
        return finish(&c, load_control(&c, path, buf, len, ret));
}

static bool is_deb(const DebBinary *b)
{
        return !b->package_type || strcmp(b->package_type, "deb") == 0;
}

int deb_control_binaries(const DebControl *c, const char *arch, char ***ret)
{
        _cleanup_strv_ char **v = calloc(1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; c && i < c->n_binaries; i++) {
                const DebBinary *b = &c->binaries[i];
                bool ok = true;
                if (!is_deb(b))
                        continue;
                if (strcmp(b->architecture, "all") != 0 && strcmp(b->architecture, "any") != 0 &&
                    arch_list_concerned(b->architecture, arch, &ok) < 0)
                        return -ENOMEM;
                if (ok && th_strv_push(&v, b->name) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* ---- skip reasons ------------------------------------------------------ */

static int arch_skip_reason(const Dep8Test *t, const char *arch, char **ret)
{
        _cleanup_strv_ char **v = NULL;
        if (split_list(t->architecture, false, SIZE_MAX, &v) < 0)
                return -ENOMEM;
        for (char **p = v; *p; p++)
                if (strcmp(*p, "all") == 0)
                        return (*ret = strdup("Arch 'all' not allowed in Architecture field"))
                                       ? 1
                                       : -ENOMEM;
        if (!v[0] || (strcmp(v[0], "any") == 0 && !v[1]))
                return 0;
        bool neg = false, pos = false, matched = false;
        for (char **p = v; *p; p++) {
                if ((*p)[0] == '!') {
                        neg = true;
                        if (deb_arch_is(arch, *p + 1))
                                return (*ret = th_strdup_printf(
                                                "Test declares architecture as not supported: %s",
                                                arch))
                                               ? 1
                                               : -ENOMEM;
                } else {
                        pos = true;
                        if (deb_arch_is(arch, *p))
                                matched = true;
                }
        }
        if (pos && neg)
                *ret = strdup("It is not permitted for some archs to be prepended by an "
                              "exclamation mark while others aren't");
        else if (pos && !matched)
                *ret = th_strdup_printf("Test lists explicitly supported architectures, but the "
                                        "current architecture %s isn't listed.",
                                        arch);
        else
                return 0;
        return *ret ? 1 : -ENOMEM;
}

int dep8_test_skip_reason(const Dep8Test *t, const char *arch, char **ret)
{
        *ret = NULL;
        if (t->unknown_fields && t->unknown_fields[0])
                return (*ret = th_strdup_printf("unknown field %s", t->unknown_fields[0]))
                               ? 1
                               : -ENOMEM;
        int r = arch_skip_reason(t, arch, ret);
        if (r != 0)
                return r;
        if (strchr(t->name, '/'))
                return (*ret = strdup("test name may not contain / character")) ? 1 : -ENOMEM;
        if (t->unknown_restrictions && t->unknown_restrictions[0])
                return (*ret = th_strdup_printf("unknown restriction %s",
                                                t->unknown_restrictions[0]))
                               ? 1
                               : -ENOMEM;
        /* autopkgtest 5.28 does not know it, so skips such a test. */
        if (t->restrictions & DEP8_HINT_TESTSUITE_TRIGGERS)
                return (*ret = strdup("unknown restriction hint-testsuite-triggers")) ? 1 : -ENOMEM;
        return 0;
}

/* ---- relations, as Dpkg::Deps::deps_parse ------------------------------ */

typedef struct RelOpts {
        const char *arch;
        bool build_dep, reduce_profiles;
} RelOpts;

/* Evaluates a "<a !b> <c>" formula with no build profile active. */
static bool profiles_concerned(const char *s, size_t n)
{
        bool any = false;
        for (size_t i = 0; i < n;) {
                if (s[i] != '<') {
                        i++;
                        continue;
                }
                bool ok = true;
                size_t j = ++i;
                while (j < n && s[j] != '>') {
                        while (j < n && is_space(s[j]))
                                j++;
                        if (j < n && s[j] != '>' && s[j] != '!')
                                ok = false;
                        while (j < n && !is_space(s[j]) && s[j] != '>')
                                j++;
                }
                if (ok)
                        any = true;
                i = j;
        }
        return any;
}

/* One alternative: appends its reduced form to out, or nothing when its
 * [arch] or <profile> excludes it. 0, -EINVAL (no parse), -ENOMEM. */
static int rel_simple(const char *s, const RelOpts *o, char **ret)
{
        size_t i = 0, n;
        *ret = NULL;
        while (is_space(s[i]))
                i++;
        const char *pkg = s + i;
        if (!in_set(s[i], ALNUM))
                return -EINVAL;
        for (n = 1; in_set(s[i + n], ALNUM "+.-"); n++)
                ;
        size_t pkg_len = n;
        i += n;
        const char *qual = NULL;
        size_t qual_len = 0;
        if (s[i] == ':' && in_set(s[i + 1], ALNUM)) {
                for (n = 1; in_set(s[i + 1 + n], ALNUM "-"); n++)
                        ;
                qual = s + i + 1, qual_len = n;
                i += 1 + n;
        }
        size_t j = i;
        while (is_space(s[j]))
                j++;
        const char *op = NULL, *ver = NULL;
        size_t ver_len = 0;
        if (s[j] == '(') {
                j++;
                while (is_space(s[j]))
                        j++;
                static const char *const ops[] = { "<<", "<=", "=", ">=", ">>", "<", ">" };
                static const char *const norm[] = { "<<", "<=", "=", ">=", ">>", "<=", ">=" };
                for (size_t k = 0; k < ELEMENTSOF(ops); k++)
                        if (strncmp(s + j, ops[k], strlen(ops[k])) == 0) {
                                op = norm[k];
                                j += strlen(ops[k]);
                                break;
                        }
                if (!op)
                        return -EINVAL;
                while (is_space(s[j]))
                        j++;
                ver = s + j;
                while (s[j] && s[j] != ')' && !is_space(s[j]))
                        j++;
                ver_len = (size_t)(s + j - ver);
                while (is_space(s[j]))
                        j++;
                if (ver_len == 0 || s[j] != ')')
                        return -EINVAL;
                i = ++j;
        }
        j = i;
        while (is_space(s[j]))
                j++;
        bool concerned = true;
        if (s[j] == '[') {
                const char *close = strchr(s + j, ']');
                if (!close || close == s + j + 1)
                        return -EINVAL;
                _cleanup_free_ char *list = strndup(s + j + 1, (size_t)(close - s - j - 1));
                if (!list || arch_list_concerned(list, o->arch, &concerned) < 0)
                        return -ENOMEM;
                i = (size_t)(close - s) + 1;
        }
        size_t prof = i;
        for (;;) {
                j = i;
                while (is_space(s[j]))
                        j++;
                if (s[j] != '<')
                        break;
                const char *close = strchr(s + j, '>');
                size_t k = j + 1;
                while (is_space(s[k]))
                        k++;
                if (!close || close == s + k)
                        return -EINVAL;
                i = (size_t)(close - s) + 1;
        }
        if (i > prof && !o->reduce_profiles)
                return -EINVAL; /* the test Depends: knows no profiles */
        bool prof_ok = i == prof || profiles_concerned(s + prof, i - prof);
        while (is_space(s[i]))
                i++;
        if (s[i] != '\0')
                return -EINVAL;
        if (qual && qual_len == 6 && strncmp(qual, "native", 6) == 0 && !o->build_dep)
                return -EINVAL;
        if (!concerned || !prof_ok)
                return 0;
        *ret = th_strdup_printf("%.*s%s%.*s%s%s%s%.*s%s", (int)pkg_len, pkg, qual ? ":" : "",
                                (int)qual_len, qual ? qual : "", op ? " (" : "", op ? op : "",
                                op ? " " : "", (int)ver_len, ver ? ver : "", op ? ")" : "");
        return *ret ? 0 : -ENOMEM;
}

/* deps_parse(line, reduce_arch => 1, host_arch => arch, ...)->output(). */
static int rel_reduce(const char *line, const RelOpts *o, char **ret)
{
        _cleanup_free_ char *copy = strdup(line), *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *out = NULL;
        bool first_and = true;

        if (!copy || !(out = open_memstream(&buf, &size)))
                return -ENOMEM;
        for (char *p = copy; *p; p++)
                if (*p == '\r' || *p == '\n')
                        *p = ' ';
        for (char *and = copy; and;) {
                char *comma = strchr(and, ',');
                if (comma)
                        *comma = '\0';
                char *next = comma ? comma + 1 : NULL;
                bool empty = true;
                for (char *q = and; *q; q++)
                        if (!is_space(*q))
                                empty = false;
                if (empty) {
                        and = next;
                        continue;
                }
                bool any = false;
                /* Perl's split drops trailing empty fields: "a |" is "a". */
                char *end = and+strlen(and);
                while (end > and&&(is_space(end[-1]) || end[-1] == '|'))
                        *--end = '\0';
                for (char *alt = and; alt;) {
                        char *bar = strchr(alt, '|');
                        if (bar)
                                *bar = '\0';
                        _cleanup_free_ char *kept = NULL;
                        int r = rel_simple(alt, o, &kept);
                        if (r < 0)
                                return r;
                        if (kept) {
                                fprintf(out, "%s%s", any ? " | " : first_and ? "" : ", ", kept);
                                any = true;
                                first_and = false;
                        }
                        alt = bar ? bar + 1 : NULL;
                }
                and = next;
        }
        if (fflush(out) != 0)
                return -ENOMEM;
        if (fclose(TAKE_PTR(out)) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The expansion's list of or-clauses, bounded (DEP8_MAX_EXPANDED*). */
typedef struct DepList {
        char **v;
        size_t n, cap, bytes;
} DepList;

static void dep_list_done(DepList *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (DepList){};
}

static int dep_list_push(DepList *l, const char *s, size_t len)
{
        if (l->n >= DEP8_MAX_EXPANDED_ITEMS || l->bytes + len + 2 > DEP8_MAX_EXPANDED)
                return -E2BIG;
        if (l->n >= l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                char **v = reallocarray(l->v, cap, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        if (!(l->v[l->n] = strndup(s, len)))
                return -ENOMEM;
        l->n++;
        l->bytes += len + 2;
        return 0;
}

static int dep_list_append(DepList *l, const DepList *from)
{
        for (size_t i = 0; i < from->n; i++) {
                int r = dep_list_push(l, from->v[i], strlen(from->v[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Splits a reduced relation on ',' into stripped parts appended to l. */
static int push_split(DepList *l, const char *s)
{
        for (const char *p = s; p;) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);
                while (n > 0 && is_space(*p))
                        p++, n--;
                while (n > 0 && is_space(p[n - 1]))
                        n--;
                int r = n > 0 ? dep_list_push(l, p, n) : 0;
                if (r < 0)
                        return r;
                p = comma ? comma + 1 : NULL;
        }
        return 0;
}

/* testdesc._filter_variables: drops "${...}" items and a version
 * constraint holding one. */
static int filter_variables(const char *s, FILE *out)
{
        bool first = true;
        for (const char *p = s; p;) {
                const char *comma = strchr(p, ',');
                _cleanup_free_ char *w = strip_dup(p, comma ? (size_t)(comma - p) : strlen(p));
                if (!w)
                        return -ENOMEM;
                p = comma ? comma + 1 : NULL;
                if (strncmp(w, "${", 2) == 0)
                        continue;
                /* re.sub(r'\(.*\${\S*}.*\)', '', w): from the first '(' to
                 * the last ')' when a "${", then non-blanks up to a '}', lie
                 * between them. */
                char *open = strchr(w, '('), *close = strrchr(w, ')');
                bool var = false, match = false;
                for (char *q = open ? open + 1 : NULL; q && q < close && !match; q++) {
                        if (is_space(*q))
                                var = false;
                        else if (q[0] == '$' && q[1] == '{')
                                var = true, q++;
                        else if (*q == '}' && var)
                                match = true;
                }
                if (match)
                        memmove(open, close + 1, strlen(close + 1) + 1);
                fprintf(out, "%s%s", first ? "" : ", ", w);
                first = false;
        }
        return 0;
}

static int expand_builddeps(const DebControl *c, const char *arch, DepList *v, ThError *err)
{
        _cleanup_free_ char *all =
                th_strdup_printf("%s%s%s%s%s", c && c->build_depends ? c->build_depends : "",
                                 c && c->build_depends_indep ? ", " : "",
                                 c && c->build_depends_indep ? c->build_depends_indep : "",
                                 c && c->build_depends_arch ? ", " : "",
                                 c && c->build_depends_arch ? c->build_depends_arch : "");
        _cleanup_free_ char *reduced = NULL;
        RelOpts o = { .arch = arch, .build_dep = true, .reduce_profiles = true };
        if (!all)
                return -ENOMEM;
        int r = rel_reduce(all, &o, &reduced);
        if (r == -EINVAL)
                return th_error_set(err, EINVAL, "%s: Invalid build dependencies",
                                    c ? c->path : "debian/control");
        if (r < 0)
                return r;
        if ((r = push_split(v, reduced)) < 0)
                return r;
        return dep_list_push(v, "build-essential", strlen("build-essential"));
}

static int expand_recommends(const DebControl *c, const char *arch, DepList *v, ThError *err)
{
        _cleanup_free_ char *all = NULL, *filtered = NULL, *reduced = NULL;
        size_t size = 0, fsize = 0;
        FILE *f = open_memstream(&all, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; c && i < c->n_binaries; i++)
                if (c->binaries[i].recommends)
                        fprintf(f, "%s,", c->binaries[i].recommends);
        if (fclose(f) != 0)
                return -ENOMEM;
        f = open_memstream(&filtered, &fsize);
        if (!f)
                return -ENOMEM;
        int r = filter_variables(all, f);
        if (fclose(f) != 0 || r < 0)
                return -ENOMEM;
        RelOpts o = { .arch = arch, .reduce_profiles = true };
        r = rel_reduce(filtered, &o, &reduced);
        if (r == -EINVAL)
                return th_error_set(err, EINVAL, "%s: Invalid Recommends",
                                    c ? c->path : "debian/control");
        if (r < 0)
                return r;
        return push_split(v, reduced);
}

static int expand(const Dep8Test *t, const DebControl *c, const char *arch, DepList *deps,
                  ThError *err)
{
        _cleanup_(dep_list_done) DepList builddeps = {}, recommends = {};
        bool have_builddeps = false, have_recommends = false;
        _cleanup_free_ char *spec = NULL;
        int r = 0;

        /* needs-recommends is autopkgtest's deprecated spelling of
         * @recommends@. */
        if (t->restrictions & DEP8_NEEDS_RECOMMENDS)
                spec = th_strdup_printf("%s,@recommends@", t->depends ? t->depends : "@");
        else
                spec = strdup(t->depends ? t->depends : "@");
        if (!spec)
                return -ENOMEM;
        for (const char *g = spec; g && r >= 0;) {
                const char *comma = strchr(g, ',');
                _cleanup_free_ char *group = strip_dup(g, comma ? (size_t)(comma - g) : strlen(g));
                if (!group)
                        return -ENOMEM;
                g = comma ? comma + 1 : NULL;
                if (!group[0])
                        continue;
                if (strcmp(group, "@") == 0) {
                        for (size_t i = 0; c && i < c->n_binaries && r >= 0; i++) {
                                const DebBinary *b = &c->binaries[i];
                                _cleanup_free_ char *d = NULL;
                                if (!is_deb(b))
                                        continue;
                                if (strcmp(b->architecture, "all") == 0 ||
                                    strcmp(b->architecture, "any") == 0)
                                        d = strdup(b->name);
                                else
                                        d = th_strdup_printf("%s [%s]", b->name, b->architecture);
                                r = d ? dep_list_push(deps, d, strlen(d)) : -ENOMEM;
                        }
                } else if (strcmp(group, "@builddeps@") == 0) {
                        if (!have_builddeps && (r = expand_builddeps(c, arch, &builddeps, err)) < 0)
                                return r;
                        have_builddeps = true;
                        r = dep_list_append(deps, &builddeps);
                } else if (strcmp(group, "@recommends@") == 0) {
                        if (!have_recommends &&
                            (r = expand_recommends(c, arch, &recommends, err)) < 0)
                                return r;
                        have_recommends = true;
                        r = dep_list_append(deps, &recommends);
                } else {
                        r = dep_list_push(deps, group, strlen(group));
                }
        }
        if (r >= 0 && (t->restrictions & DEP8_NEEDS_SUDO)) {
                bool have = false;
                for (size_t i = 0; i < deps->n; i++)
                        if (strcmp(deps->v[i], "sudo") == 0)
                                have = true;
                if (!have)
                        r = dep_list_push(deps, "sudo", 4);
        }
        if (r == -E2BIG)
                return th_error_set(err, E2BIG,
                                    "test %s: Depends expands to more than %d clauses or %d MiB",
                                    t->name, DEP8_MAX_EXPANDED_ITEMS, DEP8_MAX_EXPANDED >> 20);
        return r;
}

int dep8_expand_depends(const Dep8Test *t, const DebControl *c, const char *arch, char **ret,
                        ThError *err)
{
        _cleanup_(dep_list_done) DepList deps = {};
        int r = expand(t, c, arch, &deps, err);
        if (r < 0)
                return r;

        /* What autopkgtest hands to apt: the list joined, ":native"
         * removed, reduced for the architecture. */
        _cleanup_free_ char *joined = malloc(deps.bytes + 1), *reduced = NULL;
        if (!joined)
                return -ENOMEM;
        joined[0] = '\0';
        char *w = joined;
        for (size_t i = 0; i < deps.n; i++)
                w = stpcpy(stpcpy(w, i == 0 ? "" : ", "), deps.v[i]);
        char *out = joined;
        for (const char *in = joined; *in;)
                if (strncmp(in, ":native", 7) == 0)
                        in += 7;
                else
                        *out++ = *in++;
        *out = '\0';
        RelOpts o = { .arch = arch };
        r = rel_reduce(joined, &o, &reduced);
        if (r == -EINVAL)
                return th_error_set(err, EINVAL, "test %s: invalid dependencies '%s'", t->name,
                                    joined);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reduced);
        return 0;
}

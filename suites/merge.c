/* suites: merging `defaults` into each test. A test's own value wins; env
 * merges by variable name and fixtures by target (the test's entry wins);
 * tags and artifacts are the union (defaults first); expect and limits merge
 * key by key. Every copy is accounted, so defaults times tests stays bounded. */
#include <string.h>

#include "suite-internal.h"

static int strp_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted index of strings, for O(log n) membership while merging. */
typedef struct KeyIndex {
        const char **keys;
        size_t n;
} KeyIndex;

static void key_index_done(KeyIndex *k)
{
        free(k->keys);
}

static int key_index_build(KeyIndex *k, size_t n, const char *(*get)(const void *, size_t),
                           const void *arr)
{
        k->keys = calloc(n + 1, sizeof(char *));
        if (!k->keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (get(arr, i))
                        k->keys[k->n++] = get(arr, i);
        qsort(k->keys, k->n, sizeof(char *), strp_cmp);
        return 0;
}

static bool key_index_has(const KeyIndex *k, const char *key)
{
        return k->n && bsearch(&key, k->keys, k->n, sizeof(char *), strp_cmp);
}

static const char *env_key(const void *arr, size_t i)
{
        return ((const SuiteEnv *)arr)[i].key;
}

static const char *fixture_target(const void *arr, size_t i)
{
        return ((const SuiteFixture *)arr)[i].target;
}

static const char *strv_item(const void *arr, size_t i)
{
        return ((char *const *)arr)[i];
}

static int merge_env(LoadCtx *c, TestSpec *t, const TestSpec *d)
{
        _cleanup_(key_index_done) KeyIndex idx = {};
        if (key_index_build(&idx, t->n_env, env_key, t->env) < 0)
                return -ENOMEM;
        if (!ctx_account(c, d->n_env * sizeof(SuiteEnv)))
                return -ENOMEM;
        SuiteEnv *env = reallocarray(t->env, t->n_env + d->n_env + 1, sizeof(SuiteEnv));
        if (!env)
                return -ENOMEM;
        t->env = env;
        /* Defaults first, so the order reads like the file; the test's own
         * entries follow. */
        size_t n_own = t->n_env, w = 0;
        memmove(env + d->n_env, env, n_own * sizeof(SuiteEnv));
        for (size_t i = 0; i < d->n_env; i++) {
                if (key_index_has(&idx, d->env[i].key))
                        continue;
                env[w].key = ctx_strdup(c, d->env[i].key);
                env[w].value = ctx_strdup(c, d->env[i].value);
                w++;
                if (!env[w - 1].key || !env[w - 1].value) {
                        memmove(env + w, env + d->n_env, n_own * sizeof(SuiteEnv));
                        t->n_env = w + n_own;
                        return -ENOMEM;
                }
        }
        memmove(env + w, env + d->n_env, n_own * sizeof(SuiteEnv));
        t->n_env = w + n_own;
        return 0;
}

static int copy_fixture(LoadCtx *c, SuiteFixture *dst, const SuiteFixture *src)
{
        *dst = (SuiteFixture){ .writable = src->writable, .loc = src->loc };
        dst->source = ctx_strdup(c, src->source);
        dst->source_abs = ctx_strdup(c, src->source_abs);
        dst->target = ctx_strdup(c, src->target);
        return dst->source && dst->source_abs && dst->target ? 0 : -ENOMEM;
}

static int merge_fixtures(LoadCtx *c, TestSpec *t, const TestSpec *d)
{
        _cleanup_(key_index_done) KeyIndex idx = {};
        if (key_index_build(&idx, t->n_fixtures, fixture_target, t->fixtures) < 0)
                return -ENOMEM;
        if (!ctx_account(c, d->n_fixtures * sizeof(SuiteFixture)))
                return -ENOMEM;
        SuiteFixture *f = calloc(t->n_fixtures + d->n_fixtures + 1, sizeof(SuiteFixture));
        if (!f)
                return -ENOMEM;
        size_t w = 0;
        int r = 0;
        for (size_t i = 0; i < d->n_fixtures && r >= 0; i++)
                if (!key_index_has(&idx, d->fixtures[i].target))
                        r = copy_fixture(c, &f[w++], &d->fixtures[i]);
        if (t->n_fixtures > 0)
                memcpy(f + w, t->fixtures, t->n_fixtures * sizeof(SuiteFixture));
        free(t->fixtures);
        t->fixtures = f;
        t->n_fixtures += w;
        return r;
}

/* Union of two NULL-terminated lists: defaults first, no repeats. */
static int merge_strv(LoadCtx *c, char ***own, char *const *defaults)
{
        _cleanup_(key_index_done) KeyIndex idx = {};
        _cleanup_strv_ char **out = NULL;
        size_t n_own = th_strv_length(*own);

        if (key_index_build(&idx, n_own, strv_item, *own) < 0)
                return -ENOMEM;
        for (char *const *p = defaults; p && *p; p++) {
                if (key_index_has(&idx, *p))
                        continue;
                if (!ctx_account(c, strlen(*p) + 1 + sizeof(char *)) || th_strv_push(&out, *p) < 0)
                        return -ENOMEM;
        }
        for (char **p = *own; p && *p; p++)
                if (th_strv_push(&out, *p) < 0)
                        return -ENOMEM;
        th_strv_free(*own);
        *own = TAKE_PTR(out);
        return 0;
}

static int copy_regexes(LoadCtx *c, SuiteRegex **dst, size_t *n_dst, const SuiteRegex *src,
                        size_t n_src)
{
        /* The test's own list may hold what parsed before an error in it. */
        suite_regexes_free(*dst, *n_dst);
        *dst = NULL;
        *n_dst = 0;
        SuiteRegex *v = calloc(n_src + 1, sizeof(SuiteRegex));
        if (!v || !ctx_account(c, n_src * sizeof(SuiteRegex))) {
                free(v);
                return -ENOMEM;
        }
        *dst = v;
        *n_dst = 0;
        /* The compiled regex is shared with defaults, which the Suite frees
         * last: recompiling it for each of many tests would be the slowest
         * part of loading. regexec() only reads it. */
        for (size_t i = 0; i < n_src; i++) {
                v[i].loc = src[i].loc;
                v[i].pattern = ctx_strdup(c, src[i].pattern);
                if (!v[i].pattern)
                        return -ENOMEM;
                v[i].re = src[i].re;
                v[i].borrowed = true;
                (*n_dst)++;
        }
        return 0;
}

static int merge_expect(LoadCtx *c, TestSpec *t, const TestSpec *d, uint32_t from_defaults)
{
        SuiteExpect *e = &t->expect;
        const SuiteExpect *de = &d->expect;
        int r = 0;

        if (from_defaults & SUITE_EXPECT_EXIT)
                e->exit_status = de->exit_status;
        if (r >= 0 && (from_defaults & SUITE_EXPECT_STDOUT))
                r = copy_regexes(c, &e->stdout_match, &e->n_stdout_match, de->stdout_match,
                                 de->n_stdout_match);
        if (r >= 0 && (from_defaults & SUITE_EXPECT_STDOUT_NOT))
                r = copy_regexes(c, &e->stdout_not, &e->n_stdout_not, de->stdout_not,
                                 de->n_stdout_not);
        if (r >= 0 && (from_defaults & SUITE_EXPECT_STDERR))
                r = copy_regexes(c, &e->stderr_match, &e->n_stderr_match, de->stderr_match,
                                 de->n_stderr_match);
        if (r >= 0 && (from_defaults & SUITE_EXPECT_STDERR_NOT))
                r = copy_regexes(c, &e->stderr_not, &e->n_stderr_not, de->stderr_not,
                                 de->n_stderr_not);
        if (r >= 0 && (from_defaults & SUITE_EXPECT_JOURNAL)) {
                e->journal_priority = de->journal_priority;
                r = copy_regexes(c, &e->journal_match, &e->n_journal_match, de->journal_match,
                                 de->n_journal_match);
        }
        /* `not` of a defaults' `journal:` mapping or `journal-not`, unless
         * the test has patterns that must not match of its own. */
        if (r >= 0 && !e->journal_not &&
            (from_defaults & (SUITE_EXPECT_JOURNAL | SUITE_EXPECT_JOURNAL_NOT)))
                r = copy_regexes(c, &e->journal_not, &e->n_journal_not, de->journal_not,
                                 de->n_journal_not);
        if (r >= 0 && (from_defaults & SUITE_EXPECT_UNITS)) {
                e->units_no_failed = de->units_no_failed;
                th_strv_free(e->units);
                e->units = NULL;
                for (char *const *p = de->units; r >= 0 && p && *p; p++)
                        if (!ctx_account(c, strlen(*p) + 1 + sizeof(char *)) ||
                            th_strv_push(&e->units, *p) < 0)
                                r = -ENOMEM;
        }
        if (from_defaults & SUITE_EXPECT_CRASHES)
                e->no_crashes = de->no_crashes;
        if (from_defaults & SUITE_EXPECT_SKIP_EXIT)
                e->skip_exit = de->skip_exit;
        if (from_defaults & SUITE_EXPECT_STDERR_EMPTY)
                e->stderr_empty = de->stderr_empty;
        return r;
}

static int merge_string(LoadCtx *c, char **dst, const char *src)
{
        free(*dst);
        *dst = NULL;
        if (!src)
                return 0;
        *dst = ctx_strdup(c, src);
        return *dst ? 0 : -ENOMEM;
}

int test_spec_merge_defaults(LoadCtx *c, TestSpec *t, const TestSpec *d)
{
        uint32_t only = d->set & ~t->set;        /* set in defaults, not in the test */
        uint32_t sub = d->sub_set & ~t->sub_set; /* the same for expect/limits keys */
        int r = 0;

        if (only & SUITE_FIELD_RUN)
                r = merge_string(c, &t->run, d->run);
        if (r >= 0 && (only & SUITE_FIELD_SETUP))
                r = merge_string(c, &t->setup, d->setup);
        if (only & SUITE_FIELD_BOOT)
                t->boot = d->boot;
        if (only & SUITE_FIELD_FULL_BOOT)
                t->full_boot = d->full_boot;
        if (only & SUITE_FIELD_TIMEOUT)
                t->timeout_usec = d->timeout_usec;
        if (r >= 0 && (only & SUITE_FIELD_NETWORK)) {
                t->network = d->network;
                r = merge_string(c, &t->network_group, d->network_group);
        }
        if (only & SUITE_FIELD_PRIVATE_USERS) {
                t->private_users = d->private_users;
                t->private_users_loc = d->private_users_loc;
        }
        if (r >= 0 && (only & SUITE_FIELD_USER))
                r = merge_string(c, &t->user, d->user);
        if (r >= 0 && (only & SUITE_FIELD_WORKDIR))
                r = merge_string(c, &t->workdir, d->workdir);
        if (only & SUITE_FIELD_RETRIES)
                t->retries = d->retries;
        if (only & SUITE_FIELD_REBOOTS)
                t->reboots = d->reboots;
        if (r >= 0 && (only & SUITE_FIELD_SKIP))
                r = merge_string(c, &t->skip, d->skip);
        if (r >= 0 && (d->set & SUITE_FIELD_ENV))
                r = merge_env(c, t, d);
        if (r >= 0 && (d->set & SUITE_FIELD_FIXTURES))
                r = merge_fixtures(c, t, d);
        if (r >= 0 && (d->set & SUITE_FIELD_TAGS))
                r = merge_strv(c, &t->tags, d->tags);
        if (r >= 0 && (d->set & SUITE_FIELD_ARTIFACTS))
                r = merge_strv(c, &t->artifacts, d->artifacts);
        if (r >= 0 && (d->set & SUITE_FIELD_INSTALL)) {
                if (!(t->set & SUITE_FIELD_INSTALL))
                        t->install_loc = d->install_loc;
                r = merge_strv(c, &t->install, d->install);
        }
        if (sub & SUITE_LIMIT_MEMORY)
                t->memory_bytes = d->memory_bytes;
        if (sub & SUITE_LIMIT_PIDS)
                t->pids = d->pids;
        if (sub & SUITE_LIMIT_CPU)
                t->cpu = d->cpu;
        if (sub & SUITE_LIMIT_ARTIFACTS)
                t->artifacts_bytes = d->artifacts_bytes;
        if (sub & SUITE_LIMIT_OUTPUT)
                t->output_bytes = d->output_bytes;
        if (r >= 0)
                r = merge_expect(c, t, d, sub);
        t->set |= d->set & ~(uint32_t)SUITE_FIELD_PACKAGES;
        t->sub_set |= d->sub_set;
        return r;
}

/* runner: choosing what `harness run` runs. Test selection by --filter,
 * --tag and --shard (balanced by count or by recorded durations), the plan
 * order, and the names derived from test ids
 * (machine names, output directory components). Pure: no I/O. */
#include <string.h>

#include "runner.h"
#include "runner-internal.h"

#define SHARD_TOTAL_MAX 100000u

static int parse_unsigned(const char *s, const char **ret_end, unsigned *ret)
{
        unsigned long v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (unsigned long)(*s - '0');
                if (v > SHARD_TOTAL_MAX)
                        return -ERANGE;
        }
        *ret_end = s;
        *ret = (unsigned)v;
        return 0;
}

int runner_shard_parse(const char *s, RunShard *ret)
{
        unsigned i, n;
        const char *p;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_unsigned(s, &p, &i);
        if (r < 0)
                return r;
        if (*p != '/')
                return -EINVAL;
        r = parse_unsigned(p + 1, &p, &n);
        if (r < 0)
                return r;
        if (*p != '\0')
                return -EINVAL;
        if (n < 1 || i < 1 || i > n)
                return -ERANGE;
        *ret = (RunShard){ .index = i, .total = n };
        return 0;
}

int runner_shard_from_env(char *(*getenv_fn)(const char *name), RunShard *ret)
{
        static const struct {
                const char *index, *total;
                unsigned base;
        } ci[] = {
                /* Ours, for CIs without shard variables of their own
                 * (GitHub Actions: set from the job's matrix); first, so an
                 * explicit choice wins over the CI's. */
                { "HARNESS_SHARD_INDEX", "HARNESS_SHARD_TOTAL", 1 },
                { "CI_NODE_INDEX", "CI_NODE_TOTAL", 1 },
                { "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0 },
                { "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0 },
        };

        for (size_t k = 0; k < ELEMENTSOF(ci); k++) {
                const char *i = getenv_fn(ci[k].index), *n = getenv_fn(ci[k].total), *end;
                unsigned index, total;
                if (!i || !n || !*i || !*n)
                        continue;
                if (parse_unsigned(i, &end, &index) < 0 || *end ||
                    parse_unsigned(n, &end, &total) < 0 || *end)
                        return -EINVAL;
                index += 1 - ci[k].base;
                if (total < 1 || index < 1 || index > total)
                        return -EINVAL;
                *ret = (RunShard){ .index = index, .total = total };
                return 0;
        }
        return -ENOENT;
}

uint32_t runner_test_hash(const char *suite, const char *test)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (const char *s = suite; s && *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        h = (h ^ (uint8_t)'/') * 16777619u;
        for (const char *s = test; s && *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        return h;
}

static int duration_cmp(const void *a, const void *b)
{
        return strcmp(((const RunDuration *)a)->id, ((const RunDuration *)b)->id);
}

void runner_durations_sort(RunDurations *d)
{
        if (d->n > 1)
                qsort(d->v, d->n, sizeof(*d->v), duration_cmp);
}

bool runner_durations_find(const RunDurations *d, const char *id, double *ret_sec)
{
        RunDuration key = { .id = (char *)id };
        const RunDuration *f;

        if (!d || d->n == 0)
                return false;
        f = bsearch(&key, d->v, d->n, sizeof(*d->v), duration_cmp);
        if (f && ret_sec)
                *ret_sec = f->sec;
        return f != NULL;
}

void runner_durations_done(RunDurations *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->v[i].id);
        free(d->v);
        *d = (RunDurations){ 0 };
}

/* One test to place: its id, recorded duration (known) and position. */
typedef struct ShardItem {
        const char *id;
        double sec;
        bool known;
        size_t pos;
} ShardItem;

/* Known first, longest first; then unknown; ties by id, then position. */
static int shard_item_cmp(const void *a, const void *b)
{
        const ShardItem *x = a, *y = b;
        int r;

        if (x->known != y->known)
                return x->known ? -1 : 1;
        if (x->known && x->sec != y->sec)
                return x->sec > y->sec ? -1 : 1;
        r = strcmp(x->id, y->id);
        if (r != 0)
                return r;
        return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int runner_shard_assign(const char *const *ids, size_t n, unsigned total, const RunDurations *d,
                        unsigned *ret)
{
        _cleanup_free_ ShardItem *items = NULL;
        _cleanup_free_ double *load = NULL;
        _cleanup_free_ size_t *unknown = NULL;

        if (total < 1)
                return -EINVAL;
        if (n == 0)
                return 0;
        items = calloc(n, sizeof(*items));
        load = calloc(total, sizeof(*load));
        unknown = calloc(total, sizeof(*unknown));
        if (!items || !load || !unknown)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                items[i] = (ShardItem){ .id = ids[i], .pos = i };
                items[i].known = runner_durations_find(d, ids[i], &items[i].sec);
                if (items[i].known && !(items[i].sec >= 0))
                        items[i].sec = 0; /* NaN or negative: as instant */
        }
        qsort(items, n, sizeof(*items), shard_item_cmp);
        for (size_t i = 0; i < n; i++) {
                unsigned best = 0;
                for (unsigned b = 1; b < total; b++) {
                        /* Known (longest first): the least loaded shard.
                         * Unknown: the shard with the fewest unknown tests,
                         * so they spread evenly; then the least loaded. */
                        if (!items[i].known && unknown[b] != unknown[best]) {
                                if (unknown[b] < unknown[best])
                                        best = b;
                                continue;
                        }
                        if (load[b] < load[best])
                                best = b;
                }
                if (items[i].known)
                        load[best] += items[i].sec;
                else
                        unknown[best]++;
                ret[items[i].pos] = best + 1;
        }
        return 0;
}

/* Unknown first, then known longest first; ties by position. */
static int order_item_cmp(const void *a, const void *b)
{
        const ShardItem *x = a, *y = b;

        if (x->known != y->known)
                return x->known ? 1 : -1;
        if (x->known && x->sec != y->sec)
                return x->sec > y->sec ? -1 : 1;
        return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int runner_order_longest_first(const char *const *ids, size_t n, const RunDurations *d,
                               size_t *order)
{
        _cleanup_free_ ShardItem *items = NULL;

        if (n == 0)
                return 0;
        items = calloc(n, sizeof(*items));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                items[i] = (ShardItem){ .id = ids[i], .pos = i };
                items[i].known = runner_durations_find(d, ids[i], &items[i].sec);
                if (items[i].known && !(items[i].sec >= 0))
                        items[i].sec = 0;
        }
        qsort(items, n, sizeof(*items), order_item_cmp);
        for (size_t i = 0; i < n; i++)
                order[i] = items[i].pos;
        return 0;
}

static bool has_tag(char *const *have, char *const *want)
{
        for (char *const *w = want; *w; w++)
                for (char *const *h = have; h && *h; h++)
                        if (strcmp(*h, *w) == 0)
                                return true;
        return false;
}

bool runner_test_selected(const RunSelect *sel, const char *suite, const TestSpec *test)
{
        if (!sel)
                return true;
        if (sel->tags && sel->tags[0] && !has_tag(test->tags, sel->tags))
                return false;
        if (sel->n_filters > 0) {
                _cleanup_free_ char *id = th_strdup_printf("%s/%s", suite, test->name);
                bool any = false;
                if (!id)
                        return false;
                for (size_t i = 0; i < sel->n_filters && !any; i++)
                        any = regexec(&sel->filters[i], id, 0, NULL, 0) == 0;
                if (!any)
                        return false;
        }
        return true;
}

int runner_plan_shard(RunPlanItem *items, size_t *n, const char *const *ids, const RunSelect *sel)
{
        _cleanup_free_ unsigned *shard_of = NULL;
        size_t kept = 0;
        int r;

        if (!sel || sel->shard.total == 0 || *n == 0)
                return 0;
        shard_of = calloc(*n, sizeof(*shard_of));
        if (!shard_of)
                return -ENOMEM;
        r = runner_shard_assign(ids, *n, sel->shard.total, sel->durations, shard_of);
        if (r < 0)
                return r;
        for (size_t i = 0; i < *n; i++)
                if (shard_of[i] == sel->shard.index)
                        items[kept++] = items[i];
        *n = kept;
        return 0;
}

int runner_plan_build(Suite *const *suites, size_t n_suites, const RunSelect *sel,
                      RunPlanItem **ret, size_t *ret_n, size_t *ret_n_unsharded)
{
        _cleanup_free_ RunPlanItem *items = NULL;
        _cleanup_free_ char **ids = NULL;
        size_t n = 0, total = 0;
        int r = 0;

        for (size_t s = 0; s < n_suites; s++)
                total += suites[s]->n_tests;
        if (total > 0) {
                items = calloc(total, sizeof(*items));
                if (!items)
                        return -ENOMEM;
        }
        for (size_t s = 0; s < n_suites; s++)
                for (size_t t = 0; t < suites[s]->n_tests; t++)
                        if (runner_test_selected(sel, suites[s]->name, &suites[s]->tests[t]))
                                items[n++] = (RunPlanItem){ .suite = s, .test = t };
        if (ret_n_unsharded)
                *ret_n_unsharded = n;
        if (sel && sel->shard.total > 0 && n > 0) {
                /* The shards split what the other options selected. */
                ids = calloc(n, sizeof(*ids));
                if (!ids)
                        return -ENOMEM;
                for (size_t i = 0; i < n && r == 0; i++) {
                        ids[i] =
                                th_strdup_printf("%s/%s", suites[items[i].suite]->name,
                                                 suites[items[i].suite]->tests[items[i].test].name);
                        if (!ids[i])
                                r = -ENOMEM;
                }
                size_t n_ids = n;
                if (r == 0)
                        r = runner_plan_shard(items, &n, (const char *const *)ids, sel);
                for (size_t i = 0; i < n_ids; i++)
                        free(ids[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(items);
        *ret_n = n;
        return 0;
}

int runner_plan_order(const char *const *ids, size_t *runnable, size_t n, const RunDurations *d)
{
        _cleanup_free_ size_t *order = NULL, *was = NULL;
        int r;

        if (n < 2)
                return 0;
        order = calloc(n, sizeof(*order));
        was = calloc(n, sizeof(*was));
        if (!order || !was)
                return -ENOMEM;
        r = runner_order_longest_first(ids, n, d, order);
        if (r < 0)
                return r;
        memcpy(was, runnable, n * sizeof(*was));
        for (size_t k = 0; k < n; k++)
                runnable[k] = was[order[k]];
        return 0;
}

/* Appends a lowercase [a-z0-9-] form of s, collapsing runs of others into
 * one '-'; stops at max characters. */
static size_t append_hostname_part(char *buf, size_t len, size_t max, const char *s)
{
        for (; s && *s && len < max; s++) {
                char c = *s;
                if (c >= 'A' && c <= 'Z')
                        c = (char)(c - 'A' + 'a');
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                        buf[len++] = c;
                else if (len > 0 && buf[len - 1] != '-')
                        buf[len++] = '-';
        }
        return len;
}

int runner_machine_name(const char *suite, const char *test, uint32_t salt, char *buf, size_t size)
{
        char name[64];
        size_t len;
        uint32_t h = runner_test_hash(suite, test) ^ (salt * 2654435761u);
        int r;

        /* 63 = "h-" + body + "-" + 8 hex digits; body at most 52. */
        memcpy(name, "h-", 2);
        len = append_hostname_part(name, 2, 2 + 26, suite);
        if (name[len - 1] != '-')
                name[len++] = '-';
        len = append_hostname_part(name, len, 2 + 52, test);
        while (len > 2 && name[len - 1] == '-')
                len--;
        r = th_snprintf(buf, size, "%.*s-%08x", (int)len, name, h);
        return r < 0 ? r : 0;
}

int runner_path_component(const char *name, char *buf, size_t size)
{
        char out[96];
        size_t len = 0;
        bool changed = false;
        int r;

        for (const char *s = name; s && *s; s++) {
                char c = *s;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (len >= 80) {
                        changed = true;
                        break;
                }
                if (!ok)
                        changed = true;
                out[len++] = ok ? c : '_';
        }
        if (len == 0 || out[0] == '.') {
                changed = true; /* never "", "." or ".." or a hidden name */
                if (len > 0)
                        out[0] = '_';
        }
        if (!changed)
                r = th_snprintf(buf, size, "%.*s", (int)len, out);
        else
                r = th_snprintf(buf, size, "%.*s%s%08x", (int)len, out, len ? "-" : "",
                                runner_test_hash(name, ""));
        return r < 0 ? r : 0;
}

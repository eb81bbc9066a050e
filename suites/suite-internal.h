/* suites: declarations shared by the loader's files: the small YAML node tree
 * (yaml.c), the load context that collects located errors, and the model
 * helpers (model.c, merge.c). */
#pragma once

#include <stdarg.h>

#include "suite.h"

typedef enum NodeKind {
        NODE_SCALAR,
        NODE_SEQUENCE,
        NODE_MAPPING,
        NODE_INVALID, /* already reported (an alias): skipped silently */
        _NODE_KIND_MAX,
        _NODE_KIND_INVALID = -EINVAL,
} NodeKind;

typedef struct Node {
        NodeKind kind;
        SuiteLoc loc;
        char *value; /* scalars: the text, NUL-terminated */
        size_t len;
        bool plain;          /* scalars: unquoted, so true/false/null/numbers are typed */
        struct Node **items; /* sequences: items; mappings: key, value, key, value, ... */
        size_t n, cap;
} Node;

typedef struct LoadCtx {
        const char *file;     /* for messages */
        const char *base_dir; /* the suite's directory, absolute */
        SuiteDiags *diags;
        unsigned n_errors;
        size_t model_bytes;   /* accounted model size, bounded by SUITE_MAX_MODEL */
        uint64_t regex_nodes; /* estimated regcomp work, bounded by SUITE_MAX_REGEX_ALL */
        bool oom;
        SuiteLoc key_loc; /* of the key whose value is being parsed */
        const char *key;  /* and its name, for messages */
        /* `rootfs: [A, B]`: which entry this load keeps (0-based), how many
         * there are (0: not a list) and the kept one's label. */
        size_t matrix_index, n_matrix;
        char *matrix_label;
        /* A streamed load reads the file twice (yaml_tree_stream()); what
         * one pass says the other keeps quiet about. */
        bool quiet;
} LoadCtx;

/* Whether further messages would be dropped (only counted). */
static inline bool ctx_full(const LoadCtx *c)
{
        return !c->diags || c->diags->n >= SUITE_MAX_DIAGS;
}

void ctx_error(LoadCtx *c, SuiteLoc loc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Parses YAML into a node tree, refusing anchors/aliases, enforcing depth and
 * size limits, and dropping duplicate keys (reported). A syntax error is
 * reported and returns -EINVAL with *ret NULL. An empty document gives a NULL
 * tree and 0. */
int yaml_tree_parse(LoadCtx *c, const char *data, size_t size, Node **ret);
/* The same, streaming the items of the top-level `tests:` sequence (the
 * first `tests` key of the root mapping) instead of keeping them: with item
 * NULL they are skipped without being built or checked (only counted, and
 * their errors left to the other pass); else each is built and checked, and
 * item(c, node, index, userdata) called with it, freed after (items before
 * first and from first + count on are skipped; count 0: to the end; a
 * negative return stops the parse). Errors outside the items are reported
 * only when item is NULL, so one pass of each kind reports everything once.
 * The tree keeps the sequence, empty; *ret_n_items: how many it had. */
typedef int (*YamlItemFn)(LoadCtx *c, const Node *item, size_t index, void *userdata);
int yaml_tree_stream(LoadCtx *c, const char *data, size_t size, YamlItemFn item, void *userdata,
                     size_t first, size_t count, Node **ret, size_t *ret_n_items);
Node *node_free(Node *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Node *, node_free)
#define _cleanup_node_ _cleanup_(node_freep)

/* Model helpers. */
DEFINE_TRIVIAL_CLEANUP_FUNC(Suite *, suite_free)
void test_spec_done(TestSpec *t);
void suite_rootfs_done(SuiteRootfs *r);
void suite_regex_done(SuiteRegex *r);
void suite_regexes_free(SuiteRegex *v, size_t n);
int suite_regex_compile(LoadCtx *c, SuiteRegex *r);

/* Merges defaults into t: fields t did not set come from defaults. */
int test_spec_merge_defaults(LoadCtx *c, TestSpec *t, const TestSpec *defaults);

/* Accounting of the model's size; false (and an error) when over budget. */
bool ctx_account(LoadCtx *c, size_t bytes);
char *ctx_strdup(LoadCtx *c, const char *s);

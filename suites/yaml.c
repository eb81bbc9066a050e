/* suites: YAML text to a small node tree through libyaml's event API. This is
 * the edge: it refuses anchors, aliases and tags, bounds nesting and scalar
 * sizes, and reports duplicate keys, which libyaml itself accepts. */
#include <string.h>
#include <yaml.h>

#include "suite-internal.h"

static SuiteLoc mark_loc(yaml_mark_t m)
{
        return (SuiteLoc){ .line = (unsigned)m.line + 1, .column = (unsigned)m.column + 1 };
}

Node *node_free(Node *n)
{
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n; i++)
                node_free(n->items[i]);
        free(n->items);
        free(n->value);
        free(n);
        return NULL;
}

static int node_append(Node *parent, Node *child)
{
        if (parent->n == parent->cap) {
                size_t cap = parent->cap ? parent->cap * 2 : 8;
                Node **items = reallocarray(parent->items, cap, sizeof(Node *));
                if (!items)
                        return -ENOMEM;
                parent->items = items;
                parent->cap = cap;
        }
        parent->items[parent->n++] = child;
        return 0;
}

static Node *node_new(NodeKind kind, yaml_mark_t mark)
{
        Node *n = calloc(1, sizeof(Node));
        if (n) {
                n->kind = kind;
                n->loc = mark_loc(mark);
        }
        return n;
}

typedef struct KeyRef {
        const Node *key;
        size_t pair;
} KeyRef;

static int keyref_cmp(const void *a, const void *b)
{
        const KeyRef *x = a, *y = b;
        int r = strcmp(x->key->value, y->key->value);
        if (r != 0)
                return r;
        return x->pair < y->pair ? -1 : x->pair > y->pair;
}

/* Reports every repeated key of a mapping at the repeat, and drops the repeat
 * so later checks see each key once. Sorting keeps this O(n log n) for
 * mappings with many keys. */
static int mapping_dedup(LoadCtx *c, Node *m)
{
        size_t n_pairs = m->n / 2, n_refs = 0;
        if (n_pairs < 2)
                return 0;
        _cleanup_free_ KeyRef *refs = calloc(n_pairs, sizeof(KeyRef));
        _cleanup_free_ bool *drop = calloc(n_pairs, sizeof(bool));
        if (!refs || !drop)
                return -ENOMEM;
        for (size_t i = 0; i < n_pairs; i++)
                if (m->items[2 * i]->kind == NODE_SCALAR)
                        refs[n_refs++] = (KeyRef){ m->items[2 * i], i };
        qsort(refs, n_refs, sizeof(KeyRef), keyref_cmp);
        for (size_t i = 1; i < n_refs; i++) {
                size_t first = i - 1;
                while (first > 0 && strcmp(refs[first - 1].key->value, refs[i].key->value) == 0)
                        first--;
                if (strcmp(refs[first].key->value, refs[i].key->value) != 0)
                        continue;
                ctx_error(c, refs[i].key->loc, "duplicate key '%s' (first at line %u, column %u)",
                          refs[i].key->value, refs[first].key->loc.line,
                          refs[first].key->loc.column);
                drop[refs[i].pair] = true;
        }
        size_t w = 0;
        for (size_t i = 0; i < n_pairs; i++) {
                if (drop[i]) {
                        node_free(m->items[2 * i]);
                        node_free(m->items[2 * i + 1]);
                        continue;
                }
                m->items[w++] = m->items[2 * i];
                m->items[w++] = m->items[2 * i + 1];
        }
        m->n = w;
        return 0;
}

/* Where libyaml's reader stopped: it gives only a byte offset. */
static SuiteLoc offset_loc(const char *data, size_t size, size_t offset)
{
        SuiteLoc loc = { 1, 1 };
        for (size_t i = 0; i < offset && i < size; i++) {
                if (data[i] == '\n') {
                        loc.line++;
                        loc.column = 1;
                } else if (((unsigned char)data[i] & 0xC0) != 0x80) {
                        loc.column++;
                }
        }
        return loc;
}

static int report_parser_error(LoadCtx *c, const yaml_parser_t *p, const char *data, size_t size)
{
        switch (p->error) {
        case YAML_MEMORY_ERROR:
                c->oom = true;
                return -ENOMEM;
        case YAML_READER_ERROR:
                ctx_error(c, offset_loc(data, size, p->problem_offset), "invalid input: %s",
                          p->problem ? p->problem : "unreadable");
                return -EINVAL;
        case YAML_NO_ERROR:
        case YAML_SCANNER_ERROR:
        case YAML_PARSER_ERROR:
        case YAML_COMPOSER_ERROR:
        case YAML_WRITER_ERROR:
        case YAML_EMITTER_ERROR:
        default:
                break;
        }
        if (p->context)
                ctx_error(c, mark_loc(p->problem_mark), "syntax error: %s (%s at line %zu)",
                          p->problem ? p->problem : "invalid YAML", p->context,
                          p->context_mark.line + 1);
        else
                ctx_error(c, mark_loc(p->problem_mark), "syntax error: %s",
                          p->problem ? p->problem : "invalid YAML");
        return -EINVAL;
}

typedef struct TreeBuilder {
        Node *root;
        Node *stack[SUITE_MAX_DEPTH + 1];
        size_t depth;
        bool done; /* one document read */
        /* yaml_tree_stream(): the `tests:` items. */
        bool streaming;
        YamlItemFn item;
        void *userdata;
        size_t first, count;
        size_t stream_depth; /* depth inside the streamed sequence; 0: not in it */
        bool stream_seen;    /* only the first `tests:` is streamed */
        size_t skip;         /* nesting inside an item skipped */
        size_t n_items;
        bool stop; /* past the range: nothing more to give */
} TreeBuilder;

static void builder_done(TreeBuilder *b)
{
        node_free(b->root);
}

static int builder_add(TreeBuilder *b, Node *n)
{
        if (b->depth == 0) {
                node_free(b->root);
                b->root = n;
                return 0;
        }
        int r = node_append(b->stack[b->depth - 1], n);
        if (r < 0)
                node_free(n);
        return r;
}

/* Anchors and aliases let a tiny file describe an enormous tree ("billion
 * laughs"); tags select types we do not have. Neither is needed in a suite. */
static void check_decorations(LoadCtx *c, const yaml_event_t *e, const yaml_char_t *anchor,
                              const yaml_char_t *tag, bool implicit_tag)
{
        if (anchor)
                ctx_error(c, mark_loc(e->start_mark), "anchors (&%s) are not supported",
                          (const char *)anchor);
        if (tag && !implicit_tag)
                ctx_error(c, mark_loc(e->start_mark), "tags (%s) are not supported",
                          (const char *)tag);
}

static int handle_scalar(LoadCtx *c, TreeBuilder *b, const yaml_event_t *e)
{
        check_decorations(c, e, e->data.scalar.anchor, e->data.scalar.tag,
                          e->data.scalar.plain_implicit || e->data.scalar.quoted_implicit);
        Node *n = node_new(NODE_SCALAR, e->start_mark);
        if (!n)
                return -ENOMEM;
        if (e->data.scalar.length > SUITE_MAX_STRING) {
                ctx_error(c, n->loc, "value is longer than %d bytes", SUITE_MAX_STRING);
                n->kind = NODE_INVALID;
        } else if (memchr(e->data.scalar.value, '\0', e->data.scalar.length)) {
                ctx_error(c, n->loc, "value contains a NUL character");
                n->kind = NODE_INVALID;
        } else {
                n->value = strndup((const char *)e->data.scalar.value, e->data.scalar.length);
                if (!n->value) {
                        node_free(n);
                        return -ENOMEM;
                }
                n->len = e->data.scalar.length;
                n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        }
        return builder_add(b, n);
}

static int handle_start(LoadCtx *c, TreeBuilder *b, const yaml_event_t *e, NodeKind kind)
{
        if (kind == NODE_MAPPING)
                check_decorations(c, e, e->data.mapping_start.anchor, e->data.mapping_start.tag,
                                  e->data.mapping_start.implicit);
        else
                check_decorations(c, e, e->data.sequence_start.anchor, e->data.sequence_start.tag,
                                  e->data.sequence_start.implicit);
        if (b->depth >= SUITE_MAX_DEPTH) {
                ctx_error(c, mark_loc(e->start_mark), "nesting is deeper than %d levels",
                          SUITE_MAX_DEPTH);
                return -EINVAL;
        }
        Node *n = node_new(kind, e->start_mark);
        if (!n)
                return -ENOMEM;
        int r = builder_add(b, n);
        if (r < 0)
                return r;
        b->stack[b->depth++] = n;
        return 0;
}

static int handle_event(LoadCtx *c, TreeBuilder *b, const yaml_event_t *e);

static bool is_start(const yaml_event_t *e)
{
        return e->type == YAML_SEQUENCE_START_EVENT || e->type == YAML_MAPPING_START_EVENT;
}

static bool is_end(const yaml_event_t *e)
{
        return e->type == YAML_SEQUENCE_END_EVENT || e->type == YAML_MAPPING_END_EVENT;
}

/* An event inside the streamed sequence: an item is skipped (only
 * counted) or built, handed over and freed. */
static int stream_event(LoadCtx *c, TreeBuilder *b, const yaml_event_t *e)
{
        if (b->skip > 0) {
                /* Unbuilt, but as deep as it would be built: the same error
                 * at the same place, before libyaml's own limits. */
                if (is_start(e) && b->depth + b->skip >= SUITE_MAX_DEPTH) {
                        ctx_error(c, mark_loc(e->start_mark), "nesting is deeper than %d levels",
                                  SUITE_MAX_DEPTH);
                        return -EINVAL;
                }
                if (is_start(e))
                        b->skip++;
                else if (is_end(e) && --b->skip == 0)
                        b->n_items++;
                return 0;
        }
        if (b->depth == b->stream_depth) { /* an item starts */
                size_t i = b->n_items;
                bool wanted =
                        b->item && i >= b->first && (b->count == 0 || i - b->first < b->count);
                if (b->item && b->count > 0 && i - b->first >= b->count && i >= b->first) {
                        b->stop = true;
                        return 0;
                }
                if (!wanted) {
                        if (is_start(e))
                                b->skip = 1;
                        else
                                b->n_items++;
                        return 0;
                }
        }
        c->quiet = false;
        int r = handle_event(c, b, e);
        c->quiet = true;
        if (r < 0)
                return r;
        if (b->depth != b->stream_depth || is_start(e))
                return 0;
        /* The item is complete: the last of the sequence. */
        Node *seq = b->stack[b->stream_depth - 1];
        _cleanup_node_ Node *n = seq->items[--seq->n];
        c->quiet = false;
        r = b->item(c, n, b->n_items++, b->userdata);
        c->quiet = true;
        return r;
}

static int stream_dispatch(LoadCtx *c, TreeBuilder *b, const yaml_event_t *e)
{
        if (!b->streaming)
                return handle_event(c, b, e);
        /* The sequence's own end closes it. */
        if (b->skip > 0 || (b->stream_depth && !(is_end(e) && b->depth == b->stream_depth) &&
                            b->depth >= b->stream_depth))
                return stream_event(c, b, e);
        size_t depth = b->depth;
        c->quiet = b->item != NULL;
        int r = handle_event(c, b, e);
        if (r < 0)
                return r;
        if (b->stream_depth && b->depth < b->stream_depth)
                b->stream_depth = 0;
        /* A value of the root mapping: the first `tests` key's, when it is
         * a sequence, is streamed. */
        if (depth == 1 && !is_end(e) && !b->stream_seen && b->stack[0]->kind == NODE_MAPPING &&
            b->stack[0]->n >= 2 && b->stack[0]->n % 2 == 0) {
                const Node *key = b->stack[0]->items[b->stack[0]->n - 2];
                if (key->kind == NODE_SCALAR && th_streq(key->value, "tests")) {
                        b->stream_seen = true;
                        if (e->type == YAML_SEQUENCE_START_EVENT)
                                b->stream_depth = 2;
                }
        }
        return 0;
}

static int handle_event(LoadCtx *c, TreeBuilder *b, const yaml_event_t *e)
{
        Node *n;

        switch (e->type) {
        case YAML_STREAM_START_EVENT:
        case YAML_STREAM_END_EVENT:
        case YAML_NO_EVENT:
                return 0;
        case YAML_DOCUMENT_START_EVENT:
                if (b->done) {
                        ctx_error(c, mark_loc(e->start_mark),
                                  "a suite file holds one YAML document; found a second");
                        return -EINVAL;
                }
                return 0;
        case YAML_DOCUMENT_END_EVENT:
                b->done = true;
                return 0;
        case YAML_ALIAS_EVENT:
                ctx_error(c, mark_loc(e->start_mark), "aliases (*%s) are not supported",
                          (const char *)e->data.alias.anchor);
                n = node_new(NODE_INVALID, e->start_mark);
                return n ? builder_add(b, n) : -ENOMEM;
        case YAML_SCALAR_EVENT:
                return handle_scalar(c, b, e);
        case YAML_SEQUENCE_START_EVENT:
                return handle_start(c, b, e, NODE_SEQUENCE);
        case YAML_MAPPING_START_EVENT:
                return handle_start(c, b, e, NODE_MAPPING);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                if (b->depth == 0)
                        return -EINVAL; /* libyaml guarantees balance */
                n = b->stack[--b->depth];
                return n->kind == NODE_MAPPING ? mapping_dedup(c, n) : 0;
        default:
                return 0;
        }
}

static int tree_parse(LoadCtx *c, const char *data, size_t size, TreeBuilder *b, Node **ret);

int yaml_tree_parse(LoadCtx *c, const char *data, size_t size, Node **ret)
{
        _cleanup_(builder_done) TreeBuilder b = {};
        return tree_parse(c, data, size, &b, ret);
}

int yaml_tree_stream(LoadCtx *c, const char *data, size_t size, YamlItemFn item, void *userdata,
                     size_t first, size_t count, Node **ret, size_t *ret_n_items)
{
        _cleanup_(builder_done) TreeBuilder b = { .streaming = true,
                                                  .item = item,
                                                  .userdata = userdata,
                                                  .first = first,
                                                  .count = count };
        bool quiet = c->quiet;
        int r = tree_parse(c, data, size, &b, ret);
        c->quiet = quiet;
        *ret_n_items = b.n_items;
        return r;
}

static int tree_parse(LoadCtx *c, const char *data, size_t size, TreeBuilder *b, Node **ret)
{
        yaml_parser_t parser;
        int r = 0;

        *ret = NULL;
        if (size > SUITE_MAX_FILE_SIZE) {
                ctx_error(c, (SuiteLoc){ 1, 1 }, "file is larger than %d bytes",
                          SUITE_MAX_FILE_SIZE);
                return -EFBIG;
        }
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
        for (;;) {
                yaml_event_t e;
                if (!yaml_parser_parse(&parser, &e)) {
                        r = report_parser_error(c, &parser, data, size);
                        break;
                }
                r = stream_dispatch(c, b, &e);
                bool end = e.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&e);
                if (r < 0 || end || b->stop)
                        break;
        }
        yaml_parser_delete(&parser);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b->root);
        return 0;
}

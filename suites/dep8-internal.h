/* suites: the deb822 reader shared by the DEP-8 and debian/control parsers
 * (deb822.c), and the relation parser of dep8.c's expansion. */
#pragma once

#include "dep8.h"
#include "suite-internal.h"

typedef struct Deb822Field {
        char *name;  /* as written */
        char *value; /* continuation lines joined, autopkgtest's un-escaping applied */
        unsigned line;
} Deb822Field;

typedef struct Deb822Stanza {
        Deb822Field *fields;
        size_t n;
        unsigned line; /* of its first field */
} Deb822Stanza;

typedef struct Deb822 {
        Deb822Stanza *stanzas;
        size_t n;
} Deb822;

/* Reads data into stanzas (the rules are in dep8.h), reporting every
 * malformed line through c. Returns 0 (check c->n_errors), -ENOMEM. */
int deb822_parse(LoadCtx *c, const char *data, size_t size, Deb822 *ret);
void deb822_done(Deb822 *d);
/* The field named name (case-insensitive), NULL when absent. */
const Deb822Field *deb822_get(const Deb822Stanza *s, const char *name);

/* Reads a whole file of at most max bytes; errors reported through c as
 * suite_load does. Returns 0, -EFBIG, -EINVAL (not a regular file), -errno. */
int deb822_read_file(LoadCtx *c, const char *path, size_t max, char **ret, size_t *ret_size);

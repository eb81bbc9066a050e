/* runner: how every command that loads suites prints their errors, one
 * FILE:LINE:COLUMN: message per line on stderr. A message quotes the file
 * (an unknown key, a bad value): it is escaped so that no control of the
 * file reaches the terminal. */
#include <string.h>

#include "runner-internal.h"

void runner_print_suite_diags(const char *path, int r, const SuiteDiags *d)
{
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *line = suite_diag_format(&d->items[i]);
                _cleanup_free_ char *safe = line ? th_cescape(line, 0) : NULL;
                fprintf(stderr, "%s\n", safe ? safe : "out of memory");
        }
        if (d->truncated)
                fprintf(stderr, "%s: too many errors, stopped after %d\n", runner_safe(path),
                        SUITE_MAX_DIAGS);
        if (d->n == 0 && r < 0)
                fprintf(stderr, "%s: cannot load: %s\n", runner_safe(path), strerror(-r));
}

/* suites: libFuzzer target for the DEP-8 parsers, the edge that reads a
 * source package's debian/tests/control and debian/control. The input is
 * the tests control, a NUL byte, then the debian/control (without a NUL,
 * the whole input is given to both). Parsed models go through everything
 * the runner does with them: the Depends: expansion for two architectures,
 * the skip reasons, the binaries. Every result is freed, so leaks show up
 * too. Seeds (corpus-dep8/) are the real files of tests/data/dep8 cut to
 * fit -max_len. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dep8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void diags_done(SuiteDiags *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(suite_diag_format(&d->items[i]));
        suite_diags_done(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data;
        const char *nul = memchr(text, '\0', size);
        size_t tests_size = nul ? (size_t)(nul - text) : size;
        const char *control = nul ? nul + 1 : text;
        size_t control_size = nul ? size - tests_size - 1 : size;
        SuiteDiags d1 = {}, d2 = {};
        Dep8Control *t = NULL;
        DebControl *c = NULL;

        (void)dep8_load_buffer("fuzz/tests/control", text, tests_size, &t, &d1);
        (void)deb_control_load_buffer("fuzz/control", control, control_size, &c, &d2);
        static const char *const arches[] = { "amd64", "hurd-i386" };
        for (size_t a = 0; a < 2; a++) {
                char **bins = NULL;
                if (c && deb_control_binaries(c, arches[a], &bins) >= 0) {
                        for (char **p = bins; *p; p++)
                                free(*p);
                        free(bins);
                }
                for (size_t i = 0; t && i < t->n_tests; i++) {
                        char *s = NULL;
                        ThError err = {};
                        if (dep8_expand_depends(&t->tests[i], c, arches[a], &s, &err) >= 0)
                                free(s);
                        s = NULL;
                        if (dep8_test_skip_reason(&t->tests[i], arches[a], &s) > 0)
                                free(s);
                }
        }
        dep8_free(t);
        deb_control_free(c);
        diags_done(&d1);
        diags_done(&d2);
        return 0;
}

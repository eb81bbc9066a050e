/* suites: libFuzzer target for the suite loader, the edge that reads
 * untrusted YAML. Every result is freed, so leaks show up too. */
#include <stdint.h>

#include "suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        SuiteDiags diags = {};
        Suite *s = NULL;

        if (suite_load_buffer("fuzz.yaml", (const char *)data, size, &s, &diags) >= 0) {
                for (size_t i = 0; i < s->n_tests; i++)
                        free(suite_test_id(s, &s->tests[i]));
        }
        for (size_t i = 0; i < diags.n; i++)
                free(suite_diag_format(&diags.items[i]));
        suite_free(s);
        suite_diags_done(&diags);
        return 0;
}

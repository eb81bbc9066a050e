/* suites: string tables for the public enums. */
#include "suite.h"

static const char *const network_names[_SUITE_NETWORK_MAX] = {
        [SUITE_NETWORK_NONE] = "none",
        [SUITE_NETWORK_HOST] = "host",
        [SUITE_NETWORK_VETH] = "veth",
};

const char *suite_network_to_string(SuiteNetwork n)
{
        return n >= 0 && n < _SUITE_NETWORK_MAX ? network_names[n] : NULL;
}

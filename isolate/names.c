/* isolate: string tables for the public enums. */
#include <string.h>

#include "isolate.h"

static const char *const network_names[_ISOLATE_NETWORK_MAX] = {
        [ISOLATE_NETWORK_NONE] = "none",
        [ISOLATE_NETWORK_HOST] = "host",
        [ISOLATE_NETWORK_VETH] = "veth",
};

static const char *const status_names[_ISOLATE_STATUS_MAX] = {
        [ISOLATE_EXITED] = "exited",
        [ISOLATE_SIGNALED] = "signaled",
        [ISOLATE_TIMEOUT] = "timeout",
        [ISOLATE_OOM] = "oom",
        [ISOLATE_SETUP_FAILED] = "setup-failed",
};

const char *isolate_network_to_string(IsolateNetwork n)
{
        return n >= 0 && n < _ISOLATE_NETWORK_MAX ? network_names[n] : NULL;
}

IsolateNetwork isolate_network_from_string(const char *s)
{
        for (int i = 0; s && i < _ISOLATE_NETWORK_MAX; i++)
                if (strcmp(network_names[i], s) == 0)
                        return (IsolateNetwork)i;
        return _ISOLATE_NETWORK_INVALID;
}

const char *isolate_status_to_string(IsolateStatus s)
{
        return s >= 0 && s < _ISOLATE_STATUS_MAX ? status_names[s] : NULL;
}

/* suites: string tables for the public enums. */
#include <string.h>

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

SuiteNetwork suite_network_from_string(const char *s)
{
        for (int i = 0; i < _SUITE_NETWORK_MAX; i++)
                if (s && strcmp(network_names[i], s) == 0)
                        return (SuiteNetwork)i;
        return _SUITE_NETWORK_INVALID;
}

bool suite_package_is_relation(const char *item)
{
        return item && strpbrk(item, " ,|([") != NULL;
}

bool suite_package_valid(const char *item)
{
        const char *allowed = suite_package_is_relation(item) ? "+-.:~=<>()|,[]!/_ " : "+-.:=/_~";
        size_t max = suite_package_is_relation(item) ? SUITE_MAX_RELATION : SUITE_MAX_PACKAGE;

        /* never an option of apt-get (-oX=1), nor empty */
        if (!item || !item[0] || item[0] == '-' || item[0] == ' ' || strlen(item) > max)
                return false;
        for (const char *p = item; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr(allowed, *p)))
                        return false;
        return true;
}

bool suite_install_is_local(const char *item)
{
        size_t n = item ? strlen(item) : 0;
        return n > 4 && strchr(item, '/') && strcmp(item + n - 4, ".deb") == 0;
}

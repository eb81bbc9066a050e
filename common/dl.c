/* common: loading an optional library and its functions on first use. */
#include <dlfcn.h>

#include "common.h"

int th_dlopen_symbols(const char *soname, const char *needed_for, const ThDlSymbol *symbols,
                      size_t n, ThError *err)
{
        void *dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl)
                return th_error_set(err, ELIBACC, "cannot load %s, which %s: %s", soname,
                                    needed_for, dlerror());
        for (size_t i = 0; i < n; i++) {
                *symbols[i].slot = dlsym(dl, symbols[i].name);
                if (*symbols[i].slot)
                        continue;
                for (size_t j = 0; j < i; j++) /* none, rather than some */
                        *symbols[j].slot = NULL;
                dlclose(dl);
                return th_error_set(err, ELIBBAD, "%s has no symbol '%s'", soname, symbols[i].name);
        }
        return 0;
}

/* reports: loading libxml2 on first use (see xml-lib.h for why), and
 * silencing its default error printer while a writer runs. */
#include <dlfcn.h>

#include "xml-lib.h"

#define XML_LIB_DEFINE(name) __typeof__(name) *sym_##name;
XML_LIB_SYMBOLS(XML_LIB_DEFINE)
#undef XML_LIB_DEFINE
xmlFreeFunc sym_xmlFree;

typedef struct XmlSymbol {
        const char *name;
        void **slot;
} XmlSymbol;

#define XML_LIB_ENTRY(name) { #name, (void **)&sym_##name },
static const XmlSymbol symbols[] = { XML_LIB_SYMBOLS(XML_LIB_ENTRY) };
#undef XML_LIB_ENTRY

static bool loaded;

int xml_lib_load_from(const char *soname, ThError *err)
{
        void *found[ELEMENTSOF(symbols)];
        xmlFreeFunc free_func = NULL;

        if (loaded)
                return 0;
        /* RTLD_NODELETE: the library stays for the life of the process, as
         * a linked one would (and the sanitizers can still name its frames
         * at exit). */
        void *dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl)
                return th_error_set(err, ELIBACC,
                                    "cannot load %s, which writing and merging JUnit XML needs "
                                    "(install libxml2): %s",
                                    soname, dlerror());
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                found[i] = dlsym(dl, symbols[i].name);
                if (!found[i]) {
                        dlclose(dl);
                        return th_error_set(err, ELIBBAD, "%s has no symbol '%s'", soname,
                                            symbols[i].name);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++)
                *symbols[i].slot = found[i];
        if (sym_xmlMemGet(&free_func, NULL, NULL, NULL) < 0 || !free_func) {
                for (size_t i = 0; i < ELEMENTSOF(symbols); i++)
                        *symbols[i].slot = NULL;
                dlclose(dl);
                return th_error_set(err, ELIBBAD, "%s: cannot get its free() (xmlMemGet)", soname);
        }
        sym_xmlFree = free_func;
        loaded = true;
        return 0;
}

int xml_lib_load(ThError *err)
{
        return xml_lib_load_from(XML_LIB_SONAME, err);
}

static void xml_silent(void *ctx, const char *msg, ...)
{
        (void)ctx;
        (void)msg;
}

void xml_quiet_begin(XmlQuiet *saved)
{
        saved->func = *sym___xmlGenericError();
        saved->ctx = *sym___xmlGenericErrorContext();
        sym_xmlSetGenericErrorFunc(NULL, xml_silent);
}

void xml_quiet_end(const XmlQuiet *saved)
{
        sym_xmlSetGenericErrorFunc(saved->ctx, saved->func);
}

/* reports: loading libxml2 on first use (see xml-lib.h for why), and
 * silencing its default error printer while a writer runs. */
#include "xml-lib.h"

#define XML_LIB_DEFINE(name) __typeof__(name) *sym_##name;
XML_LIB_SYMBOLS(XML_LIB_DEFINE)
#undef XML_LIB_DEFINE
xmlFreeFunc sym_xmlFree;

#define XML_LIB_ENTRY(name) { #name, (void **)&sym_##name },
static const ThDlSymbol symbols[] = { XML_LIB_SYMBOLS(XML_LIB_ENTRY) };
#undef XML_LIB_ENTRY

static bool loaded;

int xml_lib_load_from(const char *soname, ThError *err)
{
        xmlFreeFunc free_func = NULL;

        if (loaded)
                return 0;
        int r = th_dlopen_symbols(soname, "writing and merging JUnit XML needs (install libxml2)",
                                  symbols, ELEMENTSOF(symbols), err);
        if (r < 0)
                return r;
        if (sym_xmlMemGet(&free_func, NULL, NULL, NULL) < 0 || !free_func) {
                for (size_t i = 0; i < ELEMENTSOF(symbols); i++)
                        *symbols[i].slot = NULL;
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

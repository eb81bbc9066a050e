/* reports: libxml2, loaded with dlopen() by the writers that need it. Only
 * junit.c, merge.c and xml-lib.c include this header. */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "common.h"

/* Every libxml2 function the reports module calls. Each is reached through a
 * pointer sym_<name> of the function's own type (systemd's dlopen pattern):
 * linking libxml2 would make every harness start map it together with ICU and
 * libstdc++, a cost that `harness shell` and each `harness run` worker paid
 * for reports they never write (bench/README.md). */
#define XML_LIB_SYMBOLS(F)              \
        F(__xmlGenericError)            \
        F(__xmlGenericErrorContext)     \
        F(xmlAddChild)                  \
        F(xmlCtxtGetLastError)          \
        F(xmlCtxtReadFd)                \
        F(xmlDocCopyNode)               \
        F(xmlDocDumpFormatMemoryEnc)    \
        F(xmlDocGetRootElement)         \
        F(xmlDocSetRootElement)         \
        F(xmlFreeDoc)                   \
        F(xmlFreeNode)                  \
        F(xmlFreeParserCtxt)            \
        F(xmlFreeTextWriter)            \
        F(xmlGetProp)                   \
        F(xmlMemGet)                    \
        F(xmlNewDoc)                    \
        F(xmlNewDocNode)                \
        F(xmlNewParserCtxt)             \
        F(xmlNewTextWriter)             \
        F(xmlNodeSetContent)            \
        F(xmlOutputBufferClose)         \
        F(xmlOutputBufferCreateFd)      \
        F(xmlSetGenericErrorFunc)       \
        F(xmlSetProp)                   \
        F(xmlStopParser)                \
        F(xmlStrcmp)                    \
        F(xmlTextWriterEndDocument)     \
        F(xmlTextWriterEndElement)      \
        F(xmlTextWriterFlush)           \
        F(xmlTextWriterSetIndent)       \
        F(xmlTextWriterSetIndentString) \
        F(xmlTextWriterStartDocument)   \
        F(xmlTextWriterStartElement)    \
        F(xmlTextWriterWriteAttribute)  \
        F(xmlTextWriterWriteString)     \
        F(xmlUnlinkNode)                \
        F(xmlUnsetProp)

#define XML_LIB_DECLARE(name) extern __typeof__(name) *sym_##name;
XML_LIB_SYMBOLS(XML_LIB_DECLARE)
#undef XML_LIB_DECLARE

/* libxml2's own free(), for the strings and buffers it returns (xmlFree is a
 * macro over a per-thread lookup in Debian's build). */
extern xmlFreeFunc sym_xmlFree;

#define XML_LIB_SONAME "libxml2.so.2"

/* Loads libxml2 once per process and fills every sym_ pointer. Later calls
 * return at once. On failure nothing is filled and err says which library or
 * symbol is missing; a later call tries again. */
int xml_lib_load(ThError *err);
/* The same from another file name: the tests use it to check the errors. */
int xml_lib_load_from(const char *soname, ThError *err);

/* libxml2 prints I/O and writer errors to stderr by default, and reports
 * never print: the JUnit writer and the merge silence it while they run and
 * return their own errors. Only after xml_lib_load() succeeded. */
typedef struct XmlQuiet {
        xmlGenericErrorFunc func;
        void *ctx;
} XmlQuiet;

void xml_quiet_begin(XmlQuiet *saved);
void xml_quiet_end(const XmlQuiet *saved);

/* reports fuzz: xml_sanitize() output written by libxml2's writer, as
 * element text and as an attribute, must parse back with libxml2 and read
 * back exactly as sanitised. This is the JUnit path for untrusted text. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include "report-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const RBuf *text, const RBuf *attr)
{
        xmlBufferPtr buf = xmlBufferCreate();
        xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
        if (!w)
                abort();
        if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
            xmlTextWriterStartElement(w, (const xmlChar *)"a") < 0 ||
            xmlTextWriterWriteAttribute(w, (const xmlChar *)"m", (const xmlChar *)rbuf_str(attr)) <
                    0 ||
            xmlTextWriterWriteString(w, (const xmlChar *)rbuf_str(text)) < 0 ||
            xmlTextWriterEndDocument(w) < 0)
                abort();
        xmlFreeTextWriter(w);

        xmlDocPtr doc = xmlReadMemory(
                (const char *)xmlBufferContent(buf), xmlBufferLength(buf), "fuzz.xml", NULL,
                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
        if (!doc)
                abort(); /* sanitised text must always be well-formed */
        xmlNodePtr root = xmlDocGetRootElement(doc);
        xmlChar *content = xmlNodeGetContent(root);
        xmlChar *m = xmlGetProp(root, (const xmlChar *)"m");
        if (!content || strcmp((const char *)content, rbuf_str(text)) != 0)
                abort();
        if (!m || strcmp((const char *)m, rbuf_str(attr)) != 0)
                abort();
        if (strpbrk((const char *)m, "\t\n\r"))
                abort();
        xmlFree(content);
        xmlFree(m);
        xmlFreeDoc(doc);
        xmlBufferFree(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        RBuf text = {}, attr = {};

        if (xml_sanitize((const char *)data, size, /* one_line= */ false, &text) < 0 ||
            xml_sanitize((const char *)data, size, /* one_line= */ true, &attr) < 0)
                abort();
        if (strlen(rbuf_str(&text)) != text.len)
                abort(); /* no NUL inside */
        roundtrip(&text, &attr);
        rbuf_done(&text);
        rbuf_done(&attr);
        return 0;
}

/* reports tests: libxml2 is loaded with dlopen() only when a JUnit report is
 * written or merged, and a missing or wrong library is a clear error. This
 * executable must not link libxml2 itself (reports/CMakeLists.txt), so that
 * "not mapped yet" can be observed. Check's fork mode gives every test a
 * fresh process, hence a libxml2 not yet loaded. */
#include <check.h>
#include <dlfcn.h>
#include <limits.h>
#include <string.h>

#include "report.h"
#include "report-internal.h"
#include "xml-lib.h"

static bool libxml2_mapped(void)
{
        void *dl = dlopen(XML_LIB_SONAME, RTLD_LAZY | RTLD_NOLOAD);
        if (dl)
                dlclose(dl);
        return dl != NULL;
}

START_TEST(test_xml_lib__missing_library_is_a_clear_error)
{
        ThError err = {};

        ck_assert_int_eq(xml_lib_load_from("libharness-no-such-xml.so.9", &err), -ELIBACC);
        ck_assert_int_eq(err.code, ELIBACC);
        ck_assert_ptr_nonnull(strstr(err.msg, "cannot load libharness-no-such-xml.so.9"));
        ck_assert_ptr_nonnull(strstr(err.msg, "install libxml2"));
        ck_assert_ptr_null(sym_xmlNewDoc);
}
END_TEST

START_TEST(test_xml_lib__library_without_the_symbols_is_refused)
{
        ThError err = {};

        /* libm is mapped by every harness binary and has no libxml2 symbol. */
        ck_assert_int_eq(xml_lib_load_from("libm.so.6", &err), -ELIBBAD);
        ck_assert_ptr_nonnull(strstr(err.msg, "libm.so.6 has no symbol '"));
        /* Nothing half-filled: a later load starts from scratch. */
        ck_assert_ptr_null(sym_xmlNewDoc);
        ck_assert_ptr_null(sym___xmlGenericError);
        ck_assert_int_eq(xml_lib_load(&err), 0);
        ck_assert_ptr_nonnull(sym_xmlNewDoc);
}
END_TEST

START_TEST(test_xml_lib__loads_once_with_every_symbol)
{
        ThError err = {};

        ck_assert(!libxml2_mapped());
        ck_assert_int_eq(xml_lib_load(&err), 0);
        ck_assert(libxml2_mapped());
        ck_assert_ptr_nonnull(sym_xmlTextWriterStartElement);
        ck_assert_ptr_nonnull(sym_xmlCtxtReadFd);
        ck_assert_ptr_nonnull(sym_xmlFree);
        void (*free_before)(void *) = sym_xmlFree;
        ck_assert_int_eq(xml_lib_load(&err), 0);
        ck_assert_ptr_eq(sym_xmlFree, free_before);
}
END_TEST

static char *write_report(const char *dir, const char *name, bool junit)
{
        char *path = th_strdup_printf("%s/%s", dir, name);
        ReportCase c = { .name = (char *)"one", .classname = (char *)"s", .status = REPORT_PASS };
        ReportSuite s = { .name = (char *)"s", .cases = &c, .n_cases = 1 };
        ReportRun run = { .suites = &s, .n_suites = 1 };
        ReportOptions opts = {};
        ThError err = {};

        ck_assert_ptr_nonnull(path);
        int r = junit ? report_write_junit(&run, &opts, path, &err)
                      : report_write_json(&run, &opts, path, &err);
        ck_assert_msg(r == 0, "%s", err.msg);
        return path;
}

START_TEST(test_xml_lib__only_junit_loads_it)
{
        char dir[] = "/tmp/check-xml-lib.XXXXXX";
        char buf[4096] = "";

        ck_assert_ptr_nonnull(mkdtemp(dir));
        _cleanup_free_ char *json = write_report(dir, "r.json", /* junit= */ false);
        ck_assert(!libxml2_mapped());
        _cleanup_free_ char *xml = write_report(dir, "r.xml", /* junit= */ true);
        ck_assert(libxml2_mapped());
        FILE *f = fopen(xml, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
        fclose(f);
        th_rm_rf(dir);
        ck_assert_ptr_nonnull(strstr(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        ck_assert_ptr_nonnull(strstr(buf, "<testcase name=\"one\" classname=\"s\""));
        ck_assert_ptr_nonnull(strstr(buf, "</testsuites>"));
}
END_TEST

static Suite *xml_lib_suite(void)
{
        Suite *s = suite_create("reports-xml-lib");
        TCase *tc = tcase_create("load");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_xml_lib__missing_library_is_a_clear_error);
        tcase_add_test(tc, test_xml_lib__library_without_the_symbols_is_refused);
        tcase_add_test(tc, test_xml_lib__loads_once_with_every_symbol);
        tcase_add_test(tc, test_xml_lib__only_junit_loads_it);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(xml_lib_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

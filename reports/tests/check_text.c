/* reports tests: the pure text layer (UTF-8 decoding, the XML / JSON / TAP /
 * YAML sanitisers, number formatting) and the capped log reader. */
#include <check.h>
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "report-internal.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static char *sanitize_xml(const char *s, size_t len, bool one_line)
{
        RBuf b = {};
        ck_assert_int_eq(xml_sanitize(s, len, one_line, &b), 0);
        return b.data ? b.data : strdup("");
}

static char *escape_json(const char *s, size_t len)
{
        RBuf b = {};
        ck_assert_int_eq(json_escape(s, len, &b), 0);
        return b.data;
}

START_TEST(test_text__utf8_decode_rejects_overlong_and_surrogates)
{
        uint32_t cp;

        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
        ck_assert_uint_eq(cp, 0xE9);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
        ck_assert_uint_eq(cp, 0x1F600);
        /* overlong '/', a UTF-16 surrogate, > U+10FFFF, truncated, stray continuation */
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xc0\xaf", 2, &cp), 1);
        ck_assert_uint_eq(cp, UTF8_REPLACEMENT);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xed\xa0\x80", 3, &cp), 1);
        ck_assert_uint_eq(cp, UTF8_REPLACEMENT);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp), 1);
        ck_assert_uint_eq(cp, UTF8_REPLACEMENT);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe2\x82", 2, &cp), 1);
        ck_assert_uint_eq(cp, UTF8_REPLACEMENT);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\x80", 1, &cp), 1);
        ck_assert_uint_eq(cp, UTF8_REPLACEMENT);
}
END_TEST

START_TEST(test_text__xml_sanitize_replaces_illegal_characters)
{
        _cleanup_free_ char *a = sanitize_xml(S("a\x01"
                                                "b\x1b[1;31mred\x1b[0m\tc\nd\re"),
                                              false);
        ck_assert_str_eq(a, "a\xef\xbf\xbd"
                            "bred\tc\nd\re");

        /* U+FFFE / U+FFFF are valid UTF-8 but not XML characters; NUL too. */
        _cleanup_free_ char *b = sanitize_xml(S("x\xef\xbf\xbey\xef\xbf\xbf"
                                                "z\0!"),
                                              false);
        ck_assert_str_eq(b, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd!");

        /* invalid UTF-8 → U+FFFD, valid multibyte kept */
        _cleanup_free_ char *c = sanitize_xml(S("\xff\xc3\xa9\xf0\x9f\x98\x80\xed\xa0\x80"), false);
        ck_assert_str_eq(c, "\xef\xbf\xbd\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd"
                            "\xef\xbf\xbd");

        /* markup is the writer's job; ]]> stays text */
        _cleanup_free_ char *d = sanitize_xml(S("<a>]]>&"), false);
        ck_assert_str_eq(d, "<a>]]>&");

        _cleanup_free_ char *e = sanitize_xml("", 0, false);
        ck_assert_str_eq(e, "");
}
END_TEST

START_TEST(test_text__xml_sanitize_one_line_folds_and_cuts)
{
        _cleanup_free_ char *a = sanitize_xml(S("one\ntwo\r\tthree"), true);
        ck_assert_str_eq(a, "one two  three");

        char big[REPORT_LINE_MAX * 2];
        memset(big, 'x', sizeof(big));
        _cleanup_free_ char *b = sanitize_xml(big, sizeof(big), true);
        ck_assert_uint_eq(strlen(b), REPORT_LINE_MAX + strlen("…"));
        ck_assert(strstr(b, "…") != NULL);
}
END_TEST

static char *defuse(const char *s, size_t len)
{
        RBuf b = {};
        ck_assert_int_eq(attachment_defuse(s, len, &b), 0);
        return b.data;
}

START_TEST(test_text__attachment_defuse_breaks_every_tag)
{
        _cleanup_free_ char *a = defuse(S("[[ATTACHMENT|/etc/shadow]]\n"));
        ck_assert_str_eq(a, "[ [ATTACHMENT|/etc/shadow]]\n");
        _cleanup_free_ char *b = defuse(S("x[[attachment|a]] [[[AtTaChMeNt|b]]"));
        ck_assert_str_eq(b, "x[ [attachment|a]] [[ [AtTaChMeNt|b]]");
        _cleanup_free_ char *c = defuse(S("[[ATTACHMENT [[ATTACHMENT|"));
        ck_assert_str_eq(c, "[[ATTACHMENT [ [ATTACHMENT|");
        _cleanup_free_ char *d = defuse(S(""));
        ck_assert_str_eq(d, "");
        _cleanup_free_ char *e = defuse(S("[[ATTACHMENT"));
        ck_assert_str_eq(e, "[[ATTACHMENT");

        ck_assert(attachment_path_ok("/out/t/artifacts/var/log/x.log"));
        ck_assert(!attachment_path_ok("/out/a\n[[ATTACHMENT|/etc/shadow"));
        ck_assert(!attachment_path_ok("/out/x]]"));
        ck_assert(!attachment_path_ok("/out/[[x"));
        ck_assert(!attachment_path_ok("/out/\r"));
}
END_TEST

START_TEST(test_text__json_escape_controls_and_invalid_utf8)
{
        _cleanup_free_ char *a = escape_json(S("q\"b\\n\n\t\x01\x1b\x7f\xff\xc3\xa9\xe2\x80\xa8"));
        ck_assert_str_eq(a,
                         "\"q\\\"b\\\\n\\n\\t\\u0001\\u001b\\u007f\xef\xbf\xbd\xc3\xa9\\u2028\"");

        _cleanup_free_ char *b = escape_json(S("nul\0end"));
        ck_assert_str_eq(b, "\"nul\\u0000end\"");
}
END_TEST

START_TEST(test_text__tap_description_escapes_hash_and_backslash)
{
        RBuf b = {};
        ck_assert_int_eq(tap_escape_description(S("a # SKIP b\\c\nd\x01"), &b), 0);
        ck_assert_str_eq(b.data, "a \\# SKIP b\\\\c d\xef\xbf\xbd");
        rbuf_done(&b);
}
END_TEST

START_TEST(test_text__yaml_quote_keeps_one_scalar)
{
        RBuf b = {};
        ck_assert_int_eq(yaml_quote(S("say \"hi\"\n\\x41\x02"), false, &b), 0);
        ck_assert_str_eq(b.data, "\"say \\\"hi\\\"\\n\\\\x41\xef\xbf\xbd\"");
        rbuf_done(&b);
}
END_TEST

START_TEST(test_text__format_seconds_uses_dot_and_clamps)
{
        char buf[REPORT_SECONDS_MAX];

        format_seconds(1.5, buf);
        ck_assert_str_eq(buf, "1.500");
        format_seconds(0.0004, buf);
        ck_assert_str_eq(buf, "0.000");
        format_seconds(12345.6789, buf);
        ck_assert_str_eq(buf, "12345.679");
        format_seconds(-3, buf);
        ck_assert_str_eq(buf, "0.000");
        format_seconds(0.0 / 0.0, buf);
        ck_assert_str_eq(buf, "0.000");
        ck_assert_uint_eq(seconds_to_msec(2.25), 2250);

        char ts[REPORT_TIMESTAMP_MAX];
        format_timestamp(UINT64_C(1700000000) * 1000000, ts);
        ck_assert_str_eq(ts, "2023-11-14T22:13:20");
}
END_TEST

/* main() makes the base directory and removes it after every test ran, in
 * the parent: a failed assertion ends a test's process without teardown. */
static char basedir[] = "/tmp/check-reports-text.XXXXXX";
static char tmpdir[PATH_MAX];

static void tmp_setup(void)
{
        ck_assert_int_ge(th_snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir), 0);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
        th_rm_rf(tmpdir);
}

static char *write_tmp(const char *name, const char *data, size_t len)
{
        char *path = th_strdup_printf("%s/%s", tmpdir, name);
        ck_assert_int_eq(th_write_file_atomic(path, data, len, NULL), 0);
        return path;
}

START_TEST(test_capture__small_file_is_complete)
{
        _cleanup_free_ char *p = write_tmp("small", S("hello\n"));
        Capture c = {};
        RBuf b = {};

        ck_assert_int_eq(capture_read(p, 64, &c, NULL), 0);
        ck_assert_uint_eq(c.omitted, 0);
        ck_assert_int_eq(capture_join(&c, &b), 0);
        ck_assert_str_eq(b.data, "hello\n");
        capture_done(&c);
        rbuf_done(&b);
}
END_TEST

START_TEST(test_capture__large_file_keeps_head_and_tail)
{
        char data[1000];
        memset(data, 'm', sizeof(data));
        memcpy(data, "HEAD", 4);
        memcpy(data + sizeof(data) - 4, "TAIL", 4);
        _cleanup_free_ char *p = write_tmp("large", data, sizeof(data));
        Capture c = {};
        RBuf b = {};

        ck_assert_int_eq(capture_read(p, 100, &c, NULL), 0);
        ck_assert_uint_eq(c.total, 1000);
        ck_assert_uint_eq(c.head_len, 50);
        ck_assert_uint_eq(c.tail_len, 50);
        ck_assert_uint_eq(c.omitted, 900);
        ck_assert_int_eq(capture_join(&c, &b), 0);
        ck_assert(strncmp(b.data, "HEAD", 4) == 0);
        ck_assert(strstr(b.data, "\n[... 900 bytes omitted ...]\n") != NULL);
        ck_assert(strcmp(b.data + b.len - 4, "TAIL") == 0);
        capture_done(&c);
        rbuf_done(&b);
}
END_TEST

START_TEST(test_capture__cuts_on_character_boundaries)
{
        /* 3-byte characters (€) only: any byte cut would split one. */
        char data[3 * 100];
        for (size_t i = 0; i < sizeof(data); i += 3)
                memcpy(data + i, "\xe2\x82\xac", 3);
        _cleanup_free_ char *p = write_tmp("euro", data, sizeof(data));
        Capture c = {};
        RBuf b = {};

        ck_assert_int_eq(capture_read(p, 50, &c, NULL), 0);
        ck_assert_uint_eq(c.head_len % 3, 0);
        ck_assert_uint_eq(c.tail_len % 3, 0);
        ck_assert_uint_eq(c.head_len + c.tail_len + c.omitted, sizeof(data));
        ck_assert_int_eq(capture_join(&c, &b), 0);
        _cleanup_free_ char *s = sanitize_xml(b.data, b.len, false);
        ck_assert(strstr(s, "\xef\xbf\xbd") == NULL);
        capture_done(&c);
        rbuf_done(&b);
}
END_TEST

START_TEST(test_capture__missing_file_is_an_error)
{
        _cleanup_free_ char *p = th_strdup_printf("%s/nope", tmpdir);
        Capture c = {};
        ThError e = {};

        ck_assert_int_eq(capture_read(p, 64, &c, &e), -ENOENT);
        ck_assert(strstr(e.msg, "nope") != NULL);
}
END_TEST

static Suite *text_suite(void)
{
        Suite *s = suite_create("reports-text");
        TCase *tc = tcase_create("text");
        tcase_add_test(tc, test_text__utf8_decode_rejects_overlong_and_surrogates);
        tcase_add_test(tc, test_text__xml_sanitize_replaces_illegal_characters);
        tcase_add_test(tc, test_text__xml_sanitize_one_line_folds_and_cuts);
        tcase_add_test(tc, test_text__json_escape_controls_and_invalid_utf8);
        tcase_add_test(tc, test_text__attachment_defuse_breaks_every_tag);
        tcase_add_test(tc, test_text__tap_description_escapes_hash_and_backslash);
        tcase_add_test(tc, test_text__yaml_quote_keeps_one_scalar);
        tcase_add_test(tc, test_text__format_seconds_uses_dot_and_clamps);
        suite_add_tcase(s, tc);

        tc = tcase_create("capture");
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
        tcase_add_test(tc, test_capture__small_file_is_complete);
        tcase_add_test(tc, test_capture__large_file_keeps_head_and_tail);
        tcase_add_test(tc, test_capture__cuts_on_character_boundaries);
        tcase_add_test(tc, test_capture__missing_file_is_an_error);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        if (!mkdtemp(basedir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        SRunner *sr = srunner_create(text_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        th_rm_rf(basedir);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

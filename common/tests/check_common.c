/* Unit tests for common: errors, duration/size parsing, strv, atomic files,
 * rm -rf. */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"

START_TEST(test_error__set_returns_negative_code)
{
        ThError e = { 0 };
        ck_assert_int_eq(th_error_set(&e, ENOENT, "open '%s'", "x"), -ENOENT);
        ck_assert_int_eq(e.code, ENOENT);
        ck_assert_str_eq(e.msg, "open 'x'");
        ck_assert_int_eq(th_error_set(NULL, EINVAL, "ignored"), -EINVAL);
        ck_assert_int_eq(th_error_set(&e, 0, "zero becomes EIO"), -EIO);
}
END_TEST

START_TEST(test_error__errno_appends_description)
{
        ThError e = { 0 };
        th_error_errno(&e, ENOENT, "open '%s'", "/nope");
        ck_assert_str_eq(e.msg, "open '/nope': No such file or directory");
}
END_TEST

START_TEST(test_error__prefix_keeps_code)
{
        ThError e = { 0 };
        th_error_set(&e, EPERM, "mount");
        ck_assert_int_eq(th_error_prefix(&e, "case '%s'", "a"), -EPERM);
        ck_assert_str_eq(e.msg, "case 'a': mount");
}
END_TEST

START_TEST(test_error__long_message_truncates)
{
        ThError e = { 0 };
        char big[2000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        th_error_set(&e, EIO, "%s", big);
        ck_assert_uint_eq(strlen(e.msg), TH_ERROR_MSG_MAX - 1);
}
END_TEST

START_TEST(test_parse__durations)
{
        uint64_t u;
        ck_assert_int_eq(th_parse_duration("90s", &u), 0);
        ck_assert_uint_eq(u, 90000000);
        ck_assert_int_eq(th_parse_duration("2m", &u), 0);
        ck_assert_uint_eq(u, 120000000);
        ck_assert_int_eq(th_parse_duration("500ms", &u), 0);
        ck_assert_uint_eq(u, 500000);
        ck_assert_int_eq(th_parse_duration("120", &u), 0);
        ck_assert_uint_eq(u, 120000000);
        ck_assert_int_eq(th_parse_duration("1.5s", &u), 0);
        ck_assert_uint_eq(u, 1500000);
        ck_assert_int_eq(th_parse_duration("1h", &u), 0);
        ck_assert_uint_eq(u, 3600000000ull);
        ck_assert_int_eq(th_parse_duration("", &u), -EINVAL);
        ck_assert_int_eq(th_parse_duration("5 s", &u), -EINVAL);
        ck_assert_int_eq(th_parse_duration("-1", &u), -EINVAL);
        ck_assert_int_eq(th_parse_duration("10x", &u), -EINVAL);
        ck_assert_int_eq(th_parse_duration("1e400", &u), -EINVAL);
}
END_TEST

START_TEST(test_parse__sizes)
{
        uint64_t b;
        ck_assert_int_eq(th_parse_size("512M", &b), 0);
        ck_assert_uint_eq(b, 512ull << 20);
        ck_assert_int_eq(th_parse_size("2G", &b), 0);
        ck_assert_uint_eq(b, 2ull << 30);
        ck_assert_int_eq(th_parse_size("4096", &b), 0);
        ck_assert_uint_eq(b, 4096);
        ck_assert_int_eq(th_parse_size("64K", &b), 0);
        ck_assert_uint_eq(b, 65536);
        ck_assert_int_eq(th_parse_size("12Q", &b), -EINVAL);
        ck_assert_int_eq(th_parse_size("M", &b), -EINVAL);
}
END_TEST

START_TEST(test_strv__push_and_free)
{
        _cleanup_strv_ char **v = NULL;
        ck_assert_int_eq(th_strv_push(&v, "a"), 0);
        ck_assert_int_eq(th_strv_push(&v, "b"), 0);
        ck_assert_uint_eq(th_strv_length(v), 2);
        ck_assert_str_eq(v[1], "b");
        ck_assert_ptr_null(v[2]);
}
END_TEST

START_TEST(test_snprintf__reports_truncation)
{
        char buf[4];
        ck_assert_int_eq(th_snprintf(buf, sizeof(buf), "abc"), 3);
        ck_assert_int_eq(th_snprintf(buf, sizeof(buf), "abcd"), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_files__atomic_write_and_rm_rf)
{
        char dir[] = "/tmp/th-common-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        _cleanup_free_ char *f = th_strdup_printf("%s/a/b/c", dir);
        _cleanup_free_ char *sub = th_strdup_printf("%s/a/b", dir);
        ck_assert_int_eq(th_mkdir_p(sub, 0755), 0);
        ThError e = { 0 };
        ck_assert_int_eq(th_write_file_atomic(f, "hello", 5, &e), 0);
        char buf[16] = { 0 };
        _cleanup_close_ int fd = open(f, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read(fd, buf, sizeof(buf)), 5);
        ck_assert_str_eq(buf, "hello");

        /* a symlink inside must be removed, never followed */
        char outside[] = "/tmp/th-common-out-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(outside));
        _cleanup_free_ char *keep = th_strdup_printf("%s/keep", outside);
        ck_assert_int_eq(th_write_file_atomic(keep, "x", 1, &e), 0);
        _cleanup_free_ char *link = th_strdup_printf("%s/a/link", dir);
        ck_assert_int_eq(symlink(outside, link), 0);

        ck_assert_int_eq(th_rm_rf(dir), 0);
        struct stat st;
        ck_assert_int_eq(lstat(dir, &st), -1);
        ck_assert_int_eq(lstat(keep, &st), 0);
        ck_assert_int_eq(th_rm_rf(outside), 0);
        ck_assert_int_eq(th_rm_rf("/tmp/th-common-does-not-exist"), 0);
}
END_TEST

/* A tree's absolute symlink and ".." stay inside the tree, as in a
 * container; /proc magic links are refused. */
START_TEST(test_files__open_in_root_stays_inside)
{
        char dir[] = "/tmp/th-common-root-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        _cleanup_free_ char *etc = th_strdup_printf("%s/etc", dir);
        _cleanup_free_ char *marker = th_strdup_printf("%s/etc/marker", dir);
        _cleanup_free_ char *abs = th_strdup_printf("%s/abs", dir);
        _cleanup_free_ char *up = th_strdup_printf("%s/up", dir);
        ThError e = { 0 };
        ck_assert_int_eq(th_mkdir_p(etc, 0755), 0);
        ck_assert_int_eq(th_write_file_atomic(marker, "in", 2, &e), 0);
        ck_assert_int_eq(symlink("/etc", abs), 0);
        ck_assert_int_eq(symlink("../../../etc", up), 0);
        _cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(root, 0);
        const char *inside[] = { "/abs/marker", "up/marker", "//etc/marker" };
        for (size_t i = 0; i < ELEMENTSOF(inside); i++) {
                int fd = th_open_in_root(root, inside[i], O_RDONLY);
                ck_assert_msg(fd >= 0, "%s: %d", inside[i], fd);
                char buf[4] = { 0 };
                ck_assert_int_eq(read(fd, buf, sizeof(buf)), 2);
                ck_assert_str_eq(buf, "in");
                ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
                close(fd);
        }
        /* The host's /etc/passwd is not the tree's. */
        ck_assert_int_eq(th_open_in_root(root, "/abs/passwd", O_RDONLY), -ENOENT);
        int self = open("/proc/self/root", O_PATH | O_CLOEXEC);
        ck_assert_int_ge(self, 0);
        ck_assert_int_lt(th_open_in_root(self, "proc/self/root/etc", O_PATH), 0);
        close(self);
        ck_assert_int_eq(th_rm_rf(dir), 0);
}
END_TEST

START_TEST(test_dlopen_symbols__all_or_none_with_clear_errors)
{
        void *cos_fn = NULL, *sin_fn = NULL;
        ThError e = { 0 };
        const ThDlSymbol good[] = { { "cos", &cos_fn }, { "sin", &sin_fn } };
        const ThDlSymbol bad[] = { { "cos", &cos_fn }, { "th_no_such_function", &sin_fn } };

        ck_assert_int_eq(th_dlopen_symbols("libth-no-such.so.7", "testing needs", good, 2, &e),
                         -ELIBACC);
        ck_assert_ptr_nonnull(
                strstr(e.msg, "cannot load libth-no-such.so.7, which testing needs: "));
        ck_assert_ptr_null(cos_fn);

        /* A missing symbol leaves no slot filled, not even the ones before. */
        ck_assert_int_eq(th_dlopen_symbols("libm.so.6", "testing needs", bad, 2, &e), -ELIBBAD);
        ck_assert_str_eq(e.msg, "libm.so.6 has no symbol 'th_no_such_function'");
        ck_assert_ptr_null(cos_fn);
        ck_assert_ptr_null(sin_fn);

        ck_assert_int_eq(th_dlopen_symbols("libm.so.6", "testing needs", good, 2, &e), 0);
        ck_assert_ptr_nonnull(cos_fn);
        ck_assert_ptr_nonnull(sin_fn);
}
END_TEST

START_TEST(test_sha256__known_answers)
{
        static const struct {
                const char *in;
                const char *hex;
        } v[] = {
                { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        };
        char hex[65];
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                ThSha256 c;
                th_sha256_init(&c);
                th_sha256_update(&c, v[i].in, strlen(v[i].in));
                th_sha256_final_hex(&c, hex);
                ck_assert_str_eq(hex, v[i].hex);
        }
        /* a million 'a', through a file in odd-sized pieces and from its fd */
        char path[] = "/tmp/th-check-sha256-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        unlink(path);
        char a[1000];
        memset(a, 'a', sizeof(a));
        ThSha256 c;
        th_sha256_init(&c);
        for (int i = 0; i < 1000; i++) {
                ck_assert_int_eq(write(fd, a, sizeof(a)), (ssize_t)sizeof(a));
                th_sha256_update(&c, a, 1 + (size_t)(i % 7));
                th_sha256_update(&c, a, sizeof(a) - 1 - (size_t)(i % 7));
        }
        th_sha256_final_hex(&c, hex);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        memset(hex, 0, sizeof(hex));
        ck_assert_int_eq(th_sha256_fd(fd, hex), 0);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        close(fd);
}
END_TEST

START_TEST(test_cescape__controls_escaped_and_round_trip)
{
        char buf[256];
        th_cescape_buf("a\033]0;x\007b\nc\\d\xc2\x9b[2J\x7f\xc3\xa9", buf, sizeof(buf), 0);
        ck_assert_str_eq(buf, "a\\x1b]0;x\\x07b\\nc\\d\\u{009b}[2J\\x7f\xc3\xa9");
        /* C1 as a lone byte, C1 and bidirectional controls in UTF-8, broken
         * UTF-8 (overlong, truncated, surrogate); printable UTF-8 stays. */
        th_cescape_buf("\x9b"
                       "2J|\xc2\x9d"
                       "0;T\xc2\x9c|\xe2\x80\xae|\xe2\x81\xa6|\xe2\x80\x8e|"
                       "\xd8\x9c|\xc0\x9b|\xe2\x80|\xed\xa0\x80|\xe2\x82\xac\xf0\x9f\x98\x80",
                       buf, sizeof(buf), 0);
        ck_assert_str_eq(
                buf,
                "\\x9b2J|\\u{009d}0;T\\u{009c}|\\u{202e}|\\u{2066}|\\u{200e}|"
                "\\u{061c}|\\xc0\\x9b|\\xe2\\x80|\\xed\\xa0\\x80|\xe2\x82\xac\xf0\x9f\x98\x80");
        for (const char *p = buf; *p; p++)
                ck_assert((unsigned char)*p >= 0x20 && *p != 0x7f);
        /* The line and paragraph separators end a line for YAML and
         * Python's splitlines(): a summary line must stay one line. */
        th_cescape_buf("t SKIP x\xe2\x80\xa8"
                       "forged\xc2\xa0PASS\xe2\x80\xa9y\xc2\x85z",
                       buf, sizeof(buf), 0);
        ck_assert_str_eq(buf, "t SKIP x\\u{2028}forged\xc2\xa0PASS\\u{2029}y\\u{0085}z");
        /* Cut at an escape boundary, never in the middle of one. */
        th_cescape_buf("ab\033", buf, 6, 0);
        ck_assert_str_eq(buf, "ab");

        const char *hostile = "x=y\nleader=1\r\\n\\\033\t\xc2\x85\x9b\xe2\x80\xae\\u{41}"
                              "end";
        _cleanup_free_ char *e = th_cescape(hostile, TH_ESCAPE_BACKSLASH);
        ck_assert_ptr_nonnull(e);
        ck_assert_ptr_null(strchr(e, '\n'));
        _cleanup_free_ char *back = NULL;
        ck_assert_int_eq(th_cunescape(e, &back), 0);
        ck_assert_str_eq(back, hostile);

        char *bad = NULL;
        ck_assert_int_eq(th_cunescape("a\\", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\x0", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\x00", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\q", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\u{}", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\u{0}", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\u{d800}", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\u{110000}", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\u{-1}", &bad), -EINVAL);
        ck_assert_int_eq(th_cunescape("a\\u{202e", &bad), -EINVAL);
        ck_assert_ptr_null(bad);
        ck_assert_int_eq(th_cunescape("\\u{202e}\\u{9b}\\u{1f600}", &bad), 0);
        ck_assert_str_eq(bad, "\xe2\x80\xae\xc2\x9b\xf0\x9f\x98\x80");
        free(bad);
}
END_TEST

/* FIPS 180-4's examples, the empty string, and a message fed in pieces
 * across the block and padding boundaries. */
START_TEST(test_sha256__known_digests)
{
        static const struct {
                const char *in, *hex;
        } v[] = {
                { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        };
        char hex[65];
        ThSha256 s;
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                th_sha256_init(&s);
                for (const char *p = v[i].in; *p; p++)
                        th_sha256_update(&s, p, 1);
                th_sha256_final_hex(&s, hex);
                ck_assert_str_eq(hex, v[i].hex);
        }
        /* a million 'a's */
        char a[1000];
        memset(a, 'a', sizeof(a));
        th_sha256_init(&s);
        for (int i = 0; i < 1000; i++)
                th_sha256_update(&s, a, sizeof(a));
        th_sha256_final_hex(&s, hex);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

static Suite *common_suite(void)
{
        Suite *s = suite_create("common");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_error__set_returns_negative_code);
        tcase_add_test(tc, test_error__errno_appends_description);
        tcase_add_test(tc, test_error__prefix_keeps_code);
        tcase_add_test(tc, test_error__long_message_truncates);
        tcase_add_test(tc, test_parse__durations);
        tcase_add_test(tc, test_parse__sizes);
        tcase_add_test(tc, test_strv__push_and_free);
        tcase_add_test(tc, test_snprintf__reports_truncation);
        tcase_add_test(tc, test_files__atomic_write_and_rm_rf);
        tcase_add_test(tc, test_files__open_in_root_stays_inside);
        tcase_add_test(tc, test_dlopen_symbols__all_or_none_with_clear_errors);
        tcase_add_test(tc, test_cescape__controls_escaped_and_round_trip);
        tcase_add_test(tc, test_sha256__known_digests);
        tcase_add_test(tc, test_sha256__known_answers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(common_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

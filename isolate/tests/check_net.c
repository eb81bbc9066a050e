/* isolate: unit tests of the pure network parts — --port parsing, the
 * link-local pool's arithmetic — and of skipping systemd-machined when it
 * does not run. */
#include <check.h>
#include <string.h>

#include "isolate-internal.h"

START_TEST(test_port_parse__host_and_container)
{
        IsolatePort p;
        ck_assert_int_eq(isolate_port_parse("8080:80", &p), 0);
        ck_assert_uint_eq(p.host, 8080);
        ck_assert_uint_eq(p.container, 80);
        ck_assert_int_eq(isolate_port_parse("443", &p), 0);
        ck_assert_uint_eq(p.host, 443);
        ck_assert_uint_eq(p.container, 443);
        ck_assert_int_eq(isolate_port_parse("65535:1", &p), 0);
}
END_TEST

START_TEST(test_port_parse__refuses_bad_input)
{
        const char *bad[] = { "",     ":",     "80:",   ":80",      "0:80",     "80:0",  "65536:80",
                              "a:80", "80:8o", "-1:80", "80:80:80", "123456:1", " 80:80" };
        IsolatePort p = { 7, 7 };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(isolate_port_parse(bad[i], &p) == -EINVAL, "'%s' accepted", bad[i]);
        ck_assert_int_eq(isolate_port_parse(NULL, &p), -EINVAL);
        ck_assert_uint_eq(p.host, 7); /* untouched on failure */
}
END_TEST

static void addr_eq(uint32_t a, const char *want)
{
        char buf[32];
        ck_assert_int_eq(isolate_net_format_addr(a, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, want);
}

START_TEST(test_net_slot__addresses_are_link_local_30s)
{
        uint32_t h, c;
        ck_assert_int_eq(isolate_net_slot_addrs(0, &h, &c), 0);
        addr_eq(h, "169.254.1.1");
        addr_eq(c, "169.254.1.2");
        ck_assert_int_eq(isolate_net_slot_addrs(63, &h, &c), 0);
        addr_eq(h, "169.254.1.253");
        ck_assert_int_eq(isolate_net_slot_addrs(64, &h, &c), 0);
        addr_eq(h, "169.254.2.1");
        ck_assert_int_eq(isolate_net_slot_addrs(ISOLATE_NET_SLOTS - 1, &h, &c), 0);
        addr_eq(c, "169.254.127.254");
        ck_assert_int_eq(isolate_net_slot_addrs(ISOLATE_NET_SLOTS, &h, &c), -ERANGE);
        /* No two slots share a /30. */
        for (unsigned i = 1; i < ISOLATE_NET_SLOTS; i++) {
                uint32_t h2, c2;
                isolate_net_slot_addrs(i - 1, &h, &c);
                isolate_net_slot_addrs(i, &h2, &c2);
                ck_assert_uint_eq(h2 & ~3u, (h & ~3u) + 4);
        }
}
END_TEST

START_TEST(test_net_group__addresses_never_meet_the_30s)
{
        uint32_t b, m, h, c;
        ck_assert_int_eq(isolate_net_group_addrs(0, 0, &b, &m), 0);
        addr_eq(b, "169.254.128.1");
        addr_eq(m, "169.254.128.2");
        ck_assert_int_eq(isolate_net_group_addrs(ISOLATE_NET_GROUPS - 1,
                                                 ISOLATE_NET_GROUP_MEMBERS - 1, &b, &m),
                         0);
        addr_eq(b, "169.254.254.1");
        addr_eq(m, "169.254.254.254");
        ck_assert_int_eq(isolate_net_group_addrs(ISOLATE_NET_GROUPS, 0, &b, &m), -ERANGE);
        ck_assert_int_eq(isolate_net_group_addrs(0, ISOLATE_NET_GROUP_MEMBERS, &b, &m), -ERANGE);
        isolate_net_slot_addrs(ISOLATE_NET_SLOTS - 1, &h, &c);
        isolate_net_group_addrs(0, 0, &b, &m);
        ck_assert_uint_lt(c, b & 0xffffff00u);
}
END_TEST

START_TEST(test_machined__skipped_when_systemd_is_not_running)
{
        ck_assert(!isolate_machined_available("/nonexistent/run/systemd/system"));
        ck_assert(!isolate_machined_available(NULL));
        ck_assert(!isolate_machined_available("/dev/null")); /* not a directory */
        ck_assert(isolate_machined_available("/"));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("isolate_net");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, test_port_parse__host_and_container);
        tcase_add_test(tc, test_port_parse__refuses_bad_input);
        tcase_add_test(tc, test_net_slot__addresses_are_link_local_30s);
        tcase_add_test(tc, test_net_group__addresses_never_meet_the_30s);
        tcase_add_test(tc, test_machined__skipped_when_systemd_is_not_running);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

/* isolate: the device allow table and the cgroup v2 device program built
 * from it (pure). A small interpreter for the few instructions the generator
 * emits runs the program on device requests, so its verdicts are checked
 * without the kernel. */
#include <check.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>

#include "isolate-internal.h"

#define RWM (DEVICE_ACCESS_READ | DEVICE_ACCESS_WRITE | DEVICE_ACCESS_MKNOD)

/* Runs prog on one request; aborts the test on an instruction the
 * generator must not emit, a backward jump or a jump out of the program. */
static int run(const struct bpf_insn *p, size_t n, int type, unsigned access, unsigned major,
               unsigned minor)
{
        const struct bpf_cgroup_dev_ctx ctx = {
                .access_type = (access << 16) | (unsigned)type,
                .major = major,
                .minor = minor,
        };
        uint64_t reg[11] = {};
        bool ctx_in_r1 = true;
        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];
                uint64_t src = BPF_SRC(i->code) == BPF_X ? reg[i->src_reg] : (uint64_t)i->imm;
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W: {
                        ck_assert_msg(ctx_in_r1 && i->src_reg == 1, "pc %zu: load not from ctx",
                                      pc);
                        ck_assert_int_le(i->off + 4, sizeof(ctx));
                        uint32_t v;
                        memcpy(&v, (const char *)&ctx + i->off, 4);
                        reg[i->dst_reg] = v;
                        break;
                }
                case BPF_ALU | BPF_AND | BPF_K:
                        reg[i->dst_reg] = (uint32_t)(reg[i->dst_reg] & (uint32_t)i->imm);
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] >> i->imm;
                        break;
                case BPF_ALU | BPF_MOV | BPF_X:
                        reg[i->dst_reg] = (uint32_t)reg[i->src_reg];
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        reg[i->dst_reg] = (uint64_t)(int64_t)i->imm;
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                case BPF_JMP | BPF_JNE | BPF_X:
                        ck_assert_msg(i->off >= 0, "pc %zu: backward jump", pc);
                        ck_assert_msg(pc + 1 + (size_t)i->off < n, "pc %zu: jump out", pc);
                        if (reg[i->dst_reg] != (i->code & BPF_X ? src : (uint64_t)(uint32_t)i->imm))
                                pc += (size_t)i->off;
                        break;
                case BPF_JMP | BPF_EXIT:
                        return (int)reg[0];
                default:
                        ck_abort_msg("pc %zu: unexpected opcode 0x%02x", pc, i->code);
                }
                if (i->dst_reg == 1)
                        ctx_in_r1 = false;
        }
        ck_abort_msg("fell off the end of the program");
        return -1;
}

static struct bpf_insn *build(const DeviceRule *rules, size_t n_rules, size_t *ret_n)
{
        struct bpf_insn *p = NULL;
        ThError err = {};
        int r = isolate_devices_program(rules, n_rules, &p, ret_n, &err);
        ck_assert_msg(r == 0, "%d %s", r, err.msg);
        return p;
}

static int table(int type, unsigned access, unsigned major, unsigned minor)
{
        size_t n;
        struct bpf_insn *p = build(isolate_devices_allow, isolate_devices_n_allow, &n);
        int v = run(p, n, type, access, major, minor);
        free(p);
        return v;
}

START_TEST(test_devices_program__prologue_reads_the_context)
{
        size_t n;
        struct bpf_insn *p = build(isolate_devices_allow, isolate_devices_n_allow, &n);
        ck_assert_uint_ge(n, 8);
        /* type = access_type & 0xffff; access = access_type >> 16; major; minor */
        ck_assert_int_eq(p[0].code, BPF_LDX | BPF_MEM | BPF_W);
        ck_assert_int_eq(p[0].off, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        ck_assert_int_eq(p[1].code, BPF_ALU | BPF_AND | BPF_K);
        ck_assert_int_eq(p[1].imm, 0xffff);
        ck_assert_int_eq(p[2].off, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        ck_assert_int_eq(p[3].code, BPF_ALU | BPF_RSH | BPF_K);
        ck_assert_int_eq(p[3].imm, 16);
        ck_assert_int_eq(p[4].code, BPF_LDX | BPF_MEM | BPF_W);
        ck_assert_int_eq(p[4].off, offsetof(struct bpf_cgroup_dev_ctx, major));
        ck_assert_int_eq(p[5].code, BPF_LDX | BPF_MEM | BPF_W);
        ck_assert_int_eq(p[5].off, offsetof(struct bpf_cgroup_dev_ctx, minor));
        free(p);
}
END_TEST

START_TEST(test_devices_program__one_allow_per_rule_then_default_deny)
{
        size_t n;
        struct bpf_insn *p = build(isolate_devices_allow, isolate_devices_n_allow, &n);
        size_t allows = 0;
        for (size_t i = 0; i + 1 < n; i++)
                if (p[i].code == (BPF_ALU64 | BPF_MOV | BPF_K) && p[i].dst_reg == 0 &&
                    p[i].imm == 1 && p[i + 1].code == (BPF_JMP | BPF_EXIT))
                        allows++;
        ck_assert_uint_eq(allows, isolate_devices_n_allow);
        /* The last two: r0 = 0; exit. */
        ck_assert_int_eq(p[n - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
        ck_assert_int_eq(p[n - 2].dst_reg, 0);
        ck_assert_int_eq(p[n - 2].imm, 0);
        ck_assert_int_eq(p[n - 1].code, BPF_JMP | BPF_EXIT);
        /* Each rule checks the type: one JNE on R2 per rule. */
        size_t type_checks = 0;
        for (size_t i = 6; i < n; i++)
                if (p[i].code == (BPF_JMP | BPF_JNE | BPF_K) && p[i].dst_reg == 2)
                        type_checks++;
        ck_assert_uint_eq(type_checks, isolate_devices_n_allow);
        free(p);
}
END_TEST

START_TEST(test_devices_program__allows_the_table)
{
        for (size_t i = 0; i < isolate_devices_n_allow; i++) {
                const DeviceRule *r = &isolate_devices_allow[i];
                int type = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
                unsigned minor = r->minor < 0 ? 4242 : (unsigned)r->minor;
                for (unsigned acc = 1; acc <= RWM; acc++)
                        ck_assert_msg(table(type, acc, r->major, minor) == 1, "%c %u:%u acc %u",
                                      r->type, r->major, minor, acc);
        }
        /* The pty wildcard. */
        ck_assert_int_eq(table(BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 136, 0), 1);
        ck_assert_int_eq(table(BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_WRITE, 136, 1048575), 1);
}
END_TEST

START_TEST(test_devices_program__denies_block_devices_and_the_rest)
{
        const unsigned accs[] = { BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE,
                                  RWM };
        /* sda, nvme0n1, loop0, vda, dm-0, and block twins of allowed char devices */
        const unsigned blocks[][2] = { { 8, 0 },   { 259, 0 }, { 7, 0 }, { 253, 0 },
                                       { 254, 0 }, { 1, 3 },   { 1, 5 }, { 136, 0 } };
        for (size_t a = 0; a < ELEMENTSOF(accs); a++) {
                for (size_t b = 0; b < ELEMENTSOF(blocks); b++)
                        ck_assert_msg(table(BPF_DEVCG_DEV_BLOCK, accs[a], blocks[b][0],
                                            blocks[b][1]) == 0,
                                      "b %u:%u", blocks[b][0], blocks[b][1]);
                /* mem, kmem, port, kmsg, tty1, tty63, a pty master range, misc */
                const unsigned chars[][2] = { { 1, 1 }, { 1, 2 },  { 1, 4 },   { 1, 11 },
                                              { 4, 1 }, { 4, 63 }, { 137, 0 }, { 10, 200 },
                                              { 5, 3 }, { 0, 3 } };
                for (size_t c = 0; c < ELEMENTSOF(chars); c++)
                        ck_assert_msg(
                                table(BPF_DEVCG_DEV_CHAR, accs[a], chars[c][0], chars[c][1]) == 0,
                                "c %u:%u", chars[c][0], chars[c][1]);
        }
}
END_TEST

START_TEST(test_devices_program__partial_access_is_a_subset_check)
{
        const DeviceRule rules[] = { { 'b', 7, 0, DEVICE_ACCESS_READ },
                                     { 'c', 10, -1, DEVICE_ACCESS_READ | DEVICE_ACCESS_WRITE } };
        size_t n;
        struct bpf_insn *p = build(rules, ELEMENTSOF(rules), &n);
        ck_assert_int_eq(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ, 7, 0), 1);
        ck_assert_int_eq(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_WRITE, 7, 0), 0);
        ck_assert_int_eq(
                run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE, 7, 0), 0);
        ck_assert_int_eq(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_MKNOD, 7, 0), 0);
        ck_assert_int_eq(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ, 7, 1), 0);
        ck_assert_int_eq(
                run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE, 10, 9), 1);
        ck_assert_int_eq(run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_MKNOD, 10, 9), 0);
        free(p);
}
END_TEST

START_TEST(test_devices_program__empty_table_denies_everything)
{
        size_t n;
        struct bpf_insn *p = build(NULL, 0, &n);
        ck_assert_uint_eq(n, 8);
        ck_assert_int_eq(run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 3), 0);
        free(p);
}
END_TEST

START_TEST(test_devices_program__rejects_bad_rules)
{
        const DeviceRule bad[] = {
                { 'a', 1, 3, RWM },                       /* no "all devices" wildcard */
                { 'c', 1, 3, 0 },                         /* no access */
                { 'c', 1, 3, 8 },                         /* unknown access bit */
                { 'b', 8, -2, RWM },                      /* minor below the wildcard */
                { 'c', (unsigned)INT32_MAX + 1, 0, RWM }, /* major beyond an immediate */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct bpf_insn *p = NULL;
                size_t n = 0;
                ThError err = {};
                ck_assert_int_eq(isolate_devices_program(&bad[i], 1, &p, &n, &err), -EINVAL);
                ck_assert_ptr_null(p);
                ck_assert_msg(strstr(err.msg, "device rule"), "%s", err.msg);
        }
}
END_TEST

START_TEST(test_device_rule_format__v1_lines_from_the_table)
{
        /* Exactly what devices.allow got before the table was shared. */
        const char *want[] = { "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",  "c 1:9 rwm",
                               "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm" };
        ck_assert_uint_eq(isolate_devices_n_allow, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                char buf[64];
                ck_assert_int_ge(
                        isolate_device_rule_format(&isolate_devices_allow[i], buf, sizeof(buf)), 0);
                ck_assert_str_eq(buf, want[i]);
        }
        char buf[64];
        const DeviceRule r = { 'b', 7, 0, DEVICE_ACCESS_READ | DEVICE_ACCESS_MKNOD };
        ck_assert_int_ge(isolate_device_rule_format(&r, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "b 7:0 rm");
        const DeviceRule bad = { 'x', 7, 0, RWM };
        ck_assert_int_eq(isolate_device_rule_format(&bad, buf, sizeof(buf)), -EINVAL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("isolate_devices");
        TCase *tc = tcase_create("program");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_devices_program__prologue_reads_the_context);
        tcase_add_test(tc, test_devices_program__one_allow_per_rule_then_default_deny);
        tcase_add_test(tc, test_devices_program__allows_the_table);
        tcase_add_test(tc, test_devices_program__denies_block_devices_and_the_rest);
        tcase_add_test(tc, test_devices_program__partial_access_is_a_subset_check);
        tcase_add_test(tc, test_devices_program__empty_table_denies_everything);
        tcase_add_test(tc, test_devices_program__rejects_bad_rules);
        tcase_add_test(tc, test_device_rule_format__v1_lines_from_the_table);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}

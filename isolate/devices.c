/* isolate: the device policy of containers without private users, as one
 * table: the v1 devices.allow lines and the cgroup v2 device program (raw
 * BPF, as systemd's bpf-devices.c and crun build theirs) both come from it. */
#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "isolate-internal.h"

_Static_assert((int)DEVICE_ACCESS_MKNOD == (int)BPF_DEVCG_ACC_MKNOD,
               "access bits are the kernel's");
_Static_assert((int)DEVICE_ACCESS_READ == (int)BPF_DEVCG_ACC_READ, "access bits are the kernel's");
_Static_assert((int)DEVICE_ACCESS_WRITE == (int)BPF_DEVCG_ACC_WRITE,
               "access bits are the kernel's");

#define RWM (DEVICE_ACCESS_READ | DEVICE_ACCESS_WRITE | DEVICE_ACCESS_MKNOD)

/* null, zero, full, random, urandom, tty, console, ptmx and the ptys;
 * everything else, above all every block device, is denied. */
const DeviceRule isolate_devices_allow[] = {
        { 'c', 1, 3, RWM }, { 'c', 1, 5, RWM }, { 'c', 1, 7, RWM },
        { 'c', 1, 8, RWM }, { 'c', 1, 9, RWM }, { 'c', 5, 0, RWM },
        { 'c', 5, 1, RWM }, { 'c', 5, 2, RWM }, { 'c', 136, -1, RWM },
};
const size_t isolate_devices_n_allow = ELEMENTSOF(isolate_devices_allow);

static int rule_check(const DeviceRule *r, ThError *err)
{
        if (r->type != 'c' && r->type != 'b')
                return th_error_set(err, EINVAL, "device rule: type '%c' is not 'c' or 'b'",
                                    r->type ? r->type : '?');
        if (r->access == 0 || (r->access & ~(unsigned)RWM))
                return th_error_set(err, EINVAL, "device rule %c %u: access 0x%x is not rwm",
                                    r->type, r->major, r->access);
        if (r->major > INT32_MAX || r->minor < -1)
                return th_error_set(err, EINVAL, "device rule %c %u:%d: out of range", r->type,
                                    r->major, r->minor);
        return 0;
}

int isolate_device_rule_format(const DeviceRule *r, char *buf, size_t size)
{
        int q = rule_check(r, NULL);
        if (q < 0)
                return q;
        char minor[16], acc[4] = {};
        size_t n = 0;
        if (r->access & DEVICE_ACCESS_READ)
                acc[n++] = 'r';
        if (r->access & DEVICE_ACCESS_WRITE)
                acc[n++] = 'w';
        if (r->access & DEVICE_ACCESS_MKNOD)
                acc[n++] = 'm';
        if (r->minor < 0)
                th_snprintf(minor, sizeof(minor), "*");
        else
                th_snprintf(minor, sizeof(minor), "%d", r->minor);
        return th_snprintf(buf, size, "%c %u:%s %s", r->type, r->major, minor, acc);
}

/* ---- program generation (pure) ------------------------------------------ */

/* Registers after the prologue: R2 device type, R3 access, R4 major, R5
 * minor (all zero-extended 32-bit values); R1 is scratch once read. */
enum { R0, R1, R2, R3, R4, R5 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        return (struct bpf_insn){
                .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
        };
}

static struct bpf_insn ldx_w(uint8_t dst, int16_t off)
{
        return insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, off, 0);
}

static struct bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm)
{
        return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static struct bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
        return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}

/* A jump's offset counts from the instruction after it. */
static int16_t skip_to(size_t next, size_t at)
{
        return (int16_t)(next - at - 1);
}

static size_t rule_size(const DeviceRule *r)
{
        return (r->access == RWM ? 0 : 3) + 2 + (r->minor >= 0 ? 1 : 0) + 2;
}

int isolate_devices_program(const DeviceRule *rules, size_t n_rules, struct bpf_insn **ret_insns,
                            size_t *ret_n, ThError *err)
{
        size_t total = 6 + 2;
        for (size_t i = 0; i < n_rules; i++) {
                int r = rule_check(&rules[i], err);
                if (r < 0)
                        return r;
                total += rule_size(&rules[i]);
        }
        if (total > BPF_MAXINSNS)
                return th_error_set(err, E2BIG, "device program: %zu instructions", total);
        _cleanup_free_ struct bpf_insn *p = calloc(total, sizeof(*p));
        if (!p)
                return th_error_set(err, ENOMEM, "out of memory");

        size_t k = 0;
        p[k++] = ldx_w(R2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        p[k++] = alu32_imm(BPF_AND, R2, 0xffff);
        p[k++] = ldx_w(R3, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        p[k++] = alu32_imm(BPF_RSH, R3, 16);
        p[k++] = ldx_w(R4, offsetof(struct bpf_cgroup_dev_ctx, major));
        p[k++] = ldx_w(R5, offsetof(struct bpf_cgroup_dev_ctx, minor));

        for (size_t i = 0; i < n_rules; i++) {
                const DeviceRule *r = &rules[i];
                /* Every mismatch jumps to the next rule's first instruction. */
                size_t next = k + rule_size(r);
                if (r->access != RWM) {
                        /* The requested access must be a subset of the rule's. */
                        p[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, R1, R3, 0, 0);
                        p[k++] = alu32_imm(BPF_AND, R1, (int32_t)r->access);
                        p[k] = insn(BPF_JMP | BPF_JNE | BPF_X, R1, R3, skip_to(next, k), 0);
                        k++;
                }
                int32_t type = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
                p[k] = jne_imm(R2, type, skip_to(next, k));
                k++;
                p[k] = jne_imm(R4, (int32_t)r->major, skip_to(next, k));
                k++;
                if (r->minor >= 0) {
                        p[k] = jne_imm(R5, r->minor, skip_to(next, k));
                        k++;
                }
                p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 1);
                p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        }
        /* Default: deny. */
        p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
        p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

        *ret_n = k;
        *ret_insns = TAKE_PTR(p);
        return 0;
}

/* ---- load and attach ------------------------------------------------------ */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
        long r = syscall(SYS_bpf, cmd, attr, sizeof(*attr));
        return r < 0 ? -errno : (int)r;
}

/* The verifier's last line ("R0 !read_ok", ...), for a program it refuses. */
static void verifier_reason(const struct bpf_insn *insns, size_t n, char *buf, size_t size)
{
        _cleanup_free_ char *log = calloc(1, 65536);
        buf[0] = 0;
        if (!log)
                return;
        union bpf_attr a = {
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uint64_t)(uintptr_t)insns,
                .insn_cnt = (uint32_t)n,
                .license = (uint64_t)(uintptr_t) "GPL",
                .log_buf = (uint64_t)(uintptr_t)log,
                .log_size = 65536,
                .log_level = 1,
        };
        int fd = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd >= 0) {
                close(fd);
                return;
        }
        size_t len = strnlen(log, 65535);
        while (len > 0 && log[len - 1] == '\n')
                log[--len] = 0;
        char *last = strrchr(log, '\n');
        th_snprintf(buf, size, " (verifier: %s)", last ? last + 1 : log);
}

int isolate_devices_load(const DeviceRule *rules, size_t n_rules, int *ret_fd, ThError *err)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        size_t n = 0;
        int r = isolate_devices_program(rules, n_rules, &insns, &n, err);
        if (r < 0)
                return r;
        union bpf_attr a = {
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uint64_t)(uintptr_t)insns,
                .insn_cnt = (uint32_t)n,
                .license = (uint64_t)(uintptr_t) "GPL",
        };
        memcpy(a.prog_name, "harness_devices", sizeof("harness_devices"));
        int fd = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd < 0) {
                char why[256] = "";
                if (fd == -EACCES || fd == -EINVAL)
                        verifier_reason(insns, n, why, sizeof(why));
                return th_error_errno(err, -fd,
                                      "load the device program (BPF_PROG_LOAD, "
                                      "BPF_PROG_TYPE_CGROUP_DEVICE)%s",
                                      why);
        }
        *ret_fd = fd; /* bpf(2) returns its fds O_CLOEXEC */
        return 0;
}

int isolate_devices_attach(int cgroup_fd, ThError *err)
{
        _cleanup_close_ int prog = -1;
        int r = isolate_devices_load(isolate_devices_allow, isolate_devices_n_allow, &prog, err);
        if (r < 0)
                return r;
        /* ALLOW_MULTI: a program attached below (systemd's, were bpf(2) not
         * denied by the system call filter) cannot replace this one; every
         * program on the path must allow. */
        union bpf_attr a = {
                .target_fd = (uint32_t)cgroup_fd,
                .attach_bpf_fd = (uint32_t)prog,
                .attach_type = BPF_CGROUP_DEVICE,
                .attach_flags = BPF_F_ALLOW_MULTI,
        };
        r = sys_bpf(BPF_PROG_ATTACH, &a);
        if (r < 0)
                return th_error_errno(err, -r,
                                      "attach the device program to the cgroup (BPF_PROG_ATTACH, "
                                      "BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)");
        /* The attachment holds the program until the cgroup is removed. */
        return 0;
}

/* isolate: the container's system call filter (docs/container.md, "System
 * call filter"). A deny list by group, built with libseccomp once per
 * process into a BPF program, and loaded by PID 1 (and `harness enter`)
 * with the raw seccomp(2) as the last step before exec, so the child does
 * no allocation and needs no library state.
 *
 * A deny list, not an allow list like systemd-nspawn's: tests run arbitrary
 * programs, and an allow list fixed when the harness was built answers
 * every system call newer than its libseccomp with an error other than
 * ENOSYS, which is the one error C libraries fall back on. What is denied
 * is kernel surface a test does not need and that is not namespaced (the
 * keyrings, bpf, perf, kexec and modules) or a known way out of a container
 * (open_by_handle_at) or a frequent kernel exploit primitive (io_uring,
 * userfaultfd). Every denied call fails with EPERM, as under nspawn and
 * Docker, and as the kernel answers with io_uring or userfaultfd disabled by
 * sysctl, which callers already handle. The other ABIs of the machine (i386
 * and x32 on x86_64, arm on arm64) get the same rules, so `int 0x80` does not
 * bypass them; any other architecture is killed. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate-internal.h"

typedef struct SyscallGroup {
        const char *name;
        const char *const *calls;
} SyscallGroup;

#define CALLS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Kept in step with the table in docs/container.md. */
static const SyscallGroup denied_groups[] = {
        { "keyring", CALLS("add_key", "keyctl", "request_key") },
        { "bpf", CALLS("bpf") },
        { "perf", CALLS("perf_event_open", "lookup_dcookie") },
        { "io_uring", CALLS("io_uring_setup", "io_uring_enter", "io_uring_register") },
        { "userfaultfd", CALLS("userfaultfd") },
        /* name_to_handle_at stays: systemd reads cgroup ids with it, and a
         * handle is of no use without open_by_handle_at. */
        { "file-handles", CALLS("open_by_handle_at") },
        { "kernel-load",
          CALLS("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
                "create_module", "query_module", "get_kernel_syms") },
        { "raw-io",
          CALLS("iopl", "ioperm", "pciconfig_iobase", "pciconfig_read", "pciconfig_write") },
        { "swap", CALLS("swapon", "swapoff") },
        { "obsolete",
          CALLS("uselib", "ustat", "sysfs", "_sysctl", "nfsservctl", "vm86", "vm86old") },
};

/* The other ABIs the kernel runs for this machine. */
static const uint32_t *secondary_arches(uint32_t native)
{
        static const uint32_t x86_64[] = { SCMP_ARCH_X86, SCMP_ARCH_X32, 0 };
        static const uint32_t aarch64[] = { SCMP_ARCH_ARM, 0 };
        static const uint32_t none[] = { 0 };
        if (native == SCMP_ARCH_X86_64)
                return x86_64;
        if (native == SCMP_ARCH_AARCH64)
                return aarch64;
        return none;
}

static void release_ctx(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

/* Builds the filter and exports it as a BPF program (malloc()ed). */
static int build(struct sock_fprog *ret, ThError *err)
{
        __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;
        if (!ctx)
                return th_error_set(err, ENOMEM, "seccomp: cannot allocate a filter");
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return th_error_errno(err, -r, "seccomp: the action for other architectures");
        for (const uint32_t *a = secondary_arches(seccomp_arch_native()); *a; a++) {
                r = seccomp_arch_add(ctx, *a);
                if (r < 0 && r != -EEXIST)
                        return th_error_errno(err, -r, "seccomp: add architecture %#x", *a);
        }
        for (size_t g = 0; g < ELEMENTSOF(denied_groups); g++)
                for (const char *const *n = denied_groups[g].calls; *n; n++) {
                        /* A name this libseccomp or no ABI here knows is skipped. */
                        int nr = seccomp_syscall_resolve_name(*n);
                        if (nr == __NR_SCMP_ERROR)
                                continue;
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                        if (r < 0 && r != -EDOM)
                                return th_error_errno(err, -r, "seccomp: deny %s", *n);
                }

        /* libseccomp 2.5 exports to an fd only. */
        _cleanup_close_ int fd = memfd_create("harness-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return th_error_errno(err, errno, "seccomp: memfd");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return th_error_errno(err, -r, "seccomp: export the filter");
        off_t size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
            size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
                return th_error_set(err, EINVAL, "seccomp: the exported filter has %lld bytes",
                                    (long long)size);
        _cleanup_free_ struct sock_filter *insns = malloc((size_t)size);
        if (!insns)
                return th_error_set(err, ENOMEM, "seccomp: out of memory");
        if (pread(fd, insns, (size_t)size, 0) != size)
                return th_error_errno(err, errno ? errno : EIO, "seccomp: read the filter back");
        *ret = (struct sock_fprog){ .len = (unsigned short)(size /
                                                            (off_t)sizeof(struct sock_filter)),
                                    .filter = TAKE_PTR(insns) };
        return 0;
}

int isolate_seccomp_program(const struct sock_fprog **ret, ThError *err)
{
        static struct sock_fprog prog;
        if (!prog.filter) {
                int r = build(&prog, err);
                if (r < 0)
                        return r;
        }
        *ret = &prog;
        return 0;
}

int isolate_seccomp_load(const struct sock_fprog *prog, ThError *err)
{
        /* Without no_new_privs, which would break setuid programs in the
         * container: the caller still holds CAP_SYS_ADMIN in its user
         * namespace (caps.c keeps it). */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
                return th_error_errno(err, errno, "load the system call filter");
        return 0;
}

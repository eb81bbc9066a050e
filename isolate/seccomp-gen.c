/* seccomp-gen: builds the container's system call filter (docs/container.md,
 * "System call filter") with libseccomp at build time and prints it as a C
 * array of BPF instructions for seccomp.c. The harness then maps no
 * libseccomp and builds nothing at run time: PID 1 (and `harness enter`)
 * loads the array with the raw seccomp(2). Run on the machine that builds
 * the harness, so the native architecture is the build's.
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
#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

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

static int fail(int r, const char *what)
{
        fprintf(stderr, "seccomp-gen: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return 1;
}

int main(void)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;
        if (!ctx)
                return fail(ENOMEM, "allocate a filter");
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return fail(r, "the action for other architectures");
        for (const uint32_t *a = secondary_arches(seccomp_arch_native()); *a; a++) {
                r = seccomp_arch_add(ctx, *a);
                if (r < 0 && r != -EEXIST)
                        return fail(r, "add an architecture");
        }
        for (size_t g = 0; g < ELEMENTSOF(denied_groups); g++)
                for (const char *const *n = denied_groups[g].calls; *n; n++) {
                        /* A name this libseccomp or no ABI here knows is skipped. */
                        int nr = seccomp_syscall_resolve_name(*n);
                        if (nr == __NR_SCMP_ERROR)
                                continue;
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                        if (r < 0 && r != -EDOM)
                                return fail(r, *n);
                }

        /* libseccomp 2.5 exports to an fd only. */
        int fd = memfd_create("seccomp-gen", 0);
        if (fd < 0)
                return fail(errno, "memfd");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return fail(r, "export the filter");
        off_t size = lseek(fd, 0, SEEK_END);
        size_t n = (size_t)size / sizeof(struct sock_filter);
        if (size <= 0 || (size_t)size % sizeof(struct sock_filter) != 0 || n > BPF_MAXINSNS)
                return fail(EINVAL, "the exported filter's size");
        struct sock_filter *insns = malloc((size_t)size);
        if (!insns || pread(fd, insns, (size_t)size, 0) != size)
                return fail(errno ? errno : EIO, "read the filter back");
        printf("/* Generated by seccomp-gen at build time: the container's system call\n"
               " * filter, %zu BPF instructions. */\n"
               "static const struct sock_filter isolate_seccomp_insns[] = {\n",
               n);
        for (size_t k = 0; k < n; k++)
                printf("        { %#06x, %u, %u, %#010x },\n", insns[k].code, insns[k].jt,
                       insns[k].jf, insns[k].k);
        printf("};\n");
        free(insns);
        close(fd);
        seccomp_release(ctx);
        return fflush(stdout) == 0 ? 0 : fail(errno, "write");
}

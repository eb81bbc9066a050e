/* isolate: the container's system call filter (docs/container.md, "System
 * call filter"). The filter is built at build time with libseccomp
 * (seccomp-gen.c, which holds the table and says what is denied and why)
 * into an array of BPF instructions; PID 1 (and `harness enter`) loads it
 * with the raw seccomp(2) as the last step before exec, so nothing is built,
 * allocated or mapped for it at run time. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate-internal.h"
#include "seccomp-filter.h"

int isolate_seccomp_program(const struct sock_fprog **ret, ThError *err)
{
        static const struct sock_fprog prog = {
                .len = ELEMENTSOF(isolate_seccomp_insns),
                .filter = (struct sock_filter *)isolate_seccomp_insns,
        };
        (void)err;
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

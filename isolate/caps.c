/* isolate: the capability bounding set of the container (computed purely
 * from names with libcap) and dropping to it. */
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "isolate-internal.h"

/* Like systemd-nspawn's default: enough to boot systemd and manage a
 * system, without SYS_MODULE, SYS_RAWIO, SYS_TIME, MAC_*, SYSLOG, BPF,
 * PERFMON, WAKE_ALARM, BLOCK_SUSPEND and the other host-only ones. */
static const cap_value_t default_caps[] = {
        CAP_AUDIT_CONTROL,
        CAP_AUDIT_WRITE,
        CAP_CHOWN,
        CAP_DAC_OVERRIDE,
        CAP_DAC_READ_SEARCH,
        CAP_FOWNER,
        CAP_FSETID,
        CAP_IPC_OWNER,
        CAP_KILL,
        CAP_LEASE,
        CAP_LINUX_IMMUTABLE,
        CAP_MKNOD,
        CAP_NET_BIND_SERVICE,
        CAP_NET_BROADCAST,
        CAP_NET_RAW,
        CAP_SETFCAP,
        CAP_SETGID,
        CAP_SETPCAP,
        CAP_SETUID,
        CAP_SYS_ADMIN,
        CAP_SYS_BOOT,
        CAP_SYS_CHROOT,
        CAP_SYS_NICE,
        CAP_SYS_PTRACE,
        CAP_SYS_RESOURCE,
        CAP_SYS_TTY_CONFIG,
};

int isolate_caps_bounding(const char *const *keep, size_t n_keep, uint64_t *ret_mask, ThError *err)
{
        uint64_t mask = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_caps); i++)
                mask |= UINT64_C(1) << default_caps[i];
        for (size_t i = 0; i < n_keep; i++) {
                cap_value_t v;
                char name[64];
                const char *k = keep[i];
                /* Accept "SYS_TIME", "CAP_SYS_TIME" and lower case. */
                if (strncasecmp(k, "cap_", 4) == 0)
                        k += 4;
                if (th_snprintf(name, sizeof(name), "cap_%s", k) < 0)
                        return th_error_set(err, EINVAL, "unknown capability '%s'", keep[i]);
                for (char *c = name; *c; c++)
                        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
                if (cap_from_name(name, &v) < 0 || v < 0 || v > 63)
                        return th_error_set(err, EINVAL, "unknown capability '%s'", keep[i]);
                mask |= UINT64_C(1) << v;
        }
        *ret_mask = mask;
        return 0;
}

int isolate_caps_apply(uint64_t mask, ThError *err)
{
        cap_value_t last = cap_max_bits();
        for (cap_value_t c = 0; c < last && c < 64; c++) {
                if (mask & (UINT64_C(1) << c))
                        continue;
                if (cap_drop_bound(c) < 0 && errno != EINVAL)
                        return th_error_errno(err, errno,
                                              "drop capability %d from the bounding set", (int)c);
        }
        if (cap_reset_ambient() < 0 && errno != EINVAL)
                return th_error_errno(err, errno, "clear the ambient capabilities");

        _cleanup_cap_ cap_t caps = cap_get_proc();
        if (!caps)
                return th_error_errno(err, errno, "read capabilities");
        for (cap_value_t c = 0; c < last && c < 64; c++) {
                if (mask & (UINT64_C(1) << c))
                        continue;
                cap_value_t v[1] = { c };
                if (cap_set_flag(caps, CAP_EFFECTIVE, 1, v, CAP_CLEAR) < 0 ||
                    cap_set_flag(caps, CAP_PERMITTED, 1, v, CAP_CLEAR) < 0 ||
                    cap_set_flag(caps, CAP_INHERITABLE, 1, v, CAP_CLEAR) < 0)
                        return th_error_errno(err, errno, "compute capabilities");
        }
        if (cap_set_proc(caps) < 0)
                return th_error_errno(err, errno, "set capabilities");
        return 0;
}

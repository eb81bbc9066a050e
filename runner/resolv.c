/* runner: the resolver of a container on the host's network. A tree's own
 * /etc/resolv.conf is usually empty (a managed tree's is, see
 * fixtures/tree.c), so names would not resolve although the network is the
 * host's. As systemd-nspawn's --resolv-conf=copy-host: a copy of the host's
 * file, bound read-only over the tree's. Nothing goes back to the host's
 * file, and nothing stays in the tree. */
#include <fcntl.h>
#include <string.h>

#include "runner-internal.h"

int runner_resolv_conf_copy(const char *dst, ThError *err)
{
        _cleanup_close_ int in = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return th_error_errno(err, errno, "open the host's '/etc/resolv.conf'");
        _cleanup_close_ int out =
                open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (out < 0)
                return th_error_errno(err, errno, "create '%s'", dst);
        char buf[16384];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0) {
                int r = th_write_all(out, buf, (size_t)n);
                if (r < 0)
                        return th_error_errno(err, -r, "write '%s'", dst);
        }
        if (n < 0)
                return th_error_errno(err, errno, "read the host's '/etc/resolv.conf'");
        return 0;
}

bool runner_binds_target(const IsolateBind *binds, size_t n, const char *target)
{
        for (size_t i = 0; i < n; i++)
                if (binds[i].target && strcmp(binds[i].target, target) == 0)
                        return true;
        return false;
}

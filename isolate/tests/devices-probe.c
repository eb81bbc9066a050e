/* isolate: a static probe run inside a container by check_isolate_devices_run:
 * tries to lift the device policy the way container root without private
 * users could (CAP_SYS_ADMIN: look every device program up by id, detach it
 * from every cgroup it can open), then mknod()s a block device. Prints
 * "detached=N mknod-block=ok|EPERM|<error>". */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int sys_bpf(int cmd, union bpf_attr *a)
{
        long r = syscall(SYS_bpf, cmd, a, sizeof(*a));
        return r < 0 ? -errno : (int)r;
}

/* Detaches every cgroup device program it can get from the cgroup at path. */
static int detach_all(const char *path)
{
        int cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg < 0)
                return 0;
        int n = 0;
        uint32_t id = 0;
        for (;;) {
                union bpf_attr next = { .start_id = id };
                if (sys_bpf(BPF_PROG_GET_NEXT_ID, &next) < 0)
                        break;
                id = next.next_id;
                union bpf_attr get = { .prog_id = id };
                int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
                if (fd < 0)
                        continue;
                union bpf_attr d = { .target_fd = (uint32_t)cg,
                                     .attach_bpf_fd = (uint32_t)fd,
                                     .attach_type = BPF_CGROUP_DEVICE };
                if (sys_bpf(BPF_PROG_DETACH, &d) == 0)
                        n++;
                close(fd);
        }
        close(cg);
        return n;
}

int main(void)
{
        /* Its cgroup namespace's root as the harness mounted it, and a
         * fresh cgroup2 mount (the same root, seen anew). */
        int n = detach_all("/sys/fs/cgroup");
        if ((mkdir("/tmp/probe-cg", 0755) == 0 || errno == EEXIST) &&
            mount("none", "/tmp/probe-cg", "cgroup2", 0, NULL) == 0) {
                n += detach_all("/tmp/probe-cg");
                (void)umount2("/tmp/probe-cg", MNT_DETACH);
        }
        int r = mknod("/tmp/probe-block", S_IFBLK | 0600, makedev(8, 0));
        int e = errno;
        if (r == 0)
                unlink("/tmp/probe-block");
        printf("detached=%d mknod-block=%s\n", n,
               r == 0       ? "ok"
               : e == EPERM ? "EPERM"
                            : strerror(e));
        return 0;
}

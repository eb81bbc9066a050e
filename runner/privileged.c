/* runner: what a suite file may not decide on its own. A suite can lower
 * the container's isolation (`private-users: false`, a package layer built
 * over its own tree with the host's network), but only the operator can
 * allow that, with `harness run --allow-privileged`; a tree that is the
 * host's own root directory is refused whatever the flags say. */
#include <string.h>
#include <sys/stat.h>

#include "runner-internal.h"

#define PRIVATE_USERS_RISK                                                               \
        "without private users container root can become host root (e.g. by remounting " \
        "/proc/sys and writing kernel.core_pattern)"

#define PACKAGES_RISK                                                                        \
        "the layer build runs the tree's own programs (apt, dpkg, /bin/sh) with the host's " \
        "network, its loopback services and abstract sockets"

#define INSTALL_RISK                                                                         \
        "the download runs the tree's own programs (apt, /bin/sh) with the host's network, " \
        "its loopback services and abstract sockets"

static void report(const Suite *s, SuiteLoc loc, RunnerPrivileged mode, const char *what,
                   const char *risk)
{
        switch (mode) {
        case RUNNER_PRIVILEGED_REFUSE:
                fprintf(stderr,
                        "%s:%u:%u: %s: %s; only the operator can allow it, with "
                        "'harness run --allow-privileged'\n",
                        runner_safe(s->path), loc.line, loc.column, what, risk);
                break;
        case RUNNER_PRIVILEGED_NOTE:
                fprintf(stderr, "%s:%u:%u: note: %s needs 'harness run --allow-privileged': %s\n",
                        runner_safe(s->path), loc.line, loc.column, what, risk);
                break;
        case RUNNER_PRIVILEGED_ALLOW:
                break;
        }
}

/* Whether the suite's tree is the host's root directory (a symlink, a bind
 * mount or `/` itself: the same inode). */
static bool rootfs_is_host_root(const Suite *s)
{
        struct stat st, root;
        if (!s->rootfs.dir || stat(s->rootfs.dir, &st) < 0 || stat("/", &root) < 0)
                return false;
        return st.st_dev == root.st_dev && st.st_ino == root.st_ino;
}

void runner_privileged_begin(RunnerPrivilegedCheck *p, const Suite *s, RunnerPrivileged mode)
{
        *p = (RunnerPrivilegedCheck){ .s = s, .mode = mode };
        if (rootfs_is_host_root(s)) {
                fprintf(stderr,
                        "%s:%u:%u: rootfs '%s' is the host's root directory: a test would "
                        "read and run the host's own files (e.g. /etc/shadow); refused, "
                        "even with --allow-privileged\n",
                        runner_safe(s->path), s->rootfs.loc.line, s->rootfs.loc.column,
                        runner_safe(s->rootfs.dir));
                p->ret = -EPERM;
        }
        /* private-users: false, once per place it is written (tests that
         * take it from `defaults` point at the same key). */
        if (!s->defaults.private_users && (s->defaults.set & SUITE_FIELD_PRIVATE_USERS)) {
                p->seen_defaults = true;
                p->first = s->defaults.private_users_loc;
                p->n_off++;
                report(s, p->first, mode, "'private-users: false'", PRIVATE_USERS_RISK);
        }
}

void runner_privileged_test(RunnerPrivilegedCheck *p, const TestSpec *t)
{
        const SuiteLoc *d = &p->s->defaults.private_users_loc;

        if (t->install && !t->skip && !p->install) {
                p->install = true;
                p->install_loc = t->install_loc;
        }
        if (t->private_users)
                return;
        if (p->seen_defaults && t->private_users_loc.line == d->line &&
            t->private_users_loc.column == d->column)
                return;
        if (p->n_off++ == 0)
                p->first = t->private_users_loc;
        report(p->s, t->private_users_loc, p->mode, "'private-users: false'", PRIVATE_USERS_RISK);
}

int runner_privileged_end(RunnerPrivilegedCheck *p)
{
        const Suite *s = p->s;
        RunnerPrivileged mode = p->mode;
        int ret = p->ret;

        /* The package layer over a tree of the suite's own: its programs
         * (apt, dpkg, /bin/sh) run with the host's network to download. A
         * managed tree is the Debian archive's, built by harness. */
        if (s->rootfs.dir && s->defaults.packages && s->defaults.packages[0]) {
                report(s, s->defaults.packages_loc, mode,
                       "'packages:' over a directory tree of the suite's", PACKAGES_RISK);
                if (mode == RUNNER_PRIVILEGED_REFUSE)
                        ret = -EPERM;
                if (mode == RUNNER_PRIVILEGED_ALLOW)
                        th_log(TH_LOG_WARNING,
                               "suite '%s' (%s:%u): packages over a directory tree, allowed by "
                               "--allow-privileged: " PACKAGES_RISK,
                               s->name, s->path, s->defaults.packages_loc.line);
        }
        /* The same for the download of `install:`: one refusal per suite,
         * at the first test that installs. */
        if (s->rootfs.dir && p->install) {
                report(s, p->install_loc, mode, "'install:' over a directory tree of the suite's",
                       INSTALL_RISK);
                if (mode == RUNNER_PRIVILEGED_REFUSE)
                        ret = -EPERM;
                if (mode == RUNNER_PRIVILEGED_ALLOW)
                        th_log(TH_LOG_WARNING,
                               "suite '%s' (%s:%u): install over a directory tree, allowed by "
                               "--allow-privileged: " INSTALL_RISK,
                               s->name, s->path, p->install_loc.line);
        }
        if (p->n_off > 0 && mode == RUNNER_PRIVILEGED_REFUSE)
                ret = -EPERM;
        if (p->n_off > 0 && mode == RUNNER_PRIVILEGED_ALLOW)
                th_log(TH_LOG_WARNING,
                       "suite '%s' (%s:%u): private-users: false, allowed by "
                       "--allow-privileged: " PRIVATE_USERS_RISK,
                       s->name, s->path, p->first.line);
        return ret;
}

int runner_check_privileged(const Suite *s, RunnerPrivileged mode)
{
        RunnerPrivilegedCheck p;

        runner_privileged_begin(&p, s, mode);
        for (size_t i = 0; i < s->n_tests; i++)
                runner_privileged_test(&p, &s->tests[i]);
        return runner_privileged_end(&p);
}

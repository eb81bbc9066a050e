/* runner: a debian/tests/control (DEP-8) given to `harness check` or
 * `harness list` instead of a suite file: loaded with the debian/control
 * beside it, its errors printed as FILE:LINE: message. */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner-internal.h"

bool runner_is_dep8_control(const char *path)
{
        const char *slash = strrchr(path, '/');
        return strcmp(slash ? slash + 1 : path, "control") == 0;
}

const char *runner_dep8_host_arch(void)
{
#if defined(__x86_64__) && defined(__ILP32__)
        return "x32";
#elif defined(__x86_64__)
        return "amd64";
#elif defined(__i386__)
        return "i386";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
        return "armhf";
#elif defined(__arm__)
        return "armel";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64el";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#elif defined(__mips__) && defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "mips64el";
#elif defined(__loongarch64)
        return "loong64";
#else
        return "unknown";
#endif
}

/* dirname(dirname(path))/control, "../control" for a bare "control";
 * NULL when there is no such file or it is path itself. */
static int control_path_of(const char *path, char **ret)
{
        _cleanup_free_ char *a = strdup(path), *b = strdup(path);
        struct stat st_self, st;
        *ret = NULL;
        if (!a || !b)
                return -ENOMEM;
        const char *dir = dirname(a);
        _cleanup_free_ char *p = strcmp(dir, ".") == 0
                                         ? strdup("../control")
                                         : th_strdup_printf("%s/control", dirname(dirname(b)));
        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0 || stat(path, &st_self) < 0)
                return 0;
        if (st.st_dev == st_self.st_dev && st.st_ino == st_self.st_ino)
                return 0;
        *ret = TAKE_PTR(p);
        return 0;
}

void runner_dep8_done(RunnerDep8 *d)
{
        d->tests = dep8_free(d->tests);
        d->control = deb_control_free(d->control);
        free(d->control_path);
        d->control_path = NULL;
}

int runner_dep8_load(const char *path, RunnerDep8 *ret)
{
        RunnerDep8 d = {};
        SuiteDiags diags = {};
        int r = dep8_load(path, &d.tests, &diags);
        if (r < 0)
                runner_print_suite_diags(path, r, &diags);
        suite_diags_done(&diags);

        /* debian/control, two levels up from debian/tests/control: what `@`
         * and @builddeps@ stand for. Without one they stand for nothing, as
         * with autopkgtest. */
        int k = control_path_of(path, &d.control_path);
        if (k < 0) {
                runner_dep8_done(&d);
                return k;
        }
        if (d.control_path) {
                k = deb_control_load(d.control_path, &d.control, &diags);
                if (k < 0)
                        runner_print_suite_diags(d.control_path, k, &diags);
                suite_diags_done(&diags);
                r = k < 0 ? k : r;
        }
        /* What would not install: @builddeps@ over a Build-Depends that
         * does not parse, and the like. */
        for (size_t i = 0; r >= 0 && i < d.tests->n_tests; i++) {
                _cleanup_free_ char *deps = NULL;
                ThError err = {};
                k = dep8_expand_depends(&d.tests->tests[i], d.control, runner_dep8_host_arch(),
                                        &deps, &err);
                if (k < 0) {
                        fprintf(stderr, "%s:%u: %s\n", runner_safe(path), d.tests->tests[i].line,
                                runner_safe(err.msg));
                        r = k;
                }
        }
        if (r < 0) {
                runner_dep8_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

const char *runner_dep8_source(const RunnerDep8 *d)
{
        return d->control && d->control->source ? d->control->source : "autopkgtest";
}

/* reports fuzz: report_merge() on arbitrary input, which its format
 * detection sends to the TAP, JSON or JUnit merge. It must either fail with
 * a message or write a report that merges again (as any JUnit flavor),
 * unchanged for TAP and JSON (what the merge writes is what it reads); merging a document with itself
 * must fail whenever the first merge kept a test (the duplicate check). */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "report-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *slurp(const char *path, size_t *ret_len)
{
        RBuf b = {};
        char buf[4096];
        ssize_t n;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                abort();
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (rbuf_put(&b, buf, (size_t)n) < 0)
                        abort();
        *ret_len = b.len;
        return b.data ? b.data : strdup("");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char in[64], out[64], again[64];
        ThError e = {};

        char dir[] = "/tmp/fuzz-merge-text.XXXXXX";
        if (!mkdtemp(dir))
                abort();
        _cleanup_close_ int fd = memfd_create("in", MFD_CLOEXEC);
        if (fd < 0 || th_write_all(fd, data, size) < 0)
                abort();
        snprintf(in, sizeof(in), "/proc/self/fd/%d", fd);
        snprintf(out, sizeof(out), "%s/out", dir);
        snprintf(again, sizeof(again), "%s/again", dir);

        /* the JUnit flavor of the output, from the input's size */
        ReportOptions o = { .junit_flavor = (ReportJunitFlavor)(size % _REPORT_JUNIT_FLAVOR_MAX) };
        char *inputs[] = { in, in };
        if (report_merge(inputs, 1, &o, out, &e) < 0) {
                if (e.msg[0] == '\0')
                        abort(); /* every failure says why */
        } else {
                char *outs[] = { out };
                e = (ThError){};
                if (report_merge(outs, 1, &o, again, &e) < 0)
                        abort(); /* a merged report is a valid input */
                size_t la, lb;
                _cleanup_free_ char *a = slurp(out, &la);
                _cleanup_free_ char *b = slurp(again, &lb);
                if (a[0] != '<' && (la != lb || memcmp(a, b, la) != 0))
                        abort();
                /* the same document twice: a duplicate unless it has no
                 * test (or only the interrupted-run one) */
                e = (ThError){};
                int r = report_merge(inputs, 2, &o, out, &e);
                if (r < 0 && r != -EEXIST)
                        abort();
        }
        th_rm_rf(dir);
        return 0;
}

/* runner: suites written by a command and run through `harness run`
 * (gensuite.h). */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gensuite.h"
#include "runner.h"

int runner_gensuite_open(GenSuite *g, const char *dir, ThError *err)
{
        char real[PATH_MAX];
        int r;

        *g = (GenSuite){ 0 };
        (void)th_rm_rf(dir);
        r = th_mkdir_p(dir, 0755);
        if (r < 0)
                return th_error_errno(err, -r, "create '%s'", dir);
        if (!realpath(dir, real))
                return th_error_errno(err, errno, "'%s'", dir);
        g->dir = strdup(real);
        g->yaml = open_memstream(&g->text, &g->len);
        if (!g->dir || !g->yaml)
                return th_error_set(err, ENOMEM, "out of memory");
        return 0;
}

void runner_gensuite_done(GenSuite *g)
{
        if (g->yaml)
                fclose(g->yaml);
        free(g->text);
        free(g->dir);
        th_strv_free(g->paths);
        *g = (GenSuite){ 0 };
}

static int parent_dir(const char *path, ThError *err)
{
        char parent[PATH_MAX];
        if (th_snprintf(parent, sizeof(parent), "%s", path) < 0)
                return th_error_set(err, ENAMETOOLONG, "path too long: '%s'", path);
        int r = th_mkdir_p(dirname(parent), 0755);
        return r < 0 ? th_error_errno(err, -r, "create '%s'", parent) : 0;
}

int runner_gensuite_write(GenSuite *g, const char *rel, const void *data, size_t len, mode_t mode,
                          ThError *err)
{
        _cleanup_free_ char *path = th_strdup_printf("%s/%s", g->dir, rel);
        if (!path)
                return th_error_set(err, ENOMEM, "out of memory");
        int r = parent_dir(path, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return th_error_errno(err, errno, "create '%s'", path);
        r = th_write_all(fd, data, len);
        if (r < 0 || fchmod(fd, mode) < 0)
                return th_error_errno(err, r < 0 ? -r : errno, "write '%s'", path);
        return 0;
}

int runner_gensuite_add_file(GenSuite *g, const char *source, const char *rel, ThError *err)
{
        _cleanup_free_ char *path = th_strdup_printf("%s/%s", g->dir, rel);
        struct stat st;
        char buf[65536];
        ssize_t n;

        if (!path)
                return th_error_set(err, ENOMEM, "out of memory");
        int r = parent_dir(path, err);
        if (r < 0)
                return r;
        if (link(source, path) == 0)
                return 0;
        _cleanup_close_ int in = open(source, O_RDONLY | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0)
                return th_error_errno(err, errno, "open '%s'", source);
        if (!S_ISREG(st.st_mode))
                return th_error_set(err, EINVAL, "'%s' is not a file", source);
        _cleanup_close_ int out =
                open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (out < 0)
                return th_error_errno(err, errno, "create '%s'", path);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if ((r = th_write_all(out, buf, (size_t)n)) < 0)
                        return th_error_errno(err, -r, "write '%s'", path);
        if (n < 0)
                return th_error_errno(err, errno, "read '%s'", source);
        const struct timespec times[2] = { st.st_atim, st.st_mtim };
        if (futimens(out, times) < 0)
                return th_error_errno(err, errno, "set the times of '%s'", path);
        return 0;
}

int runner_gensuite_finish(GenSuite *g, const char *name, ThError *err)
{
        if (fflush(g->yaml) != 0)
                return th_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *rel = th_strdup_printf("%s.yaml", name);
        if (!rel)
                return th_error_set(err, ENOMEM, "out of memory");
        int r = runner_gensuite_write(g, rel, g->text, g->len, 0644, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = th_strdup_printf("%s/%s", g->dir, rel);
        if (!path || th_strv_push(&g->paths, path) < 0)
                return th_error_set(err, ENOMEM, "out of memory");
        fclose(g->yaml);
        free(g->text);
        g->text = NULL;
        g->len = 0;
        g->yaml = open_memstream(&g->text, &g->len);
        return g->yaml ? 0 : th_error_set(err, ENOMEM, "out of memory");
}

void runner_yaml_quote(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

int runner_gensuite_run(char *const *paths, char *const *pass)
{
        _cleanup_strv_ char **argv = NULL;

        if (th_strv_push(&argv, "run") < 0)
                return RUNNER_EXIT_INFRA;
        for (size_t i = 0; pass && pass[i]; i++)
                if (th_strv_push(&argv, pass[i]) < 0)
                        return RUNNER_EXIT_INFRA;
        /* "--" so that a suite path is never read as an option. */
        if (th_strv_push(&argv, "--") < 0)
                return RUNNER_EXIT_INFRA;
        for (size_t i = 0; paths && paths[i]; i++)
                if (th_strv_push(&argv, paths[i]) < 0)
                        return RUNNER_EXIT_INFRA;
        optind = 0; /* a fresh getopt for `harness run` */
        opterr = 0;
        return runner_cmd_run((int)th_strv_length(argv), argv);
}

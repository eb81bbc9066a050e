/* isolate: the worker's preparation steps undo what they did. A failure
 * injected right after each step (isolate_prepare_fail_at()) must name that
 * step in the error and leave the host as it was: the host snapshot of
 * tests/lib/snapshot.sh (mounts, cgroups, /run/harness, sysctls, ...) taken
 * before and after the worker process ended, plus the container's registry
 * entry. A container that uses every step: boot mode, -x, private users, a
 * writable bind, veth. Exit 77 without root, user namespaces or the tree. */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "isolate-internal.h"
#include "privileged.h"

static const char *tree, *snapshot_lib;
static char work[] = "/tmp/harness-isolate-steps.XXXXXX";

/* The host snapshot, with the registry entry of our machine name added
 * (the snapshot leaves out machines/, where other runs come and go). */
static char *snapshot(void)
{
        char cmd[8192];
        th_snprintf(cmd, sizeof(cmd),
                    ". '%s' && host_snapshot && echo '# registry' && "
                    "ls /run/harness/machines 2>/dev/null | grep -x check-steps || true",
                    snapshot_lib);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        char line[8192];
        while (fgets(line, sizeof(line), p))
                fputs(line, out);
        ck_assert_int_eq(pclose(p), 0);
        fclose(out);
        return buf;
}

/* Whether a line names another process's container (c<PID>-...): other
 * runs on the machine, dead ones included, come and go on their own. */
static bool others(const char *line, pid_t ours)
{
        for (const char *q = line; (q = strchr(q, 'c')); q++) {
                char *end;
                long pid = strtol(q + 1, &end, 10);
                if (end > q + 1 && *end == '-' && (q == line || q[-1] == '/'))
                        return pid != ours;
        }
        return false;
}

/* The lines of A missing from B that are ours, for the failure message;
 * returns how many. */
static size_t diff_lines(const char *a, const char *b, const char *sign, pid_t ours, FILE *out)
{
        char *copy = strdup(a), *save = NULL;
        size_t n_diff = 0;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                const char *q = strstr(b, l);
                size_t n = strlen(l);
                while (q && !((q == b || q[-1] == '\n') && (q[n] == '\n' || q[n] == 0)))
                        q = strstr(q + 1, l);
                if (!q && !others(l, ours)) {
                        fprintf(out, "%s %s\n", sign, l);
                        n_diff++;
                }
        }
        free(copy);
        return n_diff;
}

/* Runs the container in a child process that fails after STEP, and
 * returns the error message it got (static buffer). */
static const char *run_failing_at(const char *step, pid_t *ret_pid)
{
        static char msg[TH_ERROR_MSG_MAX + 16];
        char outdir[4096], bind[4096];
        th_snprintf(outdir, sizeof(outdir), "%s/out", work);
        th_snprintf(bind, sizeof(bind), "%s/bind", work);
        int pipefd[2];
        ck_assert_int_eq(pipe(pipefd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char *argv[] = { "/bin/true", NULL };
                IsolateBind b = {
                        .source = bind, .target = "/srv/bind", .writable = true, .source_fd = -1
                };
                IsolateSpec s = { .rootfs = tree,
                                  .boot = true,
                                  .ephemeral = true,
                                  .private_users = true,
                                  .machine = "check-steps",
                                  .network = ISOLATE_NETWORK_VETH,
                                  .argv = argv,
                                  .binds = &b,
                                  .n_binds = 1,
                                  .output_dir = outdir,
                                  .timeout_usec = 60 * USEC_PER_SEC };
                IsolateResult r = {};
                ThError err = {};
                isolate_prepare_fail_at(step);
                int x = isolate_run(&s, &r, &err);
                char line[sizeof(msg)];
                int n = th_snprintf(line, sizeof(line), "%d %s", x, err.msg);
                (void)!write(pipefd[1], line, n < 0 ? 0 : strlen(line));
                _exit(0);
        }
        close(pipefd[1]);
        *ret_pid = pid;
        ssize_t n = read(pipefd[0], msg, sizeof(msg) - 1);
        msg[n > 0 ? n : 0] = 0;
        close(pipefd[0]);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        return msg;
}

START_TEST(test_steps__failure_after_each_step_leaves_nothing)
{
        const char *step = isolate_prepare_step((size_t)_i);
        ck_assert_ptr_nonnull(step);
        char *before = snapshot();
        pid_t pid;
        const char *msg = run_failing_at(step, &pid);
        /* The step ran, then the injected failure came, prefixed with its
         * name: isolate_run() failed there and nowhere earlier. */
        char want[256];
        th_snprintf(want, sizeof(want), "-%d %s: failure injected after the step", EIO, step);
        ck_assert_msg(strcmp(msg, want) == 0, "step '%s': got '%s'", step, msg);
        char *after = snapshot();
        char *d = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&d, &len);
        size_t n =
                diff_lines(before, after, "-", pid, out) + diff_lines(after, before, "+", pid, out);
        fclose(out);
        ck_assert_msg(n == 0, "step '%s' left the host changed:\n%s", step, d);
        free(d);
        free(before);
        free(after);
}
END_TEST

int main(void)
{
        tree = getenv("HARNESS_TEST_ROOTFS");
        snapshot_lib = getenv("HARNESS_SNAPSHOT_LIB");
        char sh[4096];
        th_snprintf(sh, sizeof(sh), "%s/bin/sh", tree ? tree : "");
        if (!tree || !snapshot_lib || access(sh, X_OK) < 0 || !isolate_test_can_run()) {
                fprintf(stderr, "skip: needs root, user namespaces and HARNESS_TEST_ROOTFS\n");
                return 77;
        }
        if (!mkdtemp(work))
                return 1;
        char p[4096];
        th_snprintf(p, sizeof(p), "%s/out", work);
        if (mkdir(p, 0755) < 0)
                return 1;
        th_snprintf(p, sizeof(p), "%s/bind", work);
        if (mkdir(p, 0755) < 0)
                return 1;
        /* What dead runs left is swept by the first step that runs; sweep it
         * now so the first snapshot does not see it go. */
        isolate_sweep();

        size_t n = 0;
        while (isolate_prepare_step(n))
                n++;
        Suite *s = suite_create("isolate_steps");
        TCase *tc = tcase_create("steps");
        tcase_set_tags(tc, "privileged");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_steps__failure_after_each_step_leaves_nothing, 0, (int)n);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        char cmd[8192];
        th_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
        (void)!system(cmd);
        return failed ? 1 : 0;
}

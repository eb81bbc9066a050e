/* Unit tests of the suite loader: every error class with its exact line and
 * column, the limits, and the merge of defaults into tests. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suite.h"

/* Loads yaml as "t.yaml"; returns the result, *ret_suite and the diags. */
static int load(const char *yaml, Suite **ret_suite, SuiteDiags *d)
{
        return suite_load_buffer("/src/t.yaml", yaml, strlen(yaml), ret_suite, d);
}

static bool has_diag(const SuiteDiags *d, unsigned line, unsigned col, const char *needle)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].loc.line == line && d->items[i].loc.column == col &&
                    strstr(d->items[i].message, needle))
                        return true;
        return false;
}

static void dump(const SuiteDiags *d)
{
        for (size_t i = 0; i < d->n; i++) {
                char *s = suite_diag_format(&d->items[i]);
                fprintf(stderr, "  %s\n", s);
                free(s);
        }
}

/* Asserts the load fails and that one error sits at LINE:COL containing needle. */
#define assert_error(yaml, line, col, needle)                                              \
        do {                                                                               \
                Suite *_s = NULL;                                                          \
                SuiteDiags _d = {};                                                        \
                int _r = load(yaml, &_s, &_d);                                             \
                if (!has_diag(&_d, line, col, needle))                                     \
                        dump(&_d);                                                         \
                ck_assert_int_eq(_r, -EINVAL);                                             \
                ck_assert_ptr_null(_s);                                                    \
                ck_assert_msg(has_diag(&_d, line, col, needle), "no %u:%u: %s", line, col, \
                              needle);                                                     \
                suite_diags_done(&_d);                                                     \
        } while (0)

static Suite *load_ok(const char *yaml)
{
        Suite *s = NULL;
        SuiteDiags d = {};
        int r = load(yaml, &s, &d);
        if (r < 0)
                dump(&d);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(d.n, 0);
        suite_diags_done(&d);
        return s;
}

#define T1 "tests:\n  - name: a\n"

START_TEST(test_suite_load__happy_path)
{
        Suite *s = load_ok("name: demo\n"
                           "rootfs: debian:trixie\n"
                           "tests:\n"
                           "  - name: one\n"
                           "    run: echo hi\n"
                           "    boot: false\n"
                           "    timeout: 90s\n"
                           "    expect: {exit: 3}\n"
                           "  - name: two\n"
                           "    run: |\n"
                           "      true\n"
                           "    timeout: 500ms\n");
        ck_assert_str_eq(s->name, "demo");
        ck_assert_str_eq(s->rootfs.distro, "debian");
        ck_assert_str_eq(s->rootfs.release, "trixie");
        ck_assert_ptr_null(s->rootfs.dir);
        ck_assert_uint_eq(s->n_tests, 2);
        ck_assert_uint_eq(s->tests[0].artifacts_bytes, SUITE_ARTIFACTS_DEFAULT);
        ck_assert_uint_eq(s->tests[0].output_bytes, SUITE_OUTPUT_DEFAULT);
        ck_assert_str_eq(s->tests[0].name, "one");
        ck_assert_str_eq(s->tests[0].run, "echo hi");
        ck_assert(!s->tests[0].boot);
        ck_assert_uint_eq(s->tests[0].timeout_usec, 90000000);
        ck_assert_int_eq(s->tests[0].expect.exit_status, 3);
        ck_assert_uint_eq(s->tests[0].loc.line, 4);
        ck_assert_uint_eq(s->tests[0].set, SUITE_FIELD_RUN | SUITE_FIELD_BOOT |
                                                   SUITE_FIELD_TIMEOUT | SUITE_FIELD_EXPECT);
        ck_assert_uint_eq(s->tests[0].sub_set, SUITE_EXPECT_EXIT);
        ck_assert_str_eq(s->tests[1].run, "true\n");
        ck_assert(s->tests[1].boot);
        ck_assert(s->tests[1].private_users);
        ck_assert_int_eq(s->tests[1].network, SUITE_NETWORK_NONE);
        ck_assert_uint_eq(s->tests[1].timeout_usec, 500000);
        ck_assert_uint_eq(s->tests[1].set, SUITE_FIELD_RUN | SUITE_FIELD_TIMEOUT);
        suite_free(s);
}
END_TEST

/* Where private-users was set: a refusal of `false` points at the key, in
 * defaults or in the test, and a test that inherits it points at defaults. */
START_TEST(test_suite_load__private_users_location)
{
        Suite *s = load_ok("rootfs: tree\n"
                           "defaults:\n"
                           "  private-users: false\n"
                           "tests:\n"
                           "  - name: a\n"
                           "    run: x\n"
                           "  - name: b\n"
                           "    run: x\n"
                           "    private-users: true\n");
        ck_assert(!s->tests[0].private_users);
        ck_assert_uint_eq(s->tests[0].private_users_loc.line, 3);
        ck_assert_uint_eq(s->tests[0].private_users_loc.column, 3);
        ck_assert(s->tests[1].private_users);
        ck_assert_uint_eq(s->tests[1].private_users_loc.line, 9);
        ck_assert_uint_eq(s->tests[1].private_users_loc.column, 5);
        ck_assert_uint_eq(s->rootfs.loc.line, 1);
        ck_assert_uint_eq(s->rootfs.loc.column, 1);
        suite_free(s);
}
END_TEST

START_TEST(test_suite_load__defaults_for_unset_fields)
{
        Suite *s = load_ok(T1 "    run: x\n    timeout: 3m\n");
        const TestSpec *t = &s->tests[0];
        ck_assert_str_eq(s->name, "t"); /* the file stem */
        ck_assert_str_eq(s->rootfs.release, "bookworm");
        ck_assert(t->boot && t->private_users);
        ck_assert_uint_eq(t->timeout_usec, 180000000);
        ck_assert_uint_eq(s->defaults.timeout_usec, 120000000);
        ck_assert_int_eq(t->expect.exit_status, 0);
        ck_assert_ptr_null(t->user);
        ck_assert_uint_eq(t->retries, 0);
        ck_assert_ptr_null(t->skip);
        suite_free(s);
}
END_TEST

START_TEST(test_suite_load__install)
{
        Suite *s = load_ok("defaults:\n"
                           "  install: [nginx-light, ./debs/own_1.0_all.deb]\n"
                           "tests:\n"
                           "  - name: inherits\n"
                           "    run: x\n"
                           "  - name: adds\n"
                           "    run: y\n"
                           "    install: [curl=7.88.1-10+deb12u5, nginx-light]\n");
        const TestSpec *a = &s->tests[0], *b = &s->tests[1];
        ck_assert_uint_eq(th_strv_length(a->install), 2);
        ck_assert_str_eq(a->install[1], "./debs/own_1.0_all.deb");
        ck_assert_uint_eq(a->install_loc.line, 2);
        /* Union, defaults first, an item of both where the test has it. */
        ck_assert_uint_eq(th_strv_length(b->install), 3);
        ck_assert_str_eq(b->install[0], "./debs/own_1.0_all.deb");
        ck_assert_str_eq(b->install[1], "curl=7.88.1-10+deb12u5");
        ck_assert_str_eq(b->install[2], "nginx-light");
        ck_assert_uint_eq(b->install_loc.line, 8);
        ck_assert(suite_install_is_local(a->install[1]));
        ck_assert(!suite_install_is_local(a->install[0]));
        ck_assert(!suite_install_is_local("x.deb"));
        suite_free(s);

        assert_error(T1 "    run: x\n    install: [/abs/x.deb]\n", 4, 15,
                     "relative to the suite file");
        assert_error(T1 "    run: x\n    install: ['Bad_Name']\n", 4, 15,
                     "expected a package name");
        assert_error(T1 "    run: x\n    install: ['pkg=']\n", 4, 15, "NAME=VERSION");
        assert_error(T1 "    run: x\n    install: [-o]\n", 4, 15, "expected a package name");
        assert_error(T1 "    run: x\n    install: nginx\n", 4, 14, "a list of words");
}
END_TEST

START_TEST(test_suite_load__system_expect)
{
        Suite *s = load_ok("defaults:\n"
                           "  expect:\n"
                           "    journal: {priority: err, match: [started], not: [oops]}\n"
                           "    units: {failed: none, nginx.service: active}\n"
                           "    crashes: none\n"
                           "tests:\n"
                           "  - name: inherits\n"
                           "    run: x\n"
                           "  - name: own not\n"
                           "    run: y\n"
                           "    expect: {journal-not: [mine]}\n");
        const SuiteExpect *a = &s->tests[0].expect, *b = &s->tests[1].expect;
        ck_assert_int_eq(a->journal_priority, 3);
        ck_assert_uint_eq(a->n_journal_match, 1);
        ck_assert_uint_eq(a->n_journal_not, 1);
        ck_assert_str_eq(a->journal_not[0].pattern, "oops");
        ck_assert(a->units_no_failed);
        ck_assert_uint_eq(th_strv_length(a->units), 2);
        ck_assert_str_eq(a->units[0], "nginx.service");
        ck_assert_str_eq(a->units[1], "active");
        ck_assert(a->no_crashes);
        /* The test's own journal-not wins over the defaults' `not`. */
        ck_assert_uint_eq(b->n_journal_not, 1);
        ck_assert_str_eq(b->journal_not[0].pattern, "mine");
        ck_assert_uint_eq(b->n_journal_match, 1);
        ck_assert_int_eq(s->tests[1].expect.journal_priority, 3);
        ck_assert_int_eq(s->defaults.expect.journal_priority, 3);
        suite_free(s);

        s = load_ok(T1 "    run: x\n");
        ck_assert_int_eq(s->tests[0].expect.journal_priority, 7);
        ck_assert(!s->tests[0].expect.no_crashes);
        suite_free(s);

        assert_error(T1 "    run: x\n    expect: {journal: {priority: loud}}\n", 4, 34,
                     "invalid priority 'loud'");
        assert_error(T1 "    run: x\n    expect: {journal: {when: x}}\n", 4, 24,
                     "unknown key 'when' in 'journal'");
        assert_error(T1 "    run: x\n    expect: {journal: {not: [a]}, journal-not: [b]}\n", 4, 48,
                     "given twice");
        assert_error(T1 "    run: x\n    expect: {units: {failed: some}}\n", 4, 30,
                     "'failed' takes 'none'");
        assert_error(T1 "    run: x\n    expect: {units: {nginx: active}}\n", 4, 22,
                     "invalid unit name");
        assert_error(T1 "    run: x\n    expect: {units: {a.service: Up}}\n", 4, 33,
                     "invalid unit state 'Up'");
        assert_error(T1 "    run: x\n    expect: {crashes: some}\n", 4, 23, "crashes takes 'none'");
}
END_TEST

START_TEST(test_suite_load__skip_exit_and_stderr_empty)
{
        Suite *s = load_ok("defaults:\n"
                           "  expect: {stderr-empty: true}\n"
                           "tests:\n"
                           "  - name: skippable\n"
                           "    run: x\n"
                           "    expect: {skip-exit: 77}\n"
                           "  - name: plain\n"
                           "    run: y\n"
                           "    expect: {exit: 1, stderr-empty: false}\n");
        const SuiteExpect *a = &s->tests[0].expect, *b = &s->tests[1].expect;
        ck_assert_int_eq(a->skip_exit, 77);
        ck_assert(a->stderr_empty);
        ck_assert_int_eq(a->exit_status, 0);
        ck_assert_int_eq(b->skip_exit, 0);
        ck_assert(!b->stderr_empty);
        ck_assert(s->tests[0].sub_set & SUITE_EXPECT_SKIP_EXIT);
        ck_assert(s->tests[1].sub_set & SUITE_EXPECT_STDERR_EMPTY);
        suite_free(s);

        s = load_ok("defaults: {expect: {skip-exit: 77}}\n" T1 "    run: x\n");
        ck_assert_int_eq(s->tests[0].expect.skip_exit, 77);
        suite_free(s);

        assert_error(T1 "    run: x\n    expect: {skip-exit: 256}\n", 4, 25, "");
        assert_error(T1 "    run: x\n    expect: {skip-exit: '77'}\n", 4, 25, "");
        assert_error(T1 "    run: x\n    expect: {skip-exit: 0}\n", 4, 25, "");
        assert_error(T1 "    run: x\n    expect: {stderr-empty: yes}\n", 4, 28, "boolean");
        assert_error(T1 "    run: x\n    expect: {exit: 77, skip-exit: 77}\n", 2, 5,
                     "skip-exit 77 is also the exit status that passes");
}
END_TEST

START_TEST(test_suite_load__packages_relations)
{
        Suite *s = load_ok(
                "defaults:\n"
                "  packages: [hello, 'libc6 (>= 2.36) | libc6.1, bash [amd64] <!nocheck>']\n"
                "tests:\n  - name: a\n    run: x\n");
        ck_assert_uint_eq(th_strv_length(s->defaults.packages), 2);
        ck_assert(!suite_package_is_relation(s->defaults.packages[0]));
        ck_assert(suite_package_is_relation(s->defaults.packages[1]));
        ck_assert_str_eq(s->defaults.packages[1],
                         "libc6 (>= 2.36) | libc6.1, bash [amd64] <!nocheck>");
        suite_free(s);

        assert_error("defaults:\n  packages: ['a, $(rm -rf /)']\n" T1 "    run: x\n", 2, 14,
                     "invalid package or relation");
        assert_error("defaults:\n  packages: ['a, b;c']\n" T1 "    run: x\n", 2, 14,
                     "invalid package or relation");
        assert_error("defaults:\n  packages: ['']\n" T1 "    run: x\n", 2, 14, "");
        /* an apt-get option is no package: refused here, where `harness
         * check` sees it, not only when the layer is built */
        assert_error("defaults:\n  packages: [-oX=1]\n" T1 "    run: x\n", 2, 14,
                     "invalid package or relation '-oX=1'");
        assert_error("defaults:\n  packages: ['-o X=1 | a']\n" T1 "    run: x\n", 2, 14,
                     "invalid package or relation");
        assert_error("defaults:\n  packages: ['a;b']\n" T1 "    run: x\n", 2, 14,
                     "invalid package or relation");
}
END_TEST

START_TEST(test_suite_load__defaults_merge)
{
        Suite *s = load_ok("defaults:\n"
                           "  boot: false\n"
                           "  timeout: 10\n"
                           "  user: nobody\n"
                           "  env: {A: '1', B: '2'}\n"
                           "  fixtures: [fx/a:/a, 'fx/b:/b:rw']\n"
                           "  limits: {memory: 512M, pids: 64, artifacts: 64M, output: 8M}\n"
                           "  expect: {exit: 1, stderr-not: ['^E:']}\n"
                           "  tags: [base]\n"
                           "  artifacts: [/var/log/a]\n"
                           "  packages: [hello]\n"
                           "  setup: mkdir /w\n"
                           "tests:\n"
                           "  - name: inherits\n"
                           "    run: x\n"
                           "  - name: overrides\n"
                           "    run: y\n"
                           "    boot: true\n"
                           "    env: {B: own, C: '3'}\n"
                           "    fixtures: [{source: mine, target: /b}]\n"
                           "    limits: {cpu: 2}\n"
                           "    expect: {stdout: ok}\n"
                           "    tags: [extra, base]\n"
                           "    artifacts: [/var/log/b]\n");
        const TestSpec *a = &s->tests[0], *b = &s->tests[1];

        ck_assert_str_eq(s->defaults.packages[0], "hello");
        ck_assert(s->defaults.set & SUITE_FIELD_PACKAGES);
        ck_assert(!(a->set & SUITE_FIELD_PACKAGES));
        ck_assert_ptr_null(a->packages);

        ck_assert(!a->boot);
        ck_assert_uint_eq(a->timeout_usec, 10000000);
        ck_assert_str_eq(a->user, "nobody");
        ck_assert_str_eq(a->setup, "mkdir /w");
        ck_assert_uint_eq(a->n_env, 2);
        ck_assert_uint_eq(a->n_fixtures, 2);
        ck_assert_str_eq(a->fixtures[0].source, "fx/a");
        ck_assert_str_eq(a->fixtures[0].source_abs, "/src/fx/a");
        ck_assert_str_eq(a->fixtures[0].target, "/a");
        ck_assert(!a->fixtures[0].writable);
        ck_assert(a->fixtures[1].writable);
        ck_assert_uint_eq(a->memory_bytes, 512u << 20);
        ck_assert_uint_eq(a->pids, 64);
        ck_assert_uint_eq(a->artifacts_bytes, 64u << 20);
        ck_assert_uint_eq(b->artifacts_bytes, 64u << 20);
        ck_assert_uint_eq(a->output_bytes, 8u << 20);
        ck_assert_uint_eq(b->output_bytes, 8u << 20);
        ck_assert_int_eq(a->expect.exit_status, 1);
        ck_assert_uint_eq(a->expect.n_stderr_not, 1);
        ck_assert_int_eq(regexec(&a->expect.stderr_not[0].re, "E: broken", 0, NULL, 0), 0);
        ck_assert(a->expect.stderr_not[0].borrowed);
        ck_assert_str_eq(a->expect.stderr_not[0].pattern, "^E:");
        ck_assert(!s->defaults.expect.stderr_not[0].borrowed);
        ck_assert_str_eq(a->tags[0], "base");
        ck_assert_ptr_null(a->tags[1]);
        ck_assert(a->set & SUITE_FIELD_BOOT); /* set explicitly, in defaults */

        /* The test's own value wins; env by key, fixtures by target. */
        ck_assert(b->boot);
        ck_assert_uint_eq(b->timeout_usec, 10000000);
        ck_assert_uint_eq(b->n_env, 3);
        ck_assert_str_eq(b->env[0].key, "A");
        ck_assert_str_eq(b->env[0].value, "1");
        ck_assert_str_eq(b->env[1].key, "B");
        ck_assert_str_eq(b->env[1].value, "own");
        ck_assert_str_eq(b->env[2].key, "C");
        ck_assert_uint_eq(b->n_fixtures, 2);
        ck_assert_str_eq(b->fixtures[0].target, "/a");
        ck_assert_str_eq(b->fixtures[1].source, "mine");
        ck_assert(!b->fixtures[1].writable);
        /* limits and expect merge key by key. */
        ck_assert_uint_eq(b->memory_bytes, 512u << 20);
        ck_assert(b->cpu > 1.99 && b->cpu < 2.01);
        ck_assert_int_eq(b->expect.exit_status, 1);
        ck_assert_uint_eq(b->expect.n_stdout_match, 1);
        ck_assert_uint_eq(b->expect.n_stderr_not, 1);
        /* tags and artifacts: union, defaults first, no repeats. */
        ck_assert_str_eq(b->tags[0], "extra");
        ck_assert_str_eq(b->tags[1], "base");
        ck_assert_ptr_null(b->tags[2]);
        ck_assert_str_eq(b->artifacts[0], "/var/log/a");
        ck_assert_str_eq(b->artifacts[1], "/var/log/b");
        suite_free(s);
}
END_TEST

/* Found by the fuzzer: a test's invalid expect list, then the defaults'
 * list merged over it, leaked the first. ASan/the fuzzer see the leak. */
START_TEST(test_suite_load__merge_over_invalid_list)
{
        assert_error("defaults:\n  expect: {stdout: ['^a']}\n  env: {A: '1'}\n"
                     "  tags: [t]\n  fixtures: ['a:/a']\n  network: {veth: g}\n"
                     "tests:\n  - name: x\n    run: y\n"
                     "    expect: {stdout: ['ok', 'a((']}\n    env: {B: '2', C: }\n"
                     "    tags: [u, 'v w']\n    fixtures: ['b:/b', 'c']\n    network: {bad: g}\n",
                     10, 29, "invalid regular expression 'a(('");
}
END_TEST

START_TEST(test_suite_load__rootfs_forms)
{
        Suite *s = load_ok("rootfs: trees/deb\n" T1 "    run: x\n");
        ck_assert_str_eq(s->rootfs.dir, "/src/trees/deb");
        ck_assert_ptr_null(s->rootfs.distro);
        suite_free(s);
        s = load_ok("rootfs: /srv/tree\n" T1 "    run: x\n");
        ck_assert_str_eq(s->rootfs.dir, "/srv/tree");
        suite_free(s);
        s = load_ok("rootfs: {suite: trixie, variant: minbase, include: [systemd, dbus],\n"
                    "         mirror: 'http://deb.debian.org/debian'}\n" T1 "    run: x\n");
        ck_assert_str_eq(s->rootfs.distro, "debian");
        ck_assert_str_eq(s->rootfs.release, "trixie");
        ck_assert_str_eq(s->rootfs.variant, "minbase");
        ck_assert_str_eq(s->rootfs.include[1], "dbus");
        ck_assert_str_eq(s->rootfs.mirror, "http://deb.debian.org/debian");
        suite_free(s);
}
END_TEST

START_TEST(test_suite_load__network_and_skip)
{
        Suite *s = load_ok("tests:\n"
                           "  - {name: a, run: x, network: host}\n"
                           "  - {name: b, run: x, network: {veth: lab}}\n"
                           "  - {name: c, skip: true}\n"
                           "  - {name: d, skip: not yet}\n"
                           "  - {name: e, run: x, skip: false, retries: 10}\n");
        ck_assert_int_eq(s->tests[0].network, SUITE_NETWORK_HOST);
        ck_assert_int_eq(s->tests[1].network, SUITE_NETWORK_VETH);
        ck_assert_str_eq(s->tests[1].network_group, "lab");
        ck_assert_str_eq(s->tests[2].skip, "skipped");
        ck_assert_ptr_null(s->tests[2].run);
        ck_assert_str_eq(s->tests[3].skip, "not yet");
        ck_assert_ptr_null(s->tests[4].skip);
        ck_assert_uint_eq(s->tests[4].retries, 10);
        suite_free(s);
}
END_TEST

START_TEST(test_suite_load__reboots)
{
        Suite *s = load_ok("defaults: {reboots: 3}\n"
                           "tests:\n"
                           "  - {name: a, run: x}\n"
                           "  - {name: b, run: x, reboots: 0}\n"
                           "  - {name: c, run: x, reboots: 100}\n");
        ck_assert_uint_eq(s->tests[0].reboots, 3);
        ck_assert_uint_eq(s->tests[1].reboots, 0);
        ck_assert_uint_eq(s->tests[2].reboots, 100);
        suite_free(s);
        assert_error(T1 "    run: x\n    reboots: 101\n", 4, 14, "expected 0 to 100");
        assert_error(T1 "    run: x\n    boot: false\n    reboots: 1\n", 2, 5,
                     "reboots need boot mode");
}
END_TEST

START_TEST(test_suite_load__test_id_and_tags)
{
        Suite *s = load_ok("name: pkg\ntests:\n  - {name: installs, run: x, tags: [slow, apt]}\n"
                           "  - {name: purges, run: x}\n");
        char *id = suite_test_id(s, &s->tests[0]);
        ck_assert_str_eq(id, "pkg/installs");
        free(id);
        ck_assert_uint_eq(th_strv_length(s->tests[0].tags), 2);
        ck_assert_str_eq(s->tests[0].tags[0], "slow");
        ck_assert_str_eq(s->tests[0].tags[1], "apt");
        ck_assert_uint_eq(th_strv_length(s->tests[1].tags), 0);
        suite_free(s);
}
END_TEST

/* ---- every error class, with its location ---- */

START_TEST(test_suite_load__unknown_key_suggests)
{
        assert_error(T1 "    run: x\n    timout: 5\n", 4, 5,
                     "unknown key 'timout' in a test; did you mean 'timeout'?");
        assert_error("nmae: x\n" T1 "    run: x\n", 1, 1, "did you mean 'name'?");
        assert_error(T1 "    run: x\n    frobnicate: 1\n", 4, 5, "unknown key 'frobnicate'");
        assert_error(T1 "    run: x\n    expect: {exti: 1}\n", 4, 14, "did you mean 'exit'?");
        assert_error(T1 "    run: x\n    limits: {mem: 1G}\n", 4, 14, "unknown key 'mem'");
}
END_TEST

START_TEST(test_suite_load__wrong_types)
{
        assert_error(T1 "    run: [a, b]\n", 3, 10,
                     "expected a shell script (a string), got a list");
        assert_error(T1 "    run: true\n", 3, 10, "got a boolean (quote it: \"true\")");
        assert_error(T1 "    run: x\n    boot: yes\n", 4, 11, "expected a boolean (true or false)");
        assert_error(T1 "    run: x\n    env: [A]\n", 4, 10,
                     "expected a mapping of variable names");
        assert_error(T1 "    run: x\n    env: {A: }\n", 4, 14,
                     "expected a value (a string), got an empty value");
        assert_error(T1 "    run: x\n    tags: install\n", 4, 11,
                     "expected a list of words, got a string");
        assert_error("tests: {a: 1}\n", 1, 8, "expected a list of tests, got a mapping");
        assert_error("- a\n", 1, 1, "expected a suite (a mapping");
        assert_error("tests:\n  - just a string\n", 2, 5,
                     "expected a test (a mapping), got a string");
        assert_error(T1 "    run: x\n    expect: 0\n", 4, 13, "expected a mapping with exit");
        assert_error(T1 "    run: x\n    retries: '1'\n", 4, 14,
                     "expected an integer, got a string");
        assert_error("? [a]\n: 1\n" T1 "    run: x\n", 1, 3,
                     "expected a key (a string), got a list");
}
END_TEST

START_TEST(test_suite_load__missing_required)
{
        assert_error(T1 "    timeout: 5\n", 2, 5,
                     "test 'a' is missing 'run' (required unless 'skip' is set)");
        assert_error("tests:\n  - run: x\n", 2, 5, "test is missing 'name'");
        assert_error("name: x\n", 1, 1, "missing required key 'tests'");
        assert_error("rootfs: {variant: apt}\n" T1 "    run: x\n", 1, 9,
                     "rootfs is missing 'suite'");
        assert_error(T1 "    run: x\n    fixtures: [{source: a}]\n", 4, 16,
                     "fixture is missing 'target'");
}
END_TEST

START_TEST(test_suite_load__duplicates)
{
        assert_error(T1 "    run: x\n    run: y\n", 4, 5,
                     "duplicate key 'run' (first at line 3, column 5)");
        assert_error(
                "tests:\n  - {name: a, run: x}\n  - name: b\n    run: x\n  - {name: a, run: y}\n",
                5, 12, "duplicate test name 'a' (first at line 2)");
        assert_error("name: a\nname: b\n" T1 "    run: x\n", 2, 1, "duplicate key 'name'");
}
END_TEST

START_TEST(test_suite_load__empty)
{
        assert_error("", 1, 1, "empty suite");
        assert_error("# only a comment\n", 1, 1, "empty suite");
        assert_error("tests: []\n", 1, 8, "'tests' is empty");
        assert_error("tests:\n", 1, 7, "expected a list of tests, got an empty value");
}
END_TEST

START_TEST(test_suite_load__regex)
{
        assert_error(T1 "    run: x\n    expect:\n      stdout: ['ok', 'a((']\n", 5, 22,
                     "invalid regular expression 'a((': Unmatched ( or \\(");
        assert_error(T1 "    run: x\n    expect: {stderr-not: '[z-a]'}\n", 4, 26,
                     "Invalid range end");
        assert_error(T1 "    run: x\n    expect: {stdout: '(a)\\1'}\n", 4, 22,
                     "back-references are not supported");
        assert_error(T1 "    run: x\n    expect: {stdout: 'a{1000}'}\n", 4, 22,
                     "repetition count 1000 exceeds 255");
        assert_error(T1 "    run: x\n    expect: {stdout: '((a{200}){200}){200}'}\n", 4, 22,
                     "is too complex: its repetitions expand too much");
        assert_error(T1 "    run: x\n    expect: {stdout: '(a{100}){101}'}\n", 4, 22,
                     "too complex");
        /* Found by the fuzzer: every '+' doubles the tree in glibc's regcomp. */
        assert_error(T1 "    run: x\n    expect: {stdout: 'f++++++++++++++++++++++++++++++'}\n", 4,
                     22, "one after another");
        /* Found by the fuzzer: stacked operators, and many of them, make glibc's
         * closure computation quadratic. */
        assert_error(T1 "    run: x\n    expect: {stdout: 'w**{255}'}\n", 4, 22,
                     "repetition operators one after another");
        assert_error(T1 "    run: x\n    expect: {stdout: 'error.*?done'}\n", 4, 22,
                     "repetition operators one after another (like 'a**' or '.*?')");
        {
                char pat[1024] = "";
                for (int i = 0; i < 100; i++)
                        strcat(pat, "(a*)*");
                char doc[1200];
                snprintf(doc, sizeof(doc), T1 "    run: x\n    expect: {stdout: '%s'}\n", pat);
                assert_error(doc, 4, 22, "too complex");
        }
        assert_error(T1
                     "    run: x\n    expect: {stdout: "
                     "'((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))'}\n",
                     4, 22, "groups are nested deeper than 32");
        /* Sequential counts add up, they do not multiply. */
        Suite *s = load_ok(T1 "    run: x\n    expect: {stdout: "
                              "'x{16}y{16}z{16}w{16}[0-9]{1,3}(\\.[0-9]{1,3}){3}'}\n");
        suite_free(s);
        /* Many regexes together have a budget too. */
        size_t cap = 600 * 1024, len;
        char *buf = malloc(cap);
        len = (size_t)snprintf(buf, cap,
                               "tests:\n  - name: a\n    run: x\n    expect:\n      stdout:\n");
        for (int i = 0; i < 4000; i++)
                len += (size_t)snprintf(buf + len, cap - len, "        - 'a{100}'\n");
        assert_error(
                buf, 5 + 1232 /* 1232 x (101 nodes x 2 + 1) > 250000 */, 11,
                "too many regular expressions: together they expand to more than 250000 nodes");
        free(buf);
}
END_TEST

START_TEST(test_suite_load__durations)
{
        assert_error(T1 "    run: x\n    timeout: 5 minutes\n", 4, 14,
                     "invalid duration '5 minutes'");
        assert_error(T1 "    run: x\n    timeout: -1\n", 4, 14, "invalid duration '-1'");
        assert_error(T1 "    run: x\n    timeout: 0\n", 4, 14, "out of range: expected 1ms to 24h");
        assert_error(T1 "    run: x\n    timeout: 2d\n", 4, 14, "invalid duration");
        assert_error(T1 "    run: x\n    timeout: 25h\n", 4, 14, "out of range");
        assert_error(T1 "    run: x\n    timeout: [1]\n", 4, 14, "expected a duration");
}
END_TEST

START_TEST(test_suite_load__sizes_and_limits)
{
        assert_error(T1 "    run: x\n    limits: {memory: 12Q}\n", 4, 22, "invalid size '12Q'");
        assert_error(T1 "    run: x\n    limits: {memory: 512}\n", 4, 22, "too small");
        assert_error(T1 "    run: x\n    limits: {pids: 1.5}\n", 4, 20, "expected an integer");
        assert_error(T1 "    run: x\n    limits: {pids: 0}\n", 4, 20, "out of range");
        assert_error(T1 "    run: x\n    limits: {cpu: lots}\n", 4, 19,
                     "expected a number of CPUs");
        assert_error(T1 "    run: x\n    limits: {cpu: 0}\n", 4, 19, "out of range");
        assert_error(T1 "    run: x\n    expect: {exit: 256}\n", 4, 20,
                     "256 is out of range: expected 0 to 255");
        assert_error(T1 "    run: x\n    retries: 11\n", 4, 14, "expected 0 to 10");
}
END_TEST

START_TEST(test_suite_load__network)
{
        assert_error(T1 "    run: x\n    network: bridge\n", 4, 14,
                     "invalid network mode 'bridge'");
        assert_error(T1 "    run: x\n    network: {bridge: x}\n", 4, 15,
                     "invalid network: expected {veth: GROUP}");
        assert_error(T1 "    run: x\n    network: [veth]\n", 4, 14, "expected a network mode");
}
END_TEST

START_TEST(test_suite_load__fixtures)
{
        assert_error(T1 "    run: x\n    fixtures: [nocolon]\n", 4, 16,
                     "fixture 'nocolon' has no ':'");
        assert_error(T1 "    run: x\n    fixtures: ['a:relative']\n", 4, 16,
                     "fixture target 'relative' is not an absolute path");
        assert_error(T1 "    run: x\n    fixtures: [':/x']\n", 4, 16, "source must not be empty");
        assert_error(T1 "    run: x\n    fixtures: [{source: a, target: /b, writable: 1}]\n", 4, 50,
                     "expected a boolean");
}
END_TEST

START_TEST(test_suite_load__scope_and_values)
{
        assert_error(T1 "    run: x\n    packages: [hello]\n", 4, 5, "it belongs in 'defaults'");
        assert_error("defaults: {name: x}\n" T1 "    run: x\n", 1, 12,
                     "'name' is not allowed in 'defaults'");
        assert_error(T1 "    run: x\n    workdir: srv\n", 4, 14, "'srv' is not an absolute path");
        assert_error(T1 "    run: x\n    artifacts: [log]\n", 4, 17, "not an absolute path");
        assert_error(T1 "    run: x\n    artifacts: [/ok, /var/log/../../etc/x]\n", 4, 22,
                     "artifact path '/var/log/../../etc/x' must not contain '..' components");
        assert_error(T1 "    run: x\n    artifacts: ['/x/..']\n", 4, 17, "'..' components");
        assert_error(T1 "    run: x\n    limits: {artifacts: 1K}\n", 4, 25,
                     "artifacts limit '1K' is too small");
        assert_error(T1 "    run: x\n    tags: ['a b']\n", 4, 12, "without spaces or commas");
        assert_error(T1 "    run: x\n    env: {'A=B': x}\n", 4, 11, "invalid variable name 'A=B'");
        assert_error(T1 "    run: '   '\n", 3, 10, "script must not be empty");
        assert_error("rootfs: {suite: trixie, variant: tiny}\n" T1 "    run: x\n", 1, 34,
                     "invalid variant 'tiny'");
        assert_error("rootfs: {suite: trixie, mirror: nowhere}\n" T1 "    run: x\n", 1, 33,
                     "invalid mirror 'nowhere'");
}
END_TEST

START_TEST(test_suite_load__names)
{
        assert_error("tests:\n  - name: \"a\\nb\"\n    run: x\n", 2, 11,
                     "name must not contain U+000A (a control character)");
        assert_error("tests:\n  - name: \"a\\tb\"\n    run: x\n", 2, 11, "U+0009");
        assert_error("tests:\n  - name: ''\n    run: x\n", 2, 11, "name must not be empty");
        {
                /* An invalid name is one error, not also a missing name. */
                Suite *s0 = NULL;
                SuiteDiags d = {};
                ck_assert_int_eq(load("tests:\n  - {name: [x], run: y}\n", &s0, &d), -EINVAL);
                ck_assert_uint_eq(d.n, 1);
                ck_assert(has_diag(&d, 2, 12, "expected a name (a string), got a list"));
                suite_diags_done(&d);
        }
        assert_error("name: \"\\x01\"\n" T1 "    run: x\n", 1, 7, "U+0001 (a control character)");
        char buf[600];
        snprintf(buf, sizeof(buf), "tests:\n  - name: %0300d\n    run: x\n", 0);
        assert_error(buf, 2, 11, "name is longer than 256 bytes");
        Suite *s = load_ok("tests:\n  - name: 'ünïcode / with spaces: ok'\n    run: x\n");
        ck_assert_str_eq(s->tests[0].name, "ünïcode / with spaces: ok");
        suite_free(s);
}
END_TEST

/* Names and path-like values reach the operator's terminal and the file
 * system: no character that a terminal acts on (C0, DEL, C1) or that
 * reorders the line (bidirectional controls). Scripts and env values stay
 * free. */
START_TEST(test_suite_load__terminal_controls)
{
        assert_error("name: \"ps\\x9b2J\\x9d0;TITLE\\x9c\"\n" T1 "    run: x\n", 1, 7,
                     "name must not contain U+009B (a control character)");
        assert_error("tests:\n  - name: \"direct\\u202e\"\n    run: x\n", 2, 11,
                     "name must not contain U+202E (a bidirectional control)");
        assert_error("tests:\n  - name: \"a\\N\"\n    run: x\n", 2, 11, "U+0085");
        assert_error("tests:\n  - name: \"a\\x7f\"\n    run: x\n", 2, 11, "U+007F");
        assert_error("tests:\n  - name: \"\\u2066x\\u2069\"\n    run: x\n", 2, 11, "U+2066");
        assert_error("tests:\n  - name: \"\\u200f\"\n    run: x\n", 2, 11, "U+200F");
        assert_error("rootfs: \"nope\\e[2J\\e]0;TITLE\\a\"\n" T1 "    run: x\n", 1, 9,
                     "rootfs must not contain U+001B");
        assert_error("rootfs: [debian:bookworm, \"/t\\u202a\"]\n" T1 "    run: x\n", 1, 27,
                     "rootfs must not contain U+202A");
        assert_error(T1 "    run: x\n    user: \"u\\e[32m\"\n", 4, 11,
                     "user must not contain U+001B");
        assert_error(T1 "    run: x\n    workdir: \"/w\\e[33m\"\n", 4, 14,
                     "workdir must not contain U+001B");
        assert_error(T1 "    run: x\n    artifacts: [\"/l\\u202e\"]\n", 4, 17,
                     "artifacts must not contain U+202E");
        assert_error(T1 "    run: x\n    fixtures: [\"a\\x9b:/b\"]\n", 4, 16,
                     "fixture source must not contain U+009B");
        assert_error(T1 "    run: x\n    fixtures: [{source: a, target: \"/b\\t\"}]\n", 4, 16,
                     "fixture target must not contain U+0009");
        assert_error(T1 "    run: x\n    env: {\"A\\u202e\": x}\n", 4, 11,
                     "env variable name must not contain U+202E");
        assert_error(T1 "    run: x\n    tags: [\"t\\e\"]\n", 4, 12,
                     "tags must not contain U+001B");
        assert_error(T1 "    run: x\n    network: {veth: \"g\\x85\"}\n", 4, 21,
                     "network group must not contain U+0085");
        assert_error("defaults:\n  workdir: \"/\\x1b\"\n" T1 "    run: x\n", 2, 12,
                     "workdir must not contain U+001B");

        /* A suite named by its file's name. */
        Suite *s = NULL;
        SuiteDiags d = {};
        const char *y = T1 "    run: x\n";
        ck_assert_int_eq(suite_load_buffer("/src/s\033]0;T\a.yaml", y, strlen(y), &s, &d), -EINVAL);
        ck_assert(has_diag(&d, 1, 1, "suite name (the file's name) must not contain U+001B"));
        suite_diags_done(&d);

        /* Scripts and env values are the test's own business; printable
         * UTF-8 in names is fine. */
        s = load_ok("name: \"s\\u00e9\\u20ac\"\n" T1 "    setup: \"printf '\\e[1m\\x9b\\u202e'\"\n"
                    "    run: \"echo \\e[2J\\u202e\"\n    env: {A: \"\\e]52;c;eA==\\a\\u2066\"}\n");
        ck_assert_str_eq(s->name, "s\u00e9\u20ac");
        ck_assert_str_eq(s->tests[0].env[0].value, "\033]52;c;eA==\a\u2066");
        ck_assert_ptr_nonnull(strstr(s->tests[0].run, "\033[2J\u202e"));
        suite_free(s);
}
END_TEST

START_TEST(test_suite_load__anchors_aliases_tags)
{
        assert_error("defaults: &d {boot: false}\n" T1 "    run: x\n", 1, 11,
                     "anchors (&d) are not supported");
        assert_error("x: &a 1\n" T1 "    run: *a\n", 4, 10, "aliases (*a) are not supported");
        assert_error(T1 "    run: !!str x\n", 3, 10,
                     "tags (tag:yaml.org,2002:str) are not supported");
}
END_TEST

START_TEST(test_suite_load__billion_laughs)
{
        const char *doc =
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        Suite *s = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(load(doc, &s, &d), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert(has_diag(&d, 1, 4, "anchors (&a) are not supported"));
        ck_assert_uint_eq(d.n, SUITE_MAX_DIAGS);
        ck_assert(d.truncated);
        suite_diags_done(&d);
}
END_TEST

START_TEST(test_suite_load__syntax_errors)
{
        assert_error(T1 "    run: x\n   bad: indent\n", 4, 4,
                     "syntax error: did not find expected '-' indicator");
        assert_error("name: a: b\n", 1, 8, "syntax error: mapping values are not allowed");
        assert_error("tests: [a, b\n", 2, 1, "syntax error: did not find expected ',' or ']'");
        assert_error("name: \"unterminated\n", 2, 1,
                     "syntax error: found unexpected end of stream");
        assert_error("name: x\n---\nname: y\n", 2, 1, "one YAML document");
        /* The reader gives only a byte offset; the location is computed. */
        assert_error("name: ok\nrun: \x01\n", 2, 6,
                     "invalid input: control characters are not allowed");
        assert_error("name: \xff\xfe\n", 1, 7, "invalid input: invalid leading UTF-8 octet");
}
END_TEST

START_TEST(test_suite_load__depth_limit)
{
        char buf[256] = "tests: ";
        for (int i = 0; i < 40; i++)
                strcat(buf, "[");
        assert_error(buf, 1, 8 + SUITE_MAX_DEPTH - 1, "nesting is deeper than 32 levels");
}
END_TEST

START_TEST(test_suite_load__size_limits)
{
        Suite *s = NULL;
        SuiteDiags d = {};
        size_t big = SUITE_MAX_FILE_SIZE + 1;
        char *buf = malloc(big + 1);
        memset(buf, '#', big);
        buf[big] = 0;
        ck_assert_int_eq(suite_load_buffer("big.yaml", buf, big, &s, &d), -EFBIG);
        ck_assert(has_diag(&d, 1, 1, "file is larger than 1048576 bytes"));
        suite_diags_done(&d);

        /* One scalar over the string limit. */
        size_t n = SUITE_MAX_STRING + 1;
        memcpy(buf, "name: ", 6);
        memset(buf + 6, 'x', n);
        strcpy(buf + 6 + n, "\n" T1 "    run: x\n");
        ck_assert_int_eq(suite_load_buffer("long.yaml", buf, strlen(buf), &s, &d), -EINVAL);
        ck_assert(has_diag(&d, 1, 7, "value is longer than 262144 bytes"));
        suite_diags_done(&d);

        /* More tests than allowed, in a small file. */
        strcpy(buf, "tests: [");
        size_t len = strlen(buf);
        for (int i = 0; i <= SUITE_MAX_TESTS; i++) {
                memcpy(buf + len, "{},", 3);
                len += 3;
        }
        memcpy(buf + len, "{}]\n", 5);
        ck_assert_int_eq(suite_load_buffer("many.yaml", buf, strlen(buf), &s, &d), -EINVAL);
        ck_assert(has_diag(&d, 1, 8, "more than 100000 tests"));
        suite_diags_done(&d);
        free(buf);
}
END_TEST

START_TEST(test_suite_load__merge_budget)
{
        /* A 200 KiB setup script in defaults, merged into 1000 tests, would
         * make a 200 MB model from a 220 KB file. */
        size_t script = 200 * 1024, cap = script + 64 * 1024;
        char *buf = malloc(cap);
        size_t len = (size_t)snprintf(buf, cap, "defaults:\n  setup: ");
        memset(buf + len, 'x', script);
        len += script;
        len += (size_t)snprintf(buf + len, cap - len, "\ntests:\n");
        for (int i = 0; i < 1000; i++)
                len += (size_t)snprintf(buf + len, cap - len, "- {name: t%d, run: x}\n", i);
        Suite *s = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(suite_load_buffer("b.yaml", buf, len, &s, &d), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert(
                has_diag(&d, 1, 1, "suite is too large: more than 64 MiB after merging defaults"));
        suite_diags_done(&d);
        free(buf);
}
END_TEST

START_TEST(test_suite_load__reports_all_errors_sorted_and_capped)
{
        Suite *s = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(
                load("tests:\n  - {name: a, run: x, boot: 1}\n  - {name: b, timout: 1, run: y}\n",
                     &s, &d),
                -EINVAL);
        ck_assert_uint_eq(d.n, 2);
        ck_assert(!d.truncated);
        ck_assert_uint_eq(d.items[0].loc.line, 2);
        ck_assert_uint_eq(d.items[1].loc.line, 3);
        char *line = suite_diag_format(&d.items[1]);
        ck_assert_str_eq(
                line, "/src/t.yaml:3:15: unknown key 'timout' in a test; did you mean 'timeout'?");
        free(line);
        suite_diags_done(&d);

        char buf[4096] = "tests:\n";
        for (int i = 0; i < 30; i++)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
                         "  - {name: t%d, run: x, boot: 2}\n", i);
        ck_assert_int_eq(load(buf, &s, &d), -EINVAL);
        ck_assert_uint_eq(d.n, SUITE_MAX_DIAGS);
        ck_assert(d.truncated);
        ck_assert_uint_eq(d.items[19].loc.line, 21);
        suite_diags_done(&d);
}
END_TEST

START_TEST(test_suite_load__file_paths_relative_to_suite)
{
        char dir[] = "/tmp/check-suite-XXXXXX", path[64], cwd[4096];
        const char *yaml = "rootfs: tree\ntests:\n  - {name: a, run: x, fixtures: ['fx:/srv']}\n";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/my-suite.yml", dir);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(yaml, f);
        fclose(f);

        /* Load through a relative path from another directory. */
        ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
        ck_assert_int_eq(chdir("/tmp"), 0);
        Suite *s = NULL;
        SuiteDiags d = {};
        int r = suite_load(path + strlen("/tmp/"), &s, &d);
        ck_assert_int_eq(chdir(cwd), 0);
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(s->name, "my-suite");
        ck_assert_str_eq(s->path, path + strlen("/tmp/"));
        ck_assert_str_eq(s->base_dir, dir);
        char want[128];
        snprintf(want, sizeof(want), "%s/tree", dir);
        ck_assert_str_eq(s->rootfs.dir, want);
        snprintf(want, sizeof(want), "%s/fx", dir);
        ck_assert_str_eq(s->tests[0].fixtures[0].source_abs, want);
        suite_free(s);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_suite_load__file_errors)
{
        Suite *s = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(suite_load("/nonexistent/suite.yaml", &s, &d), -ENOENT);
        ck_assert_uint_eq(d.n, 1);
        char *line = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(line, "/nonexistent/suite.yaml: cannot open: No such file or directory");
        free(line);
        suite_diags_done(&d);
        ck_assert_int_eq(suite_load("/", &s, &d), -EINVAL);
        ck_assert(has_diag(&d, 0, 0, "not a regular file"));
        suite_diags_done(&d);
}
END_TEST

/* suite_load_each(): what it hands out, and what it keeps. */
typedef struct EachSeen {
        size_t n;
        size_t index[8];
        char *name[8];
        char *run[8];
        int stop_at; /* return -ECANCELED at this call (0: never) */
} EachSeen;

static int each_collect(void *userdata, const Suite *s, size_t index, TestSpec *t)
{
        EachSeen *e = userdata;
        ck_assert_ptr_null(s->tests);
        ck_assert_uint_lt(e->n, 8);
        if (e->stop_at && (int)e->n + 1 == e->stop_at)
                return -ECANCELED;
        e->index[e->n] = index;
        e->name[e->n] = strdup(t->name);
        e->run[e->n] = t->run ? strdup(t->run) : NULL;
        e->n++;
        return 0;
}

static void each_seen_done(EachSeen *e)
{
        for (size_t i = 0; i < e->n; i++) {
                free(e->name[i]);
                free(e->run[i]);
        }
        *e = (EachSeen){};
}

static char *write_temp(const char *yaml)
{
        char *path = strdup("/tmp/check-suite-each-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
        close(fd);
        return path;
}

START_TEST(test_suite_load__each)
{
        /* defaults after tests: still merged into every test */
        const char *yaml = "name: e\n"
                           "tests:\n"
                           "  - name: a\n"
                           "  - {name: b, run: mine}\n"
                           "  - name: c\n"
                           "  - name: d\n"
                           "defaults:\n"
                           "  run: shared\n";
        char *path = write_temp(yaml);
        EachSeen e = {};
        SuiteEach each = { .fn = each_collect, .userdata = &e };
        SuiteDiags d = {};
        Suite *s = NULL;

        ck_assert_int_eq(suite_load_each(path, 0, &each, &s, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        ck_assert_ptr_null(s->tests);
        ck_assert_uint_eq(s->n_tests, 0);
        ck_assert_uint_eq(s->n_file_tests, 4);
        ck_assert_uint_eq(strlen(s->sha256), 64);
        ck_assert_uint_eq(e.n, 4);
        for (size_t i = 0; i < 4; i++)
                ck_assert_uint_eq(e.index[i], i);
        ck_assert_str_eq(e.name[2], "c");
        ck_assert_str_eq(e.run[0], "shared");
        ck_assert_str_eq(e.run[1], "mine");
        each_seen_done(&e);

        /* A range of a file checked before: only those tests. */
        char sha[65];
        memcpy(sha, s->sha256, sizeof(sha));
        suite_free(s);
        each = (SuiteEach){
                .fn = each_collect, .userdata = &e, .first = 1, .count = 2, .sha256 = sha
        };
        ck_assert_int_eq(suite_load_each(path, 0, &each, &s, &d), 0);
        ck_assert_uint_eq(e.n, 2);
        ck_assert_uint_eq(e.index[0], 1);
        ck_assert_uint_eq(e.index[1], 2);
        ck_assert_str_eq(e.name[0], "b");
        ck_assert_str_eq(e.run[1], "shared");
        each_seen_done(&e);
        suite_free(s);

        /* The file changed since: refused. */
        sha[0] = sha[0] == '0' ? '1' : '0';
        ck_assert_int_eq(suite_load_each(path, 0, &each, &s, &d), -ESTALE);
        ck_assert_ptr_null(s);
        ck_assert_uint_eq(e.n, 0);
        ck_assert(has_diag(&d, 0, 0, "changed since it was checked"));
        suite_diags_done(&d);

        /* The callback's error stops the load. */
        each = (SuiteEach){ .fn = each_collect, .userdata = &e };
        e.stop_at = 3;
        ck_assert_int_eq(suite_load_each(path, 0, &each, &s, &d), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_uint_eq(e.n, 2);
        each_seen_done(&e);
        suite_diags_done(&d);
        unlink(path);
        free(path);

        /* An error: the same messages as suite_load(), nothing handed out
         * after it. */
        path = write_temp("tests:\n  - name: a\n    run: x\n  - name: a\n    run: y\n"
                          "  - {name: b, run: z, boot: 1}\n  - {name: c, run: w}\n");
        ck_assert_int_eq(suite_load_each(path, 0, &each, &s, &d), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert(has_diag(&d, 4, 11, "duplicate test name 'a' (first at line 2)"));
        ck_assert(has_diag(&d, 6, 29, "expected a boolean"));
        ck_assert_uint_eq(d.n, 2);
        ck_assert_uint_le(e.n, 2);
        each_seen_done(&e);
        suite_diags_done(&d);
        unlink(path);
        free(path);
}
END_TEST

static Suite *suite_load_suite(void)
{
        Suite *s = suite_create("suite_load");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_suite_load__happy_path);
        tcase_add_test(tc, test_suite_load__defaults_for_unset_fields);
        tcase_add_test(tc, test_suite_load__private_users_location);
        tcase_add_test(tc, test_suite_load__defaults_merge);
        tcase_add_test(tc, test_suite_load__skip_exit_and_stderr_empty);
        tcase_add_test(tc, test_suite_load__packages_relations);
        tcase_add_test(tc, test_suite_load__install);
        tcase_add_test(tc, test_suite_load__reboots);
        tcase_add_test(tc, test_suite_load__system_expect);
        tcase_add_test(tc, test_suite_load__merge_over_invalid_list);
        tcase_add_test(tc, test_suite_load__rootfs_forms);
        tcase_add_test(tc, test_suite_load__network_and_skip);
        tcase_add_test(tc, test_suite_load__test_id_and_tags);
        tcase_add_test(tc, test_suite_load__unknown_key_suggests);
        tcase_add_test(tc, test_suite_load__wrong_types);
        tcase_add_test(tc, test_suite_load__missing_required);
        tcase_add_test(tc, test_suite_load__duplicates);
        tcase_add_test(tc, test_suite_load__empty);
        tcase_add_test(tc, test_suite_load__regex);
        tcase_add_test(tc, test_suite_load__durations);
        tcase_add_test(tc, test_suite_load__sizes_and_limits);
        tcase_add_test(tc, test_suite_load__network);
        tcase_add_test(tc, test_suite_load__fixtures);
        tcase_add_test(tc, test_suite_load__scope_and_values);
        tcase_add_test(tc, test_suite_load__names);
        tcase_add_test(tc, test_suite_load__terminal_controls);
        tcase_add_test(tc, test_suite_load__anchors_aliases_tags);
        tcase_add_test(tc, test_suite_load__billion_laughs);
        tcase_add_test(tc, test_suite_load__syntax_errors);
        tcase_add_test(tc, test_suite_load__depth_limit);
        tcase_add_test(tc, test_suite_load__size_limits);
        tcase_add_test(tc, test_suite_load__merge_budget);
        tcase_add_test(tc, test_suite_load__reports_all_errors_sorted_and_capped);
        tcase_add_test(tc, test_suite_load__file_paths_relative_to_suite);
        tcase_add_test(tc, test_suite_load__file_errors);
        tcase_add_test(tc, test_suite_load__each);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite_load_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

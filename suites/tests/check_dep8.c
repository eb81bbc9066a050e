/* Unit tests of the DEP-8 parser: real control files of Debian bookworm
 * source packages (tests/data/dep8, see its README) compared test by test
 * with what autopkgtest's own parser and dpkg make of them (the expected
 * files), every malformed case with its exact message and line, the
 * architecture matching against dpkg's, and the Depends: expansion. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dep8.h"

#ifndef DEP8_DATA_DIR
#error "DEP8_DATA_DIR must be defined"
#endif

static char *data_path(const char *pkg, const char *rel)
{
        char *p = NULL;
        ck_assert_int_ge(asprintf(&p, "%s/%s/%s", DEP8_DATA_DIR, pkg, rel), 0);
        return p;
}

static void dump(const SuiteDiags *d)
{
        for (size_t i = 0; i < d->n; i++) {
                char *s = suite_diag_format(&d->items[i]);
                fprintf(stderr, "  %s\n", s);
                free(s);
        }
}

static Dep8Control *load_ok(const char *text)
{
        Dep8Control *c = NULL;
        SuiteDiags d = {};
        int r = dep8_load_buffer("t/control", text, strlen(text), &c, &d);
        if (r < 0)
                dump(&d);
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(d.n, 0);
        suite_diags_done(&d);
        return c;
}

/* Asserts that text fails to load and that its first error, formatted,
 * is exactly want ("t/control:LINE: message"). */
static void assert_error(const char *text, const char *want)
{
        Dep8Control *c = NULL;
        SuiteDiags d = {};
        int r = dep8_load_buffer("t/control", text, strlen(text), &c, &d);
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_ge(d.n, 1);
        char *got = suite_diag_format(&d.items[0]);
        if (strcmp(got, want) != 0)
                dump(&d);
        ck_assert_str_eq(got, want);
        free(got);
        suite_diags_done(&d);
}

static DebControl *control_ok(const char *text)
{
        DebControl *c = NULL;
        SuiteDiags d = {};
        int r = deb_control_load_buffer("debian/control", text, strlen(text), &c, &d);
        if (r < 0)
                dump(&d);
        ck_assert_int_eq(r, 0);
        suite_diags_done(&d);
        return c;
}

static char *expand(const Dep8Test *t, const DebControl *c, const char *arch)
{
        char *s = NULL;
        ThError err = {};
        int r = dep8_expand_depends(t, c, arch, &s, &err);
        if (r < 0)
                fprintf(stderr, "expand: %s\n", err.msg);
        ck_assert_int_eq(r, 0);
        return s;
}

static char *restrictions_string(const Dep8Test *t)
{
        /* Sorted as the expected files have them (Python's sorted()). */
        const char *names[40];
        size_t n = 0;
        for (unsigned b = 0; b < 16; b++)
                if (t->restrictions & (1u << b))
                        names[n++] = dep8_restriction_to_string(1u << b);
        for (char **p = t->unknown_restrictions; p && *p && n < 40; p++)
                names[n++] = *p;
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                        const char *x = names[j];
                        names[j] = names[j - 1];
                        names[j - 1] = x;
                }
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i ? " " : "", names[i]);
        fclose(f);
        return s;
}

/* Every source tree of the data directory: each test's name, script or
 * command, restrictions and amd64 dependencies equal autopkgtest's. */
START_TEST(test_real_packages)
{
        DIR *dir = opendir(DEP8_DATA_DIR);
        struct dirent *de;
        unsigned packages = 0, tests = 0;
        uint32_t seen = 0;
        bool command = false, dir_field = false, feature_name = false;

        ck_assert_ptr_nonnull(dir);
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                char *tc = data_path(de->d_name, "debian/tests/control");
                char *dc = data_path(de->d_name, "debian/control");
                char *ex = data_path(de->d_name, "expected");
                FILE *f = fopen(ex, "re");
                if (!f) {
                        free(tc), free(dc), free(ex);
                        continue;
                }
                Dep8Control *c = NULL;
                DebControl *ctl = NULL;
                SuiteDiags d = {};
                int r = dep8_load(tc, &c, &d);
                if (r < 0)
                        dump(&d);
                ck_assert_int_eq(r, 0);
                r = deb_control_load(dc, &ctl, &d);
                if (r < 0)
                        dump(&d);
                ck_assert_int_eq(r, 0);

                char *line = NULL;
                size_t cap = 0, i = 0;
                while (getline(&line, &cap, f) > 0) {
                        line[strcspn(line, "\n")] = '\0';
                        ck_assert_msg(i < c->n_tests, "%s: more tests expected", de->d_name);
                        const Dep8Test *t = &c->tests[i++];
                        char *restr = restrictions_string(t);
                        char *deps = expand(t, ctl, "amd64");
                        char *got = NULL;
                        ck_assert_int_ge(asprintf(&got, "%s\t%s\t%s\t%s", t->name,
                                                  t->path ? t->path : t->command, restr, deps),
                                         0);
                        ck_assert_msg(strcmp(got, line) == 0, "%s:\n got  %s\n want %s", de->d_name,
                                      got, line);
                        seen |= t->restrictions;
                        command = command || t->command;
                        dir_field = dir_field || (t->path && strncmp(t->path, "debian/tests/", 13));
                        for (char **p = t->features; *p; p++)
                                feature_name = feature_name || !strncmp(*p, "test-name=", 10);
                        free(restr), free(deps), free(got);
                        tests++;
                }
                ck_assert_msg(i == c->n_tests, "%s: %zu tests, %zu expected", de->d_name,
                              c->n_tests, i);
                free(line);
                fclose(f);
                dep8_free(c);
                deb_control_free(ctl);
                suite_diags_done(&d);
                free(tc), free(dc), free(ex);
                packages++;
        }
        closedir(dir);
        ck_assert_uint_ge(packages, 10);
        ck_assert_uint_ge(tests, 80);
        ck_assert(command && dir_field && feature_name);
        /* The real files use every restriction but the ones the README
         * names as covered by the synthetic tests below. */
        uint32_t synthetic = DEP8_HINT_TESTSUITE_TRIGGERS | DEP8_NEEDS_RECOMMENDS;
        ck_assert_uint_eq(seen | synthetic, 0xffffu);
}
END_TEST

/* lintian's own test case of a broken control file: autopkgtest stops at
 * "InvalidControl test test-2: Test Depends field contains an invalid
 * dependency `missing a comma'"; every error is reported here. */
START_TEST(test_lintian_malformed)
{
        char *p = data_path("malformed", "lintian-testsuite-general");
        Dep8Control *c = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(dep8_load(p, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(d.n, 2);
        char *want1 = NULL, *want2 = NULL;
        ck_assert_int_ge(asprintf(&want1,
                                  "%s:20: Only one of \"Tests\" or \"Test-Command\" may be given",
                                  p),
                         0);
        ck_assert_int_ge(asprintf(&want2,
                                  "%s:22: Test Depends field contains an invalid dependency "
                                  "`missing a comma'",
                                  p),
                         0);
        char *got1 = suite_diag_format(&d.items[0]), *got2 = suite_diag_format(&d.items[1]);
        ck_assert_str_eq(got1, want1);
        ck_assert_str_eq(got2, want2);
        free(got1), free(got2), free(want1), free(want2), free(p);
        suite_diags_done(&d);
}
END_TEST

START_TEST(test_format)
{
        Dep8Control *c = load_ok("# leading comment\n"
                                 "\n"
                                 "TESTS: a, b\n"
                                 "  c # comment\n"
                                 "  # a comment line neither ends the stanza nor the value\n"
                                 " d\n"
                                 "depends: x,\n"
                                 "   y (>= 1:2.0-1) [amd64] | z:any\n"
                                 "Restrictions: needs-root allow-stderr,needs-root, custom-thing\n"
                                 "Features: f1 f2\n"
                                 "Classes: desktop, graphics-driver\n"
                                 "Architecture: linux-any\n"
                                 "X-Comment: kept as an unknown field\n"
                                 " \t \n"
                                 "Test-Command: echo \"a  b\" &&\n"
                                 "  true\n"
                                 "Features: test-name=named\n"
                                 "\n"
                                 "Test-Command: true\n"
                                 "Tests-Directory: ignored/for/commands\n"
                                 "\n\n\n"
                                 "Test-Command: false\r\n"
                                 "Depends: @builddeps@, @recommends@\r\n");
        ck_assert_uint_eq(c->n_tests, 7);
        const char *names[] = { "a", "b", "c", "d", "named", "command1", "command2" };
        for (size_t i = 0; i < 7; i++)
                ck_assert_str_eq(c->tests[i].name, names[i]);
        const Dep8Test *t = &c->tests[2];
        ck_assert_str_eq(t->path, "debian/tests/c");
        ck_assert_ptr_null(t->command);
        ck_assert_uint_eq(t->line, 3);
        /* "x," + "   y": three spaces, of which autopkgtest makes two. */
        ck_assert_str_eq(t->depends, "x,  y (>= 1:2.0-1) [amd64] | z:any");
        ck_assert_uint_eq(t->restrictions, DEP8_NEEDS_ROOT | DEP8_ALLOW_STDERR);
        ck_assert_str_eq(t->unknown_restrictions[0], "custom-thing");
        ck_assert_ptr_null(t->unknown_restrictions[1]);
        ck_assert_str_eq(t->features[0], "f1");
        ck_assert_str_eq(t->features[1], "f2");
        ck_assert_str_eq(t->classes[0], "desktop");
        ck_assert_str_eq(t->classes[1], "graphics-driver");
        ck_assert_str_eq(t->architecture, "linux-any");
        ck_assert_str_eq(t->unknown_fields[0], "X-comment");
        t = &c->tests[4];
        /* autopkgtest joins the lines and makes each pair of spaces one. */
        ck_assert_str_eq(t->command, "echo \"a b\" && true");
        ck_assert_ptr_null(t->path);
        ck_assert_str_eq(t->depends, "@");
        ck_assert_uint_eq(t->line, 15);
        ck_assert_str_eq(c->tests[5].command, "true");
        ck_assert_str_eq(c->tests[6].command, "false");
        ck_assert_str_eq(c->tests[6].depends, "@builddeps@, @recommends@");
        ck_assert_uint_eq(c->tests[6].line, 24);
        dep8_free(c);

        c = load_ok("Tests: x\nTests-Directory: tests/dep8/\nRestrictions: hint-testsuite-triggers "
                    "rw-build-tree needs-recommends\n");
        ck_assert_str_eq(c->tests[0].path, "tests/dep8/x");
        ck_assert_uint_eq(c->tests[0].restrictions, DEP8_HINT_TESTSUITE_TRIGGERS |
                                                            DEP8_RW_BUILD_TREE |
                                                            DEP8_NEEDS_RECOMMENDS);
        dep8_free(c);

        c = load_ok("");
        ck_assert_uint_eq(c->n_tests, 0);
        dep8_free(c);
}
END_TEST

START_TEST(test_errors)
{
        assert_error("Tests: a\nTests: b\n", "t/control:2: duplicate field Tests found");
        assert_error("Tests: a\ntests: b\n", "t/control:2: duplicate field tests found");
        assert_error(" Tests: a\n", "t/control:1: continued value line not in field");
        assert_error("Tests: a\n\n  b\n", "t/control:3: continued value line not in field");
        assert_error("Tests: a\nnonsense\n",
                     "t/control:2: line with unknown format (not field-colon-value)");
        assert_error("Tests a\n", "t/control:1: line with unknown format (not field-colon-value)");
        assert_error("Tests: a\n-Foo: b\n", "t/control:2: field cannot start with a hyphen");
        assert_error("Tests: a\nDepends: b\n\nDepends: c\nRestrictions: needs-root\n",
                     "t/control:4: missing \"Tests\" or \"Test-Command\" field");
        assert_error("Depends: c\nTests: a\nTest-Command: true\n",
                     "t/control:1: Only one of \"Tests\" or \"Test-Command\" may be given");
        assert_error("Restrictions: x\nTests: ,\n", "t/control:2: \"Tests\" field is empty");
        assert_error("Tests: a\nFeatures: test-name=b\n",
                     "t/control:2: test-name feature incompatible with Tests");
        assert_error("Test-Command: true\nFeatures: test-name\n",
                     "t/control:2: test-name feature with no argument");
        assert_error("Test-Command: true\nFeatures: test-name=\n",
                     "t/control:2: test-name feature with no argument");
        assert_error("Test-Command: true\nFeatures: test-name=a, test-name=b\n",
                     "t/control:2: only one test-name feature allowed");
        assert_error("Tests: a\n\nTests: b\nDepends: foo, bar baz\n",
                     "t/control:4: Test Depends field contains an invalid dependency `bar baz'");
        assert_error("Tests: a\nDepends: foo (> 1)\n",
                     "t/control:2: Test Depends field contains an invalid dependency `foo (> 1)'");
        assert_error("Tests: a\nDepends: Foo\n",
                     "t/control:2: Test Depends field contains an invalid dependency `Foo'");
        assert_error("Tests: a\nDepends: foo <!nocheck>\n",
                     "t/control:2: Test Depends field contains an invalid dependency `foo "
                     "<!nocheck>'");
        assert_error("Tests: a\nDepends: a |\n",
                     "t/control:2: Test Depends field contains an invalid dependency `'");
        assert_error("Tests: a\nDepends: x | @\n",
                     "t/control:2: Test Depends field contains an invalid dependency `@'");
        assert_error("Tests: a\nDepends: foo (>= 1_2)\n",
                     "t/control:2: Test Depends field contains dependency `foo (>= 1_2)' with "
                     "an invalid version");
        assert_error("Tests: a\nDepends:\n foo (>= 1:)\n",
                     "t/control:2: Test Depends field contains dependency `foo (>= 1:)' with "
                     "an invalid version");
        assert_error("Tests: a\nTests-Directory: /etc\n",
                     "t/control:2: Tests-Directory '/etc' is not a relative path inside the "
                     "source tree");
        assert_error("Tests: a\nTests-Directory: debian/../..\n",
                     "t/control:2: Tests-Directory 'debian/../..' is not a relative path "
                     "inside the source tree");

        /* Every error of a file, in line order. */
        const char *text = "Tests: a\nTests: b\n\nfoo\n\nDepends: x\n";
        Dep8Control *c = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(dep8_load_buffer("t/control", text, strlen(text), &c, &d), -EINVAL);
        ck_assert_uint_eq(d.n, 3);
        ck_assert_uint_eq(d.items[0].loc.line, 2);
        ck_assert_uint_eq(d.items[1].loc.line, 4);
        ck_assert_uint_eq(d.items[2].loc.line, 6);
        suite_diags_done(&d);
}
END_TEST

START_TEST(test_nul_byte)
{
        /* assert_error's strlen stops at the NUL: give the size. */
        static const char text[] = "Tests: a\nDepends: b\0c\n";
        Dep8Control *c = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(dep8_load_buffer("t/control", text, sizeof(text) - 1, &c, &d), -EINVAL);
        char *got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "t/control:2: NUL byte in line");
        free(got);
        suite_diags_done(&d);
        /* A name of bytes that are not UTF-8 (a lone 0x85, NEL in Latin-1)
         * could be written nowhere as it is: refused where it is read. */
        assert_error("Test-Command: true\nFeatures: test-name=a\x85z\n",
                     "t/control:2:22: not UTF-8 (byte 0x85)");
        assert_error("Tests: a\xe2\x80\n", "t/control:1:9: not UTF-8 (byte 0xe2)");
        DebControl *dc = NULL;
        ck_assert_int_eq(deb_control_load_buffer("debian/control", "Source: a\xff\n", 11, &dc, &d),
                         -EINVAL);
        suite_diags_done(&d);
        dep8_free(load_ok("Tests: caf\xc3\xa9\n")); /* UTF-8 is read */
}
END_TEST

START_TEST(test_limits)
{
        size_t n = DEP8_MAX_FILE_SIZE + 1;
        char *big = malloc(n);
        memset(big, '#', n);
        Dep8Control *c = NULL;
        SuiteDiags d = {};
        ck_assert_int_eq(dep8_load_buffer("t/control", big, n, &c, &d), -EFBIG);
        suite_diags_done(&d);
        free(big);

        char *many = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&many, &size);
        fputs("Tests:", f);
        for (int i = 0; i <= DEP8_MAX_TESTS; i++)
                fprintf(f, " t%d", i);
        fputc('\n', f);
        fclose(f);
        ck_assert_int_eq(dep8_load_buffer("t/control", many, size, &c, &d), -EINVAL);
        char *got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "t/control:1: more than 4096 tests");
        free(got);
        free(many);
        suite_diags_done(&d);

        /* Fields in a stanza, values in a list. */
        f = open_memstream(&many, &size);
        fputs("Tests: a\n", f);
        for (int i = 0; i < DEP8_MAX_FIELDS; i++)
                fprintf(f, "X-F%d: 1\n", i);
        fclose(f);
        ck_assert_int_eq(dep8_load_buffer("t/control", many, size, &c, &d), -EINVAL);
        got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "t/control:257: more than 256 fields in a stanza");
        ck_assert_uint_eq(d.n, 1);
        free(got);
        free(many);
        suite_diags_done(&d);
        f = open_memstream(&many, &size);
        fputs("Tests: a\nRestrictions:", f);
        for (int i = 0; i <= DEP8_MAX_LIST; i++)
                fprintf(f, " r%d", i);
        fclose(f);
        ck_assert_int_eq(dep8_load_buffer("t/control", many, size, &c, &d), -EINVAL);
        got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "t/control:2: more than 256 values in Restrictions");
        free(got);
        free(many);
        suite_diags_done(&d);

        /* Each of 4096 tests would copy a 900 kB Depends: refused, not
         * 3.6 GB allocated. */
        f = open_memstream(&many, &size);
        fputs("Tests:", f);
        for (int i = 0; i < DEP8_MAX_TESTS; i++)
                fprintf(f, " t%d", i);
        fputs("\nDepends: a", f);
        for (int i = 0; i < 300000; i++)
                fputs(", a", f);
        fputc('\n', f);
        fclose(f);
        ck_assert_int_eq(dep8_load_buffer("t/control", many, size, &c, &d), -EINVAL);
        got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "t/control:1: the tests take more than 16 MiB (each a copy of its "
                              "stanza's fields)");
        free(got);
        free(many);
        suite_diags_done(&d);

        /* A Depends: that expands past the bound: -E2BIG, quickly. */
        f = open_memstream(&many, &size);
        fputs("Tests: t\nDepends: @", f);
        for (int i = 0; i < 100000; i++)
                fputs(",@", f);
        fputc('\n', f);
        fclose(f);
        c = load_ok(many);
        DebControl *ctl = control_ok("Source: s\n\nPackage: p\nArchitecture: any\n");
        char *deps = NULL;
        ThError err = {};
        ck_assert_int_eq(dep8_expand_depends(&c->tests[0], ctl, "amd64", &deps, &err), -E2BIG);
        ck_assert_str_eq(err.msg, "test t: Depends expands to more than 65536 clauses or 4 MiB");
        dep8_free(c);
        deb_control_free(ctl);
        free(many);

        ck_assert_int_eq(dep8_load("/nonexistent/control", &c, &d), -ENOENT);
        got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "/nonexistent/control: cannot open: No such file or directory");
        free(got);
        suite_diags_done(&d);
}
END_TEST

START_TEST(test_restriction_names)
{
        for (unsigned b = 0; b < 16; b++) {
                const char *s = dep8_restriction_to_string(1u << b);
                ck_assert_ptr_nonnull(s);
                ck_assert_uint_eq(dep8_restriction_from_string(s), 1u << b);
        }
        ck_assert_ptr_null(dep8_restriction_to_string(DEP8_NEEDS_ROOT | DEP8_FLAKY));
        ck_assert_uint_eq(dep8_restriction_from_string("needs-rooot"), 0);
}
END_TEST

/* Expected answers are dpkg's: dpkg-architecture -a ARCH -i WILDCARD. */
START_TEST(test_arch)
{
        static const struct {
                const char *arch, *wildcard;
                bool is;
        } cases[] = {
                { "amd64", "amd64", true },
                { "amd64", "any", true },
                { "amd64", "linux-any", true },
                { "amd64", "any-amd64", true },
                { "amd64", "gnu-linux-any", true },
                { "amd64", "any-i386", false },
                { "amd64", "kfreebsd-any", false },
                { "amd64", "i386", false },
                { "i386", "any-i386", true },
                { "hurd-i386", "any-i386", true },
                { "hurd-i386", "linux-any", false },
                { "armhf", "any-arm", true },
                { "armhf", "eabihf-any-any-arm", true },
                { "armel", "eabihf-any-any-arm", false },
                { "arm64", "any-arm64", true },
                { "x32", "any-amd64", true },
                { "amd64", "all", false },
                { "amd64", "nonsense", false },
                { "nonsense", "linux-any", false },
                { "nonsense", "nonsense", true },
                { "musl-linux-amd64", "linux-any", true },
                { "musl-linux-amd64", "gnu-any-any", false },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                ck_assert_msg(deb_arch_is(cases[i].arch, cases[i].wildcard) == cases[i].is, "%s %s",
                              cases[i].arch, cases[i].wildcard);
}
END_TEST

static const char control_text[] =
        "Source: demo\n"
        "Build-Depends: debhelper-compat (= 13), libfoo-dev [linux-any], libbar-dev [!amd64],\n"
        " python3:any, pkg-config:native, check <!nocheck>, doc-tool <doc>,\n"
        " a | b [i386] | c <!nocheck>\n"
        "Build-Depends-Indep: indep-tool (>= 2)\n"
        "Build-Depends-Arch: arch-tool (< 3)\n"
        "\n"
        "Package: demo\n"
        "Architecture: any\n"
        "Depends: ${misc:Depends}\n"
        "Recommends: ${shlibs:Recommends}, rec-a (>= ${source:Version}), rec-b [amd64] | rec-c,\n"
        " rec-d [i386]\n"
        "\n"
        "Package: demo-data\n"
        "Architecture: all\n"
        "Recommends: rec-e\n"
        "\n"
        "Package: demo-linux\n"
        "Architecture: linux-any\n"
        "\n"
        "Package: demo-i386\n"
        "Architecture: i386 hurd-i386\n"
        "\n"
        "Package: demo-udeb\n"
        "Package-Type: udeb\n"
        "Architecture: any\n"
        "\n"
        "Package: demo-old-udeb\n"
        "XC-Package-Type: udeb\n"
        "Architecture: any\n";

START_TEST(test_control)
{
        DebControl *c = control_ok(control_text);
        ck_assert_str_eq(c->source, "demo");
        ck_assert_uint_eq(c->n_binaries, 6);
        ck_assert_str_eq(c->binaries[1].name, "demo-data");
        ck_assert_uint_eq(c->binaries[1].line, 14);
        ck_assert_str_eq(c->binaries[4].package_type, "udeb");
        ck_assert_str_eq(c->binaries[5].package_type, "udeb");
        ck_assert_str_eq(c->build_depends_indep, "indep-tool (>= 2)");

        char **v = NULL;
        ck_assert_int_eq(deb_control_binaries(c, "amd64", &v), 0);
        ck_assert_str_eq(v[0], "demo");
        ck_assert_str_eq(v[1], "demo-data");
        ck_assert_str_eq(v[2], "demo-linux");
        ck_assert_ptr_null(v[3]);
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
        ck_assert_int_eq(deb_control_binaries(c, "hurd-i386", &v), 0);
        ck_assert_str_eq(v[2], "demo-i386");
        ck_assert_ptr_null(v[3]);
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
        deb_control_free(c);

        DebControl *bad = NULL;
        SuiteDiags d = {};
        const char *text = "Source: x\n\nPackage: y\n\nArchitecture: any\n";
        ck_assert_int_eq(deb_control_load_buffer("debian/control", text, strlen(text), &bad, &d),
                         -EINVAL);
        ck_assert_uint_eq(d.n, 2);
        char *got = suite_diag_format(&d.items[0]);
        ck_assert_str_eq(got, "debian/control:3: binary stanza without an Architecture field");
        free(got);
        got = suite_diag_format(&d.items[1]);
        ck_assert_str_eq(got, "debian/control:5: binary stanza without a Package field");
        free(got);
        suite_diags_done(&d);
}
END_TEST

/* The strings were checked against autopkgtest's pipeline (testdesc.py's
 * expansion, then Dpkg::Deps with reduce_arch for the architecture). */
START_TEST(test_expand)
{
        DebControl *ctl = control_ok(control_text);
        static const struct {
                const char *control, *arch, *want;
        } cases[] = {
                { "Tests: t\n", "amd64", "demo, demo-data, demo-linux" },
                { "Tests: t\n", "i386", "demo, demo-data, demo-linux, demo-i386" },
                { "Tests: t\nDepends: @builddeps@\n", "amd64",
                  "debhelper-compat (= 13), libfoo-dev, python3:any, pkg-config, check, a | c, "
                  "indep-tool (>= 2), arch-tool (<= 3), build-essential" },
                { "Tests: t\nDepends: @builddeps@\n", "i386",
                  "debhelper-compat (= 13), libfoo-dev, libbar-dev, python3:any, pkg-config, "
                  "check, a | b | c, indep-tool (>= 2), arch-tool (<= 3), build-essential" },
                { "Tests: t\nDepends: @recommends@\n", "amd64", "rec-a, rec-b | rec-c, rec-e" },
                { "Tests: t\nDepends: foo\nRestrictions: needs-recommends\n", "amd64",
                  "foo, rec-a, rec-b | rec-c, rec-e" },
                { "Tests: t\nDepends: x [i386] | y (>= 1) [amd64], z [i386], w:any\n", "amd64",
                  "y (>= 1), w:any" },
                { "Tests: t\nDepends: foo\nRestrictions: needs-sudo\n", "amd64", "foo, sudo" },
                { "Tests: t\nDepends: sudo\nRestrictions: needs-sudo\n", "amd64", "sudo" },
                { "Tests: t\nDepends:\n", "amd64", "" },
                { "Tests: t\nDepends: @, ,foo,\n", "amd64", "demo, demo-data, demo-linux, foo" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                Dep8Control *c = load_ok(cases[i].control);
                char *got = expand(&c->tests[0], ctl, cases[i].arch);
                ck_assert_msg(strcmp(got, cases[i].want) == 0, "%s on %s:\n got  %s\n want %s",
                              cases[i].control, cases[i].arch, got, cases[i].want);
                free(got);
                dep8_free(c);
        }
        /* Without a debian/control: `@` is nothing, @builddeps@ is
         * build-essential, as autopkgtest with no debian/control. */
        Dep8Control *c = load_ok("Tests: t\nDepends: @, @builddeps@\n");
        char *got = expand(&c->tests[0], NULL, "amd64");
        ck_assert_str_eq(got, "build-essential");
        free(got);
        dep8_free(c);
        deb_control_free(ctl);

        ctl = control_ok("Source: x\nBuild-Depends: a (>= 1, b\n");
        c = load_ok("Tests: t\nDepends: @builddeps@\n");
        char *s = NULL;
        ThError err = {};
        ck_assert_int_eq(dep8_expand_depends(&c->tests[0], ctl, "amd64", &s, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "debian/control: Invalid build dependencies");
        dep8_free(c);
        deb_control_free(ctl);
}
END_TEST

START_TEST(test_skip_reason)
{
        static const struct {
                const char *control, *want;
        } cases[] = {
                { "Tests: t\n", NULL },
                { "Tests: t\nArchitecture: any\n", NULL },
                { "Tests: t\nArchitecture: linux-any\n", NULL },
                { "Tests: t\nX-Foo: 1\nArchitecture: i386\n", "unknown field X-foo" },
                { "Tests: t\nArchitecture: all\n", "Arch 'all' not allowed in Architecture field" },
                { "Tests: t\nArchitecture: !amd64\n",
                  "Test declares architecture as not supported: amd64" },
                { "Tests: t\nArchitecture: !i386\n", NULL },
                { "Tests: t\nArchitecture: i386 !arm64\n",
                  "It is not permitted for some archs to be prepended by an exclamation mark "
                  "while others aren't" },
                { "Tests: t\nArchitecture: i386, arm64\n",
                  "Test lists explicitly supported architectures, but the current architecture "
                  "amd64 isn't listed." },
                { "Tests: a/b\n", "test name may not contain / character" },
                { "Tests: t\nRestrictions: needs-root, needs-magic\n",
                  "unknown restriction needs-magic" },
                { "Tests: t\nRestrictions: hint-testsuite-triggers\n",
                  "unknown restriction hint-testsuite-triggers" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                Dep8Control *c = load_ok(cases[i].control);
                char *why = NULL;
                int r = dep8_test_skip_reason(&c->tests[0], "amd64", &why);
                if (!cases[i].want) {
                        ck_assert_msg(r == 0, "%s: %s", cases[i].control, why);
                        ck_assert_ptr_null(why);
                } else {
                        ck_assert_int_eq(r, 1);
                        ck_assert_str_eq(why, cases[i].want);
                }
                free(why);
                dep8_free(c);
        }
}
END_TEST

static Suite *dep8_suite(void)
{
        Suite *s = suite_create("dep8");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_real_packages);
        tcase_add_test(tc, test_lintian_malformed);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_nul_byte);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_restriction_names);
        tcase_add_test(tc, test_arch);
        tcase_add_test(tc, test_control);
        tcase_add_test(tc, test_expand);
        tcase_add_test(tc, test_skip_reason);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(dep8_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

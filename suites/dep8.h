/* suites: DEP-8 test control files (debian/tests/control) and the parts of
 * debian/control they refer to. A deb822 reader (comments, continuation
 * lines, several stanzas) with FILE:LINE errors into a plain-data model, and
 * the expansion of a test's Depends: (`@`, `@builddeps@`, `@recommends@`,
 * alternatives, versions, [arch] and <profile> qualifiers) into one
 * relation string apt understands (`apt-get satisfy`). Knows nothing of
 * containers or of how the tests are run; runner/cmd-autopkgtest.c does.
 * The meaning of every field and restriction is autopkgtest's
 * doc/README.package-tests.rst. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "suite.h"

/* Restrictions: field `Restrictions:`, bits of Dep8Test.restrictions. */
typedef enum Dep8Restriction {
        DEP8_ALLOW_STDERR = 1u << 0,
        DEP8_BREAKS_TESTBED = 1u << 1,
        DEP8_BUILD_NEEDED = 1u << 2,
        DEP8_FLAKY = 1u << 3,
        DEP8_HINT_TESTSUITE_TRIGGERS = 1u << 4,
        DEP8_ISOLATION_CONTAINER = 1u << 5,
        DEP8_ISOLATION_MACHINE = 1u << 6,
        DEP8_NEEDS_INTERNET = 1u << 7,
        DEP8_NEEDS_REBOOT = 1u << 8,
        DEP8_NEEDS_RECOMMENDS = 1u << 9,
        DEP8_NEEDS_ROOT = 1u << 10,
        DEP8_NEEDS_SUDO = 1u << 11,
        DEP8_RW_BUILD_TREE = 1u << 12,
        DEP8_SKIP_NOT_INSTALLABLE = 1u << 13,
        DEP8_SKIPPABLE = 1u << 14,
        DEP8_SUPERFICIAL = 1u << 15,
} Dep8Restriction;

/* The restriction's name as written in control files ("allow-stderr"), or
 * NULL for a value that is not exactly one known bit. */
const char *dep8_restriction_to_string(Dep8Restriction r);
/* The bit for a name, or 0 for an unknown one. */
Dep8Restriction dep8_restriction_from_string(const char *s);

/* One test. A stanza with `Tests: a b` gives two, sharing everything but
 * name and path. */
typedef struct Dep8Test {
        char *name;    /* "a"; for Test-Command: Features: test-name=, else "commandN"
                        * (N counts from 1 the Test-Command stanzas without
                        * test-name=, as autopkgtest) */
        char *path;    /* Tests: the script relative to the source root
                        * ("debian/tests/a", after Tests-Directory:); NULL for Test-Command.
                        * A name with a '/' makes a path not to be used: such a test is
                        * skipped (dep8_test_skip_reason) */
        char *command; /* Test-Command: as written (continuation lines joined); NULL for Tests */
        char *depends; /* Depends: as written, continuation lines joined; "@" when absent */
        uint32_t restrictions;       /* Dep8Restriction bits */
        char **unknown_restrictions; /* NULL-terminated; names of no known restriction */
        char **features;             /* NULL-terminated, as written ("test-name=foo") */
        char **classes;              /* NULL-terminated */
        char *architecture;          /* Architecture: as written; NULL = any */
        /* Fields autopkgtest does not know, NULL-terminated, named as it
         * names them ("X-foo"): it skips the test. */
        char **unknown_fields;
        unsigned line; /* of the stanza's first field */
} Dep8Test;

typedef struct Dep8Control {
        char *path; /* as given */
        Dep8Test *tests;
        size_t n_tests;
} Dep8Control;

/* One binary package of debian/control. */
typedef struct DebBinary {
        char *name;
        char *architecture;         /* as written: "any", "all", "amd64 arm64", "linux-any" */
        char *depends, *recommends; /* as written, NULL when absent */
        char *build_profiles;       /* Build-Profiles: as written, NULL when absent */
        /* Package-Type: (or XC-Package-Type:), NULL for a deb; a udeb is
         * none of the binaries of `@`. */
        char *package_type;
        unsigned line;
} DebBinary;

typedef struct DebControl {
        char *path;
        char *source;                                                   /* Source: */
        char *build_depends, *build_depends_indep, *build_depends_arch; /* NULL when absent */
        char *testsuite_triggers;                                       /* NULL when absent */
        DebBinary *binaries;
        size_t n_binaries;
} DebControl;

/* Limits on what a control file may hold (enforced while parsing). */
#define DEP8_MAX_FILE_SIZE (1024 * 1024)
#define DEP8_MAX_TESTS     4096
#define DEP8_MAX_FIELDS    256 /* fields in a stanza */
#define DEP8_MAX_LIST      256 /* values of a Restrictions:, Features: or Classes: */
/* Bytes of the parsed tests, each holding a copy of its stanza's fields. */
#define DEP8_MAX_MODEL (16 * 1024 * 1024)
/* Bytes and clauses of an expanded Depends: (dep8_expand_depends: -E2BIG). */
#define DEP8_MAX_EXPANDED       (4 * 1024 * 1024)
#define DEP8_MAX_EXPANDED_ITEMS 65536

/* The format, as autopkgtest 5.28 reads it (lib/testdesc.py over
 * python-debian), with dpkg's strictness where autopkgtest silently
 * ignores (dpkg-source parses every debian/tests/control of the archive
 * with Dpkg::Control, so archive packages pass both):
 * - a line starting with '#' is dropped; elsewhere '#' starts a comment to
 *   the end of the line, and a line left blank by that is dropped too (it
 *   neither ends a stanza nor a value);
 * - stanzas are separated by empty or whitespace-only lines;
 * - "Name: value" starts a field (names case-insensitive, a repeated one is
 *   an error: "duplicate field NAME found"); a line starting with
 *   whitespace continues the current value ("continued value line not in
 *   field" before any field); anything else is "line with unknown format
 *   (not field-colon-value)";
 * - continuation lines are joined without their newline, then each pair
 *   of spaces becomes one (autopkgtest's un-escaping, also inside
 *   Test-Command:);
 * - Tests:, Restrictions:, Features:, Classes:, Architecture: split on
 *   commas and whitespace;
 * - per stanza exactly one of Tests:/Test-Command: ("missing \"Tests\" or
 *   \"Test-Command\" field", "Only one of \"Tests\" or \"Test-Command\" may be
 *   given"), a non-empty Tests: ("\"Tests\" field is empty"), at most one
 *   Features: test-name=VALUE and only with Test-Command:;
 * - Depends: is checked as autopkgtest checks it: each or-clause is `@`,
 *   `@builddeps@`, `@recommends@` or alternatives `pkg[:arch] [(op version)]
 *   [[arch ...]]` ("Test Depends field contains an invalid dependency
 *   `X'", "... dependency `X' with an invalid version"); <profile>
 *   qualifiers are for Build-Depends only (autopkgtest rejects them here).
 * Every error is "FILE:LINE: message", LINE that of the offending line (of
 * the field for a field's value, of the stanza's first field for a
 * stanza's); at most SUITE_MAX_DIAGS are kept. Files over
 * DEP8_MAX_FILE_SIZE, with more than DEP8_MAX_TESTS tests, a stanza of more
 * than DEP8_MAX_FIELDS fields, a list of more than DEP8_MAX_LIST values or
 * tests over DEP8_MAX_MODEL bytes in all are refused; a NUL byte is an
 * error. Tests-Directory: must be relative and stay inside the source tree
 * (autopkgtest would join an absolute one to nothing).
 *
 * Parses a debian/tests/control. Returns 0 and *ret, or a negative errno
 * with *ret NULL: -EINVAL for an invalid file (every error in diags as
 * "FILE:LINE: message", SuiteDiag with column 0), -EFBIG over
 * DEP8_MAX_FILE_SIZE, the open/read errno, -ENOMEM. A test whose script is
 * missing is not an error here (autopkgtest reports it when it runs). */
int dep8_load(const char *path, Dep8Control **ret, SuiteDiags *diags);
int dep8_load_buffer(const char *name, const char *data, size_t size, Dep8Control **ret,
                     SuiteDiags *diags);
Dep8Control *dep8_free(Dep8Control *c);

/* Parses a debian/control (source stanza first, then binary stanzas), with
 * the same deb822 reader: Package: and Architecture: are required in a
 * binary stanza. */
int deb_control_load(const char *path, DebControl **ret, SuiteDiags *diags);
int deb_control_load_buffer(const char *name, const char *data, size_t size, DebControl **ret,
                            SuiteDiags *diags);
DebControl *deb_control_free(DebControl *c);

/* Whether the Debian architecture arch ("amd64") matches wildcard: "any",
 * the architecture itself, OS-any ("linux-any"), any-CPU ("any-amd64"),
 * ABI-OS-any, or a full tuple; as `dpkg-architecture -a ARCH -i WILDCARD`,
 * for the architectures dpkg knows (an unknown one matches only "any" and
 * itself). */
bool deb_arch_is(const char *arch, const char *wildcard);

/* Why autopkgtest would skip t on arch before running anything, whatever
 * the testbed: an unknown field ("unknown field X-foo"), the Architecture:
 * field, a '/' in the name, an unknown restriction ("unknown restriction
 * foo"; hint-testsuite-triggers is one, autopkgtest 5.28 does not run those
 * tests). Returns 1 and the reason in *ret (malloc'ed, autopkgtest's
 * wording, without "SKIP "), 0 when none applies, -ENOMEM. Restrictions
 * that need a testbed capability are the caller's to judge. */
int dep8_test_skip_reason(const Dep8Test *t, const char *arch, char **ret);

/* The binary packages of c built for arch (Architecture: all, any, the
 * arch itself or a matching wildcard such as linux-any), NULL-terminated,
 * malloc'ed; -ENOMEM. */
int deb_control_binaries(const DebControl *c, const char *arch, char ***ret);

/* Expands a test's Depends: for arch (a Debian architecture, "amd64") into
 * one relation string for `apt-get satisfy`: `@` becomes the binaries of c
 * for arch, `@builddeps@` Build-Depends, -Indep, -Arch and build-essential,
 * `@recommends@` the Recommends: of every binary stanza (substitution
 * variables dropped, as autopkgtest does); the restriction needs-recommends
 * adds `@recommends@` and needs-sudo adds `sudo`. Alternatives whose [arch]
 * qualifier excludes arch are dropped (a clause left empty goes), and so
 * are those restricted to a <profile> (no build profile is active);
 * ":native" is dropped, version constraints and alternatives are kept.
 * Returns 0 and *ret (malloc'ed, "a (>= 1) | b, c"),
 * -EINVAL with err filled for a relation that does not parse ("...:
 * Invalid build dependencies", "...: Invalid Recommends" as autopkgtest),
 * -E2BIG over DEP8_MAX_EXPANDED bytes or DEP8_MAX_EXPANDED_ITEMS clauses,
 * -ENOMEM. */
int dep8_expand_depends(const Dep8Test *t, const DebControl *c, const char *arch, char **ret,
                        ThError *err);

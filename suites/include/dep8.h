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
                        * (N counts Test-Command stanzas from 1, as autopkgtest) */
        char *path;    /* Tests: the script relative to the source root
                        * ("debian/tests/a", after Tests-Directory:); NULL for Test-Command */
        char *command; /* Test-Command: as written (continuation lines joined); NULL for Tests */
        char *depends; /* Depends: as written, continuation lines joined; "@" when absent */
        uint32_t restrictions;       /* Dep8Restriction bits */
        char **unknown_restrictions; /* NULL-terminated; names of no known restriction */
        char **features;             /* NULL-terminated, as written ("test-name=foo") */
        char **classes;              /* NULL-terminated */
        char *architecture;          /* Architecture: as written; NULL = any */
        unsigned line;               /* of the stanza's first field */
} Dep8Test;

typedef struct Dep8Control {
        char *path; /* as given */
        Dep8Test *tests;
        size_t n_tests;
} Dep8Control;

/* One binary package of debian/control. */
typedef struct DebBinary {
        char *name;
        char *architecture; /* as written: "any", "all", "amd64 arm64", "linux-any" */
        char *depends, *recommends; /* as written, NULL when absent */
        char *build_profiles;       /* Build-Profiles: as written, NULL when absent */
        unsigned line;
} DebBinary;

typedef struct DebControl {
        char *path;
        char *source; /* Source: */
        char *build_depends, *build_depends_indep, *build_depends_arch; /* NULL when absent */
        char *testsuite_triggers;                                        /* NULL when absent */
        DebBinary *binaries;
        size_t n_binaries;
} DebControl;

/* Limits on what a control file may hold (enforced while parsing). */
#define DEP8_MAX_FILE_SIZE (1024 * 1024)
#define DEP8_MAX_TESTS     4096

/* Parses a debian/tests/control. Returns 0 and *ret, or a negative errno
 * with *ret NULL: -EINVAL for an invalid file (every error in diags as
 * "FILE:LINE: message", SuiteDiag with column 0), -EFBIG over
 * DEP8_MAX_FILE_SIZE, the open/read errno, -ENOMEM. A test whose script is
 * missing is not an error here (autopkgtest reports it when it runs). */
int dep8_load(const char *path, Dep8Control **ret, SuiteDiags *diags);
int dep8_load_buffer(const char *name, const char *data, size_t size, Dep8Control **ret,
                     SuiteDiags *diags);
Dep8Control *dep8_free(Dep8Control *c);

/* Parses a debian/control (source stanza first, then binary stanzas). */
int deb_control_load(const char *path, DebControl **ret, SuiteDiags *diags);
int deb_control_load_buffer(const char *name, const char *data, size_t size, DebControl **ret,
                            SuiteDiags *diags);
DebControl *deb_control_free(DebControl *c);

/* The binary packages of c built for arch (Architecture: all, any, the
 * arch itself or a matching wildcard such as linux-any), NULL-terminated,
 * malloc'ed; -ENOMEM. */
int deb_control_binaries(const DebControl *c, const char *arch, char ***ret);

/* Expands a test's Depends: for arch (a Debian architecture, "amd64") into
 * one relation string for `apt-get satisfy`: `@` becomes the binaries of c
 * for arch, `@builddeps@` Build-Depends, -Indep, -Arch and build-essential,
 * `@recommends@` the Recommends: of those binaries; clauses whose [arch]
 * qualifier excludes arch are dropped, and so are alternatives restricted to
 * a <profile> (no build profile is active); version constraints and
 * alternatives are kept. Returns 0 and *ret (malloc'ed, "a (>= 1) | b, c"),
 * -EINVAL with err filled for a relation that does not parse, -ENOMEM. */
int dep8_expand_depends(const Dep8Test *t, const DebControl *c, const char *arch, char **ret,
                        ThError *err);

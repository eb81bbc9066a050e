#!/usr/bin/python3
# Writes PKG/expected for each source tree here from autopkgtest's own
# parser (lib/testdesc.py of the installed autopkgtest) and dpkg's
# Dpkg::Deps, so check_dep8 compares the C parser with the real thing.
# One line per test: name, path or command, restrictions (sorted), then
# the relation string autopkgtest hands to apt for amd64 (its
# satisfy_dependencies_string: ":native" removed, deps_parse with
# reduce_arch). Testbed-dependent skips are switched off: every test is
# listed. Usage: expected.py [DIR...]
import os
import subprocess
import sys

sys.path.insert(0, '/usr/share/autopkgtest/lib')
import testdesc  # noqa: E402

ARCH = 'amd64'
testdesc.Test.check_testbed_compat = lambda self, caps, ignore=(): None
testdesc._check_architecture = lambda name, arch, archs: None
testdesc._debian_check_unknown_fields = lambda name, record: None


def reduce(deps):
    deps = deps.replace(':native', '')
    code = '''use Dpkg::Deps;
              $dep = deps_parse($ARGV[0], reduce_arch => 1, host_arch => $ARGV[1]);
              print $dep->output(), "\\n";'''
    return subprocess.run(['perl', '-e', code, deps, ARCH], check=True,
                          capture_output=True, text=True).stdout.strip()


here = os.path.dirname(os.path.abspath(__file__))
dirs = sys.argv[1:] or sorted(d for d in os.listdir(here)
                              if os.path.isfile(os.path.join(here, d, 'debian/tests/control')))
for d in dirs:
    src = os.path.join(here, d)
    tests, _ = testdesc.parse_debian_source(src, [], ARCH, auto_control=False)
    with open(os.path.join(src, 'expected'), 'w') as f:
        for t in tests:
            f.write('%s\t%s\t%s\t%s\n' % (t.name, t.path or t.command,
                                          ' '.join(sorted(t.restrictions)),
                                          reduce(', '.join(t.depends))))

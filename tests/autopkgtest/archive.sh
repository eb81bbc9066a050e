#!/bin/sh
# End to end on real Debian bookworm source packages: `harness autopkgtest
# PKG` (the source fetched with apt-get source in a container) gives, for
# every test, the verdict autopkgtest 5.28 gave on the same package with
# its unshare backend (data/archive/PKG.summary, recorded by
# bench/autopkgtest-compare) and autopkgtest's exit status
# (data/archive/PKG.exit). Tests autopkgtest's unshare backend skips for a
# capability harness has (isolation-container) are listed in
# data/archive/PKG.harness with harness's own verdict, and PKG.exit is then
# the status those verdicts give. Tests left out of a recording are named
# in data/archive/PKG.skip.
# Usage: archive.sh PATH-TO-HARNESS PKG...
set -u
h=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
# The label `archive` is opt-in: HARNESS_ARCHIVE=1 ctest -L archive.
if [ "${HARNESS_ARCHIVE_OPT_IN:-}" = 1 ] && [ "${HARNESS_ARCHIVE:-}" != 1 ]; then
        echo "SKIP: set HARNESS_ARCHIVE=1 to run the archive packages"; exit 77
fi
tmp=$(mktemp -d /tmp/harness-autopkgtest-archive.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
# A skip for a missing testbed capability is compared as a verdict, not by
# the restriction it names: autopkgtest names the first unsupported one in
# a Python set's iteration order, which changes from run to run.
verdicts() { sed 's/  */ /g; s/ SKIP Test restriction "[^"]*" requires testbed capability.*/ SKIP Test restriction requires a testbed capability/' "$1" |
        grep -v '^blame:\|^badpkg:' | awk '!seen[$0]++' | sort; }
for pkg in "$@"; do
        d="$here/data/archive"
        [ -f "$d/$pkg.summary" ] || { echo "FAIL: no recorded autopkgtest summary for $pkg"; fail=1; continue; }
        # PKG.skip names tests left out of the recording (too long to run
        # here): only the tests of the recorded summary run.
        only=
        if [ -f "$d/$pkg.skip" ]; then
                for t in $(awk '{print $1}' "$d/$pkg.summary" | sort -u); do only="$only --test $t"; done
        fi
        "$h" autopkgtest $only -o "$tmp/$pkg" "$pkg" >"$tmp/$pkg.log" 2>&1
        rc=$?
        tail -n 30 "$tmp/$pkg.log"
        # autopkgtest's lines, with harness's own verdict where it runs a
        # test autopkgtest's backend could not.
        verdicts "$d/$pkg.summary" >"$tmp/want"
        if [ -f "$d/$pkg.harness" ]; then
                while IFS= read -r line; do
                        name=${line%% *}
                        grep -v "^$name " "$tmp/want" >"$tmp/want2"
                        echo "$line" >>"$tmp/want2"
                        sort "$tmp/want2" >"$tmp/want"
                done <"$d/$pkg.harness"
        fi
        verdicts "$tmp/$pkg/summary" >"$tmp/got"
        if diff -u "$tmp/want" "$tmp/got"; then
                echo "ok: $pkg: every test's verdict is autopkgtest's"
        else
                echo "FAIL: $pkg: verdicts differ from autopkgtest's"; fail=1
        fi
        want_rc=$(cat "$d/$pkg.exit" 2>/dev/null || echo 0)
        [ "$rc" -eq "$want_rc" ] && echo "ok: $pkg: exit status $rc" ||
                { echo "FAIL: $pkg: exit status $rc, autopkgtest $want_rc"; fail=1; }
done
exit $fail

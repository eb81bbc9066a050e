#!/bin/sh
# End to end: `harness autopkgtest` on a made-up source package that gives
# every verdict (data/mini) and on the negative cases, against what
# autopkgtest 5.28 itself says about the same package (data/mini.summary,
# recorded with `autopkgtest --no-built-binaries data/mini -- unshare`).
# The exit status, the summary lines, the -o layout, the reports and the
# host snapshot (nothing half-run left behind; the source tree never
# written). Needs root and the Debian archive (the dependency layers).
# Usage: autopkgtest.sh PATH-TO-HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v mmdebstrap >/dev/null || [ -n "$("$h" rootfs path debian:bookworm 2>/dev/null)" ] ||
        { echo "SKIP: no debian:bookworm tree and no mmdebstrap"; exit 77; }
tmp=$(mktemp -d /tmp/harness-autopkgtest-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib/check.sh"

# A copy of the data: the run must leave it as it was (checksummed).
cp -r "$here/data/mini" "$tmp/mini"
host_snapshot "$tmp/mini" >"$tmp/snap.before"

"$h" autopkgtest -o "$tmp/out" -j 2 --junit "$tmp/junit.xml" --tap "$tmp/tap" \
        --json "$tmp/json" "$tmp/mini" >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
# autopkgtest stops at the missing script with 12 alone (print_exception).
[ $rc -eq 12 ] && ok "exit status 12 (erroneous package: a missing script), as autopkgtest" ||
        bad "exit status $rc, autopkgtest gives 12"
# Each test's verdict as autopkgtest words it. autopkgtest's badpkg line
# quotes apt, harness's names its layer log: the verdicts are compared.
# autopkgtest 5.28 reports the tests it skips while parsing twice for a
# tree it considers building (it parses the control file twice): once here.
verdicts() { sed 's/  */ /g' "$1" | grep -v '^blame:\|^badpkg:\|^erroneous package:' | awk '!seen[$0]++'; }
# command4 (needs-reboot) is skipped by autopkgtest's unshare backend,
# which cannot reboot; harness can, and runs it: compared apart.
verdicts "$here/data/mini.summary" | grep -v '^command4 ' >"$tmp/want"
verdicts "$tmp/out/summary" | grep -v '^command4 ' >"$tmp/got"
if diff -u "$tmp/want" "$tmp/got"; then
        ok "the summary is autopkgtest's, line for line"
else
        bad "the summary differs from autopkgtest's"
fi
grep -q '^command4 .*SKIP Test restriction "needs-reboot" requires testbed capability "reboot"$' \
        "$here/data/mini.summary" && grep -q '^command4  *PASS$' "$tmp/out/summary" &&
        ok "needs-reboot: autopkgtest's unshare backend skips it, harness runs it (PASS)" ||
        bad "needs-reboot in mini: not run"
grep -q '^uninstallable  *FAIL badpkg$' "$tmp/log" && grep -q '^badpkg: Test dependencies are unsatisfiable' "$tmp/log" &&
        ok "an uninstallable dependency is FAIL badpkg with the reason" ||
        bad "no badpkg lines for the uninstallable dependency"
grep -q '^badpkg: debian/tests/missing does not exist$' "$tmp/out/summary" &&
        ok "a missing script: badpkg, the run stops there" || bad "no badpkg for the missing script"
[ ! -e "$tmp/out/harness-mini/missing" ] && ok "nothing ran for the missing script" ||
        bad "the missing script's test ran"
[ -f "$tmp/out/suites/harness-mini.yaml" ] && "$h" list "$tmp/out/suites/harness-mini.yaml" >/dev/null &&
        ok "the generated suite is kept and valid" || bad "no valid generated suite"
[ -f "$tmp/out/harness-mini/env-root/artifacts/var/tmp/autopkgtest-artifacts/a" ] &&
        ok "AUTOPKGTEST_ARTIFACTS copied out" || bad "the artifact was not copied out"
grep -q 'classname="harness-mini"' "$tmp/junit.xml" && ok "JUnit classname is the source package" ||
        bad "JUnit classname"
n=$(grep -c '<testcase' "$tmp/junit.xml")
# (the missing script's test is a badpkg case without a summary line of its own)
[ "$n" -eq $(($(verdicts "$tmp/out/summary" | grep -c .) + 1)) ] && ok "one JUnit case per DEP-8 test ($n)" ||
        bad "$n JUnit cases"
grep -q '^not ok .*stderr' "$tmp/tap" && ok "TAP report" || bad "TAP report"
grep -q '"name": *"shallow"' "$tmp/json" && ok "JSON report" || bad "JSON report"

# Only superficial passes and skips: 8, as autopkgtest.
"$h" autopkgtest -o "$tmp/out8" --test shallow --test skipme "$tmp/mini" >"$tmp/log8" 2>&1
rc=$?
[ $rc -eq 8 ] && ok "only superficial tests and skips: exit status 8" || { cat "$tmp/log8"; bad "exit status $rc, want 8"; }
# Everything passes: 0.
"$h" autopkgtest -o "$tmp/out0" --test ok --test allowed "$tmp/mini" >"$tmp/log0" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "all passed: exit status 0" || { cat "$tmp/log0"; bad "exit status $rc, want 0"; }
# The tests' times are kept per tree and source package; the next run
# passes them to harness run (--durations) to start the longest first,
# and a --test run keeps the times of the tests it did not run.
times=$(ls "${HARNESS_CACHE:-/var/cache/harness}"/autopkgtest-times/*/harness-mini.json 2>/dev/null | head -1)
[ -n "$times" ] && grep -q '"name": "env-root"' "$times" && grep -q '"name": "ok"' "$times" &&
        ok "the tests' times are kept, those of tests a --test run left out too" ||
        bad "no kept times for harness-mini (${times:-no file})"
grep -q '"suite": "harness-mini", "name": "ok", "duration": [0-9]' "$tmp/out0/suites/times.json" 2>/dev/null &&
        ok "a later run gives harness run the recorded times (suites/times.json)" ||
        bad "no suites/times.json with the recorded times in the later run"

# --deb: a local package in place of the archive's (here the archive has
# none: harness-mini is made up), resolved by apt with its dependencies.
mkdir -p "$tmp/deb/DEBIAN"
printf 'Package: harness-mini\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@example.org>\nDepends: bash\nDescription: local\n' \
        >"$tmp/deb/DEBIAN/control"
dpkg-deb --build "$tmp/deb" "$tmp/harness-mini_1.0_all.deb" >/dev/null
"$h" autopkgtest -o "$tmp/outd" --deb "$tmp/harness-mini_1.0_all.deb" --test uninstallable-skip \
        "$tmp/mini" >"$tmp/logd" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^uninstallable-skip  *PASS$' "$tmp/logd" &&
        ok "--deb: the local package replaces the archive's; the test passes" ||
        { cat "$tmp/logd"; bad "--deb: exit status $rc"; }

# --deb that apt cannot install (a dependency no archive has): autopkgtest's
# verdicts, FAIL badpkg (12) and with skip-not-installable the skip (2),
# never the run's own error (20); the same package installable passes.
mklocal() { # DEPENDS FILE
        rm -rf "$tmp/ldeb" && mkdir -p "$tmp/ldeb/DEBIAN"
        printf 'Package: harness-localdeb\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@example.org>\nDepends: %s\nDescription: local\n' \
                "$1" >"$tmp/ldeb/DEBIAN/control"
        mkdir -p "$(dirname "$2")" && dpkg-deb --build "$tmp/ldeb" "$2" >/dev/null
}
mklocal harness-no-such-dependency "$tmp/bad/harness-localdeb_1.0_all.deb"
"$h" autopkgtest -o "$tmp/outl" --deb "$tmp/bad/harness-localdeb_1.0_all.deb" \
        "$here/data/localdeb" >"$tmp/logl" 2>&1
rc=$?
[ $rc -eq 14 ] && grep -q '^needs-local  *FAIL badpkg$' "$tmp/logl" &&
        grep -q '^badpkg: Test dependencies are unsatisfiable' "$tmp/logl" &&
        ok "an uninstallable --deb: FAIL badpkg, exit status 14 with the skip" ||
        { cat "$tmp/logl"; bad "an uninstallable --deb: exit status $rc, want 14 and badpkg"; }
grep -q '^needs-local-skip  *SKIP installation fails and skip-not-installable set$' "$tmp/logl" &&
        ok "an uninstallable --deb with skip-not-installable: SKIP" ||
        bad "an uninstallable --deb with skip-not-installable is not skipped"
[ ! -e "$tmp/outl/harness-localdeb" ] && ok "nothing ran for the uninstallable --deb" ||
        bad "tests ran with an uninstallable --deb"
mklocal bash "$tmp/good/harness-localdeb_1.0_all.deb"
"$h" autopkgtest -o "$tmp/outg" --deb "$tmp/good/harness-localdeb_1.0_all.deb" \
        "$here/data/localdeb" >"$tmp/logg" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c ' PASS$' "$tmp/logg")" -eq 2 ] &&
        ok "the same package installable: both tests pass" ||
        { cat "$tmp/logg"; bad "an installable --deb: exit status $rc"; }

# --refresh: the cached layer is built again, and the output says which
# layers were reused and which were built. A dependency set of this test's
# own (no other run shares its layer while it is rebuilt).
mkdir -p "$tmp/fresh/debian/tests"
cp "$here/data/localdeb/debian/control" "$tmp/fresh/debian/control"
printf 'Test-Command: true\nDepends: bash, coreutils (>= 1), harness-autopkgtest-refresh-test | dpkg\nFeatures: test-name=fresh\n' \
        >"$tmp/fresh/debian/tests/control"
"$h" autopkgtest -o "$tmp/outr0" "$tmp/fresh" >"$tmp/logr0" 2>&1
"$h" autopkgtest -o "$tmp/outr1" "$tmp/fresh" >"$tmp/logr1" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "reusing the cached package layer layer-" "$tmp/logr1" &&
        ok "a cached layer is reused, and the output says so" ||
        { cat "$tmp/logr0" "$tmp/logr1"; bad "no word of the reused layer (exit status $rc)"; }
"$h" autopkgtest -o "$tmp/outr2" --refresh "$tmp/fresh" >"$tmp/logr2" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q -- "--refresh: building the package layer layer-.* again" "$tmp/logr2" &&
        grep -q "built the package layer \[" "$tmp/logr2" &&
        ok "--refresh builds the cached layer again" ||
        { cat "$tmp/logr2"; bad "--refresh: exit status $rc, or the layer was not rebuilt"; }

# needs-reboot (data/reboot): /tmp/autopkgtest-reboot twice, the source
# tree, AUTOPKGTEST_TMP, the artifacts and the disk kept, /run and PID 1
# new; /tmp/autopkgtest-reboot-prepare and the test's own reboot; a reboot
# loop ends at the cap with the reason.
"$h" autopkgtest -o "$tmp/outrb" "$here/data/reboot" >"$tmp/logrb" 2>&1
rc=$?
[ $rc -eq 4 ] && ok "needs-reboot: exit status 4 (the loop fails)" ||
        { cat "$tmp/logrb"; bad "needs-reboot: exit status $rc, want 4"; }
grep -q '^reboot-twice  *PASS$' "$tmp/logrb" &&
        ok "needs-reboot: rebooted twice with marks, the state kept, PASS" ||
        bad "needs-reboot: reboot-twice did not pass"
rb="$tmp/outrb/harness-reboot/reboot-twice"
[ "$(cat "$rb/stdout" 2>/dev/null)" = "$(printf 'test beginning\ntest in mark1\ntest in mark2\ntest end')" ] &&
        ok "the test ran three times, once per mark, nothing past autopkgtest-reboot" ||
        { cat "$rb/stdout"; bad "the reboot runs' output"; }
[ "$(cat "$rb/artifacts/var/tmp/autopkgtest-artifacts/log" 2>/dev/null)" = "$(printf 'start\nmark1\nmark2')" ] &&
        ok "the artifacts of every boot are copied out" || bad "artifacts across reboots"
grep -q '^reboot-prepare  *PASS$' "$tmp/logrb" &&
        ok "autopkgtest-reboot-prepare, then the test's own reboot: PASS" ||
        bad "reboot-prepare did not pass"
grep -q '^reboot-loop  *FAIL the container rebooted 10 times and once more: more than reboots: 10 allows' "$tmp/logrb" &&
        ok "a reboot loop: FAIL at the cap, with the reason" || bad "the reboot loop's verdict"
[ -z "$(cat "$tmp/outrb/harness-reboot/reboot-loop/stderr" "$rb/stderr")" ] &&
        ok "no su noise from the reboots on the tests' stderr" || bad "stderr of rebooted tests"

# build-needed (data/built): the tree is built once before the tests, and
# both build-needed tests start from that one build (its random line the
# same in both); the next run reuses the cached built tree; a changed
# source tree is built again; a failed build is badpkg (12), nothing run.
cp -r "$here/data/built" "$tmp/built"
"$h" autopkgtest -o "$tmp/outbn" "$tmp/built" >"$tmp/logbn" 2>&1
rc=$?
bl="var/tmp/autopkgtest-artifacts/build-log"
[ $rc -eq 0 ] && [ "$(grep -c ' PASS$' "$tmp/logbn")" -eq 3 ] &&
        ok "build-needed: the tests pass from the built tree, the others from the source" ||
        { cat "$tmp/logbn"; bad "build-needed: exit status $rc"; }
[ -s "$tmp/outbn/harness-built/first/artifacts/$bl" ] &&
        cmp -s "$tmp/outbn/harness-built/first/artifacts/$bl" "$tmp/outbn/harness-built/second/artifacts/$bl" &&
        ok "build-needed: one build shared by both tests" || bad "build-needed: not one shared build"
"$h" autopkgtest -o "$tmp/outbn2" "$tmp/built" >"$tmp/logbn2" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "build-needed: reusing the built tree" "$tmp/logbn2" &&
        ! grep -q "building the tree once" "$tmp/logbn2" &&
        cmp -s "$tmp/outbn/harness-built/first/artifacts/$bl" "$tmp/outbn2/harness-built/first/artifacts/$bl" &&
        ok "build-needed: the next run reuses the cached built tree" ||
        { cat "$tmp/logbn2"; bad "build-needed: the built tree was not reused (exit status $rc)"; }
# (content of this run's own: the key is the content, not the path)
echo "changed $tmp $(date +%s%N)" >"$tmp/built/debian/tests/changed"
"$h" autopkgtest -o "$tmp/outbn3" "$tmp/built" >"$tmp/logbn3" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "building the tree once" "$tmp/logbn3" &&
        ! cmp -s "$tmp/outbn/harness-built/first/artifacts/$bl" "$tmp/outbn3/harness-built/first/artifacts/$bl" &&
        ok "build-needed: a changed source tree is built again" ||
        { cat "$tmp/logbn3"; bad "build-needed: a changed tree was not rebuilt (exit status $rc)"; }
# the store of built trees is no other user's to reach (a build's set-id
# files exist there while it runs)
store=$(dirname "$(sed -n 's/^harness: build-needed: built the tree into \(.*\)\/tree$/\1/p' "$tmp/logbn3")")
[ "$(stat -c %a "$store" 2>/dev/null)" = 700 ] &&
        ok "build-needed: the store of built trees is 0700" ||
        bad "build-needed: '$store' is $(stat -c %a "$store" 2>&1), not 0700"
# this run's own entry goes again
own=$(sed -n 's/^harness: build-needed: built the tree into \(.*\)\/tree$/\1/p' "$tmp/logbn3")
case "$own" in */autopkgtest-builds/*) rm -rf "$own" ;; esac
sed -i 's/^\tod .*/\texit 3/' "$tmp/built/debian/rules"
"$h" autopkgtest -o "$tmp/outbn4" "$tmp/built" >"$tmp/logbn4" 2>&1
rc=$?
[ $rc -eq 12 ] && grep -q '^badpkg: building the tree (build-needed) failed' "$tmp/logbn4" &&
        grep -q '^badpkg: building the tree (build-needed) failed' "$tmp/outbn4/summary" &&
        [ ! -e "$tmp/outbn4/harness-built" ] && [ ! -e "$tmp/outbn4/harness-built-deps2" ] &&
        ok "build-needed: a failed build is badpkg (12), no test runs" ||
        { cat "$tmp/logbn4"; bad "build-needed: a failed build gave exit status $rc"; }

# isolation-container: booted under systemd (autopkgtest's unshare backend
# skips it).
"$h" autopkgtest -o "$tmp/outc" "$here/data/booted" >"$tmp/logc" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^booted  *PASS$' "$tmp/logc" && grep -q '^systemd ' "$tmp/outc"/*/booted/stdout &&
        ok "isolation-container: the test runs booted, systemd as PID 1" ||
        { cat "$tmp/logc"; bad "isolation-container: exit status $rc"; }

# needs-sudo: the normal user sudoes without a password.
"$h" autopkgtest -o "$tmp/outs" "$here/data/sudo" >"$tmp/logs" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q '^sudo  *PASS$' "$tmp/logs" && ok "needs-sudo: the normal user may sudo" ||
        { cat "$tmp/logs"; bad "needs-sudo: exit status $rc"; }

# A malformed control file: badpkg (12), FILE:LINE, nothing runs.
mkdir -p "$tmp/broken/debian/tests"
cp "$tmp/mini/debian/control" "$tmp/broken/debian/control"
printf 'Tests: a\nRestrictions needs-root\n' >"$tmp/broken/debian/tests/control"
"$h" autopkgtest -o "$tmp/outb" "$tmp/broken" >"$tmp/logb" 2>&1
rc=$?
cat "$tmp/logb"
[ $rc -eq 12 ] && ok "a malformed control file: exit status 12 (erroneous package)" ||
        bad "malformed control: exit status $rc, want 12"
grep -q 'debian/tests/control:2: ' "$tmp/logb" && ok "the error names FILE:LINE" || bad "no FILE:LINE"
[ ! -e "$tmp/outb/suites" ] && ok "nothing was generated or run" || bad "suites were generated"

# No debian/tests/control: 8, "SKIP no tests in this package".
mkdir -p "$tmp/none/debian"
cp "$tmp/mini/debian/control" "$tmp/none/debian/control"
"$h" autopkgtest -o "$tmp/outn" "$tmp/none" >"$tmp/logn" 2>&1
rc=$?
[ $rc -eq 8 ] && grep -q '^\*  *SKIP no tests in this package' "$tmp/logn" &&
        ok "no tests: exit 8, SKIP no tests in this package" || { cat "$tmp/logn"; bad "no tests: exit $rc"; }

# A source that cannot be had: 20 and a clear message.
"$h" autopkgtest -o "$tmp/outx" "$tmp/no-such-dir.dsc" >"$tmp/logx" 2>&1
rc=$?
[ $rc -eq 20 ] && ok "a missing .dsc: exit status 20" || { cat "$tmp/logx"; bad "missing .dsc: exit $rc"; }

host_snapshot "$tmp/mini" >"$tmp/snap.after"
if snapshot_same "$tmp/snap.before" "$tmp/snap.after"; then
        ok "host snapshot unchanged; the source tree was not written"
else
        diff "$tmp/snap.before" "$tmp/snap.after" | head -20
        bad "the host changed"
fi
finish

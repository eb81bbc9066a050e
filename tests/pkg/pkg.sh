#!/bin/sh
# End to end: the showcase suite exactly as the README runs it, from the
# repository root: `harness run suites/pkg.yaml` on the managed tree
# debian:bookworm (built into the cache on first use). Exit 0, and a JUnit
# report with every case passing. Usage: pkg.sh PATH-TO-HARNESS SOURCE-DIR
set -u
h=$1
src=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/harness-pkg-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

cd "$src" || exit 1
"$h" run suites/pkg.yaml --junit "$tmp/junit.xml" -o "$tmp/out" >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
if [ $rc -ne 0 ]; then
        echo "FAIL: harness run suites/pkg.yaml exited $rc"
        fail=1
fi
if ! grep -q '<testsuite name="hello-pkg" tests="6" failures="0" errors="0" skipped="0"' \
        "$tmp/junit.xml"; then
        echo "FAIL: the JUnit report does not show 6 passing cases"
        cat "$tmp/junit.xml"
        fail=1
elif grep -q '<failure\|<error' "$tmp/junit.xml"; then
        echo "FAIL: the JUnit report has failures"
        fail=1
else
        echo "ok: suites/pkg.yaml: 6 cases, all passed"
fi
exit $fail

#!/bin/sh
# End to end: the example suites run as the docs say, from the repository
# root, on the managed debian:bookworm tree (built into the cache on first
# use). Every test passes, the skipped one is reported as skipped, and the
# JUnit report says so. Usage: examples.sh PATH-TO-HARNESS SOURCE-DIR
set -u
h=$1 src=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/harness-examples-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

cd "$src" || exit 1
"$h" run suites/examples/hello.yaml suites/examples/systemd.yaml suites/examples/defaults.yaml \
        --junit "$tmp/junit.xml" -o "$tmp/out" >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
[ $rc -eq 0 ] || { echo "FAIL: harness run exited $rc"; fail=1; }
for want in '<testsuite name="hello" tests="1" failures="0" errors="0" skipped="0"' \
            '<testsuite name="systemd-basics" tests="3" failures="0" errors="0" skipped="0"' \
            '<testsuite name="defaults-demo" tests="5" failures="0" errors="0" skipped="1"'; do
        if grep -qF "$want" "$tmp/junit.xml"; then
                echo "ok: $want"
        else
                echo "FAIL: the JUnit report lacks: $want"
                fail=1
        fi
done
[ $fail -eq 0 ] || cat "$tmp/junit.xml"
exit $fail

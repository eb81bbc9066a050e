#!/bin/sh
# `harness check` and `harness list` on debian/tests/control files (DEP-8):
# real ones from suites/tests/data/dep8, and broken ones with their exact
# FILE:LINE: messages. Usage: dep8-cli.sh PATH-TO-HARNESS
set -u
h=$1
fail=0
data=$(cd "$(dirname "$0")/../suites/tests/data/dep8" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/lib/expect.sh"

# Exact comparison of a command's stdout and exit status.
expect_out() {
        _want=$1 _code=$2
        shift 2
        _got=$("$@" 2>"$tmp/stderr")
        _rc=$?
        if [ "$_rc" -ne "$_code" ] || [ "$_got" != "$_want" ]; then
                echo "FAIL: '$*' exited $_rc (expected $_code), printed:"
                echo "$_got"
                cat "$tmp/stderr"
                echo "expected:"
                echo "$_want"
                fail=1
                return
        fi
        echo "ok: $*"
}

expect 0 "dbus/debian/tests/control: ok, 11 tests" "$h" check "$data/dbus/debian/tests/control"
expect 0 "systemd/debian/tests/control: ok, 14 tests" "$h" check "$data/systemd/debian/tests/control"

# list: one line per test, the names and restrictions autopkgtest's own
# parser found (the expected files: name, path, restrictions, depends).
for pkg in dbus nginx vim; do
        want=$(awk -F '\t' -v p="$pkg" '{
                r = $3; gsub(/ /, ",", r)
                print p "/" $1 (r == "" ? "" : " [" r "]") }' "$data/$pkg/expected")
        expect_out "$want" 0 "$h" list "$data/$pkg/debian/tests/control"
done
expect_out "nginx/reboot [isolation-container,needs-reboot,needs-root]" 0 \
        "$h" list --tag needs-reboot "$data/nginx/debian/tests/control"
expect 0 '"id": "dbus/machine-id_with_systemd"' "$h" list --json "$data/dbus/debian/tests/control"

# A malformed file: every error with its line, exit 2, nothing listed.
mkdir -p "$tmp/bad/debian/tests"
cp "$data/malformed/lintian-testsuite-general" "$tmp/bad/debian/tests/control"
c=$tmp/bad/debian/tests/control
expect 2 "^$c:20: Only one of \"Tests\" or \"Test-Command\" may be given\$" "$h" check "$c"
expect 2 "^$c:22: Test Depends field contains an invalid dependency \`missing a comma'\$" \
        "$h" check "$c"
expect_out "" 2 "$h" check "$c"
expect_out "" 2 "$h" list "$c"
expect 2 "^$c:22: Test Depends" "$h" list "$c"

# Format errors, one per case.
mkdir -p "$tmp/fmt/debian/tests"
c=$tmp/fmt/debian/tests/control
printf 'Tests: a\n\n  continued\n' >"$c"
expect 2 "^$c:3: continued value line not in field\$" "$h" check "$c"
printf 'Tests: a\nRestrictions: x\nrestrictions: y\n' >"$c"
expect 2 "^$c:3: duplicate field restrictions found\$" "$h" check "$c"
printf 'Depends: a\n' >"$c"
expect 2 "^$c:1: missing \"Tests\" or \"Test-Command\" field\$" "$h" check "$c"

# The debian/control beside it: its own errors, and a Build-Depends that
# @builddeps@ cannot expand.
printf 'Tests: a\nDepends: @builddeps@\n' >"$c"
printf 'Source: x\n\nArchitecture: any\n' >"$tmp/fmt/debian/control"
expect 2 "^$tmp/fmt/debian/control:3: binary stanza without a Package field\$" \
        "$h" check "$c"
printf 'Source: x\nBuild-Depends: a (>= 1, b\n' >"$tmp/fmt/debian/control"
expect 2 "^$c:1: .*control: Invalid build dependencies\$" "$h" check "$c"

# An unknown restriction, field or architecture: listed with autopkgtest's
# skip reason.
printf 'Source: x\n' >"$tmp/fmt/debian/control"
printf 'Tests: a\nRestrictions: needs-magic\n\nTests: b\nArchitecture: !%s\n\nTests: c\nX-Foo: 1\n' \
        "$(dpkg --print-architecture 2>/dev/null || echo amd64)" >"$c"
expect 0 "^x/a \[needs-magic\] (skip: unknown restriction needs-magic)\$" "$h" list "$c"
expect 0 "^x/b (skip: Test declares architecture as not supported: " "$h" list "$c"
expect 0 "^x/c (skip: unknown field X-foo)\$" "$h" list "$c"
exit $fail

#!/bin/sh
# libxml2 (and the ICU and libstdc++ it pulls in) is loaded only when a JUnit
# report is written or merged: `harness --version` and `harness shell` never
# map it, `harness merge` and `harness run --junit` do (the positive controls
# show that the check sees a loaded libxml2). The dynamic loader's own log
# (LD_DEBUG=files) names every object it maps, at start and by dlopen().
# Usage: lazy-libxml2.sh PATH-TO-HARNESS [container]
#   container: also `harness shell` and `harness run` on HARNESS_TEST_ROOTFS
#   (needs root and namespaces; exits 77 without them).
set -u
h=$1
mode=${2:-}
fail=0
dir=$(mktemp -d "${TMPDIR:-/tmp}/th-lazy-xml.XXXXXX")
trap 'rm -rf "$dir"' EXIT

. "$(dirname "$0")/../../tests/lib/expect.sh"

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# loads LABEL CMD...: runs CMD with the loader's log in $dir/LABEL.*, one
# file per process of the host (a container's processes cannot reach $dir);
# prints the objects loaded, one per line.
loads() {
        label=$1
        shift
        LD_DEBUG=files LD_DEBUG_OUTPUT="$dir/$label" "$@" >"$dir/$label.out" 2>&1
        echo $? >"$dir/$label.rc"
        cat "$dir/$label".[0-9]* 2>/dev/null | sed -n 's/.*file=\([^ ]*\) .*/\1/p' | sort -u
}

# no_xml LABEL CMD...: CMD succeeds and maps no libxml2.
no_xml() {
        label=$1
        shift
        objs=$(loads "$label" "$@")
        if [ "$(cat "$dir/$label.rc")" != 0 ]; then
                bad "'$*' exited $(cat "$dir/$label.rc")"
                cat "$dir/$label.out"
        elif [ -z "$objs" ]; then
                bad "'$*': no loader log (LD_DEBUG ignored?)"
        elif printf '%s\n' "$objs" | grep -q 'libxml2\|libicu'; then
                bad "'$*' maps libxml2: $(printf '%s\n' "$objs" | grep 'libxml2\|libicu' | tr '\n' ' ')"
        else
                ok "'$*' maps no libxml2 ($(printf '%s\n' "$objs" | wc -l) objects)"
        fi
}

# with_xml LABEL CMD...: CMD succeeds and loads libxml2 with dlopen().
with_xml() {
        label=$1
        shift
        objs=$(loads "$label" "$@")
        if [ "$(cat "$dir/$label.rc")" != 0 ]; then
                bad "'$*' exited $(cat "$dir/$label.rc")"
                cat "$dir/$label.out"
        elif ! grep -q 'file=libxml2.so.2 .*dynamically loaded' "$dir/$label".[0-9]*; then
                bad "'$*' did not load libxml2 (objects: $(printf '%s\n' "$objs" | tr '\n' ' '))"
        else
                ok "'$*' loads libxml2 when it needs it"
        fi
}

if [ "$mode" != container ]; then
        no_xml version "$h" --version
        no_xml help "$h" --help
        cat >"$dir/a.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="a"><testcase name="one" classname="a" time="0.5"/></testsuite></testsuites>
XML
        cat >"$dir/b.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="a"><testcase name="two" classname="a" time="0.25"><failure message="m"/></testcase></testsuite>
XML
        with_xml merge "$h" merge -o "$dir/merged.xml" "$dir/a.xml" "$dir/b.xml"
        if [ "$(xmllint --xpath 'string(/testsuites/@tests)' "$dir/merged.xml" 2>/dev/null)" = 2 ]; then
                ok "the merged report holds both tests"
        else
                bad "merged report: $(cat "$dir/merged.xml" 2>&1)"
        fi
        [ "$fail" -eq 0 ] && echo "all passed"
        exit "$fail"
fi

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
unshare --user --mount true 2>/dev/null || skip "needs user and mount namespaces"
rootfs=${HARNESS_TEST_ROOTFS:-}
[ -n "$rootfs" ] && [ -x "$rootfs/bin/sh" ] || skip "HARNESS_TEST_ROOTFS is not a tree"

no_xml shell "$h" shell -x -D "$rootfs" -- true

# The same seen from outside, without the loader's log: the maps of a
# running `harness shell` whose container is up.
"$h" shell -x -D "$rootfs" -- sleep 3 >"$dir/sleep.out" 2>&1 &
pid=$!
n=0
while [ -z "$(cat /proc/$pid/task/*/children 2>/dev/null)" ] && [ $n -lt 200 ]; do
        sleep 0.05
        n=$((n + 1))
done
maps=$(cat /proc/$pid/maps 2>/dev/null)
if [ -z "$(cat /proc/$pid/task/*/children 2>/dev/null)" ] || [ -z "$maps" ]; then
        bad "harness shell started no container in 10 s: $(cat "$dir/sleep.out")"
elif printf '%s\n' "$maps" | grep -q 'libxml2'; then
        bad "a running 'harness shell' maps libxml2"
elif ! printf '%s\n' "$maps" | grep -q 'libc.so'; then
        bad "the maps of harness shell lack libc: not the process meant"
else
        ok "a running 'harness shell' maps no libxml2"
fi
wait "$pid" || bad "harness shell -- sleep 3 exited $?: $(cat "$dir/sleep.out")"

cat >"$dir/suite.yaml" <<YAML
name: lazy
rootfs: $rootfs
defaults: {boot: false, timeout: 60}
tests:
  - name: quick
    run: "true"
YAML
cd "$dir"
with_xml run "$h" run --junit "$dir/junit.xml" "$dir/suite.yaml"
if [ "$(xmllint --xpath 'count(//testcase[@name="quick"])' "$dir/junit.xml" 2>/dev/null)" = 1 ]; then
        ok "harness run wrote the JUnit report"
else
        bad "JUnit report: $(cat "$dir/junit.xml" 2>&1)"
fi

# Without libxml2 (hidden in a private mount namespace) harness still starts
# and runs tests; only the JUnit report and merge fail, saying why.
lib=$(readlink -f /lib/x86_64-linux-gnu/libxml2.so.2 2>/dev/null || true)
if [ -f "$lib" ]; then
        hide() { unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" "$@"; }
        expect 3 "cannot load libxml2.so.2, which writing and merging JUnit XML needs" \
                hide "$h" run --junit "$dir/nolib.xml" "$dir/suite.yaml"
        expect 3 "PASS *lazy/quick" hide "$h" run --junit "$dir/nolib.xml" "$dir/suite.yaml"
        expect 2 "cannot load libxml2.so.2" hide "$h" merge -o "$dir/nolib-merged.xml" "$dir/junit.xml"
        expect 0 "harness" hide "$h" --version
else
        echo "ok: libxml2 not at the Debian path, the missing-library checks skipped"
fi
[ "$fail" -eq 0 ] && echo "all passed"
exit "$fail"

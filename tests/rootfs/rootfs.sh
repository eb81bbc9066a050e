#!/bin/sh
# End-to-end tests of `harness rootfs` on a private cache ($HARNESS_CACHE in
# a temp dir): usage errors, a failing build (log shown, nothing half-built
# left), two processes asking for the same new tree at once (built once),
# list, path, a cached second build, remove. Needs root and the Debian
# mirror; exits 77 (skip) without root. Usage: rootfs.sh PATH-TO-HARNESS
set -u
h=$1
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (mmdebstrap --mode=root)"; exit 77; }
command -v mmdebstrap >/dev/null || command -v debootstrap >/dev/null ||
        { echo "SKIP: neither mmdebstrap nor debootstrap installed"; exit 77; }
HARNESS_CACHE=$(mktemp -d /tmp/harness-rootfs-test.XXXXXX)
export HARNESS_CACHE
out=$HARNESS_CACHE.out
trap 'rm -rf "$HARNESS_CACHE" "$out".*' EXIT
fail=0

. "$(dirname "$0")/../lib/expect.sh"

# Usage errors and unbuilt trees.
expect 2 "no rootfs command given" "$h" rootfs
expect 2 "unknown rootfs command 'frob'" "$h" rootfs frob
expect 2 "expected DISTRO:RELEASE" "$h" rootfs build bookworm
expect 2 "unsupported variant 'weird'" "$h" rootfs build debian:bookworm:weird
expect 2 "unsupported distribution 'fedora'" "$h" rootfs path fedora:40
expect 1 "'debian:bookworm' is not built (run 'harness rootfs build debian:bookworm')" \
        "$h" rootfs path debian:bookworm
expect 1 "'debian:bookworm' is not built" "$h" rootfs remove debian:bookworm
expect 0 "no managed trees" "$h" rootfs list

# A failing build: exit 3, the error names the log and its tail is shown,
# and nothing half-built is left to be used.
expect 3 "building 'debian:no-such-release' failed.*log: " "$h" rootfs build debian:no-such-release
"$h" rootfs build debian:no-such-release >/dev/null 2>"$out.fail"
grep -q -- "--- last lines of .*failed.log ---" "$out.fail" ||
        { echo "FAIL: no log tail shown"; cat "$out.fail"; fail=1; }
if ls -d "$HARNESS_CACHE"/rootfs/debian-no-such-release* "$HARNESS_CACHE"/rootfs/.build-* \
        2>/dev/null | grep -v '\.failed\.log$'; then
        echo "FAIL: a failed build left a tree behind"; fail=1
else
        echo "ok: a failed build leaves no tree"
fi
expect 1 "not built" "$h" rootfs path debian:no-such-release

# A build killed half-way: the tree is not there, mmdebstrap does not run
# on, and `remove --all` frees what the build left.
"$h" rootfs build debian:bookworm >/dev/null 2>&1 &
pk=$!
i=0
while [ $i -lt 600 ] && ! ls -d "$HARNESS_CACHE"/rootfs/.build-*/tree >/dev/null 2>&1; do
        sleep 0.1; i=$((i + 1))
done
kill -TERM $pk
wait $pk
i=0
while [ $i -lt 600 ] && pgrep -f "mmdebstrap.*$HARNESS_CACHE" >/dev/null; do
        sleep 0.1; i=$((i + 1))
done
if pgrep -f "mmdebstrap.*$HARNESS_CACHE" >/dev/null; then
        echo "FAIL: mmdebstrap runs on after harness was killed"; fail=1
        for p in $(pgrep -f "mmdebstrap.*$HARNESS_CACHE"); do kill "$p"; done
else
        echo "ok: killing harness stops mmdebstrap"
fi
expect 1 "is not built" "$h" rootfs path debian:bookworm
expect 0 "removed 0 trees" "$h" rootfs remove --all
if ls -d "$HARNESS_CACHE"/rootfs/.build-* 2>/dev/null; then
        echo "FAIL: remove --all left a killed build's directory"; fail=1
else
        echo "ok: remove --all freed the killed build's directory"
fi

# Two processes ask for the same new tree at once: one builds, the other
# waits for it and reuses it.
"$h" rootfs build debian:bookworm >"$out.a" 2>"$out.a.err" &
pa=$!
"$h" rootfs build debian:bookworm >"$out.b" 2>"$out.b.err" &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
if [ $ra -ne 0 ] || [ $rb -ne 0 ]; then
        echo "FAIL: parallel builds exited $ra and $rb"; cat "$out".*; fail=1
fi
builds=$(cat "$out.a.err" "$out.b.err" | grep -c "building 'debian:bookworm' with")
if [ "$builds" -eq 1 ]; then
        echo "ok: two parallel 'rootfs build' built the tree once"
else
        echo "FAIL: the tree was built $builds times"; cat "$out.a.err" "$out.b.err"; fail=1
fi
dir=$(cat "$out.a")
if [ -z "$dir" ] || [ "$dir" != "$(cat "$out.b")" ]; then
        echo "FAIL: the two builds printed different paths"; fail=1
fi
[ -x "$dir/lib/systemd/systemd" ] && [ -x "$dir/usr/bin/dbus-daemon" ] &&
        [ ! -e "$dir/etc/hostname" ] && [ -f "$dir/etc/resolv.conf" ] &&
        [ ! -s "$dir/etc/resolv.conf" ] && echo "ok: the tree has systemd and dbus, no hostname" ||
        { echo "FAIL: unexpected tree content in '$dir'"; fail=1; }

# Cached: a second build builds nothing; list, path and --json show it.
expect 0 "$dir" "$h" rootfs build debian:bookworm
if "$h" rootfs build debian:bookworm 2>&1 | grep -q "building"; then
        echo "FAIL: a cached tree was built again"; fail=1
else
        echo "ok: the second build reuses the cache"
fi
expect 0 "^$dir\$" "$h" rootfs path debian:bookworm
name=$(basename "$(dirname "$dir")")
expect 0 "^$dir\$" "$h" rootfs path "$name"
expect 2 "invalid tree name" "$h" rootfs path ../../etc
expect 1 "is not built" "$h" rootfs path debian:bookworm --include procps
expect 2 "needs an argument" "$h" rootfs build debian:bookworm --include
expect 0 "debian-bookworm-minbase-.* debian:bookworm .*s ago" "$h" rootfs list
expect 0 '"spec": "debian:bookworm"' "$h" rootfs list --json
grep -q "^command=mmdebstrap --mode=root" "$(dirname "$dir")/manifest" &&
        grep -q "^packages=[1-9]" "$(dirname "$dir")/manifest" &&
        echo "ok: the manifest records the command and package count" ||
        { echo "FAIL: manifest"; cat "$(dirname "$dir")/manifest"; fail=1; }

# Package layers: one is listed, removed on its own (the tree stays), and
# built again by the next run.
printf '%s\n' 'name: layered' 'rootfs: debian:bookworm' \
        'defaults: {boot: false, packages: [hello]}' 'tests:' \
        '  - {name: greets, run: hello, expect: {stdout: ["Hello, world"]}}' >"$out.suite.yaml"
expect 0 "no package layers on this tree" "$h" rootfs layers debian:bookworm
expect 0 "1 passed" "$h" run "$out.suite.yaml" -o "$out.run1"
layer=$("$h" rootfs layers debian:bookworm | awk 'NR == 2 { print $1 }')
case $layer in
layer-?*) echo "ok: 'rootfs layers' lists the layer $layer" ;;
*) echo "FAIL: no layer listed"; "$h" rootfs layers; fail=1 ;;
esac
expect 0 "^$layer .* $name .*hello\$" "$h" rootfs layers
expect 0 "\"name\": \"$layer\", \"tree\": \"$name\".*\"packages\": \"hello\"" \
        "$h" rootfs layers "$name" --json
expect 1 "no layer named 'layer-000000000000'" "$h" rootfs remove layer-000000000000
expect 0 "removed '$layer'" "$h" rootfs remove "$layer"
[ ! -e "$HARNESS_CACHE/layers/$layer" ] && [ -x "$dir/lib/systemd/systemd" ] &&
        echo "ok: the layer is gone, its tree stays" ||
        { echo "FAIL: after removing the layer"; fail=1; }
expect 0 "no package layers on this tree" "$h" rootfs layers debian:bookworm
expect 0 "^$dir\$" "$h" rootfs path debian:bookworm
"$h" run "$out.suite.yaml" -o "$out.run2" >"$out.run2.log" 2>&1
grep -q "installing packages \[hello\]" "$out.run2.log" && [ -e "$HARNESS_CACHE/layers/$layer" ] &&
        echo "ok: the next run built the same layer again" ||
        { echo "FAIL: the layer was not built again"; cat "$out.run2.log"; fail=1; }

# Update by NAME: a new tree at the same path (a mark left in the old one is
# gone, the manifest's build time is newer); the old tree's layer is
# removed; the next run builds its layer on the new tree.
built_before=$(sed -n 's/^built=//p' "$(dirname "$dir")/manifest")
touch "$dir/old-tree-mark"
expect 0 "removed 1 package layer of the old tree" "$h" rootfs update "$name"
built_after=$(sed -n 's/^built=//p' "$(dirname "$dir")/manifest")
[ ! -e "$dir/old-tree-mark" ] && [ "${built_after:-0}" -gt "${built_before:-0}" ] &&
        [ -x "$dir/lib/systemd/systemd" ] && echo "ok: update replaced the tree" ||
        { echo "FAIL: the tree was not replaced ($built_before -> $built_after)"; fail=1; }
if ls -d "$HARNESS_CACHE"/rootfs/.build-* 2>/dev/null; then
        echo "FAIL: update left a build directory"; fail=1
fi
[ ! -e "$HARNESS_CACHE/layers/$layer" ] && echo "ok: update removed the old tree's layer" ||
        { echo "FAIL: the old tree's layer survived the update"; fail=1; }
expect 0 "^$dir\$" "$h" rootfs path "$name"
expect 0 "no package layers on this tree" "$h" rootfs layers "$name"
expect 0 "1 passed" "$h" run "$out.suite.yaml" -o "$out.run3"
expect 2 "takes exactly one SPEC" "$h" rootfs update
expect 1 "no tree named 'debian-nope' is built" "$h" rootfs update debian-nope

# Remove frees it.
expect 0 "removed 'debian:bookworm'" "$h" rootfs remove debian:bookworm
[ ! -e "$dir" ] && echo "ok: remove deleted the tree" || { echo "FAIL: '$dir' remains"; fail=1; }
expect 0 "no managed trees" "$h" rootfs list
expect 1 "not built" "$h" rootfs path debian:bookworm
expect 0 "removed 0 trees" "$h" rootfs remove --all
exit $fail

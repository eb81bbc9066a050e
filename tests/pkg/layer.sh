#!/bin/sh
# End to end: the package layer. A suite with `defaults.packages` runs twice:
# both pass; the second run installs nothing (the layer is cached); the base
# tree itself never gets the packages. Usage: layer.sh PATH-TO-HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/harness-layer-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

for i in 1 2; do
        "$h" run "$here/layer.yaml" -o "$tmp/out$i" >"$tmp/log$i" 2>&1
        rc=$?
        cat "$tmp/log$i"
        [ $rc -eq 0 ] && echo "ok: run $i passed" || { echo "FAIL: run $i exited $rc"; fail=1; }
done
if grep -q "installing packages" "$tmp/log2"; then
        echo "FAIL: the second run installed the packages again"; fail=1
else
        echo "ok: the second run reused the cached layer"
fi
base=$("$h" rootfs path debian:bookworm)
if grep -q "^Package: procps$" "$base/var/lib/dpkg/status"; then
        echo "FAIL: procps was installed into the base tree"; fail=1
else
        echo "ok: the base tree is untouched"
fi
"$h" rootfs list --json | grep -q '"layers": [1-9]' && echo "ok: rootfs list counts the layer" ||
        { echo "FAIL: rootfs list shows no layer"; fail=1; }
exit $fail

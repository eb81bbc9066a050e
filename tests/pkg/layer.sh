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
# Identity: each booted container over an openssh-server layer has its own
# machine-id and SSH host keys; the layer itself has neither.
"$h" run "$here/identity.yaml" -o "$tmp/id" >"$tmp/logid" 2>&1
rc=$?
cat "$tmp/logid"
[ $rc -eq 0 ] && echo "ok: sshd runs in both containers" || { echo "FAIL: identity run exited $rc"; fail=1; }
for w in machine-id hostkey; do
        a=$(grep "^$w " "$tmp"/id/layer-identity/first*/stdout)
        b=$(grep "^$w " "$tmp"/id/layer-identity/second*/stdout)
        if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
                echo "ok: the containers have their own $w"
        else
                echo "FAIL: $w: '$a' and '$b'"; fail=1
        fi
done
for l in /var/cache/harness/layers/layer-*/upper; do
        [ -e "$l/usr/sbin/sshd" ] || continue
        found=1
        if ls "$l"/etc/ssh/ssh_host_*key* >/dev/null 2>&1 || [ -s "$l/etc/machine-id" ]; then
                echo "FAIL: the layer $l holds host keys or a machine-id"; fail=1
        else
                echo "ok: the layer holds no host key and no machine-id"
        fi
done
[ -n "${found:-}" ] || { echo "FAIL: no openssh-server layer found"; fail=1; }
exit $fail

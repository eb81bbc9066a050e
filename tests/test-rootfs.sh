#!/bin/sh
# Ensures the Debian tree the end-to-end tests boot exists, and prints its
# path. Built once with mmdebstrap (minbase + systemd), cached under
# ${HARNESS_CACHE:-/var/cache/harness}/test/, under a lock so parallel test
# processes build it once; a half-built tree is never used (built aside, then
# renamed into place).
set -eu
cache=${HARNESS_CACHE:-/var/cache/harness}
dir=$cache/test/bookworm-systemd
mkdir -p "$cache/test"
exec 9>"$cache/test/.lock"
flock 9
if [ ! -x "$dir/lib/systemd/systemd" ]; then
        tmp=$(mktemp -d "$cache/test/.build.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        mmdebstrap --mode=root --variant=minbase \
                --include=systemd,systemd-sysv,dbus,iproute2,procps \
                bookworm "$tmp/tree" >"$tmp/log" 2>&1 || {
                cat "$tmp/log" >&2
                echo "test-rootfs: mmdebstrap failed" >&2
                exit 1
        }
        rm -rf "$dir"
        mv "$tmp/tree" "$dir"
fi
echo "$dir"

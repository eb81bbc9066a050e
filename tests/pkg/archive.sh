#!/bin/sh
# Opt-in (label archive): `harness pkg check` on real packages of the
# Debian archive, which pass it on bookworm: services (nginx-light,
# lighttpd, openssh-server, cron, chrony), system users (chrony's _chrony,
# openssh-server's sshd), conffiles (all of them) and alternatives (nano's
# editor). Skipped unless HARNESS_ARCHIVE=1; needs root and the archive.
#   HARNESS_ARCHIVE=1 ctest -L archive
# Usage: archive.sh PATH-TO-HARNESS [PACKAGE...]
set -u
h=$1
shift
[ "${HARNESS_ARCHIVE:-}" = 1 ] || { echo "SKIP: set HARNESS_ARCHIVE=1"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v dpkg-scanpackages >/dev/null || { echo "SKIP: needs dpkg-dev"; exit 77; }
tmp=$(mktemp -d /tmp/harness-pkg-archive.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
for p in ${*:-nginx-light lighttpd openssh-server cron chrony nano}; do
        "$h" pkg check -j 2 -o "$tmp/$p" --junit "$tmp/$p.xml" "$p" >"$tmp/$p.log" 2>&1
        rc=$?
        n=$(grep -c '<testcase' "$tmp/$p.xml" 2>/dev/null)
        if [ $rc -eq 0 ] && [ "$n" = 4 ]; then
                echo "ok: $p passes its 4 checks"
        else
                cat "$tmp/$p.log"
                echo "FAIL: $p: exit $rc, $n checks"
                fail=1
        fi
done
# --upgrade: the archive's cron, its conffiles changed, upgraded to a local
# rebuild of it with a higher version.
if [ $# -eq 0 ]; then
        (cd "$tmp" && apt-get download cron >/dev/null 2>&1)
        deb=$(ls "$tmp"/cron_*.deb 2>/dev/null | head -1)
        if [ -n "$deb" ] && dpkg-deb -R "$deb" "$tmp/cron-x"; then
                v=$(dpkg-deb -f "$deb" Version)
                sed -i "s/^Version: .*/Version: $v+local1/" "$tmp/cron-x/DEBIAN/control"
                dpkg-deb -Zgzip -b "$tmp/cron-x" "$tmp/cron_$v+local1.deb" >/dev/null
                "$h" pkg check -j 2 -o "$tmp/up" --upgrade --filter upgrade \
                        "$tmp/cron_$v+local1.deb" >"$tmp/up.log" 2>&1
                if [ $? -eq 0 ] && grep -q "upgraded to: cron $v+local1" "$tmp"/up/pkg-cron-upgrade/upgrade/stdout; then
                        echo "ok: cron upgrades from the archive's $v to $v+local1"
                else
                        cat "$tmp/up.log"
                        echo "FAIL: the upgrade of cron"
                        fail=1
                fi
        else
                echo "FAIL: apt-get download cron"
                fail=1
        fi
fi
# The distupgrade: bullseye's cron (a service) installed, the tree upgraded
# to bookworm, cron's service active after it.
if [ $# -eq 0 ]; then
        "$h" pkg check -o "$tmp/du" --distupgrade --filter distupgrade cron >"$tmp/du.log" 2>&1
        if [ $? -eq 0 ] && grep -q "upgraded to Debian 12" "$tmp"/du/pkg-cron-distupgrade/distupgrade/stdout; then
                echo "ok: cron passes the distupgrade from bullseye to bookworm"
        else
                cat "$tmp/du.log"
                echo "FAIL: the distupgrade of cron"
                fail=1
        fi
fi
exit $fail

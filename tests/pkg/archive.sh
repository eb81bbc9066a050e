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
exit $fail

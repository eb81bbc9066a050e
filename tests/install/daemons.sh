#!/bin/sh
# End to end: suites/debian-daemons.yaml, nginx-light and openssh-server
# installed offline (install:) in booted containers with private users, on
# debian:bookworm and debian:trixie, in two shards that merge; every
# container has its own SSH host keys. Then tests/install/daemons-fail.yaml:
# a failing unit, an error in the journal and a segfault each fail naming
# the unit, the journal line and the program.
# Needs root and the Debian archive (label network).
# Usage: daemons.sh PATH-TO-HARNESS SOURCE-DIR
set -u
h=$1 src=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v dpkg-scanpackages >/dev/null || { echo "SKIP: needs dpkg-dev"; exit 77; }
command -v xmllint >/dev/null || { echo "SKIP: needs xmllint"; exit 77; }
tmp=$(mktemp -d /tmp/harness-daemons-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib/check.sh"
xpath() { xmllint --xpath "$2" "$1" 2>/dev/null; }

cd "$src" || exit 1
for i in 1 2; do
        "$h" run --shard $i/2 -j 2 -o "$tmp/out" --junit "$tmp/s$i.xml" \
                suites/debian-daemons.yaml >"$tmp/log$i" 2>&1
        rc=$?
        cat "$tmp/log$i"
        [ $rc -eq 0 ] && ok "shard $i/2 passed" || bad "shard $i/2 exited $rc"
done
"$h" merge -o "$tmp/merged.xml" "$tmp/s1.xml" "$tmp/s2.xml" && ok "the shards merge" ||
        bad "merge failed"
for rel in bookworm trixie; do
        n=$(xpath "$tmp/merged.xml" "count(//testcase[@classname='debian-daemons@$rel'])")
        [ "$n" = 5 ] && ok "debian-daemons@$rel: 5 cases" || bad "debian-daemons@$rel: $n cases"
done
n=$(xpath "$tmp/merged.xml" "count(//testcase[failure or error])")
[ "$n" = 0 ] && ok "no failure in the merged report" || bad "$n failures in the merged report"
# Four containers printed their host key: all different.
keys=$(cat "$tmp"/out/debian-daemons_*/*host_keys*/stdout "$tmp"/out/debian-daemons_*/sshd_*/stdout |
        grep '^hostkey ')
total=$(printf '%s\n' "$keys" | grep -c .)
uniq=$(printf '%s\n' "$keys" | sort -u | grep -c .)
[ "$total" = 4 ] && [ "$uniq" = 4 ] && ok "4 containers, 4 different SSH host keys" ||
        bad "host keys: $total printed, $uniq different"

"$h" run -j 2 -o "$tmp/fail" --junit "$tmp/fail.xml" tests/install/daemons-fail.yaml \
        >"$tmp/logf" 2>&1
rc=$?
cat "$tmp/logf"
[ $rc -eq 1 ] && ok "the failing suite fails (exit 1)" || bad "the failing suite exited $rc"
msg() { xpath "$tmp/fail.xml" "string(//testcase[@name='$1']/failure/@message)"; }
has() {
        case "$(msg "$1")" in *"$2"*) ok "'$1': $2" ;; *) bad "'$1': no '$2' in: $(msg "$1")" ;; esac
}
has "a unit fails" "units: failed: none, but nginx.service failed"
has "a unit fails" "journal: nginx: nginx: configuration file /etc/nginx/nginx.conf test failed"
# The unit is "-" when logger ended before journald read its cgroup.
has "an error in the journal" "journal-not 'unknown directive' matched, unit "
has "an error in the journal" ", priority 3: nginx-check["
has "an error in the journal" 'unknown directive "this" in /etc/nginx/conf.d/broken.conf'
has "a segfault" "crashes: none, but nginx (unit nginx.service) was killed by SIGSEGV"
has "a segfault" "nginx.service: Main process exited, code="
finish

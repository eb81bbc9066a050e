#!/bin/sh
# Soak: 1000 tests in a row in direct mode with -j 2 — passes, failures,
# 1 s timeouts, OOM kills and expectation failures mixed — and the host
# snapshot identical before and after (no mount, cgroup, state dir, temp dir
# or process left). Prints the wall time.
# Usage: soak.sh HARNESS [N]
set -u
h=$1
n=${2:-1000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

# Not part of the default ctest run: HARNESS_SOAK=1 ctest -L soak
[ "${HARNESS_SOAK:-}" = 1 ] || { echo "SKIP: set HARNESS_SOAK=1 to run the soak"; exit 77; }
. "$(dirname "$0")/../lib/privileged.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-soak.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$(dirname "$0")/../lib/check.sh"
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }

marker=$((8000 + $$ % 1000))
{
        printf 'name: soak\nrootfs: %s\ndefaults: {boot: false, timeout: 30}\ntests:\n' "$rootfs"
        i=0
        while [ $i -lt "$n" ]; do
                case $((i % 10)) in
                6) printf '  - {name: "t%d fail", run: "exit 1"}\n' $i ;;
                7) printf '  - {name: "t%d timeout", run: "sleep %d", timeout: 1s}\n' $i $marker ;;
                8) printf '  - {name: "t%d oom", run: "x=$(head -c 100000000 /dev/zero | tr \\"\\\\0\\" x)", limits: {memory: 32M}}\n' $i ;;
                9) printf '  - {name: "t%d expect", run: "echo no", expect: {stdout: "^yes$"}}\n' $i ;;
                *) printf '  - {name: "t%d pass", run: "echo ok %d"}\n' $i $i ;;
                esac
                i=$((i + 1))
        done
} >"$work/soak.yaml"

harness_sweep "$h" "$rootfs"
host_snapshot >"$work/snap.before"
cd "$work"
t0=$(date +%s)
/usr/bin/time -v -o time.txt "$h" -q run -j 2 -o out --junit soak.xml --json soak.json soak.yaml \
        >run.log 2>&1
rc=$?
t1=$(date +%s)
tail -3 run.log
echo "measured: $n tests in $((t1 - t0)) s with -j 2, harness peak RSS $(sed -n 's/.*Maximum resident set size (kbytes): //p' time.txt) KiB"
[ $rc -eq 1 ] && ok "exit 1 (failures)" || bad "exit $rc"
xmllint --noout soak.xml && ok "JUnit valid" || bad "JUnit invalid"
tests=$(xp soak.xml 'count(//testcase)')
[ "$tests" = "$n" ] && ok "$n testcases" || bad "$tests testcases"
want_pass=0 want_fail=0
i=0
while [ $i -lt "$n" ]; do
        case $((i % 10)) in 6 | 7 | 8 | 9) want_fail=$((want_fail + 1)) ;; *) want_pass=$((want_pass + 1)) ;; esac
        i=$((i + 1))
done
pass=$(xp soak.xml 'count(//testcase[not(failure or error or skipped)])')
[ "$pass" = "$want_pass" ] && ok "$pass passed" || bad "$pass passed, want $want_pass"
for kind in timeout oom; do
        c=$(xp soak.xml "count(//testcase/failure[@type='$kind'])")
        w=$(xp soak.xml "count(//testcase[contains(@name,' $kind')])")
        [ "$c" = "$w" ] && ok "$c failures of type $kind" || bad "$c of type $kind, want $w"
done
[ "$(xp soak.xml 'count(//error)')" = 0 ] && ok "no infrastructure error" ||
        bad "$(xp soak.xml 'count(//error)') errors: $(grep -o 'error message="[^"]*"' soak.xml | sort | uniq -c | head -3)"
sleep 1
[ "$(pgrep -c -f "^sleep $marker\$")" -eq 0 ] && ok "no test process left" || bad "test processes left"
[ -n "${ADV_KEEP:-}" ] || rm -rf out
host_snapshot >"$work/snap.after"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical after $n tests" ||
        bad "host snapshot changed"
finish

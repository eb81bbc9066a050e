#!/bin/sh
# The container's cgroups from its first process on. The worker moves the
# setup process into the v1 memory and pids cgroups while that process
# builds the root, and joins a v1 controller only when a limit needs it. A
# container with limits must still be inside them (and inside its own cgroup
# namespace, rooted at them) from PID 1 on; one without limits is outside
# every harness v1 cgroup, and its v2 cgroup alone still kills whatever it
# leaves behind. Each test is watched from the host while it runs: its
# command holds a unique token, and the host reads its /proc/PID/cgroup.
# Usage: cgroup-join.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$here/../lib/privileged.sh"
[ -f /sys/fs/cgroup/unified/cgroup.procs ] && [ -d /sys/fs/cgroup/memory ] &&
        [ -d /sys/fs/cgroup/pids ] || { echo "SKIP: not a hybrid cgroup host"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-cgjoin.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$here/../lib/check.sh"

tok=$$$(date +%N)
cg_line() { # cg_line PID CONTROLLER: the pid's cgroup path in that v1 hierarchy
        grep -E "^[0-9]+:$2:" "/proc/$1/cgroup" 2>/dev/null | cut -d: -f3
}
v2_line() { grep -E '^0::' "/proc/$1/cgroup" 2>/dev/null | cut -d: -f3; }
find_pid() { # find_pid WORD: the pid of the sleep with that argument
        for p in $(pgrep -x sleep); do
                tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1" && echo "$p" && return
        done
}

# Each sleep's second argument (0.TOKEN, a fraction of a second: sleep adds
# its arguments) names it on the host.
cat >"$work/join.yaml" <<YAML
name: join
rootfs: $rootfs
defaults: {boot: false, timeout: 60}
tests:
  - name: limited
    limits: {memory: 256M, pids: 64}
    run: |
      cat /proc/self/cgroup
      exec sleep 6 0.${tok}1
  - name: unlimited
    run: |
      cat /proc/self/cgroup
      setsid sleep 60 0.${tok}3 </dev/null >/dev/null 2>&1 &
      exec sleep 6 0.${tok}2
YAML

printf 'name: sweep\nrootfs: %s\ndefaults: {boot: false}\ntests:\n  - {name: t, run: "true"}\n' \
        "$rootfs" >"$work/sweep.yaml"
"$h" run -o "$work/sweep" "$work/sweep.yaml" >/dev/null 2>&1
host_snapshot >"$work/snap.before"

cd "$work"
"$h" run -j 2 -o out join.yaml >run.log 2>&1 &
run=$!

# Watch both tests from the host while they sleep.
lim= unl= left=
i=0
while [ $i -lt 200 ] && { [ -z "$lim" ] || [ -z "$unl" ] || [ -z "$left" ]; }; do
        [ -n "$lim" ] || lim=$(find_pid "0.${tok}1")
        [ -n "$unl" ] || unl=$(find_pid "0.${tok}2")
        [ -n "$left" ] || left=$(find_pid "0.${tok}3")
        sleep 0.05
        i=$((i + 1))
done

if [ -n "$lim" ]; then
        ok "the limited test's command seen on the host (pid $lim)"
        ppid=$(awk '{ print $4 }' "/proc/$lim/stat")
        for p in "$lim" "$ppid"; do
                for c in memory pids; do
                        l=$(cg_line "$p" "$c")
                        case $l in
                        */harness/c*) ok "limited: pid $p in its own $c cgroup ($l)" ;;
                        *) bad "limited: pid $p outside the container's $c cgroup: '$l'" ;;
                        esac
                done
        done
        l=$(cg_line "$lim" memory)
        max=$(cat "/sys/fs/cgroup/memory$l/memory.limit_in_bytes" 2>/dev/null)
        [ "$max" = 268435456 ] && ok "limited: the memory limit is on that cgroup" ||
                bad "limited: memory.limit_in_bytes '$max'"
        l=$(cg_line "$lim" pids)
        max=$(cat "/sys/fs/cgroup/pids$l/pids.max" 2>/dev/null)
        [ "$max" = 64 ] && ok "limited: the pids limit is on that cgroup" || bad "limited: pids.max '$max'"
else
        bad "the limited test's command never showed up on the host"
fi

if [ -n "$unl" ]; then
        ok "the unlimited test's command seen on the host (pid $unl)"
        for c in memory pids devices; do
                l=$(cg_line "$unl" "$c")
                case $l in
                */harness/c*) bad "unlimited: in a harness $c cgroup ($l): a join it did not need" ;;
                *) ok "unlimited: no $c cgroup of its own ($l)" ;;
                esac
        done
        l=$(v2_line "$unl")
        case $l in
        */harness/c*) ok "unlimited: in its own v2 cgroup ($l)" ;;
        *) bad "unlimited: outside its v2 cgroup: '$l'" ;;
        esac
else
        bad "the unlimited test's command never showed up on the host"
fi
[ -n "$left" ] && ok "the unlimited test left a process behind (pid $left)" ||
        bad "the unlimited test's leftover process never started"

wait $run
rc=$?
cat run.log
[ "$rc" -eq 0 ] && ok "both tests passed" || bad "harness run exit status $rc"

# Inside, each controller's line is "/": the cgroup namespace is rooted at
# the cgroups the container runs in, so the limited test was in its v1
# cgroups before the namespace was made (a join after it would show
# "/../../harness/c…").
out_lim=$(cat out/join/limited*/stdout 2>/dev/null)
out_unl=$(cat out/join/unlimited*/stdout 2>/dev/null)
for c in memory pids; do
        l=$(printf '%s\n' "$out_lim" | grep -E "^[0-9]+:$c:" | cut -d: -f3)
        [ "$l" = / ] && ok "limited, inside: $c is / (its namespace's root)" ||
                bad "limited, inside: $c is '$l'"
done
l=$(printf '%s\n' "$out_unl" | grep -E '^0::' | cut -d: -f3)
[ "$l" = / ] && ok "unlimited, inside: v2 is /" || bad "unlimited, inside: v2 is '$l'"

if [ -n "$left" ]; then
        i=0
        while [ $i -lt 50 ] && kill -0 "$left" 2>/dev/null; do
                sleep 0.1
                i=$((i + 1))
        done
        kill -0 "$left" 2>/dev/null && bad "unlimited: its leftover process survived the test" ||
                ok "unlimited: its leftover process was killed with the container"
fi

[ -n "${ADV_KEEP:-}" ] || rm -rf out
host_snapshot >"$work/snap.after"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical" ||
        bad "host snapshot changed"
finish

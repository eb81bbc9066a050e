#!/bin/sh
# What a container can forge towards the host-privileged harness processes:
#  (3) the sync socket: container root takes PID 1's socket with
#      pidfd_getfd() and sends a forged SYNC_PID naming a host process and a
#      forged SYNC_ERROR full of terminal escapes (direct mode, private users
#      on and off): `harness ps` must not show the host pid, `harness stop`
#      must not signal it, `harness enter` must not land in the host's
#      namespaces, no raw ESC on harness's output, no infrastructure error,
#      no worker left running afterwards;
#  (4) the registry: an env value that overflowed the old line reader into
#      leader=/cgroup= lines, and entries hand-edited to name a host process
#      and a host cgroup: stop and enter act on the real container or refuse;
#  (5) enter and terminals: `harness enter NAME CMD </dev/null` under a
#      terminal must not leave the caller's controlling terminal to CMD
#      (TIOCSTI into the operator's shell), and on a terminal enter gives a
#      pty that passes window size changes and leaves on Ctrl-] x3.
# Every attack step is checked to have run (the forged message was sent, the
# entry was edited) so that nothing passes vacuously.
#
# Usage: attack-sync.sh HARNESS PROBE
set -u
h=$1
probe_bin=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-sync.XXXXXX")
pids=""
victim_cg=""
cleanup() {
        # The victim ignores SIGTERM: its cgroup is killed.
        [ -n "$victim_cg" ] && [ -d "$victim_cg" ] && echo 1 >"$victim_cg/cgroup.kill" 2>/dev/null
        for p in $pids; do kill "$p" 2>/dev/null; done
        # Workers of our own runs that did not end (the unfixed harness spins).
        for p in $(pgrep -f "$work/" 2>/dev/null); do
                [ "$p" != $$ ] && kill -9 "$p" 2>/dev/null
        done
        wait 2>/dev/null
        [ -n "$victim_cg" ] && [ -d "$victim_cg" ] && {
                sleep 0.3
                rmdir "$victim_cg" 2>/dev/null
        }
        [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"
priv=$("$h" run --help 2>&1 | grep -q -- --allow-privileged && echo --allow-privileged)

mkdir -p "$work/probe"
cp "$probe_bin" "$work/probe/probe"
esc=$(printf '\033')

# A marked host process: what the forged messages name.
mark=$((8000 + $$ % 1000))
start_bait() {
        if [ -z "${bait:-}" ] || ! kill -0 "$bait" 2>/dev/null; then
                sleep "$mark" &
                bait=$!
                pids="$pids $bait"
        fi
}

# wait_for FILE PATTERN SECONDS
wait_for() {
        i=0
        while [ $i -lt $(($3 * 5)) ]; do
                grep -qs "$2" "$1" && return 0
                sleep 0.2
                i=$((i + 1))
        done
        return 1
}

# machine SUITE TEST: "name leader" of the running machine, from ps --json.
machine() {
        "$h" ps --json | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m["suite"] == sys.argv[1] and m["test"] == sys.argv[2]:
        print(m["name"], m["leader"])
        break' "$1" "$2"
}

wait_machine() {
        i=0
        while [ $i -lt 300 ]; do
                m=$(machine "$1" "$2")
                [ -n "$m" ] && { echo "$m"; return 0; }
                sleep 0.2
                i=$((i + 1))
        done
        return 1
}

# lingering TAG: our processes still running for that suite file.
lingering() {
        sleep 1
        pgrep -f "$work/$1.yaml" 2>/dev/null | tr '\n' ' '
}

# finish_run TAG PID: waits for the run, then checks exit status, ESC bytes
# and leftovers.
finish_run() {
        wait "$2"
        rc=$?
        case $rc in
        3) bad "$1: the run ended as an infrastructure error (exit 3)" ;;
        124 | 137) bad "$1: the run did not end (killed by timeout)" ;;
        *) ok "$1: the run ended with exit $rc, not an infrastructure error" ;;
        esac
        if grep -q "$esc" "$work/$1.log"; then
                bad "$1: a raw ESC byte reached harness's output"
                grep -a FORGED "$work/$1.log" | od -c | head -5 | sed 's/^/#   /'
        else
                ok "$1: no raw ESC byte on harness's output"
        fi
        left=$(lingering "$1")
        if [ -n "$left" ]; then
                bad "$1: harness processes left running: $left"
                for p in $left; do
                        echo "#   $p: $(ps -o pid=,pcpu=,stat=,args= -p "$p" 2>/dev/null)"
                        kill -9 "$p" 2>/dev/null
                done
        else
                ok "$1: no harness process left running"
        fi
}

v2=/sys/fs/cgroup
[ -f /sys/fs/cgroup/unified/cgroup.procs ] && v2=/sys/fs/cgroup/unified
victim_cg=$v2/th-adv-victim-$$
mkdir "$victim_cg"
# A host process in a host cgroup, deaf to SIGTERM (so only a kill ends it).
sh -c 'echo $$ >'"$victim_cg"'/cgroup.procs; trap "" TERM; exec sleep '"$((mark + 1))" &
victim=$!
pids="$pids $victim"
sleep 0.3
grep -q "th-adv-victim-$$" "/proc/$victim/cgroup" || bad "the victim is not in its cgroup"
victim_alive() {
        kill -0 "$victim" 2>/dev/null && grep -q "th-adv-victim-$$" "/proc/$victim/cgroup"
}

harness_sweep "$h" "$rootfs"
host_snapshot "$work/probe" >"$work/snap.before"
cd "$work"
host_mnt=$(readlink /proc/self/ns/mnt)

# ---- (3) the sync socket ---------------------------------------------------
for pu in true false; do
        tag=sync-$pu
        start_bait
        mkdir -p "$work/ctl-$pu"
        cat >"$tag.yaml" <<YAML
name: $tag
rootfs: $rootfs
defaults:
  boot: false
  private-users: $pu
  timeout: 150
tests:
  - name: forge
    fixtures:
      - $work/probe:/probe
      - {source: $work/ctl-$pu, target: /ctl, writable: true}
    run: |
      /probe/probe forge-sync pid $bait >/ctl/pid.log 2>&1
      while [ ! -e /ctl/go ]; do sleep 0.2; done
      /probe/probe forge-sync error >/ctl/error.log 2>&1
      sleep 600
  - name: error-only
    fixtures:
      - $work/probe:/probe
      - {source: $work/ctl-$pu, target: /ctl, writable: true}
    run: |
      /probe/probe forge-sync error >/ctl/error-only.log 2>&1
      sleep 2
YAML
        p=""
        [ "$pu" = false ] && p=$priv
        timeout -k 15 200 "$h" run -j 2 $p -o "out-$tag" --junit "$tag.xml" "$work/$tag.yaml" \
                </dev/null >"$tag.log" 2>&1 &
        run=$!
        if wait_for "ctl-$pu/error-only.log" "SENT" 60; then
                ok "$tag: a forged SYNC_ERROR alone was sent from a second test"
        else
                bad "$tag: the lone forged SYNC_ERROR was not sent: $(cat "ctl-$pu/error-only.log" 2>/dev/null)"
        fi
        if ! wait_for "ctl-$pu/pid.log" "SENT" 60; then
                bad "$tag: the forged SYNC_PID was not sent: $(cat "ctl-$pu/pid.log" 2>/dev/null)"
                touch "ctl-$pu/go"
                kill "$run" 2>/dev/null
                finish_run "$tag" "$run"
                continue
        fi
        grep -q STOLE "ctl-$pu/pid.log" && ok "$tag: pidfd_getfd took PID 1's sync socket and a forged SYNC_PID $bait was sent"
        sleep 1
        set -- $(wait_machine "$tag" forge)
        name=${1:-} leader=${2:-}
        if [ -z "$name" ]; then
                bad "$tag: the container is not listed by harness ps"
        elif [ "$leader" = "$bait" ]; then
                bad "$tag: harness ps shows the host process $bait as the leader"
        else
                ok "$tag: harness ps shows the real leader ($leader, not the host's $bait)"
        fi
        inner=$("$h" enter "$name" readlink /proc/self/ns/mnt 2>"$tag.enter.err")
        if [ -z "$inner" ]; then
                bad "$tag: harness enter failed: $(cat "$tag.enter.err")"
        elif [ "$inner" = "$host_mnt" ]; then
                bad "$tag: harness enter landed in the host's mount namespace"
        else
                ok "$tag: harness enter ran inside the container ($inner)"
        fi
        touch "ctl-$pu/go"
        if wait_for "ctl-$pu/error.log" SENT 30; then
                ok "$tag: a forged SYNC_ERROR with terminal escapes was sent"
        else
                bad "$tag: the forged SYNC_ERROR was not sent: $(cat "ctl-$pu/error.log" 2>/dev/null)"
        fi
        sleep 1
        [ -n "$name" ] && "$h" stop --timeout 5s "$name" >"$tag.stop.log" 2>&1
        if kill -0 "$bait" 2>/dev/null; then
                ok "$tag: harness stop left the host process $bait alive"
        else
                bad "$tag: harness stop killed the host process $bait"
        fi
        finish_run "$tag" "$run"
done

# ---- (4) the registry ------------------------------------------------------
pad=$(head -c 2041 /dev/zero | tr '\0' x)
for pu in true false; do
        tag=reg-$pu
        cat >"$tag.yaml" <<YAML
name: $tag
rootfs: $rootfs
defaults:
  boot: false
  private-users: $pu
  timeout: 150
tests:
  - name: inject
    env:
      A: "${pad}leader=$victim"
      B: "${pad}cgroup=$victim_cg"
      C: "x\nleader=$victim\ncgroup=$victim_cg\n"
    run: sleep 600
  - name: plain
    run: sleep 600
YAML
        p=""
        [ "$pu" = false ] && p=$priv
        timeout -k 15 200 "$h" run -j 2 $p -o "out-$tag" --junit "$tag.xml" "$work/$tag.yaml" \
                </dev/null >"$tag.log" 2>&1 &
        run=$!
        set -- $(wait_machine "$tag" inject)
        name=${1:-} leader=${2:-}
        set -- $(wait_machine "$tag" plain)
        plain=${1:-}
        if [ -z "$name" ] || [ -z "$plain" ]; then
                bad "$tag: the containers are not listed by harness ps"
                kill "$run"
                finish_run "$tag" "$run"
                continue
        fi
        entry=/run/harness/machines/$name
        if [ "$(wc -c <"$entry")" -gt 4000 ] && grep -q "leader=$victim" "$entry"; then
                ok "$tag: the registry entry holds the hostile 2 KB env values"
        else
                bad "$tag: the hostile env values did not reach the registry entry"
        fi
        [ "$leader" != "$victim" ] && ok "$tag: harness ps shows the real leader $leader" ||
                bad "$tag: harness ps shows the host process $victim as the leader"
        "$h" stop --timeout 2s "$name" >"$tag.stop.log" 2>&1
        victim_alive && ok "$tag: stop of the injected entry left the host process alive" ||
                bad "$tag: stop of the injected entry killed the host process $victim"

        # Hand-edited entries: a host pid, then a host pid in a host cgroup.
        cp "/run/harness/machines/$plain" "$tag.entry"
        for edit in "s,^leader=.*,leader=$victim," \
                "s,^leader=.*,leader=$victim,;s,^cgroup=.*,cgroup=$victim_cg,"; do
                sed "$edit" "$tag.entry" >"/run/harness/machines/.$plain.edit" &&
                        mv "/run/harness/machines/.$plain.edit" "/run/harness/machines/$plain"
                if ! grep -q "^leader=$victim\$" "/run/harness/machines/$plain"; then
                        bad "$tag: could not edit the entry"
                        continue
                fi
                "$h" stop --timeout 2s "$plain" >"$tag.stop2.log" 2>&1
                src=$?
                "$h" enter "$plain" readlink /proc/self/ns/mnt >"$tag.enter2.log" 2>&1
                erc=$?
                if ! victim_alive; then
                        bad "$tag: stop of an edited entry ($edit) killed the host process"
                        break
                fi
                [ $src -ne 0 ] && ok "$tag: stop refused the edited entry: $(head -1 "$tag.stop2.log")" ||
                        bad "$tag: stop accepted an entry naming a host process"
                if [ $erc -ne 0 ] && ! grep -qx "$host_mnt" "$tag.enter2.log"; then
                        ok "$tag: enter refused the edited entry: $(head -1 "$tag.enter2.log")"
                else
                        bad "$tag: enter accepted an entry naming a host process: $(cat "$tag.enter2.log")"
                fi
        done
        cp "$tag.entry" "/run/harness/machines/$plain"
        "$h" stop --timeout 2s "$plain" >/dev/null 2>&1
        finish_run "$tag" "$run"
done
victim_alive && ok "the host victim and its cgroup survived" || bad "the host victim was killed"

# ---- (5) enter and terminals -----------------------------------------------
if command -v script >/dev/null; then
        tag=tty
        cat >"$tag.yaml" <<YAML
name: $tag
rootfs: $rootfs
defaults:
  boot: false
  timeout: 150
  fixtures: [$work/probe:/probe]
tests:
  - name: sleeper-pu
    private-users: true
    run: sleep 600
  - name: sleeper-nopu
    private-users: false
    run: sleep 600
YAML
        timeout -k 15 200 "$h" run -j 2 $priv -o "out-$tag" --junit "$tag.xml" "$work/$tag.yaml" \
                </dev/null >"$tag.log" 2>&1 &
        run=$!
        marker=/tmp/PWNED-BY-TIOCSTI
        for t in sleeper-pu sleeper-nopu; do
                set -- $(wait_machine "$tag" "$t")
                name=${1:-}
                [ -n "$name" ] || { bad "$t: not running"; continue; }
                rm -f "$marker"
                # TIOCSTI queues one byte per call: what the probe injects
                # shows as stray bytes before the next command the outer
                # shell reads, which then no longer runs as typed.
                (sleep 8; echo 'echo CLEAN-$((6*7))'; sleep 1; echo exit) | timeout 60 script -qec \
                        "$h enter $name /probe/probe tiocsti </dev/null; cd $work && sh" \
                        /dev/null >"$work/tiocsti-$t.log" 2>&1
                if ! grep -q "tiocsti fd 1\|INJECTED" "$work/tiocsti-$t.log"; then
                        bad "$t: the TIOCSTI probe did not run: $(head -3 "$work/tiocsti-$t.log")"
                elif [ -e "$marker" ] || ! grep -q "^CLEAN-42" "$work/tiocsti-$t.log"; then
                        bad "$t: enter </dev/null: TIOCSTI reached the outer terminal"
                        grep -a "not found" "$work/tiocsti-$t.log" | head -2 | sed 's/^/#   /'
                        rm -f "$marker"
                else
                        ok "$t: enter </dev/null under a terminal: nothing injected into the outer terminal"
                fi
                # No terminal at all: the command must have no controlling terminal.
                timeout 60 script -qec \
                        "$h enter $name sh -c 'cut -d\" \" -f7 /proc/self/stat' </dev/null >$work/ctty-$t 2>&1" \
                        /dev/null >/dev/null 2>&1
                ctty=$(cat "$work/ctty-$t" 2>/dev/null)
                [ "$ctty" = 0 ] && ok "$t: enter without a terminal on its stdio: no controlling terminal" ||
                        bad "$t: enter without a terminal on its stdio: controlling terminal '$ctty'"

                # On a terminal: a pty, window size passed through, Ctrl-] x3 leaves.
                timeout 90 python3 "$here/../lib/pty-console.py" --leave-timeout 15 -- \
                        "$h" enter "$name" /bin/sh >"$work/pty-$t.log" 2>&1
                for what in "initial size seen" "resize seen" "raw while inside" "ctrl-] x3 left" \
                        "mode restored"; do
                        grep -q "^$what: True" "$work/pty-$t.log" && ok "$t: pty: $what" ||
                                bad "$t: pty: not $what"
                done
        done
        for t in sleeper-pu sleeper-nopu; do
                set -- $(machine "$tag" "$t")
                [ -n "${1:-}" ] && "$h" stop --timeout 2s "$1" >/dev/null 2>&1
        done
        finish_run "$tag" "$run"
fi

sleep 1
host_snapshot "$work/probe" >"$work/snap.after"
if snapshot_same "$work/snap.before" "$work/snap.after"; then
        ok "host snapshot identical"
else
        bad "host snapshot changed"
        diff "$work/snap.before" "$work/snap.after" | head -20 | sed 's/^/#   /'
fi
finish

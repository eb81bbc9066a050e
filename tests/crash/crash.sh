#!/bin/sh
# Crash safety of `harness run`:
#  - SIGKILL of the harness mid-run leaves no running container (they die
#    with it), and the next run sweeps what it left (cgroups, staging dirs,
#    id-range locks);
#  - SIGTERM stops the run within seconds with exit 130 and a valid report
#    of what finished;
#  - SIGKILL at random moments never leaves a half-written report (the file
#    on disk is always a complete, valid document) and a killed run never
#    looks green;
#  - the host snapshot is identical before and after.
# Usage: crash.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-crash.XXXXXX")
marker=$((5000 + $$ % 1000)) # a sleep duration no other process uses
cleanup() {
        left=$(pgrep -f "^sleep $marker\$")
        [ -z "$left" ] || kill -KILL $left
        [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
running() { pgrep -c -f "^sleep $marker\$"; }
wait_running() { # wait_running N: until N marked sleeps run (max 60 s)
        i=0
        while [ "$(running)" -lt "$1" ] && [ $i -lt 600 ]; do
                sleep 0.1
                i=$((i + 1))
        done
}
# leftovers PIDS: state of those (dead) worker pids still on the host
leftovers() {
        for p in $1; do
                ls -d /sys/fs/cgroup/*/harness/c"$p"-* /sys/fs/cgroup/harness/c"$p"-* \
                        /run/harness/stage/c"$p"-* 2>/dev/null
        done
}

cd "$work"
printf 'name: sweep\nrootfs: %s\ndefaults: {boot: false}\ntests:\n  - {name: t, run: "true"}\n' \
        "$rootfs" >sweep.yaml
"$h" run -o sweep sweep.yaml >/dev/null 2>&1 # sweeps what earlier runs left
host_snapshot >snap.before

cat >long.yaml <<YAML
name: crash
rootfs: $rootfs
defaults: {boot: false, timeout: 600}
tests:
  - name: quick
    run: echo quick
  - name: long direct
    run: sleep $marker
  - name: long booted
    boot: true
    run: sleep $marker
  - name: never started
    run: sleep $marker
YAML

# ---- SIGKILL mid-run ---------------------------------------------------------
"$h" run -j 2 -o out-kill --junit kill.xml long.yaml >kill.log 2>&1 &
pid=$!
wait_running 2
workers=$(pgrep -P $pid | tr '\n' ' ')
[ "$(running)" -ge 2 ] && ok "two containers running (workers: $workers)" || bad "containers did not start"
kill -KILL $pid
wait $pid 2>/dev/null
i=0
while [ "$(running)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(running)" -eq 0 ] && ok "SIGKILL: every container died with the harness ($((i / 10)).$((i % 10)) s)" ||
        bad "SIGKILL: $(running) container processes still running"
# workers: wait_gone PIDS: until none of them exists (max 10 s)
wait_gone() {
        i=0
        while [ $i -lt 100 ]; do
                alive=""
                for p in $1; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
                [ -z "$alive" ] && return 0
                sleep 0.1
                i=$((i + 1))
        done
        return 1
}
wait_gone "$workers"
[ -z "$alive" ] && ok "SIGKILL: no worker survived" || bad "SIGKILL: workers alive:$alive"
if [ -e kill.xml ] && [ "$(xp kill.xml 'count(//testcase)')" = 4 ] &&
        [ "$(xp kill.xml 'count(//failure|//error)')" = 0 ]; then
        bad "SIGKILL: the report looks green"
else
        ok "SIGKILL: no green report"
fi
left=$(leftovers "$workers")
echo "# left by the killed run before the next one: $(echo $left | wc -w) entries"
"$h" run -o out-next sweep.yaml >/dev/null 2>&1 && ok "the next run passes" || bad "the next run failed"
left=$(leftovers "$workers")
[ -z "$left" ] && ok "the next run swept the killed run's cgroups and staging dirs" ||
        bad "left after the next run: $left"

# ---- SIGKILL over an earlier green report -------------------------------------
"$h" run -o out-green --junit green.xml sweep.yaml >/dev/null 2>&1
[ "$(xp green.xml 'count(//testcase)')" = 1 ] || bad "no green report to start from"
"$h" run -j 2 -o out-green2 --junit green.xml long.yaml >/dev/null 2>&1 &
pid=$!
wait_running 2
kill -KILL $pid
wait $pid 2>/dev/null
[ "$(xp green.xml "count(//testcase[@name='run interrupted']/error)")" = 1 ] &&
        ok "SIGKILL: the earlier green report was replaced by 'run interrupted'" ||
        bad "SIGKILL: the earlier green report is still in place"
xmllint --noout green.xml 2>/dev/null && ok "SIGKILL: the report on disk is a complete document" ||
        bad "SIGKILL: a half-written report"
while [ "$(running)" -gt 0 ]; do sleep 0.2; done

# ---- SIGKILL at random moments while reports are written ----------------------
{
        printf 'name: many\nrootfs: %s\ndefaults: {boot: false, timeout: 5}\ntests:\n' "$rootfs"
        for i in $(seq 1 40); do printf '  - {name: t%s, run: "echo %s"}\n' "$i" "$i"; done
} >many.yaml
"$h" run -j 2 -o out-many --junit many.xml --tap many.tap --json many.json many.yaml >/dev/null 2>&1
half=0
killed_workers=""
for d in 0.3 0.9 1.7 2.5 3.1 4.2; do
        "$h" run -j 2 -o out-many --junit many.xml --tap many.tap --json many.json many.yaml \
                >/dev/null 2>&1 &
        pid=$!
        sleep $d
        killed_workers="$killed_workers $(pgrep -P $pid | tr '\n' ' ')"
        kill -KILL $pid 2>/dev/null
        wait $pid 2>/dev/null
        xmllint --noout many.xml 2>/dev/null || half=$((half + 1))
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' many.json 2>/dev/null ||
                half=$((half + 1))
done
[ $half -eq 0 ] && ok "SIGKILL at 6 moments: JUnit and JSON always complete" ||
        bad "$half half-written reports"
ls many.xml.* many.json.* .many* 2>/dev/null | grep -q . && bad "temporary report files left" ||
        ok "no temporary report files left"

# ---- SIGTERM -------------------------------------------------------------------
"$h" run -j 2 -o out-term --junit term.xml --json term.json long.yaml >term.log 2>&1 &
pid=$!
i=0
while ! ls out-term/crash/quick*/result >/dev/null 2>&1 && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
wait_running 2
t0=$(date +%s)
kill -TERM $pid
wait $pid
rc=$?
t1=$(date +%s)
[ $rc -eq 130 ] && ok "SIGTERM: exit 130" || bad "SIGTERM: exit $rc"
[ $((t1 - t0)) -le 15 ] && ok "SIGTERM: stopped in $((t1 - t0)) s" || bad "SIGTERM: took $((t1 - t0)) s"
xmllint --noout term.xml && ok "SIGTERM: JUnit valid" || bad "SIGTERM: JUnit invalid"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' term.json && ok "SIGTERM: JSON valid" ||
        bad "SIGTERM: JSON invalid"
[ "$(xp term.xml "count(//testcase[@name='quick'])")" = 1 ] && ok "SIGTERM: the finished test is reported" ||
        bad "SIGTERM: the finished test is missing"
[ "$(xp term.xml 'count(//testcase)')" = "$(xp term.xml 'count(//testcase[not(failure or error or skipped)])')" ] &&
        bad "SIGTERM: the interrupted run looks green" || ok "SIGTERM: the interrupted run does not look green"
sleep 1
[ "$(running)" -eq 0 ] && ok "SIGTERM: no container left" || bad "SIGTERM: containers left"

wait_gone "$killed_workers" || bad "workers of killed runs still alive"
"$h" run -o out-last sweep.yaml >/dev/null 2>&1
left=$(leftovers "$killed_workers")
[ -z "$left" ] && ok "after 6 random SIGKILLs the next run swept everything" || bad "left: $left"
[ -n "${ADV_KEEP:-}" ] || rm -rf out-*
host_snapshot >snap.after
snapshot_same snap.before snap.after && ok "host snapshot identical" || bad "host snapshot changed"
finish

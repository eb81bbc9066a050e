#!/bin/sh
# Asynchronous teardown of `harness run`: a worker reports its test's result
# and then tears the container down behind it, while the slot already runs
# the next test. Checks:
#  - a test's result is on disk while its worker still tears its container
#    down (the container's cgroup is still there): the report comes first;
#  - SIGKILL of the harness *and* of that worker in the middle of the
#    teardown (caught there: the worker is stopped with SIGSTOP as soon as
#    the result appears, its cgroup and staging dir still present) leaves
#    state behind, and the next harness command (`harness run`, which sweeps
#    what dead workers left) removes all of it;
#  - SIGKILL of the harness alone during a teardown: the worker finishes the
#    teardown by itself (nothing of it is left once it exits);
#  - a run of 200 tests at -j 2 with overlapping teardowns leaves nothing;
#  - the host snapshot is identical before and after.
# Usage: async-teardown.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-async.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$(dirname "$0")/../lib/check.sh"
# state PIDS: what those worker pids have on the host (cgroups, staging dirs)
state() {
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

# The first test writes 30,000 files into the overlay's upper dir: the
# worker's teardown then unmounts a tmpfs holding them, long enough to be
# caught in it. The second one keeps the run going.
cat >slow.yaml <<YAML
name: async
rootfs: $rootfs
defaults: {boot: false, timeout: 120}
tests:
  - name: many-files
    run: mkdir /f && cd /f && seq 1 30000 | xargs touch
  - name: after
    run: sleep 30
YAML

# catch OUT HARNESS_PID: as soon as OUT/async/many-files/result exists, SIGSTOP
# every worker of the harness; prints the first test's worker (0 when it is
# gone: its teardown was over before the result appeared), then the stopped
# pids.
catch() {
        python3 - "$1" "$2" <<'PY'
import os, signal, sys, time
out, runner = sys.argv[1], int(sys.argv[2])
res = os.path.join(out, "async", "many-files", "result")
def children():
    try:
        with open(f"/proc/{runner}/task/{runner}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []
first = None
deadline = time.monotonic() + 120
while not os.path.exists(res) and time.monotonic() < deadline:
    if first is None and children():
        first = children()[0]  # the worker of the first test
    time.sleep(0.0005)
kids = children()
for k in kids:
    try:
        os.kill(k, signal.SIGSTOP)
    except ProcessLookupError:
        pass
# first: the first test's worker, if it still exists; then every stopped one
print(first if first in kids else 0, " ".join(map(str, kids)))
PY
}

# ---- the result comes first; SIGKILL of harness and worker mid-teardown --------
caught=0
for try in 1 2 3 4 5; do
        rm -rf out-a
        "$h" run -j 1 -o out-a slow.yaml >/dev/null 2>&1 &
        pid=$!
        caught_pids=$(catch out-a $pid)
        first=${caught_pids%% *}
        stopped=${caught_pids#* }
        left=$(state "$first")
        if [ "$first" != 0 ] && [ -n "$left" ] && [ -s "out-a/async/many-files/result" ]; then
                caught=1
                kill -KILL $pid $stopped 2>/dev/null
                kill -CONT $stopped 2>/dev/null
                wait $pid 2>/dev/null
                break
        fi
        kill -KILL $pid $stopped 2>/dev/null
        kill -CONT $stopped 2>/dev/null
        wait $pid 2>/dev/null
done
if [ $caught = 1 ]; then
        ok "the result was on disk while its worker still tore down (try $try): $(echo $left | wc -w) entries of worker $first"
        grep -q '^status: pass' "out-a/async/many-files/result" &&
                ok "the early result is the test's (pass)" || bad "the early result is not a pass"
        i=0
        while kill -0 $first 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 $first 2>/dev/null && bad "the killed worker is still alive"
        left=$(state "$first")
        [ -n "$left" ] && ok "SIGKILL mid-teardown left $(echo $left | wc -w) entries (cgroups, staging dir)" ||
                bad "SIGKILL mid-teardown left nothing: the kill did not land in the teardown"
        "$h" run -o out-next sweep.yaml >/dev/null 2>&1 && ok "the next harness run passes" ||
                bad "the next harness run failed"
        left=$(state "$stopped")
        [ -z "$left" ] && ok "the next harness run swept what the killed teardown left" ||
                bad "left after the next run: $left"
else
        bad "never caught a worker tearing down after its result was written (5 tries)"
fi

# ---- SIGKILL of harness alone mid-teardown: the worker finishes it -------------
rm -rf out-b
"$h" run -j 1 -o out-b slow.yaml >/dev/null 2>&1 &
pid=$!
caught_pids=$(catch out-b $pid)
first=${caught_pids%% *}
stopped=${caught_pids#* }
left=$(state "$first")
kill -KILL $pid
wait $pid 2>/dev/null
kill -CONT $stopped 2>/dev/null
i=0
while [ "$first" != 0 ] && kill -0 $first 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ -n "$left" ]; then
        ok "caught worker $first mid-teardown with $(echo $left | wc -w) entries; harness SIGKILLed"
        [ -z "$(state "$first")" ] && ok "the orphaned worker finished its teardown: nothing left" ||
                bad "the orphaned worker left: $(state "$stopped")"
else
        echo "# not caught mid-teardown this time; the case above covers the kill"
fi
pgrep -f "^sleep 30\$" >/dev/null && sleep 1
pgrep -f "^sleep 30\$" >/dev/null && bad "the next test's container survived the harness" ||
        ok "no container of the killed run left running"

# ---- many overlapping teardowns --------------------------------------------------
{
        printf 'name: many\nrootfs: %s\ndefaults: {boot: false, timeout: 30}\ntests:\n' "$rootfs"
        for i in $(seq 1 200); do printf '  - {name: t%s, run: "echo %s"}\n' "$i" "$i"; done
} >many.yaml
"$h" run -j 2 -o out-many many.yaml >many.log 2>&1 && ok "200 tests at -j 2 pass" ||
        bad "200 tests at -j 2: $(tail -1 many.log)"

"$h" run -o out-last sweep.yaml >/dev/null 2>&1
[ -n "${ADV_KEEP:-}" ] || rm -rf out-*
host_snapshot >snap.after
snapshot_same snap.before snap.after && ok "host snapshot identical" || bad "host snapshot changed"
finish

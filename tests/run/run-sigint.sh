#!/bin/sh
# SIGINT during harness run: exit 130 within a few seconds, a valid report of
# what finished (marked interrupted), and no container process left running.
# Usage: run-sigint.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

marker=$((4000 + $$ % 1000)) # a sleep duration no other process uses
cat >"$work/long.yaml" <<YAML
name: interrupted
rootfs: $rootfs
defaults: {boot: false, timeout: 600}
tests:
  - name: quick one
    run: echo quick
  - name: long one
    run: sleep $marker
  - name: long two
    run: sleep $marker
  - name: never started
    run: sleep $marker
YAML

cd "$work"
"$h" -v -v run -j 2 -o out --junit junit.xml --json report.json long.yaml >run.log 2>&1 &
pid=$!
# Wait until the quick test is done and both long ones are running.
i=0
while [ $i -lt 600 ]; do
        if ls out/interrupted/quick*/result >/dev/null 2>&1 &&
                [ "$(pgrep -c -f "^sleep $marker\$")" -ge 2 ]; then
                break
        fi
        sleep 0.1
        i=$((i + 1))
done
check "long tests are running" [ "$(pgrep -c -f "^sleep $marker\$")" -ge 2 ]
t0=$(date +%s)
kill -INT $pid
wait $pid
rc=$?
t1=$(date +%s)
grep -v "harness: debug\|^harness: [a-z]*: debug" run.log | grep -v "worker [0-9]* started" | tail -20
check "exit status 130 (got $rc)" [ "$rc" -eq 130 ]
check "exited within 15 s of SIGINT ($((t1 - t0)) s)" [ $((t1 - t0)) -le 15 ]
check "JUnit written and valid" xmllint --noout junit.xml
check "JSON written and valid" json_parses report.json
check "report holds the finished test" [ "$(xpath junit.xml "count(//testcase[@name='quick one'])")" = 1 ]
check "report holds no unfinished test" [ "$(xpath junit.xml "count(//testcase[@name='never started'])")" = 0 ]
sleep 1
check "no container process left" [ "$(pgrep -c -f "^sleep $marker\$")" -eq 0 ]
# isolate names its per-container state and cgroups c<worker pid>-...; none
# of this run's workers (logged at debug level) may have left any.
stale=""
for p in $(sed -n 's/.*worker \([0-9]*\) started.*/\1/p' run.log); do
        for d in /run/harness/stage/c$p-* /sys/fs/cgroup/harness/c$p-* /sys/fs/cgroup/*/harness/c$p-*; do
                [ -e "$d" ] && stale="$stale $d"
        done
done
check "the run logged its workers" grep -q "worker [0-9]* started" run.log
check "no container state or cgroup left by the stopped workers" [ -z "$stale" ]
[ -z "$stale" ] || echo "left:$stale"
pkill_left=$(pgrep -f "^sleep $marker\$")
[ -z "$pkill_left" ] || kill -KILL $pkill_left
finish

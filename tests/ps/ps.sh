#!/bin/sh
# Running containers end to end: while a boot-mode test sleeps, `harness ps`
# lists it (table and JSON), `harness enter` runs systemctl and other
# commands inside it (its PID namespace, as its root, with its environment,
# its own binaries), `harness stop` powers it off and the run reports the test
# as failed; nothing is left behind. Also direct mode, and the refusals.
# Usage: ps.sh HARNESS
. "$(dirname "$0")/../isolate/lib.sh"
need_root_and_tree
WORK=$(mktemp -d /tmp/th-ps-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

leftovers() {
        find /sys/fs/cgroup -mindepth 1 -type d -name 'harness-enter-*' 2>/dev/null
        # Only mounts that could be ours: other tests may mount elsewhere.
        awk -v w="$WORK" -v t="$T" 'index($5, w) == 1 || index($5, t) == 1 ||
                index($5, "/run/harness") == 1 { print $5 }' /proc/self/mountinfo | sort
        ls /run/harness/machines 2>/dev/null | grep '^h-running-' || true
}
leftovers >"$WORK/before"

cat >"$WORK/suite.yaml" <<YAML
name: running
rootfs: $T
defaults:
  timeout: 240
tests:
  - name: booted sleeper
    boot: true
    run: touch /run/th-started; sleep 600
    env: {TH_MARK: booted}
YAML

# machine NAME-PATTERN: the name of the running machine whose suite matches.
machine() {
        "$HARNESS" ps --json | grep '"suite": "running"' | sed 's/.*"name": "\([^"]*\)".*/\1/'
}

"$HARNESS" run -o "$WORK/runout" --junit "$WORK/junit.xml" "$WORK/suite.yaml" \
        </dev/null >"$WORK/run.out" 2>&1 &
RUN=$!
name=""
for i in $(seq 600); do
        name=$(machine)
        [ -n "$name" ] && "$HARNESS" enter "$name" test -e /run/th-started 2>/dev/null && break
        sleep 0.2
done
if [ -n "$name" ]; then
        ok "ps --json lists the booted test as '$name'"
else
        fail "the booted test never showed up in harness ps"
        kill "$RUN"
        wait "$RUN"
        finish
        exit 1
fi
"$HARNESS" ps >"$WORK/table"
grep -q "^$name .* boot .*running/booted sleeper" "$WORK/table" &&
        ok "ps shows name, mode and suite/test" || { fail "ps table"; cat "$WORK/table"; }
"$HARNESS" ps --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
m = [x for x in v if x["suite"] == "running"][0]
assert m["mode"] == "boot" and m["test"] == "booted sleeper" and m["leader"] > 1, m
assert m["rootfs"] and m["cgroup"].startswith("/sys/fs/cgroup"), m
' && ok "ps --json parses, with leader, rootfs and cgroup" || fail "ps --json"

state=$("$HARNESS" enter "$name" systemctl is-system-running 2>&1)
case $state in
running | degraded | starting) ok "enter: systemctl is-system-running answers '$state'" ;;
*) fail "enter: systemctl is-system-running said '$state'" ;;
esac
inside=$("$HARNESS" enter "$name" /bin/sh -c 'cat /proc/1/comm; id -u; echo "$container"' 2>&1 |
        tr '\n' ' ')
[ "$inside" = "systemd 0 harness " ] &&
        ok "enter: runs inside (PID 1 is systemd, uid 0, container=harness)" ||
        fail "enter: '$inside'"
[ "$("$HARNESS" enter "$name" readlink /proc/self/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] &&
        ok "enter: in the container's PID namespace" || fail "enter: host PID namespace"
[ "$("$HARNESS" enter "$name" readlink /proc/self/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] &&
        ok "enter: in the container's mount namespace" || fail "enter: host mount namespace"
expect_rc 7 "enter: the command's exit status comes back" -- \
        "$HARNESS" enter "$name" /bin/sh -c 'exit 7'
expect_rc 3 "enter: a program missing in the container is not taken from the host" -- \
        "$HARNESS" enter "$name" "$HARNESS" ps
grep -q "execute '$HARNESS' in the container" "$WORK/err" && ok "... and says so" ||
        fail "message: $(cat "$WORK/err")"
"$HARNESS" stop "$name" >"$WORK/stop" 2>&1 && ok "stop: returns 0" || fail "stop: $(cat "$WORK/stop")"
wait "$RUN"
rc=$?
[ "$rc" = 1 ] && ok "run: exit 1 after the stop" || { fail "run: exit $rc"; cat "$WORK/run.out"; }
n_fail=$(xmllint --xpath "count(//testcase[@name='booted sleeper']/failure)" "$WORK/junit.xml")
[ "$n_fail" = 1 ] && ok "run: the stopped test is a failure in the JUnit" || fail "JUnit: $n_fail failures"
type=$(xmllint --xpath "string(//testcase[@name='booted sleeper']/failure/@type)" "$WORK/junit.xml")
[ "$type" = stopped ] && ok "run: ... of type 'stopped'" || fail "JUnit: failure type '$type'"
[ -z "$(machine)" ] && ok "ps: the machine is gone" || fail "ps still lists '$name'"

# A stop that lands while systemd still boots (the machine is listed as soon
# as PID 1 exists, before the test unit starts) is the same failure, not an
# infrastructure error; and a stopped test is not retried.
sed 's/^  timeout: 240$/  timeout: 240\n  retries: 2/' "$WORK/suite.yaml" >"$WORK/early.yaml"
"$HARNESS" run -o "$WORK/earlyout" --junit "$WORK/early.xml" "$WORK/early.yaml" \
        </dev/null >"$WORK/early.out" 2>&1 &
RUN=$!
name=""
for i in $(seq 600); do
        name=$(machine)
        [ -n "$name" ] && break
        sleep 0.05
done
started=$("$HARNESS" enter "$name" test -e /run/th-started 2>/dev/null && echo yes || echo no)
"$HARNESS" stop "$name" >"$WORK/stop" 2>&1 && ok "stop during the boot: returns 0 (unit started: $started)" ||
        fail "stop during the boot: $(cat "$WORK/stop")"
wait "$RUN"
rc=$?
[ "$rc" = 1 ] && ok "run: exit 1 (a failure, not 3)" || { fail "run: exit $rc"; cat "$WORK/early.out"; }
type=$(xmllint --xpath "string(//testcase[@name='booted sleeper']/failure/@type)" "$WORK/early.xml")
[ "$type" = stopped ] && ok "run: a failure of type 'stopped'" ||
        { fail "JUnit: failure type '$type'"; cat "$WORK/early.xml"; }
retried=$(xmllint --xpath "count(//testcase/rerunFailure) + count(//testcase/flakyFailure)" "$WORK/early.xml")
[ "$retried" = 0 ] && ok "run: the stopped test was not retried" || fail "run: retried $retried times"

# ---- direct mode: environment, SIGTERM ------------------------------------
"$HARNESS" shell -D "$T" -x -M th-ps-direct --setenv TH_MARK=direct -- /bin/sh -c 'sleep 120' \
        </dev/null >/dev/null 2>&1 &
SH=$!
for i in $(seq 200); do
        "$HARNESS" ps | grep -q '^th-ps-direct ' && break
        sleep 0.1
done
got=$("$HARNESS" enter th-ps-direct /bin/sh -c 'echo "$TH_MARK $(hostname)"' 2>&1)
[ "$got" = "direct th-ps-direct" ] && ok "enter (direct): the container's environment and host name" ||
        fail "enter (direct): '$got'"
# On a terminal (script(1) gives us one): a pty of the container's devpts.
if command -v script >/dev/null; then
        (sleep 1; printf 'tty; exit 5\n'; sleep 2) |
                script -qec "'$HARNESS' enter th-ps-direct" /dev/null >"$WORK/tty" 2>&1
        rc=$?
        grep -q '^/dev/pts/[0-9]' "$WORK/tty" && [ "$rc" = 5 ] &&
                ok "enter on a terminal: the shell's tty is the container's pty, exit 5 comes back" ||
                fail "enter on a terminal: exit $rc, '$(tr -d '\r' <"$WORK/tty" | tr '\n' ' ')'"
fi
"$HARNESS" stop th-ps-direct >/dev/null 2>&1 && ok "stop (direct): returns 0" || fail "stop (direct)"
wait "$SH"
rc=$?
[ "$rc" != 0 ] && ok "stop (direct): the command did not finish normally (exit $rc)" ||
        fail "stop (direct): exit 0"

# ---- refusals -------------------------------------------------------------
expect_rc 2 "enter: an unknown machine" -- "$HARNESS" enter th-no-such-machine true
grep -q "no running machine 'th-no-such-machine'" "$WORK/err" && ok "... named" || fail "message: $(cat "$WORK/err")"
expect_rc 2 "stop: an unknown machine" -- "$HARNESS" stop th-no-such-machine
expect_rc 2 "enter: an invalid name" -- "$HARNESS" enter ../etc true
expect_rc 2 "enter: no name" -- "$HARNESS" enter
expect_rc 2 "ps: an unknown option" -- "$HARNESS" ps --bogus

leftovers >"$WORK/after"
if diff "$WORK/before" "$WORK/after" >"$WORK/diff"; then
        ok "nothing left: no cgroup, mount or registry entry"
else
        fail "left behind:"
        sed 's/^/#   /' "$WORK/diff"
fi
finish

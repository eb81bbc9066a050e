#!/bin/sh
# harness run --shell-on-fail, on a real terminal (a pty): a failed test's
# container is kept and a shell opens in it; what the test left is there;
# the run goes on once the shell exits, and reports the test's own failure
# (not a timeout, though the shell outlived the test's timeout). Passing
# tests, also one that expects a non-zero exit, get no shell. Not on a
# terminal the option is set aside with a warning. Both modes; nothing is
# left on the host.
# Usage: run-shell-on-fail.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/snapshot.sh"
drive="$(cd "$(dirname "$0")/../lib" && pwd)/pty-drive.py"
command -v python3 >/dev/null 2>&1 || skip "needs python3 (the pty driver)"

cd "$work"
mark=$$
# What earlier killed runs left is swept at every container start; sweep it
# now so the snapshots compare this test's run only.
"$h" shell -D "$rootfs" -x true >/dev/null 2>&1
host_snapshot >before

for boot in false true; do
        cat >"s-$boot.yaml" <<YAML
name: sof-$boot
rootfs: $rootfs
defaults: {boot: $boot, timeout: 10s}
tests:
  - name: fails
    run: echo $mark > /tmp/marker; exit 3
  - name: passes
    run: "true"
  - name: expects nonzero
    run: exit 4
    expect: {exit: 4}
YAML
        # Typed into the shell: the expansions happen inside the container,
        # so the typed line itself never matches what is checked below.
        answer='echo "MARK-$(cat /tmp/marker)-IN PID1-$(cat /proc/1/comm)-IN"; sleep 12; exit 5'
        python3 "$drive" --timeout 300 "exit the shell to go on=$answer" -- \
                "$h" run --shell-on-fail -j 1 -o "out-$boot" --junit "j-$boot.xml" "s-$boot.yaml" \
                >"pty-$boot.log" 2>&1
        rc=$?
        log="pty-$boot.log"
        [ "$rc" = 1 ] && ok "boot=$boot: exit 1 (a test failed)" || { bad "boot=$boot: exit $rc"; cat "$log"; }
        n=$(grep -c "kept; a shell in it follows" "$log")
        [ "$n" = 1 ] && ok "boot=$boot: one shell, for the failed test only" || bad "boot=$boot: $n shells"
        grep -q "MARK-$mark-IN" "$log" && ok "boot=$boot: the shell sees what the failed test left" ||
                { bad "boot=$boot: the test's file is not in the shell's container"; cat "$log"; }
        if [ "$boot" = true ]; then pid1=systemd; else pid1=harness-init; fi
        grep -q "PID1-$pid1-IN" "$log" && ok "boot=$boot: the shell runs in the test's container (PID 1 $pid1)" ||
                bad "boot=$boot: PID 1 is not $pid1 in the shell"
        grep -q "shell exited with status 5" "$log" && ok "boot=$boot: the shell's status is shown" ||
                bad "boot=$boot: no shell status"
        expect_case "j-$boot.xml" fails failure exit-status
        expect_case "j-$boot.xml" passes pass
        expect_case "j-$boot.xml" "expects nonzero" pass
        # The shell's 12 s are not the test's time.
        t=$(xpath "j-$boot.xml" "string(//testcase[@name='fails']/@time)")
        awk -v t="$t" 'BEGIN { exit !(t != "" && t < 10) }' && ok "boot=$boot: the test's time ($t s) leaves the shell out" ||
                bad "boot=$boot: the test's time is $t s"
done

# -j 2, two tests failing at once: one shell after the other, each in its
# own test's container; the second test's wait for the first shell is not
# its time either.
cat >two.yaml <<YAML
name: sof-two
rootfs: $rootfs
defaults: {boot: false, timeout: 5s}
tests:
  - name: fail a
    run: echo a > /tmp/who; exit 3
  - name: fail b
    run: echo b > /tmp/who; exit 4
YAML
python3 "$drive" --timeout 300 \
        'exit the shell to go on=echo "WHO-$(cat /tmp/who)-IN"; sleep 7; exit' \
        'exit the shell to go on=echo "WHO-$(cat /tmp/who)-IN"; exit' -- \
        "$h" run --shell-on-fail -j 2 -o out-two --junit j-two.xml two.yaml >pty-two.log 2>&1
rc=$?
[ "$rc" = 1 ] && ok "-j 2: exit 1" || { bad "-j 2: exit $rc"; cat pty-two.log; }
grep -q "WHO-a-IN" pty-two.log && grep -q "WHO-b-IN" pty-two.log &&
        ok "-j 2: a shell in each failed test's own container" || { bad "-j 2: shells"; cat pty-two.log; }
expect_case j-two.xml "fail a" failure exit-status
expect_case j-two.xml "fail b" failure exit-status
for t in "fail a" "fail b"; do
        tt=$(xpath j-two.xml "string(//testcase[@name='$t']/@time)")
        awk -v t="$tt" 'BEGIN { exit !(t != "" && t < 5) }' && ok "-j 2: '$t' took $tt s, no shell in it" ||
                bad "-j 2: '$t' took $tt s"
done

# Not on a terminal: a warning, and the run does not wait for anyone.
timeout 120 "$h" run --shell-on-fail -j 1 -o out-notty "s-false.yaml" </dev/null >notty.log 2>&1
rc=$?
[ "$rc" = 1 ] && ok "no terminal: the run ends (exit 1)" || { bad "no terminal: exit $rc"; cat notty.log; }
grep -q -- "--shell-on-fail: not on a terminal" notty.log && ok "no terminal: says the option is set aside" ||
        bad "no terminal: no warning"
grep -q "kept;" notty.log && bad "no terminal: a container was kept" || ok "no terminal: nothing kept"

host_snapshot >after
if diff -u before after >snap.diff; then
        ok "the host's mounts, cgroups and /run/harness are as before"
else
        bad "the host changed:"
        cat snap.diff
fi
finish

#!/bin/sh
# `reboots: N`: a booted container reboots for real (systemd again, PID 1
# new, /run new) over the files it wrote, the test unit (and setup) run
# again at each boot; one reboot more than N fails the test with the
# reason, a timeout covers all boots; nothing is left on the host.
# Usage: run-reboots.sh HARNESS
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/snapshot.sh"

cat >"$work/reboots.yaml" <<Y
name: reboots
rootfs: $rootfs
defaults: {timeout: 120}
tests:
  - name: twice
    reboots: 2
    setup: echo setup >>/var/tmp/setup-runs
    run: |
      n=\$(cat /var/tmp/boots 2>/dev/null || echo 0)
      echo "boot \$n"
      if [ "\$n" -gt 0 ]; then
              test ! -e /run/before-reboot || { echo "/run survived" >&2; exit 1; }
              test "\$(cut -d' ' -f22 /proc/1/stat)" != "\$(cat /var/tmp/pid1-start)" ||
                      { echo "PID 1 is the same" >&2; exit 1; }
      fi
      cut -d' ' -f22 /proc/1/stat >/var/tmp/pid1-start
      touch /run/before-reboot
      if [ "\$n" -ge 2 ]; then
              echo "setup ran \$(wc -l </var/tmp/setup-runs) times"
              exit 0
      fi
      echo \$((n + 1)) >/var/tmp/boots
      systemctl reboot
      sleep 60
  - name: loop
    reboots: 3
    run: |
      echo boot
      systemctl reboot
      sleep 60
  - name: timeout across boots
    reboots: 100
    timeout: 6s
    run: |
      systemctl reboot
      sleep 60
Y
host_snapshot "$work/none" >"$work/snap.before"
"$h" run --allow-privileged -o "$work/out" --junit "$work/junit.xml" "$work/reboots.yaml" \
        >"$work/log" 2>&1
rc=$?
cat "$work/log"
check "exit status 1 (two tests fail)" [ "$rc" -eq 1 ]
expect_case "$work/junit.xml" twice pass
t="$work/out/reboots/twice"
check "three boots, the files kept, /run and PID 1 new each time" \
        [ "$(cat "$t/stdout")" = "$(printf 'boot 0\nboot 1\nboot 2\nsetup ran 3 times')" ]
expect_case "$work/junit.xml" loop failure reboots
check "a reboot loop stops at the cap with the reason" \
        grep -q "^message: the container rebooted 3 times and once more: more than reboots: 3 allows" \
        "$work/out/reboots/loop/result"
check "the loop booted four times, then no more" [ "$(grep -c '^boot$' "$work/out/reboots/loop/stdout")" -eq 4 ]
expect_case "$work/junit.xml" "timeout across boots" failure timeout
host_snapshot "$work/none" >"$work/snap.after"
if snapshot_same "$work/snap.before" "$work/snap.after"; then
        ok "nothing left on the host"
else
        diff "$work/snap.before" "$work/snap.after" | head -20
        bad "the host changed"
fi

# boot: false with reboots is refused where the suite says it.
printf 'name: r\nrootfs: %s\ntests:\n  - {name: a, run: "true", boot: false, reboots: 1}\n' \
        "$rootfs" >"$work/bad.yaml"
"$h" check "$work/bad.yaml" >"$work/check.log" 2>&1
check "reboots without boot mode: a located error" grep -q "bad.yaml:4:.*reboots need boot mode" \
        "$work/check.log"
finish

#!/bin/sh
# Resource exhaustion and tests that end their container: a fork bomb under a
# pids limit, a memory hog under a memory limit (reported as OOM), a disk fill
# of the writable layer (bounded: the upper dir is a size-limited tmpfs), a
# 1 GB output flood (the harness's peak RSS stays small and the report is
# valid), a test that ignores SIGTERM, reboot/poweroff from inside, and a
# systemd unit that hangs the boot. The harness keeps going, reports each,
# and the host snapshot is identical before and after.
# Usage: exhaust.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-exhaust.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$(dirname "$0")/../lib/check.sh"
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
outcome() { # outcome FILE TEST: pass | failure:TYPE | error:TYPE | skipped
        for el in failure error skipped; do
                if [ "$(xp "$1" "count(//testcase[@name='$2']/$el)")" = 1 ]; then
                        echo "$el:$(xp "$1" "string(//testcase[@name='$2']/$el/@type)")"
                        return
                fi
        done
        [ "$(xp "$1" "count(//testcase[@name='$2'])")" = 1 ] && echo pass || echo missing
}

mkdir -p "$work/units"
cat >"$work/units/hang.service" <<'UNIT'
[Unit]
Description=a unit that never finishes starting
[Service]
Type=oneshot
ExecStart=/bin/sleep infinity
UNIT
mkdir -p "$work/wants"
ln -s /etc/systemd/system/hang.service "$work/wants/hang.service"

cat >"$work/exhaust.yaml" <<YAML
name: exhaust
rootfs: $rootfs
defaults: {boot: false, timeout: 20}
tests:
  - name: fork bomb
    limits: {pids: 64}
    timeout: 5
    run: 'b() { b | b & }; b; sleep 3; exit 0'
  - name: memory hog
    limits: {memory: 64M}
    run: x=\$(head -c 300000000 /dev/zero | tr '\0' x); echo \${#x}
  - name: disk fill
    # The upper dir's tmpfs (1 GiB) is charged to the container's memory
    # cgroup: leave room above it, so the layer's size stops dd (ENOSPC)
    # before the memory limit does (an ASan-built stub init is larger).
    limits: {memory: 2G}
    run: |
      dd if=/dev/zero of=/fill bs=1M count=4096 2>&1 | tail -1
      s=\$(stat -c %s /fill); echo "filled \$s bytes"; [ \$s -lt 4294967296 ]
  - name: output flood
    timeout: 300
    run: head -c 1073741824 /dev/zero | tr '\0' x
  - name: ignores SIGTERM
    timeout: 2
    run: trap '' TERM INT HUP; while :; do sleep 1; done
  - name: reboot -f
    run: reboot -ff; sleep 30
  - name: poweroff -f
    run: poweroff -ff; sleep 30
  - name: sysrq reboot
    run: echo b > /proc/sysrq-trigger; echo o > /proc/sysrq-trigger; exit 0
  - name: boot hangs
    boot: true
    timeout: 30
    fixtures:
      - $work/units/hang.service:/etc/systemd/system/hang.service
      - $work/wants:/etc/systemd/system/multi-user.target.wants
    run: "true"
  - name: booted reboot
    boot: true
    timeout: 60
    run: systemctl reboot; sleep 50
  - name: still alive afterwards
    run: echo alive
    expect: {stdout: alive}
YAML

# A first run sweeps what earlier killed runs left, so the snapshot below
# only sees what this run leaves.
printf 'name: sweep\nrootfs: %s\ndefaults: {boot: false}\ntests:\n  - {name: t, run: "true"}\n' \
        "$rootfs" >"$work/sweep.yaml"
"$h" run -o "$work/sweep" "$work/sweep.yaml" >/dev/null 2>&1
host_snapshot >"$work/snap.before"
up_before=$(cut -d' ' -f1 /proc/uptime | cut -d. -f1)
disk_before=$(df -Pk / | awk 'NR==2 { print $4 }')
cd "$work"
t0=$(date +%s)
/usr/bin/time -v -o time.txt "$h" run -j 2 -o out --junit exhaust.xml --json exhaust.json \
        exhaust.yaml >run.log 2>&1
rc=$?
t1=$(date +%s)
cat run.log
[ "$rc" -eq 1 ] && ok "exit status 1: tests failed, the harness did not" || bad "exit status $rc, want 1"
xmllint --noout exhaust.xml && ok "JUnit valid" || bad "JUnit invalid"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' exhaust.json && ok "JSON valid" ||
        bad "JSON invalid"
[ "$(xp exhaust.xml 'count(//testcase)')" = 11 ] && ok "every test reported" || bad "tests missing"

expect() { # expect TEST WANT-REGEX
        got=$(outcome exhaust.xml "$1")
        if echo "$got" | grep -Eqx "$2"; then ok "'$1': $got"; else bad "'$1': $got, want $2"; fi
}
expect "fork bomb" "pass|failure:.*"
expect "memory hog" "failure:oom"
expect "disk fill" "pass|failure:.*"
expect "output flood" "pass"
expect "ignores SIGTERM" "failure:timeout"
expect "reboot -f" "failure:.*|error:.*"
expect "poweroff -f" "failure:.*|error:.*"
expect "sysrq reboot" "pass"
expect "boot hangs" "failure:timeout|error:.*"
expect "booted reboot" "pass|failure:.*|error:.*"
expect "still alive afterwards" "pass"
grep -q "filled" out/exhaust/disk_fill*/stdout && ok "disk fill stopped at the layer's size: $(grep filled out/exhaust/disk_fill*/stdout)" ||
        bad "disk fill: no size line"
fs=$(stat -c %s out/exhaust/output_flood*/stdout)
[ "$fs" -eq 1073741824 ] && ok "the flood's 1 GiB is on disk, streamed" || bad "flood output size $fs"
[ "$(stat -c %s exhaust.xml)" -lt 2000000 ] && ok "JUnit stays small ($(stat -c %s exhaust.xml) bytes)" ||
        bad "JUnit too big"
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.txt)
echo "measured: harness peak RSS ${rss} KiB during the 1 GiB flood run, wall $((t1 - t0)) s"
[ "${rss:-999999}" -lt 102400 ] && ok "harness memory flat: peak RSS $rss KiB < 100 MiB" ||
        bad "harness peak RSS $rss KiB"
up_after=$(cut -d' ' -f1 /proc/uptime | cut -d. -f1)
[ "$up_after" -ge "$up_before" ] && ok "the host did not reboot" || bad "host uptime went back"
disk_after=$(df -Pk / | awk 'NR==2 { print $4 }')
# The flood's 1 GiB output file is the only thing written to disk.
[ $((disk_before - disk_after)) -lt 1500000 ] && ok "host disk not filled" || bad "host disk lost $((disk_before - disk_after)) KiB"
[ -n "${ADV_KEEP:-}" ] || rm -rf out
host_snapshot >"$work/snap.after"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical" ||
        bad "host snapshot changed"
finish

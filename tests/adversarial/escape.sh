#!/bin/sh
# Escapes and host damage: a suite of hostile tests run by the real
# `harness run` in all four modes (boot and direct, with and without private
# users). Every test tries something a container must not be able to do and
# exits 1 with "BROKEN: ..." when it worked; the harness must report every one
# as passed, the documented non-isolation (network: host) as such, and the
# host snapshot must be identical before and after.
#
# Usage: escape.sh HARNESS PROBE [--protections-off]
# --protections-off runs every test with private-users: false while keeping
# the strict expectations of the private-users rows, and lists which go red
# (the demonstration that the tests detect a missing protection).
set -u
h=$1
probe_bin=$2
demo=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
priv=$("$h" run --help 2>&1 | grep -q -- --allow-privileged && echo --allow-privileged)
unshare --user --mount true 2>/dev/null || { echo "SKIP: needs namespaces"; exit 77; }
rootfs=${HARNESS_TEST_ROOTFS:-}
[ -n "$rootfs" ] && [ -x "$rootfs/bin/sh" ] || { echo "SKIP: no HARNESS_TEST_ROOTFS"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-escape.XXXXXX")
pids=""
cleanup() {
        for p in $pids; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"

mkdir -p "$work/probe" "$work/ro/sub"
cp "$probe_bin" "$work/probe/probe"
echo "read-only fixture" >"$work/ro/file"
echo "nested" >"$work/ro/sub/file"

# Host-side bait: an abstract socket listener and a marked process.
sock="th-adv-$$"
"$work/probe/probe" abstract-listen "$sock" >"$work/listener.log" 2>&1 &
pids="$pids $!"
mark=$((7000 + $$ % 1000))
sleep "$mark" &
pids="$pids $!"
# Block devices of the host (major:minor), the root fs's first.
blk=$(awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo)
for d in /sys/dev/block/*; do blk="$blk $(basename "$d")"; done
blk=$(echo $blk | tr ' ' '\n' | grep -v '^0:' | head -6 | tr '\n' ' ')
shadow_line=$(head -1 /etc/shadow)

# gen_suite NAME BOOT PRIVATE-USERS STRICT-USERNS: prints the suite.
gen_suite() {
        name=$1 boot=$2 pu=$3 strict=$4
        cat <<YAML
name: $name
rootfs: $rootfs
defaults:
  boot: $boot
  private-users: $pu
  timeout: 60
  env: {STRICT: "$strict", BLK: "$blk", MARK: "$mark", SOCK: "$sock"}
  fixtures:
    - $work/probe:/probe
    - $work/ro:/srv/ro
tests:
  - name: sysrq-trigger
    run: |
      if [ -e /proc/sysrq-trigger ] && { echo h > /proc/sysrq-trigger; } 2>/dev/null; then
        echo "BROKEN: wrote /proc/sysrq-trigger"; exit 1; fi
  - name: kernel tunables
    run: |
      for f in core_pattern modprobe; do
        if { echo "|/tmp/pwn" > /proc/sys/kernel/\$f; } 2>/dev/null; then
          echo "BROKEN: wrote /proc/sys/kernel/\$f"; exit 1; fi
      done
      if { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then echo "BROKEN: drop_caches"; exit 1; fi
      # /proc/sys remounted writable in the container's own mount namespace,
      # then core_pattern written with the value it already has (nothing
      # changes): without private users this works (documented: container
      # root can become host root), so only the strict rows try it.
      [ "\$STRICT" = 1 ] || exit 0
      mount -o remount,rw /proc/sys 2>/dev/null
      v=\$(cat /proc/sys/kernel/core_pattern)
      if { printf '%s\\n' "\$v" > /proc/sys/kernel/core_pattern; } 2>/dev/null; then
        echo "BROKEN: wrote core_pattern after remounting /proc/sys (its own value)"; exit 1; fi
  - name: sys read-only
    run: |
      for f in /sys/kernel/uevent_helper /sys/kernel/profiling; do
        [ -e \$f ] || continue
        v=\$(cat \$f)
        if { echo "\$v" > \$f; } 2>/dev/null; then echo "BROKEN: wrote \$f"; exit 1; fi
      done
      # Without private users container root holds CAP_SYS_ADMIN over its own
      # mounts (documented: not a boundary); the read-only values still hold.
      if [ "\$STRICT" = 1 ] && mount -o remount,rw /sys 2>/dev/null; then echo "BROKEN: remounted /sys rw"; exit 1; fi
      mkdir -p /tmp/s
      if mount -t sysfs sysfs /tmp/s 2>/dev/null && { echo /pwn > /tmp/s/kernel/uevent_helper; } 2>/dev/null; then
        echo "BROKEN: a fresh sysfs is writable"; exit 1; fi
  - name: devtmpfs mount
    run: |
      mkdir -p /tmp/d
      if mount -t devtmpfs none /tmp/d 2>/dev/null; then
        [ "\$STRICT" = 1 ] && { echo "BROKEN: mounted devtmpfs"; exit 1; }
        for b in /tmp/d/vd* /tmp/d/sd* /tmp/d/nvme* /tmp/d/loop0 /tmp/d/mem /tmp/d/kmsg; do
          [ -e \$b ] || continue
          if head -c1 \$b >/dev/null 2>&1; then echo "BROKEN: read host device \$b"; exit 1; fi
        done
      fi
      exit 0
  - name: cgroup v1 mount and escape
    run: |
      mkdir -p /tmp/c
      for ctl in memory pids devices rdma; do
        [ "\$STRICT" = 1 ] || break
        if mount -t cgroup -o \$ctl cgroup /tmp/c 2>/dev/null; then
          echo "BROKEN: mounted cgroup v1 \$ctl"; [ -w /tmp/c/release_agent ] && echo "BROKEN: release_agent writable"; exit 1; fi
      done
      if grep -q harness/c /proc/self/cgroup; then echo "BROKEN: host cgroup path visible"; cat /proc/self/cgroup; exit 1; fi
      exit 0
  - name: block devices
    run: |
      i=0
      for mm in \$BLK 1:1 1:2; do
        i=\$((i+1)); maj=\${mm%:*}; min=\${mm#*:}
        t=b; [ \$maj = 1 ] && t=c
        mknod /tmp/n\$i \$t \$maj \$min 2>/dev/null || continue
        if head -c1 /tmp/n\$i >/dev/null 2>&1; then echo "BROKEN: read device \$t \$mm"; exit 1; fi
        if { printf x >> /tmp/n\$i; } 2>/dev/null; then echo "BROKEN: wrote device \$t \$mm"; exit 1; fi
      done
      exit 0
  - name: date -s
    run: |
      if date -s @86400 >/dev/null 2>&1; then echo "BROKEN: set the clock"; exit 1; fi
  - name: capability bounding set
    run: |
      b=\$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
      echo "CapBnd \$b"
      for bit in 16 17 20 25; do  # sys_module sys_rawio sys_pacct sys_time
        [ \$(( (0x\$b >> bit) & 1 )) = 0 ] || { echo "BROKEN: capability \$bit"; exit 1; }
      done
      [ \$(( 0x\$b >> 32 )) = 0 ] || { echo "BROKEN: capabilities above 31 (syslog, bpf, perfmon...)"; exit 1; }
  - name: fds and cwd
    run: /probe/probe fds
  - name: host pids invisible
    run: |
      n=\$(ls /proc | grep -c '^[0-9][0-9]*\$')
      [ "\$n" -lt 40 ] || { echo "BROKEN: \$n processes visible"; exit 1; }
      if grep -qs "slee[p] \$MARK" /proc/[0-9]*/cmdline; then echo "BROKEN: host process visible"; exit 1; fi
      if cat /proc/*/cmdline 2>/dev/null | tr '\0' ' ' | grep -q "slee[p] \$MARK"; then echo "BROKEN: host process visible"; exit 1; fi
      exit 0
  - name: host abstract socket unreachable
    run: |
      if grep -q "\$SOCK" /proc/net/unix; then echo "BROKEN: host socket listed"; exit 1; fi
      /probe/probe abstract-connect \$SOCK
  - name: tiocsti
    run: /probe/probe tiocsti
  - name: read-only fixture
    run: |
      cat /srv/ro/file >/dev/null || exit 2
      for f in /srv/ro/file /srv/ro/new /srv/ro/sub/new; do
        if { echo x >> \$f; } 2>/dev/null; then echo "BROKEN: wrote \$f"; exit 1; fi
      done
      [ "\$STRICT" = 1 ] || exit 0
      if mount -o remount,rw,bind /srv/ro 2>/dev/null; then echo "BROKEN: remounted the fixture rw"; exit 1; fi
      if umount /srv/ro 2>/dev/null && [ -w /srv/ro ]; then echo "BROKEN: unmounted the fixture"; exit 1; fi
      exit 0
  - name: hostname and uts
    run: |
      hostname pwned-host 2>/dev/null || true
      if { echo pwned > /proc/sys/kernel/domainname; } 2>/dev/null; then :; fi
      exit 0
  - name: artifacts never follow symlinks
    run: |
      mkdir -p /out/d
      ln -s /etc/shadow /out/link
      ln -s ../../../../../../etc/shadow /out/dotdot
      ln -s / /out/root
      echo mine > /out/d/ok
      ( while :; do mv -T /out/d /out/d.x 2>/dev/null; ln -sfn / /out/d; rm -f /out/d; mv -T /out/d.x /out/d 2>/dev/null; done ) &
      sleep 1
    artifacts: [/out/link, /out/dotdot, /out/root/etc/shadow, /out/d/ok, /out/d/etc/shadow]
  - name: network host shares abstract sockets (documented)
    network: host
    run: /probe/probe abstract-connect \$SOCK
    expect: {exit: 1, stdout: "CONNECTED"}
  - name: sys read-only with network host
    network: host
    run: |
      # The host's sysfs (mounted for the container before its user
      # namespace existed): read-only, locked, the container's own cgroup2.
      for f in /sys/kernel/uevent_helper /sys/kernel/profiling; do
        [ -e \$f ] || continue
        v=\$(cat \$f)
        if { echo "\$v" > \$f; } 2>/dev/null; then echo "BROKEN: wrote \$f"; exit 1; fi
      done
      [ -d /sys/class/net/lo ] || { echo "BROKEN: /sys is not a sysfs"; exit 1; }
      if [ "\$STRICT" = 1 ]; then
        if mount -o remount,rw /sys 2>/dev/null; then echo "BROKEN: remounted /sys rw"; exit 1; fi
        if umount -l /sys 2>/dev/null; then echo "BROKEN: unmounted /sys"; exit 1; fi
      fi
      [ "\$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "BROKEN: /sys/fs/cgroup is not cgroup2"; exit 1; }
      if [ -d /sys/fs/cgroup/harness ]; then echo "BROKEN: host cgroup tree visible"; exit 1; fi
      exit 0
YAML
        if [ "$boot" = true ]; then
                cat <<YAML
  - name: log files cannot be swapped for host symlinks
    run: |
      for f in stdout stderr journal result; do
        rm -f /run/harness/\$f 2>/dev/null; ln -sf /etc/shadow /run/harness/\$f 2>/dev/null
      done
      echo done
YAML
        fi
}

snap_before="$work/snap.before"
harness_sweep "$h" "$rootfs"
host_snapshot "$work/ro" "$work/probe" >"$snap_before"
cd "$work"
red=""
# Extra fds open in the harness: none may reach the container.
exec 7</ 8</etc 9>"$work/fd9"
if [ "$demo" = --protections-off ]; then
        modes="boot-nopu:true:false direct-nopu:false:false"
else
        modes="direct-pu:false:true direct-nopu:false:false boot-pu:true:true boot-nopu:true:false"
fi
modes=${ADV_MODES:-$modes}
for m in $modes; do
        name=${m%%:*} rest=${m#*:}
        boot=${rest%%:*} pu=${rest#*:}
        strict=0
        [ "$pu" = true ] && strict=1
        [ "$demo" = --protections-off ] && strict=1
        gen_suite "$name" "$boot" "$pu" "$strict" >"$name.yaml"
        # Without private users the run needs the operator's flag.
        flag=
        [ "$pu" = false ] && flag=$priv
        "$h" run $flag -j 2 -o "out-$name" --junit "$name.xml" "$name.yaml" >"$name.log" 2>&1
        rc=$?
        cat "$name.log"
        total=$(xmllint --xpath 'count(//testcase)' "$name.xml" 2>/dev/null)
        notpass=$(xmllint --xpath '//testcase[failure or error]/@name' "$name.xml" 2>/dev/null |
                sed 's/ name="\([^"]*\)"/\1\n/g' | sed '/^$/d')
        if [ "$demo" = --protections-off ]; then
                red="$red
$name: $(echo "$notpass" | tr '\n' ';')"
                continue
        fi
        [ "$rc" -eq 0 ] && [ -z "$notpass" ] && ok "$name: all $total hostile tests held" ||
                bad "$name: exit $rc, not passed: $(echo "$notpass" | tr '\n' ';')"
        [ -z "$notpass" ] || grep -h BROKEN "out-$name"/*/*/stdout | sed 's/^/#   /'
        if grep -rqsF "$shadow_line" "out-$name" "$name.xml"; then
                bad "$name: host /etc/shadow content reached the results"
        else
                ok "$name: no host secret in the results or artifacts"
        fi
        [ "$(cat "out-$name/$name/artifacts_never_follow_symlinks/artifacts/out/d/ok" 2>/dev/null)" = mine ] ||
                [ ! -e "out-$name/$name/artifacts_never_follow_symlinks/artifacts/out/d/etc" ] &&
                ok "$name: artifacts: the regular file may be copied, nothing behind a symlink" ||
                bad "$name: artifacts: something behind a symlink was copied"
done
exec 7<&- 8<&- 9>&-

if [ "$demo" = --protections-off ]; then
        echo "With private users switched off, these hostile tests go red:$red"
        exit 0
fi

# The TIOCSTI row with a real terminal: `harness shell` under script(1),
# whose pty is the harness's controlling tty. A successful injection would
# be read by the shell that runs after the harness and create the marker.
if command -v script >/dev/null; then
        marker=/tmp/PWNED-BY-TIOCSTI
        # The probe itself, on the host under the same terminal, does inject
        # (so the rows below cannot pass because the probe never works).
        rm -f "$marker"
        (sleep 3; echo exit) | timeout 30 script -qec "$work/probe/probe tiocsti; cd $work && sh" \
                /dev/null >"$work/tty-host.log" 2>&1
        if [ -e "$marker" ]; then
                ok "tiocsti control: the probe injects into a terminal it shares (host)"
                rm -f "$marker"
        else
                echo "# tiocsti control: no injection on the host (TIOCSTI disabled here?)"
        fi
        for pu in yes no; do
                rm -f "$marker"
                (sleep 15; echo exit) | timeout 60 script -qec \
                        "$h shell -x --private-users=$pu -D $rootfs --bind-ro $work/probe:/probe /probe/probe tiocsti; cd $work && sh" \
                        /dev/null >"$work/tty-$pu.log" 2>&1
                if [ -e "$marker" ]; then
                        bad "tiocsti under a terminal (private users $pu): injected into the host terminal"
                        rm -f "$marker"
                else
                        ok "tiocsti under a terminal (private users $pu): nothing reached the host terminal"
                fi
        done
fi

host_snapshot "$work/ro" "$work/probe" >"$work/snap.after"
if snapshot_same "$snap_before" "$work/snap.after"; then
        ok "host snapshot identical (mounts, cgroups, hostname, sysctls, clock, state, fixtures)"
else
        bad "host snapshot changed"
fi
[ "$(hostname)" != pwned-host ] || bad "host hostname changed"
finish

#!/bin/sh
# `harness shell` end to end on the test tree: exit statuses in both modes,
# systemd as PID 1, the pristine overlay, binds, what the container may not
# do (with and without private users), errors, and a host left as it was.
# TAP output; exit 77 without root or the tree.
. "$(dirname "$0")/lib.sh"
need_root_and_tree

WORK=$(mktemp -d /tmp/harness-isolate-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
H="$HARNESS"

host_snapshot >"$WORK/host.before"

# ---- exit statuses, direct and boot --------------------------------------
for code in 0 3 42; do
        expect_rc $code "direct: exit $code propagates" -- \
                "$H" shell -x -D "$T" sh -c "exit $code"
        expect_rc $code "boot: exit $code propagates" -- \
                "$H" shell -x -b -D "$T" sh -c "exit $code"
done

# ---- boot: PID 1 is systemd, the command is a unit after multi-user -------
expect_rc 0 "boot: PID 1 is systemd, command in harness-test.service after multi-user.target" -- \
        "$H" shell -x -b -D "$T" sh -c '
                test "$(cat /proc/1/comm)" = systemd || exit 10
                grep -qx "0::/system.slice/harness-test.service" /proc/self/cgroup || exit 11
                test "$(systemctl is-active multi-user.target)" = active || exit 12'
expect_rc 0 "boot: the unit's stdout reaches the caller" -- \
        "$H" shell -x -b -D "$T" echo from-the-unit
grep -qx from-the-unit "$WORK/out" && ok "boot: output replayed" || fail "boot: output missing"

# ---- direct: stub init, private PID space, hostname, network --------------
expect_rc 0 "direct: stub init is PID 1, few processes, own hostname, only lo" -- \
        "$H" shell -x -M iso-test-host -D "$T" sh -c '
                test "$(cat /proc/1/comm)" = harness-init || exit 10
                test "$(ls /proc | grep -cE "^[0-9]+$")" -lt 10 || exit 11
                test "$(cat /proc/sys/kernel/hostname)" = iso-test-host || exit 12
                test "$(ls /sys/class/net)" = lo || exit 13
                test "$(cat /proc/$$/status | grep -c ^NSpid)" = 1 || exit 14'
expect_rc 0 "direct: default hostname is the directory's name" -- \
        "$H" shell -x -D "$T" sh -c "test \"\$(cat /proc/sys/kernel/hostname)\" = $(basename "$T")"
# PID 1 is harness-init from a sealed memfd, not an image of the harness
# binary (CVE-2019-5736 class): with and without private users no process
# inside names the harness binary as its exe, and /proc/1/exe cannot be
# written, even by container root that is host root.
for pu in yes no; do
        expect_rc 0 "direct, private users $pu: /proc/1/exe is the sealed harness-init, not writable" -- \
                "$H" shell -x --private-users=$pu -D "$T" sh -c '
                        exe=$(readlink /proc/1/exe 2>/dev/null)
                        if [ -n "$exe" ]; then
                                case $exe in "/memfd:harness-init (deleted)") ;; *) exit 10 ;; esac
                        fi
                        for p in /proc/[0-9]*; do
                                case $(readlink $p/exe 2>/dev/null) in *harness) exit 11 ;; esac
                        done
                        if (echo x >/proc/1/exe) 2>/dev/null; then exit 12; fi
                        test "$(tr "\0" " " </proc/1/cmdline | cut -d" " -f1)" = harness-init || exit 13'
done
expect_rc 0 "direct: only fds 0-2 are open and there is no controlling tty" -- \
        "$H" shell -x -D "$T" sh -c 'test "$(ls /proc/self/fd | wc -l)" -le 4 && ! tty -s'

# ---- the pristine overlay: -x never writes the tree -----------------------
sum_tree() { (cd "$T" && find . -xdev -printf '%p %s %m %U %G %T@\n' 2>/dev/null | sort | md5sum); }
before=$(sum_tree)
expect_rc 0 "-x: writes, deletes and chowns inside" -- \
        "$H" shell -x -D "$T" sh -c 'echo x > /etc/iso-test && rm -rf /usr/share/doc && chown 1:1 /etc/hostname && ls /usr/share | grep -qv "^doc$"'
after=$(sum_tree)
[ "$before" = "$after" ] && [ ! -e "$T/etc/iso-test" ] && ok "-x: the tree is untouched" ||
        fail "-x: the tree changed"

# ---- without -x writes reach the tree (a tiny tree of our own) ------------
MINI="$WORK/mini"
mkdir -p "$MINI/bin" "$MINI/usr" "$MINI/tmp" "$MINI/dev" "$MINI/proc" "$MINI/sys" "$MINI/run"
cp -L "$T/bin/sh" "$MINI/bin/sh"
for lib in $(chroot "$T" ldd /bin/sh 2>/dev/null | grep -o '/[^ ]*'); do
        mkdir -p "$MINI$(dirname "$lib")"
        cp -L "$T$lib" "$MINI$lib"
done
expect_rc 0 "no -x: a write goes into the tree" -- \
        "$H" shell -D "$MINI" /bin/sh -c 'echo hello > /written'
[ "$(cat "$MINI/written" 2>/dev/null)" = hello ] && [ "$(stat -c %u "$MINI/written")" = 0 ] &&
        ok "no -x: file in the tree, owned by root on disk (idmapped)" ||
        fail "no -x: write missing or wrong owner ($(stat -c %u "$MINI/written" 2>&1))"

# ---- binds ----------------------------------------------------------------
mkdir -p "$WORK/rw" "$WORK/ro"
echo original >"$WORK/ro/file"
ro_sum=$(md5sum "$WORK/ro/file")
expect_rc 0 "rw bind: a write reaches the host" -- \
        "$H" shell -x -D "$T" --bind "$WORK/rw:/srv/rw" sh -c 'echo out > /srv/rw/new'
[ "$(cat "$WORK/rw/new" 2>/dev/null)" = out ] && [ "$(stat -c %u "$WORK/rw/new")" = 0 ] &&
        ok "rw bind: host file written, owned by root" || fail "rw bind: host file missing"
expect_rc 0 "ro bind: writes and remounts refused" -- \
        "$H" shell -x -D "$T" --bind-ro "$WORK/ro:/srv/ro" sh -c '
                cat /srv/ro/file >/dev/null || exit 10
                ! echo x > /srv/ro/file 2>/dev/null || exit 11
                ! touch /srv/ro/new 2>/dev/null || exit 12
                ! mount -o remount,rw,bind /srv/ro 2>/dev/null || exit 13
                ! umount /srv/ro 2>/dev/null || exit 14'
[ "$(md5sum "$WORK/ro/file")" = "$ro_sum" ] && [ ! -e "$WORK/ro/new" ] &&
        ok "ro bind: host source unchanged" || fail "ro bind: host source changed"
# A device node in a fixture directory belongs to host root, which is the
# container's root once idmapped: binds are nodev, so it cannot open a
# device of the host (here /dev/null's numbers; a disk's would be the harm).
mkdir -p "$WORK/devs" && mknod -m 666 "$WORK/devs/null" c 1 3
for pu in yes no; do
        expect_rc 0 "bind, private users $pu: a device node in a fixture does not open" -- \
                "$H" shell -x --private-users=$pu -D "$T" --bind "$WORK/devs:/srv/devs" sh -c '
                        test -c /srv/devs/null || exit 10
                        if (exec </srv/devs/null) 2>/dev/null; then exit 11; fi
                        echo x >/dev/null || exit 12'
done
expect_rc 0 "--tmpfs and --setenv and --chdir and -u" -- \
        "$H" shell -x -D "$T" --tmpfs /srv/t --setenv ISO=42 --chdir /srv/t -u nobody sh -c '
                test "$ISO" = 42 && test "$(pwd)" = /srv/t && test "$(id -un)" = nobody &&
                grep -q " /srv/t tmpfs " /proc/mounts'

# ---- what the container may not do, with and without private users -------
# Each probe prints a word when the forbidden thing WORKED.
PROBES='
        [ -e /proc/sysrq-trigger ] && { echo h > /proc/sysrq-trigger; } 2>/dev/null && echo sysrq
        v=$(cat /proc/sys/vm/swappiness); { echo "$v" > /proc/sys/vm/swappiness; } 2>/dev/null && echo procsys
        v=$(cat /sys/kernel/profiling); { echo "$v" > /sys/kernel/profiling; } 2>/dev/null && echo sys
        b=$(grep CapBnd /proc/self/status | cut -f2)
        [ $(( (0x$b >> 16) & 1 )) = 1 ] && echo cap_sys_module
        [ $(( (0x$b >> 17) & 1 )) = 1 ] && echo cap_sys_rawio
        [ $(( (0x$b >> 25) & 1 )) = 1 ] && echo cap_sys_time
        date -s "$(date)" >/dev/null 2>&1 && echo date
        mkdir -p /tmp/d /tmp/c
        mount -t devtmpfs none /tmp/d 2>/dev/null && echo devtmpfs
        mount -t cgroup -o memory none /tmp/c 2>/dev/null && echo cgroup1
        mknod /tmp/blk b 7 0 2>/dev/null && echo mknod
        true'
expect_rc 0 "private users: probes run" -- "$H" shell -x -D "$T" sh -c "$PROBES"
got=$(tr '\n' ' ' <"$WORK/out")
[ -z "$got" ] && ok "private users: nothing forbidden worked" ||
        fail "private users: these worked: $got"
expect_rc 0 "no private users: probes run" -- \
        "$H" shell -x --private-users=no -D "$T" sh -c "$PROBES"
got=$(tr '\n' ' ' <"$WORK/out")
# What the user namespace buys: without it, root in the container has
# CAP_SYS_ADMIN over the host's mount and cgroup namespaces' owner, so
# devtmpfs and cgroup v1 mounts succeed; everything else is still refused
# (read-only mounts, the bounding set, the devices cgroup).
[ "$got" = "devtmpfs cgroup1 " ] && ok "no private users: only devtmpfs and cgroup1 mounts work ($got)" ||
        fail "no private users: unexpected: '$got'"

# ---- errors: one line, exit < 128, nothing left behind ---------------------
touch "$WORK/afile"
mkdir -p "$WORK/nosh"
check_error() {
        desc=$1
        pattern=$2
        shift 2
        host_snapshot >"$WORK/snap.before"
        "$H" shell "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
        rc=$?
        lines=$(wc -l <"$WORK/err")
        if [ "$rc" -gt 0 ] && [ "$rc" -lt 128 ] && [ "$lines" = 1 ] && grep -q -- "$pattern" "$WORK/err"; then
                ok "$desc: exit $rc, '$(cat "$WORK/err")'"
        else
                fail "$desc: exit $rc, $lines lines: $(cat "$WORK/err")"
        fi
        host_snapshot >"$WORK/snap.after"
        cmp -s "$WORK/snap.before" "$WORK/snap.after" && ok "$desc: nothing left behind" ||
                fail "$desc: host changed: $(diff "$WORK/snap.before" "$WORK/snap.after" | head -5)"
}
check_error "missing rootfs" "'$WORK/missing'" -D "$WORK/missing" true
check_error "rootfs not a directory" "not a directory" -D "$WORK/afile" true
check_error "rootfs without /bin/sh" "no /bin/sh" -D "$WORK/nosh" true
check_error "missing bind source" "'$WORK/nobind'" -x -D "$T" --bind "$WORK/nobind:/srv/x" true
check_error "command not found" "nonexistent-cmd" -x -D "$T" nonexistent-cmd
check_error "boot without systemd" "no systemd" -x -b -D "$MINI" true

# ---- SIGTERM stops the container cleanly -----------------------------------
"$H" shell -x -D "$T" sleep 100.0474 </dev/null >/dev/null 2>"$WORK/err" &
pid=$!
sleep 3
kill -TERM $pid
wait $pid
rc=$?
sleep 0.2
if [ $rc = 143 ] && ! pgrep -f "sleep 100.0474" >/dev/null &&
        ! ls -d /sys/fs/cgroup/harness/c$pid-* /sys/fs/cgroup/*/harness/c$pid-* >/dev/null 2>&1; then
        ok "SIGTERM: exit 143, no process and no cgroup left"
else
        fail "SIGTERM: exit $rc; processes: $(pgrep -f 'sleep 100.0474'); $(cat "$WORK/err")"
fi

# ---- a terminal: the command gets a pty of its own as /dev/console ---------
if command -v script >/dev/null; then
        script -qec "$H shell -x -D $T sh -c 'tty; exit 5'" /dev/null </dev/null >"$WORK/out" 2>&1
        rc=$?
        if [ $rc = 5 ] && grep -aq "/dev/console" "$WORK/out"; then
                ok "terminal: a pty of its own, exit 5 propagates"
        else
                fail "terminal: exit $rc, $(head -3 "$WORK/out")"
        fi
fi

# ---- a terminal: window size followed, Ctrl-] x3 leaves, mode restored -----
if command -v python3 >/dev/null; then
        timeout 120 python3 "$(dirname "$0")/../lib/pty-console.py" -- \
                "$H" shell -x -D "$T" -- /bin/sh >"$WORK/pty.log" 2>&1
        for what in "initial size seen" "resize seen" "raw while inside" "ctrl-] x3 left" \
                "mode restored"; do
                grep -q "^$what: True" "$WORK/pty.log" && ok "terminal: $what" ||
                        fail "terminal: not $what ($(tr '\n' ' ' <"$WORK/pty.log" | head -c 300))"
        done
fi

# ---- the host is as it was -------------------------------------------------
host_snapshot >"$WORK/host.after"
if cmp -s "$WORK/host.before" "$WORK/host.after"; then
        ok "host mount table, cgroup tree and hostname identical before and after"
else
        fail "host changed: $(diff "$WORK/host.before" "$WORK/host.after" | head -10)"
fi
finish

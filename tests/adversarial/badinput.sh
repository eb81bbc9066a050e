#!/bin/sh
# Hostile and broken input to `harness run`: root filesystems that are
# missing, empty, not a directory, lack /bin/sh, have something mounted on
# their /proc, or carry symlinks and `..` at bind targets (`dev -> host dir`,
# `mnt/fix -> /etc`, `opt/x -> ../../../..`); fixtures that are missing, a
# FIFO, a socket, a device, unreadable, a symlink loop. Each gives a one-line
# error and exit 2 or 3 (or, for the symlinked targets, mounts that stay
# inside the tree), never hangs, and leaves the host as it was.
# Usage: badinput.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-badinput.XXXXXX")
cleanup() {
        mountpoint -q "$work/procmounted/proc" && umount "$work/procmounted/proc"
        rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"

# A minimal tree: /bin/sh and its libraries.
mini() {
        d=$1
        mkdir -p "$d/bin" "$d/usr" "$d/tmp" "$d/proc" "$d/sys" "$d/run" "$d/etc"
        cp -L "$rootfs/bin/sh" "$d/bin/sh"
        for lib in $(chroot "$rootfs" ldd /bin/sh 2>/dev/null | grep -o '/[^ ]*'); do
                mkdir -p "$d$(dirname "$lib")"
                cp -L "$rootfs$lib" "$d$lib"
        done
}

mkdir -p "$work/empty" "$work/nosh/etc" "$work/fx"
touch "$work/afile"
mini "$work/procmounted"
mount -t tmpfs -o size=1m,mode=0755 fakeproc "$work/procmounted/proc"
echo "fake" >"$work/procmounted/proc/cpuinfo"
mkfifo "$work/fx/fifo"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$work/fx/sock"
mknod "$work/fx/dev" c 1 3
mkdir -p "$work/fx/locked"
echo secret >"$work/fx/locked/f"
chmod 000 "$work/fx/locked"
ln -s loop1 "$work/fx/loop2"
ln -s loop2 "$work/fx/loop1"

suite() { # suite NAME ROOTFS [FIXTURE]
        printf 'name: %s\nrootfs: %s\ndefaults: {boot: false, timeout: 20}\ntests:\n' "$1" "$2"
        if [ -n "${3:-}" ]; then
                printf '  - {name: t, run: "true", fixtures: ["%s:/srv/f"]}\n' "$3"
        else
                printf '  - {name: t, run: "true"}\n'
        fi
}

harness_sweep "$h" "$rootfs"
host_snapshot "$work/fx/locked" >"$work/snap.before"
cd "$work"
# refuse DESCRIPTION PATTERN ROOTFS [FIXTURE]
refuse() {
        suite bad "$3" "${4:-}" >bad.yaml
        rm -rf out
        timeout 60 "$h" -q run -o out --junit bad.xml bad.yaml </dev/null >out.log 2>err.log
        rc=$?
        # One line naming the problem (plus, for fixtures, the summary line
        # "fixture check failed, nothing was run").
        lines=$(grep -vc 'nothing was run' err.log)
        if { [ $rc -eq 2 ] || [ $rc -eq 3 ]; } && [ "$lines" -le 1 ] && grep -q -- "$2" err.log; then
                ok "$1: exit $rc, $(head -1 err.log)"
        elif [ $rc -eq 3 ] && grep -q -- "$2" bad.xml 2>/dev/null; then
                ok "$1: exit 3, reported as an error: $(grep -o 'message="[^"]*"' bad.xml | head -1)"
        else
                bad "$1: exit $rc, $lines lines: $(head -3 err.log) $(head -3 out.log)"
        fi
}
refuse "missing rootfs" "missing" "$work/missing"
refuse "empty rootfs" "empty" "$work/empty"
refuse "rootfs is a file" "not a directory" "$work/afile"
refuse "rootfs without /bin/sh" "/bin/sh" "$work/nosh"
refuse "missing fixture" "nofix" "$rootfs" "$work/fx/nofix"
refuse "fixture is a FIFO" "fifo" "$rootfs" "$work/fx/fifo"
refuse "fixture is a socket" "sock" "$rootfs" "$work/fx/sock"
refuse "fixture is a device" "dev" "$rootfs" "$work/fx/dev"
refuse "fixture is a symlink loop" "loop1" "$rootfs" "$work/fx/loop1"

# An unreadable fixture (mode 000): root on the host may read it, so the run
# may go ahead; it must not hang, and the source is unchanged.
suite locked "$rootfs" "$work/fx/locked" >locked.yaml
timeout 60 "$h" -q run -o out-locked locked.yaml </dev/null >locked.log 2>&1
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 2 ] || [ $rc -eq 3 ] && ok "unreadable fixture: exit $rc" ||
        bad "unreadable fixture: exit $rc: $(head -3 locked.log)"

# Something mounted on the tree's /proc: the container gets its own /proc
# (the run works and sees the real one) or the harness refuses; the host's
# mount stays as it was.
suite procmounted "$work/procmounted" >pm.yaml
sed -i 's/run: "true"/run: "read x < \/proc\/self\/stat \&\& [ \\"$x\\" != fake ]"/' pm.yaml
timeout 60 "$h" -q run -o out-pm --junit pm.xml pm.yaml </dev/null >pm.log 2>&1
rc=$?
if [ $rc -eq 0 ]; then
        ok "a tree with /proc pre-mounted: the container got a real /proc"
elif [ $rc -eq 2 ] || [ $rc -eq 3 ]; then
        ok "a tree with /proc pre-mounted: refused (exit $rc)"
else
        bad "a tree with /proc pre-mounted: exit $rc: $(head -3 pm.log)"
fi
[ "$(cat "$work/procmounted/proc/cpuinfo")" = fake ] && ok "the host's mount on the tree's /proc is untouched" ||
        bad "the mount on the tree's /proc changed"

# Symlinks and `..` at bind targets inside the tree: every mount stays
# inside the tree, or the run fails with an error; the host is untouched.
mini "$work/hostile"
mkdir -p "$work/outside-dev" "$work/hostile/mnt" "$work/hostile/opt" "$work/src"
echo payload >"$work/src/file"
mini "$work/devlink"
rm -rf "$work/devlink/dev"
ln -s "$work/outside-dev" "$work/devlink/dev"
ln -s /etc "$work/hostile/mnt/fix"
ln -s ../../../../../../.. "$work/hostile/opt/x"
ln -s /tmp "$work/hostile/run/link"
cat >hostile.yaml <<YAML
name: hostile
rootfs: $work/hostile
defaults: {boot: false, timeout: 20}
tests:
  - name: bind through a symlink to /etc
    fixtures: ["$work/src/file:/mnt/fix/th-adv-escaped"]
    run: "true"
  - name: bind through dot-dot
    fixtures: ["$work/src:/opt/x/tmp/th-adv-escaped-dir"]
    run: "true"
  - name: bind through a symlink in /run
    fixtures: ["$work/src:/run/link/th-adv-escaped-run"]
    run: "true"
YAML
cat >devlink.yaml <<YAML
name: devlink
rootfs: $work/devlink
defaults: {boot: false, timeout: 20}
tests:
  - name: dev is a symlink to a host dir
    run: "true"
YAML
timeout 120 "$h" -q run -o out-devlink --junit devlink.xml devlink.yaml </dev/null >devlink.log 2>&1
rc=$?
[ $rc -le 3 ] && ok "tree with dev -> host dir: exit $rc (no crash, no hang)" || bad "devlink: exit $rc"
grep -o 'message="[^"]*"' devlink.xml | sed 's/^/#   /'
timeout 120 "$h" -q run -o out-hostile --junit hostile.xml hostile.yaml </dev/null >hostile.log 2>&1
rc=$?
[ $rc -le 3 ] && ok "hostile tree: exit $rc (no crash, no hang)" || bad "hostile tree: exit $rc"
xmllint --noout hostile.xml && ok "hostile tree: report valid" || bad "hostile tree: report invalid"
grep -o '<testcase name="[^"]*"\|message="[^"]*"' hostile.xml | sed 's/^/#   /'
[ ! -e /etc/th-adv-escaped ] && [ ! -e /tmp/th-adv-escaped-dir ] && [ ! -e /tmp/th-adv-escaped-run ] &&
        ok "no bind target was created on the host" ||
        { bad "a bind target was created on the host"; rm -rf /etc/th-adv-escaped /tmp/th-adv-escaped-dir /tmp/th-adv-escaped-run; }
[ -z "$(ls -A "$work/outside-dev")" ] && ok "the host dir behind the tree's dev symlink stays empty" ||
        bad "the host dir behind dev was populated: $(ls "$work/outside-dev" | head -5)"

umount "$work/procmounted/proc"
host_snapshot "$work/fx/locked" >"$work/snap.after"
sed -i "/procmounted/d" "$work/snap.before"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical" ||
        bad "host snapshot changed"
finish

#!/bin/sh
# What a suite file may not give itself. Three attacks, each checked to have
# really run:
#  6. the package layer: a tree whose /bin/sh runs a payload first, with
#     `defaults.packages`. The layer build runs the tree's /bin/sh; the
#     payload mounts a fresh proc, remounts /proc/sys and writes
#     kernel.core_pattern (a pipe into the tree: the kernel would run it as
#     host root). The host's core_pattern must stay as it was; the payload's
#     report (in the build log or the layer) shows it ran.
#  7. `private-users: false` in a suite: refused without the operator's
#     --allow-privileged (exit 2, FILE:LINE:COL, nothing ran); with it the
#     suite runs with a warning, and the documented demonstration that
#     container root then remounts /proc/sys read-write (inside its own mount
#     namespace, nothing written). With private users the same is refused.
#  8. `rootfs: /` (or a symlink to it): refused with and without the flag.
#     Extra capabilities: there is no suite key for them; it is refused.
# Usage: attack-privileged.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"
[ -e "$rootfs/var/lib/dpkg/status" ] || { echo "SKIP: the test tree has no dpkg"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-priv.XXXXXX")
core_before=$(cat /proc/sys/kernel/core_pattern)
cleanup() {
        # A red run (the attack worked) must not leave the host changed.
        [ "$(cat /proc/sys/kernel/core_pattern)" = "$core_before" ] ||
                printf '%s\n' "$core_before" >/proc/sys/kernel/core_pattern
        [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"

harness_sweep "$h" "$rootfs"
host_snapshot >"$work/snap.before"
cd "$work"

# ---- 6. the package layer's build runs the tree's code -------------------
echo "# 6: a tree whose /bin/sh attacks the package layer's build"
cp -a "$rootfs" "$work/tree"
tag="th-payload-$$"
sh_real=$(readlink -f "$work/tree/bin/sh")
sh_real=/${sh_real#"$work/tree/"}
rm -f "$work/tree/usr/bin/sh" "$work/tree/bin/sh" 2>/dev/null
cat >"$work/tree/usr/bin/sh" <<EOF
#!$sh_real
# The payload runs once per container, before the real shell.
if [ -z "\${TH_PAYLOAD_RAN:-}" ]; then
        export TH_PAYLOAD_RAN=1
        $sh_real /th-payload 2>&1 | tee -a /th-payload.log >&2
fi
exec $sh_real "\$@"
EOF
chmod 755 "$work/tree/usr/bin/sh"
[ -e "$work/tree/bin/sh" ] || ln -s /usr/bin/sh "$work/tree/bin/sh" 2>/dev/null
cat >"$work/tree/th-payload" <<EOF
echo "PAYLOAD: ran as uid \$(id -u), uid_map: \$(tr -s ' ' <"/proc/self/uid_map")"
pattern="|/$tag %p"
mkdir -p /tmp/th-proc
if mount -t proc proc /tmp/th-proc 2>/dev/null; then
        echo "PAYLOAD: mounted a fresh proc"
        if { echo "\$pattern" >/tmp/th-proc/sys/kernel/core_pattern; } 2>/dev/null; then
                echo "PAYLOAD: wrote core_pattern through the fresh proc"; fi
else
        echo "PAYLOAD: a fresh proc was refused"
fi
if mount -o remount,rw /proc/sys 2>/dev/null; then
        echo "PAYLOAD: remounted /proc/sys rw"
else
        echo "PAYLOAD: remounting /proc/sys was refused"
fi
if { echo "\$pattern" >/proc/sys/kernel/core_pattern; } 2>/dev/null; then
        echo "PAYLOAD: wrote core_pattern through /proc"; fi
echo "PAYLOAD: core_pattern is now \$(cat /proc/sys/kernel/core_pattern)"
mkdir -p /usr/local/bin && cp /bin/dash /usr/local/bin/th-rootsh &&
        chmod 4755 /usr/local/bin/th-rootsh && echo "PAYLOAD: planted a setuid shell"
EOF
# dpkg is installed in every Debian tree: nothing to download but the lists.
cat >layer.yaml <<EOF
name: layer-attack
rootfs: $work/tree
defaults:
  packages: [dpkg]
  boot: false
tests:
  - name: runs on the layer
    run: "true"
EOF
# Over the suite's own tree the layer build runs the tree's programs with
# the host's network: only the operator can allow that.
HARNESS_CACHE="$work/cache" "$h" run -o out-layer0 layer.yaml >layer0.log 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q "layer.yaml:4:3: 'packages:' over a directory tree" layer0.log &&
        ! ls "$work"/cache/layers/layer-* >/dev/null 2>&1; then
        ok "layer: refused over the suite's own tree without --allow-privileged (exit 2), nothing built"
else
        bad "layer: without --allow-privileged: exit $rc"
        cat layer0.log
fi
HARNESS_CACHE="$work/cache" "$h" run --allow-privileged -o out-layer layer.yaml >layer.log 2>&1
rc=$?
core_after=$(cat /proc/sys/kernel/core_pattern)
# Put it back at once (a red run), so nothing else on the host runs with it.
[ "$core_after" = "$core_before" ] || printf '%s\n' "$core_before" >/proc/sys/kernel/core_pattern
cat layer.log
report=$(cat "$work"/cache/layers/*.failed.log "$work"/cache/layers/layer-*/build.log \
        "$work"/cache/layers/layer-*/upper/th-payload.log 2>/dev/null | grep '^PAYLOAD:' | sort -u)
printf '%s\n' "$report" | sed 's/^/#   /'
if printf '%s\n' "$report" | grep -q '^PAYLOAD: ran as uid'; then
        ok "layer: the payload ran in the layer's build (harness exit $rc)"
else
        bad "layer: the payload never ran (harness exit $rc): the attack did not happen"
fi
if [ "$core_after" = "$core_before" ]; then
        ok "layer: the host's core_pattern is unchanged"
else
        bad "layer: the build changed the host's core_pattern to '$core_after'"
fi
if printf '%s\n' "$report" | grep -q '^PAYLOAD: ran as uid 0, uid_map: *0 0 '; then
        bad "layer: the tree's code ran as host root (uid_map 0 0 ...)"
else
        ok "layer: the tree's code did not run as host root"
fi
if printf '%s\n' "$report" | grep -q "core_pattern is now .*$tag"; then
        bad "layer: the payload's core_pattern took effect"
fi

# A setuid-root program the build left in the layer is no host user's to run:
# the layer store is root's alone.
planted=$(ls "$work"/cache/layers/layer-*/upper/usr/local/bin/th-rootsh 2>/dev/null | head -1)
if [ -n "$planted" ] && [ "$(stat -c %a "$planted")" = 4755 ]; then
        ok "layer: the build planted a setuid-root shell in the layer"
        mode=$(stat -c %a "$work/cache/layers")
        [ "$mode" = 700 ] && ok "layer: the layer store is 0700: no other host user reaches it" ||
                bad "layer: the layer store is $mode: a local user can run the planted shell"
else
        bad "layer: the setuid plant did not happen: the attack did not run ($planted)"
fi

# ---- 7. private-users: false needs the operator ---------------------------
echo "# 7: private-users: false in a suite"
mkdir -p "$work/marks"
# gen_suite NAME PRIVATE-USERS EXPECT: both modes (direct and boot); each
# test leaves a mark in a writable fixture, so a refused run shows none.
# Without private users the test only remounts /proc/sys (the documented
# demonstration: no boundary; it writes nothing). With private users it
# also tries to write core_pattern, through /proc/sys and a fresh proc: the
# kernel must refuse (the sysctl is the host's, root of a user namespace
# has no right to it).
gen_suite() {
        cat <<EOF
name: $1
rootfs: $rootfs
defaults:
  private-users: $2
  timeout: 60
  fixtures: ["$work/marks:/marks:rw"]
tests:
EOF
        for boot in false true; do
                cat <<EOF
  - name: proc sys boot $boot
    boot: $boot
    run: |
      touch /marks/$1-$boot
      if mount -o remount,rw /proc/sys 2>/dev/null; then echo "REMOUNTED /proc/sys rw"; else echo "remount refused"; fi
      [ "$2" = false ] && exit 0
      mkdir -p /tmp/p
      mount -t proc proc /tmp/p 2>/dev/null && echo "MOUNTED a fresh proc"
      for f in /proc/sys/kernel/core_pattern /tmp/p/sys/kernel/core_pattern; do
        [ -e \$f ] || continue
        if { echo "|/$tag-pu %p" > \$f; } 2>/dev/null; then echo "BROKEN: wrote \$f"; exit 1; fi
        echo "write refused: \$f"
      done
    expect:
      stdout: ["$3"]
EOF
        done
}
gen_suite pu-on true "^write refused: /proc/sys/kernel/core_pattern" >pu-on.yaml
gen_suite pu-off false "^REMOUNTED /proc/sys rw" >pu-off.yaml
"$h" run -o out-off pu-off.yaml >off.log 2>&1
rc=$?
cat off.log
if [ "$rc" -eq 2 ] && grep -q '^pu-off.yaml:4:3: .*--allow-privileged' off.log; then
        ok "pu off: refused without --allow-privileged (exit 2, pu-off.yaml:4:3)"
else
        bad "pu off: ran without --allow-privileged (exit $rc)"
fi
if ls "$work/marks" | grep -q pu-off; then
        bad "pu off: a test ran although the suite was refused"
        rm -f "$work"/marks/*
else
        ok "pu off: nothing ran"
fi
"$h" run --allow-privileged -o out-off2 --junit off2.xml pu-off.yaml >off2.log 2>&1
rc=$?
cat off2.log
if [ "$rc" -eq 0 ] && [ "$(grep -c 'without private users container root can become host root' off2.log)" -eq 1 ]; then
        ok "pu off: runs with --allow-privileged and one warning names what it gives up"
else
        bad "pu off with --allow-privileged: exit $rc, or not exactly one warning"
fi
[ -e "$work/marks/pu-off-false" ] && [ -e "$work/marks/pu-off-true" ] &&
        ok "pu off: both modes ran with the flag, and remounted /proc/sys rw (documented)" ||
        bad "pu off: the tests did not run with the flag"
"$h" run -o out-on --junit on.xml pu-on.yaml >on.log 2>&1
rc=$?
cat on.log
cat out-on/*/*/stdout 2>/dev/null | sed 's/^/#   /'
[ "$rc" -eq 0 ] && [ -e "$work/marks/pu-on-false" ] && [ -e "$work/marks/pu-on-true" ] &&
        [ "$(cat /proc/sys/kernel/core_pattern)" = "$core_before" ] &&
        ok "pu on: both modes ran, no flag needed, core_pattern could not be written" ||
        bad "pu on: exit $rc (core_pattern must stay the host's in both modes)"
if grep -q 'allow-privileged' on.log; then bad "pu on: a warning about privileges"; fi

# ---- 8. the host's root as the tree; extra capabilities -------------------
echo "# 8: rootfs: / and extra capabilities"
ln -s / "$work/hostroot"
for r in / "$work/hostroot"; do
        cat >root.yaml <<EOF
name: hostroot
rootfs: $r
defaults: {boot: false, fixtures: ["$work/marks:/marks:rw"]}
tests:
  - name: reads the host
    run: test -r /etc/shadow && touch /marks/hostroot
EOF
        for flag in "" --allow-privileged; do
                "$h" run $flag -o out-root root.yaml >root.log 2>&1
                rc=$?
                cat root.log
                if [ "$rc" -eq 2 ] && grep -q "^root.yaml:2:1: rootfs .* is the host's root directory" root.log &&
                        [ ! -e "$work/marks/hostroot" ]; then
                        ok "rootfs $r ${flag:-(no flag)}: refused, exit 2, nothing ran"
                else
                        bad "rootfs $r ${flag:-(no flag)}: exit $rc$([ -e "$work/marks/hostroot" ] && echo ', the host tree was read')"
                fi
                rm -f "$work/marks/hostroot"
        done
done
cat >caps.yaml <<EOF
name: caps
rootfs: $rootfs
defaults: {boot: false, capabilities: [SYS_MODULE], fixtures: ["$work/marks:/marks:rw"]}
tests:
  - name: a
    run: touch /marks/caps
EOF
"$h" run -o out-caps caps.yaml >caps.log 2>&1
rc=$?
cat caps.log
[ "$rc" -eq 2 ] && [ ! -e "$work/marks/caps" ] && ok "extra capabilities: refused (exit 2), nothing ran" ||
        bad "extra capabilities: exit $rc"

# A tree on a file system the kernel cannot idmap (ramfs) would run without
# private users, its code as host root: only with the operator's flag.
mkdir -p "$work/ramfs"
if mount -t ramfs -o mode=0755 ramfs "$work/ramfs"; then
        t=$work/ramfs
        mkdir -p "$t/bin" "$t/proc" "$t/dev" "$t/sys" "$t/tmp" "$t/etc"
        cp /bin/dash "$t/bin/sh"
        for lib in $(ldd /bin/dash | grep -o '/[^ ]*'); do
                mkdir -p "$t$(dirname "$lib")" && cp "$lib" "$t$lib"
        done
        cat >ramfs.yaml <<EOF
name: ramfs
rootfs: $t
defaults: {boot: false, fixtures: ["$work/marks:/marks:rw"]}
tests:
  - name: a
    run: echo ran >/marks/ramfs
EOF
        "$h" run -o out-ramfs ramfs.yaml >ramfs.log 2>&1
        rc=$?
        sed 's/^/#   /' ramfs.log | tail -4
        if [ "$rc" -eq 3 ] && [ ! -e "$work/marks/ramfs" ] && grep -q "cannot idmap" ramfs.log; then
                ok "ramfs tree: refused without --allow-privileged (exit 3, names the idmap), nothing ran"
        else
                bad "ramfs tree: exit $rc without the flag$([ -e "$work/marks/ramfs" ] && echo ', the test ran')"
        fi
        rm -f "$work/marks/ramfs"
        "$h" run --allow-privileged -o out-ramfs2 ramfs.yaml >ramfs2.log 2>&1
        rc=$?
        if [ "$rc" -eq 0 ] && [ -e "$work/marks/ramfs" ] && grep -q "without private users" ramfs2.log; then
                ok "ramfs tree: runs with --allow-privileged, warned"
        else
                bad "ramfs tree with the flag: exit $rc"
                sed 's/^/#   /' ramfs2.log | tail -4
        fi
        umount "$work/ramfs"
else
        echo "# ramfs cannot be mounted here: the idmap row is not run"
fi

cd /
host_snapshot >"$work/snap.after"
if snapshot_same "$work/snap.before" "$work/snap.after"; then
        ok "host snapshot identical (mounts, cgroups, hostname, sysctls, clock, state)"
else
        bad "host snapshot changed"
fi
finish

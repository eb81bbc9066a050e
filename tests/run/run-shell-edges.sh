#!/bin/sh
# harness shell's command-line edges: -D without its argument names the
# missing argument; --network-veth (systemd-nspawn's spelling) is
# --network=veth; a --bind target missing in a tree used as is (no -x) with
# private users is created in the tree, owned by the tree's root; a booted
# shell stopped by `harness stop` reports the stop and exits 0 (not 130, the
# SIGINT the kernel ends a powered-off namespace's init with); as non-root,
# one clear message and exit 3. Usage: run-shell-edges.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib/expect.sh"

expect 2 "option '-D' needs an argument" "$h" shell -D
expect 2 "option '--bind' needs an argument" "$h" shell -D "$rootfs" --bind
out=$("$h" shell -D "$rootfs" -x --network-veth sh -c 'ls /sys/class/net' 2>&1)
check "--network-veth gives the container a veth (host0): $(echo $out)" \
        sh -c "printf '%s\n' \"\$1\" | grep -qx host0" - "$out"

# A small tree of our own: it is written to (no -x).
tree=$work/tree
mkdir -p "$tree/bin" "$tree/proc" "$tree/dev" "$tree/sys" "$tree/tmp" "$tree/etc"
cp /bin/sh "$tree/bin/sh"
for lib in $(ldd /bin/sh | grep -o '/[^ ]*'); do
        mkdir -p "$tree$(dirname "$lib")" && cp -L "$lib" "$tree$lib"
done
mkdir -p "$work/bindsrc" && echo marker >"$work/bindsrc/file"
check "the bind target is missing in the tree before" [ ! -e "$tree/srv/missing/target" ]
out=$("$h" shell -D "$tree" --private-users=yes --bind "$work/bindsrc:/srv/missing/target" \
        /bin/sh -c 'read x </srv/missing/target/file && echo "got $x"' 2>&1)
rc=$?
check "bind to a missing target without -x exits 0 (got $rc: $out)" [ $rc -eq 0 ]
check "the bound file is seen inside" [ "$out" = "got marker" ]
check "the mount point was created in the tree" [ -d "$tree/srv/missing/target" ]
check "owned by the tree's root" [ "$(stat -c %u:%g "$tree/srv/missing/target")" = 0:0 ]

# A booted console, stopped from outside.
name=th-stop-$$
"$h" shell -D "$rootfs" -x -b -M "$name" </dev/null >"$work/boot.out" 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! "$h" ps 2>/dev/null | grep -q "$name"; do sleep 0.2; i=$((i + 1)); done
sleep 2 # into the boot
"$h" stop "$name"
check "harness stop succeeds" [ $? -eq 0 ]
wait $pid
rc=$?
check "the booted shell exits 0 after harness stop (got $rc)" [ $rc -eq 0 ]
check "the stop is reported" grep -q "stopped by 'harness stop'" "$work/boot.out"
check "no 'interrupted' message" sh -c "! grep -q interrupted '$work/boot.out'"

# Not root: one message, before anything is set up.
if command -v setpriv >/dev/null; then
        chmod 755 "$work"
        expect 3 'harness shell needs root' setpriv --reuid=65534 --regid=65534 --clear-groups \
                "$h" shell -D "$tree" -x true
fi
finish

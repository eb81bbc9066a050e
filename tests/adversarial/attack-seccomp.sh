#!/bin/sh
# The syscall filter and the tmpfs sizes (docs/container.md, "System call
# filter" and "File systems"), by the real `harness run` in all four modes
# (boot and direct, with and without private users):
#  - the probe calls each denied syscall raw (io_uring, keyrings, bpf,
#    perf_event_open, file handles, kexec, userfaultfd, modules, swap, port
#    I/O, and keyctl/add_key/bpf/io_uring_setup through the i386 ABI with
#    int 0x80): each must fail with EPERM in the container, and the process
#    must carry a filter (Seccomp: 2). The same probe runs on the host first:
#    none of its calls fails with EPERM there, so the rows are not vacuous.
#  - a test with a memory limit writes /tmp, /dev/shm and /run until a write
#    fails: each stops with ENOSPC at its documented size (half, half and a
#    quarter of the limit), not at the host's default (half of its RAM).
# The host snapshot is identical before and after.
# Usage: attack-seccomp.sh HARNESS PROBE
set -u
h=$1
probe_bin=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-seccomp.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$(dirname "$0")/../lib/check.sh"
priv=$("$h" run --help 2>&1 | grep -q -- --allow-privileged && echo --allow-privileged)

mkdir -p "$work/probe"
cp "$probe_bin" "$work/probe/probe"

# The host: every call reaches the kernel (succeeds or fails for its own
# reason), none is refused with EPERM.
"$work/probe/probe" syscalls >"$work/host.txt" 2>&1
sed 's/^/#   host: /' "$work/host.txt"
calls=$(grep -vc ' calls failed with EPERM$' "$work/host.txt")
if [ "$calls" -ge 20 ] && ! grep -q ': EPERM$' "$work/host.txt"; then
        ok "host: none of the $calls calls fails with EPERM outside a container"
else
        bad "host: the probe's calls do not reach the kernel ($calls calls, EPERM: $(grep ': EPERM$' "$work/host.txt" | tr '\n' ';'))"
fi

mem_mib=128
gen_suite() { # NAME BOOT PRIVATE-USERS
        cat <<YAML
name: $1
rootfs: $rootfs
defaults:
  boot: $2
  private-users: $3
  timeout: 120
  fixtures:
    - $work/probe:/probe
tests:
  - name: syscalls
    run: grep -E '^Seccomp(_filters)?:' /proc/self/status; /probe/probe syscalls; exit 0
  - name: tmpfs-fill
    limits: {memory: ${mem_mib}M}
    run: |
      for d in /tmp /dev/shm /run; do /probe/probe fill \$d/harness-fill; done
      exit 0
YAML
}

# in_range BYTES LOW_MIB HIGH_MIB
in_range() { [ "$1" -ge $(($2 * 1048576)) ] && [ "$1" -le $(($3 * 1048576)) ]; }

harness_sweep "$h" "$rootfs"
host_snapshot "$work/probe" >"$work/snap.before"
cd "$work"
modes=${ADV_MODES:-"direct-pu:false:true direct-nopu:false:false boot-pu:true:true boot-nopu:true:false"}
for m in $modes; do
        name=${m%%:*} rest=${m#*:}
        boot=${rest%%:*} pu=${rest#*:}
        gen_suite "$name" "$boot" "$pu" >"$name.yaml"
        p=""
        [ "$pu" = false ] && p=$priv
        "$h" run $p -j 2 -o "out-$name" --junit "$name.xml" "$name.yaml" >"$name.log" 2>&1
        rc=$?
        [ "$rc" -eq 0 ] || { bad "$name: harness run exit $rc"; sed 's/^/#   /' "$name.log"; }

        out="out-$name/$name/syscalls/stdout"
        sed 's/^/#   /' "$out" 2>/dev/null
        if grep -q '^Seccomp:[[:space:]]*2$' "$out" 2>/dev/null; then
                ok "$name: the test runs under a seccomp filter"
        else
                bad "$name: no seccomp filter on the test ($(grep '^Seccomp:' "$out" 2>/dev/null))"
        fi
        n=$(grep -c ': ' "$out" 2>/dev/null)
        eperm=$(grep -c ': EPERM$' "$out" 2>/dev/null)
        # Every call the host ran, and each of them EPERM.
        if [ "$n" -eq "$calls" ] && [ "$eperm" -eq "$calls" ]; then
                ok "$name: all $calls denied calls fail with EPERM (64-bit and i386 ABI)"
        else
                bad "$name: $eperm of $calls calls fail with EPERM; not denied: $(grep ': ' "$out" 2>/dev/null | grep -v -e ': EPERM$' -e '^Seccomp' | tr '\n' ';')"
        fi

        out="out-$name/$name/tmpfs-fill/stdout"
        sed 's/^/#   /' "$out" 2>/dev/null
        for spec in /tmp:2 /dev/shm:2 /run:4; do
                d=${spec%:*} div=${spec#*:}
                want=$((mem_mib / div))
                line=$(grep "^fill $d/harness-fill: " "$out" 2>/dev/null)
                bytes=$(echo "$line" | sed -n 's/^fill [^ ]*: \([0-9]*\) bytes.*/\1/p')
                case $line in
                *": ENOSPC")
                        if in_range "$bytes" $((want - 2)) "$want"; then
                                ok "$name: $d stops with ENOSPC at $((bytes / 1048576)) MiB (size ${want} MiB)"
                        else
                                bad "$name: $d: ENOSPC at $bytes bytes, documented size $want MiB"
                        fi ;;
                *) bad "$name: $d: writing did not stop with ENOSPC near $want MiB (${line:-the test was killed: $(grep -o 'testcase name="tmpfs-fill".*' "$name.xml" | head -c 300)})" ;;
                esac
        done
done

host_snapshot "$work/probe" >"$work/snap.after"
if snapshot_same "$work/snap.before" "$work/snap.after"; then
        ok "host snapshot identical before and after"
else
        bad "host snapshot changed"
fi
finish

# Host snapshot for the adversarial, crash and soak tests (sourced).
#
# host_snapshot [PATH...] prints everything a container or a killed harness
# could change on the host, in a stable order, so two snapshots taken before
# and after a run must be identical:
#   - the mount table (mount point, options, fs type, source; no mount ids),
#   - the cgroup trees (v1 controllers and the unified hierarchy),
#   - hostname, domainname and the sysctls a container could abuse
#     (core_pattern, modprobe, sysrq, hostname),
#   - the year of the clock (a successful `date -s` inside would move it),
#   - /run/harness (state and staging dirs, id-range locks),
#   - temp dirs the harness makes (/tmp/harness-shell-*),
#   - a checksum of each PATH (fixture sources bound read-only).
# Entries that belong to a harness process still running (another run on the
# same machine: names c<PID>-... with a live PID) are left out, so only what
# a dead process left behind shows up.

_snap_live_filter() {
        while IFS= read -r line; do
                pid=$(printf '%s\n' "$line" | sed -n 's,.*/c\([0-9][0-9]*\)-[^/]*.*,\1,p')
                if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                        continue
                fi
                printf '%s\n' "$line"
        done
}

host_snapshot() {
        echo "# mounts"
        # (the rootfs_cli test's own mmdebstrap builds are not the harness's)
        awk '{ for (i = 7; $i != "-"; i++) ; print $5, $6, $(i + 1), $(i + 2) }' \
                /proc/self/mountinfo | grep -v '/harness-rootfs-test\.' | sort
        # The top two levels of every hierarchy (a container that escaped
        # could create cgroups there) and everything under harness/; the
        # harness/ parents themselves come and go with the containers.
        echo "# cgroups"
        { find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d ! -name harness 2>/dev/null
          find /sys/fs/cgroup -mindepth 2 -path '*/harness/*' -type d 2>/dev/null; } |
                _snap_live_filter | sort -u
        echo "# names and sysctls"
        hostname
        for f in /proc/sys/kernel/hostname /proc/sys/kernel/domainname \
                /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sys/kernel/sysrq; do
                printf '%s=%s\n' "$f" "$(cat "$f" 2>/dev/null)"
        done
        echo "# clock year"
        date -u +%Y
        echo "# /run/harness"
        # (machines/ lists running containers by name, for `harness ps`)
        find /run/harness -mindepth 1 -maxdepth 2 ! -name '*.lock' ! -path '*/machines/*' 2>/dev/null |
                _snap_live_filter |
                sort
        echo "# temp dirs"
        find /tmp -maxdepth 1 -name 'harness-shell-*' 2>/dev/null | sort
        for p in "$@"; do
                echo "# checksum $p"
                if [ -d "$p" ]; then
                        (cd "$p" && find . -printf '%p %s %m %U %G\n' | sort &&
                                find . -type f -exec md5sum {} + | sort)
                else
                        md5sum <"$p"
                fi
        done
}

# snapshot_same BEFORE AFTER: 0 when identical, else prints the diff. One
# difference is allowed: a stale entry of a dead harness process (left by a
# run killed before BEFORE was taken) that the runs in between swept away.
snapshot_same() {
        if cmp -s "$1" "$2"; then
                return 0
        fi
        _d=$(diff "$1" "$2" | grep '^[<>] ' | grep -v '^< .*/c[0-9][0-9]*-[0-9][0-9]*-[0-9a-f]*')
        [ -z "$_d" ] && return 0
        echo "$_d" | head -20
        return 1
}

# harness_sweep HARNESS ROOTFS: one trivial run, which sweeps what earlier
# killed runs left (by their dead pids), so a snapshot taken next shows only
# what the test itself leaves.
harness_sweep() {
        _d=$(mktemp -d "${TMPDIR:-/tmp}/th-sweep.XXXXXX")
        printf 'name: sweep\nrootfs: %s\ndefaults: {boot: false}\ntests:\n  - {name: t, run: "true"}\n' \
                "$2" >"$_d/sweep.yaml"
        "$1" -q run -o "$_d/out" "$_d/sweep.yaml" >/dev/null 2>&1
        rm -rf "$_d"
}

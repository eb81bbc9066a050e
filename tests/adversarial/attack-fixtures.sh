#!/bin/sh
# Fixture sources swapped between the check and the bind (time of check to
# time of use), and setuid files in fixtures. `harness run` checks every
# fixture source once before anything runs; a test with a writable fixture
# can then change the suite's tree that later tests' fixtures come from.
#
# The suite's tree: data/ is the writable fixture of the first test, and the
# sources of two later tests' fixtures live inside it (data/ro read-only,
# data/rw writable). The first test moves both away and puts symlinks in
# their place: data/ro -> /etc, data/rw -> a host directory outside the
# suite's tree. The later tests must get what was checked (the moved
# directories), never the host's /etc (its shadow file is compared by
# checksum, never printed) and never the host directory (which must stay as
# it was). A setuid-root copy of id(1) in the suite's tree must not run
# setuid for an unprivileged user from a read-only or a writable bind
# (nosuid), and one planted through a writable fixture must not stay setuid
# on the host once the test ended, while the files the test did not touch
# keep their modes. A suite cannot bind a host path outside its own tree
# (`/`, `/etc`) without the operator's --allow-outside-fixtures.
#
# Every mode (boot and direct, private users on and off) runs with -j 1 (the
# order of the file); the private-users modes again with -j 2 (a sleeper
# after the swap keeps the victims after it). Each attack step is checked to
# have happened: the swap is printed by the test and seen on the host
# afterwards, the planting test prints the file's setuid-root mode.
#
# Usage: attack-fixtures.sh HARNESS
set -u
h=$1
probe_bin=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"
[ -r /etc/shadow ] || { echo "SKIP: no readable /etc/shadow"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-fixtures.XXXXXX")
cleanup() { [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"
priv=$("$h" run --help 2>&1 | grep -q -- --allow-privileged && echo --allow-privileged)

shadow_sum=$(sha256sum </etc/shadow | cut -d' ' -f1)
# The host directory a swapped writable fixture would lead to.
hostdir="$work/hostdir"
mkdir -p "$hostdir"
echo "host bait" >"$hostdir/host-bait"

# gen_suite NAME BOOT PRIVATE-USERS
gen_suite() {
        cat <<YAML
name: $1
rootfs: $rootfs
defaults:
  boot: $2
  private-users: $3
  timeout: 60
tests:
  - name: swap
    fixtures: ["data:/srv/w:rw"]
    run: |
      mv /srv/w/ro /srv/w/ro.orig && ln -s /etc /srv/w/ro &&
      mv /srv/w/rw /srv/w/rw.orig && ln -s $hostdir /srv/w/rw &&
      echo "swapped: ro -> \$(readlink /srv/w/ro), rw -> \$(readlink /srv/w/rw)"
  - name: sleeper
    run: sleep 3
  - name: read-ro
    fixtures: ["data/ro:/srv/ro"]
    run: |
      [ -f /srv/ro/shadow ] && echo "shadow-sum \$(sha256sum </srv/ro/shadow | cut -d' ' -f1)"
      echo "marker: \$(cat /srv/ro/marker 2>/dev/null)"
      true
  - name: write-rw
    fixtures: ["data/rw:/srv/rw:rw"]
    run: |
      echo "sees: \$(ls /srv/rw | tr '\n' ' ')"
      cp /bin/sh /srv/rw/sh && chmod 4755 /srv/rw/sh && echo "wrote setuid sh"
      true
  - name: run-suid
    user: nobody
    fixtures: ["suid:/srv/s:rw", "suid:/srv/s-ro"]
    run: |
      echo "uid=\$(id -u) euid-rw=\$(/srv/s/id -u) euid-ro=\$(/srv/s-ro/id -u)"
  - name: plant-suid
    fixtures: ["suid:/srv/s:rw"]
    run: |
      cp /usr/bin/id /srv/s/id2 && chown 0:0 /srv/s/id2 && chmod 4755 /srv/s/id2 &&
      echo "planted: \$(stat -c '%a %u' /srv/s/id2)"
      cp /bin/cat /srv/s/cat2 && /srv/s/probe setcap /srv/s/cat2
YAML
}

# out MODE TEST: the test's stdout.
out() { cat "$work/$1/out/$1/$2/stdout" 2>/dev/null; }

harness_sweep "$h" "$rootfs"
host_snapshot "$hostdir" >"$work/snap.before"

modes="direct-pu:false:true:1 direct-nopu:false:false:1 boot-pu:true:true:1 boot-nopu:true:false:1"
modes="$modes direct-pu-j2:false:true:2 boot-pu-j2:true:true:2"
modes=${ADV_MODES:-$modes}
for m in $modes; do
        IFS=: read -r name boot pu jobs <<EOF
$m
EOF
        d="$work/$name"
        mkdir -p "$d/data/ro" "$d/data/rw" "$d/suid"
        echo "original fixture" >"$d/data/ro/marker"
        echo "original rw" >"$d/data/rw/marker"
        # A setuid-root program already in the suite's tree (nosuid binds).
        cp /usr/bin/id "$d/suid/id" && chown 0:0 "$d/suid/id" && chmod 4755 "$d/suid/id"
        cp "$probe_bin" "$d/suid/probe"
        gen_suite "$name" "$boot" "$pu" >"$d/suite.yaml"
        p=
        [ "$pu" = false ] && p=$priv
        (cd "$d" && "$h" run $p -j "$jobs" -o out suite.yaml >run.log 2>&1)
        echo "# $name: harness run -j $jobs exited $?"
        sed 's/^/#   /' "$d/run.log" | tail -8

        # The attack steps ran.
        if out "$name" swap | grep -q "swapped: ro -> /etc, rw -> $hostdir" &&
                [ "$(readlink "$d/data/ro")" = /etc ] && [ "$(readlink "$d/data/rw")" = "$hostdir" ]; then
                ok "$name: the writable fixture swapped both later sources for symlinks (seen on the host)"
        else
                bad "$name: the swap did not happen: $(out "$name" swap | head -3)"
        fi
        # A setuid-root file written through a writable fixture does not
        # stay setuid on the host (nor does one that was there before).
        if out "$name" plant-suid | grep -q "^planted: 4755 0$"; then
                ok "$name: a setuid-root id2 was planted through the writable fixture"
        else
                bad "$name: planting the setuid file did not happen: $(out "$name" plant-suid | head -2)"
        fi
        # A file capability written through the idmapped fixture is valid
        # for the host's root: it must not stay either.
        if out "$name" plant-suid | grep -q "^SETCAP ok"; then
                if python3 -c 'import os,sys; os.getxattr(sys.argv[1], "security.capability")' \
                        "$d/suid/cat2" 2>/dev/null; then
                        bad "$name: a file capability planted through the writable fixture stayed on the host"
                else
                        ok "$name: the file capability planted through the writable fixture is gone on the host"
                fi
        else
                bad "$name: planting a file capability did not happen: $(out "$name" plant-suid | tail -1)"
        fi
        left=$(stat -c '%a %u' "$d/suid/id2" "$d/suid/id" 2>/dev/null | tr '\n' ' ')
        if [ "$left" = "755 0 4755 0 " ]; then
                ok "$name: on the host the planted file lost its setuid bit; the operator's own file kept its mode ($left)"
        else
                bad "$name: after the test, planted and the operator's file: $left (want 755 0 4755 0)"
        fi

        # Read-only victim: never the host's /etc.
        ro=$(out "$name" read-ro)
        if echo "$ro" | grep -q "shadow-sum $shadow_sum"; then
                bad "$name: a later read-only fixture read the host's /etc/shadow"
        elif echo "$ro" | grep -q "^shadow-sum"; then
                bad "$name: a later read-only fixture saw a shadow file (not the host's): the bind followed the symlink"
        elif echo "$ro" | grep -q "marker: original fixture"; then
                ok "$name: the later read-only fixture is the one checked (original content)"
        else
                bad "$name: the read-only victim did not run as expected: $(echo "$ro" | head -3)"
        fi

        # Writable victim: never the host directory.
        rw=$(out "$name" write-rw)
        if [ "$(ls -A "$hostdir")" != host-bait ] || echo "$rw" | grep -q host-bait; then
                bad "$name: a host directory outside the suite was bound writable (it holds: $(ls -A "$hostdir" | tr '\n' ' '))"
                find "$hostdir" -perm -4000 -type f | sed 's/^/#   setuid: /'
                rm -f "$hostdir/sh"
        elif echo "$rw" | grep -q "sees: marker"; then
                ok "$name: the later writable fixture is the one checked; the host directory is untouched"
        else
                bad "$name: the writable victim did not run as expected: $(echo "$rw" | head -3)"
        fi

        # nosuid: the planted file runs with the caller's uid.
        su=$(out "$name" run-suid)
        if echo "$su" | grep -Eq '^uid=[1-9][0-9]* euid-rw=[1-9][0-9]* euid-ro=[1-9][0-9]*$'; then
                ok "$name: the setuid-root file runs without setuid from writable and read-only fixtures ($su)"
        else
                bad "$name: setuid in a fixture: ${su:-no output}"
        fi
done

# Host paths as fixture sources: refused before anything runs, whatever the
# mode; the marker the test would write never appears.
mkdir -p "$work/hostpaths"
for src in / /etc "$hostdir"; do
        cat >"$work/hostpaths/suite.yaml" <<EOF
name: hostpath
rootfs: $rootfs
defaults: {boot: false}
tests:
  - name: t
    fixtures: ["$src:/host:rw"]
    run: echo written >/host/th-fixture-marker-$$
EOF
        (cd "$work/hostpaths" && "$h" run -o out suite.yaml >run.log 2>&1)
        rc=$?
        if [ "$rc" -eq 2 ] && grep -q "outside the suite's tree" "$work/hostpaths/run.log" &&
                [ ! -e "$src/th-fixture-marker-$$" ]; then
                ok "host path '$src' as a writable fixture: refused (exit 2), nothing written"
        else
                bad "host path '$src' as a writable fixture: exit $rc"
                rm -f "$src/th-fixture-marker-$$"
        fi
done

host_snapshot "$hostdir" >"$work/snap.after"
if snapshot_same "$work/snap.before" "$work/snap.after"; then
        ok "host snapshot identical (mounts, cgroups, state, the host directory)"
else
        bad "host snapshot changed"
fi
finish

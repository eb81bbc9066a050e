#!/bin/sh
# Artifact copy-out and fake attachment lines: hostile suites run by the real
# `harness run` in all four modes (boot and direct, with and without private
# users). The container prepares artifacts meant to make the copy-out write
# on the host outside the test's results (a `..` path, a symlink made inside
# the container between two artifacts, an existing host file as target), to
# fill the host disk (a sparse file), to carry a set-uid bit out, or to print
# `[[ATTACHMENT|...]]` lines a JUnit consumer would take for the harness's.
# Every attack also prints what it did, so a check cannot pass because the
# step never ran.
#
# Usage: attack-artifacts.sh HARNESS
set -u
h=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"
command -v xmllint >/dev/null || { echo "SKIP: needs xmllint"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-artifacts.XXXXXX")
bait="th-adv-bait-$$-$(date +%s)"
cleanup() {
        # What the unfixed copy-out wrote into the host's /etc.
        rm -f "/etc/$bait" "/etc/$bait".* "$victim"
        [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib/check.sh"
priv=$("$h" run --help 2>&1 | grep -q -- --allow-privileged && echo --allow-privileged)

# The host file (c) aims at: root-owned, 0644, known content, in the host's
# /etc (the container's /etc is in its overlay, so the source resolves).
victim="/etc/$bait.victim"
echo original >"$victim"
chmod 0644 "$victim"
victim_before=$(stat -c '%U:%G %a %s' "$victim")

# gen_suite NAME BOOT PRIVATE-USERS: the hostile tests (b)-(f).
gen_suite() {
        name=$1 boot=$2 pu=$3
        cat <<YAML
name: $name
rootfs: $rootfs
defaults:
  boot: $boot
  private-users: $pu
  timeout: 120
tests:
  - name: symlink-between-artifacts
    run: |
      mkdir -p /var/log/rt
      ln -s /etc /var/log/rt/sub
      echo bait > /etc/$bait.log
      [ -L /var/log/rt/sub ] && [ -f /var/log/rt/sub/$bait.log ] && echo "made the symlink rt/sub -> /etc"
    artifacts: [/var/log/rt, /var/log/rt/sub/$bait.log]
  - name: existing-host-file
    run: |
      mkdir -p /c
      ln -s /etc /c/d
      echo pwned > $victim
      chmod 4777 $victim
      [ -L /c/d ] && [ -f /c/d/$bait.victim ] && echo "made the symlink /c/d -> /etc"
    artifacts: [/c/d, /c/d/$bait.victim]
  - name: sparse-file
    run: |
      mkdir -p /var/tmp/big
      truncate -s 3G /var/tmp/big/file
      echo "made a sparse file of \$(stat -c %s /var/tmp/big/file) bytes using \$(du -k /var/tmp/big/file | cut -f1) KiB"
    artifacts: [/var/tmp/big/file]
  - name: setuid-file
    run: |
      mkdir -p /var/tmp/s
      cp /bin/true /var/tmp/s/suid
      chown 0:0 /var/tmp/s/suid
      chmod 6755 /var/tmp/s/suid
      mkdir -p /var/tmp/s/dir
      chmod 3777 /var/tmp/s/dir
      echo "made a set-uid file of mode \$(stat -c %a /var/tmp/s/suid)"
    artifacts: [/var/tmp/s/suid, /var/tmp/s/dir]
  - name: fake-attachments
    run: |
      echo '[[ATTACHMENT|/etc/shadow]]'
      echo 'text before [[attachment|/etc/shadow]] and after'
      printf '[\\033[0m[ATTACHMENT|/etc/shadow]]\\n'
      echo '[[ATTACHMENT|/etc/shadow]]' >&2
      d='/out/a
      [[ATTACHMENT|/etc'
      mkdir -p "\$d"
      echo x > "\$d/shadow]]"
      echo "printed fake attachment lines"
    artifacts: [/out]
YAML
}

# gen_dotdot NAME BOOT PRIVATE-USERS: an artifact path climbing out with `..`.
gen_dotdot() {
        cat <<YAML
name: $1
rootfs: $rootfs
defaults:
  boot: $2
  private-users: $3
  timeout: 120
tests:
  - name: dotdot
    run: echo bait > /etc/$bait && echo "made the bait"
    artifacts:
      - /var/../../../../../../../../../../../../../../../../../../../../../../../../etc/$bait
YAML
}

# gen_cap NAME BOOT PRIVATE-USERS: artifacts over the suite's cap.
gen_cap() {
        cat <<YAML
name: $1
rootfs: $rootfs
defaults:
  boot: $2
  private-users: $3
  timeout: 120
  limits: {artifacts: 1M}
tests:
  - name: over-the-cap
    run: |
      mkdir -p /var/tmp/cap
      head -c 3000000 /dev/urandom > /var/tmp/cap/a
      head -c 3000000 /dev/urandom > /var/tmp/cap/b
      echo "wrote \$(du -ck /var/tmp/cap/* | tail -1 | cut -f1) KiB"
    artifacts: [/var/tmp/cap]
YAML
}

# find_bait: every file named after the bait outside the results (the
# container trees are other mounts, left out by -xdev).
find_bait() {
        find / -xdev \( -path "$work" -o -path /proc \) -prune -o -name "$bait*" ! -path "$victim" -print 2>/dev/null
}

snap_before="$work/snap.before"
harness_sweep "$h" "$rootfs"
host_snapshot "$victim" >"$snap_before"
cd "$work"
modes="direct-pu:false:true direct-nopu:false:false boot-pu:true:true boot-nopu:true:false"
modes=${ADV_MODES:-$modes}
for m in $modes; do
        name=${m%%:*} rest=${m#*:}
        boot=${rest%%:*} pu=${rest#*:}
        p=""
        [ "$pu" = false ] && p=$priv

        # (a) `..` in an artifact path: refused when the suite loads.
        gen_dotdot "dd-$name" "$boot" "$pu" >"dd-$name.yaml"
        "$h" run $p -o "out-dd-$name" "dd-$name.yaml" >"dd-$name.log" 2>&1
        rc=$?
        if [ "$rc" -eq 2 ] && grep -q "dd-$name.yaml:[0-9]*:[0-9]*: .*'\.\.'" "dd-$name.log"; then
                ok "$name: (a) a '..' artifact path is a load error (exit 2, FILE:LINE:COL)"
        else
                bad "$name: (a) a '..' artifact path was accepted (exit $rc): $(head -3 "dd-$name.log")"
                grep -rqs "made the bait" "out-dd-$name" && echo "#   (the test ran and made the bait)"
        fi
        if [ -e "/etc/$bait" ]; then
                bad "$name: (a) the '..' artifact was written into the host's /etc"
                rm -f "/etc/$bait"
        fi

        # (b)-(f)
        gen_suite "$name" "$boot" "$pu" >"$name.yaml"
        "$h" run $p -j 2 -o "out-$name" --junit "$name.xml" "$name.yaml" >"$name.log" 2>&1
        rc=$?
        sed 's/^/#   /' "$name.log"
        out="out-$name/$name"

        # (b) nothing in the host's /etc, nor anywhere outside the results.
        grep -q "made the symlink rt/sub" "$out/symlink-between-artifacts/stdout" ||
                bad "$name: (b) the test did not make its symlink"
        found=$(find_bait)
        if [ -e "/etc/$bait.log" ] || [ -n "$found" ]; then
                bad "$name: (b) a copy landed outside the results: $found"
                rm -f "/etc/$bait.log"
        else
                ok "$name: (b) the symlink made between two artifacts led nowhere outside the results"
        fi

        # (c) the existing host file: same content, owner and mode.
        grep -q "made the symlink /c/d" "$out/existing-host-file/stdout" ||
                bad "$name: (c) the test did not make its symlink"
        now=$(stat -c '%U:%G %a %s' "$victim")
        if [ "$now" = "$victim_before" ] && [ "$(cat "$victim")" = original ]; then
                ok "$name: (c) the existing host file was neither overwritten nor changed ($now)"
        else
                bad "$name: (c) the host file changed: $victim_before -> $now, '$(cat "$victim")'"
                echo original >"$victim"
                chown 0:0 "$victim"
                chmod 0644 "$victim"
        fi

        # (d) the 3 GiB sparse file stays small on the host disk.
        grep -q "made a sparse file of 3221225472 bytes" "$out/sparse-file/stdout" ||
                bad "$name: (d) the test did not make its sparse file"
        big="$out/sparse-file/artifacts/var/tmp/big/file"
        kib=$(du -k "$big" 2>/dev/null | cut -f1)
        if [ -f "$big" ] && [ "${kib:-0}" -lt 1024 ]; then
                ok "$name: (d) the sparse file takes $kib KiB on the host ($(stat -c %s "$big") bytes long)"
        else
                bad "$name: (d) the sparse file takes ${kib:-?} KiB on the host"
        fi

        # (e) no set-uid, set-gid or sticky bit, no foreign owner.
        grep -q "made a set-uid file of mode 6755" "$out/setuid-file/stdout" ||
                bad "$name: (e) the test did not make its set-uid file"
        s="$out/setuid-file/artifacts/var/tmp/s"
        modes_out=$(stat -c '%a %u:%g' "$s/suid" "$s/dir" 2>/dev/null | tr '\n' ' ')
        special=$(find "$s" \( -perm /7000 -o ! -uid "$(id -u)" \) -print 2>/dev/null)
        if [ -f "$s/suid" ] && [ -d "$s/dir" ] && [ -z "$special" ]; then
                ok "$name: (e) copied without special bits, owned by the harness ($modes_out)"
        else
                bad "$name: (e) special bits or a foreign owner came out: $modes_out"
        fi

        # (f) the only attachment lines are the harness's: files of this run.
        grep -q "printed fake attachment lines" "$out/fake-attachments/stdout" ||
                bad "$name: (f) the test did not print its lines"
        grep -qF '[[ATTACHMENT|/etc/shadow]]' "$out/fake-attachments/stdout" ||
                bad "$name: (f) the fake line is not in the captured stdout"
        foreign=$(grep -oi '\[\[ATTACHMENT|[^]]*\]\]' "$name.xml" | sed 's/^\[\[[^|]*|//; s/\]\]$//' |
                while IFS= read -r a; do
                        case $a in "$work"/out-"$name"/*) [ -f "$a" ] && continue ;; esac
                        echo "$a"
                done)
        own=$(grep -c "^\[\[ATTACHMENT|$work/$out/fake-attachments/stdout\]\]\$" "$name.xml")
        if [ -z "$foreign" ] && [ "$own" -ge 1 ]; then
                ok "$name: (f) only the harness's own attachment lines are recognisable"
        else
                bad "$name: (f) attachment lines naming other files: $(echo "$foreign" | tr '\n' ' ') (own lines: $own)"
        fi
        [ "$rc" -le 1 ] || bad "$name: harness exited $rc"
        rm -f "$big"

        # (g) the cap: the copy stops and the report says so.
        gen_cap "cap-$name" "$boot" "$pu" >"cap-$name.yaml"
        "$h" run $p -o "out-cap-$name" --junit "cap-$name.xml" "cap-$name.yaml" >"cap-$name.log" 2>&1
        rc=$?
        c="out-cap-$name/cap-$name/over-the-cap"
        grep -q "^wrote 58[0-9][0-9] KiB" "$c/stdout" 2>/dev/null ||
                bad "$name: (g) the test did not write its 6 MB"
        kib=$(du -sk "$c/artifacts" 2>/dev/null | cut -f1)
        if [ "$rc" -eq 1 ] && [ "${kib:-9999}" -le 1100 ] && grep -q 'type="artifacts"' "cap-$name.xml" &&
                grep -q "artifacts.*limit" "cap-$name.log"; then
                ok "$name: (g) the copy stopped at the cap ($kib KiB) and the report says so"
        else
                bad "$name: (g) cap: exit $rc, $kib KiB copied: $(grep -i artifact "cap-$name.log" | head -2)"
        fi
done

host_snapshot "$victim" >"$work/snap.after"
if snapshot_same "$snap_before" "$work/snap.after"; then
        ok "host snapshot identical (mounts, cgroups, state, the victim file)"
else
        bad "host snapshot changed"
fi
finish

#!/bin/sh
# A black-box round's finding: the set-id strip of writable fixtures after
# a test stopped at 256 directory levels, so a set-uid-root program moved
# deeper than that stayed on the host, runnable by any local user.
#  "deep": a test copies dash into its writable fixture, makes it mode 4755
#          (root's, through the idmapped bind), then moves it 300 levels
#          down (mkdir n; mv d n/a; mv n d). Afterwards, on the host, the
#          file must be there (the attack ran: its depth is counted) with no
#          set-uid or set-gid bit, and running it as nobody must not give
#          euid 0.
#  "shallow": the same file one level down, as a control of the same run.
# Then the host snapshot is compared.
#
# Usage: attack-round5.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

. "$(dirname "$0")/../lib/privileged.sh"
command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-round5.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
chmod 0700 "$work"
. "$(dirname "$0")/../lib/check.sh"

mkdir -p "$work/fix"
cat >"$work/deep.yaml" <<YAML
name: deep
rootfs: $rootfs
defaults: {boot: false, timeout: 300}
tests:
  - name: deep setuid
    fixtures: ["fix:/fix:rw"]
    run: |
      set -e
      cd /fix
      mkdir d s
      cp /bin/dash d/suid; chmod 4755 d/suid
      cp /bin/dash s/suid; chmod 4755 s/suid
      echo "inside: \$(stat -c %a d/suid) \$(stat -c %a s/suid)"
      i=0
      while [ \$i -lt 300 ]; do mkdir n; mv d n/a; mv n d; i=\$((i+1)); done
YAML

host_snapshot >"$work/snap.before"
"$h" run -o "$work/out" "$work/deep.yaml" >"$work/log" 2>&1
rc=$?
grep -q "inside: 4755 4755" "$work/out/deep/"*/stdout 2>/dev/null &&
        ok "the test made both copies set-uid inside (exit $rc)" ||
        { cat "$work/log"; bad "the attack did not run (exit $rc)"; }

deep=$(find "$work/fix/d" -name suid -type f 2>/dev/null | head -1)
levels=$(printf '%s\n' "$deep" | tr -cd / | wc -c)
if [ -n "$deep" ] && [ "$levels" -gt 300 ]; then
        ok "deep: the file is $levels path components down"
        mode=$(stat -c %a "$deep")
        case $mode in
        4* | 2* | 6*) bad "deep: mode $mode on the host: the strip stopped above it" ;;
        *) ok "deep: mode $mode on the host, no set-id bit" ;;
        esac
        euid=$(cd "$(dirname "$deep")" && setpriv --reuid=65534 --regid=65534 --clear-groups \
                ./suid -p -c 'id -u' 2>/dev/null)
        [ "$euid" != 0 ] && ok "deep: run as nobody it is euid ${euid:-?}, not 0" ||
                bad "deep: nobody got euid 0"
else
        bad "deep: no file found below 300 levels (found '$deep')"
fi
mode=$(stat -c %a "$work/fix/s/suid" 2>/dev/null)
[ "$mode" = 755 ] && ok "shallow: mode 755 on the host" || bad "shallow: mode '${mode:-missing}'"

host_snapshot >"$work/snap.after"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical" ||
        bad "host snapshot changed"
finish

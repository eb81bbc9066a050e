#!/bin/sh
# A black-box round's finding: `rootfs:` was checked once (the host's root
# directory is refused, even with --allow-privileged) but looked up again by
# path for every test, so a test with a writable fixture over the suite's
# folder could point the tree's path at `/` and the next test ran on the
# host's root directory, as container root, with no flag.
#  "swap": the first test replaces the suite's `tree` symlink with one to
#          `/`; the second looks for a marker file only the host has. The
#          swap must have happened (checked on the host after the run), and
#          the second test must still see the tree that was checked.
#  "check": `harness run` of a suite whose tree already is `/` is refused
#          before anything runs (the existing refusal, as a control).
# Then the host snapshot is compared.
#
# Usage: attack-round6.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"
. "$here/../lib/privileged.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-round6.XXXXXX")
trap 'rm -f "/.harness-round6-marker-$$"; [ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$here/../lib/check.sh"

host_snapshot >"$work/snap.before"
# On the host's root directory itself: the container has its own /tmp.
marker="/.harness-round6-marker-$$"
echo host >"$marker"
mkdir "$work/s"
ln -s "$rootfs" "$work/s/tree"
cat >"$work/s/suite.yaml" <<YAML
name: swap
rootfs: tree
defaults: {boot: false, timeout: 60}
tests:
  - name: swap
    fixtures:
      - {source: ., target: /s, writable: true}
    run: rm /s/tree && ln -s / /s/tree
  - name: probe
    run: |
      if [ -e "$marker" ]; then echo "HOST ROOT"; cat /etc/hostname; exit 1; fi
      echo "the checked tree"
YAML
"$h" run -j 1 -o "$work/out" "$work/s/suite.yaml" >"$work/log" 2>&1
rc=$?
[ "$(readlink "$work/s/tree")" = / ] && ok "the first test pointed the tree's path at /" ||
        bad "the swap did not happen: $(readlink "$work/s/tree")"
if grep -q "HOST ROOT" "$work/out/swap/probe/stdout" 2>/dev/null; then
        bad "the second test ran on the host's root directory"
elif grep -q "the checked tree" "$work/out/swap/probe/stdout" 2>/dev/null; then
        ok "the second test ran on the tree that was checked"
else
        bad "the second test did not run: $(cat "$work/log")"
fi
[ $rc -eq 0 ] && ok "the run passed (exit 0)" || bad "run exit $rc: $(cat "$work/log")"

# The refusal at check time, as a control: the path is now `/`.
"$h" run -o "$work/out2" "$work/s/suite.yaml" >"$work/log2" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "host's root directory" "$work/log2" && [ ! -d "$work/out2/swap/swap" ] &&
        ok "a tree that is / is refused before any test runs (exit $rc)" ||
        bad "a tree that is /: exit $rc, $(cat "$work/log2")"
rm -f "$work/s/tree" "$marker"

host_snapshot >"$work/snap.after"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical" ||
        bad "host snapshot changed"
finish

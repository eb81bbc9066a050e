#!/bin/sh
# A black-box round's findings on what a writable fixture reaches:
#  "results": a test with a writable fixture over the work tree swapped the
#          results folder's suite folder (harness-results/SUITE) for a
#          symlink to a host folder; the harness then emptied test folders
#          there and wrote the tests' files into it as root. Now a results
#          folder (or a report's folder) inside a writable fixture, or a
#          writable fixture inside it, is refused before anything runs.
#  "planted": a symlink left in the results folder by an earlier run, in
#          place of a suite's folder, is replaced by a real folder; `-o`
#          naming a symlink is refused.
#  ".git": a writable fixture over a git work tree let a test plant hooks
#          and core.fsmonitor that git later ran as host root; its .git is
#          now bound read-only (the rest stays writable).
# Each attack step is checked to have run; then the host snapshot.
#
# Usage: attack-round7.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"
. "$here/../lib/privileged.sh"
command -v git >/dev/null || { echo "SKIP: needs git"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-round7.XXXXXX")
trap '[ -n "${ADV_KEEP:-}" ] || rm -rf "$work"' EXIT
. "$here/../lib/check.sh"
host_snapshot >"$work/snap.before"

repo="$work/repo"
victim="$work/victim"
mkdir -p "$repo/suites" "$victim/d"
echo keep >"$victim/d/existing"
git -C "$repo" init -q
ln -s "$rootfs" "$repo/suites/tree"

# ---- results: the suite folder swapped during the run ------------------------
cat >"$repo/suites/s.yaml" <<YAML
name: s
rootfs: tree
defaults: {boot: false, timeout: 60}
tests:
  - name: a
    fixtures:
      - {source: .., target: /repo, writable: true}
    run: |
      mv /repo/harness-results/s /repo/harness-results/s.old &&
      ln -s $victim /repo/harness-results/s && echo swapped
  - name: d
    run: echo planted-by-the-test
YAML
(cd "$repo" && "$h" run -j 1 suites/s.yaml) >"$work/log1" 2>&1
rc=$?
if [ -L "$repo/harness-results/s" ]; then
        ok "the attack ran: the suite folder was swapped for a symlink"
        [ -e "$victim/d/stdout" ] && bad "the harness wrote a test's files into the host folder"
        [ -e "$victim/d/existing" ] || bad "the harness emptied a host folder"
else
        [ $rc -eq 2 ] && grep -q "overlap" "$work/log1" && [ ! -d "$repo/harness-results/s/a" ] &&
                ok "a results folder inside a writable fixture is refused, nothing ran" ||
                bad "results inside a writable fixture: exit $rc, $(cat "$work/log1")"
fi
[ -e "$victim/d/existing" ] && [ ! -e "$victim/d/stdout" ] && ok "the host folder is untouched" ||
        bad "the host folder changed: $(ls "$victim/d")"

# The same with the report's folder only: -o elsewhere, --junit inside.
(cd "$repo" && "$h" run -o "$work/out-j" --junit reports/j.xml suites/s.yaml) >"$work/log2" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "the --junit folder .* overlap" "$work/log2" && [ ! -d "$work/out-j/s/a" ] &&
        ok "a report folder inside a writable fixture is refused (exit $rc), nothing ran" ||
        bad "report folder inside a writable fixture: exit $rc, $(cat "$work/log2")"

# ---- planted: a symlink left in place of a suite folder, and -o a symlink ---
rm -rf "$repo/harness-results"
mkdir -p "$work/out-p"
ln -s "$victim" "$work/out-p/s"
cat >"$repo/suites/t.yaml" <<YAML
name: s
rootfs: tree
defaults: {boot: false, timeout: 60}
tests:
  - {name: d, run: echo trusted}
YAML
"$h" run -o "$work/out-p" "$repo/suites/t.yaml" >"$work/log3" 2>&1
rc=$?
[ $rc -eq 0 ] && [ -d "$work/out-p/s" ] && [ ! -L "$work/out-p/s" ] &&
        grep -q trusted "$work/out-p/s/d/stdout" 2>/dev/null &&
        ok "a planted suite-folder symlink is replaced by a real folder" ||
        bad "planted symlink: exit $rc, $(cat "$work/log3")"
[ -e "$victim/d/existing" ] && [ ! -e "$victim/d/stdout" ] && ok "the planted link's target is untouched" ||
        bad "the planted link's target changed: $(ls "$victim/d")"
ln -s "$victim" "$work/out-link"
"$h" run -o "$work/out-link" "$repo/suites/t.yaml" >"$work/log4" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "is a symlink" "$work/log4" && [ ! -e "$victim/s" ] &&
        ok "-o naming a symlink is refused" || bad "-o a symlink: exit $rc, $(cat "$work/log4")"

# ---- .git: read-only inside a writable fixture -------------------------------
cat >"$repo/suites/g.yaml" <<YAML
name: g
rootfs: tree
defaults: {boot: false, timeout: 60}
tests:
  - name: hook
    fixtures:
      - {source: .., target: /repo, writable: true}
    run: |
      echo content >/repo/written-by-test || exit 3
      if printf '#!/bin/sh\nid >$work/HOOK-RAN\n' >/repo/.git/hooks/pre-commit; then exit 4; fi
      if printf '[core]\n\tfsmonitor = "id >$work/FSMON"\n' >>/repo/.git/config; then exit 5; fi
      echo refused
YAML
"$h" run -o "$work/out-g" "$repo/suites/g.yaml" >"$work/log5" 2>&1
rc=$?
[ -f "$repo/written-by-test" ] && ok "the attack ran: the test wrote into the work tree" ||
        bad "the test could not write its fixture: $(cat "$work/log5")"
[ $rc -eq 0 ] && [ ! -e "$repo/.git/hooks/pre-commit" ] && ! grep -q fsmonitor "$repo/.git/config" &&
        ok ".git is read-only inside a writable fixture" ||
        bad ".git written: exit $rc, $(ls "$repo/.git/hooks"), $(cat "$work/log5")"
git -C "$repo" status >/dev/null 2>&1
[ ! -e "$work/FSMON" ] && [ ! -e "$work/HOOK-RAN" ] && ok "git on the host runs nothing of the test's" ||
        bad "git ran the test's command"

host_snapshot >"$work/snap.after"
snapshot_same "$work/snap.before" "$work/snap.after" && ok "host snapshot identical" ||
        bad "host snapshot changed"
finish

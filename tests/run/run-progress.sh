#!/bin/sh
# What `harness run` prints while it runs. On a terminal (a pty, 60 columns):
# the status line names the running tests and fits the width, is cleared
# before every log line (a retry's message) and every result line, and
# results are coloured unless NO_COLOR is set. In plain mode (a CI log): no
# escape sequence at all, and a failed test's last lines of stdout and
# stderr (bounded, escaped) under it in the summary.
# Usage: run-progress.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"
drive="$(cd "$(dirname "$0")/../lib" && pwd)/pty-drive.py"

mkdir -p "$work/state"
cat >"$work/progress.yaml" <<YAML
name: progress
rootfs: $rootfs
defaults: {boot: false, timeout: 60}
tests:
  - name: slow one with a rather long name to be cut
    run: sleep 2
  - name: slow two
    run: sleep 2
  - name: flaky
    retries: 1
    fixtures: [{source: state, target: /state, writable: true}]
    run: test -e /state/tried || { touch /state/tried; sleep 1; exit 1; }
  - name: loud failure
    run: |
      for i in \$(seq 1 30); do echo "out line \$i"; done
      printf 'err with \033[31mcolour\033[0m and a bell \a\n' >&2
      exit 1
  - name: skipped
    skip: not today
    run: "true"
YAML
cd "$work"

# on_pty OUT ENV...: the run on a 60-column pty.
on_pty() {
        out=$1
        shift
        rm -f state/tried
        python3 "$drive" --timeout 120 -- sh -c 'stty cols 60; exec env "$@"' - "$@" \
                "$h" run -j 2 -o "out-$out" progress.yaml >"$out.tty" 2>&1
}
on_pty colour TERM=xterm NO_COLOR=
on_pty nocolour TERM=xterm NO_COLOR=1

python3 - colour.tty nocolour.tty <<'PY'
import re, sys
fail = 0
def check(ok, what):
    global fail
    print(("ok: " if ok else "FAIL: ") + what)
    fail |= not ok
sgr = re.compile(r'\x1b\[[0-9;]*m')
for path in sys.argv[1:]:
    raw = open(path, 'rb').read().decode('utf-8', 'replace')
    segs = re.split(r'[\r\n]', raw)
    status = [sgr.sub('', s[3:]) for s in segs if s.startswith('\x1b[K[')]
    check(len(status) > 0, f"{path}: a status line was drawn ({len(status)} times)")
    check(any('progress/slow' in s for s in status), f"{path}: the status line names running tests")
    wide = [s for s in status if len(s) > 59]
    check(not wide, f"{path}: every status line fits 59 of 60 columns {wide[:1]}")
    check(any(s.endswith('...') for s in status), f"{path}: a long status line is cut with '...'")
    check('retrying' in raw, f"{path}: the flaky test's retry was logged (the tangle's trigger)")
    # Every log line starts on a cleared line: nothing of the status line
    # before "harness:" on its row.
    for m in re.finditer('harness:', raw):
        row = re.split(r'[\r\n]', raw[:m.start()])[-1]
        if row not in ('', '\x1b[K'):
            check(False, f"{path}: log line tangled with {row!r}")
            break
    else:
        check(True, f"{path}: every log line starts on a cleared row")
    results = [s for s in segs if re.match(r'(\x1b\[K)?(FAIL|FLAKY|SKIP)\s', sgr.sub('', s))]
    check(len(results) >= 3, f"{path}: result lines on their own rows ({len(results)})")
    if 'nocolour' in path:
        check(not sgr.search(raw), f"{path}: NO_COLOR: no colour sequence")
    else:
        check('\x1b[31mFAIL' in raw, f"{path}: FAIL in red on a terminal")
sys.exit(fail)
PY
[ $? -eq 0 ] || fail=1

# Plain mode: a file, as in CI.
rm -f state/tried
"$h" run -j 2 -o out-plain progress.yaml >plain.out 2>&1
check "plain run exits 1 (a test failed)" [ $? -eq 1 ]
check "plain mode: no escape sequence at all" sh -c "! grep -q \"\$(printf '\033')\" plain.out"
check "plain mode: the summary names the failure" grep -q '^  FAIL  progress/loud failure' plain.out
check "plain mode: the last stdout line is shown" grep -q '^        | out line 30$' plain.out
check "plain mode: 20 lines at most (line 11 is, line 10 is not)" \
        sh -c "grep -q '^        | out line 11\$' plain.out && ! grep -q '^        | out line 10\$' plain.out"
check "plain mode: stderr is shown, escaped" grep -qF '        | err with \x1b[31mcolour\x1b[0m and a bell \x07' plain.out
check "plain mode: passing tests show no output" sh -c "! grep -q 'slow two (last lines' plain.out"
if [ $fail -ne 0 ]; then sed -n '/tests:/,$p' plain.out; fi
finish

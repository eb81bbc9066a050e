#!/bin/sh
# Terminal controls from suite files and test output never reach the
# operator's terminal raw: check, list and run on a suite whose names and
# paths hold ESC, C1 (CSI, OSC, ST) and U+202E are refused with escaped,
# located errors; a test whose failing line holds ESC, a lone 0x9b byte,
# U+009B and U+202E is reported (progress line and summary) with all of them
# escaped. Usage: run-escapes.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"
h=$(readlink -f "$h")
cd "$work"

# raw FILE: whether FILE holds ESC, a lone 0x9b, U+009B or U+202E.
raw() { LC_ALL=C grep -qaP '\x1b|\x9b|\xe2\x80\xae' "$1"; }
# no_raw DESCRIPTION FILE: that it holds none; dumps its bytes otherwise.
no_raw() {
        if raw "$2"; then
                bad "$1: a raw terminal control reached the output"
                od -c "$2" | head -30
        else
                ok "$1"
        fi
}

# The attack step must itself be real: the suite file holds the bytes.
cat >names.yaml <<YAML
name: "ps\u009b2J\u009d0;TITLE\u009c"
rootfs: "nope\e[2J\e]0;TITLE\a"
tests:
  - name: "direct\u202e"
    run: "true"
    user: "u\e[32m"
    workdir: "/w\e[33m"
  - name: "ok"
    run: "true"
    artifacts: ["/a\e]52;c;eA==\a"]
YAML
printf 'name: unknown\nrootfs: %s\ntests:\n  - name: a\n    run: "true"\n    "k\\e]0;T\\a\\u202e": 1\n' \
        "$rootfs" >keys.yaml
for cmd in check list run; do
        "$h" $cmd names.yaml keys.yaml >$cmd.out 2>&1
        rc=$?
        check "$cmd refuses the suites (exit $rc)" [ "$rc" -eq 2 ]
        check "$cmd names the field and the character" \
                grep -q 'names.yaml:1:7: name must not contain U+009B' $cmd.out
        no_raw "$cmd on hostile names" $cmd.out
done
check "check names rootfs, user, workdir, artifacts" sh -c \
        "grep -q 'rootfs must not contain U+001B' check.out &&
         grep -q 'name must not contain U+202E' check.out &&
         grep -q 'user must not contain U+001B' check.out &&
         grep -q 'workdir must not contain U+001B' check.out &&
         grep -q 'artifacts must not contain U+001B' check.out"
check "an unknown key is quoted escaped" grep -q "unknown key 'k\\\\x1b]0;T\\\\x07\\\\u{202e}'" check.out

# Test output: the failing line is quoted in the progress line and in the
# summary.
cat >out.yaml <<YAML
name: out
rootfs: $rootfs
tests:
  - name: prints controls
    boot: false
    timeout: 60
    run: printf 'BAD \033[2J \233[2J \302\233[2J \342\200\256 end\n'
    expect: {stdout-not: ['BAD']}
YAML
"$h" run -j 1 -o o out.yaml >run-out.out 2>&1
rc=$?
check "the failing test fails the run (exit $rc)" [ "$rc" -eq 1 ]
check "the test's output holds the raw bytes" \
        sh -c "LC_ALL=C grep -qaP '\\x9b\\[2J' o/out/*/stdout* 2>/dev/null ||
               LC_ALL=C grep -rqaP '\\x9b\\[2J' o"
check "the failure line is quoted" grep -q 'BAD' run-out.out
check "a lone 0x9b is shown as \\x9b" grep -qF '\x9b[2J' run-out.out
check "U+009B is shown as \\u{009b}" grep -qF '\u{009b}[2J' run-out.out
check "U+202E is shown as \\u{202e}" grep -qF '\u{202e}' run-out.out
no_raw "run progress and summary of a failing test" run-out.out

# harness ps has nothing of ours to show: its table prints no raw control.
"$h" ps >ps.out 2>&1
no_raw "ps" ps.out

finish

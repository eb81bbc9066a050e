# Shared by the command-line tests: `expect CODE PATTERN CMD...` runs CMD,
# checks its exit status and that its output (stdout and stderr) matches the
# grep pattern, prints "ok: CMD" or a FAIL line with the output, and sets
# fail=1 on a mismatch. Source it; the caller initialises fail=0.
expect() {
        _expect_code=$1 _expect_pat=$2
        shift 2
        _expect_out=$("$@" 2>&1)
        _expect_rc=$?
        if [ "$_expect_rc" -ne "$_expect_code" ]; then
                echo "FAIL: '$*' exited $_expect_rc, expected $_expect_code"
                echo "$_expect_out"
                fail=1
                return
        fi
        if ! printf '%s\n' "$_expect_out" | grep -q -- "$_expect_pat"; then
                echo "FAIL: '$*' output lacks '$_expect_pat'"
                echo "$_expect_out"
                fail=1
                return
        fi
        echo "ok: $*"
}

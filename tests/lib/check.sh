# The bookkeeping of the end-to-end test scripts (sourced): `ok` and `bad`
# print one line per check; `finish` ends the script with status 1 if any
# check failed, repeating the failed ones last, where a log cut in the
# middle still shows them.
fail=0
failed=
ok() { echo "ok: $*"; }
bad() {
        echo "FAIL: $*"
        fail=1
        failed="$failed
FAIL: $*"
}
finish() {
        [ $fail -eq 0 ] || printf '\nfailed checks:%s\n' "$failed"
        exit $fail
}

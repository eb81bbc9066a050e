#!/bin/sh
# End-to-end checks of the command line: help, version, unknown commands and
# options, and the per-command --help. Usage: cli.sh PATH-TO-HARNESS
set -u
h=$1
fail=0

expect() { # expect CODE PATTERN CMD...
        code=$1 pat=$2
        shift 2
        out=$("$@" 2>&1)
        rc=$?
        if [ "$rc" -ne "$code" ]; then
                echo "FAIL: '$*' exited $rc, expected $code"; echo "$out"; fail=1; return
        fi
        if ! printf '%s\n' "$out" | grep -q -- "$pat"; then
                echo "FAIL: '$*' output lacks '$pat'"; echo "$out"; fail=1; return
        fi
        echo "ok: $*"
}

expect 0 'Usage: harness' "$h" --help
expect 0 '^harness [0-9]' "$h" --version
expect 2 "unknown command 'frobnicate'" "$h" frobnicate
expect 2 "harness --help" "$h" frobnicate
expect 2 "unknown option '--frob'" "$h" --frob
expect 2 'no command given' "$h"
for c in run check list shell rootfs merge; do
        expect 0 "Usage: harness $c" "$h" "$c" --help
done
exit $fail

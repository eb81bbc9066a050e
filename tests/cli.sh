#!/bin/sh
# End-to-end checks of the command line: help, version, unknown commands and
# options, and the per-command --help. Usage: cli.sh PATH-TO-HARNESS
set -u
h=$1
fail=0

. "$(dirname "$0")/lib/expect.sh"

expect 0 'Usage: harness' "$h" --help
expect 0 '^harness [0-9]' "$h" --version
expect 2 "unknown command 'frobnicate'" "$h" frobnicate
expect 2 "harness --help" "$h" frobnicate
expect 2 "unknown option '--frob'" "$h" --frob
expect 2 'no command given' "$h"
for c in run check list shell rootfs merge ps enter stop; do
        expect 0 "Usage: harness $c" "$h" "$c" --help
done
exit $fail

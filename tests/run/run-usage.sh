#!/bin/sh
# harness run's refusals, no container needed: usage errors exit 2 with a
# hint, an invalid suite prints FILE:LINE:COL for every error and runs
# nothing. Usage: run-usage.sh PATH-TO-HARNESS
set -u
h=$1
fail=0
work=$(mktemp -d "${TMPDIR:-/tmp}/th-run-usage.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

. "$(dirname "$0")/../lib/expect.sh"

printf 'name: ok\nrootfs: /nonexistent-tree\ntests:\n  - name: a\n    run: "true"\n' >ok.yaml
printf 'name: bad\nrootfs: /x\ntests:\n  - name: a\n    run: "true"\n    frobnicate: 1\n  - name: b\n    timeout: soon\n    run: "true"\n' >bad.yaml

expect 0 'Usage: harness run' "$h" run --help
expect 2 'no suite given' "$h" run
expect 2 "harness run --help" "$h" run
expect 2 "invalid --shard '3/2'" "$h" run --shard 3/2 ok.yaml
expect 2 "invalid --shard '0/2'" "$h" run --shard 0/2 ok.yaml
expect 2 "invalid --shard 'x'" "$h" run --shard x ok.yaml
expect 2 "shard auto: no CI_NODE_INDEX" env -u CI_NODE_INDEX -u CIRCLE_NODE_INDEX -u BUILDKITE_PARALLEL_JOB "$h" run --shard auto ok.yaml
expect 2 "shard auto: the CI's node index" env CI_NODE_INDEX=3 CI_NODE_TOTAL=2 "$h" run --shard auto ok.yaml
expect 2 "invalid -j '0'" "$h" run -j 0 ok.yaml
expect 2 "invalid --filter '('" "$h" run --filter '(' ok.yaml
expect 2 "invalid --timeout 'soon'" "$h" run --timeout soon ok.yaml
expect 2 "invalid --retries '99'" "$h" run --retries 99 ok.yaml
expect 2 "unknown or incomplete option '--frob'" "$h" run --frob ok.yaml
expect 2 '^bad.yaml:6:5: ' "$h" run -o out bad.yaml
expect 2 '^bad.yaml:8:' "$h" run -o out bad.yaml
expect 2 'nothing was run' "$h" run -o out ok.yaml bad.yaml
if [ -d out/ok ]; then echo "FAIL: a test ran although a suite was invalid"; fail=1; fi
expect 2 'nonexistent-tree' "$h" run -o out ok.yaml
# Nothing selected is not an error.
expect 0 'no test selected' "$h" run -o out --filter 'nomatch' ok.yaml
exit $fail

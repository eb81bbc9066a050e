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
expect 2 "shard auto: no HARNESS_SHARD_INDEX/TOTAL, CI_NODE_INDEX" env -u HARNESS_SHARD_INDEX -u CI_NODE_INDEX -u CIRCLE_NODE_INDEX -u BUILDKITE_PARALLEL_JOB "$h" run --shard auto ok.yaml
expect 2 "shard auto: the CI's node index" env CI_NODE_INDEX=3 CI_NODE_TOTAL=2 "$h" run --shard auto ok.yaml
expect 2 "invalid -j '0'" "$h" run -j 0 ok.yaml
expect 2 "invalid --filter '('" "$h" run --filter '(' ok.yaml
expect 2 "invalid --timeout 'soon'" "$h" run --timeout soon ok.yaml
expect 2 "invalid --retries '99'" "$h" run --retries 99 ok.yaml
expect 2 "unknown option '--frob'" "$h" run --frob ok.yaml
expect 2 "option '--filter' needs an argument" "$h" run ok.yaml --filter
expect 2 "option '-j' needs an argument" "$h" run ok.yaml -j
expect 2 "durations 'x.xml': No such file" "$h" run --durations x.xml ok.yaml
expect 2 "durations 'ok.yaml': neither JUnit XML nor CTRF JSON" "$h" run --shard 1/2 --durations ok.yaml ok.yaml
expect 2 "durations 'nofile.xml': No such file" "$h" run --shard 1/2 --durations nofile.xml ok.yaml
expect 2 '^bad.yaml:6:5: ' "$h" run -o out bad.yaml
expect 2 '^bad.yaml:8:' "$h" run -o out bad.yaml
expect 2 'nothing was run' "$h" run -o out ok.yaml bad.yaml
if [ -d out/ok ]; then echo "FAIL: a test ran although a suite was invalid"; fail=1; fi
expect 2 'nonexistent-tree' "$h" run -o out ok.yaml
# A suite cannot lower the isolation on its own: private-users: false needs
# the operator's --allow-privileged (the error points at the key, in
# defaults and in a test); `rootfs: /` is refused even with it. No container
# is needed: the refusals come before anything runs (the tree does not
# exist, so with the flag the run stops at the tree instead).
printf 'name: pu\nrootfs: /nonexistent-tree\ndefaults:\n  private-users: false\ntests:\n  - name: a\n    run: "true"\n  - name: b\n    private-users: false\n    run: "true"\n  - name: c\n    private-users: true\n    run: "true"\n' >pu.yaml
printf 'name: hostroot\nrootfs: /\ntests:\n  - name: a\n    run: "true"\n' >root.yaml
ln -s / rootlink
printf 'name: hostroot2\nrootfs: rootlink\ntests:\n  - name: a\n    run: "true"\n' >rootlink.yaml
printf 'name: caps\nrootfs: /nonexistent-tree\ndefaults:\n  capabilities: [SYS_MODULE]\ntests:\n  - name: a\n    run: "true"\n' >caps.yaml
expect 0 'allow-privileged' "$h" run --help
expect 2 "^pu.yaml:4:3: 'private-users: false'.*--allow-privileged" "$h" run -o out pu.yaml
expect 2 "^pu.yaml:9:5: 'private-users: false'.*container root can become host root" "$h" run -o out pu.yaml
expect 2 'suite refused, nothing was run' "$h" run -o out ok.yaml pu.yaml
if [ -d out/ok ]; then echo "FAIL: a test ran although a suite was refused"; fail=1; fi
"$h" run -o out pu.yaml 2>&1 | grep -q '^pu.yaml:1[0-9]:' &&
        { echo "FAIL: private-users: true was refused"; fail=1; } || echo "ok: private-users: true is not refused"
expect 2 'nonexistent-tree' "$h" run --allow-privileged -o out pu.yaml
expect 2 'warning: suite .pu. (pu.yaml:4): private-users: false, allowed by --allow-privileged' \
        "$h" run --allow-privileged -o out pu.yaml
# check looks at the tree too: the same suite on a tree that is there.
mkdir -p shtree/bin && cp /bin/sh shtree/bin/sh
sed 's|/nonexistent-tree|./shtree|; s|^defaults:|defaults:\n  boot: false|' pu.yaml >pucheck.yaml
expect 0 "^pucheck.yaml:5:3: note: 'private-users: false' needs 'harness run --allow-privileged'" \
        "$h" check pucheck.yaml
expect 0 'pucheck.yaml: ok, 3 tests' "$h" check pucheck.yaml
expect 2 "^pu.yaml:2:1: rootfs '/nonexistent-tree': No such file" "$h" check pu.yaml
expect 2 "^root.yaml:2:1: rootfs '/' is the host's root directory" "$h" run -o out root.yaml
expect 2 'even with --allow-privileged' "$h" run --allow-privileged -o out root.yaml
expect 2 "^rootlink.yaml:2:1: rootfs '.*rootlink' is the host's root directory" \
        "$h" run --allow-privileged -o out rootlink.yaml
expect 2 "^root.yaml:2:1: rootfs '/' is the host's root directory" "$h" check root.yaml
# There is no suite key for extra capabilities: the key itself is refused.
expect 2 "^caps.yaml:4:3: unknown key 'capabilities'" "$h" run --allow-privileged -o out caps.yaml
# Selecting nothing is an error (as pytest's "no tests collected"), unless
# --allow-empty; an empty shard is not (more shards than tests).
expect 2 'error: no test selected (--allow-empty' "$h" run -o out --filter 'nomatch' ok.yaml
expect 2 'error: no test selected' "$h" run -o out --tag nosuchtag ok.yaml
expect 0 'no test selected' "$h" run -o out --allow-empty --filter 'nomatch' ok.yaml
printf 'name: two\nrootfs: /nonexistent-tree\ntests:\n  - name: a\n    run: "true"\n  - name: b\n    run: "true"\n' >two.yaml
expect 0 'no test selected in this shard' "$h" run -o out --shard 3/3 two.yaml
# Repeated --filter: any of them (here both tests, so the run goes on to the
# missing tree rather than stopping at "no test selected").
expect 2 'nonexistent-tree' "$h" run -o out --filter '/a$' --filter '/nomatch' two.yaml
expect 0 'two/a' "$h" list --filter '/a$' --filter '/b$' two.yaml
expect 0 'two/b' "$h" list --filter '/a$' --filter '/b$' two.yaml
expect 0 'two/b' "$h" list --shard 2/2 two.yaml
expect 0 'two/a' env HARNESS_SHARD_INDEX=1 HARNESS_SHARD_TOTAL=2 "$h" list --shard auto two.yaml
expect 2 "shard auto: no HARNESS_SHARD_INDEX" env -u HARNESS_SHARD_INDEX -u CI_NODE_INDEX -u CIRCLE_NODE_INDEX -u BUILDKITE_PARALLEL_JOB "$h" list --shard auto two.yaml
# Not root: one message up front, exit 3, before any tree is looked at.
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
        chmod 755 "$work"
        expect 3 'harness run needs root' setpriv --reuid=65534 --regid=65534 --clear-groups "$h" run -o "$work/out-user" "$work/two.yaml"
        n=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$h" run -o "$work/out-user" "$work/two.yaml" 2>&1 | grep -c .)
        if [ "$n" -eq 1 ]; then echo "ok: one line as non-root"; else echo "FAIL: $n lines as non-root"; fail=1; fi
        if [ -e "$work/out-user" ]; then echo "FAIL: non-root run created its output folder"; fail=1; fi
fi
exit $fail

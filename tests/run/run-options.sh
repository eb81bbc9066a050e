#!/bin/sh
# harness run's options and remaining outcome classes on real containers:
# --filter, --tag, --timeout and --retries overrides (rerunFailure), --fail-fast,
# --keep-failed, --output-cap, artifacts (files copied and attached, symlinks
# never followed), a failing setup, an OOM kill, and an infrastructure error
# (exit 3). Usage: run-options.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

cat >"$work/opts.yaml" <<YAML
name: opts
rootfs: $rootfs
defaults: {boot: false, timeout: 60}
tests:
  - name: quick
    run: "true"
    tags: [fast]
  - name: sleeper
    run: sleep 20
    tags: [slow]
  - name: always fails
    run: echo "try output"; exit 2
    tags: [fast]
  - name: writes and fails
    run: echo changed > /etc/changed-by-test; exit 1
  - name: artifacts
    run: |
      mkdir -p /out; echo data > /out/a.txt
      ln -s /etc/hostname /out/link; ln -s ../../../../../../../etc/shadow /out/escape
    artifacts: [/out/a.txt, /out/link, /out/escape, /out/missing]
  - name: setup fails
    setup: exit 7
    run: "true"
  - name: oom
    run: x=\$(head -c 300000000 /dev/zero | tr '\0' x); echo \${#x}
    limits: {memory: 64M}
  - name: big output
    run: head -c 1000000 /dev/zero | tr '\0' y; exit 1
YAML
cd "$work"

"$h" run -o o1 --junit f.xml --filter '^opts/(quick|sleeper)$' --timeout 3s opts.yaml >/dev/null 2>&1
check "--timeout 3s overrides: exit 1" [ $? -eq 1 ]
check "--filter selects 2 tests" [ "$(xpath f.xml 'count(//testcase)')" = 2 ]
expect_case f.xml quick pass
expect_case f.xml sleeper failure timeout
check "the message names the overriding timeout" [ "$(xpath f.xml "string(//testcase[@name='sleeper']/failure/@message)")" = "timed out after 3s; the container was killed" ]

"$h" run -o o2 --junit t.xml --tag fast --retries 1 opts.yaml >/dev/null 2>&1
check "--tag fast: exit 1" [ $? -eq 1 ]
check "--tag selects 2 tests" [ "$(xpath t.xml 'count(//testcase)')" = 2 ]
expect_case t.xml "always fails" failure exit-status
check "--retries 1: one rerunFailure" [ "$(case_child t.xml 'always fails' rerunFailure)" = 1 ]
check "--retries 1: no flakyFailure" [ "$(case_child t.xml 'always fails' flakyFailure)" = 0 ]
check "the first try's log is kept" sh -c 'grep -qx "try output" o2/opts/always_fails*/try-1/stdout'

"$h" run -j 1 -o o3 --junit ff.xml --fail-fast --filter 'always|quick|artifacts' opts.yaml >ff.log 2>&1
check "--fail-fast: exit 1" [ $? -eq 1 ]
expect_case ff.xml "always fails" failure exit-status
expect_case ff.xml "artifacts" skipped
check "--fail-fast skip reason" grep -q "fail-fast" ff.log
check "--fail-fast: 'artifacts' never ran" [ ! -e o3/opts/artifacts/stdout ]

"$h" run -o o4 --junit k.xml --keep-failed --filter 'writes|quick' opts.yaml >/dev/null 2>&1
check "--keep-failed keeps the failed test's changes" sh -c 'find o4/opts/writes_and_fails*/upper -name changed-by-test | grep -q .'
check "--keep-failed keeps nothing of a pass" [ ! -e o4/opts/quick/upper ]

"$h" run -o o5 --junit a.xml --filter 'artifacts' opts.yaml >/dev/null 2>&1
check "artifacts run passes" [ $? -eq 0 ]
check "artifact copied" sh -c 'grep -qx data o5/opts/artifacts/artifacts/out/a.txt'
check "artifact attached in the JUnit" grep -q "ATTACHMENT|$work/o5/opts/artifacts/artifacts/out/a.txt" a.xml
check "a symlink artifact is not followed to the host" sh -c '! grep -rq "root:" o5/opts/artifacts/artifacts/ 2>/dev/null'
check "a symlink artifact is never attached" sh -c '! grep -q "out/escape\|out/link" a.xml'

"$h" run -o o6 --junit s.xml --filter 'setup|oom' opts.yaml >/dev/null 2>&1
check "setup failure and OOM: exit 1" [ $? -eq 1 ]
expect_case s.xml "setup fails" failure setup
expect_case s.xml "oom" failure oom

cat >bad.yaml <<YAML
name: infra
rootfs: $rootfs
defaults: {boot: false}
tests:
  - name: bad target
    run: "true"
    fixtures: ["infra-data:/etc/passwd/sub"]
  - name: bad user
    run: "true"
    user: no-such-user
  - name: fine
    run: "true"
YAML
mkdir -p infra-data
"$h" run -o o7 --junit e.xml bad.yaml >e.log 2>&1
rc=$?
# A bind target under a file fails the container's setup, before anything
# of the test runs: an infrastructure error. A user the tree does not know
# is the test's own failure, found by the init that runs its command (after
# setup, when the worker no longer takes error reports from the container).
check "a container that cannot be set up: exit 3 (got $rc)" [ "$rc" -eq 3 ]
expect_case e.xml "bad target" error infrastructure
expect_case e.xml "bad user" failure exit-status
check "the unknown user is named on the test's stderr" \
        grep -q "no-such-user" o7/infra/bad_user*/stderr
expect_case e.xml "fine" pass

"$h" run -o o8 --junit cap-default.xml --filter 'big output' opts.yaml >/dev/null 2>&1
"$h" run -o o9 --junit cap-1k.xml --output-cap 1K --filter 'big output' opts.yaml >/dev/null 2>&1
d=$(stat -c %s cap-default.xml) k=$(stat -c %s cap-1k.xml)
check "--output-cap 1K shrinks the XML ($d -> $k bytes)" [ "$k" -lt 8000 -a "$d" -gt 60000 ]
check "the full output stays on disk" [ "$(stat -c %s o9/opts/big_output*/stdout)" -eq 1000000 ]
finish

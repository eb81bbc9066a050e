#!/bin/sh
# harness run end to end on a suite mixing every outcome: pass, failing exit,
# expected non-zero exit, stdout/stderr regex hits and misses, timeout, skip,
# env/workdir/user, ro and rw fixtures, a flaky test passing on retry, hostile
# output (control characters, invalid UTF-8, "]]>") and 50 MB of output, plus
# two tests in boot mode. Checks exit 1, every outcome in the JUnit, that the
# JUnit passes xmllint and stays small, that TAP and JSON parse, and the
# per-test folders. Usage: run-mixed.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/fixtures/ro" "$work/fixtures/state"
echo "hello from the host" >"$work/fixtures/ro/hello.txt"
cat >"$work/mixed.yaml" <<YAML
name: mixed
rootfs: $rootfs
defaults:
  boot: false
  timeout: 60
  fixtures:
    - fixtures/ro:/srv/ro
    - {source: fixtures/state, target: /state, writable: true}
tests:
  - name: passes
    run: echo fine
  - name: fails with exit 3
    run: exit 3
  - name: expects exit 3
    run: exit 3
    expect: {exit: 3}
  - name: stdout matches
    run: printf 'one\nSetting up hello (1.0)\nthree\n'
    expect: {stdout: ["^Setting up hello", "^three\$"]}
  - name: stdout misses
    run: echo nothing useful
    expect: {stdout: ["^Setting up"]}
  - name: stdout forbidden
    run: |
      printf 'ok\nwarning: disk is on fire\n'
    expect: {stdout-not: ["warning"]}
  - name: stderr matches
    run: |
      echo "E: broken" >&2
    expect: {stderr: ["^E: broken\$"]}
  - name: stderr misses
    run: echo only stdout
    expect: {stderr: ["^never\$"]}
  - name: stderr forbidden
    run: |
      echo "E: broken" >&2
    expect: {stderr-not: ["^E:"]}
  - name: times out
    run: sleep 300
    timeout: 2s
  - name: skipped
    run: exit 1
    skip: waiting for upstream
  - name: env workdir user
    run: |
      test "\$GREETING" = "hello world" && test "\$(pwd)" = /tmp && test "\$(id -un)" = nobody
    env: {GREETING: hello world}
    workdir: /tmp
    user: nobody
  - name: ro fixture readable not writable
    run: |
      grep -q "hello from the host" /srv/ro/hello.txt || exit 10
      if touch /srv/ro/new 2>/dev/null; then exit 11; fi
  - name: rw fixture writable
    run: echo written > /state/from-container
  - name: flaky passes on retry
    run: |
      n=\$(cat /state/count 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n > /state/count
      echo "try \$n"; [ \$n -ge 2 ]
    retries: 2
  - name: hostile output
    run: |
      printf 'ctl:\001\002\033[31mred\033[0m\013\014 bad:\377\376 cdata:]]> ok:\303\251 \360\237\230\200\n'
      printf 'err:\001]]>\377\n' >&2
      exit 1
  - name: fifty megabytes
    run: head -c 50000000 /dev/zero | tr '\0' x; echo; echo LAST LINE
    expect: {stdout: ["^LAST LINE\$"]}
  - name: boot passes
    boot: true
    run: test -d /run/systemd/system && echo booted
    expect: {stdout: ["^booted\$"]}
  - name: boot fails
    boot: true
    run: exit 4
YAML

cd "$work"
start=$(date +%s)
"$h" run -j 2 -o out --junit junit.xml --tap report.tap --json report.json mixed.yaml \
        >run.log 2>&1
rc=$?
end=$(date +%s)
cat run.log | tail -40
echo "run took $((end - start))s"

check "exit status 1 (got $rc)" [ "$rc" -eq 1 ]
check "JUnit passes xmllint" xmllint --noout junit.xml
size=$(stat -c %s junit.xml)
check "JUnit is under 4 MB ($size bytes)" [ "$size" -lt 4000000 ]
check "TAP parses" tap_parses report.tap
check "JSON parses" json_parses report.json

expect_case junit.xml "passes" pass
expect_case junit.xml "fails with exit 3" failure exit-status
check "exit status message" [ "$(xpath junit.xml "string(//testcase[@name='fails with exit 3']/failure/@message)")" = "exit status 3, expected 0" ]
expect_case junit.xml "expects exit 3" pass
expect_case junit.xml "stdout matches" pass
expect_case junit.xml "stdout misses" failure expectation
expect_case junit.xml "stdout forbidden" failure expectation
check "forbidden names pattern and line" sh -c "xmllint --xpath 'string(//testcase[@name=\"stdout forbidden\"]/failure/@message)' junit.xml | grep -q \"'warning' at line 2: warning: disk is on fire\""
expect_case junit.xml "stderr matches" pass
expect_case junit.xml "stderr forbidden" failure expectation
expect_case junit.xml "stderr misses" failure expectation
check "miss message names the stream and pattern" [ "$(xpath junit.xml "string(//testcase[@name='stderr misses']/failure/@message)")" = "stderr did not match '^never\$'" ]
expect_case junit.xml "times out" failure timeout
expect_case junit.xml "skipped" skipped
check "skip reason" [ "$(xpath junit.xml "string(//testcase[@name='skipped']/skipped/@message)")" = "waiting for upstream" ]
check "skipped test never ran" [ ! -e out/mixed/skipped/stdout ]
expect_case junit.xml "env workdir user" pass
expect_case junit.xml "ro fixture readable not writable" pass
expect_case junit.xml "rw fixture writable" pass
check "rw fixture write reached the host" grep -qx written fixtures/state/from-container
check "ro fixture untouched" [ ! -e fixtures/ro/new ]
expect_case junit.xml "flaky passes on retry" pass
check "flaky: one flakyFailure" [ "$(case_child junit.xml 'flaky passes on retry' flakyFailure)" = 1 ]
check "flaky: the failed first try is kept" sh -c 'grep -qx "try 1" out/mixed/flaky*/try-1/stdout'
check "flaky: the passing try is the test's log" sh -c 'grep -qx "try 2" out/mixed/flaky*/stdout'
expect_case junit.xml "hostile output" failure exit-status
check "valid UTF-8 kept in the XML" grep -q "ok:é 😀" junit.xml
expect_case junit.xml "fifty megabytes" pass
check "full 50 MB log kept on disk" [ "$(stat -c %s out/mixed/fifty_megabytes*/stdout)" -gt 50000000 ]
expect_case junit.xml "boot passes" pass
expect_case junit.xml "boot fails" failure exit-status

for t in passes "fails with exit 3"; do
        d=out/mixed/$(echo "$t" | tr ' ' _)
        [ -d "$d" ] || d=$(ls -d out/mixed/"$(echo "$t" | tr ' ' _)"* | head -1)
        check "'$t' has stdout, stderr and result" [ -f "$d/stdout" -a -f "$d/stderr" -a -f "$d/result" ]
done
check "tests count" [ "$(xpath junit.xml 'string(/testsuites/testsuite/@tests)')" = 19 ]
check "summary lists failures with their logs" grep -q "logs: $work/out/mixed/" run.log
finish

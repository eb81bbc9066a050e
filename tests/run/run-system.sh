#!/bin/sh
# Expectations about the booted system: journal patterns with a priority
# floor, unit states, crashes. A unit that fails, a logged error and a
# segfault each fail their test with a message naming the unit, the journal
# line and the program; the same expectations hold on a clean test; the
# JSON journal and the unit states are saved. Usage: run-system.sh HARNESS
. "$(dirname "$0")/lib.sh"

cat >"$work/system.yaml" <<Y
name: system
rootfs: $rootfs
defaults: {timeout: 60}
tests:
  - name: clean
    run: |
      logger -p user.info "all is well"
      logger -p user.debug "fire drill (debug)"
    expect:
      journal: {priority: info, match: ["all is well"], not: ["fire"]}
      units: {failed: none, systemd-journald.service: active, systemd-journald.socket: running}
      crashes: none
  - name: unit fails
    run: |
      systemd-run --unit=broken.service /bin/sh -c 'echo broken on purpose; exit 3'
      sleep 1
    expect:
      units: {failed: none}
  - name: unit state
    run: "true"
    expect:
      units: {systemd-journald.service: inactive, no-such.service: active}
  - name: logs an error
    run: logger -p user.err "disk on fire"
    expect:
      journal-not: ["on fire"]
  - name: error below the floor
    run: logger -p user.warning "disk warm"
    expect:
      journal: {priority: err, not: ["warm"]}
  - name: missing line
    run: "true"
    expect:
      journal: ["never logged"]
  - name: segfaults
    run: |
      systemd-run --unit=crasher.service /bin/sh -c 'echo about to crash; kill -SEGV \$\$\$\$'
      sleep 1
    expect:
      crashes: none
  - name: segfaults directly
    boot: false
    run: sh -c 'kill -SEGV \$\$'
    expect:
      exit: 139
      crashes: none
Y
cd "$work"
"$h" run -j 2 -o out --junit all.xml system.yaml >run.log 2>&1
rc=$?
cat run.log
check "the run fails (exit 1)" [ $rc -eq 1 ]
expect_case all.xml clean pass
expect_case all.xml "error below the floor" pass
msg() { xpath all.xml "string(//testcase[@name='$1']/failure/@message)"; }
has() { # has TEST TEXT
        case "$(msg "$1")" in *"$2"*) ok "'$1': $2" ;; *) bad "'$1': no '$2' in: $(msg "$1")" ;; esac
}
has "unit fails" "units: failed: none, but broken.service failed"
# The line itself, with its identifier when the journal has one (under load
# it was seen without: "journal: broken on purpose").
case "$(msg "unit fails")" in
*"journal: sh: broken on purpose"* | *"journal: broken on purpose"*) ok "'unit fails': its journal line" ;;
*) bad "'unit fails': no journal line 'broken on purpose' in: $(msg "unit fails")" ;;
esac
has "unit fails" "systemd: broken.service: Failed with result 'exit-code'"
has "unit state" "units: systemd-journald.service is active (running), expected inactive"
xpath all.xml "string(//testcase[@name='unit state']/failure)" |
        grep -q "no-such.service is not loaded (no such unit), expected active" &&
        ok "a unit that is not there is named" || bad "no-such.service not reported"
# The unit is "-" when logger ended before journald read its cgroup.
has "logs an error" "journal-not 'on fire' matched, unit "
has "logs an error" ", priority 3: "
has "logs an error" ": disk on fire"
has "missing line" "journal did not match 'never logged'"
has "segfaults" "crashes: none, but sh (unit crasher.service) was killed by SIGSEGV"
has "segfaults" "Main process exited, code="
has "segfaults directly" "was killed by SIGSEGV (core-dumping signal 11)"
for t in clean unit_fails; do
        check "$t: journal.json has priorities" grep -q '"PRIORITY":"6"' out/system/$t*/journal.json
        check "$t: units saved" grep -q '^systemd-journald.service ' out/system/$t*/units
        check "$t: services saved" grep -q '^Id=systemd-journald.service$' out/system/$t*/services
done
# Checked before anything runs: no journal without boot.
cat >"$work/direct.yaml" <<Y
rootfs: $rootfs
tests:
  - name: t
    boot: false
    run: "true"
    expect: {units: {failed: none}}
Y
"$h" check direct.yaml >check.log 2>&1
rc=$?
cat check.log
check "journal/units in direct mode are refused" \
        sh -c "[ $rc -eq 2 ] && grep -q 'direct.yaml:3:5: .*only a booted test has' check.log"
finish

#!/bin/sh
# The run's memory does not grow with its suites: 100,000 skipped tests in
# ten suite files (each test planned, spooled and reported like a run one)
# stay far under what holding every test parsed took (~65 MB); and a test
# loaded again from its file after the file changed is an error, never
# another test's spec. Usage: run-memory.sh HARNESS
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip "needs python3"
cd "$work"
for k in 0 1 2 3 4 5 6 7 8 9; do
        {
                printf 'name: many-%s\nrootfs: %s\ndefaults: {boot: false, run: "true"}\ntests:\n' \
                        "$k" "$rootfs"
                seq -f "  - {name: t%05g, skip: not run}" $((k * 10000)) $((k * 10000 + 9999))
        } >"many-$k.yaml"
done
check "ten files of 10,000 tests" [ "$(cat many-*.yaml | grep -c '^  - {name: t')" = 100000 ]
# The largest resident size of the run (KiB), from the kernel's rusage.
rss=$(python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
        "$h" -q run -j 2 -o out --junit all.xml --json all.json many-*.yaml)
check "the run of 100,000 skipped tests passes ($rss)" [ "${rss% *}" = 0 ]
check "every test is in the report" [ "$(xpath all.xml 'count(//testcase/skipped)')" = 100000 ]
check "the last test is the last of the last file" \
        [ "$(xpath all.xml 'string((//testcase)[last()]/@name)')" = t99999 ]
# Before, every test's spec (and each file's YAML tree while it loaded) was
# held: ~65 MB. Holding them all again would be far over this bound.
# A sanitizer build keeps shadow memory and quarantine: its RSS says nothing
# about what the harness holds.
if [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] || ldd "$h" 2>/dev/null | grep -q 'lib[at]san'; then
        echo "ok: peak RSS ${rss#* } KiB not judged (a sanitizer build)"
else
        check "peak RSS ${rss#* } KiB stays under 32 MiB" [ "${rss#* }" -lt 32768 ]
fi

# A suite file changed after it was checked: the tests loaded from it
# afterwards are errors. Test 0 appends to the file; test 299 is in a later
# window (loaded when it starts, -j 1: after test 0).
{
        printf 'name: changes\nrootfs: %s\ndefaults: {boot: false, timeout: 60}\ntests:\n' "$rootfs"
        printf '  - {name: t000, run: "true"}\n'
        seq -f '  - {name: t%03g, run: "true"}' 1 299
} >changes.yaml
# The suite in a folder of its own: the results stay out of the writable fixture.
mkdir -p suite && mv changes.yaml suite/
sed -i 's|^  - {name: t000, run: "true"}$|  - name: t000\n    fixtures: [{source: ., target: /suite, writable: true}]\n    run: echo "# changed" >>/suite/changes.yaml|' suite/changes.yaml
"$h" -q run -j 1 -o out2 --junit changed.xml --filter 'changes/t(000|299)$' suite/changes.yaml \
        >changed.log 2>&1
rc=$?
check "the file was changed by the first test" grep -q '^# changed' suite/changes.yaml
expect_case changed.xml t000 pass
expect_case changed.xml t299 error
check "its message says the file changed" \
        grep -q "changed since it was checked" changed.xml
check "the run says so in its status ($rc)" [ "$rc" -ne 0 ]
check "no warning about a folder the runner did not make" sh -c '! grep -q "ignoring" changed.log'
finish

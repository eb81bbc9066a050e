#!/bin/sh
# The reports of a real run of two suites with passes, failures, a flaky test
# (passes on its second try), a test failing every try, skips and slow tests
# (tests/run/reports/), checked by what their consumers check:
# - JUnit times add up: each testsuite's time is the sum of its testcases',
#   and testsuites' time the run's wall time, not the sum of the suites';
# - --junit-flavor jenkins passes Jenkins xUnit's junit-10.xsd and
#   --junit-flavor surefire Maven Surefire's XSD (xmllint --schema), the
#   default passes xmllint and keeps file/line for GitLab;
# - the JSON passes ctrf-io's JSON schema (python3-jsonschema);
# - --tap-version, --attachments-relative-to and --output-cap reach the files;
# - the run split in 3 shards (--shard I/3), merged by `harness merge` in each
#   format (JUnit, TAP, JSON), has the unsharded run's tests and outcomes,
#   and merged with --junit-flavor jenkins or surefire passes that XSD.
# Usage: run-reports.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
schemas=$(cd "$here/../../reports/tests/schemas" && pwd)
# Debian's "$py" (python3-jsonschema is installed for it), not another on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -c 'import jsonschema' 2>/dev/null || skip "needs python3-jsonschema"

# run_suites DIR ARGS...: the fixture suites in DIR with a fresh state/
# (the flaky test counts its tries there), run from DIR.
run_suites() {
        d=$1
        shift
        mkdir -p "$work/$d/state"
        for s in ci-a ci-b; do
                sed "s|@ROOTFS@|$rootfs|" "$here/reports/$s.yaml" >"$work/$d/$s.yaml"
        done
        (cd "$work/$d" && "$h" -q run -j 2 -o out "$@" ci-a.yaml ci-b.yaml >run.log 2>&1)
}

now() { date +%s.%N; }

# same_set A B: two non-empty lists of tests and outcomes are equal.
same_set() { [ -s "$1" ] && cmp "$1" "$2"; }

# junit_times FILE [WALL]: every testsuite's time is the sum of its
# testcases' (to the millisecond each); testsuites' time is at most WALL.
junit_times() {
        "$py" - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
bad = 0
for s in suites:
    cases = s.findall('testcase')
    total = sum(float(c.get('time')) for c in cases)
    if abs(float(s.get('time')) - total) > 0.0005 * len(cases) + 1e-9:
        print('suite %s: time %s, its %d cases add up to %.3f'
              % (s.get('name'), s.get('time'), len(cases), total)); bad = 1
if len(sys.argv) > 2 and root.tag == 'testsuites':
    t, wall = float(root.get('time')), float(sys.argv[2])
    longest = max(float(c.get('time')) for c in root.iter('testcase'))
    if not (longest <= t <= wall):
        print('testsuites time %.3f: not between the longest test (%.3f) and the '
              'wall time (%.3f)' % (t, longest, wall)); bad = 1
sys.exit(bad)
PY
}

ctrf_valid() {
        "$py" - "$schemas/ctrf.schema.json" "$1" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2], encoding='utf-8'))
errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
for e in errors:
    print('%s: %s' % ('/'.join(map(str, e.absolute_path)), e.message))
sys.exit(1 if errors else 0)
PY
}

xsd_valid() { xmllint --noout --schema "$schemas/$1" "$2"; }

# The tests and their outcomes, in a form to compare across formats' merges.
junit_set() {
        "$py" - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for c in sorted(root.iter('testcase'), key=lambda c: (c.get('classname'), c.get('name'))):
    kids = sorted(set(k.tag for k in c) - {'system-out', 'system-err', 'properties'})
    print(c.get('classname'), '|', c.get('name'), '|', ' '.join(kids))
PY
}
tap_set() {
        perl -MTAP::Parser -e '
                my $p = TAP::Parser->new({ source => $ARGV[0] }); my @l;
                while (my $r = $p->next) {
                        push @l, join("|", $r->is_ok ? "ok" : "not ok", $r->description,
                                      $r->directive) if $r->is_test;
                }
                exit 1 if $p->parse_errors || $p->tests_run != $p->tests_planned;
                print "$_\n" for sort @l;' "$1"
}
json_set() {
        "$py" - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1], encoding='utf-8'))['results']
for t in sorted(r['tests'], key=lambda t: (t['suite'], t['name'])):
    print(t['suite'][0], '|', t['name'], '|', t['status'], t.get('flaky'), t.get('retries'),
          len(t.get('retryAttempts', [])))
s = r['summary']
print('summary', s['tests'], s['passed'], s['failed'], s['skipped'], s['flaky'])
PY
}

# ---- the report options' usage errors (exit 2, nothing run) ------------
for bad in "--junit-flavor ant" "--tap-version 12" "--tap-version 15" \
        "--attachments-relative-to $work/missing"; do
        # shellcheck disable=SC2086
        "$h" run $bad --junit x.xml nothing.yaml >usage.log 2>&1
        rc=$?
        check "run $bad: exit 2 ($rc) naming the option" \
                sh -c "[ $rc -eq 2 ] && grep -q -- '${bad%% *}' usage.log"
done
"$h" run --help >help.log 2>&1
check "run --help says the TAP version line is 13 by default" \
        sh -c 'grep -q -- "--tap-version 13|14" help.log && grep -q "default 13" help.log && ! grep -q "TAP 14 report" help.log'

# ---- the whole run, default flavor ---------------------------------------
t0=$(now)
run_suites all --junit all.xml --tap all.tap --json all.json
rc=$?
t1=$(now)
wall=$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")
tail -25 "$work/all/run.log"
cd "$work/all"
check "exit status 1 (got $rc)" [ "$rc" -eq 1 ]
check "JUnit passes xmllint" xmllint --noout all.xml
check "13 testcases" [ "$(xpath all.xml 'count(//testcase)')" = 13 ]
check "flaky has one flakyFailure and no failure" \
        [ "$(case_child all.xml flaky flakyFailure)$(case_child all.xml flaky failure)" = 10 ]
check "'fails every try': failure + rerunFailure" \
        [ "$(case_child all.xml 'fails every try' failure)$(case_child all.xml 'fails every try' rerunFailure)" = 11 ]
check "default flavor keeps file and line (GitLab)" \
        [ -n "$(xpath all.xml "string(//testcase[@name='passes']/@line)")" ]
check "each suite's time is its cases', testsuites' is the wall time (<= $wall s)" \
        junit_times all.xml "$wall"
check "two suites, each shorter than the whole" "$py" -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse("all.xml").getroot(); s = r.findall("testsuite")
sys.exit(not (len(s) == 2 and sum(float(x.get("time")) for x in s) > 0 and
              all(float(x.get("time")) < float(r.get("time")) + 4 for x in s)))'
check "JSON passes ctrf-io's schema" ctrf_valid all.json
check "JSON: flaky has one retryAttempts entry" "$py" -c '
import json, sys
t = [t for t in json.load(open("all.json"))["results"]["tests"] if t["name"] == "flaky"][0]
sys.exit(not (t["flaky"] and t["retries"] == 1 and len(t["retryAttempts"]) == 1))'
check "JSON summary: the run's start and stop" "$py" -c '
import json, sys, xml.etree.ElementTree as ET
s = json.load(open("all.json"))["results"]["summary"]
t = float(ET.parse("all.xml").getroot().get("time"))
sys.exit(abs((s["stop"] - s["start"]) / 1000 - t) > 0.01)'
check "TAP is version 13 by default" [ "$(head -1 all.tap)" = "TAP version 13" ]
check "TAP parses" tap_parses all.tap
cd "$work"

# ---- the same run as Jenkins' xUnit and Maven Surefire read it -----------
run_suites jenkins --junit-flavor jenkins --junit jenkins.xml --tap v14.tap --tap-version 14 \
        --json rel.json --attachments-relative-to "$work/jenkins"
check "jenkins run exits 1 (got $?)" [ $? -eq 1 ]
check "--junit-flavor jenkins passes junit-10.xsd" xsd_valid junit-10.xsd jenkins/jenkins.xml
check "jenkins flavor: times add up" junit_times jenkins/jenkins.xml
xmllint --noout --schema "$schemas/junit-10.xsd" all/all.xml >/dev/null 2>&1
check "junit-10.xsd rejects the default flavor (file/line: why flavors exist)" [ $? -ne 0 ]
check "--tap-version 14 writes the 14 line" [ "$(head -1 jenkins/v14.tap)" = "TAP version 14" ]
check "--attachments-relative-to: JUnit names out/... relative" \
        sh -c 'grep -q "\[\[ATTACHMENT|out/ci-a/" jenkins/jenkins.xml && ! grep -q "\[\[ATTACHMENT|/" jenkins/jenkins.xml'
check "--attachments-relative-to: JSON paths relative" \
        sh -c 'grep -q "\"path\":\"out/ci-a/" jenkins/rel.json && ! grep -q "\"path\":\"/" jenkins/rel.json'

run_suites surefire --junit-flavor surefire --junit surefire.xml --output-cap 1K
check "surefire run exits 1 (got $?)" [ $? -eq 1 ]
check "--junit-flavor surefire passes surefire-test-report.xsd" \
        xsd_valid surefire-test-report.xsd surefire/surefire.xml
check "surefire flavor: times add up" junit_times surefire/surefire.xml
junit_set all/all.xml >all.set
junit_set surefire/surefire.xml >surefire.set
check "surefire flavor: the same tests and outcomes as the default" same_set all.set surefire.set
junit_set jenkins/jenkins.xml >jenkins.set
check "jenkins flavor: the same tests and outcomes as the default" same_set all.set jenkins.set
check "--output-cap 1K caps the failed test's output" "$py" -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse("surefire/surefire.xml").getroot()
c = [c for c in r.iter("testcase") if c.get("name") == "fails with exit 3"][0]
o = c.find("system-out").text
sys.exit(not ("about to fail" in o and len(o.encode()) < 1024 + 512))'

# ---- three shards, merged in each format ---------------------------------
for i in 1 2 3; do
        run_suites "s$i" --shard "$i/3" --junit "s.xml" --tap "s.tap" --json "s.json"
        check "shard $i/3 ran" [ -f "s$i/s.xml" ]
done
"$h" merge -o merged.xml s1/s.xml s2/s.xml s3/s.xml
check "merge of JUnit shards (exit $?)" [ $? -eq 0 ]
junit_set merged.xml >merged.set
check "merged JUnit: the unsharded run's tests and outcomes" same_set all.set merged.set
check "merged JUnit: each suite's time is its cases'" junit_times merged.xml
check "merged JUnit passes xmllint" xmllint --noout merged.xml

"$h" merge --junit-flavor jenkins -o merged-jenkins.xml s1/s.xml s2/s.xml s3/s.xml
check "merge --junit-flavor jenkins (exit $?)" [ $? -eq 0 ]
check "merged as jenkins: passes junit-10.xsd" xsd_valid junit-10.xsd merged-jenkins.xml
junit_set merged-jenkins.xml >merged-jenkins.set
check "merged as jenkins: the unsharded run's tests and outcomes" same_set all.set merged-jenkins.set
"$h" merge --junit-flavor surefire -o merged-surefire.xml s1/s.xml s2/s.xml s3/s.xml
check "merge --junit-flavor surefire (exit $?)" [ $? -eq 0 ]
check "merged as surefire: passes surefire-test-report.xsd" \
        xsd_valid surefire-test-report.xsd merged-surefire.xml
junit_set merged-surefire.xml >merged-surefire.set
check "merged as surefire: the unsharded run's tests and outcomes" same_set all.set merged-surefire.set

"$h" merge -o merged.tap s1/s.tap s2/s.tap s3/s.tap >merge-tap.log 2>&1
check "merge of TAP shards (exit $?)" [ $? -eq 0 ]
cat merge-tap.log
tap_set all/all.tap >all.tapset
tap_set merged.tap >merged.tapset
check "merged TAP parses, plan = tests" [ -s merged.tapset ]
check "merged TAP: the unsharded run's tests and outcomes" same_set all.tapset merged.tapset

"$h" merge -o merged.json s1/s.json s2/s.json s3/s.json >merge-json.log 2>&1
check "merge of JSON shards (exit $?)" [ $? -eq 0 ]
cat merge-json.log
json_set all/all.json >all.jsonset
json_set merged.json >merged.jsonset
check "merged JSON: the unsharded run's tests, outcomes and summary" same_set all.jsonset merged.jsonset
check "merged JSON passes ctrf-io's schema" ctrf_valid merged.json

"$h" merge -o x.json s1/s.json >merge-x.log 2>&1
check "merge of one JSON file works (exit $?)" [ $? -eq 0 ]
check "merge names the format it read, not 'Start tag expected'" \
        sh -c '! grep -q "Start tag expected" merge-x.log'
printf 'hello\n' >plain.txt
"$h" merge -o y.xml plain.txt >merge-y.log 2>&1
rc=$?
cat merge-y.log
check "unknown format: exit 2 with a clear message" \
        sh -c "[ $rc -eq 2 ] && grep -q 'not a JUnit XML, TAP or CTRF JSON report' merge-y.log"
"$h" merge -o z.xml s1/s.xml s1/s.tap >merge-z.log 2>&1
rc=$?
cat merge-z.log
check "mixed formats are refused (exit 2)" [ $rc -eq 2 ]
finish

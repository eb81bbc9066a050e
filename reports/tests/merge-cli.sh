#!/bin/sh
# End-to-end checks of `harness merge`: two shard reports merge into the same
# test set as the unsharded report, and bad input fails with exit 2 naming
# the file. Usage: merge-cli.sh PATH-TO-HARNESS
set -u
h=$1
fail=0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

. "$(dirname "$0")/../../tests/lib/expect.sh"

case_xml() { # case_xml SUITE NAME OUTCOME
        printf '    <testcase name="%s" classname="%s" time="0.100">' "$2" "$1"
        case $3 in
        fail) printf '<failure message="exit status 1" type="exit-status">x</failure>' ;;
        error) printf '<error message="setup failed" type="setup"/>' ;;
        skip) printf '<skipped message="later"/>' ;;
        flaky) printf '<flakyFailure message="m" type="expectation"><stackTrace>t</stackTrace></flakyFailure>' ;;
        esac
        printf '</testcase>\n'
}

# tests of suites a and b, with outcomes; shard = line number parity
tests='a one pass
a two fail
a three skip
a four error
a five flaky
a six pass
b seven pass
b eight fail
b nine pass'

report() { # report SHARD(0 = all) > file
        printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n'
        for s in a b; do
                printf '  <testsuite name="%s" tests="0" time="1.500" timestamp="2026-01-0%sT00:00:00" hostname="h">\n' \
                        "$s" "${1:-0}"
                printf '%s\n' "$tests" | awk -v s="$s" -v shard="$1" \
                        '$1 == s && (shard == 0 || NR % 2 == shard - 1) { print $2, $3 }' |
                        while read -r n o; do case_xml "$s" "$n" "$o"; done
                printf '  </testsuite>\n'
        done
        printf '</testsuites>\n'
}

report 0 > "$dir/full.xml"
report 1 > "$dir/shard1.xml"
report 2 > "$dir/shard2.xml"

expect 0 "merged 2 report" "$h" merge -o "$dir/merged.xml" "$dir/shard1.xml" "$dir/shard2.xml"
xmllint --noout "$dir/merged.xml" || { echo "FAIL: xmllint"; fail=1; }

summary() {
        python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
print(sorted((c.get('classname'), c.get('name'), tuple(x.tag for x in c)) for c in r.iter('testcase')))
print([r.get(k) for k in ('tests', 'failures', 'errors', 'skipped')])
for s in r.findall('testsuite'):
    print(s.get('name'), [s.get(k) for k in ('tests', 'failures', 'errors', 'skipped', 'timestamp')])
PY
}
expected="['9', '2', '1', '1']
a ['6', '1', '1', '1', '2026-01-01T00:00:00']
b ['3', '1', '0', '0', '2026-01-01T00:00:00']"
merged=$(summary "$dir/merged.xml") full=$(summary "$dir/full.xml")
if [ "$(printf '%s\n' "$merged" | head -1)" = "$(printf '%s\n' "$full" | head -1)" ] &&
        [ "$(printf '%s\n' "$merged" | tail -n +2)" = "$expected" ]; then
        echo "ok: merged shards hold the full run's test set, recounted"
else
        echo "FAIL: merged shards differ from the full run"
        printf '%s\n' "$merged" "$full"; fail=1
fi

# A testcase with two <failure> elements (and one with a failure and an
# error) counts once per kind: failures is the number of failed testcases.
printf '%s' '<testsuite name="m"><testcase name="x"><failure/><failure/></testcase><testcase name="y"><failure/><error/></testcase></testsuite>' >"$dir/multi.xml"
expect 0 "merged 1 report" "$h" merge -o "$dir/multi-out.xml" "$dir/multi.xml"
got=$(summary "$dir/multi-out.xml" | sed -n 2p)
[ "$got" = "['2', '2', '1', '0']" ] && echo "ok: two failures in one testcase count once" ||
        { echo "FAIL: counts $got, expected ['2', '2', '1', '0']"; fail=1; }

printf '<testsuites><testsuite name="a">' > "$dir/broken.xml"
expect 2 "no output file given" "$h" merge "$dir/shard1.xml"
expect 2 "no input files given" "$h" merge -o "$dir/x.xml"
expect 2 "needs an argument" "$h" merge -o
expect 2 "broken.xml" "$h" merge -o "$dir/x.xml" "$dir/shard1.xml" "$dir/broken.xml"
expect 2 "missing.xml': No such file" "$h" merge -o "$dir/x.xml" "$dir/missing.xml"
expect 2 "is in both" "$h" merge -o "$dir/x.xml" "$dir/shard1.xml" "$dir/shard1.xml"
[ ! -e "$dir/x.xml" ] || { echo "FAIL: a failed merge wrote its output"; fail=1; }
exit $fail

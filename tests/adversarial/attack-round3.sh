#!/bin/sh
# Hostile report inputs to `harness merge`: a shard report (written by a
# test-controlled CI step, or edited) that shadows a test of another shard.
# The merge refuses the same test (suite and name) in two inputs, because a
# consumer keeping one record per test would silently drop the other; a
# CTRF JSON shard must not get past that check by writing the name in
# another JSON spelling of the same string:
#  (a) the name with a \u escape ("\u0074" is "t");
#  (b) the suite array with other white space ([ "s" ]);
#  (c) the "name" key itself escaped ("n\u0061me");
#  (d) a second "name" member: JSON readers keep the last one.
# Each attack step is checked to be real: Python's json reads both inputs
# and sees the same suite and name in them (so a consumer sees a duplicate);
# the merge must then exit 2, name the hostile input and write no output.
#
# Usage: attack-round3.sh HARNESS
set -u
h=$1

command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-round3.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A CTRF report with one test whose JSON text is $1.
ctrf() {
        printf '{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"harness"},'
        printf '"summary":{"tests":1,"passed":0,"failed":1,"pending":0,"skipped":0,"other":0,'
        printf '"start":1,"stop":2},"tests":[%s]}}\n' "$1"
}

# The victim shard: test s/t failed.
ctrf '{"name":"t","status":"failed","duration":1,"suite":["s"]}' >"$work/victim.json"

# What Python's json sees as (suite, name) of each test of a report.
keys() {
        python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["results"]["tests"]:
    print(repr((t.get("suite"), t.get("name"))))' "$1"
}

attack() {
        label=$1 test=$2
        ctrf "$test" >"$work/$label.json"
        # The attack is real: a JSON reader sees the victim's test again.
        if [ "$(keys "$work/$label.json")" != "$(keys "$work/victim.json")" ]; then
                fail "$label: the hostile shard does not name the victim's test to a JSON reader"
                return
        fi
        rm -f "$work/merged.json"
        "$h" merge -o "$work/merged.json" "$work/victim.json" "$work/$label.json" \
                >"$work/$label.out" 2>&1
        rc=$?
        if [ "$rc" -eq 2 ] && [ ! -e "$work/merged.json" ] &&
                grep -q "$label.json" "$work/$label.out"; then
                ok "$label: refused ($(tail -n 1 "$work/$label.out"))"
        else
                n=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["results"]["tests"]))' "$work/merged.json" 2>/dev/null)
                fail "$label: merge exit $rc, merged report has $n records of s/t: $(cat "$work/$label.out")"
        fi
}

attack a-escaped-name '{"name":"\u0074","status":"passed","duration":1,"suite":["s"]}'
attack b-suite-spaces '{"name":"t","status":"passed","duration":1,"suite":[ "s" ]}'
attack c-escaped-key '{"name":"x","n\u0061me":"t","status":"passed","duration":1,"suite":["s"]}'
attack d-second-name '{"name":"x","status":"passed","duration":1,"suite":["s"],"name":"t"}'

# The honest case still merges: another test of the same suite.
ctrf '{"name":"u","status":"passed","duration":1,"suite":["s"]}' >"$work/other.json"
if "$h" merge -o "$work/merged.json" "$work/victim.json" "$work/other.json" >/dev/null 2>&1 &&
        [ "$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["results"]["tests"]))' "$work/merged.json")" = 2 ]; then
        ok "distinct tests merge"
else
        fail "distinct tests do not merge"
fi

[ "$fails" -eq 0 ] || { echo "$fails attack(s) got through"; exit 1; }
echo "all attacks refused"

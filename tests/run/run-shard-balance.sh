#!/bin/sh
# harness run/list --shard with --durations: a 40-test suite with skewed
# times (every fourth test sleeps, and in id order they all fall into the
# same shard of a split by count) is run once; its JUnit and CTRF JSON then
# balance 4 shards. Checks, on the recorded durations (the property the split
# is computed from, not wall time, which the shared machine would blur):
# every shard's sum is within 20% of the largest (the greedy longest-first
# split keeps max - min below the longest single test placed last, here a
# short one); the shards are disjoint and their union is the unsharded
# selection, for `list` and for real `run`s balanced by the CTRF file.
# Usage: run-shard-balance.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

{
        echo "name: skewed"
        echo "rootfs: $rootfs"
        echo "defaults: {boot: false, timeout: 60}"
        echo "tests:"
        for i in $(seq -w 1 40); do
                echo "  - name: t$i"
                if [ $((1${i} % 4)) -eq 1 ]; then
                        echo "    run: sleep 1.5"
                else
                        echo "    run: sleep 0.1"
                fi
        done
} >"$work/skewed.yaml"
cd "$work"

"$h" -q run -j 2 -o out-all --junit all.xml --json all.json skewed.yaml >/dev/null 2>&1
check "the unsharded run passes" [ $? -eq 0 ]
"$h" list skewed.yaml | sort >all.names
check "40 tests listed" [ "$(wc -l <all.names)" -eq 40 ]

# shard_sums FILE.xml LIST...: the recorded time of each listed shard's tests.
sums() {
        python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
t = {c.get('classname') + '/' + c.get('name'): float(c.get('time'))
     for c in ET.parse(sys.argv[1]).iter('testcase')}
for f in sys.argv[2:]:
    ids = [l.strip() for l in open(f) if l.strip()]
    if not ids:
        continue
    print(f"{sum(t[i] for i in ids):.3f} {len(ids)} {max(t[i] for i in ids):.3f}")
PY
}

for i in 1 2 3 4; do
        "$h" list --shard $i/4 skewed.yaml | sort >count-$i.names
        "$h" list --shard $i/4 --durations all.xml skewed.yaml | sort >dur-$i.names
done
sums all.xml count-1.names count-2.names count-3.names count-4.names >count.sums
sums all.xml dur-1.names dur-2.names dur-3.names dur-4.names >dur.sums
check "4 durations shards listed, none empty" [ "$(grep -c . dur.sums)" -eq 4 ]
check "4 count shards listed, none empty" [ "$(grep -c . count.sums)" -eq 4 ]
echo "by count (sum, tests, longest):" $(cat count.sums | tr '\n' ';')
echo "by durations (sum, tests, longest):" $(cat dur.sums | tr '\n' ';')
within() { # within FILE PERCENT: max - min <= PERCENT% of max
        awk -v p="$2" 'NR==1{lo=$1;hi=$1} {if($1<lo)lo=$1; if($1>hi)hi=$1}
                END{printf "spread %.3fs of %.3fs\n", hi-lo, hi; exit !(hi-lo <= hi*p/100)}' "$1"
}
if within count.sums 20; then
        bad "the count split was expected to be skewed here (all slow tests in one shard)"
else
        ok "the count split is skewed here (all slow tests in one shard)"
fi
check "durations-balanced shards are within 20% of each other" within dur.sums 20
sort count-[1-4].names >count-union.names
sort dur-[1-4].names >dur-union.names
check "count shards: union = the unsharded selection" cmp -s count-union.names all.names
check "durations shards: union = the unsharded selection" cmp -s dur-union.names all.names
check "durations shards are disjoint" [ -z "$(sort dur-[1-4].names | uniq -d)" ]
# The same split from the CTRF JSON report (durations in ms).
for i in 1 2 3 4; do
        "$h" list --shard $i/4 --durations all.json skewed.yaml | sort >json-$i.names
        check "shard $i/4: the same tests from the JSON report" cmp -s json-$i.names dur-$i.names
done

# Real runs of 2 shards balanced by the JSON report: together, the whole run.
names() { xmllint --xpath '//testcase/@name' "$1" | sed 's/name=/\n/g' | sed '/^ *$/d' | tr -d '"' | sed 's/^ *//; s/ *$//; s|^|skewed/|' | sort; }
for i in 1 2; do
        "$h" -q run -j 2 -o out-$i --shard $i/2 --durations all.json --junit s$i.xml skewed.yaml >/dev/null 2>&1
        check "run --shard $i/2 --durations passes" [ $? -eq 0 ]
        names s$i.xml >run-$i.names
        "$h" list --shard $i/2 --durations all.json skewed.yaml | sort >list-$i.names
        check "run and list agree on shard $i/2" cmp -s run-$i.names list-$i.names
done
sort run-1.names run-2.names >run-union.names
check "run shards: union = the unsharded selection" cmp -s run-union.names all.names
sums all.xml run-1.names run-2.names >run.sums
check "2 run shards, none empty" [ "$(grep -c . run.sums)" -eq 2 ]
check "run shards 1/2 and 2/2 are within 20% (recorded)" within run.sums 20
# --shard auto: GitHub Actions passes its matrix as HARNESS_SHARD_INDEX/TOTAL.
HARNESS_SHARD_INDEX=3 HARNESS_SHARD_TOTAL=4 "$h" list --shard auto --durations all.xml skewed.yaml | sort >auto-3.names
check "list --shard auto from HARNESS_SHARD_INDEX/TOTAL" cmp -s auto-3.names dur-3.names
finish

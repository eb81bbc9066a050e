#!/bin/sh
# harness run --shard: shards 1/2 and 2/2 cover every test exactly once, and
# `harness merge` of the two reports has the same test set as the unsharded
# run. Usage: run-shard.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

{
        echo "name: sharded"
        echo "rootfs: $rootfs"
        echo "defaults: {boot: false, timeout: 30}"
        echo "tests:"
        for i in $(seq 1 12); do
                echo "  - name: test $i"
                echo "    run: echo $i"
        done
        echo "  - name: skipped one"
        echo "    run: exit 1"
        echo "    skip: not now"
} >"$work/sharded.yaml"

cd "$work"
names() { xmllint --xpath '//testcase/@name' "$1" | sed 's/name=/\n/g' | sed '/^ *$/d' | sort; }

"$h" -q run -j 2 -o out-all --junit all.xml sharded.yaml >/dev/null 2>&1
check "unsharded run passes" [ $? -eq 0 ]
"$h" -q run -j 2 -o out-1 --shard 1/2 --junit s1.xml sharded.yaml >/dev/null 2>&1
check "shard 1/2 passes" [ $? -eq 0 ]
"$h" -q run -j 2 -o out-2 --shard 2/2 --junit s2.xml sharded.yaml >/dev/null 2>&1
check "shard 2/2 passes" [ $? -eq 0 ]

names all.xml >all.names
names s1.xml >s1.names
names s2.xml >s2.names
check "unsharded run has all 13 tests" [ "$(wc -l <all.names)" -eq 13 ]
check "both shards have tests" [ -s s1.names -a -s s2.names ]
check "no test in both shards" [ -z "$(comm -12 s1.names s2.names)" ]
sort s1.names s2.names >both.names
check "shards together = the unsharded set" cmp -s both.names all.names

"$h" merge -o merged.xml s1.xml s2.xml
check "merge succeeds" [ $? -eq 0 ]
check "merged report is valid XML" xmllint --noout merged.xml
names merged.xml >merged.names
check "merged = unsharded test set" cmp -s merged.names all.names

# Shards are a pure function of the test ids: the same again.
"$h" -q run -j 2 -o out-1b --shard 1/2 --junit s1b.xml sharded.yaml >/dev/null 2>&1
names s1b.xml >s1b.names
check "sharding is deterministic" cmp -s s1.names s1b.names
finish

#!/bin/sh
# harness run --durations without --shard: the tests start longest first by
# an earlier run's times, those the file does not list (new ones) before
# them; without it, in file order. Each test prints the time it ran; at
# -j 1 the order of those times is the order the tests started in.
# Usage: run-durations-order.sh PATH-TO-HARNESS
. "$(dirname "$0")/lib.sh"

{
        echo "name: ordered"
        echo "rootfs: $rootfs"
        echo "defaults: {boot: false, timeout: 30}"
        echo "tests:"
        for t in a b c d; do
                echo "  - name: $t"
                echo "    run: date +%s%N"
        done
} >"$work/ordered.yaml"
# a 2 s, c 3 s, d 1 s; b has no recorded time.
cat >"$work/times.json" <<'JSON'
{"results": {"tests": [
{"suite": "ordered", "name": "a", "duration": 2000},
{"suite": "ordered", "name": "c", "duration": 3000},
{"suite": "ordered", "name": "d", "duration": 1000}
]}}
JSON
cd "$work"
# started ORDER-DIR: the test names by the time each printed.
started() { for t in a b c d; do echo "$(cat "$1/ordered/$t/stdout") $t"; done | sort -n | awk '{printf "%s", $2}'; }

"$h" -q run -j 1 -o plain ordered.yaml >/dev/null 2>&1
check "the run without durations passes" [ $? -eq 0 ]
got=$(started plain)
check "without --durations: file order (got '$got')" [ "$got" = abcd ]
"$h" -q run -j 1 -o timed --durations times.json ordered.yaml >/dev/null 2>&1
check "the run with --durations passes" [ $? -eq 0 ]
got=$(started timed)
check "with --durations: the unknown test, then longest first (got '$got')" [ "$got" = bcad ]
# The reports keep the file order.
"$h" -q run -j 1 -o timed2 --durations times.json --junit j.xml ordered.yaml >/dev/null 2>&1
check "the JUnit report keeps the file order" \
        [ "$(xmllint --xpath '//testcase/@name' j.xml | tr -d ' "\n' | sed 's/name=//g')" = abcd ]
finish

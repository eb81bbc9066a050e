#!/bin/sh
# A release matrix, `rootfs: [A, B]`: every test runs once per tree, the
# tree in the test id, the JUnit classname and the output folder; shards of
# it merge; two files of one suite name are refused naming both. Two names
# of the same test tree stand for two releases. Usage: run-matrix.sh HARNESS
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/trees"
ln -s "$rootfs" "$work/trees/first"
ln -s "$rootfs" "$work/trees/second"
cat >"$work/matrix.yaml" <<Y
name: matrix
rootfs: [./trees/first, ./trees/second]
defaults: {boot: false, timeout: 30}
tests:
  - name: a
    run: echo on-the-tree
  - name: b
    run: "true"
Y
cd "$work"
"$h" -q run -j 2 -o out --junit all.xml matrix.yaml >run.log 2>&1
check "the matrix runs and passes" [ $? -eq 0 ]
for tree in first second; do
        check "classname matrix@$tree has both tests" \
                [ "$(xpath all.xml "count(//testcase[@classname='matrix@$tree'])")" = 2 ]
        # The folder is the id made safe for a path ('@' is not kept).
        check "output folder of matrix@$tree/a" grep -qx on-the-tree out/matrix_$tree-*/a/stdout
done
check "four test cases" [ "$(xpath all.xml 'count(//testcase)')" = 4 ]
ids=$("$h" list matrix.yaml | sort | tr '\n' ' ')
check "list gives one id per tree ($ids)" \
        [ "$ids" = "matrix@first/a matrix@first/b matrix@second/a matrix@second/b " ]

"$h" -q run -j 2 -o out1 --shard 1/2 --junit s1.xml matrix.yaml >/dev/null 2>&1
check "shard 1/2 passes" [ $? -eq 0 ]
"$h" -q run -j 2 -o out2 --shard 2/2 --junit s2.xml matrix.yaml >/dev/null 2>&1
check "shard 2/2 passes" [ $? -eq 0 ]
"$h" merge -o merged.xml s1.xml s2.xml >merge.log 2>&1
check "the shards merge" [ $? -eq 0 ]
check "the merge has the four cases" [ "$(xpath merged.xml 'count(//testcase)')" = 4 ]

# A second file with the same suite name: refused, both files named.
sed 's/^rootfs:.*/rootfs: .\/trees\/first/; s/^name: matrix/name: matrix@first/' matrix.yaml >clash.yaml
"$h" run -o out3 matrix.yaml clash.yaml >clash.log 2>&1
check "two suites of one name are refused (exit 2)" [ $? -eq 2 ]
check "... naming both files" grep -q "clash.yaml:1:7: suite name 'matrix@first' is also the name of matrix.yaml" clash.log
check "... before anything ran" [ ! -e out3 ]
# A tree listed twice is refused.
sed 's|\[./trees/first, ./trees/second\]|[./trees/first, ./trees/first]|' matrix.yaml >twice.yaml
"$h" check twice.yaml >twice.log 2>&1
check "a tree listed twice is refused" grep -q "twice.yaml:2:25: rootfs 'first' is listed twice" twice.log
finish

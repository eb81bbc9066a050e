#!/bin/sh
# One edge of the module graph: builds TARGET (one translation unit that
# includes HEADER with exactly the include paths its module gets) and checks
# the outcome. "forbidden": the build must fail, and fail because HEADER is
# not found — any other error (a typo, a missing dependency) is not the
# graph being enforced, and fails this test. "allowed": it must build.
# Usage: expect.sh CMAKE BUILD-DIR TARGET HEADER forbidden|allowed
set -u
cmake=$1 dir=$2 target=$3 header=$4 want=$5
out=$("$cmake" --build "$dir" --target "$target" 2>&1)
rc=$?
case $want in
allowed)
        [ $rc -eq 0 ] && { echo "ok: $target builds"; exit 0; }
        echo "$out"
        echo "FAIL: $target includes $header, which its module may use, and did not build"
        exit 1
        ;;
forbidden)
        if [ $rc -eq 0 ]; then
                echo "FAIL: $target built: its module can include $header"
                exit 1
        fi
        if printf '%s\n' "$out" | grep -q "fatal error: $header: No such file or directory"; then
                echo "ok: $target cannot see $header"
                exit 0
        fi
        echo "$out"
        echo "FAIL: $target failed for another reason than $header being out of reach"
        exit 1
        ;;
esac
echo "usage: expect.sh CMAKE BUILD-DIR TARGET HEADER forbidden|allowed" >&2
exit 2

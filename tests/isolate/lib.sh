# Shared helpers of the container end-to-end tests (sourced).
# Usage in a test: . lib.sh; need_root_and_tree; ok/fail/expect_rc ...

HARNESS=${1:?usage: $0 HARNESS}
T=${HARNESS_TEST_ROOTFS:-}
failures=0
n=0

need_root_and_tree() {
        if [ "$(id -u)" != 0 ]; then
                echo "# skip: needs root"
                exit 77
        fi
        if [ -z "$T" ] || [ ! -x "$T/bin/sh" ]; then
                echo "# skip: no test tree (HARNESS_TEST_ROOTFS='$T')"
                exit 77
        fi
        if ! unshare --user --mount true 2>/dev/null && ! [ -e /proc/self/ns/user ]; then
                echo "# skip: no user namespaces"
                exit 77
        fi
}

ok() {
        n=$((n + 1))
        echo "ok $n - $*"
}

fail() {
        n=$((n + 1))
        failures=$((failures + 1))
        echo "not ok $n - $*"
}

# expect_rc WANT DESCRIPTION -- CMD...
expect_rc() {
        want=$1
        desc=$2
        shift 3
        "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
        got=$?
        if [ "$got" = "$want" ]; then
                ok "$desc (exit $got)"
        else
                fail "$desc: exit $got, want $want"
                sed 's/^/#   out: /' "$WORK/out" | head -20
                sed 's/^/#   err: /' "$WORK/err" | head -20
        fi
}

# What must be identical before and after every container: the host's mount
# table (mount points and options) and its cgroup tree.
host_snapshot() {
        awk '{ print $5, $6, $9, $10 }' /proc/self/mountinfo | sort
        find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort
        hostname
}

finish() {
        echo "1..$n"
        [ "$failures" = 0 ]
}

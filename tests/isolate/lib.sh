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
# table at the places a container could leak to (the standard mount points,
# the test tree, our work dir, /run/harness, the cgroup file systems), the
# cgroups a dead harness left (harness/c<pid>-... with that pid gone), and
# the hostname. Other mounts and cgroups on a shared machine come and go on
# their own and are not compared.
host_snapshot() {
        awk -v tree="$T" -v work="${WORK:-/nonexistent}" '
                $5 == "/" || $5 == "/run" || $5 == "/tmp" || $5 == "/dev" || $5 == "/proc" ||
                $5 == "/sys" || index($5, tree) == 1 || index($5, work) == 1 ||
                index($5, "/run/harness") == 1 || index($5, "/sys/fs/cgroup") == 1 ||
                index($5, "/dev/") == 1 || index($5, "/proc/") == 1 { print $5, $6, $9, $10 }' \
                /proc/self/mountinfo | sort
        for d in /sys/fs/cgroup/harness/c* /sys/fs/cgroup/*/harness/c*; do
                [ -d "$d" ] || continue
                pid=${d##*/c}
                pid=${pid%%-*}
                kill -0 "$pid" 2>/dev/null || echo "leftover cgroup $d"
        done
        hostname
}

finish() {
        echo "1..$n"
        [ "$failures" = 0 ]
}

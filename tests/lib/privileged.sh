# The precondition of the privileged end-to-end scripts (sourced): they
# skip (exit 77) unless run as root with user and mount namespaces and a
# Debian test tree in HARNESS_TEST_ROOTFS (ctest passes the one
# tests/test-rootfs.sh builds), whose path is then in $rootfs.
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
unshare --user --mount true 2>/dev/null || { echo "SKIP: needs namespaces"; exit 77; }
rootfs=${HARNESS_TEST_ROOTFS:-}
[ -n "$rootfs" ] && [ -x "$rootfs/bin/sh" ] || { echo "SKIP: no HARNESS_TEST_ROOTFS"; exit 77; }

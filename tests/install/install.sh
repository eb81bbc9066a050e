#!/bin/sh
# End to end: install:. The packages are downloaded once (network needed
# then) into a cached local repository; every test installs them from it
# offline, in its own container. A second run downloads nothing, --refresh
# downloads again; a local .deb outside the suite's directory and an install
# as a non-root user are refused by `harness check`.
# Usage: install.sh PATH-TO-HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v dpkg-deb >/dev/null && command -v dpkg-scanpackages >/dev/null ||
        { echo "SKIP: needs dpkg-dev"; exit 77; }
tmp=$(mktemp -d /tmp/harness-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

mkdir -p "$tmp/suite/pkg/DEBIAN" "$tmp/suite/pkg/usr/bin"

cat >"$tmp/suite/pkg/DEBIAN/control" <<CTL
Package: harness-local-hello
Version: 1.0
Architecture: all
Maintainer: harness <harness@localhost>
Depends: hello
Description: the local package of the install test
 It depends on an archive package, so the download must resolve it.
CTL
printf '#!/bin/sh\necho "postinst under $(systemctl is-system-running 2>/dev/null || echo none)" >/run/local-hello.postinst\n' \
        >"$tmp/suite/pkg/DEBIAN/postinst"
printf '#!/bin/sh\necho local hello\n' >"$tmp/suite/pkg/usr/bin/local-hello"
chmod 755 "$tmp/suite/pkg/DEBIAN/postinst" "$tmp/suite/pkg/usr/bin/local-hello"
dpkg-deb --root-owner-group --build "$tmp/suite/pkg" "$tmp/suite/local-hello_1.0_all.deb" \
        >/dev/null || { echo "FAIL: dpkg-deb"; exit 1; }
cp "$here/install.yaml" "$tmp/suite/"

run() { # N [OPTIONS]
        n=$1; shift
        "$h" run "$@" "$tmp/suite/install.yaml" -o "$tmp/out$n" >"$tmp/log$n" 2>&1
        rc=$?
        cat "$tmp/log$n"
        [ $rc -eq 0 ] && echo "ok: run $n passed" || { echo "FAIL: run $n exited $rc"; fail=1; }
}
run 1 --refresh
grep -q "downloading the packages of 'install:'" "$tmp/log1" &&
        echo "ok: run 1 downloaded" || { echo "FAIL: run 1 did not download"; fail=1; }
run 2
if grep -q "downloading the packages" "$tmp/log2"; then
        echo "FAIL: the second run downloaded again"; fail=1
else
        echo "ok: the second run used the cached repository"
fi
run 3 --refresh
grep -q "downloading the packages of 'install:'" "$tmp/log3" &&
        echo "ok: --refresh downloaded again" || { echo "FAIL: --refresh did not download"; fail=1; }
base=$("$h" rootfs path debian:bookworm)
if grep -q "^Package: hello$" "$base/var/lib/dpkg/status"; then
        echo "FAIL: hello was installed into the base tree"; fail=1
else
        echo "ok: the base tree is untouched"
fi

# Refusals, before anything is built.
mkdir -p "$tmp/outside" "$tmp/bad"
cp "$tmp/suite/local-hello_1.0_all.deb" "$tmp/outside/"
ln -s ../outside/local-hello_1.0_all.deb "$tmp/bad/link.deb"
cat >"$tmp/bad/outside.yaml" <<'YAML'
rootfs: debian:bookworm
tests:
  - name: t
    install: [./link.deb]
    run: "true"
YAML
"$h" check "$tmp/bad/outside.yaml" >"$tmp/check1" 2>&1
rc=$?
cat "$tmp/check1"
[ $rc -eq 2 ] && grep -q "outside.yaml:4:5: install: local package './link.deb' lies outside" \
        "$tmp/check1" && echo "ok: a local .deb outside the suite's directory is refused" ||
        { echo "FAIL: outside .deb: exit $rc"; fail=1; }
cat >"$tmp/bad/user.yaml" <<'YAML'
rootfs: debian:bookworm
tests:
  - name: t
    user: nobody
    install: [hello]
    run: "true"
YAML
"$h" check "$tmp/bad/user.yaml" >"$tmp/check2" 2>&1
rc=$?
cat "$tmp/check2"
[ $rc -eq 2 ] && grep -q "user.yaml:5:5: test 't' installs packages (install:) as user 'nobody'" \
        "$tmp/check2" && echo "ok: install as a non-root user is refused" ||
        { echo "FAIL: non-root install: exit $rc"; fail=1; }
mkdir -p "$tmp/bad/tree/bin"
cp /bin/sh "$tmp/bad/tree/bin/sh"
cat >"$tmp/bad/tree.yaml" <<'YAML'
rootfs: tree
tests:
  - name: t
    boot: false
    install: [hello]
    run: "true"
YAML
"$h" run "$tmp/bad/tree.yaml" -o "$tmp/out-tree" >"$tmp/run-tree" 2>&1
rc=$?
cat "$tmp/run-tree"
[ $rc -eq 2 ] && grep -q "tree.yaml:5:5: 'install:' over a directory tree of the suite's" \
        "$tmp/run-tree" && echo "ok: install over the suite's own tree needs --allow-privileged" ||
        { echo "FAIL: install over a directory tree: exit $rc"; fail=1; }
exit $fail

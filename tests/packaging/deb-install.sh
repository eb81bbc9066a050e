#!/bin/sh
# The Debian package end to end: dpkg-buildpackage -b builds it from a copy
# of the source tree, then a harness suite installs the .deb with apt into
# a clean managed bookworm tree (install: [./harness_*.deb, man-db]: apt
# resolves its Depends from the archive, offline in the test's container),
# and in there `harness --version`, `man harness`, `man harness-suite`, the
# bash completion and `harness check` work.
# Usage: deb-install.sh HARNESS SOURCE-DIR
set -u
harness=$(realpath "$1")
src=$(realpath "$2")
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for p in dpkg-buildpackage dh pandoc dpkg-scanpackages; do
        command -v $p >/dev/null || { echo "SKIP: $p missing (scripts/deps)"; exit 77; }
done
command -v mmdebstrap >/dev/null || command -v debootstrap >/dev/null ||
        { echo "SKIP: neither mmdebstrap nor debootstrap installed"; exit 77; }
tmp=$(mktemp -d /tmp/harness-deb-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
t0=$(date +%s)

# A copy of the sources (no build directories); the package builds in it
# and leaves the .deb next to it, in $tmp.
mkdir "$tmp/harness"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$src" && git ls-files -co --exclude-standard -z | tar -c --null -T - -f -) |
                tar -x -C "$tmp/harness" -f -
else
        (cd "$src" && tar -c --exclude='./build*' --exclude='./obj-*' -f - .) | tar -x -C "$tmp/harness" -f -
fi
(cd "$tmp/harness" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
        >"$tmp/build.log" 2>&1
rc=$?
deb=$(ls "$tmp"/harness_*.deb 2>/dev/null | head -1)
if [ $rc -ne 0 ] || [ -z "$deb" ]; then
        echo "FAIL: dpkg-buildpackage exited $rc"; tail -30 "$tmp/build.log"; exit 1
fi
echo "ok: dpkg-buildpackage -b built $(basename "$deb") in $(($(date +%s) - t0))s"
version=$("$harness" --version | awk '{print $2}')
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] && echo "ok: the package version is the program's, $version" ||
        { echo "FAIL: package version $(dpkg-deb -f "$deb" Version), program $version"; fail=1; }

# lintian: no error or warning tag (the overrides in debian/ explain the
# ones that stay); info and pedantic tags are shown, not counted.
if command -v lintian >/dev/null; then
        lintian --pedantic --info --fail-on error,warning "$tmp"/harness_*.changes >"$tmp/lintian.log" 2>&1
        rc=$?
        grep -v '^running with root privileges' "$tmp/lintian.log"
        [ $rc -eq 0 ] && echo "ok: lintian finds no error or warning" ||
                { echo "FAIL: lintian exited $rc"; fail=1; }
else
        echo "lintian not installed: not checked"
fi

mkdir "$tmp/suite" && mv "$deb" "$tmp/suite/"
cat >"$tmp/suite/deb.yaml" <<YAML
name: deb
rootfs: debian:bookworm
defaults: {boot: false, timeout: 300s}
tests:
  - name: installs and runs
    install: [./$(basename "$deb"), man-db]
    run: |
      set -e
      dpkg-query -W -f '\${Status} \${Version}\n' harness
      command -v harness
      harness --version
      MANWIDTH=80 man harness | head -n 20
      MANWIDTH=80 man harness | grep -c 'harness rootfs'
      MANWIDTH=80 man 5 harness-suite | grep -m1 'expect'
      test -s /usr/share/bash-completion/completions/harness
      printf 'name: s\nrootfs: debian:bookworm\ntests: [{name: t, run: "true"}]\n' > /tmp/s.yaml
      harness check /tmp/s.yaml
    expect:
      stdout: ['^install ok installed $version\$', '^/usr/bin/harness\$', '^harness $version\$',
               'HARNESS\\(1\\)', 'harness run \\[OPTIONS\\] SUITE', '/tmp/s.yaml: ok']
      stderr-not: ['^man: ', 'No manual entry']
YAML
"$harness" run "$tmp/suite/deb.yaml" -o "$tmp/out" >"$tmp/run.log" 2>&1
rc=$?
cat "$tmp/run.log"
out=$(ls -d "$tmp"/out/deb/installs_and_runs* 2>/dev/null | head -n 1)
if [ $rc -eq 0 ]; then
        echo "ok: apt installed the package in a clean bookworm container; harness and man harness work there"
        sed -n '/^install ok installed/,$p' "$out/stdout" | head -n 30
else
        echo "FAIL: the suite exited $rc"
        for f in "$out/stdout" "$out/stderr"; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done
        fail=1
fi
echo "total: $(($(date +%s) - t0))s"
exit $fail

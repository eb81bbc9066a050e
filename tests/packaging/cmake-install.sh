#!/bin/sh
# `cmake --install` into a staging prefix: the binary (which runs from
# there: harness-init is embedded in it), the manual pages, the bash
# completion and the documentation land where Debian expects them.
# Usage: cmake-install.sh CMAKE BUILD-DIR WITH-MAN(ON|OFF)
set -u
cmake=$1
build=$2
man=$3
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DESTDIR=$tmp/root "$cmake" --install "$build" --prefix /usr >"$tmp/log" 2>&1 || {
        cat "$tmp/log"
        echo "FAIL: cmake --install failed"
        exit 1
}
root=$tmp/root/usr
want="bin/harness share/bash-completion/completions/harness share/doc/harness/README.md
share/doc/harness/suite-format.md share/doc/harness/rootfs.md"
[ "$man" = ON ] && want="$want share/man/man1/harness.1 share/man/man5/harness-suite.5"
for f in $want; do
        if [ -s "$root/$f" ]; then echo "ok: $f"; else echo "FAIL: $f not installed"; fails=$((fails + 1)); fi
done
if "$root/bin/harness" --version | grep -q '^harness [0-9]'; then
        echo "ok: the installed binary runs: $("$root/bin/harness" --version)"
else
        echo "FAIL: the installed binary does not run"
        fails=$((fails + 1))
fi
# Nothing outside the prefix, nothing of the build or tests.
extra=$(cd "$tmp/root" && find . -type f | grep -v '^\./usr/\(bin\|share\)/' || true)
[ -z "$extra" ] || { echo "FAIL: installed outside bin/ and share/: $extra"; fails=$((fails + 1)); }
[ $fails -eq 0 ] || exit 1
echo "cmake --install installs what harness needs"

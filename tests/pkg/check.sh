#!/bin/sh
# End to end: `harness pkg check`. Small packages built here with dpkg-deb
# from fixtures/hello-pkg, one well-behaved and five broken on purpose, each
# broken one caught by exactly the check meant for it, naming the problem:
#   leftover       leaves a file after purge       remove-purge
#   postrm-fails   its postrm fails on purge       remove-purge
#   service-fails  its service fails to start      install
#   missing-lib    ships an ELF whose library is   files
#                  in no package
#   conffile-lost  its upgrade overwrites a        upgrade
#                  modified conffile
#   upgrade-fails  its postinst fails when it       distupgrade
#                  upgrades an installed version
#                  (from bullseye's install to
#                  bookworm's: the release upgrade)
# The well-behaved one passes every check, its upgrade included, and the
# JUnit report has one case per check. Needs root and the Debian archive
# for the install: step's index (label network).
# Usage: check.sh PATH-TO-HARNESS SOURCE-DIR
set -u
h=$1 src=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v dpkg-scanpackages >/dev/null || { echo "SKIP: needs dpkg-dev"; exit 77; }
command -v cc >/dev/null || { echo "SKIP: needs cc"; exit 77; }
command -v xmllint >/dev/null || { echo "SKIP: needs xmllint"; exit 77; }
tmp=$(mktemp -d /tmp/harness-pkg-check-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib/check.sh"

# build NAME VERSION [EDIT-COMMAND]: a hello-pkg variant as $tmp/NAME_VERSION.deb
build() {
        d=$tmp/build-$1-$2
        rm -rf "$d"
        cp -a "$src/fixtures/hello-pkg/pkg" "$d"
        sed -i "s/@VERSION@/$2/" "$d/DEBIAN/control" "$d/etc/hello-pkg.conf" "$d/usr/bin/hello-pkg"
        [ $# -lt 3 ] || (cd "$d" && eval "$3") || { echo "FAIL: editing $1"; exit 1; }
        dpkg-deb --root-owner-group -Zgzip --build "$d" "$tmp/$1_$2.deb" >/dev/null ||
                { echo "FAIL: dpkg-deb $1"; exit 1; }
}
build good 1.0
build good 1.1
build leftover 1.0 'sed -i "s|^exit 0|mkdir -p /etc/hello-pkg.d; echo x >/etc/hello-pkg.d/local.conf\nexit 0|" DEBIAN/postinst'
build postrm-fails 1.0 'sed -i "s|^if \[ \"\$1\" = purge \]; then|&\n        echo \"hello-pkg: postrm fails on purpose\" >\&2; exit 1|" DEBIAN/postrm'
build service-fails 1.0 'sed -i "s|^ExecStart=.*|ExecStart=/bin/sh -c \"echo hello-pkg: cannot start on purpose; exit 3\"|" lib/systemd/system/hello-pkg.service'
# An ELF program linked against a library that no package ships.
printf 'int harness_missing(void) { return 0; }\n' >"$tmp/lib.c"
printf 'int harness_missing(void);\nint main(void) { return harness_missing(); }\n' >"$tmp/main.c"
cc -shared -fPIC -o "$tmp/libharnessmissing.so" -Wl,-soname,libharnessmissing.so.1 "$tmp/lib.c" &&
        cc -o "$tmp/needs-lib" "$tmp/main.c" -L"$tmp" -lharnessmissing ||
        { echo "FAIL: cc"; exit 1; }
build missing-lib 1.0 "cp '$tmp/needs-lib' usr/bin/hello-pkg-needs-lib"
build conffile-lost 1.1 'sed -i "s|^if \[ \"\$1\" = configure \]; then|&\n        echo greeting=Hello >/etc/hello-pkg.conf|" DEBIAN/postinst'
build upgrade-fails 1.1 'sed -i "s|^if \[ \"\$1\" = configure \]; then|&\n        if [ -n \"\$2\" ]; then echo \"hello-pkg: cannot upgrade from \$2 on purpose\" >\&2; exit 1; fi|" DEBIAN/postinst'
for f in leftover postrm-fails service-fails missing-lib conffile-lost upgrade-fails; do
        [ -f "$tmp/${f}_1.0.deb" ] || [ -f "$tmp/${f}_1.1.deb" ] || bad "fixture $f not built"
done

# check NAME EXPECTED-FAILING-CHECK PATTERN -- ARGS...: runs harness pkg
# check; exactly the expected check fails (or none: "-"), with PATTERN in
# its failure message.
check() {
        name=$1 want=$2 pattern=$3
        shift 4
        "$h" pkg check -j 2 -o "$tmp/out-$name" --junit "$tmp/$name.xml" "$@" >"$tmp/$name.log" 2>&1
        rc=$?
        cat "$tmp/$name.log"
        failed=$(xmllint --xpath '//testcase[failure or error]/@name' "$tmp/$name.xml" 2>/dev/null |
                sed 's/ name="\([^"]*\)"/\1\n/g' | sed '/^$/d' | tr '\n' ' ' | sed 's/ $//')
        total=$(xmllint --xpath 'count(//testcase)' "$tmp/$name.xml" 2>/dev/null)
        if [ "$want" = - ]; then
                [ $rc -eq 0 ] && [ -z "$failed" ] && ok "$name: all $total checks pass" ||
                        bad "$name: exit $rc, failed: '$failed'"
                return
        fi
        [ $rc -eq 1 ] || bad "$name: exit $rc, expected 1"
        [ "$failed" = "$want" ] && ok "$name: exactly '$want' fails (of $total checks)" ||
                bad "$name: failed '$failed', expected exactly '$want'"
        msg=$(xmllint --xpath "string(//testcase[@name='$want']/failure/@message)" "$tmp/$name.xml")
        echo "$msg" | grep -qE "$pattern" && ok "$name: the message names it: $msg" ||
                bad "$name: message '$msg' does not match '$pattern'"
}

check good - '' -- --upgrade-from "$tmp/good_1.0.deb" --distupgrade-from "$tmp/good_1.0.deb" \
        "$tmp/good_1.1.deb"
total=$(xmllint --xpath 'count(//testcase)' "$tmp/good.xml" 2>/dev/null)
[ "$total" = 6 ] && ok "good: 6 checks in the report" || bad "good: $total checks in the report"
grep -q "upgraded to Debian 12.*hello-pkg 1.1" "$tmp"/out-good/pkg-hello-pkg-distupgrade/distupgrade/stdout &&
        ok "good: the distupgrade went from bullseye's 1.0 to bookworm's 1.1" ||
        bad "good: the distupgrade did not reach 1.1 on bookworm"
check leftover remove-purge 'left after purge: /etc/hello-pkg.d' -- "$tmp/leftover_1.0.deb"
check postrm-fails remove-purge "apt-get purge: .*(postrm fails on purpose|dpkg: error processing package hello-pkg)" \
        -- "$tmp/postrm-fails_1.0.deb"
check service-fails install 'unit hello-pkg.service failed; journal: .*cannot start on purpose' \
        -- "$tmp/service-fails_1.0.deb"
check missing-lib files 'missing library: /usr/bin/hello-pkg-needs-lib needs libharnessmissing.so.1' \
        -- "$tmp/missing-lib_1.0.deb"
check conffile-lost upgrade 'lost the local change to the conffile /etc/hello-pkg.conf' \
        -- --upgrade-from "$tmp/good_1.0.deb" "$tmp/conffile-lost_1.1.deb"
check upgrade-fails distupgrade 'full-upgrade \(to bookworm\): .*(cannot upgrade from 1.0 on purpose|dpkg: error processing package hello-pkg)' \
        -- --distupgrade-from "$tmp/good_1.0.deb" "$tmp/upgrade-fails_1.1.deb"

# --print-suite: the suites, runnable by hand, and nothing run.
"$h" pkg check --print-suite -o "$tmp/print" --distupgrade-from "$tmp/good_1.0.deb" \
        "$tmp/good_1.1.deb" >"$tmp/print.yaml" 2>"$tmp/print.err"
grep -q "^  - name: remove-purge$" "$tmp/print.yaml" && ok "--print-suite prints the suite" ||
        bad "--print-suite: $(cat "$tmp/print.yaml" "$tmp/print.err")"
grep -q "^  - name: distupgrade$" "$tmp/print.yaml" &&
        grep -q "^rootfs: {distro: debian, suite: bullseye, include: \[usrmerge\]}" "$tmp/print.yaml" &&
        [ -s "$tmp/print/pkg-check-suite/next/Packages" ] &&
        ok "--print-suite prints the distupgrade suite, its next release's repository written" ||
        bad "--print-suite: no distupgrade suite: $(cat "$tmp/print.yaml" "$tmp/print.err")"
"$h" check "$tmp"/print/pkg-check-suite/*.yaml >/dev/null && ok "the printed suite is valid" ||
        bad "the printed suite is invalid"
[ ! -d "$tmp/print/pkg-hello-pkg" ] && [ ! -d "$tmp/print/pkg-hello-pkg-distupgrade" ] &&
        ok "--print-suite ran no check" || bad "--print-suite ran checks"
# Usage errors.
"$h" pkg check "not a package!" >/dev/null 2>&1
[ $? -eq 2 ] && ok "a bad target is a usage error" || bad "a bad target is not a usage error"
"$h" pkg check --from-release hamm2 hello >"$tmp/fr.log" 2>&1
[ $? -eq 2 ] && grep -q "'hamm2': not a Debian release" "$tmp/fr.log" &&
        ok "--from-release: an unknown release is a usage error" ||
        bad "--from-release hamm2: $(cat "$tmp/fr.log")"
"$h" pkg check --from-release trixie hello >"$tmp/fr2.log" 2>&1
[ $? -eq 2 ] && grep -q "'trixie' is not older than --release 'bookworm'" "$tmp/fr2.log" &&
        ok "--from-release: a newer release is a usage error" ||
        bad "--from-release trixie: $(cat "$tmp/fr2.log")"
finish

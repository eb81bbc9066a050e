#!/bin/sh
# Hostile report inputs to `harness merge`: a shard report (written by a
# test-controlled CI step, or edited) that shadows a test of another shard.
# The merge refuses the same test (suite and name) in two inputs, because a
# consumer keeping one record per test would silently drop the other; a
# CTRF JSON shard must not get past that check by writing the name in
# another JSON spelling of the same string:
#  (a) the name with a \u escape ("\u0074" is "t");
#  (b) the suite array with other white space ([ "s" ]);
#  (c) the "name" key itself escaped ("n\u0061me");
#  (d) a second "name" member: JSON readers keep the last one.
# Each attack step is checked to be real: Python's json reads both inputs
# and sees the same suite and name in them (so a consumer sees a duplicate);
# the merge must then exit 2, name the hostile input and write no output.
# The same for TAP shards, read by Perl's TAP::Parser (prove's):
#  (e) the description with trailing white space ("ok 1 - s/t ");
#  (f) the description with a directive ("ok 1 - s/t # TODO");
#  (g) a YAML block left open ("  ---" and no "  ..."): the merge wrote it
#      as it was and the next shard's points after it became a parse error
#      (prove: "planned 3 tests but ran 1"); the merge must refuse the
#      input or write a report TAP::Parser reads whole.
# And a hostile upload to `harness pkg check`:
#  (h) a .changes whose Files: names a FIFO "evil_1.0_all.deb" beside it:
#      harness ran dpkg-deb on it and waited forever; it must refuse the
#      file (exit 2, naming it) within seconds;
#  (i) a .changes whose Files: names a symlink beside it to a .deb elsewhere
#      on the host (a private package): harness followed it and hard-linked
#      the host's file into the results (pkg-check-suite/debs/), whence it
#      was installed in the containers; only files beside the .changes may
#      be read (as the refusal of a name with '/' already says).
#  (m) the same symlink in a .changes given to `harness autopkgtest
#      --changes`: the host's .deb was copied into OUTPUT/suites/debs and
#      installed in the test containers.
#  (n) an autopkgtest test that prints C1 controls (U+009B, CSI) and a bidi
#      override on stderr: its summary line "FAIL stderr: FIRST LINE" went
#      raw into OUTPUT/summary, which CI jobs print; it must be escaped as
#      on harness's own stdout.
#  (o) a .dsc whose tarball holds a FIFO as debian/tests/control: the
#      container's dpkg-source unpacks it, then harness on the host opened
#      it and waited forever; (p) `harness check` and `harness list` on such
#      a control file likewise. They must end within seconds.
# And a hostile --durations file (an earlier run's report, fetched from CI
# artifacts), read as YAML since JSON is YAML:
#  (j) 100 KB of anchors and aliases (a 100 KB string named 1000 times in
#      each test's suite): harness expanded them, tens of GB of copying;
#  (k) a test's extra nested 200000 deep: libyaml's scanner is quadratic in
#      the depth (minutes).
# Each must end within seconds (refused, exit 2, naming the file, or read).
# And JUnit shards:
#  (l) the victim's testcase inside a testsuite nested in another one:
#      Jenkins and GitLab read nested suites' testcases, the duplicate check
#      looked only at testcases directly in a suite.
#
# Usage: attack-round3.sh HARNESS
set -u
h=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/snapshot.sh"

command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-round3.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A CTRF report with one test whose JSON text is $1.
ctrf() {
        printf '{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"harness"},'
        printf '"summary":{"tests":1,"passed":0,"failed":1,"pending":0,"skipped":0,"other":0,'
        printf '"start":1,"stop":2},"tests":[%s]}}\n' "$1"
}

# The victim shard: test s/t failed.
ctrf '{"name":"t","status":"failed","duration":1,"suite":["s"]}' >"$work/victim.json"

# What Python's json sees as (suite, name) of each test of a report.
keys() {
        python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["results"]["tests"]:
    print(repr((t.get("suite"), t.get("name"))))' "$1"
}

attack() {
        label=$1 test=$2
        ctrf "$test" >"$work/$label.json"
        # The attack is real: a JSON reader sees the victim's test again.
        if [ "$(keys "$work/$label.json")" != "$(keys "$work/victim.json")" ]; then
                fail "$label: the hostile shard does not name the victim's test to a JSON reader"
                return
        fi
        rm -f "$work/merged.json"
        "$h" merge -o "$work/merged.json" "$work/victim.json" "$work/$label.json" \
                >"$work/$label.out" 2>&1
        rc=$?
        if [ "$rc" -eq 2 ] && [ ! -e "$work/merged.json" ] &&
                grep -q "$label.json" "$work/$label.out"; then
                ok "$label: refused ($(tail -n 1 "$work/$label.out"))"
        else
                n=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["results"]["tests"]))' "$work/merged.json" 2>/dev/null)
                fail "$label: merge exit $rc, merged report has $n records of s/t: $(cat "$work/$label.out")"
        fi
}

attack a-escaped-name '{"name":"\u0074","status":"passed","duration":1,"suite":["s"]}'
attack b-suite-spaces '{"name":"t","status":"passed","duration":1,"suite":[ "s" ]}'
attack c-escaped-key '{"name":"x","n\u0061me":"t","status":"passed","duration":1,"suite":["s"]}'
attack d-second-name '{"name":"x","status":"passed","duration":1,"suite":["s"],"name":"t"}'

# The honest case still merges: another test of the same suite.
ctrf '{"name":"u","status":"passed","duration":1,"suite":["s"]}' >"$work/other.json"
if "$h" merge -o "$work/merged.json" "$work/victim.json" "$work/other.json" >/dev/null 2>&1 &&
        [ "$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["results"]["tests"]))' "$work/merged.json")" = 2 ]; then
        ok "distinct tests merge"
else
        fail "distinct tests do not merge"
fi

if perl -MTAP::Parser -e 1 2>/dev/null; then
        # Descriptions of the test points of a TAP file, as TAP::Parser reads
        # them, and its parse errors.
        tap_read() {
                perl -MTAP::Parser -e 'my $p = TAP::Parser->new({ source => $ARGV[0] });
while (my $r = $p->next) { print "point: ", $r->description, "\n" if $r->is_test }
print "error: $_\n" for $p->parse_errors;
print "planned: ", $p->tests_planned // "none", " run: ", $p->tests_run, "\n"' "$1"  2>/dev/null
        }
        printf 'TAP version 13\n1..1\nnot ok 1 - s/t\n' >"$work/victim.tap"
        tap_attack() {
                label=$1 line=$2
                printf 'TAP version 13\n1..1\n%s\n' "$line" >"$work/$label.tap"
                if [ "$(tap_read "$work/$label.tap" | grep '^point:')" != \
                        "$(tap_read "$work/victim.tap" | grep '^point:')" ]; then
                        fail "$label: TAP::Parser does not see the victim's test in the hostile shard"
                        return
                fi
                rm -f "$work/merged.tap"
                "$h" merge -o "$work/merged.tap" "$work/victim.tap" "$work/$label.tap" \
                        >"$work/$label.out" 2>&1
                rc=$?
                if [ "$rc" -eq 2 ] && [ ! -e "$work/merged.tap" ] &&
                        grep -q "$label.tap" "$work/$label.out"; then
                        ok "$label: refused ($(tail -n 1 "$work/$label.out"))"
                else
                        fail "$label: merge exit $rc: $(tap_read "$work/merged.tap" | grep -c '^point: - s/t$') points named s/t"
                fi
        }
        tap_attack e-trailing-space 'ok 1 - s/t '
        tap_attack f-directive 'ok 1 - s/t # TODO not really'

        # (g) an open YAML block ahead of the victim's shard.
        printf 'TAP version 13\n1..1\nok 1 - s/u\n  ---\n  message: "x"\n' >"$work/g-open-yaml.tap"
        printf 'TAP version 13\n1..2\nnot ok 1 - s/v\nnot ok 2 - s/w\n' >"$work/victim2.tap"
        if ! grep -q '^  \.\.\.' "$work/g-open-yaml.tap" && grep -q '^  ---' "$work/g-open-yaml.tap"; then
                rm -f "$work/merged.tap"
                "$h" merge -o "$work/merged.tap" "$work/g-open-yaml.tap" "$work/victim2.tap" \
                        >"$work/g.out" 2>&1
                rc=$?
                if [ "$rc" -eq 2 ] && [ ! -e "$work/merged.tap" ] &&
                        grep -q "g-open-yaml.tap" "$work/g.out"; then
                        ok "g-open-yaml: refused ($(tail -n 1 "$work/g.out"))"
                elif [ "$rc" -eq 0 ] && ! tap_read "$work/merged.tap" | grep -q '^error:' &&
                        tap_read "$work/merged.tap" | grep -q '^planned: 3 run: 3$'; then
                        ok "g-open-yaml: the merged report reads whole"
                else
                        fail "g-open-yaml: merge exit $rc; TAP::Parser on the merge: $(tap_read "$work/merged.tap" | grep -v '^point:' | tr '\n' ' ')"
                fi
        else
                fail "g-open-yaml: the hostile shard does not hold an open YAML block"
        fi
else
        echo "note: no Perl TAP::Parser, the TAP attacks are not run"
fi

if command -v dpkg-deb >/dev/null && [ "$(id -u)" -eq 0 ]; then
        host_snapshot >"$work/snap.before"
        mkdir "$work/upload"
        mkfifo "$work/upload/evil_1.0_all.deb"
        printf 'Format: 1.8\nSource: evil\nFiles:\n 0123 10 misc optional evil_1.0_all.deb\n' \
                >"$work/upload/evil_1.0_amd64.changes"
        if [ -p "$work/upload/evil_1.0_all.deb" ] &&
                grep -q ' evil_1.0_all.deb$' "$work/upload/evil_1.0_amd64.changes"; then
                timeout 20 "$h" pkg check --print-suite -o "$work/pkg-out" \
                        "$work/upload/evil_1.0_amd64.changes" >"$work/h.out" 2>&1
                rc=$?
                # Whatever still waits on the FIFO gets its end of file.
                : <>"$work/upload/evil_1.0_all.deb"
                if [ "$rc" -eq 2 ] && grep -q 'evil_1.0_all.deb' "$work/h.out"; then
                        ok "h-fifo-in-changes: refused ($(head -n 1 "$work/h.out"))"
                else
                        fail "h-fifo-in-changes: exit $rc (124: still waiting after 20 s): $(cat "$work/h.out")"
                fi
        else
                fail "h-fifo-in-changes: the upload was not made"
        fi

        # (i) the private package, outside the upload, and a symlink to it.
        mkdir -p "$work/private/pkg/DEBIAN" "$work/upload2"
        printf 'Package: private-a3\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: host secret\n' \
                >"$work/private/pkg/DEBIAN/control"
        dpkg-deb -b "$work/private/pkg" "$work/private/private-a3_1.0_all.deb" >/dev/null
        ln -s "$work/private/private-a3_1.0_all.deb" "$work/upload2/evil_1.0_all.deb"
        printf 'Format: 1.8\nSource: evil\nFiles:\n 0123 10 misc optional evil_1.0_all.deb\n' \
                >"$work/upload2/evil_1.0_amd64.changes"
        if [ -L "$work/upload2/evil_1.0_all.deb" ] &&
                dpkg-deb -f "$work/upload2/evil_1.0_all.deb" Package | grep -q private-a3; then
                timeout 300 "$h" pkg check --print-suite -o "$work/pkg-out2" \
                        "$work/upload2/evil_1.0_amd64.changes" >"$work/i.out" 2>&1
                rc=$?
                inode=$(stat -c %i "$work/private/private-a3_1.0_all.deb")
                leaked=$(find "$work/pkg-out2" -inum "$inode" 2>/dev/null; grep -rl 'private-a3' "$work/pkg-out2" 2>/dev/null)
                if [ "$rc" -eq 2 ] && [ -z "$leaked" ] && grep -q 'evil_1.0_all.deb' "$work/i.out"; then
                        ok "i-symlink-in-changes: refused ($(head -n 1 "$work/i.out"))"
                else
                        fail "i-symlink-in-changes: exit $rc; the host's .deb in the results: $(echo $leaked)"
                fi
        else
                fail "i-symlink-in-changes: the upload was not made"
        fi
        # (m) autopkgtest --changes, the same upload, over a source tree
        # whose test depends on the package.
        mkdir -p "$work/src/debian/tests"
        printf 'Source: private-a3\nMaintainer: x <x@example.org>\n\nPackage: private-a3\nArchitecture: all\nDescription: x\n' \
                >"$work/src/debian/control"
        printf 'Test-Command: true\nDepends: @\n' >"$work/src/debian/tests/control"
        cp "$work/upload2/evil_1.0_amd64.changes" "$work/upload2/evil.changes"
        if [ -L "$work/upload2/evil_1.0_all.deb" ] && "$h" autopkgtest --help >/dev/null 2>&1; then
                timeout 300 "$h" autopkgtest --print-suite -o "$work/ap-out" \
                        --changes "$work/upload2/evil.changes" "$work/src" >"$work/m.out" 2>"$work/m.err"
                rc=$?
                if [ "$rc" -ne 0 ] && ! grep -q 'private-a3_1.0_all.deb' "$work/m.out" &&
                        grep -q 'evil.changes' "$work/m.err"; then
                        ok "m-symlink-in-autopkgtest-changes: refused, exit $rc ($(head -n 1 "$work/m.err"))"
                else
                        fail "m-symlink-in-autopkgtest-changes: exit $rc; the suite installs: $(grep 'install:' "$work/m.out" | head -n 1)"
                fi
        else
                echo "note: no harness autopkgtest, attack (m) not run"
        fi
        # (n) C1 controls in the summary file.
        if "$h" autopkgtest --help >/dev/null 2>&1 && [ -n "${HARNESS_TEST_ROOTFS:-}" ]; then
                mkdir -p "$work/src2/debian/tests"
                printf 'Source: esc-a3\nMaintainer: x <x@example.org>\n\nPackage: esc-a3\nArchitecture: all\nDescription: x\n' \
                        >"$work/src2/debian/control"
                printf 'Test-Command: printf "\\302\\2332J \\342\\200\\256x\\n" >&2\nDepends:\nRestrictions: needs-root\n' \
                        >"$work/src2/debian/tests/control"
                timeout 600 "$h" autopkgtest --rootfs "$HARNESS_TEST_ROOTFS" --allow-privileged \
                        -o "$work/ap2" "$work/src2" >"$work/n.out" 2>&1
                rc=$?
                c1=$(printf '\302\233')
                if ! grep -q "$c1" "$work/ap2/esc-a3/command1/stderr" 2>/dev/null; then
                        fail "n-c1-in-summary: the test did not print the C1 control (exit $rc): $(tail -n 3 "$work/n.out")"
                elif [ ! -s "$work/ap2/summary" ]; then
                        fail "n-c1-in-summary: no summary (exit $rc)"
                elif grep -q "$c1" "$work/ap2/summary" || grep -q "$(printf '\342\200\256')" "$work/ap2/summary"; then
                        fail "n-c1-in-summary: raw C1/bidi controls in OUTPUT/summary: $(od -c "$work/ap2/summary" | head -n 2 | tr '\n' ' ')"
                else
                        ok "n-c1-in-summary: escaped ($(head -n 1 "$work/ap2/summary"))"
                fi
        fi
        # (o) the .dsc with a FIFO inside its tarball.
        if "$h" autopkgtest --help >/dev/null 2>&1 && [ -n "${HARNESS_TEST_ROOTFS:-}" ] &&
                command -v xz >/dev/null; then
                b=$work/dscbuild/fifo-1.0
                mkdir -p "$b/debian/tests" "$b/debian/source" "$work/dsc"
                printf 'Source: fifo\nMaintainer: x <x@example.org>\n\nPackage: x\nArchitecture: all\nDescription: x\n' \
                        >"$b/debian/control"
                printf '3.0 (native)\n' >"$b/debian/source/format"
                printf 'fifo (1.0) unstable; urgency=low\n\n  * x\n\n -- x <x@example.org>  Thu, 03 Dec 2026 00:00:00 +0000\n' \
                        >"$b/debian/changelog"
                mkfifo "$b/debian/tests/control"
                tar -C "$work/dscbuild" -cJf "$work/dsc/fifo_1.0.tar.xz" fifo-1.0
                sz=$(stat -c %s "$work/dsc/fifo_1.0.tar.xz")
                md=$(md5sum <"$work/dsc/fifo_1.0.tar.xz" | cut -d' ' -f1)
                printf 'Format: 3.0 (native)\nSource: fifo\nBinary: x\nArchitecture: all\nVersion: 1.0\nMaintainer: x <x@example.org>\nFiles:\n %s %s fifo_1.0.tar.xz\n' \
                        "$md" "$sz" >"$work/dsc/fifo_1.0.dsc"
                start=$(date +%s)
                timeout 120 "$h" autopkgtest --rootfs "$HARNESS_TEST_ROOTFS" --allow-privileged \
                        --print-suite -o "$work/ap3" "$work/dsc/fifo_1.0.dsc" >"$work/o.out" 2>&1
                rc=$? took=$(($(date +%s) - start))
                fifo=$work/ap3/source/tree/debian/tests/control
                [ -p "$fifo" ] && : <>"$fifo"
                if [ ! -p "$fifo" ]; then
                        fail "o-fifo-in-dsc: the unpacked tree holds no FIFO (exit $rc): $(tail -n 2 "$work/o.out")"
                elif [ "$rc" -ne 124 ] && [ "$rc" -ne 0 ]; then
                        ok "o-fifo-in-dsc: refused in ${took}s, exit $rc ($(grep -m1 -i 'control' "$work/o.out"))"
                else
                        fail "o-fifo-in-dsc: exit $rc after ${took}s (124: still reading the FIFO)"
                fi
        fi
        # (p) check and list on a control file that is a FIFO.
        mkdir -p "$work/src3/debian/tests"
        mkfifo "$work/src3/debian/tests/control"
        for cmd in check list; do
                if [ -p "$work/src3/debian/tests/control" ]; then
                        timeout 20 "$h" "$cmd" "$work/src3/debian/tests/control" >"$work/p.out" 2>&1
                        rc=$?
                        : <>"$work/src3/debian/tests/control"
                        if [ "$rc" -ne 124 ] && [ "$rc" -ne 0 ]; then
                                ok "p-fifo-control: $cmd refused, exit $rc ($(head -n 1 "$work/p.out"))"
                        else
                                fail "p-fifo-control: $cmd exit $rc (124: still reading the FIFO)"
                        fi
                fi
        done
        host_snapshot >"$work/snap.after"
        if snapshot_same "$work/snap.before" "$work/snap.after"; then
                ok "host snapshot identical"
        else
                fail "host snapshot changed"
        fi
else
        echo "note: no dpkg-deb or not root, the pkg check attacks are not run"
fi

printf 'name: m\nrootfs: /nonexistent\ntests:\n  - {name: a, run: "true"}\n  - {name: b, run: "true"}\n' \
        >"$work/m.yaml"
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
big = 'x' * 100000
tests = ', '.join('{name: a%d, suite: *l, duration: 1}' % i for i in range(50))
open(w + '/laughs.json', 'w').write('{anchors: [&s "%s", &l [%s]], reportFormat: CTRF, '
                                    'results: {tests: [%s]}}\n' % (big, ', '.join(['*s'] * 1000), tests))
n = 200000
open(w + '/deep.json', 'w').write('{"reportFormat":"CTRF","results":{"tests":[{"name":"a",'
                                  '"suite":["m"],"duration":1,"extra":%s%s}]}}\n' % ('[' * n, ']' * n))
PY
for f in laughs deep; do
        label=$([ "$f" = laughs ] && echo j-aliases || echo k-deep)
        if [ "$(stat -c %s "$work/$f.json")" -lt 500000 ] && { [ "$f" = deep ] || grep -q '\*s, \*s' "$work/$f.json"; }; then
                start=$(date +%s)
                timeout 60 "$h" list --shard 1/2 --durations "$work/$f.json" "$work/m.yaml" \
                        >"$work/$f.out" 2>&1
                rc=$? took=$(($(date +%s) - start))
                if [ "$rc" -ne 124 ] && [ "$took" -le 10 ]; then
                        ok "$label: ended in ${took}s, exit $rc ($(head -n 1 "$work/$f.out"))"
                else
                        fail "$label: exit $rc after ${took}s (124: still reading after 60 s)"
                fi
        else
                fail "$label: the durations file was not made"
        fi
done

printf '<testsuites><testsuite name="s" tests="1"><testcase classname="s" name="t"><failure message="x"/></testcase></testsuite></testsuites>\n' \
        >"$work/victim.xml"
printf '<testsuites><testsuite name="o" tests="0"><testsuite name="s"><testcase classname="s" name="t"/></testsuite></testsuite></testsuites>\n' \
        >"$work/l-nested.xml"
cases() {
        python3 -c 'import sys, xml.etree.ElementTree as E
print(sorted((c.get("classname"), c.get("name")) for c in E.parse(sys.argv[1]).iter("testcase")))' "$1"
}
if [ "$(cases "$work/l-nested.xml")" = "$(cases "$work/victim.xml")" ]; then
        rm -f "$work/merged.xml"
        "$h" merge -o "$work/merged.xml" "$work/victim.xml" "$work/l-nested.xml" >"$work/l.out" 2>&1
        rc=$?
        if [ "$rc" -eq 2 ] && [ ! -e "$work/merged.xml" ] && grep -q 'l-nested.xml' "$work/l.out"; then
                ok "l-nested-suite: refused ($(head -n 1 "$work/l.out"))"
        else
                fail "l-nested-suite: merge exit $rc, testcases of the merge: $(cases "$work/merged.xml" 2>/dev/null)"
        fi
else
        fail "l-nested-suite: the hostile shard does not hold the victim's testcase"
fi

[ "$fails" -eq 0 ] || { echo "$fails attack(s) got through"; exit 1; }
echo "all attacks refused"

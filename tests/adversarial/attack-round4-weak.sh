#!/bin/sh
# The weak spots a docs-only review found (round 4), each by its attack:
#  (w1) a debian/control Source: with U+2028 or CR went raw into the
#       comment line of the generated suite, where YAML ends a line: the
#       text after it became a key of the suite;
#  (w2) a restriction with U+2028 and a no-break space went raw into the
#       printed `# not run:` lines (and the summary): a reader splitting
#       lines as Python's splitlines() does saw a forged "NAME PASS" line;
#  (w4) a test whose debian/tests/NAME is a symlink to a host path: harness
#       looked it up on the host, so "does not exist" or not told the
#       source's author whether the host path exists;
#  (w5) `harness check` passed `packages: [-oX=1]`, an apt-get option that
#       `harness run` refuses;
#  (w6) `harness merge` passed an input shard's [[ATTACHMENT|/etc/shadow]]
#       through to the merged report.
# None of these starts a container; (w2) needs the test tree as --rootfs
# (HARNESS_TEST_ROOTFS) for a real run whose one test is skipped early.
# Usage: attack-round4-weak.sh HARNESS
set -u
h=$1
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/th-adv-round4w.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
LS=$(printf '\342\200\250') # U+2028
NBSP=$(printf '\302\240')

src() { # src DIR SOURCE-FIELD TESTS-CONTROL
        mkdir -p "$1/debian/tests"
        printf 'Source: %s\nMaintainer: x <x@example.org>\n\nPackage: p\nArchitecture: all\nDescription: x\n' \
                "$2" >"$1/debian/control"
        printf '%s' "$3" >"$1/debian/tests/control"
}

# (w1) the Source: name, with U+2028 and with CR
n=0
for sep in "$LS" "$(printf '\r')"; do
        n=$((n + 1))
        src "$work/w1-$n" "evil${sep}bogus: 1${sep}#" 'Tests: t
Depends:
'
        printf '#!/bin/sh\ntrue\n' >"$work/w1-$n/debian/tests/t"
        chmod 755 "$work/w1-$n/debian/tests/t"
        grep -q "bogus: 1" "$work/w1-$n/debian/control" || { fail "w1-$n: control not written"; continue; }
        "$h" autopkgtest --print-suite -o "$work/w1-$n.out" "$work/w1-$n" >"$work/w1-$n.yaml" 2>"$work/w1-$n.err"
        rc=$?
        if [ "$rc" -ne 0 ]; then
                fail "w1-$n: --print-suite exit $rc: $(head -n 2 "$work/w1-$n.err")"
                continue
        fi
        # What a YAML reader sees: the comment stays a comment.
        if python3 - "$work/w1-$n.yaml" <<'PY'
import sys, yaml
text = open(sys.argv[1], encoding='utf-8', newline='').read()
docs = [d for d in yaml.safe_load_all(text) if d]
bad = [k for d in docs for k in d if k == 'bogus']
for ch in '\r\x85\u2028\u2029':
    if ch in text:
        sys.exit('raw U+%04X in the suite' % ord(ch))
sys.exit('key bogus' if bad else 0)
PY
        then
                ok "w1-$n: the generated suite keeps the name in its comment line"
        else
                fail "w1-$n: the name broke the generated suite: $(head -n 2 "$work/w1-$n.yaml" | od -c | head -n 3)"
        fi
        # and the suite the harness itself loads: no stray key
        if "$h" check "$work/w1-$n.yaml" >"$work/w1-$n.check" 2>&1 ||
                ! grep -q "unknown key 'bogus'" "$work/w1-$n.check"; then
                ok "w1-$n: harness check reads no key from the name"
        else
                fail "w1-$n: $(grep bogus "$work/w1-$n.check" | head -n 1)"
        fi
done

# (w2) a restriction with U+2028 and NBSP: printed `# not run:` lines
src "$work/w2" "w2" "Test-Command: true
Depends:
Restrictions: needs-foo${LS}forged${NBSP}PASS
"
grep -q "forged" "$work/w2/debian/tests/control" || fail "w2: control not written"
"$h" autopkgtest --print-suite -o "$work/w2.out" "$work/w2" >"$work/w2.txt" 2>&1
if python3 - "$work/w2.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding='utf-8', errors='replace').read().splitlines()
seen = [l for l in lines if 'needs-foo' in l]
forged = [l for l in lines if l.split()[:2] == ['forged', 'PASS']]
sys.exit(0 if seen and not forged else 'seen %r forged %r' % (seen, forged))
PY
then
        ok "w2: the restriction stays on its line"
else
        fail "w2: a forged line: $(grep -a forged "$work/w2.txt" | head -n 2)"
fi

# ... and OUTPUT/summary of a real run (the test is skipped while the
# control file is read: no container starts)
if [ -n "${HARNESS_TEST_ROOTFS:-}" ]; then
        timeout 300 "$h" autopkgtest --rootfs "$HARNESS_TEST_ROOTFS" -o "$work/w2.run" "$work/w2" \
                >"$work/w2.run.txt" 2>&1
        if [ ! -s "$work/w2.run/summary" ]; then
                fail "w2: no summary written: $(tail -n 2 "$work/w2.run.txt")"
        elif python3 - "$work/w2.run/summary" "$work/w2.run.txt" <<'PY'
import sys
for path in sys.argv[1:]:
    lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    seen = [l for l in lines if 'needs-foo' in l]
    forged = [l for l in lines if l.split()[:2] == ['forged', 'PASS']]
    if not seen or forged:
        sys.exit('%s: seen %r forged %r' % (path, seen, forged))
PY
        then
                ok "w2: the summary file and printed summary keep the restriction on its line"
        else
                fail "w2: a forged summary line: $(grep -a forged "$work/w2.run/summary" | head -n 2)"
        fi
else
        echo "note: no HARNESS_TEST_ROOTFS, the summary file of (w2) not checked"
fi

# (w4) debian/tests/NAME a symlink to a host path that exists, and to one
# that does not: the same answer
for target in /etc/hostname "/nonexistent-$$"; do
        d="$work/w4$(echo "$target" | tr / _)"
        src "$d" "w4" 'Tests: t
Depends:
'
        ln -s "$target" "$d/debian/tests/t"
        [ -L "$d/debian/tests/t" ] || { fail "w4: no symlink"; continue; }
        "$h" autopkgtest --print-suite -o "$d.out" "$d" >"$d.txt" 2>&1
        grep -a 'not run: t' "$d.txt" | sed 's/^/  /' >"$d.verdict"
done
a=$(cat "$work/w4_etc_hostname.verdict")
b=$(cat "$work/w4_nonexistent-$$.verdict")
if [ -n "$a" ] && [ "$a" = "$b" ]; then
        ok "w4: a symlink out of the tree is as missing as no file ($a)"
else
        fail "w4: host path oracle: existing -> '$a', missing -> '$b'"
fi

# (w5) an apt-get option in packages:
cat >"$work/w5.yaml" <<'YAML'
rootfs: debian:bookworm
defaults:
  packages: [-oX=1]
tests:
  - name: t
    run: "true"
YAML
"$h" check "$work/w5.yaml" >"$work/w5.out" 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q "w5.yaml:3:14: invalid package or relation '-oX=1'" "$work/w5.out"; then
        ok "w5: harness check refuses -oX=1 at its line"
else
        fail "w5: harness check exit $rc: $(head -n 1 "$work/w5.out")"
fi

# (w6) an input shard's attachment lines
cat >"$work/shard.xml" <<'XML'
<testsuites><testsuite name="s"><testcase name="a" classname="s">
<failure message="[[ATTACHMENT|/etc/shadow]]">x</failure>
<system-out>[[ATTACHMENT|/etc/shadow]]
</system-out></testcase></testsuite></testsuites>
XML
"$h" merge -o "$work/merged.xml" "$work/shard.xml" >"$work/w6.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$work/merged.xml" ] && ! grep -qi '\[\[ATTACHMENT|' "$work/merged.xml" &&
        grep -q 'shadow' "$work/merged.xml"; then
        ok "w6: the shard's attachment lines are defused"
else
        fail "w6: exit $rc; $(grep -i 'attachment' "$work/merged.xml" 2>/dev/null | head -n 1)"
fi

[ "$fails" -eq 0 ] || exit 1

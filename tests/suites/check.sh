#!/bin/sh
# End-to-end checks of `harness check` and `harness list` on hostile and
# example input: a 3000-byte random file, an empty file, a billion-laughs
# document, plus the example suites. Usage: check.sh PATH-TO-HARNESS SRCDIR
set -u
h=$1 src=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() { # expect CODE PATTERN CMD...
        code=$1 pat=$2
        shift 2
        out=$("$@" 2>&1)
        rc=$?
        if [ "$rc" -ne "$code" ]; then
                echo "FAIL: '$*' exited $rc, expected $code"; printf '%s\n' "$out"; fail=1; return
        fi
        if ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
                echo "FAIL: '$*' output lacks '$pat'"; printf '%s\n' "$out"; fail=1; return
        fi
        echo "ok: $*"
}

# Random bytes: an error with a location, never a crash or a hang.
head -c 3000 /dev/urandom >"$tmp/random.yaml"
expect 2 "^$tmp/random.yaml:[0-9]+:[0-9]+: " "$h" check "$tmp/random.yaml"

: >"$tmp/empty.yaml"
expect 2 "^$tmp/empty.yaml:1:1: empty suite" "$h" check "$tmp/empty.yaml"

cat >"$tmp/laughs.yaml" <<'Y'
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
Y
expect 2 "^$tmp/laughs.yaml:1:4: anchors \(&a\) are not supported" "$h" check "$tmp/laughs.yaml"
expect 2 "laughs.yaml: too many errors, stopped after 20" "$h" check "$tmp/laughs.yaml"

expect 2 "nonexistent.yaml: cannot open: No such file or directory" "$h" check "$tmp/nonexistent.yaml"
expect 2 "no suite file given" "$h" check

# All errors of a file, each located; the valid file next to it is still ok.
cat >"$tmp/bad.yaml" <<'Y'
tests:
  - name: a
    run: "true"
    timout: 5
  - name: a
    run: "true"
    network: bridge
Y
expect 2 "bad.yaml:4:5: unknown key 'timout' in a test; did you mean 'timeout'\?" "$h" check "$tmp/bad.yaml"
expect 2 "bad.yaml:5:11: duplicate test name 'a' \(first at line 2\)" "$h" check "$tmp/bad.yaml"
expect 2 "bad.yaml:7:14: invalid network mode 'bridge'" "$h" check "$tmp/bad.yaml"
expect 2 "hello.yaml: ok, 1 test" "$h" check "$src/suites/examples/hello.yaml" "$tmp/bad.yaml"

# What `harness run` would refuse, before anything is built: a release
# name distro-info-data does not know, two suites of one name, a missing
# rootfs directory or fixture source, boot mode on a tree without systemd.
if [ -r /usr/share/distro-info/debian.csv ]; then
        printf 'name: web\nrootfs: debian:bookwrom\ntests:\n  - {name: t, run: "true"}\n' >"$tmp/typo.yaml"
        expect 2 "typo.yaml:2:1: unknown Debian release 'bookwrom': did you mean 'bookworm'\?" \
                "$h" check "$tmp/typo.yaml"
        printf 'name: web\nrootfs: {suite: trixie}\ntests:\n  - {name: t, run: "true"}\n' >"$tmp/web2.yaml"
        expect 0 "web2.yaml: ok" "$h" check "$tmp/web2.yaml"
        expect 2 "web2.yaml:1:7: suite name 'web' is also the name of $tmp/typo.yaml:1:7" \
                "$h" check "$tmp/typo.yaml" "$tmp/web2.yaml"
else
        echo "# skip: no distro-info-data (scripts/deps installs it)"
fi
mkdir -p "$tmp/nosd/bin" && cp /bin/sh "$tmp/nosd/bin/sh"
cat >"$tmp/trees.yaml" <<'Y'
name: trees
rootfs: ./nosd
tests:
  - name: boots
    run: "true"
  - name: direct
    boot: false
    fixtures: [./missing:/srv/x]
    run: "true"
Y
expect 2 "trees.yaml:4:5: test 'boots' boots .* has no systemd" "$h" check "$tmp/trees.yaml"
expect 2 "trees.yaml:8:16: fixture source './missing' does not exist" "$h" check "$tmp/trees.yaml"
out=$("$h" check "$tmp/trees.yaml" 2>&1)
printf '%s\n' "$out" | grep -q "'direct' boots" && { echo "FAIL: boot: false flagged"; fail=1; }
printf 'name: nodir\nrootfs: ./nope\ntests:\n  - {name: t, run: "true"}\n' >"$tmp/nodir.yaml"
expect 2 "nodir.yaml:2:1: rootfs '.*nope': No such file or directory" "$h" check "$tmp/nodir.yaml"

# The example suites are valid.
for f in "$src"/suites/examples/*.yaml; do
        expect 0 "ok, [0-9]+ tests?" "$h" check "$f"
done

# list: lines, filters, JSON.
cat >"$tmp/list.yaml" <<'Y'
name: pkg
tests:
  - {name: installs, run: "true", tags: [apt, slow]}
  - {name: "quotes \" and \\ back", run: "true"}
  - {name: purges, skip: "later\nmaybe"}
Y
expect 0 "^pkg/installs \[apt,slow\]$" "$h" list "$tmp/list.yaml"
expect 0 "^pkg/purges \(skip: later maybe\)$" "$h" list "$tmp/list.yaml"
expect 0 "^pkg/installs" "$h" list --tag apt "$tmp/list.yaml"
out=$("$h" list --tag apt "$tmp/list.yaml")
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || { echo "FAIL: --tag listed: $out"; fail=1; }
out=$("$h" list --filter '^pkg/pur' "$tmp/list.yaml")
[ "$out" = "pkg/purges (skip: later maybe)" ] || { echo "FAIL: --filter listed: $out"; fail=1; }
expect 2 "invalid --filter" "$h" list --filter 'a((' "$tmp/list.yaml"
out=$("$h" list --tag apt --tag none --tag slow "$tmp/list.yaml")
[ "$out" = "pkg/installs [apt,slow]" ] || { echo "FAIL: repeated --tag listed: $out"; fail=1; }
# Shards split the tests: together they list each test exactly once.
all=$("$h" list "$tmp/list.yaml" | sort)
both=$( ("$h" list --shard 1/2 "$tmp/list.yaml"; "$h" list --shard 2/2 "$tmp/list.yaml") | sort)
[ "$all" = "$both" ] || { echo "FAIL: shards list '$both', not '$all'"; fail=1; }
expect 2 "invalid --shard '3/2'" "$h" list --shard 3/2 "$tmp/list.yaml"
expect 2 "bad.yaml:4:5: unknown key" "$h" list "$tmp/list.yaml" "$tmp/bad.yaml"
if command -v python3 >/dev/null; then
        "$h" list --json "$tmp/list.yaml" >"$tmp/list.json" &&
        python3 - "$tmp/list.json" <<'P' || { echo "FAIL: --json"; cat "$tmp/list.json"; fail=1; }
import json, sys
v = json.load(open(sys.argv[1]))
assert [t["name"] for t in v] == ["installs", 'quotes " and \\ back', "purges"], v
assert v[0]["id"] == "pkg/installs" and v[0]["tags"] == ["apt", "slow"], v
assert v[0]["skip"] is None and v[2]["skip"] == "later\nmaybe", v
assert v[0]["line"] == 3 and v[0]["file"].endswith("list.yaml"), v
P
        "$h" list --json --tag none "$tmp/list.yaml" | python3 -c 'import json,sys; assert json.load(sys.stdin) == []' ||
                { echo "FAIL: empty --json"; fail=1; }
        echo "ok: list --json"
fi
# Terminal controls in names and path-like values: a located error naming
# the field and the character, and nothing raw on the terminal (ESC, C1 as
# a byte or in UTF-8, bidirectional controls).
raw_controls() { # raw_controls FILE: whether FILE holds one
        LC_ALL=C grep -qaP '\x1b|\x9b|\x9d|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]' "$1"
}
cat >"$tmp/ctl.yaml" <<'Y'
name: "ps\u009b2J\u009d0;TITLE\u009c"
rootfs: "nope\e[2J\e]0;TITLE\a"
tests:
  - name: "direct\u202e"
    run: "true"
    user: "u\e[32m"
    workdir: "/w\e[33m"
    env: {"K\e[1m": v}
    fixtures: ["src\e]52;c;eA==\a:/f"]
Y
for pat in "ctl.yaml:1:7: name must not contain U\+009B \(a control character\)" \
        "ctl.yaml:2:9: rootfs must not contain U\+001B" \
        "ctl.yaml:4:11: name must not contain U\+202E \(a bidirectional control\)" \
        "ctl.yaml:6:11: user must not contain U\+001B" \
        "ctl.yaml:7:14: workdir must not contain U\+001B" \
        "ctl.yaml:8:11: env variable name must not contain U\+001B" \
        "ctl.yaml:9:16: fixture source must not contain U\+001B"; do
        expect 2 "$pat" "$h" check "$tmp/ctl.yaml"
done
"$h" check "$tmp/ctl.yaml" >"$tmp/ctl.out" 2>&1
"$h" list "$tmp/ctl.yaml" >>"$tmp/ctl.out" 2>&1
if raw_controls "$tmp/ctl.out"; then
        echo "FAIL: a raw terminal control reached the output:"; od -c "$tmp/ctl.out" | head -20; fail=1
else
        echo "ok: no raw terminal control in check and list output"
fi
# An unknown key and a bad value are echoed, escaped.
printf 'tests:\n  - name: a\n    run: "true"\n    "x\\e]0;T\\a": 1\n    network: "\\u202e\\x9b"\n' \
        >"$tmp/ctl2.yaml"
"$h" check "$tmp/ctl2.yaml" >"$tmp/ctl2.out" 2>&1
if raw_controls "$tmp/ctl2.out" || ! grep -q 'unknown key .x\\x1b\]0;T\\x07' "$tmp/ctl2.out" ||
        ! grep -q 'network mode .\\u{202e}\\u{009b}' "$tmp/ctl2.out"; then
        echo "FAIL: echoed values not escaped:"; od -c "$tmp/ctl2.out" | head -20; fail=1
else
        echo "ok: echoed values escaped"
fi

exit $fail

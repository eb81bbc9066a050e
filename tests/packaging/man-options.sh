#!/bin/bash
# The manual page's source (docs/man/harness.1.md) against the program:
# every option that `harness [CMD] --help` lists is described in the page's
# section of that command, every option the section describes is in
# --help, every command has a section, and (when built) the generated page
# renders without warnings.
# Usage: man-options.sh HARNESS MAN-SOURCE [GENERATED-PAGE]
harness=$1
src=$2
page=${3:-}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The text of the section "## harness CMD" (or "# OPTIONS" for ""), with
# pandoc's escapes undone.
section()
{
        if [[ -z $1 ]]; then
                sed -n '/^# OPTIONS/,/^# /{/^# OPTIONS/d;/^# /d;p}' "$src"
        else
                awk -v h="## harness $1" '
                        index($0, h) == 1 && (length($0) == length(h) || substr($0, length(h) + 1, 1) == " ") { on = 1; next }
                        /^#/ { on = 0 }
                        on' "$src"
        fi | sed 's/\\//g'
}

help_options()
{
        "$harness" $1 --help | grep -o -- '^ \+-[^ ,]*\(, --[^ =]*\)\?' |
                grep -o -- '--\?[A-Za-z0-9][-A-Za-z0-9]*' | grep -vx -- '-h\|--help' | sort -u
}

commands=$("$harness" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[[ -n $commands ]] || fail "no commands in 'harness --help'"
for cmd in "" $commands; do
        text=$(section "$cmd")
        if [[ -z $text ]]; then
                fail "no section '## harness $cmd' in $src"
                continue
        fi
        want=$(help_options "$cmd")
        for o in $want; do
                grep -qF -- "**$o**" <<<"$text" || fail "'harness $cmd --help' lists $o; the page's section does not describe it"
        done
        # Options the section describes: the definition terms.
        described=$(grep -o -- '^\*\*--\?[A-Za-z0-9][-A-Za-z0-9]*\*\*\(, \*\*--[-A-Za-z0-9]*\*\*\)\?' <<<"$text" |
                grep -o -- '--\?[A-Za-z0-9][-A-Za-z0-9]*' | grep -vx -- '-h\|--help' | sort -u)
        for o in $described; do
                grep -qxF -- "$o" <<<"$want" || fail "the page describes $o for 'harness $cmd'; its --help does not list it"
        done
        echo "ok: harness ${cmd:-(global)}: $(echo $want | wc -w) options in --help and in the page"
done

# rootfs: its commands, from the usage lines.
for sub in $("$harness" rootfs --help | sed -n 's/^ *\(Usage:\)\? *harness rootfs \([a-z]*\).*/\2/p' | sort -u); do
        grep -qF -- "**$sub**" <<<"$(section rootfs)" || fail "'harness rootfs $sub' is not in the page"
done
echo "ok: rootfs commands in the page"

if [[ -n $page ]]; then
        if [[ ! -s $page ]]; then
                fail "the generated page $page is missing"
        else
                warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
                [[ -z $warnings ]] || fail "man reports for $page: $warnings"
                head -c 4096 "$page" | grep -q '^\.TH "\?HARNESS' || fail "$page has no .TH HARNESS header"
                out=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
                grep -q "harness $("$harness" --version | awk '{print $2}')" <<<"$out" ||
                        fail "$page does not carry the program's version"
                echo "ok: $page renders without warnings"
        fi
fi
[[ $fails -eq 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "the manual page agrees with --help"

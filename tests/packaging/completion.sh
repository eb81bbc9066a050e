#!/bin/bash
# Drives the bash completion (data/harness.bash-completion) the way bash
# does: COMP_WORDS/COMP_CWORD set, _harness called, COMPREPLY checked.
# Commands and options come from the real binary's --help; `ps`,
# `rootfs list` and `rootfs layers` from a stand-in that prints fixed
# tables in the binary's formats, so machine and tree names are checked
# without running containers.
# Usage: completion.sh HARNESS COMPLETION-SCRIPT
harness=$(realpath "$1")
script=$(realpath "$2")
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/harness" <<STUB
#!/bin/sh
case "\$1 \${2:-}" in
"ps ") printf '%s\n' 'MACHINE                         PID    STARTED              MODE   NETWORK  ADDRESS          SUITE/TEST' \
        'h-pkg-install-works-1a2b3c4d    4711   2026-11-29 01:09:15  boot   veth     169.254.3.18     pkg/install works' \
        'h-pkg-purges-9f8e7d6c           4712   2026-11-29 01:09:16  direct none     -                pkg/purges'; exit 0 ;;
"rootfs list") printf '%s\n' 'NAME                                         SPEC                         SIZE   PKGS       AGE  LAST USED' \
        'debian-bookworm-minbase-0123456789ab         debian:bookworm              208.0M    116    2h ago     never' ; exit 0 ;;
"rootfs layers") printf '%s\n' 'NAME                SIZE  LAST USED  TREE  PACKAGES' \
        'layer-aaaabbbbcccc  20.0M  never  debian-bookworm-minbase-0123456789ab  curl' ; exit 0 ;;
esac
exec "$harness" "\$@"
STUB
chmod +x "$tmp/harness"
mkdir -p "$tmp/work/sub" && touch "$tmp/work/a.yaml" "$tmp/work/b.yml" "$tmp/work/notes.txt" \
        "$tmp/work/r.xml"
# shellcheck source=/dev/null
source "$script" || { echo "FAIL: cannot source $script"; exit 1; }
complete -p harness >/dev/null || { echo "FAIL: no completion registered for harness"; exit 1; }

# complete LINE: the words of LINE (a trailing space starts an empty word).
complete_line()
{
        read -r -a COMP_WORDS <<<"$1"
        COMP_WORDS[0]=$tmp/harness
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$1
        COMP_POINT=${#1}
        COMPREPLY=()
        _harness harness "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE WORD...: every WORD is offered; !WORD: WORD is not.
expect()
{
        local line=$1 got w
        shift
        got=$(cd "$tmp/work" && complete_line "$line")
        for w in "$@"; do
                if [[ $w == !* ]]; then
                        if grep -qxF -- "${w#!}" <<<"$got"; then
                                echo "FAIL: '$line' offers '${w#!}' (got: $(echo $got))"
                                fails=$((fails + 1))
                        fi
                elif ! grep -qxF -- "$w" <<<"$got"; then
                        echo "FAIL: '$line' does not offer '$w' (got: $(echo $got))"
                        fails=$((fails + 1))
                fi
        done
        echo "ok: '$line' -> $(echo $got | head -c 200)"
}

expect "harness " run check list shell rootfs merge ps enter stop
expect "harness r" run rootfs '!check'
expect "harness --v" --version --verbose
expect "harness -v r" run rootfs
expect "harness run --j" --jobs --junit --json '!--tag'
expect "harness run " a.yaml b.yml sub '!notes.txt' '!r.xml'
expect "harness check a" a.yaml '!b.yml'
expect "harness list -" --filter --tag --shard --json -f -t
expect "harness run --junit " r.xml sub '!a.yaml'
expect "harness merge -o out.xml " r.xml '!a.yaml'
expect "harness run -o " sub '!a.yaml'
expect "harness shell --network=" --network=none --network=host --network=veth
expect "harness shell --private-users " yes no
expect "harness shell -D " sub '!a.yaml'
expect "harness stop " h-pkg-install-works-1a2b3c4d h-pkg-purges-9f8e7d6c '!MACHINE'
expect "harness stop --timeout 5s h-pkg-p" h-pkg-purges-9f8e7d6c '!h-pkg-install-works-1a2b3c4d'
expect "harness enter h" h-pkg-install-works-1a2b3c4d h-pkg-purges-9f8e7d6c
expect "harness enter h-pkg-purges-9f8e7d6c " '!h-pkg-install-works-1a2b3c4d'
expect "harness rootfs " build update list layers path remove
expect "harness rootfs update " debian-bookworm-minbase-0123456789ab debian:bookworm '!layer-aaaabbbbcccc'
expect "harness rootfs remove " debian:bookworm layer-aaaabbbbcccc '!NAME'
expect "harness rootfs build --" --include --mirror

# Every option each command's --help lists is offered after "CMD -".
for cmd in "" $("$harness" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
        want=$("$harness" $cmd --help | grep -o -- '^ \+-[^ ,]*\(, --[^ =]*\)\?' |
                grep -o -- '--\?[A-Za-z0-9][-A-Za-z0-9]*' | sort -u)
        [[ -n $want ]] || continue
        got=$(cd "$tmp/work" && complete_line "harness $cmd -")
        for o in $want; do
                grep -qx -- "$o=\?" <<<"$got" || {
                        echo "FAIL: 'harness $cmd -' does not offer $o"
                        fails=$((fails + 1))
                }
        done
        for o in $got; do
                grep -qxF -- "${o%=}" <<<"$want" || {
                        echo "FAIL: 'harness $cmd -' offers $o, which its --help does not list"
                        fails=$((fails + 1))
                }
        done
        echo "ok: 'harness $cmd -' offers every option of its --help and no other ($(echo $want | wc -w))"
done

[[ $fails -eq 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "all completion checks passed"

# Shared helpers of the `harness run` end-to-end tests (sourced).
# Needs: $1 = the harness binary; HARNESS_TEST_ROOTFS = a Debian tree.
set -u
h=$1

skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root"
unshare --user --mount true 2>/dev/null || skip "needs user and mount namespaces"
rootfs=${HARNESS_TEST_ROOTFS:-}
[ -n "$rootfs" ] && [ -x "$rootfs/bin/sh" ] || skip "HARNESS_TEST_ROOTFS is not a tree"

work=$(mktemp -d "${TMPDIR:-/tmp}/th-run-test.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

. "$(dirname "$0")/../lib/check.sh"
check() { # check DESCRIPTION CMD...
        d=$1
        shift
        if "$@"; then ok "$d"; else bad "$d"; fi
}

# xpath FILE EXPR: prints the string value of EXPR.
xpath() { xmllint --xpath "$2" "$1" 2>/dev/null; }

# case_child FILE TEST ELEMENT: the count of ELEMENT children of testcase TEST.
case_child() { xpath "$1" "count(//testcase[@name='$2']/$3)"; }

expect_case() { # expect_case FILE TEST pass|failure|error|skipped [TYPE]
        f=$1 t=$2 want=$3 type=${4:-}
        n=$(xpath "$f" "count(//testcase[@name='$t'])")
        if [ "$n" != 1 ]; then bad "'$t': $n testcases, expected 1"; return; fi
        for el in failure error skipped; do
                c=$(case_child "$f" "$t" "$el")
                if [ "$el" = "$want" ] && [ "$c" != 1 ]; then bad "'$t': no <$el>"; return; fi
                if [ "$el" != "$want" ] && [ "$c" != 0 ]; then
                        bad "'$t': unexpected <$el> ($(xpath "$f" "string(//testcase[@name='$t']/$el/@message)"))"
                        return
                fi
        done
        if [ -n "$type" ]; then
                got=$(xpath "$f" "string(//testcase[@name='$t']/$want/@type)")
                if [ "$got" != "$type" ]; then bad "'$t': type '$got', expected '$type'"; return; fi
        fi
        ok "'$t' is $want${type:+ ($type)}"
}

# TAP parses with Perl's TAP::Parser (what prove uses) without parse errors.
tap_parses() {
        perl -MTAP::Parser -e '
                my $p = TAP::Parser->new({ source => $ARGV[0] });
                while (my $r = $p->next) { }
                my @e = $p->parse_errors;
                print STDERR "TAP: $_\n" for @e;
                exit(@e ? 1 : 0);' "$1"
}

json_parses() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1"; }

#!/bin/sh
# Network modes end to end, with only loopback and namespaces we create:
# veth (a service in the container reachable from the host on its link
# address and through --port on 127.0.0.1), none (only lo), host (the host's
# interfaces), a veth group (two containers of one run reach each other), the
# refusals, and that every link, address, namespace and pool entry is gone
# after each run. Usage: net.sh HARNESS NET-HELPER
. "$(dirname "$0")/../isolate/lib.sh"
HELPER=$(readlink -f "${2:?usage: $0 HARNESS NET-HELPER}")
need_root_and_tree
WORK=$(mktemp -d /tmp/th-net-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
NL="--bind-ro $HELPER:/usr/local/bin/nl"

net_snapshot() {
        ip -o link | sed 's/^[0-9]*: //' | awk '{ print $1 }' | sort
        ip -o addr | awk '{ print $2, $3, $4 }' | sort
        ip -o route | sort
        ip netns list 2>/dev/null
        ls /run/harness/net 2>/dev/null | grep -v '^lock$'
}
net_snapshot >"$WORK/before"
net_same() { # net_same DESCRIPTION
        net_snapshot >"$WORK/after"
        if diff "$WORK/before" "$WORK/after" >"$WORK/diff"; then
                ok "$1: no link, address, route or pool entry left"
        else
                fail "$1: the host's network changed"
                sed 's/^/#   /' "$WORK/diff"
        fi
}
# A port nobody listens on (the forwarder binds 127.0.0.1 only).
PORT=$(( 20000 + $$ % 20000 ))

# ---- veth: link address and --port ----------------------------------------
"$HARNESS" shell -D "$T" -x $NL --network=veth --port "$PORT:80" -M th-net-veth -- \
        /bin/sh -c 'nl ifaces >/tmp/ifaces; nl listen 80 hello-from-veth & sleep 60' \
        </dev/null >"$WORK/veth.out" 2>&1 &
SHELL_PID=$!
addr=""
for i in $(seq 200); do
        addr=$("$HARNESS" ps --json | grep '"name": "th-net-veth"' |
                sed 's/.*"address": "\([^"]*\)".*/\1/')
        [ -n "$addr" ] && "$HELPER" connect "$addr" 80 >"$WORK/direct" 2>/dev/null && break
        sleep 0.2
done
case $addr in
169.254.*) ok "veth: the container has the link-local address $addr" ;;
*) fail "veth: no link-local address in 'harness ps' ('$addr')" ;;
esac
if grep -qx hello-from-veth "$WORK/direct"; then
        ok "veth: the service answers on the container's link address"
else
        fail "veth: no answer from $addr:80"
fi
"$HELPER" connect 127.0.0.1 "$PORT" >"$WORK/fwd" 2>&1
if grep -qx hello-from-veth "$WORK/fwd"; then
        ok "veth: --port $PORT:80 forwards 127.0.0.1:$PORT to the service"
else
        fail "veth: nothing through 127.0.0.1:$PORT ($(cat "$WORK/fwd"))"
fi
host_if=$(ip -o addr | awk -v a="${addr%.*}." 'index($4, a) == 1 { print $2 }' | head -1)
[ -n "$host_if" ] && ok "veth: the host end '$host_if' carries the /30's other address" ||
        fail "veth: no host-side address in the container's /30"
if "$HARNESS" enter th-net-veth /bin/sh -c 'cat /tmp/ifaces' 2>&1 | sort | tr '\n' ' ' |
        grep -qx 'host0 lo '; then
        ok "veth: the container sees lo and host0 only"
else
        fail "veth: unexpected interfaces in the container"
fi
"$HARNESS" stop th-net-veth >/dev/null 2>&1
wait "$SHELL_PID"
if "$HELPER" connect 127.0.0.1 "$PORT" >/dev/null 2>&1; then
        fail "veth: 127.0.0.1:$PORT still answers after the container ended"
else
        ok "veth: the forwarder is gone with the container"
fi
net_same "veth"

# ---- none and host --------------------------------------------------------
expect_rc 0 "none: only lo" -- "$HARNESS" shell -D "$T" -x $NL -- /bin/sh -c \
        'test "$(nl ifaces | tr "\n" " ")" = "lo "'
host_ifaces=$(ip -o link | sed 's/^[0-9]*: //' | awk -F'[:@]' '{ print $1 }' | sort | tr '\n' ' ')
"$HARNESS" shell -D "$T" -x $NL --network=host -- nl ifaces </dev/null >"$WORK/host" 2>&1
got=$(sort "$WORK/host" | tr '\n' ' ')
if [ "$got" = "$host_ifaces" ]; then
        ok "host: the container sees the host's interfaces ($got)"
else
        fail "host: '$got', the host has '$host_ifaces'"
fi
# host: the host's resolver, a read-only copy bound over the tree's; a run's
# bind of its own resolv.conf wins; nothing is written back.
host_sum=$(sha256sum </etc/resolv.conf)
"$HARNESS" shell -D "$T" -x --network=host -- /bin/sh -c \
        'cat /etc/resolv.conf; grep -c " /etc/resolv.conf .*ro," /proc/self/mountinfo;
         echo appended >>/etc/resolv.conf && echo WROTE' </dev/null >"$WORK/resolv" 2>&1
if head -n "$(wc -l </etc/resolv.conf)" "$WORK/resolv" | cmp -s - /etc/resolv.conf &&
        grep -qx 1 "$WORK/resolv"; then
        ok "host: /etc/resolv.conf is the host's, bound read-only"
else
        fail "host: not the host's resolv.conf, read-only: $(cat "$WORK/resolv")"
fi
grep -q "Read-only file system" "$WORK/resolv" && ! grep -q WROTE "$WORK/resolv" &&
        ok "host: a write to /etc/resolv.conf is refused (the write was tried)" ||
        fail "host: the container wrote its resolv.conf"
[ "$(sha256sum </etc/resolv.conf)" = "$host_sum" ] && ok "host: the host's resolv.conf is unchanged" ||
        fail "host: the host's resolv.conf changed"
ls /tmp | grep -q '^harness-resolv-' && fail "host: the resolv.conf copy was left in /tmp" ||
        ok "host: the resolv.conf copy is removed"
echo "nameserver 192.0.2.53" >"$WORK/own-resolv"
cat >"$WORK/resolv.yaml" <<YAML
name: resolv
rootfs: $T
defaults: {boot: false, timeout: 60, network: host}
tests:
  - name: host-copy
    run: grep -q . /etc/resolv.conf && ! grep -q 192.0.2.53 /etc/resolv.conf && ! touch /etc/resolv.conf
  - name: own
    fixtures: ["$WORK/own-resolv:/etc/resolv.conf"]
    run: grep -qx "nameserver 192.0.2.53" /etc/resolv.conf
YAML
expect_rc 0 "run: network host gets the host's resolver, a fixture's wins" -- \
        "$HARNESS" run -j 2 -o "$WORK/resolvout" "$WORK/resolv.yaml"
[ ! -e "$WORK/resolvout/.resolv.conf" ] && ok "run: the run's resolv.conf copy is removed" ||
        fail "run: .resolv.conf left in the output directory"
# A name the host resolves, the container resolves (only when the host can).
if getent hosts deb.debian.org >/dev/null 2>&1; then
        expect_rc 0 "host: DNS resolves in the container" -- \
                "$HARNESS" shell -D "$T" -x --network=host -- getent hosts deb.debian.org
else
        echo "# skip: the host resolves no names; DNS in the container not tried"
fi
net_same "none and host"

# ---- a veth group: two containers of one run ------------------------------
# The suite's fixtures lie in its own tree (the helper is copied beside it).
cp "$HELPER" "$WORK/nl"
cat >"$WORK/group.yaml" <<YAML
name: netgroup
rootfs: $T
defaults:
  boot: false
  timeout: 120
  network: {veth: pair}
  fixtures:
    - nl:/usr/local/bin/nl
tests:
  - name: server
    run: nl once 7000 from-the-server
  - name: client
    run: nl scan 7000 | grep -x from-the-server
YAML
expect_rc 0 "group: the client reaches the server in the same group" -- \
        "$HARNESS" run -j 2 -o "$WORK/runout" "$WORK/group.yaml"
net_same "group (bridge removed)"

# ---- a killed harness: the next container sweeps what it left -------------
"$HARNESS" shell -D "$T" -x --network=veth --network-group th-killed -- /bin/sh -c 'sleep 120' \
        </dev/null >/dev/null 2>&1 &
victim=$!
for i in $(seq 100); do
        ls /run/harness/net 2>/dev/null | grep -q '^group-' && break
        sleep 0.1
done
sleep 0.5
kill -9 "$victim"
wait "$victim" 2>/dev/null
for i in $(seq 50); do # the kernel frees the container's namespace asynchronously
        ip -o link | grep -q ' hv' || break
        sleep 0.1
done
expect_rc 0 "after a SIGKILLed harness, the next container starts" -- \
        "$HARNESS" shell -D "$T" -x -- true
net_same "the killed harness's bridge and pool entries swept"

# ---- refusals -------------------------------------------------------------
expect_rc 2 "--port without --network=veth is refused" -- \
        "$HARNESS" shell -D "$T" --port 8080:80 -- true
grep -q "need --network=veth" "$WORK/err" && ok "... and says so" || fail "no message"
expect_rc 2 "a bad --port is refused" -- "$HARNESS" shell -D "$T" --network=veth --port 0:80 true
expect_rc 2 "an unknown network mode is refused" -- "$HARNESS" shell -D "$T" --network=bridge true
nc_port=$((PORT + 1))
"$HELPER" listen "$nc_port" busy >/dev/null 2>&1 &
busy=$!
sleep 0.5
expect_rc 3 "a --port already taken on the host fails setup" -- \
        "$HARNESS" shell -D "$T" -x --network=veth --port "$nc_port:80" -- true
grep -q "127.0.0.1:$nc_port" "$WORK/err" && ok "... naming the port" || fail "no port in '$(cat "$WORK/err")'"
kill "$busy"
wait "$busy" 2>/dev/null
net_same "after the refusals"

finish

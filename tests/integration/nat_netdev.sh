#!/usr/bin/env bash
# nat on a netdev: nat1 attached to the host end of b's veth (10.232.2.254
# on it), the host itself the client, its flows sent from 10.232.9.1 (an
# address of this test on lo). At TC, XDP_SKB and XDP_DRV (at XDP the
# egress runs the TC build, at TC egress, on the same pinned table): with
# masquerade, b's echo servers see the netdev's address and the host gets
# the echoes (UDP and TCP; the host's own segments leave with checksum
# offload, which the TC helpers keep right); the natting-table lists them;
# the netdev's address changes and masquerade follows; an SNAT entry to
# another address (one b can reach: a second address of the netdev).
source "$(dirname "$0")/../lib/mesh.sh"

SRC=10.232.9.1
cleanup_src() { ip addr del "$SRC/32" dev lo 2>/dev/null; return 0; }
trap 'rc=$?; cleanup_src; (exit $rc); cm_cleanup' EXIT

cm_mesh_start nat
cm_host b 10.232.2.1/24; IFB=$CM_IF
NSB=$(cm_ns b)
ip netns exec "$NSB" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
ip addr add "$SRC/32" dev lo

cat >"$CM_TMP/echo.py" <<'EOF'
import socket, sys, threading
log = open(sys.argv[2], "a", buffering=1)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], 7000))
    while True:
        d, peer = s.recvfrom(2048)
        log.write("udp %s:%d\n" % peer)
        try:
            s.sendto(d, peer)
        except OSError:
            pass
def tcp_conn(c, peer):
    log.write("tcp %s:%d\n" % peer)
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
threading.Thread(target=udp, daemon=True).start()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7001))
s.listen(16)
while True:
    c, peer = s.accept()
    threading.Thread(target=tcp_conn, args=(c, peer), daemon=True).start()
EOF
ip netns exec "$NSB" python3 "$CM_TMP/echo.py" 10.232.2.1 "$CM_TMP/b.peers" >"$CM_TMP/echo_b.log" 2>&1 &
CM_PIDS+=("$!")

# udp_echo TEXT [TRIES], tcp_echo TEXT: from $SRC to b; print the echo.
udp_echo() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(1)
for _ in range(int(sys.argv[3])):
    s.sendto(sys.argv[2].encode(), ("10.232.2.1", 7000))
    try:
        print(s.recv(100).decode()); break
    except socket.timeout:
        pass' "$SRC" "$1" "${2:-3}" 2>/dev/null
}
# 200 KB each way: full-size segments, offloaded checksums.
tcp_echo() {
	python3 -c '
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(3)
s.connect(("10.232.2.1", 7001))
data = sys.argv[2].encode() * (200000 // len(sys.argv[2]))
s.sendall(data)
got = b""
while len(got) < len(data):
    b = s.recv(65536)
    if not b:
        break
    got += b
print(sys.argv[2] if got == data else "corrupt")' "$SRC" "$1" 2>/dev/null
}
last_peer() { grep "^$1 " "$CM_TMP/b.peers" 2>/dev/null | tail -n1 | cut -d' ' -f2 | cut -d: -f1; }
says() { [ "$1" = "$2" ]; }
table() {
	$PCNCTL -j nat1 natting-table show 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print(e["internal-src"], e["internal-sport"], e["internal-dst"], e["internal-dport"], e["proto"],
          e.get("originating-rule"), e.get("external-ip"), e.get("external-port"))' 2>/dev/null
}

for hook in ${NAT_HOOKS:-TC XDP_SKB XDP_DRV}; do
	cm_log "---- $hook"
	: >"$CM_TMP/b.peers"
	ip addr flush dev "$IFB"
	ip addr add 10.232.2.254/24 dev "$IFB"
	if ! $PCNCTL nat add nat1 type=$hook >/dev/null; then
		cm_check "$hook: create nat1" false
		continue
	fi
	cm_check "$hook: attach nat1 to $IFB" $PCNCTL attach nat1 "$IFB"
	out=$(udp_echo untranslated 1)
	cm_check "$hook: no rule: b cannot answer $SRC ($out)" [ -z "$out" ]
	cm_check "$hook: rule masquerade enable" $PCNCTL nat1 rule masquerade enable
	out=$(udp_echo hello-udp)
	cm_check "$hook: UDP echo ($out)" says "$out" hello-udp
	cm_check "$hook: b saw 10.232.2.254 ($(last_peer udp))" says "$(last_peer udp)" 10.232.2.254
	out=$(tcp_echo hello-tcp)
	cm_check "$hook: 200 KB of TCP each way, intact ($out)" says "$out" hello-tcp
	cm_check "$hook: b saw 10.232.2.254 ($(last_peer tcp))" says "$(last_peer tcp)" 10.232.2.254
	T=$(table)
	cm_check "$hook: natting-table: the UDP and TCP flows" \
		bash -c "grep -q '^$SRC [0-9]* 10.232.2.1 7000 udp masquerade 10.232.2.254 ' <<<'$T' &&
			 grep -q '^$SRC [0-9]* 10.232.2.1 7001 tcp masquerade 10.232.2.254 ' <<<'$T'"

	# The netdev's address changes: masquerade follows (the broker polls
	# each second).
	ip addr del 10.232.2.254/24 dev "$IFB"
	ip addr add 10.232.2.253/24 dev "$IFB"
	ok=0
	for _ in $(seq 30); do
		[ "$(udp_echo moved 1)" = moved ] && [ "$(last_peer udp)" = 10.232.2.253 ] && { ok=1; break; }
		sleep 0.2
	done
	cm_check "$hook: masquerade follows the netdev's address: b sees $(last_peer udp)" [ $ok = 1 ]

	# SNAT to a second address of the netdev, before masquerade.
	ip addr add 10.232.2.250/24 dev "$IFB"
	cm_check "$hook: rule snat entry add 1" $PCNCTL nat1 rule snat entry add 1 \
		internal-net=$SRC/32 external-ip=10.232.2.250
	out=$(udp_echo by-snat)
	cm_check "$hook: SNAT: echo ($out), b saw $(last_peer udp)" \
		[ "$out" = by-snat -a "$(last_peer udp)" = 10.232.2.250 ]
	cm_check "$hook: delete nat1" $PCNCTL nat1 del
done
cm_done

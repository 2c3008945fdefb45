#!/usr/bin/env bash
# nat, as Polycube uses it: a router r1 between an inside host a
# (10.231.1.1, behind p1) and an outside server b (10.231.2.1, on p2), and
# nat1 attached to r1:p2 (the external side) with masquerade on. At each
# hook (TC, XDP_SKB, XDP_DRV): b's UDP and TCP echo servers see the
# router port's address, never a's, and a gets the echoes; ping works
# through it (echo id); UDP to a closed port of b comes back to a as port
# unreachable (ICMP error translated inside and out); the natting-table
# lists the flows; 10,000 UDP flows from 200 sources of a to one port of
# b: b sees 10,000 distinct external ports and every echo comes back to
# its own flow; the port's address changes and new flows follow it;
# port forwarding makes a's server reachable from b. At XDP_DRV, pcn-nat
# is killed and started again under an open TCP connection: it goes on,
# and the table still lists it. b has no route to a's network: nothing
# reaches a from b untranslated.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start router nat
cm_host a 10.231.1.1/24; IFA=$CM_IF
cm_host b 10.231.2.1/24; IFB=$CM_IF
NSA=$(cm_ns a)
NSB=$(cm_ns b)
for ns in "$NSA" "$NSB"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
ip -n "$NSA" route add default via 10.231.1.254
# b answers only on its own subnet: 10.231.1.0/24 is unknown there.
# 200 more sources on a for the 10,000 flows (10.231.1.10-209).
for i in $(seq 10 209); do echo "addr add 10.231.1.$i/24 dev eth0"; done | ip -n "$NSA" -batch -

# b: a UDP and a TCP echo server that log each peer ("udp ip:port").
cat >"$CM_TMP/echo.py" <<'EOF'
import socket, sys, threading
log = open(sys.argv[2], "a", buffering=1)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((sys.argv[1], 7000))
    while True:
        d, peer = s.recvfrom(2048)
        if not d.startswith(b"gen"):
            log.write("udp %s:%d\n" % peer)
        try:
            s.sendto(d, peer)
        except OSError:
            pass  # no route back: an untranslated datagram
def tcp_conn(c, peer):
    log.write("tcp %s:%d\n" % peer)
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(d)
    c.close()
def tcp():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[3])))
    s.listen(16)
    while True:
        c, peer = s.accept()
        threading.Thread(target=tcp_conn, args=(c, peer), daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
tcp()
EOF
ip netns exec "$NSB" python3 "$CM_TMP/echo.py" 10.231.2.1 "$CM_TMP/b.peers" 7001 >"$CM_TMP/echo_b.log" 2>&1 &
CM_PIDS+=("$!")
# a: the TCP server port forwarding reaches (8080).
ip netns exec "$NSA" python3 "$CM_TMP/echo.py" 10.231.1.1 "$CM_TMP/a.peers" 8080 >"$CM_TMP/echo_a.log" 2>&1 &
CM_PIDS+=("$!")

# udp_echo NS DST PORT TEXT [TRIES]: sends TEXT, prints the echo (or
# nothing); a try waits 1 s.
udp_echo() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(int(sys.argv[4])):
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(100).decode()); break
    except socket.timeout:
        pass' "$2" "$3" "$4" "${5:-3}" 2>/dev/null
}
# tcp_echo NS DST PORT TEXT [TIMEOUT]
tcp_echo() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[4]))
s.sendall(sys.argv[3].encode())
print(s.recv(100).decode())' "$2" "$3" "$4" "${5:-3}" 2>/dev/null
}
# refused NS DST PORT: a UDP datagram to a closed port gets port unreachable.
refused() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((sys.argv[1], int(sys.argv[2])))
for _ in range(3):
    s.send(b"x")
    try:
        s.recv(10)
    except ConnectionRefusedError:
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' "$2" "$3" 2>/dev/null
}
# peer_of PROTO TEXT_MARK: who b logged last for that protocol.
last_peer() { grep "^$1 " "$CM_TMP/b.peers" 2>/dev/null | tail -n1 | cut -d' ' -f2 | cut -d: -f1; }
says() { [ "$1" = "$2" ]; }

# The 10,000-flow generator on a: 200 sources x 50 ports, raw UDP with
# our own headers, two rounds (the first also makes the router learn each
# source); prints the number of flows whose echo came back to them.
cat >"$CM_TMP/gen.py" <<'EOF'
import socket, struct, sys, time
dst, dport = sys.argv[1], int(sys.argv[2])
srcs = ["10.231.1.%d" % i for i in range(10, 210)]
flows = [(s, 20000 + p) for s in srcs for p in range(50)]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def pkt(src, sport):
    payload = b"gen%s:%d" % (src.encode(), sport)
    ulen = 8 + len(payload)
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    u = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(sa + da + struct.pack("!BBH", 0, 17, ulen) + u) or 0xffff
    u = struct.pack("!HHHH", sport, dport, ulen, c) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, 64, 17, 0, sa, da)
    return ip + u
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
rx.setblocking(False)
got = set()
def drain():
    while True:
        try:
            d = rx.recv(2048)
        except BlockingIOError:
            return
        ihl = (d[0] & 15) * 4
        sport, dp = struct.unpack("!HH", d[ihl:ihl + 4])
        daddr = socket.inet_ntoa(d[16:20])
        if sport == dport and d[ihl + 8:].startswith(b"gen%s:%d" % (daddr.encode(), dp)):
            got.add((daddr, dp))
pkts = [pkt(s, p) for s, p in flows]
for rnd in range(3):
    for i, (f, b) in enumerate(zip(flows, pkts)):
        if f in got:
            continue
        tx.sendto(b, (dst, 0))
        if i % 64 == 0:
            drain()
            time.sleep(0.001)
    # Until every echo came, or none for 0.5 s.
    last, n = time.time(), len(got)
    while time.time() - last < 0.5 and len(got) < len(flows):
        drain()
        if len(got) != n:
            last, n = time.time(), len(got)
        time.sleep(0.02)
    if len(got) == len(flows):
        break
print(len(got))
for f in [f for f in flows if f not in got][:5]:
    print("missing %s:%d" % f, file=sys.stderr)
EOF
# distinct_ports: how many distinct source ports b saw the generator from.
cat >"$CM_TMP/count.py" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
peers, flows, last = set(), set(), time.time()
open(sys.argv[4], "w").write("ready\n")
deadline = time.time() + float(sys.argv[3])
# Until the generator is done (the file argv[5] exists), or the deadline.
while time.time() < deadline and not os.path.exists(sys.argv[5]):
    try:
        d, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    last = time.time()
    peers.add(peer)
    flows.add(d)
    s.sendto(d, peer)
# "distinct external (ip, port) seen" "distinct inside flows" "ips seen"
print(len(peers), len(flows), ",".join(sorted({p[0] for p in peers})))
EOF

# Polycube's test scripts call it so.
polycubectl() { $PCNCTL "$@"; }

# natting-table rows as "src sport dst dport proto rule extip extport".
table() {
	$PCNCTL -j nat1 natting-table show 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print(e["internal-src"], e["internal-sport"], e["internal-dst"], e["internal-dport"], e["proto"],
          e.get("originating-rule"), e.get("external-ip"), e.get("external-port"))' 2>/dev/null
}

# A TCP connection from a kept open across a restart of pcn-nat: it sends
# a line whenever the file it is given grows and logs the echoes.
cat >"$CM_TMP/long.py" <<'EOF'
import socket, sys, time, os
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
out = open(sys.argv[4], "a", buffering=1)
seen = 0
end = time.time() + 60
while time.time() < end:
    n = os.path.getsize(sys.argv[3]) if os.path.exists(sys.argv[3]) else 0
    if n > seen:
        seen = n
        s.sendall(b"round%d" % n)
        try:
            out.write(s.recv(100).decode() + "\n")
        except socket.timeout:
            out.write("timeout\n")
    time.sleep(0.05)
EOF

for hook in ${NAT_HOOKS:-TC XDP_SKB XDP_DRV}; do
	cm_log "---- $hook"
	EXT=10.231.2.254
	# (truncated, not removed: the servers keep them open)
	: >"$CM_TMP/b.peers"
	: >"$CM_TMP/a.peers"
	cm_check "$hook: create r1" $PCNCTL router add r1 type=$hook
	cm_check "$hook: r1 p1" $PCNCTL r1 ports add p1 ip=10.231.1.254/24 peer=$IFA
	cm_check "$hook: r1 p2" $PCNCTL r1 ports add p2 ip=$EXT/24 peer=$IFB
	if ! $PCNCTL nat add nat1 type=$hook >/dev/null; then
		cm_check "$hook: create nat1" false
		$PCNCTL r1 del >/dev/null
		continue
	fi
	cm_check "$hook: attach nat1 to r1:p2" $PCNCTL attach nat1 r1:p2
	out=$(udp_echo "$NSA" 10.231.2.1 7000 x 1)
	cm_check "$hook: without a rule b cannot answer a" [ -z "$out" ]
	# Polycube's own forms of the actions (pcnctl POSTs them).
	cm_check "$hook: rule masquerade enable" $PCNCTL nat1 rule masquerade enable
	cm_check "$hook: rule masquerade show: enabled (the enable action wrote it)" \
		bash -c "$PCNCTL -j nat1 rule masquerade show | grep -q '\"enabled\": true'"

	out=$(udp_echo "$NSA" 10.231.2.1 7000 hello-udp)
	cm_check "$hook: UDP echo through the NAT ($out)" says "$out" hello-udp
	cm_check "$hook: b saw the UDP from $EXT ($(last_peer udp))" says "$(last_peer udp)" $EXT
	out=$(tcp_echo "$NSA" 10.231.2.1 7001 hello-tcp)
	cm_check "$hook: TCP echo through the NAT ($out)" says "$out" hello-tcp
	cm_check "$hook: b saw the TCP from $EXT ($(last_peer tcp))" says "$(last_peer tcp)" $EXT
	cm_check "$hook: ping a -> b (echo id translated)" cm_ping a 10.231.2.1 2
	cm_check "$hook: UDP to a closed port of b: port unreachable reaches a" refused "$NSA" 10.231.2.1 7999
	T=$(table)
	cm_check "$hook: natting-table: the UDP flow, masquerade, $EXT" \
		grep -qE "^10.231.1.1 [0-9]+ 10.231.2.1 7000 udp masquerade $EXT [0-9]+$" <<<"$T"
	cm_check "$hook: natting-table: the TCP and ICMP flows" \
		bash -c "grep -q ' 7001 tcp masquerade ' <<<'$T' && grep -q ' icmp masquerade ' <<<'$T'"

	# 10,000 flows from 200 sources to one port of b.
	rm -f "$CM_TMP/count.ready" "$CM_TMP/gen.done"
	ip netns exec "$NSB" python3 "$CM_TMP/count.py" 10.231.2.1 7002 20 "$CM_TMP/count.ready" \
		"$CM_TMP/gen.done" >"$CM_TMP/count.out" 2>&1 &
	CPID=$!
	for _ in $(seq 50); do [ -s "$CM_TMP/count.ready" ] && break; sleep 0.1; done
	got=$(ip netns exec "$NSA" python3 "$CM_TMP/gen.py" 10.231.2.1 7002 2>"$CM_TMP/gen.err")
	touch "$CM_TMP/gen.done"
	wait $CPID
	read -r nports nflows ips <"$CM_TMP/count.out"
	cm_check "$hook: 10,000 flows: every echo came back to its flow ($got)" [ "$got" = 10000 ]
	[ "$got" = 10000 ] || { cat "$CM_TMP/gen.err"; bpftool map dump pinned "$CM_BPFFS/cubes/nat/nat1/nat_ctr"; }
	cm_check "$hook: b saw 10,000 flows from 10,000 distinct ports ($nflows flows, $nports ports)" \
		[ "$nflows" = 10000 -a "$nports" = 10000 ]
	cm_check "$hook: all from $EXT ($ips)" says "$ips" $EXT
	n=$(table | grep -c " 7002 udp masquerade $EXT ")
	cm_check "$hook: natting-table: 10,000 rows for them ($n)" [ "$n" = 10000 ]

	# The parent's address changes: new flows follow it.
	EXT=10.231.2.253
	cm_check "$hook: r1 p2 gets $EXT" $PCNCTL r1 ports p2 set ip=$EXT/24
	ok=0
	for _ in $(seq 30); do
		[ "$(udp_echo "$NSA" 10.231.2.1 7000 moved)" = moved ] && [ "$(last_peer udp)" = $EXT ] && { ok=1; break; }
		sleep 0.2
	done
	cm_check "$hook: masquerade follows: b sees $EXT ($(last_peer udp))" [ $ok = 1 ]
	n=$(table | grep -c " masquerade 10.231.2.254 ")
	cm_check "$hook: the flows masqueraded to the old address are gone ($n left)" [ "$n" = 0 ]

	# Port forwarding: b reaches a's server on $EXT:80.
	out=$(tcp_echo "$NSB" $EXT 80 x 1)
	cm_check "$hook: without the rule b cannot reach a" [ -z "$out" ]
	cm_check "$hook: rule port-forwarding append" $PCNCTL nat1 rule port-forwarding append \
		external-ip=$EXT external-port=80 internal-ip=10.231.1.1 internal-port=8080 proto=tcp
	out=$(tcp_echo "$NSB" $EXT 80 forwarded)
	cm_check "$hook: port forwarding: b reaches a's server ($out)" says "$out" forwarded
	cm_check "$hook: a's server saw b itself" grep -q "^tcp 10.231.2.1:" "$CM_TMP/a.peers"
	T=$(table)
	cm_check "$hook: natting-table: the forwarded flow" \
		grep -qE "^10.231.1.1 8080 10.231.2.1 [0-9]+ tcp portforwarding $EXT 80$" <<<"$T"

	# Rules through the configuration: an SNAT entry takes precedence over
	# masquerade; the enabled leaf turns masquerade off.
	cm_check "$hook: rule snat entry add 1" $PCNCTL nat1 rule snat entry add 1 \
		internal-net=10.231.1.0/24 external-ip=$EXT
	out=$(udp_echo "$NSA" 10.231.2.1 7000 by-snat)
	cm_check "$hook: SNAT rule: echo ($out)" says "$out" by-snat
	cm_check "$hook: natting-table: a flow of the SNAT rule" grep -q " 7000 udp snat $EXT " <<<"$(table)"
	cm_check "$hook: rule snat entry del 1" $PCNCTL nat1 rule snat entry del 1
	cm_check "$hook: rule masquerade set enabled=false" $PCNCTL nat1 rule masquerade set enabled=false
	out=$(udp_echo "$NSA" 10.231.2.1 7000 bare 1)
	cm_check "$hook: masquerade off: no echo ($out), b saw a itself ($(last_peer udp))" \
		[ -z "$out" -a "$(last_peer udp)" = 10.231.1.1 ]
	cm_check "$hook: rule masquerade set enabled=true" $PCNCTL nat1 rule masquerade set enabled=true

	if [ "$hook" = XDP_DRV ]; then
		cm_log "restart pcn-nat under an open TCP connection"
		: >"$CM_TMP/tick"
		rm -f "$CM_TMP/long.out"
		ip netns exec "$NSA" python3 "$CM_TMP/long.py" 10.231.2.1 7001 "$CM_TMP/tick" "$CM_TMP/long.out" &
		LPID=$!
		CM_PIDS+=("$LPID")
		echo 1 >>"$CM_TMP/tick"
		for _ in $(seq 30); do [ -s "$CM_TMP/long.out" ] && break; sleep 0.1; done
		cm_check "$hook: the long connection is up" grep -q "^round2$" "$CM_TMP/long.out"
		kill -9 "${CM_CUBE_PID[nat]}"
		wait "${CM_CUBE_PID[nat]}" 2>/dev/null
		cm_check "$hook: pcn-nat comes back" cm_cube_start nat
		echo 1 >>"$CM_TMP/tick"
		for _ in $(seq 30); do [ "$(wc -l <"$CM_TMP/long.out")" -ge 2 ] && break; sleep 0.1; done
		cm_check "$hook: the connection goes on after the restart" grep -q "^round4$" "$CM_TMP/long.out"
		cm_check "$hook: natting-table still lists it" grep -q " 7001 tcp masquerade $EXT " <<<"$(table)"
		out=$(udp_echo "$NSA" 10.231.2.1 7000 after)
		cm_check "$hook: new flows after the restart ($out)" says "$out" after
		kill "$LPID" 2>/dev/null
	fi
	# Polycube's test_all_pf, its rule commands as written there: an
	# address nobody has (10.231.3.1) is a's, both ways.
	ip -n "$NSB" route replace 10.231.3.0/24 via $EXT
	cm_check "$hook: polycubectl nat1 rule snat append ..." polycubectl nat1 rule snat append \
		internal-net=10.231.1.1/32 external-ip=10.231.3.1
	cm_check "$hook: polycubectl nat1 rule dnat append ..." polycubectl nat1 rule dnat append \
		external-ip=10.231.3.1 internal-ip=10.231.1.1
	cm_check "$hook: the appended rules are in the configuration (rule dnat entry 0, rule snat entry 0)" \
		bash -c "$PCNCTL -j nat1 rule dnat entry 0 show | grep -q '\"internal-ip\": \"10.231.1.1\"' &&
			 $PCNCTL -j nat1 rule snat entry 0 show | grep -q '\"external-ip\": \"10.231.3.1\"'"
	cm_check "$hook: DNAT: b pings 10.231.3.1, a answers" \
		ip netns exec "$NSB" ping -c 2 -i 0.2 -W 1 -q 10.231.3.1
	out=$(tcp_echo "$NSB" 10.231.3.1 8080 dnat)
	cm_check "$hook: DNAT: b reaches a's server on 10.231.3.1 ($out)" says "$out" dnat
	cm_check "$hook: natting-table: the DNAT flow" \
		grep -qE "^10.231.1.1 8080 10.231.2.1 [0-9]+ tcp dnat 10.231.3.1 8080$" <<<"$(table)"
	out=$(udp_echo "$NSA" 10.231.2.1 7000 snat-appended)
	cm_check "$hook: the appended SNAT rule (a /32) wins over masquerade: b saw $(last_peer udp)" \
		[ "$out" = snat-appended -a "$(last_peer udp)" = 10.231.3.1 ]
	ip -n "$NSB" route del 10.231.3.0/24

	cm_check "$hook: delete nat1" $PCNCTL nat1 del
	cm_check "$hook: delete r1" $PCNCTL r1 del
done
cm_done

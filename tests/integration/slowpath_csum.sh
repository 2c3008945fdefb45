#!/usr/bin/env bash
# A TCP or UDP segment whose checksum the sending host left to offload
# (CHECKSUM_PARTIAL: the default over a veth, tx checksumming on) that a
# simplebridge at TC floods through the slow path (destination MAC not in
# the fdb) must leave with a correct checksum: the fast path copies the
# frame up as the kernel holds it, with only the pseudo-header sum in the
# field, and the AF_PACKET send out has no offload to complete it. Before
# the fix SYNs to unlearned MACs timed out while pings worked. A frame
# crafted with a wrong checksum is not "fixed".
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start simplebridge
cm_host a 10.207.0.1/24; IFA=$CM_IF
cm_host b 10.207.0.2/24; IFB=$CM_IF
NSA=$(cm_ns a); NSB=$(cm_ns b)
# No IPv6 chatter: b must send nothing the bridge could learn its MAC from
# until the TCP part, so that every frame to b is flooded by the slow path.
for ns in "$NSA" "$NSB"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
mac_of() { ip -n "$1" link show eth0 | awk '/ether/ {print $2}'; }
MACA=$(mac_of "$NSA"); MACB=$(mac_of "$NSB")
# Static neighbours: no ARP, so the first frame to b is the one tested.
ip -n "$NSA" neigh replace 10.207.0.2 dev eth0 lladdr "$MACB"
ip -n "$NSB" neigh replace 10.207.0.1 dev eth0 lladdr "$MACA"
cm_check "a's eth0 has tx checksum offload on (the default)" \
	bash -c "ip netns exec $NSA ethtool -k eth0 | grep -q '^tx-checksumming: on'"
metric() { curl -s "${PCN_URL}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
completed() { metric cubemesh_slowpath_csum_completed_packets_total; }

cm_check "create br1 (TC)" $PCNCTL simplebridge add br1 type=TC
cm_check "port pa" $PCNCTL br1 ports add pa peer=$IFA
cm_check "port pb" $PCNCTL br1 ports add pb peer=$IFB
fdb_has_b() { $PCNCTL -j br1 fdb entry show 2>/dev/null | grep -qi "$MACB"; }

# udp_recv PORT N SECONDS: what b's socket receives (N datagrams at most),
# one payload a line; $CM_TMP/ready.PORT once it listens (a datagram to a
# closed port would make b answer, and the bridge learn b).
udp_recv() {
	ip netns exec "$NSB" timeout "$3" python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.207.0.2', $1))
open('$CM_TMP/ready.$1', 'w').close()
s.settimeout($3 - 1)
try:
    for _ in range($2):
        print(s.recv(2048).decode(errors='replace'), flush=True)
except socket.timeout:
    pass" 2>/dev/null
}

wait_ready() { for _ in $(seq 50); do [ -e "$CM_TMP/ready.$1" ] && return 0; sleep 0.1; done; return 1; }
flush_fdb() { curl -s -o /dev/null -X POST "${PCN_URL}simplebridge/br1/fdb/flush"; }

# 1. A UDP datagram from a's stack (checksum left to offload).
c0=$(completed)
udp_recv 5001 1 6 >"$CM_TMP/udp.out" &
RX=$!
wait_ready 5001
ip netns exec "$NSA" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'offloaded-udp', ('10.207.0.2', 5001))"
wait $RX
cm_check_not "the fdb does not know b: the datagram was flooded by the slow path" fdb_has_b
cm_check "a UDP datagram with its checksum left to offload arrives ($(cat "$CM_TMP/udp.out"))" \
	grep -qx offloaded-udp "$CM_TMP/udp.out"
cm_check "the broker completed its checksum ($c0 -> $(completed))" [ "$(completed)" -gt "${c0:-0}" ]

# 2. Frames crafted on a raw socket (no offload: what is in the field
# leaves): a correct checksum arrives, a wrong one must not.
craft() { # PAYLOAD CHECKSUM_XOR
	ip netns exec "$NSA" python3 - "$1" "$2" "$MACA" "$MACB" <<'PY'
import socket, struct, sys
payload, xor, src, dst = sys.argv[1].encode(), int(sys.argv[2], 0), sys.argv[3], sys.argv[4]
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
sip, dip = socket.inet_aton('10.207.0.1'), socket.inet_aton('10.207.0.2')
ulen = 8 + len(payload)
udp = struct.pack('!HHHH', 40000, 5002, ulen, 0) + payload
pseudo = sip + dip + struct.pack('!BBH', 0, 17, ulen)
good = (~csum(pseudo + udp)) & 0xffff or 0xffff
bad = good ^ xor
assert bad != csum(pseudo)  # not the offload form: nothing may "complete" it
udp = udp[:6] + struct.pack('!H', bad) + udp[8:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 1, 0, 64, 17, 0, sip, dip)
ip = ip[:10] + struct.pack('!H', (~csum(ip)) & 0xffff) + ip[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
s.send(mac(dst) + mac(src) + b'\x08\x00' + ip + udp)
PY
}
c1=$(completed)
flush_fdb
udp_recv 5002 2 6 >"$CM_TMP/raw.out" &
RX=$!
wait_ready 5002
craft crafted-bad 0x1234
craft crafted-good 0
wait $RX
cm_check "a crafted frame with a correct checksum arrives" grep -qx crafted-good "$CM_TMP/raw.out"
cm_check_not "a crafted frame with a wrong checksum is not fixed ($(tr '\n' ' ' <"$CM_TMP/raw.out"))" \
	grep -qx crafted-bad "$CM_TMP/raw.out"
cm_check "the broker completed neither ($c1 -> $(completed))" [ "$(completed)" = "$c1" ]

# 3. A TCP connection: its SYN is flooded (b unknown), then b answers.
ip netns exec "$NSB" timeout 8 python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.207.0.2', 5003)); s.listen(1)
open('$CM_TMP/ready.5003', 'w').close()
c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()" 2>/dev/null &
SRV=$!
wait_ready 5003
flush_fdb
cm_check_not "the fdb does not know b before the SYN" fdb_has_b
got=$(ip netns exec "$NSA" timeout 6 python3 -c "
import socket
s = socket.create_connection(('10.207.0.2', 5003), timeout=4)
s.sendall(b'hello through the slow path'); print(s.recv(100).decode())" 2>&1)
wait $SRV
cm_check "a TCP connection through the slow-path flood succeeds (${got:0:80})" \
	[ "$got" = "HELLO THROUGH THE SLOW PATH" ]
cm_check "delete br1" $PCNCTL br1 del
cm_done

#!/usr/bin/env bash
# router for each hook, as a polycubectl user drives it: one router between
# three subnets (hosts a, b, c behind ports p1, p2, p3). The port addresses
# read back as given, MACs are generated; the router answers ARP and ping
# for its addresses; a host that has not spoken yet is resolved by ARP
# while its first packet waits; connected routes are listed with their
# ports; a static route's interface is computed from its next hop, and
# deleting it stops exactly that traffic (ICMP net unreachable, counted);
# secondary addresses route and answer; TTL 1 gets time exceeded, UDP to
# the router port unreachable, a host that never answers ARP host
# unreachable; static ARP entries through the model; learned ARP entries
# survive a restart of pcn-router, and age.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start router
cm_host a 10.210.1.1/24; IFA=$CM_IF
cm_host b 10.210.2.1/24; IFB=$CM_IF
cm_host c 10.210.3.1/24; IFC=$CM_IF
i=1
for h in a b c; do
	# No IPv6 chatter; every host routes through the router.
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
	ip -n "$(cm_ns $h)" route add default via 10.210.$i.254
	i=$((i + 1))
done
# A network behind c (a static route's next hop), and a second address of
# a on the secondary subnet.
ip -n "$(cm_ns c)" addr add 10.210.9.1/32 dev lo
ip -n "$(cm_ns a)" addr add 10.210.4.1/24 dev eth0
# A TCP transfer through the router (full-size segments both ways; at XDP
# the broker turns the senders' offloads off): a server on a sends 500 KB
# to whoever connects (no name lookups: c must stay silent until the ARP
# check below).
head -c 500000 /dev/urandom >"$CM_TMP/blob"
SUM=$(md5sum <"$CM_TMP/blob" | cut -d' ' -f1)
ip netns exec "$(cm_ns a)" python3 -c '
import socket, sys
data = open(sys.argv[1], "rb").read()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.210.1.1", 8210))
s.listen(4)
while True:
    c, _ = s.accept()
    try:
        c.sendall(data)
    except OSError:
        pass
    c.close()' "$CM_TMP/blob" >"$CM_TMP/tcp_server.out" 2>&1 &
CM_PIDS+=("$!")
tcp_ok() {
	[ "$(ip netns exec "$(cm_ns c)" python3 -c '
import hashlib, socket
s = socket.create_connection(("10.210.1.1", 8210), timeout=5)
h = hashlib.md5()
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
print(h.hexdigest())' 2>/dev/null)" = "$SUM" ]
}
mac_of() { ip -n "$(cm_ns "$1")" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
MACC=$(mac_of c)

# js PATH EXPR: the JSON of `pcnctl -j r1 PATH...` given to a python expression on j.
js() {
	local expr=$1
	shift
	$PCNCTL -j r1 "$@" 2>/dev/null | python3 -c "import json,sys; j=json.load(sys.stdin); print($expr)" 2>/dev/null
}
arp_mac() { js "next((e['mac'] for e in j if e['address']=='$1'), '')" arp-table show; }
stat_of() { js "j['$1']" stats show; }
route_if() { js "next((e.get('interface','') for e in j if e['network']=='$1' and e['nexthop']=='$2'), '')" route show; }
# pings FROM IP [ARGS]: ping's output (one packet, 2 s).
pings() { ip netns exec "$(cm_ns "$1")" ping -c 1 -W 2 "${@:3}" "$2" 2>&1; }
ping1() { pings "$@" >/dev/null; }
says() { grep -q -- "$2" <<<"$1"; }
arp_is() { [ "$(arp_mac "$1")" = "$2" ]; }
stat_gt() { [ "$(stat_of "$1")" -gt "$2" ]; }
# udp_refused FROM IP: a UDP datagram to IP:33434 gets ICMP port unreachable
# (a connected socket then fails with ECONNREFUSED).
udp_refused() {
	ip netns exec "$(cm_ns "$1")" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], 33434))
s.send(b"probe")
try:
    s.recv(16)
except ConnectionRefusedError:
    sys.exit(0)
except socket.timeout:
    pass
sys.exit(1)' "$2"
}

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	for h in a b c; do ip -n "$(cm_ns $h)" neigh flush dev eth0; done
	cm_check "$hook: router add r1" $PCNCTL router add r1 type=$hook
	cm_check "$hook: ports with addresses" bash -c "$PCNCTL r1 ports add p1 ip=10.210.1.254/24 &&
		$PCNCTL r1 ports add p2 ip=10.210.2.254/24 &&
		$PCNCTL r1 ports add p3 ip=10.210.3.254/24 mac=02:00:00:00:03:fe"
	cm_check "$hook: connect the ports" bash -c "$PCNCTL connect r1:p1 $IFA && $PCNCTL connect r1:p2 $IFB &&
		$PCNCTL connect r1:p3 $IFC"
	cm_check "$hook: ip reads back as given" [ "$(js j ports p1 ip show)" = 10.210.1.254/24 ]
	cm_check "$hook: a MAC is generated (locally administered)" bash -c "[[ '$(js "j['mac']" ports p1 show)' == 02:* ]]"
	cm_check "$hook: a given MAC is kept" [ "$(js "j['mac']" ports p3 show)" = 02:00:00:00:03:fe ]
	cm_check "$hook: connected routes listed with their ports" \
		[ "$(route_if 10.210.1.0/24 local) $(route_if 10.210.2.0/24 local) $(route_if 10.210.3.0/24 local)" = "p1 p2 p3" ]

	cm_check "$hook: c has not spoken: not in the ARP table" [ -z "$(arp_mac 10.210.3.1)" ]
	cm_check "$hook: b -> c: the first packet waits for ARP and goes" ping1 b 10.210.3.1
	cm_check "$hook: c resolved on p3 with its MAC" cm_eventually arp_is 10.210.3.1 "$MACC"
	cm_check "$hook: the router sent the ARP request" cm_eventually stat_gt arp-requests 0
	cm_check "$hook: a -> its gateway (ARP and echo)" cm_ping a 10.210.1.254
	cm_check "$hook: a -> the router's address on p3" cm_ping a 10.210.3.254
	cm_check "$hook: a -> b" cm_ping a 10.210.2.1
	cm_check "$hook: a -> c" cm_ping a 10.210.3.1
	cm_check "$hook: c -> b" cm_ping c 10.210.2.1
	cm_check "$hook: TCP: c fetches 500 KB from a whole" tcp_ok

	cm_check "$hook: UDP to the router's address: port unreachable" udp_refused a 10.210.3.254
	if [ "$hook" = XDP_DRV ]; then # the same slow path at every hook; it takes 3 s
		drops=$(stat_of queue-drops)
		out=$(pings a 10.210.3.99 -W 5)
		cm_check "$hook: a host that never answers ARP: host unreachable" \
			says "$out" "From 10.210.1.254.*Destination Host Unreachable"
		cm_check "$hook: its packet counted as dropped" cm_eventually stat_gt queue-drops "$drops"
	fi
	out=$(pings a 10.210.3.1 -t 1)
	cm_check "$hook: TTL 1: time exceeded from the gateway" says "$out" "From 10.210.1.254.*Time to live exceeded"
	cm_check "$hook: ttl-exceeded counted" cm_eventually stat_gt ttl-exceeded 0

	cm_check "$hook: static ARP entry" $PCNCTL r1 arp-table add 10.210.2.99 mac=02:00:00:00:02:99 interface=p2
	cm_check "$hook: listed" [ "$(arp_mac 10.210.2.99)" = 02:00:00:00:02:99 ]
	cm_check "$hook: deleted" $PCNCTL r1 arp-table del 10.210.2.99
	cm_check "$hook: gone" [ -z "$(arp_mac 10.210.2.99)" ]

	cm_expect 400 POST /router/r1/route/10.210.8.0%2F24/10.210.7.1/ '{}' "on no port's network"
	cm_check "$hook: and not added" [ -z "$(route_if 10.210.8.0/24 10.210.7.1)" ]
	cm_check_not "$hook: before the static route: a -/-> 10.210.9.1" ping1 a 10.210.9.1
	cm_check "$hook: route add 10.210.9.0/24 10.210.3.1" $PCNCTL r1 route add 10.210.9.0/24 10.210.3.1
	cm_check "$hook: its interface computed from the next hop" [ "$(route_if 10.210.9.0/24 10.210.3.1)" = p3 ]
	cm_check "$hook: a -> 10.210.9.1 through c" cm_ping a 10.210.9.1
	unreach=$(stat_of unreachable)
	cm_check "$hook: route del" $PCNCTL r1 route del 10.210.9.0/24 10.210.3.1
	out=$(pings a 10.210.9.1)
	cm_check "$hook: that traffic stops: net unreachable from the gateway" says "$out" "From 10.210.1.254.*Destination Net Unreachable"
	cm_check "$hook: and is counted" cm_eventually stat_gt unreachable "$unreach"
	cm_check "$hook: other traffic goes on (a -> c)" cm_ping a 10.210.3.1

	cm_check_not "$hook: no secondary yet: b -/-> 10.210.4.1" ping1 b 10.210.4.1
	cm_check "$hook: secondary address on p1" $PCNCTL r1 ports p1 secondaryip add 10.210.4.254/24
	cm_check "$hook: listed as given" [ "$(js "[e['ip'] for e in j]" ports p1 secondaryip show)" = "['10.210.4.254/24']" ]
	cm_check "$hook: b -> 10.210.4.1 (the router ARPs from its secondary)" ping1 b 10.210.4.1
	cm_check "$hook: a -> the secondary address, from its own" ping1 a 10.210.4.254 -I 10.210.4.1
	cm_check "$hook: secondary deleted" $PCNCTL r1 ports p1 secondaryip del 10.210.4.254/24
	cm_check_not "$hook: b -/-> 10.210.4.1 again" ping1 b 10.210.4.1

	pid=${CM_CUBE_PID[router]}
	kill "$pid"
	wait "$pid" 2>/dev/null
	cm_check "$hook: pcn-router restarted" cm_cube_start router
	cm_check "$hook: learned ARP entries survive the restart" [ "$(arp_mac 10.210.3.1)" = "$MACC" ]
	cm_check "$hook: and still route (a -> c)" cm_ping a 10.210.3.1
	cm_check "$hook: delete" $PCNCTL r1 del
	cm_check_not "$hook: gone: a -/-> b" ping1 a 10.210.2.1
done

# Aging: learned entries go after the aging time (ROUTER_ARP_AGING seconds
# for the process; 300 by default), static ones stay, and a host aged out
# is resolved again when traffic needs it.
pid=${CM_CUBE_PID[router]}
kill "$pid"
wait "$pid" 2>/dev/null
ROUTER_ARP_AGING=2 cm_check "aging: pcn-router with ROUTER_ARP_AGING=2" cm_cube_start router
for h in a b c; do ip -n "$(cm_ns $h)" neigh flush dev eth0; done
cm_check "aging: r1" bash -c "$PCNCTL router add r1 && $PCNCTL r1 ports add p1 ip=10.210.1.254/24 peer=$IFA &&
	$PCNCTL r1 ports add p3 ip=10.210.3.254/24 peer=$IFC &&
	$PCNCTL r1 arp-table add 10.210.3.77 mac=02:00:00:00:03:77 interface=p3"
cm_check "aging: a -> c" cm_ping a 10.210.3.1
cm_check "aging: c learned" cm_eventually arp_is 10.210.3.1 "$MACC"
aged() { [ -z "$(arp_mac 10.210.3.1)" ] && [ -z "$(arp_mac 10.210.1.1)" ]; }
until_aged() { for _ in $(seq 1 60); do aged && return 0; sleep 0.1; done; return 1; }
cm_check "aging: a and c forgotten within 6 s" until_aged
cm_check "aging: the static entry stays" [ "$(arp_mac 10.210.3.77)" = 02:00:00:00:03:77 ]
cm_check "aging: a -> c resolves them again" cm_ping a 10.210.3.1

# A route whose port goes stays configured, out of the table, and a
# restart replays it without failing the router.
cm_check "stale route: route through p3" $PCNCTL r1 route add 10.210.9.0/24 10.210.3.1
cm_check_not "stale route: p3 is named by a static ARP entry: not deleted" $PCNCTL r1 ports del p3
cm_check "stale route: that entry deleted" $PCNCTL r1 arp-table del 10.210.3.77
cm_check "stale route: p3 deleted" $PCNCTL r1 ports del p3
cm_check "stale route: still configured" bash -c "$PCNCTL -j r1 route show | grep -q 10.210.9.0/24"
pid=${CM_CUBE_PID[router]}
kill "$pid"
wait "$pid" 2>/dev/null
cm_check "stale route: pcn-router restarted" cm_cube_start router
cm_check "stale route: r1 replayed, answers" cm_ping a 10.210.1.254
cm_check "stale route: a new route through no port is still refused" \
	bash -c "! $PCNCTL r1 route add 10.210.8.0/24 10.210.3.1 2>/dev/null"
cm_check "aging: delete" $PCNCTL r1 del
cm_done

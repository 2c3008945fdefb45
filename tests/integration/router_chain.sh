#!/usr/bin/env bash
# Two routers in a chain, for each hook, with static routes:
#
#   a, a2 --- [br0] up -- p1 [r1] p2 ---- p1 [r2] p2 -- up [br1] --- b1, b2
#       10.211.1.0/24           10.211.0.0/30        10.211.2.0/24
#
# (br0, br1: simplebridge.) r1 resolves r2 (a cube peer) by ARP; hosts
# behind a bridge are resolved through its flooding, and answered through
# it. Pings cross both routers both ways; TTL 1 and 2 get
# time exceeded from each router in turn (what traceroute shows); deleting
# r1's route stops exactly the traffic it carried (r2's own address on the
# link still answers), and a default route carries it again. At XDP_DRV a
# second pcn-router takes over from the first under a ping stream.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start router simplebridge
cm_host a 10.211.1.1/24; IFA=$CM_IF
cm_host a2 10.211.1.2/24; IFA2=$CM_IF
cm_host b1 10.211.2.1/24; IFB1=$CM_IF
cm_host b2 10.211.2.2/24; IFB2=$CM_IF
for h in a a2 b1 b2; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
ip -n "$(cm_ns a)" route add default via 10.211.1.254
ip -n "$(cm_ns a2)" route add default via 10.211.1.254
ip -n "$(cm_ns b1)" route add default via 10.211.2.254
ip -n "$(cm_ns b2)" route add default via 10.211.2.254

js() {
	local r=$1 expr=$2
	shift 2
	$PCNCTL -j "$r" "$@" 2>/dev/null | python3 -c "import json,sys; j=json.load(sys.stdin); print($expr)" 2>/dev/null
}
pings() { ip netns exec "$(cm_ns "$1")" ping -c 1 -W 2 "${@:3}" "$2" 2>&1; }
ping1() { pings "$@" >/dev/null; }
says() { grep -q -- "$2" <<<"$1"; }

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	for h in a a2 b1 b2; do ip -n "$(cm_ns $h)" neigh flush dev eth0; done
	cm_check "$hook: routers and bridge" bash -c "$PCNCTL router add r1 type=$hook &&
		$PCNCTL router add r2 type=$hook && $PCNCTL simplebridge add br1 type=$hook &&
		$PCNCTL simplebridge add br0 type=$hook"
	cm_check "$hook: r1 ports" bash -c "$PCNCTL r1 ports add p1 ip=10.211.1.254/24 &&
		$PCNCTL r1 ports add p2 ip=10.211.0.1/30"
	cm_check "$hook: r2 ports" bash -c "$PCNCTL r2 ports add p1 ip=10.211.0.2/30 &&
		$PCNCTL r2 ports add p2 ip=10.211.2.254/24"
	cm_check "$hook: br1 ports" bash -c "$PCNCTL br1 ports add up && $PCNCTL br1 ports add h1 peer=$IFB1 &&
		$PCNCTL br1 ports add h2 peer=$IFB2"
	cm_check "$hook: br0 ports" bash -c "$PCNCTL br0 ports add up && $PCNCTL br0 ports add h1 peer=$IFA &&
		$PCNCTL br0 ports add h2 peer=$IFA2"
	cm_check "$hook: wires" bash -c "$PCNCTL connect r1:p1 br0:up && $PCNCTL connect r1:p2 r2:p1 &&
		$PCNCTL connect r2:p2 br1:up"
	cm_check "$hook: r1 route to b's network via r2" $PCNCTL r1 route add 10.211.2.0/24 10.211.0.2
	cm_check "$hook: r2 route to a's network via r1" $PCNCTL r2 route add 10.211.1.0/24 10.211.0.1 pathcost=5
	cm_check "$hook: r1 computed interface p2" \
		[ "$(js r1 "[e.get('interface') for e in j if e['nexthop']=='10.211.0.2']" route show)" = "['p2']" ]
	cm_check "$hook: r2's pathcost kept" \
		[ "$(js r2 "[e.get('pathcost') for e in j if e['nexthop']=='10.211.0.1']" route show)" = "[5]" ]

	cm_check "$hook: a -> b1 through both routers and the bridge" cm_ping a 10.211.2.1
	cm_check "$hook: b2 -> a" cm_ping b2 10.211.1.1
	cm_check "$hook: a2 -> b2" cm_ping a2 10.211.2.2
	cm_check "$hook: r1 resolved r2 (a cube peer) by ARP" \
		[ "$(js r1 "[e['interface'] for e in j if e['address']=='10.211.0.2']" arp-table show)" = "['p2']" ]
	cm_check "$hook: r2 resolved b1 and b2 behind the bridge" \
		[ "$(js r2 "sorted(e['address'] for e in j if e['interface']=='p2')" arp-table show)" = "['10.211.2.1', '10.211.2.2']" ]

	# What traceroute does: TTL 1, 2, 3.
	out=$(pings a 10.211.2.1 -t 1)
	cm_check "$hook: TTL 1: time exceeded from r1" says "$out" "From 10.211.1.254.*Time to live exceeded"
	out=$(pings a 10.211.2.1 -t 2)
	cm_check "$hook: TTL 2: time exceeded from r2" says "$out" "From 10.211.0.2.*Time to live exceeded"
	cm_check "$hook: TTL 3: b1 answers" ping1 a 10.211.2.1 -t 3

	cm_check "$hook: r1 route del" $PCNCTL r1 route del 10.211.2.0/24 10.211.0.2
	out=$(pings a 10.211.2.2)
	cm_check "$hook: a -/-> b2: net unreachable from r1" says "$out" "From 10.211.1.254.*Destination Net Unreachable"
	cm_check "$hook: r2's address on the link still answers" cm_ping a 10.211.0.2
	cm_check "$hook: default route on r1" $PCNCTL r1 route add 0.0.0.0/0 10.211.0.2
	cm_check "$hook: a -> b2 again" cm_ping a 10.211.2.2
	if [ "$hook" = XDP_DRV ]; then
		# Another pcn-router starting while this one runs takes over
		# (make before break): no ping of a stream across both routers
		# is lost, and the old process exits.
		old=${CM_CUBE_PID[router]}
		ip netns exec "$(cm_ns a)" ping -i 0.01 -c 300 -q 10.211.2.2 >"$CM_TMP/stream.out" 2>&1 &
		stream=$!
		sleep 0.3
		"$CM_BUILD/cubes/router/pcn-router" --socket-dir "$CM_SOCK" >>"$CM_TMP/router-new.log" 2>&1 &
		CM_PIDS+=("$!")
		CM_CUBE_PID[router]=$!
		wait "$stream"
		cm_check "$hook: takeover by a new pcn-router: no ping lost" grep -q " 0% packet loss" "$CM_TMP/stream.out"
		cm_check "$hook: the old process exited" bash -c "for _ in \$(seq 1 50); do kill -0 $old 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
		cm_check "$hook: the new one serves r1 (ARP table read)" \
			[ "$(js r1 "[e['interface'] for e in j if e['address']=='10.211.0.2']" arp-table show)" = "['p2']" ]
	fi
	cm_check "$hook: delete" bash -c "$PCNCTL r1 del && $PCNCTL r2 del && $PCNCTL br1 del && $PCNCTL br0 del"
done
cm_done

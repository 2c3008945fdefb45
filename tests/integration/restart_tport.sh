#!/usr/bin/env bash
# A broker restart loses no packet while a transparent cube sits on a
# standard cube's port. a -- r1 (router) -- b, with t1 (transparenthelloworld)
# on r1:p1: a's echo requests enter r1 through t1's ingress, b's replies leave
# r1:p1 through its egress. A ping stream (every 2 ms, bounded) crosses while
# pcn-broker gets SIGTERM and starts again: every request is answered, the
# stack is still listed, and t1 counted the stream both ways. Then the same
# with pcn-router stopped while the broker restarts (a cube process slow to
# come back: the data plane carries on with the state it was left).
# Control case: t1 on a's netdev instead of the port, same stream and restart.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start router transparenthelloworld
cm_host a 10.226.1.1/24; IFA=$CM_IF
cm_host b 10.226.2.1/24; IFB=$CM_IF
MACA=$(ip -n "$(cm_ns a)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
# No IPv6 chatter, no ARP anywhere (static entries on the hosts and in r1):
# every packet of the stream is an echo request or reply, and nothing needs
# the slow path, which the broker serves.
i=1
for h in a b; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
	ip -n "$(cm_ns $h)" neigh replace 10.226.$i.254 lladdr 02:00:00:00:0$i:fe dev eth0 nud permanent
	ip -n "$(cm_ns $h)" route add default via 10.226.$i.254
	i=$((i + 1))
done

stat_of() { curl -s "${PCN_URL}transparenthelloworld/t1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$1-packets']))"; }
# stack_of PARENT: its stack as GET /topology lists it.
stack_of() { curl -s "${PCN_URL}topology" | python3 -c "import json,sys; print(' '.join(' '.join(t['stack']) for t in json.load(sys.stdin).get('transparent', []) if t['parent'] == '$1'))"; }
parent() { curl -s "${PCN_URL}transparenthelloworld/t1/" | python3 -c "import json,sys; print(json.load(sys.stdin).get('parent',''))"; }
# grew KIND MIN: t1's KIND (ingress/egress) counter is at least MIN.
grew() { [ "$(stat_of "$1")" -ge "$2" ]; }

router() {
	$PCNCTL router add r1 type="$1" >/dev/null &&
		$PCNCTL r1 ports add p1 ip=10.226.1.254/24 mac=02:00:00:00:01:fe peer="$IFA" >/dev/null &&
		$PCNCTL r1 ports add p2 ip=10.226.2.254/24 mac=02:00:00:00:02:fe peer="$IFB" >/dev/null &&
		$PCNCTL r1 arp-table add 10.226.1.1 mac="$MACA" interface=p1 >/dev/null &&
		$PCNCTL r1 arp-table add 10.226.2.1 mac="$MACB" interface=p2 >/dev/null
}

# stream N: N echo requests from a to b, 2 ms apart, in the background;
# once it is waited for (in this shell: a command substitution cannot),
# stream_counts prints "sent received".
stream() {
	ip netns exec "$(cm_ns a)" ping -i 0.002 -c "$1" -W 2 -q 10.226.2.1 >"$CM_TMP/ping.out" 2>&1 &
	PING_PID=$!
}
stream_counts() { awk '/transmitted/ {print $1, $4}' "$CM_TMP/ping.out"; }

# restart_mid_stream WHAT PARENT [stop-router]: a stream of 2 s (3 s with
# pcn-router stopped for 0.5 s meanwhile, if asked); 0.5 s in, SIGTERM to
# the broker and a new one. None may be lost; t1 counted every request
# and reply (it stayed in their way); the stack is still listed.
restart_mid_stream() {
	local what=$1 in0 eg0 sent recv n=1000
	[ "${3:-}" = stop-router ] && n=1500
	in0=$(stat_of ingress); eg0=$(stat_of egress)
	stream $n
	sleep 0.5
	[ "${3:-}" = stop-router ] && cm_stop "${CM_CUBE_PID[router]}"
	kill "$CM_BROKER_PID"
	wait "$CM_BROKER_PID" 2>/dev/null
	cm_check "$what: the broker starts again" cm_broker_start
	if [ "${3:-}" = stop-router ]; then
		sleep 0.5
		cm_cont "${CM_CUBE_PID[router]}"
	fi
	cm_check "$what: router registers again" cm_wait_service_up router
	cm_check "$what: transparenthelloworld registers again" cm_wait_service_up transparenthelloworld
	wait "$PING_PID"
	read -r sent recv < <(stream_counts)
	echo "# $what: $sent sent, $recv received"
	cm_check "$what: the stream ran ($sent sent)" [ "${sent:-0}" = $n ]
	cm_check "$what: no packet lost across the broker restart ($recv of $sent)" [ "${recv:-0}" = "${sent:-x}" ]
	cm_check "$what: t1 counted every request ($in0 -> $(stat_of ingress))" cm_eventually grew ingress $((in0 + n))
	cm_check "$what: and every reply ($eg0 -> $(stat_of egress))" cm_eventually grew egress $((eg0 + n))
	cm_check "$what: GET /topology still lists t1 on $2" [ "$(stack_of "$2")" = t1 ]
	cm_check "$what: t1's parent is still $2" [ "$(parent)" = "$2" ]
}

for hook in TC XDP_SKB; do
	echo "# hook $hook: t1 on r1:p1"
	cm_check "$hook: a -- r1 -- b" router "$hook"
	cm_check "$hook: t1 on r1:p1" bash -c "$PCNCTL transparenthelloworld add t1 type=$hook >/dev/null && $PCNCTL attach t1 r1:p1 >/dev/null"
	cm_check "$hook: pings pass" cm_ping a 10.226.2.1 3
	restart_mid_stream "$hook port" r1:p1
	# Once is enough for this one (time): the hook changes nothing in it.
	[ "$hook" = TC ] && restart_mid_stream "$hook port, pcn-router stopped" r1:p1 stop-router

	echo "# hook $hook: t1 on $IFA (control)"
	cm_check "$hook: t1 moved to $IFA" bash -c "$PCNCTL detach t1 r1:p1 >/dev/null && $PCNCTL attach t1 $IFA >/dev/null"
	restart_mid_stream "$hook netdev" "$IFA"
	cm_check "$hook: delete t1 and r1" bash -c "$PCNCTL t1 del >/dev/null && $PCNCTL r1 del >/dev/null"
done
cm_done

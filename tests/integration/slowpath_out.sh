#!/usr/bin/env bash
# pcn_send_packet_out in both directions, for each hook, with the test cube
# sptest (tests/slowpath): what host a sends enters sp1 on port pa and goes to
# the slow path, which sends it
#  - INGRESS into sp1's port pi, as if it had arrived there: sp1's fast path
#    then forwards it out of pb to host b;
#  - EGRESS out of sp1's port pc, whose peer is hw1:port1 (helloworld,
#    FORWARD): hw1 forwards it out of port2 to host b.
# A capture in b's namespace counts the datagrams that arrive.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
"$CM_BUILD/tests/slowpath/pcn-sptest" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" \
	>>"$CM_TMP/sptest.log" 2>&1 &
CM_PIDS+=("$!")
cm_wait_service_up sptest
cm_host a 10.205.0.1/24; IFA=$CM_IF
cm_host b 10.205.0.2/24; IFB=$CM_IF
NSA=$(cm_ns a); NSB=$(cm_ns b)
ip -n "$NSA" neigh replace 10.205.0.2 dev eth0 lladdr "$(ip -n "$NSB" link show eth0 | awk '/ether/ {print $2}')"

# sent_and_captured PORT: sends 3 UDP datagrams a -> b:PORT; 0 when b's
# namespace captured exactly those 3.
sent_and_captured() {
	local cap=$CM_TMP/cap.$1
	ip netns exec "$NSB" timeout 6 tcpdump -i eth0 -n -c 3 -l "udp dst port $1" >"$cap" 2>/dev/null &
	local tp=$!
	sleep 1 # tcpdump is listening
	for _ in 1 2 3; do
		ip netns exec "$NSA" bash -c "echo slowpath-out >/dev/udp/10.205.0.2/$1"
		sleep 0.1
	done
	wait "$tp"
	[ "$(grep -c "> 10.205.0.2.$1: UDP" "$cap")" = 3 ]
}

port=40000
for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create sp1" $PCNCTL sptest add sp1 type=$hook
	cm_check "$hook: sp1 ports" bash -c "$PCNCTL sp1 ports add pa peer=$IFA && $PCNCTL sp1 ports add pb && \
		$PCNCTL sp1 ports add pi && $PCNCTL sp1 ports add pc"
	cm_check "$hook: sp1 ingress into pi, pi -> pb" \
		$PCNCTL sp1 set up-port=pa fwd-port=pb out-port=pi out-direction=INGRESS
	cm_check "$hook: connect sp1:pb to b" $PCNCTL connect sp1:pb "$IFB"
	port=$((port + 1))
	cm_check "$hook: INGRESS: b receives what a sent, through sp1's pi" sent_and_captured $port
	cm_check "$hook: disconnect sp1:pb" $PCNCTL disconnect sp1:pb "$IFB"

	cm_check "$hook: create hw1 (FORWARD)" $PCNCTL helloworld add hw1 type=$hook action=FORWARD
	cm_check "$hook: hw1 ports" bash -c "$PCNCTL hw1 ports add port1 && $PCNCTL hw1 ports add port2 peer=$IFB"
	cm_check "$hook: connect sp1:pc hw1:port1" $PCNCTL connect sp1:pc hw1:port1
	cm_check "$hook: sp1 egress out of pc" $PCNCTL sp1 set out-port=pc out-direction=EGRESS
	port=$((port + 1))
	cm_check "$hook: EGRESS: b receives what a sent, through hw1" sent_and_captured $port
	cm_check "$hook: hw1 forwarded them" cm_eventually bash -c "$PCNCTL -j hw1 stats show | grep -q '\"forwarded\": \"\\{0,1\\}[3-9]'"
	cm_check "$hook: delete hw1 and sp1" bash -c "$PCNCTL hw1 del && $PCNCTL sp1 del"
done
cm_done

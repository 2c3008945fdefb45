#!/usr/bin/env bash
# pbforwarder, driven with Polycube's own pbforwarder test lines
# (services/pcn-pbforwarder/test), at TC, XDP_SKB and XDP_DRV: traffic from
# one port steered by class to two ports, a DROP rule, rules updated and
# deleted taking effect on the very next packet, SLOWPATH, and a request
# the model refuses changing nothing.
#
# b and c both answer as 10.216.0.2 with the same MAC: a's pings (ICMP) go
# to b, its UDP to port 7777 to c, by the rules alone. What arrives where
# is read in each namespace (ping replies, and datagrams a receiver in b
# and one in c log, each tagged with the step that sent it).
source "$(dirname "$0")/../lib/mesh.sh"

cm_broker_start
# DEBUG: the slow path's PBF-PKT-IN lines.
CM_LOG_LEVEL=DEBUG cm_cube_start pbforwarder || exit 1
cm_host a 10.216.0.1/24; IFA=$CM_IF
cm_host b 10.216.0.2/24; IFB=$CM_IF
cm_host c 10.216.0.2/24; IFC=$CM_IF
MAC_B=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
MAC_A=$(ip -n "$(cm_ns a)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "$(cm_ns c)" link set eth0 address "$MAC_B"
# No ARP through the cube: each end knows the other's MAC.
ip -n "$(cm_ns a)" neigh replace 10.216.0.2 lladdr "$MAC_B" dev eth0 nud permanent
for h in b c; do ip -n "$(cm_ns $h)" neigh replace 10.216.0.1 lladdr "$MAC_A" dev eth0 nud permanent; done

# A receiver in b and one in c: one line per datagram to port 7777.
for h in b c; do
	: >"$CM_TMP/rx_$h"
	ip netns exec "$(cm_ns $h)" python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7777))
while True:
    print(s.recv(64).decode(errors="replace"), flush=True)
' >>"$CM_TMP/rx_$h" 2>/dev/null &
	CM_PIDS+=("$!")
done
sleep 0.3

# send TAG: one datagram "TAG" from a to 10.216.0.2:7777.
send() { ip netns exec "$(cm_ns a)" bash -c "echo $1 >/dev/udp/10.216.0.2/7777"; }
got() { grep -cx "$2" "$CM_TMP/rx_$1" || true; }
# arrives_at HOST TAG: the one datagram TAG reaches HOST (2 s at most), and
# nowhere else.
arrives_at() {
	local other=$([ "$1" = b ] && echo c || echo b)
	for _ in $(seq 1 20); do
		[ "$(got "$1" "$2")" -ge 1 ] && break
		sleep 0.1
	done
	[ "$(got "$1" "$2")" = 1 ] && [ "$(got "$other" "$2")" = 0 ]
}
# arrives_nowhere TAG: neither b nor c sees TAG within 0.7 s.
arrives_nowhere() {
	sleep 0.7
	[ "$(got b "$1")" = 0 ] && [ "$(got c "$1")" = 0 ]
}
# echos_c: echo requests c's IPv4 stack took in (the host's own IPv6
# chatter on c's veth does not count).
echos_c() { ip netns exec "$(cm_ns c)" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") k = i; h = 1 } else print $k }' /proc/net/snmp; }
pkt_in() { grep -c "PBF-PKT-IN: pbf1: packet from p1, rule $1, .* 98 bytes, ethertype 0x0800" "$CM_TMP/pbforwarder.log" || true; }
pkt_in_ge() {
	for _ in $(seq 1 30); do [ "$(pkt_in "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	return 1
}
# until_ok SECONDS CMD...: retries CMD every 0.1 s.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
metric() { curl -s "${PCN_URL}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
rule_field() { curl -s "${PCN_URL}pbforwarder/pbf1/rules/$1/$2/"; }

n=0
for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create pbf1" $PCNCTL pbforwarder add pbf1 type=$hook
	# As Polycube's helpers.bash adds a port: add, then set its peer.
	cm_check "$hook: ports" bash -c "$PCNCTL pbforwarder pbf1 ports add p1 && $PCNCTL pbforwarder pbf1 ports p1 set peer=$IFA &&
		$PCNCTL pbf1 ports add p2 peer=$IFB && $PCNCTL pbf1 ports add p3 peer=$IFC"
	cm_check "$hook: loglevel TRACE (a line per packet from the fast path)" $PCNCTL pbforwarder pbf1 set loglevel=TRACE
	n=$((n + 1)); send "$hook-none-$n"
	cm_check "$hook: no rules: a datagram is dropped" arrives_nowhere "$hook-none-$n"
	cm_check_not "$hook: no rules: pings are dropped" cm_ping a 10.216.0.2 2
	cm_check "$hook: and the fast path says why" until_ok 3 grep -q \
		"CUBE-FASTPATH-LOG: pbforwarder pbf1 \[DEBUG\] pbforwarder: port [0-9]*: no rule matches (0 rules): drop" "$CM_TMP/broker.log"

	# Polycube's test3_10/test4_10 lines, with our port names.
	cm_check "$hook: rule 10: UDP to 7777 -> p3" \
		$PCNCTL pbforwarder pbf1 rules add 10 dst_mac=$MAC_B dst_ip=10.216.0.2 l4_proto=UDP dst_port=7777 action=FORWARD out_port=p3
	cm_check "$hook: rule 20: from a -> p2" \
		$PCNCTL pbforwarder pbf1 rules add 20 src_ip=10.216.0.1 dst_ip=10.216.0.2 action=FORWARD out_port=p2
	cm_check "$hook: rule 30: to a's MAC -> p1" $PCNCTL pbf1 rules add 30 dst_mac=$MAC_A action=FORWARD out_port=p1
	cm_check "$hook: pings reach b (and come back)" cm_ping a 10.216.0.2 3
	n=$((n + 1)); send "$hook-udp-$n"
	cm_check "$hook: UDP to 7777 reaches c, not b" arrives_at c "$hook-udp-$n"
	before=$(echos_c)
	cm_ping a 10.216.0.2 2
	cm_check "$hook: c saw none of the pings ($before -> $(echos_c) echo requests)" [ "$(echos_c)" = "$before" ]

	echo "# $hook: rules change on the next packet"
	cm_check "$hook: rule 5: UDP to 7777 DROP" $PCNCTL pbf1 rules add 5 l4_proto=UDP dst_port=7777 action=DROP
	n=$((n + 1)); send "$hook-drop-$n"
	cm_check "$hook: DROP: the next datagram arrives nowhere" arrives_nowhere "$hook-drop-$n"
	cm_check "$hook: pings still pass" cm_ping a 10.216.0.2 2
	cm_check "$hook: rule 5 set FORWARD to p2" $PCNCTL pbf1 rules 5 set action=FORWARD out_port=p2
	n=$((n + 1)); send "$hook-upd-$n"
	cm_check "$hook: updated: the next datagram reaches b" arrives_at b "$hook-upd-$n"
	cm_check "$hook: rule 5 deleted" $PCNCTL pbf1 rules del 5
	n=$((n + 1)); send "$hook-del-$n"
	cm_check "$hook: deleted: the next datagram reaches c again (rule 10)" arrives_at c "$hook-del-$n"

	echo "# $hook: refusals change nothing"
	cm_expect 400 PATCH /pbforwarder/pbf1/rules/10/action/ '"BOUNCE"'
	cm_expect 400 POST /pbforwarder/pbf1/rules/6/ '{"l4_proto":"UDP","action":"REJECT"}'
	cm_expect 400 POST /pbforwarder/pbf1/rules/6/ '{"action":"FORWARD"}' "FORWARD needs out_port"
	cm_expect 400 POST /pbforwarder/pbf1/rules/6/ '{"dst_port":7777,"action":"DROP"}' "need l4_proto"
	cm_expect 404 GET /pbforwarder/pbf1/rules/6/
	cm_check "$hook: rule 10 still FORWARD to p3" bash -c "[ '$(rule_field 10 action)' = '\"FORWARD\"' ] && [ '$(rule_field 10 out_port)' = '\"p3\"' ]"
	n=$((n + 1)); send "$hook-ref-$n"
	cm_check "$hook: after the refusals UDP still reaches c" arrives_at c "$hook-ref-$n"

	if [ "$hook" = XDP_DRV ]; then
		echo "# $hook: a new pcn-pbforwarder takes over from the running one"
		old=${CM_CUBE_PID[pbforwarder]}
		ip netns exec "$(cm_ns a)" ping -i 0.01 -c 200 -q 10.216.0.2 >"$CM_TMP/stream.out" 2>&1 &
		stream=$!
		sleep 0.3
		"$CM_BUILD/cubes/pbforwarder/pcn-pbforwarder" --socket-dir "$CM_SOCK" --log-level DEBUG \
			>>"$CM_TMP/pbforwarder.log" 2>&1 &
		CM_PIDS+=("$!")
		CM_CUBE_PID[pbforwarder]=$!
		wait "$stream"
		cm_check "$hook: no ping of the stream lost" grep -q " 0% packet loss" "$CM_TMP/stream.out"
		cm_check "$hook: the old process exited" bash -c "for _ in \$(seq 1 50); do kill -0 $old 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
		n=$((n + 1)); send "$hook-new-$n"
		cm_check "$hook: the same table steers UDP to c" arrives_at c "$hook-new-$n"
		# The SLOWPATH checks below are the new process's.
	fi

	echo "# $hook: SLOWPATH"
	seen=$(pkt_in 20)
	cm_check "$hook: rule 20 set SLOWPATH" $PCNCTL pbf1 rules 20 set action=SLOWPATH
	cm_check_not "$hook: pings go up instead of to b" cm_ping a 10.216.0.2 2
	cm_check "$hook: the slow path got them from rule 20" pkt_in_ge 20 $((seen + 2))
	cm_check "$hook: and /metrics counts them" \
		[ "$(metric 'cubemesh_cube_to_slowpath_packets_total{service="pbforwarder",cube="pbf1"}')" -ge 2 ]
	cm_check "$hook: rules listed" bash -c "$PCNCTL -j pbf1 rules show | grep -c '\"id\"' | grep -qx 3"

	if [ "$hook" = TC ]; then
		echo "# $hook: the process killed and restarted"
		kill -9 "${CM_CUBE_PID[pbforwarder]}"
		wait "${CM_CUBE_PID[pbforwarder]}" 2>/dev/null
		n=$((n + 1)); send "$hook-down-$n"
		cm_check "$hook: while it is down the rules still steer" arrives_at c "$hook-down-$n"
		up=0; CM_LOG_LEVEL=DEBUG cm_cube_start pbforwarder || up=$?
		cm_check "$hook: restarted, registered again" [ "$up" = 0 ]
		n=$((n + 1)); send "$hook-up-$n"
		cm_check "$hook: after the restart the same table" arrives_at c "$hook-up-$n"
		cm_check "$hook: rule 20 set FORWARD again" $PCNCTL pbf1 rules 20 set action=FORWARD
		cm_check "$hook: a change after the restart takes effect: pings reach b" cm_ping a 10.216.0.2 2
	fi

	cm_check "$hook: delete" $PCNCTL pbforwarder del pbf1
	cm_check "$hook: nothing left on $IFA" bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
	cm_check "$hook: no pins left" bash -c "[ -z \"\$(ls -A $CM_BPFFS/cubes/pbforwarder 2>/dev/null)\" ]"
done
cm_done

#!/usr/bin/env bash
# helloworld end to end, for each hook: two hosts in namespaces wired
# through the cube; FORWARD passes pings both ways, DROP and SLOWPATH stop
# them, and deleting the instance leaves no program, filter or pin behind.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.201.0.1/24; IFA=$CM_IF
cm_host b 10.201.0.2/24; IFB=$CM_IF

# echo_requests_seen: HELLOWORLD-PKT-IN lines for 98-byte IPv4 packets (the
# echo requests of a default ping) in the cube's log.
echo_requests_seen() { grep -c 'HELLOWORLD-PKT-IN: hw1: .* 98 bytes, ethertype 0x0800' "$CM_TMP/helloworld.log" || true; }
# saw_echo_requests BEFORE N: waits up to 3 s until pcn_pkt_in saw exactly N more.
saw_echo_requests() {
	for _ in $(seq 1 30); do
		[ "$(echo_requests_seen)" -ge $(($1 + $2)) ] && break
		sleep 0.1
	done
	[ "$(echo_requests_seen)" -eq $(($1 + $2)) ]
}
stat_of() { $PCNCTL -j hw1 stats show | sed -n "s/.*\"$1\": \"\{0,1\}\([0-9]*\).*/\1/p"; }

# counters_agree: the cube's pcn_pkt_in count catches up with the fast
# path's count of packets sent up (within 3 s), and both moved.
counters_agree() {
	local up got
	for _ in $(seq 1 30); do
		up=$(stat_of slowpath); got=$(stat_of slowpath-received)
		[ -n "$up" ] && [ "$up" -gt 0 ] && [ "$up" = "$got" ] && return 0
		sleep 0.1
	done
	echo "sent up $up, received $got" >&2
	return 1
}

# inst_progs: the ids of the programs pinned for hw1 (this mesh's only).
inst_progs() {
	local f id
	for f in $(find "$CM_BPFFS/cubes/helloworld/hw1" -type f 2>/dev/null); do
		id=$(bpftool prog show pinned "$f" 2>/dev/null | awk -F: 'NR == 1 {print $1}')
		[ -n "$id" ] && echo "$id"
	done
}
# progs_gone ID...: none of these programs exists any more (the kernel frees
# a closed program after an RCU grace period: wait up to 5 s).
progs_gone() {
	[ $# -gt 0 ] || { echo "  (no program ids recorded)"; return 1; }
	for _ in $(seq 1 50); do
		local left=0 id
		for id in "$@"; do bpftool prog show id "$id" >/dev/null 2>&1 && left=$((left + 1)); done
		[ "$left" = 0 ] && return 0
		sleep 0.1
	done
	echo "  ($left of the programs $* still loaded)"
	return 1
}

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create hw1" $PCNCTL helloworld add hw1 type=$hook
	cm_check "$hook: port1 peer" $PCNCTL hw1 ports add port1 peer=$IFA
	cm_check "$hook: port2 peer" $PCNCTL hw1 ports add port2 peer=$IFB
	cm_check "$hook: default action is DROP" bash -c "$PCNCTL -j hw1 action show | grep -q DROP"
	cm_check_not "$hook: DROP stops pings" cm_ping a 10.201.0.2 2
	cm_check "$hook: set FORWARD" $PCNCTL hw1 set action=FORWARD
	cm_check "$hook: FORWARD a -> b" cm_ping a 10.201.0.2
	cm_check "$hook: FORWARD b -> a" cm_ping b 10.201.0.1
	cm_check "$hook: ports are UP" bash -c "$PCNCTL -j hw1 ports show | grep -c '\"UP\"' | grep -qx 2"
	cm_check "$hook: counters moved" cm_eventually bash -c "$PCNCTL -j hw1 stats show | grep -q '\"forwarded\": [1-9]'"
	cm_check "$hook: set SLOWPATH" $PCNCTL hw1 set action=SLOWPATH
	# A static neighbour: the echo requests themselves go up, not ARP.
	ip -n "$(cm_ns a)" neigh replace 10.201.0.2 dev eth0 \
		lladdr "$(ip -n "$(cm_ns b)" link show eth0 | awk '/ether/ {print $2}')"
	seen=$(echo_requests_seen)
	cm_check_not "$hook: SLOWPATH stops pings" cm_ping a 10.201.0.2 3
	cm_check "$hook: pcn_pkt_in saw exactly the 3 echo requests" saw_echo_requests "$seen" 3
	cm_check "$hook: slowpath-received = packets sent up" counters_agree
	cm_check "$hook: set DROP" $PCNCTL hw1 set action=DROP
	cm_check_not "$hook: DROP stops pings again" cm_ping b 10.201.0.1 2
	progs=$(inst_progs)
	cm_check "$hook: delete" $PCNCTL hw1 del
	cm_check "$hook: no tc filter left on $IFA" bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ]"
	cm_check "$hook: no XDP program left on $IFA" bash -c "! ip link show $IFA | grep -q 'prog/xdp'"
	cm_check "$hook: no XDP program left on $IFB" bash -c "! ip link show $IFB | grep -q 'prog/xdp'"
	cm_check "$hook: no pins left" bash -c "[ -z \"\$(ls -A $CM_BPFFS/cubes/helloworld 2>/dev/null)\" ]"
	cm_check "$hook: no cube program left" progs_gone $progs
	cm_check "$hook: GET after delete is 404" bash -c "[ \"\$(curl -s -o /dev/null -w %{http_code} ${PCN_URL}helloworld/hw1/)\" = 404 ]"
done
cm_done

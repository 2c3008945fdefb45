#!/usr/bin/env bash
# Lifecycle of a chain of cubes: a counted ping stream crosses two helloworld
# instances wired port to port (a -> hw1 -> hw2 -> b). kill -9 of the cube
# process, then of the broker, mid-stream: no ping lost; the counters kept in
# the instances' maps carry on from where they were (learned state survives);
# after the broker restart the cube-to-cube wires are back in the API. Then
# a simplebridge's process dies mid-stream: its learned fdb survives.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.205.0.1/24; IFA=$CM_IF
cm_host b 10.205.0.2/24; IFB=$CM_IF

ping_stream() {
	ip netns exec "$(cm_ns a)" ping -c "$1" -i 0.02 -W 1 -q 10.205.0.2 >"$CM_TMP/ping.out" 2>&1 &
	PING_PID=$!
}
ping_received() { grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}'; }
# forwarded NAME: the instance's forwarded counter (helloworld_stats map).
forwarded() {
	curl -s "${PCN_URL}helloworld/$1/stats/" | grep -o '"forwarded": *"*[0-9]*' | grep -o '[0-9]*$'
}
peer_of() { curl -s "${PCN_URL}helloworld/$1/ports/$2/peer/" | tr -d '"'; }
# prog_id NAME: the id of the program pinned for the instance.
prog_id() { bpftool prog show pinned "$CM_BPFFS/cubes/helloworld/$1/prog" 2>/dev/null | sed -n 's/^\([0-9]*\):.*/\1/p'; }

for hook in TC XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: chain a - hw1 - hw2 - b" bash -c "
		$PCNCTL helloworld add hw1 type=$hook && $PCNCTL helloworld add hw2 type=$hook &&
		$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw2 ports add port2 peer=$IFB &&
		$PCNCTL hw1 ports add port2 && $PCNCTL hw2 ports add port1 &&
		$PCNCTL hw1 ports port2 set peer=hw2:port1 && $PCNCTL hw2 ports port1 set peer=hw1:port2 &&
		$PCNCTL hw1 set action=FORWARD && $PCNCTL hw2 set action=FORWARD"
	cm_check "$hook: pings cross the chain" cm_ping a 10.205.0.2

	# The cube process dies mid-stream; its counters live in pinned maps.
	ping_stream 250
	sleep 1
	before=$(forwarded hw2)
	id_before=$(prog_id hw1)
	kill -9 "${CM_CUBE_PID[helloworld]}"
	sleep 0.5
	cm_cube_start helloworld
	after=$(forwarded hw2)
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the cube restart (250 sent, $got received)" [ "$got" = 250 ]
	cm_check "$hook: hw2's counter survived the restart ($before before, $after after)" \
		bash -c "[ -n '$before' ] && [ '${after:-0}' -ge '$before' ] && [ '$before' -gt 0 ]"
	# The same binary: it adopts the pinned program instead of loading a copy.
	cm_check "$hook: the restarted process adopted hw1's program (id $id_before, now $(prog_id hw1))" \
		bash -c "[ -n '$id_before' ] && [ '$(prog_id hw1)' = '$id_before' ]"

	# The broker dies mid-stream; it must re-adopt the cube-to-cube wires.
	ping_stream 250
	sleep 1
	kill -9 "$CM_BROKER_PID"
	sleep 0.5
	cm_broker_start
	cm_wait_service_up helloworld
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the broker restart (250 sent, $got received)" [ "$got" = 250 ]
	cm_check "$hook: hw1:port2 is wired to hw2:port1 again" [ "$(peer_of hw1 port2)" = hw2:port1 ]
	cm_check "$hook: hw2:port1 is wired to hw1:port2 again" [ "$(peer_of hw2 port1)" = hw1:port2 ]
	cm_check "$hook: every port is UP" bash -c "[ \$( ($PCNCTL -j hw1 ports show; $PCNCTL -j hw2 ports show) | grep -c '\"UP\"') = 4 ]"
	cm_check "$hook: the topology shows the wire" bash -c "curl -s ${PCN_URL}topology | grep -q 'hw2:port1'"
	# The restored wire must be the one packets take: change it and see.
	cm_check "$hook: the chain still forwards" cm_ping b 10.205.0.1
	cm_check "$hook: unwiring hw1:port2 after the restart cuts the chain" \
		bash -c "curl -fs -X DELETE ${PCN_URL}helloworld/hw1/ports/port2/peer/ >/dev/null"
	cm_check_not "$hook: unwired: pings stop" cm_ping a 10.205.0.2 2
	cm_check "$hook: delete" bash -c "$PCNCTL hw1 del && $PCNCTL hw2 del"
done

# A simplebridge whose fdb was learned: kill -9 its process mid-stream; the
# known unicast keeps flowing in the kernel and the fdb is still there after.
echo "# simplebridge"
cm_cube_start simplebridge
cm_host c 10.215.0.1/24; IFC=$CM_IF
cm_host d 10.215.0.2/24; IFD=$CM_IF
mac_of() { ip -n "$(cm_ns "$1")" link show eth0 | awk '/ether/ {print $2}'; }
fdb_port() {
	$PCNCTL -j br1 fdb entry show 2>/dev/null | tr -d ' \n' |
		grep -o "{[^}]*\"address\":\"$1\"[^}]*}" | sed -n 's/.*"port":"\([^"]*\)".*/\1/p'
}
cm_check "bridge br1 c - d" bash -c "$PCNCTL simplebridge add br1 && $PCNCTL br1 ports add pc peer=$IFC &&
	$PCNCTL br1 ports add pd peer=$IFD && $PCNCTL br1 fdb set aging-time=3600"
cm_check "pings cross the bridge" cm_ping c 10.215.0.2
cm_check "the fdb learned c on pc" [ "$(fdb_port "$(mac_of c)")" = pc ]
cm_check "the fdb learned d on pd" [ "$(fdb_port "$(mac_of d)")" = pd ]
ip netns exec "$(cm_ns c)" ping -c 250 -i 0.02 -W 1 -q 10.215.0.2 >"$CM_TMP/ping.out" 2>&1 &
PING_PID=$!
sleep 1
kill -9 "${CM_CUBE_PID[simplebridge]}"
sleep 0.5
cm_cube_start simplebridge
wait "$PING_PID"
got=$(ping_received)
cm_check "no ping lost across the bridge's restart (250 sent, $got received)" [ "$got" = 250 ]
cm_check "the fdb still has c on pc" [ "$(fdb_port "$(mac_of c)")" = pc ]
cm_check "the fdb still has d on pd" [ "$(fdb_port "$(mac_of d)")" = pd ]
cm_check "delete br1" $PCNCTL br1 del
cm_done

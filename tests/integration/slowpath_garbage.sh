#!/usr/bin/env bash
# Garbage on the slow-path streams: random, truncated and empty frames, and a
# valid batch naming no instance, sent to the broker's slowpath.sock and to a
# cube's packet socket. They are rejected and counted; the broker and the
# cube stay up, and the slow path still carries packets afterwards.
source "$(dirname "$0")/../lib/mesh.sh"
PROBE=$CM_BUILD/tests/tools/sp_probe

cm_mesh_start helloworld
cm_host a 10.204.0.1/24; IFA=$CM_IF
cm_host b 10.204.0.2/24; IFB=$CM_IF
ip -n "$(cm_ns a)" neigh replace 10.204.0.2 dev eth0 \
	lladdr "$(ip -n "$(cm_ns b)" link show eth0 | awk '/ether/ {print $2}')"
metric() { curl -s "${PCN_URL}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
rejected_ge() { [ "$(metric 'cubemesh_wire_rejected_messages_total{socket="slowpath"}')" -ge "$1" ]; }
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
pkt_in_lines() { grep -c 'HELLOWORLD-PKT-IN: hw1: .* 98 bytes' "$CM_TMP/helloworld.log" || true; }
lines_ge() { [ "$(pkt_in_lines)" -ge "$1" ]; }

cm_check "create hw1 with SLOWPATH" bash -c "$PCNCTL helloworld add hw1 type=TC action=SLOWPATH && \
	$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB"

cm_check "garbage to the broker's slowpath.sock" $PROBE garbage "ipc://$CM_SOCK/slowpath.sock" 50
cm_check "the broker counted rejects" until_ok 3 rejected_ge 50
cm_check "a batch for an unknown instance is counted" \
	bash -c "curl -s ${PCN_URL}metrics | grep -q '^cubemesh_slowpath_out_unknown_instance_packets_total [1-9]'"
cm_check "the broker is alive" kill -0 "$CM_BROKER_PID"
cm_check "HTTP still answers" curl -fs -o /dev/null "${PCN_URL}version"

cm_check "garbage to the broker's logs.sock" $PROBE garbage "ipc://$CM_SOCK/logs.sock" 20
cm_check "the broker counted those rejects" until_ok 3 bash -c \
	"curl -s ${PCN_URL}metrics | awk '\$1 == \"cubemesh_wire_rejected_messages_total{socket=\\\"logs\\\"}\" && \$2 >= 20 {ok=1} END {exit !ok}'"
cm_check "GET /logs still answers" curl -fs -o /dev/null "${PCN_URL}logs"
cm_check "garbage to the cube's packet socket" $PROBE garbage "ipc://$CM_SOCK/cube-helloworld-pkt.sock" 50
cm_check "the cube logged the rejects" until_ok 3 grep -q CUBE-SP-BAD "$CM_TMP/helloworld.log"
cm_check "the cube is alive" kill -0 "${CM_CUBE_PID[helloworld]}"

cm_ping a 10.204.0.2 3
cm_check "the slow path still works" until_ok 3 lines_ge 3
cm_check "the cube still serves requests" $PCNCTL hw1 set action=DROP
cm_check "delete hw1" $PCNCTL hw1 del
cm_done

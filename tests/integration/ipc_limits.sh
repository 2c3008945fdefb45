#!/usr/bin/env bash
# Every nng socket of the mesh caps what a peer may send (PCN_IPC_MAX_MSG):
# a peer announcing a 512 MiB message on the broker's broker.sock,
# slowpath.sock and logs.sock, or on a cube's request and packet sockets, is
# hung up on before the receiver buffers it. The receivers' peak memory does
# not grow by the stream, and they go on serving.
source "$(dirname "$0")/../lib/mesh.sh"
# IPC_PROBE: a newer probe against an older build (to show the test fails there).
PROBE=${IPC_PROBE:-$CM_BUILD/tests/tools/ipc_probe}
MIB=64

cm_mesh_start helloworld
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# flood KIND SOCKET PID: streams MIB MiB of a 512 MiB message at SOCKET and
# checks that PID's resident memory, sampled while the probe is connected,
# never grew by 16 MiB.
flood() {
	local kind=$1 sock=$2 pid=$3 before peak=0 r probe
	before=$(rss_kb "$pid")
	$PROBE "$kind" "ipc://$CM_SOCK/$sock" "$MIB" >"$CM_TMP/probe.out" &
	probe=$!
	while kill -0 "$probe" 2>/dev/null; do
		r=$(rss_kb "$pid")
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 0.02
	done
	wait "$probe"
	cm_check "$sock: the probe connected ($(cat "$CM_TMP/probe.out"))" grep -q '^sent ' "$CM_TMP/probe.out"
	cm_check "$sock: resident memory grew by $(((peak - before) / 1024)) MiB at most, less than 16" \
		[ $((peak - before)) -lt 16384 ]
}

flood flood-req broker.sock "$CM_BROKER_PID"
flood flood-push slowpath.sock "$CM_BROKER_PID"
flood flood-push logs.sock "$CM_BROKER_PID"
flood flood-req cube-helloworld.sock "${CM_CUBE_PID[helloworld]}"
flood flood-push cube-helloworld-pkt.sock "${CM_CUBE_PID[helloworld]}"

cm_check "the broker is alive" kill -0 "$CM_BROKER_PID"
cm_check "the cube is alive" kill -0 "${CM_CUBE_PID[helloworld]}"
cm_check "HTTP still answers" curl -fs -o /dev/null "${PCN_URL}version"
cm_check "the cube still serves requests" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 set action=FORWARD"
# Legitimate messages still fit (ipc_test: a PCN_IPC_MAX_MSG message is
# taken); the cube's Register, its module inside, got through above.
cm_check "delete hw1" $PCNCTL hw1 del
cm_done

#!/usr/bin/env bash
# A cube process may act only on its own service's instances. docker-compose
# shares the socket directory with every cube container, so a crafted client
# (tests/tools/ipc_probe) stands in for a compromised one: registered as
# nobody, or as simpleforwarder, it tries to put another helloworld
# instance's DROP program into hw1's slot and to send packets out of hw1's
# ports. The broker refuses and logs it; hw1 keeps forwarding and has sent
# nothing out; nor can it hand helloworld packets in. A restarted
# helloworld still owns its instances.
# (integ_slowpath_out and integ_reload show a process's own packets out and
# program installs still go through.)
#
# Against an older build: IPC_PROBE=<new ipc_probe> IPC_PROBE_PROTOCOL=1.
source "$(dirname "$0")/../lib/mesh.sh"
PROBE=${IPC_PROBE:-$CM_BUILD/tests/tools/ipc_probe}
YANG=${CM_SRC:-$(dirname "$0")/../..}/yang/simpleforwarder.yang

cm_mesh_start helloworld
cm_host a 10.206.0.1/24; IFA=$CM_IF
cm_host b 10.206.0.2/24; IFB=$CM_IF
metric() { curl -s "${PCN_URL}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
forbidden_logged() { grep -q BROKER-CUBE-FORBIDDEN "$CM_TMP/broker.log"; }

cm_check "hw1 forwards between a and b" bash -c "$PCNCTL helloworld add hw1 action=FORWARD && \
	$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB"
cm_check "hw2 drops (its program is the weapon)" $PCNCTL helloworld add hw2 action=DROP
cm_check "hw1 forwards (1)" cm_ping a 10.206.0.2 2
PIN=$CM_BPFFS/cubes/helloworld/hw2/prog
cm_check "hw2's program is pinned at $PIN" test -e "$PIN"

out=$($PROBE install "$CM_SOCK" - - hw1 "$PIN")
cm_check "unregistered: installing into hw1 is refused ($out)" [ $? = 0 ]
out=$($PROBE install "$CM_SOCK" simpleforwarder "$YANG" hw1 "$PIN")
cm_check "as simpleforwarder: installing into hw1 is refused ($out)" [ $? = 0 ]
cm_check "with a message naming the owner" grep -q "hw1 is an instance of helloworld" <<<"$out"
cm_check "the broker logged it" forbidden_logged
cm_check "hw1 forwards (2)" cm_ping a 10.206.0.2 2

cm_check "as simpleforwarder: packets out of hw1 are sent" $PROBE packetout "$CM_SOCK" simpleforwarder "$YANG" hw1
cm_check "unregistered: packets out of hw1 are sent" $PROBE packetout "$CM_SOCK" - - hw1
sleep 0.3
cm_check "none went out: hw1 sent nothing ($(metric 'cubemesh_slowpath_out_packets_total{service="helloworld",cube="hw1"}'))" \
	[ "$(metric 'cubemesh_slowpath_out_packets_total{service="helloworld",cube="hw1"}')" = 0 ]
cm_check "the broker counted 16 refused ($(metric cubemesh_slowpath_out_refused_packets_total))" \
	[ "$(metric cubemesh_slowpath_out_refused_packets_total)" = 16 ]
cm_check "hw1 forwards (3)" cm_ping a 10.206.0.2 2

# Nor may a batch speak for another process: a report of 999999 packets
# out lost under helloworld's name and pid is not what /metrics shows.
HWPID=${CM_CUBE_PID[helloworld]}
lost() { metric "cubemesh_cube_slowpath_out_lost_packets_total{service=\"helloworld\",pid=\"$HWPID\"}"; }
cm_check "a report claiming to be helloworld is sent" \
	env PROBE_CLAIM="helloworld $HWPID" $PROBE packetout "$CM_SOCK" simpleforwarder "$YANG" nosuch
sleep 0.3
cm_check "/metrics does not show it ($(lost))" [ "$(lost)" != 999999 ]

# Nor can another container hand helloworld packets in (a bridge would
# learn from them): its packet socket takes only batches with its token.
pkt_in_lines() { grep -c 'HELLOWORLD-PKT-IN: hw1' "$CM_TMP/helloworld.log" || true; }
cm_check "packets in for hw1 are sent to helloworld's packet socket" \
	$PROBE packetin "ipc://$CM_SOCK/cube-helloworld-pkt.sock" hw1
sleep 0.3
cm_check "helloworld's pkt_in did not see them ($(pkt_in_lines) lines)" [ "$(pkt_in_lines)" = 0 ]
cm_check "helloworld logged the refusal" grep -q CUBE-SP-FORBIDDEN "$CM_TMP/helloworld.log"

# Even the owner's packets out are checked: a direction that is neither
# ingress nor egress is refused, not sent as egress. (The probe registers as
# helloworld, taking the service over until the real process comes back.)
cm_check "as helloworld: packets out of hw1 with direction 7 are sent" \
	env PROBE_DIRECTION=7 $PROBE packetout "$CM_SOCK" helloworld "${YANG%/*}/helloworld.yang" hw1
sleep 0.3
cm_check "none went out ($(metric 'cubemesh_slowpath_out_packets_total{service="helloworld",cube="hw1"}'))" \
	[ "$(metric 'cubemesh_slowpath_out_packets_total{service="helloworld",cube="hw1"}')" = 0 ]
cm_check "they are counted as errors" \
	[ "$(metric 'cubemesh_slowpath_dropped_packets_total{service="helloworld",cube="hw1",reason="out_error"}')" = 8 ]

# A restarted helloworld process gets its service's token again: its
# instances stay its own, and the probe is still refused.
kill "${CM_CUBE_PID[helloworld]}"
wait "${CM_CUBE_PID[helloworld]}" 2>/dev/null
cm_cube_start helloworld
cm_check "after a restart helloworld still changes hw1" bash -c "$PCNCTL hw1 set action=DROP && \
	! ip netns exec $(cm_ns a) ping -c 1 -W 1 10.206.0.2 >/dev/null && $PCNCTL hw1 set action=FORWARD"
cm_check "hw1 forwards (4)" cm_ping a 10.206.0.2 2
out=$($PROBE install "$CM_SOCK" simpleforwarder "$YANG" hw1 "$PIN")
cm_check "and the probe is still refused ($out)" [ $? = 0 ]
cm_check "hw1 forwards (5)" cm_ping a 10.206.0.2 2
cm_check "delete hw1 and hw2" bash -c "$PCNCTL hw1 del && $PCNCTL hw2 del"
cm_done

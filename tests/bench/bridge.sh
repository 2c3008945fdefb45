#!/usr/bin/env bash
# Against the kernel's own path (paper Fig. 5's shape): the same forwarding
# a -> IFA -> IFB -> b through a Linux bridge and through Cubemesh, measured
# in the same run with the generator (Mpps, one core, 64-byte frames, one
# flow, b's MAC learned), in interleaved rounds. Rows: the Linux bridge;
# vanilla XDP forward (bl_fwd: swap MACs, redirect to a constant ifindex;
# the ceiling of the path); simpleforwarder, simplebridge and pcn-bridge
# (two access ports of VLAN 1) per hook.
#
# Goals (issue 12), as medians of per-round ratios: simplebridge and
# pcn-bridge at XDP_DRV >= 90% of vanilla XDP forward and >= 3.5x the Linux
# bridge; at TC >= 1.2x the Linux bridge.
source "$(dirname "$0")/lib.sh"
bench_begin bridge
cubes=simpleforwarder
have_sb=0 have_br=0
if [ -x "$CM_BUILD/cubes/simplebridge/pcn-simplebridge" ]; then
	cubes="$cubes simplebridge"
	have_sb=1
fi
if [ -x "$CM_BUILD/cubes/bridge/pcn-bridge" ]; then
	cubes="$cubes bridge"
	have_br=1
fi
cm_mesh_start $cubes
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV XDP_SKB TC}
[ "$BENCH_QUICK" = 1 ] && hooks=${BENCH_HOOKS:-XDP_DRV TC}

# With br_netfilter loaded, bridged frames cross iptables (docs/KERNEL.md: Docker
# sets FORWARD to DROP); turn that off for the run and put it back after.
NF=/proc/sys/net/bridge/bridge-nf-call-iptables
nf_old=
if [ -w "$NF" ]; then
	nf_old=$(cat "$NF")
	echo 0 >"$NF"
fi
nf_restore() { [ -n "$nf_old" ] && echo "$nf_old" >"$NF"; return 0; }
trap 'rc=$?; nf_restore; (exit $rc); cm_cleanup' EXIT

# Both bridges learn b's MAC from a ping b -> a first, so that the
# generator's frames (to b's MAC) are known unicast, not floods.
learn() { cm_ping b 10.250.0.1 2; }
# to_slowpath CUBE: frames CUBE's fast path sent up so far.
to_slowpath() {
	curl -s "${PCN_URL}metrics" | awk -v c="cube=\"$1\"" 'index($1, "cubemesh_cube_to_slowpath_packets") == 1 && index($1, c) { s += $2 } END { printf "%.0f", s }'
}

# One run of each row in turn, BENCH_RUNS times, so that a change of load
# on the host during the benchmark hits every row alike.
br=cmbr$CM_ID
linux_bridge_run() {
	ip link add "$br" type bridge || return 1
	ip link set "$IFA" master "$br" && ip link set "$IFB" master "$br" && ip link set "$br" up
	sleep 0.2
	learn || bench_note "Linux bridge: the learning ping failed"
	BENCH_RUNS=1 bench_gen "Linux bridge" "kernel"
	ip link set "$IFA" nomaster
	ip link set "$IFB" nomaster
	ip link del "$br"
}

sf_run() {
	$PCNCTL simpleforwarder add sf1 type="$1" >/dev/null &&
		$PCNCTL sf1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sf1 ports add p2 peer="$IFB" >/dev/null &&
		$PCNCTL sf1 actions add p1 action=FORWARD outport=p2 >/dev/null ||
		{ echo "simpleforwarder did not start" >&2; return 1; }
	BENCH_RUNS=1 bench_gen "simpleforwarder" "$1"
	$PCNCTL sf1 del >/dev/null
}

sb_run() {
	local up0
	$PCNCTL simplebridge add sb1 type="$1" >/dev/null &&
		$PCNCTL sb1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sb1 ports add p2 peer="$IFB" >/dev/null ||
		{ echo "simplebridge did not start" >&2; return 1; }
	learn || bench_note "simplebridge $1: the learning ping failed"
	bench_settle
	up0=$(to_slowpath sb1)
	BENCH_RUNS=1 bench_gen "simplebridge" "$1"
	SB_SLOW=$((SB_SLOW + $(to_slowpath sb1) - up0))
	$PCNCTL sb1 del >/dev/null
}

BR="pcn-bridge (access, one VLAN)"
br_run() {
	local up0
	$PCNCTL bridge add br1 type="$1" >/dev/null &&
		$PCNCTL br1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL br1 ports add p2 peer="$IFB" >/dev/null ||
		{ echo "bridge did not start" >&2; return 1; }
	learn || bench_note "pcn-bridge $1: the learning ping failed"
	bench_settle
	up0=$(to_slowpath br1)
	BENCH_RUNS=1 bench_gen "$BR" "$1"
	BR_SLOW=$((BR_SLOW + $(to_slowpath br1) - up0))
	$PCNCTL br1 del >/dev/null
}

VANILLA="vanilla XDP forward (swap MACs, redirect)"
vanilla_run() {
	bl_attach XDP_DRV 0 map min || { echo "baseline did not load" >&2; return 1; }
	BENCH_RUNS=1 bench_gen "$VANILLA" XDP_DRV
	bl_detach
}

SB_SLOW=0 BR_SLOW=0
for r in $(seq 1 "$BENCH_RUNS"); do
	linux_bridge_run || exit 1
	vanilla_run || exit 1
	for hook in $hooks; do
		sf_run "$hook" || exit 1
		if [ "$have_sb" = 1 ]; then sb_run "$hook" || exit 1; fi
		if [ "$have_br" = 1 ]; then br_run "$hook" || exit 1; fi
	done
done
for c in simplebridge "$BR"; do
	[ "$c" = simplebridge ] && [ "$have_sb" = 0 ] && continue
	[ "$c" = "$BR" ] && [ "$have_br" = 0 ] && continue
	bench_goal "$c XDP_DRV vs vanilla XDP forward" "$c" XDP_DRV "$VANILLA" XDP_DRV 0.9 pct
	for hook in $hooks; do
		goal=1.2
		case $hook in XDP_DRV) goal=3.5 ;; XDP_SKB) goal= ;; esac
		[ -n "$goal" ] && bench_goal "$c $hook vs Linux bridge" "$c" "$hook" "Linux bridge" kernel "$goal"
	done
done
[ "$have_sb" = 1 ] && bench_note "simplebridge: $SB_SLOW frames in all went to the slow path during the runs"
[ "$have_br" = 1 ] && bench_note "pcn-bridge: $BR_SLOW frames in all went to the slow path during the runs"
[ "$have_sb" = 1 ] || bench_not_measured "simplebridge" "no simplebridge cube yet; simpleforwarder stands in (no MAC learning)"
bench_note "the bridges learned b's MAC from a ping before each run: the frames are known unicast; the generator's frames reach the Linux bridge and TC/XDP_SKB cubes as skbs through veth GRO"
bench_finish
cm_done

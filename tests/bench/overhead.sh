#!/usr/bin/env bash
# Framework overhead (paper Table III: pcn-simplefw 6.86 vs xdp_redirect
# 6.97 Mpps). The same forwarding a -> IFA -> IFB -> b done by a vanilla
# program (bl_fwd: swap MACs, redirect) and by Cubemesh cubes
# (simpleforwarder: per-port action lookup + pcn_pkt_send; helloworld: one
# action + pcn_pkt_send), reached through the netdev input program and the
# PatchPanel. Per hook: Mpps on one core with pcn-trafficgen, and ns per
# packet through BPF_PROG_TEST_RUN. Lines of code of each, counted.
source "$(dirname "$0")/lib.sh"
bench_begin overhead
cm_mesh_start simpleforwarder helloworld
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV XDP_SKB TC}
[ "$BENCH_QUICK" = 1 ] && hooks=${BENCH_HOOKS:-XDP_DRV TC}

sf_create() {
	$PCNCTL simpleforwarder add sf1 type="$1" >/dev/null &&
		$PCNCTL sf1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sf1 ports add p2 peer="$IFB" >/dev/null &&
		$PCNCTL sf1 actions add p1 action=FORWARD outport=p2 >/dev/null
}

hw_create() {
	$PCNCTL helloworld add hw1 type="$1" action=FORWARD >/dev/null &&
		$PCNCTL hw1 ports add port1 peer="$IFA" >/dev/null &&
		$PCNCTL hw1 ports add port2 peer="$IFB" >/dev/null
}

# Runs are interleaved (baseline, cube, cube, baseline, ...) so that a
# change of load on the host during the benchmark hits every row alike.
for hook in $hooks; do
	echo "# $hook"
	for r in $(seq 1 "$BENCH_RUNS"); do
		bl_attach "$hook" || { echo "baseline did not load" >&2; exit 1; }
		BENCH_RUNS=1 bench_gen "vanilla (swap MACs + redirect)" "$hook"
		BENCH_RUNS=1 bench_ns "vanilla (swap MACs + redirect)" "$hook" "$BL_PIN/entry"
		bl_detach

		sf_create "$hook" || { echo "simpleforwarder did not start" >&2; exit 1; }
		bench_settle
		BENCH_RUNS=1 bench_gen "simpleforwarder cube" "$hook"
		BENCH_RUNS=1 bench_ns "simpleforwarder cube" "$hook" "$(bench_netdev_pin "$hook")"
		$PCNCTL sf1 del >/dev/null

		hw_create "$hook" || { echo "helloworld did not start" >&2; exit 1; }
		bench_settle
		BENCH_RUNS=1 bench_gen "helloworld cube" "$hook"
		BENCH_RUNS=1 bench_ns "helloworld cube" "$hook" "$(bench_netdev_pin "$hook")"
		$PCNCTL hw1 del >/dev/null
		# Part of the breakdown: the netdev input program on a netdev that
		# is not peered (one pcn_netdev_in lookup that misses, then pass).
		BENCH_RUNS=1 bench_ns "netdev input program alone (not peered)" "$hook" "$(bench_netdev_pin "$hook")"
	done

	for unit in Mpps ns; do
		base=$(bench_median "vanilla (swap MACs + redirect)" "$hook" "$unit")
		bench_overhead "$hook simpleforwarder vs vanilla" "$base" \
			"$(bench_median "simpleforwarder cube" "$hook" "$unit")" "$unit"
	done
done

src=$CM_SRC
bench_note "lines of code: vanilla baseline: BPF $(bench_loc "$BENCH_DIR/baseline.bpf.c" "$BENCH_DIR/baseline_kern_user.h") (with the chain hops), loader $(bench_loc "$BENCH_DIR/baseline.c")"
bench_note "lines of code: simpleforwarder: fast path $(bench_loc "$src/cubes/simpleforwarder/simpleforwarder.bpf.c" "$src/cubes/simpleforwarder/simpleforwarder_shared.h"), control plane $(bench_loc "$src/cubes/simpleforwarder/simpleforwarder.c"), YANG $(bench_loc "$src/yang/simpleforwarder.yang") (REST API, CLI, datastore, restart: from the framework)"
bench_note "the vanilla program swaps MACs, the cubes do not: the comparison favours the cubes by that swap (~1 ns)"
bench_note "generator, device under test and sink share one core (veth NAPI runs where the frame is sent): Mpps is the whole path's, for comparison between rows"
bench_finish
cm_done

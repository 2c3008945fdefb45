#!/usr/bin/env bash
# Framework overhead (paper Table III: pcn-simplefw 6.86 vs xdp_redirect
# 6.97 Mpps). The same forwarding a -> IFA -> IFB -> b done by vanilla
# programs (bl_sample: the paper's xdp_redirect; bl_fwd: the same without
# its two maps) and by Cubemesh cubes
# (simpleforwarder: per-port action lookup + pcn_pkt_send; helloworld: one
# action + pcn_pkt_send), reached through the netdev input program and the
# PatchPanel. Per hook: Mpps on one core with pcn-trafficgen, and ns per
# packet through BPF_PROG_TEST_RUN. Lines of code of each, counted.
source "$(dirname "$0")/lib.sh"
bench_begin "${BENCH_NAME_OVERRIDE:-overhead}"
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

# The baselines: the paper's (the kernel's samples/bpf/xdp_redirect_kern.c
# until Linux 5.14: out interface read from a one-entry array, a per-CPU
# packet counter, MACs swapped, bpf_redirect) and the least a forwarding
# program can do (a constant interface, no counter). The goal (at most 1%)
# is against the paper's.
VS="vanilla: the paper's xdp_redirect (tx_port map, rxcnt counter, swap MACs, redirect)"
VM="vanilla minimal (constant ifindex, swap MACs, redirect)"

# How Cubemesh's input program meets the netdev (docs/KERNEL.md): the
# "simpleforwarder cube" rows use the broker's default (TC: a tcx link; XDP:
# libxdp's dispatcher where the kernel runs it, else attached directly), and
# a second row the other way (TC: a clsact filter; XDP: attached directly
# when the default is the dispatcher). The broker restarts for each.
# bench_broker ARGS: the broker again, with these options.
bench_broker() {
	kill "$CM_BROKER_PID" 2>/dev/null
	wait "$CM_BROKER_PID" 2>/dev/null
	CM_BROKER_ARGS=$1 cm_broker_start && cm_wait_service_up simpleforwarder && cm_wait_service_up helloworld
}
# attach_of: how the input program is attached to IFA (GET /netdevs).
attach_of() {
	curl -s "${PCN_URL}netdevs/$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("cubemesh-attach", {}).get("attach", "?"))'
}
dispatcher=0
grep -q "XDP through libxdp's dispatcher" "$CM_TMP/broker.log" && dispatcher=1
# CM_LOG_LEVEL=WARN hides that line: ask for it once.
if ! grep -q "BROKER-HOOKS" "$CM_TMP/broker.log"; then
	CM_LOG_LEVEL=INFO bench_broker ""
	grep -q "XDP through libxdp's dispatcher" "$CM_TMP/broker.log" && dispatcher=1
fi
if [ $dispatcher = 0 ]; then
	why=$(grep -o "this kernel refuses freplace[^:]*" "$CM_TMP/broker.log" | head -1)
	bench_not_measured "XDP cube through libxdp's dispatcher" "${why:-the broker was built without libxdp}"
fi

# Runs are interleaved (baselines, cubes, baselines, ...) so that a change
# of load on the host during the benchmark hits every row alike.
for hook in $hooks; do
	echo "# $hook"
	alt_args= alt_label=
	if [ "$hook" = TC ]; then
		alt_args="--tc-attach clsact" alt_label=clsact
	elif [ $dispatcher = 1 ]; then
		alt_args="--xdp-attach direct" alt_label="attached directly"
	fi
	for r in $(seq 1 "$BENCH_RUNS"); do
		for fwd in sample min; do
			series=$VS
			[ $fwd = min ] && series=$VM
			bl_attach "$hook" 0 map $fwd || { echo "baseline did not load" >&2; exit 1; }
			BENCH_RUNS=1 bench_gen "$series" "$hook"
			BENCH_RUNS=1 bench_ns "$series" "$hook" "$BL_PIN/entry"
			bl_detach
		done

		sf_create "$hook" || { echo "simpleforwarder did not start" >&2; exit 1; }
		bench_settle
		BENCH_RUNS=1 bench_gen "simpleforwarder cube" "$hook"
		BENCH_RUNS=1 bench_ns "simpleforwarder cube" "$hook" "$(bench_netdev_pin "$hook")"
		[ "$r" = 1 ] && bench_note "$hook: the simpleforwarder cube rows' input program is attached so: $(attach_of)"
		$PCNCTL sf1 del >/dev/null
		if [ -n "$alt_args" ]; then
			bench_broker "$alt_args" || { echo "broker did not restart" >&2; exit 1; }
			sf_create "$hook" || { echo "simpleforwarder did not start" >&2; exit 1; }
			bench_settle
			BENCH_RUNS=1 bench_gen "simpleforwarder cube, $alt_label" "$hook"
			[ "$r" = 1 ] && bench_note "$hook: the '$alt_label' row's input program is attached so: $(attach_of)"
			$PCNCTL sf1 del >/dev/null
			bench_broker "" || { echo "broker did not restart" >&2; exit 1; }
		fi

		hw_create "$hook" || { echo "helloworld did not start" >&2; exit 1; }
		bench_settle
		BENCH_RUNS=1 bench_gen "helloworld cube" "$hook"
		BENCH_RUNS=1 bench_ns "helloworld cube" "$hook" "$(bench_netdev_pin "$hook")"
		$PCNCTL hw1 del >/dev/null
		# Part of the breakdown: the generic netdev input program, which a
		# netdev that is not peered runs (the transparent stacks' lookups
		# and one of pcn_netdev_in, all missing, then pass).
		BENCH_RUNS=1 bench_ns "netdev input program alone (not peered)" "$hook" "$(bench_netdev_pin "$hook")"
	done

	cube_ns=$(bench_median "simpleforwarder cube" "$hook" ns)
	for base in "$VS" "$VM"; do
		name="paper's xdp_redirect"
		[ "$base" = "$VM" ] && name="minimal vanilla"
		for unit in Mpps ns; do
			bench_overhead "$hook simpleforwarder vs $name" "$(bench_median "$base" "$hook" "$unit")" \
				"$(bench_median "simpleforwarder cube" "$hook" "$unit")" "$unit"
		done
		bench_path_share "$hook simpleforwarder vs $name, per frame" "$(bench_median "$base" "$hook" Mpps)" \
			"$(bench_median "$base" "$hook" ns)" "$cube_ns"
		paired=$(bench_paired "$base" "simpleforwarder cube" "$hook") &&
			bench_note "$hook simpleforwarder vs $name, Mpps overhead round by round: $paired"
	done
	if [ -n "$alt_label" ]; then
		bench_overhead "$hook simpleforwarder, $alt_label vs minimal vanilla" "$(bench_median "$VM" "$hook" Mpps)" \
			"$(bench_median "simpleforwarder cube, $alt_label" "$hook" Mpps)" Mpps
		bench_overhead "$hook simpleforwarder, default vs $alt_label" \
			"$(bench_median "simpleforwarder cube, $alt_label" "$hook" Mpps)" \
			"$(bench_median "simpleforwarder cube" "$hook" Mpps)" Mpps
	fi
done

src=$CM_SRC
bench_note "lines of code: vanilla baseline: BPF $(bench_loc "$BENCH_DIR/baseline.bpf.c" "$BENCH_DIR/baseline_kern_user.h") (with the chain hops), loader $(bench_loc "$BENCH_DIR/baseline.c")"
bench_note "lines of code: simpleforwarder: fast path $(bench_loc "$src/cubes/simpleforwarder/simpleforwarder.bpf.c" "$src/cubes/simpleforwarder/simpleforwarder_shared.h"), control plane $(bench_loc "$src/cubes/simpleforwarder/simpleforwarder.c"), YANG $(bench_loc "$src/yang/simpleforwarder.yang") (REST API, CLI, datastore, restart: from the framework)"
bench_note "the vanilla programs swap MACs, the cubes do not: the comparison favours the cubes by that swap (~1 ns)"
bench_note "ns/packet: wall clock around BPF_PROG_TEST_RUN over $BENCH_REPEAT repeats, to 0.01 ns, the least of 3 runs (the kernel's own figure is whole ns); it includes the test harness's ~25 ns per run, the same for every row"
bench_note "generator, device under test and sink share one core (veth NAPI runs where the frame is sent): Mpps is the whole path's, for comparison between rows"
bench_finish
cm_done

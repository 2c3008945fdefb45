#!/usr/bin/env bash
# What a pass-through transparent cube costs the forwarding path.
#
# Path: a -> IFA -> simpleforwarder sf1 -> IFB -> b, 64-byte UDP frames,
# one flow. In each round and hook, side by side:
#   - forwarding: sf1 alone;
#   - + transparent on IFA: a transparenthelloworld t1 (both actions PASS)
#     attached to IFA, the netdev sf1's port p1 is peered with: the frame
#     runs IFA's ingress stack, then sf1;
#   - + transparent on IFB: t1 attached to IFB instead: the frame sf1
#     sends out of p2 runs IFB's egress stack.
# Each: delivered Mpps (pcn-trafficgen) and the ns per frame of IFA's input
# program (BPF_PROG_TEST_RUN: the ingress stack, sf1, the egress stack,
# the redirect verdict; what the traffic run adds around it is the
# kernel's). The figure is the difference: the ns a pass-through
# transparent cube adds per frame (tests/bench/results/NOTES.md: where it
# goes). At TC the egress stack runs at IFB's TC egress hook, outside IFA's
# program: there only the Mpps show it. The rounds are interleaved: a change of load on the host hits the
# three alike.
source "$(dirname "$0")/lib.sh"
bench_begin transparent
cm_mesh_start simpleforwarder transparenthelloworld
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
[ "$BENCH_QUICK" = 1 ] && hooks=${BENCH_HOOKS:-XDP_DRV}

sf_create() {
	$PCNCTL simpleforwarder add sf1 type="$1" >/dev/null &&
		$PCNCTL sf1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sf1 ports add p2 peer="$IFB" >/dev/null &&
		$PCNCTL sf1 actions add p1 action=FORWARD outport=p2 >/dev/null
}

# kns SERIES HOOK: the kernel's own ns per frame of IFA's input program
# (BPF_PROG_TEST_RUN's duration, the least of 3 runs). Whole ns, but its
# timer stops while the task is rescheduled, so on a host shared with
# other work it spreads by a few ns where the wall clock (bench_ns) spreads
# by 50 or more.
kns() {
	bench_record "$1 (kernel's figure)" "$2" ns "$("$TG" run --pin "$(bench_netdev_pin "$2")" --ifname "$IFA" \
		--repeat "$((BENCH_REPEAT > 500000 ? 500000 : BENCH_REPEAT))" --runs 3 |
		sed -n 's/^ns_per_packet=\([0-9]*\).*/\1/p' | sort -g | head -n 1)"
}

# one SERIES HOOK: a traffic run and the input program's ns per frame.
one() {
	BENCH_RUNS=1 bench_gen "$1" "$2" || return 1
	BENCH_RUNS=1 BENCH_REPEAT=$((BENCH_REPEAT > 200000 ? 200000 : BENCH_REPEAT)) \
		bench_ns "$1" "$2" "$(bench_netdev_pin "$2")"
	kns "$1" "$2"
}

TA="+ transparent on IFA (ingress stack)"
TB="+ transparent on IFB (egress stack)"
for hook in $hooks; do
	echo "# $hook"
	sf_create "$hook" || { echo "simpleforwarder did not start" >&2; exit 1; }
	$PCNCTL transparenthelloworld add t1 type="$hook" >/dev/null || { echo "t1 did not start" >&2; exit 1; }
	for r in $(seq 1 "$BENCH_RUNS"); do
		bench_settle
		one forwarding "$hook" || exit 1
		$PCNCTL attach t1 "$IFA" >/dev/null || exit 1
		bench_settle
		one "$TA" "$hook" || exit 1
		$PCNCTL detach t1 "$IFA" >/dev/null || exit 1
		$PCNCTL attach t1 "$IFB" >/dev/null || exit 1
		bench_settle
		one "$TB" "$hook" || exit 1
		$PCNCTL detach t1 "$IFB" >/dev/null || exit 1
	done
	$PCNCTL transparenthelloworld del t1 >/dev/null
	$PCNCTL sf1 del >/dev/null
	for s in "$TA" "$TB"; do
		bench_overhead "$hook $s: IFA's input program per frame (BPF_PROG_TEST_RUN, kernel's figure)" \
			"$(bench_median "forwarding (kernel's figure)" "$hook" ns)" \
			"$(bench_median "$s (kernel's figure)" "$hook" ns)" ns
		bench_overhead "$hook $s: the same, wall clock" \
			"$(bench_median forwarding "$hook" ns)" "$(bench_median "$s" "$hook" ns)" ns
		bench_note "$hook $s: forwarding overhead $(bench_paired forwarding "$s" "$hook")"
	done
done
bench_finish
cm_done

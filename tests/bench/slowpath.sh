#!/usr/bin/env bash
# Slow path (paper Fig. 12): delivered throughput as the share of packets
# sent to the slow path goes from 0% to 100%. helloworld FORWARD is 0%,
# SLOWPATH 100%; at 100% the figures are how many packets per second reach
# the broker's slow-path ring reader and the cube process (/metrics).
source "$(dirname "$0")/lib.sh"
bench_begin slowpath
cm_mesh_start helloworld
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
[ "$BENCH_QUICK" = 1 ] && hooks=${BENCH_HOOKS:-XDP_DRV}

# metric NAME: the sum of a metric over its labels.
metric() {
	curl -s "${PCN_URL}metrics" | awk -v m="$1" 'index($1, m) == 1 { s += $2 } END { printf "%.0f", s }'
}

# The slow-path metrics are per instance: probe with one.
$PCNCTL helloworld add probe >/dev/null || { echo "helloworld did not start" >&2; exit 1; }
if ! curl -s "${PCN_URL}metrics" | grep -q '^cubemesh_slowpath_up_packets'; then
	bench_not_measured "slow path" "the broker has no slow path yet (issue 4): no cubemesh_slowpath_* metrics"
	bench_finish
	cm_done
	exit
fi
$PCNCTL probe del >/dev/null

for hook in $hooks; do
	$PCNCTL helloworld add hw1 type="$hook" action=FORWARD >/dev/null &&
		$PCNCTL hw1 ports add port1 peer="$IFA" >/dev/null &&
		$PCNCTL hw1 ports add port2 peer="$IFB" >/dev/null ||
		{ echo "helloworld did not start" >&2; exit 1; }
	bench_gen "$hook delivered" "0%"
	$PCNCTL hw1 set action=SLOWPATH >/dev/null
	for r in $(seq 1 "$BENCH_RUNS"); do
		up0=$(metric cubemesh_slowpath_up_packets)
		cube0=$(metric cubemesh_slowpath_to_cube_packets)
		drop0=$(metric cubemesh_slowpath_dropped_packets)
		full0=$(metric cubemesh_cube_slowpath_ring_full_packets)
		out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
			--cpu "$BENCH_CPU" | head -n 1) || exit 1
		sleep 0.5 # the slow path drains its ring on a timer
		secs=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
		rate() { awk -v a="$1" -v b="$2" -v s="$secs" 'BEGIN { printf "%.4f", (b - a) / s / 1e6 }'; }
		bench_record "$hook delivered" "100%" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
		bench_record "$hook offered" "100%" Mpps "$(echo "$out" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
		bench_record "$hook read by the broker" "100%" Mpps "$(rate "$up0" "$(metric cubemesh_slowpath_up_packets)")"
		bench_record "$hook handed to the cube process" "100%" Mpps "$(rate "$cube0" "$(metric cubemesh_slowpath_to_cube_packets)")"
		bench_record "$hook dropped by the broker" "100%" Mpps "$(rate "$drop0" "$(metric cubemesh_slowpath_dropped_packets)")"
		bench_record "$hook ring full (fast path)" "100%" Mpps "$(rate "$full0" "$(metric cubemesh_cube_slowpath_ring_full_packets)")"
	done
	$PCNCTL hw1 del >/dev/null
done
bench_not_measured "shares between 0% and 100%" "no cube sends a chosen share of its packets up yet"
bench_note "helloworld's slow path counts packets and sends none back out: at 100% nothing is delivered by design; the slow-path figures are its capacity"
bench_finish
cm_done

#!/usr/bin/env bash
# Slow path (paper Fig. 12): delivered throughput as the share of packets
# sent to the slow path goes from 0% to 100%.
# - simplebridge (when built): b's MAC is learned, and the generator sends
#   a chosen share of its frames to a MAC nobody has: those are flooded by
#   the slow path (broker -> cube process -> broker -> AF_PACKET out of the
#   other port), the rest are forwarded by the fast path. The sink counts
#   both.
# - helloworld FORWARD (0%) and SLOWPATH (100%, its slow path only counts):
#   how many packets per second reach the broker and the cube process.
source "$(dirname "$0")/lib.sh"
bench_begin slowpath
have_sb=0
[ -x "$CM_BUILD/cubes/simplebridge/pcn-simplebridge" ] && have_sb=1
if [ "$have_sb" = 1 ]; then cm_mesh_start helloworld simplebridge; else cm_mesh_start helloworld; fi
bench_topology
shares=${BENCH_SHARES:-0 1 5 10 25 50 75 100}
[ "$BENCH_QUICK" = 1 ] && shares=${BENCH_SHARES:-0 50 100}

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
	[ "$have_sb" = 1 ] || break
	$PCNCTL simplebridge add sb1 type="$hook" >/dev/null &&
		$PCNCTL sb1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sb1 ports add p2 peer="$IFB" >/dev/null ||
		{ echo "simplebridge did not start" >&2; exit 1; }
	cm_ping b 10.250.0.1 2 || bench_note "simplebridge $hook: the learning ping failed"
	for share in $shares; do
		for r in $(seq 1 "$BENCH_RUNS"); do
			out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
				--cpu "$BENCH_CPU" --mix "$share" --mix-dst-mac 02:00:00:00:00:99 | head -n 1) || exit 1
			bench_record "simplebridge $hook delivered" "$share" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
			bench_record "simplebridge $hook (offered)" "$share" Mpps "$(echo "$out" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
		done
	done
	$PCNCTL sb1 del >/dev/null
done
[ "$have_sb" = 1 ] || bench_not_measured "shares between 0% and 100%" "no simplebridge cube built"

for hook in $hooks; do
	$PCNCTL helloworld add hw1 type="$hook" action=FORWARD >/dev/null &&
		$PCNCTL hw1 ports add port1 peer="$IFA" >/dev/null &&
		$PCNCTL hw1 ports add port2 peer="$IFB" >/dev/null ||
		{ echo "helloworld did not start" >&2; exit 1; }
	bench_gen "helloworld $hook delivered" "0%"
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
		bench_record "helloworld $hook delivered" "100%" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
		bench_record "helloworld $hook (offered)" "100%" Mpps "$(echo "$out" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
		bench_record "helloworld $hook read by the broker" "100%" Mpps "$(rate "$up0" "$(metric cubemesh_slowpath_up_packets)")"
		bench_record "helloworld $hook handed to the cube process" "100%" Mpps "$(rate "$cube0" "$(metric cubemesh_slowpath_to_cube_packets)")"
		bench_record "helloworld $hook dropped by the broker" "100%" Mpps "$(rate "$drop0" "$(metric cubemesh_slowpath_dropped_packets)")"
		bench_record "helloworld $hook ring full (fast path)" "100%" Mpps "$(rate "$full0" "$(metric cubemesh_cube_slowpath_ring_full_packets)")"
	done
	$PCNCTL hw1 del >/dev/null
done
bench_note "helloworld's slow path counts packets and sends none back out: at 100% nothing is delivered by design; the slow-path figures are its capacity"
bench_finish
cm_done

#!/usr/bin/env bash
# Slow-path round trip (issue 4's figure): 64-byte broadcast frames from a
# into a simplebridge, which sends every one up (pcn_pkt_controller); the
# broker hands them to pcn-simplebridge, whose pkt_in floods each back out
# of the other port (pcn_send_packet_out) to b, where the sink counts them.
# delivered_pps is the round trip. For each offered rate it also prints the
# rate at each stage and where packets were lost, so the bottleneck shows:
#   kernel -> broker   ring records read (ring full = the broker reads too slowly)
#   broker -> cube     PacketIn handed over (queue full = the cube is too slow)
#   cube -> out        packets sent out by the broker (AF_PACKET)
# Prints figures; asserts nothing.
source "$(dirname "$0")/lib.sh"
bench_begin slowpath_roundtrip
cm_mesh_start simplebridge
bench_topology

# metric NAME: the sum of a metric over its labels (prefix match on the name).
metric() {
	curl -s "${PCN_URL}metrics" | awk -v m="$1" 'index($1, m) == 1 { s += $2 } END { printf "%.0f", s }'
}
# cpu_ticks PID: user+system clock ticks the process used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
hooks=${BENCH_HOOKS:-XDP_DRV TC}
rates=${BENCH_RATES:-50000 100000 200000 400000 0}
[ "$BENCH_QUICK" = 1 ] && { hooks=${BENCH_HOOKS:-TC}; rates=${BENCH_RATES:-100000}; }

for hook in $hooks; do
	$PCNCTL simplebridge add sb1 type="$hook" >/dev/null &&
		$PCNCTL sb1 ports add pa peer="$IFA" >/dev/null &&
		$PCNCTL sb1 ports add pb peer="$IFB" >/dev/null ||
		{ echo "simplebridge did not start" >&2; exit 1; }
	for rate in $rates; do
		x=$([ "$rate" = 0 ] && echo "flat out" || echo "$rate pps")
		for r in $(seq 1 "$BENCH_RUNS"); do
			up0=$(metric cubemesh_slowpath_up_packets)
			cube0=$(metric cubemesh_slowpath_to_cube_packets)
			out0=$(metric cubemesh_slowpath_out_packets)
			full0=$(metric cubemesh_cube_slowpath_ring_full_packets)
			qd0=$(metric 'cubemesh_slowpath_dropped_packets_total{service="simplebridge",cube="sb1",reason="queue_full"}')
			oe0=$(metric 'cubemesh_slowpath_dropped_packets_total{service="simplebridge",cube="sb1",reason="out_error"}')
			bt0=$(cpu_ticks "$CM_BROKER_PID"); ct0=$(cpu_ticks "${CM_CUBE_PID[simplebridge]}")
			res=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
				--cpu "$BENCH_CPU" --size 64 --rate "$rate" --dst-mac ff:ff:ff:ff:ff:ff | head -n 1) || exit 1
			bt1=$(cpu_ticks "$CM_BROKER_PID"); ct1=$(cpu_ticks "${CM_CUBE_PID[simplebridge]}")
			sleep 0.5 # let the stages drain before reading the counters
			secs=$(echo "$res" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
			rate_of() { awk -v a="$1" -v b="$2" -v s="$secs" 'BEGIN { printf "%.4f", (b - a) / s / 1e6 }'; }
			bench_record "$hook offered" "$x" Mpps "$(echo "$res" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
			bench_record "$hook round trip (delivered to b)" "$x" Mpps "$(echo "$res" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')"
			bench_record "$hook kernel -> broker (ring read)" "$x" Mpps "$(rate_of "$up0" "$(metric cubemesh_slowpath_up_packets)")"
			bench_record "$hook lost: ring full" "$x" Mpps "$(rate_of "$full0" "$(metric cubemesh_cube_slowpath_ring_full_packets)")"
			bench_record "$hook broker -> cube (handed over)" "$x" Mpps "$(rate_of "$cube0" "$(metric cubemesh_slowpath_to_cube_packets)")"
			bench_record "$hook lost: cube queue full" "$x" Mpps "$(rate_of "$qd0" "$(metric 'cubemesh_slowpath_dropped_packets_total{service="simplebridge",cube="sb1",reason="queue_full"}')")"
			bench_record "$hook cube -> out (sent by the broker)" "$x" Mpps "$(rate_of "$out0" "$(metric cubemesh_slowpath_out_packets)")"
			bench_record "$hook lost: send out failed" "$x" Mpps "$(rate_of "$oe0" "$(metric 'cubemesh_slowpath_dropped_packets_total{service="simplebridge",cube="sb1",reason="out_error"}')")"
			cpu() { awk -v a="$1" -v b="$2" -v s="$secs" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) / hz / s * 100 }'; }
			bench_record "$hook broker CPU" "$x" "% of a core" "$(cpu "$bt0" "$bt1")"
			bench_record "$hook pcn-simplebridge CPU" "$x" "% of a core" "$(cpu "$ct0" "$ct1")"
		done
	done
	$PCNCTL sb1 del >/dev/null
done
bench_note "each stage's rate is what passed it; the first stage whose rate falls below the offered rate (with its 'lost' line rising) is the bottleneck"
bench_finish
cm_done

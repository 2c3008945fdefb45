#!/usr/bin/env bash
# pcn-packetcapture: frames captured per second, and what capturing costs
# the traffic, against tcpdump -w on the same netdev in the same rounds.
#
# Path: a -> IFA -> simpleforwarder sf1 (XDP_DRV or TC) -> IFB -> b, 64-byte
# UDP frames, one flow. In each round and hook:
#   - forwarding: sf1 alone (delivered Mpps at b);
#   - tcpdump -w: tcpdump -i IFA -s 64 -w (a file) during the run: its
#     "packets captured" per second and the forwarding meanwhile. At
#     XDP_DRV the frames are redirected before the kernel's packet taps,
#     so tcpdump sees (almost) nothing there: that is the figure;
#   - packetcapture: pc1 on IFA (capture INGRESS, filter all, snaplen 64,
#     the file rotated at 64 MiB, one old file kept), flat out and at 1 Mpps
#     offered: records the fast path put in the ring per second, records
#     it could not (ring full: dropped, the frames themselves went on), and
#     the forwarding meanwhile;
#   - the ns per frame of the path's program (BPF_PROG_TEST_RUN on IFA's
#     input program) without and with the capture: its cost apart from
#     the run-to-run spread of traffic runs.
# Goals (issue 15): >= 1 Mpps captured without a drop, and the forwarding
# of captured traffic within 10% of the same path without capture.
# Files go to a tmpfs (/dev/shm): the figures are the capture's, not the
# disk's.
source "$(dirname "$0")/lib.sh"
CAPDIR=$(mktemp -d /dev/shm/pcbench.XXXXXX)
export PCN_CAPTURE_DIR=$CAPDIR
bench_begin packetcapture
cm_mesh_start simpleforwarder packetcapture
bench_topology
trap 'rc=$?; rm -rf "$CAPDIR"; (exit $rc); cm_cleanup' EXIT

hooks=${BENCH_HOOKS:-XDP_DRV TC}
RATE_GOAL=1000000

sf_create() {
	$PCNCTL simpleforwarder add sf1 type="$1" >/dev/null &&
		$PCNCTL sf1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sf1 ports add p2 peer="$IFB" >/dev/null &&
		$PCNCTL sf1 actions add p1 action=FORWARD outport=p2 >/dev/null
}

# gen SERIES HOOK [RATE]: one traffic run; records delivered Mpps; the
# generator's line in GEN_OUT.
gen() {
	GEN_OUT=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" ${3:+--rate $3} | head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$GEN_OUT" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
}

pc_stat() { curl -s "${PCN_URL}packetcapture/pc1/stats/$1" | tr -d '"\n '; }

# mpps COUNT: COUNT over the run's seconds, in Mpps.
mpps() { awk -v n="$1" -v s="$BENCH_SECONDS" 'BEGIN { printf "%.3f", n / s / 1e6 }'; }

tcpdump_run() {
	local td=$CM_TMP/tcpdump.err n
	tcpdump -Z root -i "$IFA" -nn -s 64 -B 32768 -C 64 -W 2 -w "$CAPDIR/tcpdump.pcap" 2>"$td" &
	local pid=$!
	sleep 1 # listening
	gen "forwarding under tcpdump -w" "$1" || return 1
	kill -INT "$pid"
	wait "$pid" 2>/dev/null
	n=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$td")
	bench_record "tcpdump -w captured" "$1" Mpps "$(mpps "${n:-0}")"
	bench_record "tcpdump -w dropped by kernel" "$1" Mpps \
		"$(mpps "$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$td")")"
	rm -f "$CAPDIR"/tcpdump.pcap*
}

# pc_round HOOK LABEL [RATE]: one run with pc1 capturing.
pc_round() {
	local c0 d0 c1 d1
	c0=$(pc_stat captured-ingress); d0=$(pc_stat dropped)
	gen "forwarding under packetcapture$2" "$1" "${3:-}" || return 1
	c1=$(pc_stat captured-ingress); d1=$(pc_stat dropped)
	bench_record "packetcapture captured$2" "$1" Mpps "$(mpps $((c1 - c0)))"
	bench_record "packetcapture dropped (ring full)$2" "$1" Mpps "$(mpps $((d1 - d0)))"
	[ -n "${3:-}" ] && bench_record "offered$2" "$1" Mpps "$(awk -v r="$3" 'BEGIN { printf "%.3f", r / 1e6 }')"
	return 0
}

pc_run() {
	$PCNCTL packetcapture add pc1 type="$1" capture=INGRESS snaplen=64 dump=bench.pcap \
		dump-size-limit=67108864 dump-files=1 >/dev/null &&
		$PCNCTL attach pc1 "$IFA" >/dev/null || { echo "packetcapture did not start" >&2; return 1; }
	bench_settle
	# The path's program per frame, with the capture's copy in it (200000
	# frames at most: they fit in the ring, none takes the drop path).
	BENCH_REPEAT=$((BENCH_REPEAT > 200000 ? 200000 : BENCH_REPEAT)) BENCH_RUNS=1 \
		bench_ns "program under packetcapture" "$1" "$(bench_netdev_pin "$1")"
	pc_round "$1" "" || return 1
	pc_round "$1" " at 1 Mpps" "$RATE_GOAL" || return 1
	$PCNCTL packetcapture del pc1 >/dev/null
}

for r in $(seq 1 "$BENCH_RUNS"); do
	for hook in $hooks; do
		sf_create "$hook" || { echo "simpleforwarder did not start" >&2; exit 1; }
		bench_settle
		BENCH_REPEAT=$((BENCH_REPEAT > 200000 ? 200000 : BENCH_REPEAT)) BENCH_RUNS=1 \
			bench_ns "program" "$hook" "$(bench_netdev_pin "$hook")"
		gen "forwarding" "$hook" || exit 1
		tcpdump_run "$hook" || exit 1
		pc_run "$hook" || exit 1
		$PCNCTL sf1 del >/dev/null
	done
done
for hook in $hooks; do
	bench_note "packetcapture $hook: $(bench_median "packetcapture captured" "$hook" Mpps) Mpps captured flat out," \
		"$(bench_median "packetcapture dropped (ring full)" "$hook" Mpps) Mpps dropped; at 1 Mpps offered" \
		"$(bench_median "packetcapture captured at 1 Mpps" "$hook" Mpps) captured," \
		"$(bench_median "packetcapture dropped (ring full) at 1 Mpps" "$hook" Mpps) dropped (goal: >= 1 Mpps without a drop);" \
		"tcpdump -w on the same netdev: $(bench_median "tcpdump -w captured" "$hook" Mpps) Mpps"
	bench_goal "forwarding $hook under packetcapture, of the same path without" \
		"forwarding under packetcapture" "$hook" forwarding "$hook" 0.9 pct
	bench_overhead "$hook: the path's program per frame (BPF_PROG_TEST_RUN) with the capture" \
		"$(bench_median program "$hook" ns)" "$(bench_median "program under packetcapture" "$hook" ns)" ns
	bench_goal "forwarding $hook under tcpdump -w, of the same path without" \
		"forwarding under tcpdump -w" "$hook" forwarding "$hook" - pct
done
bench_finish
cm_done

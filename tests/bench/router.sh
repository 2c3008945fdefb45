#!/usr/bin/env bash
# The router against the kernel's IP forwarding on the same path
# (a -> IFA -> device under test -> IFB -> b, 64-byte UDP frames, one flow,
# Mpps delivered to b), in interleaved rounds so that a change of load on
# the host hits every row alike.
#
# The generator's frames go from 10.250.0.1 to 10.250.0.2 (b) with the
# router's MAC as destination. Both routers have a (10.250.1.254/24) on
# IFA and b's network (10.250.0.254/24) on IFB, and know b's MAC before the
# run: Linux through a permanent neighbour entry on IFB (ip_forward=1 in
# the host namespace), the router through a static arp-table entry. The
# source's network is on the other side (b's) for both, which neither
# checks (rp_filter is off for the run).
#
# Goals (issue 12): router XDP_DRV >= 3x Linux forwarding, TC >= 1.1x.
# The paper's xdp_redirect on IFA (swap MACs, redirect: no routing) is
# measured in each round too, as the ceiling of the path.
source "$(dirname "$0")/lib.sh"
bench_begin router
cm_mesh_start router
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
[ "$BENCH_QUICK" = 1 ] && hooks=${BENCH_HOOKS:-XDP_DRV TC}
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

# The host's forwarding and reverse-path settings, put back at the end.
sysctls="net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.$IFA.rp_filter"
declare -A old
for s in $sysctls; do old[$s]=$(sysctl -n "$s"); done
restore() { for s in $sysctls; do sysctl -qw "$s=${old[$s]}" 2>/dev/null; done; return 0; }
trap 'rc=$?; restore; (exit $rc); cm_cleanup' EXIT

slow_frames() {
	curl -s "${PCN_URL}metrics" | awk 'index($1, "cubemesh_cube_to_slowpath_packets") == 1 && index($1, "cube=\"r1\"") { s += $2 } END { printf "%.0f", s }'
}

linux_run() {
	local maca
	ip addr add 10.250.1.254/24 dev "$IFA" && ip addr add 10.250.0.254/24 dev "$IFB" || return 1
	ip neigh replace 10.250.0.2 lladdr "$MACB" dev "$IFB" nud permanent
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IFA.rp_filter=0"
	maca=$(ip -j link show "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	BENCH_RUNS=1 bench_gen_mac "Linux IP forwarding" kernel "$maca"
	ip addr flush dev "$IFA"
	ip addr flush dev "$IFB"
	restore
}

ROUTER_SLOW=0
router_run() {
	local mac up0
	$PCNCTL router add r1 type="$1" >/dev/null &&
		$PCNCTL r1 ports add p1 ip=10.250.1.254/24 peer="$IFA" >/dev/null &&
		$PCNCTL r1 ports add p2 ip=10.250.0.254/24 peer="$IFB" >/dev/null &&
		$PCNCTL r1 arp-table add 10.250.0.2 mac="$MACB" interface=p2 >/dev/null ||
		{ echo "router did not start" >&2; return 1; }
	mac=$($PCNCTL -j r1 ports p1 show | python3 -c 'import json,sys; print(json.load(sys.stdin)["mac"])')
	bench_settle
	up0=$(slow_frames)
	BENCH_RUNS=1 bench_gen_mac "router" "$1" "$mac"
	ROUTER_SLOW=$((ROUTER_SLOW + $(slow_frames) - up0))
	$PCNCTL r1 del >/dev/null
}

# bench_gen with the frames' destination MAC (the router's).
bench_gen_mac() {
	local out
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" --dst-mac "$3" --restore ${BENCH_RATE:+--rate $BENCH_RATE} | head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
	bench_record "$1 (offered)" "$2" Mpps "$(echo "$out" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
}

# ratio HOOK: the router's Mpps over Linux's, round by round; the median.
ratio() {
	awk -F '\t' -v h="$1" '
		$1 == "rec" && $4 == "Mpps" && $2 == "Linux IP forwarding" && $3 == "kernel" { l[++nl] = $5 }
		$1 == "rec" && $4 == "Mpps" && $2 == "router" && $3 == h { c[++nc] = $5 }
		END {
			n = nl < nc ? nl : nc
			for (i = 1; i <= n; i++) r[i] = l[i] > 0 ? c[i] / l[i] : 0
			if (!n) exit 1
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
			m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
			printf "%.2fx (median of %d side-by-side rounds; %.2f..%.2f)", m, n, r[1], r[n]
		}' "$BENCH_TSV"
}

# The ceiling: the paper's xdp_redirect (swap MACs, redirect) on IFA.
vanilla_run() {
	bl_attach XDP_DRV 0 map sample || { echo "baseline did not load" >&2; return 1; }
	BENCH_RUNS=1 bench_gen_mac "vanilla XDP forward" XDP_DRV 02:00:00:00:00:01
	bl_detach
}

for r in $(seq 1 "$BENCH_RUNS"); do
	linux_run || exit 1
	vanilla_run || exit 1
	for hook in $hooks; do router_run "$hook" || exit 1; done
done
bench_note "router XDP_DRV against vanilla XDP forward: $(bench_paired "vanilla XDP forward" router XDP_DRV) slower"
for hook in $hooks; do
	goal=$([ "$hook" = TC ] && echo 1.1 || echo 3)
	bench_note "router $hook vs Linux IP forwarding: $(ratio "$hook") (goal >= ${goal}x)"
done
bench_note "router: $ROUTER_SLOW frames in all went to the slow path during the runs (b's MAC was a static arp-table entry)"
bench_finish
cm_done

#!/usr/bin/env bash
# The load balancers (issue 14): pcn-lbrp and pcn-lbdsr against IPVS (NAT
# and DR modes) on the same path, a -> IFA -> device under test -> IFB -> b,
# 64-byte UDP frames of one flow (10.250.0.1:9 -> 10.250.0.2:9), Mpps
# delivered to b, in interleaved rounds.
#
#  - pcn-lbrp: FRONTEND peered with IFA, BACKEND with IFB; the service
#    10.250.0.2:9/UDP with one backend, 10.250.0.3:9 (an address of b):
#    every frame is translated (DNAT, checksums) and leaves by IFB.
#  - pcn-lbdsr: the vip 10.250.0.2, the frames sent to its frontend MAC, a
#    pool of b's MAC: every frame is re-addressed to b's MAC.
#  - IPVS: the host holds the vip on lo, ip_forward on; NAT mode (-m) to
#    10.250.0.3:9 and DR mode (-g) to b, reached through IFB. Needs the
#    ip_vs module and ipvsadm; without them the rows are "not measured".
#
# Also the Maglev figures of common/maglev_test: the table's build time for
# 1,000 backends and the flows moved when one of N backends goes (beyond
# its own share). Goal (issue 14): >= 6.5x IPVS at XDP_DRV (the paper).
source "$(dirname "$0")/lib.sh"
bench_begin lb
cm_mesh_start lbrp lbdsr
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "$(cm_ns b)" addr add 10.250.0.3/32 dev eth0
FE_MAC=02:00:00:fa:00:02

# bench_gen_mac SERIES X MAC: one traffic run with that destination MAC.
bench_gen_mac() {
	local out
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" --dst-mac "$3" --restore ${BENCH_RATE:+--rate $BENCH_RATE} | head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
}

lbrp_run() {
	$PCNCTL lbrp add lb1 type="$1" >/dev/null &&
		$PCNCTL lb1 ports add fe type=FRONTEND peer="$IFA" >/dev/null &&
		$PCNCTL lb1 ports add be type=BACKEND peer="$IFB" >/dev/null &&
		$PCNCTL lbrp lb1 service add 10.250.0.2 9 UDP >/dev/null &&
		$PCNCTL lbrp lb1 service 10.250.0.2 9 UDP backend add 10.250.0.3 port=9 >/dev/null ||
		{ echo "lbrp did not start" >&2; return 1; }
	bench_settle
	bench_gen_mac "pcn-lbrp" "$1" "$MACB"
	$PCNCTL lb1 del >/dev/null
}

lbdsr_run() {
	$PCNCTL lbdsr add lb2 type="$1" >/dev/null &&
		$PCNCTL lb2 ports add fe type=FRONTEND peer="$IFA" >/dev/null &&
		$PCNCTL lb2 ports add be type=BACKEND peer="$IFB" >/dev/null &&
		$PCNCTL lbdsr lb2 frontend set vip=10.250.0.2 mac=$FE_MAC >/dev/null &&
		$PCNCTL lbdsr lb2 backend pool add 1 mac="$MACB" >/dev/null ||
		{ echo "lbdsr did not start" >&2; return 1; }
	bench_settle
	bench_gen_mac "pcn-lbdsr" "$1" "$FE_MAC"
	$PCNCTL lb2 del >/dev/null
}

# IPVS, when this kernel has it.
IPVS=0
if command -v ipvsadm >/dev/null && { modprobe ip_vs 2>/dev/null; [ -e /proc/net/ip_vs ]; }; then
	IPVS=1
else
	bench_not_measured "IPVS (NAT and DR)" "no ip_vs in this kernel or no ipvsadm (apt-get install ipvsadm; the module ip_vs)"
fi
sysctls="net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.$IFA.rp_filter"
declare -A old
for s in $sysctls; do old[$s]=$(sysctl -n "$s"); done
restore() { for s in $sysctls; do sysctl -qw "$s=${old[$s]}" 2>/dev/null; done; return 0; }
trap 'rc=$?; restore; (exit $rc); cm_cleanup' EXIT

# ipvs_run MODE (-m NAT, -g DR): the vip on the host's lo, the real server
# 10.250.0.3 behind IFB.
ipvs_run() {
	local maca name=$([ "$1" = -m ] && echo "IPVS NAT" || echo "IPVS DR")
	ip addr add 10.250.0.2/32 dev lo || return 1
	ip route add 10.250.0.3/32 dev "$IFB"
	ip neigh replace 10.250.0.3 lladdr "$MACB" dev "$IFB" nud permanent
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IFA.rp_filter=0"
	ipvsadm -A -u 10.250.0.2:9 -s sh && ipvsadm -a -u 10.250.0.2:9 -r 10.250.0.3:9 "$1"
	maca=$(ip -j link show "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	bench_gen_mac "$name" kernel "$maca"
	ipvsadm -D -u 10.250.0.2:9
	ip route del 10.250.0.3/32 dev "$IFB"
	ip addr del 10.250.0.2/32 dev lo
	restore
}

for r in $(seq 1 "$BENCH_RUNS"); do
	if [ "$IPVS" = 1 ]; then
		ipvs_run -m || exit 1
		ipvs_run -g || exit 1
	fi
	for hook in $hooks; do
		lbrp_run "$hook" || exit 1
		lbdsr_run "$hook" || exit 1
	done
done
if [ "$IPVS" = 1 ]; then
	for hook in $hooks; do
		goal=$([ "$hook" = XDP_DRV ] && echo 6.5 || echo -)
		bench_goal "pcn-lbrp $hook vs IPVS NAT" pcn-lbrp "$hook" "IPVS NAT" kernel "$goal"
		bench_goal "pcn-lbdsr $hook vs IPVS DR" pcn-lbdsr "$hook" "IPVS DR" kernel "$goal"
	done
fi
bench_not_measured "connections/s" "needs a TCP load generator through the balancers (integ_lbrp's client makes ~1,000/s, far below any of them)"

# Maglev, from its unit test (one run: the figures are the table's).
if [ -x "$CM_BUILD/common/maglev_test" ]; then
	out=$("$CM_BUILD/common/maglev_test" 2>&1)
	ms=$(echo "$out" | sed -n 's/.*maglev build, 1000 backends, M=65537: \([0-9.]*\) ms.*/\1/p')
	[ -n "$ms" ] && BENCH_RUNS=1 bench_record "Maglev table build, 1,000 backends" "M=65537" ms "$ms"
	echo "$out" | sed -n 's/^N=\([0-9]*\) remove [0-9]*: moved \([0-9.]*\) (share \([0-9.]*\).*/\1 \2 \3/p' |
		awk '{ k[$1] = 1; if ($2 - $3 > m[$1]) m[$1] = $2 - $3 } END { for (n in k) printf "%s %.2f\n", n, m[n] * 100 }' |
		sort -n | while read -r n pct; do
			bench_record "Maglev: flows moved beyond the removed backend's share (worst)" "N=$n" "%" "$pct"
		done
fi
bench_finish
cm_done

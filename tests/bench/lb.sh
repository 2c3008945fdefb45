#!/usr/bin/env bash
# The load balancers (issue 14): pcn-lbrp and pcn-lbdsr against IPVS (NAT
# and DR modes) on the same path, a -> IFA -> device under test -> IFB -> b,
# 64-byte UDP frames delivered to b, in interleaved rounds (every row once
# per round, so a change of load on the host hits all rows alike). Two
# figures per row:
#  - Mpps: one flow (10.250.0.1:9 -> 10.250.0.2:9).
#  - new flows/s (Mflows/s): every frame a flow the balancer has not seen
#    (the generator's --flows with as many flows as it allows, more than a
#    run sends: source ports 1024.. and source addresses 10.250.N.1), so
#    each delivered frame is one flow set up: a session entry in pcn-lbrp
#    (its connection table and the reverse one), in pcn-lbdsr (its session
#    table), in conntrack, in IPVS's connection table. UDP: the generator
#    builds no TCP. It is the rate a balancer takes new flows, not a
#    handshake rate (no SYN-ACK, no ACK: a real client's 3-way handshakes
#    are bounded by the client long before).
#
#  - pcn-lbrp: FRONTEND peered with IFA, BACKEND with IFB; the service
#    10.250.0.2:9/UDP with one backend, 10.250.0.3:9 (an address of b):
#    every frame is translated (DNAT, checksums) and leaves by IFB.
#  - pcn-lbdsr: the vip 10.250.0.2, the frames sent to its frontend MAC, a
#    pool of b's MAC: every frame is re-addressed to b's MAC.
#  - IPVS: the host holds the vip on lo, ip_forward on; NAT mode (-m) to
#    10.250.0.3:9 and DR mode (-g) to b, reached through IFB. Needs the
#    ip_vs module and ipvsadm; without them the rows are "not measured".
#  - Substitutes, measured always (the only baselines where the kernel has
#    no ip_vs, as on the machine this was written on):
#    * for NAT mode, netfilter DNAT with conntrack on Linux IP forwarding:
#      `iptables -t nat -A PREROUTING -d 10.250.0.2 -p udp --dport 9 -j
#      DNAT --to-destination 10.250.0.3:9`, the frames to IFA's MAC, b's MAC
#      a permanent neighbour: per frame a conntrack lookup, a translation
#      and a routed forward, per new flow a conntrack entry, as IPVS NAT.
#    * for DR mode, an nftables netdev ingress rule on IFA, `ip daddr
#      10.250.0.2 ether daddr set <b> fwd to IFB`, the same frames as
#      pcn-lbdsr's: the MAC rewrite and forward DR is, in the kernel's
#      earliest skb hook, without routing, balancing or state. IPVS DR does
#      more per frame (a routed input to the vip on lo, its connection
#      lookup, a routed output) and keeps a connection per flow: this
#      baseline should be at least as fast as IPVS DR on the same host, so
#      a ratio over it likely understates one over IPVS. Plain IP
#      forwarding was the other candidate; it routes, but does none of what
#      a DR balancer does to a frame.
#
# Also the Maglev figures of common/maglev_test: the table's build time for
# 1,000 backends and the flows moved when one of N backends goes (beyond
# its own share). Goal (issue 14): >= 6.5x IPVS at XDP_DRV (the paper).
source "$(dirname "$0")/lib.sh"
bench_begin lb
cm_mesh_start lbrp lbdsr
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
GOAL_IPVS=6.5
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
MACA=$(ip -j link show "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "$(cm_ns b)" addr add 10.250.0.3/32 dev eth0
FE_MAC=02:00:00:fa:00:02
NFT_TABLE=cmlb$CM_ID

# The most flows the generator makes (tools/trafficgen: TG_FLOWS_MAX); an
# older one cycles 65,536 source ports at most, and a run would reuse them.
FLOWS=${BENCH_FLOWS_NEW:-16515072}
if "$TG" gen --flows $((FLOWS + 1)) 2>&1 | grep -q 'at most'; then
	NEWFLOWS=1
else
	NEWFLOWS=0
	bench_not_measured "new flows/s" "$TG cannot make $FLOWS flows (older than --flows over 64,512)"
fi

# gen SERIES X MAC: one traffic run with that destination MAC, one flow
# (Mpps); and, with NEWFLOWS, one where every frame is a new flow
# (Mflows/s, under "SERIES, new flows").
gen() {
	local out sent
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" --dst-mac "$3" --restore ${BENCH_RATE:+--rate $BENCH_RATE} | head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
	[ "$NEWFLOWS" = 1 ] || return 0
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" --dst-mac "$3" --restore --flows "$FLOWS" ${BENCH_RATE:+--rate $BENCH_RATE} |
		head -n 1) || return 1
	bench_record "$1, new flows" "$2" Mflows/s "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
	sent=$(echo "$out" | sed -n 's/.* sent=\([0-9]*\).*/\1/p')
	[ "${sent:-0}" -le "$FLOWS" ] ||
		bench_note "$1 $2, new flows: $sent frames sent, more than the $FLOWS flows: some were not new"
}

lbrp_run() {
	$PCNCTL lbrp add lb1 type="$1" >/dev/null &&
		$PCNCTL lb1 ports add fe type=FRONTEND peer="$IFA" >/dev/null &&
		$PCNCTL lb1 ports add be type=BACKEND peer="$IFB" >/dev/null &&
		$PCNCTL lbrp lb1 service add 10.250.0.2 9 UDP >/dev/null &&
		$PCNCTL lbrp lb1 service 10.250.0.2 9 UDP backend add 10.250.0.3 port=9 >/dev/null ||
		{ echo "lbrp did not start" >&2; return 1; }
	bench_settle
	gen "pcn-lbrp" "$1" "$MACB"
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
	gen "pcn-lbdsr" "$1" "$FE_MAC"
	$PCNCTL lb2 del >/dev/null
}

# IPVS, when this kernel has it.
IPVS=0
if command -v ipvsadm >/dev/null && { modprobe ip_vs 2>/dev/null; [ -e /proc/net/ip_vs ]; }; then
	IPVS=1
	IPVS_TIMEOUTS=$(ipvsadm -L --timeout | sed -n 's/.*: *\([0-9]*\) \([0-9]*\) \([0-9]*\).*/\1 \2 \3/p')
else
	bench_not_measured "IPVS (NAT and DR)" "no ip_vs in this kernel or no ipvsadm (apt-get install ipvsadm; the module ip_vs): the substitute baselines below stand in"
fi
IPT=$(command -v iptables || true)
NFT=$(command -v nft || true)
[ -n "$IPT" ] || bench_not_measured "netfilter DNAT" "no iptables on this host (scripts/install-deps.sh installs it)"
[ -n "$NFT" ] || bench_not_measured "nftables netdev fwd" "no nft on this host (scripts/install-deps.sh installs it)"

# The host's forwarding settings and everything the kernel rows add, put
# back at the end, even on failure: the host's own rules are never touched.
sysctls="net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.$IFA.rp_filter"
declare -A old
for s in $sysctls; do old[$s]=$(sysctl -n "$s"); done
DNAT_RULE=(PREROUTING -i "$IFA" -d 10.250.0.2 -p udp --dport 9 -j DNAT --to-destination 10.250.0.3:9)
FWD_RULE=(FORWARD -i "$IFA" -o "$IFB" -j ACCEPT)
ct_flush() {
	command -v conntrack >/dev/null && conntrack -D -p udp --orig-dst 10.250.0.2 >/dev/null 2>&1
	return 0
}
restore() {
	for s in $sysctls; do sysctl -qw "$s=${old[$s]}" 2>/dev/null; done
	if [ -n "$IPT" ]; then
		while $IPT -t nat -D "${DNAT_RULE[@]}" 2>/dev/null; do :; done
		while $IPT -D "${FWD_RULE[@]}" 2>/dev/null; do :; done
	fi
	[ -n "$NFT" ] && nft delete table netdev "$NFT_TABLE" 2>/dev/null
	if [ "$IPVS" = 1 ]; then
		ipvsadm -D -u 10.250.0.2:9 2>/dev/null
		# shellcheck disable=SC2086 # three numbers
		[ -n "${IPVS_TIMEOUTS:-}" ] && ipvsadm --set $IPVS_TIMEOUTS 2>/dev/null
	fi
	ip addr del 10.250.0.2/32 dev lo 2>/dev/null
	ip route del 10.250.0.3/32 dev "$IFB" 2>/dev/null
	return 0
}
trap 'rc=$?; restore; ct_flush; (exit $rc); cm_cleanup' EXIT

# Linux IP forwarding from IFA to the real server 10.250.0.3 behind IFB.
linux_up() {
	ip route add 10.250.0.3/32 dev "$IFB" || return 1
	ip neigh replace 10.250.0.3 lladdr "$MACB" dev "$IFB" nud permanent
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IFA.rp_filter=0"
}

# ipvs_run MODE (-m NAT, -g DR): the vip on the host's lo, the real server
# 10.250.0.3 behind IFB. UDP connections time out after 1 s while it runs,
# so that the next round's flows are new to IPVS too.
ipvs_run() {
	local name=$([ "$1" = -m ] && echo "IPVS NAT" || echo "IPVS DR")
	linux_up && ip addr add 10.250.0.2/32 dev lo || return 1
	ipvsadm --set 0 0 1 &&
		ipvsadm -A -u 10.250.0.2:9 -s sh && ipvsadm -a -u 10.250.0.2:9 -r 10.250.0.3:9 "$1" || return 1
	gen "$name" kernel "$MACA" || return 1
	restore
}

# The substitute for IPVS NAT: DNAT with conntrack (a FORWARD policy of
# DROP, as dockerd sets, must not hide it). Its conntrack entries go after
# each run, so that the next round's flows are new.
dnat_run() {
	[ -n "$IPT" ] || return 0
	linux_up || return 1
	$IPT -I "${FWD_RULE[@]}" && $IPT -t nat -A "${DNAT_RULE[@]}" || return 1
	ct_flush
	gen "netfilter DNAT + conntrack" kernel "$MACA" || return 1
	restore
	ct_flush
}

# The substitute for IPVS DR: a MAC rewrite and forward at netdev ingress.
nftfwd_run() {
	[ -n "$NFT" ] || return 0
	nft -f - <<EOF || return 1
table netdev $NFT_TABLE {
	chain in {
		type filter hook ingress device "$IFA" priority 0; policy accept;
		ip daddr 10.250.0.2 ether daddr set $MACB fwd to "$IFB"
	}
}
EOF
	gen "nftables netdev fwd" kernel "$FE_MAC" || return 1
	restore
}

for r in $(seq 1 "$BENCH_RUNS"); do
	if [ "$IPVS" = 1 ]; then
		ipvs_run -m || exit 1
		ipvs_run -g || exit 1
	fi
	dnat_run || exit 1
	nftfwd_run || exit 1
	for hook in $hooks; do
		lbrp_run "$hook" || exit 1
		lbdsr_run "$hook" || exit 1
	done
done

# goal WHAT UNIT NUM_SERIES NUM_X DEN_SERIES DEN_X GOAL TAIL: bench_goal's
# round-by-round ratio for any unit, noted with TAIL.
goal() {
	local r
	r=$(bench_ratio "$3" "$4" "$5" "$6" "$2" | awk -v g="$7" '{
			printf "%.2fx (median of %d side-by-side rounds; %.2f..%.2f)", $1, $2, $3, $4
			if (g != "-")
				printf("%s", ($1 >= g) ? "|met" : "|NOT met")
		}')
	[ -n "$r" ] || { bench_note "$1: no side-by-side rounds"; return 0; }
	if [ "$7" = - ]; then
		bench_note "$1: $r$8"
	else
		bench_note "$1: ${r%|*}$(printf "$8" "${r##*|}")"
	fi
}

units="Mpps"
[ "$NEWFLOWS" = 1 ] && units="Mpps Mflows/s"
for u in $units; do
	sfx=$([ "$u" = Mpps ] && echo "" || echo ", new flows")
	what=$([ "$u" = Mpps ] && echo "one flow, Mpps" || echo "new flows/s")
	for hook in $hooks; do
		g=$([ "$hook" = XDP_DRV ] && echo "$GOAL_IPVS" || echo -)
		gt=$([ "$hook" = XDP_DRV ] && echo ", goal >= ${GOAL_IPVS}x IPVS: %s" || echo "")
		if [ "$IPVS" = 1 ]; then
			goal "pcn-lbrp $hook vs IPVS NAT, $what" "$u" "pcn-lbrp$sfx" "$hook" "IPVS NAT$sfx" kernel "$g" "$gt"
			goal "pcn-lbdsr $hook vs IPVS DR, $what" "$u" "pcn-lbdsr$sfx" "$hook" "IPVS DR$sfx" kernel "$g" "$gt"
			sub=" (a substitute: IPVS measured above)"
			st=""
		else
			sub=" (IPVS not in this kernel: substitute baseline)"
			st=$([ "$hook" = XDP_DRV ] && echo ", goal >= ${GOAL_IPVS}x IPVS, against the substitute: %s" || echo "")
		fi
		[ -n "$IPT" ] && goal "pcn-lbrp $hook vs netfilter DNAT + conntrack$sub, $what" "$u" \
			"pcn-lbrp$sfx" "$hook" "netfilter DNAT + conntrack$sfx" kernel "$([ -n "$st" ] && echo "$g" || echo -)" "$st"
		[ -n "$NFT" ] && goal "pcn-lbdsr $hook vs nftables netdev fwd$sub, $what" "$u" \
			"pcn-lbdsr$sfx" "$hook" "nftables netdev fwd$sfx" kernel "$([ -n "$st" ] && echo "$g" || echo -)" "$st"
	done
done
[ "$NEWFLOWS" = 1 ] && bench_note "new flows/s: UDP frames each of a flow not seen before ($FLOWS flows, more than a run sends), delivered per second: flows set up per second. pcn-lbrp keeps 2 entries per flow (connection and reverse, LRU of $(sed -n 's/^#define LBRP_MAX_CONNS \([0-9]*\).*/\1/p' "$CM_SRC/cubes/lbrp/lbrp_shared.h")), pcn-lbdsr 1 (session, LRU of $(sed -n 's/^#define LBDSR_MAX_SESSIONS \([0-9]*\).*/\1/p' "$CM_SRC/cubes/lbdsr/lbdsr_shared.h")), conntrack 1 (nf_conntrack_max $(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null || echo ?): once full it evicts unreplied entries), the nftables netdev rule none (stateless: its figure is its Mpps over new tuples). Once a table is full every new flow evicts one, as under a real flood of new flows. Not a TCP handshake rate: no SYN-ACK or ACK is exchanged, and a real client's 3-way handshakes are bounded by the client far below these rates"
command -v conntrack >/dev/null ||
	bench_note "no conntrack tool (apt-get install conntrack): conntrack entries of a round outlive it (30 s), and the next round's DNAT flows may not be new"

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

#!/usr/bin/env bash
# pcn-nat's source NAT against the kernel's (iptables SNAT, conntrack) on
# the same routed path: a -> IFA -> device under test -> IFB -> b, 64-byte
# UDP frames from 10.250.0.1 to b (10.250.0.2) with the router's MAC as
# destination, 1 flow and 10,000 flows (the generator's --flows: source
# ports 1024..), Mpps delivered to b, in interleaved rounds.
#
# Linux: ip_forward with IFA 10.250.1.254/24 and IFB 10.250.0.254/24, b's
# MAC a permanent neighbour, and `iptables -t nat -A POSTROUTING -o IFB -s
# 10.250.0.1 -j SNAT --to-source 10.250.0.254` (conntrack tracks every
# flow; b sinks the frames, so they stay unreplied). pcn: router r1 with
# the same addresses (b's MAC a static arp-table entry) and nat1 attached
# to r1:p2 with `rule snat entry add 1 internal-net=10.250.0.1/32
# external-ip=10.250.0.254`; the router alone is measured too (what the NAT
# costs). Goal (issue 14): pcn-nat at XDP_DRV >= 3x iptables.
source "$(dirname "$0")/lib.sh"
bench_begin nat
cm_mesh_start router nat
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
flows_list=${BENCH_FLOWS:-1 10000}
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

if ! command -v iptables >/dev/null; then
	bench_not_measured "iptables SNAT" "no iptables on this host (scripts/install-deps.sh installs it)"
fi

# The host's forwarding settings and firewall, put back at the end.
sysctls="net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.$IFA.rp_filter"
declare -A old
for s in $sysctls; do old[$s]=$(sysctl -n "$s"); done
SNAT_RULE=(POSTROUTING -o "$IFB" -s 10.250.0.1 -j SNAT --to-source 10.250.0.254)
FWD_RULE=(FORWARD -i "$IFA" -o "$IFB" -j ACCEPT)
restore() {
	for s in $sysctls; do sysctl -qw "$s=${old[$s]}" 2>/dev/null; done
	if command -v iptables >/dev/null; then
		while iptables -t nat -D "${SNAT_RULE[@]}" 2>/dev/null; do :; done
		while iptables -D "${FWD_RULE[@]}" 2>/dev/null; do :; done
	fi
	return 0
}
trap 'rc=$?; restore; (exit $rc); cm_cleanup' EXIT

# gen SERIES X FLOWS MAC: a warm-up run first (not recorded, BENCH_WARMUP
# seconds), so that both NATs are measured with their flows set up.
gen() {
	local out
	"$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "${BENCH_WARMUP:-0.5}" \
		--cpu "$BENCH_CPU" --dst-mac "$4" --restore --flows "$3" >/dev/null || return 1
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" --dst-mac "$4" --restore --flows "$3" ${BENCH_RATE:+--rate $BENCH_RATE} |
		head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
}

linux_run() {
	local maca
	command -v iptables >/dev/null || return 0
	ip addr add 10.250.1.254/24 dev "$IFA" && ip addr add 10.250.0.254/24 dev "$IFB" || return 1
	ip neigh replace 10.250.0.2 lladdr "$MACB" dev "$IFB" nud permanent
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IFA.rp_filter=0"
	# A FORWARD policy of DROP (dockerd sets one) must not hide the NAT.
	iptables -I "${FWD_RULE[@]}" && iptables -t nat -A "${SNAT_RULE[@]}" || return 1
	maca=$(ip -j link show "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	for f in $flows_list; do gen "iptables SNAT, $f flows" kernel "$f" "$maca" || return 1; done
	command -v conntrack >/dev/null && conntrack -D -s 10.250.0.1 >/dev/null 2>&1
	ip addr flush dev "$IFA"
	ip addr flush dev "$IFB"
	restore
}

# pcn_run HOOK WITH_NAT
pcn_run() {
	local mac what=router
	$PCNCTL router add r1 type="$1" >/dev/null &&
		$PCNCTL r1 ports add p1 ip=10.250.1.254/24 peer="$IFA" >/dev/null &&
		$PCNCTL r1 ports add p2 ip=10.250.0.254/24 peer="$IFB" >/dev/null &&
		$PCNCTL r1 arp-table add 10.250.0.2 mac="$MACB" interface=p2 >/dev/null ||
		{ echo "router did not start" >&2; return 1; }
	if [ "$2" = 1 ]; then
		what=pcn-nat
		$PCNCTL nat add nat1 type="$1" >/dev/null &&
			$PCNCTL attach nat1 r1:p2 >/dev/null &&
			$PCNCTL nat1 rule snat entry add 1 internal-net=10.250.0.1/32 external-ip=10.250.0.254 >/dev/null ||
			{ echo "nat did not start" >&2; return 1; }
	fi
	mac=$($PCNCTL -j r1 ports p1 show | python3 -c 'import json,sys; print(json.load(sys.stdin)["mac"])')
	bench_settle
	for f in $flows_list; do gen "$what, $f flows" "$1" "$f" "$mac" || return 1; done
	if [ "$2" = 1 ]; then
		NAT_ROWS=$($PCNCTL -j nat1 natting-table show | grep -c '"internal-src"')
		$PCNCTL nat1 del >/dev/null
	fi
	$PCNCTL r1 del >/dev/null
}

# ratio SERIES_A X_A SERIES_B X_B: B over A, round by round; the median.
ratio() {
	awk -F '\t' -v sa="$1" -v xa="$2" -v sb="$3" -v xb="$4" '
		$1 == "rec" && $4 == "Mpps" && $2 == sa && $3 == xa { a[++na] = $5 }
		$1 == "rec" && $4 == "Mpps" && $2 == sb && $3 == xb { b[++nb] = $5 }
		END {
			n = na < nb ? na : nb
			for (i = 1; i <= n; i++) r[i] = a[i] > 0 ? b[i] / a[i] : 0
			if (!n) { print "n/a"; exit }
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
			m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
			printf "%.2fx (median of %d rounds; %.2f..%.2f)", m, n, r[1], r[n]
		}' "$BENCH_TSV"
}

NAT_ROWS=0
for r in $(seq 1 "$BENCH_RUNS"); do
	linux_run || exit 1
	for hook in $hooks; do
		pcn_run "$hook" 0 || exit 1
		pcn_run "$hook" 1 || exit 1
	done
done
for f in $flows_list; do
	for hook in $hooks; do
		goal=$([ "$hook" = XDP_DRV ] && echo " (goal >= 3x)")
		command -v iptables >/dev/null &&
			bench_note "pcn-nat $hook vs iptables SNAT, $f flows: $(ratio "iptables SNAT, $f flows" kernel "pcn-nat, $f flows" "$hook")$goal"
		bench_note "pcn-nat $hook against the router alone, $f flows: $(ratio "router, $f flows" "$hook" "pcn-nat, $f flows" "$hook")"
	done
done
bench_note "pcn-nat: its natting-table held $NAT_ROWS flows after the last run"
bench_finish
cm_done

#!/usr/bin/env bash
# pcn-firewall against iptables and nftables (issue 13), on the router's
# path: a -> IFA -> forwarding -> IFB -> b, 64-byte UDP frames of one flow
# (10.250.0.1:9 -> 10.250.0.2:9), Mpps delivered to b, in interleaved
# rounds (every row once per round) so that a change of load on the host
# hits all rows alike.
#
# Rules: N per row (1, 10, 100, 1,000, 5,000); the first N-1 drop UDP from
# other sources (172.16.x.y/32, dport 1000-1999: they never match) and the
# last forwards UDP from 10.250.0.0/24: every packet is classified against
# the whole list, the matching rule last. Conntrack on everywhere.
#  - pcn-firewall: attached to pcn-router's port p1 (r1:p1, INGRESS chain,
#    default DROP, conntrack ON), the router forwarding in the same hook;
#    at XDP_DRV and TC.
#  - iptables (-A in a chain jumped to from FORWARD for IFA, the matching
#    rule with -m conntrack --ctstate NEW,ESTABLISHED) and nftables (the
#    same rules in one chain; and a row with one set of (saddr . dport) for
#    the N-1 drops: the fair modern baseline), both on Linux IP forwarding.
#    `iptables` is whatever the host's is (iptables-nft on Debian 12; set
#    IPT=iptables-legacy for the legacy one where it exists).
# Also: the time to apply 1,000 rules to an empty chain, pcn-firewall's
# REST batch (one POST) against iptables-restore of the same rules.
#
# Goals: >= 8x iptables and >= 32x nftables-without-sets at 1,000 rules;
# pcn-firewall at 5,000 rules within 20% of itself at 10; apply <= 2x
# iptables-restore.
source "$(dirname "$0")/lib.sh"
bench_begin firewall
cm_mesh_start router firewall
bench_topology

IPT=${IPT:-iptables}
IPT_RESTORE=${IPT}-restore
hooks=${BENCH_HOOKS:-XDP_DRV TC}
counts=${BENCH_RULES:-1 10 100 1000 5000}
[ "$BENCH_QUICK" = 1 ] && counts=${BENCH_RULES:-10 1000}
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
MACA=$(ip -j link show "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
CHAIN=CMFW$CM_ID
NFT_TABLE=cmfw$CM_ID

sysctls="net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.$IFA.rp_filter"
declare -A old
for s in $sysctls; do old[$s]=$(sysctl -n "$s"); done
# Everything this benchmark adds to the host's firewall goes away, even on
# failure: the host's own rules are never touched.
fw_clean() {
	$IPT -D FORWARD -i "$IFA" -j "$CHAIN" 2>/dev/null
	$IPT -F "$CHAIN" 2>/dev/null
	$IPT -X "$CHAIN" 2>/dev/null
	nft delete table ip "$NFT_TABLE" 2>/dev/null
	return 0
}
restore() {
	fw_clean
	for s in $sysctls; do sysctl -qw "$s=${old[$s]}" 2>/dev/null; done
	return 0
}
trap 'rc=$?; restore; (exit $rc); cm_cleanup' EXIT

# The N rules in each syntax (rule i < N-1: a source and port that never
# match; the last: the generator's flow).
gen_rules() {
	python3 - "$1" "$2" "$CHAIN" "$NFT_TABLE" "$IFA" <<'EOF'
import json, sys
fmt, n, chain, table, ifa = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
drops = [("172.16.%d.%d" % (i // 250, i % 250 + 1), 1000 + i % 1000) for i in range(n - 1)]
if fmt == "fw":
    r = [{"operation": "append", "src": "%s/32" % s, "l4proto": "UDP", "dport": p, "action": "DROP"} for s, p in drops]
    r.append({"operation": "append", "src": "10.250.0.0/24", "l4proto": "UDP", "action": "FORWARD"})
    print(json.dumps({"rules": r}))
elif fmt == "ipt":
    print("*filter\n:%s - [0:0]" % chain)
    for s, p in drops:
        print("-A %s -s %s/32 -p udp --dport %d -j DROP" % (chain, s, p))
    print("-A %s -s 10.250.0.0/24 -p udp -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT" % chain)
    print("-A %s -j DROP\nCOMMIT" % chain)
else:
    print("table ip %s {" % table)
    if fmt == "nftset" and drops:
        print(" set drops { type ipv4_addr . inet_service; elements = { %s } }"
              % ", ".join("%s . %d" % d for d in drops))
    print(" chain cmforward { type filter hook forward priority 0; policy accept; iifname \"%s\" jump cmrules; }" % ifa)
    print(" chain cmrules {")
    if fmt == "nftset":
        if drops:
            print("  ip saddr . udp dport @drops drop")
    else:
        for s, p in drops:
            print("  ip saddr %s udp dport %d drop" % (s, p))
    print("  ip saddr 10.250.0.0/24 meta l4proto udp ct state new,established accept")
    print("  drop\n }\n}")
EOF
}

# bench_gen with the frames' destination MAC.
gen_mac() {
	local out
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" --dst-mac "$3" --restore ${BENCH_RATE:+--rate $BENCH_RATE} | head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
}

linux_up() {
	ip addr add 10.250.1.254/24 dev "$IFA" && ip addr add 10.250.0.254/24 dev "$IFB" || return 1
	ip neigh replace 10.250.0.2 lladdr "$MACB" dev "$IFB" nud permanent
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$IFA.rp_filter=0"
}
linux_down() {
	fw_clean
	ip addr flush dev "$IFA"
	ip addr flush dev "$IFB"
	for s in $sysctls; do sysctl -qw "$s=${old[$s]}" 2>/dev/null; done
	return 0
}

ms_now() { date +%s%3N; }

iptables_run() {
	local n=$1 t0
	linux_up || return 1
	gen_rules ipt "$n" >"$CM_TMP/ipt.rules"
	t0=$(ms_now)
	$IPT_RESTORE --noflush <"$CM_TMP/ipt.rules" || { linux_down; return 1; }
	[ "$n" = 1000 ] && bench_record "apply 1000 rules" "iptables-restore" ms $(( $(ms_now) - t0 ))
	$IPT -I FORWARD -i "$IFA" -j "$CHAIN"
	gen_mac "iptables" "$n" "$MACA"
	linux_down
}

nft_run() {
	local kind=$1 n=$2
	linux_up || return 1
	gen_rules "$kind" "$n" >"$CM_TMP/nft.rules"
	nft -f "$CM_TMP/nft.rules" || { linux_down; return 1; }
	gen_mac "$([ "$kind" = nftset ] && echo "nftables (set)" || echo nftables)" "$n" "$MACA"
	linux_down
}

router_up() {
	$PCNCTL router add r1 type="$1" >/dev/null &&
		$PCNCTL r1 ports add p1 ip=10.250.1.254/24 peer="$IFA" >/dev/null &&
		$PCNCTL r1 ports add p2 ip=10.250.0.254/24 peer="$IFB" >/dev/null &&
		$PCNCTL r1 arp-table add 10.250.0.2 mac="$MACB" interface=p2 >/dev/null
}
router_mac() {
	$PCNCTL -j r1 ports p1 show | python3 -c 'import json,sys; print(json.load(sys.stdin)["mac"])'
}

# The router alone: the path pcn-firewall's rows add to (Mpps, and ns per
# packet of the path from IFA's input program, BPF_PROG_TEST_RUN).
router_run() {
	local hook=$1 mac
	router_up "$hook" || { echo "router did not start" >&2; return 1; }
	mac=$(router_mac)
	bench_settle
	gen_mac "pcn-router alone $hook" 0 "$mac"
	BENCH_RUNS=1 bench_ns "pcn-router alone $hook" 0 "$(bench_netdev_pin "$hook")"
	$PCNCTL r1 del >/dev/null
}

fw_run() {
	local hook=$1 n=$2 mac t0 code
	router_up "$hook" &&
		$PCNCTL firewall add fw1 type="$hook" >/dev/null &&
		$PCNCTL attach fw1 r1:p1 >/dev/null ||
		{ echo "router or firewall did not start" >&2; return 1; }
	gen_rules fw "$n" >"$CM_TMP/fw.json"
	t0=$(ms_now)
	code=$(curl -s -o "$CM_TMP/fw.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary @"$CM_TMP/fw.json" "${PCN_URL}firewall/fw1/chain/INGRESS/batch/")
	[ "$code" -lt 300 ] || { echo "batch of $n rules: $code $(cat "$CM_TMP/fw.out")" >&2; return 1; }
	[ "$n" = 1000 ] && [ "$hook" = XDP_DRV ] &&
		bench_record "apply 1000 rules" "pcn-firewall (REST batch)" ms $(( $(ms_now) - t0 ))
	mac=$(router_mac)
	bench_settle
	gen_mac "pcn-firewall $hook" "$n" "$mac"
	BENCH_RUNS=1 bench_ns "pcn-firewall $hook" "$n" "$(bench_netdev_pin "$hook")"
	$PCNCTL fw1 del >/dev/null
	$PCNCTL r1 del >/dev/null
}

for r in $(seq 1 "$BENCH_RUNS"); do
	for hook in $hooks; do router_run "$hook" || exit 1; done
	for n in $counts; do
		iptables_run "$n" || exit 1
		nft_run nft "$n" || exit 1
		nft_run nftset "$n" || exit 1
		for hook in $hooks; do fw_run "$hook" "$n" || exit 1; done
	done
done
for hook in $hooks; do
	bench_goal "pcn-firewall $hook vs iptables at 1000 rules" "pcn-firewall $hook" 1000 iptables 1000 8
	bench_goal "pcn-firewall $hook vs nftables (no sets) at 1000 rules" "pcn-firewall $hook" 1000 nftables 1000 32
	bench_goal "pcn-firewall $hook vs nftables with a set at 1000 rules" "pcn-firewall $hook" 1000 "nftables (set)" 1000 -
	bench_goal "pcn-firewall $hook at 5000 rules against itself at 10" "pcn-firewall $hook" 5000 "pcn-firewall $hook" 10 0.8 pct
	for n in $counts; do
		bench_overhead "pcn-firewall $hook, $n rules, over the router alone (ns per packet of the path)" \
			"$(bench_median "pcn-router alone $hook" 0 ns)" "$(bench_median "pcn-firewall $hook" "$n" ns)" ns
	done
done
fw_ms=$(bench_median "apply 1000 rules" "pcn-firewall (REST batch)" ms)
ipt_ms=$(bench_median "apply 1000 rules" "iptables-restore" ms)
[ -n "$fw_ms" ] && [ -n "$ipt_ms" ] &&
	bench_note "apply 1000 rules: REST batch $fw_ms ms, $IPT_RESTORE $ipt_ms ms: $(awk -v f="$fw_ms" -v i="$ipt_ms" 'BEGIN { printf "%.2fx, goal <= 2x: %s", f / (i > 0 ? i : 1), (f <= 2 * i ? "met" : "NOT met") }')"
bench_note "iptables is $($IPT -V 2>&1 | head -n 1)"
bench_finish
cm_done

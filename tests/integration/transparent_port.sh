#!/usr/bin/env bash
# Transparent cubes on a standard cube's port: a -- c1 == c2 -- b, with
# c1:out wired to c2:in, and transparenthelloworld instances stacked on
# c1:out. Ingress of c1:out is what enters c1 there (b -> a), egress what c1
# sends out of it (a -> b). Counters prove the order in both directions
# (the first DROP stops the packet before the cubes behind it count it);
# before/after place a cube where asked; detach restores the path; a stack
# on a port peered with a netdev (c1:in) runs too; an XDP transparent cube
# on a TC cube's port is refused; a stack survives a broker restart; and a
# stack reordered under a stream of packets never shows a packet half of
# each order (every packet counted once by each cube that stays).
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start transparenthelloworld helloworld
cm_host a 10.221.0.1/24; IFA=$CM_IF
cm_host b 10.221.0.2/24; IFB=$CM_IF
# No IPv6 chatter, static neighbours: the counters count the pings only,
# and a direction dropped for a while leaves no stale ARP entry behind.
for h in a b; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
cm_neigh_static a b

stat_of() { curl -s "${PCN_URL}transparenthelloworld/$1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$2-packets']))"; }
cin() { stat_of "$1" ingress; }
ceg() { stat_of "$1" egress; }
parent() { curl -s "${PCN_URL}transparenthelloworld/$1/" | python3 -c "import json,sys; print(json.load(sys.stdin).get('parent',''))"; }
ping_b() { cm_ping a 10.221.0.2 "${1:-2}"; }
status_of() { echo "${1%% *}"; }
# stack_of PARENT: its stack as GET /topology lists it, nearest the wire first.
stack_of() { curl -s "${PCN_URL}topology" | python3 -c "import json,sys; print(' '.join(' '.join(t['stack']) for t in json.load(sys.stdin).get('transparent', []) if t['parent'] == '$1'))"; }
refused_tc_xdp() { [ "$(status_of "$1")" = 400 ] && grep -q 'TC to XDP' <<<"$1"; }

# chain HOOK: a -- c1 (in, out) == c2 (in, out) -- b, both helloworld FORWARD.
chain() {
	local c
	for c in c1 c2; do
		$PCNCTL helloworld add $c type="$1" action=FORWARD >/dev/null &&
			$PCNCTL $c ports add in >/dev/null && $PCNCTL $c ports add out >/dev/null || return 1
	done
	$PCNCTL c1 ports in set peer="$IFA" >/dev/null && $PCNCTL c2 ports out set peer="$IFB" >/dev/null &&
		$PCNCTL connect c1:out c2:in >/dev/null
}

for hook in TC XDP_SKB; do
	echo "# hook $hook"
	cm_check "$hook: a -- c1 == c2 -- b" chain "$hook"
	cm_check "$hook: pings pass" ping_b
	for c in t1 t2 t3; do
		cm_check "$hook: create $c" $PCNCTL transparenthelloworld add $c type=$hook
	done
	cm_check "$hook: attach t1 to c1:out (auto: last)" $PCNCTL attach t1 c1:out
	cm_check "$hook: attach t3 last" $PCNCTL attach t3 c1:out position=last
	cm_check "$hook: attach t2 before t3" $PCNCTL attach t2 c1:out before=t3
	cm_check "$hook: t2's parent is c1:out" [ "$(parent t2)" = "c1:out" ]
	cm_check "$hook: GET /topology shows the stack t1 t2 t3 on c1:out" [ "$(stack_of c1:out)" = "t1 t2 t3" ]
	cm_check "$hook: all PASS: pings pass" ping_b 3
	cm_check "$hook: every cube saw a's requests going out of c1:out" \
		bash -c "[ $(ceg t1) -ge 3 ] && [ $(ceg t2) -ge 3 ] && [ $(ceg t3) -ge 3 ]"
	cm_check "$hook: and b's replies coming into c1 through it" \
		bash -c "[ $(cin t1) -ge 3 ] && [ $(cin t2) -ge 3 ] && [ $(cin t3) -ge 3 ]"
	# Ingress order t1, t2, t3 (from c2 into c1): t2 dropping stops t3, not t1.
	cm_check "$hook: t2 drops ingress" $PCNCTL t2 set ingress-action=DROP
	a1=$(cin t1); a2=$(cin t2); a3=$(cin t3)
	cm_check_not "$hook: pings fail (the replies stop)" ping_b 3
	cm_check "$hook: ingress reached t1 ($a1 -> $(cin t1)) and t2 ($a2 -> $(cin t2))" \
		bash -c "[ $(cin t1) -ge $((a1 + 3)) ] && [ $(cin t2) -ge $((a2 + 3)) ]"
	cm_check "$hook: but not t3, behind t2 ($a3 -> $(cin t3))" [ "$(cin t3)" = "$a3" ]
	cm_check "$hook: t2 passes again" $PCNCTL t2 set ingress-action=PASS
	# Egress order t3, t2, t1 (out of c1 toward c2): t2 dropping stops t1, not t3.
	cm_check "$hook: t2 drops egress" $PCNCTL t2 set egress-action=DROP
	e1=$(ceg t1); e3=$(ceg t3)
	cm_check_not "$hook: pings fail (the requests stop)" ping_b 3
	cm_check "$hook: egress reached t3 first ($e3 -> $(ceg t3))" [ "$(ceg t3)" -ge $((e3 + 3)) ]
	cm_check "$hook: not t1, the last on the way to c2 ($e1 -> $(ceg t1))" [ "$(ceg t1)" = "$e1" ]
	cm_check "$hook: t2 passes egress again" $PCNCTL t2 set egress-action=PASS
	# first / after: t3 moves in front of t1, then t2 right after t3.
	cm_check "$hook: detach t3, attach it first" \
		bash -c "$PCNCTL detach t3 c1:out >/dev/null && $PCNCTL attach t3 c1:out position=first >/dev/null"
	cm_check "$hook: t1 drops ingress" $PCNCTL t1 set ingress-action=DROP
	a2=$(cin t2); a3=$(cin t3)
	cm_check_not "$hook: pings fail" ping_b 2
	cm_check "$hook: t3, now first, saw them ($a3 -> $(cin t3))" [ "$(cin t3)" -ge $((a3 + 2)) ]
	cm_check "$hook: t2, behind t1, did not" [ "$(cin t2)" = "$a2" ]
	cm_check "$hook: detach t2, attach it after t3 (in front of t1)" \
		bash -c "$PCNCTL detach t2 c1:out >/dev/null && $PCNCTL attach t2 c1:out after=t3 >/dev/null"
	a2=$(cin t2)
	cm_check_not "$hook: pings fail" ping_b 2
	cm_check "$hook: t2 sees them now ($a2 -> $(cin t2))" [ "$(cin t2)" -ge $((a2 + 2)) ]
	cm_check "$hook: GET /topology: t3 t2 t1" [ "$(stack_of c1:out)" = "t3 t2 t1" ]
	cm_check "$hook: detach t1 (the dropping one): pings pass" \
		bash -c "$PCNCTL detach t1 c1:out >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
	out=$(cm_http POST /attach '{"cube":"t1","port":"c1:out","position":"before","other":"nope"}')
	cm_check "$hook: before a cube that is not there: 400" [ "$(status_of "$out")" = 400 ]
	out=$(cm_http POST /attach '{"cube":"t1","port":"c1:nope"}')
	cm_check "$hook: a port that does not exist: 404" [ "$(status_of "$out")" = 404 ]
	out=$(cm_http POST /attach '{"cube":"t1","port":"t2:out"}')
	cm_check "$hook: a transparent cube's 'port': 400" [ "$(status_of "$out")" = 400 ]
	other=$([ $hook = TC ] && echo XDP_SKB || echo TC)
	$PCNCTL transparenthelloworld add tx type=$other >/dev/null
	out=$(cm_http POST /attach '{"cube":"tx","port":"c1:out"}')
	cm_check "$hook: a $other transparent cube on a $hook cube's port: 400, saying why" \
		refused_tc_xdp "$out"
	$PCNCTL tx del >/dev/null
	# A port peered with a netdev: its ingress is what a sends.
	cm_check "$hook: t1 (ingress DROP) on c1:in" $PCNCTL attach t1 c1:in
	a1=$(cin t1)
	cm_check_not "$hook: a's requests stop at c1:in" ping_b 2
	cm_check "$hook: t1 saw them ($a1 -> $(cin t1))" [ "$(cin t1)" -ge $((a1 + 2)) ]
	cm_check "$hook: t1 passes: pings pass" bash -c "$PCNCTL t1 set ingress-action=PASS >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
	cm_check "$hook: and t1 saw the replies leave through c1:in" [ "$(ceg t1)" -ge 2 ]
	cm_check "$hook: delete t2 (attached): detached with it" $PCNCTL t2 del
	cm_check "$hook: detach t3 and t1: the path is restored" \
		bash -c "$PCNCTL detach t3 c1:out >/dev/null && $PCNCTL detach t1 c1:in >/dev/null"
	cm_check "$hook: pings pass" ping_b
	# Deleting a port, or the standard cube, takes the stacks with it.
	cm_check "$hook: t3 on c1:in, then the port deleted" \
		bash -c "$PCNCTL attach t3 c1:in >/dev/null && $PCNCTL c1 ports in del >/dev/null"
	cm_check "$hook: t3 has no parent any more" [ -z "$(parent t3)" ]
	cm_check "$hook: the port back: pings pass, t3 is not in the way" bash -c "
		$PCNCTL t3 set ingress-action=DROP >/dev/null && $PCNCTL c1 ports add in peer=$IFA >/dev/null &&
		ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
	cm_check "$hook: t1 on c1:out again, then c1 deleted" \
		bash -c "$PCNCTL attach t1 c1:out >/dev/null && $PCNCTL c1 del >/dev/null"
	cm_check "$hook: t1 has no parent any more" [ -z "$(parent t1)" ]
	cm_check "$hook: delete t1 t3 c2" bash -c "$PCNCTL t1 del && $PCNCTL t3 del && $PCNCTL c2 del"
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done

echo "# XDP: what a cube sends out of a netdev meets the netdev's egress stack"
cm_check "a -- c1 == c2 -- b (XDP_SKB), x3 (XDP_SKB) on $IFA" bash -c "$(declare -f chain); PCNCTL='$PCNCTL' IFA=$IFA IFB=$IFB chain XDP_SKB &&
	$PCNCTL transparenthelloworld add x3 type=XDP_SKB >/dev/null && $PCNCTL attach x3 $IFA >/dev/null"
cm_check "pings pass" ping_b 3
cm_check "x3 saw a's requests come in ($(cin x3)) and b's replies leave c1 by $IFA ($(ceg x3))" \
	bash -c "[ $(cin x3) -ge 3 ] && [ $(ceg x3) -ge 3 ]"
cm_check "x3 drops egress" $PCNCTL x3 set egress-action=DROP
e3=$(ceg x3)
cm_check_not "pings fail (the replies stop at x3)" ping_b 3
cm_check "x3 counted them ($e3 -> $(ceg x3))" [ "$(ceg x3)" -ge $((e3 + 3)) ]
kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
cm_check "the broker restarts" cm_broker_start
cm_check "helloworld is back" cm_wait_service_up helloworld
cm_check "transparenthelloworld is back" cm_wait_service_up transparenthelloworld
e3=$(ceg x3)
cm_check_not "the replies still meet x3 on their way out" ping_b 2
cm_check "x3 counted them ($e3 -> $(ceg x3))" [ "$(ceg x3)" -ge $((e3 + 2)) ]
cm_check "detach x3: pings pass" bash -c "$PCNCTL detach x3 $IFA >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
cm_check "delete x3 c1 c2" bash -c "$PCNCTL x3 del >/dev/null && $PCNCTL c1 del >/dev/null && $PCNCTL c2 del >/dev/null"

echo "# a chain at the tail-call limit ending in a stack: resumed through the stack"
miss() { curl -s "${PCN_URL}helloworld/$1/tail-call-misses/" | python3 -c "import json,sys; print(int(json.load(sys.stdin).get('$2', -1)))"; }
# a -- l1 -- ... -- l33 -- b (TC): 32 hops, the most a chain makes; t4 on l33:out is one more.
long_chain() {
	local i
	for i in $(seq 1 33); do
		$PCNCTL helloworld add "l$i" action=FORWARD >/dev/null && $PCNCTL "l$i" ports add in >/dev/null &&
			$PCNCTL "l$i" ports add out >/dev/null || return 1
	done
	for i in $(seq 1 32); do $PCNCTL connect "l$i:out" "l$((i + 1)):in" >/dev/null || return 1; done
	$PCNCTL connect l1:in "$IFA" >/dev/null && $PCNCTL connect l33:out "$IFB" >/dev/null
}
cm_check "a chain of 33 cubes" long_chain
cm_check "pings pass" ping_b 2
cm_check "t4 on l33:out" bash -c "$PCNCTL transparenthelloworld add t4 >/dev/null && $PCNCTL attach t4 l33:out >/dev/null"
cm_check_not "pings do not pass: one hop too many" ping_b 2
cm_check "l33 counted them as hop-limit" [ "$(miss l33 hop-limit)" -ge 2 ]
# The replies spend two hops in the stack (its entry into t4, t4 into l33):
# their limit falls at l3.
cm_check "l33 and l3 resume-long-chains=true" \
	bash -c "$PCNCTL l33 set resume-long-chains=true >/dev/null && $PCNCTL l3 set resume-long-chains=true >/dev/null"
e4=$(ceg t4)
cm_check "pings pass, resumed into the stack's entry" ping_b 3
cm_check "t4 saw them on their way out ($e4 -> $(ceg t4))" [ "$(ceg t4)" -ge $((e4 + 3)) ]
cm_check "l33 counted them as resumed" [ "$(miss l33 resumed)" -ge 3 ]
cm_check "delete the chain and t4" bash -c "for i in \$(seq 1 33); do $PCNCTL l\$i del >/dev/null || exit 1; done; $PCNCTL t4 del >/dev/null"

echo "# reordered under a stream of packets"
cm_check "a -- c1 == c2 -- b (TC)" chain TC
cm_check "t1 t2 on c1:out (t3 aside)" bash -c "$PCNCTL transparenthelloworld add t1 >/dev/null &&
	$PCNCTL transparenthelloworld add t2 >/dev/null && $PCNCTL transparenthelloworld add t3 >/dev/null &&
	$PCNCTL attach t1 c1:out >/dev/null && $PCNCTL attach t2 c1:out >/dev/null"
cm_check "pings pass" ping_b
i1=$(cin t1); i2=$(cin t2); e1=$(ceg t1); e2=$(ceg t2)
# t3 comes in front of t1 and goes, again and again, while a floods b: every
# change moves t1 and t2 to other positions. A packet that saw half of each
# order would meet t1 twice, or t2 never.
ip netns exec "$(cm_ns a)" ping -f -w 5 -q 10.221.0.2 >"$CM_TMP/flood" 2>&1 &
flood=$!
flips=0
while kill -0 $flood 2>/dev/null; do
	$PCNCTL attach t3 c1:out position=first >/dev/null && $PCNCTL detach t3 c1:out >/dev/null && flips=$((flips + 1))
done
wait $flood
cm_log "$flips reorders during the flood: $(grep -o '[0-9]* received' "$CM_TMP/flood")"
cm_check "the stack was reordered during the flood ($flips times)" [ $flips -ge 5 ]
cm_check "t1 and t2 counted the same packets going out ($((`ceg t1` - e1)) and $((`ceg t2` - e2)))" \
	[ $(($(ceg t1) - e1)) -eq $(($(ceg t2) - e2)) ]
cm_check "and coming in ($((`cin t1` - i1)) and $((`cin t2` - i2)))" \
	[ $(($(cin t1) - i1)) -eq $(($(cin t2) - i2)) ]
cm_check "the flood went through the stack ($(($(cin t1) - i1)) replies in)" [ $(($(cin t1) - i1)) -ge 400 ]

echo "# rewired under the stack"
# updates_above CUBE N: CUBE's parent-info was updated more than N times (waits for it).
updates() { curl -s "${PCN_URL}transparenthelloworld/$1/parent-info/" | python3 -c "import json,sys; print(int(json.load(sys.stdin).get('updates', 0)))"; }
updates_above() { local i; for i in $(seq 1 100); do [ "$(updates "$1")" -gt "$2" ] && return 0; sleep 0.1; done; return 1; }
u=$(updates t1)
cm_check "disconnect c1:out from c2:in: pings fail" bash -c "$PCNCTL disconnect c1:out c2:in >/dev/null && ! ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
cm_check "t1 is told its parent port went DOWN (updates were $u)" updates_above t1 "$u"
u=$(updates t1); e1=$(ceg t1); i2=$(cin t2)
cm_check "connect them again: pings pass" bash -c "$PCNCTL connect c1:out c2:in >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
cm_check "and that it is UP again (updates were $u)" updates_above t1 "$u"
cm_check "still through the stack, both ways ($e1 -> $(ceg t1), $i2 -> $(cin t2))" \
	bash -c "[ $(ceg t1) -ge $((e1 + 2)) ] && [ $(cin t2) -ge $((i2 + 2)) ]"

echo "# broker restart"
cm_check "t1 drops ingress" $PCNCTL t1 set ingress-action=DROP
cm_check_not "pings stop" ping_b 2
kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
cm_check "the broker restarts" cm_broker_start
cm_check "transparenthelloworld is back" cm_wait_service_up transparenthelloworld
cm_check "helloworld is back" cm_wait_service_up helloworld
cm_check_not "the stack kept dropping" ping_b 2
cm_check "the new broker knows t1's parent" [ "$(parent t1)" = "c1:out" ]
cm_check "t2 comes after t1 still: it sees no replies" bash -c "a=$(cin t2); ip netns exec $(cm_ns a) ping -c 2 -W 1 -q 10.221.0.2 >/dev/null; [ \$(curl -s ${PCN_URL}transparenthelloworld/t2/stats/ | python3 -c \"import json,sys; print(json.load(sys.stdin)['ingress-packets'])\") = \$a ]"
cm_check "detach t1: pings pass" bash -c "$PCNCTL detach t1 c1:out >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
cm_check "a new instance gets a slot of its own (not one of the stack's)" \
	bash -c "$PCNCTL helloworld add c3 >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"
cm_check "detach t2: pings pass" bash -c "$PCNCTL detach t2 c1:out >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.221.0.2 >/dev/null"

echo "# XDP transparent cubes on a netdev: their egress pipeline at TC egress"
cm_host c 10.221.1.1/24; IFC=$CM_IF
ip addr add 10.221.1.254/24 dev "$IFC"
ip netns exec "$(cm_ns c)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
ping_c() { cm_ping c 10.221.1.254 "${1:-2}"; }
cm_check "x1, x2 (XDP_SKB) attached to $IFC, x1 nearest the wire" bash -c "
	$PCNCTL transparenthelloworld add x1 type=XDP_SKB >/dev/null && $PCNCTL transparenthelloworld add x2 type=XDP_SKB >/dev/null &&
	$PCNCTL attach x1 $IFC >/dev/null && $PCNCTL attach x2 $IFC >/dev/null"
cm_check "pings pass" ping_c 3
cm_check "both saw the replies leave $IFC (egress $(ceg x1) and $(ceg x2))" \
	bash -c "[ $(ceg x1) -ge 3 ] && [ $(ceg x2) -ge 3 ]"
cm_check "x2 drops egress" $PCNCTL x2 set egress-action=DROP
e1=$(ceg x1); e2=$(ceg x2)
cm_check_not "pings fail (the replies stop)" ping_c 3
cm_check "egress met x2 first ($e2 -> $(ceg x2))" [ "$(ceg x2)" -ge $((e2 + 3)) ]
cm_check "and never x1, behind it ($e1 -> $(ceg x1))" [ "$(ceg x1)" = "$e1" ]
cm_check "x2 deleted: pings pass through x1 alone" bash -c "$PCNCTL x2 del >/dev/null && ip netns exec $(cm_ns c) ping -c 2 -i 0.2 -W 1 -q 10.221.1.254 >/dev/null"
cm_check "x1 detached: nothing left on $IFC" bash -c "$PCNCTL detach x1 $IFC >/dev/null &&
	[ -z \"\$(tc filter show dev $IFC egress)\" ] && ! ip link show $IFC | grep -q prog/xdp"
cm_check "pings pass" ping_c
cm_done

#!/usr/bin/env bash
# Transparent cubes on a netdev: three transparenthelloworld instances
# stacked on the host side of a's veth. Counters prove the order in both
# directions (ingress runs from the wire inward, egress the other way: the
# first DROP stops the packet before the cubes behind it count it);
# before/after place a cube where asked; detach restores the path.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start transparenthelloworld
cm_host a 10.207.0.1/24; IFA=$CM_IF
ip addr add 10.207.0.254/24 dev "$IFA"

# in CUBE / eg CUBE: its ingress / egress counters.
cin() { curl -s "${PCN_URL}transparenthelloworld/$1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['ingress-packets']))"; }
ceg() { curl -s "${PCN_URL}transparenthelloworld/$1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['egress-packets']))"; }
snap() { for c in t1 t2 t3; do echo -n "$c:$(cin $c)/$(ceg $c) "; done; }
# moved CUBE in|eg BEFORE: the counter moved since BEFORE.
ping_a() { cm_ping a 10.207.0.254 "${1:-2}"; }
order() { curl -s "${PCN_URL}transparenthelloworld/$1/" | python3 -c "import json,sys; print(json.load(sys.stdin).get('parent',''))"; }

for hook in TC XDP_SKB; do
	echo "# hook $hook"
	for c in t1 t2 t3; do
		cm_check "$hook: create $c" $PCNCTL transparenthelloworld add $c type=$hook
	done
	cm_check "$hook: attach t1 (auto: last)" $PCNCTL attach t1 "$IFA"
	cm_check "$hook: attach t3 last" $PCNCTL attach t3 "$IFA" position=last
	cm_check "$hook: attach t2 before t3" $PCNCTL attach t2 "$IFA" before=t3
	cm_check "$hook: parent is $IFA" [ "$(order t2)" = "$IFA" ]
	cm_check "$hook: all PASS: pings pass" ping_a
	cm_check "$hook: every cube saw the ingress packets" bash -c "[ $(cin t1) -ge 2 ] && [ $(cin t2) -ge 2 ] && [ $(cin t3) -ge 2 ]"
	if [ "$hook" = TC ]; then
		cm_check "$hook: and the egress ones" bash -c "[ $(ceg t1) -ge 2 ] && [ $(ceg t2) -ge 2 ] && [ $(ceg t3) -ge 2 ]"
	fi
	# Ingress order t1, t2, t3: t2 dropping stops t3 but not t1.
	cm_check "$hook: t2 drops ingress" $PCNCTL t2 set ingress-action=DROP
	a1=$(cin t1); a2=$(cin t2); a3=$(cin t3)
	cm_check_not "$hook: pings fail" ping_a 3
	cm_check "$hook: ingress reached t1 ($a1 -> $(cin t1)) and t2 ($a2 -> $(cin t2))" \
		bash -c "[ $(cin t1) -ge $((a1 + 3)) ] && [ $(cin t2) -ge $((a2 + 3)) ]"
	cm_check "$hook: but not t3, behind t2 ($a3 -> $(cin t3))" [ "$(cin t3)" = "$a3" ]
	cm_check "$hook: t2 passes again" $PCNCTL t2 set ingress-action=PASS
	if [ "$hook" = TC ]; then
		# Egress order t3, t2, t1: t2 dropping stops t1 but not t3.
		cm_check "$hook: t2 drops egress" $PCNCTL t2 set egress-action=DROP
		e1=$(ceg t1); e3=$(ceg t3)
		cm_check_not "$hook: pings fail" ping_a 3
		cm_check "$hook: egress reached t3 first ($e3 -> $(ceg t3))" [ "$(ceg t3)" -ge $((e3 + 3)) ]
		cm_check "$hook: not t1, the last one on the way out ($e1 -> $(ceg t1))" [ "$(ceg t1)" = "$e1" ]
		cm_check "$hook: t2 passes egress again" $PCNCTL t2 set egress-action=PASS
	fi
	# after: t3 moves in front of t1 (detach, attach first), t1 after t3 ...
	cm_check "$hook: detach t3" $PCNCTL detach t3 "$IFA"
	cm_check "$hook: attach t3 first" $PCNCTL attach t3 "$IFA" position=first
	cm_check "$hook: t1 drops ingress" $PCNCTL t1 set ingress-action=DROP
	a2=$(cin t2); a3=$(cin t3)
	cm_check_not "$hook: pings fail" ping_a 2
	cm_check "$hook: t3, now first, saw them ($a3 -> $(cin t3))" [ "$(cin t3)" -ge $((a3 + 2)) ]
	cm_check "$hook: t2, after t1, did not" [ "$(cin t2)" = "$a2" ]
	cm_check "$hook: detach t2, attach it after t3 (in front of t1)" \
		bash -c "$PCNCTL detach t2 $IFA && $PCNCTL attach t2 $IFA after=t3"
	a2=$(cin t2)
	cm_check_not "$hook: pings fail" ping_a 2
	cm_check "$hook: t2 sees them now ($a2 -> $(cin t2))" [ "$(cin t2)" -ge $((a2 + 2)) ]
	cm_check "$hook: detach t1 (the dropping one)" $PCNCTL detach t1 "$IFA"
	cm_check "$hook: pings pass" ping_a
	cm_check "$hook: attaching twice is refused" bash -c "! $PCNCTL attach t2 $IFA 2>/dev/null"
	out=$(cm_http POST /attach "{\"cube\":\"t1\",\"port\":\"$IFA\",\"position\":\"before\",\"other\":\"nope\"}")
	cm_check "$hook: before a cube that is not there: 400" [ "${out%% *}" = 400 ]
	cm_check "$hook: delete t2 (attached): detached with it" $PCNCTL t2 del
	cm_check "$hook: detach t3: the path is restored" $PCNCTL detach t3 "$IFA"
	cm_check "$hook: pings pass" ping_a
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && [ -z \"\$(tc filter show dev $IFA egress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
	cm_check "$hook: delete t1 t3" bash -c "$PCNCTL t1 del && $PCNCTL t3 del"
done
out=$(cm_http POST /attach '{"cube":"x","port":"lo"}')
cm_check "attach of an unknown cube: 404" [ "${out%% *}" = 404 ]
cm_done

#!/usr/bin/env bash
# Transparent cubes on a netdev: three transparenthelloworld instances
# stacked on the host side of a's veth. Counters prove the order in both
# directions (ingress runs from the wire inward, egress the other way: the
# first DROP stops the packet before the cubes behind it count it);
# before/after place a cube where asked; detach restores the path.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start transparenthelloworld helloworld
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
echo "# the parent's parameters"
pinfo() { curl -s "${PCN_URL}transparenthelloworld/t1/parent-info/"; }
cm_check "create t1, attach it to $IFA" bash -c "$PCNCTL transparenthelloworld add t1 >/dev/null && $PCNCTL attach t1 $IFA >/dev/null"
mac=$(cat /sys/class/net/$IFA/address)
cm_check "t1 knows its parent's MAC ($mac)" bash -c "pinfo_() { curl -s ${PCN_URL}transparenthelloworld/t1/parent-info/; }; for i in \$(seq 1 30); do pinfo_ | grep -q '$mac' && exit 0; sleep 0.1; done; exit 1"
cm_check "and its address" bash -c "curl -s ${PCN_URL}transparenthelloworld/t1/parent-info/ | grep -q '10.207.0.254/24'"
ip addr add 10.207.9.9/16 dev "$IFA"
cm_check "a new address on $IFA: t1 is told (within a few seconds)" bash -c "for i in \$(seq 1 50); do curl -s ${PCN_URL}transparenthelloworld/t1/parent-info/ | grep -q '10.207.9.9/16' && exit 0; sleep 0.1; done; exit 1"
ip addr del 10.207.9.9/16 dev "$IFA"
cm_check "and when it goes" bash -c "for i in \$(seq 1 50); do curl -s ${PCN_URL}transparenthelloworld/t1/parent-info/ | grep -q '10.207.9.9' || exit 0; sleep 0.1; done; exit 1"
cm_check "detach: t1 has no parent any more" bash -c "$PCNCTL detach t1 $IFA >/dev/null; for i in \$(seq 1 30); do curl -s ${PCN_URL}transparenthelloworld/t1/parent-info/ | grep -q '$mac' || exit 0; sleep 0.1; done; exit 1"
cm_check "told 4 times (attach, address added, removed, detach)" bash -c "curl -s ${PCN_URL}transparenthelloworld/t1/parent-info/ | grep -q '\"updates\": *\"\\?4'"
$PCNCTL t1 del >/dev/null

echo "# broker restart"
cm_check "t1 (ingress DROP) attached to $IFA" bash -c "$PCNCTL transparenthelloworld add t1 ingress-action=DROP >/dev/null && $PCNCTL attach t1 $IFA >/dev/null"
cm_check_not "pings stop" cm_ping a 10.207.0.254 2
kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
cm_check "the broker restarts" cm_broker_start
cm_check "the cube process is back" cm_wait_service_up transparenthelloworld
cm_check_not "the stack kept dropping" cm_ping a 10.207.0.254 2
cm_check "the new broker knows t1's parent" [ "$(order t1)" = "$IFA" ]
cm_check "and can detach it: pings pass" bash -c "$PCNCTL detach t1 $IFA >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.207.0.254 >/dev/null"
cm_check "attach again, delete t1: pings pass" bash -c "$PCNCTL attach t1 $IFA >/dev/null && $PCNCTL t1 del >/dev/null && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.207.0.254 >/dev/null"
cm_check "nothing left on $IFA" \
	bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && [ -z \"\$(tc filter show dev $IFA egress)\" ]"

echo "# in front of a standard cube"
cm_host b 10.207.0.2/24; IFB=$CM_IF
# No IPv6 chatter from b: hw1's counters then count only what a sends.
for h in a b; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
# Static neighbours: no ARP probe from b lands among the packets counted.
mac_of() { ip -n "$(cm_ns "$1")" link show eth0 | awk '/ether/ {print $2}'; }
ip -n "$(cm_ns a)" neigh replace 10.207.0.2 dev eth0 lladdr "$(mac_of b)"
ip -n "$(cm_ns b)" neigh replace 10.207.0.1 dev eth0 lladdr "$(mac_of a)"
ip addr del 10.207.0.254/24 dev "$IFA"
for hook in TC XDP_SKB; do
	cm_check "$hook: t1 attached to $IFA first, then hw1 peered with it" bash -c "
		$PCNCTL transparenthelloworld add t1 type=$hook >/dev/null && $PCNCTL attach t1 $IFA >/dev/null &&
		$PCNCTL helloworld add hw1 type=$hook action=FORWARD >/dev/null &&
		$PCNCTL hw1 ports add p0 peer=$IFA >/dev/null && $PCNCTL hw1 ports add p1 peer=$IFB >/dev/null"
	a1=$(cin t1)
	cm_check "$hook: a -> hw1 -> b passes through t1" cm_ping a 10.207.0.2 3
	cm_check "$hook: t1 saw a's packets before hw1 ($a1 -> $(cin t1))" [ "$(cin t1)" -ge $((a1 + 3)) ]
	if [ "$hook" = TC ]; then
		cm_check "$hook: and b's replies on their way out of $IFA" [ "$(ceg t1)" -ge 3 ]
	fi
	cm_check "$hook: t1 drops ingress" $PCNCTL t1 set ingress-action=DROP
	r=$(curl -s "${PCN_URL}metrics" | awk '/cubemesh_cube_rx_packets_total.*cube="hw1"/ {print $2}')
	cm_check_not "$hook: a -> b stops in front of hw1" cm_ping a 10.207.0.2 2
	r2=$(curl -s "${PCN_URL}metrics" | awk '/cubemesh_cube_rx_packets_total.*cube="hw1"/ {print $2}')
	cm_check "$hook: hw1 never saw them ($r -> $r2)" [ "$r2" = "$r" ]
	cm_check "$hook: detach t1: a -> b again" bash -c "$PCNCTL detach t1 $IFA >/dev/null"
	cm_check "$hook: pings pass" cm_ping a 10.207.0.2
	cm_check "$hook: attach t1 again (DROP) with hw1 peered" $PCNCTL attach t1 "$IFA"
	cm_check_not "$hook: stopped again" cm_ping a 10.207.0.2 2
	cm_check "$hook: hw1 goes away: t1 keeps the netdev" $PCNCTL hw1 del
	a1=$(cin t1)
	ip netns exec "$(cm_ns a)" ping -c 2 -W 1 -q 10.207.0.2 >/dev/null || true
	cm_check "$hook: t1 still sees a's packets" cm_eventually bash -c "[ \$(curl -s ${PCN_URL}transparenthelloworld/t1/stats/ | python3 -c \"import json,sys; print(json.load(sys.stdin)['ingress-packets'])\") -ge $((a1 + 2)) ]"
	cm_check "$hook: delete t1" $PCNCTL t1 del
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && [ -z \"\$(tc filter show dev $IFA egress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done
out=$(cm_http POST /attach '{"cube":"x","port":"lo"}')
cm_check "attach of an unknown cube: 404" [ "${out%% *}" = 404 ]
cm_done

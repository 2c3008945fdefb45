#!/usr/bin/env bash
# Cube-to-cube chains: 2, 4 and 8 standard cubes (helloworld and
# simpleforwarder in turn) between two namespaces, for TC and XDP. Pings pass
# through the whole chain; disconnecting one link stops them (and the cube
# before the cut counts them as sent to a port with no peer); reconnecting it
# lets them pass again. A TC cube cannot be wired to an XDP one: 400.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld simpleforwarder
cm_host a 10.203.0.1/24; IFA=$CM_IF
cm_host b 10.203.0.2/24; IFB=$CM_IF

# metric NAME CUBE: the value of one per-instance counter from /metrics.
metric() {
	curl -s "${PCN_URL}metrics" | awk -v m="$1_total" -v c="cube=\"$2\"" \
		'index($0, m "{") == 1 && index($0, c) { print $2; f = 1 } END { if (!f) print 0 }'
}

# make_cube I HOOK: cube cI, a helloworld for odd I, a simpleforwarder for even I,
# with ports in (index 0) and out (index 1) forwarding to each other.
make_cube() {
	local n=c$1 hook=$2
	if [ $(($1 % 2)) -eq 1 ]; then
		$PCNCTL helloworld add "$n" type="$hook" action=FORWARD >/dev/null &&
			$PCNCTL "$n" ports add in >/dev/null && $PCNCTL "$n" ports add out >/dev/null
	else
		$PCNCTL simpleforwarder add "$n" type="$hook" >/dev/null &&
			$PCNCTL "$n" ports add in >/dev/null && $PCNCTL "$n" ports add out >/dev/null &&
			$PCNCTL "$n" actions add in action=FORWARD outport=out >/dev/null &&
			$PCNCTL "$n" actions add out action=FORWARD outport=in >/dev/null
	fi
}

# build_chain N HOOK: a -- c1 -- c2 -- ... -- cN -- b
build_chain() {
	local n=$1 hook=$2 i
	for i in $(seq 1 "$n"); do make_cube "$i" "$hook" || return 1; done
	for i in $(seq 1 $((n - 1))); do
		$PCNCTL connect "c$i:out" "c$((i + 1)):in" >/dev/null || return 1
	done
	$PCNCTL connect c1:in "$IFA" >/dev/null && $PCNCTL connect "c$n:out" "$IFB" >/dev/null
}

delete_chain() {
	local n=$1 i
	for i in $(seq 1 "$n"); do $PCNCTL "c$i" del >/dev/null || return 1; done
}

for hook in TC XDP_SKB XDP_DRV; do
	for n in 2 4 8; do
		echo "# $n cubes, $hook"
		cm_check "$hook/$n: build the chain" build_chain "$n" "$hook"
		cm_check "$hook/$n: a -> b through $n cubes" cm_ping a 10.203.0.2
		cm_check "$hook/$n: b -> a" cm_ping b 10.203.0.1
		last=c$n
		tx=$(metric cubemesh_cube_tx_cube_packets c1)
		cm_check "$hook/$n: c1 handed packets to the next cube ($tx)" [ "$tx" -ge 3 ]
		rx=$(metric cubemesh_cube_rx_packets "$last")
		cm_check "$hook/$n: $last received them ($rx)" [ "$rx" -ge 6 ]
		cut=$((n / 2))
		cm_check "$hook/$n: disconnect c$cut:out c$((cut + 1)):in" \
			$PCNCTL disconnect "c$cut:out" "c$((cut + 1)):in"
		np0=$(metric cubemesh_cube_drop_no_peer_packets "c$cut")
		cm_check_not "$hook/$n: pings stop" cm_ping a 10.203.0.2 2
		np1=$(metric cubemesh_cube_drop_no_peer_packets "c$cut")
		cm_check "$hook/$n: c$cut counted them as no peer ($np0 -> $np1)" [ "$np1" -ge $((np0 + 2)) ]
		cm_check "$hook/$n: the ports say no peer" \
			bash -c "$PCNCTL -j c$cut ports show | grep -q '\"DOWN\"'"
		cm_check "$hook/$n: reconnect" $PCNCTL connect "c$cut:out" "c$((cut + 1)):in"
		cm_check "$hook/$n: pings pass again" cm_ping a 10.203.0.2
		cm_check "$hook/$n: and back" cm_ping b 10.203.0.1
		cm_check "$hook/$n: delete the chain" delete_chain "$n"
		cm_check "$hook/$n: nothing left on $IFA" \
			bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
	done
done

echo "# mixed hooks"
$PCNCTL helloworld add mt type=TC >/dev/null && $PCNCTL mt ports add p >/dev/null
$PCNCTL helloworld add mx type=XDP_SKB >/dev/null && $PCNCTL mx ports add p >/dev/null
out=$(cm_http POST /connect '{"peer1":"mt:p","peer2":"mx:p"}')
cm_check "TC to XDP refused with 400 ($out)" bash -c "[[ '${out%% *}' == 400 ]]"
cm_check "and the body says why" bash -c "grep -q 'cannot cross' <<<'$out'"
cm_check "the port is still unpeered" bash -c "! $PCNCTL -j mt ports show | grep -q 'mx:p'"
$PCNCTL mt del >/dev/null; $PCNCTL mx del >/dev/null
cm_done

#!/usr/bin/env bash
# What a chain does when it breaks: a cube removed from the middle of a
# chain makes the cube before it miss its tail call, counted as empty-slot
# (and nothing crashes); a chain longer than the kernel's tail-call limit
# (33 calls: the netdev program's one plus 32 cube-to-cube hops) drops the
# packet at the last hop it can make, counted as hop-limit; with
# resume-long-chains on, the slow path carries it on from there.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.204.0.1/24; IFA=$CM_IF
cm_host b 10.204.0.2/24; IFB=$CM_IF
# The counts below are of pings, one miss each: with the neighbour entry
# expired (a slow run takes longer between the phases), a ping would wait
# for ARP and the misses would be of ARP requests, one a second.
cm_neigh_static a b

# miss CUBE REASON: the instance's tail-call-misses/REASON over REST.
miss() {
	curl -s "${PCN_URL}helloworld/$1/tail-call-misses/" |
		python3 -c "import json,sys; print(int(json.load(sys.stdin).get('$2', -1)))"
}

metric_reason() {
	curl -s "${PCN_URL}metrics" | awk -v c="cube=\"$1\"" -v r="reason=\"$2\"" \
		'index($0, "cubemesh_cube_missed_tail_calls_by_reason_total{") == 1 && index($0, c) && index($0, r) { print $2; f = 1 } END { if (!f) print -1 }'
}

metric_rx() {
	curl -s "${PCN_URL}metrics" | awk -v c="cube=\"$1\"" \
		'index($0, "cubemesh_cube_rx_packets_total{") == 1 && index($0, c) { print $2; f = 1 } END { if (!f) print -1 }'
}

# chain N HOOK: a -- c1 -- ... -- cN -- b, helloworld cubes forwarding.
chain() {
	local n=$1 hook=$2 i
	for i in $(seq 1 "$n"); do
		$PCNCTL helloworld add "c$i" type="$hook" action=FORWARD >/dev/null &&
			$PCNCTL "c$i" ports add in >/dev/null && $PCNCTL "c$i" ports add out >/dev/null || return 1
	done
	for i in $(seq 1 $((n - 1))); do
		$PCNCTL connect "c$i:out" "c$((i + 1)):in" >/dev/null || return 1
	done
	$PCNCTL connect c1:in "$IFA" >/dev/null && $PCNCTL connect "c$n:out" "$IFB" >/dev/null
}

unchain() {
	local i
	for i in $(seq 1 "$1"); do $PCNCTL "c$i" del >/dev/null 2>&1; done
	return 0
}

for hook in TC XDP_SKB; do
	echo "# a cube removed mid-chain, $hook"
	cm_check "$hook: chain of 4" chain 4 $hook
	cm_check "$hook: pings pass" cm_ping a 10.204.0.2
	cm_check "$hook: no misses yet" [ "$(miss c1 empty-slot)" = 0 ]
	cm_check "$hook: remove c2" $PCNCTL c2 del
	cm_check_not "$hook: pings stop" cm_ping a 10.204.0.2 3
	m=$(miss c1 empty-slot)
	cm_check "$hook: c1 counted the missed tail calls as empty-slot ($m)" [ "$m" -ge 3 ]
	cm_check "$hook: /metrics says the same" [ "$(metric_reason c1 empty-slot)" -ge 3 ]
	cm_check "$hook: and in the total of missed tail calls" \
		bash -c "curl -s ${PCN_URL}metrics | grep 'cubemesh_cube_missed_tail_calls_total{.*cube=\"c1\"}' | awk '{exit !(\$2 >= 3)}'"
	cm_check "$hook: the broker still answers" curl -fs -o /dev/null "${PCN_URL}version"
	cm_check_not "$hook: b -> a stops too" cm_ping b 10.204.0.1 2
	m=$(miss c3 empty-slot)
	cm_check "$hook: where c3 counts them ($m)" [ "$m" -ge 2 ]
	cm_check "$hook: c1:out shows DOWN" bash -c "$PCNCTL -j c1 ports show | grep -A3 '\"out\"' | grep -q DOWN"
	# A new instance takes c2's slot: c1 must not send it c2's packets.
	cm_check "$hook: an unrelated cube x takes the freed slot" bash -c "
		$PCNCTL helloworld add x type=$hook action=FORWARD >/dev/null && $PCNCTL x ports add in >/dev/null"
	m0=$(miss c1 empty-slot)
	cm_check_not "$hook: pings still stop" cm_ping a 10.204.0.2 2
	cm_check "$hook: x received none of them" [ "$(metric_rx x)" = 0 ]
	cm_check "$hook: c1 still counts them as missed ($m0 -> $(miss c1 empty-slot))" [ "$(miss c1 empty-slot)" -ge $((m0 + 2)) ]
	$PCNCTL x del >/dev/null
	cm_check "$hook: c2 again, its ports naming c1 and c3 (whose peer leaves still name c2)" bash -c "
		$PCNCTL helloworld add c2 type=$hook action=FORWARD >/dev/null &&
		$PCNCTL c2 ports add in peer=c1:out >/dev/null && $PCNCTL c2 ports add out peer=c3:in >/dev/null"
	cm_check "$hook: c1 and c3 were rewired to it: pings pass again" cm_ping a 10.204.0.2
	cm_check "$hook: and back" cm_ping b 10.204.0.1
	unchain 4
done

for hook in TC XDP_SKB; do
	echo "# the tail-call limit, $hook"
	cm_check "$hook: a chain of 33 cubes (32 hops)" chain 33 $hook
	cm_check "$hook: pings pass through 33 cubes" cm_ping a 10.204.0.2
	cm_check "$hook: and back" cm_ping b 10.204.0.1
	cm_check "$hook: no hop-limit drops" [ "$(miss c33 hop-limit)" = 0 ]
	cm_check "$hook: a 34th cube" bash -c "
		$PCNCTL helloworld add c34 type=$hook action=FORWARD >/dev/null &&
		$PCNCTL c34 ports add in >/dev/null && $PCNCTL c34 ports add out >/dev/null &&
		$PCNCTL connect c33:out c34:in >/dev/null && $PCNCTL connect c34:out $IFB >/dev/null"
	cm_check_not "$hook: pings do not pass 34 cubes" cm_ping a 10.204.0.2 3
	m=$(miss c33 hop-limit)
	cm_check "$hook: c33 counted them as hop-limit ($m)" [ "$m" -ge 3 ]
	cm_check "$hook: not as empty-slot" [ "$(miss c33 empty-slot)" = 0 ]
	cm_check "$hook: /metrics says hop-limit too" [ "$(metric_reason c33 hop-limit)" -ge 3 ]
	# Replies cross the chain the other way: their limit falls at c2.
	cm_check "$hook: c33 and c2 resume-long-chains=true" \
		bash -c "$PCNCTL c33 set resume-long-chains=true && $PCNCTL c2 set resume-long-chains=true"
	cm_check "$hook: pings pass 34 cubes, resumed through the slow path" cm_ping a 10.204.0.2 3
	m=$(miss c33 resumed)
	cm_check "$hook: c33 counted them as resumed ($m)" [ "$m" -ge 3 ]
	cm_check "$hook: c34 received them" [ "$(metric_rx c34)" -ge 3 ]
	cm_check "$hook: and the replies were resumed at c2 ($(miss c2 resumed))" [ "$(miss c2 resumed)" -ge 3 ]
	cm_check "$hook: resume off again" $PCNCTL c33 set resume-long-chains=false
	cm_check_not "$hook: dropped again" cm_ping a 10.204.0.2 2
	unchain 34
done
cm_done

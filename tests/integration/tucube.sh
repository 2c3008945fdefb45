#!/usr/bin/env bash
# Micro-cubes in the TC twin of a transparent cube at XDP. On a netdev the
# egress pipeline of an XDP cube runs at TC egress in its TC build (the
# twin, cube-runtime/twin.c), whose micro-cube arrays are its own (a
# PROG_ARRAY takes one program type). The tucubetest cube's egress handler
# hands each packet to egress micro-cube 1, which counts it under code A or
# code B apart. Attached to the host side of a's veth: the replies to a's
# pings leave through it and meet the micro-cube; its RX_OK goes on through
# the stack (a DROP cube nearer the wire stops them). Then pcn_reload of
# that micro-cube every 10 ms under a ping stream, to code B from its
# objects and back to A from its C source: zero loss, the replies meet the
# new code. A reload from an object without its TC build is refused.
source "$(dirname "$0")/../lib/mesh.sh"

cm_broker_start
cm_cube_start transparenthelloworld
# A test-only cube, built under tests/ so the supervisor never runs it.
cm_cube_start tucubetest "$CM_BUILD/tests/tucube/pcn-tucubetest"
cm_host a 10.213.0.1/24; IFA=$CM_IF
ip addr add 10.213.0.254/24 dev "$IFA"
# Static neighbours: every packet of the stream is an echo request or reply,
# and the egress DROP below must not leave a stale entry behind.
ip -n "$(cm_ns a)" neigh replace 10.213.0.254 dev eth0 lladdr "$(cat /sys/class/net/$IFA/address)" nud permanent
ip neigh replace 10.213.0.1 dev "$IFA" lladdr \
	"$(ip -n "$(cm_ns a)" link show eth0 | awk '/ether/ {print $2}')" nud permanent
ip netns exec "$(cm_ns a)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1

stat_of() {
	curl -s "${PCN_URL}tucubetest/tu1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$1']))"
}
thw_eg() {
	curl -s "${PCN_URL}transparenthelloworld/th1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['egress-packets']))"
}
# stream SECONDS: pings every 5 ms; prints "sent received".
stream() {
	local n=$(($1 * 200))
	ip netns exec "$(cm_ns a)" ping -i 0.005 -c "$n" -W 2 -q 10.213.0.254 2>/dev/null |
		awk '/transmitted/ {print $1, $4}'
}
# grew LEAF BEFORE MIN: the counter grew by at least MIN since BEFORE.
grew() { [ "$(stat_of "$1")" -ge $(($2 + $3)) ]; }
ping_a() { cm_ping a 10.213.0.254 "${1:-3}"; }

for hook in XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create tu1 (code A)" $PCNCTL tucubetest add tu1 type=$hook
	cm_check "$hook: attach tu1 to $IFA" $PCNCTL attach tu1 "$IFA"
	cm_check "$hook: pings pass" ping_a
	cm_check "$hook: the egress handler counted the replies going out" grew egress-handler 0 3
	cm_check "$hook: and its micro-cube (code A) did, at TC egress" grew egress-a 0 3
	cm_check "$hook: code B did not" [ "$(stat_of egress-b)" = 0 ]

	# Egress runs from the far end of the stack to the wire: tu1, then th1.
	cm_check "$hook: th1 (egress DROP) attached nearer the wire than tu1" bash -c "
		$PCNCTL transparenthelloworld add th1 type=$hook egress-action=DROP >/dev/null &&
		$PCNCTL attach th1 $IFA position=first >/dev/null"
	a0=$(stat_of egress-a); t0=$(thw_eg)
	cm_check_not "$hook: pings fail" ping_a
	cm_check "$hook: the micro-cube passed the replies on ($a0 -> $(stat_of egress-a))" grew egress-a "$a0" 3
	cm_check "$hook: to th1, next in the stack, which dropped them ($t0 -> $(thw_eg))" [ "$(thw_eg)" -ge $((t0 + 3)) ]
	cm_check "$hook: delete th1" $PCNCTL th1 del
	cm_check "$hook: pings pass again" ping_a

	# OBJECT loads code B, SOURCE code A again: each run switches the code.
	new=b; old=a
	for from in OBJECT SOURCE; do
		code=$(echo $new | tr a-z A-Z)
		in0=$(stat_of ingress-packets); new0=$(stat_of egress-$new); rl0=$(stat_of reloads)
		cm_check "$hook/$from: reload egress micro-cube 1 to code $code every 10 ms" \
			$PCNCTL tu1 set code=$code reload-from=$from reload-period-ms=10
		read -r sent recv < <(stream 8)
		cm_check "$hook/$from: reloads stopped" $PCNCTL tu1 set reload-period-ms=0
		rl=$(( $(stat_of reloads) - rl0 ))
		echo "# $hook/$from: $rl reloads while $sent echo requests were sent, $recv replies received"
		cm_check "$hook/$from: the stream ran ($sent sent)" [ "${sent:-0}" -ge 800 ]
		cm_check "$hook/$from: zero loss ($recv of $sent)" [ "${recv:-0}" = "${sent:-x}" ]
		cm_check "$hook/$from: the micro-cube reloaded during the stream ($rl times)" [ "$rl" -ge 3 ]
		cm_check "$hook/$from: no reload failed" [ "$(stat_of reload-errors)" = 0 ]
		cm_check "$hook/$from: the ingress counter kept counting" grew ingress-packets "$in0" "${recv:-1}"
		# The first reload comes 10 ms into the stream (from source, after
		# two runs of clang: seconds on a loaded machine).
		cm_check "$hook/$from: code $code's micro-cube counted the replies at TC egress ($new0 -> $(stat_of egress-$new))" \
			grew egress-$new "$new0" $((${recv:-1} / 4))
		o0=$(stat_of egress-$old); n0=$(stat_of egress-$new)
		cm_check "$hook/$from: pings pass after the reloads" ping_a 5
		cm_check "$hook/$from: the replies now meet code $code's micro-cube only" \
			bash -c "[ $(stat_of egress-$old) = $o0 ] && [ $(stat_of egress-$new) -ge $((n0 + 5)) ]"
		new=a; old=b
	done
	cm_check "$hook: detach and delete tu1" bash -c "$PCNCTL detach tu1 $IFA >/dev/null && $PCNCTL tu1 del >/dev/null"
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA egress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done

echo "# a micro-cube reload from an object without its TC build: refused, egress keeps its code"
cm_check "create tu1 (XDP_SKB, code A), attached" \
	bash -c "$PCNCTL tucubetest add tu1 type=XDP_SKB >/dev/null && $PCNCTL attach tu1 $IFA >/dev/null"
cm_check "reload to code B from the XDP object alone" \
	$PCNCTL tu1 set code=B reload-from=OBJECT-WITHOUT-TC reload-period-ms=50
cm_check "the reloads fail" bash -c "for i in \$(seq 1 100); do
	[ \$(curl -s ${PCN_URL}tucubetest/tu1/stats/ | python3 -c \"import json,sys; print(json.load(sys.stdin)['reload-errors'])\") -ge 2 ] && exit 0
	sleep 0.1; done; exit 1"
cm_check "reloads stopped" $PCNCTL tu1 set reload-period-ms=0
cm_check "none succeeded" [ "$(stat_of reloads)" = 0 ]
a0=$(stat_of egress-a)
cm_check "pings pass" ping_a
cm_check "the replies still meet code A's micro-cube" bash -c "[ $(stat_of egress-b) = 0 ] && [ $(stat_of egress-a) -ge $((a0 + 3)) ]"
cm_check "delete tu1" $PCNCTL tu1 del
cm_done

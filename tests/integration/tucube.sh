#!/usr/bin/env bash
# Micro-cubes in the TC twin of a transparent cube at XDP. On a netdev the
# egress pipeline of an XDP cube runs at TC egress in its TC build (the
# twin, cube-runtime/twin.c), whose micro-cube arrays are its own (a
# PROG_ARRAY takes one program type). The treloadtest cube's egress handler
# hands each packet to egress micro-cube 1, each counting it under code A or
# code B apart; here only the micro-cube is reloaded. Attached to the host side of a's veth: the replies to a's
# pings leave through it and meet the micro-cube; its RX_OK goes on through
# the stack (a DROP cube nearer the wire stops them). Then pcn_reload of
# that micro-cube every 10 ms under a ping stream, to code B from its
# objects and back to A from its C source: zero loss, the replies meet the
# new code; so it does after a new log level. A reload from an object
# without its TC build is refused.
source "$(dirname "$0")/../lib/mesh.sh"
source "$(dirname "$0")/../lib/treload.sh"

cm_broker_start
cm_cube_start transparenthelloworld
# A test-only cube, built under tests/ so the supervisor never runs it.
cm_cube_start treloadtest "$CM_BUILD/tests/treload/pcn-treloadtest"
tr_host 10.216.0

thw_eg() {
	curl -s "${PCN_URL}transparenthelloworld/th1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['egress-packets']))"
}

for hook in XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create tr1 (code A; reloads: its egress micro-cube)" \
		$PCNCTL treloadtest add tr1 type=$hook reload-program=EGRESS-MICRO-CUBE
	cm_check "$hook: attach tr1 to $IFA" $PCNCTL attach tr1 "$IFA"
	cm_check "$hook: pings pass" tr_ping
	cm_check "$hook: the egress handler (code A) counted the replies going out" grew egress-a 0 3
	cm_check "$hook: and its micro-cube (code A) did, at TC egress" grew egress-uc-a 0 3
	cm_check "$hook: code B did not" [ "$(stat_of egress-b)$(stat_of egress-uc-b)" = 00 ]

	# Egress runs from the far end of the stack to the wire: tr1, then th1.
	cm_check "$hook: th1 (egress DROP) attached nearer the wire than tr1" bash -c "
		$PCNCTL transparenthelloworld add th1 type=$hook egress-action=DROP >/dev/null &&
		$PCNCTL attach th1 $IFA position=first >/dev/null"
	a0=$(stat_of egress-uc-a); t0=$(thw_eg)
	cm_check_not "$hook: pings fail" tr_ping
	cm_check "$hook: the micro-cube passed the replies on ($a0 -> $(stat_of egress-uc-a))" grew egress-uc-a "$a0" 3
	cm_check "$hook: to th1, next in the stack, which dropped them ($t0 -> $(thw_eg))" [ "$(thw_eg)" -ge $((t0 + 3)) ]
	cm_check "$hook: delete th1" $PCNCTL th1 del
	cm_check "$hook: pings pass again" tr_ping

	# OBJECT loads code B, SOURCE code A again: each run switches the code.
	new=b; old=a
	for from in OBJECT SOURCE; do
		code=$(echo $new | tr a-z A-Z)
		new0=$(stat_of egress-uc-$new); ha0=$(stat_of egress-a)
		tr_reload_run "$hook/$from: egress micro-cube 1" $code $from 8
		# The first reload comes 10 ms into the stream (from source, after
		# two runs of clang: seconds on a loaded machine).
		cm_check "$hook/$from: code $code's micro-cube counted the replies at TC egress ($new0 -> $(stat_of egress-uc-$new))" \
			grew egress-uc-$new "$new0" $((TR_RECV / 4))
		cm_check "$hook/$from: the handler stayed code A's, as it was not reloaded" \
			bash -c "[ $(stat_of egress-b) = 0 ] && [ $(stat_of egress-a) -ge $((ha0 + TR_RECV)) ]"
		o0=$(stat_of egress-uc-$old); n0=$(stat_of egress-uc-$new)
		cm_check "$hook/$from: pings pass after the reloads" tr_ping 5
		cm_check "$hook/$from: the replies now meet code $code's micro-cube only" \
			bash -c "[ $(stat_of egress-uc-$old) = $o0 ] && [ $(stat_of egress-uc-$new) -ge $((n0 + 5)) ]"
		new=a; old=b
	done
	# A new log level loads both builds again (apply.c, twin.c): the
	# twin's micro-cube comes back in its own arrays.
	a0=$(stat_of egress-uc-a)
	cm_check "$hook: loglevel DEBUG (a reload of both builds)" $PCNCTL tr1 set loglevel=DEBUG
	cm_check "$hook: pings pass at the new level" tr_ping
	cm_check "$hook: and meet the micro-cube at TC egress ($a0 -> $(stat_of egress-uc-a))" grew egress-uc-a "$a0" 3
	cm_check "$hook: detach and delete tr1" bash -c "$PCNCTL detach tr1 $IFA >/dev/null && $PCNCTL tr1 del >/dev/null"
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA egress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done

echo "# a micro-cube reload from an object without its TC build: refused, egress keeps its code"
cm_check "create tr1 (XDP_SKB, code A), attached" \
	bash -c "$PCNCTL treloadtest add tr1 type=XDP_SKB reload-program=EGRESS-MICRO-CUBE >/dev/null &&
		$PCNCTL attach tr1 $IFA >/dev/null"
tr_refused_reloads
a0=$(stat_of egress-uc-a)
cm_check "pings pass" tr_ping
cm_check "the replies still meet code A's micro-cube" \
	bash -c "[ $(stat_of egress-uc-b) = 0 ] && [ $(stat_of egress-uc-a) -ge $((a0 + 3)) ]"
cm_check "delete tr1" $PCNCTL tr1 del
cm_done

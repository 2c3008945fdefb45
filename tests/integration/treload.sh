#!/usr/bin/env bash
# Hitless reload of a transparent cube at XDP: its egress pipeline runs at
# TC egress in its TC build (the twin, cube-runtime/twin.c), which
# pcn_reload_all must replace as well. The treloadtest cube, attached to the
# host side of a's veth, counts egress under code A or code B apart; a ping
# stream from a to the host's address on that veth (requests in at XDP,
# replies out at TC egress) runs while the cube reloads every 10 ms for 10 s,
# to code B from its objects, then back to code A from its C source. Zero
# loss; the replies show the new code (and only it, once the reloads stop),
# in the handler and in its egress micro-cube; the counters kept their
# content.
source "$(dirname "$0")/../lib/mesh.sh"
source "$(dirname "$0")/../lib/treload.sh"

cm_broker_start
# A test-only cube, built under tests/ so the supervisor never runs it.
cm_cube_start treloadtest "$CM_BUILD/tests/treload/pcn-treloadtest"
tr_host 10.212.0

for hook in XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create tr1 (code A)" $PCNCTL treloadtest add tr1 type=$hook
	cm_check "$hook: attach tr1 to $IFA" $PCNCTL attach tr1 "$IFA"
	cm_check "$hook: pings pass" cm_ping a 10.212.0.254
	cm_check "$hook: code A counted the replies going out" grew egress-a 0 3
	cm_check "$hook: code B did not" [ "$(stat_of egress-b)" = 0 ]
	# OBJECT loads code B, SOURCE code A again: each run switches the code.
	new=b; old=a
	for from in OBJECT SOURCE; do
		code=$(echo $new | tr a-z A-Z)
		new0=$(stat_of egress-$new); uc0=$(stat_of egress-uc-$new)
		tr_reload_run "$hook/$from" $code $from 10
		# The first reload comes 10 ms into the stream (from source, after
		# two runs of clang: seconds on a loaded machine).
		cm_check "$hook/$from: code $code counted the replies at TC egress ($new0 -> $(stat_of egress-$new))" \
			grew egress-$new "$new0" $((TR_RECV / 4))
		cm_check "$hook/$from: and its egress micro-cube, in the twin's own arrays ($uc0 -> $(stat_of egress-uc-$new))" \
			grew egress-uc-$new "$uc0" $((TR_RECV / 4))
		o0=$(stat_of egress-$old); n0=$(stat_of egress-$new)
		cm_check "$hook/$from: pings pass after the reloads" cm_ping a 10.212.0.254 5
		cm_check "$hook/$from: the replies now meet code $code only" \
			bash -c "[ $(stat_of egress-$old) = $o0 ] && [ $(stat_of egress-$new) -ge $((n0 + 5)) ]"
		new=a; old=b
	done
	cm_check "$hook: detach and delete tr1" bash -c "$PCNCTL detach tr1 $IFA >/dev/null && $PCNCTL tr1 del >/dev/null"
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA egress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done

echo "# a reload from an object without its TC build: refused, both directions keep their code"
cm_check "create tr1 (XDP_SKB, code A), attached" \
	bash -c "$PCNCTL treloadtest add tr1 type=XDP_SKB >/dev/null && $PCNCTL attach tr1 $IFA >/dev/null"
tr_refused_reloads
a0=$(stat_of egress-a)
cm_check "pings pass" cm_ping a 10.212.0.254
cm_check "the replies still meet code A" bash -c "[ $(stat_of egress-b) = 0 ] && [ $(stat_of egress-a) -ge $((a0 + 3)) ]"
cm_check "delete tr1" $PCNCTL tr1 del
cm_done

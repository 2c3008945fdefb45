#!/usr/bin/env bash
# The slow path of a transparent cube knows which way each packet was going:
# transparenthelloworld on the host side of a's veth sends one direction up
# (SLOWPATH) and its pcn_pkt_in counts what it gets by pcn_pkt.direction.
# Ingress SLOWPATH: a's echo requests arrive as ingress, none as egress.
# Egress SLOWPATH: the host's replies arrive as egress, none as ingress.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start transparenthelloworld
cm_host a 10.209.0.1/24; IFA=$CM_IF
ip addr add 10.209.0.254/24 dev "$IFA"
# Both ends know each other for good: ARP would go up too while one
# direction is sent to the slow path, and hide the echo packets behind it.
ip -n "$(cm_ns a)" neigh replace 10.209.0.254 lladdr "$(cat /sys/class/net/$IFA/address)" dev eth0 nud permanent
ip neigh replace 10.209.0.1 dev "$IFA" nud permanent \
	lladdr "$(ip -n "$(cm_ns a)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"

# sp CUBE ingress|egress: what its pcn_pkt_in counted for that direction.
sp() { curl -s "${PCN_URL}transparenthelloworld/$1/stats/" |
	python3 -c "import json,sys; print(int(json.load(sys.stdin).get('slowpath-$2-packets', -1)))"; }
# until SECONDS CMD...: retries CMD every 0.1 s.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
sp_ge() { [ "$(sp "$1" "$2")" -ge "$3" ]; }
# logged CUBE DIR N: the cube process logged at least N packets of DIR.
logged() { [ "$(grep -c "TRANSPARENTHELLOWORLD-PKT-IN: $1: $2 packet" "$CM_TMP/transparenthelloworld.log")" -ge "$3" ]; }

for hook in TC XDP_SKB; do
	c=ts$hook
	echo "# hook $hook"
	cm_check "$hook: create $c, attach it to $IFA" \
		bash -c "$PCNCTL transparenthelloworld add $c type=$hook >/dev/null && $PCNCTL attach $c $IFA >/dev/null"
	cm_check "$hook: nothing up yet" [ "$(sp $c ingress)/$(sp $c egress)" = 0/0 ]

	cm_check "$hook: ingress SLOWPATH" $PCNCTL $c set ingress-action=SLOWPATH
	cm_check_not "$hook: pings fail (the requests go up)" cm_ping a 10.209.0.254 3
	cm_check "$hook: pcn_pkt_in got them as ingress ($(sp $c ingress))" until_ok 5 sp_ge $c ingress 3
	cm_check "$hook: and logged them so" until_ok 3 logged $c ingress 3
	cm_check "$hook: none as egress" [ "$(sp $c egress)" = 0 ]
	cm_check "$hook: ingress PASS" $PCNCTL $c set ingress-action=PASS
	cm_check "$hook: pings pass" cm_ping a 10.209.0.254 2

	# XDP transparent cubes have no egress pipeline in this version.
	if [ "$hook" = TC ]; then
		in0=$(sp $c ingress)
		cm_check "$hook: egress SLOWPATH" $PCNCTL $c set egress-action=SLOWPATH
		cm_check_not "$hook: pings fail (the replies go up)" cm_ping a 10.209.0.254 3
		cm_check "$hook: pcn_pkt_in got them as egress ($(sp $c egress))" until_ok 5 sp_ge $c egress 3
		cm_check "$hook: and logged them so" until_ok 3 logged $c egress 3
		cm_check "$hook: no more as ingress ($in0 -> $(sp $c ingress))" [ "$(sp $c ingress)" = "$in0" ]
		cm_check "$hook: egress PASS" $PCNCTL $c set egress-action=PASS
		cm_check "$hook: pings pass" cm_ping a 10.209.0.254 2
	fi
	cm_check "$hook: detach and delete $c" bash -c "$PCNCTL detach $c $IFA >/dev/null && $PCNCTL $c del >/dev/null"
done
cm_done

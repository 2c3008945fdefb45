#!/usr/bin/env bash
# ddosmitigator as Polycube's own test does it (services/pcn-ddosmitigator/
# test): attached to a netdev, pings pass; blacklist the source -> pings fail
# and the entry's drop-pkts grows; delete the entry -> pings pass; blacklist
# the far destination -> fail; the near one -> pass. Here a pings the host
# end of its veth (the far destination, 10.209.0.254); the near address is
# a's own (packets to it go out through the cube's egress, which filters
# nothing).
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start ddosmitigator
cm_host a 10.209.0.1/24; IFA=$CM_IF
ip addr add 10.209.0.254/24 dev "$IFA"

drops() {
	curl -s "${PCN_URL}ddosmitigator/dm1/$1/10.209.0.$2/drop-pkts/" | tr -dc 0-9
}
stat() { curl -s "${PCN_URL}ddosmitigator/dm1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$1']))"; }

for hook in TC XDP_SKB; do
	echo "# hook $hook"
	cm_check "$hook: create dm1" $PCNCTL ddosmitigator add dm1 type=$hook
	cm_check "$hook: attach to $IFA" $PCNCTL attach dm1 "$IFA"
	cm_check "$hook: pings pass" cm_ping a 10.209.0.254
	cm_check "$hook: blacklist the source" $PCNCTL dm1 blacklist-src add 10.209.0.1
	cm_check_not "$hook: pings fail" cm_ping a 10.209.0.254 3
	cm_check "$hook: drop-pkts grew ($(drops blacklist-src 1))" [ "$(drops blacklist-src 1)" -ge 3 ]
	cm_check "$hook: stats/pkts counts them" [ "$(stat pkts)" -ge 3 ]
	cm_check "$hook: delete the entry" $PCNCTL dm1 blacklist-src del 10.209.0.1
	cm_check "$hook: pings pass" cm_ping a 10.209.0.254
	cm_check "$hook: blacklist the far destination" $PCNCTL dm1 blacklist-dst add 10.209.0.254
	cm_check_not "$hook: pings fail" cm_ping a 10.209.0.254 3
	cm_check "$hook: its drop-pkts grew" [ "$(drops blacklist-dst 254)" -ge 3 ]
	cm_check "$hook: delete it" $PCNCTL dm1 blacklist-dst del 10.209.0.254
	cm_check "$hook: blacklist the near one" $PCNCTL dm1 blacklist-dst add 10.209.0.1
	cm_check "$hook: pings pass" cm_ping a 10.209.0.254
	cm_check "$hook: its drop-pkts stayed 0" [ "$(drops blacklist-dst 1)" = 0 ]
	cm_check "$hook: listed" bash -c "$PCNCTL -j dm1 show | grep -q 10.209.0.1"
	out=$(cm_http POST /ddosmitigator/dm1/blacklist-src/ '{"ip":"not-an-ip"}')
	cm_check "$hook: a bad address: 400" [ "${out%% *}" = 400 ]
	cm_check "$hook: delete dm1 (detached with it)" $PCNCTL dm1 del
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done
cm_done

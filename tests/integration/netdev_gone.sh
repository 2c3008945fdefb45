#!/usr/bin/env bash
# A netdev deleted while peered takes the port DOWN and crashes nothing; a
# netdev of that name coming back is wired again.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.205.0.1/24; IFA=$CM_IF
cm_host b 10.205.0.2/24; IFB=$CM_IF

port_status() { $PCNCTL -j hw1 ports "$1" status show 2>/dev/null | tr -d '"[:space:]'; }

for hook in TC XDP_SKB; do
	echo "# hook $hook"
	cm_check "$hook: create" bash -c "$PCNCTL helloworld add hw1 type=$hook && $PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD"
	cm_check "$hook: pings pass" cm_ping a 10.205.0.2
	cm_check "$hook: port2 UP" [ "$(port_status port2)" = UP ]

	ip link del "$IFB"
	sleep 0.3
	cm_check "$hook: port2 DOWN once $IFB is gone" [ "$(port_status port2)" = DOWN ]
	cm_check "$hook: port1 still UP" [ "$(port_status port1)" = UP ]
	cm_check "$hook: the peer is still configured" bash -c "$PCNCTL -j hw1 ports port2 peer show | grep -q $IFB"
	cm_check "$hook: the broker still answers" curl -fs -o /dev/null "${PCN_URL}version"
	cm_check "$hook: and so does the cube" curl -fs -o /dev/null "${PCN_URL}helloworld/hw1/"

	# The same name comes back (a new veth into a new namespace b).
	ip netns del "$(cm_ns b)"
	cm_host b 10.205.0.2/24
	# b's new eth0 has a new MAC: forget the old one in a.
	ip -n "$(cm_ns a)" neigh flush all
	sleep 0.5
	cm_check "$hook: port2 UP again when $IFB is back" [ "$(port_status port2)" = UP ]
	cm_check "$hook: pings pass again" cm_ping a 10.205.0.2
	cm_check "$hook: delete" $PCNCTL hw1 del
	cm_check "$hook: nothing left on $IFB" bash -c "[ -z \"\$(tc filter show dev $IFB ingress)\" ] && ! ip link show $IFB | grep -q prog/xdp"
done
cm_done

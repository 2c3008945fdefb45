#!/usr/bin/env bash
# simpleforwarder: per-inport actions decide what crosses, for each hook.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start simpleforwarder
cm_host a 10.202.0.1/24; IFA=$CM_IF
cm_host b 10.202.0.2/24; IFB=$CM_IF
cm_neigh_static a b

# replies_seen: SIMPLEFWD-PKT-IN lines for echo replies (98-byte IPv4) from p2.
replies_seen() { grep -c 'SIMPLEFWD-PKT-IN: sf1: packet from p2, .* 98 bytes, ethertype 0x0800' "$CM_TMP/simpleforwarder.log" || true; }
# saw_replies BEFORE N: waits up to 6 s (a loaded machine delays the ring reader) until pcn_pkt_in saw exactly N more.
saw_replies() {
	for _ in $(seq 1 60); do
		[ "$(replies_seen)" -ge $(($1 + $2)) ] && break
		sleep 0.1
	done
	local got=$(($(replies_seen) - $1))
	[ "$got" -eq "$2" ] || echo "  (pcn_pkt_in saw $got replies, want $2)"
	[ "$got" -eq "$2" ]
}
rx_b() { ip -n "$(cm_ns b)" -s -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create sf1" $PCNCTL simpleforwarder add sf1 type=$hook
	cm_check "$hook: ports" bash -c "$PCNCTL sf1 ports add p1 peer=$IFA && $PCNCTL sf1 ports add p2 peer=$IFB"
	cm_check_not "$hook: no action: nothing crosses" cm_ping a 10.202.0.2 2
	cm_check "$hook: p1 FORWARD to p2" $PCNCTL sf1 actions add p1 action=FORWARD outport=p2
	before=$(rx_b)
	cm_check_not "$hook: one way only: no replies" cm_ping a 10.202.0.2 3
	after=$(rx_b)
	cm_check "$hook: but b received a's packets ($before -> $after)" [ "$after" -ge $((before + 3)) ]
	cm_check "$hook: p2 FORWARD to p1" $PCNCTL sf1 actions add p2 action=FORWARD outport=p1
	cm_check "$hook: both ways: pings pass" cm_ping a 10.202.0.2
	cm_check "$hook: and back" cm_ping b 10.202.0.1
	cm_check "$hook: actions listed" bash -c "$PCNCTL -j sf1 actions show | grep -c FORWARD | grep -qx 2"
	cm_check "$hook: p2 DROP" $PCNCTL sf1 actions p2 set action=DROP
	cm_check_not "$hook: replies dropped" cm_ping a 10.202.0.2 2
	cm_check "$hook: p2 SLOWPATH" $PCNCTL sf1 actions p2 set action=SLOWPATH
	seen=$(replies_seen)
	cm_check_not "$hook: SLOWPATH stops the replies" cm_ping a 10.202.0.2 2
	cm_check "$hook: pcn_pkt_in saw exactly the 2 replies" saw_replies "$seen" 2
	cm_check "$hook: p2 FORWARD again" $PCNCTL sf1 actions p2 set action=FORWARD
	cm_check "$hook: pings pass again" cm_ping a 10.202.0.2
	cm_check "$hook: delete the p2 entry" $PCNCTL sf1 actions del p2
	cm_check_not "$hook: no entry: dropped" cm_ping a 10.202.0.2 2
	cm_check "$hook: delete" $PCNCTL sf1 del
	cm_check "$hook: nothing left on $IFA" bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
	cm_check "$hook: no pins left" bash -c "[ -z \"\$(ls -A $CM_BPFFS/cubes/simpleforwarder 2>/dev/null)\" ]"
done
cm_done

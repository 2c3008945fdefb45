#!/usr/bin/env bash
# bridge's spanning tree per VLAN, after Polycube's vlan_and_stp test1, at
# TC, XDP_SKB and XDP_DRV: three bridges wired to each other cube to cube
# (pcnctl connect) by trunks carrying VLANs 14 and 10, each VLAN with its
# own priorities: VLAN 14's root is b3, VLAN 10's is b1. Each VLAN's tree
# blocks a different port (b2's toward b1 in 14, b3's toward b2 in 10),
# read through `pcnctl bN ports P stp VLAN show state`; the BPDUs of both
# cross the trunks tagged. Hosts of VLAN 14 reach each other, the VLAN 10
# host reaches neither.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start bridge
cm_host v1 10.216.0.1/24; IF1=$CM_IF
cm_host v2 10.216.0.2/24; IF2=$CM_IF
cm_host v3 10.216.0.3/24; IF3=$CM_IF
for h in v1 v2 v3; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
state() { $PCNCTL -j "$1" ports "$2" stp "$3" show state 2>/dev/null | tr -d '"'; }
states() {
	local out= b p v
	for b in "b1 tob2" "b1 tob3" "b2 tob1" "b2 tob3" "b3 tob1" "b3 tob2"; do
		for v in 14 10; do out="$out $(state $b $v)"; done
	done
	echo "${out# }"
}
# b1.tob2 b1.tob3 b2.tob1 b2.tob3 b3.tob1 b3.tob2, VLAN 14 then 10 each.
WANT="forwarding forwarding forwarding forwarding blocking forwarding forwarding forwarding forwarding forwarding forwarding blocking"
converged() { [ "$(states)" = "$WANT" ]; }
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
ping1() { ip netns exec "$(cm_ns "$1")" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
TIMERS="hello-time=1 forward-delay=2 max-message-age=6"

for hook in ${CM_HOOKS:-TC XDP_SKB XDP_DRV}; do
	echo "# hook $hook"
	for h in v1 v2 v3; do ip -n "$(cm_ns $h)" neigh flush all 2>/dev/null; done
	ok=1
	for b in b1 b2 b3; do
		$PCNCTL bridge add $b type=$hook stp-enabled=true || ok=0
		for p in tob1 tob2 tob3; do
			[ "$p" = "to$b" ] && continue
			{ $PCNCTL $b ports add $p mode=trunk && $PCNCTL $b ports $p trunk allowed add 14 &&
				$PCNCTL $b ports $p trunk allowed add 10; } || ok=0
		done
	done
	cm_check "$hook: three bridges, trunks allowing 14 and 10" [ $ok = 1 ]
	cm_check "$hook: hosts: v1 on b1 and v2 on b2 in VLAN 14, v3 on b3 in VLAN 10" bash -c "
		$PCNCTL b1 ports add tov1 peer=$IF1 && $PCNCTL b1 ports tov1 access set vlanid=14 &&
		$PCNCTL b2 ports add tov2 peer=$IF2 && $PCNCTL b2 ports tov2 access set vlanid=14 &&
		$PCNCTL b3 ports add tov3 peer=$IF3 && $PCNCTL b3 ports tov3 access set vlanid=10"
	cm_check "$hook: per-VLAN priorities (14: b3 lowest; 10: b1 lowest)" bash -c "
		$PCNCTL b1 stp add 14 priority=10 $TIMERS && $PCNCTL b1 stp add 10 priority=1 $TIMERS &&
		$PCNCTL b2 stp add 14 priority=100 $TIMERS && $PCNCTL b2 stp add 10 priority=10 $TIMERS &&
		$PCNCTL b3 stp add 14 priority=1 $TIMERS && $PCNCTL b3 stp add 10 priority=100 $TIMERS"
	cm_check "$hook: wired: b1-b2, b1-b3, b2-b3 (pcnctl connect)" bash -c "
		$PCNCTL connect b1:tob2 b2:tob1 && $PCNCTL connect b1:tob3 b3:tob1 && $PCNCTL connect b2:tob3 b3:tob2"
	cm_check "$hook: converged: b2's tob1 blocks in 14, b3's tob2 in 10, the rest forward ($(until_ok 15 converged; states))" converged
	cm_check "$hook: v1 -> v2 (VLAN 14)" cm_ping v1 10.216.0.2
	cm_check "$hook: v2 -> v1" cm_ping v2 10.216.0.1
	cm_check_not "$hook: v1 does not reach v3 (VLAN 10)" ping1 v1 10.216.0.3
	cm_check_not "$hook: v3 does not reach v2" ping1 v3 10.216.0.2
	cm_check "$hook: delete" bash -c "$PCNCTL b1 del && $PCNCTL b2 del && $PCNCTL b3 del"
done
cm_done

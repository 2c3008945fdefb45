#!/usr/bin/env bash
# A transparent cube on a standard cube's port reads its parent's
# parameters (pcn_parent) and is told when they change (on_parent), as on a
# netdev (transparent.sh). The test-only portparams cube's ports have ip and
# mac leaves (Polycube's router's port model): the transparent cube shows
# the port's MAC and address, the ifindex and MTU of the netdev the port is
# peered with (0 when peered with a cube: no netdev behind it) and its state,
# and follows each change: the leaves, the netdev's MTU, a rewired peer, a
# detach.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start transparenthelloworld
# A test-only cube, built under tests/ so the supervisor never runs it.
cm_cube_start portparams "$CM_BUILD/tests/portparams/pcn-portparams"
cm_host a 10.213.0.1/24; IFA=$CM_IF
cm_host b 10.213.0.2/24; IFB=$CM_IF

# pinfo CUBE LEAF: the leaf of CUBE's parent-info ("" when absent; the
# ipv4 leaf-list as addresses joined by spaces).
pinfo() {
	curl -s "${PCN_URL}transparenthelloworld/$1/parent-info/" | python3 -c "
import json,sys
v = json.load(sys.stdin).get('$2', '')
print(' '.join(v) if isinstance(v, list) else str(v).lower())"
}
# told CUBE LEAF VALUE: waits (up to 10 s: the broker polls each second)
# until CUBE's parent-info has LEAF = VALUE.
told() {
	local i
	for i in $(seq 1 100); do
		[ "$(pinfo "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	echo "# $1: parent-info $2 is '$(pinfo "$1" "$2")', not '$3'" >&2
	return 1
}
ifindex_of() { cat "/sys/class/net/$1/ifindex"; }

# The parent's parameters are the control plane's: one hook is enough.
for hook in TC; do
	echo "# hook $hook"
	cm_check "$hook: pp1 with p0 (ip, mac) peered with $IFA, and p1" bash -c "
		$PCNCTL portparams add pp1 type=$hook >/dev/null &&
		$PCNCTL pp1 ports add p0 peer=$IFA ip=10.213.0.254/24 mac=02:00:00:00:13:01 >/dev/null &&
		$PCNCTL pp1 ports add p1 >/dev/null"
	cm_check "$hook: t1 attached to pp1:p0" bash -c "
		$PCNCTL transparenthelloworld add t1 type=$hook >/dev/null && $PCNCTL attach t1 pp1:p0 >/dev/null"
	cm_check "$hook: t1 sees the port's MAC" told t1 mac 02:00:00:00:13:01
	cm_check "$hook: and its address" told t1 ipv4 10.213.0.254/24
	cm_check "$hook: the ifindex of $IFA, the netdev the port is peered with" told t1 ifindex "$(ifindex_of $IFA)"
	cm_check "$hook: its MTU" told t1 mtu 1500
	cm_check "$hook: the port is up" told t1 up true
	u=$(pinfo t1 updates)
	cm_check "$hook: the port's address changes" $PCNCTL pp1 ports p0 set ip=10.213.9.9/16
	cm_check "$hook: t1 is told" told t1 ipv4 10.213.9.9/16
	cm_check "$hook: its MAC changes" $PCNCTL pp1 ports p0 set mac=02:00:00:00:13:02
	cm_check "$hook: t1 is told" told t1 mac 02:00:00:00:13:02
	ip link set "$IFA" mtu 1400
	cm_check "$hook: $IFA's MTU changes: t1 is told" told t1 mtu 1400
	ip link set "$IFA" mtu 1500
	cm_check "$hook: the port is peered with $IFB instead" $PCNCTL pp1 ports p0 set peer="$IFB"
	cm_check "$hook: t1 is told the new netdev's ifindex" told t1 ifindex "$(ifindex_of $IFB)"
	cm_check "$hook: on_parent ran for each change (updates $u -> $(pinfo t1 updates))" \
		[ "$(pinfo t1 updates)" -ge $((u + 4)) ]
	cm_check "$hook: pp2, and pp1:p0 wired to pp2:p0 instead" bash -c "
		$PCNCTL portparams add pp2 type=$hook >/dev/null && $PCNCTL pp2 ports add p0 >/dev/null &&
		$PCNCTL pp1 ports p0 set peer= >/dev/null 2>&1; $PCNCTL connect pp1:p0 pp2:p0 >/dev/null"
	cm_check "$hook: peered with a cube: no netdev behind the port, ifindex 0" told t1 ifindex 0
	cm_check "$hook: and MTU 0" told t1 mtu 0
	cm_check "$hook: the port's own MAC stays" told t1 mac 02:00:00:00:13:02
	cm_check "$hook: t2 on pp1:p1 (no ip, mac leaves, no peer)" bash -c "
		$PCNCTL transparenthelloworld add t2 type=$hook >/dev/null && $PCNCTL attach t2 pp1:p1 >/dev/null"
	cm_check "$hook: t2 is told: no address" told t2 ipv4 ""
	cm_check "$hook: a zero MAC" told t2 mac 00:00:00:00:00:00
	cm_check "$hook: ifindex 0" told t2 ifindex 0
	cm_check "$hook: the port is down (no peer)" told t2 up false
	# A new process knows nothing of the parents the last one was told:
	# the broker tells it again once it has its instances back.
	kill -9 "${CM_CUBE_PID[transparenthelloworld]}"
	for _ in $(seq 1 50); do
		curl -s "${PCN_URL}services/transparenthelloworld" | grep -q '"running"' || break
		sleep 0.1
	done
	cm_check "$hook: pcn-transparenthelloworld killed and started again" cm_cube_start transparenthelloworld
	cm_check "$hook: the new process is told t1's parent (its MAC)" told t1 mac 02:00:00:00:13:02
	cm_check "$hook: and t2's (the port is down)" told t2 up false
	cm_check "$hook: detach t1" $PCNCTL detach t1 pp1:p0
	cm_check "$hook: t1 has no parent any more" told t1 mac ""
	cm_check "$hook: clean up" bash -c "$PCNCTL t1 del >/dev/null && $PCNCTL t2 del >/dev/null &&
		$PCNCTL pp1 del >/dev/null && $PCNCTL pp2 del >/dev/null"
done
cm_done

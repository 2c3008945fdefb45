#!/usr/bin/env bash
# bridge (Polycube's pcn-bridge) with a real Linux 802.1Q host on a trunk,
# at TC, XDP_SKB and XDP_DRV: host t has subinterfaces eth0.10
# (10.211.10.9/24) and eth0.20 (10.211.20.9/24) and an untagged address on
# eth0 (10.211.1.9/24); its veth is br1's trunk port pt (allowed 10 and 20,
# native VLAN 1). Access hosts: a (VLAN 10), b (VLAN 20), n (VLAN 1), and
# decoys holding an address of another VLAN's subnet: xa on VLAN 20 with a
# VLAN 10 address, xb on VLAN 10 with a VLAN 20 address, xn on VLAN 10 with
# a native VLAN address. Asserted:
#  - eth0.10 reaches a, eth0.20 reaches b, the untagged eth0 reaches n (and
#    back: a and b reach t's subinterfaces, their ARP flooded to the trunk
#    tagged with their VLAN);
#  - eth0.10 does not reach xa, eth0.20 does not reach xb, eth0 does not
#    reach xn, and xa does not reach eth0.10: a frame stays in its VLAN;
#  - br1's fdb has t's MAC on pt in VLANs 10, 20 and 1.
# t runs strict rp_filter and arp_ignore=1, so a reply that came back with
# the wrong tag (or none) lands on the wrong interface and is dropped: a
# ping succeeds only when both directions carried the right tag.
#
# Offloads: t's eth0 has txvlan off, so the kernel writes the tag into the
# frame's bytes; with it on, a veth hands the tag over as skb metadata and
# an XDP bridge on the other end sees the frame untagged (cubes/bridge/
# README.md, Limits). rxvlan is turned off on both ends of the trunk veth
# as well, so that no end strips a received tag into metadata.
#
# Needs the kernel's 802.1Q support (8021q). Where `ip link add ... type
# vlan` answers "Unknown device type", the script prints one SKIP line and
# exits 77 (ctest's skip code for integ_bridge_vlan_host);
# tests/integration/bridge.sh covers the trunk there with raw tagged frames.
source "$(dirname "$0")/../lib/mesh.sh"

# The trunk host first: its subinterfaces decide whether this test can run
# at all, before a mesh is started.
cm_host t 10.211.1.9/24; IFT=$CM_IF
NST=$(cm_ns t)
ip netns exec "$NST" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
	net.ipv6.conf.eth0.disable_ipv6=1
# The offloads first, so the subinterfaces are made over the final features.
ip netns exec "$NST" ethtool -K eth0 txvlan off rxvlan off
ethtool -K "$IFT" txvlan off rxvlan off
modprobe -q 8021q 2>/dev/null || true
if ! ip -n "$NST" link add link eth0 name eth0.10 type vlan id 10 2>"$CM_TMP/vlan.err"; then
	if grep -q "Unknown device type" "$CM_TMP/vlan.err"; then
		echo "SKIP: this kernel has no 802.1Q support (8021q): ip link add link eth0 name eth0.10 type vlan id 10: Unknown device type"
		exit 77
	fi
	echo "FAIL - ip link add link eth0 name eth0.10 type vlan id 10: $(cat "$CM_TMP/vlan.err")"
	exit 1
fi
ip -n "$NST" link add link eth0 name eth0.20 type vlan id 20
ip -n "$NST" addr add 10.211.10.9/24 dev eth0.10
ip -n "$NST" addr add 10.211.20.9/24 dev eth0.20
ip -n "$NST" link set eth0.10 up
ip -n "$NST" link set eth0.20 up
ip netns exec "$NST" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 \
	net.ipv4.conf.eth0.rp_filter=1 net.ipv4.conf.all.arp_ignore=1

cm_mesh_start bridge
cm_host a 10.211.10.1/24; IFA=$CM_IF     # access 10
cm_host b 10.211.20.1/24; IFB=$CM_IF     # access 20
cm_host n 10.211.1.1/24; IFN=$CM_IF      # access 1 (the trunk's native VLAN)
cm_host xa 10.211.10.4/24; IFXA=$CM_IF   # access 20, a VLAN 10 address
cm_host xb 10.211.20.4/24; IFXB=$CM_IF   # access 10, a VLAN 20 address
cm_host xn 10.211.1.4/24; IFXN=$CM_IF    # access 10, a native VLAN address
HOSTS="t a b n xa xb xn"
for h in a b n xa xb xn; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.eth0.disable_ipv6=1
done
MACT=$(ip -n "$NST" link show eth0 | awk '/ether/ {print $2}')
flush_neigh() { for h in $HOSTS; do ip -n "$(cm_ns $h)" neigh flush all 2>/dev/null; done; }
ping1() { ip netns exec "$(cm_ns "$1")" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }

# fdb_port BRIDGE VLAN MAC: the port BRIDGE's fdb has MAC on in VLAN ("" if none).
fdb_port() {
	$PCNCTL -j "$1" fdb entry show 2>/dev/null | tr -d ' \n' |
		grep -o "{[^}]*\"vlan\":$2,[^}]*\"mac\":\"$3\"[^}]*}" | sed -n 's/.*"port":"\([^"]*\)".*/\1/p'
}

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	flush_neigh
	cm_check "$hook: create br1" $PCNCTL bridge add br1 type=$hook
	cm_check "$hook: access ports a, xb, xn on 10; b, xa on 20; n on 1" bash -c "
		$PCNCTL br1 ports add pa peer=$IFA && $PCNCTL br1 ports pa access set vlanid=10 &&
		$PCNCTL br1 ports add pxb peer=$IFXB && $PCNCTL br1 ports pxb access set vlanid=10 &&
		$PCNCTL br1 ports add pxn peer=$IFXN && $PCNCTL br1 ports pxn access set vlanid=10 &&
		$PCNCTL br1 ports add pb peer=$IFB && $PCNCTL br1 ports pb access set vlanid=20 &&
		$PCNCTL br1 ports add pxa peer=$IFXA && $PCNCTL br1 ports pxa access set vlanid=20 &&
		$PCNCTL br1 ports add pn peer=$IFN"
	cm_check "$hook: trunk pt to t, allowed 10 and 20, native 1" bash -c "
		$PCNCTL br1 ports add pt peer=$IFT mode=trunk &&
		$PCNCTL br1 ports pt trunk allowed add 10 && $PCNCTL br1 ports pt trunk allowed add 20 &&
		$PCNCTL br1 ports pt trunk set native-vlan=1"
	cm_check "$hook: the trunk reads back" bash -c "[ \"\$($PCNCTL -j br1 ports pt mode show)\" = '\"trunk\"' ] &&
		[ \"\$($PCNCTL -j br1 ports pt trunk native-vlan show)\" = 1 ]"

	cm_check "$hook: t's eth0.10 reaches a (VLAN 10)" cm_ping t 10.211.10.1
	cm_check "$hook: t's eth0.20 reaches b (VLAN 20)" cm_ping t 10.211.20.1
	cm_check "$hook: t's untagged eth0 reaches n (native VLAN 1)" cm_ping t 10.211.1.1
	cm_check "$hook: a reaches t's eth0.10 (its ARP flooded to the trunk tagged 10)" cm_ping a 10.211.10.9
	cm_check "$hook: b reaches t's eth0.20 (tagged 20)" cm_ping b 10.211.20.9
	cm_check_not "$hook: eth0.10 does not reach xa (VLAN 20, a VLAN 10 address)" ping1 t 10.211.10.4
	cm_check_not "$hook: eth0.20 does not reach xb (VLAN 10, a VLAN 20 address)" ping1 t 10.211.20.4
	cm_check_not "$hook: untagged eth0 does not reach xn (VLAN 10, a native VLAN address)" ping1 t 10.211.1.4
	cm_check_not "$hook: xa (VLAN 20) does not reach eth0.10" ping1 xa 10.211.10.9
	cm_check "$hook: fdb: t's MAC on pt in VLANs 10, 20 and 1 ($(fdb_port br1 10 "$MACT")/$(fdb_port br1 20 "$MACT")/$(fdb_port br1 1 "$MACT"))" \
		[ "$(fdb_port br1 10 "$MACT")/$(fdb_port br1 20 "$MACT")/$(fdb_port br1 1 "$MACT")" = pt/pt/pt ]
	cm_check "$hook: delete" $PCNCTL br1 del
done
cm_done

#!/usr/bin/env bash
# bridge (Polycube's pcn-bridge) at TC, XDP_SKB and XDP_DRV, through pcnctl
# with polycubectl's words. br1 has access ports on VLANs 10 (a1, a2), 20
# (b1, b2: b2 holds a VLAN 10 address) and 1 (n1), a trunk to a host t that
# speaks 802.1Q with raw frames (this kernel has no 8021q module for
# eth0.10-style subinterfaces), and a trunk over a veth pair to br2 (a3 on
# 10, b3 on 20, n3 on 1), as Polycube's vlan tests have it. Asserted:
#  - hosts of one VLAN reach each other, across the trunk between the two
#    bridges too (tags pushed and popped on the way); the native VLAN 1
#    crosses untagged; hosts of one subnet on different VLANs do not, either
#    way;
#  - on the trunk host's wire, frames of VLAN 10 arrive tagged 10 (flooded
#    and known unicast), and its tagged frames reach only their VLAN,
#    untagged; its untagged frames go to the native VLAN; a VLAN the trunk
#    does not allow goes nowhere;
#  - the fdb is per VLAN ("vlan mac" keys, type dynamic);
#  - a broadcast is flooded to every port of its VLAN but the ingress one,
#    counted frame by frame, and to no port of another VLAN, also through a
#    port wired to another cube (br3); the ports wired to netdevs are
#    flooded by the fast path (TC: clones; XDP: a DEVMAP broadcast): only
#    the cube-wired port's copies go up to the slow path;
#  - the learned fdb survives a restart of the pcn-bridge process.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start bridge
cm_host a1 10.210.10.1/24; IFA1=$CM_IF   # br1 access 10
cm_host a2 10.210.10.2/24; IFA2=$CM_IF   # br1 access 10
cm_host b1 10.210.20.1/24; IFB1=$CM_IF   # br1 access 20
cm_host b2 10.210.10.4/24; IFB2=$CM_IF   # br1 access 20, a VLAN 10 address
cm_host n1 10.210.1.1/24; IFN1=$CM_IF    # br1 access 1
cm_host t 10.210.99.9/24; IFT=$CM_IF     # br1 trunk (raw 802.1Q frames)
cm_host a3 10.210.10.3/24; IFA3=$CM_IF   # br2 access 10
cm_host b3 10.210.20.3/24; IFB3=$CM_IF   # br2 access 20
cm_host n3 10.210.1.3/24; IFN3=$CM_IF    # br2 access 1
cm_host a4 10.210.10.5/24; IFA4=$CM_IF   # br3 access 10 (br3 is wired to br1, cube to cube)
# The trunk between the bridges: a veth pair of this test's own.
LK1=bk1$CM_ID; LK2=bk2$CM_ID
ip link add "$LK1" type veth peer name "$LK2"
CM_LINKS+=("$LK1")
ip link set "$LK1" up; ip link set "$LK2" up
# Native XDP redirect into a veth needs GRO on its far end (docs/KERNEL.md).
ethtool -K "$LK1" gro on >/dev/null 2>&1; ethtool -K "$LK2" gro on >/dev/null 2>&1
HOSTS="a1 a2 b1 b2 n1 t a3 b3 n3 a4"
for h in $HOSTS; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.eth0.disable_ipv6=1
done
mac_of() { ip -n "$(cm_ns "$1")" link show eth0 | awk '/ether/ {print $2}'; }
MACA1=$(mac_of a1); MACT=$(mac_of t); MACA3=$(mac_of a3); MACB3=$(mac_of b3); MACA4=$(mac_of a4)
flush_neigh() { for h in $HOSTS; do ip -n "$(cm_ns $h)" neigh flush all 2>/dev/null; done; }
ping1() { ip netns exec "$(cm_ns "$1")" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }

# fdb_port BRIDGE VLAN MAC: the port BRIDGE's fdb has MAC on in VLAN ("" if none).
fdb_port() {
	$PCNCTL -j "$1" fdb entry show 2>/dev/null | tr -d ' \n' |
		grep -o "{[^}]*\"vlan\":$2,[^}]*\"mac\":\"$3\"[^}]*}" | sed -n 's/.*"port":"\([^"]*\)".*/\1/p'
}

# send HOST ETHERTYPE VLAN N [DSTMAC]: N frames of ETHERTYPE (an unused
# one per batch, 88b5..88ba) out of HOST's eth0, tagged VLAN in their bytes
# (0: untagged), to DSTMAC (broadcast by default).
send() {
	ip netns exec "$(cm_ns "$1")" python3 - "$2" "$3" "$4" "${5:-ff:ff:ff:ff:ff:ff}" <<'EOF'
import socket, sys
etype, vlan, n, dst = int(sys.argv[1], 16), int(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4]
tag = b"\x81\x00" + vlan.to_bytes(2, "big") if vlan else b""
for i in range(n):
    s.send(dst + src + tag + etype.to_bytes(2, "big") + b"cubemesh-bridge" + bytes(46))
EOF
}
# Captures on every host's eth0 (frames coming in), one file each.
CAP_PIDS=()
capture_start() {
	CAP_PIDS=()
	for h in $HOSTS; do
		ip netns exec "$(cm_ns $h)" timeout 15 tcpdump -l -nn -e -Q in -i eth0 >"$CM_TMP/cap.$h" 2>/dev/null &
		CAP_PIDS+=("$!")
	done
	sleep 1.5
}
capture_stop() {
	sleep 1
	for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
# got HOST ETHERTYPE [VLAN]: frames of ETHERTYPE HOST received tagged VLAN
# (or untagged without VLAN).
got() {
	if [ -n "${3-}" ]; then
		grep -c "vlan $3, .*ethertype Unknown (0x$2)" "$CM_TMP/cap.$1" || true
	else
		grep "ethertype Unknown (0x$2)" "$CM_TMP/cap.$1" | grep -vc 802.1Q || true
	fi
}
# nobody_else ETHERTYPE HOST...: no host but those named got any frame of it.
nobody_else() {
	local et=$1 h n out=
	shift
	for h in $HOSTS; do
		[[ " $* " == *" $h "* ]] && continue
		n=$(grep -c "(0x$et)" "$CM_TMP/cap.$h" || true)
		[ "$n" = 0 ] || out="$out $h:$n"
	done
	[ -z "$out" ] || echo "also got 0x$et:$out" >&2
	[ -z "$out" ]
}
N=20
# to_slowpath BRIDGE: packets BRIDGE's fast path sent up (/metrics).
to_slowpath() {
	curl -s "${PCN_URL}metrics" | awk -v k="cubemesh_cube_to_slowpath_packets_total{service=\"bridge\",cube=\"$1\"}" \
		'$1 == k {print $2; f=1} END {if (!f) print 0}'
}

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	flush_neigh
	cm_check "$hook: create br1, br2, br3" bash -c "$PCNCTL bridge add br1 type=$hook && $PCNCTL bridge add br2 type=$hook &&
		$PCNCTL bridge add br3 type=$hook"
	cm_check "$hook: access ports" bash -c "$PCNCTL br1 ports add pa1 peer=$IFA1 && $PCNCTL br1 ports add pa2 peer=$IFA2 &&
		$PCNCTL br1 ports add pb1 peer=$IFB1 && $PCNCTL br1 ports add pb2 peer=$IFB2 && $PCNCTL br1 ports add pn1 peer=$IFN1 &&
		$PCNCTL br2 ports add pa3 peer=$IFA3 && $PCNCTL br2 ports add pb3 peer=$IFB3 && $PCNCTL br2 ports add pn3 peer=$IFN3"
	cm_check "$hook: vlanid 10 / 20 (polycubectl's words)" bash -c "$PCNCTL bridge br1 ports pa1 access set vlanid=10 &&
		$PCNCTL br1 ports pa2 access set vlanid=10 && $PCNCTL br1 ports pb1 access set vlanid=20 &&
		$PCNCTL br1 ports pb2 access set vlanid=20 && $PCNCTL br2 ports pa3 access set vlanid=10 &&
		$PCNCTL br2 ports pb3 access set vlanid=20"
	cm_check "$hook: trunks, allowed 10 and 20" bash -c "$PCNCTL br1 ports add pt peer=$IFT mode=trunk &&
		$PCNCTL br1 ports pt trunk allowed add 10 && $PCNCTL br1 ports pt trunk allowed add 20 &&
		$PCNCTL br1 ports add pk peer=$LK1 && $PCNCTL br1 ports pk set mode=trunk &&
		$PCNCTL br1 ports pk trunk allowed add 10 && $PCNCTL br1 ports pk trunk allowed add 20 &&
		$PCNCTL br2 ports add pk peer=$LK2 mode=trunk &&
		$PCNCTL br2 ports pk trunk allowed add 10 && $PCNCTL br2 ports pk trunk allowed add 20"
	cm_check "$hook: br3: a4 on VLAN 10, a trunk wired to br1's pc (pcnctl connect)" bash -c "
		$PCNCTL br3 ports add pa4 peer=$IFA4 && $PCNCTL br3 ports pa4 access set vlanid=10 &&
		$PCNCTL br3 ports add pc mode=trunk && $PCNCTL br3 ports pc trunk allowed add 10 &&
		$PCNCTL br1 ports add pc mode=trunk && $PCNCTL br1 ports pc trunk allowed add 10 &&
		$PCNCTL connect br1:pc br3:pc"
	cm_check "$hook: the model reads back" bash -c "[ \"\$($PCNCTL -j br1 ports pb1 access vlanid show)\" = 20 ] &&
		[ \"\$($PCNCTL -j br1 ports pt mode show)\" = '\"trunk\"' ] && [ \"\$($PCNCTL -j br1 ports pt trunk native-vlan show)\" = 1 ]"
	cm_expect 400 PATCH /bridge/br1/ports/pa1/access/vlanid/ '"4095"'
	cm_check "$hook: without spanning tree a port forwards in its VLANs (ports pt stp 20 show state)" \
		[ "$($PCNCTL -j br1 ports pt stp 20 show state)" = '"forwarding"' ]
	cm_check_not "$hook: and has no state in another VLAN (ports pa1 stp 20)" $PCNCTL br1 ports pa1 stp 20 show state

	cm_check "$hook: a1 -> a2 (VLAN 10)" cm_ping a1 10.210.10.2
	cm_check "$hook: a1 -> a3 (VLAN 10 across the trunk)" cm_ping a1 10.210.10.3
	cm_check "$hook: b3 -> b1 (VLAN 20 across the trunk)" cm_ping b3 10.210.20.1
	cm_check "$hook: n1 -> n3 (native VLAN 1, untagged on the trunk)" cm_ping n1 10.210.1.3
	cm_check "$hook: a2 -> a4 (VLAN 10 through br1 into br3, cube to cube)" cm_ping a2 10.210.10.5
	cm_check_not "$hook: b2 (VLAN 20) does not reach a1 (VLAN 10, same subnet)" ping1 b2 10.210.10.1
	cm_check_not "$hook: a1 does not reach b2" ping1 a1 10.210.10.4
	cm_check_not "$hook: b2 does not reach a3 (same subnet, VLAN 10 behind the trunk)" ping1 b2 10.210.10.3
	cm_check "$hook: fdb: a1 in VLAN 10 on pa1" [ "$(fdb_port br1 10 "$MACA1")" = pa1 ]
	cm_check "$hook: fdb: a3 in VLAN 10 and b3 in VLAN 20 behind the trunk" \
		[ "$(fdb_port br1 10 "$MACA3")/$(fdb_port br1 20 "$MACB3")" = pk/pk ]
	cm_check "$hook: fdb: a1 not in VLAN 20" [ -z "$(fdb_port br1 20 "$MACA1")" ]
	cm_check "$hook: fdb entries are dynamic" bash -c "$PCNCTL -j br1 fdb entry show | grep -q '\"type\": \"dynamic\"'"

	capture_start
	SP0=$(to_slowpath br1); SQ0=$(to_slowpath br2)
	send a1 88b5 0 $N                # broadcast on VLAN 10
	sleep 0.5
	SP1=$(to_slowpath br1); SQ1=$(to_slowpath br2)
	send t 88b6 20 $N                # broadcast tagged 20 from the trunk host
	send t 88b7 0 $N                 # untagged from the trunk host: VLAN 1
	send t 88b8 30 $N                # VLAN 30: not allowed on the trunk
	send t 88b9 10 $N "$MACA1"       # known unicast tagged 10 to a1 (t learned in 10 now)
	send a1 88ba 0 $N "$MACT"        # known unicast from a1 to t
	capture_stop
	cm_check "$hook: flood of a1 reaches a2 ($(got a2 88b5)/$N)" [ "$(got a2 88b5)" = $N ]
	cm_check "$hook: and a3 across the trunk, untagged ($(got a3 88b5)/$N)" [ "$(got a3 88b5)" = $N ]
	cm_check "$hook: and the trunk host tagged 10 ($(got t 88b5 10)/$N)" [ "$(got t 88b5 10)" = $N ]
	cm_check "$hook: and a4 behind the cube wire ($(got a4 88b5)/$N)" [ "$(got a4 88b5)" = $N ]
	cm_check "$hook: and no other port, not the ingress one" nobody_else 88b5 a2 a3 t a4
	cm_check "$hook: br1 sent up only the flood's copies for its cube-wired port ($((SP1 - SP0)))" [ $((SP1 - SP0)) = $N ]
	cm_check "$hook: br2, all netdev ports, flooded in the fast path: nothing went up ($((SQ1 - SQ0)))" [ $((SQ1 - SQ0)) = 0 ]
	cm_check "$hook: tagged 20 from the trunk reaches b1, b2, b3 untagged ($(got b1 88b6)/$(got b2 88b6)/$(got b3 88b6))" \
		[ "$(got b1 88b6)/$(got b2 88b6)/$(got b3 88b6)" = $N/$N/$N ]
	cm_check "$hook: and no other port" nobody_else 88b6 b1 b2 b3
	cm_check "$hook: untagged from the trunk is VLAN 1: n1, n3 ($(got n1 88b7)/$(got n3 88b7))" \
		[ "$(got n1 88b7)/$(got n3 88b7)" = $N/$N ]
	cm_check "$hook: and no other port" nobody_else 88b7 n1 n3
	cm_check "$hook: VLAN 30 (not allowed) goes nowhere" nobody_else 88b8
	cm_check "$hook: known unicast tagged 10 reaches a1 untagged ($(got a1 88b9)/$N)" [ "$(got a1 88b9)" = $N ]
	cm_check "$hook: and only a1" nobody_else 88b9 a1
	cm_check "$hook: known unicast from a1 reaches the trunk host tagged 10 ($(got t 88ba 10)/$N)" [ "$(got t 88ba 10)" = $N ]
	cm_check "$hook: and only it" nobody_else 88ba t

	# The process restarts: its fdb (a pinned map) and forwarding stay.
	kill "${CM_CUBE_PID[bridge]}"
	wait "${CM_CUBE_PID[bridge]}" 2>/dev/null
	cm_cube_start bridge
	cm_check "$hook: after a restart of pcn-bridge the learned fdb is there" \
		[ "$(fdb_port br1 10 "$MACA1")/$(fdb_port br1 20 "$MACB3")" = pa1/pk ]
	cm_check "$hook: and VLAN 10 still crosses the trunk" cm_ping a2 10.210.10.3
	cm_check_not "$hook: and VLAN 20 still does not reach VLAN 10" ping1 b2 10.210.10.2
	cm_check "$hook: delete" bash -c "$PCNCTL br1 del && $PCNCTL br2 del && $PCNCTL br3 del"
done
cm_done

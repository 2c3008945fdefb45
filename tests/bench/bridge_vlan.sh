#!/usr/bin/env bash
# pcn-bridge's VLAN work and flooding (issue 12), in interleaved rounds
# (Mpps delivered to b, one core, 64-byte frames, one flow):
#  - trunk tagging: a -> IFA (access, VLAN 10) -> IFB -> b, IFB an access
#    port of VLAN 10 (no tag) or a trunk carrying VLAN 10 tagged (the
#    bridge pushes the tag on every frame); b's MAC learned in VLAN 10
#    before each run from a frame b sends (tagged on the trunk). Goal: the
#    trunk costs <= 5% (trunk/access >= 95%, round by round).
#  - flooding: a broadcasts (ff:ff:ff:ff:ff:ff) into a bridge with N = 2,
#    4, 8 other ports, each a host whose eth0 drops what it receives in XDP
#    (b's is the generator's sink): Mpps delivered per port (at b), the
#    Linux bridge against pcn-bridge per hook.
source "$(dirname "$0")/lib.sh"
bench_begin bridge_vlan
cm_mesh_start bridge
bench_topology
NS=${BENCH_FLOOD_PORTS:-2 4 8}
[ "$BENCH_QUICK" = 1 ] && NS=${BENCH_FLOOD_PORTS:-2}
hooks=${BENCH_HOOKS:-XDP_DRV TC}
maxn=0
for n in $NS; do [ "$n" -gt "$maxn" ] && maxn=$n; done

# The flood's other receivers: hosts f1.. whose eth0 drops every frame in
# XDP (as cheaply as b's sink; GRO would take each copy up their stack, on
# the generator's core).
cat >"$CM_TMP/drop.bpf.c" <<'EOF'
/* XDP_DROP is 1; no headers: only the kernel's uapi ones are at hand. */
__attribute__((section("xdp"), used)) int drop(void *ctx) { return 1; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$CM_TMP/drop.bpf.c" -o "$CM_TMP/drop.o" || exit 1
EXTRA=()
for i in $(seq 1 $((maxn - 1))); do
	cm_host "f$i" "10.250.0.$((10 + i))/24"
	EXTRA+=("$CM_IF")
	ethtool -K "$CM_IF" gro on >/dev/null 2>&1 || true
	ip -n "$(cm_ns "f$i")" link set dev eth0 xdpdrv obj "$CM_TMP/drop.o" sec xdp || exit 1
done

NF=/proc/sys/net/bridge/bridge-nf-call-iptables
nf_old=
if [ -w "$NF" ]; then
	nf_old=$(cat "$NF")
	echo 0 >"$NF"
fi
nf_restore() { [ -n "$nf_old" ] && echo "$nf_old" >"$NF"; return 0; }
trap 'rc=$?; nf_restore; (exit $rc); cm_cleanup' EXIT

MACA=$(ip -n "$(cm_ns a)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
# learn_b VLAN: b sends one frame to a, tagged VLAN (0: untagged), so
# that the bridge learns b's MAC where the generator's frames look for it.
learn_b() {
	ip netns exec "$(cm_ns b)" python3 - "$1" "$MACA" <<'EOF'
import socket, sys
vlan, dst = int(sys.argv[1]), bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4]
tag = b"\x81\x00" + vlan.to_bytes(2, "big") if vlan else b""
for _ in range(3):
    s.send(dst + src + tag + b"\x88\xb5" + bytes(46))
EOF
}

# fdb_has VLAN: br1's fdb holds b's MAC in VLAN.
MACB=$(ip -n "$(cm_ns b)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
fdb_has() {
	$PCNCTL -j br1 fdb entry show 2>/dev/null | tr -d ' \n' | grep -q "\"vlan\":$1,[^}]*\"mac\":\"$MACB\""
}

# tag_run HOOK MODE: IFA access VLAN 10, IFB access VLAN 10 or trunk.
tag_run() {
	local series
	$PCNCTL bridge add br1 type="$1" >/dev/null &&
		$PCNCTL br1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL br1 ports p1 access set vlanid=10 >/dev/null || { echo "bridge did not start" >&2; return 1; }
	if [ "$2" = trunk ]; then
		$PCNCTL br1 ports add p2 peer="$IFB" mode=trunk >/dev/null &&
			$PCNCTL br1 ports p2 trunk allowed add 10 >/dev/null || return 1
		series="pcn-bridge access -> trunk (tag pushed)"
		learn_b 10
	else
		$PCNCTL br1 ports add p2 peer="$IFB" >/dev/null &&
			$PCNCTL br1 ports p2 access set vlanid=10 >/dev/null || return 1
		series="pcn-bridge access -> access"
		learn_b 0
	fi
	fdb_has 10 || bench_note "$series $1: b's MAC was not learned in VLAN 10"
	bench_settle
	gen "$series" "$1"
	$PCNCTL br1 del >/dev/null
}

br=cmbr$CM_ID
flood_linux() {
	local i
	ip link add "$br" type bridge || return 1
	CM_LINKS+=("$br")
	for i in "$IFA" "$IFB" "${EXTRA[@]:0:$(($1 - 1))}"; do ip link set "$i" master "$br" || return 1; done
	ip link set "$br" up
	sleep 0.2
	gen "Linux bridge broadcast" "$1" ff:ff:ff:ff:ff:ff
	ip link del "$br"
}

flood_cube() {
	local i=2 ifc
	$PCNCTL bridge add br1 type="$2" >/dev/null &&
		$PCNCTL br1 ports add p0 peer="$IFA" >/dev/null &&
		$PCNCTL br1 ports add p1 peer="$IFB" >/dev/null || { echo "bridge did not start" >&2; return 1; }
	for ifc in "${EXTRA[@]:0:$(($1 - 1))}"; do
		$PCNCTL br1 ports add "p$i" peer="$ifc" >/dev/null || return 1
		i=$((i + 1))
	done
	bench_settle
	gen "pcn-bridge $2 broadcast" "$1" ff:ff:ff:ff:ff:ff
	$PCNCTL br1 del >/dev/null
}

# gen SERIES X [DSTMAC]: one bench_gen run (to DSTMAC, b's by default)
# with --restore: the generator's pages come back to it as the device
# under test left them, and a tag pushed at XDP moves the MACs 4 bytes
# into what the next frame from that page would send (a garbled source
# and destination: learned, then flooded).
gen() {
	local out
	out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
		--cpu "$BENCH_CPU" ${3:+--dst-mac $3} --restore | head -n 1) || return 1
	bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
	bench_record "$1 (offered)" "$2" Mpps "$(echo "$out" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' |
		awk '{ printf "%.3f", $1 / 1e6 }')"
}

for r in $(seq 1 "$BENCH_RUNS"); do
	for hook in $hooks; do
		tag_run "$hook" access || exit 1
		tag_run "$hook" trunk || exit 1
	done
	for n in $NS; do
		flood_linux "$n" || exit 1
		for hook in $hooks; do flood_cube "$n" "$hook" || exit 1; done
	done
done
for hook in $hooks; do
	bench_goal "$hook trunk (tag pushed) against access" "pcn-bridge access -> trunk (tag pushed)" "$hook" \
		"pcn-bridge access -> access" "$hook" 0.95 pct
done
for n in $NS; do
	for hook in $hooks; do
		bench_goal "broadcast to $n ports, pcn-bridge $hook against the Linux bridge" \
			"pcn-bridge $hook broadcast" "$n" "Linux bridge broadcast" "$n" -
	done
done
bench_not_measured "trunk -> access (tag popped)" "the generator sends untagged frames only; the pop is the push's mirror (bpf_xdp_adjust_head by +4 and the MACs moved, or bpf_skb_vlan_pop)"
bench_note "broadcast: Mpps delivered at b, one of the N ports (every port gets each frame); the Linux bridge also passes each broadcast up its own bridge device (it is up), where IP drops it"
bench_finish
cm_done

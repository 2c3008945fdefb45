#!/usr/bin/env bash
# bridge's filtering database at TC, XDP_SKB and XDP_DRV, through pcnctl:
#  - learned entries are per VLAN, type dynamic, on their port;
#  - flush by port, by VLAN, and whole (POST .../fdb/flush with or without
#    input) removes exactly those; a bad port or VLAN is a 400;
#  - a static entry (fdb entry add VLAN MAC port=P) steers known unicast to
#    its port only, reads back as static with age 0, outlives flush and
#    aging, and is refused for a port that does not exist;
#  - learned entries age out after aging-time.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start bridge
cm_host a1 10.211.10.1/24; IFA1=$CM_IF   # access 10
cm_host a2 10.211.10.2/24; IFA2=$CM_IF   # access 10
cm_host a3 10.211.10.3/24; IFA3=$CM_IF   # access 10
cm_host b1 10.211.20.1/24; IFB1=$CM_IF   # access 20
cm_host b2 10.211.20.2/24; IFB2=$CM_IF   # access 20
HOSTS="a1 a2 a3 b1 b2"
for h in $HOSTS; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.eth0.disable_ipv6=1
done
mac_of() { ip -n "$(cm_ns "$1")" link show eth0 | awk '/ether/ {print $2}'; }
MACA1=$(mac_of a1); MACA2=$(mac_of a2); MACB1=$(mac_of b1); MACB2=$(mac_of b2)
STATIC=02:00:5e:10:20:30
flush_neigh() { for h in $HOSTS; do ip -n "$(cm_ns $h)" neigh flush all 2>/dev/null; done; }

fdb_json() { $PCNCTL -j br1 fdb entry show 2>/dev/null | tr -d ' \n'; }
# fdb_port VLAN MAC: the port the fdb has MAC on in VLAN ("" if none).
fdb_port() { fdb_json | grep -o "{[^}]*\"vlan\":$1,[^}]*\"mac\":\"$2\"[^}]*}" | sed -n 's/.*"port":"\([^"]*\)".*/\1/p'; }
fdb_field() { fdb_json | grep -o "{[^}]*\"vlan\":$1,[^}]*\"mac\":\"$2\"[^}]*}" | sed -n "s/.*\"$3\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
# known: which of a1 a2 b1 b2 the fdb lists, e.g. "a1 a2 b1 b2".
known() {
	local out=
	[ -n "$(fdb_port 10 "$MACA1")" ] && out="$out a1"
	[ -n "$(fdb_port 10 "$MACA2")" ] && out="$out a2"
	[ -n "$(fdb_port 20 "$MACB1")" ] && out="$out b1"
	[ -n "$(fdb_port 20 "$MACB2")" ] && out="$out b2"
	echo "${out# }"
}
learn() { cm_ping a1 10.211.10.2 1 && cm_ping b1 10.211.20.2 1; }
dynamic_count() { fdb_json | grep -o '"type":"dynamic"' | wc -l; }
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
no_dynamic() { [ "$(dynamic_count)" = 0 ]; }
flush() { cm_http POST /bridge/br1/fdb/flush/ "${1-}" | cut -c1-3; }

# send HOST N DSTMAC: N unicast frames of ethertype 0x88b5 out of HOST.
send() {
	ip netns exec "$(cm_ns "$1")" python3 - "$2" "$3" <<'EOF'
import socket, sys
n, dst = int(sys.argv[1]), bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4]
for i in range(n):
    s.send(dst + src + b"\x88\xb5" + b"cubemesh-bridge" + bytes(46))
EOF
}
CAP_PIDS=()
capture_start() {
	CAP_PIDS=()
	for h in $HOSTS; do
		ip netns exec "$(cm_ns $h)" timeout 10 tcpdump -l -nn -e -Q in -i eth0 'ether proto 0x88b5' \
			>"$CM_TMP/cap.$h" 2>/dev/null &
		CAP_PIDS+=("$!")
	done
	sleep 1.5
}
capture_stop() {
	sleep 1
	for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
got() { grep -c "0x88b5" "$CM_TMP/cap.$1" || true; }
N=10

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	flush_neigh
	cm_check "$hook: create br1, ports on VLANs 10 and 20" bash -c "$PCNCTL bridge add br1 type=$hook &&
		$PCNCTL br1 ports add pa1 peer=$IFA1 && $PCNCTL br1 ports add pa2 peer=$IFA2 && $PCNCTL br1 ports add pa3 peer=$IFA3 &&
		$PCNCTL br1 ports add pb1 peer=$IFB1 && $PCNCTL br1 ports add pb2 peer=$IFB2 &&
		$PCNCTL br1 ports pa1 access set vlanid=10 && $PCNCTL br1 ports pa2 access set vlanid=10 &&
		$PCNCTL br1 ports pa3 access set vlanid=10 &&
		$PCNCTL br1 ports pb1 access set vlanid=20 && $PCNCTL br1 ports pb2 access set vlanid=20"
	cm_check "$hook: learn" learn
	cm_check "$hook: fdb has a1 a2 b1 b2 ($(known))" [ "$(known)" = "a1 a2 b1 b2" ]
	cm_check "$hook: a1's entry: port pa1, dynamic" [ "$(fdb_port 10 "$MACA1")/$(fdb_field 10 "$MACA1" type)" = pa1/dynamic ]

	cm_check "$hook: flush port=pa1 is 204" [ "$(flush '{"port":"pa1"}')" = 204 ]
	cm_check "$hook: only a1 is gone ($(known))" [ "$(known)" = "a2 b1 b2" ]
	cm_check "$hook: learn again" learn
	cm_check "$hook: flush vlan=20 (pcnctl fdb flush add vlan=20)" $PCNCTL br1 fdb flush add vlan=20
	cm_check "$hook: only VLAN 20 is gone ($(known))" [ "$(known)" = "a1 a2" ]
	cm_check "$hook: learn again" learn
	cm_check "$hook: flush port=pb1 vlan=20" [ "$(flush '{"port":"pb1","vlan":20}')" = 204 ]
	cm_check "$hook: only b1 is gone ($(known))" [ "$(known)" = "a1 a2 b2" ]
	cm_check "$hook: flush of a port that does not exist is 400" [ "$(flush '{"port":"nope"}')" = 400 ]
	cm_check "$hook: flush of VLAN 5000 is 400" [ "$(flush '{"vlan":5000}')" = 400 ]
	cm_check "$hook: flush (all) is 204" [ "$(flush)" = 204 ]
	cm_check "$hook: the fdb is empty" no_dynamic

	cm_check "$hook: static entry (fdb entry add 10 $STATIC port=pa2)" $PCNCTL br1 fdb entry add 10 $STATIC port=pa2
	cm_check_not "$hook: a static entry on a port that does not exist is refused" $PCNCTL br1 fdb entry add 10 02:00:5e:00:00:01 port=nope
	cm_check "$hook: it reads back static, age 0, on pa2" \
		[ "$(fdb_port 10 $STATIC)/$(fdb_field 10 $STATIC type)/$(fdb_field 10 $STATIC age)" = pa2/static/0 ]
	cm_check "$hook: learn" learn
	capture_start
	send a1 $N $STATIC
	capture_stop
	cm_check "$hook: unicast to the static MAC goes to pa2 only (a2 $(got a2), a3 $(got a3), b1 $(got b1), b2 $(got b2))" \
		[ "$(got a2)/$(got a3)/$(got b1)/$(got b2)/$(got a1)" = $N/0/0/0/0 ]
	cm_check "$hook: flush leaves the static entry" bash -c "$PCNCTL br1 fdb flush add && [ -n \"\$($PCNCTL -j br1 fdb entry show | grep -i '$STATIC')\" ]"

	cm_check "$hook: learn" learn
	cm_check "$hook: aging-time 2" $PCNCTL br1 fdb set aging-time=2
	cm_check "$hook: learned entries age out" until_ok 6 no_dynamic
	cm_check "$hook: the static entry stays" [ "$(fdb_port 10 $STATIC)" = pa2 ]
	cm_check "$hook: still forwards after aging (floods, relearns)" cm_ping b2 10.211.20.1
	cm_check "$hook: delete the static entry" $PCNCTL br1 fdb entry del 10 $STATIC
	cm_check "$hook: it is gone" [ -z "$(fdb_port 10 $STATIC)" ]
	cm_check "$hook: delete" $PCNCTL br1 del
done
cm_done

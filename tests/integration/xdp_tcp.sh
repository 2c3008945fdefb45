#!/usr/bin/env bash
# TCP and UDP, not only pings, through a cube between two veths, for each
# hook. Native XDP (XDP_DRV) turns a redirected frame into an xdp_frame and
# loses the sender's pending checksum offload (CHECKSUM_PARTIAL): unless the
# sending veth computes its checksums itself, the receiver drops every TCP
# segment and UDP datagram as corrupt while pings (whose checksum is always
# computed in software) pass. Generic XDP (XDP_SKB) gets the sender's TSO
# packets, up to 64 KB, and cannot redirect them past the MTU: a bulk
# transfer stalls. The broker turns the offload off on the far end of each
# veth an XDP port is peered with (in the test host's namespace here), says
# so (BROKER-XDP-VETH-CSUM / -TSO, GET /netdevs "peer-offload") and gives
# back what was on, and only that, when the instance is deleted.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld simplebridge
cm_host a 10.231.0.1/24; IFA=$CM_IF
cm_host b 10.231.0.2/24; IFB=$CM_IF
NSA=$(cm_ns a); NSB=$(cm_ns b)

# A file of 200 KB to fetch: many full-size segments, both ways acked.
mkdir -p "$CM_TMP/www"
head -c 200000 /dev/urandom >"$CM_TMP/www/blob"
SUM=$(md5sum <"$CM_TMP/www/blob")
HTTP_PORT=8231
ip netns exec "$NSB" python3 -m http.server "$HTTP_PORT" --bind 10.231.0.2 --directory "$CM_TMP/www" \
	>"$CM_TMP/http_server.out" 2>&1 &
CM_PIDS+=("$!")

# tcp_ok: a's curl gets the whole file from b's server within 4 s.
tcp_ok() {
	local got
	got=$(ip netns exec "$NSA" curl -s --max-time 4 "http://10.231.0.2:$HTTP_PORT/blob" | md5sum)
	[ "$got" = "$SUM" ] || { echo "  (TCP: the file did not arrive whole)"; return 1; }
}

# udp_ok: 200 datagrams from a to b; at least 190 arrive (b counts them).
udp_ok() {
	local port=$((9000 + RANDOM % 1000)) got
	ip netns exec "$NSB" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.231.0.2", int(sys.argv[1])))
s.settimeout(1.5)
n = 0
try:
    while n < 200:
        s.recv(2048); n += 1
except socket.timeout:
    pass
print(n)' "$port" >"$CM_TMP/udp_count" &
	local rx=$!
	sleep 0.3
	ip netns exec "$NSA" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(b"x" * 1000, ("10.231.0.2", int(sys.argv[1])))
    time.sleep(0.001)' "$port"
	wait "$rx"
	got=$(cat "$CM_TMP/udp_count")
	[ "${got:-0}" -ge 190 ] || { echo "  (UDP: ${got:-0} of 200 datagrams arrived)"; return 1; }
}

# feat NS FEATURE: the far end's ethtool setting of FEATURE (on/off).
feat() { ip netns exec "$1" ethtool -k eth0 | awk -v f="$2:" '$1 == f {print $2}'; }
feat_is() { [ "$(feat "$1" "$2")" = "$3" ] || { echo "  ($2 in $1: $(feat "$1" "$2"), wanted $3)"; return 1; }; }
# netdev_says IF FEATURE: GET /netdevs/IF lists FEATURE among the offloads
# Cubemesh turned off on IF's other end.
netdev_says() {
	curl -s "${PCN_URL}netdevs/$1" | python3 -c '
import json, sys
o = json.load(sys.stdin).get("peer-offload") or {}
sys.exit(0 if sys.argv[1] in o.get("turned-off-by-cubemesh", []) and o.get("peer") == "eth0" else 1)' "$2"
}
logged() { grep -q "$1.*turned off.*ifindex $(cat /sys/class/net/$2/ifindex)" "$CM_TMP/broker.log"; }

# wire SVC NAME HOOK: an instance of SVC at HOOK between a and b, forwarding.
wire() {
	local svc=$1 name=$2 hook=$3
	cm_check "$hook $svc: create" $PCNCTL "$svc" add "$name" type="$hook"
	cm_check "$hook $svc: port to a" $PCNCTL "$name" ports add p1 peer="$IFA"
	cm_check "$hook $svc: port to b" $PCNCTL "$name" ports add p2 peer="$IFB"
	[ "$svc" = helloworld ] && cm_check "$hook $svc: FORWARD" $PCNCTL "$name" set action=FORWARD
	return 0
}

# What each XDP hook breaks on the sending veth, and the feature the broker
# turns off for it: XDP_DRV loses the checksum offload, XDP_SKB cannot
# redirect TSO super-packets.
declare -A FEATURE=([XDP_DRV]=tx-checksum-ip-generic [XDP_SKB]=tx-tcp-segmentation)
declare -A LOGID=([XDP_DRV]=BROKER-XDP-VETH-CSUM [XDP_SKB]=BROKER-XDP-VETH-TSO)
for hook in TC XDP_SKB XDP_DRV; do
	for svc in helloworld simplebridge; do
		name=$([ "$svc" = helloworld ] && echo hw1 || echo br1)
		echo "# $hook $svc"
		# b's far end has the feature off already for simplebridge: the
		# user's setting, which deleting the instance must leave off.
		f=${FEATURE[$hook]:-tx-checksum-ip-generic}
		preset_b=on
		if [ "$svc" = simplebridge ] && [ "$hook" != TC ]; then
			ip netns exec "$NSB" ethtool -K eth0 "$f" off >/dev/null
			preset_b=off
		fi
		wire "$svc" "$name" "$hook"
		cm_check "$hook $svc: ping a -> b" cm_ping a 10.231.0.2
		cm_check "$hook $svc: TCP (HTTP GET of 200 KB, b -> a) within 4 s" tcp_ok
		cm_check "$hook $svc: UDP, >= 95% of 200 datagrams a -> b" udp_ok
		if [ "$hook" != TC ]; then
			cm_check "$hook $svc: a's far end has $f off" feat_is "$NSA" "$f" off
			cm_check "$hook $svc: the log says so (${LOGID[$hook]})" logged "${LOGID[$hook]}" "$IFA"
			cm_check "$hook $svc: GET /netdevs/$IFA says Cubemesh turned $f off" netdev_says "$IFA" "$f"
			[ "$preset_b" = off ] &&
				cm_check_not "$hook $svc: b's $f was off already: not claimed" netdev_says "$IFB" "$f"
		else
			cm_check "$hook $svc: $f untouched at TC" feat_is "$NSA" "$f" on
			cm_check_not "$hook $svc: GET /netdevs/$IFA claims nothing" netdev_says "$IFA" "$f"
		fi
		if [ "$hook" = XDP_DRV ] && [ "$svc" = helloworld ]; then
			# A broker restarted meanwhile still knows what to give back.
			kill "$CM_BROKER_PID"; wait "$CM_BROKER_PID" 2>/dev/null
			cm_check "$hook $svc: broker restarted" cm_broker_start
			cm_wait_service_up helloworld
			# Every cube process registers again; the next round needs simplebridge.
			cm_wait_service_up simplebridge
			cm_check "$hook $svc: TCP after the restart" tcp_ok
			cm_check "$hook $svc: GET /netdevs/$IFA still says so" netdev_says "$IFA" "$f"
		fi
		cm_check "$hook $svc: delete" $PCNCTL "$name" del
		cm_check "$hook $svc: a's $f is back on" feat_is "$NSA" "$f" on
		cm_check "$hook $svc: b's $f is as it was ($preset_b)" feat_is "$NSB" "$f" "$preset_b"
		cm_check_not "$hook $svc: GET /netdevs/$IFA claims nothing after delete" netdev_says "$IFA" "$f"
		ip netns exec "$NSB" ethtool -K eth0 "$f" on >/dev/null
	done
done
cm_done

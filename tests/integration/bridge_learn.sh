#!/usr/bin/env bash
# Learning in the fast path of bridge and simplebridge, which write the fdb
# only when something changed (a new address, a move, or a timestamp older
# than min(aging-time/8, 1 s)) instead of on every packet. At each hook:
#  - a MAC that moves to another port is on the new port at once (its
#    first frame there), and traffic to it follows it;
#  - an address that keeps sending is refreshed: with aging-time 2 it is
#    still there after 2.5 s of one frame each 0.25 s, its age at most 1;
#  - an idle one ages: its age grows, then it is forgotten.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start bridge simplebridge
cm_host a 10.212.0.1/24; IFA=$CM_IF
cm_host b 10.212.0.2/24; IFB=$CM_IF
cm_host c 10.212.0.3/24; IFC=$CM_IF
HOSTS="a b c"
for h in $HOSTS; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.eth0.disable_ipv6=1
done
MOVER=02:00:5e:aa:00:01

# fdb_get CUBE MAC FIELD: FIELD (port, age) of MAC's entry in CUBE's fdb.
fdb_get() {
	$PCNCTL -j "$1" fdb entry show 2>/dev/null | tr -d ' \n' | grep -o "{[^}]*\"$2\"[^}]*}" |
		sed -n "s/.*\"$3\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"
}
# send HOST N SRCMAC [GAP]: N broadcast frames (ethertype 0x88b5) with
# source SRCMAC out of HOST's eth0, GAP seconds apart.
send() {
	ip netns exec "$(cm_ns "$1")" python3 - "$2" "$3" "${4:-0}" <<'EOF'
import socket, sys, time
n, src, gap = int(sys.argv[1]), bytes.fromhex(sys.argv[2].replace(":", "")), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for i in range(n):
    s.send(b"\xff" * 6 + src + b"\x88\xb5" + b"cubemesh-learn" + bytes(46))
    if gap:
        time.sleep(gap)
EOF
}
# unicast_to HOST MAC: frames from HOST to MAC; prints which of a b c got them.
unicast_to() {
	local h pids=()
	for h in $HOSTS; do
		ip netns exec "$(cm_ns $h)" timeout 6 tcpdump -l -nn -Q in -i eth0 "ether dst $2 and ether proto 0x88b6" \
			>"$CM_TMP/cap.$h" 2>/dev/null &
		pids+=("$!")
	done
	sleep 1
	ip netns exec "$(cm_ns "$1")" python3 - "$2" <<'EOF'
import socket, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for i in range(5):
    s.send(dst + s.getsockname()[4] + b"\x88\xb6" + bytes(50))
EOF
	sleep 0.5
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	for h in $HOSTS; do [ "$(grep -c 0x88b6 "$CM_TMP/cap.$h")" -gt 0 ] && echo -n "$h"; done
	echo
}
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
gone() { [ -z "$(fdb_get "$1" "$2" port)" ]; }

for svc in bridge simplebridge; do
	for hook in TC XDP_SKB XDP_DRV; do
		echo "# $svc $hook"
		cm_check "$svc $hook: create" bash -c "$PCNCTL $svc add sw1 type=$hook && $PCNCTL sw1 ports add pa peer=$IFA &&
			$PCNCTL sw1 ports add pb peer=$IFB && $PCNCTL sw1 ports add pc peer=$IFC"
		send a 3 $MOVER
		cm_check "$svc $hook: $MOVER learned on pa" [ "$(fdb_get sw1 $MOVER port)" = pa ]
		send b 1 $MOVER
		cm_check "$svc $hook: one frame from pb moves it to pb at once" [ "$(fdb_get sw1 $MOVER port)" = pb ]
		cm_check "$svc $hook: unicast to it reaches b only" [ "$(unicast_to c $MOVER)" = b ]
		send a 1 $MOVER
		cm_check "$svc $hook: and back to pa" [ "$(fdb_get sw1 $MOVER port)" = pa ]

		cm_check "$svc $hook: aging-time 2" $PCNCTL sw1 fdb set aging-time=2
		send a 11 $MOVER 0.25
		cm_check "$svc $hook: refreshed while it sends (2.5 s > aging 2 s): on pa, age $(fdb_get sw1 $MOVER age) <= 1" \
			bash -c "[ \"$(fdb_get sw1 $MOVER port)\" = pa ] && [ \"$(fdb_get sw1 $MOVER age)\" -le 1 ]"
		sleep 1.2
		cm_check "$svc $hook: idle 1.2 s, its age grows ($(fdb_get sw1 $MOVER age))" bash -c "[ \"$(fdb_get sw1 $MOVER age)\" -ge 1 ]"
		cm_check "$svc $hook: then it is forgotten" until_ok 3 gone sw1 $MOVER
		cm_check "$svc $hook: delete" $PCNCTL sw1 del
	done
done
cm_done

#!/usr/bin/env bash
# bridge's spanning tree (802.1D, per VLAN as Polycube's model has it) at
# TC, XDP_SKB and XDP_DRV: three bridges in a loop over veth pairs, as
# Polycube's stp test31 (br1 priority 24576, br2 28672, br3 the default):
#  - it converges with br1 the root and exactly one port blocking, br3's
#    toward br2 (`pcnctl br3 ports l32 stp 1 show state`), the rest
#    forwarding;
#  - hosts behind the three bridges reach each other, and a broadcast
#    reaches each other host exactly once (no storm around the loop);
#  - (TC) a restart of pcn-bridge keeps the states and loses no ping;
#  - (TC) when br1 stops talking to br2, br3's blocked port takes over
#    after max age and the forward delays, and br2's host is reached again.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start bridge
cm_host h1 10.213.0.1/24; IF1=$CM_IF
cm_host h2 10.213.0.2/24; IF2=$CM_IF
cm_host h3 10.213.0.3/24; IF3=$CM_IF
HOSTS="h1 h2 h3"
for h in $HOSTS; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.eth0.disable_ipv6=1
done
# The loop: l12/l21 joins br1 and br2, l23/l32 br2 and br3, l31/l13 br3 and br1.
for pair in 12:21 23:32 31:13; do
	a=s${pair%:*}$CM_ID b=s${pair#*:}$CM_ID
	ip link add "$a" type veth peer name "$b"
	CM_LINKS+=("$a")
	ip link set "$a" up; ip link set "$b" up
	ethtool -K "$a" gro on >/dev/null 2>&1; ethtool -K "$b" gro on >/dev/null 2>&1
done
L() { echo "s$1$CM_ID"; }

state() { $PCNCTL -j "$1" ports "$2" stp 1 show state 2>/dev/null | tr -d '"'; }
states() {
	echo "$(state br1 l12) $(state br1 l13) $(state br2 l21) $(state br2 l23) $(state br3 l31) $(state br3 l32)"
}
converged() { [ "$(states)" = "forwarding forwarding forwarding forwarding forwarding blocking" ]; }
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
# bcast_once: one broadcast frame from h1; prints what h2 and h3 received.
bcast_once() {
	local pids=() h
	for h in h2 h3; do
		ip netns exec "$(cm_ns $h)" timeout 6 tcpdump -l -nn -Q in -i eth0 'ether proto 0x88b5' \
			>"$CM_TMP/cap.$h" 2>/dev/null &
		pids+=("$!")
	done
	sleep 1
	ip netns exec "$(cm_ns h1)" python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(b"\xff" * 6 + s.getsockname()[4] + b"\x88\xb5" + bytes(50))'
	sleep 2
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	echo "$(grep -c 0x88b5 "$CM_TMP/cap.h2")/$(grep -c 0x88b5 "$CM_TMP/cap.h3")"
}
TIMERS="hello-time=1 forward-delay=2 max-message-age=6"

for hook in ${CM_HOOKS:-TC XDP_SKB XDP_DRV}; do
	echo "# hook $hook"
	for h in $HOSTS; do ip -n "$(cm_ns $h)" neigh flush all 2>/dev/null; done
	cm_check "$hook: three bridges with stp-enabled=true" bash -c "
		$PCNCTL bridge add br1 type=$hook stp-enabled=true && $PCNCTL bridge add br2 type=$hook stp-enabled=true &&
		$PCNCTL bridge add br3 type=$hook stp-enabled=true &&
		$PCNCTL br1 stp add 1 priority=24576 $TIMERS && $PCNCTL br2 stp add 1 priority=28672 $TIMERS &&
		$PCNCTL br3 stp add 1 $TIMERS"
	cm_check "$hook: ports: a host each, the loop" bash -c "
		$PCNCTL br1 ports add h1 peer=$IF1 && $PCNCTL br2 ports add h2 peer=$IF2 && $PCNCTL br3 ports add h3 peer=$IF3 &&
		$PCNCTL br1 ports add l12 peer=$(L 12) && $PCNCTL br2 ports add l21 peer=$(L 21) &&
		$PCNCTL br2 ports add l23 peer=$(L 23) && $PCNCTL br3 ports add l32 peer=$(L 32) &&
		$PCNCTL br3 ports add l31 peer=$(L 31) && $PCNCTL br1 ports add l13 peer=$(L 13)"
	cm_check "$hook: converged: br3's port toward br2 blocks, the rest forward ($(until_ok 15 converged; states))" converged
	cm_check "$hook: h1 -> h3" cm_ping h1 10.213.0.3
	cm_check "$hook: h2 -> h3" cm_ping h2 10.213.0.3
	cm_check "$hook: h3 -> h1" cm_ping h3 10.213.0.1
	got=$(bcast_once)
	cm_check "$hook: a broadcast reaches h2 and h3 exactly once ($got)" [ "$got" = 1/1 ]
	if [ "$hook" = TC ]; then
		# A restart of pcn-bridge starts each tree from the states the
		# fast path has: nothing blocks for the forward delays.
		ip netns exec "$(cm_ns h1)" ping -c 150 -i 0.02 -W 1 -q 10.213.0.3 >"$CM_TMP/ping.out" 2>&1 &
		PING_PID=$!
		sleep 0.5
		kill "${CM_CUBE_PID[bridge]}"
		wait "${CM_CUBE_PID[bridge]}" 2>/dev/null
		cm_cube_start bridge
		cm_check "$hook: right after a restart of pcn-bridge the states are the same ($(states))" converged
		wait "$PING_PID"
		got=$(grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}')
		cm_check "$hook: no ping lost across the restart ($got/150)" [ "$got" = 150 ]
		sleep 3
		cm_check "$hook: and still converged the same after a few hellos ($(states))" converged
		cm_check "$hook: br1 stops talking to br2 (its port l12 goes)" $PCNCTL br1 ports del l12
		cm_check "$hook: br3's port toward br2 takes over ($(until_ok 20 bash -c "[ \"\$($PCNCTL -j br3 ports l32 stp 1 show state)\" = '\"forwarding\"' ]"; state br3 l32))" \
			[ "$(state br3 l32)" = forwarding ]
		cm_check "$hook: h1 -> h2, now around the other way" cm_ping h1 10.213.0.2
	fi
	cm_check "$hook: delete" bash -c "$PCNCTL br1 del && $PCNCTL br2 del && $PCNCTL br3 del"
done
cm_done

#!/usr/bin/env bash
# bridge's spanning tree against the kernel's: a Linux bridge with
# stp_state 1 in a namespace, joined to br1 by two veth pairs (a loop), at
# TC, XDP_SKB and XDP_DRV. br1 (priority 4096) is the root for both: the
# Linux bridge names br1 as its root, takes its first link as root port and
# blocks the second; br1's two ports forward. A host behind the Linux
# bridge and one behind br1 reach each other, and a broadcast crosses
# exactly once.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start bridge
cm_host h1 10.214.0.1/24; IF1=$CM_IF
LB=cmlb$CM_ID
ip netns add "$LB"
CM_NETNS+=("$LB")
ip -n "$LB" link add br0 type bridge stp_state 1 priority 40000 forward_delay 200 hello_time 100 max_age 600
ip -n "$LB" link add hb type veth peer name eth0
ip -n "$LB" link set hb master br0
# The host behind the Linux bridge: a namespace of its own.
HL=cmhl$CM_ID
ip netns add "$HL"
CM_NETNS+=("$HL")
ip -n "$LB" link set eth0 netns "$HL"
ip -n "$HL" addr add 10.214.0.2/24 dev eth0
ip -n "$HL" link set eth0 up
ip netns exec "$HL" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
ip netns exec "$(cm_ns h1)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
for i in 1 2; do
	ip link add "lk$i$CM_ID" type veth peer name "lb$i" netns "$LB"
	CM_LINKS+=("lk$i$CM_ID")
	ip link set "lk$i$CM_ID" up
	ip -n "$LB" link set "lb$i" master br0
	ip -n "$LB" link set "lb$i" up
	# Native XDP redirect into a veth needs GRO on its far end, set once
	# it is up (docs/KERNEL.md).
	ethtool -K "lk$i$CM_ID" gro on >/dev/null 2>&1
	ip netns exec "$LB" ethtool -K "lb$i" gro on >/dev/null 2>&1
done
ip -n "$LB" link set hb up
ip -n "$LB" link set br0 up
# Frames crossing a Linux bridge must not meet a firewall (br_netfilter).
ip netns exec "$LB" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true

# In the Linux bridge's namespace: 3 forwarding, 4 blocking.
lb_states() { ip netns exec "$LB" sh -c 'echo $(cat /sys/class/net/br0/brif/lb1/state) $(cat /sys/class/net/br0/brif/lb2/state)'; }
lb_root() { ip netns exec "$LB" cat /sys/class/net/br0/bridge/root_id; }
state() { $PCNCTL -j br1 ports "$1" stp 1 show state 2>/dev/null | tr -d '"'; }
converged() { [ "$(lb_states)" = "3 4" ] && [ "$(state p1) $(state p2)" = "forwarding forwarding" ]; }
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
bcast_once() {
	ip netns exec "$HL" timeout 5 tcpdump -l -nn -Q in -i eth0 'ether proto 0x88b5' >"$CM_TMP/cap.hl" 2>/dev/null &
	local pid=$!
	sleep 1
	ip netns exec "$(cm_ns h1)" python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(b"\xff" * 6 + s.getsockname()[4] + b"\x88\xb5" + bytes(50))'
	sleep 2
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -c 0x88b5 "$CM_TMP/cap.hl"
}

for hook in ${CM_HOOKS:-TC XDP_SKB XDP_DRV}; do
	echo "# hook $hook"
	ip -n "$HL" neigh flush all; ip -n "$(cm_ns h1)" neigh flush all
	cm_check "$hook: br1 with stp-enabled, priority 4096, the Linux bridge's timers" bash -c "
		$PCNCTL bridge add br1 type=$hook stp-enabled=true mac=02:00:5e:00:10:01 &&
		$PCNCTL br1 stp add 1 priority=4096 hello-time=1 forward-delay=2 max-message-age=6 &&
		$PCNCTL br1 ports add h1 peer=$IF1 && $PCNCTL br1 ports add p1 peer=lk1$CM_ID &&
		$PCNCTL br1 ports add p2 peer=lk2$CM_ID"
	cm_check "$hook: converged: the Linux bridge forwards on lb1, blocks lb2; br1 forwards on both ($(until_ok 20 converged; echo "$(lb_states) / $(state p1) $(state p2)"))" converged
	cm_check "$hook: the Linux bridge's root is br1 ($(lb_root))" [ "$(lb_root)" = 1000.02005e001001 ]
	cm_check "$hook: h1 -> the host behind the Linux bridge" cm_ping h1 10.214.0.2
	got=$(bcast_once)
	cm_check "$hook: a broadcast crosses exactly once ($got)" [ "$got" = 1 ]
	cm_check "$hook: delete" $PCNCTL br1 del
	# The Linux bridge forgets br1 (max age) before the next round.
	sleep 1
done
cm_done

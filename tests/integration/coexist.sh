#!/usr/bin/env bash
# Cubemesh beside other owners' programs on the same netdev.
#  TC: a tcx program of another owner (tests/coexist/coexist_tcx) before
#    Cubemesh's sees the frames first and its DROP stops them before the
#    cube; one after Cubemesh's sees none of what the cube redirects; a
#    broker restart keeps Cubemesh's link (same id) and leaves the others'
#    alone, with no ping lost; deleting the cube leaves them attached and
#    counting.
#  XDP: a program loaded with xdp-loader. Where the kernel runs libxdp's
#    dispatcher both run, by priority, through the same checks; where it
#    cannot (freplace refused: xdp-loader then attaches a lone program, as
#    on this project's 6.18 VM) Cubemesh refuses the hook: peering a port
#    with that netdev gets 409 naming that program (id and name), which
#    keeps its hook and its traffic. A program attached without libxdp (ip
#    link) is refused the same way; one that takes the hook while the
#    broker is down leaves the port DOWN after the restart, and GET
#    /netdevs/<netdev> says why.
source "$(dirname "$0")/../lib/mesh.sh"

# The other owner's tools (tests/coexist/); CX_TOOLS overrides (to run this
# script against another build of the broker).
CX=${CX_TOOLS:-$CM_BUILD/tests/coexist}
CX_PIN=/sys/fs/bpf/cmcx$CM_ID
# iproute2 (ip link set ... xdp obj) makes /sys/fs/bpf/{tc,xdp}/globals and
# the ip -> tc link for an object's maps: removed at exit if this run made
# them and they are empty (libxdp may have pins of its own under xdp/).
CX_MADE=()
for d in ip tc xdp; do [ -e "/sys/fs/bpf/$d" ] || CX_MADE+=("$d"); done
cx_cleanup() {
	local d
	rm -rf "$CX_PIN"
	rm -f /sys/fs/bpf/xdp/globals/cx_state /sys/fs/bpf/tc/globals/cx_state
	for d in "${CX_MADE[@]}"; do
		if [ -L "/sys/fs/bpf/$d" ]; then
			rm -f "/sys/fs/bpf/$d"
		else
			rmdir "/sys/fs/bpf/$d/globals" "/sys/fs/bpf/$d" 2>/dev/null || true
		fi
	done
}
trap 'cx_rc=$?; cx_cleanup; (exit $cx_rc); cm_cleanup' EXIT
mkdir -p "$CX_PIN"

cm_mesh_start helloworld
cm_host a 10.217.0.1/24; IFA=$CM_IF
cm_host b 10.217.0.2/24; IFB=$CM_IF
cm_neigh_static a b
# No IPv6 chatter: the cube's counters must move only with the pings.
for h in a b; do ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
IFA_IDX=$(cat /sys/class/net/$IFA/ifindex)

# count PINNED_MAP: frames the other owner's program saw.
count() {
	bpftool -j map lookup pinned "$1" key 0 0 0 0 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little"))'
}
# set_drop PINNED_MAP 0|1
set_drop() { bpftool map update pinned "$1" key 1 0 0 0 value "$2" 0 0 0 0 0 0 0; }
forwarded() { $PCNCTL -j hw1 stats show | sed -n 's/.*"forwarded": "\{0,1\}\([0-9]*\).*/\1/p'; }
moved() { [ "$(count "$1")" -gt "$2" ]; }
link_alive() { bpftool link show id "$1" >/dev/null 2>&1; }
# attach_of NETDEV [FIELD]: GET /netdevs/NETDEV's cubemesh-attach.FIELD (attach).
attach_of() { curl -s "${PCN_URL}netdevs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("cubemesh-attach", {}).get(sys.argv[1], ""))' "${2:-attach}"; }
# refused PORT_OF_INSTANCE NETDEV ID: the port is DOWN and the netdev says
# Cubemesh refused its XDP hook because of program ID (cx_count).
refused() {
	$PCNCTL -j "${1%%:*}" ports show | python3 -c '
import json, sys
ps = json.load(sys.stdin)
sys.exit(0 if any(p["name"] == sys.argv[1] and p.get("status") == "DOWN" for p in ps) else 1)' "${1#*:}" &&
	[ "$(attach_of "$2")" = refused ] && attach_of "$2" why | grep -q "program id $3 (cx_count)"
}
# ping_stream N: N pings at 20 ms in the background; ping_received after wait.
ping_stream() {
	ip netns exec "$(cm_ns a)" ping -c "$1" -i 0.02 -W 1 -q 10.217.0.2 >"$CM_TMP/stream" 2>&1 &
	PING_PID=$!
}
ping_received() { sed -n 's/.* \([0-9]*\) received.*/\1/p' "$CM_TMP/stream"; }
export -f count forwarded moved link_alive attach_of refused
export PCNCTL CX_PIN

echo "# TC: tcx beside another owner's programs"
cm_check "create hw1 (TC), FORWARD" bash -c "$PCNCTL helloworld add hw1 type=TC && $PCNCTL hw1 ports add port1 peer=$IFA \
	&& $PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD"
cm_check "GET /netdevs/$IFA: attached through tcx" bash -c "[ \"\$(attach_of $IFA)\" = tcx ]"
OURS=$(bpftool -j link show pinned "$CM_BPFFS/shared/tcx_$IFA_IDX" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cm_check "Cubemesh's link is pinned (id $OURS)" [ -n "$OURS" ]
FIRST=$($CX/coexist_tcx "$IFA" before "$CX_PIN/first")
LAST=$($CX/coexist_tcx "$IFA" after "$CX_PIN/last")
cm_check "two foreign tcx links on $IFA, before and after Cubemesh's ($FIRST, $LAST)" \
	bash -c "[ -n '$FIRST' ] && [ -n '$LAST' ]"
cm_check "a -> b through the cube" cm_ping a 10.217.0.2
f0=$(count "$CX_PIN/first/cx_state"); l0=$(count "$CX_PIN/last/cx_state")
cm_check "the program before Cubemesh's saw the pings ($f0)" [ "$f0" -ge 3 ]
cm_check "the one after it saw none: the cube's redirect ends the chain ($l0)" [ "$l0" = 0 ]
cm_check "the first one drops" set_drop "$CX_PIN/first/cx_state" 1
fw=$(forwarded); f1=$(count "$CX_PIN/first/cx_state")
cm_check_not "its DROP stops the pings" cm_ping a 10.217.0.2 2
cm_check "it saw them" moved "$CX_PIN/first/cx_state" "$f1"
cm_check "the cube did not: forwarded stays $fw" bash -c "[ \"\$(forwarded)\" = '$fw' ]"
set_drop "$CX_PIN/first/cx_state" 0

echo "# TC: a broker restart with pings flowing"
ping_stream 150
sleep 0.5
kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
cm_broker_start
cm_wait_service_up helloworld
wait "$PING_PID"
got=$(ping_received)
cm_check "no ping lost across the broker restart (150 sent, $got received)" [ "$got" = 150 ]
cm_check "Cubemesh's link adopted: same id $OURS" bash -c "bpftool -j link show pinned $CM_BPFFS/shared/tcx_$IFA_IDX | grep -q '\"id\":$OURS,'"
cm_check "the other owners' links untouched" bash -c "link_alive $FIRST && link_alive $LAST"
cm_check "still forwarding after the restart" cm_ping a 10.217.0.2

echo "# TC: deleting the cube"
cm_check "delete hw1" $PCNCTL hw1 del
cm_check "Cubemesh's link is gone" bash -c "! bpftool link show id $OURS >/dev/null 2>&1"
cm_check "the other owners' links stay" bash -c "bpftool link show id $FIRST >/dev/null && bpftool link show id $LAST >/dev/null"
f2=$(count "$CX_PIN/first/cx_state"); l2=$(count "$CX_PIN/last/cx_state")
cm_ping a 10.217.0.2 2
cm_check "both still count (nothing to redirect now)" bash -c "[ \$(count $CX_PIN/first/cx_state) -gt $f2 ] && [ \$(count $CX_PIN/last/cx_state) -gt $l2 ]"
rm -f "$CX_PIN/first/link" "$CX_PIN/last/link"

echo "# XDP: a program loaded with xdp-loader"
xdp-loader load -m skb -p "$CX_PIN" "$IFA" "$CX/bpfgen/coexist_count.xdp.bpf.o" >"$CM_TMP/xdp-loader.log" 2>&1
cm_check "xdp-loader loads its program on $IFA" bash -c "xdp-loader status $IFA | grep -q cx_count"
THEIRS=$(bpftool -j net show dev "$IFA" | python3 -c '
import json, sys
for x in json.load(sys.stdin)[0]["xdp"]: print(x["id"])' | head -1)
cm_check "create hw2 (XDP_SKB), FORWARD" bash -c "$PCNCTL helloworld add hw2 type=XDP_SKB && $PCNCTL hw2 set action=FORWARD \
	&& $PCNCTL hw2 ports add port2 peer=$IFB"
if grep -q "XDP through libxdp's dispatcher" "$CM_TMP/broker.log"; then
	cm_check "hw2:port1 peer $IFA" $PCNCTL hw2 ports add port1 peer=$IFA
	cm_check "GET /netdevs/$IFA: in the dispatcher" bash -c "[ \"\$(attach_of $IFA)\" = dispatcher ]"
	cm_check "both programs in the dispatcher" bash -c "xdp-loader status $IFA | grep -q cx_count && xdp-loader status $IFA | grep -q pcn_netdev_entry"
	x0=$(count "$CX_PIN/cx_state")
	cm_check "a -> b through the cube" cm_ping a 10.217.0.2
	cm_check "xdp-loader's program (priority 50) ran too" moved "$CX_PIN/cx_state" "$x0"
	DISP=$(bpftool -j net show dev "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"][0]["id"])')
	kill -9 "$CM_BROKER_PID"
	wait "$CM_BROKER_PID" 2>/dev/null
	cm_broker_start
	cm_wait_service_up helloworld
	cm_check "restart: the dispatcher is the same program ($DISP)" bash -c "bpftool -j net show dev $IFA | grep -q '\"id\":$DISP'"
	cm_check "restart: still forwarding" cm_ping a 10.217.0.2
	cm_check "delete hw2" $PCNCTL hw2 del
	x1=$(count "$CX_PIN/cx_state")
	cm_ping a 10.217.0.2 2
	cm_check "xdp-loader's program stays and counts" bash -c "xdp-loader status $IFA | grep -q cx_count && [ \$(count $CX_PIN/cx_state) -gt $x1 ]"
else
	cm_log "the kernel runs no dispatcher here: xdp-loader attached a lone program (id $THEIRS)"
	cm_expect 409 POST /helloworld/hw2/ports/port1/ "{\"peer\":\"$IFA\"}" "ifindex $IFA_IDX holds XDP program id $THEIRS (cx_count)"
	cm_check "no port1 was made" bash -c "! curl -s ${PCN_URL}helloworld/hw2/ports/ | grep -q port1"
	cm_check "its program keeps the hook (id $THEIRS)" bash -c "bpftool -j net show dev $IFA | grep -q '\"id\":$THEIRS'"
	x0=$(count "$CX_PIN/cx_state")
	cm_ping a 10.217.0.2 1
	cm_check "and its traffic" moved "$CX_PIN/cx_state" "$x0"
	cm_check "delete hw2" $PCNCTL hw2 del
fi
xdp-loader unload "$IFA" --all >/dev/null 2>&1

echo "# XDP: a program attached without libxdp"
ip link set dev "$IFB" xdpgeneric obj "$CX/bpfgen/coexist_count.xdp.bpf.o" sec xdp
rm -f /sys/fs/bpf/xdp/globals/cx_state # iproute2 pins the map there
FOREIGN=$(bpftool -j net show dev "$IFB" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"][0]["id"])')
cm_check "create hw3 (XDP_SKB)" bash -c "$PCNCTL helloworld add hw3 type=XDP_SKB"
cm_expect 409 POST /helloworld/hw3/ports/port1/ "{\"peer\":\"$IFB\"}" "holds XDP program id $FOREIGN (cx_count)"
cm_check "nothing changed on $IFB" bash -c "bpftool -j net show dev $IFB | grep -q '\"id\":$FOREIGN'"
ip link set dev "$IFB" xdpgeneric off
echo "# XDP: another program takes the hook while the broker is down"
cm_check "hw3:port1 peer $IFB" $PCNCTL hw3 ports add port1 peer=$IFB
kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
ip link set dev "$IFB" xdpgeneric off
ip link set dev "$IFB" xdpgeneric obj "$CX/bpfgen/coexist_count.xdp.bpf.o" sec xdp
rm -f /sys/fs/bpf/xdp/globals/cx_state
FOREIGN=$(bpftool -j net show dev "$IFB" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"][0]["id"])')
cm_broker_start
cm_wait_service_up helloworld
cm_check "after the restart: port1 DOWN, GET /netdevs/$IFB names program $FOREIGN" refused hw3:port1 "$IFB" "$FOREIGN"
cm_check "nothing changed on $IFB" bash -c "bpftool -j net show dev $IFB | grep -q '\"id\":$FOREIGN'"
cm_check "delete hw3" $PCNCTL hw3 del
cm_check "still there after the delete" bash -c "bpftool -j net show dev $IFB | grep -q '\"id\":$FOREIGN'"
ip link set dev "$IFB" xdpgeneric off
cm_check "and once it is gone, GET /netdevs/$IFB forgets the refusal" bash -c "[ -z \"\$(attach_of $IFB)\" ]"
cm_done

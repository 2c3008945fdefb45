#!/usr/bin/env bash
# Transparent cubes on a netdev beside other owners' programs, as netdev
# ports are (coexist.sh).
#  TC: the stack's entries are tcx links of the broker's own (pinned as
#    tstack_{in,eg}_<ifindex>), placed by --tc-order: with "first" a cube
#    attached after another owner's tcx program runs before it, and passes
#    the packet on (the other program still sees it); with "last" after it.
#    A broker restart with pings flowing swaps the programs inside the same
#    links (same ids, no ping lost) and leaves the other links alone;
#    detaching the cube removes only its links.
#  XDP (XDP_SKB, XDP_DRV): a program of another owner at the netdev's XDP
#    hook (loaded with xdp-loader, which attaches it alone where the kernel
#    runs no dispatcher, as here) is never replaced: POST /attach gets 409
#    naming it (id and name), and nothing of the stack is attached (no
#    egress link either); that program keeps its hook and its traffic. With
#    the hook free the cube attaches, a restart replaces only our program.
source "$(dirname "$0")/../lib/mesh.sh"

CX=${CX_TOOLS:-$CM_BUILD/tests/coexist}
CX_PIN=/sys/fs/bpf/cmcxt$CM_ID
# libxdp makes /sys/fs/bpf/xdp (its lock): removed at exit if this run made
# it and it is empty.
CX_XDP_MADE=$([ -e /sys/fs/bpf/xdp ] || echo 1)
trap 'cx_rc=$?; rm -rf "$CX_PIN"; [ -n "$CX_XDP_MADE" ] && rmdir /sys/fs/bpf/xdp 2>/dev/null; (exit $cx_rc); cm_cleanup' EXIT
mkdir -p "$CX_PIN"

cm_mesh_start transparenthelloworld
cm_host a 10.218.0.1/24; IFA=$CM_IF
ip addr add 10.218.0.254/24 dev "$IFA"
IDX=$(cat /sys/class/net/$IFA/ifindex)
# Only the pings: no IPv6 chatter, no ARP.
ip netns exec "$(cm_ns a)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
sysctl -qw "net.ipv6.conf.$IFA.disable_ipv6=1"
ip -n "$(cm_ns a)" neigh replace 10.218.0.254 dev eth0 lladdr "$(cat /sys/class/net/$IFA/address)" nud permanent
ip neigh replace 10.218.0.1 dev "$IFA" nud permanent \
	lladdr "$(ip -n "$(cm_ns a)" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"

# count PINNED_MAP: frames the other owner's program saw.
count() {
	bpftool -j map lookup pinned "$1" key 0 0 0 0 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little"))'
}
set_drop() { bpftool map update pinned "$1" key 1 0 0 0 value "$2" 0 0 0 0 0 0 0; }
moved() { [ "$(count "$1")" -gt "$2" ]; }
# cin / ceg CUBE: its ingress / egress counters.
cin() { curl -s "${PCN_URL}transparenthelloworld/$1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['ingress-packets']))"; }
ceg() { curl -s "${PCN_URL}transparenthelloworld/$1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['egress-packets']))"; }
# ge FN CUBE N: FN CUBE reaches N (the API's copy may be 100 ms old).
ge() { [ "$($1 "$2")" -ge "$3" ]; }
# tr_of DIR: GET /netdevs/IFA's cubemesh-attach.transparent.DIR.attach.
tr_of() { curl -s "${PCN_URL}netdevs/$IFA" | python3 -c '
import json, sys
print(json.load(sys.stdin).get("cubemesh-attach", {}).get("transparent", {}).get(sys.argv[1], {}).get("attach", ""))' "$1"; }
link_id() { bpftool -j link show pinned "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null; }
link_alive() { bpftool link show id "$1" >/dev/null 2>&1; }
xdp_id() { bpftool -j net show dev "$IFA" | python3 -c '
import json, sys
x = json.load(sys.stdin)[0]["xdp"]
print(x[0]["id"] if x else "")'; }
xdp_name() {
	local id
	id=$(xdp_id)
	[ -n "$id" ] && bpftool -j prog show id "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])'
}
ping_a() { cm_ping a 10.218.0.254 "${1:-3}"; }
ping_stream() {
	ip netns exec "$(cm_ns a)" ping -c "$1" -i 0.02 -W 1 -q 10.218.0.254 >"$CM_TMP/stream" 2>&1 &
	PING_PID=$!
}
ping_received() { sed -n 's/.* \([0-9]*\) received.*/\1/p' "$CM_TMP/stream"; }
restart() {
	kill -9 "$CM_BROKER_PID"
	wait "$CM_BROKER_PID" 2>/dev/null
	cm_broker_start "$@" && cm_wait_service_up transparenthelloworld
}
# lossless_restart WHAT N: a kill -9 and restart of the broker while N pings
# at 20 ms flow through the stack; checks that every one is answered.
lossless_restart() {
	local got
	ping_stream "$2"
	sleep 0.2
	restart
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$1: no ping lost across a broker restart ($2 sent, $got received)" [ "$got" = "$2" ]
}
# nothing_of_ours: no link pin of the stack, no filter, no program of ours.
nothing_of_ours() {
	[ ! -e "$CM_BPFFS/shared/tstack_in_$IDX" ] && [ ! -e "$CM_BPFFS/shared/tstack_eg_$IDX" ] &&
		[ -z "$(tc filter show dev "$IFA" ingress)" ] && [ -z "$(tc filter show dev "$IFA" egress)" ] &&
		[ -z "$(tr_of ingress)$(tr_of egress)" ]
}
export -f count moved cin ceg ge tr_of link_id link_alive xdp_id xdp_name nothing_of_ours
export PCNCTL CX_PIN IFA IDX CM_BPFFS

echo "# TC: tcx links beside another owner's"
F1=$($CX/coexist_tcx "$IFA" after "$CX_PIN/f1")
cm_check "another owner's tcx program on $IFA (link $F1)" [ -n "$F1" ]
cm_check "t1 (TC) attached to $IFA" bash -c "$PCNCTL transparenthelloworld add t1 type=TC >/dev/null && $PCNCTL attach t1 $IFA >/dev/null"
IN=$(link_id "$CM_BPFFS/shared/tstack_in_$IDX"); EG=$(link_id "$CM_BPFFS/shared/tstack_eg_$IDX")
cm_check "the stack's entries are pinned tcx links (in $IN, eg $EG)" bash -c "[ -n '$IN' ] && [ -n '$EG' ]"
cm_check "GET /netdevs/$IFA: transparent ingress and egress through tcx" bash -c '[ "$(tr_of ingress)" = tcx ] && [ "$(tr_of egress)" = tcx ]'
cm_check "no clsact filter of ours" bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && [ -z \"\$(tc filter show dev $IFA egress)\" ]"
f0=$(count "$CX_PIN/f1/cx_state")
cm_check "pings pass" ping_a 3
cm_check "the cube saw them in and out" cm_eventually bash -c 'ge cin t1 3 && ge ceg t1 3'
cm_check "and so did the other owner's program after it ($f0 -> $(count "$CX_PIN/f1/cx_state"))" \
	bash -c "[ \$(count $CX_PIN/f1/cx_state) -ge $((f0 + 3)) ]"
# Order (--tc-order first): ours runs before the link that was there.
set_drop "$CX_PIN/f1/cx_state" 1
a0=$(cin t1)
cm_check_not "the other owner's program drops: pings fail" ping_a 2
cm_check "but the cube, first, saw them ($a0 -> ...)" cm_eventually ge cin t1 $((a0 + 2))
set_drop "$CX_PIN/f1/cx_state" 0
cm_check "t1 drops ingress" $PCNCTL t1 set ingress-action=DROP
f1=$(count "$CX_PIN/f1/cx_state")
cm_check_not "pings fail" ping_a 2
cm_check "the program after the cube saw none of them" [ "$(count "$CX_PIN/f1/cx_state")" = "$f1" ]
cm_check "t1 passes again" $PCNCTL t1 set ingress-action=PASS

echo "# TC: a broker restart with pings flowing"
lossless_restart TC 100
cm_check "the stack's links adopted (same ids $IN, $EG)" \
	bash -c "[ \"\$(link_id $CM_BPFFS/shared/tstack_in_$IDX)\" = '$IN' ] && [ \"\$(link_id $CM_BPFFS/shared/tstack_eg_$IDX)\" = '$EG' ]"
cm_check "the other owner's link untouched" link_alive "$F1"
a0=$(cin t1); f0=$(count "$CX_PIN/f1/cx_state")
cm_check "after the restart both still see the pings" bash -c "ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.218.0.254 >/dev/null && [ \$(count $CX_PIN/f1/cx_state) -ge $((f0 + 2)) ]"
cm_check "the cube too" cm_eventually ge cin t1 $((a0 + 2))

echo "# TC: detach"
cm_check "detach t1" $PCNCTL detach t1 "$IFA"
cm_check "its links are gone" bash -c "! link_alive $IN && ! link_alive $EG && nothing_of_ours"
f0=$(count "$CX_PIN/f1/cx_state")
cm_check "the other owner's link stays and counts" bash -c "link_alive $F1 && ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.218.0.254 >/dev/null && [ \$(count $CX_PIN/f1/cx_state) -ge $((f0 + 2)) ]"

echo "# TC: --tc-order last"
restart --tc-order last
cm_check "t1 attached again (the broker now places its links last)" $PCNCTL attach t1 "$IFA"
set_drop "$CX_PIN/f1/cx_state" 1
a0=$(cin t1)
cm_check_not "the other owner's program, now first, drops" ping_a 2
sleep 0.2
cm_check "before the cube saw anything ($a0)" [ "$(cin t1)" = "$a0" ]
set_drop "$CX_PIN/f1/cx_state" 0
cm_check "detach t1, delete it" bash -c "$PCNCTL detach t1 $IFA >/dev/null && $PCNCTL t1 del >/dev/null"
rm -f "$CX_PIN/f1/link"
cm_check "the other owner's link goes with its pin" bash -c "! link_alive $F1"
restart

for hook in XDP_SKB XDP_DRV; do
	mode=$([ $hook = XDP_SKB ] && echo skb || echo native)
	echo "# $hook: another owner's program at the hook (xdp-loader -m $mode)"
	xdp-loader load -m "$mode" -p "$CX_PIN" "$IFA" "$CX/bpfgen/coexist_count.xdp.bpf.o" >"$CM_TMP/xdp-loader.log" 2>&1
	THEIRS=$(xdp_id)
	cm_check "$hook: xdp-loader's program holds the hook (id $THEIRS)" bash -c "[ -n '$THEIRS' ] && [ \"\$(xdp_name)\" = cx_count ]"
	cm_check "$hook: create t2" bash -c "$PCNCTL transparenthelloworld add t2 type=$hook >/dev/null"
	cm_expect 409 POST /attach "{\"cube\":\"t2\",\"port\":\"$IFA\"}" "holds XDP program id $THEIRS (cx_count)"
	cm_check "$hook: its program keeps the hook" bash -c "[ \"\$(xdp_id)\" = '$THEIRS' ]"
	cm_check "$hook: nothing of the stack was attached (no egress link either)" nothing_of_ours
	cm_check "$hook: t2 has no parent" bash -c "! curl -s ${PCN_URL}transparenthelloworld/t2/ | grep -q '\"parent\": \"$IFA\"'"
	x0=$(count "$CX_PIN/cx_state")
	cm_check "$hook: and its traffic" bash -c "ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.218.0.254 >/dev/null && [ \$(count $CX_PIN/cx_state) -ge $((x0 + 2)) ]"
	xdp-loader unload "$IFA" --all >/dev/null 2>&1
	rm -f "$CX_PIN/cx_state"
	echo "# $hook: the hook free"
	cm_check "$hook: attach t2" $PCNCTL attach t2 "$IFA"
	OURS=$(xdp_id)
	cm_check "$hook: our program at the hook ($OURS), egress through tcx" \
		bash -c "[ \"\$(xdp_name)\" = pcn_tin ] && [ \"\$(tr_of ingress)\" = direct ] && [ \"\$(tr_of egress)\" = tcx ]"
	cm_check "$hook: pings pass through t2" bash -c "ip netns exec $(cm_ns a) ping -c 2 -i 0.2 -W 1 -q 10.218.0.254 >/dev/null"
	cm_check "$hook: t2 saw them" cm_eventually ge cin t2 2
	lossless_restart "$hook" 60
	cm_check "$hook: restart: ours replaced by ours (a new program, not $OURS)" bash -c "[ \"\$(xdp_name)\" = pcn_tin ] && [ \"\$(xdp_id)\" != '$OURS' ]"
	cm_check "$hook: detach t2, delete it" bash -c "$PCNCTL detach t2 $IFA >/dev/null && $PCNCTL t2 del >/dev/null"
	cm_check "$hook: nothing of ours left" bash -c "nothing_of_ours && [ -z \"\$(xdp_id)\" ]"
done
cm_done

#!/usr/bin/env bash
# A bad record costs only itself. The broker is stopped, records are spoiled
# as a bad disk or a hand edit would, and it starts again:
#  - a truncated record is set aside, and what its instance left in the
#    kernel goes with it (pins, the netdev's input program, its PatchPanel
#    slot): a new instance that gets the slot receives none of the old
#    one's traffic;
#  - a record with 300 ports (more than an instance may have) used to abort
#    every start: it is set aside the same way, the others are restored and
#    forward;
#  - a hostile attachments.json (unknown hook, unsafe and unknown names, a
#    cube in two stacks, slots out of range, junk) costs only its own
#    entries: the sane stack is restored, nothing is misattached.
#
# TC through clsact filters (--tc-attach clsact), the path of kernels
# without tcx: this test reads the filter with tc.
source "$(dirname "$0")/../lib/mesh.sh"
CM_BROKER_ARGS="--tc-attach clsact --xdp-attach direct"

cm_mesh_start helloworld transparenthelloworld
cm_host a 10.212.0.1/24; IFA=$CM_IF
cm_host b 10.212.0.2/24; IFB=$CM_IF
cm_host c 10.212.1.3/24; IFC=$CM_IF
cm_host d 10.212.1.4/24; IFD=$CM_IF
cm_host e 10.212.2.5/24; IFE=$CM_IF
cm_host f 10.212.0.6/24; IFF=$CM_IF
cm_neigh_static a b
cm_neigh_static a f
cm_neigh_static f b
cm_neigh_static c d
DS=$CM_STATE/instances
PINS=$CM_BPFFS/cubes/helloworld

slot_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"])' "$1"; }
# echo_b: echo requests b has received so far (its own counter: no noise
# from IPv6 or ARP).
echo_b() {
	ip netns exec "$(cm_ns b)" awk '/^Icmp:/ { if (!h) { for (i = 2; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else print $c }' /proc/net/snmp
}
has_xdp() { ip -d link show dev "$1" | grep -q 'prog/xdp'; }
broker_restart() {
	kill "$CM_BROKER_PID"
	wait "$CM_BROKER_PID" 2>/dev/null
	cm_broker_start
}
# only_stack: GET /topology's transparent stacks are exactly [t1] on $IFE.
only_stack() {
	curl -s "${PCN_URL}topology" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transparent"]
sys.exit(0 if [(s["parent"], s["stack"]) for s in t] == [(sys.argv[1], ["t1"])] else 1)' "$IFE"
}
in_cubes() { curl -s "${PCN_URL}cubes" | grep -q "\"$1\""; }

echo "# setup: hw1 and hw4 (TC) between a and f, hw2 (XDP_SKB) between c and d, t1 on e"
# a - hw1 - hw4 - f: after hw1 is gone, hw4's wire into hw1's port2 must
# not lead into whatever takes hw1's slot.
cm_check "create hw1 and hw4: a - hw1 - hw4 - f" bash -c "$PCNCTL helloworld add hw1 type=TC && $PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 && $PCNCTL hw1 set action=FORWARD && $PCNCTL helloworld add hw4 type=TC && $PCNCTL hw4 ports add port1 && $PCNCTL hw4 ports add port2 peer=$IFF && $PCNCTL hw4 set action=FORWARD && $PCNCTL connect hw1:port2 hw4:port1"
cm_check "create hw2" bash -c "$PCNCTL helloworld add hw2 type=XDP_SKB && $PCNCTL hw2 ports add port1 peer=$IFC && $PCNCTL hw2 ports add port2 peer=$IFD && $PCNCTL hw2 set action=FORWARD"
cm_check "create and attach t1" bash -c "$PCNCTL transparenthelloworld add t1 type=TC && $PCNCTL attach t1 $IFE"
cm_check "a -> f through hw1 and hw4" cm_ping a 10.212.0.6
cm_check "hw2 forwards c -> d" cm_ping c 10.212.1.4
SLOT1=$(slot_of "$DS/helloworld@hw1.json")
cm_check "hw1 has pins, and its input program on $IFA" bash -c "[ -d $PINS/hw1 ] && [ \$(tc filter show dev $IFA ingress | grep -c .) -gt 0 ] && bpftool net show dev $IFA | grep -q pcn_netdev"
cm_check "hw2 has an XDP program on $IFC" has_xdp "$IFC"

echo "# restart 1: hw1's record truncated"
kill "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
truncate -s 40 "$DS/helloworld@hw1.json"
cm_check "the broker starts" cm_broker_start
cm_check "helloworld is back" cm_wait_service_up helloworld
cm_check "transparenthelloworld is back" cm_wait_service_up transparenthelloworld
cm_check "hw1's record is set aside" bash -c "[ -f $DS/helloworld@hw1.json.corrupt ] && [ ! -e $DS/helloworld@hw1.json ]"
cm_check_not "hw1 is not in GET /cubes" in_cubes hw1
cm_check "hw1's pins are gone" bash -c "[ ! -e $PINS/hw1 ]"
cm_check "the input program on $IFA is gone" bash -c "[ \$(tc filter show dev $IFA ingress | grep -c .) = 0 ] && ! bpftool net show dev $IFA | grep -q pcn_netdev"
cm_check "the purge is logged" grep -q "BROKER-DS-PURGE.*helloworld/hw1.*slot $SLOT1" "$CM_TMP/broker.log"
cm_check_not "a -> f no longer passes" cm_ping a 10.212.0.6 2
cm_check "hw2 is restored and forwards" cm_ping c 10.212.1.4
cm_check "hw2 still has its XDP program" has_xdp "$IFC"
cm_check "the wire from hw4 into hw1 now leads nowhere (logged)" grep -q "BROKER-DS-PURGE.*wire of slot .* into slot $SLOT1" "$CM_TMP/broker.log"
cm_check "hw4 is restored, its port to hw1 DOWN" bash -c "$PCNCTL -j hw4 ports show | grep -c '\"DOWN\"' | grep -qx 1"
echo "# a new instance on the freed slot gets none of hw1's traffic"
# helloworld forwards port 0 -> 1 and 1 -> 0: what enters hw3 on hw1's old
# port1 (a's netdev) leaves by its port2, what enters on hw1's old port2
# (hw4's wire) by its port1. Each in turn is peered with b, who counts.
cm_check "create hw3: port1 unpeered, port2 to b" bash -c "$PCNCTL helloworld add hw3 type=TC && $PCNCTL hw3 ports add port1 && $PCNCTL hw3 ports add port2 peer=$IFB && $PCNCTL hw3 set action=FORWARD"
echo "# hw3 is in slot $(slot_of "$DS/helloworld@hw3.json") (hw1 was in $SLOT1)"
before=$(echo_b)
ip netns exec "$(cm_ns a)" ping -c 5 -i 0.2 -W 1 -q 10.212.0.2 >/dev/null 2>&1
after=$(echo_b)
cm_check "b received nothing a sent toward hw1's old port ($before -> $after)" [ "$after" = "$before" ]
cm_check "hw3: port1 to b, port2 unpeered" bash -c "$PCNCTL hw3 ports port2 set peer= 2>/dev/null || $PCNCTL hw3 ports port2 del; $PCNCTL hw3 ports port1 set peer=$IFB"
before=$(echo_b)
ip netns exec "$(cm_ns f)" ping -c 5 -i 0.2 -W 1 -q 10.212.0.2 >/dev/null 2>&1
after=$(echo_b)
cm_check "b received nothing f sent through hw4's old wire into hw1 ($before -> $after)" [ "$after" = "$before" ]
cm_check "hw3 rewired: port1 to a, port2 to b" bash -c "$PCNCTL hw3 ports port1 set peer=$IFA && ($PCNCTL hw3 ports port2 set peer=$IFB 2>/dev/null || $PCNCTL hw3 ports add port2 peer=$IFB) && sleep 0.3"
cm_check "a -> b through hw3" cm_ping a 10.212.0.2
# The helloworld process outlived the broker and still held hw1: it is told
# to drop it, so slot 1's new wiring does not make it reload and pin hw1.
cm_check "the cube process was told to drop hw1" grep -q "BROKER-DS-FORGET.*drop hw1" "$CM_TMP/broker.log"
cm_check "hw1's pins stay gone after hw3 took its slot" bash -c "sleep 0.5; [ ! -e $PINS/hw1 ]"

echo "# restart 2: hw2's record has 300 ports"
kill "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
python3 - "$DS/helloworld@hw2.json" <<'EOF'
import json, sys
p = sys.argv[1]
r = json.load(open(p))
r["ports"] = [{"name": "port%d" % (i + 1), "index": i} for i in range(300)]
json.dump(r, open(p, "w"))
EOF
cm_check "the broker starts (no abort)" cm_broker_start
cm_check "helloworld is back" cm_wait_service_up helloworld
cm_check "hw2's record is set aside" bash -c "[ -f $DS/helloworld@hw2.json.corrupt ] && [ ! -e $DS/helloworld@hw2.json ]"
cm_check "hw2's pins are gone" bash -c "[ ! -e $PINS/hw2 ]"
cm_check_not "hw2's XDP program on $IFC is gone" has_xdp "$IFC"
cm_check_not "c -> d no longer passes" cm_ping c 10.212.1.4 2
cm_check "hw3 is restored" in_cubes hw3
cm_check "hw3 forwards a -> b" cm_ping a 10.212.0.2
cm_check "t1 is still on $IFE" bash -c "curl -s ${PCN_URL}transparenthelloworld/t1/ | grep -q '\"parent\": *\"$IFE\"'"
cm_check "the broker runs" kill -0 "$CM_BROKER_PID"
cm_check_not "no stack overflow was seen" grep -q "stack smashing\|stack-buffer-overflow" "$CM_TMP/broker.log"

echo "# restart 3: attachments.json hostile"
kill "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
long=$(printf 'x%.0s' $(seq 1 3000))
cat >"$CM_STATE/attachments.json" <<EOF
[
 {"netdev": "$IFE", "hook": 0, "stack": ["t1"]},
 {"netdev": "$IFA", "hook": 99, "stack": ["t1"]},
 {"netdev": "$IFC", "hook": -5, "stack": ["t1"]},
 {"netdev": "$long", "hook": 0, "stack": ["t1"]},
 {"netdev": "../../../etc", "hook": 0, "stack": ["t1"]},
 {"netdev": "$IFD", "hook": 0, "stack": ["nope", "../x", 7, null, "t1", "t1", "$long"]},
 {"netdev": "$IFE", "hook": 0, "stack": ["t1"]},
 {"netdev": "hw3:port1", "hook": 0, "slot-in": 99999, "slot-eg": -1, "stack": ["t1"]},
 {"netdev": "hw3:port2", "hook": "TC", "stack": ["t1"]},
 42, "junk", null, [], {"netdev": "$IFB"}, {"netdev": 7, "hook": 0, "stack": ["t1"]}
]
EOF
mark=$(wc -l <"$CM_TMP/broker.log")
cm_check "the broker starts" cm_broker_start
cm_check "transparenthelloworld is back" cm_wait_service_up transparenthelloworld
cm_check "the sane stack is restored: t1 on $IFE" bash -c "curl -s ${PCN_URL}transparenthelloworld/t1/ | grep -q '\"parent\": *\"$IFE\"'"
cm_check "no other stack was made from the hostile entries" only_stack
cm_check "the broker is still up after GET /topology" kill -0 "$CM_BROKER_PID"
cm_check "the refused entries are logged, each with its reason" bash -c "tail -n +$((mark + 1)) $CM_TMP/broker.log | grep -q 'not restored: unknown hook' && tail -n +$((mark + 1)) $CM_TMP/broker.log | grep -q 'is in a stack already' && tail -n +$((mark + 1)) $CM_TMP/broker.log | grep -q 'not restored: a slot out of range'"

cm_check "a -> b through hw3" cm_ping a 10.212.0.2

echo "# restart 4 changes nothing more"
mark=$(wc -l <"$CM_TMP/broker.log")
cm_check "the broker starts again" broker_restart
cm_check "helloworld is back" cm_wait_service_up helloworld
cm_check "hw3 still forwards a -> b" cm_ping a 10.212.0.2
cm_check "and the stack is as it was" only_stack
cm_check_not "nothing is purged twice" bash -c "tail -n +$((mark + 1)) $CM_TMP/broker.log | grep -q 'BROKER-DS-PURGE\|BROKER-DS-ORPHAN'"
cm_done

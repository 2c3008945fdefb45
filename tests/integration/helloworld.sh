#!/usr/bin/env bash
# helloworld end to end, for each hook: two hosts in namespaces wired
# through the cube; FORWARD passes pings both ways, DROP and SLOWPATH stop
# them, and deleting the instance leaves no program, filter or pin behind.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.201.0.1/24; IFA=$CM_IF
cm_host b 10.201.0.2/24; IFB=$CM_IF

entry_progs() { bpftool prog show 2>/dev/null | grep -c 'name pcn_entry' || true; }

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	before=$(entry_progs)
	cm_check "$hook: create hw1" $PCNCTL helloworld add hw1 type=$hook
	cm_check "$hook: port1 peer" $PCNCTL hw1 ports add port1 peer=$IFA
	cm_check "$hook: port2 peer" $PCNCTL hw1 ports add port2 peer=$IFB
	cm_check "$hook: default action is DROP" bash -c "$PCNCTL -j hw1 action show | grep -q DROP"
	cm_check_not "$hook: DROP stops pings" cm_ping a 10.201.0.2 2
	cm_check "$hook: set FORWARD" $PCNCTL hw1 set action=FORWARD
	cm_check "$hook: FORWARD a -> b" cm_ping a 10.201.0.2
	cm_check "$hook: FORWARD b -> a" cm_ping b 10.201.0.1
	cm_check "$hook: ports are UP" bash -c "$PCNCTL -j hw1 ports show | grep -c '\"UP\"' | grep -qx 2"
	cm_check "$hook: counters moved" bash -c "$PCNCTL -j hw1 stats show | grep -q '\"forwarded\": [1-9]'"
	cm_check "$hook: set SLOWPATH" $PCNCTL hw1 set action=SLOWPATH
	cm_check_not "$hook: SLOWPATH stops pings" cm_ping a 10.201.0.2 2
	cm_check "$hook: set DROP" $PCNCTL hw1 set action=DROP
	cm_check_not "$hook: DROP stops pings again" cm_ping b 10.201.0.1 2
	cm_check "$hook: delete" $PCNCTL hw1 del
	cm_check "$hook: no tc filter left on $IFA" bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ]"
	cm_check "$hook: no XDP program left on $IFA" bash -c "! ip link show $IFA | grep -q 'prog/xdp'"
	cm_check "$hook: no XDP program left on $IFB" bash -c "! ip link show $IFB | grep -q 'prog/xdp'"
	cm_check "$hook: no pins left" bash -c "[ -z \"\$(ls -A $CM_BPFFS/cubes/helloworld 2>/dev/null)\" ]"
	cm_check "$hook: no cube program left" bash -c "[ \$(bpftool prog show | grep -c 'name pcn_entry' || true) -le $before ]"
	cm_check "$hook: GET after delete is 404" bash -c "[ \"\$(curl -s -o /dev/null -w %{http_code} ${PCN_URL}helloworld/hw1/)\" = 404 ]"
done
cm_done

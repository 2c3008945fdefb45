#!/usr/bin/env bash
# firewall: rule sets swapped under traffic. fw1 on the host end of a's
# veth, conntrack OFF (every packet is classified by the rules). A ping
# stream from a to the host (every 5 ms for 10 s) while the INGRESS chain
# is replaced every 10 ms by one of two rule sets (one PUT of the chain
# each, through the broker), both of which forward the pings only when
# read whole: in set A the ICMP rule is after a DROP that does not match,
# in set B after two others, and the default is DROP. Every echo request
# and reply is counted: none may be lost. At TC and XDP_DRV.
source "$(dirname "$0")/../lib/mesh.sh"
NET=10.218.$((CM_ID % 250))

cm_mesh_start firewall || { echo "FAIL - pcn-firewall did not come up"; exit 1; }
cm_host a "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns a)
ip addr add "$NET.254/24" dev "$IFA"
# Static neighbours: every packet of the stream is an echo request or reply.
ip neigh replace "$NET.1" dev "$IFA" lladdr "$(ip -n "$NSA" link show eth0 | awk '/ether/ {print $2}')" nud permanent
ip -n "$NSA" neigh replace "$NET.254" dev eth0 lladdr "$(ip link show "$IFA" | awk '/ether/ {print $2}')" nud permanent

SET_A='{"name":"INGRESS","default":"DROP","rule":[{"id":0,"src":"10.99.0.0/16","action":"DROP"},{"id":1,"l4proto":"ICMP","action":"FORWARD"}]}'
SET_B="{\"name\":\"INGRESS\",\"default\":\"DROP\",\"rule\":[{\"id\":0,\"l4proto\":\"UDP\",\"dport\":9,\"action\":\"DROP\"},{\"id\":1,\"l4proto\":\"TCP\",\"action\":\"DROP\"},{\"id\":2,\"dst\":\"$NET.254/32\",\"l4proto\":\"ICMP\",\"action\":\"FORWARD\"}]}"

# swap SECONDS: PUTs the two sets in turn every 10 ms on one connection;
# prints how many were accepted and how many failed.
swap() {
	python3 - "$CM_PORT" "$1" "$SET_A" "$SET_B" <<'EOF'
import http.client, sys, time
port, secs, sets = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:5]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
path = "/polycube/v1/firewall/fw1/chain/INGRESS/"
ok = bad = 0
end = time.monotonic() + secs
nxt = time.monotonic()
while time.monotonic() < end:
    c.request("PUT", path, body=sets[(ok + bad) % 2], headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status < 300:
        ok += 1
    else:
        bad += 1
    nxt += 0.010
    d = nxt - time.monotonic()
    if d > 0:
        time.sleep(d)
print(ok, bad)
EOF
}
# stream SECONDS: pings every 5 ms; prints "sent received".
stream() {
	ip netns exec "$NSA" ping -i 0.005 -c "$(($1 * 200))" -W 2 -q "$NET.254" 2>/dev/null |
		awk '/transmitted/ {print $1, $4}'
}

for hook in TC XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create fw1 (conntrack OFF)" $PCNCTL firewall add fw1 type=$hook conntrack=OFF
	cm_check "$hook: attach to $IFA" $PCNCTL attach fw1 "$IFA"
	cm_check "$hook: EGRESS forwards ICMP" $PCNCTL firewall fw1 chain EGRESS rule add 0 l4proto=ICMP action=FORWARD
	cm_expect 200 PUT /firewall/fw1/chain/INGRESS/ "$SET_A"
	cm_check "$hook: pings pass with set A" cm_ping a "$NET.254"
	cm_expect 200 PUT /firewall/fw1/chain/INGRESS/ "$SET_B"
	cm_check "$hook: pings pass with set B" cm_ping a "$NET.254"

	swap 10 >"$CM_TMP/swap.out" &
	spid=$!
	read -r sent recv < <(stream 10)
	wait "$spid"
	read -r ok bad <"$CM_TMP/swap.out"
	echo "# $hook: $ok rule sets swapped in ($bad refused) while $sent echo requests were sent, $recv replies received"
	cm_check "$hook: the stream ran ($sent sent)" [ "${sent:-0}" -ge 1000 ]
	cm_check "$hook: zero loss ($recv of $sent)" [ "${recv:-0}" = "${sent:-x}" ]
	# Not a speed test: enough swaps to have happened under traffic.
	cm_check "$hook: rule sets were swapped during the stream ($ok)" [ "${ok:-0}" -ge 100 ]
	cm_check "$hook: no swap was refused" [ "${bad:-1}" = 0 ]
	cm_expect 200 PUT /firewall/fw1/chain/INGRESS/ '{"name":"INGRESS","rule":[{"id":0,"l4proto":"UDP","action":"FORWARD"}]}'
	cm_check_not "$hook: a set without the ICMP rule drops the pings (the test can fail)" \
		cm_ping a "$NET.254" 1
	cm_check "$hook: delete fw1" $PCNCTL fw1 del
done
cm_done

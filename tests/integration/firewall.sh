#!/usr/bin/env bash
# firewall: fw1 attached to the host end of a's veth (the host has an
# address on it and routes to b), at TC, XDP_SKB and XDP_DRV in one mesh.
# INGRESS is what a sends, EGRESS what reaches a.
#  - a new firewall drops everything (default DROP on both chains);
#  - one FORWARD rule for ICMP in INGRESS: a pings the host, the host
#    cannot ping a (its echo requests go through EGRESS: default DROP);
#    the rule's counters grow by the pings sent;
#  - TCP: a rule allowing NEW to port P: a connects to the host's server
#    on P (the replies come back as ESTABLISHED), a second port is closed;
#    accept-established OFF makes the replies need their own rule;
#  - rules appended, inserted at positions, deleted, the chain reset;
#    first match wins; bad rules are 400 with the reason and change
#    nothing; the session table shows the connection;
#  - the conntrack table and the counters survive a restart of
#    pcn-firewall (TC round).
source "$(dirname "$0")/../lib/mesh.sh"
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
NET=10.217.$((CM_ID % 250))

cm_mesh_start firewall || { echo "FAIL - pcn-firewall did not come up"; exit 1; }
cm_host a "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns a)
ip addr add "$NET.254/24" dev "$IFA"
# TCP through native XDP on a veth needs the sender's checksum done in
# software (docs/KERNEL.md).
ip netns exec "$NSA" ethtool -K eth0 tx off >/dev/null 2>&1 || true
ethtool -K "$IFA" tx off >/dev/null 2>&1 || true

P_OPEN=$(cm_free_port)
P_CLOSED=$(cm_free_port)
while [ "$P_CLOSED" = "$P_OPEN" ]; do P_CLOSED=$(cm_free_port); done
# A server on the host on both ports: says hello and closes.
python3 - "$NET.254" "$P_OPEN" "$P_CLOSED" >"$CM_TMP/server.log" 2>&1 <<'EOF' &
import select, socket, sys
ls = []
for p in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(p)))
    s.listen(16)
    ls.append(s)
while True:
    r, _, _ = select.select(ls, [], [])
    for s in r:
        c, _ = s.accept()
        try:
            c.settimeout(2)
            c.sendall(b"fw-ok\n")
        except OSError:
            pass
        c.close()
EOF
CM_PIDS+=("$!")

# connect PORT: 0 when a's connection to the host's PORT gets the hello.
connect() {
	ip netns exec "$NSA" python3 - "$NET.254" "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
data = b""
while True:
    chunk = s.recv(64)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data == b"fw-ok\n" else 1)
EOF
}
ping_a_to_host() { ip netns exec "$NSA" ping -c "${1:-3}" -i 0.2 -W 1 -q "$NET.254" >/dev/null 2>&1; }
ping_host_to_a() { ping -c 2 -i 0.2 -W 1 -q "$NET.1" >/dev/null 2>&1; }
# pkts ID [CHAIN]: the packet counter of rule ID.
pkts() {
	curl -s "${PCN_URL}firewall/fw1/chain/${2:-INGRESS}/stats/$1/pkts/" | tr -dc 0-9
}
# ids [CHAIN]: the chain's rule ids and l4proto/dport, "0:ICMP 1:TCP/80 ...".
ids() {
	curl -s "${PCN_URL}firewall/fw1/chain/${1:-INGRESS}/rule/" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if isinstance(d, dict):
    d = next(iter(d.values()), [])
print(" ".join("%s:%s%s" % (r["id"], r.get("l4proto", "-"), "/%s" % r["dport"] if "dport" in r else "") for r in d))'
}
cm_neigh_static_host() {
	local mac
	mac=$(ip -n "$NSA" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	ip neigh replace "$NET.1" lladdr "$mac" dev "$IFA" nud permanent
	mac=$(ip -j link show "$IFA" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	ip -n "$NSA" neigh replace "$NET.254" lladdr "$mac" dev eth0 nud permanent
}
cm_neigh_static_host

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create fw1 (accept-established OFF)" $PCNCTL firewall add fw1 type=$hook accept-established=OFF
	cm_check "$hook: attach to $IFA" $PCNCTL attach fw1 "$IFA"
	cm_check_not "$hook: default DROP: a cannot ping the host" ping_a_to_host 1

	cm_check "$hook: append ICMP FORWARD to INGRESS" \
		$PCNCTL firewall fw1 chain INGRESS append l4proto=ICMP action=FORWARD >/dev/null
	cm_check_not "$hook: accept-established OFF: the replies need their own rule" ping_a_to_host 1
	cm_check "$hook: EGRESS: ESTABLISHED FORWARD" $PCNCTL firewall fw1 chain EGRESS append \
		conntrack=ESTABLISHED action=FORWARD >/dev/null
	n0=$(pkts 0)
	cm_check "$hook: a pings the host" ping_a_to_host 5
	cm_check_not "$hook: the host cannot ping a (its requests are NEW in EGRESS)" ping_host_to_a
	n=$(pkts 0)
	cm_check "$hook: rule 0 counted the 5 echo requests ($n0 -> $n)" [ $(( ${n:-0} - ${n0:-0} )) -eq 5 ]
	cm_check "$hook: accept-established ON" $PCNCTL firewall fw1 set accept-established=ON

	# TCP: NEW to P_OPEN allowed; the replies are ESTABLISHED.
	cm_check "$hook: rule: NEW TCP to $P_OPEN from a" $PCNCTL firewall fw1 chain INGRESS append \
		src=$NET.1/32 l4proto=TCP dport=$P_OPEN conntrack=NEW action=FORWARD >/dev/null
	cm_check "$hook: a connects to port $P_OPEN" connect "$P_OPEN"
	cm_check_not "$hook: port $P_CLOSED is closed" connect "$P_CLOSED"
	if [ "$hook" = TC ]; then
		st=$(curl -s "${PCN_URL}firewall/fw1/session-table/")
		cm_check "$hook: the session table shows a's connection" grep -q "\"dport\":$P_OPEN" <<<"$st"
		cm_check "$hook: and a's pings" grep -q '"l4proto":"ICMP"' <<<"$st"
		cm_check "$hook: delete the EGRESS rule" $PCNCTL firewall fw1 chain EGRESS delete conntrack=ESTABLISHED
		cm_check "$hook: with accept-established ON a connects without it" connect "$P_OPEN"

		# Bad rules: 400 with the reason, nothing changed.
		before=$(ids)
		cm_expect 400 POST /firewall/fw1/chain/INGRESS/append/ '{"src":"10.0.0.300/24"}' "src"
		cm_expect 400 POST /firewall/fw1/chain/INGRESS/append/ '{"src":"10.0.0.1/33"}' "src"
		cm_expect 400 POST /firewall/fw1/chain/INGRESS/append/ '{"l4proto":"FOO"}' "l4proto"
		cm_expect 400 POST /firewall/fw1/chain/INGRESS/rule/7/ '{"l4proto":"TCP","dport":70000}' ""
		cm_expect 400 POST /firewall/fw1/chain/INGRESS/rule/7/ '{"l4proto":"XYZ"}' "l4proto"
		cm_expect 409 POST /firewall/fw1/chain/INGRESS/rule/0/ '{"l4proto":"UDP"}' ""
		cm_check "$hook: nothing changed ($(ids))" [ "$(ids)" = "$before" ]

		# Order: a DROP for ICMP inserted at 0 wins over the FORWARD.
		n0=$(pkts 0)
		cm_check "$hook: insert DROP ICMP at 0" $PCNCTL firewall fw1 chain INGRESS insert id=0 l4proto=ICMP action=DROP >/dev/null
		cm_check "$hook: ids moved ($(ids))" [ "$(ids)" = "0:ICMP 1:ICMP 2:TCP/$P_OPEN" ]
		cm_check_not "$hook: first match wins: pings dropped" ping_a_to_host 1
		cm_check "$hook: delete it" $PCNCTL firewall fw1 chain INGRESS delete l4proto=ICMP action=DROP
		cm_check "$hook: ids back ($(ids))" [ "$(ids)" = "0:ICMP 1:TCP/$P_OPEN" ]
		cm_check "$hook: pings pass again" ping_a_to_host 2
		n=$(pkts 0)
		cm_check "$hook: rule 0 kept its counters through the moves ($n0 -> $n)" [ "${n:-0}" -gt "${n0:-0}" ]
		cm_check "$hook: reset-counters" $PCNCTL firewall fw1 chain INGRESS reset-counters
		cm_check "$hook: counters are 0" [ "$(pkts 0)" = 0 ]

		# batch (Polycube's use_batch.sh form, accept for FORWARD): one change.
		cm_expect 204 POST /firewall/fw1/chain/EGRESS/batch/ \
			'{"rules":[{"operation":"append","l4proto":"UDP","dport":5353,"action":"accept"},{"operation":"append","l4proto":"TCP","dport":22,"action":"drop"}]}'
		cm_check "$hook: EGRESS holds the batch ($(ids EGRESS))" [ "$(ids EGRESS)" = "0:UDP/5353 1:TCP/22" ]
		cm_expect 400 POST /firewall/fw1/chain/EGRESS/batch/ \
			'{"rules":[{"operation":"append","l4proto":"UDP"},{"operation":"append","src":"1.2.3.4/40"}]}' "src"
		cm_check "$hook: a batch with a bad rule changed nothing ($(ids EGRESS))" [ "$(ids EGRESS)" = "0:UDP/5353 1:TCP/22" ]

		# interactive=false: rule changes wait for apply-rules.
		cm_check "$hook: interactive=false" $PCNCTL firewall fw1 set interactive=false
		cm_check "$hook: stage a DROP for ICMP at 0" $PCNCTL firewall fw1 chain INGRESS insert id=0 l4proto=ICMP action=DROP
		cm_check "$hook: staged only: pings pass" ping_a_to_host 1
		cm_check "$hook: apply-rules" $PCNCTL firewall fw1 chain INGRESS apply-rules
		cm_check_not "$hook: applied: pings dropped" ping_a_to_host 1
		cm_check "$hook: stage its deletion" $PCNCTL firewall fw1 chain INGRESS delete l4proto=ICMP action=DROP
		cm_check_not "$hook: staged only: pings still dropped" ping_a_to_host 1
		cm_check "$hook: interactive=true applies the rules" $PCNCTL firewall fw1 set interactive=true
		cm_check "$hook: pings pass" ping_a_to_host 1

		cm_log "restart pcn-firewall"
		kill "${CM_CUBE_PID[firewall]}"
		wait "${CM_CUBE_PID[firewall]}" 2>/dev/null
		cm_check "$hook: pings pass while pcn-firewall is down" ping_a_to_host 2
		cm_check "$hook: pcn-firewall comes back" cm_cube_start firewall
		st=$(curl -s "${PCN_URL}firewall/fw1/session-table/")
		cm_check "$hook: the session table survived the restart" grep -q "\"dport\":$P_OPEN" <<<"$st"
		n=$(pkts 0)
		cm_check "$hook: the counters survived the restart ($n)" [ "${n:-0}" -ge 1 ]
		cm_check "$hook: the rules still work" connect "$P_OPEN"
		cm_check "$hook: chain reset (PUT without rules)" \
			bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data '{\"name\":\"INGRESS\"}' ${PCN_URL}firewall/fw1/chain/INGRESS/)\" -lt 300 ]"
		cm_check "$hook: no rules left ($(ids))" [ -z "$(ids)" ]
		cm_check_not "$hook: then pings are dropped" ping_a_to_host 1
	fi
	cm_check "$hook: delete fw1" $PCNCTL fw1 del
	cm_check "$hook: pings pass without the firewall" ping_a_to_host 1
done
cm_done

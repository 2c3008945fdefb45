#!/usr/bin/env bash
# Actions that change the configuration, run by many clients at once, lose
# nothing. firewall's append/insert/delete/batch and nat's append compute
# the new configuration in the cube and hand it to the broker as a write
# (pcn_action_result); the broker runs the action and its write in the
# service's write queue, so each one computes from every change before it.
#  - 20 clients append to one chain at once: 20 rules, ids 0..19, each
#    client told a different id, every client's rule there;
#  - 10 deletes and 10 inserts at id 0 at once: the 10 deleted gone, the
#    10 inserted there, the other 10 kept, ids 0..19;
#  - 10 batches of 2 appends at once: 20 more rules, every one there;
#  - the same rounds again (two of each, the race may miss a round);
#  - 20 nat "rule snat append" at once: 20 entries, ids 0..19, each client
#    told a different id;
#  - an append to a stopped pcn-firewall: 504 at the write deadline, and
#    the change it answers with once resumed is dropped, not written after
#    later ones; the next append works;
#  - polycubectl's form of batch with its rules on stdin
#    (`batch rules=<<<$json`, the JSON in Polycube's quoting).
source "$(dirname "$0")/../lib/mesh.sh"
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FW=${PCN_URL}firewall/fw1/chain
N=20
# The deadline of a write (and of an action): short, for the stopped cube;
# a round of 20 takes well under a second.
TIMEOUT_MS=4000
CM_BROKER_ARGS="${CM_BROKER_ARGS:-} --write-timeout $TIMEOUT_MS"

cm_mesh_start firewall nat || { echo "FAIL - pcn-firewall or pcn-nat did not come up"; exit 1; }

# post NAME I URL BODY: one client's POST, in the background; its answer in
# $CM_TMP/NAME.I.status and .body. wait_posts waits for every one started
# (a bare `wait` would wait for the mesh's processes too).
POSTS=()
post() {
	curl -s -m 20 -o "$CM_TMP/$1.$2.body" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		--data-binary "$4" "$3" >"$CM_TMP/$1.$2.status" &
	POSTS+=("$!")
}
wait_posts() {
	local p
	for p in "${POSTS[@]}"; do wait "$p"; done
	POSTS=()
}
# post_all NAME URL BODY...: POSTs each BODY to URL from its own client, all
# at once.
post_all() {
	local name=$1 url=$2 i=0 b
	shift 2
	for b in "$@"; do
		post "$name" $i "$url" "$b"
		i=$((i + 1))
	done
	wait_posts
}
# statuses NAME: the answers' statuses, sorted and counted ("20x200").
statuses() {
	cat "$CM_TMP/$1".*.status | sort | uniq -c | awk '{printf "%s%sx%s", (NR > 1 ? " " : ""), $1, $2}'
}
# answered_ids NAME: the ids the clients were told, sorted, one line.
answered_ids() {
	python3 - "$CM_TMP/$1".*.body <<'EOF'
import json, sys
ids = []
for f in sys.argv[1:]:
    try:
        d = json.load(open(f))
        d = d.get("firewall:output", d.get("nat:output", d))
        ids.append(d.get("id"))
    except (ValueError, AttributeError):
        ids.append(None)
print(" ".join(str(i) for i in sorted(ids, key=lambda x: (x is None, x or 0))))
EOF
}
# rules CHAIN: "id:dport" of the chain's rules, in order.
rules() {
	curl -s "$FW/$1/rule/" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if isinstance(d, dict):
    d = next(iter(d.values()), [])
print(" ".join("%s:%s" % (r["id"], r.get("dport", "-")) for r in d))'
}
# check_chain WHAT CHAIN DPORTS...: the chain holds one rule for each DPORT
# (in any order) and nothing else, with ids 0..n-1.
check_chain() {
	local what=$1 chain=$2 got
	shift 2
	got=$(rules "$chain")
	cm_check "$what: $chain holds exactly the $# rules ($(wc -w <<<"$got") held)" python3 - "$got" "$@" <<'EOF'
import sys
got = [r.split(":") for r in sys.argv[1].split()]
want = sorted(sys.argv[2:], key=int)
ids = [int(i) for i, _ in got]
ports = sorted((p for _, p in got), key=lambda p: int(p) if p.isdigit() else -1)
if ids != list(range(len(want))) or ports != want:
    print("  ids %s\n  dports %s\n  want dports %s" % (ids, ports, want), file=sys.stderr)
    sys.exit(1)
EOF
}
seq_list() { seq -s ' ' "$1" "$2"; }

cm_check "create fw1" $PCNCTL firewall add fw1 type=TC
for round in 1 2; do
	echo "# round $round"
	cm_expect 200 PUT /firewall/fw1/chain/INGRESS/ '{"name":"INGRESS","rule":[]}'
	bodies=()
	for i in $(seq 0 $((N - 1))); do
		bodies+=("{\"l4proto\":\"TCP\",\"dport\":$((1000 + i)),\"action\":\"FORWARD\"}")
	done
	post_all app$round "$FW/INGRESS/append/" "${bodies[@]}"
	cm_check "round $round: $N appends at once all answered 200 ($(statuses app$round))" \
		[ "$(statuses app$round)" = "${N}x200" ]
	cm_check "round $round: each client told a different id ($(answered_ids app$round))" \
		[ "$(answered_ids app$round)" = "$(seq_list 0 $((N - 1)))" ]
	check_chain "round $round: after $N appends at once" INGRESS $(seq 1000 $((1000 + N - 1)))

	# Deletes of 1000..1009 and inserts at 0 of 2000..2009, interleaved.
	bodies=()
	for i in $(seq 0 9); do
		bodies+=("{\"l4proto\":\"TCP\",\"dport\":$((1000 + i))}")
		bodies+=("{\"id\":0,\"l4proto\":\"TCP\",\"dport\":$((2000 + i)),\"action\":\"DROP\"}")
	done
	# Each body goes to its own action: odd ones insert, even ones delete.
	for i in "${!bodies[@]}"; do
		if [ $((i % 2)) = 0 ]; then act=delete; else act=insert; fi
		post mix$round $i "$FW/INGRESS/$act/" "${bodies[$i]}"
	done
	wait_posts
	cm_check "round $round: 10 deletes and 10 inserts at once all answered 2xx ($(statuses mix$round))" \
		bash -c "! cat $CM_TMP/mix$round.*.status | grep -qv '^20[04]$'"
	check_chain "round $round: after 10 deletes and 10 inserts at once" INGRESS \
		$(seq 1010 1019) $(seq 2000 2009)

	cm_expect 200 PUT /firewall/fw1/chain/EGRESS/ '{"name":"EGRESS","rule":[]}'
	bodies=()
	for i in $(seq 0 9); do
		bodies+=("{\"rules\":[{\"operation\":\"append\",\"l4proto\":\"UDP\",\"dport\":$((3000 + 2 * i)),\"action\":\"accept\"},{\"operation\":\"append\",\"l4proto\":\"UDP\",\"dport\":$((3001 + 2 * i)),\"action\":\"drop\"}]}")
	done
	post_all batch$round "$FW/EGRESS/batch/" "${bodies[@]}"
	cm_check "round $round: 10 batches at once all answered 2xx ($(statuses batch$round))" \
		bash -c "! cat $CM_TMP/batch$round.*.status | grep -qv '^20[04]$'"
	check_chain "round $round: after 10 batches of 2 at once" EGRESS $(seq 3000 3019)
done

# A cube that does not answer: the action ends at the write deadline (504),
# and the change the cube answers with later is not written.
cm_expect 200 PUT /firewall/fw1/chain/INGRESS/ '{"name":"INGRESS","rule":[]}'
cm_stop "${CM_CUBE_PID[firewall]}"
t0=$(date +%s%3N)
post late 0 "$FW/INGRESS/append/" '{"l4proto":"UDP","dport":5555,"action":"DROP"}'
wait_posts
ms=$(( $(date +%s%3N) - t0 ))
cm_cont "${CM_CUBE_PID[firewall]}"
cm_check "an append to the stopped cube: 504 ($(statuses late)) after about $TIMEOUT_MS ms ($ms)" \
	bash -c "[ '$(statuses late)' = 1x504 ] && [ $ms -ge $((TIMEOUT_MS - 100)) ] && [ $ms -lt $((TIMEOUT_MS + 3000)) ]"
late_dropped() {
	local _i
	for _i in $(seq 1 50); do
		grep -q 'BROKER-ACTION-LATE.*fw1' "$CM_TMP/broker.log" && return 0
		sleep 0.1
	done
	return 1
}
cm_check "its late answer is dropped" late_dropped
check_chain "after the late append" INGRESS
post_all after "$FW/INGRESS/append/" '{"l4proto":"UDP","dport":5556,"action":"DROP"}'
cm_check "the next append: 200, id 0 ($(statuses after), $(answered_ids after))" \
	[ "$(statuses after) $(answered_ids after)" = "1x200 0" ]
check_chain "after the next append" INGRESS 5556

# nat: append computes the next id from the configuration it has.
cm_check "create nat1" $PCNCTL nat add nat1 type=TC
bodies=()
for i in $(seq 0 $((N - 1))); do
	bodies+=("{\"internal-net\":\"10.77.$i.0/24\",\"external-ip\":\"10.78.0.$((i + 1))\"}")
done
post_all nat "${PCN_URL}nat/nat1/rule/snat/append/" "${bodies[@]}"
cm_check "nat: $N appends at once all answered 200 ($(statuses nat))" [ "$(statuses nat)" = "${N}x200" ]
cm_check "nat: each client told a different id ($(answered_ids nat))" \
	[ "$(answered_ids nat)" = "$(seq_list 0 $((N - 1)))" ]
nets=$(curl -s "${PCN_URL}nat/nat1/rule/snat/entry/" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if isinstance(d, dict):
    d = next(iter(d.values()), [])
print(" ".join(sorted("%s=%s" % (e["id"], e["internal-net"]) for e in d)))')
want=$(for i in $(seq 0 $((N - 1))); do echo "10.77.$i.0/24"; done | sort | tr '\n' ' ')
cm_check "nat: the $N entries are there, ids 0..$((N - 1)) ($(wc -w <<<"$nets") entries)" python3 - "$nets" "$N" <<'EOF'
import sys
got = [e.split("=") for e in sys.argv[1].split()]
n = int(sys.argv[2])
ok = sorted(int(i) for i, _ in got) == list(range(n)) and sorted(x for _, x in got) == sorted("10.77.%d.0/24" % i for i in range(n))
sys.exit(0 if ok else 1)
EOF

# polycubectl's batch with the rules on stdin, in Polycube's own quoting
# (its test scripts build the list with single quotes: YAML, not JSON).
cm_expect 200 PUT /firewall/fw1/chain/EGRESS/ '{"name":"EGRESS","rule":[]}'
batch="{\"rules\":[{'operation': 'append', 'l4proto': 'UDP', 'dport': 4000, 'action': 'ACCEPT'},{'operation': 'append', 'l4proto': 'TCP', 'dport': 4001, 'action': 'DROP'}]}"
cm_check "pcnctl firewall fw1 chain EGRESS batch rules=<<<\$batch" \
	$PCNCTL firewall fw1 chain EGRESS batch rules=<<<"$batch"
check_chain "batch from stdin" EGRESS 4000 4001

cm_check "delete fw1" $PCNCTL fw1 del
cm_check "delete nat1" $PCNCTL nat1 del
cm_done

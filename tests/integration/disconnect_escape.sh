#!/usr/bin/env bash
# /connect and /disconnect build the path of one port's peer leaf from the
# peers they are given, and /connect the body of the write. A peer name must
# never turn into another resource: cut short, "/helloworld/hw1/ports/////..."
# became "/helloworld/hw1/ports" and /disconnect deleted every port (saved);
# a '"' or '\' in a peer must stay inside the JSON value it is written to.
# Duplicate keys in a body are refused, not "last wins".
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.204.0.1/24; IFA=$CM_IF
cm_host b 10.204.0.2/24; IFB=$CM_IF
cm_host c 10.204.0.3/24; IFC=$CM_IF
cm_host d 10.204.0.4/24; IFD=$CM_IF

cm_check "hw1 created" $PCNCTL helloworld add hw1
cm_check "hw1 port1 -> a" $PCNCTL hw1 ports add port1 peer=$IFA
cm_check "hw1 port2 -> b" $PCNCTL hw1 ports add port2 peer=$IFB
cm_check "hw2 created" $PCNCTL helloworld add hw2

# The config as the API and as the datastore hold it.
conf() { curl -s "${PCN_URL}helloworld/hw1/" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({"action": d.get("action"), "ports": sorted((p["name"], p.get("peer")) for p in d.get("ports", []))}))'; }
stored() { python3 -c '
import json, sys
print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$CM_STATE/instances/helloworld@hw1.json"; }
conf_before=$(conf)
stored_before=$(stored)
cm_check "hw1 has both ports" grep -q port2 <<<"$conf_before"

# post PATH BODY: "STATUS BODY".
post() {
	curl -s -o "$CM_TMP/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "$2" "${PCN_URL%/}$1"
	echo -n " "
	cat "$CM_TMP/body"
}
# refused WHAT PATH BODY: a 4xx with a RESTCONF error.
refused() {
	local got status
	got=$(post "$2" "$3")
	status=${got%% *}
	CM_CHECKS=$((CM_CHECKS + 1))
	if [ "$status" -ge 400 ] && [ "$status" -lt 500 ] && grep -q '"error-message"' <<<"${got#* }"; then
		echo "ok - $1: $status"
	else
		echo "FAIL - $1: $got"
		CM_FAILS=$((CM_FAILS + 1))
	fi
}
unchanged() {
	cm_check "$1: hw1 reads back unchanged" [ "$(conf)" = "$conf_before" ]
	cm_check "$1: hw1's record is unchanged" [ "$(stored)" = "$stored_before" ]
}

slashes=$(printf '/%.0s' $(seq 1 250))
refused "disconnect of a port named by 250 slashes" /disconnect "{\"peer1\":\"hw1:$slashes\",\"peer2\":\"$IFA\"}"
unchanged "slashes"
refused "disconnect of a port name of 300 characters" /disconnect \
	"{\"peer1\":\"hw1:$(printf 'p%.0s' $(seq 1 300))\",\"peer2\":\"$IFA\"}"
refused "disconnect of an instance name of 300 characters" /disconnect \
	"{\"peer1\":\"$(printf 'h%.0s' $(seq 1 300)):port1\",\"peer2\":\"$IFA\"}"
refused "disconnect of an empty port name" /disconnect "{\"peer1\":\"hw1:\",\"peer2\":\"$IFA\"}"
refused "disconnect of a port named .." /disconnect "{\"peer1\":\"hw1:..\",\"peer2\":\"$IFA\"}"
refused "disconnect of port1/../.." /disconnect "{\"peer1\":\"hw1:port1/../..\",\"peer2\":\"$IFA\"}"
refused "disconnect of ports/port1" /disconnect "{\"peer1\":\"hw1:/port1\",\"peer2\":\"$IFA\"}"
unchanged "long and stepping names"

# A peer is written as a JSON string: what it holds stays in it.
refused 'connect to a peer holding "' /connect "{\"peer1\":\"hw2:port1\",\"peer2\":\"$IFA\\\"\"}"
got=$(post /connect "{\"peer1\":\"hw2:port1\",\"peer2\":\"\\\\u0063${IFC#c}\"}")
peer=$(curl -s "${PCN_URL}helloworld/hw2/ports/port1/peer/")
cm_check "a peer written \\u0063... is not read as c... (${got%% *}, peer $peer)" \
	[ "$peer" != "\"$IFC\"" ]
cm_check "and the answer is not a 5xx" [ "${got%% *}" -lt 500 ]
got=$(post /connect "{\"peer1\":\"hw2:port1\",\"peer2\":\"x\\\", \\\"peer\\\": \\\"$IFB\"}")
peer=$(curl -s "${PCN_URL}helloworld/hw2/ports/port1/peer/")
cm_check "a peer holding '\", \"peer\": ...' does not set the peer (${got%% *}, peer $peer)" \
	[ "$peer" != "\"$IFB\"" ]
unchanged "quotes"

# Duplicate keys: refused, whichever comes last.
refused "connect with peer2 twice" /connect \
	"{\"peer1\":\"hw2:port1\",\"peer2\":\"nosuch0\",\"peer2\":\"$IFD\"}"
refused "disconnect with peer1 twice" /disconnect \
	"{\"peer1\":\"hw2:port1\",\"peer1\":\"hw1:port1\",\"peer2\":\"$IFA\"}"
unchanged "duplicate keys in /connect"
cm_check "PATCH with action twice: 400" [ "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH \
	-H 'Content-Type: application/json' --data-binary '{"action":"DROP","action":"FORWARD"}' \
	"${PCN_URL}helloworld/hw1/")" = 400 ]
got=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary '{"action":"FORWARD","action":"DROP"}' "${PCN_URL}helloworld/hw3/")
cm_check "POST of a new instance with action twice: 400 ($got)" [ "$got" = 400 ]
cm_check "and hw3 does not exist" [ "$(curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}helloworld/hw3/")" = 404 ]
got=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data-binary '[{"service-name":"helloworld","name":"hw4","name":"hw5"}]' "${PCN_URL}cubes")
cm_check "POST /cubes with name twice: 400 ($got)" [ "$got" = 400 ]
unchanged "duplicate keys"
cm_check "hw2:port1 is not peered with d" bash -c "! curl -s '${PCN_URL}helloworld/hw2/' | grep -q '\"$IFD\"'"
cm_check "only hw1 and hw2 exist" [ "$(ls "$CM_STATE/instances" | grep -v '^journal\.' | tr '\n' ' ')" = "helloworld@hw1.json helloworld@hw2.json " ]

# The real thing still works: one port's peer, and nothing else, goes.
cm_check "disconnect hw1:port1 from a" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	-H 'Content-Type: application/json' --data-binary '{\"peer1\":\"hw1:port1\",\"peer2\":\"$IFA\"}' \
	'${PCN_URL}disconnect')\" = 200 ]"
cm_check "port1 has no peer now" bash -c "! curl -s '${PCN_URL}helloworld/hw1/' | grep -q '\"$IFA\"'"
cm_check "port2 is still peered with b" bash -c "curl -s '${PCN_URL}helloworld/hw1/' | grep -q '\"$IFB\"'"
cm_check "both ports are still in the record" bash -c "grep -q port1 '$CM_STATE/instances/helloworld@hw1.json' && grep -q port2 '$CM_STATE/instances/helloworld@hw1.json'"
cm_done

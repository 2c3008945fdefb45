#!/usr/bin/env bash
# Bad requests: each gets the right 4xx with a useful RESTCONF message, and
# the instance reads back exactly as before.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld simpleforwarder
cm_host a 10.203.0.1/24; IFA=$CM_IF
cm_host b 10.203.0.2/24; IFB=$CM_IF

cm_check "setup hw1" $PCNCTL helloworld add hw1
cm_check "setup hw1 port1" $PCNCTL hw1 ports add port1 peer=$IFA
cm_check "setup sf1" $PCNCTL simpleforwarder add sf1

snapshot() { curl -s "${PCN_URL}helloworld/hw1/" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("stats",None); print(json.dumps(d,sort_keys=True))'; }
before=$(snapshot)
sf_before=$(curl -s "${PCN_URL}simpleforwarder/sf1/")

# expect STATUS METHOD PATH [BODY] [TEXT]: the status and, when given, a
# piece of the error message.
expect() {
	local want=$1 m=$2 p=$3 body=${4-} text=${5-} got
	got=$(cm_http "$m" "$p" "$body")
	local status=${got%% *} rest=${got#* }
	CM_CHECKS=$((CM_CHECKS + 1))
	if [ "$status" != "$want" ]; then
		echo "FAIL - $m $p: status $status, want $want: $rest"
		CM_FAILS=$((CM_FAILS + 1))
		return
	fi
	if [ "$want" -ge 400 ] && ! grep -q '"error-message"' <<<"$rest"; then
		echo "FAIL - $m $p: no RESTCONF error body: $rest"
		CM_FAILS=$((CM_FAILS + 1))
		return
	fi
	if [ -n "$text" ] && ! grep -qi -- "$text" <<<"$rest"; then
		echo "FAIL - $m $p: message lacks '$text': $rest"
		CM_FAILS=$((CM_FAILS + 1))
		return
	fi
	echo "ok - $want for $m $p"
}

expect 404 GET /nosuch/ "" "nosuch"
expect 404 GET /helloworld/nosuch/ "" "nosuch"
expect 404 GET /helloworld/hw1/nosuchleaf/ "" "nosuchleaf"
expect 400 PATCH /helloworld/hw1/action/ '"FLY"' "FLY"
expect 400 POST /helloworld/hw2/ '{"action":"FLY"}' "FLY"
expect 409 POST /helloworld/hw1/ '{}' ""
expect 409 POST /simpleforwarder/hw1/ '{}' ""
expect 400 PATCH /helloworld/hw1/type/ '"XDP_SKB"' "type"
expect 400 PATCH /helloworld/hw1/ '{"type":"XDP_SKB"}' "type"
expect 400 POST /helloworld/hw3/ 'this is not json' ""
expect 400 POST /helloworld/hw4/ '{"bogus": 1}' "bogus"
expect 405 PATCH /helloworld/hw1/uuid/ '"0000"' ""
expect 405 PATCH /helloworld/hw1/stats/forwarded/ '5' ""
expect 405 PATCH /helloworld/hw1/ports/port1/status/ '"DOWN"' ""
expect 405 POST /helloworld/hw1/action/ '"DROP"' ""
expect 400 PATCH /helloworld/hw1/loglevel/ '"LOUD"' "LOUD"
expect 400 POST /helloworld/hw1/ports/port2/ '{"peer":"nosuchdev0"}' "nosuchdev0"
expect 409 POST /helloworld/hw1/ports/port2/ "{\"peer\":\"$IFA\"}" "$IFA"
expect 400 POST /helloworld/hw1/ports/port2/ '{"name":"port3"}' ""
expect 404 DELETE /helloworld/hw1/ports/nosuch/ "" ""
expect 400 POST /simpleforwarder/sf1/actions/ '{"action":"DROP"}' ""
expect 400 POST /simpleforwarder/sf1/actions/p1/ '{"action":"JUMP"}' "JUMP"
expect 400 POST '/helloworld/bad%20name/' '{}' ""
expect 400 POST /helloworld/services/ '{}' "reserved"
expect 405 DELETE /services/ "" ""
expect 400 POST /connect '{"peer1":"x"}' ""
expect 404 POST /connect '{"peer1":"nosuch:port1","peer2":"lo"}' "nosuch"
expect 400 POST /helloworld/hw5/ '[1,2,3]' ""
{ printf '{"action":"'; head -c 2000000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$CM_TMP/big.json"
expect 413 POST /helloworld/hw6/ "@$CM_TMP/big.json" "limit"

after=$(snapshot)
cm_check "hw1 reads back unchanged" [ "$before" = "$after" ]
cm_check "sf1 reads back unchanged" [ "$sf_before" = "$(curl -s "${PCN_URL}simpleforwarder/sf1/")" ]
count=$(curl -s "${PCN_URL}cubes" | python3 -c 'import json,sys; print(sum(len(v) for v in json.load(sys.stdin).values()))')
cm_check "no instance was created by a bad request ($count)" [ "$count" = 2 ]
cm_check "the broker still answers" curl -fs -o /dev/null "${PCN_URL}version"

# A change the model allows but the cube refuses (helloworld has two ports):
# the error reaches the user, and neither the running config nor the
# datastore keeps any of it.
cm_check "port2 added" $PCNCTL hw1 ports add port2 peer=$IFB
snap2=$(snapshot)
expect 400 POST /helloworld/hw1/ports/port3/ '{}' "port"
cm_check "hw1 reads back as before the refused change" [ "$snap2" = "$(snapshot)" ]
cm_check "the datastore has no port3" bash -c "! grep -q port3 $CM_STATE/instances/helloworld@hw1.json"
cm_check "but has port2" grep -q port2 "$CM_STATE/instances/helloworld@hw1.json"
cm_done

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

cm_expect 404 GET /nosuch/ "" "nosuch"
cm_expect 404 GET /helloworld/nosuch/ "" "nosuch"
cm_expect 404 GET /helloworld/hw1/nosuchleaf/ "" "nosuchleaf"
cm_expect 400 PATCH /helloworld/hw1/action/ '"FLY"' "FLY"
cm_expect 400 POST /helloworld/hw2/ '{"action":"FLY"}' "FLY"
cm_expect 409 POST /helloworld/hw1/ '{}' ""
cm_expect 409 POST /simpleforwarder/hw1/ '{}' ""
cm_expect 400 PATCH /helloworld/hw1/type/ '"XDP_SKB"' "type"
cm_expect 400 PATCH /helloworld/hw1/ '{"type":"XDP_SKB"}' "type"
cm_expect 400 POST /helloworld/hw3/ 'this is not json' ""
cm_expect 400 POST /helloworld/hw4/ '{"bogus": 1}' "bogus"
cm_expect 405 PATCH /helloworld/hw1/uuid/ '"0000"' ""
cm_expect 405 PATCH /helloworld/hw1/stats/forwarded/ '5' ""
cm_expect 405 PATCH /helloworld/hw1/ports/port1/status/ '"DOWN"' ""
cm_expect 405 POST /helloworld/hw1/action/ '"DROP"' ""
cm_expect 400 PATCH /helloworld/hw1/loglevel/ '"LOUD"' "LOUD"
cm_expect 400 POST /helloworld/hw1/ports/port2/ '{"peer":"nosuchdev0"}' "nosuchdev0"
cm_expect 409 POST /helloworld/hw1/ports/port2/ "{\"peer\":\"$IFA\"}" "$IFA"
cm_expect 400 POST /helloworld/hw1/ports/port2/ '{"name":"port3"}' ""
cm_expect 404 DELETE /helloworld/hw1/ports/nosuch/ "" ""
cm_expect 400 POST /simpleforwarder/sf1/actions/ '{"action":"DROP"}' ""
cm_expect 400 POST /simpleforwarder/sf1/actions/p1/ '{"action":"JUMP"}' "JUMP"
cm_expect 400 POST '/helloworld/bad%20name/' '{}' ""
cm_expect 400 POST /helloworld/services/ '{}' "reserved"
cm_expect 405 DELETE /services/ "" ""
cm_expect 400 POST /connect '{"peer1":"x"}' ""
cm_expect 404 POST /connect '{"peer1":"nosuch:port1","peer2":"lo"}' "nosuch"
cm_expect 400 POST /helloworld/hw5/ '[1,2,3]' ""
{ printf '{"action":"'; head -c 2000000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$CM_TMP/big.json"
cm_expect 413 POST /helloworld/hw6/ "@$CM_TMP/big.json" "limit"

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
cm_expect 400 POST /helloworld/hw1/ports/port3/ '{}' "port"
cm_check "hw1 reads back as before the refused change" [ "$snap2" = "$(snapshot)" ]
cm_check "the datastore has no port3" bash -c "! grep -q port3 $CM_STATE/instances/helloworld@hw1.json"
cm_check "but has port2" grep -q port2 "$CM_STATE/instances/helloworld@hw1.json"
cm_done

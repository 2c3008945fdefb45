#!/usr/bin/env bash
# Three API defects users met, each as they see it over HTTP:
#  1. /connect and /disconnect act on ports that exist: a typo in a port's
#     name is a 404 naming it, and nothing is created or half-connected.
#  2. A method a resource does not support is a 405 with an Allow header
#     listing the ones it does, on every fixed route and on the model's
#     resources; OPTIONS answers with the same list.
#  3. Enum values are accepted in any case and stored in the model's
#     spelling ("forward" is FORWARD), and traffic follows them.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld simpleforwarder simplebridge
cm_host a 10.207.0.1/24; IFA=$CM_IF
cm_host b 10.207.0.2/24; IFB=$CM_IF

cm_check "setup hw1" $PCNCTL helloworld add hw1
cm_check "setup hw1 port1" $PCNCTL hw1 ports add port1 peer=$IFA
cm_check "setup hw1 port2" $PCNCTL hw1 ports add port2
cm_check "setup hw2" $PCNCTL helloworld add hw2
cm_check "setup hw2 port1" $PCNCTL hw2 ports add port1
cm_check "setup sb1" $PCNCTL simplebridge add sb1

# cm_expect (tests/lib/mesh.sh), with the error body in the RESTCONF
# envelope, not only an error-message.
CM_EXPECT_ERRBODY='"ietf-restconf:errors".*"error-message"'

# The configuration of hw1 and hw2 as the API shows it (counters aside).
snapshot() {
	for c in hw1 hw2; do
		curl -s "${PCN_URL}helloworld/$c/" |
			python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("stats",None); [p.pop("status",None) for p in d.get("ports",[])]; print(json.dumps(d,sort_keys=True))'
	done
}

echo "# 1. connect and disconnect need existing ports"
before=$(snapshot)
# hw2 has room for another port: the typo would make one.
cm_expect 404 POST /connect "{\"peer1\":\"hw2:nosuchport\",\"peer2\":\"$IFB\"}" "nosuchport"
cm_expect 404 POST /connect "{\"peer1\":\"$IFB\",\"peer2\":\"hw2:nosuchport\"}" "nosuchport"
cm_expect 404 POST /connect "{\"peer1\":\"hw1:nosuchport\",\"peer2\":\"$IFB\"}" "nosuchport"
cm_expect 404 POST /connect '{"peer1":"hw1:port2","peer2":"hw2:nosuchport"}' "nosuchport"
cm_expect 404 POST /connect '{"peer1":"hw2:nosuchport","peer2":"hw1:port2"}' "nosuchport"
cm_expect 404 POST /disconnect "{\"peer1\":\"hw1:nosuchport\",\"peer2\":\"$IFA\"}" "nosuchport"
cm_expect 404 POST /disconnect "{\"peer1\":\"$IFA\",\"peer2\":\"hw1:nosuchport\"}" "nosuchport"
cm_expect 404 POST /disconnect '{"peer1":"hw1:port1","peer2":"hw2:nosuchport"}' "nosuchport"
cm_expect 404 POST /disconnect '{"peer1":"hw2:nosuchport","peer2":"hw1:port1"}' "nosuchport"
# The same typo written directly: PATCH changes what exists.
cm_expect 404 PATCH /helloworld/hw2/ports/nosuchport/peer/ "\"$IFB\"" "nosuchport"
after=$(snapshot)
cm_check "hw1 and hw2 read back unchanged" [ "$before" = "$after" ]
cm_check_not "no port nosuchport anywhere" grep -q nosuchport <<<"$after"
cm_check "hw1:port1 still peers $IFA" bash -c "curl -s ${PCN_URL}helloworld/hw1/ports/port1/peer/ | grep -qx '\"$IFA\"'"
# What works keeps working.
cm_expect 200 POST /connect '{"peer1":"hw1:port2","peer2":"hw2:port1"}'
cm_check "hw1:port2 peers hw2:port1" bash -c "curl -s ${PCN_URL}helloworld/hw1/ports/port2/peer/ | grep -qx '\"hw2:port1\"'"
cm_expect 200 POST /disconnect '{"peer1":"hw1:port2","peer2":"hw2:port1"}'
cm_expect 200 PATCH /helloworld/hw1/ports/port2/peer/ "\"$IFB\""

echo "# 2. 405 with Allow on every resource"
# allow_check PATH ALLOWED WRONG...: each wrong method is a 405 whose Allow
# lists ALLOWED (as a set), and OPTIONS answers 204 with the same list.
allow_check() {
	local p=$1 allowed=$2 m code allow
	shift 2
	for m in "$@" OPTIONS; do
		# curl -X HEAD would wait for the body the headers announce.
		if [ "$m" = HEAD ]; then
			code=$(curl -s -I -o "$CM_TMP/b" -D "$CM_TMP/h" -w '%{http_code}' "${PCN_URL%/}$p")
		else
			code=$(curl -s -o "$CM_TMP/b" -D "$CM_TMP/h" -w '%{http_code}' -X "$m" \
				-H 'Content-Type: application/json' --data-binary '{}' "${PCN_URL%/}$p")
		fi
		allow=$(tr -d '\r' <"$CM_TMP/h" | sed -n 's/^[Aa]llow: *//p' | tr -d ' ' | tr ',' '\n' | sort | paste -sd,)
		local want_code=405 want_allow
		want_allow=$(tr -d ' ' <<<"$allowed" | tr ',' '\n' | sort | paste -sd,)
		[ "$m" = OPTIONS ] && want_code=204
		CM_CHECKS=$((CM_CHECKS + 1))
		if [ "$code" != "$want_code" ] || [ "$allow" != "$want_allow" ]; then
			echo "FAIL - $m $p: $code Allow '$allow', want $want_code Allow '$want_allow': $(cat "$CM_TMP/b")"
			CM_FAILS=$((CM_FAILS + 1))
		elif [ "$code" = 405 ] && [ "$m" != HEAD ] && ! grep -q '"error-tag":"operation-not-supported"' "$CM_TMP/b"; then
			echo "FAIL - $m $p: 405 without a RESTCONF error body: $(cat "$CM_TMP/b")"
			CM_FAILS=$((CM_FAILS + 1))
		else
			echo "ok - $code for $m $p (Allow: $allow)"
		fi
	done
}
GET="GET, HEAD, OPTIONS"
POST="POST, OPTIONS"
ALL="GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
for p in / /version /services /services/helloworld /cubes/hw1 /topology /topology/hw1 /netdevs \
	"/netdevs/$IFA" /metrics /logs; do
	allow_check "$p" "$GET" POST PUT PATCH DELETE
done
allow_check /cubes "GET, HEAD, POST, OPTIONS" PUT PATCH DELETE
for p in /connect /disconnect /attach /detach; do
	allow_check "$p" "$POST" GET HEAD PUT PATCH DELETE
done
allow_check /helloworld/ "$GET" POST PUT PATCH DELETE
allow_check /helloworld/hw1/action/ "GET, HEAD, PATCH, DELETE, OPTIONS" POST PUT
allow_check /helloworld/hw1/name/ "$GET" POST PUT PATCH DELETE
# A key names its entry: PATCHing another value into it made a second port.
allow_check /helloworld/hw2/ports/port1/name/ "$GET" POST PUT PATCH DELETE
cm_check "hw2 still has port1 alone" bash -c "[ \"\$(curl -s ${PCN_URL}helloworld/hw2/ports/ | python3 -c 'import json,sys; print(\" \".join(p[\"name\"] for p in json.load(sys.stdin)))')\" = port1 ]"
allow_check /helloworld/hw1/uuid/ "$GET" POST PUT PATCH DELETE
allow_check /helloworld/hw1/stats/ "$GET" POST PUT PATCH DELETE
allow_check /helloworld/hw1/ports/port1/status/ "$GET" POST PUT PATCH DELETE
allow_check /simplebridge/sb1/fdb/flush/ "$POST" GET PUT PATCH DELETE
allow_check /helloworld/hw1/ "$ALL" COPY
# The supported methods answer as before (HEAD as GET, without a body).
cm_expect 200 GET /version
# A path below a resource that has nothing below it names nothing: GET
# /version/x answered the version.
cm_expect 404 GET /version/x "" "/version/x"
cm_expect 404 DELETE /version/x "" "/version/x"
cm_expect 404 POST /connect/x '{"peer1":"hw1:port2","peer2":"hw2:port1"}' "/connect/x"
cm_expect 404 GET /services/helloworld/x "" "/services/helloworld/x"
cm_expect 200 GET /version/
cm_check "HEAD /version: 200, no body" bash -c "[ \"\$(curl -s -I -o /dev/null -w '%{http_code}' ${PCN_URL}version)\" = 200 ]"
# HEAD then GET on one connection: a HEAD answered with a body would be
# read as the start of the GET's answer.
head_then_get() {
	python3 - "$CM_PORT" "$1" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
p = "/polycube/v1" + sys.argv[2]
c.request("HEAD", p); r = c.getresponse(); h = (r.status, r.read())
c.request("GET", p); r = c.getresponse(); g = (r.status, r.read())
sys.exit(0 if h == (200, b"") and g[0] == 200 and g[1] else 1)
PY
}
cm_check "HEAD of /metrics: 200 without a body, then GET" head_then_get /metrics
cm_check "HEAD of hw1's action: 200 without a body, then GET" head_then_get /helloworld/hw1/action/
cm_expect 204 POST /simplebridge/sb1/fdb/flush/
cm_expect 404 GET /helloworld/hw1/nosuchleaf/ "" nosuchleaf
cm_check "GET ?help still describes an action" bash -c "curl -fs '${PCN_URL}simplebridge/sb1/fdb/flush/?help' >/dev/null"

echo "# 3. enum values in any case"
cm_expect 200 PATCH /helloworld/hw1/action/ '"forward"'
cm_check "GET shows FORWARD" bash -c "curl -s ${PCN_URL}helloworld/hw1/action/ | grep -qx '\"FORWARD\"'"
cm_check "a pings b through hw1 (forwarded)" cm_ping a 10.207.0.2
cm_expect 200 PATCH /helloworld/hw1/ '{"action":"Drop","loglevel":"debug"}'
cm_check "GET shows DROP and DEBUG" bash -c "curl -s ${PCN_URL}helloworld/hw1/ | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if (d[\"action\"],d[\"loglevel\"])==(\"DROP\",\"DEBUG\") else 1)'"
cm_check_not "a no longer reaches b (dropped)" cm_ping a 10.207.0.2 2
cm_check "pcnctl hw1 set action=forward" $PCNCTL hw1 set action=forward
cm_check "a pings b again" cm_ping a 10.207.0.2
cm_expect 201 POST /helloworld/hw3/ '{"type":"xdp_skb","action":"slowpath"}'
cm_check "hw3 is XDP_SKB, SLOWPATH" bash -c "curl -s ${PCN_URL}helloworld/hw3/ | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if (d[\"type\"],d[\"action\"])==(\"XDP_SKB\",\"SLOWPATH\") else 1)'"
# A list entry's enum, in a nested body and in a PUT of the whole instance.
cm_check "setup sf1" $PCNCTL simpleforwarder add sf1
cm_expect 200 PATCH /simpleforwarder/sf1/ '{"ports":[{"name":"p1"},{"name":"p2"}],"actions":[{"inport":"p1","action":"forward","outport":"p2"}]}'
cm_check "sf1 p1's action is FORWARD" bash -c "curl -s ${PCN_URL}simpleforwarder/sf1/actions/p1/action/ | grep -qx '\"FORWARD\"'"
cm_expect 200 PATCH /simpleforwarder/sf1/actions/p1/ '{"action":"slowPath"}'
cm_check "sf1 p1's action is SLOWPATH" bash -c "curl -s ${PCN_URL}simpleforwarder/sf1/actions/p1/action/ | grep -qx '\"SLOWPATH\"'"
cm_expect 400 PATCH /helloworld/hw1/action/ '"sideways"' "sideways"
# Query parameters: none of the API's takes an enum value (?help, and
# GET /logs's service, cube and since), so there is nothing to fold there.

# The folded values survive a restart of the broker (the datastore holds
# the model's spelling).
kill "$CM_BROKER_PID"; wait "$CM_BROKER_PID" 2>/dev/null
cm_broker_start
for s in helloworld simpleforwarder; do cm_wait_service_up $s; done
cm_check "after a restart hw1's action is FORWARD" bash -c "curl -s ${PCN_URL}helloworld/hw1/action/ | grep -qx '\"FORWARD\"'"
cm_check "after a restart sf1 p1's action is SLOWPATH" bash -c "curl -s ${PCN_URL}simpleforwarder/sf1/actions/p1/action/ | grep -qx '\"SLOWPATH\"'"
cm_check_not "still no port nosuchport" bash -c "curl -s ${PCN_URL}cubes/ | grep -q nosuchport"

cm_done

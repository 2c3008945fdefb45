#!/usr/bin/env bash
# The gateway against a hostile web page and a crowd of clients: a write
# whose body is not declared JSON is 415, a request from a foreign Origin is
# 403, a Host naming another server (DNS rebinding) is 421, CORS headers go
# only to an allowed origin, h2c is off unless asked, and the connection cap
# keeps the broker able to save a write while clients hog sockets. Nothing
# refused may leave a trace: the configuration reads back the same and
# traffic keeps flowing.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.241.0.1/24; IFA=$CM_IF
cm_host b 10.241.0.2/24; IFB=$CM_IF
cm_host c 10.241.1.1/24; IFC=$CM_IF
API=${PCN_URL%/}

cm_check "setup hw1 forwarding a <-> b" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD"
cm_check "pings a -> b through hw1" cm_ping a 10.241.0.2

snapshot() { curl -s "${PCN_URL}helloworld/hw1/" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("stats",None); print(json.dumps(d,sort_keys=True))'; }
before=$(snapshot)
cubes_before=$(curl -s "${PCN_URL}cubes")

# code ARGS...: the status of curl ARGS (the body in $CM_TMP/out, the
# headers in $CM_TMP/hdr).
code() { curl -s -o "$CM_TMP/out" -D "$CM_TMP/hdr" -w '%{http_code}' "$@"; }
restconf_error() { grep -q '"ietf-restconf:errors"' "$CM_TMP/out"; }
no_cors() { ! grep -qi '^access-control-' "$CM_TMP/hdr"; }
ok2xx() { [ "$1" = 200 ] || [ "$1" = 204 ]; }

echo "# the page of the issue: text/plain, with and without its Origin"
s=$(code -X POST -H 'Content-Type: text/plain' -H 'Origin: http://evil.example' \
	-d "{\"ports\":[{\"name\":\"p1\",\"peer\":\"$IFC\"}]}" "$API/helloworld/x")
cm_check "text/plain from http://evil.example: 403 (got $s)" [ "$s" = 403 ]
cm_check "  with a RESTCONF error" restconf_error
cm_check "  and no CORS header" no_cors
s=$(code -X POST -H 'Content-Type: text/plain' -d "{\"ports\":[{\"name\":\"p1\",\"peer\":\"$IFC\"}]}" "$API/helloworld/x")
cm_check "the same without Origin: 415 (got $s)" [ "$s" = 415 ]
cm_check "  with a RESTCONF error" restconf_error
s=$(code -X POST -d "{\"ports\":[{\"name\":\"p1\",\"peer\":\"$IFC\"}]}" "$API/helloworld/x")
cm_check "a form-encoded body: 415 (got $s)" [ "$s" = 415 ]
s=$(code -X POST -H 'Content-Type: application/x-www-form-urlencoded' "$API/helloworld/x")
cm_check "an empty form: 415 (got $s)" [ "$s" = 415 ]
s=$(code -X PATCH -H 'Content-Type: text/plain' -d '"DROP"' "$API/helloworld/hw1/action/")
cm_check "text/plain PATCH of hw1's action: 415 (got $s)" [ "$s" = 415 ]
s=$(code -X POST -H 'Content-Type: text/plain' -d "{\"peer1\":\"hw1:port3\",\"peer2\":\"$IFC\"}" "$API/connect")
cm_check "text/plain /connect: 415 (got $s)" [ "$s" = 415 ]
s=$(code -X POST -H 'Content-Type: text/plain' -d "{\"peer1\":\"hw1:port1\",\"peer2\":\"$IFA\"}" "$API/disconnect")
cm_check "text/plain /disconnect: 415 (got $s)" [ "$s" = 415 ]
s=$(code -X POST -H 'Content-Type: multipart/form-data; boundary=x' -d '--x--' "$API/helloworld/x")
cm_check "multipart: 415 (got $s)" [ "$s" = 415 ]
s=$(code -X POST -H 'Origin: null' -H 'Content-Type: application/json' -d '{}' "$API/helloworld/x")
cm_check "Origin null (a sandboxed page), even with JSON: 403 (got $s)" [ "$s" = 403 ]
s=$(code -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST' "$API/helloworld/x")
cm_check "a preflight from http://evil.example: 403 (got $s)" [ "$s" = 403 ]
cm_check "  without CORS headers" no_cors
s=$(code -H 'Origin: http://evil.example' "$API/helloworld/hw1/")
cm_check "a read from http://evil.example: 403 (got $s)" [ "$s" = 403 ]
s=$(code "$API/version")
cm_check "no Origin: 200 (got $s)" [ "$s" = 200 ]
cm_check "  and no CORS header by default" no_cors

echo "# DNS rebinding: a name of the attacker's pointing at 127.0.0.1"
s=$(code -H 'Host: rebind.evil.example' "$API/helloworld/hw1/")
cm_check "GET with Host rebind.evil.example: 421 (got $s)" [ "$s" = 421 ]
s=$(code -H "Host: rebind.evil.example:$CM_PORT" -X POST -H 'Content-Type: application/json' -d '{}' "$API/helloworld/x")
cm_check "POST with Host rebind.evil.example:port, JSON and all: 421 (got $s)" [ "$s" = 421 ]
for h in "localhost:$CM_PORT" "127.0.0.1" "LOCALHOST"; do
	s=$(code -H "Host: $h" "$API/version")
	cm_check "Host $h: 200 (got $s)" [ "$s" = 200 ]
done
s=$(cm_http10_nohost)
cm_check "HTTP/1.0 without Host, on loopback: 200 ($s)" [ "$s" = "HTTP/1.1 200 OK" ]

echo "# HTTP/2 in clear is off by default"
cm_check_not "prior-knowledge h2c is refused" curl -fs -o /dev/null --http2-prior-knowledge "$API/version"
v=$(curl -s -o /dev/null -w '%{http_version}' --http2 "$API/version")
cm_check "an Upgrade: h2c is not taken (HTTP $v)" [ "$v" = 1.1 ]

echo "# nothing refused left a trace"
s=$(code "$API/helloworld/x/")
cm_check "no instance x (GET: $s)" [ "$s" = 404 ]
cm_check "hw1 reads back the same" [ "$(snapshot)" = "$before" ]
cm_check "GET /cubes the same" [ "$(curl -s "${PCN_URL}cubes")" = "$cubes_before" ]
cm_check_not "$IFC has no program" bash -c "ip -d link show $IFC | grep -q 'prog/xdp' || tc filter show dev $IFC ingress | grep -q bpf"
cm_check "pings a -> b still pass" cm_ping a 10.241.0.2
s=$(code -X PATCH -H 'Content-Type: Application/YANG-Data+JSON; charset=utf-8' -d '"FORWARD"' "$API/helloworld/hw1/action/")
cm_check "a JSON write still works (yang-data+json; charset): $s" ok2xx "$s"
cm_check "and a bodiless DELETE needs no Content-Type" bash -c "$PCNCTL helloworld add hw9 && [ \$(curl -s -o /dev/null -w '%{http_code}' -X DELETE $API/helloworld/hw9/) = 204 ]"

echo "# a trusted UI on another origin, a name for the API, a connection cap, h2c on"
kill "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
UI=http://ui.example:8080
cm_broker_start --allow-origin "https://other.example, $UI/" --allow-host api.example --max-connections 8 --http2
cm_check "helloworld registers again" cm_wait_service_up helloworld
s=$(code -H "Origin: $UI" "$API/helloworld/hw1/")
cm_check "a read from $UI: 200 (got $s)" [ "$s" = 200 ]
cm_check "  with Access-Control-Allow-Origin: $UI" grep -qix "access-control-allow-origin: $UI"$'\r' "$CM_TMP/hdr"
s=$(code -X OPTIONS -H "Origin: $UI" -H 'Access-Control-Request-Method: PATCH' \
	-H 'Access-Control-Request-Headers: content-type' "$API/helloworld/hw1/action/")
cm_check "its preflight: 204 (got $s)" [ "$s" = 204 ]
cm_check "  allowing PATCH and Content-Type" bash -c "grep -qi '^access-control-allow-methods:.*PATCH' $CM_TMP/hdr && grep -qi '^access-control-allow-headers:.*content-type' $CM_TMP/hdr"
s=$(code -X PATCH -H "Origin: $UI" -H 'Content-Type: application/json' -d '"FORWARD"' "$API/helloworld/hw1/action/")
cm_check "its JSON write: 2xx (got $s)" ok2xx "$s"
s=$(code -X POST -H "Origin: $UI" -H 'Content-Type: text/plain' -d '{}' "$API/helloworld/x")
cm_check "its text/plain write: 415 all the same (got $s)" [ "$s" = 415 ]
s=$(code -H 'Origin: http://evil.example' "$API/helloworld/hw1/")
cm_check "another origin: 403 (got $s)" [ "$s" = 403 ]
cm_check "  without CORS headers" no_cors
s=$(code -H "Host: api.example:$CM_PORT" "$API/version")
cm_check "Host api.example (--allow-host): 200 (got $s)" [ "$s" = 200 ]
s=$(code -H 'Host: rebind.evil.example' "$API/version")
cm_check "Host rebind.evil.example: still 421 (got $s)" [ "$s" = 421 ]
v=$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --http2-prior-knowledge "$API/version")
cm_check "--http2: prior-knowledge h2c answers ($v)" [ "$v" = "200 2" ]
s=$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Host: rebind.evil.example' "$API/version")
cm_check "  and checks its :authority too (got $s)" [ "$s" = 421 ]

echo "# 40 idle connections against a cap of 8, descriptors tight"
# Leave the broker 16 descriptors above what it uses now: without the cap
# the idle connections would take them all and the write below could not
# be saved.
nfd=$(ls /proc/"$CM_BROKER_PID"/fd | wc -l)
prlimit --pid "$CM_BROKER_PID" --nofile=$((nfd + 16)):$((nfd + 16))
python3 - "$CM_PORT" >"$CM_TMP/conns.out" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(40)]
time.sleep(1)
kept = []
for s in socks:
    s.settimeout(0.2)
    try:
        if s.recv(1) == b"":
            continue
    except socket.timeout:
        kept.append(s)
        continue
    except OSError:
        continue
print("kept", len(kept))
body = b'{"ports":[{"name":"p1"}]}'
kept[0].settimeout(10)
kept[0].sendall(b"POST /polycube/v1/helloworld/capw/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
print("write", kept[0].recv(64).split(b"\r\n")[0].decode())
EOF
cat "$CM_TMP/conns.out"
cm_check "the broker kept 8 connections and closed the 32 others" grep -qx "kept 8" "$CM_TMP/conns.out"
cm_check "a write on a kept one: 201" grep -qx "write HTTP/1.1 201 Created" "$CM_TMP/conns.out"
cm_check "the cap was logged once" [ "$(grep -c 'BROKER-HTTP-CONNCAP:' "$CM_TMP/broker.log")" = 1 ]
for _ in $(seq 1 20); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$API/version")" = 200 ] && break
	sleep 0.1
done
cm_check "once they are gone the API answers" [ "$(curl -s -o /dev/null -w '%{http_code}' "$API/helloworld/capw/")" = 200 ]
cm_check "and capw was saved" test -s "$CM_STATE/instances/helloworld@capw.json"
cm_check_not "no write went unsaved" grep -q "could not be saved" "$CM_TMP/broker.log"
cm_check "hw1 reads back as before" [ "$(snapshot)" = "$before" ]
cm_check "pings a -> b still pass" cm_ping a 10.241.0.2
cm_done

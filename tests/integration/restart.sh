#!/usr/bin/env bash
# Restarts: kill -9 the cube process while pings flow through FORWARD — they
# keep passing, REST calls for the cube answer 503, and when it is back its
# configuration is there. Then kill -9 the broker: the data plane keeps
# forwarding, and after the restart every instance is back in GET /cubes.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.204.0.1/24; IFA=$CM_IF
cm_host b 10.204.0.2/24; IFB=$CM_IF

status_of() { curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}$1"; }

# ping_stream N: N pings 20 ms apart from a to b in the background; the
# summary goes to $CM_TMP/ping.out.
ping_stream() {
	ip netns exec "$(cm_ns a)" ping -c "$1" -i 0.02 -W 1 -q 10.204.0.2 >"$CM_TMP/ping.out" 2>&1 &
	PING_PID=$!
}
# ping_received: how many replies the finished stream got (wait for it in
# this shell first: a command substitution cannot wait for it).
ping_received() {
	grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}'
}

for hook in TC XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create" bash -c "$PCNCTL helloworld add hw1 type=$hook && $PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD"
	cm_check "$hook: pings pass" cm_ping a 10.204.0.2

	# The cube process dies mid-stream.
	ping_stream 250
	sleep 1
	kill -9 "${CM_CUBE_PID[helloworld]}"
	sleep 0.5
	cm_check "$hook: REST for hw1 answers 503 while the process is down" [ "$(status_of helloworld/hw1/)" = 503 ]
	cm_check "$hook: GET /services says down" bash -c "curl -s ${PCN_URL}services/helloworld | grep -q '\"state\": \"down\"'"
	cm_check "$hook: writes answer 503 too" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' -d '\"DROP\"' ${PCN_URL}helloworld/hw1/action/) = 503 ]"
	cm_cube_start helloworld
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the cube restart (250 sent, $got received)" [ "$got" = 250 ]
	cm_check "$hook: configuration is back" bash -c "$PCNCTL -j hw1 action show | grep -q FORWARD"
	cm_check "$hook: registrations counted" bash -c "curl -s ${PCN_URL}services/helloworld | grep -q '\"registrations\": [2-9]'"

	# The broker dies mid-stream.
	ping_stream 250
	sleep 1
	kill -9 "$CM_BROKER_PID"
	sleep 0.5
	cm_broker_start
	cm_wait_service_up helloworld
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the broker restart (250 sent, $got received)" [ "$got" = 250 ]
	cm_check "$hook: hw1 is back in GET /cubes" bash -c "curl -s ${PCN_URL}cubes | grep -q '\"hw1\"'"
	cm_check "$hook: its ports are back and UP" bash -c "$PCNCTL -j hw1 ports show | grep -c '\"UP\"' | grep -qx 2"
	cm_check "$hook: still FORWARD" bash -c "$PCNCTL -j hw1 action show | grep -q FORWARD"
	cm_check "$hook: and still forwarding" cm_ping b 10.204.0.1
	cm_check "$hook: delete" $PCNCTL hw1 del
	cm_check_not "$hook: deleted: pings stop" cm_ping a 10.204.0.2 2
done

echo "# the broker away for 8 s, longer than a cube waits before it dials afresh"
cm_check "create hw2" $PCNCTL helloworld add hw2 type=TC
kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
sleep 8
cm_broker_start
cm_check "helloworld registers again" cm_wait_service_up helloworld
cm_check "hw2 is back" bash -c "curl -s ${PCN_URL}cubes | grep -q '\"hw2\"'"
cm_check "delete hw2" $PCNCTL hw2 del
cm_done

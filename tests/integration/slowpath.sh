#!/usr/bin/env bash
# The slow path end to end, with helloworld's SLOWPATH action: packets reach
# pcn_pkt_in and /metrics counts them; while the cube process is stopped the
# broker drops them (counted as cube_down) and keeps answering HTTP; when the
# process is back the slow path resumes. Fast-path pcn_log lines at DEBUG
# reach the broker's log only when the instance's loglevel allows them.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.202.0.1/24; IFA=$CM_IF
cm_host b 10.202.0.2/24; IFB=$CM_IF
# A static neighbour: echo requests go up, not ARP.
ip -n "$(cm_ns a)" neigh replace 10.202.0.2 dev eth0 \
	lladdr "$(ip -n "$(cm_ns b)" link show eth0 | awk '/ether/ {print $2}')"

# metric NAME{LABELS}: its value in /metrics (empty if absent).
metric() { curl -s "${PCN_URL}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
L='{service="helloworld",cube="hw1"}'
Ldown='{service="helloworld",cube="hw1",reason="cube_down"}'
pkt_in_lines() { grep -c 'HELLOWORLD-PKT-IN: hw1: .* 98 bytes, ethertype 0x0800' "$CM_TMP/helloworld.log" || true; }
debug_lines() { grep -c 'CUBE-FASTPATH-LOG: helloworld hw1 \[DEBUG\] helloworld: in_port' "$CM_TMP/broker.log" || true; }
# until SECONDS CMD...: retries CMD every 0.1 s.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
ge() { [ "${1:-0}" -ge "$2" ]; }
metric_ge() { ge "$(metric "$1")" "$2"; }
debug_ge() { ge "$(debug_lines)" "$1"; }
lines_ge() { ge "$(pkt_in_lines)" "$1"; }
service_down() { curl -s "${PCN_URL}services/helloworld" | grep -q '"state": "down"'; }

cm_check "create hw1 (TC)" $PCNCTL helloworld add hw1 type=TC
cm_check "port1 peer" $PCNCTL hw1 ports add port1 peer=$IFA
cm_check "port2 peer" $PCNCTL hw1 ports add port2 peer=$IFB
cm_check "set SLOWPATH" $PCNCTL hw1 set action=SLOWPATH

echo "# packets up reach pcn_pkt_in and are counted"
cm_check_not "pings do not pass" cm_ping a 10.202.0.2 3
cm_check "pcn_pkt_in saw the 3 echo requests" until_ok 3 lines_ge 3
cm_check "metrics: fast path sent them up" metric_ge "cubemesh_cube_to_slowpath_packets_total$L" 3
cm_check "metrics: the broker handed them to the cube" metric_ge "cubemesh_slowpath_to_cube_packets_total$L" 3
cm_check "metrics: no cube_down drops yet" [ "$(metric "cubemesh_slowpath_dropped_packets_total$Ldown")" = 0 ]
cm_check "metrics: OpenMetrics ends with # EOF" bash -c "curl -s ${PCN_URL}metrics | tail -n 1 | grep -qx '# EOF'"

big_seen() { grep -c 'HELLOWORLD-PKT-IN: hw1: .* 1242 bytes, ethertype 0x0800' "$CM_TMP/helloworld.log" || true; }
big_ge() { [ "$(big_seen)" -ge "$1" ]; }
ip netns exec "$(cm_ns a)" ping -c 2 -i 0.2 -W 1 -q -s 1200 10.202.0.2 >/dev/null 2>&1
cm_check "large packets (1242 bytes) reach pcn_pkt_in" until_ok 3 big_ge 2

echo "# fast-path log level"
before=$(debug_lines)
cm_ping a 10.202.0.2 2
sleep 0.5
cm_check "loglevel INFO: no DEBUG line from the fast path" [ "$(debug_lines)" = "$before" ]
cm_check "set loglevel DEBUG" $PCNCTL hw1 set loglevel=DEBUG
cm_ping a 10.202.0.2 2
cm_check "loglevel DEBUG: the fast path's DEBUG lines reach the broker" until_ok 3 debug_ge $((before + 2))
logs() { curl -s "${PCN_URL}logs?$1"; }
cm_check "GET /logs?cube=hw1: the fast path's DEBUG lines" \
	bash -c "curl -s '${PCN_URL}logs?cube=hw1' | python3 -c 'import json,sys; l=json.load(sys.stdin)[\"lines\"]; \
sys.exit(not any(x[\"source\"]==\"fastpath\" and x[\"level\"]==\"DEBUG\" and \"in_port\" in x[\"message\"] for x in l))'"
cm_check "GET /logs?cube=hw1: the cube process's own lines (pkt_in)" \
	bash -c "curl -s '${PCN_URL}logs?cube=hw1' | python3 -c 'import json,sys; l=json.load(sys.stdin)[\"lines\"]; \
sys.exit(not any(x[\"source\"]==\"control\" and x[\"message\"].startswith(\"HELLOWORLD-PKT-IN\") for x in l))'"
cm_check "GET /logs?cube=nosuch: nothing" \
	bash -c "[ \"\$(curl -s '${PCN_URL}logs?cube=nosuch' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"lines\"]))')\" = 0 ]"
next=$(logs cube=hw1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
cm_ping a 10.202.0.2 1
# follow_ok: asking from `next` gives only newer lines, and some.
follow_ok() {
	logs "cube=hw1&since=$next" | python3 -c "import json,sys; l=json.load(sys.stdin)['lines']; \
sys.exit(not (l and all(x['seq'] >= $next for x in l)))"
}
cm_check "GET /logs?since=next follows: only newer lines" until_ok 3 follow_ok
cm_check "set loglevel INFO" $PCNCTL hw1 set loglevel=INFO
sleep 0.3
mid=$(debug_lines)
cm_ping a 10.202.0.2 2
sleep 0.5
cm_check "loglevel INFO again: no more DEBUG lines" [ "$(debug_lines)" = "$mid" ]

echo "# the cube process stops: drops are counted, the broker keeps answering"
kill "${CM_CUBE_PID[helloworld]}"
wait "${CM_CUBE_PID[helloworld]}" 2>/dev/null
cm_check "the service is down" until_ok 5 service_down
seen=$(pkt_in_lines)
cm_ping a 10.202.0.2 5
cm_check "metrics: cube_down drops rose" until_ok 3 metric_ge "cubemesh_slowpath_dropped_packets_total$Ldown" 5
cm_check "HTTP still answers" curl -fs -o /dev/null "${PCN_URL}version"
cm_check "metrics: the service is down" [ "$(metric 'cubemesh_service_up{service="helloworld"}')" = 0 ]

echo "# the process comes back: the slow path resumes"
cm_check "restart the cube" cm_cube_start helloworld
cm_ping a 10.202.0.2 3
cm_check "pcn_pkt_in sees packets again" until_ok 5 lines_ge $((seen + 3))
cm_check "metrics: the service is up" [ "$(metric 'cubemesh_service_up{service="helloworld"}')" = 1 ]
cm_check "metrics: two registrations" [ "$(metric 'cubemesh_service_registrations_total{service="helloworld"}')" = 2 ]
cm_check "metrics: one restart" [ "$(metric 'cubemesh_service_restarts_total{service="helloworld"}')" = 1 ]

echo "# an instance deleted while its packets wait in a slow-path batch: the broker stays up"
# Each delete lands while the fast path is sending up flat out, so packets
# of the instance are often still batched when it is freed.
flood_del() {
	local ok=0
	for _ in 1 2 3 4 5; do
		ip netns exec "$(cm_ns a)" ping -q -i 0 -w 2 10.202.0.2 >/dev/null 2>&1 &
		local fp=$!
		sleep 0.3
		$PCNCTL hw1 del >/dev/null && ok=$((ok + 1))
		kill "$fp" 2>/dev/null
		wait "$fp" 2>/dev/null
		$PCNCTL helloworld add hw1 type=TC >/dev/null &&
			$PCNCTL hw1 ports add port1 peer=$IFA >/dev/null &&
			$PCNCTL hw1 ports add port2 peer=$IFB >/dev/null &&
			$PCNCTL hw1 set action=SLOWPATH >/dev/null || return 1
	done
	[ "$ok" = 5 ]
}
cm_check "delete hw1 five times under a slow-path flood" flood_del
cm_check "the broker is still running" kill -0 "$CM_BROKER_PID"
cm_check "HTTP still answers after the deletes" curl -fs -o /dev/null "${PCN_URL}version"
cm_check "delete hw1" $PCNCTL hw1 del
cm_done

#!/usr/bin/env bash
# Hitless reload (pcn_reload_all): a ping stream crosses the reloadtest cube
# (entry program + one ingress micro-cube) while the cube reloads its whole
# fast path every 10 ms for 10 s, from its precompiled object and then from
# its C source (clang at each reload). Every echo request and reply is
# counted: none may be lost; the maps keep their content (the fast path
# forwards only while its armed map says so, and its forwarded counter keeps
# growing across reloads); no tail call is missed.
source "$(dirname "$0")/../lib/mesh.sh"

cm_broker_start
# A test-only cube, built under tests/ so the supervisor never runs it.
"$CM_BUILD/tests/reload/pcn-reloadtest" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" \
	>>"$CM_TMP/reloadtest.log" 2>&1 &
CM_PIDS+=("$!")
cm_wait_service_up reloadtest
cm_host a 10.205.0.1/24; IFA=$CM_IF
cm_host b 10.205.0.2/24; IFB=$CM_IF
# Static neighbours: every packet of the stream is an echo request or reply.
mac_of() { ip -n "$(cm_ns "$1")" link show eth0 | awk '/ether/ {print $2}'; }
ip -n "$(cm_ns a)" neigh replace 10.205.0.2 dev eth0 lladdr "$(mac_of b)"
ip -n "$(cm_ns b)" neigh replace 10.205.0.1 dev eth0 lladdr "$(mac_of a)"

stat_of() {
	curl -s "${PCN_URL}reloadtest/rt1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$1']))"
}
misses() {
	curl -s "${PCN_URL}reloadtest/rt1/tail-call-misses/" |
		python3 -c "import json,sys; print(sum(int(v) for v in json.load(sys.stdin).values()))"
}

# stream SECONDS: pings every 5 ms; prints "sent received".
stream() {
	local n=$(($1 * 200))
	ip netns exec "$(cm_ns a)" ping -i 0.005 -c "$n" -W 2 -q 10.205.0.2 2>/dev/null |
		awk '/transmitted/ {print $1, $4}'
}

for hook in TC XDP_SKB; do
	echo "# hook $hook"
	cm_check "$hook: create rt1" $PCNCTL reloadtest add rt1 type=$hook
	cm_check "$hook: ports" bash -c "$PCNCTL rt1 ports add p0 peer=$IFA && $PCNCTL rt1 ports add p1 peer=$IFB"
	cm_check "$hook: pings pass" cm_ping a 10.205.0.2
	for from in OBJECT SOURCE; do
		fwd0=$(stat_of forwarded); rl0=$(stat_of reloads)
		cm_check "$hook/$from: reload every 10 ms" $PCNCTL rt1 set reload-from=$from reload-period-ms=10
		read -r sent recv < <(stream 10)
		cm_check "$hook/$from: reloads stopped" $PCNCTL rt1 set reload-period-ms=0
		rl=$(( $(stat_of reloads) - rl0 ))
		echo "# $hook/$from: $rl reloads while $sent echo requests were sent, $recv replies received"
		cm_check "$hook/$from: the stream ran ($sent sent)" [ "${sent:-0}" -ge 1000 ]
		cm_check "$hook/$from: zero loss ($recv of $sent)" [ "${recv:-0}" = "${sent:-x}" ]
		# Not a speed test: enough reloads to have swapped under traffic
		# (from source each waits for clang, slow on a busy machine).
		cm_check "$hook/$from: the cube reloaded during the stream ($rl times)" [ "$rl" -ge 3 ]
		cm_check "$hook/$from: no reload failed" [ "$(stat_of reload-errors)" = 0 ]
		fwd=$(( $(stat_of forwarded) - fwd0 ))
		cm_check "$hook/$from: the forwarded counter kept counting across reloads ($fwd)" \
			[ "$fwd" -ge $((2 * ${recv:-1})) ]
		cm_check "$hook/$from: no missed tail call" [ "$(misses)" = 0 ]
	done
	cm_check "$hook: disarm (the map the reloads kept is the one the fast path reads)" \
		$PCNCTL rt1 set armed=false
	cm_check_not "$hook: disarmed: pings stop" cm_ping a 10.205.0.2 2
	cm_check "$hook: delete" $PCNCTL rt1 del
done
cm_done

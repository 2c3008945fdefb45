#!/usr/bin/env bash
# The log ring as users read it: `pcnctl logs` prints a cube's fast-path
# pcn_log lines, --follow prints new ones as they come, --service filters;
# the broker's own lines are there too (service pcn-broker, source broker)
# without the fast-path lines twice. And /metrics has each cube process's
# count of packets out it lost, under the pid it registered with.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.211.0.1/24; IFA=$CM_IF
cm_host b 10.211.0.2/24; IFB=$CM_IF

# until SECONDS CMD...: retries CMD every 0.1 s.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
has() { grep -q -- "$2" "$1"; }
count() { grep -c -- "$2" "$1" || true; }

cm_check "create hw1 (TC, loglevel DEBUG)" $PCNCTL helloworld add hw1 type=TC loglevel=DEBUG
cm_check "ports" bash -c "$PCNCTL hw1 ports add port1 peer=$IFA >/dev/null && $PCNCTL hw1 ports add port2 peer=$IFB >/dev/null"
cm_check "FORWARD" $PCNCTL hw1 set action=FORWARD
cm_check "pings pass" cm_ping a 10.211.0.2 2

echo "# pcnctl logs <cube>"
fp_line='helloworld/hw1 fastpath: helloworld: in_port'
got_fp() { $PCNCTL logs hw1 >"$CM_TMP/out" && has "$CM_TMP/out" "$fp_line"; }
cm_check "pcnctl logs hw1: the fast path's pcn_log lines" until_ok 3 got_fp
cm_check "pcnctl logs hw1: only hw1's lines" bash -c "! grep -v ' helloworld/hw1 ' '$CM_TMP/out'"
cm_check "pcnctl -j logs hw1: one JSON object per line, fields as GET /logs" \
	bash -c "$PCNCTL -j logs hw1 | python3 -c 'import json,sys; l=[json.loads(x) for x in sys.stdin]; \
sys.exit(not (l and all(x[\"cube\"]==\"hw1\" for x in l) and any(x[\"source\"]==\"fastpath\" for x in l)))'"
cm_check "pcnctl logs nosuch: nothing, exit 0" bash -c "[ -z \"\$($PCNCTL logs nosuch)\" ]"
cm_check_not "pcnctl logs a b: usage error" $PCNCTL logs a b
cm_check "  ... exit status 2" bash -c "$PCNCTL logs a b 2>/dev/null; [ \$? = 2 ]"
cm_check_not "--follow without logs: usage error" $PCNCTL cubes --follow

echo "# pcnctl logs --follow"
$PCNCTL logs hw1 --follow >"$CM_TMP/follow" 2>&1 &
fpid=$!
CM_PIDS+=("$fpid")
cm_check "it prints what is there" until_ok 5 has "$CM_TMP/follow" "$fp_line"
n0=$(count "$CM_TMP/follow" "$fp_line")
cm_ping a 10.211.0.2 3
more() { [ "$(count "$CM_TMP/follow" "$fp_line")" -ge $((n0 + 3)) ]; }
cm_check "and then the new lines ($n0 -> more)" until_ok 5 more
cm_check "still running" kill -0 "$fpid"
kill "$fpid" 2>/dev/null

echo "# the broker's own lines"
cm_check "create and delete hw2" bash -c "$PCNCTL helloworld add hw2 >/dev/null && $PCNCTL hw2 del >/dev/null"
broker_line() {
	curl -s "${PCN_URL}logs?service=pcn-broker" | python3 -c 'import json,sys; l=json.load(sys.stdin)["lines"]; \
sys.exit(not any(x["source"]=="broker" and x["message"].startswith("BROKER-INSTANCE-DELETED: deleted hw2") for x in l))'
}
cm_check "GET /logs?service=pcn-broker: BROKER-INSTANCE-DELETED of hw2" until_ok 3 broker_line
cm_check "pcnctl logs --service pcn-broker: the same line, after BROKER-INSTANCE-CREATED of hw2" \
	bash -c "$PCNCTL logs --service pcn-broker | grep -A100 ' pcn-broker broker: BROKER-INSTANCE-CREATED: created hw2 ' | grep -q ' pcn-broker broker: BROKER-INSTANCE-DELETED: deleted hw2 '"
cm_check "and the registration of helloworld, logged before any request" \
	bash -c "$PCNCTL logs --service pcn-broker | grep -q 'BROKER-CUBE-REGISTERED: helloworld'"
cm_check "fast-path lines are not repeated as the broker's" \
	bash -c "! $PCNCTL logs --service pcn-broker | grep -q CUBE-FASTPATH-LOG"
cm_check "pcnctl logs --service helloworld: no broker line" \
	bash -c "$PCNCTL logs --service helloworld | grep -q fastpath && ! $PCNCTL logs --service helloworld | grep -q pcn-broker"

echo "# packets out lost by each cube process, in /metrics"
lost_series() { curl -s "${PCN_URL}metrics" | grep "^cubemesh_cube_slowpath_out_lost_packets_total{service=\"helloworld\",pid=\"$1\"} "; }
pid1=${CM_CUBE_PID[helloworld]}
cm_check "declared as a counter" bash -c "curl -s ${PCN_URL}metrics | grep -qx '# TYPE cubemesh_cube_slowpath_out_lost_packets counter'"
cm_check "helloworld (pid $pid1): 0 lost" until_ok 5 bash -c "$(declare -f lost_series); lost_series $pid1 | grep -q ' 0$'"
kill "$pid1"
wait "$pid1" 2>/dev/null
cm_cube_start helloworld
pid2=${CM_CUBE_PID[helloworld]}
cm_check "restarted (pid $pid2): its own series" until_ok 5 bash -c "$(declare -f lost_series); lost_series $pid2 | grep -q ' 0$'"
cm_check "the exited process's series is gone" bash -c "$(declare -f lost_series); ! lost_series $pid1"
cm_done

#!/usr/bin/env bash
# A cube's pcn_reload in an update round that reloads the instance itself
# (a new loglevel): the reloadtest cube's handler for reload-in-round
# reloads its fast path n times in the round (n >= 100: n - 100 times, then
# fails the round; 99: from source clang refuses). The process must
# survive every order (the runtime's object was closed twice, or used
# after a handler's second reload closed it), the handler's last reload
# is what the PatchPanel runs, pings pass, and the failed reload's reason
# reaches the REST client.
source "$(dirname "$0")/../lib/mesh.sh"

cm_broker_start
"$CM_BUILD/tests/reload/pcn-reloadtest" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" \
	>>"$CM_TMP/reloadtest.log" 2>&1 &
RTPID=$!
CM_PIDS+=("$RTPID")
cm_wait_service_up reloadtest
cm_host a 10.206.0.1/24; IFA=$CM_IF
cm_host b 10.206.0.2/24; IFB=$CM_IF

PIN="$CM_BPFFS/cubes/reloadtest/rt1"
stat_of() {
	curl -s "${PCN_URL}reloadtest/rt1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$1']))"
}
# The id of the entry program pinned for rt1, and the newest entry program
# on rt1's armed map (the last one loaded for it).
pinned_id() { bpftool prog show pinned "$PIN/prog" 2>/dev/null | sed -n 's/^\([0-9]*\):.*/\1/p'; }
newest_id() {
	local map name
	map=$(bpftool map show pinned "$PIN/reloadtest_armed" 2>/dev/null | sed -n 's/^\([0-9]*\):.*/\1/p')
	name=$(bpftool -j prog show pinned "$PIN/prog" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['name'])")
	bpftool -j prog show 2>/dev/null | python3 -c "
import json, sys
ids = [p['id'] for p in json.load(sys.stdin) if p.get('name') == '$name' and ${map:-0} in p.get('map_ids', [])]
print(max(ids) if ids else 0)"
}
alive() { kill -0 "$RTPID" 2>/dev/null; }

cm_check "create rt1 (TC)" $PCNCTL reloadtest add rt1 type=TC
cm_check "ports" bash -c "$PCNCTL rt1 ports add p0 peer=$IFA && $PCNCTL rt1 ports add p1 peer=$IFB"
cm_check "pings pass" cm_ping a 10.206.0.2

rl0=$(stat_of reloads)
cm_check "a new loglevel and two handler reloads in one round" \
	$PCNCTL rt1 set loglevel=DEBUG reload-in-round=2
cm_check "the cube process is alive" alive
cm_check "the handlers' reloads counted (2)" [ "$(( $(stat_of reloads) - rl0 ))" = 2 ]
cm_check "the PatchPanel runs the handler's last reload ($(pinned_id) = $(newest_id))" \
	[ "$(pinned_id)" = "$(newest_id)" ]
cm_check "pings pass after the round" cm_ping a 10.206.0.2

out=$($PCNCTL rt1 set loglevel=INFO reload-in-round=101 2>&1)
cm_check_not "a round failing after a handler's reload fails ($out)" [ $? = 0 ]
cm_check "its reason reaches the client" grep -q "failing the round after 1 reloads" <<<"$out"
cm_check "the cube process is alive" alive
cm_check "pings pass after the failed round" cm_ping a 10.206.0.2
# What the failed round left is closed once: more rounds of both kinds.
for i in 1 2 3; do
	$PCNCTL rt1 set loglevel=TRACE reload-in-round=3 >/dev/null 2>&1
	$PCNCTL rt1 set loglevel=DEBUG reload-in-round=102 >/dev/null 2>&1
	$PCNCTL rt1 set loglevel=INFO reload-in-round=1 >/dev/null 2>&1
done
cm_check "the cube process survived nine more rounds" alive
cm_check "a round without a new level reloads too" $PCNCTL rt1 set reload-in-round=2
cm_check "the PatchPanel runs the handler's last reload" [ "$(pinned_id)" = "$(newest_id)" ]
cm_check "pings pass" cm_ping a 10.206.0.2

out=$($PCNCTL rt1 set loglevel=DEBUG reload-in-round=99 2>&1)
cm_check_not "a reload from code clang refuses fails the round" [ $? = 0 ]
cm_check "clang's error reaches the client ($out)" grep -q "undeclared_thing" <<<"$out"
cm_check "the cube process is alive" alive
cm_check "pings pass" cm_ping a 10.206.0.2
cm_check "delete" $PCNCTL rt1 del
cm_done

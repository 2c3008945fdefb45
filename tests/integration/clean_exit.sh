#!/usr/bin/env bash
# SIGTERM ends the broker and a cube process with status 0 while they are
# connected to each other, in either order, and with no sanitizer report:
# in the sanitizer pass a leak at exit makes the status non-zero. Closing a
# cube's socket at stop once left one event for a loop that no longer ran
# (16 bytes from req_pipe_cb, a status of 1).
source "$(dirname "$0")/../lib/mesh.sh"

# stop PID LOG WHAT: SIGTERM, then the status and the log are checked.
stop() {
	local pid=$1 log=$2 what=$3 rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	cm_check "$what exits with status 0 ($rc)" [ "$rc" = 0 ]
	cm_check_not "$what: no sanitizer report" grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"
}

echo "# the broker stops first, the cube still connected"
cm_mesh_start helloworld
cm_check "an instance, so both hold state" bash -c "$PCNCTL helloworld add hw1 >/dev/null"
stop "$CM_BROKER_PID" "$CM_TMP/broker.log" "the broker"
stop "${CM_CUBE_PID[helloworld]}" "$CM_TMP/helloworld.log" "the cube, its broker gone"

echo "# the cube stops first"
mv "$CM_TMP/broker.log" "$CM_TMP/broker-1.log"
mv "$CM_TMP/helloworld.log" "$CM_TMP/helloworld-1.log"
cm_mesh_start helloworld
cm_check "the instance came back" bash -c "$PCNCTL hw1 show >/dev/null"
stop "${CM_CUBE_PID[helloworld]}" "$CM_TMP/helloworld.log" "the cube"
cm_check "the broker saw it go" bash -c "for _ in \$(seq 1 50); do
	curl -s ${PCN_URL}services/helloworld | grep -q '\"state\": \"down\"' && exit 0; sleep 0.1; done; exit 1"
stop "$CM_BROKER_PID" "$CM_TMP/broker.log" "the broker, its cube gone"
cm_done

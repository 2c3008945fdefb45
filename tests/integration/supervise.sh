#!/usr/bin/env bash
# The run command's supervisor: starts the broker and every cube, restarts a
# cube process that dies, and stops everything on Ctrl-C (SIGINT).
source "$(dirname "$0")/../lib/mesh.sh"
SUP=$CM_SRC/scripts/supervise.sh

# A background job of a script starts with SIGINT ignored, and bash cannot
# trap a signal ignored on entry: restore it, as a terminal's Ctrl-C finds it.
setsid python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp("bash", ["bash"] + sys.argv[1:])' \
	"$SUP" "$CM_BUILD" --http "127.0.0.1:$CM_PORT" --socket-dir "$CM_SOCK" --state-dir "$CM_STATE" \
	--bpffs-root "$CM_BPFFS" >"$CM_TMP/supervise.log" 2>&1 &
SUP_PID=$!
CM_PIDS+=("$SUP_PID")
cm_wait_http
cm_check "helloworld comes up" cm_wait_service_up helloworld
cm_check "simpleforwarder comes up" cm_wait_service_up simpleforwarder
cm_check "an instance" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 set action=FORWARD"

pid=$(pgrep -f "$CM_BUILD/cubes/helloworld/pcn-helloworld --socket-dir $CM_SOCK" | head -1)
kill -9 "$pid"
sleep 0.3
for _ in $(seq 1 50); do
	curl -s "${PCN_URL}services/helloworld" | grep -q '"registrations": 2' && break
	sleep 0.1
done
cm_check "a killed cube is restarted" bash -c "curl -s ${PCN_URL}services/helloworld | grep -q '\"registrations\": 2'"
cm_check "and its instance is back" bash -c "$PCNCTL -j hw1 action show | grep -q FORWARD"

kill -INT "$SUP_PID"
for _ in $(seq 1 50); do
	kill -0 "$SUP_PID" 2>/dev/null || break
	sleep 0.1
done
cm_check "Ctrl-C stops the supervisor" bash -c "! kill -0 $SUP_PID 2>/dev/null"
# (A function, not bash -c: pgrep would find that bash's own command line.)
mesh_gone() { ! pgrep -f -- "--socket-dir $CM_SOCK" >/dev/null; }
cm_check "and every process of the mesh" mesh_gone
cm_check "the data plane stays: the instance's program is still pinned" test -e "$CM_BPFFS/cubes/helloworld/hw1/prog"
cm_done

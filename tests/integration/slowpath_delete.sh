#!/usr/bin/env bash
# Deleting an instance while its packets wait in a slow-path batch. Records
# read from the ring wait up to SP_LINGER_MS (1 ms) in the broker's batch
# for their cube process (slowpath.c); the CI's ASan pass once caught the
# flush of such a batch reading the name of an instance freed meanwhile.
# A steady trickle up (a frame every 100 us, each its own ring wakeup, far
# fewer per turn than SP_FLUSH_AT) keeps a batch waiting almost all the
# time, so the delete lands while one does: before the fix the broker
# aborted under ASan in the first or second round (TC and XDP_DRV alike).
# The bursts of the benchmarks' generator did not (integ_slowpath's flood
# of pings did now and then). Each round: hwd sends every frame up
# (SLOWPATH), is deleted during the trickle, is gone, and the broker answers.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.203.0.1/24; IFA=$CM_IF
cm_host b 10.203.0.2/24; IFB=$CM_IF

metric() { curl -s "${PCN_URL}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
to_cube() { metric 'cubemesh_slowpath_to_cube_packets_total{service="helloworld",cube="hwd"}'; }
# until_ok SECONDS CMD...: retries CMD every 0.1 s.
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
flowing() { [ "$(to_cube)" -ge 100 ] 2>/dev/null; }
gone() { [ "$(cm_http GET /helloworld/hwd | cut -d' ' -f1)" = 404 ]; }
broker_alive() { kill -0 "$CM_BROKER_PID" 2>/dev/null && curl -fs -o /dev/null "${PCN_URL}version"; }

# trickle: broadcast frames out of a's eth0, one send each, paced at RATE
# per second, until killed.
RATE=${SLOWPATH_DELETE_RATE:-10000}
trickle() {
	ip netns exec "$(cm_ns a)" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
frame = bytes.fromhex("ffffffffffff020000000001") + b"\x08\x00" + bytes(50)
gap = 1.0 / float(sys.argv[1])
due = time.monotonic()
while True:
    try:
        s.send(frame)
    except OSError:
        pass
    due += gap
    wait = due - time.monotonic()
    if wait > 0:
        time.sleep(wait)
' "$RATE" &
	TRICKLE=$!
	CM_PIDS+=("$TRICKLE")
}

ROUNDS=${SLOWPATH_DELETE_ROUNDS:-4}
for r in $(seq 1 "$ROUNDS"); do
	hook=TC
	[ $((r % 2)) = 0 ] && hook=XDP_DRV
	echo "# round $r ($hook)"
	cm_check "create hwd ($hook)" $PCNCTL helloworld add hwd type=$hook
	cm_check "port1 peer" $PCNCTL hwd ports add port1 peer=$IFA
	cm_check "port2 peer" $PCNCTL hwd ports add port2 peer=$IFB
	cm_check "set SLOWPATH" $PCNCTL hwd set action=SLOWPATH
	trickle
	cm_check "the trickle reaches the cube process" until_ok 10 flowing
	cm_check "delete hwd during the trickle" $PCNCTL hwd del
	cm_check "hwd is gone" until_ok 5 gone
	cm_check "the broker still answers" broker_alive
	kill "$TRICKLE" 2>/dev/null
	wait "$TRICKLE" 2>/dev/null
	broker_alive || break
done
cm_done

#!/usr/bin/env bash
# A cube upgraded while a write to it is in flight: the write holds a tree
# of the old model's libyang context, which the upgrade frees. The write
# must be failed (and what it holds freed) before that context goes; it
# was freed after, and lyd_free_all read the freed schema (<- write_finish).
# Those reads happen inside libyang, which ASan does not instrument: the
# broker runs under valgrind here when the build is not a sanitizer one
# (and valgrind is installed), and any invalid access it reports fails the
# test. Then: the broker still answers, the new version took the instance
# over with the broker's configuration, and writes work again.
source "$(dirname "$0")/../lib/mesh.sh"
source "$(dirname "$0")/../lib/writes.sh"

V2=$CM_BUILD/cubes/helloworld/variants/pcn-helloworld-v2
if ! ldd "$BROKER" | grep -q libasan && command -v valgrind >/dev/null; then
	printf '#!/bin/sh\nexec valgrind -q --error-limit=no %s "$@"\n' "$BROKER" >"$CM_TMP/broker-vg"
	chmod +x "$CM_TMP/broker-vg"
	BROKER=$CM_TMP/broker-vg
	echo "# the broker runs under valgrind"
fi
cm_broker_start --call-timeout 20000
cm_cube_start helloworld
cm_host a 10.214.0.1/24; IFA=$CM_IF
cm_host b 10.214.0.2/24; IFB=$CM_IF
cm_neigh_static a b
OLD=${CM_CUBE_PID[helloworld]}

broker_alive() { kill -0 "$CM_BROKER_PID" 2>/dev/null && curl -fs -o /dev/null "${PCN_URL}version"; }

cm_check "hw1 between a and b (DROP)" bash -c "$PCNCTL helloworld add hw1 &&
	$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB"
cm_check "1.0.0 runs" cm_wait_version helloworld 1.0.0

# The old process stops answering with a write in flight.
cm_stop "$OLD"
curl -s -o "$CM_TMP/w.body" -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
	--data-binary '{"action":"FORWARD"}' "${PCN_URL}helloworld/hw1/" >"$CM_TMP/w.code" &
WPID=$!
sleep 0.5
t0=$(date +%s%3N)
"$V2" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" >>"$CM_TMP/helloworld-v2.log" 2>&1 &
CM_PIDS+=("$!")
# The answer comes when the upgrade fails the call, well before the deadline.
for _ in $(seq 1 100); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$WPID" 2>/dev/null && kill "$WPID"
wait "$WPID" 2>/dev/null
code=$(cat "$CM_TMP/w.code" 2>/dev/null)
echo "  the write in flight got: ${code:-nothing} $(cat "$CM_TMP/w.body" 2>/dev/null)"
cm_check "the write in flight is answered 503 (the cube went away under it)" [ "$code" = 503 ]
cm_check "the broker is alive and answers" broker_alive
BAD_ACCESS='ERROR: AddressSanitizer|runtime error:|Invalid (read|write|free)|Mismatched free'
memory_clean() {
	grep -qE "$BAD_ACCESS" "$CM_TMP/broker.log" || return 0
	grep -E -A12 "$BAD_ACCESS" "$CM_TMP/broker.log" | head -40
	return 1
}
cm_check "no invalid memory access in the broker (ASan or valgrind)" memory_clean
cm_check "1.1.0 took over" cm_wait_version helloworld 1.1.0
ms=$(( $(date +%s%3N) - t0 ))
# The old process is still stopped: telling it to exit must not hold the
# broker up (it blocked the loop for nng's 10 s handshake timeout).
cm_check "within 5 s, the old process still stopped ($ms ms)" [ "$ms" -lt 5000 ]
t0=$(date +%s%3N); curl -s -o /dev/null "${PCN_URL}version"; ms=$(( $(date +%s%3N) - t0 ))
cm_check "and the API answers at once ($ms ms)" [ "$ms" -lt 1000 ]
cm_check "GET: the action is the broker's, DROP" [ "$(cm_hw1_action)" = DROP ]
cm_check_not "and the new process drops" cm_ping a 10.214.0.2 2
cm_cont "$OLD"
cm_check "PATCH FORWARD to 1.1.0: 200" [ "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH \
	-H 'Content-Type: application/json' --data-binary '{"action":"FORWARD"}' "${PCN_URL}helloworld/hw1/")" = 200 ]
cm_check "FORWARD passes pings" cm_ping a 10.214.0.2
cm_check "the broker is still alive" broker_alive
cm_done

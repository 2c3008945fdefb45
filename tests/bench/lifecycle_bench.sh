#!/usr/bin/env bash
# Lifecycle figures (issue 5): packets lost while a cube process restarts
# (kill -9, then started again), while helloworld is upgraded to 1.1.0 and
# rolled back (make before break), and while the broker restarts (kill -9);
# and the time from a cube process's start to its instances answering over
# REST, for 1 and LIFE_INSTANCES instances. The goal for every loss is 0.
#
#   sudo CM_BUILD=build tests/bench/lifecycle_bench.sh
#
# Traffic: ping at LIFE_INTERVAL (0.002 s) through a -> hw1 -> hw2 -> b (TC),
# LIFE_COUNT (2000) echo requests per event. Prints figures; asserts nothing.
source "$(dirname "$0")/../lib/mesh.sh"

HW=$CM_BUILD/cubes/helloworld
COUNT=${LIFE_COUNT:-2000}
INTERVAL=${LIFE_INTERVAL:-0.002}
NINST=${LIFE_INSTANCES:-20}
RUNS=${LIFE_RUNS:-3}

cm_mesh_start helloworld
cm_host a 10.208.0.1/24; IFA=$CM_IF
cm_host b 10.208.0.2/24; IFB=$CM_IF
$PCNCTL helloworld add hw1 >/dev/null && $PCNCTL helloworld add hw2 >/dev/null &&
	$PCNCTL hw1 ports add port1 peer="$IFA" >/dev/null && $PCNCTL hw2 ports add port2 peer="$IFB" >/dev/null &&
	$PCNCTL hw1 ports add port2 >/dev/null && $PCNCTL hw2 ports add port1 >/dev/null &&
	$PCNCTL hw1 ports port2 set peer=hw2:port1 >/dev/null && $PCNCTL hw2 ports port1 set peer=hw1:port2 >/dev/null &&
	$PCNCTL hw1 set action=FORWARD >/dev/null && $PCNCTL hw2 set action=FORWARD >/dev/null ||
	{ echo "cannot build the chain"; exit 1; }
cm_ping a 10.208.0.2 || { echo "the chain does not forward"; exit 1; }

stream() {
	ip netns exec "$(cm_ns a)" ping -c "$COUNT" -i "$INTERVAL" -W 1 -q 10.208.0.2 >"$CM_TMP/ping.out" 2>&1 &
	PING_PID=$!
	sleep 0.5
}
# lost: waits for the stream (in this shell: a command substitution cannot)
# and sets LOST.
lost() {
	local got
	wait "$PING_PID"
	got=$(grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}')
	LOST=$((COUNT - ${got:-0}))
}
now_ms() { date +%s%3N; }
version_is() { curl -s "${PCN_URL}services/helloworld" | grep -q "\"version\": \"$1\""; }
wait_version() { for _ in $(seq 1 500); do version_is "$1" && cm_wait_service_up helloworld && return 0; sleep 0.02; done; return 1; }
start_bin() {
	"$1" --socket-dir "$CM_SOCK" --log-level WARN >>"$CM_TMP/$(basename "$1").log" 2>&1 &
	NEW_PID=$!
	CM_PIDS+=("$NEW_PID")
}

declare -a L_RESTART L_UPGRADE L_ROLLBACK L_BROKER
cur=${CM_CUBE_PID[helloworld]}
for r in $(seq 1 "$RUNS"); do
	stream; kill -9 "$cur"; sleep 0.2; start_bin "$HW/pcn-helloworld"; cur=$NEW_PID
	cm_wait_service_up helloworld; lost; L_RESTART+=("$LOST")

	stream; start_bin "$HW/variants/pcn-helloworld-v2"; wait_version 1.1.0; cur=$NEW_PID; lost; L_UPGRADE+=("$LOST")
	stream; start_bin "$HW/pcn-helloworld"; wait_version 1.0.0; cur=$NEW_PID; lost; L_ROLLBACK+=("$LOST")

	stream; kill -9 "$CM_BROKER_PID"; sleep 0.2; cm_broker_start; cm_wait_service_up helloworld
	lost; L_BROKER+=("$LOST")
done

# Time to answer: kill the process, start it again, poll an instance; sets MS.
answer_ms() {
	local t0 t1 n=$1
	kill -9 "$cur"; sleep 0.3
	t0=$(now_ms)
	start_bin "$HW/pcn-helloworld"; cur=$NEW_PID
	until curl -fs -o /dev/null "${PCN_URL}helloworld/hw$n/"; do sleep 0.005; done
	t1=$(now_ms)
	MS=$((t1 - t0))
}
declare -a T1 TN
for r in $(seq 1 "$RUNS"); do answer_ms 2; T1+=("$MS"); done
for i in $(seq 3 "$NINST"); do $PCNCTL helloworld add "hw$i" >/dev/null; done
for r in $(seq 1 "$RUNS"); do answer_ms "$NINST"; TN+=("$MS"); done

echo
echo "== lifecycle figures (helloworld chain a -> hw1 -> hw2 -> b, TC; $COUNT pings at ${INTERVAL}s per event, $RUNS runs)"
printf '%-52s %s\n' "packets lost, cube process kill -9 + restart:" "${L_RESTART[*]}"
printf '%-52s %s\n' "packets lost, upgrade 1.0.0 -> 1.1.0 (migration):" "${L_UPGRADE[*]}"
printf '%-52s %s\n' "packets lost, rollback 1.1.0 -> 1.0.0:" "${L_ROLLBACK[*]}"
printf '%-52s %s\n' "packets lost, broker kill -9 + restart:" "${L_BROKER[*]}"
printf '%-52s %s\n' "ms from cube start to REST answers, 2 instances:" "${T1[*]}"
printf '%-52s %s\n' "ms from cube start to REST answers, $NINST instances:" "${TN[*]}"

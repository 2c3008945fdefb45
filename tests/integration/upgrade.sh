#!/usr/bin/env bash
# Upgrade of a cube type under traffic, make before break: helloworld 1.0.0
# runs a chain (a -> hw1 -> hw2 -> b) while a counted ping stream flows.
# 1.1.0 without a migration for its grown stats map is refused (the old
# version keeps running); 1.1.0 with the migration takes over (no ping lost,
# the counters carried, the new byte counter counts, the old process exits);
# rolling back to 1.0.0 is the same operation.
source "$(dirname "$0")/../lib/mesh.sh"

HW=$CM_BUILD/cubes/helloworld
V2=$HW/variants
cm_mesh_start helloworld
cm_host a 10.206.0.1/24; IFA=$CM_IF
cm_host b 10.206.0.2/24; IFB=$CM_IF

ping_stream() {
	ip netns exec "$(cm_ns a)" ping -c "$1" -i 0.02 -W 1 -q 10.206.0.2 >"$CM_TMP/ping.out" 2>&1 &
	PING_PID=$!
}
ping_received() { grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}'; }
stat_of() { # stat_of INSTANCE LEAF
	curl -s "${PCN_URL}helloworld/$1/stats/" | grep -o "\"$2\": *\"*[0-9]*" | grep -o '[0-9]*$'
}
# start_bin BINARY: a cube process beside the running one; its pid in NEW_PID.
start_bin() {
	"$1" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" >>"$CM_TMP/$(basename "$1").log" 2>&1 &
	NEW_PID=$!
	CM_PIDS+=("$NEW_PID")
}
# gone PID: the process exited within 5 s.
gone() {
	for _ in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

for hook in TC XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: chain a - hw1 - hw2 - b" bash -c "
		$PCNCTL helloworld add hw1 type=$hook && $PCNCTL helloworld add hw2 type=$hook &&
		$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw2 ports add port2 peer=$IFB &&
		$PCNCTL hw1 ports add port2 && $PCNCTL hw2 ports add port1 &&
		$PCNCTL hw1 ports port2 set peer=hw2:port1 && $PCNCTL hw2 ports port1 set peer=hw1:port2 &&
		$PCNCTL hw1 set action=FORWARD && $PCNCTL hw2 set action=FORWARD"
	cm_check "$hook: pings cross the chain" cm_ping a 10.206.0.2
	old=${CM_CUBE_PID[helloworld]}

	# A changed map layout without a migration: refused, nothing changed.
	ping_stream 150
	start_bin "$V2/pcn-helloworld-v2-nomig"
	wait "$NEW_PID"
	cm_check "$hook: 1.1.0 without a migration exits refused" [ $? -ne 0 ]
	cm_check "$hook: the refusal names the map" grep -q "helloworld_stats changed layout" "$CM_TMP/broker.log"
	cm_check "$hook: 1.0.0 is still the running version" cm_wait_version helloworld 1.0.0
	cm_check "$hook: and its process still runs" kill -0 "$old"
	cm_check "$hook: the API still answers through it" bash -c "$PCNCTL -j hw1 action show | grep -q FORWARD"
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the refusal (150 sent, $got received)" [ "$got" = 150 ]

	# The upgrade, under traffic.
	ping_stream 250
	sleep 1
	before=$(stat_of hw2 forwarded)
	start_bin "$V2/pcn-helloworld-v2"
	cm_check "$hook: GET /services/helloworld shows 1.1.0" cm_wait_version helloworld 1.1.0
	cm_check "$hook: the old process exited" gone "$old"
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the upgrade (250 sent, $got received)" [ "$got" = 250 ]
	after=$(stat_of hw2 forwarded)
	cm_check "$hook: the migrated counter carried on ($before before, $after after)" \
		bash -c "[ -n '$before' ] && [ '$before' -gt 0 ] && [ '${after:-0}' -gt '$before' ]"
	cm_check "$hook: the 1.1.0 fast path counts bytes" bash -c "[ '$(stat_of hw2 bytes)' -gt 0 ] 2>/dev/null"
	cm_check "$hook: the configuration came over" bash -c "$PCNCTL -j hw1 action show | grep -q FORWARD"
	cm_check "$hook: and can be changed" bash -c "$PCNCTL hw1 set action=FORWARD"
	old=$NEW_PID

	# Rolling back is the same operation.
	ping_stream 250
	sleep 1
	before=$(stat_of hw2 forwarded)
	start_bin "$HW/pcn-helloworld"
	CM_CUBE_PID[helloworld]=$NEW_PID
	cm_check "$hook: rolled back: GET /services/helloworld shows 1.0.0" cm_wait_version helloworld 1.0.0
	cm_check "$hook: the 1.1.0 process exited" gone "$old"
	wait "$PING_PID"
	got=$(ping_received)
	cm_check "$hook: no ping lost across the rollback (250 sent, $got received)" [ "$got" = 250 ]
	after=$(stat_of hw2 forwarded)
	cm_check "$hook: the counter came back too ($before before, $after after)" \
		bash -c "[ -n '$before' ] && [ '${after:-0}' -gt '$before' ]"
	cm_check_not "$hook: the 1.0.0 model has no stats/bytes" bash -c "curl -s ${PCN_URL}helloworld/hw2/stats/ | grep -q bytes"
	cm_check "$hook: delete" bash -c "$PCNCTL hw1 del && $PCNCTL hw2 del"
done
cm_done

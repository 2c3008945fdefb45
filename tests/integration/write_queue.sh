#!/usr/bin/env bash
# Write queues are per service, with a deadline and bounds: a cube process
# that stops answering (SIGSTOP) costs its own service's writes a 504 after
# --write-timeout, while another service's writes go on at once; its queue
# holds at most --write-queue-max writes / --write-queue-bytes of bodies
# (more: 503 + Retry-After, and the broker does not grow with them); once
# the process runs again the broker's configuration is the one in force
# (the late write is undone in the cube) and writes work again.
source "$(dirname "$0")/../lib/mesh.sh"
source "$(dirname "$0")/../lib/writes.sh"

TIMEOUT_MS=1500
cm_broker_start --write-timeout $TIMEOUT_MS --call-timeout 30000 --write-queue-max 4 \
	--write-queue-bytes 3500000 --body-limit 2000000
cm_cube_start helloworld
cm_cube_start simpleforwarder
cm_host a 10.213.0.1/24; IFA=$CM_IF
cm_host b 10.213.0.2/24; IFB=$CM_IF
cm_host c 10.213.0.3/24; IFC=$CM_IF
cm_neigh_static a b
HW=${CM_CUBE_PID[helloworld]}

# write METHOD PATH BODY OUTFILE: "STATUS MS" into OUTFILE, headers into OUTFILE.h.
write() {
	local t0 t1 code
	t0=$(date +%s%3N)
	code=$(curl -s -o "$4.body" -D "$4.h" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
		--data-binary "$3" "${PCN_URL%/}$2")
	t1=$(date +%s%3N)
	echo "$code $((t1 - t0))" >"$4"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$CM_BROKER_PID/status"; }

cm_check "hw1 between a and b, DROP" $PCNCTL helloworld add hw1 &&
	cm_check "ports" bash -c "$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB"
cm_check_not "DROP stops pings" cm_ping a 10.213.0.2 2
cm_check "sf1 created" $PCNCTL simpleforwarder add sf1

cm_stop "$HW"
write PATCH /helloworld/hw1/ '{"action":"FORWARD"}' "$CM_TMP/hw" &
HWJOB=$!
sleep 0.3
# Another service meanwhile: each write answered far below the deadline.
ok=1
for i in 1 2 3; do
	write POST /simpleforwarder/sfq$i/ '{}' "$CM_TMP/sf$i"
	read -r code ms <"$CM_TMP/sf$i"
	echo "  simpleforwarder write $i: $code in $ms ms"
	{ [ "$code" = 201 ] && [ "$ms" -lt 500 ]; } || ok=0
done
cm_check "simpleforwarder writes succeed promptly while helloworld is stopped" [ "$ok" = 1 ]
wait "$HWJOB"
read -r code ms <"$CM_TMP/hw"
echo "  helloworld write: $code in $ms ms"
cm_check "the write to the stopped cube: 504 after about $TIMEOUT_MS ms" \
	bash -c "[ $code = 504 ] && [ $ms -ge $((TIMEOUT_MS - 100)) ] && [ $ms -lt $((TIMEOUT_MS + 2500)) ]"
cm_check "with a RESTCONF error body" grep -q '"error-tag"' "$CM_TMP/hw.body"

# What must be unique across services counts the writes in flight of the
# others: a name being created, a netdev being peered.
write POST /helloworld/dup/ "{\"ports\":[{\"name\":\"p1\",\"peer\":\"$IFC\"}]}" "$CM_TMP/dup" &
DUPJOB=$!
sleep 0.3
write POST /simpleforwarder/dup/ '{}' "$CM_TMP/sfdup"
cm_check "a simpleforwarder 'dup' while helloworld's is being created: 409" grep -q '^409 ' "$CM_TMP/sfdup"
write POST /simpleforwarder/sfc/ "{\"ports\":[{\"name\":\"p1\",\"peer\":\"$IFC\"}]}" "$CM_TMP/sfc"
cm_check "a port peered with $IFC while a helloworld port is being: 409" grep -q '^409 ' "$CM_TMP/sfc"
wait "$DUPJOB"
cm_check "the helloworld create: 504" grep -q '^504 ' "$CM_TMP/dup"
write POST /simpleforwarder/dup/ "{\"ports\":[{\"name\":\"p1\",\"peer\":\"$IFC\"}]}" "$CM_TMP/sfdup2"
cm_check "then simpleforwarder gets both: 201" grep -q '^201 ' "$CM_TMP/sfdup2"

# Bounded: 1 MB bodies to the stopped service, 8 at once.
head -c 1000000 /dev/zero | tr '\0' ' ' >"$CM_TMP/pad"
{ printf '{"action":"FORWARD"'; cat "$CM_TMP/pad"; printf '}'; } >"$CM_TMP/big.json"
rss0=$(rss_kb)
pids=()
for i in $(seq 1 8); do
	write PATCH /helloworld/hw1/ "@$CM_TMP/big.json" "$CM_TMP/big$i" &
	pids+=($!)
done
sleep 0.8
rss1=$(rss_kb)
for p in "${pids[@]}"; do wait "$p"; done
n503=0; n504=0; ra=0
for i in $(seq 1 8); do
	read -r code ms <"$CM_TMP/big$i"
	case $code in
	503) n503=$((n503 + 1)); grep -qi '^retry-after: [0-9]' "$CM_TMP/big$i.h" && ra=$((ra + 1)) ;;
	504) n504=$((n504 + 1)) ;;
	esac
done
echo "  8 writes of 1 MB: $n503 refused (503), $n504 timed out (504); RSS ${rss0} kB -> ${rss1} kB while queued"
cm_check "the queue took at most 3 of them (3.5 MB), the rest got 503" \
	bash -c "[ $n504 -ge 1 ] && [ $n504 -le 3 ] && [ $((n503 + n504)) = 8 ]"
cm_check "every 503 says Retry-After" [ "$ra" = "$n503" ]
cm_check "the broker grew by less than 30 MB" [ $((rss1 - rss0)) -lt 30000 ]

cm_cont "$HW"
# The cube now applies the late FORWARD; the broker sends it DROP again.
resynced() {
	for _ in $(seq 1 50); do
		grep -q 'BROKER-WRITE-RESYNCED.*hw1' "$CM_TMP/broker.log" && return 0
		sleep 0.1
	done
	return 1
}
cm_check "the broker re-sent its configuration to the cube" resynced
cm_check "GET: the action is still DROP" [ "$(cm_hw1_action)" = DROP ]
cm_check_not "and the cube drops: the late FORWARD was undone" cm_ping a 10.213.0.2 3
write PATCH /helloworld/hw1/ '{"action":"FORWARD"}' "$CM_TMP/hw2"
read -r code ms <"$CM_TMP/hw2"
cm_check "helloworld works again: PATCH FORWARD $code in $ms ms" [ "$code" = 200 ]
cm_check "FORWARD passes pings" cm_ping a 10.213.0.2
cm_check "GET: FORWARD" [ "$(cm_hw1_action)" = FORWARD ]
cm_check "helloworld has no 'dup' (its late create was undone)" \
	bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' ${PCN_URL}helloworld/dup/)\" != 200 ] && [ ! -e $CM_BPFFS/cubes/helloworld/dup ]"
cm_done

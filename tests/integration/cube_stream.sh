#!/usr/bin/env bash
# Live streams from a cube to HTTP clients (GET /<service>/<instance>/<stream>,
# pcn_stream_write), with the test cube streamtest (tests/stream):
#  - a client receives exactly the bytes the cube wrote, in order, with the
#    stream's Content-Type; an unknown stream or instance is a RESTCONF 404;
#  - a client that leaves gets on_stream_close, even on an idle stream;
#  - a slow client (curl --limit-rate) makes the cube's writes fail with
#    -EAGAIN (counted) while the cube and the broker go on (GET /version
#    stays fast, the cube answers its reads);
#  - an idle stream outlives h2o's request timeout (10 s);
#  - --max-streams: a client beyond the per-service bound (half) or the
#    broker-wide one (a second service, streamtwo) gets 503;
#  - the instance deleted: its streams end cleanly (curl exits 0); the
#    process exiting ends them too, and a new process streams again;
#  - a process that does not answer: 504 after 10 s, the broker unaffected.
# CM_STREAMTEST names another pcn-streamtest (e.g. to run it against an
# older broker).
source "$(dirname "$0")/../lib/mesh.sh"

ST=${CM_STREAMTEST:-$CM_BUILD/tests/stream/pcn-streamtest}
ST2=${CM_STREAMTWO:-$CM_BUILD/tests/stream/pcn-streamtwo}
API=${PCN_URL%/}
# 3 streams at once, 2 per service.
cm_broker_start --max-streams 3
cm_cube_start streamtest "$ST"
cm_cube_start streamtwo "$ST2"
T0=$SECONDS

# field INSTANCE LEAF: a stats leaf of the streamtest instance.
field() {
	curl -s "$API/${SVC:-streamtest}/$1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2', -1))"
}
# curl_field SERVICE INSTANCE LEAF VALUE: wait_field for another service.
curl_field() { SVC=$1 wait_field "$2" "$3" "$4"; }
# stream_starts SERVICE INSTANCE: its records stream answers 200 and a record.
stream_starts() {
	local out=$CM_TMP/starts.out pid
	curl -sN "$API/$1/$2/records" -o "$out" &
	pid=$!
	wait_size "$out" 18
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -qx '00000000 streamtest' "$out"
}
# wait_field INSTANCE LEAF VALUE [TENTHS]: until the leaf holds VALUE.
wait_field() {
	for _ in $(seq 1 "${4:-50}"); do
		[ "$(field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	echo "  $1 stats/$2 is $(field "$1" "$2"), want $3" >&2
	return 1
}
# wait_size FILE BYTES: until FILE holds at least BYTES.
wait_size() {
	for _ in $(seq 1 50); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# alive PID: the background client still runs.
alive() { kill -0 "$1" 2>/dev/null; }
# exited_with PID RC: PID ended (within 5 s) with status RC.
exited_with() {
	for _ in $(seq 1 50); do
		alive "$1" || break
		sleep 0.1
	done
	alive "$1" && return 1
	wait "$1"
	[ "$?" = "$2" ]
}

cm_expect 201 POST /streamtest/st1/ '{"count": 20000}'
seq -f '%08g streamtest' 0 19999 >"$CM_TMP/want"

echo "# an idle stream, left open for the h2o timeout check below"
cm_expect 201 POST /streamtest/idle/ '{"count": 1}'
curl -sN "$API/streamtest/idle/records" -o "$CM_TMP/idle.out" &
IDLE=$!
CM_PIDS+=("$IDLE")

echo "# exact bytes, in order"
curl -sN -D "$CM_TMP/h" "$API/streamtest/st1/records" -o "$CM_TMP/got" &
GOT=$!
CM_PIDS+=("$GOT")
wait_size "$CM_TMP/got" "$(stat -c %s "$CM_TMP/want")"
sleep 0.2 # nothing more comes
kill "$GOT"
cm_check "the client received the 20000 records in order, nothing else" cmp -s "$CM_TMP/want" "$CM_TMP/got"
cm_check "200 with the stream's Content-Type" grep -qi '^content-type: text/plain' "$CM_TMP/h"
cm_check "chunked (a stream has no length)" grep -qi '^transfer-encoding: chunked' "$CM_TMP/h"
echo "# the client left: on_stream_close, though the stream is idle now"
cm_check "on_stream_close ran" wait_field st1 closed 1 40
cm_check "no stream of st1 open" wait_field st1 open 0

echo "# unknown stream, unknown instance"
cm_expect 404 GET /streamtest/st1/nosuch
cm_expect 404 GET /streamtest/nosuch/records "" "no streamtest instance named nosuch"
cm_expect 405 POST /streamtest/st1/records

echo "# a slow client: the cube's writes are refused, nothing stalls"
curl -sN --limit-rate 50k "$API/streamtest/st1/flood" -o "$CM_TMP/flood.out" &
FLOOD=$!
CM_PIDS+=("$FLOOD")
cm_check "the flood stream flows" wait_size "$CM_TMP/flood.out" 100000
sleep 1
d1=$(field st1 drops)
cm_check "the cube counts -EAGAIN (drops $d1)" test "$d1" -gt 0
slow=0
for _ in $(seq 1 10); do
	t=$(curl -s -o /dev/null -w '%{time_total}' "$API/version")
	python3 -c "import sys; sys.exit(0 if float('$t') < 0.3 else 1)" || slow=$((slow + 1))
	sleep 0.05
done
cm_check "GET /version stays fast during the slow stream ($slow of 10 slower than 0.3 s)" test "$slow" -le 1
cm_check "the cube answers reads during it" test "$(field st1 opened)" = 2
d2=$(field st1 drops)
cm_check "and keeps counting drops ($d1 -> $d2)" test "$d2" -gt "$d1"
# The broker holds one buffer per stream, not the backlog.
rss=$(awk '/VmRSS/ {print $2}' "/proc/$CM_BROKER_PID/status")
cm_check "the broker's memory stays small ($rss KiB)" test "$rss" -lt 200000

echo "# --max-streams 3: 2 per service"
# streamtest has two (idle, flood): its third is refused.
cm_expect 503 GET /streamtest/st1/records "" "too many live streams of streamtest"
cm_expect 201 POST /streamtwo/tw1/ '{"count": 1}'
curl -sN "$API/streamtwo/tw1/records" -o "$CM_TMP/two.out" &
TWO=$!
CM_PIDS+=("$TWO")
cm_check "streamtwo's first stream flows (3 in all)" wait_size "$CM_TMP/two.out" 18
# streamtwo has one of its two, but the broker has its three.
cm_expect 503 GET /streamtwo/tw1/records "" "the most the broker allows"
kill "$FLOOD" "$TWO" 2>/dev/null
cm_check "the flood client gone: on_stream_close" wait_field st1 closed 2
cm_check "streamtwo's too" curl_field streamtwo tw1 closed 1
cm_check "a stream of streamtwo again, once there is room" stream_starts streamtwo tw1
cm_check "no stream of st1 open" wait_field st1 open 0

echo "# an idle stream is not cut by h2o's request timeout"
while [ $((SECONDS - T0)) -lt 12 ]; do sleep 0.5; done
cm_check "the idle stream is still open after $((SECONDS - T0)) s" alive "$IDLE"
cm_check "and delivered its record" grep -qx '00000000 streamtest' "$CM_TMP/idle.out"

echo "# the instance deleted while streaming: the stream ends cleanly"
curl -sN "$API/streamtest/st1/records" -o "$CM_TMP/del.out" &
DEL=$!
CM_PIDS+=("$DEL")
cm_check "streaming" wait_size "$CM_TMP/del.out" "$(stat -c %s "$CM_TMP/want")"
cm_expect 204 DELETE /streamtest/st1
cm_check "curl exits 0 (a clean end of the response)" exited_with "$DEL" 0
cm_check "with every record" cmp -s "$CM_TMP/want" "$CM_TMP/del.out"

echo "# the cube process exits: its streams end; a new process streams again"
kill "${CM_CUBE_PID[streamtest]}"
cm_check "the idle stream ends with the process" exited_with "$IDLE" 0
cm_cube_start streamtest "$ST"
curl -sN "$API/streamtest/idle/records" -o "$CM_TMP/again.out" &
AGAIN=$!
CM_PIDS+=("$AGAIN")
wait_size "$CM_TMP/again.out" 18
kill "$AGAIN"
cm_check "the new process streams" grep -qx '00000000 streamtest' "$CM_TMP/again.out"
cm_check "and saw that client leave" wait_field idle closed 1 40

echo "# a process that does not answer: 504, and the broker goes on"
cm_stop "${CM_CUBE_PID[streamtest]}"
(cm_expect 504 GET /streamtest/idle/records "" "did not answer" >"$CM_TMP/stopped.out") &
STOPPED=$!
sleep 1
t=$(curl -s -o /dev/null -w '%{time_total}' "$API/version")
cm_check "GET /version meanwhile in $t s" python3 -c "import sys; sys.exit(0 if float('$t') < 0.3 else 1)"
wait "$STOPPED"
cat "$CM_TMP/stopped.out"
cm_check "the stream request got 504" grep -q '^ok - 504' "$CM_TMP/stopped.out"
cm_cont "${CM_CUBE_PID[streamtest]}"

cm_done

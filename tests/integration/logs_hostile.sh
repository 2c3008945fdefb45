#!/usr/bin/env bash
# What the log sink takes from logs.sock (any container that shares the
# socket directory can write there): a line holding invalid UTF-8 is shown
# by GET /logs with U+FFFD in place of the bad bytes (not as null); a level
# that names none is refused and counted, never shown; a batch longer than a
# cube ever sends keeps its first 64 lines, the rest counted refused.
#
# Against an older build: IPC_PROBE=<new ipc_probe>.
source "$(dirname "$0")/../lib/mesh.sh"
PROBE=${IPC_PROBE:-$CM_BUILD/tests/tools/ipc_probe}
URL="ipc://$CM_SOCK/logs.sock"

cm_broker_start
rejected() {
	curl -s "${PCN_URL}metrics" |
		awk '$1 == "cubemesh_wire_rejected_messages_total{socket=\"logs\"}" { print $2 }'
}
# lines CUBE: the probe's lines in GET /logs (for cube CUBE, or all), one
# JSON object a line.
lines() {
	curl -s "${PCN_URL}logs?service=probe${1:+&cube=$1}" |
		python3 -c 'import json,sys; [print(json.dumps(l)) for l in json.load(sys.stdin)["lines"]]'
}
until_ok() {
	for _ in $(seq 1 30); do "$@" && return 0; sleep 0.1; done
	"$@"
}

cm_check "a line with bad bytes is sent" $PROBE log "$URL" 2 1
shown() { lines p0 | grep -q PROBE-LOG; }
cm_check "GET /logs shows it" until_ok shown
msg=$(lines p0 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["message"])')
cm_check "the message is kept, bad bytes as U+FFFD ($msg)" \
	[ "$msg" = "PROBE-LOG: bad $(printf '\xef\xbf\xbd') byte, cut $(printf '\xef\xbf\xbd') and café" ]
at_info() { lines p0 | grep -q '"level": "INFO"'; }
cm_check "at level INFO" at_info

before=$(rejected)
cm_check "lines at level 7 and 99 are sent" bash -c "$PROBE log $URL 7 1 && $PROBE log $URL 99 1"
cm_check "both are counted refused ($before -> $(rejected))" until_ok [ "$(rejected)" = $((before + 2)) ]
cm_check "neither is shown" [ "$(lines | wc -l)" = 1 ]

before=$(rejected)
cm_check "a batch of 100 lines is sent" $PROBE log "$URL" 3 100
cm_check "64 are kept" until_ok [ "$(lines | grep -c '"level": "WARN"')" = 64 ]
cm_check "36 are counted refused" until_ok [ "$(rejected)" = $((before + 36)) ]
cm_check "HTTP still answers" curl -fs -o /dev/null "${PCN_URL}version"
cm_done

#!/usr/bin/env bash
# The IPC protocol between processes: a cube speaking another protocol version is
# refused with a clear error; malformed requests are answered with errors and
# do not hurt the broker, which goes on serving cubes and HTTP.
source "$(dirname "$0")/../lib/mesh.sh"
PROBE=$CM_BUILD/tests/tools/ipc_probe

cm_mesh_start helloworld
URL="ipc://$CM_SOCK/broker.sock"
out=$($PROBE version "$URL" 99)
cm_check "protocol 99 is refused" [ $? = 0 ]
cm_check "with a clear message ($out)" grep -q "protocol version 99 is not supported" <<<"$out"
cm_check "the broker logged it" grep -q BROKER-PROTO-MISMATCH "$CM_TMP/broker.log"
cm_check "garbage is answered with errors" $PROBE garbage "$URL" 7
cm_check "the broker logged the rejects" grep -q BROKER-IPC-BAD "$CM_TMP/broker.log"
cm_check "HTTP still answers" curl -fs -o /dev/null "${PCN_URL}version"
cm_check "the cube still works" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 set action=FORWARD && $PCNCTL hw1 del"
cm_check "the broker is alive" kill -0 "$CM_BROKER_PID"
cm_done

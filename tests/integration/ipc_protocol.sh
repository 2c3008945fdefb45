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
# A service name becomes a socket's and a pin directory's name: one that
# cannot be a path component is refused at registration, before anything
# is made for it.
proto=$("$CM_BUILD/broker/pcn-broker" --version | sed -n 's/.*(protocol \([0-9]*\)).*/\1/p')
for bad in a.b x..y; do
	out=$(PROBE_NAME=$bad $PROBE version "$URL" "$proto")
	cm_check "service name $bad is refused ($out)" grep -q "the service name must be" <<<"$out"
	cm_check_not "and $bad is not a service" bash -c "curl -fs '${PCN_URL}services' | grep -q '\"$bad\"'"
done
cm_check "the broker logged it" grep -q BROKER-SVC-NAME "$CM_TMP/broker.log"
cm_check "garbage is answered with errors" $PROBE garbage "$URL" 7
cm_check "the broker logged the rejects" grep -q BROKER-IPC-BAD "$CM_TMP/broker.log"
cm_check "HTTP still answers" curl -fs -o /dev/null "${PCN_URL}version"
cm_check "the cube still works" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 set action=FORWARD && $PCNCTL hw1 del"
cm_check "the broker is alive" kill -0 "$CM_BROKER_PID"
cm_done

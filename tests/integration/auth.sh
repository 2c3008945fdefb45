#!/usr/bin/env bash
# The gateway bound to anything but loopback needs a bearer token: without
# one it refuses to start; with one, requests without it get 401.
source "$(dirname "$0")/../lib/mesh.sh"

rc=0
timeout 5 "$BROKER" --http "0.0.0.0:$CM_PORT" --socket-dir "$CM_SOCK" --state-dir "$CM_STATE" \
	--bpffs-root "$CM_BPFFS" --yang-dir "$CM_SRC/yang" >"$CM_TMP/notoken.log" 2>&1 || rc=$?
cm_check "no token on 0.0.0.0: the broker refuses to start" [ "$rc" = 1 ]
cm_check "and says why" grep -q "BROKER-HTTP-NOTOKEN" "$CM_TMP/notoken.log"

cm_broker_start_token() {
	"$BROKER" --http "0.0.0.0:$CM_PORT" --token s3cret --socket-dir "$CM_SOCK" --state-dir "$CM_STATE" \
		--bpffs-root "$CM_BPFFS" --yang-dir "$CM_SRC/yang" >>"$CM_TMP/broker.log" 2>&1 &
	CM_PIDS+=("$!")
}
cm_broker_start_token
for _ in $(seq 1 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}version")" = 401 ] && break
	sleep 0.1
done
cm_check "no token: 401" [ "$(curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}version")" = 401 ]
cm_check "wrong token: 401" [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "${PCN_URL}version")" = 401 ]
cm_check "right token: 200" [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "${PCN_URL}version")" = 200 ]
cm_check "pcnctl with --token" $PCNCTL --token s3cret version
cm_check_not "pcnctl without it fails" $PCNCTL version
cm_done

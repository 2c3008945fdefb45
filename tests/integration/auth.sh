#!/usr/bin/env bash
# The gateway bound to anything but loopback needs a bearer token: without
# one it refuses to start; with one, requests without it get 401. A long
# token is compared whole (no prefix of it is accepted), and Host still has
# to name the gateway.
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
# Listening everywhere, any IP literal names the gateway (a literal cannot be
# rebound) but a name needs --allow-host.
hcode() { curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' -H "Host: $1" "${PCN_URL}version"; }
cm_check "on 0.0.0.0, Host 127.0.0.1: 200" [ "$(hcode "127.0.0.1:$CM_PORT")" = 200 ]
cm_check "on 0.0.0.0, Host [::1]: 200" [ "$(hcode "[::1]:$CM_PORT")" = 200 ]
cm_check "on 0.0.0.0, Host localhost: 200" [ "$(hcode localhost)" = 200 ]
cm_check "on 0.0.0.0, Host rebind.evil.example, right token: 421" [ "$(hcode rebind.evil.example)" = 421 ]
nohost=$(cm_http10_nohost 'Authorization: Bearer s3cret')
cm_check "on 0.0.0.0, HTTP/1.0 without Host: 421 ($nohost)" [ "$nohost" = "HTTP/1.1 421 Misdirected Request" ]
kill "${CM_PIDS[-1]}"
wait "${CM_PIDS[-1]}" 2>/dev/null

# A long token is compared whole: no prefix of it opens the API.
long=$(head -c 600 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 300)
cm_check "a 300-character token was made" [ "${#long}" = 300 ]
"$BROKER" --http "127.0.0.1:$CM_PORT" --token "$long" --socket-dir "$CM_SOCK" --state-dir "$CM_STATE" \
	--bpffs-root "$CM_BPFFS" --yang-dir "$CM_SRC/yang" >>"$CM_TMP/broker.log" 2>&1 &
CM_PIDS+=("$!")
tcode() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "${PCN_URL}version"; }
for _ in $(seq 1 50); do
	[ "$(tcode "$long")" = 200 ] && break
	sleep 0.1
done
cm_check "the 300-character token: 200" [ "$(tcode "$long")" = 200 ]
cm_check "its 292-character prefix: 401" [ "$(tcode "${long:0:292}")" = 401 ]
cm_check "its 299-character prefix: 401" [ "$(tcode "${long:0:299}")" = 401 ]
cm_check "it with one more character: 401" [ "$(tcode "${long}x")" = 401 ]
cm_check "it with its last character changed: 401" [ "$(tcode "${long:0:299}$([ "${long:299}" = a ] && echo b || echo a)")" = 401 ]
cm_check "pcnctl with it" $PCNCTL --token "$long" version
cm_done

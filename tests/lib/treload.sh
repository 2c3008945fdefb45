# Helpers of the tests over the treloadtest cube (tests/treload/):
# treload.sh and tucube.sh. Source after mesh.sh.

# tr_host NET: host a with NET.1/24 behind the host's NET.254 on its veth
# (IFA), static neighbours both ways (every packet of a stream is then an
# echo request or reply, and a direction dropped for a while leaves no
# stale entry behind), no IPv6 chatter. Pings go to TR_DST.
tr_host() {
	cm_host a "$1.1/24"; IFA=$CM_IF
	TR_DST=$1.254
	ip addr add "$TR_DST/24" dev "$IFA"
	ip -n "$(cm_ns a)" neigh replace "$TR_DST" dev eth0 lladdr "$(cat /sys/class/net/$IFA/address)" nud permanent
	ip neigh replace "$1.1" dev "$IFA" lladdr \
		"$(ip -n "$(cm_ns a)" link show eth0 | awk '/ether/ {print $2}')" nud permanent
	ip netns exec "$(cm_ns a)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
}

# stat_of LEAF: a stats leaf of the treloadtest instance tr1.
stat_of() {
	curl -s "${PCN_URL}treloadtest/tr1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$1']))"
}

# stream SECONDS: pings every 5 ms from a to TR_DST; prints "sent received".
stream() {
	local n=$(($1 * 200))
	ip netns exec "$(cm_ns a)" ping -i 0.005 -c "$n" -W 2 -q "$TR_DST" 2>/dev/null |
		awk '/transmitted/ {print $1, $4}'
}

# grew LEAF BEFORE MIN: the counter grew by at least MIN since BEFORE.
grew() { [ "$(stat_of "$1")" -ge $(($2 + $3)) ]; }

# tr_ping [COUNT]: 0 when every ping from a to TR_DST is answered.
tr_ping() { cm_ping a "$TR_DST" "${1:-3}"; }

# tr_reload_run LABEL CODE FROM SECONDS: tr1 reloads (what its
# reload-program says) to code CODE from FROM every 10 ms under SECONDS of
# pings. Checks the stream ran, lost nothing, saw at least 3 reloads and no
# failed one, and ingress kept counting; TR_RECV: the replies received.
tr_reload_run() {
	local label=$1 code=$2 from=$3 secs=$4 in0 rl0 rl sent recv
	in0=$(stat_of ingress-packets); rl0=$(stat_of reloads)
	cm_check "$label: reload to code $code every 10 ms" \
		$PCNCTL tr1 set code="$code" reload-from="$from" reload-period-ms=10
	read -r sent recv < <(stream "$secs")
	cm_check "$label: reloads stopped" $PCNCTL tr1 set reload-period-ms=0
	rl=$(( $(stat_of reloads) - rl0 ))
	echo "# $label: $rl reloads while $sent echo requests were sent, $recv replies received"
	cm_check "$label: the stream ran ($sent sent)" [ "${sent:-0}" -ge $((secs * 100)) ]
	cm_check "$label: zero loss ($recv of $sent)" [ "${recv:-0}" = "${sent:-x}" ]
	cm_check "$label: reloaded during the stream ($rl times)" [ "$rl" -ge 3 ]
	cm_check "$label: no reload failed" [ "$(stat_of reload-errors)" = 0 ]
	cm_check "$label: the ingress counter kept counting across reloads" grew ingress-packets "$in0" "${recv:-1}"
	TR_RECV=${recv:-1}
}

# tr_refused_reloads: tr1 (code A) reloads to code B from its XDP object
# alone every 50 ms; checks every reload is refused (none succeeds).
tr_refused_reloads() {
	cm_check "reload to code B from the XDP object alone" \
		$PCNCTL tr1 set code=B reload-from=OBJECT-WITHOUT-TC reload-period-ms=50
	cm_check "the reloads fail" bash -c "for i in \$(seq 1 100); do
		[ \$(curl -s ${PCN_URL}treloadtest/tr1/stats/ | python3 -c \"import json,sys; print(json.load(sys.stdin)['reload-errors'])\") -ge 2 ] && exit 0
		sleep 0.1; done; exit 1"
	cm_check "reloads stopped" $PCNCTL tr1 set reload-period-ms=0
	cm_check "none succeeded" [ "$(stat_of reloads)" = 0 ]
}

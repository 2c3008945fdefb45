#!/usr/bin/env bash
# Table scopes: two reloadtest instances, each between its own pair of
# hosts. Each one's private maps (the forwarded counter, the armed flag) are
# its own; the map of namespace rtns is one for both, pinned under ns/rtns;
# a reload keeps using it.
source "$(dirname "$0")/../lib/mesh.sh"

cm_broker_start
"$CM_BUILD/tests/reload/pcn-reloadtest" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" \
	>>"$CM_TMP/reloadtest.log" 2>&1 &
CM_PIDS+=("$!")
cm_wait_service_up reloadtest
cm_host a 10.206.0.1/24; IFA=$CM_IF
cm_host b 10.206.0.2/24; IFB=$CM_IF
cm_host c 10.206.1.1/24; IFC=$CM_IF
cm_host d 10.206.1.2/24; IFD=$CM_IF
# No IPv6 chatter (router solicitations...): only the pings cross the cubes.
for h in a b c d; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done

stat_of() {
	curl -s "${PCN_URL}reloadtest/$1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['$2']))"
}

cm_check "create rt1 (a <-> b)" bash -c "$PCNCTL reloadtest add rt1 && $PCNCTL rt1 ports add p0 peer=$IFA && $PCNCTL rt1 ports add p1 peer=$IFB"
cm_check "create rt2 (c <-> d)" bash -c "$PCNCTL reloadtest add rt2 && $PCNCTL rt2 ports add p0 peer=$IFC && $PCNCTL rt2 ports add p1 peer=$IFD"
f2=$(stat_of rt2 forwarded)
cm_check "pings through rt1" cm_ping a 10.206.0.2 4
f1=$(stat_of rt1 forwarded)
cm_check "rt1's private counter moved ($f1)" [ "$f1" -ge 8 ]
cm_check "rt2's did not: it cannot see rt1's map ($f2 -> $(stat_of rt2 forwarded))" [ "$(stat_of rt2 forwarded)" = "$f2" ]
h1=$(stat_of rt1 ns-hits); h2=$(stat_of rt2 ns-hits)
cm_check "the namespace map counted rt1's packets ($h1)" [ "$h1" -ge 8 ]
cm_check "rt2 sees the very same namespace map ($h2 = $h1)" [ "$h2" = "$h1" ]
cm_check "pinned once, under ns/rtns" test -e "$CM_BPFFS/ns/rtns/rtns__hits"
cm_check "not in either instance's directory" \
	bash -c "! ls $CM_BPFFS/cubes/reloadtest/rt1 $CM_BPFFS/cubes/reloadtest/rt2 | grep -q rtns"
cm_check "pings through rt2" cm_ping c 10.206.1.2 4
h1b=$(stat_of rt1 ns-hits)
cm_check "rt2's packets land in the shared map too ($h1 -> $h1b)" [ "$h1b" -ge $((h1 + 8)) ]
cm_check "rt1's private counter did not move" [ "$(stat_of rt1 forwarded)" = "$f1" ]
cm_check "disarm rt1 only" $PCNCTL rt1 set armed=false
cm_check_not "rt1 stops" cm_ping a 10.206.0.2 2
cm_check "rt2 still forwards: its armed map is its own" cm_ping c 10.206.1.2 2
# Reloads from source until two are done (clang takes its time on a busy
# machine: wait for them rather than for a fixed time).
reloads_done() {
	for _ in $(seq 1 300); do
		[ "$(stat_of rt2 reloads)" -ge 2 ] && return 0
		sleep 0.1
	done
	return 1
}
cm_check "a reload of rt2 (from source) keeps the namespace map" bash -c "
	$PCNCTL rt2 set reload-from=SOURCE reload-period-ms=50 >/dev/null"
cm_check "two reloads done" reloads_done
$PCNCTL rt2 set reload-period-ms=0 >/dev/null
cm_check "those reloads succeeded ($(stat_of rt2 reloads))" \
	bash -c "[ \$(curl -s ${PCN_URL}reloadtest/rt2/stats/reload-errors/ | tr -dc 0-9) = 0 ] && [ $(stat_of rt2 reloads) -ge 1 ]"
h=$(stat_of rt2 ns-hits)
cm_check "pings through rt2 after its reloads" cm_ping c 10.206.1.2 2
cm_check "still counted in the same map" [ "$(stat_of rt1 ns-hits)" -ge $((h + 4)) ]
cm_check "delete both" bash -c "$PCNCTL rt1 del && $PCNCTL rt2 del"
cm_done

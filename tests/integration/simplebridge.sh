#!/usr/bin/env bash
# simplebridge for each hook: two hosts, then a third. Pings pass both ways
# (ARP is broadcast: flooded by the slow path, so this also checks packets
# out of every other port); the fdb shows each host's MAC on its port;
# entries age out after aging-time; flush empties the fdb.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start simplebridge
cm_host a 10.203.0.1/24; IFA=$CM_IF
cm_host b 10.203.0.2/24; IFB=$CM_IF
cm_host c 10.203.0.3/24; IFC=$CM_IF
# No IPv6 chatter (router solicitations, MLD reports) to refresh the fdb
# behind the aging test's back.
for h in a b c; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
mac_of() { ip -n "$(cm_ns "$1")" link show eth0 | awk '/ether/ {print $2}'; }
MACA=$(mac_of a); MACB=$(mac_of b); MACC=$(mac_of c)
flush_neigh() { for h in a b c; do ip -n "$(cm_ns $h)" neigh flush dev eth0 2>/dev/null; done; }

# fdb_port MAC: the port the fdb has MAC on ("" if none).
fdb_port() {
	$PCNCTL -j br1 fdb entry show 2>/dev/null | tr -d ' \n' |
		grep -o "{[^}]*\"address\":\"$1\"[^}]*}" | sed -n 's/.*"port":"\([^"]*\)".*/\1/p'
}
fdb_count() { $PCNCTL -j br1 fdb entry show 2>/dev/null | grep -c '"address"' || true; }
fdb_empty() { [ "$(fdb_count)" = 0 ]; }
# fdb_ages_out: empty within 6 s (aging-time 2 plus ARP's own probes, which
# refresh entries); prints what is left when not.
fdb_ages_out() {
	until_ok 6 fdb_empty && return 0
	$PCNCTL -j br1 fdb entry show >&2
	return 1
}
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
# flood_count IFACE: frames tcpdump in host C's namespace saw (run in background).

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	flush_neigh
	cm_check "$hook: create br1" $PCNCTL simplebridge add br1 type=$hook
	cm_check "$hook: port pa peer" $PCNCTL br1 ports add pa peer=$IFA
	cm_check "$hook: port pb peer" $PCNCTL br1 ports add pb peer=$IFB
	cm_check "$hook: a -> b" cm_ping a 10.203.0.2
	cm_check "$hook: b -> a" cm_ping b 10.203.0.1
	cm_check "$hook: fdb has a on pa" [ "$(fdb_port "$MACA")" = pa ]
	cm_check "$hook: fdb has b on pb" [ "$(fdb_port "$MACB")" = pb ]

	cm_check "$hook: port pc peer (third host)" $PCNCTL br1 ports add pc peer=$IFC
	cm_check "$hook: c -> a" cm_ping c 10.203.0.1
	cm_check "$hook: b -> c" cm_ping b 10.203.0.3
	cm_check "$hook: fdb has c on pc" [ "$(fdb_port "$MACC")" = pc ]
	cm_check "$hook: slow path flooded (packets out counted)" bash -c \
		"curl -s ${PCN_URL}metrics | awk '\$1 == \"cubemesh_slowpath_out_packets_total{service=\\\"simplebridge\\\",cube=\\\"br1\\\"}\" && \$2 > 0 {ok=1} END {exit !ok}'"

	cm_check "$hook: flush (POST on the action) is 204" \
		bash -c "[ \"\$(curl -s -o /dev/null -w %{http_code} -X POST ${PCN_URL}simplebridge/br1/fdb/flush)\" = 204 ]"
	cm_check "$hook: flush empties the fdb" fdb_empty
	cm_check "$hook: learns again after flush" cm_ping a 10.203.0.3
	cm_check "$hook: aging-time 2" $PCNCTL br1 fdb set aging-time=2
	cm_check "$hook: entries are there" bash -c "[ \$($PCNCTL -j br1 fdb entry show | grep -c '\"address\"') -ge 2 ]"
	cm_check "$hook: entries age out after aging-time" fdb_ages_out
	cm_check "$hook: still forwards after aging (floods, relearns)" cm_ping b 10.203.0.1
	cm_check "$hook: delete" $PCNCTL br1 del
done
cm_done

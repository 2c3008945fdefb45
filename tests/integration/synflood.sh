#!/usr/bin/env bash
# synflood: attached to the host end of a's veth, at each hook. Ordinary
# connections from a to a server on the host complete and count as
# established (no failed attempt); a connection to a closed port is refused
# with an RST the cube counts as sent (tcpoutrsts); a SYN flood from a
# (hping3 when installed, otherwise cubes/synflood/syngen.py) shows in the
# counters (syn >= N, tcpattemptfails >= N, a half-open ratio near 1000 and a
# SYN rate while it lasts) while an ordinary connection made during the flood
# still succeeds; reset-stats zeroes the counters and the rates follow; the
# counters survive a restart of pcn-synflood; delete leaves nothing on the
# netdev.
source "$(dirname "$0")/../lib/mesh.sh"
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
NET=10.216.$((CM_ID % 250))
FLOOD=2500 # SYNs, at 1000 a second

cm_mesh_start synflood || { echo "FAIL - pcn-synflood did not come up"; exit 1; }
cm_host a "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns a)
ip addr add "$NET.254/24" dev "$IFA"

# A server on the host (through the cube): says hello and closes.
SRV_PORT=$(cm_free_port)
python3 - "$NET.254" "$SRV_PORT" >"$CM_TMP/server.log" 2>&1 <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        c.sendall(b"synflood-ok\n")
    except OSError:
        pass
    c.close()
EOF
CM_PIDS+=("$!")
CLOSED_PORT=$(cm_free_port)
while [ "$CLOSED_PORT" = "$SRV_PORT" ]; do CLOSED_PORT=$(cm_free_port); done

# connect PORT: 0 when a's connection to the host's PORT gets the hello.
connect() {
	ip netns exec "$NSA" python3 - "$NET.254" "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
data = b""
while True:
    chunk = s.recv(64)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data == b"synflood-ok\n" else 1)
EOF
}
connections() { local i; for i in $(seq 1 "$1"); do connect "$SRV_PORT" || return 1; done; }

# snap: sf1's stats into S_<leaf> (S_syn, S_ingress_syn, S_halfopen_ratio, ...),
# one read for a group of checks.
snap() {
	eval "$(curl -s "${PCN_URL}synflood/sf1/stats/" | python3 -c '
import json, sys
def walk(d, pre):
    for k, v in d.items():
        n = pre + k.replace("-", "_")
        if isinstance(v, dict):
            walk(v, n + "_")
        else:
            print("S_%s=%d" % (n, int(v)))
walk(json.load(sys.stdin), "")')"
}
# wait_tick [MS]: until lastupdate (the last computation) is past MS since
# the epoch (default: now), 4 s at most.
wait_tick() {
	local t0=${1:-$(date +%s%3N)} t
	for _ in $(seq 1 40); do
		t=$(curl -s "${PCN_URL}synflood/sf1/stats/lastupdate/" | tr -dc 0-9)
		[ "${t:-0}" -gt "$t0" ] && return 0
		sleep 0.1
	done
	return 1
}
# flood N PPS: N SYNs from a to the server's port.
flood() {
	if command -v hping3 >/dev/null; then
		ip netns exec "$NSA" hping3 -q -S -p "$SRV_PORT" -c "$1" -i "u$((1000000 / $2))" "$NET.254" >/dev/null 2>&1
	else
		ip netns exec "$NSA" python3 "$CM_SRC/cubes/synflood/syngen.py" "$NET.254" "$SRV_PORT" "$1" "$2" >/dev/null
	fi
}

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create sf1" $PCNCTL synflood add sf1 type=$hook
	cm_check "$hook: attach to $IFA" $PCNCTL attach sf1 "$IFA"
	snap
	cm_check "$hook: counters start at 0" [ "$S_syn" = 0 -a "$S_tcpattemptfails" = 0 ]
	cm_check "$hook: lastupdate is set by the timer" wait_tick

	cm_check "$hook: 5 ordinary connections succeed" connections 5
	snap
	cm_check "$hook: ingress syn = 5 ($S_ingress_syn)" [ "$S_ingress_syn" = 5 ]
	cm_check "$hook: egress synack = 5 ($S_egress_synack)" [ "$S_egress_synack" = 5 ]
	cm_check "$hook: ingress established = 5 ($S_ingress_established)" [ "$S_ingress_established" = 5 ]
	cm_check "$hook: no failed attempt ($S_tcpattemptfails)" [ "$S_tcpattemptfails" = 0 ]
	cm_check "$hook: deliverratio ~1000: to the parent's address ($S_deliverratio)" [ "$S_deliverratio" -ge 900 ]
	cm_check "$hook: responseratio > 0 ($S_responseratio)" [ "$S_responseratio" -gt 0 ]

	cm_check_not "$hook: a closed port refuses" connect "$CLOSED_PORT"
	snap
	cm_check "$hook: its RST counted as sent (tcpoutrsts $S_tcpoutrsts)" [ "$S_tcpoutrsts" -ge 1 ]
	cm_check "$hook: one failed attempt ($S_tcpattemptfails)" [ "$S_tcpattemptfails" -ge 1 ]

	syn0=$S_syn
	t0=$(date +%s%3N)
	flood "$FLOOD" 1000 &
	fpid=$!
	sleep 0.5
	cm_check "$hook: a connection during the flood succeeds" connect "$SRV_PORT"
	# A computation whose whole second lies inside the flood.
	wait_tick $((t0 + 1100))
	snap
	rate=$S_syn_rate ratio=$S_halfopen_ratio
	cm_check "$hook: syn-rate during the flood ~1000/s ($rate)" [ "$rate" -ge 300 ]
	cm_check "$hook: halfopen-ratio during the flood ~1000 ($ratio)" [ "$ratio" -ge 900 ]
	wait "$fpid"
	snap
	cm_check "$hook: syn grew by >= $FLOOD ($(( $S_syn - syn0 )))" [ $(( $S_syn - syn0 )) -ge "$FLOOD" ]
	cm_check "$hook: tcpattemptfails >= $FLOOD ($S_tcpattemptfails)" [ "$S_tcpattemptfails" -ge "$FLOOD" ]
	cm_check "$hook: the flood's SYN-ACKs went out ($S_egress_synack)" [ "$S_egress_synack" -ge "$FLOOD" ]
	cm_check "$hook: a's RSTs for them came in ($S_ingress_rst)" [ "$S_ingress_rst" -ge "$FLOOD" ]
	cm_check "$hook: connections after the flood succeed" connections 3

	if [ "$hook" = TC ]; then
		out=$(cm_http POST /synflood/sf1/reset-stats/)
		cm_check "$hook: POST reset-stats: 204 (${out%% *})" [ "${out%% *}" = 204 ]
	else
		cm_check "$hook: pcnctl sf1 reset-stats add" $PCNCTL sf1 reset-stats add
	fi
	t0=$(date +%s%3N)
	snap
	cm_check "$hook: counters are 0 after reset" \
		[ "$S_syn" = 0 -a "$S_rst" = 0 -a "$S_tcpoutrsts" = 0 -a "$S_ingress_ipv4" -le 2 ]
	# A computation whose whole second lies after the reset.
	wait_tick $((t0 + 1000))
	snap
	cm_check "$hook: and the rates too" [ "$S_syn_rate" = 0 -a "$S_halfopen_ratio" = 0 ]
	cm_check "$hook: counting goes on" connections 2
	snap
	cm_check "$hook: syn = established = 2" [ "$S_syn" = 2 -a "$S_established" = 2 ]

	if [ "$hook" = TC ]; then
		cm_log "restart pcn-synflood"
		kill "${CM_CUBE_PID[synflood]}"
		wait "${CM_CUBE_PID[synflood]}" 2>/dev/null
		cm_check "$hook: connections go on while pcn-synflood is down" connections 1
		cm_check "$hook: pcn-synflood comes back" cm_cube_start synflood
		snap
		cm_check "$hook: the counters survived the restart (syn $S_syn)" [ "$S_syn" = 3 ]
	fi
	cm_check "$hook: delete sf1 (detached with it)" $PCNCTL sf1 del
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done
cm_done

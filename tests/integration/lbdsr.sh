#!/usr/bin/env bash
# pcn-lbdsr in Polycube's topology (its test/local_test_tcp_3backends.sh),
# at TC, XDP_SKB and XDP_DRV: one simplebridge joins the client, three
# backends and both ports of the balancer.
#
#   c, b1, b2, b3 --- [br1] --- lf:fe [lb1] be:lb --- [br1]
#             10.213.0.0/24, vip 10.213.0.100
#
# Each backend holds the vip on its loopback (arp_ignore=1,
# arp_announce=2: lb1 answers ARP for it) and runs `python3 -m http.server
# 80` serving a file that says its name. A python client makes 3,000 HTTP
# requests, each its own TCP connection, from fixed source ports: they
# spread within 5 points of each backend's share by weight; deleting a
# backend moves its flows and keeps the others' (the same source ports
# again); a weight change shifts the spread (1,500 requests). The answers
# go direct: on the client's link every frame from the vip carries a
# backend's MAC, and lb1 counts about the client's packets to the vip, not
# the answers too. At XDP_DRV, 30 open connections are answered by their
# own backends after pcn-lbdsr is killed and restarted and their backend
# deleted. At XDP_SKB lb1 logs at TRACE.
source "$(dirname "$0")/../lib/mesh.sh"

cm_broker_start
for svc in lbdsr simplebridge; do cm_cube_start $svc || exit 1; done
VIP=10.213.0.100
cm_host c 10.213.0.10/24; IFC=$CM_IF
declare -A MAC IF
for h in b1 b2 b3; do
	cm_host $h 10.213.0.${h#b}/24; IF[$h]=$CM_IF
	ns=$(cm_ns $h)
	MAC[$h]=$(ip -n "$ns" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	ip -n "$ns" addr add $VIP/32 dev lo
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
	mkdir -p "$CM_TMP/www_$h"
	echo "$h" >"$CM_TMP/www_$h/name"
	ip netns exec "$ns" python3 -m http.server 80 --bind 0.0.0.0 --directory "$CM_TMP/www_$h" >/dev/null 2>&1 &
	CM_PIDS+=("$!")
done
for h in c b1 b2 b3; do
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1
done
FE_MAC=02:00:00:13:00:64

# The client: `run N BASE` makes N requests (32 at a time), the i-th from
# source port BASE + i, and prints {port: backend name or ERR:...} as JSON.
# `hold N BASE READY GO` opens N connections, touches READY, waits for GO,
# then sends a request on each and prints the same.
cat >"$CM_TMP/client.py" <<'EOF'
import json, os, queue, socket, sys, threading, time
mode, n, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
VIP, VPORT = os.environ["VIP"], 80
out = {}

def conn(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(4)
    s.bind(("0.0.0.0", p))
    s.connect((VIP, VPORT))
    return s

def ask(p, s):
    try:
        s.sendall(b"GET /name HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        out[p] = body.decode().strip() if head.startswith(b"HTTP/1.0 200") else "ERR:status"
    except Exception as e:
        out[p] = "ERR:" + type(e).__name__
    finally:
        s.close()

if mode == "run":
    q = queue.Queue()
    for i in range(n):
        q.put(base + i)
    def worker():
        while True:
            try:
                p = q.get_nowait()
            except queue.Empty:
                return
            for attempt in range(3):
                try:
                    s = conn(p)
                    break
                except OSError as e:
                    s = None
                    err = e
                    time.sleep(0.05)
            if s is None:
                out[p] = "ERR:" + type(err).__name__
                continue
            ask(p, s)
    ts = [threading.Thread(target=worker) for _ in range(32)]
    for t in ts: t.start()
    for t in ts: t.join()
else:
    ready, go = sys.argv[4], sys.argv[5]
    socks = {}
    for i in range(n):
        socks[base + i] = conn(base + i)
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.05)
    for p, s in socks.items():
        ask(p, s)
print(json.dumps(out))
EOF
ask() { VIP=$VIP ip netns exec "$(cm_ns c)" python3 "$CM_TMP/client.py" run "$2" "$3" >"$1"; }
spread() {
	python3 - "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = {k: float(v) for k, v in (a.split("=") for a in sys.argv[2:])}
errs = [v for v in d.values() if v.startswith("ERR")]
n = len(d)
got = {k: 100.0 * sum(1 for v in d.values() if v == k) / n for k in want}
print("   spread:", {k: round(v, 1) for k, v in got.items()}, "errors:", len(errs), errs[:3])
sys.exit(0 if not errs and all(abs(got[k] - want[k]) <= 5 for k in want) else 1)
EOF
}
kept() {
	python3 - "$@" <<'EOF'
import json, sys
a, b, gone = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
others = [p for p in a if a[p] != gone and not a[p].startswith("ERR")]
moved = sum(1 for p in others if b.get(p) != a[p])
ongone = sum(1 for v in b.values() if v == gone)
print("   of %d flows on the others, %d moved; %d on %s after" % (len(others), moved, ongone, gone))
sys.exit(0 if others and moved <= len(others) / 100 and ongone == 0 else 1)
EOF
}
# rx_lb1: packets lb1 has taken in (its fast path's counter, in /metrics).
rx_lb1() {
	curl -s "${PCN_URL}metrics" | awk '/^cubemesh_cube_rx_packets_total\{/ && /"lb1"/ { s += $2 } END { print s + 0 }'
}

base=20000
for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	off=$([ "$hook" = TC ] && echo on || echo off)
	for h in c b1 b2 b3; do
		ip netns exec "$(cm_ns $h)" ethtool -K eth0 tx "$off" >/dev/null 2>&1
		ip -n "$(cm_ns $h)" neigh flush dev eth0
	done
	# At XDP_SKB the fast path logs at TRACE (its DEBUG lines: every new
	# flow), as Polycube's scripts run it: those lines must load too.
	lvl=$([ "$hook" = XDP_SKB ] && echo loglevel=TRACE)
	cm_check "$hook: lb1, br1" bash -c "$PCNCTL lbdsr add lb1 type=$hook $lvl && $PCNCTL simplebridge add br1 type=$hook"
	cm_check "$hook: wiring" bash -c "$PCNCTL br1 ports add c peer=$IFC && $PCNCTL br1 ports add h1 peer=${IF[b1]} &&
		$PCNCTL br1 ports add h2 peer=${IF[b2]} && $PCNCTL br1 ports add h3 peer=${IF[b3]} &&
		$PCNCTL br1 ports add lf && $PCNCTL br1 ports add lb &&
		$PCNCTL lbdsr lb1 ports add fe type=FRONTEND && $PCNCTL lbdsr lb1 ports add be type=BACKEND &&
		$PCNCTL connect lb1:fe br1:lf && $PCNCTL connect lb1:be br1:lb"
	# Polycube's own lines (its test scripts), a weight on b3.
	cm_check "$hook: frontend and pool (weights 1, 1, 2)" bash -c "
		$PCNCTL lbdsr lb1 set algorithm=Random &&
		$PCNCTL lbdsr lb1 frontend set vip=$VIP mac=$FE_MAC &&
		$PCNCTL lbdsr lb1 backend pool add 1 mac=${MAC[b1]} &&
		$PCNCTL lbdsr lb1 backend pool add 2 mac=${MAC[b2]} weight=1 &&
		$PCNCTL lbdsr lb1 backend pool add 3 mac=${MAC[b3]} weight=2"
	# The backends make themselves known to br1 (as a real one's traffic
	# would): simplebridge floods an unknown destination through the slow
	# path, which is slow, and which a TCP segment whose checksum is left
	# to offload (TC, tx on) does not survive.
	for h in b1 b2 b3; do ip netns exec "$(cm_ns $h)" ping -c 1 -W 1 10.213.0.10 >/dev/null 2>&1; done
	cm_check "$hook: c pings the vip (a backend answers)" cm_ping c $VIP 2
	cm_check "$hook: lb1 answered ARP for the vip" bash -c "ip -n $(cm_ns c) neigh show $VIP | grep -qi $FE_MAC"
	ask "$CM_TMP/probe.json" 10 $base
	if [ "$(grep -o '"b[123]"' "$CM_TMP/probe.json" | wc -l)" != 10 ]; then
		cm_check "$hook: the service answers" false
		$PCNCTL lb1 del; $PCNCTL br1 del
		continue
	fi

	# The answers go direct: what the client gets from the vip carries a
	# backend's MAC, and lb1 takes in about what the client sends.
	ip netns exec "$(cm_ns c)" tcpdump -i eth0 -nn -e -U -w "$CM_TMP/c.pcap" "host $VIP and tcp" 2>/dev/null &
	dump=$!
	CM_PIDS+=("$dump")
	sleep 0.5
	rx0=$(rx_lb1)
	ask "$CM_TMP/a.json" 3000 $base
	rx1=$(rx_lb1)
	sleep 0.3
	kill "$dump"; wait "$dump" 2>/dev/null
	cm_check "$hook: 3,000 requests: 25/25/50 by weight" spread "$CM_TMP/a.json" b1=25 b2=25 b3=50
	[ -n "$lvl" ] && cm_check "$hook: lb1's fast path logs its new flows" \
		bash -c "$PCNCTL logs lb1 | grep -q 'lbdsr: new flow'"
	cm_check "$hook: answers come from the backends' MACs, lb1 sees only the way in" python3 - \
		"$CM_TMP/c.pcap" "$VIP" "$((rx1 - rx0))" "${MAC[b1]}" "${MAC[b2]}" "${MAC[b3]}" <<'EOF'
import collections, socket, struct, sys
path, vip, rx, backs = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3]), set(m.lower() for m in sys.argv[4:])
f = open(path, "rb").read()
off, sent, got, srcs = 24, 0, 0, collections.Counter()
while off + 16 <= len(f):
    incl = struct.unpack_from("<I", f, off + 8)[0]
    pkt = f[off + 16: off + 16 + incl]
    off += 16 + incl
    if len(pkt) < 34:
        continue
    if pkt[30:34] == vip:
        sent += 1
    elif pkt[26:30] == vip:
        got += 1
        srcs[":".join("%02x" % b for b in pkt[6:12])] += 1
print("   client sent %d to the vip, got %d from it (from %s); lb1 took in %d" % (sent, got, dict(srcs), rx))
ok = got > 1000 and set(srcs) <= backs and len(srcs) == 3 and 0.9 * sent <= rx <= sent + got / 4
sys.exit(0 if ok else 1)
EOF
	cm_check "$hook: delete backend 3" $PCNCTL lbdsr lb1 backend pool del 3
	ask "$CM_TMP/b.json" 3000 $base
	cm_check "$hook: b3's share moves: 50/50" spread "$CM_TMP/b.json" b1=50 b2=50
	cm_check "$hook: b1's and b2's flows keep their backend" kept "$CM_TMP/a.json" "$CM_TMP/b.json" b3
	cm_check "$hook: weight of 2 to 3" $PCNCTL lbdsr lb1 backend pool 2 set weight=3
	ask "$CM_TMP/c.json" 1500 $((base + 3000))
	cm_check "$hook: spread shifts to 25/75" spread "$CM_TMP/c.json" b1=25 b2=75
	base=$((base + 6000))

	if [ "$hook" = XDP_DRV ]; then
		cm_check "$hook: backend 3 back" $PCNCTL lbdsr lb1 backend pool add 3 mac=${MAC[b3]}
		rm -f "$CM_TMP/ready" "$CM_TMP/go"
		VIP=$VIP ip netns exec "$(cm_ns c)" python3 "$CM_TMP/client.py" hold 30 $base \
			"$CM_TMP/ready" "$CM_TMP/go" >"$CM_TMP/held.json" &
		held=$!
		CM_PIDS+=("$held")
		for _ in $(seq 1 50); do [ -e "$CM_TMP/ready" ] && break; sleep 0.1; done
		cm_check "$hook: 30 connections open" [ -e "$CM_TMP/ready" ]
		top=$(for h in b1 b2 b3; do
			echo "$(ip netns exec "$(cm_ns $h)" ss -Htn state established "( sport = :80 )" | wc -l) $h"
		done | sort -rn | head -1 | cut -d' ' -f2)
		cm_log "restart pcn-lbdsr; then delete $top"
		kill "${CM_CUBE_PID[lbdsr]}"
		wait "${CM_CUBE_PID[lbdsr]}" 2>/dev/null
		cm_check "$hook: pcn-lbdsr comes back" cm_cube_start lbdsr
		cm_check "$hook: delete $top, which holds open flows" $PCNCTL lbdsr lb1 backend pool del ${top#b}
		touch "$CM_TMP/go"
		wait "$held"
		cm_check "$hook: every held connection answered by its own backend" python3 -c "
import json, sys
d = json.load(open('$CM_TMP/held.json'))
print('   held:', sorted(d.values()).count('$top'), 'on $top of', len(d), [v for v in d.values() if v.startswith('ERR')][:3])
sys.exit(0 if len(d) == 30 and not any(v.startswith('ERR') for v in d.values()) and '$top' in d.values() else 1)"
		ask "$CM_TMP/e.json" 300 $((base + 100))
		cm_check "$hook: new connections do not reach $top" python3 -c "
import json, sys
d = json.load(open('$CM_TMP/e.json'))
sys.exit(0 if d and '$top' not in d.values() and not any(v.startswith('ERR') for v in d.values()) else 1)"
	fi
	cm_check "$hook: delete" bash -c "$PCNCTL lb1 del && $PCNCTL br1 del"
done
cm_done

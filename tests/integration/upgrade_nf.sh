#!/usr/bin/env bash
# Upgrades of the stateful cubes under live traffic, make before break: a
# second process of pcn-firewall, pcn-nat, pcn-lbrp and pcn-lbdsr, started
# beside the running one, takes their instances over (broker/control/upgrade.c), twice:
# first the same build (it adopts the pinned programs), then as a new build
# does (the adoption records removed: it loads its fast path again on the
# pinned maps). Each time the new process serves (GET /services/<svc> names
# its pid) and the old one exits. What each cube holds must come through:
#  - firewall, XDP_DRV on a's veth (default DROP, accept-established OFF,
#    conntrack ON; INGRESS: ICMP, NEW TCP to one port, ESTABLISHED TCP;
#    EGRESS: ESTABLISHED): a ping stream loses nothing; a TCP connection
#    opened before goes on (its segments pass as ESTABLISHED, which only the
#    session table knows: lost, they are INVALID and dropped) and the
#    session table lists it after; the ICMP rule counted every echo request
#    a sent (counters reset or lost count fewer); the rules, the default
#    DROP (the host cannot ping a) and new connections work;
#  - nat, TC on r1:p2 with masquerade: a TCP connection through it goes on,
#    natting-table gives it the same external port after, the one b saw;
#    after the takeovers b's server speaks first on it: only the table turns
#    b's segments back towards a (the port is a hash of the flow, so a's
#    own next segment would not notice a lost table); new flows work;
#  - lbrp, XDP_DRV (fe: c; be: s, which holds the three backends' addresses):
#    24 connections to the vip keep their backend through both takeovers
#    and after the backend with most of them is deleted (only the connection
#    table keeps them there: Maglev would send them elsewhere); new
#    connections spread over the backends and none reaches the deleted one;
#  - lbdsr, TC (br1 joins the client, three backends holding the vip on
#    their loopback, and ds1's ports): the same, through its session table.
# About 25 s.
# UPGRADE_NF_LOSE=1 unpins the state tables (fw_ct, fw_cnt, nat_ct,
# lbrp_conns, lbrp_rev, lbdsr_sessions) before the second takeover, as an
# upgrade that dropped them would: the test must then fail.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start router simplebridge firewall nat lbrp lbdsr || { echo "FAIL - the mesh did not come up"; exit 1; }
NET=10.223.$((CM_ID % 250))
VIP=10.222.100.1
cm_host fa "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns fa)
ip addr add "$NET.254/24" dev "$IFA"
cm_host na 10.222.2.1/24; IFNA=$CM_IF; NSNA=$(cm_ns na)
cm_host nb 10.222.3.1/24; IFNB=$CM_IF; NSNB=$(cm_ns nb)
ip -n "$NSNA" route add default via 10.222.2.254
cm_host lc 10.222.4.1/24; IFLC=$CM_IF; NSLC=$(cm_ns lc)
cm_host ls 10.222.4.10/24; IFLS=$CM_IF; NSLS=$(cm_ns ls)
for i in 11 12 13; do ip -n "$NSLS" addr add 10.222.4.$i/24 dev eth0; done
ip -n "$NSLC" route add $VIP/32 via 10.222.4.10
VIP2=10.224.0.100
cm_host dc 10.224.0.10/24; IFDC=$CM_IF; NSDC=$(cm_ns dc)
declare -A IFD
for h in d1 d2 d3; do
	cm_host $h 10.224.0.${h#d}/24; IFD[$h]=$CM_IF
	ip -n "$(cm_ns $h)" addr add $VIP2/32 dev lo
	ip netns exec "$(cm_ns $h)" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
done
# TCP through native XDP on a veth needs the sender's checksum done in
# software (docs/KERNEL.md).
for ns in "$NSA" "$NSLC" "$NSLS"; do ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1; done
ethtool -K "$IFA" tx off >/dev/null 2>&1
mac() { ip "${@:2}" -j link show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
ip neigh replace "$NET.1" lladdr "$(mac eth0 -n "$NSA")" dev "$IFA" nud permanent
ip -n "$NSA" neigh replace "$NET.254" lladdr "$(mac "$IFA")" dev eth0 nud permanent
P=$(cm_free_port)

# A line server: answers each line L with "<its address, or argv[5]> L";
# logs each peer; when the file argv[4] appears, says "push" on every
# connection.
cat >"$CM_TMP/server.py" <<'EOF'
import os, socket, sys, threading, time
ips, port, log, push = sys.argv[1].split(","), int(sys.argv[2]), open(sys.argv[3], "a", buffering=1), sys.argv[4]
conns, lock = [], threading.Lock()
def serve(c, ip):
    name = (sys.argv[5] if len(sys.argv) > 5 else ip).encode()
    for line in c.makefile("rb"):
        try:
            c.sendall(b"%s %s\n" % (name, line.strip()))
        except OSError:
            break
def listen(ip):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(256)
    while True:
        c, peer = s.accept()
        log.write("%s:%d\n" % peer)
        with lock:
            conns.append(c)
        threading.Thread(target=serve, args=(c, ip), daemon=True).start()
for ip in ips:
    threading.Thread(target=listen, args=(ip,), daemon=True).start()
while not os.path.exists(push):
    time.sleep(0.05)
with lock:
    for c in conns:
        try:
            c.sendall(b"push\n")
        except OSError:
            pass
while True:
    time.sleep(60)
EOF
# A long client: N connections kept open; each time the tick file grows to
# K bytes, "roundK" on each. Logs "ready <local ports>", then every line
# received as "<i> <line>", and "<i> closed" when connection i ends.
cat >"$CM_TMP/client.py" <<'EOF'
import os, socket, sys, threading, time
dst, port, n, tick, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
log, lock = open(out, "a", buffering=1), threading.Lock()
def w(s):
    with lock:
        log.write(s + "\n")
socks = [socket.create_connection((dst, port), timeout=3) for _ in range(n)]
def reader(i, s):
    s.settimeout(None)
    try:
        for line in s.makefile("rb"):
            w("%d %s" % (i, line.decode().strip()))
    except OSError:
        pass
    w("%d closed" % i)
for i, s in enumerate(socks):
    threading.Thread(target=reader, args=(i, s), daemon=True).start()
w("ready " + ",".join(str(s.getsockname()[1]) for s in socks))
seen, end = 0, time.time() + 120
while time.time() < end:
    k = os.path.getsize(tick) if os.path.exists(tick) else 0
    if k > seen:
        seen = k
        for i, s in enumerate(socks):
            try:
                s.sendall(b"round%d\n" % k)
            except OSError:
                w("%d senderr" % i)
    time.sleep(0.02)
EOF
# burst DST PORT N: N new connections one after the other, one line each;
# prints "<address that answered>=<count> ..." (ERR: no answer).
cat >"$CM_TMP/burst.py" <<'EOF'
import collections, socket, sys
c = collections.Counter()
for _ in range(int(sys.argv[3])):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
        s.sendall(b"who\n")
        c[s.makefile("rb").readline().decode().split(" ")[0] or "ERR"] += 1
        s.close()
    except OSError:
        c["ERR"] += 1
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
server() { # server NS ADDRS PORT NAME [ANSWERS-AS]
	local ns=$1; shift
	if [ "$ns" = - ]; then
		python3 "$CM_TMP/server.py" "$1" "$2" "$CM_TMP/$3.peers" "$CM_TMP/$3.push" "${@:4}" &
	else
		ip netns exec "$ns" python3 "$CM_TMP/server.py" "$1" "$2" "$CM_TMP/$3.peers" "$CM_TMP/$3.push" "${@:4}" &
	fi
	CM_PIDS+=("$!")
}
client() { # client NS DST PORT N NAME
	ip netns exec "$1" python3 "$CM_TMP/client.py" "$2" "$3" "$4" "$CM_TMP/tick" "$CM_TMP/$5.out" &
	CM_PIDS+=("$!")
}
burst() { ip netns exec "$1" python3 "$CM_TMP/burst.py" "$2" "$3" "$4" 2>/dev/null; }
: >"$CM_TMP/tick"
ROUND=0
tick() { ROUND=$((ROUND + 1)); printf x >>"$CM_TMP/tick"; }
# answered NAME N: the N connections of client NAME each got round$ROUND back.
answered() {
	for _ in $(seq 80); do
		[ "$(grep -c " round$ROUND\$" "$CM_TMP/$1.out" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# ready NAME: client NAME has its connections open.
ready() {
	for _ in $(seq 60); do grep -q "^ready" "$CM_TMP/$1.out" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
# untouched NAME N: each of N connections answered every round so far,
# always from the same address, and none ended.
untouched() {
	python3 - "$CM_TMP/$1.out" "$2" "$ROUND" <<'EOF'
import collections, sys
seen, rounds, bad = collections.defaultdict(set), collections.Counter(), []
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) == 3 and f[2].startswith("round"):
        seen[f[0]].add(f[1])
        rounds[f[0]] += 1
    elif len(f) == 2 and f[1] in ("closed", "senderr"):
        bad.append(l.strip())
moved = {k: sorted(v) for k, v in seen.items() if len(v) > 1}
short = sorted(k for k in seen if rounds[k] != int(sys.argv[3]))
print("   %d connections; moved: %s; a round unanswered: %s; ended: %s" %
      (len(seen), moved or "none", short or "none", bad[:4] or "none"))
sys.exit(0 if len(seen) == int(sys.argv[2]) and not moved and not short and not bad else 1)
EOF
}

echo "# firewall fw1 (XDP_DRV) on $IFA"
cm_check "fw1 with its rules" bash -c "
	$PCNCTL firewall add fw1 type=XDP_DRV accept-established=OFF >/dev/null && $PCNCTL attach fw1 $IFA >/dev/null &&
	$PCNCTL firewall fw1 chain INGRESS append l4proto=ICMP action=FORWARD >/dev/null &&
	$PCNCTL firewall fw1 chain INGRESS append src=$NET.1/32 l4proto=TCP dport=$P conntrack=NEW action=FORWARD >/dev/null &&
	$PCNCTL firewall fw1 chain INGRESS append l4proto=TCP conntrack=ESTABLISHED action=FORWARD >/dev/null &&
	$PCNCTL firewall fw1 chain EGRESS append conntrack=ESTABLISHED action=FORWARD >/dev/null"
pkts() { curl -s "${PCN_URL}firewall/fw1/chain/INGRESS/stats/$1/pkts/" | tr -dc 0-9; }
rules() {
	curl -s "${PCN_URL}firewall/fw1/chain/$1/rule/" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = next(iter(d.values()), []) if isinstance(d, dict) else d
print(" ".join("%s:%s:%s:%s" % (r["id"], r.get("l4proto", "-"), r.get("conntrack", "-"), r.get("dport", "-")) for r in d))'
}
RULES_IN="0:ICMP:-:- 1:TCP:NEW:$P 2:TCP:ESTABLISHED:-"
cm_check "fw1: the rules read back ($(rules INGRESS))" [ "$(rules INGRESS)" = "$RULES_IN" ]
server - "$NET.254" "$P" fw
cm_check "fw1: a pings the host" cm_ping fa "$NET.254" 3
PINGS=3

echo "# nat nat1 (TC) on r1:p2, masquerade"
EXT=10.222.3.254
cm_check "r1 and nat1" bash -c "
	$PCNCTL router add r1 type=TC >/dev/null && $PCNCTL r1 ports add p1 ip=10.222.2.254/24 peer=$IFNA >/dev/null &&
	$PCNCTL r1 ports add p2 ip=$EXT/24 peer=$IFNB >/dev/null && $PCNCTL nat add nat1 type=TC >/dev/null &&
	$PCNCTL attach nat1 r1:p2 >/dev/null && $PCNCTL nat1 rule masquerade enable >/dev/null"
server "$NSNB" 10.222.3.1 7001 nat

echo "# lbrp lb1 (XDP_DRV): $VIP:80 to 10.222.4.11-13:8000"
cm_check "lb1 with its service" bash -c "
	$PCNCTL lbrp add lb1 type=XDP_DRV >/dev/null && $PCNCTL lb1 ports add fe type=FRONTEND peer=$IFLC >/dev/null &&
	$PCNCTL lb1 ports add be type=BACKEND peer=$IFLS >/dev/null && $PCNCTL lbrp lb1 service add $VIP 80 TCP name=web >/dev/null &&
	for i in 11 12 13; do $PCNCTL lbrp lb1 service $VIP 80 TCP backend add 10.222.4.\$i port=8000 weight=1 >/dev/null || exit 1; done"
server "$NSLS" 10.222.4.11,10.222.4.12,10.222.4.13 8000 lb

echo "# lbdsr ds1 (TC): $VIP2:80 to d1, d2, d3 by MAC, through br1"
pc() { $PCNCTL "$@" >/dev/null; }
ds_setup() {
	local h
	pc lbdsr add ds1 type=TC && pc simplebridge add br1 type=TC && pc br1 ports add c peer=$IFDC &&
		pc br1 ports add lf && pc br1 ports add lb || return 1
	for h in d1 d2 d3; do pc br1 ports add $h peer=${IFD[$h]} || return 1; done
	pc lbdsr ds1 ports add fe type=FRONTEND && pc lbdsr ds1 ports add be type=BACKEND &&
		pc connect ds1:fe br1:lf && pc connect ds1:be br1:lb &&
		pc lbdsr ds1 frontend set vip=$VIP2 mac=02:00:00:24:00:64 || return 1
	for h in d1 d2 d3; do
		pc lbdsr ds1 backend pool add ${h#d} mac="$(mac eth0 -n "$(cm_ns $h)")" || return 1
	done
}
cm_check "ds1 and br1" ds_setup
for h in d1 d2 d3; do
	server "$(cm_ns $h)" $VIP2 80 ds $h
	# br1 learns them (an unknown destination floods through the slow path).
	ip netns exec "$(cm_ns $h)" ping -c 1 -W 1 10.224.0.10 >/dev/null 2>&1
done
sleep 0.3 # the servers listen

client "$NSA" "$NET.254" "$P" 1 fw
client "$NSNA" 10.222.3.1 7001 1 nat
client "$NSLC" $VIP 80 24 lb
client "$NSDC" $VIP2 80 24 ds
for c in fw nat lb ds; do cm_check "$c: the long connections are open" ready $c; done
tick
cm_check "fw: round $ROUND answered" answered fw 1
cm_check "nat: round $ROUND answered" answered nat 1
cm_check "lb: round $ROUND answered on all 24" answered lb 24
cm_check "ds: round $ROUND answered on all 24" answered ds 24
NAT_SPORT=$(sed -n 's/^ready //p' "$CM_TMP/nat.out")
ext_of() { # the external ip:port natting-table gives a's long connection
	$PCNCTL -j nat1 natting-table show 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if str(e["internal-sport"]) == sys.argv[1] and e["proto"] == "tcp":
        print("%s:%s" % (e.get("external-ip"), e.get("external-port")))' "$NAT_SPORT"
}
NAT_EXT=$(ext_of)
cm_check "nat: natting-table lists the connection ($NAT_EXT), as b saw it" grep -qx "$NAT_EXT" "$CM_TMP/nat.peers"

# ---- the takeovers, under a ping stream through fw1 ----------------------
declare -A NEW
serves() { # serves SVC PID: GET /services/SVC says PID runs it (10 s at most)
	for _ in $(seq 100); do
		curl -s "${PCN_URL}services/$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d.get("pid") == int(sys.argv[1]) and d.get("state") == "running" else 1)' "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
gone() { for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
takeover() { # takeover NAME: a new process of each service beside the running one
	local svc old t0
	t0=$(date +%s%3N)
	for svc in firewall nat lbrp lbdsr; do
		"$CM_BUILD/cubes/$svc/pcn-$svc" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" \
			>>"$CM_TMP/$svc-$1.log" 2>&1 &
		NEW[$svc]=$!
		CM_PIDS+=("$!")
	done
	for svc in firewall nat lbrp lbdsr; do
		old=${CM_CUBE_PID[$svc]}
		cm_check "$1: the new pcn-$svc (pid ${NEW[$svc]}) serves" serves $svc "${NEW[$svc]}"
		cm_check "$1: the old one (pid $old) exited" gone "$old"
		echo "  (pcn-$svc: $(( $(date +%s%3N) - t0 )) ms)"
		CM_CUBE_PID[$svc]=${NEW[$svc]}
	done
}
# Stopped once both takeovers are over: only its last request may then be
# unanswered, still on its way.
ip netns exec "$NSA" ping -i 0.02 -W 1 "$NET.254" >"$CM_TMP/ping.out" 2>&1 &
PING_PID=$!
sleep 0.3
t0=$(date +%s%3N)
takeover same-build
tick
cm_check "fw: round $ROUND answered" answered fw 1
cm_check "nat: round $ROUND answered" answered nat 1
cm_check "lb: round $ROUND answered on all 24" answered lb 24
cm_check "ds: round $ROUND answered on all 24" answered ds 24

rm -f "$CM_BPFFS"/cubes/{firewall,nat,lbrp,lbdsr}/*/pcn_prog_hash
if [ "${UPGRADE_NF_LOSE:-0}" = 1 ]; then
	echo "# UPGRADE_NF_LOSE: the state tables unpinned"
	rm -f "$CM_BPFFS"/cubes/firewall/fw1/{fw_ct,fw_cnt} "$CM_BPFFS"/cubes/nat/nat1/nat_ct \
		"$CM_BPFFS"/cubes/lbrp/lb1/{lbrp_conns,lbrp_rev} "$CM_BPFFS"/cubes/lbdsr/ds1/lbdsr_sessions
fi
takeover new-build
echo "  the two takeovers took $(( $(date +%s%3N) - t0 )) ms"
loaded() { ! grep -q CUBE-INSTANCE-ADOPTED "$CM_TMP/$1-new-build.log"; }
for svc in firewall nat lbrp lbdsr; do cm_check "new-build: pcn-$svc loaded its fast path anew" loaded $svc; done

# Before any segment of the held connections crosses again (one would
# make the entry anew as a lost table's fast path does): b speaks first on
# the NATed connection, and the backend most lb connections use goes.
touch "$CM_TMP/nat.push"
push_back() { for _ in $(seq 60); do grep -q "^0 push$" "$CM_TMP/nat.out" && return 0; sleep 0.05; done; return 1; }
cm_check "nat: b's push reaches a through the table" push_back
# spread "A=n B=m ..." NAME...: exactly these answered, each at least 20.
spread() { python3 -c '
import sys
d = dict(kv.split("=") for kv in sys.argv[1].split())
sys.exit(0 if sorted(d) == sorted(sys.argv[2:]) and all(int(v) >= 20 for v in d.values()) else 1)' "$@"; }
top_of() { grep " round1$" "$CM_TMP/$1.out" | cut -d' ' -f2 | sort | uniq -c | sort -rn | head -1 | awk '{print $2}'; }
out=$(burst "$NSLC" $VIP 80 120)
cm_check "lb: 120 new connections spread over the 3 backends ($out)" spread "$out" 10.222.4.1{1,2,3}
top=$(top_of lb)
cm_check "lb: delete $top, the backend of most connections" \
	$PCNCTL lbrp lb1 service $VIP 80 TCP backend del "$top"
out=$(burst "$NSDC" $VIP2 80 120)
cm_check "ds: 120 new connections spread over the 3 backends ($out)" spread "$out" d1 d2 d3
dtop=$(top_of ds)
cm_check "ds: delete $dtop, the backend of most connections" $PCNCTL lbdsr ds1 backend pool del "${dtop#d}"
tick
cm_check "fw: round $ROUND answered" answered fw 1
cm_check "nat: round $ROUND answered" answered nat 1
cm_check "lb: round $ROUND answered on all 24" answered lb 24
cm_check "ds: round $ROUND answered on all 24" answered ds 24

kill -INT "$PING_PID"
wait "$PING_PID"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$CM_TMP/ping.out")
missing=$(python3 -c '
import re, sys
got = {int(m) for m in re.findall(r"icmp_seq=(\d+) ", open(sys.argv[1]).read())}
print(" ".join(str(i) for i in range(1, int(sys.argv[2] or 0)) if i not in got))' "$CM_TMP/ping.out" "$sent")
cm_check "fw: no ping lost across the takeovers (${sent:-?} sent; lost: ${missing:-none})" \
	[ "${sent:-0}" -gt 50 -a -z "$missing" ]
PINGS=$((PINGS + ${sent:-0}))

echo "# after"
cm_check "fw: the connection went on" untouched fw 1
fw_session() {
	curl -s "${PCN_URL}firewall/fw1/session-table/" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = next(iter(d.values()), []) if isinstance(d, dict) else d
sys.exit(0 if any(str(e.get("dport")) == sys.argv[1] and str(e.get("sport")) == sys.argv[2] and
                  e.get("state") == "ESTABLISHED" for e in d) else 1)' "$P" "$(sed -n 's/^ready //p' "$CM_TMP/fw.out")"
}
cm_check "fw: the session table lists it, ESTABLISHED" cm_eventually fw_session
count_is() { [ "$(pkts 0)" = "$1" ]; }
cm_check "fw: the ICMP rule counted all $PINGS echo requests ($(pkts 0))" cm_eventually count_is $PINGS
cm_check "fw: the rules came over ($(rules INGRESS))" [ "$(rules INGRESS)" = "$RULES_IN" ]
host_pings_a() { ping -c 1 -W 1 -q "$NET.1" >/dev/null 2>&1; }
cm_check_not "fw: EGRESS still drops by default: the host cannot ping a" host_pings_a
out=$(burst "$NSA" "$NET.254" "$P" 1)
cm_check "fw: a new connection ($out)" [ "$out" = "$NET.254=1" ]

cm_check "nat: the connection went on" untouched nat 1
cm_check "nat: natting-table: the same external address and port ($(ext_of))" [ "$(ext_of)" = "$NAT_EXT" ]
out=$(burst "$NSNA" 10.222.3.1 7001 3)
cm_check "nat: new flows ($out)" [ "$out" = "10.222.3.1=3" ]
cm_check "nat: b saw them from $EXT" bash -c "[ \$(grep -c '^$EXT:' '$CM_TMP/nat.peers') = 4 ]"

cm_check "lb: the 24 connections kept their backends, $top too" untouched lb 24
out=$(burst "$NSLC" $VIP 80 30)
cm_check "lb: new connections do not reach $top ($out)" \
	bash -c "[[ '$out' != *$top* && '$out' != *ERR* && -n '$out' ]]"
cm_check "ds: the 24 connections kept their backends, $dtop too" untouched ds 24
out=$(burst "$NSDC" $VIP2 80 30)
cm_check "ds: new connections do not reach $dtop ($out)" \
	bash -c "[[ '$out' != *$dtop* && '$out' != *ERR* && -n '$out' ]]"
cm_done

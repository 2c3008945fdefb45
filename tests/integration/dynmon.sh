#!/usr/bin/env bash
# dynmon: a program counting packets per L4 protocol (ICMP, TCP, UDP) at
# ingress and IPv4 packets at egress, injected with PUT .../dataplane-config/
# into an instance attached to the host end of a's veth, at TC, XDP_SKB and
# XDP_DRV in one mesh: pings and a UDP stream are counted exactly, through
# the model's metrics (JSON), its open-metrics text and the gateway's
# /metrics (parsed by prometheus_client's OpenMetrics parser). At XDP_DRV
# and TC: the code replaced under a steady UDP stream loses no datagram and
# no count (the maps are kept: same name and layout); a map whose layout
# changed starts empty; code with a syntax error is a 400 with clang's
# message, code the verifier refuses (an unchecked packet read) a 422 with
# the verifier's, and after each the old code still counts and the config
# is unchanged; swap-on-read and empty-on-read give the counts since the
# last read. At TC: pcn-dynmon killed, packets meanwhile are still counted
# (the code runs in the kernel), and once it is back the config, the code
# and the map contents are all there.
source "$(dirname "$0")/../lib/mesh.sh"
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
NET=10.219.$((CM_ID % 250))
PINGS=5
UDPN=200

PY=
for p in python3 /usr/bin/python3; do
	"$p" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "FAIL - no python3 with prometheus_client (apt-get install python3-prometheus-client)"; exit 1; }

cm_mesh_start dynmon || { echo "FAIL - pcn-dynmon did not come up"; exit 1; }
cm_host a "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns a)
ip addr add "$NET.254/24" dev "$IFA"
# Native XDP passes frames up without their checksum state: a's UDP needs
# real checksums (README, "Native XDP on veths").
ip netns exec "$NSA" ethtool -K eth0 tx off >/dev/null 2>&1
# No ARP in the counts: both ends know each other for good.
ip neigh replace "$NET.1" lladdr "$(ip netns exec "$NSA" cat /sys/class/net/eth0/address)" dev "$IFA" nud permanent
ip -n "$NSA" neigh replace "$NET.254" lladdr "$(cat "/sys/class/net/$IFA/address")" dev eth0 nud permanent

# ---- the programs, in Polycube's dynmon dialect ----
cat >"$CM_TMP/l4.c" <<'CODE'
#include <uapi/linux/ip.h>

/* 0: ICMP, 1: TCP, 2: UDP */
BPF_ARRAY(L4_COUNT, uint64_t, 3);
BPF_HASH(PROTO_SEEN, uint32_t, uint64_t, 64);
BPF_ARRAY(SWAPPED, uint64_t, 1);
BPF_ARRAY(EMPTIED, uint64_t, 1);

static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	unsigned int key;
	uint64_t *c;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return RX_OK;
	switch (ip->protocol) {
	case IPPROTO_ICMP: key = 0; break;
	case IPPROTO_TCP: key = 1; break;
	case IPPROTO_UDP: key = 2; break;
	default: return RX_OK;
	}
	c = L4_COUNT.lookup(&key);
	if (c)
		__sync_fetch_and_add(c, 1);
	PROTO_SEEN.increment((uint32_t)ip->protocol);
	key = 0;
	c = SWAPPED.lookup(&key);
	if (c)
		__sync_fetch_and_add(c, 1);
	c = EMPTIED.lookup(&key);
	if (c)
		__sync_fetch_and_add(c, 1);
	pcn_log(ctx, LOG_TRACE, "proto %u from %I", ip->protocol, ip->saddr);
	return RX_OK;
}
CODE
# v2: the same maps, other code (what the replacement under traffic swaps
# in); v3: L4_COUNT with 4-byte values, another layout.
python3 - "$CM_TMP" <<'PYEOF'
import sys
d = sys.argv[1]
s = open(d + "/l4.c").read()
open(d + "/l4v2.c", "w").write(s.replace('"proto %u from %I"', '"v2: proto %u from %I"'))
v3 = s.replace("BPF_ARRAY(L4_COUNT, uint64_t, 3);", "BPF_ARRAY(L4_COUNT, uint32_t, 3);")
v3 = v3.replace("c = L4_COUNT.lookup(&key);\n\tif (c)\n\t\t__sync_fetch_and_add(c, 1);",
                "uint32_t *c32 = L4_COUNT.lookup(&key);\n\tif (c32)\n\t\t__sync_fetch_and_add(c32, 1);")
open(d + "/l4v3.c", "w").write(v3)
PYEOF
cat >"$CM_TMP/eg.c" <<'CODE'
BPF_PERCPU_ARRAY(EG_PACKETS, uint64_t, 1);

static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int key = 0;
	uint64_t *c;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return RX_OK;
	c = EG_PACKETS.lookup(&key);
	if (c)
		*c += 1;
	return RX_OK;
}
CODE
cat >"$CM_TMP/syntax.c" <<'CODE'
BPF_ARRAY(BROKEN, uint64_t, 1);
static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
{
	return RX_OK
}
CODE
cat >"$CM_TMP/oob.c" <<'CODE'
static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
{
	unsigned char *p = (void *)(long)ctx->data;

	/* No check against data_end: the verifier must refuse it. */
	return p[100] == 42 ? RX_DROP : RX_OK;
}
CODE

# body INGRESS_FILE [EGRESS_FILE]: the dataplane-config JSON.
body() {
	python3 - "$@" <<'PYEOF'
import json, sys
def om(help, typ, labels=()):
    return {"help": help, "type": typ, "labels": [{"name": k, "value": v} for k, v in labels]}
ing = {"name": "L4 protocol counter", "code": open(sys.argv[1]).read(), "metric-configs": [
    {"name": "l4_packets_total", "map-name": "L4_COUNT",
     "open-metrics-metadata": om("IPv4 packets in, by L4 protocol (ICMP, TCP, UDP)", "counter", [("probe", "l4")])},
    {"name": "proto_seen", "map-name": "PROTO_SEEN", "open-metrics-metadata": om("by IP protocol", "gauge")},
    {"name": "swapped", "map-name": "SWAPPED", "extraction-options": {"swap-on-read": True}},
    {"name": "emptied", "map-name": "EMPTIED", "extraction-options": {"empty-on-read": True}},
]}
dp = {"ingress-path": ing}
if len(sys.argv) > 2:
    dp["egress-path"] = {"name": "IPv4 out", "code": open(sys.argv[2]).read(), "metric-configs": [
        {"name": "egress_packets_total", "map-name": "EG_PACKETS",
         "open-metrics-metadata": om("IPv4 packets out", "counter")}]}
print(json.dumps(dp))
PYEOF
}
put() { cm_http PUT /dynmon/dm1/dataplane-config/ "$(body "$@")"; }

# metric NAME[,NAME...] [PATH]: the model's values of metrics (JSON text),
# from one read.
metric() {
	curl -s "${PCN_URL}dynmon/dm1/metrics/" | python3 -c '
import json, sys
d = {m["name"]: m["value"] for m in json.load(sys.stdin).get(sys.argv[2] + "-metrics", [])}
print(" ".join(json.dumps(json.loads(d[n])) for n in sys.argv[1].split(",")))' "$1" "${2:-ingress}" 2>/dev/null
}
# l4 INDEX: L4_COUNT[INDEX] from the model; eg: EG_PACKETS[0].
l4() { metric l4_packets_total | python3 -c 'import json,sys; print(json.load(sys.stdin)[int(sys.argv[1])])' "$1" 2>/dev/null; }
eg() { metric egress_packets_total egress | python3 -c 'import json,sys; print(json.load(sys.stdin)[0])' 2>/dev/null; }
code_has() { curl -s "${PCN_URL}dynmon/dm1/dataplane-config/ingress-path/code/" | grep -q "$1"; }

UDP_PORT=$(cm_free_port)
# udp_recv FILE N: counts datagrams on the host until N came (then 0.2 s
# more, for any extra) or 1 s of silence.
udp_recv() {
	python3 - "$NET.254" "$UDP_PORT" "$1" "$2" <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)
n, want = 0, int(sys.argv[4])
try:
    while True:
        s.recv(2048)
        n += 1
        s.settimeout(0.2 if n >= want else 1.0)
except socket.timeout:
    pass
open(sys.argv[3], "w").write(str(n))
PYEOF
	RECV_PID=$!
	CM_PIDS+=("$RECV_PID")
	sleep 0.2
}
# udp_send N PPS: N datagrams from a to the receiver.
udp_send() {
	ip netns exec "$NSA" python3 - "$NET.254" "$UDP_PORT" "$1" "$2" <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n, pps = int(sys.argv[3]), float(sys.argv[4])
t0 = time.monotonic()
for i in range(n):
    s.sendto(b"dynmon %d" % i, (sys.argv[1], int(sys.argv[2])))
    d = t0 + (i + 1) / pps - time.monotonic()
    if d > 0:
        time.sleep(d)
PYEOF
}
# udp_stream PPS STOP SENT: datagrams from a until the file STOP exists;
# then the number sent is written to SENT.
udp_stream() {
	ip netns exec "$NSA" python3 - "$NET.254" "$UDP_PORT" "$1" "$2" "$3" <<'PYEOF'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
pps, stop, out = float(sys.argv[3]), sys.argv[4], sys.argv[5]
t0, i = time.monotonic(), 0
while not os.path.exists(stop):
    s.sendto(b"dynmon %d" % i, (sys.argv[1], int(sys.argv[2])))
    i += 1
    d = t0 + i / pps - time.monotonic()
    if d > 0:
        time.sleep(d)
open(out, "w").write(str(i))
PYEOF
}
# udp_count N PPS: sends N and prints how many arrived.
udp_count() {
	udp_recv "$CM_TMP/recv" "$1"
	udp_send "$1" "$2"
	wait "$RECV_PID"
	cat "$CM_TMP/recv"
}
ping_a() { ip netns exec "$NSA" ping -c "$1" -i 0.05 -W 1 -q "$NET.254" >/dev/null 2>&1; }

# scrape: /metrics through the OpenMetrics parser (which raises on anything
# malformed); prints dynmon's samples as "name index path key value".
scrape() {
	curl -s "${PCN_URL}metrics" >"$CM_TMP/metrics.txt"
	$PY - "$CM_TMP/metrics.txt" <<'PYEOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        if s.labels.get("service") == "dynmon" and not s.name.endswith("_created"):
            print("%s %s %s %s %d" % (s.name, s.labels.get("index", "-"), s.labels.get("path"),
                                      s.labels.get("key", "-"), int(s.value)))
PYEOF
}

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	cm_check "$hook: create dm1" $PCNCTL dynmon add dm1 type=$hook
	cm_check "$hook: attach to $IFA" $PCNCTL attach dm1 "$IFA"
	cm_check "$hook: with no code, pings pass" ping_a 3
	out=$(put "$CM_TMP/l4.c" "$CM_TMP/eg.c")
	cm_check "$hook: PUT dataplane-config: 2xx (${out:0:300})" [ "${out:0:1}" = 2 ]
	cm_check "$hook: the code reads back" code_has L4_COUNT
	cm_check "$hook: counters start at 0 ($(metric l4_packets_total))" [ "$(metric l4_packets_total)" = "[0, 0, 0]" ]

	cm_check "$hook: $PINGS pings answered" ping_a $PINGS
	got=$(udp_count $UDPN 2000)
	cm_check "$hook: $UDPN datagrams arrived ($got)" [ "$got" = $UDPN ]
	cm_check "$hook: ICMP counted $PINGS ($(l4 0))" [ "$(l4 0)" = $PINGS ]
	cm_check "$hook: TCP counted 0 ($(l4 1))" [ "$(l4 1)" = 0 ]
	cm_check "$hook: UDP counted $UDPN ($(l4 2))" [ "$(l4 2)" = $UDPN ]
	cm_check "$hook: egress (per-CPU, summed) counted the $PINGS replies ($(eg))" [ "$(eg)" = $PINGS ]
	seen=$(metric proto_seen)
	cm_check "$hook: the hash map by protocol ($seen)" python3 -c '
import json, sys
d = {e["key"]: e["value"] for e in json.loads(sys.argv[1])}
sys.exit(0 if d == {1: int(sys.argv[2]), 17: int(sys.argv[3])} else 1)' "$seen" $PINGS $UDPN
	om=$(curl -s "${PCN_URL}dynmon/dm1/open-metrics/")
	cm_check "$hook: open-metrics: Polycube's per-index samples with labels" \
		grep -q "l4_packets_total_2{probe=..l4..} $UDPN" <<<"$om"
	if [ "$hook" != XDP_SKB ]; then
		scrape >"$CM_TMP/scrape" 2>&1
		cm_check "$hook: /metrics parses, with dynmon's samples ($(head -c 300 "$CM_TMP/scrape" | tr '\n' ' '))" \
			grep -q "^l4_packets_total 2 ingress - $UDPN\$" "$CM_TMP/scrape"
		cm_check "$hook: /metrics: ICMP $PINGS, egress $PINGS, the hash by key" bash -c "
			grep -q '^l4_packets_total 0 ingress - $PINGS\$' $CM_TMP/scrape &&
			grep -q '^egress_packets_total - egress - $PINGS\$' $CM_TMP/scrape &&
			grep -q '^proto_seen - ingress 17 $UDPN\$' $CM_TMP/scrape"
	fi
	if [ "$hook" = XDP_SKB ]; then
		# PATCH of the code leaf alone: the same maps go on counting.
		out=$(cm_http PATCH /dynmon/dm1/dataplane-config/ingress-path/code/ \
			"$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$CM_TMP/l4v2.c")")
		cm_check "$hook: PATCH of the ingress code: 2xx (${out:0:200})" [ "${out:0:1}" = 2 ]
		cm_check "$hook: the new code is configured" code_has 'v2: proto'
		ping_a 2
		cm_check "$hook: and counts on the same map ($(l4 0))" [ "$(l4 0)" = $((PINGS + 2)) ]
		cm_check "$hook: delete dm1" $PCNCTL dm1 del
		continue
	fi

	# swap-on-read / empty-on-read: each read (of the whole metrics, as
	# Polycube) returns what came since the last.
	r1=$(metric swapped,emptied)
	ping_a 2
	r2=$(metric swapped,emptied)
	cm_check "$hook: swap-on-read, empty-on-read: $r1 then [2] [2] ($r2)" [ "$r2" = "[2] [2]" ]

	# The code replaced under a steady stream: nothing lost, nothing uncounted.
	u0=$(l4 2)
	rm -f "$CM_TMP/stop" "$CM_TMP/sent"
	udp_recv "$CM_TMP/recv" 1000000000
	udp_stream 2000 "$CM_TMP/stop" "$CM_TMP/sent" &
	spid=$!
	ok=1
	for v in l4v2 l4 l4v2; do
		sleep 0.2
		out=$(put "$CM_TMP/$v.c" "$CM_TMP/eg.c")
		[ "${out:0:1}" = 2 ] || { ok=0; echo "# PUT $v: ${out:0:300}"; }
	done
	sleep 0.2
	touch "$CM_TMP/stop"
	wait "$spid"
	wait "$RECV_PID"
	got=$(cat "$CM_TMP/recv") sent=$(cat "$CM_TMP/sent")
	cm_check "$hook: 3 code swaps under the stream accepted" [ $ok = 1 ]
	cm_check "$hook: no datagram lost while swapping ($sent sent, $got arrived)" [ "$got" = "$sent" -a "$sent" -gt 500 ]
	cm_check "$hook: and none uncounted: the map was kept ($(( $(l4 2) - u0 )))" [ $(( $(l4 2) - u0 )) = "$sent" ]
	cm_check "$hook: the new code is configured" code_has 'v2: proto'

	# Refused code: 4xx with the compiler's or verifier's words; the old code goes on.
	CM_EXPECT_ERRBODY='error' cm_expect 400 PUT /dynmon/dm1/dataplane-config/ \
		"$(body "$CM_TMP/syntax.c" "$CM_TMP/eg.c")" "expected ';'"
	CM_EXPECT_ERRBODY='error' cm_expect 422 PUT /dynmon/dm1/dataplane-config/ \
		"$(body "$CM_TMP/oob.c" "$CM_TMP/eg.c")" "invalid access to packet"
	CM_EXPECT_ERRBODY='error' cm_expect 422 PUT /dynmon/dm1/dataplane-config/ \
		"$(body "$CM_TMP/l4.c" "$CM_TMP/oob.c")" "verifier refused the egress"
	cm_check "$hook: the config is unchanged (v2 code)" code_has 'v2: proto'
	i0=$(l4 0); e0=$(eg)
	ping_a 3
	cm_check "$hook: the old code still counts at ingress ($i0 -> $(l4 0))" [ "$(l4 0)" = $((i0 + 3)) ]
	cm_check "$hook: and at egress ($e0 -> $(eg))" [ "$(eg)" = $((e0 + 3)) ]

	# Another layout of L4_COUNT: a new map, empty.
	out=$(put "$CM_TMP/l4v3.c" "$CM_TMP/eg.c")
	cm_check "$hook: L4_COUNT with 4-byte values accepted (${out:0:200})" [ "${out:0:1}" = 2 ]
	cm_check "$hook: it starts empty ($(metric l4_packets_total))" [ "$(metric l4_packets_total)" = "[0, 0, 0]" ]
	ping_a 2
	cm_check "$hook: and counts ($(l4 0))" [ "$(l4 0)" = 2 ]

	if [ "$hook" = TC ]; then
		out=$(put "$CM_TMP/l4.c" "$CM_TMP/eg.c")
		# The code's pcn_log at TRACE (Polycube's %I) appears once the
		# instance's loglevel says so, and not before.
		ping_a 1
		cm_check_not "$hook: no TRACE line at INFO" bash -c "$PCNCTL logs dm1 | grep -q 'proto 1 from'"
		cm_check "$hook: loglevel TRACE" $PCNCTL dm1 set loglevel=TRACE
		sleep 0.5
		ping_a 1
		sleep 0.5
		cm_check "$hook: the code's TRACE line is logged" bash -c "$PCNCTL logs dm1 | grep -q 'proto 1 from'"
		cm_check "$hook: loglevel INFO" $PCNCTL dm1 set loglevel=INFO
		ping_a 2
		i0=$(l4 0)
		cm_log "restart pcn-dynmon"
		kill "${CM_CUBE_PID[dynmon]}"
		wait "${CM_CUBE_PID[dynmon]}" 2>/dev/null
		cm_check "$hook: pings pass while pcn-dynmon is down" ping_a 4
		cm_check "$hook: pcn-dynmon comes back" cm_cube_start dynmon
		cm_check "$hook: the code is still configured" code_has L4_COUNT
		cm_check "$hook: the map kept its counts, and the 4 pings while it was down ($i0 -> $(l4 0))" \
			[ "$(l4 0)" = $((i0 + 4)) ]
		ping_a 1
		cm_check "$hook: and counting goes on ($(l4 0))" [ "$(l4 0)" = $((i0 + 5)) ]
	fi
	cm_check "$hook: delete dm1" $PCNCTL dm1 del
	cm_check "$hook: nothing left on $IFA" \
		bash -c "[ -z \"\$(tc filter show dev $IFA ingress)\" ] && ! ip link show $IFA | grep -q prog/xdp"
done
cm_done

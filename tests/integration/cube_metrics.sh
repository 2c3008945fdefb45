#!/usr/bin/env bash
# A cube's own metrics on the gateway's GET /metrics (pcn_metric_add),
# through pcn-synflood: after a few connections, a refused one and a small
# SYN flood, its counters there equal its model's (stats/ingress, egress,
# the derived gauges); the whole answer parses with prometheus_client's
# OpenMetrics parser (the same parser a Prometheus client library uses).
# A cube process that is stopped (SIGSTOP) does not hold /metrics past the
# bound (500 ms): its families are absent, the broker's are there, the
# timeout is counted; after SIGCONT they come back.
source "$(dirname "$0")/../lib/mesh.sh"
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
NET=10.218.$((CM_ID % 250))
FLOOD=300

# An interpreter with prometheus_client (Debian's python3-prometheus-client
# is in /usr/bin's python3; a pyenv python3 first in PATH lacks it).
PY=
for p in python3 /usr/bin/python3; do
	"$p" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "FAIL - no python3 with prometheus_client (apt-get install python3-prometheus-client)"; exit 1; }

cm_mesh_start synflood || { echo "FAIL - pcn-synflood did not come up"; exit 1; }
SF_PID=${CM_CUBE_PID[synflood]}
cm_host a "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns a)
ip addr add "$NET.254/24" dev "$IFA"

SRV_PORT=$(cm_free_port)
python3 - "$NET.254" "$SRV_PORT" >"$CM_TMP/server.log" 2>&1 <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
EOF
CM_PIDS+=("$!")
CLOSED_PORT=$(cm_free_port)
while [ "$CLOSED_PORT" = "$SRV_PORT" ]; do CLOSED_PORT=$(cm_free_port); done
connect() {
	ip netns exec "$NSA" python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()' "$NET.254" "$1" 2>/dev/null
}

# The checker: om.py parse FILE [--absent PREFIX] [--present NAME]...
# (the whole text through the parser, which raises on anything malformed)
# and om.py compare STATS METRICS (synflood's families against its model).
cat >"$CM_TMP/om.py" <<'EOF'
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families

def parse(path):
    fams = {}
    for f in text_string_to_metric_families(open(path).read()):
        fams[f.name] = f
    return fams

def value(fams, name, **labels):
    for s in fams[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()) and not s.name.endswith("_created"):
            return s.value
    raise KeyError("%s%s" % (name, labels))

mode = sys.argv[1]
try:
    fams = parse(sys.argv[3] if mode == "compare" else sys.argv[2])
except Exception as e:
    print("does not parse: %r" % e)
    sys.exit(1)
if mode == "parse":
    args, bad = sys.argv[3:], []
    for flag, arg in zip(args[::2], args[1::2]):
        names = [n for n in fams if n.startswith(arg)] if flag == "--absent" else []
        if flag == "--absent" and names:
            bad.append("present: %s" % names)
        if flag == "--present" and arg not in fams:
            bad.append("absent: %s" % arg)
    print("%d families%s" % (len(fams), "; " + "; ".join(bad) if bad else ""))
    sys.exit(1 if bad else 0)
st = json.load(open(sys.argv[2]))
cube = dict(service="synflood", cube="sf1")
want = []
for d in ("ingress", "egress"):
    for leaf, fam in (("syn", "synflood_syn_packets"), ("synack", "synflood_synack_packets"),
                      ("rst", "synflood_rst_packets"), ("established", "synflood_established_handshakes"),
                      ("ipv4", "synflood_ipv4_packets")):
        want.append((fam, dict(cube, direction=d), float(st[d][leaf])))
for leaf, fam, scale in (("tcpattemptfails", "synflood_tcp_attempt_fails", 1),
                         ("deliverratio", "synflood_deliver_ratio", 1000),
                         ("responseratio", "synflood_response_ratio", 1000),
                         ("syn-rate", "synflood_syn_rate", 1), ("synack-rate", "synflood_synack_rate", 1),
                         ("rst-rate", "synflood_rst_rate", 1), ("halfopen-ratio", "synflood_halfopen_ratio", 1000)):
    want.append((fam, cube, float(st[leaf]) / scale))
bad = []
for fam, labels, v in want:
    try:
        got = value(fams, fam, **labels)
    except KeyError as e:
        bad.append("missing %s" % e)
        continue
    if abs(got - v) > 1e-9:
        bad.append("%s%s = %r, model %r" % (fam, labels.get("direction", ""), got, v))
if fams["synflood_syn_packets"].type != "counter" or fams["synflood_halfopen_ratio"].type != "gauge":
    bad.append("wrong types")
print("%d values compared (ingress syn %d)%s" % (len(want), st["ingress"]["syn"], "; " + "; ".join(bad) if bad else ""))
sys.exit(1 if bad else 0)
EOF

metrics() { curl -s -m 10 -o "$1" -w '%{http_code} %{time_total}' "${PCN_URL}metrics"; }
stats() { curl -s -m 10 "${PCN_URL}synflood/sf1/stats/" >"$1"; }

cm_check "create sf1 (TC)" $PCNCTL synflood add sf1 type=TC
cm_check "attach sf1 to $IFA" $PCNCTL attach sf1 "$IFA"
metrics "$CM_TMP/m0" >/dev/null
cm_check "synflood's families are on /metrics and it all parses" \
	$PY "$CM_TMP/om.py" parse "$CM_TMP/m0" --present synflood_syn_packets --present cubemesh_service_up

for _ in 1 2 3; do connect "$SRV_PORT"; done
cm_check_not "a closed port refuses" connect "$CLOSED_PORT"
if command -v hping3 >/dev/null; then
	ip netns exec "$NSA" hping3 -q -S -p "$SRV_PORT" -c "$FLOOD" -i u1000 "$NET.254" >/dev/null 2>&1
else
	ip netns exec "$NSA" python3 "$CM_SRC/cubes/synflood/syngen.py" "$NET.254" "$SRV_PORT" "$FLOOD" 1000 >/dev/null
fi
# The counters settle (the flood's SYN-ACKs and RSTs), then one model read,
# one scrape and a second model read that equals the first: the scrape saw
# the same figures (a tick in between changes lastupdate: try again).
# scrape_equal: a model read, a scrape, a model read equal to the first
# (else try again); then the scrape against the model.
scrape_equal() {
	for _ in 1 2 3 4 5; do
		stats "$CM_TMP/s1"; metrics "$CM_TMP/m1" >/dev/null; stats "$CM_TMP/s2"
		cmp -s "$CM_TMP/s1" "$CM_TMP/s2" && break
		sleep 0.3
	done
	$PY "$CM_TMP/om.py" compare "$CM_TMP/s1" "$CM_TMP/m1"
}
sleep 1
cm_check "synflood's counters and gauges on /metrics equal the model's" scrape_equal
syn=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["ingress"]["syn"])' "$CM_TMP/s1")
cm_check "the flood shows: ingress syn $syn >= $FLOOD" [ "${syn:-0}" -ge "$FLOOD" ]

# A stopped cube process: /metrics answers within the bound without it.
cm_stop "$SF_PID"
read -r code t < <(metrics "$CM_TMP/m2")
cm_check "stopped synflood: /metrics still 200 ($code) in ${t}s (< 2 s)" \
	$PY -c 'import sys; sys.exit(0 if sys.argv[1] == "200" and float(sys.argv[2]) < 2.0 else 1)' "$code" "$t"
cm_check "stopped synflood: its families absent, the broker's there, it parses" \
	$PY "$CM_TMP/om.py" parse "$CM_TMP/m2" --absent synflood_ --present cubemesh_service_up \
	--present cubemesh_cube_rx_packets
cm_check "stopped synflood: the timeout is counted" \
	grep -Eq '^cubemesh_cube_metrics_timeouts_total\{service="synflood"\} [1-9]' "$CM_TMP/m2"
# Two scrapes at once: both bounded.
metrics "$CM_TMP/m3a" >"$CM_TMP/t3a" & p1=$!
metrics "$CM_TMP/m3b" >"$CM_TMP/t3b" & p2=$!
wait "$p1" "$p2"
cm_check "stopped synflood: two scrapes at once each answer in time ($(cat "$CM_TMP/t3a"), $(cat "$CM_TMP/t3b"))" \
	$PY -c 'import sys; sys.exit(0 if all(open(f).read().split()[0] == "200" and float(open(f).read().split()[1]) < 2.0 for f in sys.argv[1:]) else 1)' "$CM_TMP/t3a" "$CM_TMP/t3b"
cm_cont "$SF_PID"
back=1
for _ in $(seq 1 20); do
	metrics "$CM_TMP/m4" >/dev/null
	$PY "$CM_TMP/om.py" parse "$CM_TMP/m4" --present synflood_syn_packets >/dev/null && { back=0; break; }
	sleep 0.25
done
cm_check "after SIGCONT synflood's families are back" [ "$back" = 0 ]
cm_check "and equal the model's again" scrape_equal

cm_check "delete sf1" $PCNCTL synflood del sf1
metrics "$CM_TMP/m6" >/dev/null
cm_check "sf1 deleted: no synflood family left" $PY "$CM_TMP/om.py" parse "$CM_TMP/m6" --absent synflood_
cm_done

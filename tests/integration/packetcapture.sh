#!/usr/bin/env bash
# packetcapture: attached to the host end of a's veth, at TC, XDP_SKB and
# XDP_DRV in one mesh. With filter "icmp" and capture BIDIRECTIONAL, a's
# pings to the host are in the pcap file (requests ingress, replies
# egress) while a UDP stream beside them is not: tcpdump -r reads exactly
# the pings, and each record has the frame's length (98), its captured
# length and a timestamp of this run. snaplen 60 cuts the next records to
# 60 bytes (length still 98). A new filter ("udp") holds from the next
# packet; an expression libpcap refuses ("tcp and port") is a 400 carrying
# libpcap's message and the udp filter keeps capturing. capture OFF stops
# the writing. A dump outside the capture directory is refused. Rotation
# by size keeps dump-files old files; network mode writes no file and
# shows the last packet in the packet container; with the writer stopped a ping flood
# of jumbo frames overflows the ring: every ping is answered, the lost captures counted
# (stats, /metrics). The configuration survives a restart of
# pcn-packetcapture (the filter runs again, the file before it is rotated
# to .1, not overwritten), and the live stream (GET .../stream) is a pcap
# tcpdump reads. Last, Polycube's own test script's commands, unchanged:
# a capture on a simplebridge's port.
source "$(dirname "$0")/../lib/mesh.sh"
NET=10.217.$((CM_ID % 250))
export PCN_CAPTURE_DIR=$CM_TMP/captures
UDP_PORT=$(cm_free_port)

cm_mesh_start packetcapture || { echo "FAIL - pcn-packetcapture did not come up"; exit 1; }
cm_host a "$NET.1/24"; IFA=$CM_IF; NSA=$(cm_ns a)
ip addr add "$NET.254/24" dev "$IFA"
# UDP and native XDP on a veth: no checksum offload (docs/KERNEL.md).
ip netns exec "$NSA" ethtool -K eth0 tx off >/dev/null 2>&1 || true

# A sink for the datagrams: no ICMP port unreachable in the capture.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    s.recv(2048)
' "$NET.254" "$UDP_PORT" &
CM_PIDS+=("$!")

pings() { ip netns exec "$NSA" ping -c "${1:-3}" -i 0.2 -W 1 -q "$NET.254" >/dev/null 2>&1; }
udp() {
	ip netns exec "$NSA" python3 - "$NET.254" "$UDP_PORT" "${1:-20}" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"u" * 100, (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.005)
PY
}

# recs FILE: one line per record: "caplen len proto" (proto: icmp, udp, ...),
# and "ts-ok" or "ts-bad" for its timestamp against the run's time.
recs() {
	python3 - "$1" "$START" <<'PY'
import struct, sys, time
d = open(sys.argv[1], "rb").read()
magic, = struct.unpack("<I", d[:4])
assert magic in (0xa1b2c3d4, 0xa1b23c4d), hex(magic)
div = 1e9 if magic == 0xa1b23c4d else 1e6
assert struct.unpack("<I", d[20:24])[0] == 1  # LINKTYPE_ETHERNET
o, start, now = 24, float(sys.argv[2]), time.time()
while o + 16 <= len(d):
    sec, frac, cap, ln = struct.unpack("<IIII", d[o:o + 16])
    pkt = d[o + 16:o + 16 + cap]
    o += 16 + cap
    proto = {1: "icmp", 17: "udp", 6: "tcp"}.get(pkt[23] if len(pkt) > 23 and pkt[12:14] == b"\x08\x00" else -1, "other")
    ts = sec + frac / div
    print(cap, ln, proto, "ts-ok" if start - 1 <= ts <= now + 1 else "ts-bad")
PY
}
# settle: the writer drains the ring every 10 ms and writes each batch out.
settle() { sleep 0.25; }
count() { recs "$1" | grep -c "$2" || true; }
state() { curl -s "${PCN_URL}packetcapture/$1/$2" | tr -d '"\n '; }

START=$(date +%s.%N)
cm_expect 400 POST /packetcapture/bad/ '{"dump":"../escape.pcap"}' "capture directory"
cm_expect 400 POST /packetcapture/bad/ '{"dump":"/etc/cubemesh-test.pcap"}' "outside the capture directory"
cm_expect 400 POST /packetcapture/bad/ '{"filter":"tcp and port"}' "syntax error"

for hook in TC XDP_SKB XDP_DRV; do
	echo "# hook $hook"
	F=$PCN_CAPTURE_DIR/pc-$hook.pcap
	cm_check "$hook: create pc1 capturing icmp both ways into pc-$hook.pcap" \
		$PCNCTL packetcapture add pc1 type=$hook capture=BIDIRECTIONAL filter=icmp dump=pc-$hook.pcap
	cm_check "$hook: attach pc1 to $IFA" $PCNCTL attach pc1 "$IFA"
	sleep 0.2 # the filter goes in right after the creation
	cm_check "$hook: pings pass" pings 3
	udp 20 &
	UDP_PID=$!
	cm_check "$hook: more pings pass beside a UDP stream" pings 2
	wait $UDP_PID
	settle
	cm_check "$hook: tcpdump -r reads exactly the 10 pings (5 requests, 5 replies)" bash -c "
		[ \$(tcpdump -nn -r $F 2>/dev/null | grep -c 'ICMP echo request') = 5 ] &&
		[ \$(tcpdump -nn -r $F 2>/dev/null | grep -c 'ICMP echo reply') = 5 ] &&
		[ \$(tcpdump -nn -r $F 2>/dev/null | wc -l) = 10 ]"
	cm_check "$hook: each record is the whole frame (98 of 98 bytes) with this run's time" \
		[ "$(recs "$F" | sort -u | tr '\n' ' ')" = "98 98 icmp ts-ok " ]
	# tshark too: frame lengths, and times of this run, as far apart as ping sent them.
	cm_check "$hook: tshark -r reads the same 10 frames of 98 bytes with this run's times" python3 -c '
import subprocess, sys, time
out = subprocess.run(["tshark", "-r", sys.argv[1], "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len",
                      "-e", "frame.time_epoch", "-e", "icmp.type"], capture_output=True, text=True, check=True).stdout
rows = [l.split("\t") for l in out.splitlines()]
assert len(rows) == 10, rows
start, now = float(sys.argv[2]), time.time()
for ln, cap, t, typ in rows:
    assert ln == cap == "98" and typ in ("0", "8") and start - 1 <= float(t) <= now + 1, (ln, cap, t, typ)
req = [float(t) for _, _, t, typ in rows if typ == "8"]
# ping -i 0.2: the first three requests 0.2 s apart, as the clock saw them.
assert all(0.1 < b - a < 0.4 for a, b in zip(req[:2], req[1:3])), req
' "$F" "$START"
	cm_check "$hook: stats count 5 captured each way, none dropped" \
		[ "$(state pc1 stats/captured-ingress)/$(state pc1 stats/captured-egress)/$(state pc1 stats/dropped)" = 5/5/0 ]

	cm_check "$hook: snaplen 60" $PCNCTL pc1 set snaplen=60
	pings 1; settle
	cm_check "$hook: the next records keep 60 of 98 bytes" [ "$(recs "$F" | tail -2 | sort -u | cut -d' ' -f1-3)" = "60 98 icmp" ]

	cm_check "$hook: filter udp" $PCNCTL pc1 set filter=udp
	N=$(recs "$F" | wc -l)
	pings 2; udp 5; settle
	cm_check "$hook: from the next packet on, the 5 datagrams and no ping" \
		[ "$(recs "$F" | tail -n +$((N + 1)) | cut -d' ' -f3 | sort | uniq -c | tr -s ' ')" = " 5 udp" ]

	if [ "$hook" = XDP_SKB ]; then
		# A new log level reloads the whole fast path from the cube's
		# object: the filter is put back right after the request.
		cm_check "$hook: loglevel DEBUG" $PCNCTL pc1 set loglevel=DEBUG
		sleep 0.3
		N=$(recs "$F" | wc -l)
		pings 2; udp 4; settle
		cm_check "$hook: then still the datagrams and no ping" \
			[ "$(recs "$F" | tail -n +$((N + 1)) | cut -d' ' -f3 | sort | uniq -c | tr -s ' ')" = " 4 udp" ]
	fi
	cm_expect 400 PATCH /packetcapture/pc1/ '{"filter":"tcp and port"}' "syntax error"
	cm_check "$hook: the filter is still udp" [ "$(state pc1 filter)" = udp ]
	N=$(recs "$F" | wc -l)
	pings 1; udp 3; settle
	cm_check "$hook: and still captures udp only" \
		[ "$(recs "$F" | tail -n +$((N + 1)) | cut -d' ' -f3 | sort | uniq -c | tr -s ' ')" = " 3 udp" ]

	cm_check "$hook: capture OFF" $PCNCTL pc1 set capture=OFF
	N=$(recs "$F" | wc -l)
	udp 5; settle
	cm_check "$hook: nothing more is written" [ "$(recs "$F" | wc -l)" = "$N" ]

	if [ "$hook" = TC ]; then
		# Rotation: 4096-byte files, two old ones kept.
		cm_check "$hook: whole udp frames into rot.pcap rotated at 4096 bytes, 2 old files" \
			$PCNCTL pc1 set capture=BIDIRECTIONAL snaplen=1500 dump=rot.pcap dump-size-limit=4096 dump-files=2
		udp 60; settle
		R=$PCN_CAPTURE_DIR/rot.pcap
		# 60 records of 16 + 142 bytes: 25 a file.
		cm_check "$hook: rot.pcap, rot.pcap.1 and rot.pcap.2, no .3, none over 4096 bytes" bash -c "
			[ -s $R ] && [ -s $R.1 ] && [ -s $R.2 ] && [ ! -e $R.3 ] &&
			[ \$(stat -c %s $R $R.1 $R.2 | sort -n | tail -1) -le 4096 ]"
		cm_check "$hook: each a pcap of its own; together the 60 datagrams" \
			[ "$(for x in $R.2 $R.1 $R; do tcpdump -nn -r $x 2>/dev/null; done | grep -c UDP)" = 60 ]
		# A full ring drops captures, never packets: the writer stopped,
		# 6000 records of 9014-byte frames (9216-byte bucket) overflow 32 MiB.
		cm_check "$hook: whole frames of icmp into flood.pcap" \
			$PCNCTL pc1 set filter=icmp snaplen=65535 dump=flood.pcap dump-size-limit=0
		ip link set "$IFA" mtu 9000 && ip -n "$NSA" link set eth0 mtu 9000
		cm_stop "${CM_CUBE_PID[packetcapture]}"
		FLOOD=$(ip netns exec "$NSA" ping -f -c 3000 -s 8972 -W 1 -q "$NET.254" 2>&1)
		cm_cont "${CM_CUBE_PID[packetcapture]}"
		ip link set "$IFA" mtu 1500 && ip -n "$NSA" link set eth0 mtu 1500
		cm_check "$hook: with the writer stopped, a ping flood loses nothing" grep -q "3000 received" <<<"$FLOOD"
		sleep 0.5
		DROPPED=$(state pc1 stats/dropped)
		TOTAL=$(( $(state pc1 stats/captured-ingress) + $(state pc1 stats/captured-egress) + DROPPED ))
		cm_check "$hook: the ring overflowed: $DROPPED captures dropped and counted, the rest captured" \
			[ "$DROPPED" -gt 1000 -a "$TOTAL" -ge 6000 ]
		cm_check "$hook: /metrics has the drops" bash -c "curl -s ${PCN_URL}metrics | grep '^packetcapture_dropped_packets_total' | grep -q ' $DROPPED\$'"
	fi
	if [ "$hook" = XDP_SKB ]; then
		# Network mode: no file; the last packet through the API.
		cm_check "$hook: networkmode, filter icmp, ingress" $PCNCTL pc1 set capture=INGRESS networkmode=true filter=icmp
		N=$(recs "$F" | wc -l)
		ip netns exec "$NSA" ping -c 2 -i 0.2 -p abcd -q "$NET.254" >/dev/null 2>&1; settle
		cm_check "$hook: the packet container shows the last echo request (98 bytes, 60 kept), again on a second read" python3 -c '
import json, sys
for x in sys.argv[1:3]:
    p = json.loads(x)
    assert p["packetlen"] == 98 and p["capturelen"] == 60, p
    raw = bytes.fromhex(p["rawdata"])
    # IPv4, ICMP, echo request, sequence 2 (the last)
    assert raw[12:14] == b"\x08\x00" and raw[23] == 1 and raw[34] == 8 and raw[40:42] == b"\x00\x02", raw.hex()
' "$(curl -s "${PCN_URL}packetcapture/pc1/packet")" "$(sleep 0.2; curl -s "${PCN_URL}packetcapture/pc1/packet")"
		cm_check "$hook: and nothing went to the file" [ "$(recs "$F" | wc -l)" = "$N" ]
		cm_check "$hook: networkmode off" $PCNCTL pc1 set networkmode=false
	fi
	if [ "$hook" = XDP_DRV ]; then
		cm_check "$hook: capture BIDIRECTIONAL, filter icmp again" $PCNCTL pc1 set capture=BIDIRECTIONAL filter=icmp
		cm_log "restart pcn-packetcapture"
		kill "${CM_CUBE_PID[packetcapture]}"
		wait "${CM_CUBE_PID[packetcapture]}" 2>/dev/null
		cm_cube_start packetcapture
		sleep 0.5
		cm_check "$hook: the configuration survived the restart" \
			[ "$(state pc1 filter)/$(state pc1 capture)/$(state pc1 snaplen)" = icmp/BIDIRECTIONAL/60 ]
		pings 2; udp 5; settle
		cm_check "$hook: the file before the restart was kept as .1" [ "$(recs "$F.1" | wc -l)" -ge 10 ]
		cm_check "$hook: the new process captures the 4 pings and no datagram" \
			[ "$(recs "$F" | cut -d' ' -f3 | sort | uniq -c | tr -s ' ')" = " 4 icmp" ]

		# The live stream: pcap bytes as they come.
		curl -sN "${PCN_URL}packetcapture/pc1/stream" >"$CM_TMP/stream.pcap" 2>/dev/null &
		CURL=$!
		sleep 0.5
		pings 3; udp 5; settle
		kill "$CURL" 2>/dev/null; wait "$CURL" 2>/dev/null
		cm_check "$hook: the live stream is a pcap of the 6 pings that tcpdump -r - reads" \
			[ "$(tcpdump -nn -r - <"$CM_TMP/stream.pcap" 2>/dev/null | grep -c ICMP)" = 6 ]
	fi
	cm_check "$hook: delete pc1" $PCNCTL packetcapture del pc1
done

# Polycube's own test, its commands as they are: a capture on a port of a
# simplebridge between two hosts (lowercase enum, Polycube's default hook).
echo "# on a cube port"
cm_cube_start simplebridge
cm_host c "$NET.101/24"; IFC=$CM_IF
cm_host d "$NET.102/24"; IFD=$CM_IF
cm_check "packetcapture add packetcapture_service capture=bidirectional" \
	$PCNCTL packetcapture add packetcapture_service capture=bidirectional
cm_check "simplebridge br1 between c and d" bash -c "
	$PCNCTL simplebridge add br1 >/dev/null && $PCNCTL br1 ports add toveth1 >/dev/null &&
	$PCNCTL connect br1:toveth1 $IFC >/dev/null && $PCNCTL br1 ports add toveth2 peer=$IFD >/dev/null"
cm_check "attach packetcapture_service br1:toveth1" $PCNCTL attach packetcapture_service br1:toveth1
cm_check "c pings d through br1" cm_ping c "$NET.102" 2
settle
cm_check "the 2 pings and their replies are in packetcapture_service.pcap" \
	[ "$(tcpdump -nn -r "$PCN_CAPTURE_DIR/packetcapture_service.pcap" 2>/dev/null | grep -c "ICMP echo")" = 4 ]
cm_check "detach, delete" bash -c "$PCNCTL detach packetcapture_service br1:toveth1 >/dev/null &&
	$PCNCTL packetcapture del packetcapture_service >/dev/null && $PCNCTL simplebridge del br1 >/dev/null"

cm_done

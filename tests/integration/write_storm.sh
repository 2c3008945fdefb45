#!/usr/bin/env bash
# Group commit loses no answered write: 16 clients PATCH increasing values
# (bridge fdb aging-time) into their own bridge as fast as they can, each
# logging the last value answered 2xx; the broker is killed (-9) in the
# middle of the storm. After a restart every bridge shows at least its
# client's last answered value (and at most the one in flight after it),
# in GET and in its record; the journal left by the crash is replayed and
# gone; writes work again.
source "$(dirname "$0")/../lib/mesh.sh"

CLIENTS=16
cm_mesh_start bridge

for i in $(seq 0 $((CLIENTS - 1))); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary '{}' "${PCN_URL}bridge/br$i/")
	[ "$code" = 201 ] || { cm_check "create br$i ($code)" false; cm_done; }
done
cm_check "$CLIENTS bridges created" true

cat >"$CM_TMP/storm.py" <<'EOF'
import http.client, json, sys, threading, time, urllib.parse
url, clients, out, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
u = urllib.parse.urlparse(url)
last = [0] * clients
errors = [0] * clients
def client(i):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    v, end = 0, time.time() + seconds
    while time.time() < end:
        v += 1
        try:
            c.request("PATCH", u.path + "bridge/br%d/fdb/" % i, json.dumps({"aging-time": v}),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
        except Exception:
            return  # the broker is gone: v's outcome is unknown
        if 200 <= r.status < 300:
            last[i] = v
        else:
            errors[i] += 1
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
with open(out, "w") as f:
    for i in range(clients):
        f.write("%d %d %d\n" % (i, last[i], errors[i]))
EOF

python3 "$CM_TMP/storm.py" "$PCN_URL" $CLIENTS "$CM_TMP/last" 20 &
STORM=$!
sleep 4
cm_log "kill -9 of the broker in the middle of the storm"
kill -9 "$CM_BROKER_PID"
wait "$STORM"
# Its datastore lock goes only when the last of its threads is gone (one
# may be in an fdatasync): the new broker must not start before.
wait "$CM_BROKER_PID" 2>/dev/null
cat "$CM_TMP/last" | tr '\n' ';'; echo
total=$(awk '{ s += $2 } END { print s }' "$CM_TMP/last")
errs=$(awk '{ s += $3 } END { print s }' "$CM_TMP/last")
cm_log "$total writes answered 2xx in 4 s ($((total / 4))/s), $errs other answers"
cm_check "the storm had writes answered ($total)" [ "$total" -ge $((CLIENTS * 20)) ]
cm_check "and no other answer than 2xx ($errs)" [ "$errs" = 0 ]
J=$(ls "$CM_STATE/instances/" | grep '^journal\.' | head -1)
cm_check "the crash left a journal ($J)" [ -n "$J" ]

# The bridge process redials a broker that died under it: on a loaded
# machine that may take longer than one wait.
cm_broker_start && { cm_wait_service_up bridge || cm_wait_service_up bridge; }
cm_check "the broker restarts, bridge up" [ $? = 0 ]
aging() { curl -s "${PCN_URL}bridge/br$1/fdb/aging-time/" | tr -dc '0-9'; }
lost=0 ghost=0
while read -r i want _; do
	got=$(aging "$i")
	file=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["bridge:bridge"][0]["fdb"]["aging-time"])' \
		"$CM_STATE/instances/bridge@br$i.json" 2>/dev/null)
	# 0 answered: the default (300) or the one in flight (1).
	[ "$want" = 0 ] && { [ "$got" = 300 ] || [ "$got" = 1 ]; } && continue
	if [ -z "$got" ] || [ "$got" -lt "$want" ] || [ "${file:-0}" -lt "$want" ]; then
		echo "  br$i: last answered $want, GET says ${got:-nothing}, the record ${file:-nothing}"
		lost=$((lost + 1))
	elif [ "$got" -gt $((want + 1)) ]; then
		echo "  br$i: last answered $want, GET says $got (more than the one in flight)"
		ghost=$((ghost + 1))
	fi
done <"$CM_TMP/last"
cm_check "every answered write is there after the restart ($lost bridges lost one)" [ "$lost" = 0 ]
cm_check "and nothing past the write in flight ($ghost)" [ "$ghost" = 0 ]
cm_check "the crash's journal was replayed and removed" [ ! -e "$CM_STATE/instances/${J:-none}" ]
cm_check "no .tmp left" bash -c "! ls '$CM_STATE/instances/' | grep -q '\.tmp$'"
cm_check "a write after the restart: 200" [ "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH \
	-H 'Content-Type: application/json' --data-binary '{"aging-time": 77}' "${PCN_URL}bridge/br0/fdb/")" = 200 ]
cm_check "and GET shows it at once" [ "$(aging 0)" = 77 ]
cm_done

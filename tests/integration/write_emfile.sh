#!/usr/bin/env bash
# A write the broker cannot save for want of a file descriptor (EMFILE) is
# undone, not half done: the broker's open-files limit is lowered to just
# above what it uses and idle connections take the rest; a PATCH then gets
# a 5xx saying why, and the API, the datastore and the data plane keep the
# old configuration (also after a restart); with descriptors free again the
# same write succeeds.
source "$(dirname "$0")/../lib/mesh.sh"
source "$(dirname "$0")/../lib/writes.sh"

cm_mesh_start helloworld
cm_host a 10.216.0.1/24; IFA=$CM_IF
cm_host b 10.216.0.2/24; IFB=$CM_IF
cm_neigh_static a b


cm_check "hw1 between a and b, FORWARD" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 ports add port1 peer=$IFA &&
	$PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD"
cm_check "pings pass" cm_ping a 10.216.0.2

# One connection for the write, then idle ones until the broker has no
# descriptor left; the write goes over the first (it needs none).
python3 - "$CM_BROKER_PID" "$CM_PORT" >"$CM_TMP/emfile.out" 2>&1 <<'EOF'
import http.client, os, socket, subprocess, sys, time
pid, port = int(sys.argv[1]), int(sys.argv[2])
fds = lambda: set(int(x) for x in os.listdir(f'/proc/{pid}/fd'))
w = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
w.connect()
time.sleep(0.2)
# The limit bounds descriptor numbers: every number below it must be taken.
limit = max(fds()) + 1
soft = open(f'/proc/{pid}/limits').read().split('Max open files')[1].split()[0]
subprocess.run(['prlimit', f'--pid={pid}', f'--nofile={limit}:'], check=True)
fillers = []
for _ in range(40):
    free = limit - len([n for n in fds() if n < limit])
    if free <= 0:
        break
    for _ in range(free):
        fillers.append(socket.create_connection(('127.0.0.1', port)))
    time.sleep(0.2)
print(f'{limit - len([n for n in fds() if n < limit])} descriptors free below the limit {limit}; '
      f'{len(fillers)} idle connections')
w.request('PATCH', '/polycube/v1/helloworld/hw1/', body='{"action":"DROP"}',
          headers={'Content-Type': 'application/json'})
r = w.getresponse()
print('PATCH', r.status, r.getheader('Retry-After'), r.read().decode())
w.request('GET', '/polycube/v1/helloworld/hw1/action')
r = w.getresponse()
print('GET', r.status, r.read().decode().replace('\n', ''))
for s in fillers:
    s.close()
subprocess.run(['prlimit', f'--pid={pid}', f'--nofile={soft}:'], check=True)
EOF
cat "$CM_TMP/emfile.out"
cm_check "the PATCH without a descriptor to save it: 503 with Retry-After" grep -q '^PATCH 503 [0-9]' "$CM_TMP/emfile.out"
cm_check "which says why" grep -q 'no file descriptor left' "$CM_TMP/emfile.out"
cm_check "GET at once: still FORWARD" grep -q '^GET 200 .*FORWARD' "$CM_TMP/emfile.out"
cm_check "API, record and data plane still FORWARD" cm_hw1_agree_forward 10.216.0.2
kill "$CM_BROKER_PID"; wait "$CM_BROKER_PID" 2>/dev/null
restarted=0
cm_broker_start && cm_wait_service_up helloworld && restarted=1
cm_check "the broker restarts" [ "$restarted" = 1 ]
cm_check "after the restart: FORWARD everywhere" cm_hw1_agree_forward 10.216.0.2
cm_check "with descriptors again, PATCH DROP: 200" [ "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH \
	-H 'Content-Type: application/json' --data-binary '{"action":"DROP"}' "${PCN_URL}helloworld/hw1/")" = 200 ]
cm_check "GET: DROP" [ "$(cm_hw1_action)" = DROP ]
cm_check_not "DROP stops pings" cm_ping a 10.216.0.2 2
cm_done

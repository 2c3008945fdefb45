#!/usr/bin/env bash
# pcnctl export / diff -f / apply -f: the whole mesh as one YAML file.
# Two hosts on a simplebridge (br1), br1 wired to a router's port (r1:rp1,
# with a static route), two transparent cubes stacked on br1:p1. export,
# delete every instance, apply: the mesh is back (export again is the same
# file, byte for byte) and forwards. A second apply sends no write at all
# (counted by a recording proxy between pcnctl and the broker). Broken files
# change nothing: bad YAML, an unknown service, and a value the model
# refuses on the last instance (after a valid change to the first, which
# apply must undo); each names its line.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start simplebridge transparenthelloworld router
cm_host a 10.208.0.1/24; IFA=$CM_IF
cm_host b 10.208.0.2/24; IFB=$CM_IF

cm_check "build the mesh" bash -c "
	$PCNCTL simplebridge add br1 loglevel=DEBUG &&
	$PCNCTL br1 ports add p1 peer=$IFA && $PCNCTL br1 ports add p2 peer=$IFB && $PCNCTL br1 ports add p3 &&
	$PCNCTL router add r1 && $PCNCTL r1 ports add rp1 ip=10.208.0.254/24 &&
	$PCNCTL r1 route add 10.99.0.0/24 10.208.0.1 &&
	$PCNCTL connect br1:p3 r1:rp1 &&
	$PCNCTL transparenthelloworld add t1 && $PCNCTL transparenthelloworld add t2 egress-action=PASS &&
	$PCNCTL attach t1 br1:p1 && $PCNCTL attach t2 br1:p1" >/dev/null
cm_check "a reaches b across br1" cm_ping a 10.208.0.2 2
cm_check "and the router through the wire" cm_ping a 10.208.0.254 2
# has TEXT PATTERN: TEXT holds PATTERN (grep -E, across lines).
has() { tr '\n' ' ' <<<"$1" | grep -qE -- "$2"; }

M=$CM_TMP/mesh.yaml
cm_check "export" bash -c "$PCNCTL export >$M"
cm_check "it names every instance, port, wire and the stack in order" bash -c "
	grep -q 'name: br1' $M && grep -q 'service: router' $M && grep -q 'peer: $IFA' $M &&
	grep -q \"\\['br1:p3', 'r1:rp1'\\]\" $M && grep -q 'stack: \\[t1, t2\\]' $M && grep -q 'network: 10.99.0.0/24' $M &&
	grep -q 'loglevel: DEBUG' $M"
cm_check "diff of the mesh against itself: nothing (exit 0)" bash -c "[ -z \"\$($PCNCTL diff -f $M)\" ]"

cm_check "flush: delete every instance" bash -c "for c in t1 t2 br1 r1; do $PCNCTL \$c del >/dev/null || exit 1; done"
cm_check_not "nothing forwards" cm_ping a 10.208.0.2 1
out=$($PCNCTL diff -f "$M"); rc=$?
cm_check "diff exits 1" [ "$rc" = 1 ]
cm_check "and lists what apply will create" has "$out" 'create instance br1 .*create connection br1:p3 <-> r1:rp1'
cm_check "apply" $PCNCTL apply -f "$M"
cm_check "export again: the same file" bash -c "$PCNCTL export | cmp - $M"
cm_check "a reaches b across br1 and its stack" cm_ping a 10.208.0.2 2
cm_check "and the router through the wire" cm_ping a 10.208.0.254 2
cm_check "the stack saw them" cm_eventually bash -c "curl -s ${PCN_URL}transparenthelloworld/t2/stats/ | grep -q '\"ingress-packets\": *[1-9]'"

# A proxy that logs each request's method and path, then forwards it.
PROXY_LOG=$CM_TMP/proxy.log
PPORT=$(cm_free_port)
python3 - "$PPORT" "$CM_PORT" "$PROXY_LOG" >"$CM_TMP/proxy.out" 2>&1 <<'EOF' &
import http.client, http.server, sys
port, up, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def fwd(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        with open(log, 'a') as f:
            f.write(f"{self.command} {self.path}\n")
        c = http.client.HTTPConnection('127.0.0.1', up)
        c.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k.lower() != 'host'})
        r = c.getresponse(); data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('transfer-encoding', 'connection'):
                self.send_header(k, v)
        self.end_headers(); self.wfile.write(data)
    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = fwd
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
EOF
CM_PIDS+=("$!")
PURL="http://127.0.0.1:$PPORT/polycube/v1/"
for _ in $(seq 1 50); do curl -fs -o /dev/null "${PURL}version" && break; sleep 0.1; done
: >"$PROXY_LOG"
out=$($PCNCTL --url "$PURL" apply -f "$M")
cm_check "apply again: nothing to change" [ "$out" = "nothing to change" ]
cm_check "the proxy saw its reads ($(wc -l <"$PROXY_LOG"))" grep -q '^GET /polycube/v1/cubes/' "$PROXY_LOG"
cm_check "and no write at all" bash -c "! grep -qv '^GET ' $PROXY_LOG"
cm_check "export: still the same" bash -c "$PCNCTL export | cmp - $M"

# ---- broken files: refused whole, nothing changed ----------------------------
B=$CM_TMP/broken.yaml
{ head -n 5 "$M"; echo "  ports: [p1"; } >"$B"
err=$($PCNCTL apply -f "$B" 2>&1); rc=$?
cm_check "bad YAML: refused (exit 2)" [ "$rc" = 2 ]
cm_check "the message names line 6 ($err)" has "$err" 'started at line 6'
sed 's/service: router/service: routre/' "$M" >"$B"
line=$(grep -n 'service: routre' "$B" | cut -d: -f1)
err=$($PCNCTL apply -f "$B" 2>&1); rc=$?
cm_check "unknown service: refused (exit 2)" [ "$rc" = 2 ]
cm_check "at line $line, /cubes/1/service ($err)" has "$err" "line $line: /cubes/1/service"
# Valid changes first (br1's loglevel, a new port), a value the model
# refuses on the last instance: the broker refuses that step, apply undoes
# the ones before it.
sed -e 's/loglevel: DEBUG/loglevel: TRACE/' -e 's/^  - name: p3$/  - name: p3\n  - name: p4/' "$M" >"$B"
cat >>"$B" <<'EOF'
- name: t9
  service: transparenthelloworld
  config:
    ingress-action: EXPLODE
EOF
# cubes come before connections in the file: move t9 up into the list.
python3 - "$B" <<'EOF'
import sys
p = sys.argv[1]; lines = open(p).read().split('\n')
i = lines.index('- name: t9'); t9 = lines[i:i + 4]; del lines[i:i + 4]
j = lines.index('connections:'); lines[j:j] = t9
open(p, 'w').write('\n'.join(lines))
EOF
line=$(grep -n 'EXPLODE' "$B" | cut -d: -f1)
out=$($PCNCTL apply -f "$B" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
cm_check "a bad value on the last instance: refused (exit 1)" [ "$rc" = 1 ]
cm_check "at line $line, /cubes/4/config/ingress-action" has "$out" "line $line: /cubes/4/config/ingress-action"
cm_check "the valid steps before it were sent" has "$out" 'update instance br1: loglevel'
cm_check "then undone" has "$out" 'undone'
cm_check "export: still the same mesh" bash -c "$PCNCTL export | cmp - $M"
cm_check "no t9" bash -c "! $PCNCTL t9 show >/dev/null 2>&1"
cm_check "a still reaches b" cm_ping a 10.208.0.2 2

# ---- apply changes and deletes, in order -------------------------------------
cat >"$B" <<EOF
cubes:
- name: br1
  service: simplebridge
  config: {loglevel: INFO}
  ports:
  - {name: p1, peer: $IFA}
  - {name: p2, peer: $IFB}
attachments:
- parent: br1:p1
  stack: [t2]
- name: t2
EOF
sed -i '$d' "$B"
sed -i 's/^attachments:/- name: t2\n  service: transparenthelloworld\nattachments:/' "$B"
cm_check "a smaller mesh: r1, t1, p3 and the wire go, br1 changes" $PCNCTL apply -f "$B"
cm_check "r1 and t1 are gone" bash -c "! $PCNCTL r1 show >/dev/null 2>&1 && ! $PCNCTL t1 show >/dev/null 2>&1"
cm_check "br1: INFO, ports p1 p2, stack [t2]" bash -c "
	$PCNCTL export | grep -q 'loglevel: INFO' && ! $PCNCTL export | grep -q 'name: p3' &&
	$PCNCTL export | grep -q 'stack: \\[t2\\]'"
cm_check "a reaches b" cm_ping a 10.208.0.2 2
cm_check "and back: apply the first file" $PCNCTL apply -f "$M"
cm_check "the same mesh as exported" bash -c "$PCNCTL export | cmp - $M"
cm_check "that forwards" cm_ping a 10.208.0.254 2
cm_done

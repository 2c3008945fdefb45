#!/usr/bin/env bash
# The topology page (/ui/) in headless Chromium driven by Selenium: two
# hosts joined by a chain of three cubes (sf1 - hw1 - sf2) with two
# transparent cubes stacked on a's netdev. The page's SVG (Graphviz's, from
# GET /topology.svg) holds every cube and netdev as a node and every wire
# and stack link as an edge (their <title>s, checked in the DOM against
# GET /topology); each cube's rx/tx rates move while pings flow; a cube's
# process killed shows as down within 2 s; a click on a cube shows its
# configuration; helloworld upgraded to 1.1.0 shows as running 1.1.0;
# a netdev whose name holds HTML and Graphviz metacharacters
# (cube names cannot: [a-zA-Z0-9_-]) is drawn as its literal text. Around
# it, with curl: the page's Content-Security-Policy, "/" for a browser and
# for an API client, and the SVG's type. Then, the broker restarted with
# --token: the page's assets load without it, the page asks for it, and
# draws the mesh once it is typed in. CM_UI_SCREENSHOT=<file.png> saves
# a screenshot of the page with the pings flowing (docs/topology.png).
# Skipped (77) without chromium, chromedriver or python3-selenium.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
CHROMEDRIVER=$(command -v chromedriver || true)
# Debian's python3, where python3-selenium is (a pyenv python3 may shadow it).
PY=/usr/bin/python3
if [ -z "$CHROMIUM" ] || [ -z "$CHROMEDRIVER" ] || ! "$PY" -c 'import selenium' 2>/dev/null; then
	echo "SKIP: needs chromium, chromium-driver and python3-selenium"
	exit 77
fi
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start simpleforwarder helloworld ddosmitigator
cm_host a 10.245.0.1/24; IFA=$CM_IF
cm_host b 10.245.0.2/24; IFB=$CM_IF
# The name a user could give a netdev: '<', '"', '&' for the HTML, '\N'
# for Graphviz (a label's escape for the node's name).
EVIL="m<b>\"&\\N$CM_ID"
ip link add "$EVIL" type veth peer name "mp$CM_ID" && CM_LINKS+=("$EVIL")
ip link set "$EVIL" up

sf_body() { # sf_body PEER1 PEER2: a simpleforwarder forwarding port1 <-> port2
	"$PY" -c 'import json,sys
ports=[{"name":"port1"},{"name":"port2"}]
for p,v in zip(ports,sys.argv[1:]):
    if v: p["peer"]=v
print(json.dumps({"ports":ports,"actions":[{"inport":"port1","action":"FORWARD","outport":"port2"},{"inport":"port2","action":"FORWARD","outport":"port1"}]}))' "$@"
}
cm_expect 201 POST /simpleforwarder/sf1/ "$(sf_body "$IFA" "")"
cm_expect 201 POST /simpleforwarder/sf2/ "$(sf_body "" "$IFB")"
cm_expect 201 POST /simpleforwarder/sfx/ "$(sf_body "$EVIL" "")"
cm_check "hw1 forwarding port1 <-> port2" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 ports add port1 && $PCNCTL hw1 ports add port2 && $PCNCTL hw1 set action=FORWARD"
cm_expect 200 POST /connect '{"peer1": "sf1:port2", "peer2": "hw1:port1"}'
cm_expect 200 POST /connect '{"peer1": "hw1:port2", "peer2": "sf2:port1"}'
cm_check "dm1 and dm2 attached to $IFA" bash -c "$PCNCTL ddosmitigator add dm1 && $PCNCTL ddosmitigator add dm2 && $PCNCTL attach dm1 $IFA && $PCNCTL attach dm2 $IFA"
cm_check "pings a -> b through sf1, hw1, sf2" cm_ping a 10.245.0.2

echo "# the page and the SVG over HTTP"
BASE="http://127.0.0.1:$CM_PORT"
hdrs=$(curl -s -D - -o /dev/null "$BASE/ui/")
cm_check "GET /ui/ is 200 HTML" grep -qi '^content-type: text/html' <<<"$hdrs"
cm_check "its CSP allows its own scripts only" grep -qi "^content-security-policy: default-src 'none'; script-src 'self';" <<<"$hdrs"
cm_check_not "its CSP allows no inline script or eval" grep -qi "unsafe-inline\|unsafe-eval" <<<"$hdrs"
cm_check "/ sends a browser to /ui/" bash -c "curl -s -D - -o /dev/null -H 'Accept: text/html' '$BASE/' | grep -qi '^location: /ui/'"
cm_check "/ answers an API client as before (404 naming the prefix)" bash -c "[ \"\$(curl -s -o '$CM_TMP/root' -w '%{http_code}' '$BASE/')\" = 404 ] && grep -q '/polycube/v1/' '$CM_TMP/root'"
cm_check "GET /polycube/v1/ still lists the API's links" bash -c "curl -s '$BASE/polycube/v1/' | grep -q '\"rel\": \"topology\"'"
cm_check "topology.svg is image/svg+xml" bash -c "curl -s -D - -o '$CM_TMP/t.svg' '${PCN_URL}topology.svg' | grep -qi '^content-type: image/svg+xml' && grep -q '<svg' '$CM_TMP/t.svg'"
curl -s "${PCN_URL}topology" >"$CM_TMP/topology.json"

# helloworld's upgrade to 1.1.0, started by the page's script (through a
# FIFO, so that the process is this shell's child and cleaned up with it).
HWV2=$CM_BUILD/cubes/helloworld/variants/pcn-helloworld-v2
mkfifo "$CM_TMP/v2.go"
( read -r _ <"$CM_TMP/v2.go"; exec "$HWV2" --socket-dir "$CM_SOCK" --log-level INFO >>"$CM_TMP/helloworld-v2.log" 2>&1 ) &
V2_PID=$!
CM_PIDS+=("$V2_PID")

echo "# the page in Chromium"
cat >"$CM_TMP/page.py" <<'EOF'
import json, os, signal, subprocess, sys, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

url, topo_file, hw_pid, netns, v2_pid, v2_go = sys.argv[1:7]
shot = os.environ.get("CM_UI_SCREENSHOT")
fails = 0

def check(what, ok):
    global fails
    print(("ok - " if ok else "FAIL - ") + what, flush=True)
    fails += 0 if ok else 1

def wait(fn, timeout, step=0.1):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)

topo = json.load(open(topo_file))
want_nodes, want_edges = set(), set()
for c in topo["cubes"]:
    want_nodes.add(c["name"])
    for p in c["ports"]:
        if not p["peer"]:
            continue
        me = c["name"] + ":" + p["name"]
        if ":" in p["peer"]:
            if me < p["peer"]:
                want_edges.add(me + "--" + p["peer"])
        else:
            want_nodes.add("netdev " + p["peer"])
            want_edges.add(me + "--netdev " + p["peer"])
for t in topo["transparent"]:
    prev = ("netdev " if ":" not in t["parent"] else "") + t["parent"]
    for name in t["stack"]:
        want_edges.add(prev + "--" + name)
        prev = name

o = webdriver.ChromeOptions()
o.binary_location = os.environ["CHROMIUM"]
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
          "--disable-background-networking", "--disable-sync", "--no-proxy-server", "--window-size=1400,1000",
          "--user-data-dir=" + os.environ["CM_TMP"] + "/chrome"):
    o.add_argument(a)
o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = webdriver.Chrome(service=Service(os.environ["CHROMEDRIVER"]), options=o)
d.set_page_load_timeout(15)
try:
    d.get(url)
    titles = lambda kind: d.execute_script(
        "return Array.from(document.querySelectorAll('#graph g.' + arguments[0] + ' > title')).map(t => t.textContent)", kind)
    wait(lambda: set(titles("node")) >= want_nodes, 10)
    # A wire has no direction: "a--b" and "b--a" are the same edge.
    pair = lambda t: frozenset(t.split("--", 1))
    nodes, edge_list = set(titles("node")), titles("edge")
    edges = set(map(pair, edge_list))
    want_edges = set(map(pair, want_edges))
    print("# nodes:", sorted(nodes))
    print("# edges:", sorted(edge_list))
    check("the topology (%d cubes, %d stacks) was not empty" % (len(topo["cubes"]), len(topo["transparent"])),
          len(want_nodes) >= 7 and len(want_edges) >= 7)
    check("every cube and netdev is a node: missing %s" % sorted(want_nodes - nodes), want_nodes <= nodes)
    check("every wire and stack link is an edge: missing %s" % [sorted(e) for e in want_edges - edges], want_edges <= edges)
    check("no edge the topology does not have: %s" % [sorted(e) for e in edges - want_edges], edges <= want_edges)
    check("each wire drawn once", len(edge_list) == len(edges))

    evil = [n[len("netdev "):] for n in want_nodes if n.startswith("netdev m<b>")]
    check("the metacharacter netdev is in the topology", len(evil) == 1)
    if evil:
        texts = d.execute_script("return Array.from(document.querySelectorAll('#graph g.node text')).map(t => t.textContent)")
        check("its name is drawn as its literal text (no \\N expanded)", evil[0] in texts)
        check("no <b> element came from it", d.execute_script("return document.querySelectorAll('#graph b, body b').length") == 0)

    # Counters: pings flow for a few seconds; each cube's rx and tx rates
    # (computed by the page from /metrics, once a second) go above zero.
    pinger = subprocess.Popen(["ip", "netns", "exec", netns, "ping", "-q", "-i", "0.02", "-c", "300", "10.245.0.2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rate = lambda cube, k: d.execute_script(
        "const td = document.querySelector('#rates tr[data-cube=\"' + arguments[0] + '\"] td.' + arguments[1]);"
        "return td ? Number(td.dataset.value || 0) : 0;", cube, k)
    moving = lambda: all(rate(c, k) > 0 for c in ("sf1", "hw1", "sf2") for k in ("rx", "tx"))
    check("rx and tx rates of sf1, hw1, sf2 move while pings flow", wait(moving, 6))
    print("# hw1 rx %.1f/s tx %.1f/s" % (rate("hw1", "rx"), rate("hw1", "tx")))
    overlay = d.execute_script(
        "for (const g of document.querySelectorAll('#graph g.node')) if (g.querySelector(':scope > title').textContent === 'hw1')"
        " { const t = g.querySelector('text.rates'); return t ? t.textContent : ''; } return '';")
    check("hw1's node carries its rates (%r)" % overlay, overlay.startswith("rx ") and "rx 0.0/s" not in overlay)

    # A click on a cube shows its configuration.
    node = d.execute_script(
        "for (const g of document.querySelectorAll('#graph g.node')) if (g.querySelector(':scope > title').textContent === 'sf1')"
        " return g.querySelector('text'); return null;")
    node.click()
    shown = lambda: ("sf1" in d.find_element(By.ID, "config-title").text and
                     '"actions"' in d.find_element(By.ID, "config").text)
    check("a click on sf1 shows its configuration", wait(shown, 5))
    if shot:
        time.sleep(1.2)
        d.save_screenshot(shot)
        print("# screenshot in", shot)

    svc_cell = lambda cls: d.execute_script(
        "const td = document.querySelector('#services tr[data-service=\"helloworld\"] td.' + arguments[0]);"
        "return td ? td.textContent : '';", cls)
    svc_state = lambda: svc_cell("state")

    # helloworld upgraded to 1.1.0 (make before break): the page follows
    # it to the new version running. (While the new process takes the
    # instances over, /services says upgrading-from and the page
    # "upgrading": a few milliseconds here, too short to catch.)
    check("helloworld 1.0.0 shows running", svc_state() == "running" and svc_cell("version") == "1.0.0")
    with open(v2_go, "w") as f:
        f.write("go\n")
    check("then helloworld 1.1.0 running", wait(lambda: svc_state() == "running" and svc_cell("version") == "1.1.0", 6))
    check("the old process exited", wait(lambda: not os.path.exists("/proc/%s" % hw_pid) or
                                         open("/proc/%s/stat" % hw_pid).read().split()[2] == "Z", 4))

    # The helloworld process killed: hw1 and its service show as down.
    check("helloworld shows running first", svc_state() == "running")
    t0 = time.time()
    os.kill(int(v2_pid), signal.SIGKILL)
    hw_down = lambda: svc_state() == "down" and d.execute_script(
        "for (const g of document.querySelectorAll('#graph g.node')) if (g.querySelector(':scope > title').textContent === 'hw1')"
        " return g.classList.contains('down'); return false;")
    ok = wait(hw_down, 2.0, 0.05)
    check("helloworld and hw1 show as down %.2f s after the kill (at most 2 s)" % (time.time() - t0), bool(ok))

    csp = [e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"]]
    check("the page broke none of its own CSP: %s" % csp[:2], not csp)
    pinger.terminate()
    pinger.wait()
finally:
    d.quit()
sys.exit(1 if fails else 0)
EOF
CHROMIUM=$CHROMIUM CHROMEDRIVER=$CHROMEDRIVER CM_TMP=$CM_TMP timeout -k 5 60 "$PY" "$CM_TMP/page.py" \
	"$BASE/ui/" "$CM_TMP/topology.json" "${CM_CUBE_PID[helloworld]}" "$(cm_ns a)" "$V2_PID" "$CM_TMP/v2.go" |
	tee "$CM_TMP/page.out"
CM_CHECKS=$((CM_CHECKS + $(grep -c '^ok - \|^FAIL - ' "$CM_TMP/page.out")))
CM_FAILS=$((CM_FAILS + $(grep -c '^FAIL - ' "$CM_TMP/page.out")))
cm_check "the browser's checks ran" grep -q '^ok - helloworld and hw1 show as down' "$CM_TMP/page.out"

echo "# with --token: the page's assets need none, its reads send the one typed in"
kill "$CM_BROKER_PID"; wait "$CM_BROKER_PID" 2>/dev/null
"$BROKER" --http "127.0.0.1:$CM_PORT" --token s3cret --socket-dir "$CM_SOCK" --state-dir "$CM_STATE" \
	--bpffs-root "$CM_BPFFS" --yang-dir "${CM_SRC:-$(dirname "$0")/../..}/yang" >>"$CM_TMP/broker.log" 2>&1 &
CM_BROKER_PID=$!
CM_PIDS+=("$CM_BROKER_PID")
for _ in $(seq 1 100); do curl -fs -o /dev/null -H 'Authorization: Bearer s3cret' "${PCN_URL}version" && break; sleep 0.1; done
cm_check "GET /ui/app.js without the token is 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/ui/app.js")" = 200 ]
cm_check "topology.svg without the token is 401" [ "$(curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}topology.svg")" = 401 ]
cm_check "topology.svg with it is 200" [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "${PCN_URL}topology.svg")" = 200 ]
cat >"$CM_TMP/tokenpage.py" <<'EOF'
import os, sys, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

o = webdriver.ChromeOptions()
o.binary_location = os.environ["CHROMIUM"]
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
          "--no-proxy-server", "--user-data-dir=" + os.environ["CM_TMP"] + "/chrome2"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service(os.environ["CHROMEDRIVER"]), options=o)
fails = 0
def check(what, ok):
    global fails
    print(("ok - " if ok else "FAIL - ") + what, flush=True)
    fails += 0 if ok else 1
def wait(fn, timeout):
    end = time.time() + timeout
    while not fn() and time.time() < end:
        time.sleep(0.1)
    return fn()
try:
    d.get(sys.argv[1])
    login = d.find_element(By.ID, "login")
    check("the page asks for the token", wait(lambda: login.is_displayed(), 5))
    check("and draws nothing without it", not d.find_elements(By.CSS_SELECTOR, "#graph g.node"))
    d.find_element(By.ID, "token").send_keys("s3cret")
    d.find_element(By.CSS_SELECTOR, "#login button").click()
    check("with it, the graph and the services come", bool(wait(lambda: len(d.find_elements(By.CSS_SELECTOR, "#graph g.node")) >= 7
                                                            and d.find_elements(By.CSS_SELECTOR, "#services tbody tr"), 5)))
finally:
    d.quit()
sys.exit(1 if fails else 0)
EOF
CHROMIUM=$CHROMIUM CHROMEDRIVER=$CHROMEDRIVER CM_TMP=$CM_TMP timeout -k 5 30 "$PY" "$CM_TMP/tokenpage.py" "$BASE/ui/" | tee "$CM_TMP/token.out"
CM_CHECKS=$((CM_CHECKS + $(grep -c '^ok - \|^FAIL - ' "$CM_TMP/token.out")))
CM_FAILS=$((CM_FAILS + $(grep -c '^FAIL - ' "$CM_TMP/token.out")))
cm_check "the token page's checks ran" grep -q '^ok - with it' "$CM_TMP/token.out"
cm_done

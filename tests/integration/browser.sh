#!/usr/bin/env bash
# A hostile web page in a real browser (headless Chromium) on the mesh's
# host, served from another local origin, tries what a page can do without
# the API's consent: no-cors fetch POSTs with text/plain JSON bodies (create
# an instance, /connect, /disconnect) and auto-submitted forms (text/plain
# shaped as JSON, and urlencoded). The requests reach the broker, and the
# mesh's configuration and traffic are unchanged afterwards. The page fetches
# markers back from its own server so that the test cannot pass because the
# page never ran. Skipped (77) without chromium.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	echo "SKIP: no chromium"
	exit 77
fi
# The request lines are logged at DEBUG: they prove the browser sent them.
CM_LOG_LEVEL=DEBUG
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld
cm_host a 10.242.0.1/24; IFA=$CM_IF
cm_host b 10.242.0.2/24; IFB=$CM_IF
cm_host c 10.242.1.1/24; IFC=$CM_IF
cm_check "setup hw1 forwarding a <-> b" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw1 ports add port2 peer=$IFB && $PCNCTL hw1 set action=FORWARD && $PCNCTL helloworld add hw2 && $PCNCTL hw2 ports add port1"
cm_check "pings a -> b through hw1" cm_ping a 10.242.0.2

snapshot() { curl -s "${PCN_URL}helloworld/$1/" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("stats",None); print(json.dumps(d,sort_keys=True))'; }
hw1_before=$(snapshot hw1)
hw2_before=$(snapshot hw2)
cubes_before=$(curl -s "${PCN_URL}cubes")

WPORT=$(cm_free_port)
while [ "$WPORT" = "$CM_PORT" ]; do WPORT=$(cm_free_port); done
mkdir -p "$CM_TMP/www"
cat >"$CM_TMP/www/index.html" <<EOF
<!doctype html>
<html><body><p id="status">not run</p>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<script>
const API = "${PCN_URL%/}";
const st = document.getElementById("status");
const text = (path, obj) => fetch(API + path, {mode: "no-cors", method: "POST",
	headers: {"Content-Type": "text/plain"}, body: JSON.stringify(obj)}).catch(() => {});
// A form whose one field, name=value, makes a JSON body: {..., "x": "="}.
function form(target, path, enctype, obj) {
	return new Promise(done => {
		const f = document.createElement("form");
		f.method = "POST"; f.action = API + path; f.enctype = enctype; f.target = target;
		const i = document.createElement("input");
		const j = JSON.stringify(Object.assign({}, obj, {x: ""}));
		i.name = j.slice(0, -2); i.value = '"}';
		f.appendChild(i);
		document.body.appendChild(f);
		const fr = document.getElementsByName(target)[0];
		fr.onload = () => done();
		setTimeout(done, 4000);
		f.submit();
	});
}
(async () => {
	await fetch("/marker-start").catch(() => {});
	await text("/helloworld/evil/", {ports: [{name: "p1", peer: "$IFC"}]});
	await text("/connect", {peer1: "hw2:port1", peer2: "$IFC"});
	await text("/disconnect", {peer1: "hw1:port1", peer2: "$IFA"});
	await form("f1", "/helloworld/evilform/", "text/plain", {ports: [{name: "p1", peer: "$IFC"}]});
	await form("f2", "/disconnect", "text/plain", {peer1: "hw1:port2", peer2: "$IFB"});
	await form("f3", "/connect", "application/x-www-form-urlencoded", {peer1: "hw2:port1", peer2: "$IFC"});
	await fetch("/marker-done").catch(() => {});
	st.textContent = "page done";
})();
</script></body></html>
EOF
python3 -m http.server --bind 127.0.0.1 --directory "$CM_TMP/www" "$WPORT" >"$CM_TMP/www.log" 2>&1 &
CM_PIDS+=("$!")
for _ in $(seq 1 50); do
	curl -fs -o /dev/null "http://127.0.0.1:$WPORT/index.html" && break
	sleep 0.1
done

echo "# chromium loads http://127.0.0.1:$WPORT/ (the API is on port $CM_PORT)"
timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
	--disable-extensions --disable-background-networking --disable-sync --no-proxy-server \
	--user-data-dir="$CM_TMP/chrome" --virtual-time-budget=20000 --dump-dom \
	"http://127.0.0.1:$WPORT/index.html" >"$CM_TMP/dom.html" 2>"$CM_TMP/chromium.log"
cm_check "the page ran to its end" grep -q "page done" "$CM_TMP/dom.html"
cm_check "it fetched its start and end markers" bash -c "grep -q 'GET /marker-start' '$CM_TMP/www.log' && grep -q 'GET /marker-done' '$CM_TMP/www.log'"
reached() { grep -q "BROKER-HTTP-REQ: POST /polycube/v1/$1" "$CM_TMP/broker.log"; }
cm_check "the broker got the fetch creating evil" reached helloworld/evil/
cm_check "the broker got the fetches to /connect and /disconnect" bash -c "$(declare -f reached); CM_TMP='$CM_TMP' reached connect && CM_TMP='$CM_TMP' reached disconnect"
cm_check "the broker got the text/plain form" reached helloworld/evilform/

echo "# nothing changed"
cm_check "no instance evil" [ "$(curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}helloworld/evil/")" = 404 ]
cm_check "no instance evilform" [ "$(curl -s -o /dev/null -w '%{http_code}' "${PCN_URL}helloworld/evilform/")" = 404 ]
cm_check "GET /cubes as before" [ "$(curl -s "${PCN_URL}cubes")" = "$cubes_before" ]
cm_check "hw1's configuration as before (action, peers)" [ "$(snapshot hw1)" = "$hw1_before" ]
cm_check "hw2's as before (port1 has no peer)" [ "$(snapshot hw2)" = "$hw2_before" ]
cm_check_not "$IFC has no program" bash -c "ip -d link show $IFC | grep -q 'prog/xdp' || tc filter show dev $IFC ingress | grep -q bpf"
cm_check "pings a -> b still pass through hw1" cm_ping a 10.242.0.2
cm_done

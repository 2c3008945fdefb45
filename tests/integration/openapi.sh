#!/usr/bin/env bash
# GET /polycube/v1/openapi.json, the OpenAPI 3.0 document built from the
# models of the services registered now:
#  - a service registered later is in the next document (and was not
#    before);
#  - the document passes a real validator (@redocly/cli lint, from the npm
#    registry into a cache directory when missing);
#  - on a live mesh with an instance of every cube built here, every path it
#    lists is a route: GET answers something other than 404 on the readable
#    ones, keys taken from the real instances (or, for an empty list, a
#    value the key's schema accepts). A 404 is accepted only when its
#    RESTCONF body says the data is missing (an entry or an unset leaf),
#    never the gateway's "no such node/route" messages;
#  - each path's OPTIONS Allow header lists exactly the verbs the document
#    gives it, and OPTIONS (and HEAD, only where GET is).
# Exit 77 (skip) only when the validator cannot be had (no npx, or the
# registry unreachable) and every other check passed.
source "$(dirname "$0")/../lib/mesh.sh"

REDOCLY_VERSION=2.77.0
REDOCLY_DIR=${CM_REDOCLY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cubemesh/redocly-$REDOCLY_VERSION}
LATE=helloworld

cm_broker_start
for bin in "$CM_BUILD"/cubes/*/pcn-*; do
	svc=$(basename "$bin")
	svc=${svc#pcn-}
	[ -x "$bin" ] && [ "$svc" != "$LATE" ] && [ -f "$CM_SRC/yang/$svc.yang" ] || continue
	cm_cube_start "$svc"
done
# A test cube that declares live streams, when built.
[ -x "$CM_BUILD/tests/stream/pcn-streamtest" ] && cm_cube_start streamtest "$CM_BUILD/tests/stream/pcn-streamtest"

before=$(cm_http GET /openapi.json)
cm_check "GET /openapi.json answers 200" test "${before%% *}" = 200
cm_check_not "$LATE, not registered yet, is not in the document" grep -q "\"/$LATE\"" <<<"${before#* }"
cm_cube_start "$LATE"
cm_check "$LATE, registered later, is in the next document" \
	bash -c "curl -s '${PCN_URL}openapi.json' | grep -q '\"/$LATE/{${LATE}_name}/ports/{ports_name}\"'"

# One instance of each registered service (names from the model's own
# pattern are short and plain).
svcs=$(curl -s "${PCN_URL}services" | python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)))')
i=0
for s in $svcs; do
	i=$((i + 1))
	got=$(cm_http POST "/$s/oa$i" '{}')
	cm_check "an instance of $s (${got:0:120})" test "${got%% *}" -lt 300
done
curl -s "${PCN_URL}openapi.json" >"$CM_TMP/openapi.json"

# Every path, against the live mesh.
python3 - "$CM_TMP/openapi.json" "${PCN_URL%/}" <<'EOF' >"$CM_TMP/paths.out"
import json, re, sys, urllib.request, urllib.error, socket

doc = json.load(open(sys.argv[1]))
base = sys.argv[2]
# The gateway's messages for a path that names no route or node
# (model/target.c, gateway/api_fixed.c, api_cube.c): never acceptable.
NO_ROUTE = re.compile(r"; valid: |nothing below|no resource /|no service or instance|cannot be addressed|"
                      r"the API lives under")

def req(method, path, timeout=5):
    r = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = resp.read(65536) if "json" in ctype else b""
            return resp.status, resp.headers, body
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except (socket.timeout, TimeoutError):
        return 200, {}, b""  # a live stream that stays open: it answered 200 first

def sample(schema):
    """A value the key's schema accepts, for a list with no entries."""
    if "anyOf" in schema:
        return sample(schema["anyOf"][0])
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return str(max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema.get("minimum", 0))
    pat = schema.get("pattern")
    for cand in ("x", "10.0.0.1", "10.0.0.0/24", "00:11:22:33:44:55", "1", "fe80::1", "eth0", "tcp"):
        try:
            if not pat or re.fullmatch(pat, cand):
                return cand
        except re.error:
            return cand
    return "x"

instances = {}
for svc, arr in json.loads(req("GET", "/cubes")[2]).items():
    if arr:
        instances[svc] = arr[0]["name"]

fails = checks = 0
def check(ok, what):
    global fails, checks
    checks += 1
    if not ok:
        fails += 1
    print(("ok - " if ok else "FAIL - ") + what)

for path, item in sorted(doc["paths"].items()):
    params = {p["name"]: p for p in item.get("parameters", [])}
    real, concrete = True, ""
    segs = path.strip("/").split("/") if path != "/" else []
    for seg in segs:
        m = re.fullmatch(r"\{(.+)\}", seg)
        if not m:
            concrete += "/" + seg
            continue
        name = m.group(1)
        if name == "name" and concrete.split("/")[1] in ("services", "cubes", "netdevs", "topology"):
            kind = concrete.split("/")[1]
            if kind == "services":
                val = next(iter(instances))
            elif kind == "netdevs":
                val = "lo"
            else:
                val = next(iter(instances.values()))
        elif concrete.count("/") == 1:
            val = instances.get(concrete[1:])
        else:
            # The first entry of the list just named, else a sample.
            st, _, body = req("GET", concrete)
            key = name.split("_", 1)[1].rstrip("0123456789") if "_" in name else name
            val = None
            try:
                entries = json.loads(body) if st == 200 else []
                if isinstance(entries, list) and entries and key in entries[0]:
                    val = str(entries[0][key])
            except ValueError:
                pass
            if val is None:
                real = False
                val = sample(params[name]["schema"])
        if val is None:
            check(False, f"{path}: no instance to substitute {name}")
            break
        concrete += "/" + urllib.request.quote(val, safe="")
    else:
        verbs = {v.upper() for v in item if v in ("get", "post", "put", "patch", "delete")}
        st, hdrs, _ = req("OPTIONS", concrete)
        allow = {a.strip() for a in (hdrs.get("Allow") or "").split(",") if a.strip()}
        want = set(verbs) | {"OPTIONS"}
        check(allow - {"HEAD"} == want and ("HEAD" not in allow or "GET" in verbs),
              f"{path}: OPTIONS {concrete} Allow {sorted(allow)} == documented {sorted(want)} (+HEAD)")
        if "GET" not in verbs:
            continue
        st, _, body = req("GET", concrete, timeout=2)
        msg = ""
        if st == 404:
            try:
                e = json.loads(body)["ietf-restconf:errors"]["error"][0]
                msg = e["error-tag"] + ": " + e["error-message"]
            except (ValueError, KeyError, IndexError):
                msg = "not a RESTCONF error: " + body[:100].decode(errors="replace")
        missing_data = st == 404 and msg.startswith(("data-missing", "invalid-value")) and not NO_ROUTE.search(msg)
        check(st != 404 or missing_data,
              f"{path}: GET {concrete} -> {st}{' (' + msg + ')' if msg else ''}{'' if real else ' [sample key]'}")
print(f"PATHS {checks - fails} {fails}")
EOF
# Failures, and the answers other than 200 (a missing entry's 404, a
# cube's refusal) for the record.
grep -v '^PATHS' "$CM_TMP/paths.out" | grep -v '^ok - .*Allow' | grep -v -- '-> 200' || true
read -r _ okp failp < <(grep '^PATHS' "$CM_TMP/paths.out")
echo "paths: $okp checks passed, $failp failed ($(grep -c . "$CM_TMP/paths.out") lines)"
# Each registered service: its instances, an instance and a child of it.
missing=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["paths"]
for s in sys.argv[2:]:
    inst = "/%s/{%s_name}" % (s, s)
    if "/" + s not in p or inst not in p or not any(k.startswith(inst + "/") for k in p):
        print(s)' "$CM_TMP/openapi.json" $svcs)
cm_check "the document lists the routes of every registered service ($(wc -w <<<"$svcs") services)" \
	test -z "$missing"
cm_check "every listed path is a route with its documented verbs" test "${failp:-1}" = 0

# A netdev's answer is what the document says, with a transparent stack's
# entries in cubemesh-attach (the ddosmitigator instance on a host's veth).
cm_host a 10.231.0.1/24
cm_http POST /ddosmitigator/oatt '{}' >/dev/null
got=$(cm_http POST /attach "{\"cube\": \"oatt\", \"port\": \"$CM_IF\"}")
cm_check "a transparent cube attached to $CM_IF (${got:0:120})" test "${got%% *}" = 200
curl -s "${PCN_URL}netdevs/$CM_IF" >"$CM_TMP/netdev.json"
cm_check "GET /netdevs/$CM_IF shows the stack's entries" \
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["cubemesh-attach"]["transparent"]; sys.exit(not (t["ingress"]["attach"] and t["egress"]["attach"]))' "$CM_TMP/netdev.json"
cm_check "GET /netdevs/$CM_IF matches the documented schema" python3 -c '
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
ok = doc["paths"]["/netdevs/{name}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
one = json.load(open(sys.argv[2]))
jsonschema.validate(one, ok)
sys.exit(1 if "cubemesh-attach" not in ok["properties"] else 0)' "$CM_TMP/openapi.json" "$CM_TMP/netdev.json"

# The validator.
skip=
if [ ! -x "$REDOCLY_DIR/node_modules/.bin/redocly" ]; then
	if command -v npm >/dev/null; then
		mkdir -p "$REDOCLY_DIR"
		timeout 300 npm install --no-audit --no-fund --prefix "$REDOCLY_DIR" "@redocly/cli@$REDOCLY_VERSION" \
			>"$CM_TMP/npm.log" 2>&1 || tail -n 5 "$CM_TMP/npm.log"
	fi
fi
if [ -x "$REDOCLY_DIR/node_modules/.bin/redocly" ]; then
	# The recommended rules, less the licence ones: the project names no
	# licence, and the document claims none.
	printf 'extends:\n  - recommended\nrules:\n  info-license: off\n' \
		>"$CM_TMP/redocly.yaml"
	if REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
		timeout 120 "$REDOCLY_DIR/node_modules/.bin/redocly" lint --config "$CM_TMP/redocly.yaml" \
		--format=summary "$CM_TMP/openapi.json" \
		>"$CM_TMP/lint.log" 2>&1; then
		cm_check "redocly lint: the document is valid OpenAPI" true
	else
		grep -v '[║╔╚]' "$CM_TMP/lint.log" | tail -n 30
		cm_check "redocly lint: the document is valid OpenAPI" false
	fi
	cm_check "redocly lint: no warnings either" bash -c "! grep -q '^warning' '$CM_TMP/lint.log'"
	# The validator does refuse: the same document with an operation
	# missing its responses.
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["paths"]["/version"]["get"]["responses"]; json.dump(d, open(sys.argv[2], "w"))' \
		"$CM_TMP/openapi.json" "$CM_TMP/broken.json"
	cm_check_not "redocly lint refuses a broken copy" bash -c "REDOCLY_TELEMETRY=off timeout 120 \
		'$REDOCLY_DIR/node_modules/.bin/redocly' lint --config '$CM_TMP/redocly.yaml' --format=summary \
		'$CM_TMP/broken.json' >/dev/null 2>&1"
else
	skip="@redocly/cli $REDOCLY_VERSION could not be installed from the npm registry (npm missing or the registry unreachable)"
fi
if [ -n "$skip" ] && [ "$CM_FAILS" -eq 0 ]; then
	echo "SKIP: $skip"
	exit 77
fi
cm_done

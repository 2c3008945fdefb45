#!/usr/bin/env bash
# Names that are not one safe path component: each is a 4xx with a RESTCONF
# error body (never a 5xx), and leaves no trace: no instance, no pin
# directory, no datastore record. A DELETE of ".." removes nothing (it used
# to remove every other instance's pins: <root>/cubes/<svc>/.. is cubes/).
# bpffs refuses any name holding a '.', so dotted names are refused up front.
source "$(dirname "$0")/../lib/mesh.sh"

cm_mesh_start helloworld

cm_check "hw1 created" $PCNCTL helloworld add hw1
cm_check "hw2 created" $PCNCTL helloworld add hw2

# Everything under the mesh's bpffs root and in its datastore.
pins() { (cd "$CM_BPFFS" && find . | sort); }
records() { ls -A "$CM_STATE/instances" | grep -v '^journal\.' | sort; }
instances() {
	curl -s "${PCN_URL}cubes" |
		python3 -c 'import json,sys; print(" ".join(sorted(c["name"] for v in json.load(sys.stdin).values() for c in v)))'
}
pins_before=$(pins)
records_before=$(records)
cm_check "hw1's program is pinned" [ -e "$CM_BPFFS/cubes/helloworld/hw1/prog" ]
cm_check "hw2's program is pinned" [ -e "$CM_BPFFS/cubes/helloworld/hw2/prog" ]
cm_check "both are in the datastore" [ "$records_before" = "$(printf 'helloworld@hw1.json\nhelloworld@hw2.json')" ]

# req METHOD RAW_PATH [BODY]: "STATUS BODY", the path sent as written (curl
# would otherwise resolve the dot segments itself).
req() {
	local m=$1 p=$2 b=${3-}
	curl -s --path-as-is -o "$CM_TMP/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
		${b:+--data-binary "$b"} "${PCN_URL%/}$p"
	echo -n " "
	cat "$CM_TMP/body"
}

# refused METHOD RAW_PATH [BODY]: a 4xx with a RESTCONF error.
refused() {
	local got status rest
	got=$(req "$@")
	status=${got%% *}
	rest=${got#* }
	CM_CHECKS=$((CM_CHECKS + 1))
	if [ "$status" -lt 400 ] || [ "$status" -ge 500 ]; then
		echo "FAIL - $1 $2: status $status, want a 4xx: $rest"
		CM_FAILS=$((CM_FAILS + 1))
	elif ! grep -q '"error-message"' <<<"$rest"; then
		echo "FAIL - $1 $2: no RESTCONF error body: $rest"
		CM_FAILS=$((CM_FAILS + 1))
	else
		echo "ok - $status for $1 $2"
	fi
}

long=$(printf 'n%.0s' $(seq 1 64))
for name in . .. web.1 a..b .hidden x. %2E %2E%2E %2e%2e a%2Fb %2E%2E%2Fhw1 ..%2Fhw1 %2E%2E%2F%2E%2E%2Fshared \
	"$long" a%00b a%20b 'a%22b' a%40b; do
	refused POST "/helloworld/$name/" '{}'
	refused POST "/helloworld/$name" '{"action":"FORWARD"}'
done
# The name in the body must match the path's, and obeys the same rule.
refused POST /helloworld/hw3/ '{"name":"web.1"}'
# POST /cubes: the names become the path of each write.
for item in '"service-name":"helloworld","name":"web.1"' '"service-name":"helloworld","name":".."' \
	'"service-name":"helloworld/hw1/ports","name":"p9"' '"service-name":"helloworld","name":"a/b"' \
	"\"service-name\":\"helloworld\",\"name\":\"$long\""; do
	refused POST /cubes "[{$item}]"
done

cm_check "GET /cubes lists hw1 and hw2 only" [ "$(instances)" = "hw1 hw2" ]
cm_check "no pin appeared or went under the bpffs root" [ "$(pins)" = "$pins_before" ]
cm_check "no datastore record appeared or went" [ "$(records)" = "$records_before" ]

# DELETE of the dot segments, raw and escaped: nothing is removed.
for name in .. %2E%2E %2e%2E . %2E ..%2F..; do
	refused DELETE "/helloworld/$name/"
	refused DELETE "/helloworld/$name"
done
refused DELETE "/helloworld/hw1/%2E%2E/"
cm_check "hw1 and hw2 still listed" [ "$(instances)" = "hw1 hw2" ]
cm_check "every pin is still there" [ "$(pins)" = "$pins_before" ]
cm_check "both records are still there" [ "$(records)" = "$records_before" ]
cm_check "hw1 still answers" curl -fs -o /dev/null "${PCN_URL}helloworld/hw1/"

# A port name is one step of the REST path (/connect builds it): it may hold
# dots, but may not be one of the dot segments.
for port in . .. %2E %2E%2E; do
	refused POST "/helloworld/hw1/ports/$port/" '{}'
done
got=$(req POST "/helloworld/hw1/ports/p.1/" '{}')
cm_check "a port may be named p.1 (${got%% *})" [ "${got%% *}" = 201 ]
cm_check "hw1 has that one port only" [ "$(curl -s "${PCN_URL}helloworld/hw1/ports/" |
	python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))')" = "p.1" ]

# What a name may be: letters, digits, '_' and '-', up to 63.
ok63=$(printf 'm%.0s' $(seq 1 63))
got=$(req POST "/helloworld/Web_1-x/" '{}')
cm_check "Web_1-x is a fine name (${got%% *})" [ "${got%% *}" = 201 ]
got=$(req POST "/helloworld/$ok63/" '{}')
cm_check "63 characters is a fine name (${got%% *})" [ "${got%% *}" = 201 ]
cm_check "its pins are under its own directory" [ -e "$CM_BPFFS/cubes/helloworld/$ok63/prog" ]
cm_check "its record is in the datastore" [ -f "$CM_STATE/instances/helloworld@$ok63.json" ]
cm_check "and it is deleted cleanly" $PCNCTL "$ok63" del
cm_check "its pins are gone" [ ! -e "$CM_BPFFS/cubes/helloworld/$ok63" ]
cm_check "hw1's pins are not" [ -e "$CM_BPFFS/cubes/helloworld/hw1/prog" ]
cm_done

#!/usr/bin/env bash
# Every benchmark still runs: each, in its quick form (one short run per
# figure), prints its figures and writes JSON in which traffic got through;
# the report is built from them. Figures are not judged: this is no
# benchmark, and the machine running the tests may be busy.
source "$(dirname "$0")/../lib/mesh.sh"
bench=${CM_SRC:-$(dirname "$0")/../..}/tests/bench
out=$CM_TMP/results
export BENCH_QUICK=1 BENCH_OUT=$out

for b in overhead overhead_goal chain slowpath control reload bridge bridge_vlan router packetcapture; do
	bash "$bench/$b.sh" >"$CM_TMP/$b.log" 2>&1
	cm_check "$b: runs" [ $? -eq 0 ]
	cm_check "$b: prints figures or says what it did not measure" \
		grep -qE "^(FIGURE $b |NOTE $b: not measured)" "$CM_TMP/$b.log"
	cm_check "$b: JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$out/$b.json"
done
# medians VALUE of the rows of BENCH whose series starts with PREFIX and unit is UNIT
delivered() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = [r["median"] for r in d["results"] if r["series"].startswith(sys.argv[2]) and r["unit"] == "Mpps"]
sys.exit(0 if v and min(v) > 0 else 1)' "$out/$1.json" "$2"
}
cm_check "overhead: the vanilla program delivered packets" delivered overhead vanilla
cm_check "overhead: the simpleforwarder cube delivered packets" delivered overhead "simpleforwarder cube"
cm_check "chain: chains of cubes delivered packets" delivered chain "XDP_DRV cubes"
cm_check "bridge: the Linux bridge delivered packets" delivered bridge "Linux bridge"
cm_check "bridge: pcn-bridge delivered packets" delivered bridge "pcn-bridge"
cm_check "bridge_vlan: the trunk delivered packets" delivered bridge_vlan "pcn-bridge access -> trunk"
cm_check "bridge_vlan: pcn-bridge's broadcast delivered packets" delivered bridge_vlan "pcn-bridge XDP_DRV broadcast"
cm_check "router: the router delivered packets" delivered router router
cm_check "packetcapture: pcn-packetcapture captured packets" delivered packetcapture "packetcapture captured"
cm_check "control: creation timed" grep -q '"create N instances"' "$out/control.json"
cm_check "report built" python3 "$bench/report.py" "$out"
cm_check "report names the kernel" grep -q "kernel $(uname -r)" "$out/REPORT.md"
cm_done

#!/usr/bin/env bash
# Before/after of two builds in pairs taken seconds apart: one mesh per
# build held up at once (simpleforwarder sf1 forwarding a -> b at HOOK,
# helloworld hw1 without ports), and PAIRS pairs of the same measurements
# on each, the order alternating (A B, B A, ...): delivered Mpps of a
# BENCH_SECONDS generator run, ns/packet of the netdev input program with
# BPF_PROG_TEST_RUN (least of 3 runs of BENCH_REPEAT), then with wrk (1 s,
# 2 threads, 50 connections) GET /version, GET hw1 and PATCH hw1's action
# (committed), and the time to create and delete 100 instances. Where
# compare_builds.sh runs whole benchmarks minutes apart, whose figures move
# by 10% and more on a shared host, a pair here is measured within seconds
# and the host's load mostly cancels in its ratio.
#
#   sudo CMP_SRC_A=/old/src tests/bench/compare_paired.sh HOOK PAIRS BUILD_A BUILD_B
#
# The generator and wrk are the same for both sides (CMP_TG: default build
# B's pcn-trafficgen). Prints each pair and, per figure, the median of A and
# of B, B/A: the median of the pairs' ratios with its quartiles and a 95%
# bootstrap interval, and in how many pairs B was above A. The median, not
# the mean: a pair in which the host stalled one side is an outlier of 2x
# or more. Calibrate with the same build on both sides (A/A): two loads of
# identical programs differ by a few % in ns/packet (code placement).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# --hold SIDE BUILD SRC HOOK DIR: one side's mesh, held up until DIR/stop.
if [ "${1:-}" = --hold ]; then
	side=$2 hook=$5 dir=$6
	export CM_BUILD=$3 CM_SRC=$4
	source "$here/lib.sh"
	cm_mesh_start simpleforwarder helloworld
	bench_topology
	$PCNCTL simpleforwarder add sf1 type="$hook" >/dev/null &&
		$PCNCTL sf1 ports add p1 peer="$IFA" >/dev/null &&
		$PCNCTL sf1 ports add p2 peer="$IFB" >/dev/null &&
		$PCNCTL sf1 actions add p1 action=FORWARD outport=p2 >/dev/null &&
		$PCNCTL helloworld add hw1 action=FORWARD >/dev/null || exit 1
	bench_settle
	printf 'NSA=%s NSB=%s IFA=%s PIN=%s URL=%s\n' "$(cm_ns a)" "$(cm_ns b)" "$IFA" \
		"$(bench_netdev_pin "$hook")" "$PCN_URL" >"$dir/$side.tmp"
	mv "$dir/$side.tmp" "$dir/$side.env"
	while [ ! -e "$dir/stop" ]; do sleep 0.5; done
	exit 0
fi

if [ $# -ne 4 ]; then
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
hook=$1 pairs=$2 build_a=$(cd "$3" && pwd) build_b=$(cd "$4" && pwd) || exit 2
src_a=${CMP_SRC_A:-$repo} src_b=${CMP_SRC_B:-$repo}
tg=${CMP_TG:-$build_b/tools/trafficgen/pcn-trafficgen}
secs=${BENCH_SECONDS:-1} repeat=${BENCH_REPEAT:-1000000} cpu=${BENCH_CPU:-$(( $(nproc) > 1 ? 1 : 0 ))}
dir=$(mktemp -d /tmp/cmp-paired-XXXXXX)
holders=()
stop() {
	touch "$dir/stop"
	for p in "${holders[@]}"; do wait "$p"; done
	[ -n "${CMP_KEEP:-}" ] || rm -rf "$dir"
}
trap stop EXIT
bash "$0" --hold A "$build_a" "$src_a" "$hook" "$dir" >"$dir/A.log" 2>&1 &
holders+=($!)
bash "$0" --hold B "$build_b" "$src_b" "$hook" "$dir" >"$dir/B.log" 2>&1 &
holders+=($!)
for _ in $(seq 1 120); do
	[ -e "$dir/A.env" ] && [ -e "$dir/B.env" ] && break
	sleep 0.5
done
for s in A B; do
	[ -e "$dir/$s.env" ] || { echo "side $s did not come up:" >&2; tail "$dir/$s.log" >&2; exit 1; }
done
echo "A: $build_a (sources $src_a): $(cat "$dir/A.env")"
echo "B: $build_b (sources $src_b): $(cat "$dir/B.env")"
echo "hook $hook, $pairs pairs, generator $tg, ${secs} s runs"

# measure SIDE: one line of figures for that side's mesh.
measure() {
	local NSA NSB IFA PIN URL mpps ns v i p c d
	eval "$(cat "$dir/$1.env")"
	mpps=$("$tg" gen --src-ns "$NSA" --dst-ns "$NSB" --duration "$secs" --cpu "$cpu" | head -n 1 |
		sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.4f", $1 / 1e6 }')
	ns=$("$tg" run --pin "$PIN" --ifname "$IFA" --repeat "$repeat" --runs 3 |
		sed -n 's/.*wall_ns_per_packet=\([0-9.]*\).*/\1/p' | sort -g | head -n 1)
	v=$(wrk -t2 -c50 -d1s "${URL}version" | awk '/^Requests\/sec:/ { print $2 }')
	i=$(wrk -t2 -c50 -d1s "${URL}helloworld/hw1/" | awk '/^Requests\/sec:/ { print $2 }')
	p=$(wrk -t2 -c50 -d1s -s "$here/patch.lua" "${URL}helloworld/hw1/action/" | awk '/^Requests\/sec:/ { print $2 }')
	c=$(python3 "$here/instances.py" "$URL" "i" 100)
	d=$(echo "$c" | sed -n 's/.*delete_s=\([0-9.]*\).*/\1/p')
	c=$(echo "$c" | sed -n 's/.*create_s=\([0-9.]*\).*/\1/p')
	echo "${mpps:-nan} ${ns:-nan} ${v:-nan} ${i:-nan} ${p:-nan} ${c:-nan} ${d:-nan}"
}

: >"$dir/pairs"
for n in $(seq 1 "$pairs"); do
	order="A B"
	[ $((n % 2)) = 0 ] && order="B A"
	for s in $order; do
		echo "$n $s $(measure "$s")" >>"$dir/pairs"
	done
	tail -n 2 "$dir/pairs" | sort -k2 | tr '\n' ' '
	echo
done

python3 - "$dir/pairs" "$hook" <<'EOF'
import random, statistics as st, sys
names = ["simpleforwarder %s Mpps" % sys.argv[2], "simpleforwarder %s ns/packet" % sys.argv[2],
         "GET /version req/s", "GET instance req/s", "PATCH (committed) req/s",
         "create 100 instances s", "delete 100 instances s"]
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(int(f[0]), {})[f[1]] = [float(x) for x in f[2:]]
pairs = [(r["A"], r["B"]) for _, r in sorted(rows.items()) if "A" in r and "B" in r]
random.seed(1)
print("\n%d pairs: figure | A median | B median | B/A median (quartiles) [95%% bootstrap] | B > A" % len(pairs))
for i, name in enumerate(names):
    ok = [(a[i], b[i]) for a, b in pairs if a[i] > 0 and b[i] > 0]
    if not ok:
        print("  %s: no figures" % name)
        continue
    rv = sorted(b / a for a, b in ok)
    q = lambda p: rv[int(p * (len(rv) - 1))]
    boot = sorted(st.median(random.choices(rv, k=len(rv))) for _ in range(2000))
    print("  %s | %.4g | %.4g | %.3f (%.3f..%.3f) [%.3f..%.3f] | %d/%d" % (
        name, st.median([a for a, _ in ok]), st.median([b for _, b in ok]), st.median(rv), q(0.25),
        q(0.75), boot[50], boot[1949], sum(r > 1 for r in rv), len(rv)))
EOF

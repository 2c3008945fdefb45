#!/usr/bin/env bash
# Before/after of one benchmark: the same script run for two builds in
# alternating rounds on the same machine, so that what the host's other
# work does to the figures hits both builds alike, and the ratio B/A of
# each round is what to read.
#
#   sudo tests/bench/compare_builds.sh BENCH ROUNDS BUILD_A BUILD_B
#   sudo CMP_SRC_A=/old/src BENCH_HOOKS="XDP_DRV TC" BENCH_RUNS=3 \
#        tests/bench/compare_builds.sh overhead 5 /old/src/build build-new
#
# BENCH is a script of this folder (overhead, control, ...), run unchanged
# with CM_BUILD set to each build in turn; the order alternates (A B, B A,
# A B, ...) so that a drift of the host's load over the rounds does not
# favour one side. CMP_SRC_A / CMP_SRC_B: each build's source tree (its
# yang/ and tests/lib/mesh.sh; default: this repository). The BENCH_*
# knobs pass through. Each run's JSON goes to CMP_OUT/<round><A|B>/ (a new
# temporary folder by default), never to results/; a JSON's "commit" is its
# source tree's at the time of the run, not what the build was made from
# (give each build its own tree, or note it). Prints every figure per
# round, then per figure: the median of A and of B over the rounds, and
# B/A: the median of the rounds' ratios with their min..max and a 95%
# interval of the mean ratio (t over the rounds' log ratios). For the
# overhead scripts' side-by-side Mpps overheads (a % already) it prints
# B - A in points instead.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ $# -ne 4 ]; then
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
bench=$1 rounds=$2 build_a=$(cd "$3" && pwd) build_b=$(cd "$4" && pwd) || exit 2
[ -f "$here/$bench.sh" ] || { echo "no benchmark $here/$bench.sh" >&2; exit 2; }
src_a=${CMP_SRC_A:-$repo} src_b=${CMP_SRC_B:-$repo}
out=${CMP_OUT:-$(mktemp -d "/tmp/cmp-$bench-XXXXXX")}
mkdir -p "$out"
echo "A: $build_a (sources $src_a)"
echo "B: $build_b (sources $src_b)"
echo "runs in $out"

failed=0
for r in $(seq 1 "$rounds"); do
	order="A B"
	[ $((r % 2)) = 0 ] && order="B A"
	for side in $order; do
		b=$build_a s=$src_a
		[ "$side" = B ] && b=$build_b s=$src_b
		d=$out/$(printf '%02d' "$r")$side
		mkdir -p "$d"
		t0=$(date +%s)
		if CM_BUILD=$b CM_SRC=$s BENCH_OUT=$d bash "$here/$bench.sh" >"$d/log" 2>&1 &&
			[ -f "$d/$bench.json" ]; then
			echo "round $r $side: $(($(date +%s) - t0)) s"
		else
			echo "round $r $side: FAILED (see $d/log)" >&2
			failed=$((failed + 1))
		fi
	done
done

python3 - "$out" "$bench" <<'EOF'
import glob, json, math, os, re, statistics as st, sys

out, bench = sys.argv[1], sys.argv[2]
# 97.5% quantiles of Student's t, by degrees of freedom
T = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
     10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 30: 2.04}
def tq(df):
    return T[max(k for k in T if k <= df)]

PAIRED = re.compile(r"^(.*), Mpps overhead round by round: (-?[0-9.]+)%")
runs = {}  # round -> side -> {(series, x, unit): value}
for p in sorted(glob.glob(os.path.join(out, "*", bench + ".json"))):
    tag = os.path.basename(os.path.dirname(p))
    rnd, side = int(tag[:-1]), tag[-1]
    d = json.load(open(p))
    figs = {(r["series"], str(r["x"]), r["unit"]): r["median"]
            for r in d["results"] if "(offered)" not in r["series"]}
    for n in d["notes"]:
        m = PAIRED.match(n)
        if m:
            figs[(m.group(1), "side by side", "%")] = float(m.group(2))
    runs.setdefault(rnd, {})[side] = figs
    commit = d["machine"].get("commit", "?")
    print("round %d %s: commit %s, %s" % (rnd, side, commit, d["machine"].get("date", "?")))

pairs = [(r, s["A"], s["B"]) for r, s in sorted(runs.items()) if "A" in s and "B" in s]
if not pairs:
    sys.exit("no round with both builds")
keys = [k for k in pairs[0][1] if all(k in a and k in b for _, a, b in pairs)]
print("\nper round (A, B, B/A or B-A):")
for k in keys:
    cells = []
    for _, a, b in pairs:
        if k[2] == "%":
            cells.append("%.4g %.4g %+.2f" % (a[k], b[k], b[k] - a[k]))
        else:
            cells.append("%.4g %.4g %.3f" % (a[k], b[k], b[k] / a[k] if a[k] else float("nan")))
    print("  %s | %s | %s: %s" % (k[0], k[1], k[2], "; ".join(cells)))

print("\nsummary over %d rounds: series | x | unit | A median | B median | B/A median [min..max] | mean B/A, 95%% interval" % len(pairs))
for k in keys:
    av = [a[k] for _, a, _ in pairs]
    bv = [b[k] for _, _, b in pairs]
    if k[2] == "%":
        dv = [y - x for x, y in zip(av, bv)]
        line = "B-A %+.2f points [%+.2f..%+.2f]" % (st.median(dv), min(dv), max(dv))
        if len(dv) > 1:
            h = tq(len(dv) - 1) * st.stdev(dv) / math.sqrt(len(dv))
            line += " | mean %+.2f +- %.2f" % (st.mean(dv), h)
    else:
        if not all(x > 0 and y > 0 for x, y in zip(av, bv)):
            continue
        rv = [y / x for x, y in zip(av, bv)]
        line = "%.3f [%.3f..%.3f]" % (st.median(rv), min(rv), max(rv))
        if len(rv) > 1:
            lv = [math.log(v) for v in rv]
            h = tq(len(lv) - 1) * st.stdev(lv) / math.sqrt(len(lv))
            line += " | %.3f (%.3f..%.3f)" % (math.exp(st.mean(lv)), math.exp(st.mean(lv) - h),
                                              math.exp(st.mean(lv) + h))
    print("  %s | %s | %s | %.4g | %.4g | %s" % (k[0], k[1], k[2], st.median(av), st.median(bv), line))
EOF
rc=$?
[ "$failed" = 0 ] && [ "$rc" = 0 ]

# Shared by the benchmarks: a private mesh (tests/lib/mesh.sh), two hosts in
# namespaces (a -> IFA -> device under test -> IFB -> b), the generator and
# the baselines, and the recording of figures.
#
# Each figure is recorded once per run with bench_record; bench_finish turns
# them into <results>/<benchmark>.json (min/median/max per series and x) and
# prints them. A benchmark that cannot measure something says so with
# bench_not_measured, which lands in the JSON and the report.
#
# Knobs (environment): BENCH_RUNS (runs per figure, 5), BENCH_SECONDS
# (seconds per traffic run, 2), BENCH_REPEAT (BPF_PROG_TEST_RUN repeats,
# 1000000), BENCH_CPU (core of the generator, 1), BENCH_QUICK=1 (the smoke
# test: fewer points, short runs), BENCH_OUT (where JSON goes), BENCH_TG (a
# generator other than the build's).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CM_SRC=${CM_SRC:-$(cd "$BENCH_DIR/../.." && pwd)}
: "${CM_BUILD:?CM_BUILD must name the build directory}"
source "$CM_SRC/tests/lib/mesh.sh"
CM_LOG_LEVEL=${CM_LOG_LEVEL:-WARN}

BENCH_QUICK=${BENCH_QUICK:-0}
if [ "$BENCH_QUICK" = 1 ]; then
	BENCH_RUNS=${BENCH_RUNS:-1}
	BENCH_SECONDS=${BENCH_SECONDS:-0.2}
	BENCH_REPEAT=${BENCH_REPEAT:-20000}
fi
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_SECONDS=${BENCH_SECONDS:-2}
BENCH_REPEAT=${BENCH_REPEAT:-1000000}
BENCH_CPU=${BENCH_CPU:-$(( $(nproc) > 1 ? 1 : 0 ))}
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/results}
TG=${BENCH_TG:-$CM_BUILD/tools/trafficgen/pcn-trafficgen}
BL=$CM_BUILD/tests/bench/pcn-bench-baseline
BL_PIN=$CM_BPFFS/bench

bench_begin() {
	BENCH_NAME=$1
	BENCH_TSV=$CM_TMP/$1.tsv
	: >"$BENCH_TSV"
	mkdir -p "$BENCH_OUT"
	for t in "$TG" "$BL" "$PCNCTL" "$BROKER"; do
		[ -x "$t" ] || { echo "missing $t: build first" >&2; exit 1; }
	done
}

# bench_record SERIES X UNIT VALUE: one run's figure.
bench_record() {
	printf 'rec\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_TSV"
	echo "FIGURE $BENCH_NAME | $1 | $2 | $4 $3"
}

bench_note() {
	printf 'note\t%s\n' "$*" >>"$BENCH_TSV"
	echo "NOTE $BENCH_NAME: $*"
}

# bench_not_measured WHAT WHY
bench_not_measured() {
	bench_note "not measured: $1: $2"
}

bench_finish() {
	python3 "$BENCH_DIR/summarize.py" "$BENCH_NAME" "$BENCH_TSV" "$BENCH_RUNS" \
		>"$BENCH_OUT/$BENCH_NAME.json" || return 1
	echo "wrote $BENCH_OUT/$BENCH_NAME.json"
}

# bench_topology: hosts a and b; IFA and IFB are their host-side ends. GRO on
# both host ends too: a TC or generic-XDP device under test receives the
# generator's XDP frames only so (docs/KERNEL.md), and the bridge as well.
bench_topology() {
	cm_host a 10.250.0.1/24; IFA=$CM_IF
	cm_host b 10.250.0.2/24; IFB=$CM_IF
	ethtool -K "$IFA" gro on >/dev/null 2>&1 || true
	ethtool -K "$IFB" gro on >/dev/null 2>&1 || true
}

# bench_gen SERIES X: BENCH_RUNS traffic runs a -> b, flat out, 64 bytes;
# records delivered Mpps (and offered Mpps under "SERIES offered").
bench_gen() {
	local r out
	for r in $(seq 1 "$BENCH_RUNS"); do
		out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$BENCH_SECONDS" \
			--cpu "$BENCH_CPU" ${BENCH_RATE:+--rate $BENCH_RATE} | head -n 1) || return 1
		bench_record "$1" "$2" Mpps "$(echo "$out" | sed -n 's/.*delivered_pps=\([0-9]*\).*/\1/p' |
			awk '{ printf "%.3f", $1 / 1e6 }')"
		bench_record "$1 (offered)" "$2" Mpps "$(echo "$out" | sed -n 's/^offered_pps=\([0-9]*\).*/\1/p' |
			awk '{ printf "%.3f", $1 / 1e6 }')"
	done
}

# bench_settle: after wiring cubes, give their processes time to reload
# them with the wiring as load-time constants (cube-runtime/baked.c polls
# every 200 ms and a reload takes a few ms); until then a cube reads
# pcn_fwd, slower. A benchmark, not a test: waiting is all it can do.
bench_settle() {
	sleep "${BENCH_SETTLE:-1}"
}

# bench_ns SERIES X PIN: ns per packet of the pinned program as if a frame
# arrived on IFA, BENCH_RUNS figures: the wall clock around
# BPF_PROG_TEST_RUN over BENCH_REPEAT repeats, to a hundredth of a ns (the
# kernel's own figure is whole ns, too coarse for differences of one or
# two; the syscall's ~1 us adds 0.001 ns at 10^6 repeats). Unlike the
# kernel's, the wall clock counts time the CPU spent on other work, which
# only adds: each figure is the least of 3 runs.
bench_ns() {
	local r
	for r in $(seq 1 "$BENCH_RUNS"); do
		bench_record "$1" "$2" ns "$("$TG" run --pin "$3" --ifname "$IFA" --repeat "$BENCH_REPEAT" --runs 3 |
			sed -n 's/.*wall_ns_per_packet=\([0-9.]*\).*/\1/p' | sort -g | head -n 1)"
	done
}

# The netdev input program of a hook (what a packet from IFA runs first):
# the copy specialized for IFA while it is peered (broker/dataplane/netdev_spec.c),
# else the generic one.
bench_netdev_pin() {
	local h=xdp ifx
	[ "$1" = TC ] && h=tc
	ifx=$(cat "/sys/class/net/$IFA/ifindex")
	if [ -e "$CM_BPFFS/shared/netdev_${h}_$ifx" ]; then
		echo "$CM_BPFFS/shared/netdev_${h}_$ifx"
	else
		echo "$CM_BPFFS/shared/netdev_$h"
	fi
}

# bl_attach HOOK [HOPS KEY FWD]: a baseline on IFA redirecting to IFB (FWD:
# sample, the paper's xdp_redirect, or min; for HOPS 0).
bl_attach() {
	local h
	case $1 in TC) h=tc ;; XDP_SKB) h=xdp-skb ;; *) h=xdp ;; esac
	"$BL" --hook "$h" --in "$IFA" --out "$IFB" --pin "$BL_PIN" --hops "${2:-0}" --key "${3:-map}" \
		--fwd "${4:-sample}"
}

bl_detach() {
	local i
	for i in "$IFA" "$IFB"; do
		ip link set dev "$i" xdpgeneric off 2>/dev/null
		ip link set dev "$i" xdpdrv off 2>/dev/null
		tc qdisc del dev "$i" clsact 2>/dev/null
	done
	rm -rf "$BL_PIN"
	return 0
}

# Lines of C/BPF/YANG in files, without blank lines and comment-only lines.
bench_loc() {
	cat "$@" | grep -cvE '^[[:space:]]*($|//|/\*|\*|\*/)'
}

# bench_median SERIES X UNIT: the median recorded so far (empty if none).
bench_median() {
	awk -F '\t' -v s="$1" -v x="$2" -v u="$3" '$1 == "rec" && $2 == s && $3 == x && $4 == u { print $5 }' \
		"$BENCH_TSV" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_overhead WHAT BASE CUBE: notes how much slower CUBE is than BASE
# (two medians; higher-is-better when the unit is Mpps).
bench_overhead() {
	local what=$1 base=$2 cube=$3 unit=$4
	[ -n "$base" ] && [ -n "$cube" ] || return 0
	if [ "$unit" = Mpps ]; then
		bench_note "$what: $(awk -v b="$base" -v c="$cube" 'BEGIN { printf "%.2f vs %.2f Mpps: overhead %.1f%%", c, b, (b - c) / b * 100 }')"
	else
		bench_note "$what: $(awk -v b="$base" -v c="$cube" 'BEGIN { printf "%.2f vs %.2f ns/packet: +%.2f ns (%.1f%%)", c, b, c - b, (c - b) / b * 100 }')"
	fi
}

# bench_paired BASE CUBE X: Mpps overhead of CUBE over BASE from the
# runs taken side by side: the median, over the rounds, of each round's
# (base - cube) / base, with its min..max. Each round measures both within
# seconds of each other, so a change of load on the host between rounds
# (which moves the medians of the series by several %) cancels out.
bench_paired() {
	local base=$1 cube=$2 x=$3
	awk -F '\t' -v b="$base" -v c="$cube" -v x="$x" '
		$1 == "rec" && $3 == x && $4 == "Mpps" && $2 == b { bv[++nb] = $5 }
		$1 == "rec" && $3 == x && $4 == "Mpps" && $2 == c { cv[++nc] = $5 }
		END {
			n = nb < nc ? nb : nc
			for (i = 1; i <= n; i++) r[i] = (bv[i] - cv[i]) / bv[i] * 100
			if (!n) exit 1
			for (i = 2; i <= n; i++)  # insertion sort: mawk has no asort
				for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
			m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
			printf "%.2f%% (median of %d side-by-side rounds; %.2f..%.2f)", m, n, r[1], r[n]
		}' "$BENCH_TSV"
}

# bench_path_share WHAT BASE_MPPS BASE_NS CUBE_NS: the cube's extra ns per
# packet as a share of the time the whole path takes per frame at the
# baseline's rate (1000 / Mpps ns): what those ns cost in Mpps, measured
# without the run-to-run spread of two traffic runs.
bench_path_share() {
	local what=$1 mpps=$2 base=$3 cube=$4
	[ -n "$mpps" ] && [ -n "$base" ] && [ -n "$cube" ] || return 0
	bench_note "$what: $(awk -v m="$mpps" -v b="$base" -v c="$cube" 'BEGIN { p = 1000 / m; printf "+%.2f ns of a %.0f ns path per frame (%.3f Mpps): %.2f%%", c - b, p, m, (c - b) / p * 100 }')"
}

# bench_ratio NUM_SERIES NUM_X DEN_SERIES DEN_X [UNIT]: NUM's Mpps (or
# UNIT's figures) over DEN's,
# round by round (each round measures both within seconds, so a change of
# load between rounds cancels out): "median n min max" (nothing when no
# round has both).
bench_ratio() {
	awk -F '\t' -v ns="$1" -v nx="$2" -v ds="$3" -v dx="$4" -v u="${5:-Mpps}" '
		$1 == "rec" && $4 == u && $2 == ns && $3 == nx { c[++nc] = $5 }
		$1 == "rec" && $4 == u && $2 == ds && $3 == dx { l[++nl] = $5 }
		END {
			n = nl < nc ? nl : nc
			for (i = 1; i <= n; i++) r[i] = l[i] > 0 ? c[i] / l[i] : 0
			if (!n) exit 1
			for (i = 2; i <= n; i++)  # insertion sort: mawk has no asort
				for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
			m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
			printf "%.4f %d %.4f %.4f\n", m, n, r[1], r[n]
		}' "$BENCH_TSV"
}

# bench_goal WHAT NUM_SERIES NUM_X DEN_SERIES DEN_X GOAL [pct]: notes the
# round-by-round ratio (bench_ratio) against a goal (NUM/DEN >= GOAL; "-":
# none), as "2.10x" or, with pct, "91.3%", and whether the median meets it.
bench_goal() {
	local what=$1 goal=$6 pct=${7:-} r
	r=$(bench_ratio "$2" "$3" "$4" "$5") || { bench_note "$what: no side-by-side rounds"; return 0; }
	bench_note "$what: $(echo "$r" | awk -v g="$goal" -v p="$pct" '{
		f = p ? "%.1f%%" : "%.2fx"; k = p ? 100 : 1
		printf f " (median of %d side-by-side rounds; " f ".." f ")", $1 * k, $2, $3 * k, $4 * k
		if (g != "-")
			printf ", goal >= " f ": %s", g * k, ($1 >= g ? "met" : "NOT met")
	}')"
}

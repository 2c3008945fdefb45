#!/usr/bin/env bash
# Runs the benchmarks and writes tests/bench/results/: one JSON file per
# benchmark, REPORT.md and its PNG plots.
#
#   sudo tests/bench/run-all.sh                 # all of them (half an hour or more)
#   sudo tests/bench/run-all.sh overhead chain  # some of them
#   sudo CM_BUILD=build tests/bench/overhead.sh # one, without the report
#   python3 tests/bench/report.py tests/bench/results  # the report again
#
# CM_BUILD is the build directory (default <repo>/build; configured and
# built when the benchmark tools are missing). Knobs: BENCH_RUNS,
# BENCH_SECONDS, BENCH_REPEAT, BENCH_CPU, BENCH_OUT (see lib.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export CM_SRC=$src
export CM_BUILD=${CM_BUILD:-$src/build}
export BENCH_OUT=${BENCH_OUT:-$here/results}
all="overhead overhead_goal chain slowpath control reload bridge bridge_vlan router packetcapture transparent firewall nat lb"

if ! command -v gnuplot >/dev/null; then
	echo "installing gnuplot-nox for the plots"
	apt-get install -y -q gnuplot-nox >/dev/null || echo "no gnuplot: the report will have no plots" >&2
fi
if [ ! -x "$CM_BUILD/tools/trafficgen/pcn-trafficgen" ] || [ ! -x "$CM_BUILD/tests/bench/pcn-bench-baseline" ]; then
	cmake -S "$src" -B "$CM_BUILD" >/dev/null && make -C "$CM_BUILD" -j"$(nproc)" >/dev/null || exit 1
fi

failed=()
for b in ${@:-$all}; do
	echo "==== $b"
	bash "$here/$b.sh" || failed+=("$b")
done
python3 "$here/report.py" "$BENCH_OUT" || failed+=(report)
if [ ${#failed[@]} -ne 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi

#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/SECURITY.md says what each
# covers).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   fuzz one target or each in turn
#                                            (default all, 60 s each)
#   scripts/fuzz.sh merge [TARGET|all]       minimize the committed corpus
#                                            with what the runs found
#
# Builds build-fuzz with clang first if needed (CUBEMESH_FUZZ=ON; clang and
# libclang-rt-14-dev come with scripts/install-deps.sh). Each run reads the
# committed corpus (tests/fuzz/corpus/<target>, never written) and keeps
# what it finds in a scratch corpus outside the repository
# ($CM_FUZZ_WORK, default /tmp/cubemesh-fuzz/<target>/corpus). Exits 1 on
# a crash, a leak, a timeout or an out-of-memory, naming the input that
# reproduces it: run the target on that file to see it again.
# FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS="-jobs=2 -workers=2").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CM_FUZZ_BUILD:-$root/build-fuzz}
work=${CM_FUZZ_WORK:-/tmp/cubemesh-fuzz}
targets=(fuzz_target fuzz_config fuzz_ipc fuzz_datastore fuzz_slowpath fuzz_pcnctl)

mode=run
if [ "${1:-}" = merge ]; then
	mode=merge
	shift
fi
which=${1:-all}
secs=${2:-60}
if [ "$which" != all ]; then
	case " ${targets[*]} " in
	*" $which "*) targets=("$which") ;;
	*) echo "fuzz.sh: no target $which (one of: ${targets[*]})" >&2; exit 2 ;;
	esac
fi

if ! grep -qs '^CUBEMESH_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
	CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUBEMESH_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target fuzz_all >/dev/null

failed=0 n_ok=0 n_bad=0
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/$t
	seeds=$root/tests/fuzz/corpus/$t
	scratch=$work/$t/corpus
	art=$work/$t/artifacts
	mkdir -p "$seeds" "$scratch" "$art"
	if [ $mode = merge ]; then
		# The smallest set of inputs that keeps all the coverage of both.
		fresh=$work/$t/merged
		rm -rf "$fresh"
		mkdir -p "$fresh"
		"$bin" -merge=1 -rss_limit_mb=2048 "$fresh" "$seeds" "$scratch" >"$work/$t/merge.log" 2>&1
		rm -rf "$seeds"
		mv "$fresh" "$seeds"
		echo "$t: $(find "$seeds" -type f | wc -l) inputs, $(cat "$seeds"/* | wc -c) bytes"
		continue
	fi
	log=$work/$t/run.log
	dict=()
	if [ -f "$root/tests/fuzz/$t.dict" ]; then
		dict=(-dict="$root/tests/fuzz/$t.dict")
	fi
	echo "== $t: ${secs}s (log $log)"
	rc=0
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$art/" "${dict[@]}" ${FUZZ_ARGS:-} "$scratch" "$seeds" >"$log" 2>&1 || rc=$?
	grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec' "$log" | tail -3 || true
	if [ $rc -eq 0 ]; then
		n_ok=$((n_ok + 1))
	else
		failed=1
		n_bad=$((n_bad + 1))
		repro=$(grep -oE "(Test unit written to|artifact_prefix='[^']*'; Test unit written to) [^ ]+" "$log" |
			awk '{print $NF}' | tail -1)
		grep -E 'ERROR: |SUMMARY: |FUZZ-INVARIANT' "$log" | head -5 >&2 || true
		echo "fuzz.sh: $t FAILED (exit $rc); reproducer: ${repro:-see $log}" >&2
		echo "fuzz.sh: reproduce with: $bin ${repro:-<input>}" >&2
	fi
done
# The closing line a CI reader counts: targets run without a crash.
[ "$mode" = merge ] || echo "fuzz: $n_ok passed, $n_bad failed"
exit $failed

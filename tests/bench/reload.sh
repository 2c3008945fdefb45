#!/usr/bin/env bash
# Reload (paper §X-B: 250-900 ms to compile, ~1 ms to inject, no loss when
# reloading every 10 ms): time to reload a micro-cube from an object and
# from C source, and loss under a reload every 10 ms. Measured once the
# runtime has pcn_reload (issue 3); until then it says so.
source "$(dirname "$0")/lib.sh"
bench_begin reload
if grep -qs 'pcn_reload' "$CM_SRC/cube-runtime/pcn_cube.h"; then
	bench_not_measured "reload" "pcn_reload exists in cube-runtime, but no cube exposes it over REST yet and this benchmark cannot drive it"
else
	bench_not_measured "reload" "the runtime has no pcn_reload yet (issue 3)"
fi
# What a reload would have to beat, measured here: compiling a cube's fast
# path with clang, as a run-time reload from source would.
src=$CM_SRC/cubes/helloworld/helloworld.bpf.c
for r in $(seq 1 "$BENCH_RUNS"); do
	t0=$(date +%s%N)
	clang -O2 -g -target bpf -D__BPF__ -DPCN_HOOK_XDP -I"$CM_SRC/bpf" -I/usr/include/x86_64-linux-gnu \
		-c "$src" -o "$CM_TMP/reload.o" || exit 1
	t1=$(date +%s%N)
	bench_record "clang: compile helloworld.bpf.c" "XDP" ms "$(( (t1 - t0) / 1000000 ))"
done
bench_finish
cm_done

#!/usr/bin/env bash
# Reload (paper §X-B: 250-900 ms to compile, ~1 ms to inject; no loss when
# reloading every 10 ms), with the reloadtest cube (tests/reload: an entry
# program and one ingress micro-cube, reloaded whole by pcn_reload_all on a
# timer, from its object or from its C source through clang):
# - time per reload: the timer asks every 1 ms and a reload runs on the
#   cube's serving thread, so reloads follow each other back to back; the
#   time of one is the window divided by the reloads done in it;
# - loss: frames at a fixed rate through the cube, with no reload and with a
#   reload every 10 ms (offered - delivered, counted by the sink).
source "$(dirname "$0")/lib.sh"
bench_begin reload

rt_bin=$CM_BUILD/tests/reload/pcn-reloadtest
if ! grep -qs 'pcn_reload' "$CM_SRC/cube-runtime/pcn_cube.h" || [ ! -x "$rt_bin" ]; then
	bench_not_measured "reload" "the runtime has no pcn_reload, or the reloadtest cube is not built"
	bench_finish
	cm_done
	exit
fi
cm_broker_start
"$rt_bin" --socket-dir "$CM_SOCK" --log-level "$CM_LOG_LEVEL" >>"$CM_TMP/reloadtest.log" 2>&1 &
CM_PIDS+=("$!")
cm_wait_service_up reloadtest
bench_topology

hooks=${BENCH_HOOKS:-TC XDP_SKB}
[ "$BENCH_QUICK" = 1 ] && hooks=${BENCH_HOOKS:-TC}
rate=${BENCH_RELOAD_RATE:-100000}
window=$BENCH_SECONDS

reloads() {
	curl -s "${PCN_URL}reloadtest/rt1/stats/" | python3 -c "import json,sys; print(int(json.load(sys.stdin)['reloads']))"
}

for hook in $hooks; do
	$PCNCTL reloadtest add rt1 type="$hook" >/dev/null &&
		$PCNCTL rt1 ports add p0 peer="$IFA" >/dev/null &&
		$PCNCTL rt1 ports add p1 peer="$IFB" >/dev/null ||
		{ echo "reloadtest did not start" >&2; exit 1; }
	for from in OBJECT SOURCE; do
		for r in $(seq 1 "$BENCH_RUNS"); do
			r0=$(reloads)
			t0=$(date +%s%N)
			$PCNCTL rt1 set reload-from=$from reload-period-ms=1 >/dev/null
			sleep "$window"
			$PCNCTL rt1 set reload-period-ms=0 >/dev/null
			t1=$(date +%s%N)
			n=$(( $(reloads) - r0 ))
			[ "$n" -gt 0 ] && bench_record "$hook: time per reload" "from $from" ms \
				"$(awk -v t=$((t1 - t0)) -v n="$n" 'BEGIN { printf "%.2f", t / n / 1e6 }')"
		done
	done
	for period in 0 10; do
		$PCNCTL rt1 set reload-from=OBJECT reload-period-ms=$period >/dev/null
		for r in $(seq 1 "$BENCH_RUNS"); do
			out=$("$TG" gen --src-ns "$(cm_ns a)" --dst-ns "$(cm_ns b)" --duration "$window" \
				--cpu "$BENCH_CPU" --rate "$rate" | head -n 1) || exit 1
			sent=$(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
			got=$(echo "$out" | sed -n 's/.*delivered=\([0-9]*\).*/\1/p')
			lost=$((sent > got ? sent - got : 0))
			x=$([ "$period" = 0 ] && echo "no reload" || echo "reload every ${period} ms")
			bench_record "$hook: frames lost at $((rate / 1000)) kpps" "$x" frames "$lost"
			bench_record "$hook: frames sent" "$x" frames "$sent"
		done
	done
	$PCNCTL rt1 set reload-period-ms=0 >/dev/null
	$PCNCTL rt1 del >/dev/null
done

# The compile step alone, outside the cube, for comparison with the paper.
src=$CM_SRC/cubes/helloworld/helloworld.bpf.c
for r in $(seq 1 "$BENCH_RUNS"); do
	t0=$(date +%s%N)
	clang -O2 -g -target bpf -D__BPF__ -DPCN_HOOK_XDP -I"$CM_SRC/bpf" -I/usr/include/x86_64-linux-gnu \
		-c "$src" -o "$CM_TMP/reload.o" || exit 1
	t1=$(date +%s%N)
	bench_record "clang alone: helloworld.bpf.c" "XDP" ms "$(( (t1 - t0) / 1000000 ))"
done
bench_note "time per reload is an upper bound: it includes the 1 ms timer period and two pcnctl calls per window; from SOURCE it includes clang, from OBJECT it is load + verify + swap of both programs (entry and micro-cube)"
bench_finish
cm_done

#!/usr/bin/env bash
# Control plane: REST reads and committed writes per second with wrk
# (2 threads, 50 connections), with p50/p99 latency, against GET /version
# (the broker alone: the HTTP baseline) in the same run: GET of an instance
# (state cached <= 100 ms), PATCH of one instance and of 50 (group commit); time to create 1,
# 10, 100, 1000 helloworld instances one request at a time; broker and
# cube process memory with 1000 instances (PatchPanel: PCN_MAX_CUBES 1024).
source "$(dirname "$0")/lib.sh"
bench_begin control
cm_mesh_start helloworld

counts=${BENCH_COUNTS:-1 10 100 1000}
[ "$BENCH_QUICK" = 1 ] && counts=${BENCH_COUNTS:-1 10}
wrk_s=$(awk -v s="$BENCH_SECONDS" 'BEGIN { d = int(s + 0.5); print (d < 1) ? 1 : d }')

# to_ms VALUE-WITH-UNIT (wrk prints 812.00us, 1.23ms, 1.01s)
to_ms() {
	awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0;
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
		printf "%.3f", n }'
}

# wrk_run SERIES URL [wrk args]: requests/s, p50 and p99 in ms.
wrk_run() {
	local series=$1 url=$2 r out non2xx
	shift 2
	for r in $(seq 1 "$BENCH_RUNS"); do
		out=$(wrk -t2 -c50 -d"${wrk_s}s" --latency "$@" "$url" 2>&1) || { echo "$out" >&2; return 1; }
		bench_record "$series" "requests/s" "req/s" "$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')"
		bench_record "$series" "p50" ms "$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")"
		bench_record "$series" "p99" ms "$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")"
		non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
		[ -n "$non2xx" ] && bench_note "$series: $non2xx answers were not 2xx in run $r"
	done
	return 0
}

cm_check "create hw1" $PCNCTL helloworld add hw1 action=FORWARD
wrk_run "GET /version (broker only)" "${PCN_URL}version"
# The instance's state comes from the cube at most 100 ms old (one fetch
# shared by the reads meanwhile): the figure is the broker's own work.
wrk_run "GET instance (read)" "${PCN_URL}helloworld/hw1/"
# Committed writes: each answered once durable, the writes that arrive
# during an fsync sharing the next one (group commit).
wrk_run "PATCH action (committed write)" "${PCN_URL}helloworld/hw1/action/" -s "$BENCH_DIR/patch.lua"
for i in $(seq 1 50); do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary '{}' "${PCN_URL}helloworld/hwm$i/"
done
wrk_run "PATCH action, 50 instances (committed write)" "${PCN_URL}helloworld/" -s "$BENCH_DIR/patch_many.lua"
cm_check "hw1 still answers after the writes" bash -c "$PCNCTL hw1 show >/dev/null"
$PCNCTL hw1 del >/dev/null
for i in $(seq 1 50); do curl -s -o /dev/null -X DELETE "${PCN_URL}helloworld/hwm$i/"; done

rss() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
bench_record "broker RSS" 0 MiB "$(rss "$CM_BROKER_PID")"
bench_record "pcn-helloworld RSS" 0 MiB "$(rss "${CM_CUBE_PID[helloworld]}")"

for n in $counts; do
	for r in $(seq 1 "$BENCH_RUNS"); do
		out=$(python3 "$BENCH_DIR/instances.py" "$PCN_URL" "i" "$n") || { echo "$out" >&2; exit 1; }
		c=$(echo "$out" | sed -n 's/.*create_s=\([0-9.]*\).*/\1/p')
		d=$(echo "$out" | sed -n 's/.*delete_s=\([0-9.]*\).*/\1/p')
		bench_record "create N instances" "$n" s "$c"
		bench_record "create, per instance" "$n" ms "$(awk -v c="$c" -v n="$n" 'BEGIN { printf "%.3f", c / n * 1000 }')"
		bench_record "delete N instances" "$n" s "$d"
	done
done

# Memory with the largest count alive: create, measure, delete.
n=${counts##* }
coproc HOLDER { HOLD=1 python3 "$BENCH_DIR/instances.py" "$PCN_URL" "m" "$n"; }
read -r line <&"${HOLDER[0]}"
echo "$line" | grep -q 'failed=0' || bench_note "memory run: some creations failed ($line)"
bench_record "broker RSS" "$n" MiB "$(rss "$CM_BROKER_PID")"
bench_record "pcn-helloworld RSS" "$n" MiB "$(rss "${CM_CUBE_PID[helloworld]}")"
echo >&"${HOLDER[1]}"
wait "$HOLDER_PID"
bench_note "instances have no ports (nothing attached); creation is sequential on one keep-alive connection"
bench_finish
cm_done

#!/usr/bin/env bash
# Chain overhead (paper Fig. 10): a -> N cubes -> b against a -> N plain
# tail calls, with the next slot read from a map (as pcn_pkt_send does) or
# a load-time constant (the JIT emits a direct jump). ns per packet through
# BPF_PROG_TEST_RUN from the entry program (netdev input program / baseline
# entry), and Mpps with the generator; ns per hop is the slope.
source "$(dirname "$0")/lib.sh"
bench_begin chain
cm_mesh_start helloworld
bench_topology

hooks=${BENCH_HOOKS:-XDP_DRV TC}
lengths=${BENCH_LENGTHS:-1 2 3 4 5 6 7 8}
# memconst: the map key's reads and per-CPU write, then the const key's
# direct jump; it tells what the indirect jump itself costs.
keys=${BENCH_KEYS:-map memconst const}
if [ "$BENCH_QUICK" = 1 ]; then
	hooks=${BENCH_HOOKS:-XDP_DRV}
	lengths=${BENCH_LENGTHS:-1 2}
	keys=${BENCH_KEYS:-map const}
fi

# a -- c1 -- ... -- cN -- b, helloworld cubes forwarding port in <-> out.
build_chain() {
	local n=$1 hook=$2 i
	for i in $(seq 1 "$n"); do
		$PCNCTL helloworld add "c$i" type="$hook" action=FORWARD >/dev/null &&
			$PCNCTL "c$i" ports add in >/dev/null && $PCNCTL "c$i" ports add out >/dev/null ||
			return 1
	done
	for i in $(seq 1 $((n - 1))); do
		$PCNCTL connect "c$i:out" "c$((i + 1)):in" >/dev/null || return 1
	done
	$PCNCTL connect c1:in "$IFA" >/dev/null && $PCNCTL connect "c$n:out" "$IFB" >/dev/null
}

delete_chain() {
	local i
	for i in $(seq 1 "$1"); do $PCNCTL "c$i" del >/dev/null; done
}

# slope SERIES HOOK: ns per hop between the shortest and longest chain.
slope() {
	local first last a b
	first=${lengths%% *}
	last=${lengths##* }
	a=$(bench_median "$1" "$first" ns)
	b=$(bench_median "$1" "$last" ns)
	[ -n "$a" ] && [ -n "$b" ] && [ "$last" != "$first" ] || return 0
	awk -v a="$a" -v b="$b" -v f="$first" -v l="$last" 'BEGIN { printf "%.1f", (b - a) / (l - f) }'
}

for hook in $hooks; do
	for n in $lengths; do
		echo "# $hook, $n"
		build_chain "$n" "$hook" || { echo "chain of $n did not build" >&2; exit 1; }
		bench_settle
		bench_ns "$hook cubes" "$n" "$(bench_netdev_pin "$hook")"
		bench_gen "$hook cubes" "$n"
		delete_chain "$n"
		for key in $keys; do
			bl_attach "$hook" "$n" "$key" || { echo "baseline chain did not load" >&2; exit 1; }
			bench_ns "$hook tail calls, $key key" "$n" "$BL_PIN/entry"
			bench_gen "$hook tail calls, $key key" "$n"
			bl_detach
		done
	done
	for s in "$hook cubes" "$hook tail calls, map key" "$hook tail calls, memconst key" "$hook tail calls, const key"; do
		v=$(slope "$s")
		[ -n "$v" ] && bench_note "$s: $v ns per hop (slope of ns/packet, ${lengths%% *} to ${lengths##* } hops)"
		# Below and above 4 hops apart: where the map key's hop grows.
		a=$(bench_median "$s" 1 ns) b=$(bench_median "$s" 4 ns) c=$(bench_median "$s" 8 ns)
		[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] &&
			bench_note "$s: $(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "%.1f ns per hop from 1 to 4 hops, %.1f from 4 to 8", (b - a) / 3, (c - b) / 4 }')"
	done
done

# Micro-cubes: the ucchain benchmark cube (tests/bench/ucchain) runs its
# entry program, then `length` ingress micro-cubes (at most 8, the slots
# 1..8 of a micro-cube array: slot 0 is the entry's), the last of which
# forwards. Its x is the number of micro-cubes: one cube plus x
# micro-cube jumps.
uc_bin=$CM_BUILD/tests/bench/pcn-ucchain
uc_lengths=${BENCH_UC_LENGTHS:-1 2 4 8}
[ "$BENCH_QUICK" = 1 ] && uc_lengths=${BENCH_UC_LENGTHS:-1 2}
if [ -x "$uc_bin" ]; then
	"$uc_bin" --socket-dir "$CM_SOCK" --log-level "$CM_LOG_LEVEL" >>"$CM_TMP/ucchain.log" 2>&1 &
	CM_PIDS+=("$!")
	cm_wait_service_up ucchain || exit 1
	for hook in $hooks; do
		for n in $uc_lengths; do
			echo "# $hook, 1 cube + $n micro-cubes"
			$PCNCTL ucchain add uc1 type="$hook" length="$n" >/dev/null &&
				$PCNCTL uc1 ports add p0 peer="$IFA" >/dev/null &&
				$PCNCTL uc1 ports add p1 peer="$IFB" >/dev/null ||
				{ echo "ucchain did not start" >&2; exit 1; }
			bench_ns "$hook 1 cube + N micro-cubes" "$n" "$(bench_netdev_pin "$hook")"
			bench_gen "$hook 1 cube + N micro-cubes" "$n"
			$PCNCTL uc1 del >/dev/null
		done
		first=${uc_lengths%% *}
		last=${uc_lengths##* }
		a=$(bench_median "$hook 1 cube + N micro-cubes" "$first" ns)
		b=$(bench_median "$hook 1 cube + N micro-cubes" "$last" ns)
		[ -n "$a" ] && [ -n "$b" ] && [ "$first" != "$last" ] &&
			bench_note "$hook micro-cubes: $(awk -v a="$a" -v b="$b" -v f="$first" -v l="$last" 'BEGIN { printf "%.1f", (b - a) / (l - f) }') ns per micro-cube (slope, $first to $last)"
	done
else
	bench_not_measured "micro-cubes" "the ucchain benchmark cube is not built"
fi
bench_note "hops: the framework's count one netdev input program + N cubes (N tail calls); the baselines an entry program + N hops (N tail calls, the last one redirects)"
bench_finish
cm_done

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
lengths=${BENCH_LENGTHS:-1 2 4 8}
if [ "$BENCH_QUICK" = 1 ]; then
	hooks=${BENCH_HOOKS:-XDP_DRV}
	lengths=${BENCH_LENGTHS:-1 2}
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
		bench_ns "$hook cubes" "$n" "$(bench_netdev_pin "$hook")"
		bench_gen "$hook cubes" "$n"
		delete_chain "$n"
		for key in map const; do
			bl_attach "$hook" "$n" "$key" || { echo "baseline chain did not load" >&2; exit 1; }
			bench_ns "$hook tail calls, $key key" "$n" "$BL_PIN/entry"
			bench_gen "$hook tail calls, $key key" "$n"
			bl_detach
		done
	done
	for s in "$hook cubes" "$hook tail calls, map key" "$hook tail calls, const key"; do
		v=$(slope "$s")
		[ -n "$v" ] && bench_note "$s: $v ns per hop (slope of ns/packet, ${lengths%% *} to ${lengths##* } hops)"
	done
done

# Micro-cubes: the only cube with any is reloadtest (tests/reload): its
# entry program calls one ingress micro-cube. Measured as one cube with one
# micro-cube, next to one helloworld cube.
rt_bin=$CM_BUILD/tests/reload/pcn-reloadtest
if [ -x "$rt_bin" ]; then
	"$rt_bin" --socket-dir "$CM_SOCK" --log-level "$CM_LOG_LEVEL" >>"$CM_TMP/reloadtest.log" 2>&1 &
	CM_PIDS+=("$!")
	cm_wait_service_up reloadtest || exit 1
	for hook in $hooks; do
		$PCNCTL reloadtest add rt1 type="$hook" >/dev/null &&
			$PCNCTL rt1 ports add p0 peer="$IFA" >/dev/null &&
			$PCNCTL rt1 ports add p1 peer="$IFB" >/dev/null ||
			{ echo "reloadtest did not start" >&2; exit 1; }
		bench_ns "$hook 1 cube + 1 micro-cube (reloadtest)" 1 "$(bench_netdev_pin "$hook")"
		bench_gen "$hook 1 cube + 1 micro-cube (reloadtest)" 1
		$PCNCTL rt1 del >/dev/null
	done
	bench_not_measured "2 to 8 micro-cubes in one cube" "no cube has more than one micro-cube yet (reloadtest has one)"
else
	bench_not_measured "micro-cubes" "no cube with micro-cubes is built (tests/reload/pcn-reloadtest)"
fi
bench_note "hops: the framework's count one netdev input program + N cubes (N tail calls); the baselines an entry program + N hops (N tail calls, the last one redirects)"
bench_finish
cm_done

#!/usr/bin/env bash
# supervise.sh BUILD_DIR [pcn-broker options]
#
# Starts pcn-broker and every cube process found in BUILD_DIR/cubes, restarts
# any of them that dies (after a second, so a crash loop does not spin), and
# stops them all on Ctrl-C or SIGTERM. The data plane is not stopped: the
# programs, maps and netdev attachments stay in the kernel and keep
# forwarding; the next run takes them over. `pcn-broker --flush` (after
# deleting the instances) removes them.
set -uo pipefail
build=${1:?usage: supervise.sh BUILD_DIR [pcn-broker options]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
sock_dir=/run/cubemesh
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[$i]} in
	--socket-dir) sock_dir=${args[$((i + 1))]} ;;
	--socket-dir=*) sock_dir=${args[$i]#*=} ;;
	esac
done

pids=()
stopping=0

# keep NAME CMD...: runs CMD, again each time it exits, until we stop.
keep() {
	local name=$1
	shift
	(
		trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
		while :; do
			"$@" &
			child=$!
			wait "$child"
			rc=$?
			echo "supervise: $name exited ($rc); restarting in 1 s" >&2
			sleep 1
		done
	) &
	pids+=($!)
}

stop() {
	[ "$stopping" = 1 ] && return
	stopping=1
	echo "supervise: stopping the mesh; the data plane keeps forwarding" >&2
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait
	exit 0
}
trap stop INT TERM

keep pcn-broker "$build/broker/pcn-broker" --yang-dir "$root/yang" "${args[@]}"
# One process per cube type: cubes/<name>/pcn-<name> (other builds there,
# such as helloworld's upgrade variants, are not the cube's main binary).
for dir in "$build"/cubes/*/; do
	dir=${dir%/}
	bin=$dir/pcn-$(basename "$dir")
	[ -x "$bin" ] || continue
	keep "$(basename "$bin")" "$bin" --socket-dir "$sock_dir"
done
echo "supervise: mesh started (${#pids[@]} processes); Ctrl-C stops it" >&2
wait

# Shared runner for the integration tests: a private mesh (its own HTTP
# port, sockets, state and bpffs root) and test hosts in network namespaces.
# Everything it makes carries a unique suffix and is removed on exit, even
# when the test fails, so two runs in a row (or side by side) do not collide.
#
# Use: source it, then cm_mesh_start; cm_host NAME IP; ... ; cm_pass/cm_fail.
# Needs CM_BUILD (the build directory); set by ctest.

set -u
CM_BUILD=${CM_BUILD:?CM_BUILD must name the build directory}
CM_ID=${CM_ID:-$(( $$ % 100000 ))}
CM_TMP=$(mktemp -d /tmp/cubemesh-test.XXXXXX)
# A TCP port no socket uses (meshes of other runs may be up on this
# machine), below the kernel's ephemeral range: a port in it may be taken by
# any client connection's local end between this check and the bind.
cm_free_port() {
	local lo _hi p
	read -r lo _hi </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 12000 ] || lo=32768
	for p in $(shuf -i 10000-$((lo - 1)) -n 64); do
		[ -z "$(ss -Hatn "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return; }
	done
	echo $(( 10000 + ($$ % (lo - 10000)) ))
}
CM_PORT=${CM_PORT:-$(cm_free_port)}
CM_BPFFS=/sys/fs/bpf/cmtest$CM_ID
CM_SOCK=$CM_TMP/run
CM_STATE=$CM_TMP/state
export PCN_URL="http://127.0.0.1:$CM_PORT/polycube/v1/"
CM_PIDS=()
CM_NETNS=()
CM_LINKS=()
CM_FAILS=0
CM_CHECKS=0
CM_BROKER_PID=
CM_STOPPED=
declare -A CM_CUBE_PID

PCNCTL=$CM_BUILD/pcnctl/pcnctl
BROKER=$CM_BUILD/broker/pcn-broker

cm_log() { echo "[$(date +%T)] $*"; }

cm_cleanup() {
	local rc=$?
	set +e
	# A stopped process keeps the SIGTERM below pending forever.
	[ -n "$CM_STOPPED" ] && kill -CONT "$CM_STOPPED" 2>/dev/null
	for p in "${CM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# A process that ignores SIGTERM must not hang the cleanup: 5 s, then KILL.
	for _ in $(seq 1 50); do
		local alive=0
		for p in "${CM_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${CM_PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			echo "cleanup: pid $p ignored SIGTERM; killing it" >&2
			kill -9 "$p" 2>/dev/null
		fi
	done
	for p in "${CM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for l in "${CM_LINKS[@]}"; do ip link del "$l" 2>/dev/null; done
	for n in "${CM_NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
	if [ -x "$BROKER" ]; then
		"$BROKER" --flush --bpffs-root "$CM_BPFFS" --state-dir "$CM_STATE" --log-level WARN 2>/dev/null
	fi
	rm -rf "$CM_BPFFS" 2>/dev/null
	if [ "$rc" -ne 0 ] || [ "$CM_FAILS" -ne 0 ]; then
		for f in "$CM_TMP"/*.log; do
			[ -f "$f" ] || continue
			# A sanitizer's report is longer than the tail: print its
			# head (the faulting access and the stacks) in full.
			if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f"; then
				echo "---- sanitizer report in $(basename "$f")"
				grep -m1 -A70 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f"
			fi
			echo "---- tail of $(basename "$f")"
			tail -n 30 "$f"
		done
	fi
	rm -rf "$CM_TMP"
}
trap cm_cleanup EXIT
trap 'exit 130' INT TERM

cm_wait_http() {
	for _ in $(seq 1 100); do
		curl -fs -o /dev/null "${PCN_URL}version" && return 0
		sleep 0.1
	done
	echo "the broker did not answer on $PCN_URL" >&2
	return 1
}

# CM_BROKER_ARGS: options every start of the broker in the script gets
# (e.g. --tc-attach clsact to test the path of kernels without tcx).
cm_broker_start() {
	"$BROKER" --http "127.0.0.1:$CM_PORT" --socket-dir "$CM_SOCK" --state-dir "$CM_STATE" \
		--bpffs-root "$CM_BPFFS" --yang-dir "${CM_SRC:-$(dirname "${BASH_SOURCE[0]}")/../..}/yang" \
		--log-level "${CM_LOG_LEVEL:-INFO}" ${CM_BROKER_ARGS:-} "$@" >>"$CM_TMP/broker.log" 2>&1 &
	CM_BROKER_PID=$!
	CM_PIDS+=("$CM_BROKER_PID")
	cm_wait_http
}

# cm_cube_start SERVICE [BINARY]: starts pcn-SERVICE (or BINARY, e.g. a
# test-only cube under tests/) and waits until it is up.
cm_cube_start() {
	local svc=$1 bin=${2:-$CM_BUILD/cubes/$1/pcn-$1}
	"$bin" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" >>"$CM_TMP/$svc.log" 2>&1 &
	CM_CUBE_PID[$svc]=$!
	CM_PIDS+=("$!")
	cm_wait_service_up "$svc"
}

cm_wait_service_up() {
	for _ in $(seq 1 100); do
		curl -fs "${PCN_URL}services/$1" 2>/dev/null | grep -q '"state": "running"' && return 0
		sleep 0.1
	done
	echo "service $1 did not come up" >&2
	return 1
}

# cm_wait_version SERVICE VERSION: until SERVICE runs VERSION (10 s at most).
cm_wait_version() {
	for _ in $(seq 1 100); do
		curl -s "${PCN_URL}services/$1" | grep -q "\"version\": \"$2\"" &&
			curl -s "${PCN_URL}services/$1" | grep -q '"state": "running"' && return 0
		sleep 0.1
	done
	return 1
}

# cm_stop PID / cm_cont PID: SIGSTOP and SIGCONT a process (one at a time);
# the cleanup resumes one left stopped, so that it can end it.
cm_stop() { kill -STOP "$1"; CM_STOPPED=$1; }
cm_cont() { kill -CONT "$1"; CM_STOPPED=; }

cm_mesh_start() {
	cm_broker_start
	for svc in "$@"; do cm_cube_start "$svc"; done
}

# cm_host NAME IP/PREFIX: a namespace cmNAME<id> with a veth whose host side
# is named NAME<id> (returned in CM_IF) and whose inside end has IP.
cm_host() {
	local name=$1 ip=$2 ns="cm$1$CM_ID" hostif="$1$CM_ID"
	ip netns add "$ns"
	CM_NETNS+=("$ns")
	ip link add "$hostif" type veth peer name eth0 netns "$ns"
	CM_LINKS+=("$hostif")
	ip -n "$ns" addr add "$ip" dev eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip link set "$hostif" up
	# Native XDP redirect into a veth drops silently unless the far end has
	# GRO on (docs/KERNEL.md): turn it on inside the namespace.
	ip netns exec "$ns" ethtool -K eth0 gro on >/dev/null 2>&1 || true
	CM_IF=$hostif
}

cm_ns() { echo "cm$1$CM_ID"; }

# cm_neigh_static A B: A and B (made by cm_host) know each other's MAC for
# good. Tests that drop one direction for a while need it: a neighbour entry
# left unconfirmed goes stale, its ARP probes are dropped too, and the host
# then queues its packets behind ARP instead of sending them.
cm_neigh_static() {
	local a b mac ip
	for a in "$1" "$2"; do
		b=$([ "$a" = "$1" ] && echo "$2" || echo "$1")
		mac=$(ip -n "$(cm_ns "$b")" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
		ip=$(ip -n "$(cm_ns "$b")" -4 -j addr show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["addr_info"][0]["local"])')
		ip -n "$(cm_ns "$a")" neigh replace "$ip" lladdr "$mac" dev eth0 nud permanent
	done
}

# cm_ping FROM_HOST IP [COUNT]: 0 when every ping is answered.
cm_ping() {
	ip netns exec "$(cm_ns "$1")" ping -c "${3:-3}" -i 0.2 -W 1 -q "$2" >/dev/null 2>&1
}

cm_check() {
	local what=$1
	shift
	CM_CHECKS=$((CM_CHECKS + 1))
	if "$@"; then
		echo "ok - $what"
	else
		echo "FAIL - $what"
		CM_FAILS=$((CM_FAILS + 1))
	fi
}

# cm_eventually CMD...: CMD succeeds within 1 s. An instance's live state
# (counters, learned tables) read through the API may be up to 100 ms old
# (the broker caches it), so a check of what traffic just did polls.
cm_eventually() {
	local _i
	for _i in $(seq 1 20); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

cm_check_not() {
	local what=$1
	shift
	CM_CHECKS=$((CM_CHECKS + 1))
	if ! "$@"; then
		echo "ok - $what"
	else
		echo "FAIL - $what"
		CM_FAILS=$((CM_FAILS + 1))
	fi
}

# cm_http METHOD PATH [BODY]: prints "STATUS BODY".
cm_http() {
	local m=$1 p=$2 b=${3-}
	if [ -n "$b" ]; then
		curl -s -o "$CM_TMP/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
			--data-binary "$b" "${PCN_URL%/}$p"
	else
		curl -s -o "$CM_TMP/body" -w '%{http_code}' -X "$m" "${PCN_URL%/}$p"
	fi
	echo -n " "
	cat "$CM_TMP/body"
}

# cm_expect STATUS METHOD PATH [BODY] [TEXT]: one check that the request
# gets STATUS, that an error (>= 400) carries a RESTCONF error body (the
# grep pattern CM_EXPECT_ERRBODY, '"error-message"' unless set) and, when
# TEXT is given, that the body holds TEXT (any case).
cm_expect() {
	local want=$1 m=$2 p=$3 body=${4-} text=${5-} got
	got=$(cm_http "$m" "$p" "$body")
	local status=${got%% *} rest=${got#* }
	CM_CHECKS=$((CM_CHECKS + 1))
	if [ "$status" != "$want" ]; then
		echo "FAIL - $m $p $body: status $status, want $want: $rest"
		CM_FAILS=$((CM_FAILS + 1))
	elif [ "$want" -ge 400 ] && ! grep -q "${CM_EXPECT_ERRBODY:-\"error-message\"}" <<<"$rest"; then
		echo "FAIL - $m $p: no RESTCONF error body: $rest"
		CM_FAILS=$((CM_FAILS + 1))
	elif [ -n "$text" ] && ! grep -qi -- "$text" <<<"$rest"; then
		echo "FAIL - $m $p: message lacks '$text': $rest"
		CM_FAILS=$((CM_FAILS + 1))
	else
		echo "ok - $want for $m $p $body"
	fi
}

# cm_http10_nohost [HEADER]...: sends GET /polycube/v1/version as HTTP/1.0
# with no Host (curl always adds one) and with the given header lines,
# straight to 127.0.0.1:$CM_PORT; prints the reply's status line.
cm_http10_nohost() {
	python3 - "$CM_PORT" "$@" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /polycube/v1/version HTTP/1.0\r\n" + b"".join(h.encode() + b"\r\n" for h in sys.argv[2:]) + b"\r\n")
print(s.recv(64).split(b"\r\n")[0].decode())
EOF
}

cm_done() {
	echo "$((CM_CHECKS - CM_FAILS)) passed, $CM_FAILS failed"
	[ "$CM_FAILS" -eq 0 ]
}

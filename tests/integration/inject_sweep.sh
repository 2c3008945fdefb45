#!/usr/bin/env bash
# At start the broker deletes the injector veth pairs an earlier broker of
# its mesh left behind (pcnj<pid>a, alias = its bpffs root) and makes its
# own. Any process with CAP_NET_ADMIN on the host (every cube container has
# it) can make a netdev whose name holds shell syntax and give it that
# alias: the broker must not run it, nor delete it.
# The broker runs with an empty PATH: it needs no `ip`, `sysctl` or shell to
# sweep, to make its pair, or to inject into a TC instance through it.
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$(dirname "$0")/../lib/mesh.sh"

mkdir -p "$CM_TMP/nobin"
printf '#!/bin/sh\nPATH=%s/nobin exec %s "$@"\n' "$CM_TMP" "$BROKER" >"$CM_TMP/broker-nopath"
chmod +x "$CM_TMP/broker-nopath"
BROKER=$CM_TMP/broker-nopath

# The name runs `>Q<n>` in the broker's working directory: this test's own.
cd "$CM_TMP" || exit 1
mark=$CM_TMP/Q$((RANDOM % 10))
name="pcnj;>$(basename "$mark");a"
CM_LINKS+=("$name")
cm_check "a netdev named '$name' exists" ip link add "$name" type veth peer name "pcnjp$CM_ID"
cm_check "with the mesh's alias" ip link set dev "$name" alias "$CM_BPFFS"
# A pair an earlier broker of this mesh left (the name veth_setup makes).
STALE=$(printf "pcnj8%05da" "$CM_ID")
CM_LINKS+=("$STALE")
cm_check "a stale injector pair $STALE" ip link add "$STALE" type veth peer name "${STALE%a}b"
cm_check "with the mesh's alias" ip link set dev "$STALE" alias "$CM_BPFFS"

cm_broker_start
cm_check "the broker is up" curl -fs -o /dev/null "${PCN_URL}version"
cm_check_not "the broker did not run the name (it would have made $mark)" test -e "$mark"
cm_check "the netdev is still there (not ours to delete)" bash -c "ip link show dev \"\$1\" >/dev/null" - "$name"
cm_check_not "the stale pair is gone" bash -c "ip link show dev $STALE >/dev/null 2>&1"
cm_check "and the broker says so" grep -q "BROKER-INJECT-SWEEP.*deleted $STALE" "$CM_TMP/broker.log"

OWN=pcnj${CM_BROKER_PID}a
cm_check "the broker made its pair $OWN, up, named by the mesh" \
	bash -c "ip link show dev $OWN 2>/dev/null | grep -q ',UP' && [ \"\$(cat /sys/class/net/$OWN/ifalias)\" = '$CM_BPFFS' ]"
cm_check "with IPv6 off on both ends" \
	bash -c "[ \"\$(cat /proc/sys/net/ipv6/conf/$OWN/disable_ipv6 /proc/sys/net/ipv6/conf/${OWN%a}b/disable_ipv6)\" = \"1
1\" ]"
cm_check "and the TC injector on the far end's ingress" \
	bash -c "tc filter show dev ${OWN%a}b ingress 2>/dev/null | grep -q pcn_inject"
cm_check_not "no warning about the pair" grep -q "BROKER-INJECT-VETH" "$CM_TMP/broker.log"

# A packet out of the slow path into a TC instance goes through the pair:
# host a -> sp1:pa -> slow path -> into sp1:pi -> out of pb -> host b.
"$CM_BUILD/tests/slowpath/pcn-sptest" --socket-dir "$CM_SOCK" --log-level "${CM_LOG_LEVEL:-INFO}" \
	>>"$CM_TMP/sptest.log" 2>&1 &
CM_PIDS+=("$!")
cm_wait_service_up sptest
cm_host a 10.207.0.1/24; IFA=$CM_IF
cm_host b 10.207.0.2/24; IFB=$CM_IF
NSA=$(cm_ns a); NSB=$(cm_ns b)
ip -n "$NSA" neigh replace 10.207.0.2 dev eth0 lladdr "$(ip -n "$NSB" link show eth0 | awk '/ether/ {print $2}')"
cm_check "a TC instance whose slow path sends into its port pi" bash -c "$PCNCTL sptest add sp1 type=TC && \
	$PCNCTL sp1 ports add pa peer=$IFA && $PCNCTL sp1 ports add pb peer=$IFB && $PCNCTL sp1 ports add pi && \
	$PCNCTL sp1 set up-port=pa fwd-port=pb out-port=pi out-direction=INGRESS"
ip netns exec "$NSB" timeout 6 tcpdump -i eth0 -n -c 3 -l "udp dst port 40100" >"$CM_TMP/cap" 2>/dev/null &
tp=$!
sleep 1 # tcpdump is listening
for _ in 1 2 3; do
	ip netns exec "$NSA" bash -c "echo inject >/dev/udp/10.207.0.2/40100"
	sleep 0.1
done
wait "$tp"
cm_check "b receives the 3 datagrams a sent, injected through the pair" \
	test "$(grep -c '> 10.207.0.2.40100: UDP' "$CM_TMP/cap")" = 3
cm_done

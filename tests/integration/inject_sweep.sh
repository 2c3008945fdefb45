#!/usr/bin/env bash
# At start the broker deletes the injector veth pairs an earlier broker of
# its mesh left behind (pcnj<pid>a, alias = its bpffs root), with `ip link
# del` in a shell. Any process with CAP_NET_ADMIN on the host (every cube
# container has it) can make a netdev whose name holds shell syntax and give
# it that alias: the broker must not run it.
CM_SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$(dirname "$0")/../lib/mesh.sh"

# The name runs `>Q<n>` in the broker's working directory: this test's own.
cd "$CM_TMP" || exit 1
mark=$CM_TMP/Q$((RANDOM % 10))
name="pcnj;>$(basename "$mark");a"
CM_LINKS+=("$name")
cm_check "a netdev named '$name' exists" ip link add "$name" type veth peer name "pcnjp$CM_ID"
cm_check "with the mesh's alias" ip link set dev "$name" alias "$CM_BPFFS"
cm_broker_start
cm_check "the broker is up" curl -fs -o /dev/null "${PCN_URL}version"
cm_check_not "the broker did not run the name (it would have made $mark)" test -e "$mark"
cm_check "the netdev is still there (not ours to delete)" ip link show dev "$name"
cm_done

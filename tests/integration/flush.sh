#!/usr/bin/env bash
# pcn-broker --flush after a broker was killed: the mesh's pins, datastore and
# injector veth pair are gone; another mesh's pair is left alone. The broker
# runs with an empty PATH (no `ip`, no `rm`, no shell tools): it needs none.
# A symbolic link in the datastore is removed, never followed.
source "$(dirname "$0")/../lib/mesh.sh"

mkdir -p "$CM_TMP/nobin"
printf '#!/bin/sh\nPATH=%s/nobin exec %s "$@"\n' "$CM_TMP" "$BROKER" >"$CM_TMP/broker-nopath"
chmod +x "$CM_TMP/broker-nopath"
BROKER=$CM_TMP/broker-nopath

cm_mesh_start helloworld
cm_host a 10.203.0.1/24; IFA=$CM_IF
cm_check "an instance peered with a netdev" bash -c "$PCNCTL helloworld add hw1 && $PCNCTL hw1 ports add p1 peer=$IFA"

# injector_pairs ROOT: the injector veths whose alias names bpffs root ROOT.
injector_pairs() {
	local f
	for f in /sys/class/net/pcnj*a/ifalias; do
		[ -e "$f" ] && [ "$(cat "$f")" = "$1" ] && basename "$(dirname "$f")"
	done
	return 0
}
cm_check "the broker made its injector pair" bash -c "[ -n \"\$($(declare -f injector_pairs); injector_pairs $CM_BPFFS)\" ]"

# A pair of another mesh (another bpffs root) must survive our flush.
OTHER=$(printf "pcnj9%05da" "$CM_ID")
ip link add "$OTHER" type veth peer name "${OTHER%a}b"
CM_LINKS+=("$OTHER")
ip link set "$OTHER" alias "/sys/fs/bpf/not-this-mesh-$CM_ID"

kill -9 "$CM_BROKER_PID"
wait "$CM_BROKER_PID" 2>/dev/null
kill "${CM_CUBE_PID[helloworld]}"
wait "${CM_CUBE_PID[helloworld]}" 2>/dev/null
cm_check "a killed broker leaves its pair" bash -c "[ -n \"\$($(declare -f injector_pairs); injector_pairs $CM_BPFFS)\" ]"
cm_check "and the instance's pins" test -e "$CM_BPFFS/cubes/helloworld/hw1/prog"
mkdir -p "$CM_TMP/keep/dir" && echo kept >"$CM_TMP/keep/dir/file"
cm_check "a link in the datastore to a directory outside" ln -s "$CM_TMP/keep/dir" "$CM_STATE/instances/link"

cm_check "--flush succeeds" "$BROKER" --flush --bpffs-root "$CM_BPFFS" --state-dir "$CM_STATE" --log-level WARN
cm_check "the pair is gone" bash -c "[ -z \"\$($(declare -f injector_pairs); injector_pairs $CM_BPFFS)\" ]"
cm_check "no pins left" bash -c "[ -z \"\$(find $CM_BPFFS -mindepth 1 ! -type d 2>/dev/null)\" ]"
cm_check "no instance left in the datastore" bash -c "[ -z \"\$(ls -A $CM_STATE/instances 2>/dev/null)\" ]"
cm_check "the other mesh's pair stays" bash -c "ip link show $OTHER >/dev/null"
cm_check "what the datastore's link pointed at stays" test -f "$CM_TMP/keep/dir/file"
cm_check "--flush again (nothing left) succeeds" "$BROKER" --flush --bpffs-root "$CM_BPFFS" --state-dir "$CM_STATE" \
	--log-level WARN
cm_done

#!/usr/bin/env bash
# Deployment on Kubernetes, played by a real pod runtime: the DaemonSet of
# deploy/kubernetes/cubemesh.yaml, its pod template extracted into a Pod
# (pod-from-daemonset.py: podman 4.3 does not play DaemonSets) and run with
# `podman kube play` beside its ConfigMap. The pod comes up with the
# manifest's capabilities (no SYS_ADMIN), the gateway answers, the
# ConfigMap's mesh (a bridge between two netdevs, a transparent cube on the
# first netdev) is applied by the pod's mesh container and forwards between two
# namespaces. Under a counted ping stream: `podman kube down` (the data
# plane keeps forwarding with no process of the mesh left), then a second
# play: the new broker adopts the pinned mesh and the file applies with
# nothing to change; not one ping lost.
#
# The image is the repository's Dockerfile built with docker as
# deploy_compose.sh builds it (same tag, so one build serves both), then
# copied into podman's store when podman lacks it. Installs podman when
# missing. Skipped (77) when CM_SKIP_DOCKER=1, as deploy_compose, or when
# podman cannot be installed or cannot run a container here.
if [ "${CM_SKIP_DOCKER:-0}" = 1 ]; then
	echo "skipped: CM_SKIP_DOCKER=1"
	exit 77
fi
source "$(dirname "$0")/../lib/mesh.sh"
SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
KDIR=$SRC/deploy/kubernetes
TAG=cmtest
POD=cmkube$CM_ID
POD_YAML=$CM_TMP/pod.yaml
DOCKERD_PID=
PLAYED=
PODMAN=(podman)
# podman as root asks for 1M open files, and lowers its own process limit
# to 32k before asking the container for more: on a host whose limits are
# lower (or without CAP_SYS_RESOURCE) runc refuses. Ask for what this shell
# has. cgroupfs and file events: no systemd needed.
export CONTAINERS_CONF=$CM_TMP/containers.conf
nproc=$(ulimit -Hu)
{ [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF

kube_cleanup() {
	local rc=$?
	set +e
	if [ -n "$PLAYED" ]; then
		"${PODMAN[@]}" kube down "$POD_YAML" >/dev/null 2>&1
		"${PODMAN[@]}" pod rm -f "$POD" >/dev/null 2>&1
	fi
	if [ -n "$DOCKERD_PID" ]; then
		kill "$DOCKERD_PID" 2>/dev/null
		wait "$DOCKERD_PID" 2>/dev/null
	fi
	[ -n "${PING_PID:-}" ] && kill "$PING_PID" 2>/dev/null
	(exit "$rc")
	cm_cleanup
}
trap kube_cleanup EXIT

# ---- the tools ----------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v catatonit >/dev/null; then
	cm_log "installing podman"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman catatonit >/dev/null 2>&1 ||
		{ echo "skipped: cannot install podman"; exit 77; }
fi
if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
	cm_log "installing docker.io"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null || { echo "cannot install docker"; exit 1; }
fi
if ! docker info >/dev/null 2>&1; then
	cm_log "starting dockerd"
	dockerd --iptables=false --bridge=none >"$CM_TMP/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
	docker info >/dev/null 2>&1 || { echo "dockerd did not start"; exit 1; }
fi
cm_check "the base image debian:bookworm-slim is there" bash "$SRC/scripts/docker-base.sh"

# ---- the manifest -------------------------------------------------------
# kubectl create --dry-run=client needs the API server's discovery even
# with --validate=false (no cluster here): the manifest is checked by
# podman's own decoding of the pod below, and its shape here.
cm_check "the manifest: a DaemonSet with hostNetwork, the shared socket emptyDir, /sys/fs/bpf, probes, requests, no SYS_ADMIN" \
	python3 - "$KDIR/cubemesh.yaml" <<'EOF'
import sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d}
spec = docs["DaemonSet"]["spec"]["template"]["spec"]
vols = {v["name"]: v for v in spec["volumes"]}
assert spec["hostNetwork"] is True
assert "emptyDir" in vols["sockets"] and vols["bpffs"]["hostPath"]["path"] == "/sys/fs/bpf"
names = [c["name"] for c in spec["containers"]]
assert names[0] == "broker" and "mesh" in names and len(names) > 10, names
for c in spec["containers"]:
    caps = c.get("securityContext", {}).get("capabilities", {})
    assert "SYS_ADMIN" not in caps.get("add", []) and caps.get("drop") == ["ALL"], c["name"]
    assert not c.get("securityContext", {}).get("privileged"), c["name"]
    assert c["resources"]["requests"], c["name"]
    assert any(m["name"] == "sockets" for m in c.get("volumeMounts", [])) or c["name"] == "mesh", c["name"]
b = spec["containers"][0]
assert "9000/polycube/v1/version" in " ".join(b["readinessProbe"]["exec"]["command"])
assert "9000/polycube/v1/version" in " ".join(b["livenessProbe"]["exec"]["command"])
assert "default.yaml" in docs["ConfigMap"]["data"]
EOF

# ---- the image ----------------------------------------------------------
# CM_KUBE_IMAGE=cubemesh:x: a docker image already built from this tree.
if [ -n "${CM_KUBE_IMAGE:-}" ]; then
	cm_check "image $CM_KUBE_IMAGE is there" docker tag "$CM_KUBE_IMAGE" "cubemesh:$TAG"
else
	cm_log "building the image (slow the first time)"
	cm_check "image cubemesh:$TAG builds" bash -c \
		"docker build --force-rm --network host -t cubemesh:$TAG '$SRC' >'$CM_TMP/build.log' 2>&1 || { tail -40 '$CM_TMP/build.log'; false; }"
fi
id=$(docker image inspect -f '{{.Id}}' "cubemesh:$TAG" | sed 's/^sha256://')
if [ "$("${PODMAN[@]}" image inspect -f '{{.Id}}' "localhost/cubemesh:$TAG" 2>/dev/null)" != "$id" ]; then
	cm_check "podman gets the image" bash -c "docker save cubemesh:$TAG | ${PODMAN[*]} load -q >/dev/null"
fi
if ! "${PODMAN[@]}" run --rm --network host "localhost/cubemesh:$TAG" true >"$CM_TMP/podman.log" 2>&1; then
	cat "$CM_TMP/podman.log"
	echo "skipped: podman cannot run a container here"
	exit 77
fi

# ---- the pod ------------------------------------------------------------
cm_host a 10.209.0.1/24; IFA=$CM_IF
cm_host b 10.209.0.2/24; IFB=$CM_IF
# This run's own port, pins, datastore and netdevs: other meshes may be up.
python3 "$KDIR/pod-from-daemonset.py" "$KDIR/cubemesh.yaml" --name "$POD" |
	sed -e "s|peer: cm-a}|peer: $IFA}|; s|peer: cm-b}|peer: $IFB}|; s|parent: cm-a$|parent: $IFA|" \
	    -e "s|127.0.0.1:9000|127.0.0.1:$CM_PORT|g" \
	    -e "s|/sys/fs/bpf/cubemesh|$CM_BPFFS|; s|path: /var/lib/cubemesh|path: $CM_STATE|" \
	    -e "s|image: cubemesh:latest|image: localhost/cubemesh:$TAG|" >"$POD_YAML"
cm_check "the pod's netdevs are this run's" grep -q "peer: $IFA}" "$POD_YAML"
MESH=$CM_TMP/mesh.yaml
python3 -c "import sys, yaml; print([d for d in yaml.safe_load_all(open(sys.argv[1])) if d['kind'] == 'ConfigMap'][0]['data']['default.yaml'])" \
	"$POD_YAML" >"$MESH"

play() {
	PLAYED=1
	"${PODMAN[@]}" kube play "$POD_YAML" >>"$CM_TMP/play.log" 2>&1 || { tail -20 "$CM_TMP/play.log"; return 1; }
}
# The mesh container applied the file: nothing left to change.
applied() {
	for _ in $(seq 1 150); do
		$PCNCTL diff -f "$MESH" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
cm_check "podman kube play" play
cm_check "the gateway answers" bash -c "for i in \$(seq 1 150); do curl -fs -o /dev/null ${PCN_URL}version && exit 0; sleep 0.2; done; exit 1"
cm_check "simplebridge is running" cm_wait_service_up simplebridge
cm_check "transparenthelloworld is running" cm_wait_service_up transparenthelloworld
cm_check "the ConfigMap's mesh is applied" applied
cm_check "br0 with its ports on a and b, tap0 on a's netdev" bash -c "
	$PCNCTL br0 ports show | grep -q $IFA && $PCNCTL br0 ports show | grep -q $IFB &&
	curl -s ${PCN_URL}transparenthelloworld/tap0/ | grep -q '\"parent\": *\"$IFA\"'"
cm_check "a pings b across br0 and tap0" cm_ping a 10.209.0.2 3
cm_check "tap0 counted them" cm_eventually bash -c "curl -s ${PCN_URL}transparenthelloworld/tap0/stats/ | grep -q '\"ingress-packets\": *[1-9]'"
bctr=$("${PODMAN[@]}" pod inspect "$POD" -f '{{range .Containers}}{{.Name}} {{end}}' | tr ' ' '\n' | grep -- '-broker$')
caps=$("${PODMAN[@]}" inspect "$bctr" -f '{{.EffectiveCaps}}' 2>/dev/null)
cm_check "the broker runs with BPF, PERFMON, NET_ADMIN, NET_RAW, no SYS_ADMIN ($caps)" \
	bash -c "grep -q CAP_BPF <<<'$caps' && grep -q CAP_NET_ADMIN <<<'$caps' && ! grep -q CAP_SYS_ADMIN <<<'$caps'"
cm_check "the mesh container says it applied the file" bash -c \
	"${PODMAN[*]} logs $POD-mesh 2>&1 | grep -q 'create instance br0'"

# ---- down and a second play under a ping stream ---------------------------
N=1000
ip netns exec "$(cm_ns a)" ping -c $N -i 0.02 -W 1 -D -O 10.209.0.2 >"$CM_TMP/ping.out" 2>&1 &
PING_PID=$!
sleep 1
cm_check "podman kube down" bash -c "${PODMAN[*]} kube down '$POD_YAML' >>'$CM_TMP/play.log' 2>&1"
cm_check "no broker answers" bash -c "! curl -fs -m 1 -o /dev/null ${PCN_URL}version"
cm_check "while down, a still pings b (the pins forward)" cm_ping a 10.209.0.2 3
cm_check "podman kube play again" play
cm_check "the gateway answers" bash -c "for i in \$(seq 1 150); do curl -fs -o /dev/null ${PCN_URL}version && exit 0; sleep 0.2; done; exit 1"
cm_check "the new broker adopted the mesh: nothing to change" applied
for _ in $(seq 1 100); do "${PODMAN[@]}" logs "$POD-mesh" 2>&1 | grep -q 'nothing to change' && break; sleep 0.2; done
cm_check "the mesh container's apply changed nothing" bash -c \
	"${PODMAN[*]} logs $POD-mesh 2>&1 | grep -q 'nothing to change' && ! ${PODMAN[*]} logs $POD-mesh 2>&1 | grep -q '^create'"
wait "$PING_PID"
PING_PID=
got=$(grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}')
# Where a stream lost packets, for the log.
grep -m3 "no answer" "$CM_TMP/ping.out"
cm_check "no ping lost across down and play ($N sent, $got received)" [ "$got" = "$N" ]
"${PODMAN[@]}" logs "$POD-broker" >"$CM_TMP/broker-pod.log" 2>&1
"${PODMAN[@]}" logs "$POD-mesh" >"$CM_TMP/mesh-pod.log" 2>&1
cm_check "podman kube down" bash -c "${PODMAN[*]} kube down '$POD_YAML' >>'$CM_TMP/play.log' 2>&1"
PLAYED=
cm_check "no container of the pod is left" bash -c "[ -z \"\$(${PODMAN[*]} ps -aq --filter pod=$POD 2>/dev/null)\" ]"
cm_done

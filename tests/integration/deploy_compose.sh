#!/usr/bin/env bash
# Deployment with docker-compose: images from the repository's Dockerfile,
# `docker-compose up -d` (broker + one container per cube, host network), a
# chain a -> hw1 -> hw2 -> b built through the gateway, then under a counted
# ping stream: `docker-compose restart helloworld`, and an upgrade of
# helloworld to another image tag (1.1.0) with `up -d --no-deps` — no ping
# lost either time. `docker-compose down` leaves no container behind.
#
# Installs docker.io and docker-compose when missing, starts dockerd when it
# is not running (and stops it after), makes debian:bookworm-slim locally
# when it cannot be pulled (docs/KERNEL.md). Skipped (77) when CM_SKIP_DOCKER=1:
# the sanitizer pass builds the same images again for nothing.
if [ "${CM_SKIP_DOCKER:-0}" = 1 ]; then
	echo "skipped: CM_SKIP_DOCKER=1"
	exit 77
fi
source "$(dirname "$0")/../lib/mesh.sh"
SRC=${CM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TAG=cmtest
PROJECT=cmtest$CM_ID
DOCKERD_PID=
export COMPOSE_PROJECT_NAME=$PROJECT COMPOSE_FILE=$SRC/docker-compose.yml
# Every image tag the compose file names (CUBEMESH_TAG, <CUBE>_TAG): the
# images built here, never one to pull (no registry is reachable).
for v in $(grep -o '\${[A-Z0-9_]*_TAG' "$SRC/docker-compose.yml" | cut -c3- | sort -u); do
	export "$v=$TAG"
done
export CUBEMESH_HTTP_PORT=$CM_PORT CUBEMESH_RUN_DIR=$CM_SOCK CUBEMESH_STATE_DIR=$CM_STATE
export CUBEMESH_BPFFS_ROOT=$CM_BPFFS

deploy_cleanup() {
	local rc=$?
	set +e
	if command -v docker-compose >/dev/null && [ -n "${COMPOSED:-}" ]; then
		docker-compose down -t 5 >/dev/null 2>&1
	fi
	if [ -n "$DOCKERD_PID" ]; then
		kill "$DOCKERD_PID" 2>/dev/null
		wait "$DOCKERD_PID" 2>/dev/null
	fi
	(exit "$rc")
	cm_cleanup
}
trap deploy_cleanup EXIT

# ---- the tools ----------------------------------------------------------
if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
	cm_log "installing docker.io and docker-compose"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose >/dev/null ||
		{ echo "cannot install docker"; exit 1; }
fi
if ! docker info >/dev/null 2>&1; then
	cm_log "starting dockerd"
	# Its iptables rules would break bridged and routed test traffic, and
	# the containers use the host network anyway (docs/KERNEL.md).
	dockerd --iptables=false --bridge=none >"$CM_TMP/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
	docker info >/dev/null 2>&1 || { echo "dockerd did not start"; exit 1; }
fi
cm_check "the base image debian:bookworm-slim is there" bash "$SRC/scripts/docker-base.sh"

# ---- images ------------------------------------------------------------
cm_log "building the images (slow the first time)"
cm_check "image cubemesh:$TAG builds" bash -c \
	"docker build --force-rm --network host -t cubemesh:$TAG '$SRC' >'$CM_TMP/build.log' 2>&1 || { tail -40 '$CM_TMP/build.log'; false; }"
cm_check "image cubemesh:$TAG-v2 (helloworld 1.1.0) builds" bash -c \
	"docker build --force-rm --network host --build-arg HELLOWORLD_VARIANT=v2 -t cubemesh:$TAG-v2 '$SRC' >>'$CM_TMP/build.log' 2>&1 || { tail -40 '$CM_TMP/build.log'; false; }"
# No prune here: the build stage's image is dangling by nature, and pruning
# it would throw away the layer cache that makes the next run take seconds.

# ---- up ------------------------------------------------------------------
COMPOSED=1
cm_check "docker-compose up -d" bash -c "docker-compose up -d --no-build >'$CM_TMP/compose.log' 2>&1 || { cat '$CM_TMP/compose.log'; false; }"
cm_check "the broker answers" cm_wait_http
cm_check "helloworld is running" cm_wait_service_up helloworld
cm_check "simpleforwarder is running" cm_wait_service_up simpleforwarder
# Every other service of the compose file (each cube added there is checked).
for svc in $(docker-compose config --services | grep -vx 'broker\|helloworld\|simpleforwarder'); do
	cm_check "$svc is running" cm_wait_service_up "$svc"
done
healthy() {
	for _ in $(seq 1 60); do
		[ "$(docker inspect -f '{{.State.Health.Status}}' "$(docker-compose ps -q "$1")" 2>/dev/null)" = healthy ] && return 0
		sleep 1
	done
	return 1
}
cm_check "the helloworld container is healthy" healthy helloworld

cm_host a 10.207.0.1/24; IFA=$CM_IF
cm_host b 10.207.0.2/24; IFB=$CM_IF
cm_check "chain a - hw1 - hw2 - b through the gateway" bash -c "
	$PCNCTL helloworld add hw1 && $PCNCTL helloworld add hw2 &&
	$PCNCTL hw1 ports add port1 peer=$IFA && $PCNCTL hw2 ports add port2 peer=$IFB &&
	$PCNCTL hw1 ports add port2 && $PCNCTL hw2 ports add port1 &&
	$PCNCTL hw1 ports port2 set peer=hw2:port1 && $PCNCTL hw2 ports port1 set peer=hw1:port2 &&
	$PCNCTL hw1 set action=FORWARD && $PCNCTL hw2 set action=FORWARD"
cm_check "pings cross the chain" cm_ping a 10.207.0.2

ping_stream() {
	ip netns exec "$(cm_ns a)" ping -c "$1" -i 0.02 -W 1 -q 10.207.0.2 >"$CM_TMP/ping.out" 2>&1 &
	PING_PID=$!
}
ping_received() { grep -o '[0-9]* received' "$CM_TMP/ping.out" | awk '{print $1}'; }
wait_version() {
	for _ in $(seq 1 150); do
		curl -s "${PCN_URL}services/helloworld" | grep -q "\"version\": \"$1\"" &&
			curl -s "${PCN_URL}services/helloworld" | grep -q '"state": "running"' && return 0
		sleep 0.2
	done
	return 1
}

# ---- restart one cube's container under traffic --------------------------
ping_stream 400
sleep 1
cm_check "docker-compose restart helloworld" bash -c "docker-compose restart -t 5 helloworld >/dev/null 2>&1"
cm_check "helloworld is back" cm_wait_service_up helloworld
wait "$PING_PID"
got=$(ping_received)
cm_check "no ping lost across the container restart (400 sent, $got received)" [ "$got" = 400 ]
cm_check "its configuration is back" bash -c "$PCNCTL -j hw1 action show | grep -q FORWARD"

# ---- upgrade it to another image tag under traffic -----------------------
ping_stream 500
sleep 1
cm_check "HELLOWORLD_TAG=$TAG-v2 docker-compose up -d --no-deps helloworld" bash -c \
	"HELLOWORLD_TAG=$TAG-v2 docker-compose up -d --no-deps --no-build helloworld >>'$CM_TMP/compose.log' 2>&1"
cm_check "GET /services/helloworld shows 1.1.0" wait_version 1.1.0
wait "$PING_PID"
got=$(ping_received)
cm_check "no ping lost across the upgrade (500 sent, $got received)" [ "$got" = 500 ]
cm_check "the 1.1.0 counter counts" bash -c "curl -s ${PCN_URL}helloworld/hw2/stats/ | grep -q '\"bytes\"'"
cm_check "the container runs the new tag" bash -c \
	"docker inspect -f '{{.Config.Image}}' \$(docker-compose ps -q helloworld) | grep -qx 'cubemesh:$TAG-v2'"

# ---- down ------------------------------------------------------------------
cm_check "delete the instances" bash -c "$PCNCTL hw1 del && $PCNCTL hw2 del"
cm_check "docker-compose down" bash -c "docker-compose down -t 5 >>'$CM_TMP/compose.log' 2>&1"
COMPOSED=
cm_check "no container of the project is left" bash -c \
	"[ -z \"\$(docker ps -aq --filter label=com.docker.compose.project=$PROJECT)\" ]"
cm_check "no network of the project is left" bash -c \
	"[ -z \"\$(docker network ls -q --filter label=com.docker.compose.project=$PROJECT)\" ]"
cm_check "no instance pin is left" bash -c "[ -z \"\$(ls -A $CM_BPFFS/cubes/helloworld 2>/dev/null)\" ]"
cm_done

#!/usr/bin/env bash
# docker-base.sh: makes sure the image debian:bookworm-slim exists locally.
# Pulls it when a registry answers; otherwise builds it with debootstrap from
# the host's own Debian mirror and imports it (about 1.5 min). Needs root and
# a running dockerd.
set -euo pipefail
image=${1:-debian:bookworm-slim}

docker image inspect "$image" >/dev/null 2>&1 && exit 0
if timeout 60 docker pull "$image" >/dev/null 2>&1; then
	exit 0
fi
echo "docker-base: cannot pull $image; building it with debootstrap" >&2
if ! command -v debootstrap >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
# The mirror apt uses on this host (deb822 or one-line sources).
mirror=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}')
if [ -z "$mirror" ]; then
	mirror=$(grep -hoE '^deb +\S+' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		head -n1 | awk '{print $2}')
fi
mirror=${mirror:-http://deb.debian.org/debian}
dir=$(mktemp -d /tmp/cubemesh-rootfs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
debootstrap --variant=minbase bookworm "$dir" "$mirror" >/dev/null
# What the slim image leaves out: apt lists and caches.
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
tar -C "$dir" -c . | docker import - "$image" >/dev/null
echo "docker-base: $image imported" >&2

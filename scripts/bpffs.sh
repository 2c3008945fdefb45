#!/usr/bin/env bash
# Mounts the BPF filesystem at /sys/fs/bpf when nothing is mounted there.
set -euo pipefail
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
fi

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the mesh: pcn-broker and one
# process per cube type, supervised (see scripts/supervise.sh). Run as root.
# Extra arguments go to pcn-broker (e.g. --http 127.0.0.1:9001).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/bpffs.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$(nproc 2>/dev/null || echo 2)"
exec "$root/scripts/supervise.sh" "$root/build" "$@"

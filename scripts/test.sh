#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit,
# fast-path (BPF_PROG_TEST_RUN) and integration tests, once as built and once
# built with AddressSanitizer and UndefinedBehaviorSanitizer. Run as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/bpffs.sh"

run_suite() {
	local dir=$1
	shift
	cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	(cd "$dir" && ctest --output-on-failure --timeout 600)
}

echo "== build and test"
run_suite "$root/build"
echo "== build and test with AddressSanitizer + UndefinedBehaviorSanitizer"
# Leaks are reported by the unit tests' own processes; the daemons are
# stopped by signals in the integration tests, where exit-time leak reports
# would only list what the kernel reclaims anyway.
# The deployment test (docker images) checks the packaging, not the code:
# building the same images again under the sanitizers would only cost time.
CM_SKIP_DOCKER=1 \
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	run_suite "$root/build-sanitize" -DCUBEMESH_SANITIZE=ON
echo "== fuzz targets (libFuzzer, ASan + UBSan), 30 s each"
# A crash, leak or broken invariant fails the pass and names the input
# (scripts/fuzz.sh; docs/SECURITY.md).
bash "$root/scripts/fuzz.sh" all 30

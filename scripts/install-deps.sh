#!/usr/bin/env bash
# Installs the Debian 12 packages Cubemesh needs to build, run and test.
# Idempotent: packages already present are left alone, and apt is only
# asked when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libxdp-dev xdp-tools
  libuv1-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler
  libyang2-dev libyang2-tools libh2o-dev libjansson-dev libcurl4-openssl-dev libyaml-dev
  libcmocka-dev libclang-rt-14-dev valgrind
  libpcap-dev tshark
  chromium chromium-driver python3-selenium libgraphviz-dev
  iproute2 iputils-ping ethtool tcpdump iperf3 wrk curl procps psmisc python3 kmod
  iptables nftables ipvsadm conntrack
  python3-prometheus-client python3-yaml python3-jsonschema
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# Cubemesh images: one image holds pcn-broker, pcnctl and every cube binary;
# docker-compose.yml runs one container per process from it.
#
#   docker build --network host -t cubemesh:latest .
#   docker build --network host -t cubemesh:hw-1.1 --build-arg HELLOWORLD_VARIANT=v2 .
#
# HELLOWORLD_VARIANT=v2 installs pcn-helloworld-v2 (version 1.1.0, a grown
# stats map with a declared migration) as pcn-helloworld: an image tag to
# upgrade one cube to, and to roll back from.

# ---- build stage: compilers and -dev packages ---------------------------------
FROM debian:bookworm-slim AS build
LABEL org.cubemesh.image=1
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        build-essential cmake pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libxdp-dev \
        libuv1-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler libyang2-dev libh2o-dev \
        libjansson-dev libcurl4-openssl-dev libcmocka-dev libssl-dev ca-certificates libpcap-dev libyaml-dev libgraphviz-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
# Only the programs: the tests run on the host (scripts/test.sh).
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
    && targets="pcn-broker pcnctl" \
    && for d in /src/cubes/*/; do [ -f "$d/CMakeLists.txt" ] && targets="$targets pcn-$(basename "$d")"; done \
    && if grep -q 'pcn-helloworld-v2' /src/cubes/helloworld/CMakeLists.txt; then targets="$targets pcn-helloworld-v2"; fi \
    && cmake --build /build -j"$(nproc)" --target $targets \
    && mkdir -p /out/bin /out/share/cubemesh \
    && cp /build/broker/pcn-broker /build/pcnctl/pcnctl /out/bin/ \
    && for b in /build/cubes/*/pcn-* /build/cubes/*/variants/pcn-*; do [ -x "$b" ] && [ -f "$b" ] && cp "$b" /out/bin/; done \
    && cp -r /src/yang /out/share/cubemesh/yang \
    && mkdir -p /out/include/cubemesh && cp -r /build/bpf-include /out/include/cubemesh/bpf

# ---- runtime stage: the runtime libraries only --------------------------------
FROM debian:bookworm-slim
LABEL org.cubemesh.image=1
ARG HELLOWORLD_VARIANT=
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libbpf1 libxdp1 libelf1 zlib1g libuv1 libnng1 libprotobuf-c1 libyang2 libh2o0.13 libjansson4 \
        libcurl4 curl libyaml-0-2 libgvc6 \
        libpcap0.8 clang libbpf-dev linux-libc-dev \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/cubemesh/ /usr/local/share/cubemesh/
# Fast paths compiled at run time (pcn_reload from source: pcn-packetcapture's
# filters): clang and the headers a cube's .bpf.c includes.
COPY --from=build /out/include/cubemesh/ /usr/local/include/cubemesh/
ENV PCN_BPF_INCLUDE_DIR=/usr/local/include/cubemesh/bpf
RUN if [ "$HELLOWORLD_VARIANT" = v2 ]; then mv /usr/local/bin/pcn-helloworld-v2 /usr/local/bin/pcn-helloworld; \
    else rm -f /usr/local/bin/pcn-helloworld-v2; fi
ENV PCN_URL=http://127.0.0.1:9000/polycube/v1/
CMD ["pcn-broker", "--yang-dir", "/usr/local/share/cubemesh/yang"]

/* The maps every Cubemesh fast path shares.
 *
 * Each is pinned by name (LIBBPF_PIN_BY_NAME): user space opens every object
 * with pin_root_path = <bpffs root>/shared, so the first loader creates and
 * pins a map and every later object reuses the same one. Names and value
 * types are the contract of pcn_kern_user.h; the broker is the only writer
 * of the PatchPanel, pcn_fwd and pcn_netdev_in.
 *
 * Included through pcn_helpers.h, which has already chosen the hook.
 */
#ifndef PCN_MAPS_H
#define PCN_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "pcn_kern_user.h"

/* The verifier ties a PROG_ARRAY to the type of the first program that uses
 * it, so an object declares only the PatchPanel of the hook it is built for.
 * key_size/value_size instead of __type(): the kernel accepts no BTF
 * key/value types on a PROG_ARRAY, and libbpf would retry without BTF after
 * printing a warning. */
#if defined(PCN_HOOK_XDP)
/* PatchPanel of XDP programs: slot = instance index, written by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_pp_xdp SEC(".maps");
#define PCN_PP pcn_pp_xdp
#elif defined(PCN_HOOK_TC)
/* PatchPanel of TC programs: slot = instance index, written by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_pp_tc SEC(".maps");
#define PCN_PP pcn_pp_tc
#else
#error "build with exactly one of -DPCN_HOOK_XDP or -DPCN_HOOK_TC"
#endif

/* pcn_fwd_slot(instance, port) -> what the port is wired to; read by
 * pcn_pkt_send. An array: its lookup is inlined (pcn_kern_user.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_FWD_SLOTS);
	__type(key, __u32);
	__type(value, struct pcn_fwd_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_fwd SEC(".maps");

/* Instance index -> generation of its wiring in pcn_fwd; bumped by the
 * broker on each change of the instance's entries, read by cube-runtime
 * to reload a program whose constants are stale (pcn_wire.h). No fast
 * path reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_wire_gen SEC(".maps");

/* ifindex -> (instance, port) a packet from that netdev enters. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PCN_MAX_NETDEVS);
	__type(key, __u32);
	__type(value, struct pcn_netdev_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_netdev_in SEC(".maps");

/* Metadata of the packet being processed on this CPU, across tail calls. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pcn_pkt_md);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_md SEC(".maps");

/* Per-instance counters, indexed by instance index. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__type(key, __u32);
	__type(value, struct pcn_cube_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_cube_stats SEC(".maps");

/* Slow-path packets, notifications and log lines of every instance, read by
 * the broker's demultiplexer. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PCN_SLOWPATH_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_slowpath SEC(".maps");

#endif /* PCN_MAPS_H */

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
 * to reload a program whose constants are stale (pcn_baked.h). No fast
 * path reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_MAX_CUBES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_baked_gen SEC(".maps");

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

/* This CPU's packet metadata, found with *zero (which holds 0). The lookup
 * cannot fail on a one-entry array, but the verifier (kernel 6.18, code
 * from clang 14) still requires a NULL check before md is dereferenced:
 * callers make it. A program that looks up another one-entry array too
 * passes both the same key (pcn__tmd): a second key costs a store. */
static __always_inline struct pcn_pkt_md *pcn__md_at(const __u32 *zero)
{
	return bpf_map_lookup_elem(&pcn_md, zero);
}

/* This CPU's packet metadata, or NULL (never; check it all the same). A
 * macro so that the key lives in the caller's scope: a key scoped to a
 * helper function made clang 14 merge pcn_netdev_entry's exits into one, 4
 * instructions longer than the same code written out. */
#define pcn__md() pcn__md_at(&(__u32){ 0 })

/* Starts md for a packet entering the fast path: the slot is reused by
 * every packet on this CPU, so nothing of the previous packet may leak into
 * this one. */
static __always_inline void pcn__md_clear(struct pcn_pkt_md *md)
{
	__builtin_memset(md, 0, sizeof(*md));
}

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

/* ddosmitigator fast path: packets coming in from a blacklisted source, or
 * to a blacklisted destination, are dropped and counted on their entry;
 * everything else goes on, and so does every packet going out. */
#include "pcn_transparent.h"

/* Blacklisted source IPv4 addresses (network order) -> packets dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} ddosmitigator_src SEC(".maps");

/* Blacklisted destination IPv4 addresses (network order) -> packets dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} ddosmitigator_dst SEC(".maps");

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	struct iphdr *ip = pcn_ipv4_hdr(ctx);
	__u32 addr;
	__u64 *n;

	(void)md;
	if (!ip)
		return RX_OK;
	addr = ip->saddr;
	n = bpf_map_lookup_elem(&ddosmitigator_src, &addr);
	if (!n) {
		addr = ip->daddr;
		n = bpf_map_lookup_elem(&ddosmitigator_dst, &addr);
	}
	if (!n)
		return RX_OK;
	(*n)++;
	return RX_DROP;
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)ctx;
	(void)md;
	return RX_OK;
}

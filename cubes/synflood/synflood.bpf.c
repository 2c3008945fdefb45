/* synflood fast path: passes every packet, and counts per direction the
 * TCP SYNs, SYN-ACKs and RSTs (IPv4 and IPv6), the IPv4 packets (and at
 * ingress those for the parent's own addresses), and the handshakes it
 * sees complete: a SYN-ACK records its connection in synflood_hs, and the
 * client's first ACK after it takes the record out and counts. A SYN
 * flood leaves the records there; the LRU map forgets the oldest, so a
 * flood costs a bounded map and never a lost count of SYNs. */
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include "pcn_transparent.h"
#include "synflood_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct synflood_ctr);
} synflood_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synflood_addrs);
} synflood_addrs SEC(".maps");

/* Handshakes waiting for the client's ACK. An LRU preallocates every
 * entry (~100 bytes each): 16384 hold far more handshakes than complete
 * within one round trip, and a flood only pushes out its own records. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct synflood_hs);
	__type(value, __u8);
} synflood_hs SEC(".maps");

/* 1 when daddr is one of the parent's IPv4 addresses. */
static __always_inline int synflood_local(__u32 daddr)
{
	__u32 zero = 0;
	struct synflood_addrs *a = bpf_map_lookup_elem(&synflood_addrs, &zero);

	if (!a)
		return 0;
#pragma unroll
	for (int i = 0; i < SYNFLOOD_MAX_ADDRS; i++) {
		if ((__u32)i >= a->n)
			break;
		if (a->addr[i] == daddr)
			return 1;
	}
	return 0;
}

static __always_inline void synflood_v4(__u32 *dst, __u32 addr)
{
	dst[0] = 0;
	dst[1] = 0;
	dst[2] = bpf_htonl(0xffff);
	dst[3] = addr;
}

static __always_inline void synflood_v6(__u32 *dst, const struct in6_addr *a)
{
	dst[0] = a->in6_u.u6_addr32[0];
	dst[1] = a->in6_u.u6_addr32[1];
	dst[2] = a->in6_u.u6_addr32[2];
	dst[3] = a->in6_u.u6_addr32[3];
}

/* src/dst: the segment's addresses as synflood_hs keeps them. */
static __always_inline void synflood_tcp(struct synflood_ctr *c, const struct tcphdr *th, const __u32 *src,
					 const __u32 *dst)
{
	struct synflood_hs hs = {};
	__u8 one = 1;

	if (th->rst) {
		c->rst++;
		return;
	}
	if (th->syn && !th->ack) {
		c->syn++;
		return;
	}
	if (th->syn) {
		/* server -> client: the client's ACK will come the other way. */
		c->synack++;
		__builtin_memcpy(hs.client, dst, 16);
		__builtin_memcpy(hs.server, src, 16);
		hs.cport = th->dest;
		hs.sport = th->source;
		bpf_map_update_elem(&synflood_hs, &hs, &one, BPF_ANY);
		return;
	}
	if (!th->ack)
		return;
	__builtin_memcpy(hs.client, src, 16);
	__builtin_memcpy(hs.server, dst, 16);
	hs.cport = th->source;
	hs.sport = th->dest;
	/* Only the first ACK finds the record: one count per handshake. */
	if (bpf_map_lookup_elem(&synflood_hs, &hs) && bpf_map_delete_elem(&synflood_hs, &hs) == 0)
		c->established++;
}

static __always_inline int synflood_count(struct __ctx_buff *ctx, __u32 dir)
{
	void *end = ctx_data_end(ctx);
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	struct synflood_ctr *c = bpf_map_lookup_elem(&synflood_ctr, &dir);
	__u32 src[4], dst[4];
	struct tcphdr *th;

	if (!eth || !c)
		return RX_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (struct iphdr *)(eth + 1);
		__u32 ihl;

		if ((void *)(ip + 1) > end)
			return RX_OK;
		c->ipv4++;
		if (dir == SYNFLOOD_DIR_INGRESS && synflood_local(ip->daddr))
			c->ipv4_local++;
		/* A later fragment has no TCP header. */
		if (ip->protocol != IPPROTO_TCP || (ip->frag_off & bpf_htons(0x1fff)))
			return RX_OK;
		ihl = ip->ihl & 0xf;
		if (ihl < 5)
			return RX_OK;
		th = (struct tcphdr *)((void *)ip + ihl * 4);
		if ((void *)(th + 1) > end)
			return RX_OK;
		synflood_v4(src, ip->saddr);
		synflood_v4(dst, ip->daddr);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);

		/* TCP right after the fixed header (no extension headers). */
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return RX_OK;
		th = (struct tcphdr *)(ip6 + 1);
		if ((void *)(th + 1) > end)
			return RX_OK;
		synflood_v6(src, &ip6->saddr);
		synflood_v6(dst, &ip6->daddr);
	} else {
		return RX_OK;
	}
	synflood_tcp(c, th, src, dst);
	return RX_OK;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)md;
	return synflood_count(ctx, SYNFLOOD_DIR_INGRESS);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)md;
	return synflood_count(ctx, SYNFLOOD_DIR_EGRESS);
}

/* router fast path: answer ARP for the router's addresses, learn the
 * senders' MACs, route IPv4 by longest-prefix match (TTL decremented, the
 * checksum updated incrementally, the next hop's MAC from the ARP table)
 * and hand the slow path what it alone can do: packets for the router
 * itself (ICMP echo), TTL expiry, unroutable destinations and next hops
 * not resolved yet. */
#include "pcn.h"

#include "router_shared.h"

/* Port number -> its primary address and MAC (valid 0: no such port). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct router_port);
} router_ports SEC(".maps");

/* The routing table: connected networks, static routes, and a LOCAL /32
 * for each of the router's addresses (one lookup says "for us"). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ROUTER_ROUTES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct router_route_key);
	__type(value, struct router_route);
} router_routes SEC(".maps");

/* The ARP table: IPv4 address (network order) -> MAC, port, last seen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ROUTER_ARP_MAX);
	__type(key, __u32);
	__type(value, struct router_arp_entry);
} router_arp SEC(".maps");

/* Counters of what went to the slow path and why (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct router_counters);
} router_stats SEC(".maps");

/* An unchanged learned entry's timestamp is rewritten at most this often:
 * no map write per ARP packet of a host that keeps asking. */
#define ROUTER_ARP_REFRESH_NS (1000000000ull)

/* An Ethernet/IPv4 ARP packet after the Ethernet header. */
struct router_arp_pkt {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

static __always_inline void router_count(__u32 which)
{
	__u32 zero = 0;
	struct router_counters *c = bpf_map_lookup_elem(&router_stats, &zero);

	if (c && which < ROUTER_CNT_N)
		c->c[which]++;
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

/* The route for addr (longest prefix), or NULL. */
static __always_inline struct router_route *router_lookup(__u32 addr)
{
	struct router_route_key k = { .prefixlen = 32, .addr = addr };

	return bpf_map_lookup_elem(&router_routes, &k);
}

/* Learns (or refreshes) ip -> mac on port, in place when only the time
 * changes; tells the slow path when the entry is new or changed, or when
 * force is set (an ARP reply: packets may wait for it). */
static __always_inline void router_learn(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 ip,
					 const __u8 *mac, __u32 port, int force)
{
	struct router_arp_entry *e = bpf_map_lookup_elem(&router_arp, &ip), n = {};
	__u64 now = bpf_ktime_get_ns();

	if (e && (e->flags & ROUTER_ARP_STATIC))
		return;
	if (e && mac_eq(e->mac, mac) && e->port == port) {
		if (now - e->seen_ns > ROUTER_ARP_REFRESH_NS)
			e->seen_ns = now;
		if (!force)
			return;
	} else {
		__builtin_memcpy(n.mac, mac, 6);
		n.port = port;
		n.seen_ns = now;
		bpf_map_update_elem(&router_arp, &ip, &n, BPF_ANY);
	}
	md->md[0] = ip;
	pcn_notify(ctx, md, ROUTER_REASON_ARP_LEARN);
}

static __always_inline int router_arp_in(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					 struct ethhdr *eth, const struct router_port *p)
{
	struct router_arp_pkt *a = (void *)(eth + 1);
	struct router_route *r;
	__u32 spa, tpa;
	__u8 sha[6];

	if ((void *)(a + 1) > ctx_data_end(ctx))
		return RX_DROP;
	if (a->htype != bpf_htons(1) || a->ptype != bpf_htons(ETH_P_IP) || a->hlen != 6 || a->plen != 4)
		return RX_DROP;
	__builtin_memcpy(&spa, a->spa, 4);
	__builtin_memcpy(&tpa, a->tpa, 4);
	__builtin_memcpy(sha, a->sha, 6);
	if (!spa)
		return RX_DROP; /* an address probe (RFC 5227): nothing to learn or answer */
	/* Only for one of this port's addresses; but a host already in the
	 * table is learned again from any of its ARP packets (a gratuitous
	 * ARP after its MAC changed). */
	r = router_lookup(tpa);
	if (!r || !(r->flags & ROUTER_RT_LOCAL) || r->port != md->in_port) {
		if (bpf_map_lookup_elem(&router_arp, &spa))
			router_learn(ctx, md, spa, sha, md->in_port, 0);
		return RX_DROP;
	}
	if (a->op == bpf_htons(2)) {
		router_learn(ctx, md, spa, sha, md->in_port, 1);
		return RX_DROP;
	}
	if (a->op != bpf_htons(1))
		return RX_DROP;
	router_learn(ctx, md, spa, sha, md->in_port, 0);
	/* The reply, in place. */
	a->op = bpf_htons(2);
	__builtin_memcpy(a->tha, sha, 6);
	__builtin_memcpy(a->tpa, &spa, 4);
	__builtin_memcpy(a->sha, p->mac, 6);
	__builtin_memcpy(a->spa, &tpa, 4);
	__builtin_memcpy(eth->h_dest, sha, 6);
	__builtin_memcpy(eth->h_source, p->mac, 6);
	return pcn_pkt_send(ctx, md, md->in_port);
}

static __always_inline int router_ipv4_in(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					  struct ethhdr *eth)
{
	struct iphdr *ip = (void *)(eth + 1);
	struct router_arp_entry *nh_mac;
	struct router_port *out_p;
	struct router_route *r;
	__u32 nh, out, check;

	if ((void *)(ip + 1) > ctx_data_end(ctx) || ip->version != 4 || ip->ihl < 5)
		return RX_DROP;
	r = router_lookup(ip->daddr);
	if (!r) {
		router_count(ROUTER_CNT_UNREACH);
		return pcn_pkt_controller(ctx, md, ROUTER_REASON_UNREACH);
	}
	/* For the router: ICMP (echo) and UDP (port unreachable, the end of
	 * a traceroute) are answered by the slow path; nothing else is. */
	if (r->flags & ROUTER_RT_LOCAL) {
		if (ip->protocol != IPPROTO_ICMP && ip->protocol != IPPROTO_UDP)
			return RX_DROP;
		return pcn_pkt_controller(ctx, md, ROUTER_REASON_LOCAL);
	}
	if (ip->ttl <= 1) {
		router_count(ROUTER_CNT_TTL);
		return pcn_pkt_controller(ctx, md, ROUTER_REASON_TTL);
	}
	out = r->port;
	nh = r->nexthop ? r->nexthop : ip->daddr;
	out_p = bpf_map_lookup_elem(&router_ports, &out);
	if (!out_p || !out_p->valid)
		return RX_DROP;
	nh_mac = bpf_map_lookup_elem(&router_arp, &nh);
	if (!nh_mac) {
		router_count(ROUTER_CNT_ARP_MISS);
		return pcn_pkt_controller_md(ctx, md, ROUTER_REASON_ARP_MISS, nh, out, 0);
	}
	/* TTL - 1: the checksum's 16-bit word holding the TTL (high byte)
	 * went down by 0x0100, so the checksum goes up by as much, with the
	 * end-around carry (RFC 1624). */
	ip->ttl--;
	check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	__builtin_memcpy(eth->h_dest, nh_mac->mac, 6);
	__builtin_memcpy(eth->h_source, out_p->mac, 6);
	return pcn_pkt_send(ctx, md, out);
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	__u32 in = md->in_port;
	struct router_port *p;

	if (!eth)
		return RX_DROP;
	p = bpf_map_lookup_elem(&router_ports, &in);
	if (!p || !p->valid)
		return RX_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return router_arp_in(ctx, md, eth, p);
	/* IPv4 sent to this port's MAC; anything else is not for a router. */
	if (eth->h_proto != bpf_htons(ETH_P_IP) || !mac_eq(eth->h_dest, p->mac))
		return RX_DROP;
	return router_ipv4_in(ctx, md, eth);
}

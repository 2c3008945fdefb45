/* lbdsr fast path: a direct-server-return load balancer. Only the FRONTEND
 * port takes traffic (as in Polycube):
 *
 *  - an ARP request for the virtual IP is answered on the frontend port
 *    with the frontend's MAC;
 *  - an IPv4 packet sent to that MAC and to the virtual IP (TCP, UDP, ICMP
 *    echo) goes to the backend the session table remembers for its flow,
 *    or for a new flow (and a TCP SYN) to the one the Maglev table holds
 *    for the flow's hash: its destination MAC becomes the backend's, its
 *    source the balancer's backend-side MAC (a bridge between them must
 *    not learn the frontend's MAC or a client's on the backend port), and
 *    nothing else changes; out of the BACKEND port;
 *  - anything else is dropped.
 *
 * The backends hold the virtual IP on a loopback and answer the clients
 * directly: the answers never cross the balancer. */
#include "pcn.h"

#include <linux/tcp.h>
#include <linux/udp.h>

#include "lbdsr_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * LB_CHUNKS);
	__type(key, __u32);
	__type(value, struct lb_chunk);
} lbdsr_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * LBDSR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lbdsr_backend);
} lbdsr_backends SEC(".maps");

/* [0]: bit 0, the table the fast path reads; bits 16.., its number of
 * backends. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lbdsr_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lbdsr_cfg);
} lbdsr_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBDSR_MAX_SESSIONS);
	__type(key, struct lbdsr_flow);
	__type(value, struct lbdsr_session);
} lbdsr_sessions SEC(".maps");

#define LB_ETH_LEN 14
#define LB_ETH_P_ARP 0x0806
#define LB_ARPOP_REQUEST 1
#define LB_ARPOP_REPLY 2
#define LB_ICMP_ECHOREPLY 0
#define LB_ICMP_ECHO 8

/* An Ethernet/IPv4 ARP packet's body. */
struct lb_arp {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[6];
	__u8 sip[4];
	__u8 tha[6];
	__u8 tip[4];
} __attribute__((packed));

struct lb_icmp_echo {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 seq;
};

static __always_inline int lb_mac_eq(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b && *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

/* Answers an ARP request for the vip in place, out of the frontend port. */
static __always_inline int lb_arp(struct __ctx_buff *ctx, struct pcn_pkt_md *md, const struct lbdsr_cfg *cfg)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct lb_arp *a = data + LB_ETH_LEN;
	__u8 sip[4];

	if ((void *)(a + 1) > end)
		return RX_DROP;
	if (a->op != bpf_htons(LB_ARPOP_REQUEST) || a->pro != bpf_htons(ETH_P_IP) || a->hln != 6 || a->pln != 4)
		return RX_DROP;
	if (!cfg->vip || *(__u32 *)a->tip != cfg->vip)
		return RX_DROP;
	__builtin_memcpy(sip, a->sip, 4);
	a->op = bpf_htons(LB_ARPOP_REPLY);
	__builtin_memcpy(a->tha, a->sha, 6);
	__builtin_memcpy(a->tip, sip, 4);
	__builtin_memcpy(a->sha, cfg->mac, 6);
	__builtin_memcpy(a->sip, &cfg->vip, 4);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->mac, ETH_ALEN);
	/* bpf_snprintf has no %pM: the bytes one by one. */
	pcn_log(ctx, LOG_DEBUG, "lbdsr: ARP: %pI4 is at %02x:%02x:%02x:%02x:%02x:%02x", &cfg->vip, cfg->mac[0],
		cfg->mac[1], cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
	return pcn_pkt_send(ctx, md, cfg->frontend_port);
}

/* The backend for a new flow, or NULL (none holds an entry). */
static __always_inline struct lbdsr_backend *lb_pick(const struct lbdsr_flow *f)
{
	__u32 h = lb_hash3(f->saddr, f->daddr, ((__u32)f->sport << 16 | f->dport) ^ ((__u32)f->proto << 8));
	__u32 slot = h % LB_M, zero = 0, t, v, key, idx;
	__u32 *ctl = bpf_map_lookup_elem(&lbdsr_ctl, &zero);
	struct lb_chunk *c;

	if (!ctl)
		return NULL;
	/* One read: the table and its number of backends go together (a
	 * new instance's table is all zeros, and has no backend). */
	v = *(volatile __u32 *)ctl;
	t = v & 1;
	key = t * LB_CHUNKS + slot / LB_CHUNK;
	c = bpf_map_lookup_elem(&lbdsr_maglev, &key);
	if (!c)
		return NULL;
	idx = c->e[slot & (LB_CHUNK - 1)];
	if (idx >= (v >> 16) || idx >= LBDSR_MAX_BACKENDS)
		return NULL;
	key = t * LBDSR_MAX_BACKENDS + idx;
	return bpf_map_lookup_elem(&lbdsr_backends, &key);
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 zero = 0;
	struct lbdsr_cfg *cfg = bpf_map_lookup_elem(&lbdsr_cfg, &zero);
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	struct lbdsr_flow f = {};
	struct lbdsr_session *s, ns = {};
	struct iphdr *ip;
	void *l4;
	int syn = 0;

	if (!cfg || !eth || md->in_port != cfg->frontend_port)
		return RX_DROP;
	if (eth->h_proto == bpf_htons(LB_ETH_P_ARP))
		return lb_arp(ctx, md, cfg);
	ip = pcn_ipv4_hdr(ctx);
	if (!ip || ip->ihl < 5 || !cfg->vip || ip->daddr != cfg->vip || !lb_mac_eq(eth->h_dest, cfg->mac))
		return RX_DROP;
	f.saddr = ip->saddr;
	f.daddr = ip->daddr;
	f.proto = ip->protocol;
	l4 = data + ((LB_ETH_LEN + ip->ihl * 4) & 0x7f);
	/* A later fragment has no ports: it is hashed on its addresses (and
	 * may reach another backend than its first fragment, as in any
	 * balancer that hashes ports). */
	if (!(ip->frag_off & bpf_htons(0x1fff))) {
		if (ip->protocol == IPPROTO_TCP) {
			struct tcphdr *t = l4;

			if ((void *)(t + 1) > end)
				return RX_DROP;
			f.sport = t->source;
			f.dport = t->dest;
			syn = t->syn && !t->ack;
		} else if (ip->protocol == IPPROTO_UDP) {
			struct udphdr *u = l4;

			if ((void *)(u + 1) > end)
				return RX_DROP;
			f.sport = u->source;
			f.dport = u->dest;
		} else if (ip->protocol == IPPROTO_ICMP) {
			struct lb_icmp_echo *i = l4;

			if ((void *)(i + 1) > end)
				return RX_DROP;
			if (i->type != LB_ICMP_ECHO && i->type != LB_ICMP_ECHOREPLY)
				return RX_DROP;
			f.sport = i->id;
			f.dport = i->id;
		} else {
			return RX_DROP;
		}
	}
	s = bpf_map_lookup_elem(&lbdsr_sessions, &f);
	if (s && !syn) {
		ns = *s;
	} else {
		struct lbdsr_backend *b = lb_pick(&f);

		if (!b) {
			pcn_log(ctx, LOG_DEBUG, "lbdsr: no backend up: drop");
			return RX_DROP;
		}
		__builtin_memcpy(ns.mac, b->mac, 6);
		bpf_map_update_elem(&lbdsr_sessions, &f, &ns, BPF_ANY);
		pcn_log(ctx, LOG_DEBUG, "lbdsr: new flow %pI4:%u -> %02x:%02x:%02x:%02x:%02x:%02x", &f.saddr,
			bpf_ntohs(f.sport), ns.mac[0], ns.mac[1], ns.mac[2], ns.mac[3], ns.mac[4], ns.mac[5]);
	}
	__builtin_memcpy(eth->h_dest, ns.mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->lb_mac, ETH_ALEN);
	return pcn_pkt_send(ctx, md, cfg->backend_port);
}

/* pbforwarder fast path: the packet's headers are read once, then the
 * active rule table (sorted by id, at most PBF_MAX_RULES) is scanned in
 * order (bpf_loop) and the first rule that matches decides: drop, send to the slow
 * path, or forward out of a port. A packet no rule matches is dropped, as
 * Polycube's pbforwarder does.
 *
 * Where the VLAN tag is: at XDP in the frame's bytes; at TC in the skb's
 * metadata (the kernel moves a received tag there before the TC hook). */
#include "pcn.h"

#include "pbforwarder_shared.h"

#define PBF_ETH_P_8021Q 0x8100
#define PBF_ETH_P_8021AD 0x88A8

/* Two tables of PBF_MAX_RULES (see pbforwarder_shared.h). An array: its
 * lookup is inlined, which matters with up to 256 of them per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PBF_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pbf_rule);
} pbf_rules SEC(".maps");

/* [0]: which table is active and how many rules it has. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pbf_ctl SEC(".maps");

/* What the rules can look at, read from the packet once. */
struct pbf_pkt {
	__u64 src_mac;
	__u64 dst_mac;
	__u32 src_ip;
	__u32 dst_ip;
	__u16 src_port;
	__u16 dst_port;
	__u16 vlan;
	__u8 has_vlan;
	__u8 has_ip;
	__u8 l4proto; /* with ports: TCP or UDP, first fragment */
	__u8 has_ports;
};

struct pbf_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline void pbf_parse(struct __ctx_buff *ctx, struct pbf_pkt *p)
{
	void *end = ctx_data_end(ctx);
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	struct iphdr *ip;
	__be16 proto;
	void *l3;

	if (!eth)
		return;
	__builtin_memcpy(&p->dst_mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(&p->src_mac, eth->h_source, ETH_ALEN);
	proto = eth->h_proto;
	l3 = eth + 1;
#if defined(PCN_HOOK_TC)
	if (ctx->vlan_present) {
		p->has_vlan = 1;
		p->vlan = ctx->vlan_tci & 0xfff;
	}
#endif
	if (proto == bpf_htons(PBF_ETH_P_8021Q) || proto == bpf_htons(PBF_ETH_P_8021AD)) {
		struct pbf_vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > end)
			return;
		/* At TC a tag still in the bytes is an inner one: the outer
		 * tag is the one a rule's vlan means. */
		if (!p->has_vlan) {
			p->has_vlan = 1;
			p->vlan = bpf_ntohs(vh->tci) & 0xfff;
		}
		proto = vh->proto;
		l3 = vh + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return;
	ip = l3;
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return;
	p->has_ip = 1;
	p->src_ip = ip->saddr;
	p->dst_ip = ip->daddr;
	p->l4proto = ip->protocol;
	/* Ports are in the first fragment only. */
	if ((ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) &&
	    !(ip->frag_off & bpf_htons(0x1fff))) {
		__be16 *ports = (void *)ip + ip->ihl * 4;

		if ((void *)(ports + 2) > end)
			return;
		p->has_ports = 1;
		p->src_port = ports[0];
		p->dst_port = ports[1];
	}
}

static __always_inline int pbf_match(const struct pbf_rule *r, const struct pbf_pkt *p, __u32 in_port)
{
	__u32 f = r->flags;

	if ((f & PBF_M_IN_PORT) && r->in_port != in_port)
		return 0;
	if ((f & PBF_M_SRC_MAC) && r->src_mac != p->src_mac)
		return 0;
	if ((f & PBF_M_DST_MAC) && r->dst_mac != p->dst_mac)
		return 0;
	if ((f & PBF_M_VLAN) && (!p->has_vlan || r->vlan != p->vlan))
		return 0;
	if ((f & (PBF_M_SRC_IP | PBF_M_DST_IP | PBF_M_L4PROTO)) && !p->has_ip)
		return 0;
	if ((f & PBF_M_SRC_IP) && r->src_ip != p->src_ip)
		return 0;
	if ((f & PBF_M_DST_IP) && r->dst_ip != p->dst_ip)
		return 0;
	if ((f & PBF_M_L4PROTO) && r->l4proto != p->l4proto)
		return 0;
	if ((f & (PBF_M_SRC_PORT | PBF_M_DST_PORT)) && !p->has_ports)
		return 0;
	if ((f & PBF_M_SRC_PORT) && r->src_port != p->src_port)
		return 0;
	if ((f & PBF_M_DST_PORT) && r->dst_port != p->dst_port)
		return 0;
	return 1;
}

/* One scan of the table: what the loop's callback reads and writes. */
struct pbf_scan {
	struct pbf_pkt p;
	__u32 base;    /* first key of the active table */
	__u32 in_port;
	__u32 found;
	__u32 action;
	__u32 out_port;
	__u32 id;
};

/* Rule i of the active table: 1 (stop) when it matches or is missing, 0 to
 * go on. A bpf_loop callback, which the verifier checks once: an inlined
 * loop of 256 rules was checked 256 times over every way the headers can
 * be parsed (~550k instructions at INFO, more at TRACE, seconds per load). */
static long pbf_scan_one(__u32 i, void *arg)
{
	struct pbf_scan *s = arg;
	__u32 key = s->base + (i & (PBF_MAX_RULES - 1));
	struct pbf_rule *r = bpf_map_lookup_elem(&pbf_rules, &key);

	if (!r)
		return 1;
	if (!pbf_match(r, &s->p, s->in_port))
		return 0;
	s->found = 1;
	s->action = r->action;
	s->out_port = r->out_port;
	s->id = r->id;
	return 1;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	struct pbf_scan s = {};
	__u32 zero = 0, ctl, n;
	__u32 *c = bpf_map_lookup_elem(&pbf_ctl, &zero);

	if (!c)
		return RX_DROP;
	/* One read: the table and its count go together. */
	ctl = *(volatile __u32 *)c;
	n = PBF_CTL_COUNT(ctl);
	if (n > PBF_MAX_RULES)
		n = PBF_MAX_RULES;
	s.base = (ctl & PBF_CTL_ACTIVE) ? PBF_MAX_RULES : 0;
	s.in_port = md->in_port;
	pbf_parse(ctx, &s.p);
	if (n)
		bpf_loop(n, pbf_scan_one, &s, 0);
	if (!s.found) {
		pcn_log(ctx, LOG_DEBUG, "pbforwarder: port %u: no rule matches (%u rules): drop", md->in_port, n);
		return RX_DROP;
	}
	switch (s.action) {
	case PBF_ACTION_FORWARD:
		pcn_log(ctx, LOG_TRACE, "pbforwarder: port %u: rule %u: forward to port %u", md->in_port, s.id,
			s.out_port);
		return pcn_pkt_send(ctx, md, s.out_port);
	case PBF_ACTION_SLOWPATH:
		pcn_log(ctx, LOG_DEBUG, "pbforwarder: port %u: rule %u: to the slow path", md->in_port, s.id);
		return pcn_pkt_controller_md(ctx, md, PBF_REASON_SLOWPATH, s.id, 0, 0);
	default:
		pcn_log(ctx, LOG_TRACE, "pbforwarder: port %u: rule %u: drop", md->in_port, s.id);
		return RX_DROP;
	}
}

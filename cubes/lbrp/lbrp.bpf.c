/* lbrp fast path: a reverse-proxy load balancer between a FRONTEND port
 * (clients) and a BACKEND port (servers).
 *
 *  - From the frontend, to a service (vip, port, proto): the flow's
 *    backend is the one the connection table remembers, or for a new flow
 *    (and a TCP SYN, which starts one) the Maglev table's entry for the
 *    flow's hash; the destination becomes the backend (and the source, with
 *    src-ip-rewrite, the new range's), both connection tables remember the
 *    flow, and the packet goes out of the backend port.
 *  - From the backend, a flow the reverse table knows: the source becomes
 *    the service again (and the destination the client's own address);
 *    out of the frontend port.
 *  - Anything else crosses to the other port as it is (ARP, other hosts).
 *
 * Checksums: at TC through the kernel's helpers (which also handle a
 * checksum left to offload, CHECKSUM_PARTIAL); at XDP by hand (RFC 1624),
 * which needs a full checksum in the packet: see README.md. */
#include "pcn.h"

#include <linux/tcp.h>
#include <linux/udp.h>

#include "lbrp_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LBRP_MAX_SVC_KEYS);
	__type(key, struct lbrp_svc_key);
	__type(value, struct lbrp_svc);
} lbrp_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LBRP_TABLES * LB_CHUNKS);
	__type(key, __u32);
	__type(value, struct lb_chunk);
} lbrp_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LBRP_TABLES * LBRP_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lbrp_backend);
} lbrp_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBRP_MAX_CONNS);
	__type(key, struct lbrp_flow);
	__type(value, struct lbrp_conn);
} lbrp_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LBRP_MAX_CONNS);
	__type(key, struct lbrp_flow);
	__type(value, struct lbrp_rev);
} lbrp_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lbrp_cfg);
} lbrp_cfg SEC(".maps");

#define LB_ETH_LEN 14

/* linux/icmp.h pulls in libc headers a BPF build cannot have. */
#define LB_ICMP_ECHOREPLY 0
#define LB_ICMP_ECHO 8
struct lb_icmp_echo {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 seq;
};

/* ---- checksums ------------------------------------------------------------ */

#if defined(PCN_HOOK_XDP)
static __always_inline __u32 lb_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 32-bit field. */
static __always_inline void lb_csum4(__u16 *sum, __u32 from, __u32 to)
{
	__u32 s = (__u16)~*sum;

	s += (~from >> 16) & 0xffff;
	s += ~from & 0xffff;
	s += to >> 16;
	s += to & 0xffff;
	*sum = (__u16)~lb_fold(s);
}

static __always_inline void lb_csum2(__u16 *sum, __u16 from, __u16 to)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~from;
	s += to;
	*sum = (__u16)~lb_fold(s);
}
#endif

/* What is rewritten in one packet: the packet's values before and after. */
struct lb_rw {
	__u32 l4_off;    /* from the frame's start */
	__u8 proto;
	__u8 csum_off;   /* of the L4 checksum within its header; 0: none */
	__be32 saddr, new_saddr;
	__be32 daddr, new_daddr;
	__be16 port, new_port; /* the port that changes (dest in, source out) */
	__u8 port_is_src;
};

/* Writes the new addresses and port and fixes the checksums. The packet's
 * pointers are invalid after it (the TC helpers may move the data). */
static __always_inline int lb_rewrite(struct __ctx_buff *ctx, const struct lb_rw *w)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct iphdr *ip = data + LB_ETH_LEN;
	__u32 l4 = w->l4_off & 0x7f;
	__be16 *ports;

	if ((void *)(ip + 1) > end)
		return -1;
	ports = data + l4;
	if ((void *)(ports + 2) > end)
		return -1;
	ip->saddr = w->new_saddr;
	ip->daddr = w->new_daddr;
	if (w->proto != IPPROTO_ICMP)
		ports[w->port_is_src ? 0 : 1] = w->new_port;
#if defined(PCN_HOOK_XDP)
	{
		__u16 *l4sum = data + l4 + (w->csum_off & 0x1f);

		lb_csum4(&ip->check, w->saddr, w->new_saddr);
		lb_csum4(&ip->check, w->daddr, w->new_daddr);
		if (!w->csum_off || (void *)(l4sum + 1) > end)
			return 0;
		/* UDP without a checksum stays without. */
		if (w->proto == IPPROTO_UDP && *l4sum == 0)
			return 0;
		lb_csum4(l4sum, w->saddr, w->new_saddr);
		lb_csum4(l4sum, w->daddr, w->new_daddr);
		lb_csum2(l4sum, w->port, w->new_port);
		if (w->proto == IPPROTO_UDP && *l4sum == 0)
			*l4sum = 0xffff;
	}
#else
	{
		__u32 ipsum = LB_ETH_LEN + offsetof(struct iphdr, check);
		__u32 l4sum = l4 + w->csum_off;
		__u64 flags = w->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

		bpf_l3_csum_replace(ctx, ipsum, w->saddr, w->new_saddr, 4);
		bpf_l3_csum_replace(ctx, ipsum, w->daddr, w->new_daddr, 4);
		if (!w->csum_off)
			return 0;
		bpf_l4_csum_replace(ctx, l4sum, w->saddr, w->new_saddr, flags | BPF_F_PSEUDO_HDR | 4);
		bpf_l4_csum_replace(ctx, l4sum, w->daddr, w->new_daddr, flags | BPF_F_PSEUDO_HDR | 4);
		bpf_l4_csum_replace(ctx, l4sum, w->port, w->new_port, flags | 2);
	}
#endif
	return 0;
}

/* ---- the Maglev table ------------------------------------------------------ */

/* The backend for a new flow of the service, or NULL (no backend holds an
 * entry: none, or all at weight 0). */
static __always_inline struct lbrp_backend *lb_pick(const struct lbrp_svc *svc, const struct lbrp_flow *f)
{
	__u32 h = lb_hash3(f->saddr, f->daddr, ((__u32)f->sport << 16 | f->dport) ^ ((__u32)f->proto << 8));
	__u32 slot = h % LB_M;
	__u32 table = svc->table;
	__u32 key;
	struct lb_chunk *c;
	__u32 idx;

	if (table >= LBRP_TABLES)
		return NULL;
	key = table * LB_CHUNKS + slot / LB_CHUNK;
	c = bpf_map_lookup_elem(&lbrp_maglev, &key);
	if (!c)
		return NULL;
	idx = c->e[slot & (LB_CHUNK - 1)];
	if (idx >= svc->n_backends || idx >= LBRP_MAX_BACKENDS)
		return NULL;
	key = table * LBRP_MAX_BACKENDS + idx;
	return bpf_map_lookup_elem(&lbrp_backends, &key);
}

/* ---- parsing ------------------------------------------------------------- */

struct lb_pkt {
	struct lbrp_flow f;
	__u32 l4_off;
	__u8 csum_off;
	__u8 syn; /* a TCP SYN without ACK: a new connection */
	__u8 ok;
};

static __always_inline void lb_parse(struct __ctx_buff *ctx, struct lb_pkt *p)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct iphdr *ip = pcn_ipv4_hdr(ctx);
	__u32 ihl;
	void *l4;

	if (!ip || ip->ihl < 5)
		return;
	/* A later fragment has no ports: it crosses as it is. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return;
	ihl = ip->ihl * 4;
	p->l4_off = LB_ETH_LEN + ihl;
	l4 = data + (p->l4_off & 0x7f);
	p->f.saddr = ip->saddr;
	p->f.daddr = ip->daddr;
	p->f.proto = ip->protocol;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *t = l4;

		if ((void *)(t + 1) > end)
			return;
		p->f.sport = t->source;
		p->f.dport = t->dest;
		p->syn = t->syn && !t->ack;
		p->csum_off = offsetof(struct tcphdr, check);
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *u = l4;

		if ((void *)(u + 1) > end)
			return;
		p->f.sport = u->source;
		p->f.dport = u->dest;
		p->csum_off = offsetof(struct udphdr, check);
	} else if (ip->protocol == IPPROTO_ICMP) {
		struct lb_icmp_echo *i = l4;

		if ((void *)(i + 1) > end)
			return;
		/* Echo only: the id names the flow both ways. The ICMP
		 * checksum covers no address: nothing to fix in it. */
		if (i->type != LB_ICMP_ECHO && i->type != LB_ICMP_ECHOREPLY)
			return;
		p->f.sport = i->id;
		p->f.dport = i->id;
		p->csum_off = 0;
	} else {
		return;
	}
	p->ok = 1;
}

/* ---- the two directions ---------------------------------------------------- */

static __always_inline int lb_from_frontend(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					    const struct lbrp_cfg *cfg, struct lb_pkt *p)
{
	struct lbrp_svc_key sk = {
		.vip = p->f.daddr,
		.port = p->f.proto == IPPROTO_ICMP ? 0 : p->f.dport,
		.proto = p->f.proto,
	};
	struct lbrp_svc *svc = bpf_map_lookup_elem(&lbrp_services, &sk);
	struct lbrp_conn *c, nc = {};
	struct lbrp_flow rk = {};
	struct lbrp_rev rv = {};
	struct lb_rw w = {};

	if (!svc) {
		pcn_log(ctx, LOG_TRACE, "lbrp: frontend: %pI4 is no service: to the backend port", &p->f.daddr);
		return pcn_pkt_send(ctx, md, cfg->backend_port);
	}
	c = bpf_map_lookup_elem(&lbrp_conns, &p->f);
	if (c && !p->syn) {
		nc = *c;
	} else {
		struct lbrp_backend *b = lb_pick(svc, &p->f);

		if (!b) {
			pcn_log(ctx, LOG_DEBUG, "lbrp: service %pI4: no backend up: drop", &p->f.daddr);
			return RX_DROP;
		}
		nc.backend_ip = b->ip;
		nc.backend_port = p->f.proto == IPPROTO_ICMP ? p->f.dport : b->port;
		nc.new_saddr = p->f.saddr;
		if (cfg->rw_mask && (p->f.saddr & cfg->rw_mask) == cfg->rw_net)
			nc.new_saddr = cfg->rw_new | (p->f.saddr & ~cfg->rw_mask);
		bpf_map_update_elem(&lbrp_conns, &p->f, &nc, BPF_ANY);
		rk.saddr = nc.backend_ip;
		rk.daddr = nc.new_saddr;
		rk.sport = nc.backend_port;
		rk.dport = p->f.sport;
		rk.proto = p->f.proto;
		rv.vip = p->f.daddr;
		rv.vport = p->f.dport;
		rv.client_ip = p->f.saddr;
		bpf_map_update_elem(&lbrp_rev, &rk, &rv, BPF_ANY);
		pcn_log(ctx, LOG_DEBUG, "lbrp: new flow %pI4:%u -> backend %pI4:%u", &p->f.saddr,
			bpf_ntohs(p->f.sport), &nc.backend_ip, bpf_ntohs(nc.backend_port));
	}
	w.l4_off = p->l4_off;
	w.proto = p->f.proto;
	w.csum_off = p->csum_off;
	w.saddr = p->f.saddr;
	w.new_saddr = nc.new_saddr;
	w.daddr = p->f.daddr;
	w.new_daddr = nc.backend_ip;
	w.port = p->f.dport;
	w.new_port = nc.backend_port;
	if (lb_rewrite(ctx, &w))
		return RX_DROP;
	return pcn_pkt_send(ctx, md, cfg->backend_port);
}

static __always_inline int lb_from_backend(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					   const struct lbrp_cfg *cfg, struct lb_pkt *p)
{
	struct lbrp_rev *rv = bpf_map_lookup_elem(&lbrp_rev, &p->f);
	struct lb_rw w = {};

	if (!rv)
		return pcn_pkt_send(ctx, md, cfg->frontend_port);
	w.l4_off = p->l4_off;
	w.proto = p->f.proto;
	w.csum_off = p->csum_off;
	w.saddr = p->f.saddr;
	w.new_saddr = rv->vip;
	w.daddr = p->f.daddr;
	w.new_daddr = rv->client_ip;
	w.port = p->f.sport;
	w.new_port = p->f.proto == IPPROTO_ICMP ? p->f.sport : rv->vport;
	w.port_is_src = 1;
	if (lb_rewrite(ctx, &w))
		return RX_DROP;
	return pcn_pkt_send(ctx, md, cfg->frontend_port);
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 zero = 0;
	struct lbrp_cfg *cfg = bpf_map_lookup_elem(&lbrp_cfg, &zero);
	struct lb_pkt p = {};

	if (!cfg)
		return RX_DROP;
	lb_parse(ctx, &p);
	if (md->in_port == cfg->frontend_port) {
		if (!p.ok)
			return pcn_pkt_send(ctx, md, cfg->backend_port);
		return lb_from_frontend(ctx, md, cfg, &p);
	}
	if (md->in_port == cfg->backend_port) {
		if (!p.ok)
			return pcn_pkt_send(ctx, md, cfg->frontend_port);
		return lb_from_backend(ctx, md, cfg, &p);
	}
	return RX_DROP;
}

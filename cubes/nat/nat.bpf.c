/* nat fast path: IPv4 TCP, UDP and ICMP translation with connection
 * tracking, for a transparent instance on the external side of its parent.
 *
 * Every packet first looks its tuple up in nat_ct (a pinned LRU hash: a
 * restart of the cube process keeps every flow). A hit rewrites addresses
 * and ports as the entry says. A miss going out (egress) that an SNAT rule
 * or masquerade covers starts a flow: an external port (ICMP: echo id) is
 * picked by hash and the reply direction's entry is inserted with
 * BPF_NOEXIST, so the insert itself is the lock: of two CPUs trying the
 * same port for two flows, one gets it and the other probes on
 * (NAT_PROBES tries, then the packet is dropped and counted). A miss
 * coming in that a port-forwarding or DNAT rule covers starts a flow the
 * same way (no port to allocate). ICMP errors (unreachable, time exceeded,
 * parameter problem) are matched by their inner header and translated
 * inside and out. Non-first fragments and IPv6 go on untouched.
 *
 * Checksums: at TC through bpf_l3_csum_replace/bpf_l4_csum_replace (they
 * know the skb's checksum state: CHECKSUM_PARTIAL from a local socket,
 * CHECKSUM_COMPLETE on receive); at XDP by hand (RFC 1624), as a frame has
 * no such state. The ICMP error path keeps every checksummed region's sum
 * unchanged (each change is compensated inside its region), so it writes
 * the bytes directly at both hooks. */
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pcn_transparent.h"
#include "pcn_clock.h"
#include "nat_shared.h"

/* linux/icmp.h pulls in libc's sys/socket.h, which a BPF build cannot. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
	} un;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_CT_MAX);
	__type(key, struct nat_key);
	__type(value, struct nat_val);
} nat_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_cfg);
} nat_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat_snat_key);
	__type(value, __u32);
} nat_snat SEC(".maps");

/* Destination NAT: external ip -> internal ip. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} nat_dnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct nat_pf_key);
	__type(value, struct nat_pf_val);
} nat_pf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_ctr);
} nat_ctr SEC(".maps");

#define NAT_SEC_NS 1000000000ULL
#define NAT_TCP_FIN 1
#define NAT_TCP_SYN 2

/* Where the translated fields sit, from the start of the frame. */
struct nat_pkt {
	__u32 l3;     /* IP header */
	__u32 l4;     /* TCP/UDP/ICMP header */
	__u32 csum;   /* the L4 checksum field (0: none to fix) */
	__u32 sport;  /* the field holding key.sport (ICMP: the id, or 0) */
	__u32 dport;  /* the field holding key.dport (ICMP: the id, or 0) */
	__u8 proto;
	__u8 tcpflags; /* NAT_TCP_FIN (FIN or RST), NAT_TCP_SYN (SYN) */
};

static __always_inline struct nat_ctr *nat_ctr_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nat_ctr, &zero);
}

/* ---- checksums by hand (RFC 1624: HC' = ~(~HC + ~m + m')) ------------------ */

static __always_inline __u16 nat_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* The checksum csum after a 32-bit word went from `from` to `to` (both as
 * they lie in memory: the sum is the same in either byte order). */
static __always_inline __u16 nat_csum32(__u16 csum, __u32 from, __u32 to)
{
	__u32 s = (__u16)~csum;

	s += (~from & 0xffff) + ((~from) >> 16) + (to & 0xffff) + (to >> 16);
	return (__u16)~nat_fold(s);
}

static __always_inline __u16 nat_csum16(__u16 csum, __u16 from, __u16 to)
{
	__u32 s = (__u16)~csum;

	s += (__u16)~from + to;
	return (__u16)~nat_fold(s);
}

/* ---- parsing ------------------------------------------------------------- */

/* Fills key and p from an IPv4 TCP/UDP/ICMP-echo packet; -1 for anything
 * else (passes untouched). *icmp_err is set for an ICMP error. */
static __always_inline int nat_parse(struct __ctx_buff *ctx, struct nat_key *key, struct nat_pkt *p, int *icmp_err)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl;

	*icmp_err = 0;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	ip = (struct iphdr *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->version != 4)
		return -1;
	/* A later fragment has no L4 header: not ours to translate. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return -1;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return -1;
	p->l3 = sizeof(*eth);
	p->l4 = sizeof(*eth) + ihl;
	p->proto = ip->protocol;
	p->tcpflags = 0;
	key->src = ip->saddr;
	key->dst = ip->daddr;
	key->proto = ip->protocol;
	key->pad = 0;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *th = data + p->l4;

		if ((void *)(th + 1) > end)
			return -1;
		key->sport = th->source;
		key->dport = th->dest;
		p->sport = p->l4;
		p->dport = p->l4 + 2;
		p->csum = p->l4 + offsetof(struct tcphdr, check);
		p->tcpflags = (th->fin || th->rst ? NAT_TCP_FIN : 0) | (th->syn ? NAT_TCP_SYN : 0);
		return 0;
	}
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *uh = data + p->l4;

		if ((void *)(uh + 1) > end)
			return -1;
		key->sport = uh->source;
		key->dport = uh->dest;
		p->sport = p->l4;
		p->dport = p->l4 + 2;
		/* A UDP checksum of 0 means none: leave it so. */
		p->csum = uh->check ? p->l4 + offsetof(struct udphdr, check) : 0;
		return 0;
	}
	if (ip->protocol == IPPROTO_ICMP) {
		struct icmphdr *ic = data + p->l4;

		if ((void *)(ic + 1) > end)
			return -1;
		p->csum = p->l4 + offsetof(struct icmphdr, checksum);
		if (ic->type == ICMP_ECHO) {
			key->sport = ic->un.echo.id;
			key->dport = 0;
			p->sport = p->l4 + 4;
			p->dport = 0;
			return 0;
		}
		if (ic->type == ICMP_ECHOREPLY) {
			key->sport = 0;
			key->dport = ic->un.echo.id;
			p->sport = 0;
			p->dport = p->l4 + 4;
			return 0;
		}
		if (ic->type == ICMP_DEST_UNREACH || ic->type == ICMP_TIME_EXCEEDED ||
		    ic->type == ICMP_PARAMETERPROB) {
			*icmp_err = 1;
			return 0;
		}
	}
	return -1;
}

/* ---- rewriting ------------------------------------------------------------ */

#ifdef PCN_HOOK_TC
/* A 32-bit address at off; the IP checksum and, with l4csum, the L4 one
 * (pseudo header) follow. */
static __always_inline int nat_set_addr(struct __ctx_buff *ctx, const struct nat_pkt *p, __u32 off, __u32 from,
					__u32 to)
{
	if (from == to)
		return 0;
	if (p->csum && p->proto != IPPROTO_ICMP &&
	    bpf_l4_csum_replace(ctx, p->csum, from, to, BPF_F_PSEUDO_HDR | sizeof(to) |
							    (p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0)))
		return -1;
	if (bpf_l3_csum_replace(ctx, p->l3 + offsetof(struct iphdr, check), from, to, sizeof(to)))
		return -1;
	return bpf_skb_store_bytes(ctx, off, &to, sizeof(to), 0) ? -1 : 0;
}

static __always_inline int nat_set_port(struct __ctx_buff *ctx, const struct nat_pkt *p, __u32 off, __u16 from,
					__u16 to)
{
	if (!off || from == to)
		return 0;
	if (p->csum && bpf_l4_csum_replace(ctx, p->csum, from, to,
					   sizeof(to) | (p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0)))
		return -1;
	return bpf_skb_store_bytes(ctx, off, &to, sizeof(to), 0) ? -1 : 0;
}
#else
static __always_inline __u16 *nat_u16_at(struct __ctx_buff *ctx, __u32 off)
{
	void *ptr = ctx_data(ctx) + (off & 0xffff);

	if (ptr + sizeof(__u16) > ctx_data_end(ctx))
		return NULL;
	return ptr;
}

static __always_inline void nat_fix_l4(struct __ctx_buff *ctx, const struct nat_pkt *p, __u32 from, __u32 to,
				       int is32)
{
	__u16 *c;

	if (!p->csum || !(c = nat_u16_at(ctx, p->csum)))
		return;
	*c = is32 ? nat_csum32(*c, from, to) : nat_csum16(*c, (__u16)from, (__u16)to);
	if (p->proto == IPPROTO_UDP && !*c)
		*c = 0xffff;
}

static __always_inline int nat_set_addr(struct __ctx_buff *ctx, const struct nat_pkt *p, __u32 off, __u32 from,
					__u32 to)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 *a;

	if (from == to)
		return 0;
	if ((void *)(ip + 1) > end)
		return -1;
	a = off == p->l3 + offsetof(struct iphdr, saddr) ? &ip->saddr : &ip->daddr;
	*a = to;
	ip->check = nat_csum32(ip->check, from, to);
	if (p->proto != IPPROTO_ICMP)
		nat_fix_l4(ctx, p, from, to, 1);
	return 0;
}

static __always_inline int nat_set_port(struct __ctx_buff *ctx, const struct nat_pkt *p, __u32 off, __u16 from,
					__u16 to)
{
	__u16 *f;

	if (!off || from == to)
		return 0;
	f = nat_u16_at(ctx, off);
	if (!f)
		return -1;
	*f = to;
	nat_fix_l4(ctx, p, from, to, 0);
	return 0;
}
#endif

/* Rewrites the packet whose tuple is k to v's tuple. */
static __always_inline int nat_rewrite(struct __ctx_buff *ctx, const struct nat_pkt *p, const struct nat_key *k,
				       const struct nat_val *v)
{
	if (nat_set_port(ctx, p, p->sport, k->sport, v->sport) || nat_set_port(ctx, p, p->dport, k->dport, v->dport))
		return -1;
	if (nat_set_addr(ctx, p, p->l3 + offsetof(struct iphdr, saddr), k->src, v->src) ||
	    nat_set_addr(ctx, p, p->l3 + offsetof(struct iphdr, daddr), k->dst, v->dst))
		return -1;
	return 0;
}

/* ---- flows ---------------------------------------------------------------- */

/* The entry of the other direction: the reverse of val's tuple, mapping to
 * the reverse of key's. */
static __always_inline void nat_reverse(const struct nat_key *k, const struct nat_val *v, __u8 dir,
					struct nat_key *rk, struct nat_val *rv)
{
	rk->src = v->dst;
	rk->dst = v->src;
	rk->sport = v->dport;
	rk->dport = v->sport;
	rk->proto = k->proto;
	rk->dir = dir ^ 1;
	rk->pad = 0;
	rv->src = k->dst;
	rv->dst = k->src;
	rv->sport = k->dport;
	rv->dport = k->sport;
	rv->rule = v->rule;
	rv->closing = 0;
	rv->seen_ns = v->seen_ns;
}

/* murmur3's finalizer: every input bit moves every output bit. */
static __always_inline __u32 nat_fmix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Each word mixed in turn: flows that differ in one byte of one field
 * (sources of one subnet, consecutive ports) spread over every port. */
static __always_inline __u32 nat_hash(const struct nat_key *k)
{
	__u32 h = nat_fmix(k->src ^ 0x2545f491u);

	h = nat_fmix(h ^ k->dst);
	h = nat_fmix(h ^ ((__u32)k->sport << 16 | k->dport));
	return nat_fmix(h ^ k->proto);
}

/* A new outgoing flow k -> source ext: picks the external port (or echo
 * id), inserts both entries, and returns the one for k in *out. 0, or -1
 * when no port was free in NAT_PROBES tries. */
static __always_inline int nat_new_out(const struct nat_key *k, __u32 ext, __u8 rule, const struct nat_cfg *cfg,
				       struct nat_val *out)
{
	__u32 min = cfg->port_min ? cfg->port_min : 1024, max = cfg->port_max ? cfg->port_max : 65535;
	__u32 range, h = nat_hash(k);
	struct nat_val v = { .src = ext, .dst = k->dst, .rule = rule, .seen_ns = pcn_now() };
	struct nat_key rk;
	struct nat_val rv, *cur;

	if (max < min)
		max = min;
	range = max - min + 1;
	v.dport = k->dport;
	for (__u32 i = 0; i < NAT_PROBES; i++) {
		/* Each probe hashed anew (no stride: flows whose first
		 * ports collide do not walk the same chain of ports), so a
		 * new flow fails only when NAT_PROBES random ports are all
		 * taken: at 10,000 flows to one destination (15% of the
		 * ports) about 1e-13. */
		__u16 port = bpf_htons((__u16)(min + nat_fmix(h + i * 0x9e3779b9u) % range));

		/* An echo request's id is its sport; any other flow's
		 * source port too. */
		v.sport = port;
		nat_reverse(k, &v, NAT_DIR_OUT, &rk, &rv);
		if (bpf_map_update_elem(&nat_ct, &rk, &rv, BPF_NOEXIST))
			continue; /* taken by another flow (or CPU) */
		if (bpf_map_update_elem(&nat_ct, k, &v, BPF_NOEXIST) == 0) {
			*out = v;
			return 0;
		}
		/* Another CPU started this very flow first: use its entry. */
		bpf_map_delete_elem(&nat_ct, &rk);
		cur = bpf_map_lookup_elem(&nat_ct, k);
		/* Keeps clang from merging cur with &v before the check. */
		asm volatile("" : "+r"(cur));
		if (!cur)
			return -1;
		__builtin_memcpy(out, cur, sizeof(*out));
		return 0;
	}
	return -1;
}

/* A new incoming flow k -> v (port forwarding, DNAT): both entries. */
static __always_inline int nat_new_in(const struct nat_key *k, struct nat_val *v)
{
	struct nat_key rk;
	struct nat_val rv;

	v->seen_ns = pcn_now();
	nat_reverse(k, v, NAT_DIR_IN, &rk, &rv);
	if (bpf_map_update_elem(&nat_ct, &rk, &rv, BPF_ANY))
		return -1;
	return bpf_map_update_elem(&nat_ct, k, v, BPF_ANY) ? -1 : 0;
}

/* ---- ICMP errors ------------------------------------------------------------ */

/* The error's inner header is a packet of a tracked flow as it was on the
 * wire in the other direction. Its reverse, in this direction, is the key
 * of the entry of this direction; the inner header becomes the reverse of
 * that entry's value, and the outer address that was the inner packet's
 * (the destination coming in, the source going out) follows. Inner IP
 * header of 20 bytes, inner L4 header's first 8 bytes needed. */
static __always_inline int nat_icmp_error(struct __ctx_buff *ctx, __u8 dir, const struct nat_pkt *p)
{
	void *data, *end;
	struct iphdr *oip, *iip;
	struct icmphdr *ic;
	__u16 *isp, *idp, *il4c = NULL, *ic_c;
	struct nat_key k = {};
	struct nat_val *v, nv;
	__u32 l4off;
	__u16 ncheck;
	int tcp_ok = 0;
	__u8 iproto;

#ifdef PCN_HOOK_TC
	/* Direct access below: the headers must be in the linear part. */
	if (bpf_skb_pull_data(ctx, p->l4 + 8 + 20 + 20))
		bpf_skb_pull_data(ctx, p->l4 + 8 + 20 + 8);
#endif
	data = ctx_data(ctx);
	end = ctx_data_end(ctx);
	l4off = p->l4 & 0xff;
	oip = data + sizeof(struct ethhdr);
	ic = data + l4off;
	iip = (void *)(ic + 1);
	if ((void *)(oip + 1) > end || (void *)(iip + 1) > end || iip->ihl != 5)
		return -1;
	isp = (void *)(iip + 1);
	idp = isp + 1;
	if ((void *)(isp + 4) > end)
		return -1;
	iproto = iip->protocol;
	k.proto = iproto;
	k.dir = dir;
	k.src = iip->daddr;
	k.dst = iip->saddr;
	if (iproto == IPPROTO_TCP || iproto == IPPROTO_UDP) {
		k.sport = *idp;
		k.dport = *isp;
		if (iproto == IPPROTO_UDP)
			il4c = isp + 3;
		else if ((void *)(isp + 10) <= end) {
			il4c = isp + 8;
			tcp_ok = 1;
		}
	} else if (iproto == IPPROTO_ICMP) {
		struct icmphdr *iic = (void *)(iip + 1);

		if ((void *)(iic + 1) > end)
			return -1;
		/* The inner echo's id, in the position its reverse has. */
		if (iic->type == ICMP_ECHO) {
			k.sport = 0;
			k.dport = iic->un.echo.id;
		} else if (iic->type == ICMP_ECHOREPLY) {
			k.sport = iic->un.echo.id;
			k.dport = 0;
		} else {
			return -1;
		}
		isp = (__u16 *)&iic->un.echo.id;
		idp = isp;
		il4c = (__u16 *)&iic->checksum;
	} else {
		return -1;
	}
	v = bpf_map_lookup_elem(&nat_ct, &k);
	if (!v)
		return -1;
	nv = *v;
	ic_c = (__u16 *)&ic->checksum;

	/* Outer address first (outside the ICMP message: the IP checksum). */
	if (dir == NAT_DIR_IN && oip->daddr == iip->saddr && nv.dst != oip->daddr) {
		oip->check = nat_csum32(oip->check, oip->daddr, nv.dst);
		oip->daddr = nv.dst;
	} else if (dir == NAT_DIR_OUT && oip->saddr == iip->daddr && nv.src != oip->saddr) {
		oip->check = nat_csum32(oip->check, oip->saddr, nv.src);
		oip->saddr = nv.src;
	}
	/* Inner header: reverse(nv). Every word changed inside the ICMP
	 * message is compensated in the ICMP checksum. */
	if (iip->saddr != nv.dst || iip->daddr != nv.src) {
		__u32 os = iip->saddr, od = iip->daddr;
		__u16 oc = iip->check;

		iip->saddr = nv.dst;
		iip->daddr = nv.src;
		ncheck = nat_csum32(nat_csum32(oc, os, nv.dst), od, nv.src);
		iip->check = ncheck;
		*ic_c = nat_csum32(nat_csum32(*ic_c, os, nv.dst), od, nv.src);
		*ic_c = nat_csum16(*ic_c, oc, ncheck);
		if (il4c && iproto != IPPROTO_ICMP && (iproto == IPPROTO_TCP ? tcp_ok : *il4c != 0)) {
			__u16 ol = *il4c, nl = nat_csum32(nat_csum32(ol, os, nv.dst), od, nv.src);

			*il4c = nl;
			*ic_c = nat_csum16(*ic_c, ol, nl);
		}
	}
	if (iproto == IPPROTO_ICMP && il4c) {
		__u16 oid = *isp, nid = k.dport ? nv.dport : nv.sport;

		if (oid != nid) {
			__u16 ol = *il4c, nl = nat_csum16(ol, oid, nid);

			*isp = nid;
			*il4c = nl;
			*ic_c = nat_csum16(nat_csum16(*ic_c, oid, nid), ol, nl);
		}
	} else {
		__u16 os = *isp, od = *idp;

		if (os != nv.dport || od != nv.sport) {
			*isp = nv.dport;
			*idp = nv.sport;
			*ic_c = nat_csum16(nat_csum16(*ic_c, os, nv.dport), od, nv.sport);
			if (il4c && (iproto == IPPROTO_TCP ? tcp_ok : *il4c != 0)) {
				__u16 ol = *il4c, nl = nat_csum16(nat_csum16(ol, os, nv.dport), od, nv.sport);

				*il4c = nl;
				*ic_c = nat_csum16(*ic_c, ol, nl);
			}
		}
	}
	return 0;
}

/* ---- the pipeline ------------------------------------------------------------- */

static __always_inline int nat_process(struct __ctx_buff *ctx, __u8 dir)
{
	struct nat_key k;
	struct nat_val v = {}, *cur;
	struct nat_pkt p;
	struct nat_cfg *cfg;
	struct nat_ctr *c = nat_ctr_get();
	__u32 zero = 0;
	int icmp_err;

	if (nat_parse(ctx, &k, &p, &icmp_err))
		return RX_OK;
	k.dir = dir;
	if (icmp_err) {
		if (nat_icmp_error(ctx, dir, &p) == 0 && c) {
			c->icmp_errors++;
			c->translated++;
		}
		return RX_OK;
	}
	cur = bpf_map_lookup_elem(&nat_ct, &k);
	if (cur) {
		__u64 now = pcn_now();

		/* One write a second at most: no cache line bouncing per packet. */
		if (now - cur->seen_ns > NAT_SEC_NS)
			cur->seen_ns = now;
		/* A FIN or RST starts the short timeout; a SYN or SYN-ACK on the
		 * same tuple (a new connection reusing it) ends it. */
		if ((p.tcpflags & NAT_TCP_FIN) && !cur->closing)
			cur->closing = 1;
		else if ((p.tcpflags & NAT_TCP_SYN) && cur->closing)
			cur->closing = 0;
		v = *cur;
		goto rewrite;
	}
	cfg = bpf_map_lookup_elem(&nat_cfg, &zero);
	if (!cfg)
		return RX_OK;
	if (dir == NAT_DIR_OUT) {
		struct nat_snat_key sk = { .prefixlen = 32, .addr = k.src };
		__u32 *ext = bpf_map_lookup_elem(&nat_snat, &sk), ip;
		__u8 rule = NAT_RULE_SNAT;

		/* A reply of an untracked flow (echo reply) starts nothing. */
		if (p.proto == IPPROTO_ICMP && !p.sport)
			return RX_OK;
		if (ext) {
			ip = *ext;
		} else if (cfg->masq && cfg->masq_ip && k.src != cfg->masq_ip) {
			ip = cfg->masq_ip;
			rule = NAT_RULE_MASQ;
		} else {
			return RX_OK;
		}
		if (nat_new_out(&k, ip, rule, cfg, &v)) {
			if (c)
				c->no_port++;
			return RX_DROP;
		}
	} else {
		struct nat_pf_key pk = { .ip = k.dst, .port = k.dport, .proto = k.proto };
		struct nat_pf_val *pf = NULL;
		__u32 *in;

		if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) {
			pf = bpf_map_lookup_elem(&nat_pf, &pk);
			if (!pf) {
				pk.proto = 0;
				pf = bpf_map_lookup_elem(&nat_pf, &pk);
			}
		}
		v.src = k.src;
		v.sport = k.sport;
		if (pf) {
			v.dst = pf->ip;
			v.dport = pf->port;
			v.rule = NAT_RULE_PF;
		} else if ((in = bpf_map_lookup_elem(&nat_dnat, &k.dst))) {
			if (p.proto == IPPROTO_ICMP && !p.sport)
				return RX_OK;
			v.dst = *in;
			v.dport = k.dport;
			v.rule = NAT_RULE_DNAT;
		} else {
			return RX_OK;
		}
		if (nat_new_in(&k, &v))
			return RX_OK;
	}
	if (c)
		c->new_flows++;
rewrite:
	if (nat_rewrite(ctx, &p, &k, &v))
		return RX_DROP;
	if (c)
		c->translated++;
	return RX_OK;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)md;
	return nat_process(ctx, NAT_DIR_IN);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)md;
	return nat_process(ctx, NAT_DIR_OUT);
}

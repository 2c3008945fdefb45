/* firewall fast path: a transparent cube; packets from the wire go
 * through the INGRESS chain (handle_rx), packets toward it through EGRESS
 * (handle_tx). Non-IPv4 packets (ARP, IPv6) pass, as in Polycube.
 *
 * Per IPv4 packet: the connection-tracking label (when conntrack is ON),
 * then, unless accept-established lets an ESTABLISHED packet through at
 * once, the Linear Bit Vector Search of firewall_shared.h over the chain's
 * active set; the first matching rule's action (or the chain's default)
 * decides and its counters grow. A forwarded packet updates its
 * connection's entry (a NEW one creates it). */
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pcn_transparent.h"
#include "pcn_clock.h"
#include "firewall_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fw_lpm_key);
	__type(value, __u32); /* index in fw_bvs */
} fw_lpm SEC(".maps");

/* Values named by some rule; a value no rule names finds nothing and takes
 * the field's wildcard vector. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fw_exact_key);
	__type(value, __u32); /* index in fw_bvs */
} fw_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FW_SETS * FW_BV_PER_SET);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct fw_bv);
} fw_bvs SEC(".maps");

/* The wildcards, the all-rules vector and the small fields' values
 * (firewall_shared.h): read with inlined lookups. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_SETS * FW_FIX_PER_SET);
	__type(key, __u32);
	__type(value, struct fw_bv);
} fw_fixed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_SETS);
	__type(key, __u32);
	__type(value, struct fw_setinfo);
} fw_setinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_SETS * FW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fw_rule_info);
} fw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_CHAINS * FW_SLOTS);
	__type(key, __u32);
	__type(value, struct fw_cnt);
} fw_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_CTL_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} fw_ctl SEC(".maps");

/* Shared by both chains and every CPU. Races between CPUs on one entry
 * (two packets of one connection at once on two CPUs) are tolerated by
 * design: creation is BPF_NOEXIST (one wins, the other's packet sees the
 * winner's entry next time), and an update is plain stores of a state and
 * a time that each packet computes whole; the last writer wins, and either
 * result is a state the connection has been in. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FW_CT_MAX);
	__type(key, struct fw_ct_key);
	__type(value, struct fw_ct_val);
} fw_ct SEC(".maps");

/* ICMP's header (linux/icmp.h pulls in libc headers). */
struct fw_icmphdr {
	__u8 type;
	__u8 code;
	__be16 csum;
	__be16 id;
	__be16 seq;
};
#define FW_ICMP_ECHOREPLY 0
#define FW_ICMP_ECHO 8

struct fw_pkt {
	__u32 saddr, daddr;
	__u16 sport, dport; /* network order; 0 without ports */
	__u8 proto;
	__u8 has_ports;
	__u8 flags;  /* TCP flags byte (CWR..FIN) */
	__u8 icmp_type;
	__u8 tracked; /* TCP, UDP, ICMP echo */
	__u8 related; /* an ICMP error: key is the connection it quotes */
	__u8 lo_is_src;
	struct fw_ct_key key;
};

static __always_inline void fw_make_key(struct fw_pkt *p, __u32 saddr, __u32 daddr, __u16 sport, __u16 dport,
					__u8 proto)
{
	__u64 s = ((__u64)bpf_ntohl(saddr) << 16) | bpf_ntohs(sport);
	__u64 d = ((__u64)bpf_ntohl(daddr) << 16) | bpf_ntohs(dport);

	p->lo_is_src = s <= d;
	p->key.ip_lo = p->lo_is_src ? saddr : daddr;
	p->key.ip_hi = p->lo_is_src ? daddr : saddr;
	p->key.port_lo = p->lo_is_src ? sport : dport;
	p->key.port_hi = p->lo_is_src ? dport : sport;
	p->key.proto = proto;
}

/* An ICMP error quotes the header of the packet it is about (and 8 bytes
 * after it): that packet's connection, if tracked, makes the error
 * RELATED. The key is the same whichever way the quoted packet went. */
static __always_inline int fw_parse_quoted(struct fw_pkt *p, struct iphdr *in, void *end)
{
	__u16 *l4;

	if ((void *)(in + 1) > end || in->ihl != 5 || (in->frag_off & bpf_htons(0x1fff)))
		return 0;
	l4 = (void *)(in + 1);
	if ((void *)(l4 + 4) > end)
		return 0;
	if (in->protocol == IPPROTO_TCP || in->protocol == IPPROTO_UDP)
		fw_make_key(p, in->saddr, in->daddr, l4[0], l4[1], in->protocol);
	else if (in->protocol == IPPROTO_ICMP)
		fw_make_key(p, in->saddr, in->daddr, l4[2], l4[2], in->protocol); /* the echo id */
	else
		return 0;
	p->related = 1;
	return 0;
}

/* 0 when the packet is IPv4 and parsed; -1 to let it pass. */
static __always_inline int fw_parse(struct __ctx_buff *ctx, struct fw_pkt *p)
{
	void *end = ctx_data_end(ctx);
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	struct iphdr *ip;
	void *l4;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return -1;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	if (ip->frag_off & bpf_htons(0x1fff))
		return 0; /* a later fragment: no L4 header */
	l4 = (void *)ip + ip->ihl * 4;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end)
			return 0;
		p->sport = th->source;
		p->dport = th->dest;
		p->has_ports = 1;
		p->flags = ((__u8 *)th)[13];
		p->tracked = 1;
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end)
			return 0;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->has_ports = 1;
		p->tracked = 1;
	} else if (ip->protocol == IPPROTO_ICMP) {
		struct fw_icmphdr *ih = l4;

		if ((void *)(ih + 1) > end)
			return 0;
		p->icmp_type = ih->type;
		if (ih->type == FW_ICMP_ECHO || ih->type == FW_ICMP_ECHOREPLY) {
			/* The echo identifier stands for both ports. */
			p->sport = p->dport = ih->id;
			p->tracked = 1;
		} else if (ih->type == 3 || ih->type == 4 || ih->type == 5 || ih->type == 11 || ih->type == 12) {
			return fw_parse_quoted(p, (void *)(ih + 1), end);
		}
	}
	if (p->tracked)
		fw_make_key(p, p->saddr, p->daddr, p->sport, p->dport, p->proto);
	return 0;
}

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

/* The packet's conntrack label, and the state its entry moves to if the
 * packet is forwarded (*next; FW_CT_NSTATES: leave the entry as it is). */
static __always_inline __u32 fw_ct_label(const struct fw_pkt *p, const struct fw_ct_val *v, __u8 *next)
{
	__u8 f = p->flags, from_init;

	*next = FW_CT_NSTATES;
	if (p->related)
		return v ? FW_CT_RELATED : FW_CT_INVALID;
	if (!p->tracked)
		return FW_CT_INVALID;
	if (!v) {
		if (p->proto == IPPROTO_TCP) {
			if ((f & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)) != TCPF_SYN)
				return FW_CT_INVALID;
			*next = FW_TCP_SYN_SENT;
			return FW_CT_NEW;
		}
		if (p->proto == IPPROTO_ICMP && p->icmp_type != FW_ICMP_ECHO)
			return FW_CT_INVALID;
		*next = FW_FLOW_NEW;
		return FW_CT_NEW;
	}
	from_init = v->init_lo == p->lo_is_src;
	if (p->proto != IPPROTO_TCP) {
		if (v->state == FW_FLOW_NEW && from_init) {
			*next = FW_FLOW_NEW; /* refresh */
			return FW_CT_NEW;
		}
		*next = FW_FLOW_ESTABLISHED;
		return FW_CT_ESTABLISHED;
	}
	if (f & TCPF_RST) {
		*next = FW_TCP_CLOSED;
		return FW_CT_ESTABLISHED;
	}
	/* A new SYN on the tuple of a closed or closing connection opens a
	 * new one (port reuse). */
	if ((f & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN && (v->state >= FW_TCP_TIME_WAIT || v->state == FW_TCP_SYN_SENT)) {
		if (v->state != FW_TCP_SYN_SENT || from_init) {
			*next = FW_TCP_SYN_SENT;
			return FW_CT_NEW;
		}
		return FW_CT_INVALID;
	}
	switch (v->state) {
	case FW_TCP_SYN_SENT:
		if (!from_init && (f & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
			*next = FW_TCP_SYN_RECV;
			return FW_CT_ESTABLISHED;
		}
		return FW_CT_INVALID;
	case FW_TCP_SYN_RECV:
		if (from_init && (f & TCPF_ACK) && !(f & TCPF_SYN))
			*next = FW_TCP_ESTABLISHED;
		else
			*next = FW_TCP_SYN_RECV;
		return FW_CT_ESTABLISHED;
	case FW_TCP_ESTABLISHED:
		*next = (f & TCPF_FIN) ? FW_TCP_FIN_WAIT : FW_TCP_ESTABLISHED;
		return FW_CT_ESTABLISHED;
	case FW_TCP_FIN_WAIT:
		/* The other end's FIN (which end sent the first is in fin_lo). */
		*next = ((f & TCPF_FIN) && v->fin_lo != p->lo_is_src) ? FW_TCP_LAST_ACK : FW_TCP_FIN_WAIT;
		return FW_CT_ESTABLISHED;
	case FW_TCP_LAST_ACK:
		*next = (f & TCPF_ACK) ? FW_TCP_TIME_WAIT : FW_TCP_LAST_ACK;
		return FW_CT_ESTABLISHED;
	default: /* TIME_WAIT, CLOSED: late segments */
		*next = v->state;
		return FW_CT_ESTABLISHED;
	}
}

static __always_inline void fw_ct_update(const struct fw_pkt *p, struct fw_ct_val *v, __u8 next)
{
	__u64 now;

	if (next == FW_CT_NSTATES)
		return;
	now = pcn_now();
	if (!v || ((next == FW_TCP_SYN_SENT || next == FW_FLOW_NEW) && v->state != next)) {
		struct fw_ct_val n = { .last_ns = now, .state = next, .init_lo = p->lo_is_src };

		/* A new connection (or a new one on a reused tuple). */
		bpf_map_update_elem(&fw_ct, &p->key, &n, v ? BPF_EXIST : BPF_NOEXIST);
		return;
	}
	if (next == FW_TCP_FIN_WAIT && v->state != FW_TCP_FIN_WAIT)
		v->fin_lo = p->lo_is_src;
	v->state = next;
	v->last_ns = now;
}

/* One LBVS scan: the vector of each field (an unused one: every rule). */
struct fw_scan {
	const struct fw_bv *bv[FW_NFIELDS]; /* the packet's value's vector per field */
	__u32 nwords;                       /* words holding rules */
	__u32 found;                        /* position + 1 of the first match; 0: none */
};

/* Words per call of the scan's callback: a call and its return cost more
 * than a word's loads on a host with return-stack mitigations. Measured
 * here (BPF_PROG_TEST_RUN, 5,000 rules, the last matching): 1 word a call
 * 1146 ns a packet, 8: 605, 16: 484, 40: 430; 10 rules: ~300. */
#define FW_SCAN_STRIDE 40
#define FW_SCAN_CALLS ((FW_WORDS + FW_SCAN_STRIDE - 1) / FW_SCAN_STRIDE)

static __always_inline __u32 fw_lowbit(__u64 w)
{
	__u32 n = 0;

	if (!(w & 0xffffffffULL)) {
		n += 32;
		w >>= 32;
	}
	if (!(w & 0xffff)) {
		n += 16;
		w >>= 16;
	}
	if (!(w & 0xff)) {
		n += 8;
		w >>= 8;
	}
	if (!(w & 0xf)) {
		n += 4;
		w >>= 4;
	}
	if (!(w & 0x3)) {
		n += 2;
		w >>= 2;
	}
	if (!(w & 0x1))
		n += 1;
	return n;
}

/* Words i * FW_SCAN_STRIDE on of the fields' vectors, ANDed word by word
 * (an unused field's is every rule's: a load of a word in cache, no
 * branch, which would multiply the paths the verifier walks); 1 (stop) at
 * the first set bit or past the last word. Inlined for the first
 * FW_SCAN_STRIDE words (no call), else in fw_scan_words, a bpf_loop
 * callback: the verifier checks it once, not once per call. */
static __always_inline long fw_scan_body(__u32 i, struct fw_scan *s)
{
	__u32 n = s->nwords;
	__u64 base = i;

	/* The bound is checked on the register that indexes (clang checked
	 * a copy the verifier could not link to it). */
	asm volatile("if %[v] < 2 goto +1; %[v] = 0" : [v] "+r"(base)); /* FW_SCAN_CALLS */
	base *= FW_SCAN_STRIDE;
#pragma unroll
	for (int k = 0; k < FW_SCAN_STRIDE; k++) {
		__u64 idx = base + k, w;

		if (idx >= n)
			return 1;
		/* On the register that indexes (see above). */
		asm volatile("if %[v] < 80 goto +1; %[v] = 0" : [v] "+r"(idx)); /* FW_WORDS */
		w = s->bv[0]->w[idx] & s->bv[1]->w[idx] & s->bv[2]->w[idx] & s->bv[3]->w[idx] &
		    s->bv[4]->w[idx] & s->bv[5]->w[idx] & s->bv[6]->w[idx];
		if (w) {
			s->found = (__u32)idx * 64 + fw_lowbit(w) + 1;
			return 1;
		}
	}
	return 0;
}

static long fw_scan_words(__u32 i, void *arg)
{
	return fw_scan_body(i, arg);
}

static __always_inline struct fw_bv *fw_fixed_bv(__u32 set, __u32 i)
{
	__u32 k = FW_FIX_IDX(set, i);

	return bpf_map_lookup_elem(&fw_fixed, &k);
}

/* An address's or a port's vector: the value's (its index in `map`, then
 * the vector: two lookups) if some rule names it, else the field's
 * wildcard (inlined). */
static __always_inline struct fw_bv *fw_value_bv(void *map, const void *key, __u32 set, __u32 field)
{
	__u32 *idx = bpf_map_lookup_elem(map, key);
	struct fw_bv *bv;
	__u32 w;

	if (!idx) {
		bv = fw_fixed_bv(set, field);
		/* Keeps clang from merging the two lookups into one call
		 * with the map in a register: the verifier then inlines
		 * neither (a call through the map's ops, ~20 ns more). */
		asm volatile("" : "+r"(bv));
		return bv;
	}
	w = *idx;
	return bpf_map_lookup_elem(&fw_bvs, &w);
}

static __always_inline struct fw_bv *fw_lpm_bv(__u32 set, __u32 field, __u32 addr)
{
	struct fw_lpm_key k = { .prefixlen = 64, .set = set, .field = field, .addr = addr };

	return fw_value_bv(&fw_lpm, &k, set, field);
}

static __always_inline struct fw_bv *fw_port_bv(__u32 set, __u32 field, __u32 value)
{
	struct fw_exact_key k = { .set = set, .field = field, .value = value };

	return fw_value_bv(&fw_exact, &k, set, field);
}

/* What fw_scan reads from fw_fixed itself: the small fields' entries. */
struct fw_scan_arg {
	__u32 set;
	__u32 proto; /* entries of fw_fixed (FW_FIX_*) */
	__u32 flags;
	__u32 ct;
	__u32 nwords;
};

#define FW_SCAN_ERR 0xffffffffu /* a vector missing: drop, as for any table missing */

/* The LBVS scan of a set: position + 1 of the first rule all seven
 * vectors have, 0 if none (FW_SCAN_ERR: see above). The four big fields' vectors are arguments:
 * each from fw_bvs (hash) or fw_fixed (array), 16 kinds of caller that
 * the verifier would otherwise walk the scan for, one by one (past its
 * million instructions); a global function is checked once, its pointer
 * arguments as plain memory of a vector's size. */
__attribute__((noinline)) __u32 fw_scan(const struct fw_bv *src, const struct fw_bv *dst, const struct fw_bv *sport,
					const struct fw_bv *dport, const struct fw_scan_arg *a)
{
	struct fw_scan s = {};

	if (!src || !dst || !sport || !dport || !a)
		return FW_SCAN_ERR;
	s.bv[FW_F_SRC] = src;
	s.bv[FW_F_DST] = dst;
	s.bv[FW_F_SPORT] = sport;
	s.bv[FW_F_DPORT] = dport;
	s.bv[FW_F_PROTO] = fw_fixed_bv(a->set, a->proto);
	s.bv[FW_F_FLAGS] = fw_fixed_bv(a->set, a->flags);
	s.bv[FW_F_CT] = fw_fixed_bv(a->set, a->ct);
	if (!s.bv[FW_F_PROTO] || !s.bv[FW_F_FLAGS] || !s.bv[FW_F_CT])
		return FW_SCAN_ERR;
	s.nwords = a->nwords < FW_WORDS ? a->nwords : FW_WORDS;
	/* Up to FW_SCAN_STRIDE x 64 rules: no loop, no call. */
	if (s.nwords <= FW_SCAN_STRIDE)
		fw_scan_body(0, &s);
	else
		bpf_loop((s.nwords + FW_SCAN_STRIDE - 1) / FW_SCAN_STRIDE, fw_scan_words, &s, 0);
	return s.found;
}

/* The chain's verdict for an IPv4 packet: RX_OK or RX_DROP. A global
 * function: the verifier checks it once, on its own, instead of once for
 * every way the headers parse and every conntrack outcome (that was
 * seconds per load). */
__attribute__((noinline)) int fw_chain(struct __ctx_buff *ctx, __u32 chain, struct fw_pkt *p, __u32 label)
{
	__u32 *half = bpf_map_lookup_elem(&fw_ctl, &chain);
	__u32 matched = ~0u; /* the id of the rule that decided (for the log) */
	struct fw_bv *all, *src, *dst, *sport, *dport;
	struct fw_scan_arg a;
	struct fw_setinfo *si;
	struct fw_rule_info *ri;
	__u32 k, used, action, found;
	struct fw_cnt *c;

	if (!half || !p || chain >= FW_CHAINS)
		return RX_DROP;
	a.set = chain * 2 + (*(volatile __u32 *)half & 1);
	si = bpf_map_lookup_elem(&fw_setinfo, &a.set);
	if (!si)
		return RX_DROP;
	action = si->dflt;
	if (!si->nrules)
		goto act;
	/* The small fields' values are all in fw_fixed, used or not (an
	 * unused field's all hold every rule): fw_scan reads them. Without
	 * ports (or flags) only the rules that do not ask match: the
	 * wildcard, under a value no rule names. */
	a.proto = FW_FIX_PROTO + p->proto;
	a.flags = FW_FIX_FLAGS + (p->proto == IPPROTO_TCP && p->has_ports ? p->flags : 0x100);
	a.ct = FW_FIX_CT + (label <= FW_CT_NONE ? label : FW_CT_NONE);
	a.nwords = si->nwords;
	/* The others: every rule's vector unless some rule names the field. */
	all = fw_fixed_bv(a.set, FW_FIX_ALL);
	used = si->used;
	src = dst = sport = dport = all;
	if (used & (1u << FW_F_SRC))
		src = fw_lpm_bv(a.set, FW_F_SRC, p->saddr);
	if (used & (1u << FW_F_DST))
		dst = fw_lpm_bv(a.set, FW_F_DST, p->daddr);
	if (used & (1u << FW_F_SPORT))
		sport = fw_port_bv(a.set, FW_F_SPORT, p->has_ports ? bpf_ntohs(p->sport) : 0x10000);
	if (used & (1u << FW_F_DPORT))
		dport = fw_port_bv(a.set, FW_F_DPORT, p->has_ports ? bpf_ntohs(p->dport) : 0x10000);
	if (!src || !dst || !sport || !dport)
		return RX_DROP;
	found = fw_scan(src, dst, sport, dport, &a);
	if (found == FW_SCAN_ERR)
		return RX_DROP;
	if (!found)
		goto act;
	k = a.set * FW_MAX_RULES + (found - 1);
	ri = bpf_map_lookup_elem(&fw_rules, &k);
	if (!ri)
		return RX_DROP;
	action = ri->action;
	matched = ri->id;
	k = chain * FW_SLOTS + ri->slot;
	c = bpf_map_lookup_elem(&fw_cnt, &k);
	if (c) {
		c->pkts++;
		c->bytes += ctx_len(ctx);
	}
act:
	pcn_log(ctx, LOG_TRACE, "firewall: chain %u: rule %d: action %u", chain, (int)matched, action);
	if (action == FW_DROP)
		return RX_DROP;
	if (action == FW_LOG)
		pcn_log(ctx, LOG_INFO, "firewall: chain %u: rule %u: log", chain, matched);
	return RX_OK;
}

static __always_inline int fw_process(struct __ctx_buff *ctx, __u32 chain)
{
	struct fw_pkt p = {};
	struct fw_ct_val *v = NULL;
	__u32 k = FW_CTL_MODES, modes, label = FW_CT_NONE;
	__u32 *m = bpf_map_lookup_elem(&fw_ctl, &k);
	__u8 next = FW_CT_NSTATES;
	int rc;

	if (fw_parse(ctx, &p))
		return RX_OK;
	modes = m ? *m : 0;
	if (modes & FW_MODE_CONNTRACK) {
		if (p.tracked || p.related)
			v = bpf_map_lookup_elem(&fw_ct, &p.key);
		label = fw_ct_label(&p, v, &next);
		if (label == FW_CT_ESTABLISHED && (modes & FW_MODE_ACCEPT_EST)) {
			fw_ct_update(&p, v, next);
			pcn_log(ctx, LOG_TRACE, "firewall: chain %u: established: forward", chain);
			return RX_OK;
		}
	}
	rc = fw_chain(ctx, chain, &p, label);
	if (rc == RX_OK && (modes & FW_MODE_CONNTRACK))
		fw_ct_update(&p, v, next);
	return rc;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)md;
	return fw_process(ctx, FW_INGRESS);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	(void)md;
	return fw_process(ctx, FW_EGRESS);
}

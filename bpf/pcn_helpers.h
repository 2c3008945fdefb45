/* The cube author's fast-path API, without the wrapper program.
 *
 * Include pcn.h in a cube; include this file alone only in programs that
 * are not cubes (the netdev input program), which have no handle_rx.
 *
 * Everything here is header-only and static __always_inline: a cube is one
 * program, and the verifier sees one straight body per hook.
 *
 * Build with exactly one of -DPCN_HOOK_XDP or -DPCN_HOOK_TC; the context
 * abstraction below lets one cube source build for both.
 */
#ifndef PCN_HELPERS_H
#define PCN_HELPERS_H

#if defined(PCN_HOOK_XDP) && defined(PCN_HOOK_TC)
#error "build with exactly one of -DPCN_HOOK_XDP or -DPCN_HOOK_TC, not both"
#endif
#if !defined(PCN_HOOK_XDP) && !defined(PCN_HOOK_TC)
#error "build with exactly one of -DPCN_HOOK_XDP or -DPCN_HOOK_TC"
#endif

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "pcn_kern_user.h"
#include "pcn_maps.h"
#include "pcn_chain.h"

/* ---- context abstraction ------------------------------------------------ */

#if defined(PCN_HOOK_XDP)
/* `struct __ctx_buff` is what a cube handler receives; CTXTYPE is the name
 * Polycube sources use for the same thing (`struct CTXTYPE *ctx`). */
#define __ctx_buff xdp_md
#define CTXTYPE xdp_md
#define PCN_SEC "xdp"
#define CTX_ACT_OK XDP_PASS
#define CTX_ACT_DROP XDP_DROP
#define CTX_ACT_REDIRECT XDP_REDIRECT
/* On to whatever follows at the hook (see the TC build's). */
#define CTX_ACT_NEXT XDP_PASS

/* Bytes of the frame the program can read. */
static __always_inline __u32 ctx_len(const struct __ctx_buff *ctx)
{
	return ctx->data_end - ctx->data;
}

/* The netdev the packet arrived on. */
static __always_inline __u32 ctx_ingress_ifindex(const struct __ctx_buff *ctx)
{
	return ctx->ingress_ifindex;
}
#else /* PCN_HOOK_TC */
#define __ctx_buff __sk_buff
#define CTXTYPE __sk_buff
#define PCN_SEC "tc"
#define CTX_ACT_OK TC_ACT_OK
#define CTX_ACT_DROP TC_ACT_SHOT
#define CTX_ACT_REDIRECT TC_ACT_REDIRECT
/* On to the hook's next program (tcx: TCX_NEXT; clsact: the next filter),
 * then the host stack or the wire: what a pass-through stack gives, so
 * that other owners' programs after ours still see the packet. */
#define CTX_ACT_NEXT TC_ACT_UNSPEC

/* Length of the whole packet (its linear part may be shorter). */
static __always_inline __u32 ctx_len(const struct __ctx_buff *ctx)
{
	return ctx->len;
}

/* The netdev whose clsact hook runs the program. At ingress skb->ifindex
 * and skb->ingress_ifindex are the same device (the kernel sets skb_iif to
 * skb->dev just before the ingress hook); at egress ingress_ifindex names
 * the device a forwarded packet came in on (0 for local traffic), so
 * skb->ifindex is the one that means "this netdev" on both sides. */
static __always_inline __u32 ctx_ingress_ifindex(const struct __ctx_buff *ctx)
{
	return ctx->ifindex;
}
#endif

static __always_inline void *ctx_data(const struct __ctx_buff *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *ctx_data_end(const struct __ctx_buff *ctx)
{
	return (void *)(long)ctx->data_end;
}

/* ---- parsing ------------------------------------------------------------- */

/* The Ethernet header, or NULL if the frame is shorter than one. */
static __always_inline struct ethhdr *pcn_eth_hdr(const struct __ctx_buff *ctx)
{
	struct ethhdr *eth = ctx_data(ctx);

	if ((void *)(eth + 1) > ctx_data_end(ctx))
		return NULL;
	return eth;
}

/* The IPv4 header right after an untagged Ethernet header, or NULL if the
 * frame is not IPv4 or too short. Only the fixed 20 bytes are checked: read
 * options through ihl with a check of your own. */
static __always_inline struct iphdr *pcn_ipv4_hdr(const struct __ctx_buff *ctx)
{
	struct ethhdr *eth = pcn_eth_hdr(ctx);
	struct iphdr *ip;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	ip = (struct iphdr *)(eth + 1);
	if ((void *)(ip + 1) > ctx_data_end(ctx))
		return NULL;
	return ip;
}

/* ---- load-time constants ------------------------------------------------- */

/* Set by cube-runtime by name through BTF before the object is loaded; the
 * verifier treats frozen .rodata as constants and prunes what they rule
 * out. The names are a contract with the runtime. */
const volatile __u32 pcn_cube_index = 0; /* this instance's PatchPanel slot */
const volatile __u32 pcn_log_level = 2;  /* lowest level pcn_log prints (INFO) */

/* ---- counters ----------------------------------------------------------- */

/* Counters of an instance on this CPU (no atomics needed: the array is
 * per-CPU and a program runs with preemption off), or NULL if index is out
 * of range. */
static __always_inline struct pcn_cube_stats *pcn__stats_of(__u32 index)
{
	return bpf_map_lookup_elem(&pcn_cube_stats, &index);
}

/* Counters of the running instance. */
static __always_inline struct pcn_cube_stats *pcn__stats(void)
{
	return pcn__stats_of(pcn_cube_index);
}

/* Jumps into the program in the PatchPanel slot `index`. Returns only when
 * the jump failed (empty slot or the kernel's limit of 33 tail calls), after
 * counting the miss in `st` and, by reason, in instance `owner`'s
 * pcn_chain_stats. Every tail call counts its miss so (pcn_pkt_send does
 * it beside pcn__tail_call_baked): a miss is never silent. Callers check
 * the hop limit first, so a miss here is an empty slot. */
static __always_inline void pcn__tail_call(struct __ctx_buff *ctx, __u32 index,
					   struct pcn_cube_stats *st, __u32 owner)
{
	bpf_tail_call(ctx, &PCN_PP, index);
	if (st)
		st->drop_tail_call++;
	pcn__count_miss(owner, PCN_MISS_EMPTY_SLOT);
}

/* The wiring as load-time constants (pcn_baked_*, pcn__tail_call_baked):
 * needs the PatchPanel, the context and pcn_cube_index above. */
#include "pcn_baked.h"

/* ---- slow path --------------------------------------------------------- */

/* 1 in a transparent cube (pcn_transparent.h sets it before including this
 * file): its md->in_port is the packet's direction, which records report. */
#ifndef PCN_TRANSPARENT_CUBE
#define PCN_TRANSPARENT_CUBE 0
#endif

/* Fills the header of a ring record of the running instance. */
static __always_inline void pcn__sp_hdr(struct pcn_slowpath_hdr *h, __u32 kind, __u32 reason,
					const struct pcn_pkt_md *md)
{
	h->kind = kind;
	h->cube_index = pcn_cube_index;
	h->reason = reason;
	h->port = md ? md->in_port : 0;
	h->md[0] = md ? md->md[0] : 0;
	h->md[1] = md ? md->md[1] : 0;
	h->md[2] = md ? md->md[2] : 0;
	h->orig_len = 0;
	h->cap_len = 0;
	h->direction = PCN_TRANSPARENT_CUBE && md ? md->in_port : 0;
}

/* ---- logging ----------------------------------------------------------- */

#include "pcn_log_kern_user.h"
/* Polycube's names for the same levels. */
#define LOG_TRACE PCN_LOG_TRACE
#define LOG_DEBUG PCN_LOG_DEBUG
#define LOG_INFO PCN_LOG_INFO
#define LOG_WARN PCN_LOG_WARN
#define LOG_ERR PCN_LOG_ERR
#define LOG_CRITICAL PCN_LOG_CRITICAL

/* pcn_log(ctx, level, fmt, ...): a log line from the fast path, sent
 * through the slow-path ring to the broker, which logs it tagged with the
 * cube and the instance (stable id CUBE-FASTPATH-LOG).
 *
 * A line below pcn_log_level costs nothing: the level is a load-time
 * constant, so the verifier removes the whole branch. fmt must be a string
 * literal, formatted by bpf_snprintf (%d %u %x %llu %pI4 %pM ..., at most 12
 * arguments); the line is cut at PCN_LOG_TEXT_MAX - 1 bytes. A line lost
 * because the ring is full is counted in log_lost. */
#define pcn_log(ctx, level, fmt, ...)                                                   \
	({                                                                              \
		(void)(ctx);                                                            \
		if ((__u32)(level) >= pcn_log_level) {                                  \
			struct pcn_slowpath_rec *r__ =                                  \
				bpf_ringbuf_reserve(&pcn_slowpath, sizeof(*r__), 0);    \
			if (r__) {                                                      \
				long n__ = BPF_SNPRINTF((char *)r__->data,              \
							PCN_LOG_TEXT_MAX, fmt,          \
							##__VA_ARGS__);                 \
				pcn__sp_hdr(&r__->hdr, PCN_SP_LOG, (__u32)(level), 0);  \
				r__->hdr.cap_len = n__ > 0 ? (__u32)n__ : 0;            \
				bpf_ringbuf_submit(r__, 0);                             \
			} else {                                                        \
				struct pcn_cube_stats *s__ = pcn__stats();              \
				if (s__)                                                \
					s__->log_lost++;                                \
			}                                                               \
		}                                                                       \
	})

/* ---- sending ----------------------------------------------------------- */

/* Sends the packet out of `port` of the running instance, to whatever the
 * broker wired it to in pcn_fwd. Return its result from handle_rx:
 *  - a netdev peer: sets md->out_ifindex and returns RX_REDIRECT (the
 *    wrapper calls bpf_redirect);
 *  - a cube peer: tail-calls that instance with md->in_port set to the
 *    peer's port; it does not return unless the PatchPanel slot is empty,
 *    and then md is left as it was and RX_DROP is returned;
 *  - no peer: RX_DROP.
 * Each outcome moves one counter of the instance: the verdict RX_REDIRECT
 * counts tx_netdev (pcn__verdict), the others tx_cube, drop_tail_call or
 * drop_no_peer here; the wrapper then also counts the verdict. */
static __always_inline long pcn__copy_pkt(struct __ctx_buff *ctx, void *dst, __u32 len, const __u32 cap);

/* Past the hop limit, when the instance's resume-long-chains is on: hands
 * the packet to the broker, which injects it into the peer's port with a
 * fresh hop count (the same point of the chain). Returns 1 if it did
 * (counted as resumed), 0 if resume is off or the packet cannot go whole
 * (too long for a record, ring full). */
static __always_inline int pcn__chain_resume(struct __ctx_buff *ctx, const struct pcn_fwd_val *peer)
{
	__u32 key = pcn_cube_index;
	struct pcn_chain_cfg *cfg = bpf_map_lookup_elem(&pcn_chain_cfg, &key);
	struct pcn_slowpath_rec *r;
	__u32 len = ctx_len(ctx);
	long n;
	int rc = 0;

	if (!cfg || !cfg->resume || len > PCN_SLOWPATH_SNAPLEN)
		goto out;
	r = bpf_ringbuf_reserve(&pcn_slowpath, sizeof(*r), 0);
	if (!r)
		goto out;
	__builtin_memset(&r->hdr, 0, sizeof(r->hdr));
	r->hdr.kind = PCN_SP_RESUME;
	r->hdr.cube_index = peer->cube_index;
	r->hdr.port = peer->port;
	r->hdr.orig_len = len;
	n = pcn__copy_pkt(ctx, r->data, len, PCN_SLOWPATH_SNAPLEN);
	if (n != (long)len) {
		bpf_ringbuf_discard(r, 0);
		goto out;
	}
	r->hdr.cap_len = (__u32)n;
	bpf_ringbuf_submit(r, 0);
	pcn__count_miss(pcn_cube_index, PCN_MISS_RESUMED);
	rc = 1;
out:
	return rc;
}

static __always_inline int pcn_pkt_send(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					__u32 port)
{
	__u32 key = pcn_fwd_slot(pcn_cube_index, port);
	struct pcn_fwd_val *peer = NULL;
	struct pcn_cube_stats *st;
	__u32 in_port;
	int rc = RX_DROP;

	/* A port past the last would read another instance's entry. */
	if (port < PCN_MAX_PORTS)
		peer = bpf_map_lookup_elem(&pcn_fwd, &key);
	/* The common case first, with nothing else read: tx_netdev is
	 * counted by the verdict (pcn__verdict), which has the counters at
	 * hand, so this path needs no lookup of its own. */
	if (peer && peer->kind == PCN_PEER_NETDEV) {
		md->out_ifindex = peer->ifindex;
		return RX_REDIRECT;
	}
	st = pcn__stats();
	if (!peer || peer->kind != PCN_PEER_CUBE) {
		if (st)
			st->drop_no_peer++;
		goto out;
	}

	/* Past the kernel's tail-call limit the jump would fail anyway: say
	 * why, rather than let it look like an empty slot. */
	if (md->hops >= PCN_MAX_HOPS) {
		if (pcn__chain_resume(ctx, peer))
			goto out;
		if (st)
			st->drop_tail_call++;
		pcn__count_miss(pcn_cube_index, PCN_MISS_HOP_LIMIT);
		goto out;
	}
	in_port = md->in_port;
	md->in_port = peer->port;
	md->cube_index = peer->cube_index;
	md->hops++;
	/* Counted before the jump because nothing runs here after a successful
	 * one; a miss takes it back and counts drop_tail_call instead. */
	if (st)
		st->tx_cube++;
	/* A direct jump when the peer is the port's constant one (pcn_baked.h);
	 * a miss is counted as pcn__tail_call does. */
	pcn__tail_call_baked(ctx, port, md->cube_index);
	if (st)
		st->drop_tail_call++;
	pcn__count_miss(pcn_cube_index, PCN_MISS_EMPTY_SLOT);
	if (st)
		st->tx_cube--;
	md->in_port = in_port;
	md->cube_index = pcn_cube_index;
	md->hops--;
out:
	return rc;
}

/* Copies up to cap bytes (a constant) of the packet into dst and returns
 * how many, or a negative error. */
static __always_inline long pcn__copy_pkt(struct __ctx_buff *ctx, void *dst, __u32 len, const __u32 cap)
{
	__u64 n = len;

	/* The helpers take a size the verifier can bound. clang 14 folds a
	 * plain clamp into the unbounded value it came from, so the empty asm
	 * makes the clamped copy the only one left; the verifier (kernel 6.18)
	 * then sees 1 <= n <= cap. */
	asm volatile("" : "+r"(n));
	if (n > cap)
		n = cap;
	asm volatile("" : "+r"(n));
	if (n < 1 || n > cap)
		return 0;
#if defined(PCN_HOOK_XDP)
	return bpf_xdp_load_bytes(ctx, 0, dst, n) ? -1 : (long)n;
#else
	return bpf_skb_load_bytes(ctx, 0, dst, n) ? -1 : (long)n;
#endif
}

/* Sends a copy of the packet (up to PCN_SLOWPATH_SNAPLEN bytes, with its
 * real length), the ingress port, `reason` and md->md[0..2] to the cube's
 * slow path (its pcn_pkt_in callback), through the broker. Returns RX_DROP:
 * the fast path is done with the packet, which the slow path may send
 * back out with pcn_send_packet_out. Counted in to_slowpath, or in
 * drop_ring_full when the ring has no room. */
static __always_inline int pcn_pkt_controller_md(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
						 __u32 reason, __u32 md0, __u32 md1, __u32 md2)
{
	struct pcn_cube_stats *st = pcn__stats();
	__u32 len = ctx_len(ctx);
	long n;

	md->reason = reason;
	md->md[0] = md0;
	md->md[1] = md1;
	md->md[2] = md2;
	/* bpf_ringbuf_reserve takes a constant size: one for small packets,
	 * one for the rest. */
	if (len <= PCN_SLOWPATH_SMALL) {
		struct pcn_slowpath_rec_small *s = bpf_ringbuf_reserve(&pcn_slowpath, sizeof(*s), 0);

		if (!s)
			goto full;
		pcn__sp_hdr(&s->hdr, PCN_SP_PACKET, reason, md);
		s->hdr.orig_len = len;
		n = pcn__copy_pkt(ctx, s->data, len, PCN_SLOWPATH_SMALL);
		s->hdr.cap_len = n > 0 ? (__u32)n : 0;
		bpf_ringbuf_submit(s, 0);
	} else {
		struct pcn_slowpath_rec *r = bpf_ringbuf_reserve(&pcn_slowpath, sizeof(*r), 0);

		if (!r)
			goto full;
		pcn__sp_hdr(&r->hdr, PCN_SP_PACKET, reason, md);
		r->hdr.orig_len = len;
		n = pcn__copy_pkt(ctx, r->data, len, PCN_SLOWPATH_SNAPLEN);
		r->hdr.cap_len = n > 0 ? (__u32)n : 0;
		bpf_ringbuf_submit(r, 0);
	}
	if (st)
		st->to_slowpath++;
	goto out;
full:
	if (st)
		st->drop_ring_full++;
out:
	return RX_DROP;
}

/* pcn_pkt_controller_md without metadata (md->md is sent as it is). */
static __always_inline int pcn_pkt_controller(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					      __u32 reason)
{
	return pcn_pkt_controller_md(ctx, md, reason, md->md[0], md->md[1], md->md[2]);
}

/* Tells the slow path about the packet (port, reason, md->md) without its
 * bytes, and leaves the packet alone: the handler goes on and returns its
 * own verdict. Returns 0, or -1 when the ring was full (counted). */
static __always_inline int pcn_notify(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 reason)
{
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_slowpath_hdr *h;
	int rc = 0;

	h = bpf_ringbuf_reserve(&pcn_slowpath, sizeof(*h), 0);
	if (!h) {
		if (st)
			st->drop_ring_full++;
		rc = -1;
		goto out;
	}
	pcn__sp_hdr(h, PCN_SP_NOTIFY, reason, md);
	h->orig_len = ctx_len(ctx);
	bpf_ringbuf_submit(h, 0);
	if (st)
		st->to_slowpath++;
out:
	return rc;
}


/* The handler's verdict turned into the hook's, and counted: shared by the
 * cube wrapper (pcn.h) and every micro-cube (pcn_ucube.h). */
static __always_inline int pcn__verdict(struct pcn_pkt_md *md, int rc, struct pcn_cube_stats *st)
{
	int verdict = CTX_ACT_DROP;

	switch (rc) {
	case RX_OK:
		verdict = CTX_ACT_OK;
		if (st)
			st->pass++;
		break;
	case RX_REDIRECT:
		/* pcn_pkt_send's netdev peer, counted here rather than there:
		 * the counters are at hand, where pcn_pkt_send would look them
		 * up again (~1 ns per packet, tests/bench/overhead.sh). */
		if (st)
			st->tx_netdev++;
		verdict = bpf_redirect(md->out_ifindex, 0);
		break;
	default: /* RX_DROP, and anything a handler should not return */
		if (st)
			st->drop_verdict++;
		break;
	}
	return verdict;
}

#endif /* PCN_HELPERS_H */

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
 * counting the miss in `st`: every tail call goes through here so that a
 * miss is never silent. */
static __always_inline void pcn__tail_call(struct __ctx_buff *ctx, __u32 index,
					   struct pcn_cube_stats *st)
{
	bpf_tail_call(ctx, &PCN_PP, index);
	if (st)
		st->drop_tail_call++;
}

/* ---- logging ----------------------------------------------------------- */

/* Levels, as in common/log.h (which BPF code does not include). */
#ifndef CUBEMESH_LOG_H
enum pcn_log_level {
	PCN_LOG_TRACE = 0,
	PCN_LOG_DEBUG = 1,
	PCN_LOG_INFO = 2,
	PCN_LOG_WARN = 3,
	PCN_LOG_ERR = 4,
	PCN_LOG_CRITICAL = 5,
	PCN_LOG_OFF = 6,
};
#endif
/* Polycube's names for the same levels. */
#define LOG_TRACE PCN_LOG_TRACE
#define LOG_DEBUG PCN_LOG_DEBUG
#define LOG_INFO PCN_LOG_INFO
#define LOG_WARN PCN_LOG_WARN
#define LOG_ERR PCN_LOG_ERR
#define LOG_CRITICAL PCN_LOG_CRITICAL

/* pcn_log(ctx, level, fmt, ...): a log line from the fast path.
 *
 * STUB until the slow path exists: it writes to the kernel trace pipe with
 * bpf_printk (read it with `bpftool prog tracelog`), not to the broker's
 * log sink. A line below pcn_log_level costs nothing: the level is a
 * load-time constant, so the verifier removes the branch. fmt must be a
 * string literal; at most 3 arguments are cheap (more use
 * bpf_trace_vprintk). */
#define pcn_log(ctx, level, fmt, ...)                                   \
	({                                                              \
		(void)(ctx);                                            \
		if ((__u32)(level) >= pcn_log_level)                    \
			bpf_printk(fmt, ##__VA_ARGS__);                 \
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
 * Each outcome moves one counter of the instance (tx_netdev, tx_cube,
 * drop_tail_call, drop_no_peer); the wrapper then also counts the verdict. */
static __always_inline int pcn_pkt_send(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					__u32 port)
{
	struct pcn_fwd_key key = { .cube_index = pcn_cube_index, .port = port };
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_fwd_val *peer;
	__u32 in_port = md->in_port;
	int rc = RX_DROP;

	peer = bpf_map_lookup_elem(&pcn_fwd, &key);
	if (!peer || (peer->kind != PCN_PEER_NETDEV && peer->kind != PCN_PEER_CUBE)) {
		if (st)
			st->drop_no_peer++;
		goto out;
	}
	if (peer->kind == PCN_PEER_NETDEV) {
		md->out_ifindex = peer->ifindex;
		if (st)
			st->tx_netdev++;
		rc = RX_REDIRECT;
		goto out;
	}

	md->in_port = peer->port;
	md->cube_index = peer->cube_index;
	md->hops++;
	/* Counted before the jump because nothing runs here after a successful
	 * one; a miss takes it back and counts drop_tail_call instead. */
	if (st)
		st->tx_cube++;
	pcn__tail_call(ctx, peer->cube_index, st);
	if (st)
		st->tx_cube--;
	md->in_port = in_port;
	md->cube_index = pcn_cube_index;
	md->hops--;
out:
	return rc;
}

/* Sends the packet to the cube's slow path in user space with `reason`.
 *
 * STUB until the slow path exists: it records the reason in md and returns
 * RX_DROP, so the packet is dropped (and counted as drop_verdict). */
static __always_inline int pcn_pkt_controller(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					      __u32 reason)
{
	(void)ctx;
	md->reason = reason;
	return RX_DROP;
}

#endif /* PCN_HELPERS_H */

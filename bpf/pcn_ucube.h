/* Micro-cubes (§IV-B): a cube's fast path split into several programs,
 * reached through the instance's own program arrays.
 *
 * Include after pcn.h (or pcn_transparent.h). The handler (the program in
 * the PatchPanel) calls pcn_call_ingress_program(ctx, md, k) or
 * pcn_call_egress_program(ctx, md, k); program k is defined with
 *
 *   PCN_MICRO_CUBE_INGRESS(1, my_fn)   // my_fn(ctx, md) returns RX_*
 *
 * which makes a program named pcn_uc_in_1 that cube-runtime puts in slot 1
 * of pcn_uc_ingress when the instance is loaded, and swaps with pcn_reload.
 * Slot 0 of each array is unused: index 0 of pcn_reload is the handler's
 * own program, the one in the PatchPanel.
 *
 * Both arrays are the instance's own (pinned in its directory, never
 * shared): a reload keeps them and replaces one slot at a time, each in one
 * atomic map update. The TC twin of a transparent instance at XDP has a
 * pair of its own (cube-runtime/twin.c).
 */
#ifndef PCN_UCUBE_H
#define PCN_UCUBE_H

#include "pcn_helpers.h"

/* Slots of each micro-cube array (programs 1..PCN_UCUBE_MAX-1): 8
 * micro-cubes per direction, as the paper's Fig. 10 measures (slot 0 is
 * the entry's). */
#define PCN_UCUBE_MAX 9

/* Ingress micro-cubes of this instance: slot k = program pcn_uc_in_<k>. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PCN_UCUBE_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pcn_uc_ingress SEC(".maps");

/* Egress micro-cubes of this instance: slot k = program pcn_uc_eg_<k>. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, PCN_UCUBE_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pcn_uc_egress SEC(".maps");

/* A micro-cube jump spends one of the kernel's tail calls like a hop to
 * another cube, so it counts in md->hops: the hop limit stays exact. A miss
 * (empty slot, or no tail call left) is counted as micro-cube. */
static __always_inline int pcn__call_program(struct __ctx_buff *ctx, struct pcn_pkt_md *md, void *array,
					     __u32 idx)
{
	struct pcn_cube_stats *st;

	if (md->hops >= PCN_MAX_HOPS) {
		pcn__count_miss(pcn_cube_index, PCN_MISS_HOP_LIMIT);
		goto miss;
	}
	md->hops++;
	bpf_tail_call(ctx, array, idx);
	md->hops--;
	pcn__count_miss(pcn_cube_index, PCN_MISS_MICRO_CUBE);
miss:
	st = pcn__stats();
	if (st)
		st->drop_tail_call++;
	return RX_DROP;
}

/* Runs ingress micro-cube idx; returns (RX_DROP) only if it could not. */
static __always_inline int pcn_call_ingress_program(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 idx)
{
	return pcn__call_program(ctx, md, &pcn_uc_ingress, idx);
}

/* Runs egress micro-cube idx; returns (RX_DROP) only if it could not. */
static __always_inline int pcn_call_egress_program(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 idx)
{
	return pcn__call_program(ctx, md, &pcn_uc_egress, idx);
}

/* The body of a micro-cube program: md from pcn_md, the author's fn, and
 * its verdict turned into the hook's and counted as pcn_entry does. In a
 * transparent cube (pcn_ucube.h included after pcn_transparent.h) RX_OK
 * goes on through the stack as pcn_entry's does. */
#if PCN_TRANSPARENT_CUBE
static __always_inline int pcn__ucube_run(struct __ctx_buff *ctx,
					  int (*fn)(struct __ctx_buff *, struct pcn_pkt_md *))
{
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_pkt_md *md;
	struct pcn_tmd *tmd = pcn__tmd(&md);

	if (!md || !tmd)
		return CTX_ACT_DROP;
	return pcn__tverdict(ctx, md, tmd, st, fn(ctx, md));
}
#else
static __always_inline int pcn__ucube_run(struct __ctx_buff *ctx,
					  int (*fn)(struct __ctx_buff *, struct pcn_pkt_md *))
{
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_pkt_md *md = pcn__md();
	int verdict = CTX_ACT_DROP;
	int rc;

	if (!md)
		goto out;
	rc = fn(ctx, md);
	verdict = pcn__verdict(md, rc, st);
out:
	return verdict;
}
#endif

#define PCN_MICRO_CUBE_INGRESS(k, fn)                              \
	SEC(PCN_SEC) int pcn_uc_in_##k(struct __ctx_buff *ctx)      \
	{                                                           \
		return pcn__ucube_run(ctx, fn);                     \
	}

#define PCN_MICRO_CUBE_EGRESS(k, fn)                               \
	SEC(PCN_SEC) int pcn_uc_eg_##k(struct __ctx_buff *ctx)      \
	{                                                           \
		return pcn__ucube_run(ctx, fn);                     \
	}

#endif /* PCN_UCUBE_H */

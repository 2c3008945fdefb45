/* The maps of transparent stacks (pcn_transparent_kern_user.h), for the
 * transparent wrapper (pcn_transparent.h) and the netdev stack programs
 * (pcn_tnetdev.bpf.c). Include after pcn_helpers.h. */
#ifndef PCN_TSTACK_H
#define PCN_TSTACK_H

#include "pcn_transparent_kern_user.h"

/* (ifindex, direction, position) -> instance index; written by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PCN_MAX_CUBES * 2);
	__type(key, struct pcn_tstack_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_tstack SEC(".maps");

/* The stack position of the packet being processed on this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pcn_tmd);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_tmd SEC(".maps");

/* Jumps to the instance at position tmd->pos of the packet's stack.
 * Returns only when there is none (0: the stack is done) or the jump
 * failed (-1, counted on `owner`). hop: 1 if the jump counts in md->hops,
 * 0 for the netdev input program's own (the one PCN_MAX_HOPS leaves out). */
static __always_inline int pcn__tstack_jump(struct __ctx_buff *ctx, struct pcn_tmd *tmd,
					    struct pcn_pkt_md *md, __u32 owner, __u32 hop)
{
	struct pcn_tstack_key key = { .ifindex = tmd->ifindex, .dir = tmd->dir, .pos = tmd->pos };
	struct pcn_cube_stats *st;
	__u32 *next = bpf_map_lookup_elem(&pcn_tstack, &key);
	int rc = 0;

	if (!next)
		goto out;
	rc = -1;
	if (hop && md->hops >= PCN_MAX_HOPS) {
		pcn__count_miss(owner, PCN_MISS_HOP_LIMIT);
		goto miss;
	}
	md->hops += hop;
	bpf_tail_call(ctx, &PCN_PP, *next);
	md->hops -= hop;
	pcn__count_miss(owner, PCN_MISS_EMPTY_SLOT);
miss:
	st = pcn__stats_of(owner);
	if (st)
		st->drop_tail_call++;
out:
	return rc;
}

/* The end of an ingress stack: into the standard cube peered with the
 * netdev, if any. Returns only when there is none (0) or the jump failed
 * (-1, counted on `owner`). */
static __always_inline int pcn__tstack_to_cube(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 ifindex,
					       __u32 owner, __u32 hop)
{
	struct pcn_netdev_val *in = bpf_map_lookup_elem(&pcn_netdev_in, &ifindex);
	struct pcn_cube_stats *st;
	int rc = 0;

	if (!in)
		goto out;
	rc = -1;
	if (hop && md->hops >= PCN_MAX_HOPS) {
		pcn__count_miss(owner, PCN_MISS_HOP_LIMIT);
		goto miss;
	}
	md->cube_index = in->cube_index;
	md->in_port = in->port;
	md->hops += hop;
	bpf_tail_call(ctx, &PCN_PP, in->cube_index);
	md->hops -= hop;
	/* Counted where a user looks when the cube's port receives nothing. */
	owner = in->cube_index;
	pcn__count_miss(owner, PCN_MISS_EMPTY_SLOT);
miss:
	st = pcn__stats_of(owner);
	if (st)
		st->drop_tail_call++;
out:
	return rc;
}

/* What enters from netdev ifindex: its ingress stack of transparent cubes
 * first, if it has one, then the standard cube peered with it, if any;
 * with neither the packet goes to the host stack. The netdev input
 * programs (pcn_netdev.bpf.c, pcn_tnetdev.bpf.c) are this. */
static __always_inline int pcn__netdev_ingress(struct __ctx_buff *ctx)
{
	__u32 ifindex = ctx_ingress_ifindex(ctx);
	struct pcn_pkt_md *md;
	struct pcn_tmd *tmd;
	__u32 zero = 0;
	int verdict = CTX_ACT_DROP;

	/* Never fail on one-entry arrays; the verifier (kernel 6.18, clang
	 * 14) still requires the NULL checks. */
	md = bpf_map_lookup_elem(&pcn_md, &zero);
	tmd = bpf_map_lookup_elem(&pcn_tmd, &zero);
	if (!md || !tmd)
		goto out;
	/* The slots are reused by every packet on this CPU: clear them so
	 * nothing from the previous packet leaks into this one. */
	__builtin_memset(md, 0, sizeof(*md));
	tmd->ifindex = ifindex;
	tmd->dir = PCN_TDIR_INGRESS;
	tmd->pos = 0;
	tmd->pad = 0;
	if (pcn__tstack_jump(ctx, tmd, md, 0, 0) == 0 && pcn__tstack_to_cube(ctx, md, ifindex, 0, 0) == 0)
		verdict = CTX_ACT_OK;
out:
	return verdict;
}

#endif /* PCN_TSTACK_H */

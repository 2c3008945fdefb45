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
 * failed (-1, counted on `owner`). */
static __always_inline int pcn__tstack_jump(struct __ctx_buff *ctx, struct pcn_tmd *tmd,
					    struct pcn_pkt_md *md, __u32 owner)
{
	struct pcn_tstack_key key = { .ifindex = tmd->ifindex, .dir = tmd->dir, .pos = tmd->pos };
	struct pcn_cube_stats *st;
	__u32 *next = bpf_map_lookup_elem(&pcn_tstack, &key);
	int rc = 0;

	if (!next)
		goto out;
	rc = -1;
	if (md->hops >= PCN_MAX_HOPS) {
		pcn__count_miss(owner, PCN_MISS_HOP_LIMIT);
		goto miss;
	}
	md->hops++;
	bpf_tail_call(ctx, &PCN_PP, *next);
	md->hops--;
	pcn__count_miss(owner, PCN_MISS_EMPTY_SLOT);
miss:
	st = pcn__stats_of(owner);
	if (st)
		st->drop_tail_call++;
out:
	return rc;
}

#endif /* PCN_TSTACK_H */

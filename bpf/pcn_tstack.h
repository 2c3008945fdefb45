/* The maps of transparent stacks (pcn_transparent_kern_user.h), for the
 * transparent wrapper (pcn_transparent.h) and the stack entry programs
 * (pcn_tnetdev.bpf.c, pcn_netdev.bpf.c). Include after pcn_helpers.h. */
#ifndef PCN_TSTACK_H
#define PCN_TSTACK_H

#include "pcn_transparent_kern_user.h"

/* (parent, direction, position, generation) -> instance index; written by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PCN_MAX_CUBES * 4);
	__type(key, struct pcn_tstack_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_tstack SEC(".maps");

/* parent -> the generation of its pcn_tstack entries in use; flipped by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PCN_MAX_CUBES * 2);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_tgen SEC(".maps");

/* PatchPanel slot of a port-stack entry -> the stack it enters; written by the broker. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PCN_MAX_CUBES);
	__type(key, __u32);
	__type(value, struct pcn_tport_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_tport SEC(".maps");

/* The stack position of the packet being processed on this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pcn_tmd);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pcn_tmd SEC(".maps");

/* This CPU's stack position and, in *md, its packet metadata: what every
 * program of a stack starts from. Both NULL only in the verifier's eyes
 * (pcn__md_at): callers check both. */
static __always_inline struct pcn_tmd *pcn__tmd(struct pcn_pkt_md **md)
{
	__u32 zero = 0;

	*md = pcn__md_at(&zero);
	return bpf_map_lookup_elem(&pcn_tmd, &zero);
}

/* Starts the packet at position 0 of parent's stack in direction dir. The
 * generation is read here, once: the whole walk uses one order. */
static __always_inline void pcn__tstack_begin(struct pcn_tmd *tmd, __u32 parent, __u32 dir, __u32 slot)
{
	__u32 *gen = bpf_map_lookup_elem(&pcn_tgen, &parent);

	tmd->parent = parent;
	tmd->dir = dir;
	tmd->pos = 0;
	tmd->gen = gen ? *gen : 0;
	tmd->slot = slot;
	tmd->last = 0;
	tmd->to_cube = 0;
	tmd->to_port = 0;
}

/* Counts a failed jump of owner's: by reason, and in drop_tail_call. */
static __always_inline void pcn__tstack_missed(__u32 owner, __u32 reason)
{
	struct pcn_cube_stats *st = pcn__stats_of(owner);

	pcn__count_miss(owner, reason);
	if (st)
		st->drop_tail_call++;
}

/* Jumps to the instance at position tmd->pos of the packet's stack.
 * Returns only when there is none (0: the stack is done) or the jump
 * failed (-1, counted on `owner`). hop: 1 if the jump counts in md->hops,
 * 0 for the netdev input program's own (the one PCN_MAX_HOPS leaves out).
 * tmd->last says, to the instance jumped to, whether it is the last. */
static __always_inline int pcn__tstack_jump(struct __ctx_buff *ctx, struct pcn_tmd *tmd,
					    struct pcn_pkt_md *md, __u32 owner, __u32 hop)
{
	struct pcn_tstack_key key = { .parent = tmd->parent, .dir = tmd->dir, .pos = tmd->pos, .gen = tmd->gen };
	__u32 *next = bpf_map_lookup_elem(&pcn_tstack, &key);
	__u32 index;
	int rc = 0;

	if (!next)
		goto out;
	index = *next;
	tmd->last = index & PCN_TSTACK_LAST ? 1 : 0;
	index &= ~PCN_TSTACK_LAST;
	rc = -1;
	if (hop && md->hops >= PCN_MAX_HOPS) {
		pcn__tstack_missed(owner, PCN_MISS_HOP_LIMIT);
		goto out;
	}
	md->hops += hop;
	bpf_tail_call(ctx, &PCN_PP, index);
	md->hops -= hop;
	pcn__tstack_missed(owner, PCN_MISS_EMPTY_SLOT);
out:
	return rc;
}

/* The end of an ingress stack: into the standard cube peered with the
 * netdev, if any: the one tmd->to_cube names (the specialized netdev input
 * program's constants), else the one pcn_netdev_in does. Returns only when
 * there is none (0) or the jump failed (-1, counted on `owner`). */
static __always_inline int pcn__tstack_to_cube(struct __ctx_buff *ctx, struct pcn_tmd *tmd, struct pcn_pkt_md *md,
					       __u32 ifindex, __u32 owner, __u32 hop)
{
	struct pcn_netdev_val *in;
	__u32 cube, port;
	int rc = 0;

	if (tmd->to_cube) {
		cube = tmd->to_cube - 1;
		port = tmd->to_port;
	} else {
		in = bpf_map_lookup_elem(&pcn_netdev_in, &ifindex);
		if (!in)
			goto out;
		cube = in->cube_index;
		port = in->port;
	}
	rc = -1;
	if (hop && md->hops >= PCN_MAX_HOPS) {
		pcn__tstack_missed(owner, PCN_MISS_HOP_LIMIT);
		goto out;
	}
	md->cube_index = cube;
	md->in_port = port;
	md->hops += hop;
	bpf_tail_call(ctx, &PCN_PP, cube);
	md->hops -= hop;
	/* Counted where a user looks when the cube's port receives nothing. */
	pcn__tstack_missed(cube, PCN_MISS_EMPTY_SLOT);
out:
	return rc;
}

/* After a cube port's stack: where the port's wire goes (the ingress one:
 * into the cube; the egress one: the port's peer, a netdev or the next
 * cube). Returns the hook's verdict when it does not jump. */
static __always_inline int pcn__tstack_fwd(struct __ctx_buff *ctx, struct pcn_pkt_md *md,
					   const struct pcn_fwd_val *next, __u32 owner)
{
	struct pcn_cube_stats *st;
	int verdict = CTX_ACT_DROP;

	if (next->kind == PCN_PEER_NETDEV) {
		verdict = bpf_redirect(next->ifindex, 0);
		goto out;
	}
	if (next->kind != PCN_PEER_CUBE) {
		st = pcn__stats_of(owner);
		if (st)
			st->drop_no_peer++;
		goto out;
	}
	if (md->hops >= PCN_MAX_HOPS) {
		pcn__tstack_missed(owner, PCN_MISS_HOP_LIMIT);
		goto out;
	}
	md->cube_index = next->cube_index;
	md->in_port = next->port;
	md->hops++;
	bpf_tail_call(ctx, &PCN_PP, next->cube_index);
	md->hops--;
	pcn__tstack_missed(owner, PCN_MISS_EMPTY_SLOT);
out:
	return verdict;
}

/* The end of the packet's stack (no instance at tmd->pos): the hook's
 * verdict, unless it jumps on. A stack entered by pcn_tport_entry (a cube
 * port's; what a cube sends out of a netdev with an XDP stack) ends as
 * pcn__tstack_fwd says; otherwise a netdev's ingress stack ends in the
 * peered cube or the host, its egress stack on the wire. */
static __always_inline int pcn__tstack_end(struct __ctx_buff *ctx, struct pcn_tmd *tmd, struct pcn_pkt_md *md,
					   __u32 owner, __u32 hop)
{
	struct pcn_tport_val *tp;
	__u32 slot = tmd->slot;
	int verdict = CTX_ACT_DROP;

	/* Where pcn_tport_entry found the stack goes: a frame already in the
	 * stack when its port is detached goes there still, as one already
	 * past a standard cube's pcn_fwd read does. */
	if (slot && (tmd->to_cube || tmd->to_port)) {
		struct pcn_fwd_val next = {
			.kind = tmd->to_cube ? PCN_PEER_CUBE : PCN_PEER_NETDEV,
			.ifindex = tmd->to_port,
			.cube_index = tmd->to_cube - 1,
			.port = tmd->to_port,
		};

		verdict = pcn__tstack_fwd(ctx, md, &next, owner);
		goto out;
	}
	if (slot) {
		tp = bpf_map_lookup_elem(&pcn_tport, &slot);
		if (tp)
			verdict = pcn__tstack_fwd(ctx, md, &tp->next, owner);
		else
			pcn__tstack_missed(owner, PCN_MISS_EMPTY_SLOT);
		goto out;
	}
	if (tmd->dir == PCN_TDIR_EGRESS || pcn__tstack_to_cube(ctx, tmd, md, tmd->parent, owner, hop) == 0)
		verdict = CTX_ACT_NEXT;
out:
	return verdict;
}

/* What enters from netdev ifindex: its ingress stack of transparent cubes
 * first, if it has one, then the standard cube peered with it, if any;
 * with neither the packet goes to the host stack. The netdev input
 * programs (pcn_netdev.bpf.c, pcn_tnetdev.bpf.c) are this. cube < PCN_MAX_CUBES
 * (a load-time constant of the netdev input program specialized for its
 * peer) is that cube, and port its port: the stack's end jumps there
 * without looking the netdev up. */
static __always_inline int pcn__netdev_ingress(struct __ctx_buff *ctx, __u32 cube, __u32 port)
{
	__u32 ifindex = ctx_ingress_ifindex(ctx);
	struct pcn_pkt_md *md;
	struct pcn_tmd *tmd = pcn__tmd(&md);
	int verdict = CTX_ACT_DROP;

	if (!md || !tmd)
		goto out;
	pcn__md_clear(md);
	pcn__tstack_begin(tmd, ifindex, PCN_TDIR_INGRESS, 0);
	if (cube < PCN_MAX_CUBES) {
		tmd->to_cube = cube + 1;
		tmd->to_port = port;
	}
	if (pcn__tstack_jump(ctx, tmd, md, 0, 0) == 0 && pcn__tstack_to_cube(ctx, tmd, md, ifindex, 0, 0) == 0)
		verdict = CTX_ACT_NEXT;
out:
	return verdict;
}

#endif /* PCN_TSTACK_H */

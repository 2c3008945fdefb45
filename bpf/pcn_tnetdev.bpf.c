/* The entries of the transparent stacks on a netdev or a cube port
 * (§VI-H), loaded by the broker (broker/topology/attach.c). pcn_teg runs at TC
 * egress of a netdev with transparent cubes: it starts the packet's
 * metadata and jumps to the first instance of the egress stack. pcn_tin
 * runs at the input hook (TC ingress or XDP) of such a netdev while no
 * standard cube is peered with it (then the broker's netdev input program
 * does the same job). With no stack (being detached) the packet goes on
 * untouched. pcn_tport_entry enters a cube port's stack. */
#include "pcn_helpers.h"
#include "pcn_tstack.h"

#if defined(PCN_HOOK_TC)
static __always_inline int pcn__tstack_enter(struct __ctx_buff *ctx, __u32 dir)
{
	struct pcn_pkt_md *md;
	struct pcn_tmd *tmd = pcn__tmd(&md);
	int verdict = CTX_ACT_DROP;

	if (!md || !tmd)
		goto out;
	pcn__md_clear(md);
	pcn__tstack_begin(tmd, ctx_ingress_ifindex(ctx), dir, 0);
	/* No instance of its own: a miss is counted on slot 0's counters. */
	if (pcn__tstack_jump(ctx, tmd, md, 0, 0) == 0)
		verdict = CTX_ACT_NEXT;
out:
	return verdict;
}

SEC(PCN_SEC)
int pcn_teg(struct __ctx_buff *ctx)
{
	return pcn__tstack_enter(ctx, PCN_TDIR_EGRESS);
}
#endif

SEC(PCN_SEC)
int pcn_tin(struct __ctx_buff *ctx)
{
	return pcn__netdev_ingress(ctx, PCN_MAX_CUBES, 0);
}

/* The entry of a cube port's stack, in the PatchPanel slots the broker
 * gave that port (attach_port.c): what was sent into the port, or out of
 * it, tail-calls this with md->cube_index naming the slot, whose pcn_tport
 * entry says which stack and where the packet goes after it. */
SEC(PCN_SEC)
int pcn_tport_entry(struct __ctx_buff *ctx)
{
	struct pcn_pkt_md *md;
	struct pcn_tmd *tmd = pcn__tmd(&md);
	struct pcn_tport_val *tp;
	int verdict = CTX_ACT_DROP;
	__u32 slot;

	if (!md || !tmd)
		goto out;
	slot = md->cube_index;
	tp = bpf_map_lookup_elem(&pcn_tport, &slot);
	if (!tp) {
		/* Detached meanwhile: counted on the slot's own counters. */
		pcn__tstack_missed(slot, PCN_MISS_EMPTY_SLOT);
		goto out;
	}
	pcn__tstack_begin(tmd, tp->parent, tp->dir, slot);
	/* The stack's end (pcn__tstack_end) goes on from here, unlooked-up. */
	if (tp->next.kind == PCN_PEER_CUBE) {
		tmd->to_cube = tp->next.cube_index + 1;
		tmd->to_port = tp->next.port;
	} else if (tp->next.kind == PCN_PEER_NETDEV) {
		tmd->to_port = tp->next.ifindex;
	}
	if (pcn__tstack_jump(ctx, tmd, md, tp->owner, 1) == 0)
		verdict = pcn__tstack_fwd(ctx, md, &tp->next, tp->owner);
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";

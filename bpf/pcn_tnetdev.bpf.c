/* The entries of the transparent stacks on a netdev (§VI-H), loaded by the
 * broker (broker/attach.c). pcn_teg runs at TC egress of a netdev with
 * transparent cubes: it starts the packet's metadata and jumps to the first
 * instance of the egress stack. pcn_tin runs at the input hook (TC ingress
 * or XDP) of such a netdev while no standard cube is peered with it (then
 * the broker's netdev input program does the same job). With no stack
 * (being detached) the packet goes on untouched. */
#include "pcn_helpers.h"
#include "pcn_tstack.h"

#if defined(PCN_HOOK_TC)
static __always_inline int pcn__tstack_enter(struct __ctx_buff *ctx, __u32 dir)
{
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
	__builtin_memset(md, 0, sizeof(*md));
	tmd->ifindex = ctx_ingress_ifindex(ctx);
	tmd->dir = dir;
	tmd->pos = 0;
	tmd->pad = 0;
	/* No instance of its own: a miss is counted on slot 0's counters. */
	if (pcn__tstack_jump(ctx, tmd, md, 0, 0) == 0)
		verdict = CTX_ACT_OK;
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
	return pcn__netdev_ingress(ctx);
}

char _license[] SEC("license") = "GPL";

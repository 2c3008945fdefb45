/* The broker's injector: the entry of packets a cube's slow path sends with
 * pcn_send_packet_out into an instance (ingress on one of its ports, or
 * egress toward a cube peer). It starts the packet's metadata as the netdev
 * input program does, for the (instance, port) the broker tagged the frame
 * with, and jumps into that instance through the PatchPanel.
 *
 * XDP build: run by the broker with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, so what the instance redirects is really
 * sent; the tag (struct pcn_inject_tag) precedes the frame and is cut off.
 * TC build: attached to the TC ingress of the far end of a veth pair the
 * broker owns; the broker sends the frame into the near end with AF_PACKET
 * and the tag in skb->mark (a veth keeps the mark within a namespace).
 * BPF_PROG_TEST_RUN cannot serve TC: it ignores the redirect a program
 * asks for, so the packet would never leave.
 */
#include "pcn_helpers.h"

static __always_inline int inject(struct __ctx_buff *ctx, __u32 index, __u32 port)
{
	struct pcn_pkt_md *md;

	if (index >= PCN_MAX_CUBES)
		return -1;
	md = pcn__md();
	if (!md)
		return -1;
	pcn__md_clear(md);
	md->cube_index = index;
	md->in_port = port;
	pcn__tail_call(ctx, index, pcn__stats_of(index), index);
	return -1;
}

SEC(PCN_SEC)
int pcn_inject_entry(struct __ctx_buff *ctx)
{
	int verdict = CTX_ACT_DROP;
#if defined(PCN_HOOK_XDP)
	struct pcn_inject_tag *tag = ctx_data(ctx);
	__u32 index, port;

	if ((void *)(tag + 1) > ctx_data_end(ctx) || tag->magic != PCN_INJECT_MAGIC)
		goto out;
	index = tag->cube_index;
	port = tag->port;
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(*tag)))
		goto out;
	inject(ctx, index, port);
#else
	__u32 mark = ctx->mark;

	if ((mark & PCN_INJECT_MARK_MASK) != PCN_INJECT_MARK)
		goto out;
	ctx->mark = 0;
	inject(ctx, (mark >> 8) & 0x3ff, mark & 0xff);
#endif
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";

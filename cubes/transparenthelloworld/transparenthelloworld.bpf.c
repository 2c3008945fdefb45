/* transparenthelloworld fast path: each direction passes, drops or sends up
 * its packets, as transparenthelloworld_action says, and counts them. */
#include "pcn_transparent.h"

/* The action of each direction (0 ingress, 1 egress): 0 PASS, 1 DROP,
 * 2 SLOWPATH (the model's enum order). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} transparenthelloworld_action SEC(".maps");

/* Packets seen in each direction, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} transparenthelloworld_pkts SEC(".maps");

static __always_inline int transparenthelloworld_act(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 dir)
{
	__u32 *action = bpf_map_lookup_elem(&transparenthelloworld_action, &dir);
	__u64 *n = bpf_map_lookup_elem(&transparenthelloworld_pkts, &dir);
	__u32 a = action ? *action : 0;

	if (n)
		(*n)++;
	if (a == 1)
		return RX_DROP;
	/* The record carries the direction itself (pcn_pkt.direction): the
	 * reason stays the same for both. */
	if (a == 2)
		return pcn_pkt_controller(ctx, md, 0);
	return RX_OK;
}

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return transparenthelloworld_act(ctx, md, 0);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return transparenthelloworld_act(ctx, md, 1);
}

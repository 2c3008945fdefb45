/* ucchain fast path (benchmark): the entry hands the packet to ingress
 * micro-cube 1, each micro-cube k to k + 1 while k < length, and the last
 * one forwards it out of the other port (length 0: the entry forwards).
 * Each micro-cube jump has a constant slot, as pcn_call_ingress_program
 * is meant to be used. */
#include "pcn.h"
#include "pcn_ucube.h"

/* The chain's length (leaf length), one slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ucchain_len SEC(".maps");

static __always_inline int ucchain_next(struct __ctx_buff *ctx, struct pcn_pkt_md *md, __u32 k)
{
	__u32 zero = 0, *len = bpf_map_lookup_elem(&ucchain_len, &zero);

	if (len && k < *len)
		return pcn_call_ingress_program(ctx, md, k + 1);
	return pcn_pkt_send(ctx, md, md->in_port == 0 ? 1 : 0);
}

static __always_inline int ucchain_1(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 1); }
static __always_inline int ucchain_2(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 2); }
static __always_inline int ucchain_3(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 3); }
static __always_inline int ucchain_4(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 4); }
static __always_inline int ucchain_5(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 5); }
static __always_inline int ucchain_6(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 6); }
static __always_inline int ucchain_7(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 7); }
static __always_inline int ucchain_8(struct __ctx_buff *ctx, struct pcn_pkt_md *md) { return ucchain_next(ctx, md, 8); }

PCN_MICRO_CUBE_INGRESS(1, ucchain_1)
PCN_MICRO_CUBE_INGRESS(2, ucchain_2)
PCN_MICRO_CUBE_INGRESS(3, ucchain_3)
PCN_MICRO_CUBE_INGRESS(4, ucchain_4)
PCN_MICRO_CUBE_INGRESS(5, ucchain_5)
PCN_MICRO_CUBE_INGRESS(6, ucchain_6)
PCN_MICRO_CUBE_INGRESS(7, ucchain_7)
PCN_MICRO_CUBE_INGRESS(8, ucchain_8)

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return ucchain_next(ctx, md, 0);
}

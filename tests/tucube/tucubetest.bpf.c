/* tucubetest fast path: a transparent cube whose egress handler hands each
 * packet to egress micro-cube 1. Code A's micro-cube counts in slot 1, code
 * B's (TUCUBETEST_CODE_B defined: tucubetest_b.bpf.c, or the control
 * plane's prefix to this source) in slot 2, so the counters say which
 * micro-cube ran; the handler itself counts in slot 3. Self-contained, so
 * cube-runtime can compile it at run time. */
#include "pcn_transparent.h"
/* After pcn_transparent.h: a micro-cube's RX_OK goes on through the stack. */
#include "pcn_ucube.h"

#ifdef TUCUBETEST_CODE_B
#define TUCUBETEST_UC_SLOT 2
#else
#define TUCUBETEST_UC_SLOT 1
#endif

/* Packets per CPU: 0 ingress, 1 egress micro-cube of code A, 2 of code B,
 * 3 the egress handler (the entry, before its jump). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} tucubetest_pkts SEC(".maps");

static __always_inline int tucubetest_count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&tucubetest_pkts, &slot);

	if (n)
		(*n)++;
	return RX_OK;
}

static __always_inline int tucubetest_uc(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return tucubetest_count(TUCUBETEST_UC_SLOT);
}

PCN_MICRO_CUBE_EGRESS(1, tucubetest_uc)

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return tucubetest_count(0);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	tucubetest_count(3);
	return pcn_call_egress_program(ctx, md, 1);
}

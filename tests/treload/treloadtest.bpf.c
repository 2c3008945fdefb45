/* treloadtest fast path: a transparent cube that counts each direction's
 * packets and lets them pass. Its egress handler counts, then hands the
 * packet to egress micro-cube 1, which counts it again. Code A counts in
 * slots 1 (handler) and 3 (micro-cube), code B (TRELOADTEST_CODE_B
 * defined: treloadtest_b.bpf.c, or the control plane's prefix to this
 * source) in slots 2 and 4, so the counters say which code ran in each.
 * Self-contained, so cube-runtime can compile it at run time. */
#include "pcn_transparent.h"
/* After pcn_transparent.h: a micro-cube's RX_OK goes on through the stack. */
#include "pcn_ucube.h"

#ifdef TRELOADTEST_CODE_B
#define TRELOADTEST_EGRESS_SLOT 2
#else
#define TRELOADTEST_EGRESS_SLOT 1
#endif
/* The micro-cube's slot: 3 under code A, 4 under code B. */
#define TRELOADTEST_UC_SLOT (TRELOADTEST_EGRESS_SLOT + 2)

/* Packets per CPU: 0 ingress (either code), 1 egress handler under code A,
 * 2 under code B, 3 egress micro-cube under code A, 4 under code B. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} treloadtest_pkts SEC(".maps");

static __always_inline int treloadtest_count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&treloadtest_pkts, &slot);

	if (n)
		(*n)++;
	return RX_OK;
}

static __always_inline int treloadtest_uc(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return treloadtest_count(TRELOADTEST_UC_SLOT);
}

PCN_MICRO_CUBE_EGRESS(1, treloadtest_uc)

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return treloadtest_count(0);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	treloadtest_count(TRELOADTEST_EGRESS_SLOT);
	return pcn_call_egress_program(ctx, md, 1);
}

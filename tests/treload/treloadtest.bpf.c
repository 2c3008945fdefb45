/* treloadtest fast path: a transparent cube that counts each direction's
 * packets and lets them pass. Code A counts what leaves in egress slot 1,
 * code B (TRELOADTEST_CODE_B defined: treloadtest_b.bpf.c, or the control
 * plane's prefix to this source) in slot 2, so the egress counters say which
 * code ran. Self-contained, so cube-runtime can compile it at run time. */
#include "pcn_transparent.h"

#ifdef TRELOADTEST_CODE_B
#define TRELOADTEST_EGRESS_SLOT 2
#else
#define TRELOADTEST_EGRESS_SLOT 1
#endif

/* Packets per CPU: 0 ingress (either code), 1 egress under code A, 2 egress
 * under code B. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
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

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return treloadtest_count(0);
}

static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return treloadtest_count(TRELOADTEST_EGRESS_SLOT);
}

/* reloadtest fast path: the entry counts nothing and checks the armed map,
 * then hands the packet to ingress micro-cube 1, which counts it and
 * forwards it out of the other port. Self-contained (no header of its own),
 * so cube-runtime can compile it from source at run time. */
#include "pcn.h"
#include "pcn_tables.h"
#include "pcn_ucube.h"

/* 1 while the control plane says the cube forwards (leaf armed). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} reloadtest_armed SEC(".maps");

/* Packets micro-cube 1 forwarded, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} reloadtest_fwd SEC(".maps");

/* Packets every reloadtest instance let in: one map for all of them, in
 * namespace rtns (bpf/pcn_tables.h), unlike the two maps above. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} PCN_TABLE_NS(rtns, hits) SEC(".maps");

static __always_inline int reloadtest_forward(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&reloadtest_fwd, &zero);

	if (n)
		(*n)++;
	return pcn_pkt_send(ctx, md, md->in_port == 0 ? 1 : 0);
}

PCN_MICRO_CUBE_INGRESS(1, reloadtest_forward)

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 zero = 0;
	__u32 *armed = bpf_map_lookup_elem(&reloadtest_armed, &zero);

	__u64 *hits;

	if (!armed || *armed != 1)
		return RX_DROP;
	hits = bpf_map_lookup_elem(&rtns__hits, &zero);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	return pcn_call_ingress_program(ctx, md, 1);
}

/* A minimal cube fast path for cube-runtime's own tests: it does not depend
 * on any real cube, and has one private map of each kind the runtime
 * handles (an array and a hash). */
#include "pcn.h"

/* What handle_rx returns: set by the tests. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rt_test_verdict SEC(".maps");

/* An arbitrary table: the runtime's map helpers are tested on it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} rt_test_table SEC(".maps");

/* Per-CPU counters, summed by pcn_map_sum_u64. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[2]);
} rt_test_stats SEC(".maps");

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 zero = 0;
	__u32 *v = bpf_map_lookup_elem(&rt_test_verdict, &zero);
	__u64 *st = bpf_map_lookup_elem(&rt_test_stats, &zero);

	if (st)
		st[0]++;
	return v ? (int)*v : RX_DROP;
}

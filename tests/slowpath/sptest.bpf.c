/* sptest fast path: packets arriving on the up port go to the slow path;
 * all others are forwarded out of the fwd port. */
#include "pcn.h"

/* Port numbers, written by the control plane: [0] up port, [1] fwd port
 * (0xffffffff: none). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} sptest_ports SEC(".maps");

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 k_up = 0, k_fwd = 1;
	__u32 *up = bpf_map_lookup_elem(&sptest_ports, &k_up);
	__u32 *fwd = bpf_map_lookup_elem(&sptest_ports, &k_fwd);

	if (up && *up == md->in_port)
		return pcn_pkt_controller(ctx, md, 1);
	if (fwd && *fwd != 0xffffffff)
		return pcn_pkt_send(ctx, md, *fwd);
	return RX_DROP;
}

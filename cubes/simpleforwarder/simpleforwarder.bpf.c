/* simpleforwarder fast path: per ingress port, drop, send to the slow path
 * or forward out of another port. A port without an action drops. */
#include "pcn.h"

#include "simpleforwarder_shared.h"

/* Ingress port -> action (struct simplefwd_action); a port without one
 * holds zeros, SIMPLEFWD_ACTION_DROP. An array, not a hash: the verifier
 * inlines an array lookup (no call, no hashing), which took simpleforwarder
 * from 63 to ~40 ns per packet in tests/bench/overhead.sh. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PCN_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct simplefwd_action);
} simplefwd_actions SEC(".maps");

/* Reason the slow path receives for packets the SLOWPATH action sends up. */
#define SIMPLEFWD_REASON_SLOWPATH 1

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	__u32 in_port = md->in_port;
	struct simplefwd_action *a;

	a = bpf_map_lookup_elem(&simplefwd_actions, &in_port);
	if (!a) {
		pcn_log(ctx, LOG_DEBUG, "simpleforwarder: no action for port %u", in_port);
		return RX_DROP;
	}
	switch (a->action) {
	case SIMPLEFWD_ACTION_FORWARD:
		return pcn_pkt_send(ctx, md, a->outport);
	case SIMPLEFWD_ACTION_SLOWPATH:
		return pcn_pkt_controller(ctx, md, SIMPLEFWD_REASON_SLOWPATH);
	default:
		return RX_DROP;
	}
}

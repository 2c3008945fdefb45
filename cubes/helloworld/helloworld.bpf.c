/* helloworld fast path: drop, send to the slow path, or forward between
 * port 0 and port 1, as helloworld_action says. */
#include "pcn.h"

#include "helloworld_shared.h"

/* The action for every packet (enum helloworld_action); default DROP. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} helloworld_action SEC(".maps");

/* What the action did to packets, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct helloworld_stats);
} helloworld_stats SEC(".maps");

/* Reason the slow path receives for packets the SLOWPATH action sends up. */
#define HELLOWORLD_REASON_SLOWPATH 1

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	struct helloworld_stats *st;
	__u32 action = HELLOWORLD_ACTION_DROP;
	__u32 zero = 0;
	__u32 *a;

	a = bpf_map_lookup_elem(&helloworld_action, &zero);
	if (a)
		action = *a;
	st = bpf_map_lookup_elem(&helloworld_stats, &zero);

	pcn_log(ctx, LOG_DEBUG, "helloworld: in_port %u action %u", md->in_port, action);

	switch (action) {
	case HELLOWORLD_ACTION_FORWARD:
		if (st)
			st->forwarded++;
#ifdef HELLOWORLD_V2
		if (st)
			st->bytes += ctx_len(ctx);
#endif
		return pcn_pkt_send(ctx, md, md->in_port == 0 ? 1 : 0);
	case HELLOWORLD_ACTION_SLOWPATH:
		if (st)
			st->slowpath++;
		return pcn_pkt_controller(ctx, md, HELLOWORLD_REASON_SLOWPATH);
	default:
		if (st)
			st->dropped++;
		return RX_DROP;
	}
}

/* pcn-trafficgen's two programs.
 *
 * tg_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES in the
 * source namespace: every frame it redirects is really transmitted out of
 * tg_out_ifindex. tg_sink is attached (XDP) to the receiving interface in
 * the destination namespace: it counts frames per CPU and drops them, and
 * being an XDP program it also keeps the veth from dropping redirected
 * frames (STACK.md: the peer of a veth needs XDP or GRO).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "trafficgen_kern_user.h"

/* Where tg_gen sends frames; set by pcn-trafficgen before load. */
const volatile __u32 tg_out_ifindex = 0;

/* Frames and bytes the sink saw, per CPU (one slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_sink_stats);
} tg_sink_stats SEC(".maps");

SEC("xdp")
int tg_gen(struct xdp_md *ctx)
{
	return bpf_redirect(tg_out_ifindex, 0);
}

SEC("xdp")
int tg_sink(struct xdp_md *ctx)
{
	struct tg_sink_stats *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&tg_sink_stats, &zero);
	if (st) {
		st->packets++;
		st->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";

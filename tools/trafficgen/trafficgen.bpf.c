/* pcn-trafficgen's two programs.
 *
 * tg_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES in the
 * source namespace: every frame it redirects is really transmitted out of
 * tg_out_ifindex. tg_sink is attached (XDP) to the receiving interface in
 * the destination namespace: it counts frames per CPU and drops them, and
 * being an XDP program it also keeps the veth from dropping redirected
 * frames (docs/KERNEL.md: the peer of a veth needs XDP or GRO).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "trafficgen_kern_user.h"

/* Where tg_gen sends frames; set by pcn-trafficgen before load. */
const volatile __u32 tg_out_ifindex = 0;
/* Of every 100 frames, how many tg_gen sends to tg_mix_mac instead of the
 * destination MAC the frame was built with. */
const volatile __u32 tg_mix_pct = 0;
const volatile __u8 tg_mix_mac[6] = { 0 };
const volatile __u8 tg_dst_mac[6] = { 0 };

/* With --restore, tg_gen writes the frame's headers from tg_hdr on every
 * frame: the kernel hands back pages that a device under test rewrote in
 * place (a router: MACs, TTL, checksum), and later frames would carry
 * those changes (a TTL running down to 1, another destination MAC). */
const volatile __u32 tg_restore = 0;
const volatile __u8 tg_hdr[TG_HDR_LEN] = { 0 };

/* With --flows N, frame k belongs to flow f = k % N: it leaves from UDP
 * source port 1024 + f % TG_PORTS (its UDP checksum 0: none) and, beyond
 * TG_PORTS flows, from source address 10.250.(f / TG_PORTS).1 (the IP
 * checksum updated), so that a NAT, conntrack or balancer sees N flows. */
const volatile __u32 tg_flows = 0;

/* Frames tg_gen has seen: a live-frames run executes on one CPU. */
__u64 tg_seq = 0;
__u64 tg_fseq = 0;

/* Frames and bytes the sink saw, per CPU (one slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_sink_stats);
} tg_sink_stats SEC(".maps");

/* With a mix, every frame gets its destination MAC written (the kernel
 * may hand back a page a previous run rewrote), spread evenly: frame k of
 * each 100 goes to tg_mix_mac when k < tg_mix_pct. */
SEC("xdp")
int tg_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *dst = data;

	if (tg_restore && data + TG_HDR_LEN <= end) {
		int i;

#pragma unroll
		for (i = 0; i < TG_HDR_LEN; i++)
			dst[i] = tg_hdr[i];
	}
	if (tg_mix_pct && data + 6 <= end) {
		int alt = (tg_seq++ % 100) < tg_mix_pct;
		int i;

		for (i = 0; i < 6; i++)
			dst[i] = alt ? tg_mix_mac[i] : tg_dst_mac[i];
	}
	if (tg_flows && data + TG_HDR_LEN <= end) {
		__u32 f = (__u32)(tg_fseq++ % tg_flows);
		__u16 sport = (__u16)(1024 + f % TG_PORTS);

		dst[34] = (__u8)(sport >> 8);
		dst[35] = (__u8)sport;
		dst[40] = 0;
		dst[41] = 0;
		if (tg_flows > TG_PORTS) {
			/* The source address's third byte (offset 28), and the
			 * IP checksum (24) updated for its 16-bit word (RFC 1624:
			 * HC' = ~(~HC + ~m + m')) whatever the frame held. */
			__u32 m = ((__u32)dst[28] << 8) | dst[29];
			__u32 m2 = ((f / TG_PORTS) << 8) | dst[29];
			__u32 sum = (~(((__u32)dst[24] << 8) | dst[25]) & 0xffff) + (~m & 0xffff) + m2;

			sum = (sum & 0xffff) + (sum >> 16);
			sum = (sum & 0xffff) + (sum >> 16);
			sum = ~sum & 0xffff;
			dst[28] = (__u8)(f / TG_PORTS);
			dst[24] = (__u8)(sum >> 8);
			dst[25] = (__u8)sum;
		}
	}
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

/* bridge: the egress program of the XDP flood's DEVMAP entries.
 *
 * At XDP the fast path floods with one bpf_redirect_map(BPF_F_BROADCAST |
 * BPF_F_EXCLUDE_INGRESS) into the frame's VLAN's DEVMAP, the frame tagged
 * with its VLAN; the kernel clones it per entry and runs an entry's
 * program, if it has one, on that entry's copy. The entries of ports that
 * want the VLAN untagged (access ports, a trunk's native VLAN) carry this
 * program, which removes the tag; the others send the copy as it is.
 * Loaded by the control plane (bridge.c) beside the cube's own object:
 * it uses no map. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp/devmap")
int bridge_untag(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 macs[12];

	if (data + sizeof(*eth) + 4 > end || eth->h_proto != bpf_htons(0x8100))
		return XDP_PASS;
	__builtin_memcpy(macs, eth, 12);
	if (bpf_xdp_adjust_head(ctx, 4))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) > end)
		return XDP_DROP;
	__builtin_memcpy(data, macs, 12);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";

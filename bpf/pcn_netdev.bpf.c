/* The netdev input program: the entry of packets from a netdev that the
 * broker peered with a cube port.
 *
 * The broker loads one per hook (pinned as netdev_xdp / netdev_tc under
 * <bpffs root>/shared/) and attaches it to each such netdev: clsact ingress
 * for TC instances, XDP generic or native for XDP ones. It finds the
 * (instance, port) the netdev is wired to in pcn_netdev_in, starts the
 * packet's metadata and jumps into that instance through the PatchPanel.
 * A netdev it does not know (attached but not yet, or no longer, peered)
 * keeps working as before: its packets go to the host stack.
 */
#include "pcn_helpers.h"

SEC(PCN_SEC)
int pcn_netdev_entry(struct __ctx_buff *ctx)
{
	__u32 ifindex = ctx_ingress_ifindex(ctx);
	struct pcn_netdev_val *in;
	struct pcn_pkt_md *md;
	__u32 zero = 0;
	int verdict = CTX_ACT_OK;

	in = bpf_map_lookup_elem(&pcn_netdev_in, &ifindex);
	if (!in)
		goto out;

	verdict = CTX_ACT_DROP;
	/* Never fails on a one-entry array; the verifier (kernel 6.18, clang
	 * 14) still requires the NULL check. */
	md = bpf_map_lookup_elem(&pcn_md, &zero);
	if (!md)
		goto out;
	/* The slot is reused by every packet on this CPU: clear it whole so
	 * nothing from the previous packet leaks into this one. */
	__builtin_memset(md, 0, sizeof(*md));
	md->cube_index = in->cube_index;
	md->in_port = in->port;

	/* The miss is counted on the instance the packet was meant for: that
	 * is where a user looks when its port receives nothing. */
	pcn__tail_call(ctx, in->cube_index, pcn__stats_of(in->cube_index), in->cube_index);
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";

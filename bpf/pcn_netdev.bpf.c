/* The netdev input program: the entry of packets from a netdev that the
 * broker peered with a cube port.
 *
 * The broker loads it once per hook unspecialized (pinned as netdev_xdp /
 * netdev_tc under <bpffs root>/shared/; it creates the shared maps) and
 * once more for each peered netdev, specialized with the load-time
 * constants below (broker/dataplane/netdev_spec.c), pinned as netdev_xdp_<ifindex> /
 * netdev_tc_<ifindex> and attached there: clsact ingress for TC instances,
 * XDP generic or native for XDP ones.
 *
 * Specialized for a netdev without an ingress stack of transparent cubes,
 * the program knows its (instance, port): it starts the packet's metadata
 * and tail-calls a constant PatchPanel slot, which the JIT turns into a
 * direct jump, with no map lookup at all (tests/bench: ~20 ns less per
 * packet than the lookups of the generic path). The broker replaces it
 * atomically when the netdev's peer or stack changes.
 *
 * Unspecialized, or for a netdev with a stack, it does what the generic
 * path does: the netdev's ingress stack (pcn_tstack) first, then the
 * (instance, port) in pcn_netdev_in (pcn_tstack.h: pcn__netdev_ingress);
 * specialized, with a stack, it hands its (instance, port) to the stack's
 * end in pcn_tmd instead, which saves that lookup (~20 ns a frame). A
 * netdev it does not know (attached but not yet, or no longer, peered)
 * keeps working as before: its packets go to the host stack.
 */
#include "pcn_helpers.h"
#include "pcn_tstack.h"

/* Set by the broker before loading; the names are a contract with
 * broker/dataplane/netdev_spec.c. PCN_MAX_CUBES (the default) means "unspecialized". */
const volatile __u32 pcn_nd_cube = PCN_MAX_CUBES; /* slot of the peered instance */
const volatile __u32 pcn_nd_port = 0;             /* its port the netdev is peered with */
const volatile __u32 pcn_nd_stack = 1;            /* 1: the netdev has an ingress stack */

/* Into the peered instance by a constant slot: the verifier (kernel 6.18)
 * sees pcn_nd_cube as a constant because .rodata is frozen, and the JIT
 * emits a direct jump it patches when the slot's program changes. */
static __always_inline int pcn__netdev_direct(struct __ctx_buff *ctx)
{
	struct pcn_pkt_md *md = pcn__md();
	struct pcn_cube_stats *st;
	int verdict = CTX_ACT_DROP;

	if (!md)
		goto out;
	pcn__md_clear(md);
	md->cube_index = pcn_nd_cube;
	md->in_port = pcn_nd_port;
	bpf_tail_call(ctx, &PCN_PP, pcn_nd_cube);
	/* Counted where a user looks when the cube's port receives nothing. */
	pcn__count_miss(pcn_nd_cube, PCN_MISS_EMPTY_SLOT);
	st = pcn__stats_of(pcn_nd_cube);
	if (st)
		st->drop_tail_call++;
out:
	return verdict;
}

SEC(PCN_SEC)
int pcn_netdev_entry(struct __ctx_buff *ctx)
{
	if (pcn_nd_cube < PCN_MAX_CUBES && !pcn_nd_stack)
		return pcn__netdev_direct(ctx);
	return pcn__netdev_ingress(ctx, pcn_nd_cube, pcn_nd_port);
}

char _license[] SEC("license") = "GPL";

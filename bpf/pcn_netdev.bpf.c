/* The netdev input program: the entry of packets from a netdev that the
 * broker peered with a cube port.
 *
 * The broker loads one per hook (pinned as netdev_xdp / netdev_tc under
 * <bpffs root>/shared/) and attaches it to each such netdev: clsact ingress
 * for TC instances, XDP generic or native for XDP ones. A packet first
 * crosses the netdev's ingress stack of transparent cubes, if it has one
 * (pcn_tstack), then enters the (instance, port) the netdev is wired to in
 * pcn_netdev_in: the program starts the packet's metadata and jumps there
 * through the PatchPanel (pcn_tstack.h: pcn__netdev_ingress). A netdev it
 * does not know (attached but not yet, or no longer, peered) keeps working
 * as before: its packets go to the host stack.
 */
#include "pcn_helpers.h"
#include "pcn_tstack.h"

SEC(PCN_SEC)
int pcn_netdev_entry(struct __ctx_buff *ctx)
{
	return pcn__netdev_ingress(ctx);
}

char _license[] SEC("license") = "GPL";

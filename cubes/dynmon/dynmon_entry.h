/* dynmon's wrapper program: the transparent entry (pcn_entry, in the
 * PatchPanel) whose two directions jump to micro-cube 1 of their array,
 * where the user's code runs (pcn_uc_in_1 for the ingress path,
 * pcn_uc_eg_1 for the egress path, each swapped by pcn_reload).
 *
 * An empty slot passes the packet: an instance created with no code, or a
 * direction given none, lets everything through, as Polycube's default
 * dynmon code does. Both the cube's own object (dynmon.bpf.c: the entry
 * only) and every object built from a user's code (dynmon_compat.h) start
 * with this file, so the entry, its arrays and the shared maps have one
 * layout in all of them.
 */
#ifndef DYNMON_ENTRY_H
#define DYNMON_ENTRY_H

/* pcn_transparent.h calls handle_rx / handle_tx; the user's code defines a
 * handle_rx of its own, so the wrapper's get other names. */
#define handle_rx dynmon__entry_rx
#define handle_tx dynmon__entry_tx
#include "pcn_transparent.h"
#include "pcn_ucube.h"

/* Runs the direction's user code, or passes when it has none. The jump is
 * a hop like any micro-cube's (md->hops keeps the chain's limit exact). */
static __always_inline int dynmon__run(struct __ctx_buff *ctx, struct pcn_pkt_md *md, void *array)
{
	if (md->hops < PCN_MAX_HOPS) {
		md->hops++;
		bpf_tail_call(ctx, array, 1);
		md->hops--;
	}
	return RX_OK;
}

static __always_inline int dynmon__entry_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return dynmon__run(ctx, md, &pcn_uc_ingress);
}

static __always_inline int dynmon__entry_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return dynmon__run(ctx, md, &pcn_uc_egress);
}

#undef handle_rx
#undef handle_tx

#endif /* DYNMON_ENTRY_H */

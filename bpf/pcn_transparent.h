/* What a transparent cube's fast path includes instead of pcn.h.
 *
 * A transparent cube defines
 *
 *   static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md);
 *   static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md);
 *
 * for packets coming in from the wire and going out to it, each returning
 * RX_OK (the packet goes on: to the next cube of the stack, then to the host,
 * out of the netdev, into the cube or to the cube port's peer) or RX_DROP.
 * The wrapper below (pcn_entry, in the PatchPanel like a standard cube's)
 * runs the one of the packet's direction and jumps to the next instance of
 * the stack.
 */
#ifndef PCN_TRANSPARENT_H
#define PCN_TRANSPARENT_H

/* Slow-path records carry the direction (md->in_port here, see below). */
#define PCN_TRANSPARENT_CUBE 1
#include "pcn_helpers.h"
#include "pcn_tstack.h"

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md);
static __always_inline int handle_tx(struct __ctx_buff *ctx, struct pcn_pkt_md *md);

/* A handler's verdict (rc) turned into the hook's: RX_OK goes on to the
 * next instance of the stack or, past the last, on its way (the host, the
 * wire, the peered cube, the cube port's peer). Shared by pcn_entry and the
 * micro-cubes of a transparent cube (pcn_ucube.h). */
static __always_inline int pcn__tverdict(struct __ctx_buff *ctx, struct pcn_pkt_md *md, struct pcn_tmd *tmd,
					 struct pcn_cube_stats *st, int rc)
{
	int verdict = CTX_ACT_DROP;

	if (rc != RX_OK) {
		if (st)
			st->drop_verdict++;
		goto out;
	}
	tmd->pos++;
	/* Past the last instance no position follows: no lookup to say so. */
	rc = tmd->last ? 0 : pcn__tstack_jump(ctx, tmd, md, pcn_cube_index, 1);
	if (rc == 0) {
		verdict = pcn__tstack_end(ctx, tmd, md, pcn_cube_index, 1);
		if (verdict != CTX_ACT_DROP && st)
			st->pass++;
	}
out:
	return verdict;
}

SEC(PCN_SEC)
int pcn_entry(struct __ctx_buff *ctx)
{
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_pkt_md *md;
	struct pcn_tmd *tmd = pcn__tmd(&md);
	int verdict = CTX_ACT_DROP;
	int rc;

	if (!md || !tmd)
		goto out;
	md->cube_index = pcn_cube_index;
	md->in_port = tmd->dir;
	if (st)
		st->rx_packets++;

	rc = tmd->dir == PCN_TDIR_EGRESS ? handle_tx(ctx, md) : handle_rx(ctx, md);
	verdict = pcn__tverdict(ctx, md, tmd, st, rc);
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";

#endif /* PCN_TRANSPARENT_H */

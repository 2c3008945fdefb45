/* What a cube's fast path includes: the API of pcn_helpers.h plus the
 * wrapper program that runs around the cube's handler.
 *
 * A cube source includes this file, then defines
 *
 *   static __always_inline int handle_rx(struct __ctx_buff *ctx,
 *                                        struct pcn_pkt_md *md);
 *
 * returning RX_OK, RX_DROP or RX_REDIRECT (usually through pcn_pkt_send).
 * It defines no program and no license of its own: `pcn_entry` below is the
 * program (the runtime finds it by that name) and the license is GPL, which
 * the helpers used here require.
 */
#ifndef PCN_H
#define PCN_H

#include "pcn_helpers.h"

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md);

/* Before the handler: find the packet's metadata (filled by the netdev
 * input program or by the cube that tail-called us) and claim it for this
 * instance. After: turn the handler's verdict into the hook's, and count it.
 * One exit, so every path returns through the same counted switch. */
SEC(PCN_SEC)
int pcn_entry(struct __ctx_buff *ctx)
{
	struct pcn_cube_stats *st = pcn__stats();
	struct pcn_pkt_md *md = pcn__md();
	int verdict = CTX_ACT_DROP;
	int rc;

	if (!md)
		goto out;
	md->cube_index = pcn_cube_index;
	if (st)
		st->rx_packets++;

	rc = handle_rx(ctx, md);

	verdict = pcn__verdict(md, rc, st);
out:
	return verdict;
}

char _license[] SEC("license") = "GPL";

#endif /* PCN_H */

/* portparams fast path: forwards what enters one port out of the other. */
#include "pcn.h"

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return pcn_pkt_send(ctx, md, md->in_port == 0 ? 1 : 0);
}

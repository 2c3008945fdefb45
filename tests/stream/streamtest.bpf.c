/* streamtest fast path: drops everything; the cube is about its streams. */
#include "pcn.h"

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	return RX_DROP;
}

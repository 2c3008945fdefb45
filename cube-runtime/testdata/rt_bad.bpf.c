/* A fast path the verifier refuses (it reads the packet without checking
 * its length), for the test that the refusal reaches the user as a 422
 * with the verifier's words. */
#include "pcn.h"

static __always_inline int handle_rx(struct __ctx_buff *ctx, struct pcn_pkt_md *md)
{
	unsigned char *p = ctx_data(ctx);

	return p[20] == 1 ? RX_OK : RX_DROP;
}

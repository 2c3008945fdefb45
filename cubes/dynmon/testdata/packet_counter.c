/* A packet counter as Polycube's dynmon users write one: a bcc-style array
 * and a method call on it, CTXTYPE and pkt_metadata, RX_OK, pcn_log. */
BPF_ARRAY(PACKETS, uint64_t, 1);

static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
{
	unsigned int key = 0;
	uint64_t *n = PACKETS.lookup(&key);

	if (!n)
		return RX_OK;
	*n += 1;
	pcn_log(ctx, LOG_TRACE, "packets: %d", *n);
	return RX_OK;
}

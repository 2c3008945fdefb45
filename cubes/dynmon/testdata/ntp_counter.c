/* NTP packets and those of mode 7 (private, the amplification vector),
 * counted as a Polycube dynmon probe would: bcc's <uapi/...> includes, a
 * bitfield Ethernet header, bpf_htons, Polycube's %I and %P in pcn_log and
 * an h length modifier, two arrays, a drop verdict never taken. */
#include <uapi/linux/ip.h>
#include <uapi/linux/udp.h>

#define NTP_PORT 123
#define NTP_MODE(b) (uint8_t)((b) & 0x07)

struct eth_hdr {
	__be64 dst : 48;
	__be64 src : 48;
	__be16 proto;
} __attribute__((packed));

struct ntp_head {
	uint8_t li_vn_mode;
	uint8_t stratum;
	uint8_t poll;
	uint8_t precision;
} __attribute__((packed));

BPF_ARRAY(NTP_PACKETS, uint64_t, 1);
BPF_TABLE("array", int, uint64_t, NTP_PRIVATE, 1);

static __always_inline int handle_rx(struct CTXTYPE *ctx, struct pkt_metadata *md)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct eth_hdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;
	struct ntp_head *ntp;
	unsigned int key = 0;
	uint64_t *c;

	if ((void *)(ip + 1) > data_end || eth->proto != bpf_htons(ETH_P_IP) || ip->protocol != 17)
		return RX_OK;
	udp = (void *)ip + 4 * ip->ihl;
	if ((void *)(udp + 1) > data_end)
		return RX_OK;
	if (udp->source != bpf_htons(NTP_PORT) && udp->dest != bpf_htons(NTP_PORT))
		return RX_OK;
	pcn_log(ctx, LOG_TRACE, "%I:%P -> %I:%P", ip->saddr, udp->source, ip->daddr, udp->dest);
	c = NTP_PACKETS.lookup(&key);
	if (c)
		*c += 1;
	ntp = (void *)(udp + 1);
	if ((void *)(ntp + 1) > data_end)
		return RX_OK;
	pcn_log(ctx, LOG_TRACE, "NTP mode: %hhu", NTP_MODE(ntp->li_vn_mode));
	if (NTP_MODE(ntp->li_vn_mode) == 7) {
		c = NTP_PRIVATE.lookup(&key);
		if (c)
			*c += 1;
	}
	return ntp->stratum == 255 && 0 ? RX_DROP : RX_OK;
}

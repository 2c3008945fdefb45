#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdio.h>
#include <string.h>

static uint16_t ip_checksum(const void *hdr, size_t len)
{
	const uint16_t *p = hdr;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int tg_frame_build(uint8_t *buf, size_t size, const uint8_t src_mac[6], const uint8_t dst_mac[6])
{
	/* The headers are built in aligned locals and copied: after the
	 * 14-byte Ethernet header the IP header sits at a 2-byte offset of
	 * the caller's buffer, where accessing its 4-byte fields is undefined
	 * (UBSan stops the generator on it). */
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = {
		.version = 4,
		.ihl = 5,
		.ttl = 64,
		.protocol = IPPROTO_UDP,
		.saddr = htonl(0x0afa0001), /* 10.250.0.1 */
		.daddr = htonl(0x0afa0002), /* 10.250.0.2 */
	};
	/* Checksum 0: "none" for UDP over IPv4; nothing on the path checks it. */
	struct udphdr udp = { .source = htons(9), .dest = htons(9) };

	if (size < TG_FRAME_MIN || size > TG_FRAME_MAX)
		return -EINVAL;
	memcpy(eth.h_dest, dst_mac, ETH_ALEN);
	memcpy(eth.h_source, src_mac, ETH_ALEN);
	ip.tot_len = htons((uint16_t)(size - sizeof(eth)));
	ip.check = ip_checksum(&ip, sizeof(ip));
	udp.len = htons((uint16_t)(size - sizeof(eth) - sizeof(ip)));
	memset(buf, 0, size);
	memcpy(buf, &eth, sizeof(eth));
	memcpy(buf + sizeof(eth), &ip, sizeof(ip));
	memcpy(buf + sizeof(eth) + sizeof(ip), &udp, sizeof(udp));
	return 0;
}

int tg_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* router: the control plane's pure logic (see router_logic.h). */
#include "router_logic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int router_parse_addr(const char *s, uint32_t *addr)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

int router_parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
	char buf[32], *slash, *end;
	unsigned long l;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	l = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || l > 32)
		return -EINVAL;
	*len = (uint8_t)l;
	return router_parse_addr(buf, addr);
}

int router_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

uint32_t router_mask(uint8_t len)
{
	return htonl(len ? ~0u << (32 - len) : 0);
}

void router_fmt_prefix(char *buf, size_t n, uint32_t addr, uint8_t len)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr ia = { .s_addr = addr };

	inet_ntop(AF_INET, &ia, a, sizeof(a));
	snprintf(buf, n, "%s/%u", a, len);
}

void router_mac_generate(const char *instance, const char *port, uint8_t mac[6])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const char *s = instance; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	h = (h ^ '/') * 1099511628211ull;
	for (const char *s = port; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	mac[0] = 0x02; /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

static bool in_net(uint32_t addr, const struct router_addr *a)
{
	uint32_t m = router_mask(a->len);

	return (addr & m) == (a->addr & m);
}

int router_iface_for(const struct router_iface *ifs, size_t n, uint32_t addr, uint32_t *src)
{
	int best = -ENOENT, best_len = -1;

	for (size_t i = 0; i < n; i++) {
		if (!ifs[i].valid || !ifs[i].has_ip)
			continue;
		for (size_t j = 0; j <= ifs[i].nsec; j++) {
			const struct router_addr *a = j == 0 ? &ifs[i].ip : &ifs[i].sec[j - 1];

			if (in_net(addr, a) && (int)a->len > best_len) {
				best = (int)i;
				best_len = a->len;
				if (src)
					*src = a->addr;
			}
		}
	}
	return best;
}

int router_rtable_add(struct router_rtable *t, const struct router_rt_entry *r)
{
	struct router_rt_entry nr = *r;

	nr.net &= router_mask(nr.len);
	for (size_t i = 0; i < t->n; i++) {
		struct router_rt_entry *e = &t->e[i];

		if (e->net != nr.net || e->len != nr.len)
			continue;
		if ((e->flags & ROUTER_RT_LOCAL) ||
		    (!(nr.flags & ROUTER_RT_LOCAL) && e->cost <= nr.cost))
			return 0;
		*e = nr;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct router_rt_entry *e = realloc(t->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n++] = nr;
	return 0;
}

int router_rtable_connected(struct router_rtable *t, const struct router_iface *ifs, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		if (!ifs[i].valid || !ifs[i].has_ip)
			continue;
		for (size_t j = 0; j <= ifs[i].nsec && !rc; j++) {
			const struct router_addr *a = j == 0 ? &ifs[i].ip : &ifs[i].sec[j - 1];
			struct router_rt_entry conn = { .net = a->addr, .len = a->len, .port = (uint32_t)i,
							.connected = true };
			struct router_rt_entry local = { .net = a->addr, .len = 32, .port = (uint32_t)i,
							 .flags = ROUTER_RT_LOCAL };

			rc = router_rtable_add(t, &local);
			if (!rc && a->len < 32)
				rc = router_rtable_add(t, &conn);
		}
	}
	return rc;
}

const struct router_rt_entry *router_rtable_find(const struct router_rtable *t, uint32_t net, uint8_t len)
{
	net &= router_mask(len);
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].net == net && t->e[i].len == len)
			return &t->e[i];
	return NULL;
}

const struct router_rt_entry *router_rtable_lpm(const struct router_rtable *t, uint32_t addr)
{
	const struct router_rt_entry *best = NULL;

	for (size_t i = 0; i < t->n; i++) {
		const struct router_rt_entry *e = &t->e[i];

		if ((addr & router_mask(e->len)) == e->net && (!best || e->len > best->len))
			best = e;
	}
	return best;
}

void router_rtable_free(struct router_rtable *t)
{
	free(t->e);
	t->e = NULL;
	t->n = t->cap = 0;
}

uint16_t router_csum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

#define ETH_LEN 14
#define ETHERTYPE_IP 0x0800
#define ETHERTYPE_ARP 0x0806

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t router_build_arp_request(uint8_t *out, const uint8_t src_mac[6], uint32_t src_ip, uint32_t target)
{
	memset(out, 0xff, 6);
	memcpy(out + 6, src_mac, 6);
	put16(out + 12, ETHERTYPE_ARP);
	put16(out + 14, 1);            /* Ethernet */
	put16(out + 16, ETHERTYPE_IP); /* IPv4 */
	out[18] = 6;
	out[19] = 4;
	put16(out + 20, 1); /* request */
	memcpy(out + 22, src_mac, 6);
	memcpy(out + 28, &src_ip, 4);
	memset(out + 32, 0, 6);
	memcpy(out + 38, &target, 4);
	return 42;
}

/* The IPv4 header of frame, its length in *ihl; NULL if it has none. */
static const uint8_t *ipv4_of(const uint8_t *frame, size_t len, size_t *ihl)
{
	if (len < ETH_LEN + 20 || frame[12] != 0x08 || frame[13] != 0x00 || (frame[14] >> 4) != 4)
		return NULL;
	*ihl = (size_t)(frame[14] & 15) * 4;
	if (*ihl < 20 || len < ETH_LEN + *ihl)
		return NULL;
	return frame + ETH_LEN;
}

static void ip_finish(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	memcpy(ip + 10, &(uint16_t){ router_csum(ip, ihl) }, 2);
}

size_t router_build_echo_reply(uint8_t *out, size_t cap, const uint8_t *frame, size_t len,
			       const uint8_t dst_mac[6])
{
	const uint8_t *ip = NULL;
	size_t ihl = 0, tot;
	uint8_t *oip, *icmp;

	ip = ipv4_of(frame, len, &ihl);
	if (!ip || ip[9] != 1 /* ICMP */ || len > cap)
		return 0;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if (tot < ihl + 8 || ETH_LEN + tot > len || ip[ihl] != 8 /* echo request */)
		return 0;
	memcpy(out, frame, ETH_LEN + tot);
	memcpy(out + 6, frame, 6); /* from the MAC it was sent to */
	memcpy(out, dst_mac, 6);
	oip = out + ETH_LEN;
	memcpy(oip + 12, ip + 16, 4);
	memcpy(oip + 16, ip + 12, 4);
	oip[8] = 64;
	ip_finish(oip, ihl);
	icmp = oip + ihl;
	icmp[0] = 0; /* echo reply */
	icmp[2] = icmp[3] = 0;
	memcpy(icmp + 2, &(uint16_t){ router_csum(icmp, tot - ihl) }, 2);
	return ETH_LEN + tot;
}

size_t router_build_icmp_error(uint8_t *out, size_t cap, const uint8_t *frame, size_t len, uint8_t type,
			       uint8_t code, uint32_t src, const uint8_t dst_mac[6])
{
	size_t ihl = 0, quote, tot;
	const uint8_t *ip = ipv4_of(frame, len, &ihl);
	uint8_t saddr0, *oip, *icmp;
	uint16_t frag;

	if (!ip)
		return 0;
	saddr0 = ip[12];
	frag = (uint16_t)((ip[6] << 8 | ip[7]) & 0x1fff);
	if (frag || saddr0 == 0 || saddr0 >= 224 || !memcmp(ip + 12, "\xff\xff\xff\xff", 4))
		return 0;
	/* Not about an ICMP error (only about echo, timestamp, ... queries). */
	if (ip[9] == 1 && len >= ETH_LEN + ihl + 1) {
		uint8_t t = ip[ihl];

		if (t != 0 && t != 8 && t != 13 && t != 14 && t != 17 && t != 18)
			return 0;
	}
	quote = ihl + 8;
	if (ETH_LEN + quote > len)
		quote = len - ETH_LEN;
	tot = 20 + 8 + quote;
	if (ETH_LEN + tot > cap)
		return 0;
	memset(out, 0, ETH_LEN + tot);
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, frame + 6, 6);
	put16(out + 12, ETHERTYPE_IP);
	oip = out + ETH_LEN;
	oip[0] = 0x45;
	put16(oip + 2, (uint16_t)tot);
	oip[8] = 64;
	oip[9] = 1;
	memcpy(oip + 12, &src, 4);
	memcpy(oip + 16, ip + 12, 4);
	ip_finish(oip, 20);
	icmp = oip + 20;
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, ip, quote);
	memcpy(icmp + 2, &(uint16_t){ router_csum(icmp, 8 + quote) }, 2);
	return ETH_LEN + tot;
}

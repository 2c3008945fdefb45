/* router: the control plane's pure logic (no maps, no runtime), so that
 * it is tested alone (router_logic_test.c): addresses and prefixes, the
 * routing table the configuration asks for, the packets the slow path
 * builds. Addresses are in network order, as in the fast path's maps. */
#ifndef ROUTER_LOGIC_H
#define ROUTER_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router_shared.h"

/* Secondary addresses per port at most. */
#define ROUTER_SEC_MAX 32

/* "10.0.1.254/24" -> addr, len. 0 or -EINVAL. */
int router_parse_prefix(const char *s, uint32_t *addr, uint8_t *len);
/* "10.0.1.254" -> addr. 0 or -EINVAL. */
int router_parse_addr(const char *s, uint32_t *addr);
/* "aa:bb:cc:dd:ee:ff" (any case) -> mac. 0 or -EINVAL. */
int router_parse_mac(const char *s, uint8_t mac[6]);
/* The netmask of a prefix length, network order. */
uint32_t router_mask(uint8_t len);
/* "10.0.1.0/24" into buf (at least 19 bytes). */
void router_fmt_prefix(char *buf, size_t n, uint32_t addr, uint8_t len);
/* The MAC a port gets when none is configured: locally administered,
 * unicast, and the same for the same instance and port names on every run
 * (a restart keeps it, so hosts' ARP caches stay right). */
void router_mac_generate(const char *instance, const char *port, uint8_t mac[6]);

/* One address of a port. */
struct router_addr {
	uint32_t addr;
	uint8_t len;
};

/* A port as the control plane knows it. */
struct router_iface {
	bool valid;
	bool has_ip;
	char name[64];
	uint8_t mac[6];
	struct router_addr ip;                     /* primary (has_ip) */
	size_t nsec;
	struct router_addr sec[ROUTER_SEC_MAX];    /* secondary */
};

/* The port (index into ifs) whose network holds addr, the longest prefix
 * winning, or -ENOENT; *src (may be NULL) gets that port's address on that
 * network. */
int router_iface_for(const struct router_iface *ifs, size_t n, uint32_t addr, uint32_t *src);

/* The routing table the configuration asks for. */
struct router_rt_entry {
	uint32_t net;   /* network, masked */
	uint8_t len;
	uint32_t port;
	uint32_t nexthop; /* 0: connected */
	uint32_t cost;
	uint32_t flags;  /* ROUTER_RT_LOCAL */
	bool connected;
};

struct router_rtable {
	struct router_rt_entry *e;
	size_t n, cap;
};

/* Adds a route; of two routes to the same prefix the lower cost stays (a
 * connected route has cost 0; a LOCAL /32 beats everything). 0 or
 * -ENOMEM. */
int router_rtable_add(struct router_rtable *t, const struct router_rt_entry *r);
/* Connected networks and LOCAL /32s of every valid port in ifs. */
int router_rtable_connected(struct router_rtable *t, const struct router_iface *ifs, size_t n);
/* The entry for exactly net/len, or NULL. */
const struct router_rt_entry *router_rtable_find(const struct router_rtable *t, uint32_t net, uint8_t len);
/* The longest-prefix match for addr, or NULL (what the fast path does). */
const struct router_rt_entry *router_rtable_lpm(const struct router_rtable *t, uint32_t addr);
void router_rtable_free(struct router_rtable *t);

/* The Internet checksum of buf. */
uint16_t router_csum(const void *buf, size_t len);

/* Frames the slow path builds. Each returns the frame's length, or 0 when
 * it should not be built (see each). */

/* An ARP request for target from src_ip/src_mac (broadcast). out >= 42. */
size_t router_build_arp_request(uint8_t *out, const uint8_t src_mac[6], uint32_t src_ip, uint32_t target);
/* The echo reply to frame (an ICMP echo request to one of our addresses):
 * IPs swapped, TTL 64, Ethernet destination dst_mac (the port's own MAC:
 * it goes into the router again to be routed back). 0 if frame is not an
 * echo request. cap >= len. */
size_t router_build_echo_reply(uint8_t *out, size_t cap, const uint8_t *frame, size_t len,
			       const uint8_t dst_mac[6]);
/* An ICMP error (type, code) about frame, from src, to frame's source:
 * the IP header and the first 8 bytes of its payload quoted, Ethernet
 * destination dst_mac (to be routed by the router). 0 when no error may be
 * sent about it (RFC 1812 4.3.2.7: not about an ICMP error, a fragment
 * past the first, a broadcast, multicast or zero source). cap >= 98. */
size_t router_build_icmp_error(uint8_t *out, size_t cap, const uint8_t *frame, size_t len, uint8_t type,
			       uint8_t code, uint32_t src, const uint8_t dst_mac[6]);

#endif /* ROUTER_LOGIC_H */

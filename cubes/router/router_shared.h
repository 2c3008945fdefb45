/* router: what its fast path and its control plane share. */
#ifndef ROUTER_SHARED_H
#define ROUTER_SHARED_H

#include <linux/types.h>

/* Routes (connected, static, and one /32 per router address) at most. */
#define ROUTER_ROUTES_MAX 4096
/* ARP entries at most. */
#define ROUTER_ARP_MAX 4096

/* Reasons the slow path receives. */
#define ROUTER_REASON_LOCAL 1     /* an IPv4 packet to one of the router's addresses */
#define ROUTER_REASON_TTL 2       /* TTL ran out: time exceeded */
#define ROUTER_REASON_UNREACH 3   /* no route: destination unreachable */
#define ROUTER_REASON_ARP_MISS 4  /* next hop md[0] (network order) on port md[1] unresolved */
#define ROUTER_REASON_ARP_LEARN 5 /* (notify) md[0] was learned or changed: send what waits for it */

/* Value of router_ports[port number]: the port as the fast path needs it.
 * ip is the primary address (network order); valid is 0 for a port that
 * does not exist (an array entry cannot be deleted). */
struct router_port {
	__u32 ip;
	__u8 mac[6];
	__u8 valid;
	__u8 pad;
};

/* Key of router_routes (an LPM trie): prefixlen, then the address in
 * network order. */
struct router_route_key {
	__u32 prefixlen;
	__u32 addr;
};

#define ROUTER_RT_LOCAL 1 /* a /32 of one of the router's addresses: for it, not through it */

/* Value of router_routes. nexthop 0: the destination is on the port's
 * network (connected). */
struct router_route {
	__u32 port;
	__u32 nexthop;
	__u32 flags;
	__u32 pad;
};

#define ROUTER_ARP_STATIC 1 /* configured (arp-table): never learned over, never aged */

/* Key of router_arp: an IPv4 address in network order. Value: */
struct router_arp_entry {
	__u8 mac[6];
	__u16 flags;
	__u32 port;
	__u64 seen_ns; /* bpf_ktime_get_ns() when last learned (CLOCK_MONOTONIC) */
};

/* Indexes of the per-CPU u64 counters in router_stats[0]. */
enum router_counter {
	ROUTER_CNT_UNREACH = 0,
	ROUTER_CNT_TTL = 1,
	ROUTER_CNT_ARP_MISS = 2,
	ROUTER_CNT_N = 4,
};

struct router_counters {
	__u64 c[ROUTER_CNT_N];
};

#ifndef __BPF__
_Static_assert(sizeof(struct router_port) == 12, "router_port layout");
_Static_assert(sizeof(struct router_route_key) == 8, "router_route_key layout");
_Static_assert(sizeof(struct router_route) == 16, "router_route layout");
_Static_assert(sizeof(struct router_arp_entry) == 24, "router_arp_entry layout");
_Static_assert(sizeof(struct router_counters) == 32, "router_counters layout");
#endif

#endif /* ROUTER_SHARED_H */

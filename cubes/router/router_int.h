/* router: what its control plane (router.c) and its slow path
 * (router_slowpath.c) share inside the process. */
#ifndef ROUTER_INT_H
#define ROUTER_INT_H

#include <stdint.h>
#include <time.h>

#include "pcn_cube.h"
#include "pcn_kern_user.h"
#include "router_logic.h"
#include "router_shared.h"

#define MAP_PORTS "router_ports"
#define MAP_ROUTES "router_routes"
#define MAP_ARP "router_arp"
#define MAP_STATS "router_stats"

/* Next hops being resolved at once, packets held per next hop. */
#define ROUTER_PENDING_MAX 64
#define ROUTER_QUEUE_MAX 16
/* ARP requests per next hop before its packets are dropped, and how far
 * apart. */
#define ROUTER_ARP_TRIES 3
#define ROUTER_ARP_RETRY_MS 1000
#define ROUTER_TIMER_MS 200
/* Learned ARP entries not refreshed for this long are forgotten; the
 * environment's ROUTER_ARP_AGING (seconds) overrides it (tests). */
#define ROUTER_ARP_AGING_S 300

struct router_held {
	uint32_t in_port;
	size_t len;
	uint8_t data[PCN_SLOWPATH_SNAPLEN];
};

struct router_pending {
	uint32_t nh;     /* network order */
	uint32_t port;   /* out of which the request goes */
	unsigned tries;
	uint64_t last_ms;
	size_t n;
	struct router_held pkts[ROUTER_QUEUE_MAX];
};

struct router_priv {
	struct router_priv *next;      /* in router_privs */
	struct router_iface ifs[PCN_MAX_PORTS];
	struct router_rtable rt;       /* the table last written */
	char **routes;                 /* "network|nexthop" of the configured routes last applied */
	size_t nroutes;
	bool applied;                  /* a configuration was applied (routes checked since) */
	struct router_pending *pend[ROUTER_PENDING_MAX];
	uint64_t arp_requests, queue_drops;
	uint64_t aging_ns;
	uint64_t last_age_ms;
};

/* The clock bpf_ktime_get_ns() reads. */
static inline uint64_t router_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline struct router_priv *router_priv_of(struct pcn_instance *inst)
{
	return pcn_instance_priv(inst);
}

/* Frees the data of every instance still alive (at exit: the runtime
 * frees its instances without a callback; tests call it after the
 * harness is gone). */
void router_free_all(void);

/* The slow path (router_slowpath.c): pkt_in, and the timer that sends ARP
 * requests again, gives up on silent next hops and ages the ARP table. */
void router_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt);
void router_tick(struct pcn_instance *inst, void *arg);

#endif /* ROUTER_INT_H */

/* router: the control plane and slow path of an IPv4 router.
 *
 * The fast path routes by itself (LPM, ARP table, TTL). This process keeps
 * its maps equal to the configuration (ports' addresses and MACs, connected
 * and static routes, static ARP entries), rebuilt from the whole tree after
 * every apply (on_applied): routes name ports, and their interface is
 * computed from the ports' networks, so a change anywhere may move them.
 * The slow path answers ICMP echo to the router's addresses, sends ICMP
 * time exceeded and destination unreachable, and resolves next hops: an
 * ARP request, the packets held in a bounded queue per next hop, sent once
 * the reply is learned (or dropped after ROUTER_ARP_TRIES requests).
 * Packets it makes for a remote host (echo replies, ICMP errors) are
 * injected into the router as if they had arrived on the port, so the fast
 * path routes them like any other. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <linux/bpf.h>

#include "pcn_cube.h"
#include "pcn_kern_user.h"
#include "router_logic.h"
#include "router_shared.h"
#include "router_tc.skel.h"
#include "router_xdp.skel.h"
#include "router_yang.h"

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
	struct router_pending *pend[ROUTER_PENDING_MAX];
	uint64_t arp_requests, queue_drops;
	uint64_t aging_ns;
	uint64_t last_age_ms;
};

static void free_routes(char **r, size_t n);

/* Every instance's data. The runtime frees its instances at exit without
 * a callback (on_destroy is for deletion: the data plane stays), so what
 * is still here then is freed by router_free_all (atexit). */
static struct router_priv *router_privs;

static void priv_free(struct router_priv *p)
{
	for (int i = 0; i < ROUTER_PENDING_MAX; i++)
		free(p->pend[i]);
	router_rtable_free(&p->rt);
	free_routes(p->routes, p->nroutes);
	free(p);
}

static void router_free_all(void)
{
	while (router_privs) {
		struct router_priv *p = router_privs;

		router_privs = p->next;
		priv_free(p);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct router_priv *priv_of(struct pcn_instance *inst)
{
	return pcn_instance_priv(inst);
}

static void fmt_ip(char *buf, size_t n, uint32_t a)
{
	struct in_addr ia = { .s_addr = a };

	inet_ntop(AF_INET, &ia, buf, (socklen_t)n);
}

static void fmt_mac(char *buf, size_t n, const uint8_t *m)
{
	snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* ---- the configuration -> the maps --------------------------------------- */

struct collect {
	struct pcn_instance *inst;
	struct router_priv *p;
	struct router_iface *ifs;
	int rc;
};

static int collect_sec(const struct pcn_node *n, void *arg)
{
	struct router_iface *ifc = arg;
	struct router_addr a;

	if (ifc->nsec == ROUTER_SEC_MAX || router_parse_prefix(pcn_node_key(n, "ip"), &a.addr, &a.len))
		return -EINVAL;
	ifc->sec[ifc->nsec++] = a;
	return 0;
}

static int collect_port(const struct pcn_node *n, void *arg)
{
	struct collect *c = arg;
	const char *name = pcn_node_key(n, "name"), *ip = pcn_node_child(n, "ip"), *mac = pcn_node_child(n, "mac");
	int idx = name ? pcn_port_index(c->inst, name) : -ENOENT;
	struct router_iface *ifc;

	if (idx < 0 || idx >= PCN_MAX_PORTS)
		return 0; /* not allocated yet: the next apply has it */
	ifc = &c->ifs[idx];
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	if (ip && router_parse_prefix(ip, &ifc->ip.addr, &ifc->ip.len))
		return pcn_fail(c->inst, -EINVAL, "port %s: ip %s is not address/prefix", name, ip);
	ifc->has_ip = ip != NULL;
	if (mac && router_parse_mac(mac, ifc->mac))
		return pcn_fail(c->inst, -EINVAL, "port %s: bad mac %s", name, mac);
	if (!mac)
		router_mac_generate(pcn_instance_name(c->inst), name, ifc->mac);
	if (pcn_node_foreach(n, "secondaryip", collect_sec, ifc))
		return pcn_fail(c->inst, -EINVAL, "port %s: bad secondary address (at most %d)", name,
				ROUTER_SEC_MAX);
	if (ifc->nsec && !ifc->has_ip)
		return pcn_fail(c->inst, -EINVAL, "port %s: a secondary address needs the port's ip", name);
	ifc->valid = true;
	return 0;
}

struct collect_rt {
	struct pcn_instance *inst;
	struct router_priv *p;
	struct router_iface *ifs;
	struct router_rtable *rt;
	char **seen;
	size_t nseen;
};

static bool route_was_applied(const struct router_priv *p, const char *id)
{
	for (size_t i = 0; i < p->nroutes; i++)
		if (!strcmp(p->routes[i], id))
			return true;
	return false;
}

static int collect_route(const struct pcn_node *n, void *arg)
{
	struct collect_rt *c = arg;
	const char *net = pcn_node_key(n, "network"), *nh = pcn_node_key(n, "nexthop");
	const char *ifname = pcn_node_child(n, "interface"), *cost = pcn_node_child(n, "pathcost");
	struct router_rt_entry r = { 0 };
	char id[64];
	bool fresh;
	int port = -ENOENT;

	snprintf(id, sizeof(id), "%s|%s", net ? net : "", nh ? nh : "");
	fresh = !route_was_applied(c->p, id);
	c->seen[c->nseen] = strdup(id);
	if (!c->seen[c->nseen])
		return -ENOMEM;
	c->nseen++;
	if (router_parse_prefix(net, &r.net, &r.len))
		return pcn_fail(c->inst, -EINVAL, "route %s: bad network", net);
	if (router_parse_addr(nh, &r.nexthop) || !r.nexthop)
		return pcn_fail(c->inst, -EINVAL, "route %s via %s: the next hop must be an address", net, nh);
	if (ifname) {
		for (int i = 0; i < PCN_MAX_PORTS; i++)
			if (c->ifs[i].valid && !strcmp(c->ifs[i].name, ifname))
				port = i;
	} else {
		port = router_iface_for(c->ifs, PCN_MAX_PORTS, r.nexthop, NULL);
	}
	if (port < 0) {
		/* A new route must be usable; one that was (its port or network
		 * went since) waits, out of the table, until it is again. */
		if (fresh)
			return pcn_fail(c->inst, -EINVAL,
					ifname ? "route %s via %s: no port %s" : "route %s via %s: the next hop is on no port's network%s",
					net, nh, ifname ? ifname : "");
		PCN_WARN("ROUTER-ROUTE-UNUSABLE", "%s: route %s via %s has no port now; left out of the table",
			 pcn_instance_name(c->inst), net, nh);
		return 0;
	}
	r.port = (uint32_t)port;
	r.cost = cost ? (uint32_t)strtoul(cost, NULL, 10) : 1;
	return router_rtable_add(c->rt, &r) ? -ENOMEM : 0;
}

/* Writes the ports' primary addresses and MACs; clears the ports gone. */
static int sync_ports(struct pcn_instance *inst, const struct router_iface *ifs)
{
	for (uint32_t i = 0; i < PCN_MAX_PORTS; i++) {
		struct router_port want = { 0 }, cur;
		int rc;

		if (ifs[i].valid) {
			want.ip = ifs[i].has_ip ? ifs[i].ip.addr : 0;
			memcpy(want.mac, ifs[i].mac, 6);
			want.valid = 1;
		}
		if (pcn_map_lookup(inst, MAP_PORTS, &i, &cur) == 0 && !memcmp(&cur, &want, sizeof(want)))
			continue;
		rc = pcn_map_update(inst, MAP_PORTS, &i, &want, BPF_ANY);
		if (rc)
			return pcn_fail(inst, rc, "cannot write %s: %s", MAP_PORTS, strerror(-rc));
	}
	return 0;
}

/* Writes every route of t (new ones and changed ones), then deletes what t
 * no longer has: a route that stays is never missing on the way. */
static int sync_routes(struct pcn_instance *inst, const struct router_rtable *t)
{
	struct router_route_key key, next, *prev = NULL, *gone = NULL;
	size_t ngone = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct router_route_key k = { .prefixlen = t->e[i].len, .addr = t->e[i].net };
		struct router_route v = { .port = t->e[i].port, .nexthop = t->e[i].nexthop, .flags = t->e[i].flags }, cur;

		if (pcn_map_lookup(inst, MAP_ROUTES, &k, &cur) == 0 && !memcmp(&cur, &v, sizeof(v)))
			continue;
		rc = pcn_map_update(inst, MAP_ROUTES, &k, &v, BPF_ANY);
		if (rc)
			return pcn_fail(inst, rc, "cannot write %s: %s", MAP_ROUTES, strerror(-rc));
	}
	while (pcn_map_next_key(inst, MAP_ROUTES, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.prefixlen <= 32 && (key.addr & router_mask((uint8_t)key.prefixlen)) == key.addr &&
		    router_rtable_find(t, key.addr, (uint8_t)key.prefixlen))
			continue;
		if (ngone == cap) {
			struct router_route_key *g = realloc(gone, (cap = cap ? cap * 2 : 16) * sizeof(*g));

			if (!g) {
				free(gone);
				return -ENOMEM;
			}
			gone = g;
		}
		gone[ngone++] = key;
	}
	for (size_t i = 0; i < ngone; i++)
		pcn_map_delete(inst, MAP_ROUTES, &gone[i]);
	free(gone);
	return 0;
}

struct collect_arp {
	struct pcn_instance *inst;
	struct router_iface *ifs;
	uint32_t *addrs;
	size_t n;
};

static int collect_arp(const struct pcn_node *n, void *arg)
{
	struct collect_arp *c = arg;
	const char *addr = pcn_node_key(n, "address"), *mac = pcn_node_child(n, "mac"),
		   *ifname = pcn_node_child(n, "interface");
	struct router_arp_entry e = { .flags = ROUTER_ARP_STATIC };
	uint32_t ip;
	int port = -1, rc;

	if (router_parse_addr(addr, &ip) || router_parse_mac(mac, e.mac))
		return pcn_fail(c->inst, -EINVAL, "arp-table %s: bad address or mac", addr);
	for (int i = 0; ifname && i < PCN_MAX_PORTS; i++)
		if (c->ifs[i].valid && !strcmp(c->ifs[i].name, ifname))
			port = i;
	if (port < 0)
		return pcn_fail(c->inst, -EINVAL, "arp-table %s: no port %s", addr, ifname ? ifname : "");
	e.port = (uint32_t)port;
	rc = pcn_map_update(c->inst, MAP_ARP, &ip, &e, BPF_ANY);
	if (rc)
		return pcn_fail(c->inst, rc, "cannot write %s: %s", MAP_ARP, strerror(-rc));
	c->addrs[c->n++] = ip;
	return 0;
}

/* Static entries as configured; learned entries stay (they survive a
 * restart of this process), unless their port went. */
static int sync_arp(struct pcn_instance *inst, const struct pcn_node *config, struct router_iface *ifs)
{
	struct collect_arp c = { .inst = inst, .ifs = ifs };
	uint32_t key, next, *prev = NULL, gone[256];
	size_t ngone = 0;
	int rc;

	c.addrs = calloc(ROUTER_ARP_MAX, sizeof(*c.addrs));
	if (!c.addrs)
		return -ENOMEM;
	rc = pcn_node_foreach(config, "arp-table", collect_arp, &c);
	while (!rc && pcn_map_next_key(inst, MAP_ARP, prev, &next) == 0) {
		struct router_arp_entry e;
		bool keep = true;

		key = next;
		prev = &key;
		if (pcn_map_lookup(inst, MAP_ARP, &key, &e))
			continue;
		if (e.port >= PCN_MAX_PORTS || !ifs[e.port].valid)
			keep = false;
		if (e.flags & ROUTER_ARP_STATIC) {
			keep = false;
			for (size_t i = 0; i < c.n && !keep; i++)
				keep = c.addrs[i] == key;
		}
		if (!keep && ngone < sizeof(gone) / sizeof(gone[0]))
			gone[ngone++] = key;
	}
	for (size_t i = 0; i < ngone; i++)
		pcn_map_delete(inst, MAP_ARP, &gone[i]);
	free(c.addrs);
	return rc;
}

static void free_routes(char **r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i]);
	free(r);
}

static int count_one(const struct pcn_node *n, void *arg)
{
	(void)n;
	(*(size_t *)arg)++;
	return 0;
}

static int router_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct router_priv *p = priv_of(inst);
	struct router_iface *ifs = calloc(PCN_MAX_PORTS, sizeof(*ifs));
	struct router_rtable rt = { 0 };
	struct collect c = { .inst = inst, .p = p, .ifs = ifs };
	struct collect_rt cr = { .inst = inst, .p = p, .ifs = ifs, .rt = &rt };
	size_t nroutes = 0;
	int rc;

	if (!ifs)
		return -ENOMEM;
	rc = pcn_node_foreach(config, "ports", collect_port, &c);
	if (!rc)
		rc = router_rtable_connected(&rt, ifs, PCN_MAX_PORTS);
	if (!rc) {
		pcn_node_foreach(config, "route", count_one, &nroutes);
		cr.seen = calloc(nroutes + 1, sizeof(*cr.seen));
		rc = cr.seen ? pcn_node_foreach(config, "route", collect_route, &cr) : -ENOMEM;
	}
	if (!rc)
		rc = sync_ports(inst, ifs);
	if (!rc)
		rc = sync_routes(inst, &rt);
	if (!rc)
		rc = sync_arp(inst, config, ifs);
	if (rc) {
		free_routes(cr.seen, cr.nseen);
		router_rtable_free(&rt);
		free(ifs);
		return rc;
	}
	memcpy(p->ifs, ifs, sizeof(p->ifs));
	router_rtable_free(&p->rt);
	p->rt = rt;
	free_routes(p->routes, p->nroutes);
	p->routes = cr.seen;
	p->nroutes = cr.nseen;
	free(ifs);
	return 0;
}

/* ---- the slow path ------------------------------------------------------- */

static void inject(struct pcn_instance *inst, uint32_t port, const uint8_t *data, size_t len)
{
	if (pcn_send_packet_out(inst, port, PCN_DIR_INGRESS, data, len))
		priv_of(inst)->queue_drops++;
}

static struct router_pending **pending_of(struct router_priv *p, uint32_t nh)
{
	for (int i = 0; i < ROUTER_PENDING_MAX; i++)
		if (p->pend[i] && p->pend[i]->nh == nh)
			return &p->pend[i];
	return NULL;
}

static void arp_request(struct pcn_instance *inst, struct router_pending *q)
{
	struct router_priv *p = priv_of(inst);
	struct router_iface *ifc = &p->ifs[q->port];
	uint32_t src = ifc->has_ip ? ifc->ip.addr : 0;
	uint8_t frame[64] = { 0 };

	/* The port's address on the next hop's network, if it has one there. */
	router_iface_for(ifc, 1, q->nh, &src);
	router_build_arp_request(frame, ifc->mac, src, q->nh);
	q->tries++;
	q->last_ms = now_ns() / 1000000;
	p->arp_requests++;
	pcn_send_packet_out(inst, q->port, PCN_DIR_EGRESS, frame, 60);
}

/* Sends what waits for nh, now that it is resolved: back into the router,
 * which forwards it with the new entry. */
static void pending_release(struct pcn_instance *inst, uint32_t nh)
{
	struct router_pending **slot = pending_of(priv_of(inst), nh), *q;

	if (!slot)
		return;
	q = *slot;
	*slot = NULL;
	for (size_t i = 0; i < q->n; i++)
		inject(inst, q->pkts[i].in_port, q->pkts[i].data, q->pkts[i].len);
	free(q);
}

static void arp_miss(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct router_priv *p = priv_of(inst);
	uint32_t nh = pkt->md[0], port = pkt->md[1];
	struct router_pending **slot = pending_of(p, nh), *q;
	struct router_arp_entry e;

	if (pkt->len != pkt->orig_len || port >= PCN_MAX_PORTS || !p->ifs[port].valid) {
		p->queue_drops++;
		return;
	}
	/* Learned between the miss and now: send it at once. */
	if (pcn_map_lookup(inst, MAP_ARP, &nh, &e) == 0) {
		inject(inst, pkt->port, pkt->data, pkt->len);
		return;
	}
	if (!slot) {
		for (int i = 0; i < ROUTER_PENDING_MAX && !slot; i++)
			if (!p->pend[i])
				slot = &p->pend[i];
		if (!slot || !(*slot = calloc(1, sizeof(**slot)))) {
			p->queue_drops++;
			return;
		}
		(*slot)->nh = nh;
		(*slot)->port = port;
		arp_request(inst, *slot);
	}
	q = *slot;
	if (q->n == ROUTER_QUEUE_MAX) {
		p->queue_drops++;
		return;
	}
	q->pkts[q->n].in_port = pkt->port;
	q->pkts[q->n].len = pkt->len;
	memcpy(q->pkts[q->n].data, pkt->data, pkt->len);
	q->n++;
}

/* An ICMP error about pkt, from the address of the port it came in on,
 * routed back to its source by the fast path. */
static void icmp_error(struct pcn_instance *inst, const struct pcn_pkt *pkt, uint8_t type, uint8_t code)
{
	struct router_priv *p = priv_of(inst);
	uint8_t frame[128];
	size_t n;

	if (pkt->port >= PCN_MAX_PORTS || !p->ifs[pkt->port].valid || !p->ifs[pkt->port].has_ip)
		return;
	n = router_build_icmp_error(frame, sizeof(frame), pkt->data, pkt->len, type, code,
				    p->ifs[pkt->port].ip.addr, p->ifs[pkt->port].mac);
	if (n)
		inject(inst, pkt->port, frame, n);
}

static void router_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct router_priv *p = priv_of(inst);
	static uint8_t frame[PCN_SLOWPATH_SNAPLEN];
	size_t n;

	if (!p)
		return;
	switch (pkt->reason) {
	case ROUTER_REASON_ARP_LEARN:
		pending_release(inst, pkt->md[0]);
		break;
	case ROUTER_REASON_ARP_MISS:
		arp_miss(inst, pkt);
		break;
	case ROUTER_REASON_TTL:
		icmp_error(inst, pkt, 11, 0); /* time exceeded in transit */
		break;
	case ROUTER_REASON_UNREACH:
		icmp_error(inst, pkt, 3, 0); /* network unreachable */
		break;
	case ROUTER_REASON_LOCAL:
		if (pkt->port >= PCN_MAX_PORTS || !p->ifs[pkt->port].valid || pkt->len != pkt->orig_len)
			break;
		n = router_build_echo_reply(frame, sizeof(frame), pkt->data, pkt->len, p->ifs[pkt->port].mac);
		if (n)
			inject(inst, pkt->port, frame, n);
		break;
	default:
		break;
	}
}

/* Every ROUTER_TIMER_MS: ARP requests again, or give up; every second,
 * forget learned entries older than the aging time. */
static void router_tick(struct pcn_instance *inst, void *arg)
{
	struct router_priv *p = priv_of(inst);
	uint64_t ms = now_ns() / 1000000, now = now_ns();
	uint32_t key, next, *prev = NULL, gone[256];
	size_t ngone = 0;

	(void)arg;
	for (int i = 0; i < ROUTER_PENDING_MAX; i++) {
		struct router_pending *q = p->pend[i];
		struct router_arp_entry e;

		if (!q)
			continue;
		/* Resolved, but its notice was lost (the ring was full). */
		if (pcn_map_lookup(inst, MAP_ARP, &q->nh, &e) == 0) {
			pending_release(inst, q->nh);
			continue;
		}
		if (ms - q->last_ms < ROUTER_ARP_RETRY_MS)
			continue;
		if (q->tries < ROUTER_ARP_TRIES && p->ifs[q->port].valid) {
			arp_request(inst, q);
			continue;
		}
		PCN_INFO("ROUTER-ARP-GIVEUP", "%s: no ARP reply from next hop %u.%u.%u.%u; %zu packets dropped",
			 pcn_instance_name(inst), q->nh & 255, q->nh >> 8 & 255, q->nh >> 16 & 255, q->nh >> 24,
			 q->n);
		p->queue_drops += q->n;
		free(q);
		p->pend[i] = NULL;
	}
	if (ms - p->last_age_ms < 1000)
		return;
	p->last_age_ms = ms;
	while (pcn_map_next_key(inst, MAP_ARP, prev, &next) == 0) {
		struct router_arp_entry e;

		key = next;
		prev = &key;
		if (pcn_map_lookup(inst, MAP_ARP, &key, &e) || (e.flags & ROUTER_ARP_STATIC))
			continue;
		if (now > e.seen_ns && now - e.seen_ns > p->aging_ns && ngone < sizeof(gone) / sizeof(gone[0]))
			gone[ngone++] = key;
	}
	for (size_t i = 0; i < ngone; i++)
		pcn_map_delete(inst, MAP_ARP, &gone[i]);
}

static int router_create(struct pcn_instance *inst)
{
	struct router_priv *p = calloc(1, sizeof(*p));
	const char *aging = getenv("ROUTER_ARP_AGING");
	int rc;

	if (!p)
		return -ENOMEM;
	p->aging_ns = (aging && atoi(aging) > 0 ? (uint64_t)atoi(aging) : ROUTER_ARP_AGING_S) * 1000000000ull;
	pcn_instance_set_priv(inst, p);
	p->next = router_privs;
	router_privs = p;
	rc = pcn_timer_start(inst, ROUTER_TIMER_MS, router_tick, NULL);
	return rc < 0 ? rc : 0;
}

static void router_destroy(struct pcn_instance *inst)
{
	struct router_priv *p = priv_of(inst);

	struct router_priv **pp;

	if (!p)
		return;
	for (pp = &router_privs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	priv_free(p);
	pcn_instance_set_priv(inst, NULL);
}

/* ---- state ----------------------------------------------------------------- */

/* The MAC of each port (a generated one is not in the configuration). */
static int state_ports(struct pcn_instance *inst, struct pcn_state *st)
{
	struct router_priv *p = priv_of(inst);
	char path[160], mac[18];
	int rc = 0;

	for (int i = 0; p && i < PCN_MAX_PORTS && !rc; i++) {
		if (!p->ifs[i].valid)
			continue;
		fmt_mac(mac, sizeof(mac), p->ifs[i].mac);
		snprintf(path, sizeof(path), "ports[name='%s']/mac", p->ifs[i].name);
		rc = pcn_state_set(st, path, "%s", mac);
	}
	return rc;
}

/* Connected routes (nexthop 'local'), and the interface of each static
 * route as computed. */
static int state_routes(struct pcn_instance *inst, struct pcn_state *st)
{
	struct router_priv *p = priv_of(inst);
	char path[192], net[24], nh[INET_ADDRSTRLEN];
	int rc = 0;

	for (size_t i = 0; p && i < p->rt.n && !rc; i++) {
		const struct router_rt_entry *e = &p->rt.e[i];

		if (e->flags & ROUTER_RT_LOCAL || e->port >= PCN_MAX_PORTS)
			continue;
		router_fmt_prefix(net, sizeof(net), e->net, e->len);
		if (e->connected)
			snprintf(nh, sizeof(nh), "local");
		else
			fmt_ip(nh, sizeof(nh), e->nexthop);
		snprintf(path, sizeof(path), "route[network='%s'][nexthop='%s']/interface", net, nh);
		rc = pcn_state_set(st, path, "%s", p->ifs[e->port].name);
		if (!rc && e->connected) {
			snprintf(path, sizeof(path), "route[network='%s'][nexthop='%s']/pathcost", net, nh);
			rc = pcn_state_set(st, path, "0");
		}
	}
	return rc;
}

/* Every entry of the ARP table, learned ones too. */
static int state_arp(struct pcn_instance *inst, struct pcn_state *st)
{
	struct router_priv *p = priv_of(inst);
	uint32_t key, next, *prev = NULL;
	int rc = 0;

	while (!rc && p && pcn_map_next_key(inst, MAP_ARP, prev, &next) == 0) {
		struct router_arp_entry e;
		char path[128], ip[INET_ADDRSTRLEN], mac[18];

		key = next;
		prev = &key;
		if (pcn_map_lookup(inst, MAP_ARP, &key, &e) || e.port >= PCN_MAX_PORTS || !p->ifs[e.port].valid)
			continue;
		fmt_ip(ip, sizeof(ip), key);
		fmt_mac(mac, sizeof(mac), e.mac);
		snprintf(path, sizeof(path), "arp-table[address='%s']/mac", ip);
		rc = pcn_state_set(st, path, "%s", mac);
		snprintf(path, sizeof(path), "arp-table[address='%s']/interface", ip);
		if (!rc)
			rc = pcn_state_set(st, path, "%s", p->ifs[e.port].name);
	}
	return rc;
}

static int state_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	struct router_priv *p = priv_of(inst);
	uint64_t c[ROUTER_CNT_N] = { 0 };
	uint32_t zero = 0;
	int rc = pcn_map_sum_u64(inst, MAP_STATS, &zero, c, ROUTER_CNT_N);

	if (!rc)
		rc = pcn_state_set(st, "stats/unreachable", "%" PRIu64, c[ROUTER_CNT_UNREACH]);
	if (!rc)
		rc = pcn_state_set(st, "stats/ttl-exceeded", "%" PRIu64, c[ROUTER_CNT_TTL]);
	if (!rc)
		rc = pcn_state_set(st, "stats/arp-miss", "%" PRIu64, c[ROUTER_CNT_ARP_MISS]);
	if (!rc)
		rc = pcn_state_set(st, "stats/arp-requests", "%" PRIu64, p ? p->arp_requests : 0);
	if (!rc)
		rc = pcn_state_set(st, "stats/queue-drops", "%" PRIu64, p ? p->queue_drops : 0);
	return rc;
}

static const struct pcn_state_handler router_state[] = {
	{ "/router:router/ports/mac", state_ports },
	{ "/router:router/route", state_routes },
	{ "/router:router/arp-table", state_arp },
	{ "/router:router/stats", state_stats },
	{ NULL },
};

static const struct pcn_config_handler router_handlers[] = {
	{ NULL },
};

const struct pcn_cube_desc router_desc = {
	.service = "router",
	.version = "1.0.0",
	.description = "An IPv4 router: LPM, ARP and TTL in the fast path; ARP resolution and ICMP in the slow path",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "router",
	.yang_module = router_yang,
	.xdp_object = router_xdp__elf_bytes,
	.tc_object = router_tc__elf_bytes,
	.handlers = router_handlers,
	.state = router_state,
	.on_create = router_create,
	.on_destroy = router_destroy,
	/* Everything is rebuilt from the whole tree: see the comment on top. */
	.on_applied = router_applied,
	.pkt_in = router_pkt_in,
};

#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	atexit(router_free_all);
	return pcn_cube_main(&router_desc, argc, argv);
}
#endif

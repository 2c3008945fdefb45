/* router: the control plane of an IPv4 router (the slow path is in
 * router_slowpath.c).
 *
 * The fast path routes by itself (LPM, ARP table, TTL). This process keeps
 * its maps equal to the configuration (ports' addresses and MACs, connected
 * and static routes, static ARP entries), rebuilt from the whole tree after
 * every apply (on_applied): routes name ports, and their interface is
 * computed from the ports' networks, so a change anywhere may move them.
 * Learned ARP entries are the fast path's: kept across applies and
 * restarts (the map is pinned), dropped when their port goes. */
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
#include "router_int.h"
#include "router_logic.h"
#include "router_shared.h"
#include "router_tc.skel.h"
#include "router_xdp.skel.h"
#include "router_yang.h"

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

void router_free_all(void)
{
	while (router_privs) {
		struct router_priv *p = router_privs;

		router_privs = p->next;
		priv_free(p);
	}
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
	const struct router_rt_entry *self;
	struct router_rt_entry r = { 0 };
	char id[64];
	bool fresh;
	int port = -ENOENT;

	snprintf(id, sizeof(id), "%s|%s", net ? net : "", nh ? nh : "");
	/* The first apply of an instance may be the replay of a stored
	 * configuration (a restart) whose routes lost their port since:
	 * they are kept, out of the table, rather than fail the replay. */
	fresh = c->p->applied && !route_was_applied(c->p, id);
	c->seen[c->nseen] = strdup(id);
	if (!c->seen[c->nseen])
		return -ENOMEM;
	c->nseen++;
	if (router_parse_prefix(net, &r.net, &r.len))
		return pcn_fail(c->inst, -EINVAL, "route %s: bad network", net);
	if (router_parse_addr(nh, &r.nexthop) || !r.nexthop)
		return pcn_fail(c->inst, -EINVAL, "route %s via %s: the next hop must be an address", net, nh);
	/* Through one of the router's own addresses: a loop, never resolved. */
	self = router_rtable_find(c->rt, r.nexthop, 32);
	if (self && (self->flags & ROUTER_RT_LOCAL)) {
		if (fresh)
			return pcn_fail(c->inst, -EINVAL, "route %s via %s: the next hop is the router's own address",
					net, nh);
		return 0;
	}
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
	struct router_priv *p = router_priv_of(inst);
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
	p->applied = true;
	free(ifs);
	return 0;
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
	struct router_priv *p = router_priv_of(inst);

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
	struct router_priv *p = router_priv_of(inst);
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
	struct router_priv *p = router_priv_of(inst);
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
	struct router_priv *p = router_priv_of(inst);
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
	struct router_priv *p = router_priv_of(inst);
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

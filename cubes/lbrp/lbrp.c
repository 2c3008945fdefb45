/* lbrp: the control plane of the reverse-proxy load balancer (Polycube's
 * model: ports of type FRONTEND and BACKEND, services keyed by vip, vport
 * and proto with a pool of backends by IP, src-ip-rewrite).
 *
 * Everything is rebuilt from the whole configuration after each apply
 * (on_applied): the roles of the ports, the rewrite range, and for each
 * service whose pool changed a Maglev table (common/maglev.c) written into
 * the half of its slot the fast path is not reading, then switched to with
 * one write of the service's entry in lbrp_services. Flows already open
 * keep their backend through the connection tables (lbrp_conns, lbrp_rev),
 * which only the fast path writes: a backend removed or set to weight 0
 * gets no new flow while its own flows go on.
 *
 * After a restart the same sync runs on the configuration the broker
 * sends: a pool that did not change is not written again (what the fast
 * path reads is compared first), and the connection tables, pinned, were
 * never touched. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/bpf.h>
#include <netinet/in.h>

#include "lbrp_shared.h"
#include "lbrp_tc.skel.h"
#include "lbrp_xdp.skel.h"
#include "lbrp_yang.h"
#include "maglev.h"
#include "pcn_cube.h"

#define PROTO_ALL 255

struct lb_be {
	uint32_t ip; /* network order */
	uint16_t port;
	uint16_t weight;
};

struct lb_svc {
	uint32_t vip; /* network order */
	uint16_t vport;
	uint8_t proto; /* IPPROTO_* or PROTO_ALL */
	size_t n;
	struct lb_be be[LBRP_MAX_BACKENDS];
	int slot;      /* assigned */
	uint32_t cur;  /* the table the fast path reads now, or UINT32_MAX */
};

struct lb_conf {
	struct pcn_instance *inst;
	struct lbrp_cfg cfg;
	size_t n;
	struct lb_svc svc[LBRP_MAX_SERVICES];
	int err;
};

static int lb_proto(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcasecmp(s, "TCP"))
		return IPPROTO_TCP;
	if (!strcasecmp(s, "UDP"))
		return IPPROTO_UDP;
	if (!strcasecmp(s, "ICMP"))
		return IPPROTO_ICMP;
	if (!strcasecmp(s, "ALL"))
		return PROTO_ALL;
	return -EINVAL;
}

static int lb_port_cb(const struct pcn_node *port, void *arg)
{
	struct lb_conf *c = arg;
	const char *name = pcn_node_key(port, "name"), *type = pcn_node_child(port, "type");
	int idx = name ? pcn_port_index(c->inst, name) : -ENOENT;
	uint32_t *slot;

	if (!type)
		return 0;
	slot = !strcmp(type, "FRONTEND") ? &c->cfg.frontend_port : &c->cfg.backend_port;
	if (*slot != LBRP_NO_PORT)
		return pcn_fail(c->inst, -EINVAL, "lbrp has one %s port: %s is a second one", type, name);
	/* A port the broker has not numbered yet has no index: it gets its
	 * role at the next apply. */
	if (idx >= 0)
		*slot = (uint32_t)idx;
	return 0;
}

static int lb_prefix(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[32], *slash;
	struct in_addr a;
	long len;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	len = strtol(slash + 1, NULL, 10);
	if (len < 0 || len > 32 || inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*mask = htonl(len ? 0xffffffffu << (32 - len) : 0);
	*net = a.s_addr & *mask;
	return 0;
}

static int lb_rewrite_cb(const struct pcn_node *n, void *arg)
{
	struct lb_conf *c = arg;
	const char *from = pcn_node_child(n, "ip-range"), *to = pcn_node_child(n, "new_ip_range");
	uint32_t net, mask, nnet, nmask;

	if (!from && !to)
		return 0;
	if (!from || !to || lb_prefix(from, &net, &mask) || lb_prefix(to, &nnet, &nmask))
		return pcn_fail(c->inst, -EINVAL, "src-ip-rewrite needs both ip-range and new_ip_range");
	if (mask != nmask)
		return pcn_fail(c->inst, -EINVAL, "src-ip-rewrite: %s and %s are not of one length", from, to);
	c->cfg.rw_net = net;
	c->cfg.rw_mask = mask;
	c->cfg.rw_new = nnet;
	return 0;
}

static int lb_backend_cb(const struct pcn_node *n, void *arg)
{
	struct lb_svc *s = arg;
	const char *ip = pcn_node_key(n, "ip"), *port = pcn_node_child(n, "port"),
		   *w = pcn_node_child(n, "weight");
	struct in_addr a;
	struct lb_be *b;

	if (s->n >= LBRP_MAX_BACKENDS || !ip || inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	b = &s->be[s->n++];
	b->ip = a.s_addr;
	b->port = htons(port ? (uint16_t)atoi(port) : 0);
	b->weight = w ? (uint16_t)atoi(w) : 1;
	if (s->proto == IPPROTO_ICMP)
		b->port = 0;
	return 0;
}

static int lb_service_cb(const struct pcn_node *n, void *arg)
{
	struct lb_conf *c = arg;
	const char *vip = pcn_node_key(n, "vip"), *vport = pcn_node_key(n, "vport");
	int proto = lb_proto(pcn_node_key(n, "proto"));
	struct lb_svc *s;
	struct in_addr a;
	int rc;

	if (c->n >= LBRP_MAX_SERVICES)
		return pcn_fail(c->inst, -ENOSPC, "at most %d services", LBRP_MAX_SERVICES);
	if (!vip || inet_pton(AF_INET, vip, &a) != 1 || proto < 0)
		return pcn_fail(c->inst, -EINVAL, "service %s: bad key", pcn_node_path(n));
	s = &c->svc[c->n++];
	s->vip = a.s_addr;
	s->vport = htons(vport ? (uint16_t)atoi(vport) : 0);
	s->proto = (uint8_t)proto;
	s->slot = -1;
	s->cur = UINT32_MAX;
	rc = pcn_node_foreach(n, "backend", lb_backend_cb, s);
	if (rc)
		return pcn_fail(c->inst, rc, "service %s: bad backend", vip);
	return 0;
}

/* The keys of service i in lbrp_services: TCP/UDP on vport, ICMP on 0;
 * ALL has all three. */
static size_t lb_keys(const struct lb_svc *s, struct lbrp_svc_key *k)
{
	static const uint8_t all[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		if (s->proto != PROTO_ALL && s->proto != all[i])
			continue;
		k[n] = (struct lbrp_svc_key){ .vip = s->vip, .proto = all[i] };
		k[n].port = all[i] == IPPROTO_ICMP ? 0 : s->vport;
		n++;
	}
	return n;
}

/* Which service owns key k: a service of that very protocol over an ALL
 * one; among ALLs (two vports share the ICMP key), the first. */
static int lb_owner(const struct lb_conf *c, const struct lbrp_svc_key *k)
{
	int all = -1;

	for (size_t i = 0; i < c->n; i++) {
		const struct lb_svc *s = &c->svc[i];

		if (s->vip != k->vip)
			continue;
		if (s->proto == k->proto && (k->proto == IPPROTO_ICMP || s->vport == k->port))
			return (int)i;
		if (s->proto == PROTO_ALL && all < 0 && (k->proto == IPPROTO_ICMP || s->vport == k->port))
			all = (int)i;
	}
	return all;
}

/* 1 if table t's backends are exactly s's pool. */
static int lb_same_pool(struct pcn_instance *inst, uint32_t t, uint32_t n_cur, const struct lb_svc *s)
{
	if (n_cur != s->n)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t key = t * LBRP_MAX_BACKENDS + (uint32_t)i;
		struct lbrp_backend b;

		if (pcn_map_lookup(inst, "lbrp_backends", &key, &b))
			return 0;
		if (b.ip != s->be[i].ip || b.port != s->be[i].port || b.weight != s->be[i].weight)
			return 0;
	}
	return 1;
}

/* Writes s's pool and Maglev table into table t (not the one read). */
static int lb_write_table(struct pcn_instance *inst, uint32_t t, const struct lb_svc *s, uint16_t *table,
			  struct maglev_backend *mb)
{
	int rc;

	for (size_t i = 0; i < s->n; i++) {
		mb[i].id = ntohl(s->be[i].ip);
		mb[i].weight = s->be[i].weight;
	}
	rc = maglev_build(mb, s->n, LB_M, table);
	if (rc)
		return pcn_fail(inst, rc, "maglev table: %s", strerror(-rc));
	for (size_t i = 0; i < s->n; i++) {
		uint32_t key = t * LBRP_MAX_BACKENDS + (uint32_t)i;
		struct lbrp_backend b = { .ip = s->be[i].ip, .port = s->be[i].port, .weight = s->be[i].weight };

		rc = pcn_map_update(inst, "lbrp_backends", &key, &b, BPF_ANY);
		if (rc)
			return pcn_fail(inst, rc, "cannot write lbrp_backends: %s", strerror(-rc));
	}
	for (uint32_t ch = 0; ch < LB_CHUNKS; ch++) {
		struct lb_chunk v;
		uint32_t key = t * LB_CHUNKS + ch;

		for (uint32_t j = 0; j < LB_CHUNK; j++) {
			uint32_t e = ch * LB_CHUNK + j;

			v.e[j] = e < LB_M ? table[e] : LB_NONE;
		}
		rc = pcn_map_update(inst, "lbrp_maglev", &key, &v, BPF_ANY);
		if (rc)
			return pcn_fail(inst, rc, "cannot write lbrp_maglev: %s", strerror(-rc));
	}
	return 0;
}

static int lb_install(struct lb_conf *c)
{
	struct pcn_instance *inst = c->inst;
	struct lbrp_svc_key k, next, keys[3];
	uint8_t taken[LBRP_MAX_SERVICES] = { 0 };
	uint32_t cur_n[LBRP_MAX_SERVICES] = { 0 };
	uint16_t *table = NULL;
	struct maglev_backend *mb = NULL;
	uint32_t zero = 0;
	int rc, more, written = 0;

	/* What the fast path has now: drop the keys no service owns any
	 * more, and find each remaining service's slot and current table. */
	more = pcn_map_next_key(inst, "lbrp_services", NULL, &next) == 0;
	while (more) {
		struct lbrp_svc v;
		int o;

		k = next;
		more = pcn_map_next_key(inst, "lbrp_services", &k, &next) == 0;
		o = lb_owner(c, &k);
		if (o < 0) {
			pcn_map_delete(inst, "lbrp_services", &k);
			continue;
		}
		if (pcn_map_lookup(inst, "lbrp_services", &k, &v) || v.table >= LBRP_TABLES)
			continue;
		if (c->svc[o].slot < 0 && !taken[v.table / 2]) {
			c->svc[o].slot = (int)(v.table / 2);
			c->svc[o].cur = v.table;
			cur_n[o] = v.n_backends;
			taken[v.table / 2] = 1;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->svc[i].slot >= 0)
			continue;
		for (int s = 0; s < LBRP_MAX_SERVICES; s++) {
			if (!taken[s]) {
				taken[s] = 1;
				c->svc[i].slot = s;
				break;
			}
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		struct lb_svc *s = &c->svc[i];
		struct lbrp_svc v;
		size_t nk = lb_keys(s, keys);
		uint32_t t;

		if (s->slot < 0)
			return pcn_fail(inst, -ENOSPC, "no free service slot");
		if (s->cur != UINT32_MAX && lb_same_pool(inst, s->cur, cur_n[i], s)) {
			t = s->cur;
		} else {
			t = s->cur != UINT32_MAX ? (s->cur ^ 1u) : 2u * (uint32_t)s->slot;
			if (!table) {
				table = malloc(LB_M * sizeof(*table));
				mb = calloc(LBRP_MAX_BACKENDS, sizeof(*mb));
				if (!table || !mb) {
					rc = -ENOMEM;
					goto out;
				}
			}
			rc = lb_write_table(inst, t, s, table, mb);
			if (rc)
				goto out;
			written++;
		}
		v = (struct lbrp_svc){ .table = t, .n_backends = (uint32_t)s->n };
		/* The switch: one write per key, each of which names the
		 * whole new table. */
		for (size_t j = 0; j < nk; j++) {
			if (lb_owner(c, &keys[j]) != (int)i)
				continue;
			rc = pcn_map_update(inst, "lbrp_services", &keys[j], &v, BPF_ANY);
			if (rc) {
				rc = pcn_fail(inst, rc, "cannot write lbrp_services: %s", strerror(-rc));
				goto out;
			}
		}
	}
	rc = pcn_map_update(inst, "lbrp_cfg", &zero, &c->cfg, BPF_ANY);
	if (rc)
		rc = pcn_fail(inst, rc, "cannot write lbrp_cfg: %s", strerror(-rc));
	else if (written)
		PCN_DEBUG("LBRP-TABLES", "%s: %d Maglev table(s) of %u entries written, %zu service(s)",
			  pcn_instance_name(inst), written, LB_M, c->n);
out:
	free(table);
	free(mb);
	return rc;
}

static int lbrp_sync(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct lb_conf *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->inst = inst;
	c->cfg.frontend_port = LBRP_NO_PORT;
	c->cfg.backend_port = LBRP_NO_PORT;
	rc = pcn_node_foreach(config, "ports", lb_port_cb, c);
	if (!rc)
		rc = pcn_node_foreach(config, "src-ip-rewrite", lb_rewrite_cb, c);
	if (!rc)
		rc = pcn_node_foreach(config, "service", lb_service_cb, c);
	if (!rc)
		rc = lb_install(c);
	free(c);
	return rc;
}

const struct pcn_cube_desc lbrp_desc = {
	.service = "lbrp",
	.version = "2.0.0",
	.description = "Load balancer, reverse proxy: Maglev hashing of flows to backends, DNAT both ways",
	.min_kernel = "5.10",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "lbrp",
	.yang_module = lbrp_yang,
	.xdp_object = lbrp_xdp__elf_bytes,
	.tc_object = lbrp_tc__elf_bytes,
	/* Everything is done from the whole tree: see the comment on top. */
	.on_applied = lbrp_sync,
};

/* The tests build this file without main and drive lbrp_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&lbrp_desc, argc, argv);
}
#endif

/* lbdsr: the control plane of the direct-server-return load balancer
 * (Polycube's model: FRONTEND/BACKEND ports, the frontend's vip and MAC,
 * a pool of backends by MAC; here with a weight each).
 *
 * Everything is rebuilt from the whole configuration after each apply
 * (on_applied). The pool becomes a Maglev table (common/maglev.c, the
 * backends identified by their MAC) written into the table the fast path
 * is not reading, then switched to with one write of lbdsr_ctl[0]; a pool
 * that did not change is not written again (after a restart, say). The
 * session table, written only by the fast path and pinned, keeps each flow
 * on its backend through changes of the pool and restarts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "lbdsr_shared.h"
#include "lbdsr_tc.skel.h"
#include "lbdsr_xdp.skel.h"
#include "lbdsr_yang.h"
#include "maglev.h"
#include "pcn_cube.h"

/* lbdsr_ctl[0]: bit 0 the table read, bits 16.. its number of backends. */
#define CTL_TABLE(v) ((v) & 1u)
#define CTL_N(v) ((v) >> 16)

struct dsr_conf {
	struct pcn_instance *inst;
	struct lbdsr_cfg cfg;
	int has_mac;
	size_t n;
	struct lbdsr_backend be[LBDSR_MAX_BACKENDS];
};

static int dsr_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];

	if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int dsr_port_cb(const struct pcn_node *port, void *arg)
{
	struct dsr_conf *c = arg;
	const char *name = pcn_node_key(port, "name"), *type = pcn_node_child(port, "type");
	int idx = name ? pcn_port_index(c->inst, name) : -ENOENT;
	uint32_t *slot;

	if (!type)
		return 0;
	slot = !strcmp(type, "FRONTEND") ? &c->cfg.frontend_port : &c->cfg.backend_port;
	if (*slot != LBDSR_NO_PORT)
		return pcn_fail(c->inst, -EINVAL, "lbdsr has one %s port: %s is a second one", type, name);
	if (idx >= 0)
		*slot = (uint32_t)idx;
	return 0;
}

static int dsr_frontend_cb(const struct pcn_node *n, void *arg)
{
	struct dsr_conf *c = arg;
	const char *vip = pcn_node_child(n, "vip"), *mac = pcn_node_child(n, "mac");
	struct in_addr a;

	if (vip && inet_pton(AF_INET, vip, &a) == 1)
		c->cfg.vip = a.s_addr;
	if (mac && !dsr_mac(mac, c->cfg.mac))
		c->has_mac = 1;
	return 0;
}

static int dsr_pool_cb(const struct pcn_node *n, void *arg)
{
	struct dsr_conf *c = arg;
	const char *mac = pcn_node_child(n, "mac"), *w = pcn_node_child(n, "weight");
	struct lbdsr_backend *b;

	if (c->n >= LBDSR_MAX_BACKENDS)
		return pcn_fail(c->inst, -ENOSPC, "at most %d backends", LBDSR_MAX_BACKENDS);
	b = &c->be[c->n];
	if (dsr_mac(mac, b->mac))
		return pcn_fail(c->inst, -EINVAL, "backend %s: no mac", pcn_node_key(n, "id"));
	for (size_t i = 0; i < c->n; i++)
		if (!memcmp(c->be[i].mac, b->mac, 6))
			return pcn_fail(c->inst, -EINVAL, "backend %s: mac %s is another backend's too",
					pcn_node_key(n, "id"), mac);
	b->weight = w ? (uint16_t)atoi(w) : 1;
	c->n++;
	return 0;
}

static int dsr_backend_cb(const struct pcn_node *n, void *arg)
{
	return pcn_node_foreach(n, "pool", dsr_pool_cb, arg);
}

static uint64_t dsr_mac_id(const uint8_t *m)
{
	uint64_t id = 0;

	for (int i = 0; i < 6; i++)
		id = id << 8 | m[i];
	return id;
}

/* 1 if table t holds exactly c's pool. */
static int dsr_same_pool(struct pcn_instance *inst, uint32_t ctl, const struct dsr_conf *c)
{
	if (CTL_N(ctl) != c->n)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		uint32_t key = CTL_TABLE(ctl) * LBDSR_MAX_BACKENDS + (uint32_t)i;
		struct lbdsr_backend b;

		if (pcn_map_lookup(inst, "lbdsr_backends", &key, &b) || memcmp(&b, &c->be[i], sizeof(b)))
			return 0;
	}
	return 1;
}

static int dsr_install(struct dsr_conf *c)
{
	struct pcn_instance *inst = c->inst;
	struct maglev_backend *mb = NULL;
	uint16_t *table = NULL;
	uint32_t zero = 0, ctl = 0, t;
	int rc;

	rc = pcn_map_lookup(inst, "lbdsr_ctl", &zero, &ctl);
	if (rc)
		return pcn_fail(inst, rc, "cannot read lbdsr_ctl: %s", strerror(-rc));
	if (!dsr_same_pool(inst, ctl, c)) {
		t = CTL_TABLE(ctl) ^ 1u;
		table = malloc(LB_M * sizeof(*table));
		mb = calloc(LBDSR_MAX_BACKENDS, sizeof(*mb));
		if (!table || !mb) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < c->n; i++) {
			mb[i].id = dsr_mac_id(c->be[i].mac);
			mb[i].weight = c->be[i].weight;
		}
		rc = maglev_build(mb, c->n, LB_M, table);
		if (rc) {
			rc = pcn_fail(inst, rc, "maglev table: %s", strerror(-rc));
			goto out;
		}
		for (size_t i = 0; i < c->n; i++) {
			uint32_t key = t * LBDSR_MAX_BACKENDS + (uint32_t)i;

			rc = pcn_map_update(inst, "lbdsr_backends", &key, &c->be[i], BPF_ANY);
			if (rc)
				goto fail;
		}
		for (uint32_t ch = 0; ch < LB_CHUNKS; ch++) {
			struct lb_chunk v;
			uint32_t key = t * LB_CHUNKS + ch;

			for (uint32_t j = 0; j < LB_CHUNK; j++) {
				uint32_t e = ch * LB_CHUNK + j;

				v.e[j] = e < LB_M ? table[e] : LB_NONE;
			}
			rc = pcn_map_update(inst, "lbdsr_maglev", &key, &v, BPF_ANY);
			if (rc)
				goto fail;
		}
		/* The switch. */
		ctl = t | (uint32_t)c->n << 16;
		rc = pcn_map_update(inst, "lbdsr_ctl", &zero, &ctl, BPF_ANY);
		if (rc)
			goto fail;
		PCN_DEBUG("LBDSR-TABLE", "%s: Maglev table %u of %u entries, %zu backend(s)", pcn_instance_name(inst),
			  t, LB_M, c->n);
	}
	rc = pcn_map_update(inst, "lbdsr_cfg", &zero, &c->cfg, BPF_ANY);
	if (rc)
		goto fail;
	goto out;
fail:
	rc = pcn_fail(inst, rc, "cannot write the fast path's tables: %s", strerror(-rc));
out:
	free(table);
	free(mb);
	return rc;
}

static int lbdsr_sync(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct dsr_conf *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->inst = inst;
	c->cfg.frontend_port = LBDSR_NO_PORT;
	c->cfg.backend_port = LBDSR_NO_PORT;
	rc = pcn_node_foreach(config, "ports", dsr_port_cb, c);
	if (!rc)
		rc = pcn_node_foreach(config, "frontend", dsr_frontend_cb, c);
	if (!rc)
		rc = pcn_node_foreach(config, "backend", dsr_backend_cb, c);
	if (!rc) {
		/* No MAC given: one made of the vip (locally administered). */
		if (!c->has_mac) {
			c->cfg.mac[0] = 0x02;
			c->cfg.mac[1] = 0x1b;
			memcpy(c->cfg.mac + 2, &c->cfg.vip, 4);
		}
		/* The backend side's source: the frontend's with the locally
		 * administered bit flipped, so that a bridge joining both sides
		 * never learns the frontend's MAC on the backend port. */
		memcpy(c->cfg.lb_mac, c->cfg.mac, 6);
		c->cfg.lb_mac[0] ^= 0x02;
		rc = dsr_install(c);
	}
	free(c);
	return rc;
}

const struct pcn_cube_desc lbdsr_desc = {
	.service = "lbdsr",
	.version = "2.0.0",
	.description = "Load balancer, direct server return: Maglev hashing of flows to backends by MAC",
	.min_kernel = "5.10",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "lbdsr",
	.yang_module = lbdsr_yang,
	.xdp_object = lbdsr_xdp__elf_bytes,
	.tc_object = lbdsr_tc__elf_bytes,
	.on_applied = lbdsr_sync,
};

#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&lbdsr_desc, argc, argv);
}
#endif

/* helloworld: the control plane of a two-port cube that drops, forwards
 * (port 0 <-> port 1) or sends up every packet, as `action` says. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "helloworld_shared.h"
#include "pcn_cube.h"
/* HELLOWORLD_V2: the 1.1.0 build (pcn-helloworld-v2), to exercise upgrades. */
#ifdef HELLOWORLD_V2
#include "helloworld_v2_yang.h"
#define helloworld_yang helloworld_v2_yang
#include "helloworld_v2_tc.skel.h"
#include "helloworld_v2_xdp.skel.h"
#define HELLOWORLD_VERSION "1.1.0"
#define HELLOWORLD_XDP helloworld_v2_xdp__elf_bytes
#define HELLOWORLD_TC helloworld_v2_tc__elf_bytes
#define HELLOWORLD_NSTATS 4
#else
#include "helloworld_yang.h"
#include "helloworld_tc.skel.h"
#include "helloworld_xdp.skel.h"
#define HELLOWORLD_VERSION "1.0.0"
#define HELLOWORLD_XDP helloworld_xdp__elf_bytes
#define HELLOWORLD_TC helloworld_tc__elf_bytes
#define HELLOWORLD_NSTATS 3
#endif

/* The fast path forwards between port numbers 0 and 1 only. */
#define HELLOWORLD_MAX_PORTS 2

static int helloworld_set_action(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	uint32_t zero = 0, action = HELLOWORLD_ACTION_DROP;
	int v, rc;

	/* A deleted leaf means the default again (it never is: the default is
	 * explicit in the tree; but an undo of a create deletes it). */
	if (op != PCN_OP_DELETE) {
		v = pcn_node_enum(node);
		if (v < 0)
			return pcn_fail(inst, -EINVAL, "unknown action %s", pcn_node_value(node));
		action = (uint32_t)v;
	}
	rc = pcn_map_update(inst, "helloworld_action", &zero, &action, BPF_ANY);
	if (rc)
		return pcn_fail(inst, rc, "cannot set the action: %s", strerror(-rc));
	PCN_DEBUG("HELLOWORLD-ACTION", "%s: action %s", pcn_instance_name(inst),
		  op == PCN_OP_DELETE ? "DROP" : pcn_node_value(node));
	return 0;
}

static int helloworld_count_port(const struct pcn_node *port, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Refuses a third port: the fast path would never send to it. */
static int helloworld_check(struct pcn_instance *inst, const struct pcn_node *config)
{
	int n = 0;

	pcn_node_foreach(config, "ports", helloworld_count_port, &n);
	if (n > HELLOWORLD_MAX_PORTS)
		return pcn_fail(inst, -EINVAL, "helloworld has at most %d ports (%d given)",
				HELLOWORLD_MAX_PORTS, n);
	return 0;
}

static int helloworld_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	uint64_t s[sizeof(struct helloworld_stats) / sizeof(uint64_t)];
	uint32_t zero = 0;
	int rc;

	rc = pcn_map_sum_u64(inst, "helloworld_stats", &zero, s, HELLOWORLD_NSTATS);
	if (rc)
		return pcn_fail(inst, rc, "cannot read helloworld_stats: %s", strerror(-rc));
	rc = pcn_state_set(st, "stats/forwarded", "%" PRIu64,
			   s[offsetof(struct helloworld_stats, forwarded) / 8]);
	if (!rc)
		rc = pcn_state_set(st, "stats/dropped", "%" PRIu64,
				   s[offsetof(struct helloworld_stats, dropped) / 8]);
	if (!rc)
		rc = pcn_state_set(st, "stats/slowpath", "%" PRIu64,
				   s[offsetof(struct helloworld_stats, slowpath) / 8]);
#ifdef HELLOWORLD_V2
	if (!rc)
		rc = pcn_state_set(st, "stats/bytes", "%" PRIu64, s[offsetof(struct helloworld_stats, bytes) / 8]);
#endif
	return rc;
}

/* What the slow path of one instance has seen (its priv). */
struct helloworld_priv {
	uint64_t pkt_in;
};

/* SLOWPATH: every packet comes here; count it and say what it was. */
static void helloworld_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct helloworld_priv *p = pcn_instance_priv(inst);
	unsigned ethertype = pkt->len >= 14 ? (unsigned)(pkt->data[12] << 8 | pkt->data[13]) : 0;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		pcn_instance_set_priv(inst, p);
	}
	p->pkt_in++;
	PCN_INFO("HELLOWORLD-PKT-IN", "%s: packet from %s, reason %u, %u bytes, ethertype 0x%04x",
		 pcn_instance_name(inst), pkt->port_name ? pkt->port_name : "?", pkt->reason, pkt->orig_len,
		 ethertype);
}

static void helloworld_destroy(struct pcn_instance *inst)
{
	free(pcn_instance_priv(inst));
	pcn_instance_set_priv(inst, NULL);
}

static int helloworld_read_pkt_in(struct pcn_instance *inst, struct pcn_state *st)
{
	struct helloworld_priv *p = pcn_instance_priv(inst);

	return pcn_state_set(st, "stats/slowpath-received", "%" PRIu64, p ? p->pkt_in : 0);
}

static const struct pcn_config_handler helloworld_handlers[] = {
	{ "/helloworld:helloworld/action", helloworld_set_action },
	{ NULL },
};

/* helloworld_stats grew in 1.1.0 (a byte counter at its end): carried over
 * on an upgrade, cut back on a rollback. A build without it
 * (HELLOWORLD_NO_MIGRATION) is what the broker must refuse. */
static const struct pcn_map_migration helloworld_migrations[] = {
#ifndef HELLOWORLD_NO_MIGRATION
	{ "helloworld_stats", pcn_map_migrate_copy },
#endif
	{ NULL },
};

static const struct pcn_state_handler helloworld_state[] = {
	{ "/helloworld:helloworld/stats", helloworld_read_stats },
	{ "/helloworld:helloworld/stats", helloworld_read_pkt_in },
	{ NULL },
};

const struct pcn_cube_desc helloworld_desc = {
	.service = "helloworld",
	.version = HELLOWORLD_VERSION,
	.description = "Drops, forwards or sends to the slow path every packet",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "helloworld",
	.yang_module = helloworld_yang,
	.xdp_object = HELLOWORLD_XDP,
	.tc_object = HELLOWORLD_TC,
	.handlers = helloworld_handlers,
	.state = helloworld_state,
	.on_applied = helloworld_check,
	.migrations = helloworld_migrations,
	.on_destroy = helloworld_destroy,
	.pkt_in = helloworld_pkt_in,
};

/* The tests build this file without main and drive helloworld_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&helloworld_desc, argc, argv);
}
#endif

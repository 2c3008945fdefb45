/* transparenthelloworld control plane: the action of each direction and
 * the per-direction counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "pcn_cube.h"
#include "transparenthelloworld_tc.skel.h"
#include "transparenthelloworld_xdp.skel.h"
#include "transparenthelloworld_yang.h"

static int transparenthelloworld_set(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node,
				     uint32_t dir)
{
	uint32_t action = 0;
	int v, rc;

	if (op != PCN_OP_DELETE) {
		v = pcn_node_enum(node);
		if (v < 0)
			return pcn_fail(inst, -EINVAL, "unknown action %s", pcn_node_value(node));
		action = (uint32_t)v;
	}
	rc = pcn_map_update(inst, "transparenthelloworld_action", &dir, &action, BPF_ANY);
	return rc ? pcn_fail(inst, rc, "cannot set the action: %s", strerror(-rc)) : 0;
}

static int transparenthelloworld_set_in(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	return transparenthelloworld_set(inst, op, node, 0);
}

static int transparenthelloworld_set_eg(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	return transparenthelloworld_set(inst, op, node, 1);
}

static int transparenthelloworld_read_slowpath(struct pcn_instance *inst, struct pcn_state *st);

static int transparenthelloworld_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	uint64_t in = 0, eg = 0;
	uint32_t k0 = 0, k1 = 1;
	int rc;

	rc = pcn_map_sum_u64(inst, "transparenthelloworld_pkts", &k0, &in, 1);
	if (!rc)
		rc = pcn_map_sum_u64(inst, "transparenthelloworld_pkts", &k1, &eg, 1);
	if (!rc)
		rc = pcn_state_set(st, "stats/ingress-packets", "%" PRIu64, in);
	if (!rc)
		rc = pcn_state_set(st, "stats/egress-packets", "%" PRIu64, eg);
	if (!rc)
		rc = transparenthelloworld_read_slowpath(inst, st);
	return rc;
}

/* Times the runtime told the instance about its parent, and the packets
 * its slow path received in each direction (enum pcn_direction). */
struct transparenthelloworld {
	uint64_t parent_updates;
	uint64_t pkt_in[2];
};

/* SLOWPATH: count the packet under the direction the record says it was
 * going, and say so. */
static void transparenthelloworld_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct transparenthelloworld *t = pcn_instance_priv(inst);
	const char *dir = pkt->direction == PCN_DIR_EGRESS ? "egress" : "ingress";

	if (t)
		t->pkt_in[pkt->direction == PCN_DIR_EGRESS ? 1 : 0]++;
	PCN_INFO("TRANSPARENTHELLOWORLD-PKT-IN", "%s: %s packet, %u bytes", pcn_instance_name(inst), dir,
		 pkt->orig_len);
}

static int transparenthelloworld_read_slowpath(struct pcn_instance *inst, struct pcn_state *st)
{
	struct transparenthelloworld *t = pcn_instance_priv(inst);
	int rc;

	rc = pcn_state_set(st, "stats/slowpath-ingress-packets", "%" PRIu64, t ? t->pkt_in[0] : 0);
	if (!rc)
		rc = pcn_state_set(st, "stats/slowpath-egress-packets", "%" PRIu64, t ? t->pkt_in[1] : 0);
	return rc;
}

static int transparenthelloworld_on_create(struct pcn_instance *inst)
{
	struct transparenthelloworld *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pcn_instance_set_priv(inst, t);
	return 0;
}

static void transparenthelloworld_on_destroy(struct pcn_instance *inst)
{
	free(pcn_instance_priv(inst));
	pcn_instance_set_priv(inst, NULL);
}

static void transparenthelloworld_on_parent(struct pcn_instance *inst, const struct pcn_parent_info *parent)
{
	struct transparenthelloworld *t = pcn_instance_priv(inst);

	if (t)
		t->parent_updates++;
	PCN_INFO("TRANSPARENTHELLOWORLD-PARENT", "%s: parent %s, %zu IPv4 address(es)", pcn_instance_name(inst),
		 parent->name[0] ? parent->name : "(none)", parent->n_ipv4);
}

static int transparenthelloworld_read_parent(struct pcn_instance *inst, struct pcn_state *st)
{
	struct transparenthelloworld *t = pcn_instance_priv(inst);
	struct pcn_parent_info p;
	int rc = 0;

	if (pcn_parent(inst, &p) == 0) {
		rc = pcn_state_set(st, "parent-info/mac", "%02x:%02x:%02x:%02x:%02x:%02x", p.mac[0], p.mac[1],
				   p.mac[2], p.mac[3], p.mac[4], p.mac[5]);
		if (!rc)
			rc = pcn_state_set(st, "parent-info/ifindex", "%" PRIu32, p.ifindex);
		if (!rc)
			rc = pcn_state_set(st, "parent-info/mtu", "%" PRIu32, p.mtu);
		if (!rc)
			rc = pcn_state_set(st, "parent-info/up", "%s", p.up ? "true" : "false");
		for (size_t i = 0; !rc && i < p.n_ipv4; i++) {
			char ip[INET_ADDRSTRLEN];

			/* A leaf-list takes a new instance per value (libyang 2.1
			 * refuses a predicate on it here). */
			inet_ntop(AF_INET, &p.ipv4[i], ip, sizeof(ip));
			rc = pcn_state_set(st, "parent-info/ipv4", "%s/%u", ip, p.prefix[i]);
		}
	}
	if (!rc)
		rc = pcn_state_set(st, "parent-info/updates", "%" PRIu64, t ? t->parent_updates : 0);
	return rc;
}

static const struct pcn_config_handler transparenthelloworld_handlers[] = {
	{ "/transparenthelloworld:transparenthelloworld/ingress-action", transparenthelloworld_set_in },
	{ "/transparenthelloworld:transparenthelloworld/egress-action", transparenthelloworld_set_eg },
	{ NULL },
};

static const struct pcn_state_handler transparenthelloworld_state[] = {
	{ "/transparenthelloworld:transparenthelloworld/stats", transparenthelloworld_read_stats },
	{ "/transparenthelloworld:transparenthelloworld/parent-info", transparenthelloworld_read_parent },
	{ NULL },
};

static const struct pcn_cube_desc transparenthelloworld_desc = {
	.service = "transparenthelloworld",
	.version = "1.0.0",
	.description = "Passes, drops or sends up the packets of each direction of a netdev",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "transparenthelloworld",
	.yang_module = transparenthelloworld_yang,
	.xdp_object = transparenthelloworld_xdp__elf_bytes,
	.tc_object = transparenthelloworld_tc__elf_bytes,
	.handlers = transparenthelloworld_handlers,
	.state = transparenthelloworld_state,
	.on_create = transparenthelloworld_on_create,
	.on_destroy = transparenthelloworld_on_destroy,
	.on_parent = transparenthelloworld_on_parent,
	.pkt_in = transparenthelloworld_pkt_in,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&transparenthelloworld_desc, argc, argv);
}

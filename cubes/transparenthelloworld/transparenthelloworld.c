/* transparenthelloworld control plane: the action of each direction and
 * the per-direction counters. */
#include <errno.h>
#include <inttypes.h>
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
	return rc;
}

static const struct pcn_config_handler transparenthelloworld_handlers[] = {
	{ "/transparenthelloworld:transparenthelloworld/ingress-action", transparenthelloworld_set_in },
	{ "/transparenthelloworld:transparenthelloworld/egress-action", transparenthelloworld_set_eg },
	{ NULL },
};

static const struct pcn_state_handler transparenthelloworld_state[] = {
	{ "/transparenthelloworld:transparenthelloworld/stats", transparenthelloworld_read_stats },
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
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&transparenthelloworld_desc, argc, argv);
}

/* ucchain control plane (benchmark cube, tests/bench/chain.sh): writes the
 * chain length into the fast path's map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "pcn_cube.h"
#include "ucchain_tc.skel.h"
#include "ucchain_xdp.skel.h"
#include "ucchain_yang.h"

static int ucchain_set_length(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	uint32_t zero = 0, v = op == PCN_OP_DELETE ? 0 : (uint32_t)strtoul(pcn_node_value(node), NULL, 10);
	int rc = pcn_map_update(inst, "ucchain_len", &zero, &v, BPF_ANY);

	return rc ? pcn_fail(inst, rc, "cannot set the length: %s", strerror(-rc)) : 0;
}

static const struct pcn_config_handler ucchain_handlers[] = {
	{ "/ucchain:ucchain/length", ucchain_set_length },
	{ NULL },
};

static const struct pcn_cube_desc ucchain_desc = {
	.service = "ucchain",
	.version = "1.0.0",
	.description = "Benchmark cube: a chain of ingress micro-cubes",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "ucchain",
	.yang_module = ucchain_yang,
	.xdp_object = ucchain_xdp__elf_bytes,
	.tc_object = ucchain_tc__elf_bytes,
	.handlers = ucchain_handlers,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&ucchain_desc, argc, argv);
}

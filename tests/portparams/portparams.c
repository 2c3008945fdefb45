/* portparams control plane: nothing to do. The cube exists for its model,
 * whose ports carry an address and a MAC (as Polycube's router's do), so
 * that a transparent cube on such a port can be shown them and their
 * changes (tests/integration/transparent_parent.sh). */
#include "pcn_cube.h"
#include "portparams_tc.skel.h"
#include "portparams_xdp.skel.h"
#include "portparams_yang.h"

static const struct pcn_cube_desc portparams_desc = {
	.service = "portparams",
	.version = "1.0.0",
	.description = "Test cube: two ports with an address and a MAC each, forwarding between them",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "portparams",
	.yang_module = portparams_yang,
	.xdp_object = portparams_xdp__elf_bytes,
	.tc_object = portparams_tc__elf_bytes,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&portparams_desc, argc, argv);
}

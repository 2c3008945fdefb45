/* sptest: a test-only cube for pcn_send_packet_out (tests/integration/
 * slowpath_out.sh). Its fast path sends what arrives on `up-port` up; its
 * slow path sends each packet through `out-port` in `out-direction` and
 * counts it; everything else is forwarded out of `fwd-port`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "pcn_cube.h"
#include "sptest_tc.skel.h"
#include "sptest_xdp.skel.h"
#include "sptest_yang.h"

struct sptest_priv {
	int out_port;      /* -1: none */
	enum pcn_direction dir;
};

static int sptest_port_of(struct pcn_instance *inst, const struct pcn_node *config, const char *leaf)
{
	const char *name = pcn_node_child(config, leaf);

	return name ? pcn_port_index(inst, name) : -ENOENT;
}

/* Rebuilds the port map from the whole config: ports may come after the
 * leaves naming them. */
static int sptest_applied(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct sptest_priv *p = pcn_instance_priv(inst);
	const char *dir = pcn_node_child(config, "out-direction");
	uint32_t k, v;
	int up, fwd, rc;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		pcn_instance_set_priv(inst, p);
	}
	up = sptest_port_of(inst, config, "up-port");
	fwd = sptest_port_of(inst, config, "fwd-port");
	p->out_port = sptest_port_of(inst, config, "out-port");
	p->dir = dir && strcmp(dir, "INGRESS") == 0 ? PCN_DIR_INGRESS : PCN_DIR_EGRESS;
	k = 0;
	v = up < 0 ? 0xffffffffu : (uint32_t)up;
	rc = pcn_map_update(inst, "sptest_ports", &k, &v, BPF_ANY);
	k = 1;
	v = fwd < 0 ? 0xffffffffu : (uint32_t)fwd;
	if (!rc)
		rc = pcn_map_update(inst, "sptest_ports", &k, &v, BPF_ANY);
	return rc ? pcn_fail(inst, rc, "cannot write sptest_ports: %s", strerror(-rc)) : 0;
}

static void sptest_destroy(struct pcn_instance *inst)
{
	free(pcn_instance_priv(inst));
	pcn_instance_set_priv(inst, NULL);
}

static void sptest_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	struct sptest_priv *p = pcn_instance_priv(inst);
	int rc;

	if (!p || p->out_port < 0)
		return;
	rc = pcn_send_packet_out(inst, (uint32_t)p->out_port, p->dir, pkt->data, pkt->len);
	PCN_INFO("SPTEST-OUT", "%s: %u bytes from %s sent %s port %d: %s", pcn_instance_name(inst),
		 (unsigned)pkt->len, pkt->port_name ? pkt->port_name : "?",
		 p->dir == PCN_DIR_INGRESS ? "into" : "out of", p->out_port, rc ? strerror(-rc) : "ok");
}

static const struct pcn_config_handler sptest_handlers[] = {
	{ NULL },
};

static const struct pcn_cube_desc sptest_desc = {
	.service = "sptest",
	.version = "1.0.0",
	.description = "Slow-path packets-out test cube",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "sptest",
	.yang_module = sptest_yang,
	.xdp_object = sptest_xdp__elf_bytes,
	.tc_object = sptest_tc__elf_bytes,
	.handlers = sptest_handlers,
	.on_applied = sptest_applied,
	.on_destroy = sptest_destroy,
	.pkt_in = sptest_pkt_in,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&sptest_desc, argc, argv);
}

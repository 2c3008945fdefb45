/* pbforwarder: the control plane of a policy-based forwarder. Its rules
 * (Polycube's model: matches on MACs, VLAN, IPv4 addresses, L4 protocol and
 * ports and the input port; an action) are compiled into a table sorted by
 * id that the fast path scans for the first match.
 *
 * Rules name ports, which may be created after them, and the order of the
 * whole table matters: so the table is not patched change by change but
 * rebuilt from the whole configuration after every apply (on_applied), into
 * the table the fast path is not reading, and then switched to in one map
 * write: the next packet sees the new rules, and no packet sees half of
 * them. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "pcn_kern_user.h"
#include "pbforwarder_rules.h"
#include "pbforwarder_shared.h"
#include "pbforwarder_tc.skel.h"
#include "pbforwarder_xdp.skel.h"
#include "pbforwarder_yang.h"
#include "pcn_cube.h"

#define PBF_RULES_MAP "pbf_rules"
#define PBF_CTL_MAP "pbf_ctl"

struct pbf_collect {
	struct pbf_rule_text *rules;
	size_t n, cap;
};

static int pbf_collect_one(const struct pcn_node *entry, void *arg)
{
	struct pbf_collect *c = arg;
	struct pbf_rule_text *t;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct pbf_rule_text *r = realloc(c->rules, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		c->rules = r;
		c->cap = cap;
	}
	t = &c->rules[c->n++];
	*t = (struct pbf_rule_text){
		.id = pcn_node_key(entry, "id"),
		.vlan = pcn_node_child(entry, "vlan"),
		.src_mac = pcn_node_child(entry, "src_mac"),
		.dst_mac = pcn_node_child(entry, "dst_mac"),
		.src_ip = pcn_node_child(entry, "src_ip"),
		.dst_ip = pcn_node_child(entry, "dst_ip"),
		.l4_proto = pcn_node_child(entry, "l4_proto"),
		.src_port = pcn_node_child(entry, "src_port"),
		.dst_port = pcn_node_child(entry, "dst_port"),
		.in_port = pcn_node_child(entry, "in_port"),
		.out_port = pcn_node_child(entry, "out_port"),
		.action = pcn_node_child(entry, "action"),
	};
	return 0;
}

static int pbf_port(void *arg, const char *name)
{
	int idx = pcn_port_index(arg, name);

	return idx >= PCN_MAX_PORTS ? -ERANGE : idx;
}

/* Writes the compiled table into the inactive half of pbf_rules, then
 * makes it the active one. */
static int pbf_install(struct pcn_instance *inst, const struct pbf_compiled *cp)
{
	uint32_t zero = 0, ctl = 0, next, base, i;
	int rc;

	/* A new instance's pbf_ctl is 0: table 0 active, empty. After a
	 * restart it is what the last process left. */
	rc = pcn_map_lookup(inst, PBF_CTL_MAP, &zero, &ctl);
	if (rc)
		return pcn_fail(inst, rc, "cannot read %s: %s", PBF_CTL_MAP, strerror(-rc));
	next = (ctl & PBF_CTL_ACTIVE) ? 0 : PBF_CTL_ACTIVE;
	base = next ? PBF_MAX_RULES : 0;
	for (i = 0; i < cp->n; i++) {
		uint32_t key = base + i;

		rc = pcn_map_update(inst, PBF_RULES_MAP, &key, &cp->rules[i], BPF_ANY);
		if (rc)
			return pcn_fail(inst, rc, "cannot write %s: %s", PBF_RULES_MAP, strerror(-rc));
	}
	ctl = next | (uint32_t)cp->n;
	rc = pcn_map_update(inst, PBF_CTL_MAP, &zero, &ctl, BPF_ANY);
	if (rc)
		return pcn_fail(inst, rc, "cannot write %s: %s", PBF_CTL_MAP, strerror(-rc));
	return 0;
}

static int pbf_sync(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct pbf_collect c = { 0 };
	struct pbf_compiled *cp = calloc(1, sizeof(*cp));
	char err[160] = "";
	int rc;

	if (!cp)
		return -ENOMEM;
	rc = pcn_node_foreach(config, "rules", pbf_collect_one, &c);
	if (rc)
		goto out;
	rc = pbf_compile(c.rules, c.n, pbf_port, inst, cp, err, sizeof(err));
	if (rc) {
		rc = pcn_fail(inst, rc, "%s", err);
		goto out;
	}
	if (cp->unresolved)
		PCN_DEBUG("PBF-UNRESOLVED", "%s: %zu rule(s) name a port it does not have (yet)",
			  pcn_instance_name(inst), cp->unresolved);
	rc = pbf_install(inst, cp);
	if (!rc)
		PCN_DEBUG("PBF-RULES", "%s: %zu rule(s) installed", pcn_instance_name(inst), cp->n);
out:
	free(c.rules);
	free(cp);
	return rc;
}

/* SLOWPATH: the packets of rules that say so come here (md[0] is the
 * rule's id) and are logged. They are counted by the fast path as they go
 * up (to_slowpath: cubemesh_cube_to_slowpath_packets_total in /metrics). */
static void pbf_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	unsigned ethertype = pkt->len >= 14 ? (unsigned)(pkt->data[12] << 8 | pkt->data[13]) : 0;

	PCN_DEBUG("PBF-PKT-IN", "%s: packet from %s, rule %" PRIu32 ", reason %u, %u bytes, ethertype 0x%04x",
		  pcn_instance_name(inst), pkt->port_name ? pkt->port_name : "?", pkt->md[0], pkt->reason,
		  pkt->orig_len, ethertype);
}

const struct pcn_cube_desc pbforwarder_desc = {
	.service = "pbforwarder",
	.version = "1.0.0",
	.description = "Forwards, drops or sends up packets by the first rule that matches them",
	.min_kernel = "5.17", /* bpf_loop */
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "pbforwarder",
	.yang_module = pbforwarder_yang,
	.xdp_object = pbforwarder_xdp__elf_bytes,
	.tc_object = pbforwarder_tc__elf_bytes,
	/* Everything is done from the whole tree: see the comment on top. */
	.on_applied = pbf_sync,
	.pkt_in = pbf_pkt_in,
};

/* The tests build this file without main and drive pbforwarder_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&pbforwarder_desc, argc, argv);
}
#endif

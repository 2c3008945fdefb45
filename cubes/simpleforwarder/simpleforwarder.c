/* simpleforwarder: the control plane of a cube that applies, to each packet,
 * the action configured for the port it came in on (drop, slow path, or
 * forward out of another port).
 *
 * Its YANG list `actions` names ports, while the fast path's map
 * simplefwd_actions is keyed by port numbers, which the broker allocates
 * and which exist only once the port does: an action may name a port that
 * is created later. So the map is not patched change by change; after every
 * apply, on_applied rebuilds it from the whole configuration, and an
 * action whose ports now exist starts working. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "pcn_kern_user.h"
#include "simpleforwarder_shared.h"
#include "simpleforwarder_tc.skel.h"
#include "simpleforwarder_xdp.skel.h"
#include "simpleforwarder_yang.h"
#include "pcn_cube.h"

#define SIMPLEFWD_MAP "simplefwd_actions"

/* The map as the configuration wants it, indexed by port number. */
struct simplefwd_sync {
	struct pcn_instance *inst;
	struct simplefwd_action want[PCN_MAX_PORTS];
	bool set[PCN_MAX_PORTS];
};

static int simplefwd_action_kind(const char *s)
{
	if (!s || strcmp(s, "DROP") == 0)
		return SIMPLEFWD_ACTION_DROP; /* the model's default */
	if (strcmp(s, "SLOWPATH") == 0)
		return SIMPLEFWD_ACTION_SLOWPATH;
	if (strcmp(s, "FORWARD") == 0)
		return SIMPLEFWD_ACTION_FORWARD;
	return -EINVAL;
}

static int simplefwd_collect(const struct pcn_node *entry, void *arg)
{
	struct simplefwd_sync *s = arg;
	const char *inport = pcn_node_key(entry, "inport");
	const char *outport = pcn_node_child(entry, "outport");
	int kind = simplefwd_action_kind(pcn_node_child(entry, "action"));
	int in = inport ? pcn_port_index(s->inst, inport) : -ENOENT;
	int out = -ENOENT;

	if (kind < 0)
		return pcn_fail(s->inst, -EINVAL, "unknown action %s for port %s",
				pcn_node_child(entry, "action"), inport);
	if (in < 0 || in >= PCN_MAX_PORTS) {
		PCN_DEBUG("SIMPLEFWD-UNRESOLVED", "%s: no port %s yet; its action waits for it",
			  pcn_instance_name(s->inst), inport);
		return 0;
	}
	if (kind == SIMPLEFWD_ACTION_FORWARD) {
		out = outport ? pcn_port_index(s->inst, outport) : -ENOENT;
		/* Nowhere to forward to yet: leave the port without an entry,
		 * which the fast path drops, until the outport exists. */
		if (out < 0) {
			PCN_DEBUG("SIMPLEFWD-UNRESOLVED", "%s: FORWARD from %s waits for port %s",
				  pcn_instance_name(s->inst), inport, outport ? outport : "(none)");
			return 0;
		}
	}
	s->want[in].action = (uint32_t)kind;
	s->want[in].outport = out < 0 ? 0 : (uint32_t)out;
	s->set[in] = true;
	return 0;
}

/* Writes what the configuration wants, then clears what it no longer
 * wants: a port that keeps its action never misses an entry on the way.
 * The map is an array (its lookup is inlined in the fast path), so every
 * port has an entry and "no action" is an entry of zeros, which is
 * SIMPLEFWD_ACTION_DROP; only entries that are not zero yet are written. */
static int simplefwd_sync(struct pcn_instance *inst, const struct pcn_node *config)
{
	struct simplefwd_sync *s = calloc(1, sizeof(*s));
	const struct simplefwd_action none = { 0 };
	struct simplefwd_action cur;
	uint32_t key;
	int rc;

	if (!s)
		return -ENOMEM;
	s->inst = inst;
	rc = pcn_node_foreach(config, "actions", simplefwd_collect, s);
	if (rc)
		goto out;
	for (key = 0; key < PCN_MAX_PORTS; key++) {
		if (!s->set[key])
			continue;
		rc = pcn_map_update(inst, SIMPLEFWD_MAP, &key, &s->want[key], BPF_ANY);
		if (rc) {
			rc = pcn_fail(inst, rc, "cannot write %s: %s", SIMPLEFWD_MAP, strerror(-rc));
			goto out;
		}
	}
	for (key = 0; key < PCN_MAX_PORTS; key++) {
		if (s->set[key] || pcn_map_lookup(inst, SIMPLEFWD_MAP, &key, &cur) < 0 ||
		    memcmp(&cur, &none, sizeof(cur)) == 0)
			continue;
		rc = pcn_map_update(inst, SIMPLEFWD_MAP, &key, &none, BPF_ANY);
		if (rc) {
			rc = pcn_fail(inst, rc, "cannot clear %s: %s", SIMPLEFWD_MAP, strerror(-rc));
			goto out;
		}
	}
out:
	free(s);
	return rc;
}

/* SLOWPATH: the packets of ports whose action says so come here; log them. */
static void simplefwd_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	unsigned ethertype = pkt->len >= 14 ? (unsigned)(pkt->data[12] << 8 | pkt->data[13]) : 0;

	PCN_INFO("SIMPLEFWD-PKT-IN", "%s: packet from %s, reason %u, %u bytes, ethertype 0x%04x",
		 pcn_instance_name(inst), pkt->port_name ? pkt->port_name : "?", pkt->reason, pkt->orig_len,
		 ethertype);
}

static const struct pcn_map_migration simplefwd_migrations[] = {
	{ SIMPLEFWD_MAP, pcn_map_migrate_copy },
	{ NULL, NULL },
};

const struct pcn_cube_desc simpleforwarder_desc = {
	.service = "simpleforwarder",
	.version = "1.1.0",
	.description = "Forwards, drops or sends up packets by their input port",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "simpleforwarder",
	.yang_module = simpleforwarder_yang,
	.xdp_object = simpleforwarder_xdp__elf_bytes,
	.tc_object = simpleforwarder_tc__elf_bytes,
	/* Everything is done from the whole tree: see the comment on top. */
	.on_applied = simplefwd_sync,
	.pkt_in = simplefwd_pkt_in,
	/* Versions before 1.1.0 kept the actions in a hash. */
	.migrations = simplefwd_migrations,
};

/* The tests build this file without main and drive simpleforwarder_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&simpleforwarder_desc, argc, argv);
}
#endif

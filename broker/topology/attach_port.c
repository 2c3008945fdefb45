/* Transparent stacks on a standard cube's port (§VI-H).
 *
 * Such a stack runs on what enters the cube through the port (from a
 * netdev or from another cube over a wire) and on what the cube sends out
 * of it (pcn_pkt_send), before the peer gets it. Nothing on the packet's
 * way changes for ports without a stack: the port gets two PatchPanel
 * slots of its own, both holding the port-stack entry program
 * (bpf/pcn_tnetdev.bpf.c: pcn_tport_entry), and the wires are led through them.
 * What used to enter the cube at the port (the peer cube's pcn_fwd entry,
 * the netdev's pcn_netdev_in entry) enters the ingress slot instead, whose
 * stack ends in the cube; the port's own pcn_fwd entry names the egress
 * slot, whose stack ends at the port's real peer (kept in pcn_tport). The
 * topology writes every such entry through broker_attach_port_slot_in()
 * and broker_attach_port_fwd_set(), so a port wired, unwired or rewired
 * while it has a stack stays behind it.
 *
 * Order: the stack's entries and both slots are ready before any wire
 * leads there; the wires lead straight again before the slots go.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach_int.h"
#include "dataplane/chainstats.h"
#include "log.h"

int attach_port_parse(struct broker *b, const char *name, struct tnetdev *d, struct broker_error *err)
{
	char cube[BROKER_NAME_MAX], port[BROKER_NAME_MAX];
	struct broker_instance *c;
	struct broker_service *svc;
	struct broker_port *p;

	if (pcn_peer_split(name, cube, sizeof(cube), port, sizeof(port)) != 1)
		return broker_error_set(err, 400, "invalid-value", "/attach", "%s is not cube:port", name);
	c = broker_instance_find(b, cube);
	if (!c)
		return broker_error_set(err, 404, "invalid-value", "/attach", "no instance named %s", cube);
	svc = broker_service_find(b, c->service);
	if (svc && svc->transparent)
		return broker_error_set(err, 400, "invalid-value", "/attach",
					"%s is a transparent cube: it has no ports to attach to", cube);
	p = broker_instance_port(c, port);
	if (!p)
		return broker_error_set(err, 404, "invalid-value", "/attach", "%s has no port %s", cube, port);
	d->cube = c;
	d->hook = c->hook;
	d->port_index = p->index;
	d->parent = pcn_tparent_port(c->index, p->index);
	snprintf(d->port, sizeof(d->port), "%s", p->name);
	snprintf(d->name, sizeof(d->name), "%s:%s", c->name, p->name);
	return 0;
}

static struct tnetdev *open_port(struct broker *b, uint32_t cube_index, uint32_t port)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		if (d->open && d->cube && d->cube->index == cube_index && d->port_index == port)
			return d;
	return NULL;
}

uint32_t broker_attach_port_slot_in(struct broker *b, uint32_t cube_index, uint32_t port)
{
	struct tnetdev *d = open_port(b, cube_index, port);

	return d ? d->slot_in : cube_index;
}

int broker_attach_slot_hook(struct broker *b, uint32_t slot, enum pcn_hook *hook)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		if (d->open && slot && (d->slot_in == slot || d->slot_eg == slot)) {
			*hook = d->hook;
			return 0;
		}
	return -ENOENT;
}

/* The egress entry of an XDP stack on the netdev v names, if any. */
static const struct tnetdev *netdev_egress(struct broker *b, const struct pcn_fwd_val *v)
{
	if (v->kind != PCN_PEER_NETDEV)
		return NULL;
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		if (!d->cube && d->open && d->slot_eg && d->ifindex == (int)v->ifindex)
			return d;
	return NULL;
}

int broker_attach_port_fwd_set(struct broker *b, uint32_t cube_index, uint32_t port, const struct pcn_fwd_val *v)
{
	struct tnetdev *d = open_port(b, cube_index, port);
	const struct tnetdev *nd = netdev_egress(b, v);
	struct pcn_tport_val tv = { .dir = PCN_TDIR_EGRESS, .owner = cube_index };
	struct pcn_fwd_val entry = { .kind = PCN_PEER_CUBE, .port = port }, real = *v;

	/* Out to a netdev with an XDP stack: through its egress stack first
	 * (an XDP redirect skips the TC egress hook). */
	if (nd) {
		memset(&real, 0, sizeof(real));
		real.kind = PCN_PEER_CUBE;
		real.cube_index = nd->slot_eg;
	}
	if (!d)
		return broker_fwd_set(b->dp, cube_index, port, &real);
	/* Where the stack ends first, then the way into it. */
	tv.parent = d->parent;
	tv.next = real;
	if (bpf_map_update_elem(b->topo->stacks.tport_fd, &d->slot_eg, &tv, BPF_ANY) < 0)
		return -errno;
	entry.cube_index = d->slot_eg;
	return broker_fwd_set(b->dp, cube_index, port, &entry);
}

/* Puts the entry program in slot of both PatchPanels (add false: empties
 * the slot in both). */
static int pp_set(struct broker *b, uint32_t slot, bool add)
{
	struct {
		struct bpf_object *obj;
		const char *map;
	} pp[] = { { b->topo->stacks.tc, PCN_MAP_PP_TC }, { b->topo->stacks.xdp, PCN_MAP_PP_XDP } };
	int rc = 0;

	for (size_t i = 0; i < sizeof(pp) / sizeof(pp[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(pp[i].obj, pp[i].map);
		struct bpf_program *p = bpf_object__find_program_by_name(pp[i].obj, "pcn_tport_entry");
		int fd = p ? bpf_program__fd(p) : -1;

		if (!m || fd < 0)
			return -ENOENT;
		if (add && bpf_map_update_elem(bpf_map__fd(m), &slot, &fd, BPF_ANY) < 0)
			rc = -errno;
		if (!add && bpf_map_delete_elem(bpf_map__fd(m), &slot) < 0 && errno != ENOENT)
			rc = -errno;
	}
	return rc;
}

/* Writes the port's wires again: the port's own entry and, for a cube
 * peer, the peer's entry toward it (a netdev peer's is written with the
 * port's). Each goes through the translation above. */
static void rewire(struct broker *b, struct tnetdev *d)
{
	struct broker_port *p = broker_instance_port(d->cube, d->port), *q = NULL;
	struct broker_instance *x = NULL;
	struct broker_error err;

	if (!p || !d->cube->in_cube || (!p->cube_peer && !p->attached))
		return;
	if (broker_topology_wire(b, d->cube, p, &err))
		PCN_WARN("BROKER-ATTACH-REWIRE", "%s: %s", d->name, err.message);
	if (!p->cube_peer)
		return;
	q = broker_peer_port(b, p->peer, &x);
	if (q && q->cube_peer && broker_topology_wire(b, x, q, &err))
		PCN_WARN("BROKER-ATTACH-REWIRE", "%s:%s: %s", x->name, q->name, err.message);
}

/* What the cubes peered with netdev d send out of it: the wires again,
 * through the translation above. */
static void rewire_netdev(struct broker *b, const struct tnetdev *d)
{
	for (struct broker_instance *i = b->instances; i; i = i->next)
		for (size_t k = 0; k < i->n_ports; k++) {
			struct broker_port *p = &i->ports[k];
			struct pcn_fwd_val v = { .kind = PCN_PEER_NETDEV, .ifindex = (__u32)d->ifindex };

			if (p->attached && p->ifindex == d->ifindex && broker_attach_port_fwd_set(b, i->index, p->index, &v))
				PCN_WARN("BROKER-ATTACH-REWIRE", "%s:%s: cannot lead it through the stack on %s", i->name,
					 p->name, d->name);
		}
}

/* Says in pcn_tport what the entry in slot enters, then puts it there. An
 * entry that says so already (left by the previous broker) is not written
 * again. */
static int entry_fill(struct broker *b, __u32 slot, const struct pcn_tport_val *val)
{
	struct pcn_tport_val old;

	if ((bpf_map_lookup_elem(b->topo->stacks.tport_fd, &slot, &old) || memcmp(&old, val, sizeof(old))) &&
	    bpf_map_update_elem(b->topo->stacks.tport_fd, &slot, val, BPF_ANY) < 0)
		return -errno;
	return pp_set(b, slot, true);
}

/* A restarted broker knows a port's peer only once the cube's process has
 * replayed its config, but its egress stack carried on meanwhile, to the
 * end the previous broker wrote in pcn_tport: kept, if that entry enters
 * the same stack (parent, direction, owner). The replay writes it again
 * when the peer changed (broker_attach_port_fwd_set). */
static void egress_end_adopt(struct broker *b, __u32 slot, struct pcn_tport_val *eg)
{
	struct pcn_tport_val old;

	if (bpf_map_lookup_elem(b->topo->stacks.tport_fd, &slot, &old) == 0 && old.parent == eg->parent &&
	    old.dir == eg->dir && old.owner == eg->owner)
		eg->next = old.next;
}

static int slot_take(struct broker *b, uint32_t want, uint32_t *out)
{
	int id;

	/* A restarted broker keeps the slots the wires already lead to. */
	if (want && broker_idalloc_reserve(&b->cube_ids, want) == 0) {
		*out = want;
		return 0;
	}
	id = broker_idalloc_get(&b->cube_ids);
	if (id < 0)
		return id;
	*out = (uint32_t)id;
	return 0;
}

int attach_port_open(struct broker *b, struct tnetdev *d, uint32_t slot_in, uint32_t slot_eg)
{
	struct pcn_tport_val in = { .parent = d->parent, .dir = PCN_TDIR_INGRESS, .owner = d->cube->index };
	struct pcn_tport_val eg = { .parent = d->parent, .dir = PCN_TDIR_EGRESS, .owner = d->cube->index };
	int rc;

	rc = slot_take(b, slot_in, &d->slot_in);
	if (rc)
		return rc;
	rc = slot_take(b, slot_eg, &d->slot_eg);
	if (rc) {
		broker_idalloc_put(&b->cube_ids, d->slot_in);
		d->slot_in = 0;
		return rc;
	}
	in.next.kind = PCN_PEER_CUBE;
	in.next.cube_index = d->cube->index;
	in.next.port = d->port_index;
	/* A new egress stack ends nowhere until rewire() writes the real peer;
	 * one adopted from the previous broker where it ended. */
	if (slot_eg && d->slot_eg == slot_eg)
		egress_end_adopt(b, d->slot_eg, &eg);
	rc = entry_fill(b, d->slot_in, &in);
	if (!rc)
		rc = entry_fill(b, d->slot_eg, &eg);
	if (rc) {
		attach_port_close(b, d);
		return rc;
	}
	d->open = true;
	rewire(b, d);
	PCN_DEBUG("BROKER-ATTACH-PORT", "%s: stack entries in slots %u (in) and %u (out)", d->name, d->slot_in,
		  d->slot_eg);
	return 0;
}

int attach_netdev_open(struct broker *b, struct tnetdev *d, uint32_t slot_eg)
{
	struct pcn_tport_val eg = { .parent = d->parent, .dir = PCN_TDIR_EGRESS };
	int rc;

	/* A TC cube's redirect out of the netdev meets its TC egress hook. */
	if (d->hook == PCN_HOOK_TC)
		return 0;
	rc = slot_take(b, slot_eg, &d->slot_eg);
	if (rc)
		return rc;
	eg.next.kind = PCN_PEER_NETDEV;
	eg.next.ifindex = (__u32)d->ifindex;
	rc = entry_fill(b, d->slot_eg, &eg);
	if (rc) {
		attach_port_close(b, d);
		return rc;
	}
	d->open = true;
	rewire_netdev(b, d);
	return 0;
}

/* Empties one entry slot and gives it back; the next instance to get it
 * starts with clean counters (an entry counts its misses there). */
static void slot_release(struct broker *b, __u32 *slot)
{
	if (!*slot)
		return;
	pp_set(b, *slot, false);
	bpf_map_delete_elem(b->topo->stacks.tport_fd, slot);
	broker_stats_reset(b->dp, *slot);
	broker_chain_stats_reset(b, *slot);
	broker_idalloc_put(&b->cube_ids, *slot);
	*slot = 0;
}

void attach_port_close(struct broker *b, struct tnetdev *d)
{
	if (d->open) {
		d->open = false;
		if (d->cube)
			rewire(b, d);
		else
			rewire_netdev(b, d);
	}
	slot_release(b, &d->slot_in);
	slot_release(b, &d->slot_eg);
}

int attach_to_port(struct broker *b, struct broker_instance *inst, const char *port, const char *position,
		   const char *other, struct broker_error *err)
{
	struct tnetdev probe = { 0 }, *d;
	bool fresh = false;
	int at, rc;

	rc = attach_port_parse(b, port, &probe, err);
	if (rc)
		return rc;
	if ((probe.hook == PCN_HOOK_TC) != (inst->hook == PCN_HOOK_TC))
		return broker_error_set(err, 400, "invalid-value", "/attach",
					"%s runs at %s and %s at %s: a stack on a cube's port runs at the cube's "
					"hook (a tail call cannot cross from TC to XDP)", inst->name,
					pcn_hook_name(inst->hook), probe.cube->name, pcn_hook_name(probe.hook));
	rc = attach_ensure_loaded(b);
	if (rc)
		return broker_error_set(err, 500, "operation-failed", "/attach",
					"cannot load the transparent entry programs: %s", strerror(-rc));
	d = attach_find(b, probe.name);
	if (d && d->n == ATTACH_MAX_STACK)
		return broker_error_set(err, 409, "operation-failed", "/attach", "%s has %d cubes attached already",
					port, ATTACH_MAX_STACK);
	if (!d) {
		d = malloc(sizeof(*d));
		if (!d)
			return broker_error_set(err, 500, "operation-failed", "/attach", "out of memory");
		*d = probe;
		attach_stack_gen_load(b, d);
		fresh = true;
	}
	at = attach_insert_pos(d, position, other, err);
	if (at < 0) {
		if (fresh)
			free(d);
		return -EINVAL;
	}
	attach_insert(d, at, inst);
	/* The stack first, the wires through it last. */
	attach_stack_publish(b, d);
	if (fresh) {
		d->next = b->topo->stacks.devs;
		b->topo->stacks.devs = d;
		rc = attach_port_open(b, d, 0, 0);
		if (rc) {
			d->n = 0;
			attach_free_if_empty(b, d);
			return broker_error_set(err, 500, "operation-failed", "/attach", "cannot lead %s through a "
						"stack: %s", port, strerror(-rc));
		}
	}
	broker_attach_parent_set(b, inst, d->name);
	PCN_INFO("BROKER-ATTACHED", "%s attached to %s at position %d of %zu", inst->name, d->name, at, d->n);
	return 0;
}

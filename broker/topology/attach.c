/* Transparent cubes on netdevs and cube ports (§VI-H): POST /attach and
 * /detach, the stacks they build, and the netdev programs that enter them
 * (a cube port's: attach_port.c).
 *
 * A parent's stack is an ordered list of transparent instances, position 0
 * nearest the wire (a cube port's: nearest the peer). Ingress packets meet them 0, 1, ..., egress packets in
 * the reverse order; pcn_tstack holds both orders, keyed by position, and
 * each instance's wrapper jumps to the next (bpf/pcn_transparent.h). The
 * entry programs (bpf/pcn_tnetdev.bpf.c) run at TC ingress and egress (TC
 * instances) or XDP (XDP instances: ingress only).
 *
 * A netdev peered with a standard cube port runs the broker's netdev input
 * program, which enters the ingress stack first (bpf/pcn_tstack.h); the
 * stack's end enters the cube. Otherwise our own input program does the
 * same. The stacks are saved in the state directory (attach_store.c) and
 * attached again when the broker restarts.
 *
 * A change of order never shows half done to a packet: pcn_tstack holds two
 * generations of each parent's stack; the new order is written under the
 * one not in use, then pcn_tgen flips to it (a packet reads it once, at the
 * stack's entry). The old one stays intact until the next change.
 */
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach_int.h"
#include "log.h"
#include "pcn_tnetdev_tc.skel.h"
#include "pcn_tnetdev_xdp.skel.h"

/* Our clsact filters' handle and priority: beside the broker's netdev
 * filter (0xcbe), never with it. */
#define ATTACH_TC_PRIO 0xcbf

int broker_topology_create(struct broker *b)
{
	b->topo = calloc(1, sizeof(*b->topo));
	if (!b->topo)
		return -ENOMEM;
	b->topo->stacks.tstack_fd = b->topo->stacks.tgen_fd = b->topo->stacks.tport_fd = -1;
	return 0;
}



static int load_obj(struct broker *b, const void *elf, size_t sz, const char *name, struct bpf_object **out)
{
	char shared[PATH_MAX];
	struct bpf_object *obj;
	int rc;

	if (pcn_layout_shared(shared, sizeof(shared), b->opts.bpffs_root, NULL))
		return -ENAMETOOLONG;
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .pin_root_path = shared);
	obj = bpf_object__open_mem(elf, sz, &opts);
	if (!obj)
		return -errno;
	rc = bpf_object__load(obj);
	if (rc) {
		bpf_object__close(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

/* Loads the entry programs once (they take the shared maps by their pins). */
int attach_ensure_loaded(struct broker *b)
{
	const void *elf;
	size_t sz;
	int rc;

	if (b->topo->stacks.tc && b->topo->stacks.xdp)
		return 0;
	elf = pcn_tnetdev_tc__elf_bytes(&sz);
	rc = load_obj(b, elf, sz, "pcn_tnetdev_tc", &b->topo->stacks.tc);
	if (rc)
		return rc;
	elf = pcn_tnetdev_xdp__elf_bytes(&sz);
	rc = load_obj(b, elf, sz, "pcn_tnetdev_xdp", &b->topo->stacks.xdp);
	if (rc)
		return rc;
	b->topo->stacks.tstack_fd = bpf_map__fd(bpf_object__find_map_by_name(b->topo->stacks.tc, PCN_MAP_TSTACK));
	b->topo->stacks.tgen_fd = bpf_map__fd(bpf_object__find_map_by_name(b->topo->stacks.tc, PCN_MAP_TGEN));
	b->topo->stacks.tport_fd = bpf_map__fd(bpf_object__find_map_by_name(b->topo->stacks.tc, PCN_MAP_TPORT));
	return b->topo->stacks.tstack_fd < 0 || b->topo->stacks.tgen_fd < 0 || b->topo->stacks.tport_fd < 0 ? -ENOENT : 0;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -ENOENT;
}

/* Where the entry programs sit on a netdev: broker_dp_hook_attach, the
 * broker's policy for its own input program (tcx links pinned as
 * tstack_{in,eg}_<ifindex>, ordered by --tc-order, or clsact filters at
 * ATTACH_TC_PRIO; XDP alone at the hook), beside other owners' programs,
 * never in place of them. */
static struct broker_hookat hook_at(const struct tnetdev *d, bool egress, char *pin, size_t len)
{
	snprintf(pin, len, "tstack_%s_%d", egress ? "eg" : "in", d->ifindex);
	return (struct broker_hookat){ .ifindex = d->ifindex, .hook = egress ? PCN_HOOK_TC : d->hook,
				       .egress = egress, .pin = pin, .tc_prio = ATTACH_TC_PRIO,
				       .name = egress ? "pcn_teg" : "pcn_tin", .label = "transparent" };
}

static int dir_attach(struct broker *b, struct tnetdev *d, bool egress)
{
	struct bpf_object *obj = egress || d->hook == PCN_HOOK_TC ? b->topo->stacks.tc : b->topo->stacks.xdp;
	char pin[48];
	struct broker_hookat at = hook_at(d, egress, pin, sizeof(pin));
	int prog = prog_fd(obj, at.name);

	return prog < 0 ? prog : broker_dp_hook_attach(b->dp, &at, prog);
}

static void dir_detach(struct broker *b, struct tnetdev *d, bool egress)
{
	char pin[48];
	struct broker_hookat at = hook_at(d, egress, pin, sizeof(pin));

	broker_dp_hook_detach(b->dp, &at);
}

/* A standard cube port peered with the netdev: its input program enters
 * the stack (bpf/pcn_tstack.h), ours is not needed at the input hook. At
 * the broker's start, a port the datastore peers with it counts (it is
 * wired once its cube process is back; meanwhile the input program a
 * former broker left there does the job). */
static bool dev_peered(struct broker *b, const char *name)
{
	for (struct broker_instance *i = b->instances; i; i = i->next)
		for (size_t k = 0; k < i->n_ports; k++)
			if ((i->ports[k].attached || b->topo->stacks.restoring) &&
			    strcmp(i->ports[k].peer, name) == 0)
				return true;
	return false;
}

/* The input hook first: one another owner holds (XDP) refuses the attach
 * before anything changed. TC egress for every stack: an XDP stack's
 * egress pipeline runs there too, through the TC twins of its instances
 * (cube-runtime/twin.c); what an XDP program redirects out of the netdev
 * skips TC egress, though (attach_netdev_open). */
int attach_hook_attach(struct broker *b, struct tnetdev *d)
{
	bool in;
	int rc = 0;

	if (d->cube)
		return attach_port_open(b, d, d->slot_in, d->slot_eg);
	in = !dev_peered(b, d->name);
	if (in)
		rc = dir_attach(b, d, false);
	if (!rc) {
		rc = dir_attach(b, d, true);
		if (rc && in)
			dir_detach(b, d, false);
	}
	if (!rc)
		rc = attach_netdev_open(b, d, d->slot_eg);
	return rc;
}

/* Ours only, whoever else is on the netdev: at the input hook that is
 * never the port's input program (XDP: only a program named pcn_tin). */
static void hook_detach(struct broker *b, struct tnetdev *d)
{
	attach_port_close(b, d);
	if (d->cube)
		return;
	dir_detach(b, d, false);
	dir_detach(b, d, true);
}

/* Removes generation gen of d's stack from pcn_tstack, from position from. */
static void stack_trim(struct broker *b, const struct tnetdev *d, __u32 gen, size_t from)
{
	for (size_t p = from; p < ATTACH_MAX_STACK; p++) {
		struct pcn_tstack_key k = { .parent = d->parent, .pos = (__u32)p, .gen = gen };

		k.dir = PCN_TDIR_INGRESS;
		bpf_map_delete_elem(b->topo->stacks.tstack_fd, &k);
		k.dir = PCN_TDIR_EGRESS;
		bpf_map_delete_elem(b->topo->stacks.tstack_fd, &k);
	}
}

/* Writes the stack of d into pcn_tstack under the generation not in use
 * (every position of both directions, nothing past the end), then flips
 * pcn_tgen to it. Each entry names an instance whose program is already in
 * the PatchPanel. */
void attach_stack_publish(struct broker *b, struct tnetdev *d)
{
	__u32 gen = d->gen ^ 1;

	for (size_t p = 0; p < d->n; p++) {
		struct pcn_tstack_key in = { .parent = d->parent, .dir = PCN_TDIR_INGRESS, .pos = (__u32)p, .gen = gen };
		struct pcn_tstack_key eg = { .parent = d->parent, .dir = PCN_TDIR_EGRESS, .pos = (__u32)p, .gen = gen };
		__u32 vin = d->stack[p]->index, veg = d->stack[d->n - 1 - p]->index;

		/* The last of each direction says so: no lookup of the
		 * position after it per frame. */
		if (p == d->n - 1) {
			vin |= PCN_TSTACK_LAST;
			veg |= PCN_TSTACK_LAST;
		}

		bpf_map_update_elem(b->topo->stacks.tstack_fd, &in, &vin, BPF_ANY);
		bpf_map_update_elem(b->topo->stacks.tstack_fd, &eg, &veg, BPF_ANY);
	}
	stack_trim(b, d, gen, d->n);
	if (bpf_map_update_elem(b->topo->stacks.tgen_fd, &d->parent, &gen, BPF_ANY) < 0)
		PCN_ERR("BROKER-ATTACH-GEN", "cannot switch the stack on %s to its new order: %s", d->name,
			strerror(errno));
	else
		d->gen = gen;
}

/* The generation a parent's stack used before (a restarted broker, a stale
 * entry): the next publish writes the other one. */
void attach_stack_gen_load(struct broker *b, struct tnetdev *d)
{
	__u32 gen = 0;

	d->gen = bpf_map_lookup_elem(b->topo->stacks.tgen_fd, &d->parent, &gen) == 0 ? gen & 1 : 0;
}

/* Both generations and the generation entry, once nothing enters the stack. */
static void stack_clear(struct broker *b, const struct tnetdev *d)
{
	stack_trim(b, d, 0, 0);
	stack_trim(b, d, 1, 0);
	bpf_map_delete_elem(b->topo->stacks.tgen_fd, &d->parent);
}

struct tnetdev *attach_find(struct broker *b, const char *name)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static struct tnetdev *find_inst(struct broker *b, const struct broker_instance *inst, size_t *pos)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		for (size_t p = 0; p < d->n; p++)
			if (d->stack[p] == inst) {
				*pos = p;
				return d;
			}
	return NULL;
}

void attach_free_if_empty(struct broker *b, struct tnetdev *d)
{
	struct tnetdev **pp;

	if (d->n)
		return;
	hook_detach(b, d);
	stack_clear(b, d);
	for (pp = &b->topo->stacks.devs; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	free(d);
}

static void remove_at(struct broker *b, struct tnetdev *d, size_t pos)
{
	int ifindex = d->ifindex;

	memmove(&d->stack[pos], &d->stack[pos + 1], (d->n - pos - 1) * sizeof(d->stack[0]));
	d->n--;
	attach_stack_publish(b, d);
	attach_free_if_empty(b, d);
	/* A peered netdev's input program is built for its stack (also when
	 * no POST /detach says so: a deleted instance). */
	if (ifindex > 0)
		broker_netdev_stack_changed(b->dp, ifindex);
}

json_t *broker_attach_topology_json(struct broker *b, const char *ifname)
{
	json_t *all = json_array();

	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next) {
		json_t *o, *names;

		if (ifname && strcmp(d->name, ifname) != 0)
			continue;
		o = json_object();
		names = json_array();
		for (size_t p = 0; p < d->n; p++)
			json_array_append_new(names, json_string(d->stack[p]->name));
		json_object_set_new(o, "parent", json_string(d->name));
		json_object_set_new(o, "type", json_string(pcn_hook_name(d->hook)));
		json_object_set_new(o, "stack", names);
		json_array_append_new(all, o);
	}
	return all;
}

const char *broker_attach_parent(struct broker *b, const struct broker_instance *inst)
{
	size_t pos;
	struct tnetdev *d = find_inst(b, inst, &pos);

	return d ? d->name : NULL;
}

int broker_attach_hook(struct broker *b, const char *netdev, enum pcn_hook *hook)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		if (strcmp(d->name, netdev) == 0) {
			*hook = d->hook;
			return 0;
		}
	return -ENOENT;
}

void broker_attach_netdev_peering(struct broker *b, const char *netdev)
{
	/* XDP: the port's input program replaces ours in one step (both are
	 * Cubemesh's), no frame meets an empty hook. */
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		if (strcmp(d->name, netdev) == 0 && d->hook == PCN_HOOK_TC)
			dir_detach(b, d, false);
}

void broker_attach_netdev_unpeered(struct broker *b, const char *netdev)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next) {
		int rc;

		if (strcmp(d->name, netdev) != 0 || dev_peered(b, netdev))
			continue;
		/* Ours at the input hook again; egress as it is (adopted). */
		rc = dir_attach(b, d, false);
		if (!rc)
			rc = dir_attach(b, d, true);
		if (rc)
			PCN_ERR("BROKER-ATTACH-LOST", "the transparent cubes on %s lost their hook: %s%s%s", netdev,
				strerror(-rc), broker_netdev_why(b->dp)[0] ? ": " : "", broker_netdev_why(b->dp));
	}
}

void broker_attach_forget(struct broker *b, const struct broker_instance *inst)
{
	size_t pos;
	struct tnetdev *d = find_inst(b, inst, &pos);

	broker_attach_parent_gone(b, inst);
	/* The TC twin of an XDP transparent instance (its egress at TC). */
	if (inst->hook != PCN_HOOK_TC)
		broker_pp_remove(b->dp, PCN_HOOK_TC, inst->index);
	if (d) {
		PCN_INFO("BROKER-DETACHED", "%s detached from %s (deleted)", inst->name, d->name);
		remove_at(b, d, pos);
		attach_save(b);
	}
	/* A standard cube going: the stacks on its ports go first. */
	broker_attach_port_gone(b, inst, NULL);
}

void broker_attach_port_gone(struct broker *b, const struct broker_instance *inst, const char *port)
{
	for (struct tnetdev *d = b->topo->stacks.devs, *next; d; d = next) {
		next = d->next;
		if (d->cube != inst || (port && strcmp(d->port, port) != 0))
			continue;
		/* The transparent cubes stay, detached. */
		PCN_INFO("BROKER-DETACHED", "%zu transparent cube(s) detached from %s (deleted)", d->n, d->name);
		while (d->n) {
			broker_attach_parent_set(b, d->stack[d->n - 1], NULL);
			d->n--;
		}
		attach_stack_publish(b, d);
		attach_free_if_empty(b, d);
		attach_save(b);
	}
}

void attach_insert(struct tnetdev *d, int at, struct broker_instance *inst)
{
	memmove(&d->stack[at + 1], &d->stack[at], (d->n - (size_t)at) * sizeof(d->stack[0]));
	d->stack[at] = inst;
	d->n++;
}

/* Where to insert in d for position/other, or -1 with err set. */
int attach_insert_pos(const struct tnetdev *d, const char *position, const char *other, struct broker_error *err)
{
	if (!position || strcmp(position, "auto") == 0 || strcmp(position, "last") == 0)
		return (int)d->n;
	if (strcmp(position, "first") == 0)
		return 0;
	if (strcmp(position, "before") == 0 || strcmp(position, "after") == 0) {
		if (!other)
			return broker_error_set(err, 400, "missing-element", "/attach",
						"position %s needs other: the cube to stand %s", position, position),
			       -1;
		for (size_t p = 0; p < d->n; p++)
			if (strcmp(d->stack[p]->name, other) == 0)
				return (int)p + (position[0] == 'a');
		return broker_error_set(err, 400, "invalid-value", "/attach", "%s is not attached to %s", other,
					d->name),
		       -1;
	}
	return broker_error_set(err, 400, "invalid-value", "/attach",
				"position must be first, last, before, after or auto (not %s)", position),
	       -1;
}

static int do_attach(struct broker *b, json_t *j, bool attach, struct broker_error *err)
{
	const char *cube = json_string_value(json_object_get(j, "cube"));
	const char *port = json_string_value(json_object_get(j, "port"));
	const char *position = json_string_value(json_object_get(j, "position"));
	const char *other = json_string_value(json_object_get(j, "other"));
	const char *before = json_string_value(json_object_get(j, "before"));
	const char *after = json_string_value(json_object_get(j, "after"));
	struct broker_instance *inst;
	struct broker_service *svc;
	struct tnetdev *d;
	size_t pos;
	int ifindex, at, rc;

	if (!cube || !port)
		return broker_error_set(err, 400, "missing-element", "/attach", "cube and port are both needed");
	/* pcnctl's form: before=<cube> / after=<cube>. */
	if (before || after) {
		position = before ? "before" : "after";
		other = before ? before : after;
	}
	inst = broker_instance_find(b, cube);
	if (!inst)
		return broker_error_set(err, 404, "invalid-value", "/attach", "no instance named %s", cube);
	svc = broker_service_find(b, inst->service);
	if (!svc || !svc->transparent)
		return broker_error_set(err, 400, "invalid-value", "/attach",
					"%s is a standard cube: only transparent cubes attach (peer its ports instead)",
					cube);
	if (!attach) {
		d = find_inst(b, inst, &pos);
		if (!d || strcmp(d->name, port) != 0)
			return broker_error_set(err, 404, "invalid-value", "/detach", "%s is not attached to %s",
						cube, port);
		remove_at(b, d, pos);
		broker_attach_parent_set(b, inst, NULL);
		PCN_INFO("BROKER-DETACHED", "%s detached from %s", cube, port);
		return 0;
	}
	if (find_inst(b, inst, &pos))
		return broker_error_set(err, 409, "data-exists", "/attach", "%s is attached already (to %s)", cube,
					broker_attach_parent(b, inst));
	if (strchr(port, ':'))
		return attach_to_port(b, inst, port, position, other, err);
	ifindex = broker_netdev_ifindex(port);
	if (ifindex < 0)
		return broker_error_set(err, 400, "invalid-value", "/attach", "no netdev named %s", port);
	for (struct broker_instance *i = b->instances; i; i = i->next)
		for (size_t k = 0; k < i->n_ports; k++)
			if (strcmp(i->ports[k].peer, port) == 0 &&
			    (i->hook == PCN_HOOK_TC) != (inst->hook == PCN_HOOK_TC))
				return broker_error_set(err, 400, "invalid-value", "/attach",
							"%s is peered with %s:%s at %s: %s at %s cannot run in front "
							"of it (a tail call cannot cross from TC to XDP)", port,
							i->name, i->ports[k].name, pcn_hook_name(i->hook), cube,
							pcn_hook_name(inst->hook));
	rc = attach_ensure_loaded(b);
	if (rc)
		return broker_error_set(err, 500, "operation-failed", "/attach",
					"cannot load the transparent entry programs: %s", strerror(-rc));
	d = attach_find(b, port);
	if (d && (d->hook == PCN_HOOK_TC) != (inst->hook == PCN_HOOK_TC))
		return broker_error_set(err, 400, "invalid-value", "/attach",
					"%s runs at %s and the stack on %s at %s: one stack runs at one hook", cube,
					pcn_hook_name(inst->hook), port, pcn_hook_name(d->hook));
	if (d && d->n == ATTACH_MAX_STACK)
		return broker_error_set(err, 409, "operation-failed", "/attach", "%s has %d cubes attached already",
					port, ATTACH_MAX_STACK);
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return broker_error_set(err, 500, "operation-failed", "/attach", "out of memory");
		d->ifindex = ifindex;
		d->parent = (__u32)ifindex;
		snprintf(d->name, sizeof(d->name), "%s", port);
		d->hook = inst->hook;
		attach_stack_gen_load(b, d);
	}
	at = attach_insert_pos(d, position, other, err);
	if (at < 0) {
		if (!d->n)
			free(d);
		return -EINVAL;
	}
	attach_insert(d, at, inst);
	/* The stack first, the entry programs last: a packet entering finds a
	 * complete stack. */
	attach_stack_publish(b, d);
	if (d->n == 1) {
		/* Listed first: the wires that lead through it look it up. */
		d->next = b->topo->stacks.devs;
		b->topo->stacks.devs = d;
		rc = attach_hook_attach(b, d);
		if (rc) {
			d->n = 0;
			attach_free_if_empty(b, d);
			/* Another owner's XDP program holds the hook (it stays). */
			if (rc == -EBUSY || rc == -EEXIST || rc == -EOPNOTSUPP)
				return broker_error_set(err, 409, "resource-denied", "/attach",
							"cannot attach to %s at %s: %s", port,
							pcn_hook_name(inst->hook), broker_netdev_why(b->dp));
			return broker_error_set(err, 500, "operation-failed", "/attach", "cannot attach to %s at %s: %s",
						port, pcn_hook_name(inst->hook), strerror(-rc));
		}
		/* A peered netdev's input program, built without a stack, jumps
		 * past it: rebuilt before the reply, so that what the user sees
		 * attached is in the packets' way (it was done after the reply,
		 * and a ping sent at once slipped past a DROP cube). */
		broker_netdev_stack_changed(b->dp, ifindex);
	}
	broker_attach_parent_set(b, inst, port);
	PCN_INFO("BROKER-ATTACHED", "%s attached to %s at position %d of %zu", cube, port, at, d->n);
	return 0;
}

int broker_attach_json(struct broker *b, json_t *j, bool attach, struct broker_error *err)
{
	if (do_attach(b, j, attach, err))
		return -1;
	attach_save(b);
	return 0;
}

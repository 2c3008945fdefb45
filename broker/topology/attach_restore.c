/* The transparent stacks of attachments.json attached again at start
 * (broker_attach_restore), and saved after every change (attach_save); the
 * file itself is the store's (store/attach_store.c). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "attach_int.h"
#include "log.h"
#include "store/datastore.h"

/* Every stack as [{"netdev", "hook", "stack": [names, nearest the wire
 * first]}] (a cube port's: "netdev" is "cube:port", with "slot-in" and
 * "slot-eg"), saved after each change. */
void attach_save(struct broker *b)
{
	json_t *all = json_array();

	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next) {
		json_t *o = json_object(), *names = json_array();

		for (size_t p = 0; p < d->n; p++)
			json_array_append_new(names, json_string(d->stack[p]->name));
		json_object_set_new(o, "netdev", json_string(d->name));
		json_object_set_new(o, "hook", json_integer(d->hook));
		/* The wires lead to these: a restarted broker keeps them. */
		if (d->slot_in)
			json_object_set_new(o, "slot-in", json_integer(d->slot_in));
		if (d->slot_eg)
			json_object_set_new(o, "slot-eg", json_integer(d->slot_eg));
		json_object_set_new(o, "stack", names);
		json_array_append_new(all, o);
	}
	broker_attach_store_save(b->opts.state_dir, all);
	json_decref(all);
}

/* A saved slot: absent (0: take a fresh one) or a slot number in range;
 * false for anything else. */
static bool slot_member(json_t *o, const char *key, __u32 *out)
{
	json_t *j = json_object_get(o, key);

	*out = 0;
	if (!j)
		return true;
	if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) >= PCN_MAX_CUBES)
		return false;
	*out = (__u32)json_integer_value(j);
	return true;
}

/* True if inst is in a stack already restored (a cube sits in one stack). */
static bool in_a_stack(struct broker *b, const struct broker_instance *inst, const struct tnetdev *cur)
{
	for (const struct tnetdev *d = b->topo->stacks.devs; d; d = d->next)
		for (size_t p = 0; p < d->n; p++)
			if (d->stack[p] == inst)
				return true;
	for (size_t p = 0; p < cur->n; p++)
		if (cur->stack[p] == inst)
			return true;
	return false;
}

/* Why entry o of the file cannot be a stack, or NULL. The file is the
 * broker's own, but a hand edit or a bad disk must cost only that stack:
 * every member is checked before it is used as a name, a hook or a slot. */
static const char *entry_refused(struct broker *b, json_t *o, const char **name, json_t **names, int *hook)
{
	json_t *h = json_object_get(o, "hook");
	char cube[PCN_NAME_MAX], port[PCN_NAME_MAX];
	int kind;

	*name = json_string_value(json_object_get(o, "netdev"));
	*names = json_object_get(o, "stack");
	if (!json_is_object(o) || !*name)
		return "no netdev named";
	kind = pcn_peer_split(*name, cube, sizeof(cube), port, sizeof(port));
	if (kind == 0 && (strlen(*name) >= IF_NAMESIZE || strchr(*name, '/')))
		return "not a netdev name";
	if (kind < 0 || strlen(*name) >= sizeof(((struct tnetdev *)0)->name))
		return "not a netdev or cube:port name";
	if (!json_is_integer(h) || json_integer_value(h) < PCN_HOOK_TC ||
	    json_integer_value(h) > PCN_HOOK_XDP_DRV)
		return "unknown hook";
	*hook = (int)json_integer_value(h);
	if (!json_is_array(*names))
		return "no stack";
	if (attach_find(b, *name))
		return "a second stack on the same parent";
	return NULL;
}

/* True if the generation in use for d's parent (pcn_tgen) holds d's order
 * already, both directions and nothing past the end: the previous broker
 * published it, and it is adopted as it is (no flip). */
static bool stack_pinned(struct broker *b, const struct tnetdev *d)
{
	__u32 gen, v;

	if (bpf_map_lookup_elem(b->topo->stacks.tgen_fd, &d->parent, &gen))
		return false;
	for (size_t p = 0; p <= d->n; p++) {
		for (__u32 dir = PCN_TDIR_INGRESS; dir <= PCN_TDIR_EGRESS; dir++) {
			struct pcn_tstack_key k = { .parent = d->parent, .dir = dir, .pos = (__u32)p, .gen = gen };
			bool found = bpf_map_lookup_elem(b->topo->stacks.tstack_fd, &k, &v) == 0;
			__u32 want;

			if (p == d->n) {
				if (found)
					return false;
				continue;
			}
			want = d->stack[dir == PCN_TDIR_INGRESS ? p : d->n - 1 - p]->index;
			if (p == d->n - 1)
				want |= PCN_TSTACK_LAST;
			if (!found || v != want)
				return false;
		}
	}
	return true;
}

/* An egress stack adopted from the previous broker ends where that broker
 * led it (attach_port_open). Once every stack and instance is back, an end
 * in a slot nobody holds (an instance whose record was set aside) or out of
 * a netdev that is gone leads nowhere rather than to whoever takes that
 * slot or ifindex next; the cube's replay wires the port again. */
static void egress_ends_check(struct broker *b)
{
	for (struct tnetdev *d = b->topo->stacks.devs; d; d = d->next) {
		struct pcn_tport_val v;
		char ifname[IF_NAMESIZE];
		bool stale;

		if (!d->cube || !d->slot_eg || bpf_map_lookup_elem(b->topo->stacks.tport_fd, &d->slot_eg, &v))
			continue;
		stale = (v.next.kind == PCN_PEER_CUBE && (v.next.cube_index >= PCN_MAX_CUBES ||
							   !broker_idalloc_used(&b->cube_ids, v.next.cube_index))) ||
			(v.next.kind == PCN_PEER_NETDEV && !if_indextoname(v.next.ifindex, ifname));
		if (!stale)
			continue;
		PCN_WARN("BROKER-ATTACH-RESTORE", "%s: its egress stack led to %s %u, gone: it leads nowhere until "
			 "%s is wired again", d->name, v.next.kind == PCN_PEER_CUBE ? "slot" : "ifindex",
			 v.next.kind == PCN_PEER_CUBE ? v.next.cube_index : v.next.ifindex, d->name);
		memset(&v.next, 0, sizeof(v.next));
		bpf_map_update_elem(b->topo->stacks.tport_fd, &d->slot_eg, &v, BPF_ANY);
	}
}

void broker_attach_restore(struct broker *b)
{
	json_t *all = broker_attach_store_load(b->opts.state_dir), *o;
	size_t i;

	if (!all)
		return;
	if (attach_ensure_loaded(b)) {
		PCN_ERR("BROKER-ATTACH-RESTORE", "cannot load the transparent entry programs: stacks not restored");
		json_decref(all);
		return;
	}
	json_array_foreach(all, i, o) {
		const char *name, *why;
		json_t *names, *n;
		struct tnetdev *d;
		struct broker_error err;
		size_t k;
		bool port;
		int ifindex, hook = 0, rc;
		__u32 slot_in, slot_eg;

		why = entry_refused(b, o, &name, &names, &hook);
		if (!why && (!slot_member(o, "slot-in", &slot_in) || !slot_member(o, "slot-eg", &slot_eg)))
			why = "a slot out of range";
		if (why) {
			PCN_WARN("BROKER-ATTACH-RESTORE", "stack %zu of the saved ones not restored: %s", i, why);
			continue;
		}
		port = strchr(name, ':') != NULL;
		ifindex = !port ? broker_netdev_ifindex(name) : -ENODEV;
		if (!port && ifindex < 0) {
			PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s not restored: no such netdev", name);
			continue;
		}
		d = calloc(1, sizeof(*d));
		if (!d)
			break;
		if (port && attach_port_parse(b, name, d, &err)) {
			PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s not restored: %s", name, err.message);
			free(d);
			continue;
		}
		d->slot_in = slot_in;
		d->slot_eg = slot_eg;
		if (!port) {
			d->ifindex = ifindex;
			d->parent = (__u32)ifindex;
			snprintf(d->name, sizeof(d->name), "%s", name);
		}
		d->hook = (enum pcn_hook)hook;
		attach_stack_gen_load(b, d);
		json_array_foreach(names, k, n) {
			const char *cube = json_string_value(n);
			struct broker_instance *inst =
				cube && broker_datastore_name_valid(cube) ? broker_instance_find(b, cube) : NULL;

			if (!inst) {
				PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s: position %zu names no instance; "
					 "skipped", name, k);
			} else if (in_a_stack(b, inst, d)) {
				PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s: %s is in a stack already; skipped",
					 name, inst->name);
			} else if (d->n == ATTACH_MAX_STACK) {
				PCN_WARN("BROKER-ATTACH-RESTORE", "stack on %s: more than %d cubes; %s skipped", name,
					 ATTACH_MAX_STACK, inst->name);
			} else {
				d->stack[d->n++] = inst;
			}
		}
		if (!d->n) {
			free(d);
			continue;
		}
		/* The pinned maps and the filters survived us, and packets go on
		 * through them: the stack is published again only if the file
		 * says otherwise; the entries get our programs (attach_hook_attach)
		 * but keep where they lead. */
		if (!stack_pinned(b, d))
			attach_stack_publish(b, d);
		d->next = b->topo->stacks.devs;
		b->topo->stacks.devs = d;
		/* Adopted where it is ours (tcx links swapped in place, our XDP
		 * program replaced atomically); another owner's XDP program that
		 * took the hook meanwhile keeps it. */
		b->topo->stacks.restoring = true;
		rc = attach_hook_attach(b, d);
		b->topo->stacks.restoring = false;
		if (rc)
			PCN_WARN("BROKER-ATTACH-RESTORE", "cannot attach the stack on %s again: %s%s%s", name,
				 strerror(-rc), broker_netdev_why(b->dp)[0] ? ": " : "", broker_netdev_why(b->dp));
		if (d->ifindex > 0)
			broker_netdev_stack_changed(b->dp, d->ifindex);
		for (size_t p = 0; p < d->n; p++)
			broker_attach_parent_set(b, d->stack[p], d->name);
		PCN_INFO("BROKER-ATTACH-RESTORED", "%zu transparent cube(s) on %s", d->n, name);
	}
	json_decref(all);
	egress_ends_check(b);
}

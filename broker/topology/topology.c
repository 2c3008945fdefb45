/* Topology: what each port is wired to, kept in pcn_fwd and in the netdev
 * attachments, and kept in step with the host's links. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tables.h"
#include "dataplane/dataplane.h"
#include "model/model.h"
#include "topology/topology.h"
#include "log.h"


bool broker_port_up(const struct broker_port *port)
{
	if (port->cube_peer)
		return true;
	return port->attached && port->link_up;
}

static bool same_family(enum pcn_hook a, enum pcn_hook b)
{
	return (a == PCN_HOOK_TC) == (b == PCN_HOOK_TC);
}

int broker_topology_check_peer(struct broker *b, const struct broker_instance *inst, const char *port,
			       const char *peer, struct broker_error *err)
{
	char cube[BROKER_NAME_MAX], pport[BROKER_NAME_MAX], path[256];
	enum pcn_hook thook;
	int ifindex, rc;

	snprintf(path, sizeof(path), "/%s/%s/ports/%s/peer", inst->service, inst->name, port);
	rc = pcn_peer_split(peer, cube, sizeof(cube), pport, sizeof(pport));
	if (rc < 0)
		return broker_error_set(err, 400, "invalid-value", path, "%s is neither a netdev nor cube:port", peer);
	if (rc == 1) {
		struct broker_instance *pi = broker_instance_find(b, cube);

		if (!pi)
			return broker_error_set(err, 400, "invalid-value", path, "no instance named %s", cube);
		if (pi == inst)
			return broker_error_set(err, 400, "invalid-value", path, "a port cannot be peered with "
						"its own instance");
		if (!same_family(pi->hook, inst->hook))
			return broker_error_set(err, 400, "invalid-value", path,
						"%s runs at %s and %s at %s: a tail call cannot cross from "
						"a TC program to an XDP one", inst->name,
						pcn_hook_name(inst->hook), pi->name, pcn_hook_name(pi->hook));
		if (broker_instance_port(pi, pport))
			return 0;
		return broker_error_set(err, 400, "invalid-value", path, "%s has no port %s", cube, pport);
	}
	ifindex = broker_netdev_ifindex(peer);
	if (ifindex < 0)
		return broker_error_set(err, 400, "invalid-value", path, "no netdev named %s", peer);
	rc = broker_attach_hook(b, peer, &thook);
	if (rc == 0 && !same_family(thook, inst->hook))
		return broker_error_set(err, 400, "invalid-value", path, "the transparent cubes on %s run at %s: "
					"%s at %s cannot follow them (a tail call cannot cross from TC to XDP)",
					peer, pcn_hook_name(thook), inst->name, pcn_hook_name(inst->hook));
	/* Another owner's XDP program alone on the netdev: refused before
	 * anything is written (the transparent cubes' own program, when there
	 * is a stack, is replaced by the broker's at the wiring). */
	if (rc != 0 && broker_netdev_check(b->dp, ifindex, inst->hook) == -EBUSY)
		return broker_error_set(err, 409, "resource-denied", path, "cannot attach to %s at %s: %s", peer,
					pcn_hook_name(inst->hook), broker_netdev_why(b->dp));
	for (struct broker_instance *i = b->instances; i; i = i->next)
		for (size_t k = 0; k < i->n_ports; k++)
			if (strcmp(i->ports[k].peer, peer) == 0 && !(i == inst && strcmp(i->ports[k].name, port) == 0))
				return broker_error_set(err, 409, "data-exists", path,
							"%s is already peered with %s:%s", peer, i->name,
							i->ports[k].name);
	return 0;
}

int broker_topology_wire(struct broker *b, struct broker_instance *inst, struct broker_port *port,
			 struct broker_error *err)
{
	struct pcn_fwd_val v = { 0 };
	int ifindex, rc;

	if (!port->peer[0])
		return 0;
	if (strchr(port->peer, ':')) {
		struct broker_instance *pi;
		struct broker_port *pp = broker_peer_port(b, port->peer, &pi);

		if (!pp)
			return broker_error_set(err, 400, "invalid-value", NULL, "no port %s", port->peer);
		v.kind = PCN_PEER_CUBE;
		/* Through the peer port's transparent stack, if it has one. */
		v.cube_index = broker_attach_port_slot_in(b, pi->index, pp->index);
		v.port = pp->index;
		rc = broker_attach_port_fwd_set(b, inst->index, port->index, &v);
		if (rc)
			return broker_error_set(err, 500, "operation-failed", NULL, "cannot wire %s:%s: %s",
						inst->name, port->name, strerror(-rc));
		port->cube_peer = true;
		return 0;
	}
	ifindex = broker_netdev_ifindex(port->peer);
	if (ifindex < 0)
		return broker_error_set(err, 400, "invalid-value", NULL, "no netdev named %s", port->peer);
	v.kind = PCN_PEER_NETDEV;
	v.ifindex = (uint32_t)ifindex;
	rc = broker_attach_port_fwd_set(b, inst->index, port->index, &v);
	if (rc == 0) {
		/* Transparent cubes on the netdev: the broker's input program
		 * enters their stack from now on. */
		broker_attach_netdev_peering(b, port->peer);
		rc = broker_netdev_attach(b->dp, ifindex, inst->hook,
					  broker_attach_port_slot_in(b, inst->index, port->index), port->index);
	}
	if (rc) {
		broker_fwd_del(b->dp, inst->index, port->index);
		broker_attach_netdev_unpeered(b, port->peer);
		return broker_error_set(err, rc == -EBUSY ? 409 : 500, "operation-failed", NULL,
					"cannot attach to %s at %s: %s", port->peer, pcn_hook_name(inst->hook),
					rc == -EBUSY ? broker_netdev_why(b->dp) : strerror(-rc));
	}
	port->ifindex = ifindex;
	port->attached = true;
	port->link_up = broker_netdev_is_up(ifindex) == 1;
	PCN_INFO("BROKER-PORT-WIRED", "%s:%s <-> %s (ifindex %d, %s)", inst->name, port->name, port->peer,
		 ifindex, pcn_hook_name(inst->hook));
	return 0;
}

void broker_topology_unwire(struct broker *b, struct broker_instance *inst, struct broker_port *port)
{
	if (port->attached) {
		int rc = broker_netdev_detach(b->dp, port->ifindex, inst->hook);

		if (rc)
			PCN_WARN("BROKER-DETACH", "detaching %s:%s from ifindex %d: %s", inst->name, port->name,
				 port->ifindex, strerror(-rc));
		port->attached = false;
		broker_attach_netdev_unpeered(b, port->peer);
	}
	/* Also when not wired: a wire whose peer went away points at slot 0
	 * (chainwire.c) and must go too. No entry is not an error. */
	broker_fwd_del(b->dp, inst->index, port->index);
	port->ifindex = 0;
	port->attached = false;
	port->cube_peer = false;
	port->link_up = false;
}

void broker_topology_link_event(void *arg, int ifindex, const char *ifname, enum broker_link_event ev)
{
	struct broker *b = arg;

	for (struct broker_instance *i = b->instances; i; i = i->next) {
		for (size_t k = 0; k < i->n_ports; k++) {
			struct broker_port *p = &i->ports[k];
			struct broker_error err;

			if (p->attached && p->ifindex == ifindex) {
				if (ev == BROKER_LINK_DELETED) {
					PCN_WARN("BROKER-NETDEV-GONE", "%s (ifindex %d) was deleted: %s:%s is DOWN "
						 "until a netdev of that name comes back", p->peer, ifindex,
						 i->name, p->name);
					broker_topology_unwire(b, i, p);
				} else {
					p->link_up = ev == BROKER_LINK_UP;
				}
			} else if (!p->attached && !p->cube_peer && ev == BROKER_LINK_UP && ifname &&
				   p->peer[0] && strcmp(p->peer, ifname) == 0 && i->in_cube) {
				/* The netdev this port names is back (or new): wire it again. */
				if (broker_topology_wire(b, i, p, &err) == 0)
					PCN_INFO("BROKER-NETDEV-BACK", "%s is back: %s:%s rewired", ifname, i->name,
						 p->name);
			}
		}
	}
}

json_t *broker_topology_json(struct broker *b, const char *ifname)
{
	json_t *cubes = json_array(), *root = json_object();

	for (struct broker_instance *i = b->instances; i; i = i->next) {
		json_t *c = json_object(), *ports = json_array();
		bool match = !ifname;

		for (size_t k = 0; k < i->n_ports; k++) {
			json_t *p = json_object();

			json_object_set_new(p, "name", json_string(i->ports[k].name));
			json_object_set_new(p, "index", json_integer(i->ports[k].index));
			json_object_set_new(p, "peer", json_string(i->ports[k].peer));
			json_object_set_new(p, "status", json_string(broker_port_up(&i->ports[k]) ? "UP" : "DOWN"));
			if (i->ports[k].attached)
				json_object_set_new(p, "ifindex", json_integer(i->ports[k].ifindex));
			json_array_append_new(ports, p);
			if (ifname && strcmp(i->ports[k].peer, ifname) == 0)
				match = true;
		}
		if (!match) {
			json_decref(c);
			json_decref(ports);
			continue;
		}
		json_object_set_new(c, "name", json_string(i->name));
		json_object_set_new(c, "service-name", json_string(i->service));
		json_object_set_new(c, "type", json_string(pcn_hook_name(i->hook)));
		json_object_set_new(c, "index", json_integer(i->index));
		json_object_set_new(c, "ports", ports);
		json_array_append_new(cubes, c);
	}
	if (ifname)
		json_object_set_new(root, "netdev", json_string(ifname));
	json_object_set_new(root, "cubes", cubes);
	json_object_set_new(root, "transparent", broker_attach_topology_json(b, ifname));
	return root;
}

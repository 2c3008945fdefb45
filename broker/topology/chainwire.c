/* Cube-to-cube wires when one end goes away and comes back.
 *
 * A port wired to "cube:port" holds that instance's PatchPanel slot in
 * pcn_fwd. When the instance (or that port) is deleted, its slot and port
 * number return to the allocators and the next instance created may get
 * them: a wire left as it was would then tail-call packets into an
 * unrelated instance. So the wire is pointed at slot 0, which is never a
 * live program: packets sent there are counted as missed tail calls
 * (empty-slot) on the sending instance, and the port shows DOWN. The peer
 * leaf stays in the configuration, and when an instance of that name with
 * that port exists again the wire is made again.
 */
#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"
#include "topology/topology.h"
#include "log.h"

/* True if peer is "<cube>:<port>" (port NULL: any port of cube). */
static bool peer_names(const char *peer, const char *cube, const char *port)
{
	size_t n = strlen(cube);

	if (strncmp(peer, cube, n) != 0 || peer[n] != ':')
		return false;
	return !port || strcmp(peer + n + 1, port) == 0;
}

void broker_chain_port_gone(struct broker *b, const struct broker_instance *gone, const char *port)
{
	struct pcn_fwd_val v = { .kind = PCN_PEER_CUBE, .cube_index = 0, .port = 0 };

	for (struct broker_instance *i = b->instances; i; i = i->next) {
		if (i == gone)
			continue;
		for (size_t k = 0; k < i->n_ports; k++) {
			struct broker_port *p = &i->ports[k];

			if (!p->cube_peer || !peer_names(p->peer, gone->name, port))
				continue;
			if (broker_fwd_set(b->dp, i->index, p->index, &v))
				broker_fwd_del(b->dp, i->index, p->index);
			p->cube_peer = false;
			PCN_WARN("BROKER-PEER-GONE", "%s:%s: its peer %s is gone; the port is DOWN (its packets are "
				 "counted as missed tail calls) until %s exists again", i->name, p->name, p->peer,
				 p->peer);
		}
	}
}

void broker_chain_peers_back(struct broker *b, struct broker_instance *inst)
{
	for (struct broker_instance *i = b->instances; i; i = i->next) {
		if (i == inst || !i->in_cube)
			continue;
		for (size_t k = 0; k < i->n_ports; k++) {
			struct broker_port *p = &i->ports[k];
			struct broker_error err;
			bool known = false;

			if (p->cube_peer || p->attached || !peer_names(p->peer, inst->name, NULL))
				continue;
			for (size_t j = 0; j < inst->n_ports; j++)
				known |= peer_names(p->peer, inst->name, inst->ports[j].name);
			if (!known)
				continue;
			if (broker_topology_wire(b, i, p, &err) == 0)
				PCN_INFO("BROKER-PEER-BACK", "%s:%s rewired to %s", i->name, p->name, p->peer);
		}
	}
}

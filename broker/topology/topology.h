/* The topology: what each port is wired to (topology.c), cube-to-cube
 * wires when one end goes and comes back (chainwire.c), and the transparent
 * stacks on netdevs and cube ports (attach*.c).
 *
 * May call: model/, store/, dataplane/, core/; the instances and ports of
 * control/ as data.
 */
#ifndef BROKER_TOPOLOGY_H
#define BROKER_TOPOLOGY_H

#include <netinet/in.h>
#include <stdbool.h>

#include <jansson.h>

#include "core/tables.h"
#include "model/model.h"
#include "dataplane/dataplane.h"

/* topology.c ------------------------------------------------------------- */
/* Checks that a port's peer can be wired (the netdev exists and is free). */
int broker_topology_check_peer(struct broker *b, const struct broker_instance *inst, const char *port,
			       const char *peer, struct broker_error *err);
/* Wires (peer set) or unwires (peer "") one port. */
int broker_topology_wire(struct broker *b, struct broker_instance *inst, struct broker_port *port,
			 struct broker_error *err);
void broker_topology_unwire(struct broker *b, struct broker_instance *inst, struct broker_port *port);
bool broker_port_up(const struct broker_port *port);
void broker_topology_link_event(void *arg, int ifindex, const char *ifname, enum broker_link_event ev);
json_t *broker_topology_json(struct broker *b, const char *ifname);

/* chainwire.c ---------------------------------------------------------------- */
/* Points every wire into port `port` of gone (NULL: any of its ports) at the
 * empty slot 0 and marks those ports DOWN: gone's slot may be reused. */
void broker_chain_port_gone(struct broker *b, const struct broker_instance *gone, const char *port);
/* Wires again the ports whose peer names one of inst's ports. */
void broker_chain_peers_back(struct broker *b, struct broker_instance *inst);

/* attach.c ------------------------------------------------------------------- */
/* Attaches (attach true) or detaches the transparent cube a request's
 * body names ({"cube", "port", "position", "other"}) and saves the stacks;
 * -1 with err set when it is refused. */
int broker_attach_json(struct broker *b, json_t *j, bool attach, struct broker_error *err);
/* The netdev inst is attached to, or NULL. */
const char *broker_attach_parent(struct broker *b, const struct broker_instance *inst);
/* Detaches inst (being deleted) from its stack, if any. */
void broker_attach_forget(struct broker *b, const struct broker_instance *inst);
/* The hook of the stack on netdev, or -ENOENT. */
int broker_attach_hook(struct broker *b, const char *netdev, enum pcn_hook *hook);
/* Before the broker attaches its netdev input program to netdev: ours
 * leaves the input hook. After the broker detached it: ours comes back. */
void broker_attach_netdev_peering(struct broker *b, const char *netdev);
void broker_attach_netdev_unpeered(struct broker *b, const char *netdev);
/* attach_port.c: the topology writes a port's wires through these, so a
 * cube port with a transparent stack keeps it in the way. slot_in: the slot
 * a packet entering (cube_index, port) is sent to (cube_index itself, or
 * the stack's entry); fwd_set: broker_fwd_set of the port's own entry. */
uint32_t broker_attach_port_slot_in(struct broker *b, uint32_t cube_index, uint32_t port);
/* The stacks for GET /topology: [{"parent", "type", "stack": [names,
 * nearest the wire (a port's peer) first]}], only ifname's if not NULL. */
json_t *broker_attach_topology_json(struct broker *b, const char *ifname);
/* The hook family of a transparent stack's entry slot: 0, or -ENOENT when
 * slot is none. */
int broker_attach_slot_hook(struct broker *b, uint32_t slot, enum pcn_hook *hook);
/* Before inst's port (NULL: every port) goes: its stack goes first. */
void broker_attach_port_gone(struct broker *b, const struct broker_instance *inst, const char *port);
int broker_attach_port_fwd_set(struct broker *b, uint32_t cube_index, uint32_t port, const struct pcn_fwd_val *v);
/* attach_parent.c: tells inst its parent netdev (NULL: detached), then
 * again whenever that netdev changes; gone: inst is being deleted. */
void broker_attach_parent_set(struct broker *b, const struct broker_instance *inst, const char *netdev);
void broker_attach_parent_gone(struct broker *b, const struct broker_instance *inst);
/* A new process of service has every instance again (a restart, an
 * upgrade): tells each of its attached instances its parent, which the
 * process before knew and this one does not (the poll only sends changes). */
void broker_attach_parent_replayed(struct broker *b, const char *service);
/* The topology's state (attach.c, b->topo): create at start; stop closes
 * its timer and forgets what was told to the cubes (on the way out). */
int broker_topology_create(struct broker *b);
void broker_topology_stop(struct broker *b);

/* A parent netdev's or cube port's state as a transparent instance is told
 * it (attach_parent.c reads it; b->parent_tell, set by control/, sends it);
 * text summarises it, to see a change. */
#define BROKER_PARENT_MAX_ADDRS 8
struct broker_parent_info {
	int ifindex;
	char mac[32];
	unsigned mtu;
	bool up;
	char addrs[BROKER_PARENT_MAX_ADDRS][INET_ADDRSTRLEN + 12];
	char *addr_p[BROKER_PARENT_MAX_ADDRS];
	size_t n;
	char text[512];
};

/* At start, after the instances: the stacks saved before (attach_store.c). */
void broker_attach_restore(struct broker *b);
#endif

/* ParentInfo to a transparent instance's process: what topology/
 * (attach_parent.c) finds about its parent, sent through the cube
 * connection (b->parent_tell is this file's broker_parent_tell). */
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "log.h"
#include "topology/topology.h"

static void parent_reply(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	(void)b;
	(void)reply;
	if (err)
		PCN_WARN("BROKER-PARENT-LOST", "could not tell %s about its parent: %s", (const char *)arg,
			 err->message);
	free(arg);
}

bool broker_parent_tell(struct broker *b, const struct broker_instance *inst, const char *netdev,
			const struct broker_parent_info *now)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ParentInfo pi = CUBEMESH__PARENT_INFO__INIT;
	struct broker_service *svc = broker_service_find(b, inst->service);
	char *name;

	if (!svc || svc->state != BROKER_SVC_UP || !inst->in_cube)
		return false;
	pi.instance = (char *)inst->name;
	pi.parent = (char *)(netdev ? netdev : "");
	if (netdev && now) {
		pi.has_ifindex = pi.has_mtu = pi.has_up = 1;
		pi.ifindex = (uint32_t)now->ifindex;
		pi.mac = (char *)now->mac;
		pi.mtu = now->mtu;
		pi.up = now->up;
		pi.n_ipv4 = now->n;
		pi.ipv4 = (char **)now->addr_p;
	}
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_PARENT;
	req.parent = &pi;
	name = strdup(inst->name);
	if (!name || broker_cube_call(b, svc, &req, parent_reply, name)) {
		free(name);
		return false;
	}
	return true;
}

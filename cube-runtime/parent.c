/* Transparent cubes: what each instance is attached to (ParentInfo from
 * the broker), kept in the instance record (inst->parent) and handed to the
 * cube's on_parent callback.
 * Owns: inst->parent. Calls: pcn__instance_find (apply.c), the cube's
 * on_parent. Serving thread only. */
#include "pcn_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pcn_parent(const struct pcn_instance *inst, struct pcn_parent_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!inst || !inst->parent.name[0])
		return -ENOENT;
	*out = inst->parent;
	return 0;
}

int pcn__parent_handle(struct pcn__runtime *rt, const Cubemesh__ParentInfo *m)
{
	struct pcn_instance *inst = pcn__instance_find(rt, m->instance);
	struct pcn_parent_info info = { 0 };

	if (!inst)
		return -ENOENT;
	if (m->parent && m->parent[0]) {
		unsigned int b[6];

		snprintf(info.name, sizeof(info.name), "%s", m->parent);
		info.ifindex = m->has_ifindex ? m->ifindex : 0;
		info.mtu = m->has_mtu ? m->mtu : 0;
		info.up = m->has_up && m->up;
		if (m->mac && sscanf(m->mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6)
			for (int i = 0; i < 6; i++)
				info.mac[i] = (uint8_t)b[i];
		for (size_t i = 0; i < m->n_ipv4 && info.n_ipv4 < PCN_PARENT_MAX_ADDRS; i++) {
			char addr[INET_ADDRSTRLEN];
			const char *slash = strchr(m->ipv4[i], '/');
			size_t n = slash ? (size_t)(slash - m->ipv4[i]) : strlen(m->ipv4[i]);
			struct in_addr a;

			if (n >= sizeof(addr))
				continue;
			memcpy(addr, m->ipv4[i], n);
			addr[n] = '\0';
			if (inet_pton(AF_INET, addr, &a) != 1)
				continue;
			info.ipv4[info.n_ipv4] = a.s_addr;
			info.prefix[info.n_ipv4] = (uint8_t)(slash ? atoi(slash + 1) : 32);
			info.n_ipv4++;
		}
	}
	inst->parent = info;
	PCN_INFO("CUBE-PARENT", "instance %s: parent %s", inst->name, info.name[0] ? info.name : "(none)");
	if (rt->desc->on_parent)
		rt->desc->on_parent(inst, &inst->parent);
	return 0;
}

/* Telling a transparent instance about its parent netdev or cube port
 * (ParentInfo): on attach, on detach, and when the parent's MAC, IPv4
 * addresses, MTU or state change (checked every second while anything is
 * attached: the link monitor does not see addresses). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "core/tables.h"
#include "dataplane/dataplane.h"
#include "attach_int.h"
#include "log.h"

#define PARENT_POLL_MS 1000

/* What was last sent to one instance. */
struct parent_sent {
	struct parent_sent *next;
	const struct broker_instance *inst;
	char netdev[2 * BROKER_NAME_MAX + 2]; /* or "cube:port" */
	char text[512]; /* everything sent, to see a change */
};



/* A cube port ("cube:port"): its state, and what the cube's model holds for
 * the port (leaves mac, ip or ipv4, when the model has them). A port has
 * no ifindex or MTU of its own: while it is peered with a netdev, those of
 * that netdev (where the port's packets leave and come from: the
 * transparent cube's egress reaches it), else 0 (peered with a cube, or not
 * at all: no netdev behind the port). */
static void read_port(struct broker *b, const char *name, struct broker_parent_info *now)
{
	struct broker_instance *inst;
	const struct broker_port *p = broker_peer_port(b, name, &inst);
	const struct lyd_node *c, *l;
	json_t *j = NULL;

	if (!p)
		return;
	now->up = broker_port_up(p);
	if (p->ifindex > 0 && !p->cube_peer && broker_netdev_get(p->peer, &j) == 0) {
		now->ifindex = p->ifindex;
		now->mtu = (unsigned)json_integer_value(json_object_get(j, "mtu"));
		json_decref(j);
	}
	LY_LIST_FOR(inst->config ? lyd_child(inst->config) : NULL, c)
	{
		if (!c->schema || c->schema->nodetype != LYS_LIST || strcmp(c->schema->name, "ports") ||
		    strcmp(lyd_get_value(lyd_child(c)) ?: "", p->name))
			continue;
		LY_LIST_FOR(lyd_child(c), l)
		{
			const char *v = lyd_get_value(l);

			if (!l->schema || !v)
				continue;
			if (strcmp(l->schema->name, "mac") == 0)
				snprintf(now->mac, sizeof(now->mac), "%s", v);
			else if ((strcmp(l->schema->name, "ip") == 0 || strcmp(l->schema->name, "ipv4") == 0) &&
				 now->n < BROKER_PARENT_MAX_ADDRS) {
				snprintf(now->addrs[now->n], sizeof(now->addrs[0]), "%s", v);
				now->addr_p[now->n] = now->addrs[now->n];
				now->n++;
			}
		}
	}
}

static void read_now(struct broker *b, const char *netdev, struct broker_parent_info *now)
{
	struct ifaddrs *ifa = NULL;
	json_t *j = NULL;

	memset(now, 0, sizeof(*now));
	if (strchr(netdev, ':')) {
		read_port(b, netdev, now);
		goto text;
	}
	if (broker_netdev_get(netdev, &j) == 0) {
		now->ifindex = (int)json_integer_value(json_object_get(j, "ifindex"));
		snprintf(now->mac, sizeof(now->mac), "%s", json_string_value(json_object_get(j, "mac")) ?: "");
		now->mtu = (unsigned)json_integer_value(json_object_get(j, "mtu"));
		now->up = strcmp(json_string_value(json_object_get(j, "status")) ?: "", "UP") == 0;
		json_decref(j);
	}
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *a = ifa; a && now->n < BROKER_PARENT_MAX_ADDRS; a = a->ifa_next) {
			char ip[INET_ADDRSTRLEN];
			uint32_t mask;
			unsigned len = 0;

			if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || strcmp(a->ifa_name, netdev) != 0)
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, ip, sizeof(ip));
			mask = a->ifa_netmask ? ntohl(((struct sockaddr_in *)a->ifa_netmask)->sin_addr.s_addr) : 0;
			while (mask & 0x80000000u) {
				len++;
				mask <<= 1;
			}
			snprintf(now->addrs[now->n], sizeof(now->addrs[0]), "%s/%u", ip, len & 63);
			now->addr_p[now->n] = now->addrs[now->n];
			now->n++;
		}
		freeifaddrs(ifa);
	}
text:
	snprintf(now->text, sizeof(now->text), "%s %d %s %u %d", netdev, now->ifindex, now->mac, now->mtu, now->up);
	for (size_t i = 0; i < now->n; i++) {
		size_t l = strlen(now->text);

		snprintf(now->text + l, sizeof(now->text) - l, " %s", now->addrs[i]);
	}
}

static struct parent_sent *find(struct broker *b, const struct broker_instance *inst)
{
	for (struct parent_sent *p = b->topo->parents.sent; p; p = p->next)
		if (p->inst == inst)
			return p;
	return NULL;
}

static void poll_cb(uv_timer_t *t)
{
	struct broker *b = t->data;

	for (struct parent_sent *p = b->topo->parents.sent; p; p = p->next) {
		struct broker_parent_info now;

		read_now(b, p->netdev, &now);
		if (strcmp(now.text, p->text) == 0)
			continue;
		if (b->parent_tell(b, p->inst, p->netdev, &now))
			snprintf(p->text, sizeof(p->text), "%s", now.text);
	}
}

void broker_attach_parent_set(struct broker *b, const struct broker_instance *inst, const char *netdev)
{
	struct parent_poll *pl = &b->topo->parents;
	struct parent_sent *p = find(b, inst), **pp;
	struct broker_parent_info now;

	if (!netdev) {
		if (!p)
			return;
		for (pp = &pl->sent; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		free(p);
		b->parent_tell(b, inst, NULL, NULL);
		return;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->inst = inst;
		p->next = pl->sent;
		pl->sent = p;
	}
	snprintf(p->netdev, sizeof(p->netdev), "%s", netdev);
	read_now(b, netdev, &now);
	/* Not told (the process is not up yet): the next poll tries again. */
	p->text[0] = '\0';
	if (b->parent_tell(b, inst, netdev, &now))
		snprintf(p->text, sizeof(p->text), "%s", now.text);
	if (!pl->started && !b->stopping && uv_timer_init(b->loop, &pl->timer) == 0) {
		pl->timer.data = b;
		uv_timer_start(&pl->timer, poll_cb, PARENT_POLL_MS, PARENT_POLL_MS);
		/* Never keeps the loop alive on its own at shutdown. */
		uv_unref((uv_handle_t *)&pl->timer);
		pl->started = true;
	}
}

void broker_attach_parent_replayed(struct broker *b, const char *service)
{
	for (struct parent_sent *p = b->topo->parents.sent; p; p = p->next) {
		struct broker_parent_info now;

		if (strcmp(p->inst->service, service))
			continue;
		read_now(b, p->netdev, &now);
		p->text[0] = '\0';
		if (b->parent_tell(b, p->inst, p->netdev, &now))
			snprintf(p->text, sizeof(p->text), "%s", now.text);
	}
}

void broker_attach_parent_gone(struct broker *b, const struct broker_instance *inst)
{
	for (struct parent_sent **pp = &b->topo->parents.sent; *pp; pp = &(*pp)->next)
		if ((*pp)->inst == inst) {
			struct parent_sent *p = *pp;

			*pp = p->next;
			free(p);
			return;
		}
}

void broker_topology_stop(struct broker *b)
{
	struct parent_poll *pl = b->topo ? &b->topo->parents : NULL;

	if (!pl)
		return;
	if (pl->started)
		uv_close((uv_handle_t *)&pl->timer, NULL);
	pl->started = false;
	while (pl->sent) {
		struct parent_sent *p = pl->sent;

		pl->sent = p->next;
		free(p);
	}
}

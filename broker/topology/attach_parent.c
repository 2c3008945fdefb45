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

#include "control/control.h"
#include "dataplane/dataplane.h"
#include "topology/topology.h"
#include "log.h"

#define PARENT_POLL_MS 1000
#define PARENT_MAX_ADDRS 8

/* What was last sent to one instance. */
struct parent_sent {
	struct parent_sent *next;
	const struct broker_instance *inst;
	char netdev[2 * BROKER_NAME_MAX + 2]; /* or "cube:port" */
	char text[512]; /* everything sent, to see a change */
};

static struct parent_sent *sent;
static uv_timer_t poll_timer;
static bool poll_started;

/* The netdev's state, as ParentInfo fields; text summarises them. */
struct parent_now {
	int ifindex;
	char mac[32];
	unsigned mtu;
	bool up;
	char addrs[PARENT_MAX_ADDRS][INET_ADDRSTRLEN + 12];
	char *addr_p[PARENT_MAX_ADDRS];
	size_t n;
	char text[512];
};

/* A cube port ("cube:port"): its state, and what the cube's model holds for
 * the port (leaves mac, ip or ipv4, when the model has them). A port has
 * no ifindex or MTU of its own: while it is peered with a netdev, those of
 * that netdev (where the port's packets leave and come from: the
 * transparent cube's egress reaches it), else 0 (peered with a cube, or not
 * at all: no netdev behind the port). */
static void read_port(struct broker *b, const char *name, struct parent_now *now)
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
				 now->n < PARENT_MAX_ADDRS) {
				snprintf(now->addrs[now->n], sizeof(now->addrs[0]), "%s", v);
				now->addr_p[now->n] = now->addrs[now->n];
				now->n++;
			}
		}
	}
}

static void read_now(struct broker *b, const char *netdev, struct parent_now *now)
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
		for (struct ifaddrs *a = ifa; a && now->n < PARENT_MAX_ADDRS; a = a->ifa_next) {
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

static void parent_reply(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	(void)b;
	(void)reply;
	if (err)
		PCN_WARN("BROKER-PARENT-LOST", "could not tell %s about its parent: %s", (const char *)arg,
			 err->message);
	free(arg);
}

/* Returns false when the cube process is not up (told at a later poll). */
static bool send_info(struct broker *b, const struct broker_instance *inst, const char *netdev,
		      const struct parent_now *now)
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

static struct parent_sent *find(const struct broker_instance *inst)
{
	for (struct parent_sent *p = sent; p; p = p->next)
		if (p->inst == inst)
			return p;
	return NULL;
}

static void poll_cb(uv_timer_t *t)
{
	struct broker *b = t->data;

	for (struct parent_sent *p = sent; p; p = p->next) {
		struct parent_now now;

		read_now(b, p->netdev, &now);
		if (strcmp(now.text, p->text) == 0)
			continue;
		if (send_info(b, p->inst, p->netdev, &now))
			snprintf(p->text, sizeof(p->text), "%s", now.text);
	}
}

void broker_attach_parent_set(struct broker *b, const struct broker_instance *inst, const char *netdev)
{
	struct parent_sent *p = find(inst), **pp;
	struct parent_now now;

	if (!netdev) {
		if (!p)
			return;
		for (pp = &sent; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		free(p);
		send_info(b, inst, NULL, NULL);
		return;
	}
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		p->inst = inst;
		p->next = sent;
		sent = p;
	}
	snprintf(p->netdev, sizeof(p->netdev), "%s", netdev);
	read_now(b, netdev, &now);
	/* Not told (the process is not up yet): the next poll tries again. */
	p->text[0] = '\0';
	if (send_info(b, inst, netdev, &now))
		snprintf(p->text, sizeof(p->text), "%s", now.text);
	if (!poll_started && uv_timer_init(b->loop, &poll_timer) == 0) {
		poll_timer.data = b;
		uv_timer_start(&poll_timer, poll_cb, PARENT_POLL_MS, PARENT_POLL_MS);
		/* Never keeps the loop alive on its own at shutdown. */
		uv_unref((uv_handle_t *)&poll_timer);
		poll_started = true;
	}
}

void broker_attach_parent_gone(const struct broker_instance *inst)
{
	for (struct parent_sent **pp = &sent; *pp; pp = &(*pp)->next)
		if ((*pp)->inst == inst) {
			struct parent_sent *p = *pp;

			*pp = p->next;
			free(p);
			return;
		}
}

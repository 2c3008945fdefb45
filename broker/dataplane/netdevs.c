/* Host netdevs as rtnetlink reports them: reading one link or all of them,
 * and their JSON form for GET /netdevs.
 *
 * rtnetlink rather than /sys/class/net: one dump gives name, index, flags,
 * address, MTU and the link kind ("veth") consistently, and the monitor
 * (netmon.c) parses the same messages.
 */
#include "dataplane_int.h"
#include "rtnl.h"

#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Large enough for a dump batch (the kernel fills up to ~32 KiB). */
#define NL_BUF_SIZE (64 * 1024)

static void parse_linkinfo(const struct rtattr *info, struct broker_link *out)
{
	int len = RTA_PAYLOAD(info);

	for (const struct rtattr *a = RTA_DATA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_INFO_KIND)
			snprintf(out->kind, sizeof(out->kind), "%.*s", (int)RTA_PAYLOAD(a), (const char *)RTA_DATA(a));
	}
}

int broker__link_parse(const struct nlmsghdr *nh, struct broker_link *out)
{
	const struct ifinfomsg *ifi;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return -EINVAL;
	ifi = NLMSG_DATA(nh);
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	out->type = ifi->ifi_type;
	len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		const void *data = RTA_DATA(a);
		size_t plen = RTA_PAYLOAD(a);

		switch (a->rta_type) {
		case IFLA_IFNAME:
			snprintf(out->name, sizeof(out->name), "%.*s", (int)plen, (const char *)data);
			break;
		case IFLA_MTU:
			if (plen >= sizeof(uint32_t))
				memcpy(&out->mtu, data, sizeof(uint32_t));
			break;
		case IFLA_ADDRESS:
			if (plen <= sizeof(out->mac)) {
				memcpy(out->mac, data, plen);
				out->mac_len = plen;
			}
			break;
		case IFLA_LINK:
			if (plen >= sizeof(int))
				memcpy(&out->link, data, sizeof(int));
			break;
		case IFLA_LINK_NETNSID:
			out->link_other_ns = true;
			if (plen >= sizeof(int))
				memcpy(&out->link_netnsid, data, sizeof(int));
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(a, out);
			break;
		default:
			break;
		}
	}
	return out->name[0] ? 0 : -EINVAL;
}

/* Sends an RTM_GETLINK and feeds every link in the answer to cb. */
static int nl_getlink(int ifindex, const char *name, bool dump, broker__link_cb cb, void *arg)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct broker_nlreq req;
	char *buf = NULL;
	bool done = false;
	int fd, rc;

	broker_nlreq_init(&req, RTM_GETLINK, dump ? NLM_F_DUMP : 0, &ifi, sizeof(ifi));
	if (name) {
		size_t n = strlen(name) + 1;

		if (n > IF_NAMESIZE)
			return -ENODEV;
		broker_nlreq_attr(&req, IFLA_IFNAME, name, n);
	}

	fd = broker_rtnl_socket();
	if (fd < 0)
		return fd;
	buf = malloc(NL_BUF_SIZE);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = broker_nlreq_send(fd, &req);
	if (rc)
		goto out;
	while (!done) {
		ssize_t n = recv(fd, buf, NL_BUF_SIZE, 0);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		len = (int)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct broker_link l;

			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				/* The kernel answers ENODEV for an unknown name or index. */
				rc = e->error;
				goto out;
			}
			if (nh->nlmsg_type != RTM_NEWLINK || broker__link_parse(nh, &l) < 0)
				continue;
			/* Keep reading to the end of a dump even after cb stops it, so
			 * nothing is left half-read; the socket is closed anyway. */
			if (rc == 0)
				rc = cb(arg, &l);
			if (!dump)
				done = true;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

int broker__link_dump(broker__link_cb cb, void *arg)
{
	return nl_getlink(0, NULL, true, cb, arg);
}

static int copy_link(void *arg, const struct broker_link *l)
{
	*(struct broker_link *)arg = *l;
	return 1;
}

int broker__link_get(int ifindex, const char *name, struct broker_link *out)
{
	int rc;

	if (!name && ifindex <= 0)
		return -ENODEV;
	if (name && !name[0])
		return -ENODEV;
	rc = nl_getlink(name ? 0 : ifindex, name, false, copy_link, out);
	if (rc == 1)
		return 0;
	return rc == 0 || rc == -ENOENT ? -ENODEV : rc;
}

static const char *link_type(const struct broker_link *l)
{
	if (l->kind[0])
		return l->kind;
	switch (l->type) {
	case ARPHRD_LOOPBACK:
		return "loopback";
	case ARPHRD_ETHER:
		return "ether";
	default:
		return "other";
	}
}

static json_t *link_json(const struct broker_link *l)
{
	char mac[3 * sizeof(l->mac)] = "";
	char *p = mac;

	for (unsigned int i = 0; i < l->mac_len; i++)
		p += sprintf(p, "%s%02x", i ? ":" : "", l->mac[i]);
	json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s}", "name", l->name, "ifindex", l->ifindex, "mac", mac,
			      "mtu", (int)l->mtu, "status", broker__link_up(l) ? "UP" : "DOWN", "type", link_type(l));
	json_t *off = broker__offload_json(l->ifindex);

	/* Offloads Cubemesh turned off on this veth's other end (netdev_offload.c). */
	if (o && off)
		json_object_set_new(o, "peer-offload", off);
	else
		json_decref(off);
	/* How Cubemesh's input program is attached here, if it is (netdev.c),
	 * and its other programs (a transparent stack's: netdev_hook.c). */
	off = broker__hookat_json(l->ifindex, broker__hooks_json(l->ifindex));
	if (o && off)
		json_object_set_new(o, "cubemesh-attach", off);
	else
		json_decref(off);
	return o;
}

static int append_link(void *arg, const struct broker_link *l)
{
	json_t *o = link_json(l);

	if (!o || json_array_append_new(arg, o) < 0)
		return -ENOMEM;
	return 0;
}

int broker_netdevs_list(json_t **out)
{
	json_t *arr = json_array();
	int rc;

	if (!arr)
		return -ENOMEM;
	rc = broker__link_dump(append_link, arr);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int broker_netdev_get(const char *name, json_t **out)
{
	struct broker_link l;
	json_t *o;
	int rc;

	rc = broker__link_get(0, name, &l);
	if (rc < 0)
		return rc == -ENODEV ? -ENOENT : rc;
	o = link_json(&l);
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}

int broker_netdev_ifindex(const char *name)
{
	struct broker_link l = { 0 };
	int rc = broker__link_get(0, name, &l);

	return rc < 0 ? rc : l.ifindex;
}

int broker_netdev_is_up(int ifindex)
{
	struct broker_link l;
	int rc = broker__link_get(ifindex, NULL, &l);

	return rc < 0 ? rc : broker__link_up(&l);
}

/* Link changes over rtnetlink and netdev sysctls through /proc/sys, so that
 * the broker runs no `ip` or `sysctl` (rtnl.h). Each request goes on a
 * socket of its own and waits for the kernel's acknowledgement: these are
 * rare (start, stop, --flush), and a private socket has no stale answers to
 * skip. Reading links stays in netdevs.c and netns ids in netdev_offload.c,
 * on the request builder exported here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Appends len bytes (padded) to the message. */
static void *put_raw(struct broker_nlreq *r, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	void *at = r->buf + off;

	if (r->overflow || off + NLMSG_ALIGN(len) > sizeof(r->buf)) {
		r->overflow = true;
		return NULL;
	}
	if (len)
		memcpy(at, data, len);
	r->nh.nlmsg_len = (__u32)(off + NLMSG_ALIGN(len));
	return at;
}

struct rtattr *broker_nlreq_attr(struct broker_nlreq *r, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr *a = (struct rtattr *)(r->buf + off);

	if (r->overflow || off + RTA_SPACE(len) > sizeof(r->buf)) {
		r->overflow = true;
		return NULL;
	}
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = (__u32)(off + RTA_ALIGN(a->rta_len));
	return a;
}

struct rtattr *broker_nlreq_nest(struct broker_nlreq *r, unsigned short type)
{
	return broker_nlreq_attr(r, type, NULL, 0);
}

void broker_nlreq_nest_end(struct broker_nlreq *r, struct rtattr *a)
{
	if (a && !r->overflow)
		a->rta_len = (unsigned short)(r->buf + r->nh.nlmsg_len - (char *)a);
}

void broker_nlreq_init(struct broker_nlreq *r, __u16 type, __u16 flags, const void *fixed, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(0);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	r->nh.nlmsg_seq = 1;
	put_raw(r, fixed, len);
}

int broker_rtnl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? -errno : fd;
}

int broker_nlreq_send(int fd, const struct broker_nlreq *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (r->overflow)
		return -EMSGSIZE;
	if (sendto(fd, r->buf, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* The link changes below each want the kernel's acknowledgement. */
static void req_init(struct broker_nlreq *r, __u16 type, __u16 flags, const struct ifinfomsg *ifi)
{
	broker_nlreq_init(r, type, NLM_F_ACK | flags, ifi, sizeof(*ifi));
}

/* A name the kernel could take: it refuses longer ones too, but a cut name
 * must never reach it (it might name another link). */
static int name_ok(const char *name)
{
	size_t n = name ? strnlen(name, IF_NAMESIZE) : 0;

	return n > 0 && n < IF_NAMESIZE ? 0 : -EINVAL;
}

/* Sends the request and returns the kernel's answer: 0 or -errno. */
static int talk(struct broker_nlreq *r)
{
	union {
		struct nlmsghdr nh;
		char buf[8192];
	} ans;
	int fd, one = 1, rc;

	if (r->overflow)
		return -EMSGSIZE;
	fd = broker_rtnl_socket();
	if (fd < 0)
		return fd;
	/* The error answer need not echo the request back. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	rc = broker_nlreq_send(fd, r);
	if (rc)
		goto out;
	rc = -EPROTO;
	for (;;) {
		ssize_t got = recv(fd, ans.buf, sizeof(ans.buf), 0);
		int len;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		len = (int)got;
		for (struct nlmsghdr *nh = &ans.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type != NLMSG_ERROR || nh->nlmsg_seq != r->nh.nlmsg_seq)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				goto out; /* -EPROTO */
			/* error 0 is the acknowledgement. */
			rc = ((const struct nlmsgerr *)NLMSG_DATA(nh))->error;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int broker_rtnl_veth_add(const char *name, const char *peer)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *pinfo;
	struct broker_nlreq r;

	if (name_ok(name) || name_ok(peer))
		return -EINVAL;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi);
	broker_nlreq_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
	info = broker_nlreq_nest(&r, IFLA_LINKINFO);
	broker_nlreq_attr(&r, IFLA_INFO_KIND, "veth", sizeof("veth"));
	data = broker_nlreq_nest(&r, IFLA_INFO_DATA);
	/* The peer is described like a link of its own: an ifinfomsg, then
	 * its attributes. */
	pinfo = broker_nlreq_nest(&r, VETH_INFO_PEER);
	put_raw(&r, &ifi, sizeof(ifi));
	broker_nlreq_attr(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
	broker_nlreq_nest_end(&r, pinfo);
	broker_nlreq_nest_end(&r, data);
	broker_nlreq_nest_end(&r, info);
	return talk(&r);
}

int broker_rtnl_link_del(const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct broker_nlreq r;

	if (name_ok(name))
		return -EINVAL;
	req_init(&r, RTM_DELLINK, 0, &ifi);
	broker_nlreq_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
	return talk(&r);
}

int broker_rtnl_link_up(const char *name, const char *alias)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	struct broker_nlreq r;

	if (name_ok(name))
		return -EINVAL;
	req_init(&r, RTM_SETLINK, 0, &ifi);
	/* With ifi_index 0 the kernel finds the link by this name. */
	broker_nlreq_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
	/* Without its NUL, as `ip link set alias` sends it: the kernel takes
	 * the attribute's length as the alias's. */
	if (alias)
		broker_nlreq_attr(&r, IFLA_IFALIAS, alias, strlen(alias));
	return talk(&r);
}

int broker_sysctl_netdev(const char *family, const char *ifname, const char *key, const char *value)
{
	char path[128];
	size_t len = strlen(value);
	ssize_t put;
	int fd, rc = 0;

	/* One path component each: a name like ".." or "a/b" would write
	 * another file under /proc/sys. */
	if (name_ok(ifname) || strchr(ifname, '/') || strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0 ||
	    strchr(family, '/') || strchr(key, '/'))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, ifname, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	put = write(fd, value, len);
	if (put < 0)
		rc = -errno;
	else if ((size_t)put != len)
		rc = -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* Link monitor: rtnetlink RTMGRP_LINK notifications on a libuv loop.
 *
 * The kernel sends RTM_NEWLINK for every change of a link (flags, MTU,
 * addresses, statistics...), so the monitor keeps each link's last reported
 * state and name and calls back only when "up and running" changes, the
 * name changes, or the link goes away.
 */
#include "dataplane_int.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define NETMON_BUF_SIZE (64 * 1024)

struct netmon_link {
	int ifindex;
	char name[IF_NAMESIZE];
	bool up;
	bool seen; /* found by the current resync */
};

struct broker_netmon {
	uv_poll_t poll;
	int fd;
	broker_netmon_cb cb;
	void *arg;
	struct netmon_link *links; /* unsorted; a host has few links */
	size_t n_links, cap_links;
	char buf[NETMON_BUF_SIZE];
};

static struct netmon_link *link_find(struct broker_netmon *nm, int ifindex)
{
	for (size_t i = 0; i < nm->n_links; i++)
		if (nm->links[i].ifindex == ifindex)
			return &nm->links[i];
	return NULL;
}

static void link_forget(struct broker_netmon *nm, struct netmon_link *l)
{
	*l = nm->links[--nm->n_links];
}

/* Records the link's state; calls back if it changed (report false: only
 * record, for the initial snapshot). -ENOMEM if it cannot be recorded. */
static int link_update(struct broker_netmon *nm, const struct broker_link *bl, bool report)
{
	struct netmon_link *l = link_find(nm, bl->ifindex);
	bool up = broker__link_up(bl);
	bool changed;

	if (!l) {
		if (nm->n_links == nm->cap_links) {
			size_t cap = nm->cap_links ? 2 * nm->cap_links : 16;
			struct netmon_link *n = realloc(nm->links, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			nm->links = n;
			nm->cap_links = cap;
		}
		l = &nm->links[nm->n_links++];
		/* A new link counts as having been DOWN under its name: it is
		 * reported when it comes up, not merely for existing. */
		l->ifindex = bl->ifindex;
		memcpy(l->name, bl->name, sizeof(l->name));
		l->up = false;
	}
	changed = l->up != up || strcmp(l->name, bl->name) != 0;
	l->up = up;
	l->seen = true;
	memcpy(l->name, bl->name, sizeof(l->name));
	if (changed && report)
		nm->cb(nm->arg, bl->ifindex, bl->name, up ? BROKER_LINK_UP : BROKER_LINK_DOWN);
	return 0;
}

static void link_deleted(struct broker_netmon *nm, int ifindex, const char *name)
{
	struct netmon_link *l = link_find(nm, ifindex);
	char copy[IF_NAMESIZE];

	snprintf(copy, sizeof(copy), "%s", name && name[0] ? name : (l ? l->name : ""));
	if (l)
		link_forget(nm, l);
	nm->cb(nm->arg, ifindex, copy, BROKER_LINK_DELETED);
}

struct resync {
	struct broker_netmon *nm;
	bool report;
};

static int resync_one(void *arg, const struct broker_link *bl)
{
	struct resync *r = arg;

	return link_update(r->nm, bl, r->report);
}

/* Re-reads every link: at start (report false) and after the kernel dropped
 * notifications (report true: the differences are reported, including
 * links that disappeared meanwhile). */
static int resync(struct broker_netmon *nm, bool report)
{
	struct resync r = { .nm = nm, .report = report };
	int rc;

	for (size_t i = 0; i < nm->n_links; i++)
		nm->links[i].seen = false;
	rc = broker__link_dump(resync_one, &r);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nm->n_links;) {
		if (nm->links[i].seen) {
			i++;
			continue;
		}
		/* link_deleted moves the last entry into slot i: do not advance. */
		link_deleted(nm, nm->links[i].ifindex, NULL);
	}
	return 0;
}

static void handle_msg(struct broker_netmon *nm, const struct nlmsghdr *nh)
{
	struct broker_link bl;

	if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK)
		return;
	if (broker__link_parse(nh, &bl) < 0)
		return;
	if (nh->nlmsg_type == RTM_DELLINK) {
		link_deleted(nm, bl.ifindex, bl.name);
		return;
	}
	if (link_update(nm, &bl, true) < 0)
		PCN_WARN("BROKER-NETMON", "out of memory tracking %s", bl.name);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct broker_netmon *nm = h->data;

	if (status < 0) {
		PCN_WARN("BROKER-NETMON", "poll error: %s", uv_strerror(status));
		return;
	}
	for (;;) {
		ssize_t n = recv(nm->fd, nm->buf, sizeof(nm->buf), MSG_DONTWAIT);
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The socket overran: notifications are lost, so the
				 * only truth left is a fresh dump. */
				PCN_WARN("BROKER-NETMON", "link notifications lost; re-reading all links");
				if (resync(nm, true) < 0)
					PCN_ERR("BROKER-NETMON", "cannot re-read links");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				PCN_WARN("BROKER-NETMON", "recv: %s", strerror(errno));
			return;
		}
		len = (int)n;
		for (const struct nlmsghdr *nh = (const struct nlmsghdr *)nm->buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len))
			handle_msg(nm, nh);
	}
}

int broker_netmon_start(struct broker_netmon **out, uv_loop_t *loop, broker_netmon_cb cb, void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct broker_netmon *nm;
	int rc;

	if (!loop || !cb)
		return -EINVAL;
	nm = calloc(1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	nm->cb = cb;
	nm->arg = arg;
	nm->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nm->fd < 0) {
		rc = -errno;
		goto out;
	}
	if (bind(nm->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	/* Subscribe first, snapshot second: a change between the two is then
	 * reported (perhaps twice, which link_update folds), never missed. */
	rc = resync(nm, false);
	if (rc < 0)
		goto out;
	rc = uv_poll_init(loop, &nm->poll, nm->fd);
	if (rc < 0)
		goto out;
	nm->poll.data = nm;
	rc = uv_poll_start(&nm->poll, UV_READABLE, on_readable);
	if (rc < 0) {
		/* The handle is initialised: it must be closed, and nm freed in
		 * the close callback; the caller sees the error now. */
		broker_netmon_stop(nm);
		return rc;
	}
	*out = nm;
	return 0;
out:
	if (nm->fd >= 0)
		close(nm->fd);
	free(nm->links);
	free(nm);
	return rc;
}

static void on_closed(uv_handle_t *h)
{
	struct broker_netmon *nm = h->data;

	close(nm->fd);
	free(nm->links);
	free(nm);
}

void broker_netmon_stop(struct broker_netmon *nm)
{
	if (!nm)
		return;
	uv_poll_stop(&nm->poll);
	uv_close((uv_handle_t *)&nm->poll, on_closed);
}

/* The few link changes the broker makes itself (rtnl.c): a veth pair, a
 * link up with an alias, a link deleted, and a sysctl of a netdev. They are
 * rtnetlink requests and /proc/sys writes, not `ip` or `sysctl` in a shell:
 * no PATH, no quoting of names, and the kernel's errno on failure.
 * Also the request builder they use, for the data plane's other rtnetlink
 * requests (reading links, netns ids): each reads its own answers. */
#ifndef BROKER_RTNL_H
#define BROKER_RTNL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>

/* One request: the netlink header, the family's fixed header (an
 * ifinfomsg, an rtgenmsg), then attributes, in one buffer. What does not
 * fit marks it overflow, and broker_nlreq_send refuses it (-EMSGSIZE). */
struct broker_nlreq {
	union {
		struct nlmsghdr nh;
		char buf[1024];
	};
	bool overflow;
};

/* Starts request type with NLM_F_REQUEST | flags, sequence number 1, and
 * the fixed header (len bytes, padded). */
void broker_nlreq_init(struct broker_nlreq *r, __u16 type, __u16 flags, const void *fixed, size_t len);
/* Appends attribute type with len bytes of data (padded); NULL on overflow. */
struct rtattr *broker_nlreq_attr(struct broker_nlreq *r, unsigned short type, const void *data, size_t len);
/* A nested attribute: open it, append its members, close it. */
struct rtattr *broker_nlreq_nest(struct broker_nlreq *r, unsigned short type);
void broker_nlreq_nest_end(struct broker_nlreq *r, struct rtattr *a);
/* An rtnetlink socket (close-on-exec), or -errno. */
int broker_rtnl_socket(void);
/* Sends r to the kernel on fd: 0 or -errno. The answers are the caller's. */
int broker_nlreq_send(int fd, const struct broker_nlreq *r);

/* Creates the veth pair name <-> peer in the broker's namespace, down.
 * -EEXIST when either name is taken (nothing is replaced), else -errno. */
int broker_rtnl_veth_add(const char *name, const char *peer);
/* Deletes link name (a veth takes its peer with it). -ENODEV if none. */
int broker_rtnl_link_del(const char *name);
/* Sets link name up and, when alias is not NULL, its alias (ifalias). */
int broker_rtnl_link_up(const char *name, const char *alias);
/* Writes value to /proc/sys/net/<family>/conf/<ifname>/<key>, as
 * `sysctl -w net.<family>.conf.<ifname>.<key>=value` would. */
int broker_sysctl_netdev(const char *family, const char *ifname, const char *key, const char *value);

#endif /* BROKER_RTNL_H */

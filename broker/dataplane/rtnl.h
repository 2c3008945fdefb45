/* The few link changes the broker makes itself (rtnl.c): a veth pair, a
 * link up with an alias, a link deleted, and a sysctl of a netdev. They are
 * rtnetlink requests and /proc/sys writes, not `ip` or `sysctl` in a shell:
 * no PATH, no quoting of names, and the kernel's errno on failure. */
#ifndef BROKER_RTNL_H
#define BROKER_RTNL_H

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

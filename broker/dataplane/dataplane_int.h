/* Internals shared by the data-plane files (dataplane.c, netdev.c,
 * netdev_spec.c, netdev_offload.c, netdevs.c, netmon.c). Not for the rest
 * of the broker: use dataplane.h. */
#ifndef BROKER_DATAPLANE_INT_H
#define BROKER_DATAPLANE_INT_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"

struct bpf_object;

struct broker_dp {
	char root[PATH_MAX];
	struct bpf_object *obj_xdp; /* netdev input program, XDP build */
	struct bpf_object *obj_tc;  /* netdev input program, TC build */
	int prog_xdp;               /* fds owned by the objects above */
	int prog_tc;
	int pp_xdp;
	int pp_tc;
	int fwd;
	int baked_gen; /* pcn_baked_gen: bumped with each change of an instance's pcn_fwd entries */
	int netdev_in;
	int stats;
	/* How netdev input programs are attached (netdev_tcx.c,
	 * netdev_xdpd.c), resolved at create from broker_dp_policy(). */
	bool tcx;         /* TC: tcx links; false: clsact filters */
	bool tc_first;    /* tcx: before the other owners' programs */
	bool xdpd;        /* XDP: one program of libxdp's dispatcher */
	unsigned xdp_prio; /* its run priority there (lower runs first) */
	char why[320];    /* why the last attach was refused (-EBUSY) */
	uint32_t blocker; /* the id of the XDP program that holds the hook then */
};

/* The name the netdev input programs carry in the kernel (bpf object names
 * are cut to 15 characters): how the broker recognises an XDP program as
 * its own, even one a previous broker run loaded. */
#define BROKER_NETDEV_PROG_NAME "pcn_netdev_entry"
/* The XDP entry of a transparent stack on a netdev (bpf/pcn_tnetdev.bpf.c),
 * which the broker attaches there while no port is peered with it: also
 * Cubemesh's, replaced by the input program when a port peers. */
#define BROKER_TSTACK_XDP_PROG_NAME "pcn_tin"

/* Applies broker_dp_policy to dp: probes tcx, checks libxdp and that the
 * kernel runs its dispatcher (netdev.c). After the netdev programs load. */
int broker__policy_resolve(struct broker_dp *dp);

/* Pins fd at path, replacing an older pin atomically (dataplane.c). */
int broker__pin_replace(int fd, const char *path);

/* The netdev input program specialized for one peered netdev
 * (netdev_spec.c): loaded with its (instance, port) and whether the netdev
 * has an ingress stack as load-time constants, pinned at
 * <root>/shared/netdev_{xdp,tc}_<ifindex>. Returns the program's fd (the
 * caller closes it) or -errno. */
int broker__nd_spec_load(struct broker_dp *dp, int ifindex, enum pcn_hook hook, uint32_t cube_index,
			 uint32_t port);
/* Removes the pins of netdev ifindex's specialized programs, if any. */
void broker__nd_spec_unpin(struct broker_dp *dp, int ifindex);

/* TC through a tcx link pinned at <root>/shared/tcx_<ifindex>
 * (netdev_tcx.c). attach: a pinned link still alive gets prog atomically
 * (a restart adopts it: same link, no gap), else a new link is made
 * before (tc_first) or after the other owners' programs and pinned.
 * detach: detaches and unpins; no pin is not an error. has: 1 when a
 * pinned link exists for ifindex. probe: 1 when the kernel has tcx. */
int broker__tcx_attach(struct broker_dp *dp, int ifindex, int prog);
int broker__tcx_detach(struct broker_dp *dp, int ifindex);
int broker__tcx_has(const struct broker_dp *dp, int ifindex);
int broker__tcx_probe(void);
/* The same for any link of ours, pinned at <root>/shared/<pin>, at TC
 * ingress or egress (the three above are these with pin tcx_<ifindex>). */
int broker__tcx_link_attach(struct broker_dp *dp, int ifindex, bool egress, int prog, const char *pin);
int broker__tcx_link_detach(struct broker_dp *dp, const char *pin);
int broker__tcx_link_has(const struct broker_dp *dp, const char *pin);

/* One program of ours at a netdev hook (netdev_hook.c), what
 * broker_dp_hook_attach and the netdev input program share. TC: tcx link
 * or clsact filter by the policy (the other one's leftover at that place
 * goes once the new one is in); detach takes both, and a clsact qdisc we
 * made once no filter of ours is left on it. */
int broker__tc_attach(struct broker_dp *dp, const struct broker_hookat *at, int prog);
int broker__tc_detach(struct broker_dp *dp, const struct broker_hookat *at);
/* A gone netdev: drops user's mark on its clsact qdisc, and the mark. */
void broker__clsact_forget(struct broker_dp *dp, int ifindex, const char *user);
/* XDP as the netdev's only program: a program of Cubemesh's there (by
 * name: the input program or a stack's entry) is replaced atomically, an
 * empty hook is taken only if still empty (XDP_FLAGS_UPDATE_IF_NOEXIST),
 * anything else is -EBUSY with dp->why and dp->blocker set. detach removes
 * the program only if its name is name, and only that very one. */
int broker__xdp_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook, int prog);
int broker__xdp_detach(int ifindex, enum pcn_hook hook, const char *name);
/* The id of the program at this mode's hook (0: none), and whether the
 * other mode is in use (the kernel allows one mode per netdev). */
int broker__xdp_current(int ifindex, enum pcn_hook hook, __u32 *id, bool *other_mode);
/* 1 if program id is Cubemesh's (by its name, above), 0 if not, -errno. */
int broker__prog_is_ours(__u32 id);
/* The kernel's name of program id, "?" when unknown. */
void broker__prog_name(__u32 id, char *buf, size_t len);
/* o (created when NULL and there is something to show) with one member
 * per label attached to ifindex through broker_dp_hook_attach:
 * {"ingress"?: {"hook", "attach"}, "egress"?: {...}}. */
json_t *broker__hookat_json(int ifindex, json_t *o);

/* XDP through libxdp's multi-program dispatcher (netdev_xdpd.c). attach:
 * 0 when the netdev's dispatcher runs our program (already there: adopted
 * untouched; else the generic input program is added at dp->xdp_prio), 1
 * when our own program is attached directly (the caller replaces it so),
 * -EBUSY with dp->why set when a program that is not a dispatcher, or a
 * dispatcher in the other mode, holds the hook. detach: removes ours from
 * the dispatcher (1: not there). available: libxdp was linked. */
int broker__xdpd_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook);
int broker__xdpd_detach(struct broker_dp *dp, int ifindex, enum pcn_hook hook);
bool broker__xdpd_available(void);
/* 1 when the kernel loads freplace programs (the dispatcher's parts), 0 if
 * not (logged), -errno; once per process. Needs dp->prog_xdp. */
int broker__xdpd_probe(struct broker_dp *dp);

/* What GET /netdevs shows of how Cubemesh's input program is attached to
 * ifindex ({"tc":"tcx"|"clsact"} or {"xdp":"dispatcher"|"direct", ...}),
 * or NULL when not attached. Set by attach, dropped by detach (netdev.c). */
json_t *broker__hooks_json(int ifindex);

/* One link as rtnetlink describes it. */
struct broker_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int flags;     /* IFF_* */
	unsigned int mtu;
	unsigned char mac[32];
	unsigned int mac_len;
	char kind[32];          /* IFLA_INFO_KIND, "" when none */
	unsigned short type;    /* ARPHRD_* */
	int link;               /* IFLA_LINK: a veth's peer; 0 if none */
	bool link_other_ns;     /* the IFLA_LINK ifindex is in another netns */
	int link_netnsid;       /* IFLA_LINK_NETNSID: that netns's id, when link_other_ns */
};

/* Up and running, as the API's "status" means it. */
static inline bool broker__link_up(const struct broker_link *l)
{
	return (l->flags & IFF_UP) && (l->flags & IFF_RUNNING);
}

/* Parses one RTM_NEWLINK/RTM_DELLINK message. -EINVAL if malformed. */
struct nlmsghdr;
int broker__link_parse(const struct nlmsghdr *nh, struct broker_link *out);

/* Calls cb for each link in the namespace (RTM_GETLINK dump); stops early
 * and returns cb's value if it is not 0. */
typedef int (*broker__link_cb)(void *arg, const struct broker_link *l);
int broker__link_dump(broker__link_cb cb, void *arg);
/* One link by ifindex (name NULL) or by name. -ENODEV if none. */
int broker__link_get(int ifindex, const char *name, struct broker_link *out);

/* Offloads an XDP port breaks on the veth it is peered with
 * (netdev_offload.c): off turns off, on the veth's other end (in whatever
 * namespace), tx checksum offload for XDP_DRV or segmentation offload for
 * XDP_SKB, remembers in bpffs what was on, and logs BROKER-XDP-VETH-CSUM /
 * -TSO (a WARN with the command to run when it cannot); at TC it restores.
 * restore turns back on what off turned off. Not a veth: nothing, 0.
 * offload_json: what GET /netdevs shows for ifindex, or NULL. */
int broker__offload_off(struct broker_dp *dp, int ifindex, enum pcn_hook hook);
int broker__offload_restore(struct broker_dp *dp, int ifindex);
json_t *broker__offload_json(int ifindex);
/* GRO on the other end of veth ifindex, in whatever namespace: 1 on, 0 off,
 * -errno (not reachable); name gets that end's name when it is reached. */
int broker__peer_gro(int ifindex, char *name, size_t len);

#endif /* BROKER_DATAPLANE_INT_H */

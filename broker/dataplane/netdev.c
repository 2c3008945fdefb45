/* Attaching the netdev input program to host netdevs peered with a cube
 * port, and detaching it.
 *
 * Attachments must survive the broker, which may restart while packets
 * flow, and share the netdev with other owners' programs:
 *  - TC: a tcx link pinned in bpffs (netdev_tcx.c), or on kernels without
 *    tcx (or with --tc-attach clsact) a clsact filter at a fixed place;
 *  - XDP: one program of libxdp's dispatcher (netdev_xdpd.c), or the
 *    netdev's only XDP program (--xdp-attach direct, or no libxdp).
 * Because of that the broker cannot keep "what did I attach" in memory
 * alone. An XDP program is recognised as ours by its name, which any broker
 * run gives it; a tcx link by its pin; a clsact qdisc the broker created is
 * remembered by a directory <root>/shared/clsact/<ifindex> in bpffs, which
 * outlives the broker exactly as the pins do (netdev_hook.c, which the
 * entries of transparent stacks share).
 */
#include "dataplane_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"

/* Our ingress filter's place in the clsact qdisc (handle and priority). */
#define BROKER_TC_PRIO 0xcbe

/* ---- policy (broker_dp_policy) ------------------------------------------ */

static struct {
	int tc;   /* 0 auto, 1 tcx, 2 clsact */
	bool tc_last;
	int xdp;  /* 0 auto, 1 dispatcher, 2 direct */
	unsigned xdp_prio;
} policy = { .xdp_prio = 20 };

int broker_dp_policy(const char *key, const char *value)
{
	static const char *const tc[] = { "auto", "tcx", "clsact" };
	static const char *const xdp[] = { "auto", "dispatcher", "direct" };
	char *end;

	if (!key || !value)
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		if (strcmp(key, "tc-attach") == 0 && strcmp(value, tc[i]) == 0)
			return policy.tc = i, 0;
		if (strcmp(key, "xdp-attach") == 0 && strcmp(value, xdp[i]) == 0)
			return policy.xdp = i, 0;
	}
	if (strcmp(key, "tc-order") == 0 && (strcmp(value, "first") == 0 || strcmp(value, "last") == 0))
		return policy.tc_last = value[0] == 'l', 0;
	if (strcmp(key, "xdp-priority") == 0) {
		unsigned long v = strtoul(value, &end, 10);

		if (value[0] && !*end && v <= 1000)
			return policy.xdp_prio = (unsigned)v, 0;
	}
	return -EINVAL;
}

/* Called by broker_dp_create. */
int broker__policy_resolve(struct broker_dp *dp)
{
	bool tcx = broker__tcx_probe() == 1;

	if (policy.tc == 1 && !tcx) {
		PCN_ERR("BROKER-TCX", "--tc-attach tcx: this kernel has no tcx (6.6+)");
		return -EOPNOTSUPP;
	}
	if (policy.xdp != 2 && broker__xdpd_available())
		broker__xdpd_probe(dp);
	if (policy.xdp == 1 && !broker__xdpd_available()) {
		PCN_ERR("BROKER-XDP-DISPATCHER", "--xdp-attach dispatcher: libxdp's dispatcher cannot run here "
			"(built without libxdp, or the kernel refuses freplace programs)");
		return -EOPNOTSUPP;
	}
	dp->tcx = policy.tc == 1 || (policy.tc == 0 && tcx);
	dp->tc_first = !policy.tc_last;
	dp->xdpd = policy.xdp == 1 || (policy.xdp == 0 && broker__xdpd_available());
	dp->xdp_prio = policy.xdp_prio;
	PCN_INFO("BROKER-HOOKS", "TC through %s%s; XDP %s", dp->tcx ? "tcx links" : "clsact filters",
		 dp->tcx ? (dp->tc_first ? " (first)" : " (last)") : "",
		 dp->xdpd ? "through libxdp's dispatcher" : "attached directly");
	return 0;
}

const char *broker_netdev_why(const struct broker_dp *dp)
{
	return dp ? dp->why : "";
}

/* ---- what GET /netdevs shows ---------------------------------------------- */

struct hookrec {
	struct hookrec *next;
	int ifindex;
	enum pcn_hook hook;
	const char *how; /* "tcx", "clsact", "dispatcher", "direct", "refused" */
	unsigned prio;
	uint32_t blocker; /* refused: the program that held the hook */
	char why[320];    /* refused: why */
};

static struct hookrec *hookrecs;

static struct hookrec *hookrec_set(int ifindex, enum pcn_hook hook, const char *how, unsigned prio)
{
	struct hookrec *r;

	for (r = hookrecs; r && r->ifindex != ifindex; r = r->next)
		;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return NULL;
		r->ifindex = ifindex;
		r->next = hookrecs;
		hookrecs = r;
	}
	r->hook = hook;
	r->how = how;
	r->prio = prio;
	r->blocker = 0;
	r->why[0] = '\0';
	return r;
}

/* An XDP attach refused: shown until the program that held the hook is
 * gone from it (or the netdev is attached or detached). A refusal of a
 * netdev that Cubemesh already uses is in the log only. */
static void hookrec_refused(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	struct hookrec *r;

	for (r = hookrecs; r && r->ifindex != ifindex; r = r->next)
		;
	if (r && strcmp(r->how, "refused") != 0)
		return;
	r = hookrec_set(ifindex, hook, "refused", 0);
	if (r) {
		r->blocker = dp->blocker;
		snprintf(r->why, sizeof(r->why), "%s", dp->why);
	}
}

static void hookrec_drop(int ifindex)
{
	for (struct hookrec **pp = &hookrecs; *pp; pp = &(*pp)->next)
		if ((*pp)->ifindex == ifindex) {
			struct hookrec *r = *pp;

			*pp = r->next;
			free(r);
			return;
		}
}

json_t *broker__hooks_json(int ifindex)
{
	struct hookrec *r;
	json_t *o;

	for (r = hookrecs; r && r->ifindex != ifindex; r = r->next)
		;
	if (!r)
		return NULL;
	if (strcmp(r->how, "refused") == 0) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);

		if (bpf_xdp_query(ifindex, 0, &q) < 0 ||
		    (r->blocker && q.skb_prog_id != r->blocker && q.drv_prog_id != r->blocker)) {
			hookrec_drop(ifindex);
			return NULL;
		}
		return json_pack("{s:s, s:s, s:s}", "hook", pcn_hook_name(r->hook), "attach", r->how, "why",
				 r->why);
	}
	o = json_pack("{s:s, s:s}", "hook", pcn_hook_name(r->hook), "attach", r->how);
	if (o && strcmp(r->how, "dispatcher") == 0)
		json_object_set_new(o, "run-priority", json_integer(r->prio));
	return o;
}

static bool netdev_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifindex, name) != NULL;
}

/* Where the input program sits at TC (netdev_hook.c): its tcx link pinned
 * as tcx_<ifindex>, or its ingress filter at a fixed place, so that a
 * second attach (another broker run) replaces the first. */
static struct broker_hookat tc_at(int ifindex, char *pin, size_t len)
{
	snprintf(pin, len, "tcx_%d", ifindex);
	return (struct broker_hookat){ .ifindex = ifindex, .hook = PCN_HOOK_TC, .pin = pin,
				       .tc_prio = BROKER_TC_PRIO, .name = BROKER_NETDEV_PROG_NAME };
}

int broker_netdev_check(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;
	bool other;

	if (!dp || hook == PCN_HOOK_TC)
		return 0;
	dp->why[0] = '\0';
	if (broker__xdp_current(ifindex, hook, &id, &other) < 0)
		return 0; /* the attach will say */
	if (other) {
		dp->blocker = 0;
		snprintf(dp->why, sizeof(dp->why), "ifindex %d has XDP attached in the other mode (a netdev has one)",
			 ifindex);
		return -EBUSY;
	}
	if (!id || broker__prog_is_ours(id) != 0)
		return 0;
	broker__prog_name(id, name, sizeof(name));
	/* libxdp's dispatcher: the attach joins it (or says why not). */
	if (dp->xdpd && strcmp(name, "xdp_dispatcher") == 0)
		return 0;
	dp->blocker = id;
	snprintf(dp->why, sizeof(dp->why), "ifindex %d holds XDP program id %u (%s), which is not Cubemesh's%s: "
		 "Cubemesh does not replace it", ifindex, id, name,
		 dp->xdpd ? " and not in libxdp's dispatcher" : "");
	return -EBUSY;
}

/* GRO state of a netdev, through the legacy ethtool ioctl: 1, 0, -errno. */
static int gro_enabled(const char *name)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
	struct ifreq ifr;
	int fd, rc;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	rc = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : (int)ev.data;
	close(fd);
	return rc;
}

/* Native XDP redirect into a veth delivers only when the veth's other end
 * runs NAPI: it has a native XDP program or GRO on (docs/KERNEL.md). Otherwise
 * frames a cube redirects into this netdev vanish without a counter, so
 * say so once, when the user wires it up. The peer is the user's; we do not
 * change it. */
static void warn_veth_gro(int ifindex)
{
	struct broker_link self, peer;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (broker__link_get(ifindex, NULL, &self) < 0 || strcmp(self.kind, "veth") != 0)
		return;
	if (self.link_other_ns || self.link <= 0) {
		char name[IF_NAMESIZE] = "<peer>";

		/* Its GRO can be read there (netdev_offload.c); its XDP programs
		 * are another namespace's: a peer with GRO off is warned about. */
		if (broker__peer_gro(ifindex, name, sizeof(name)) == 1)
			return;
		PCN_WARN("BROKER-XDP-VETH-GRO",
			 "%s is a veth in XDP_DRV mode whose peer %s is in another namespace: unless that peer has an "
			 "XDP program or GRO on (ethtool -K %s gro on, there), packets redirected into %s are dropped "
			 "silently", self.name, name, name, self.name);
		return;
	}
	if (broker__link_get(self.link, NULL, &peer) < 0)
		return;
	if (bpf_xdp_query(peer.ifindex, 0, &q) == 0 && q.drv_prog_id)
		return;
	if (gro_enabled(peer.name) != 0)
		return;
	PCN_WARN("BROKER-XDP-VETH-GRO",
		 "%s is a veth in XDP_DRV mode and its peer %s has neither an XDP program nor GRO on: packets "
		 "redirected into %s are dropped silently (fix: ethtool -K %s gro on)",
		 self.name, peer.name, self.name, peer.name);
}

/* ---- public ------------------------------------------------------------- */

int broker_netdev_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook, uint32_t cube_index, uint32_t port)
{
	struct pcn_netdev_val val = { .cube_index = cube_index, .port = port }, old;
	__u32 key = ifindex;
	char pin[32];
	const struct broker_hookat at = tc_at(ifindex, pin, sizeof(pin));
	const char *how;
	bool had_old;
	int rc, prog = -1;

	if (ifindex <= 0 || cube_index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS)
		return -EINVAL;
	if (hook != PCN_HOOK_TC && hook != PCN_HOOK_XDP_SKB && hook != PCN_HOOK_XDP_DRV)
		return -EINVAL;
	if (!netdev_exists(ifindex))
		return -ENODEV;
	dp->why[0] = '\0';

	/* The entry first: the program must find it from its first packet. */
	had_old = bpf_map_lookup_elem(dp->netdev_in, &key, &old) == 0;
	if (bpf_map_update_elem(dp->netdev_in, &key, &val, BPF_ANY) < 0) {
		rc = -errno;
		goto out;
	}
	/* XDP beside other programs: the dispatcher runs the generic input
	 * program, which needs no copy per netdev (netdev_xdpd.c). 1: ours is
	 * attached directly there (an older broker): replaced below, so. */
	rc = hook != PCN_HOOK_TC && dp->xdpd ? broker__xdpd_attach(dp, ifindex, hook) : 1;
	how = "dispatcher";
	if (rc == 0)
		broker__nd_spec_unpin(dp, ifindex); /* a copy a direct attach left */
	if (rc == 1) {
		/* A copy of the input program made for this netdev (netdev_spec.c). */
		how = hook != PCN_HOOK_TC ? "direct" : dp->tcx ? "tcx" : "clsact";
		rc = prog = broker__nd_spec_load(dp, ifindex, hook, cube_index, port);
		if (rc >= 0)
			rc = hook == PCN_HOOK_TC ? broker__tc_attach(dp, &at, prog)
						 : broker__xdp_attach(dp, ifindex, hook, prog);
	}
	if (rc < 0) {
		/* A copy that replaced the pin of one still attached (a second
		 * attach) is harmless: the next attach or detach replaces it. */
		if (!had_old)
			broker__nd_spec_unpin(dp, ifindex);
		if (had_old)
			bpf_map_update_elem(dp->netdev_in, &key, &old, BPF_ANY);
		else
			bpf_map_delete_elem(dp->netdev_in, &key);
		goto out;
	}
	if (hook == PCN_HOOK_XDP_DRV)
		warn_veth_gro(ifindex);
	/* XDP on a veth breaks offloads its other end relies on: turn them off
	 * there (TC: give back any a former XDP attach turned off). Failing
	 * that, the port stays wired (pings pass) and the log says what to run. */
	broker__offload_off(dp, ifindex, hook);
	hookrec_set(ifindex, hook, how, dp->xdp_prio);
	PCN_INFO("BROKER-NETDEV-ATTACH", "ifindex %d (%s, %s) -> cube %u port %u", ifindex, pcn_hook_name(hook), how,
		 cube_index, port);
out:
	if (prog >= 0)
		close(prog);
	if (rc < 0 && rc != -EBUSY)
		PCN_ERR("BROKER-NETDEV-ATTACH", "cannot attach to ifindex %d (%s): %s", ifindex, pcn_hook_name(hook),
			strerror(-rc));
	if (rc == -EBUSY) {
		hookrec_refused(dp, ifindex, hook);
		PCN_WARN("BROKER-NETDEV-BUSY", "not attaching to ifindex %d (%s): %s", ifindex, pcn_hook_name(hook),
			 dp->why);
	}
	return rc;
}

int broker_netdev_detach(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	__u32 key = ifindex;
	char pin[32];
	const struct broker_hookat at = tc_at(ifindex, pin, sizeof(pin));
	int rc = 0;

	if (ifindex <= 0)
		return -EINVAL;
	if (hook != PCN_HOOK_TC && hook != PCN_HOOK_XDP_SKB && hook != PCN_HOOK_XDP_DRV)
		return -EINVAL;
	if (netdev_exists(ifindex)) {
		if (hook == PCN_HOOK_TC) {
			rc = broker__tc_detach(dp, &at);
		} else {
			/* Whatever the policy: a former broker may have used the other way. */
			rc = broker__xdpd_detach(dp, ifindex, hook);
			if (rc == 1)
				rc = broker__xdp_detach(ifindex, hook, BROKER_NETDEV_PROG_NAME);
		}
		/* Vanished between the check and the detach: same as gone. */
		if (rc == -ENODEV || !netdev_exists(ifindex))
			rc = 0;
	}
	if (hook == PCN_HOOK_TC) {
		broker__clsact_forget(dp, ifindex, pin); /* gone netdev: its qdisc went with it */
		broker__tcx_detach(dp, ifindex); /* and its link: unpin it */
	}
	hookrec_drop(ifindex);
	if (bpf_map_delete_elem(dp->netdev_in, &key) < 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	broker__nd_spec_unpin(dp, ifindex);
	/* After the program is off: no frame meets XDP with offloads back on. */
	broker__offload_restore(dp, ifindex);
	if (rc < 0)
		PCN_ERR("BROKER-NETDEV-DETACH", "cannot detach from ifindex %d (%s): %s", ifindex, pcn_hook_name(hook),
			strerror(-rc));
	else
		PCN_INFO("BROKER-NETDEV-DETACH", "ifindex %d (%s) detached", ifindex, pcn_hook_name(hook));
	return rc;
}

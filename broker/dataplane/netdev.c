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
 * remembered by an empty directory <root>/shared/clsact/<ifindex> in bpffs,
 * which outlives the broker exactly as the pins do.
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

/* Our ingress filter's place in the clsact qdisc. Fixed, so a second
 * attach (another broker run) replaces the first instead of stacking. */
#define BROKER_TC_HANDLE 0xcbe
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

/* ---- clsact ownership marker ------------------------------------------ */

static int marker_path(const struct broker_dp *dp, int ifindex, char *buf, size_t len)
{
	char idx[16];

	snprintf(idx, sizeof(idx), "%d", ifindex);
	return pcn_path(buf, len, dp->root, PCN_LAYOUT_SHARED, PCN_LAYOUT_CLSACT, idx, (const char *)NULL);
}

static int marker_set(const struct broker_dp *dp, int ifindex)
{
	char path[PATH_MAX];
	int rc = marker_path(dp, ifindex, path, sizeof(path));

	if (rc < 0)
		return rc;
	/* The parent may not exist yet: make it, ignore EEXIST on both. */
	*strrchr(path, '/') = '\0';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	path[strlen(path)] = '/';
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static bool marker_take(const struct broker_dp *dp, int ifindex)
{
	char path[PATH_MAX];

	return marker_path(dp, ifindex, path, sizeof(path)) == 0 && rmdir(path) == 0;
}

/* ---- TC ------------------------------------------------------------------ */

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* libbpf prints the kernel's extack text for every failed tc call, also
 * for the failures we expect and handle (clsact already there, nothing to
 * detach); keep those out of the log. Only the loop thread calls libbpf. */
static libbpf_print_fn_t quiet_begin(void)
{
	return libbpf_set_print(quiet_print);
}

static void quiet_end(libbpf_print_fn_t saved)
{
	libbpf_set_print(saved);
}

static int clsact_attach(struct broker_dp *dp, int ifindex, int prog)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BROKER_TC_HANDLE, .priority = BROKER_TC_PRIO, .prog_fd = prog,
		    .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t saved;
	bool created = false;
	int rc;

	saved = quiet_begin();
	rc = bpf_tc_hook_create(&hook);
	quiet_end(saved);
	if (rc == 0) {
		created = true;
		rc = marker_set(dp, ifindex);
		if (rc < 0)
			goto out;
	} else if (rc != -EEXIST) {
		goto out;
	}
	rc = bpf_tc_attach(&hook, &opts);
out:
	if (rc < 0 && created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		marker_take(dp, ifindex);
	}
	return rc;
}

static int clsact_detach(struct broker_dp *dp, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BROKER_TC_HANDLE, .priority = BROKER_TC_PRIO);
	libbpf_print_fn_t saved = quiet_begin();
	int rc;

	rc = bpf_tc_detach(&hook, &opts);
	quiet_end(saved);
	if (rc == -ENOENT || rc == -EINVAL)
		rc = 0; /* no filter (EINVAL: no clsact qdisc at all) */
	if (marker_take(dp, ifindex)) {
		/* Destroying clsact also drops any egress filters on it; we made it,
		 * so only Cubemesh's own filters can be there. */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		int drc = bpf_tc_hook_destroy(&hook);

		if (drc < 0 && drc != -ENOENT && drc != -EINVAL && rc == 0)
			rc = drc;
	}
	return rc;
}

/* The mechanism in use is the policy's; the other one's leftovers (a broker
 * of another policy or version attached there) go after the new one is
 * in: packets meet one or the other, never none. */
static int tc_attach(struct broker_dp *dp, int ifindex, int prog)
{
	int rc;

	if (!dp->tcx) {
		rc = clsact_attach(dp, ifindex, prog);
		if (rc == 0 && broker__tcx_has(dp, ifindex))
			broker__tcx_detach(dp, ifindex);
		return rc;
	}
	rc = broker__tcx_attach(dp, ifindex, prog);
	if (rc == 0) {
		/* Only our filter: a clsact qdisc we made stays (with its marker)
		 * until detach, as transparent cubes may have filters on it. */
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BROKER_TC_HANDLE, .priority = BROKER_TC_PRIO);
		libbpf_print_fn_t saved = quiet_begin();

		bpf_tc_detach(&hook, &opts);
		quiet_end(saved);
	}
	return rc;
}

static int tc_detach(struct broker_dp *dp, int ifindex)
{
	int rc = broker__tcx_detach(dp, ifindex), rc2 = clsact_detach(dp, ifindex);

	return rc ? rc : rc2;
}

/* ---- XDP ----------------------------------------------------------------- */

static __u32 xdp_mode(enum pcn_hook hook)
{
	return hook == PCN_HOOK_XDP_DRV ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/* 1 if the program with that id is a Cubemesh netdev program, 0 if not. */
static int prog_is_ours(__u32 id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd, rc;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (rc < 0)
		return -errno;
	/* The kernel keeps BPF_OBJ_NAME_LEN - 1 characters of the name. */
	return strncmp(info.name, BROKER_NETDEV_PROG_NAME, sizeof(info.name) - 1) == 0;
}

/* The id of the program at this mode's hook, and whether the other mode is
 * in use (the kernel allows one mode per netdev). */
static int xdp_current(int ifindex, enum pcn_hook hook, __u32 *id, bool *other_mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int rc = bpf_xdp_query(ifindex, 0, &q);

	if (rc < 0)
		return rc;
	*id = hook == PCN_HOOK_XDP_DRV ? q.drv_prog_id : q.skb_prog_id;
	*other_mode = (hook == PCN_HOOK_XDP_DRV ? q.skb_prog_id : q.drv_prog_id) != 0 || q.hw_prog_id != 0;
	return 0;
}

/* The kernel's name of program id, "?" when unknown. */
static void prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	memset(&info, 0, sizeof(info));
	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 && info.name[0])
		snprintf(buf, len, "%.*s", (int)sizeof(info.name), info.name);
	if (fd >= 0)
		close(fd);
}

static int xdp_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook, int prog)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = -1);
	__u32 flags = xdp_mode(hook), id;
	char name[BPF_OBJ_NAME_LEN];
	bool other;
	int rc;

	rc = xdp_current(ifindex, hook, &id, &other);
	if (rc < 0)
		return rc;
	if (other) {
		dp->blocker = 0;
		snprintf(dp->why, sizeof(dp->why), "ifindex %d has XDP attached in the other mode (a netdev has one)",
			 ifindex);
		return -EBUSY;
	}
	if (id) {
		rc = prog_is_ours(id);
		if (rc < 0)
			return rc == -ENOENT ? -EAGAIN : rc;
		if (!rc) {
			prog_name(id, name, sizeof(name));
			dp->blocker = id;
			snprintf(dp->why, sizeof(dp->why),
				 "ifindex %d holds XDP program id %u (%s), which is not Cubemesh's: Cubemesh does not "
				 "replace it", ifindex, id, name);
			return -EBUSY;
		}
		/* Replace only that very program: if someone swapped it meanwhile,
		 * the kernel refuses instead of us overwriting theirs. */
		opts.old_prog_fd = bpf_prog_get_fd_by_id(id);
		if (opts.old_prog_fd < 0)
			return -errno;
		flags |= XDP_FLAGS_REPLACE;
	} else {
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	}
	rc = bpf_xdp_attach(ifindex, prog, flags, &opts);
	if (opts.old_prog_fd >= 0)
		close(opts.old_prog_fd);
	/* EEXIST: another program got there between query and attach. */
	if (rc == -EEXIST)
		snprintf(dp->why, sizeof(dp->why), "another XDP program was attached to ifindex %d meanwhile",
			 ifindex);
	return rc == -EEXIST ? -EBUSY : rc;
}

int broker_netdev_check(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;
	bool other;

	if (!dp || hook == PCN_HOOK_TC)
		return 0;
	dp->why[0] = '\0';
	if (xdp_current(ifindex, hook, &id, &other) < 0)
		return 0; /* the attach will say */
	if (other) {
		dp->blocker = 0;
		snprintf(dp->why, sizeof(dp->why), "ifindex %d has XDP attached in the other mode (a netdev has one)",
			 ifindex);
		return -EBUSY;
	}
	if (!id || prog_is_ours(id) != 0)
		return 0;
	prog_name(id, name, sizeof(name));
	/* libxdp's dispatcher: the attach joins it (or says why not). */
	if (dp->xdpd && strcmp(name, "xdp_dispatcher") == 0)
		return 0;
	dp->blocker = id;
	snprintf(dp->why, sizeof(dp->why), "ifindex %d holds XDP program id %u (%s), which is not Cubemesh's%s: "
		 "Cubemesh does not replace it", ifindex, id, name,
		 dp->xdpd ? " and not in libxdp's dispatcher" : "");
	return -EBUSY;
}

static int xdp_detach(int ifindex, enum pcn_hook hook)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 id;
	bool other;
	int rc;

	rc = xdp_current(ifindex, hook, &id, &other);
	if (rc < 0)
		return rc;
	if (!id)
		return 0;
	rc = prog_is_ours(id);
	if (rc <= 0)
		return rc == -ENOENT ? 0 : rc; /* not ours: leave it */
	opts.old_prog_fd = bpf_prog_get_fd_by_id(id);
	if (opts.old_prog_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = bpf_xdp_detach(ifindex, xdp_mode(hook) | XDP_FLAGS_REPLACE, &opts);
	close(opts.old_prog_fd);
	return rc;
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
			rc = hook == PCN_HOOK_TC ? tc_attach(dp, ifindex, prog) : xdp_attach(dp, ifindex, hook, prog);
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
	int rc = 0;

	if (ifindex <= 0)
		return -EINVAL;
	if (hook != PCN_HOOK_TC && hook != PCN_HOOK_XDP_SKB && hook != PCN_HOOK_XDP_DRV)
		return -EINVAL;
	if (netdev_exists(ifindex)) {
		if (hook == PCN_HOOK_TC) {
			rc = tc_detach(dp, ifindex);
		} else {
			/* Whatever the policy: a former broker may have used the other way. */
			rc = broker__xdpd_detach(dp, ifindex, hook);
			if (rc == 1)
				rc = xdp_detach(ifindex, hook);
		}
		/* Vanished between the check and the detach: same as gone. */
		if (rc == -ENODEV || !netdev_exists(ifindex))
			rc = 0;
	}
	if (hook == PCN_HOOK_TC) {
		marker_take(dp, ifindex); /* gone netdev: its qdisc went with it */
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

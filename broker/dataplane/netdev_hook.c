/* One program of Cubemesh's at one netdev hook, beside other owners'
 * programs, with the broker's policy (broker_dp_policy): what the netdev
 * input program of a peered port (netdev.c) and the entries of transparent
 * stacks (broker/topology/attach.c, through broker_dp_hook_attach) share.
 *
 *  - TC, either direction: a tcx link pinned under <root>/shared by the
 *    caller's name (netdev_tcx.c), or a clsact filter at the caller's
 *    handle and priority. A clsact qdisc the broker created is remembered
 *    by a directory <root>/shared/clsact/<ifindex> in bpffs, and each of
 *    our filters on it by a directory inside, named as its tcx pin: the
 *    qdisc goes with the last of them (a directory with no users inside is
 *    one an older broker made for its one filter).
 *  - XDP: the netdev's only program (the dispatcher is netdev_xdpd.c's). A
 *    program there that is Cubemesh's, by its kernel name, is replaced
 *    atomically; anyone else's is never replaced: -EBUSY, dp->why names it.
 */
#include "dataplane_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"

static bool netdev_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifindex, name) != NULL;
}

/* ---- clsact ownership marker ------------------------------------------ */

/* <root>/shared/clsact/<ifindex>[/<user>] */
static int marker_path(const struct broker_dp *dp, int ifindex, const char *user, char *buf, size_t len)
{
	char idx[16];

	snprintf(idx, sizeof(idx), "%d", ifindex);
	return pcn_path(buf, len, dp->root, PCN_LAYOUT_SHARED, PCN_LAYOUT_CLSACT, idx, user, (const char *)NULL);
}

static int marker_set(const struct broker_dp *dp, int ifindex)
{
	char path[PATH_MAX];
	int rc = marker_path(dp, ifindex, NULL, path, sizeof(path));

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

/* Our filter `user` is on a qdisc we made: it keeps the qdisc. */
static void marker_use(const struct broker_dp *dp, int ifindex, const char *user)
{
	char path[PATH_MAX];

	if (marker_path(dp, ifindex, user, path, sizeof(path)) == 0 && mkdir(path, 0700) < 0 && errno != EEXIST &&
	    errno != ENOENT)
		PCN_WARN("BROKER-CLSACT-MARK", "cannot write %s: %s", path, strerror(errno));
}

static void marker_unuse(const struct broker_dp *dp, int ifindex, const char *user)
{
	char path[PATH_MAX];

	if (marker_path(dp, ifindex, user, path, sizeof(path)) == 0)
		rmdir(path);
}

/* True when we made the qdisc and no filter of ours is left on it (the
 * marker is gone then). */
static bool marker_take(const struct broker_dp *dp, int ifindex)
{
	char path[PATH_MAX];

	return marker_path(dp, ifindex, NULL, path, sizeof(path)) == 0 && rmdir(path) == 0;
}

void broker__clsact_forget(struct broker_dp *dp, int ifindex, const char *user)
{
	marker_unuse(dp, ifindex, user);
	marker_take(dp, ifindex);
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

static enum bpf_tc_attach_point tc_point(const struct broker_hookat *at)
{
	return at->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static int clsact_attach(struct broker_dp *dp, const struct broker_hookat *at, int prog)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = at->ifindex, .attach_point = tc_point(at));
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = at->tc_prio, .priority = at->tc_prio, .prog_fd = prog,
		    .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t saved;
	bool created = false;
	int rc;

	saved = quiet_begin();
	rc = bpf_tc_hook_create(&hook);
	quiet_end(saved);
	if (rc == 0) {
		created = true;
		rc = marker_set(dp, at->ifindex);
		if (rc < 0)
			goto out;
	} else if (rc != -EEXIST) {
		goto out;
	}
	rc = bpf_tc_attach(&hook, &opts);
	if (rc == 0)
		marker_use(dp, at->ifindex, at->pin);
out:
	if (rc < 0 && created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		broker__clsact_forget(dp, at->ifindex, at->pin);
	}
	return rc;
}

/* Our filter only; the qdisc too when we made it and no filter of ours
 * is left on it (keep_qdisc: not even then). */
static int clsact_detach(struct broker_dp *dp, const struct broker_hookat *at, bool keep_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = at->ifindex, .attach_point = tc_point(at));
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = at->tc_prio, .priority = at->tc_prio);
	libbpf_print_fn_t saved = quiet_begin();
	int rc;

	rc = bpf_tc_detach(&hook, &opts);
	quiet_end(saved);
	if (rc == -ENOENT || rc == -EINVAL)
		rc = 0; /* no filter (EINVAL: no clsact qdisc at all) */
	marker_unuse(dp, at->ifindex, at->pin);
	if (!keep_qdisc && marker_take(dp, at->ifindex)) {
		/* Destroying clsact also drops the filters on it: we made it and
		 * none of ours is left, so only other owners' ones that came
		 * after ours can be there. */
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
int broker__tc_attach(struct broker_dp *dp, const struct broker_hookat *at, int prog)
{
	int rc;

	if (!dp->tcx) {
		rc = clsact_attach(dp, at, prog);
		if (rc == 0 && broker__tcx_link_has(dp, at->pin))
			broker__tcx_link_detach(dp, at->pin);
		return rc;
	}
	rc = broker__tcx_link_attach(dp, at->ifindex, at->egress, prog, at->pin);
	/* Only our filter: a clsact qdisc we made stays (with its marker) until
	 * detach, as an older broker's other filters may be on it. */
	if (rc == 0)
		clsact_detach(dp, at, true);
	return rc;
}

int broker__tc_detach(struct broker_dp *dp, const struct broker_hookat *at)
{
	int rc = broker__tcx_link_detach(dp, at->pin), rc2 = clsact_detach(dp, at, false);

	return rc ? rc : rc2;
}

/* ---- XDP ----------------------------------------------------------------- */

static __u32 xdp_mode(enum pcn_hook hook)
{
	return hook == PCN_HOOK_XDP_DRV ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/* The kernel's name of program id (BPF_OBJ_NAME_LEN - 1 characters of the
 * object's), "?" when unknown; -errno when the program cannot be read. */
static int prog_name_rc(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), rc = 0;

	snprintf(buf, len, "?");
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0)
		rc = -errno;
	else if (info.name[0])
		snprintf(buf, len, "%.*s", (int)sizeof(info.name), info.name);
	close(fd);
	return rc;
}

void broker__prog_name(__u32 id, char *buf, size_t len)
{
	prog_name_rc(id, buf, len);
}

static bool name_is(const char *name, const char *want)
{
	return strncmp(name, want, BPF_OBJ_NAME_LEN - 1) == 0;
}

int broker__prog_is_ours(__u32 id)
{
	char name[BPF_OBJ_NAME_LEN];
	int rc = prog_name_rc(id, name, sizeof(name));

	if (rc < 0)
		return rc;
	return name_is(name, BROKER_NETDEV_PROG_NAME) || name_is(name, BROKER_TSTACK_XDP_PROG_NAME);
}

int broker__xdp_current(int ifindex, enum pcn_hook hook, __u32 *id, bool *other_mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int rc = bpf_xdp_query(ifindex, 0, &q);

	if (rc < 0)
		return rc;
	*id = hook == PCN_HOOK_XDP_DRV ? q.drv_prog_id : q.skb_prog_id;
	*other_mode = (hook == PCN_HOOK_XDP_DRV ? q.skb_prog_id : q.drv_prog_id) != 0 || q.hw_prog_id != 0;
	return 0;
}

static int refuse_other_mode(struct broker_dp *dp, int ifindex)
{
	dp->blocker = 0;
	snprintf(dp->why, sizeof(dp->why), "ifindex %d has XDP attached in the other mode (a netdev has one)",
		 ifindex);
	return -EBUSY;
}

int broker__xdp_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook, int prog)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = -1);
	__u32 flags = xdp_mode(hook), id;
	char name[BPF_OBJ_NAME_LEN];
	bool other;
	int rc;

	rc = broker__xdp_current(ifindex, hook, &id, &other);
	if (rc < 0)
		return rc;
	if (other)
		return refuse_other_mode(dp, ifindex);
	if (id) {
		rc = broker__prog_is_ours(id);
		if (rc < 0)
			return rc == -ENOENT ? -EAGAIN : rc;
		if (!rc) {
			broker__prog_name(id, name, sizeof(name));
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

int broker__xdp_detach(int ifindex, enum pcn_hook hook, const char *name)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	char cur[BPF_OBJ_NAME_LEN];
	__u32 id;
	bool other;
	int rc;

	rc = broker__xdp_current(ifindex, hook, &id, &other);
	if (rc < 0)
		return rc;
	if (!id)
		return 0;
	rc = prog_name_rc(id, cur, sizeof(cur));
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	if (!name_is(cur, name))
		return 0; /* not that program of ours: leave it */
	opts.old_prog_fd = bpf_prog_get_fd_by_id(id);
	if (opts.old_prog_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Only if it is still that one (REPLACE with the expected program). */
	rc = bpf_xdp_detach(ifindex, xdp_mode(hook) | XDP_FLAGS_REPLACE, &opts);
	close(opts.old_prog_fd);
	return rc;
}

/* ---- what GET /netdevs shows: cubemesh-attach.<label> ---------------------- */

struct atrec {
	struct atrec *next;
	int ifindex;
	char label[24];
	enum pcn_hook hook[2];
	const char *how[2]; /* ingress, egress: NULL when not attached */
	char name[BPF_OBJ_NAME_LEN]; /* XDP (ingress): the program's name */
};

static struct atrec *atrecs;

static struct atrec **atrec_find(int ifindex, const char *label)
{
	struct atrec **pp;

	for (pp = &atrecs; *pp; pp = &(*pp)->next)
		if ((*pp)->ifindex == ifindex && strcmp((*pp)->label, label) == 0)
			break;
	return pp;
}

static void atrec_set(const struct broker_hookat *at, const char *how)
{
	struct atrec **pp, *r;

	if (!at->label)
		return;
	pp = atrec_find(at->ifindex, at->label);
	r = *pp;
	if (!r && how) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		r->ifindex = at->ifindex;
		snprintf(r->label, sizeof(r->label), "%s", at->label);
		*pp = r;
	}
	if (!r)
		return;
	r->hook[at->egress] = at->hook;
	r->how[at->egress] = how;
	if (!at->egress)
		snprintf(r->name, sizeof(r->name), "%s", at->name);
	if (!r->how[0] && !r->how[1]) {
		*pp = r->next;
		free(r);
	}
}

/* An XDP program of ours may be replaced by another of ours (a port's
 * input program, when a port peers with the netdev): shown while there. */
static bool xdp_holds(int ifindex, enum pcn_hook hook, const char *name)
{
	char cur[BPF_OBJ_NAME_LEN];
	__u32 id;
	bool other;

	return broker__xdp_current(ifindex, hook, &id, &other) == 0 && id && prog_name_rc(id, cur, sizeof(cur)) == 0 &&
	       name_is(cur, name);
}

json_t *broker__hookat_json(int ifindex, json_t *o)
{
	for (struct atrec *r = atrecs; r; r = r->next) {
		json_t *x;

		if (r->ifindex != ifindex)
			continue;
		/* Each direction as the input program's own: {"hook", "attach"}. */
		x = json_object();
		for (int d = 0; x && d < 2; d++)
			if (r->how[d] && (r->hook[d] == PCN_HOOK_TC || xdp_holds(ifindex, r->hook[d], r->name)))
				json_object_set_new(x, d ? "egress" : "ingress",
						    json_pack("{s:s, s:s}", "hook", pcn_hook_name(r->hook[d]), "attach",
							      r->how[d]));
		if (x && !json_object_size(x)) {
			json_decref(x);
			continue;
		}
		if (!o)
			o = json_object();
		if (o && x)
			json_object_set_new(o, r->label, x);
		else
			json_decref(x);
	}
	return o;
}

/* ---- public ------------------------------------------------------------- */

static bool hookat_valid(const struct broker_hookat *at)
{
	if (!at || at->ifindex <= 0 || !at->pin || !at->pin[0] || strchr(at->pin, '/') || !at->name)
		return false;
	if (at->hook == PCN_HOOK_TC)
		return at->tc_prio > 0 && at->tc_prio <= 0xffff;
	return (at->hook == PCN_HOOK_XDP_SKB || at->hook == PCN_HOOK_XDP_DRV) && !at->egress;
}

int broker_dp_hook_attach(struct broker_dp *dp, const struct broker_hookat *at, int prog)
{
	const char *how = NULL;
	int rc;

	if (!dp || !hookat_valid(at) || prog < 0)
		return -EINVAL;
	if (!netdev_exists(at->ifindex))
		return -ENODEV;
	dp->why[0] = '\0';
	if (at->hook == PCN_HOOK_TC) {
		how = dp->tcx ? "tcx" : "clsact";
		rc = broker__tc_attach(dp, at, prog);
	} else if (dp->xdpd) {
		/* libxdp's dispatcher runs only programs loaded as its parts;
		 * ours alone at the hook would shut xdp-loader's users out. */
		dp->blocker = 0;
		snprintf(dp->why, sizeof(dp->why),
			 "%s cannot join libxdp's dispatcher (--xdp-attach dispatcher): only a netdev port's input "
			 "program does; run the broker with --xdp-attach direct to attach it alone", at->name);
		rc = -EOPNOTSUPP;
	} else {
		how = "direct";
		rc = broker__xdp_attach(dp, at->ifindex, at->hook, prog);
	}
	if (rc == 0)
		atrec_set(at, how);
	else if (rc == -EBUSY || rc == -EOPNOTSUPP)
		PCN_WARN("BROKER-HOOK-BUSY", "not attaching %s to ifindex %d (%s): %s", at->name, at->ifindex,
			 pcn_hook_name(at->hook), dp->why);
	else
		PCN_ERR("BROKER-HOOK-ATTACH", "cannot attach %s to ifindex %d (%s): %s", at->name, at->ifindex,
			pcn_hook_name(at->hook), strerror(-rc));
	return rc;
}

int broker_dp_hook_detach(struct broker_dp *dp, const struct broker_hookat *at)
{
	int rc = 0;

	if (!dp || !hookat_valid(at))
		return -EINVAL;
	if (netdev_exists(at->ifindex))
		rc = at->hook == PCN_HOOK_TC ? broker__tc_detach(dp, at) : broker__xdp_detach(at->ifindex, at->hook,
											  at->name);
	/* Gone (or vanished meanwhile): its hooks went with it; our pins and
	 * markers stay to be dropped. */
	if (rc == -ENODEV || !netdev_exists(at->ifindex)) {
		rc = 0;
		if (at->hook == PCN_HOOK_TC) {
			broker__tcx_link_detach(dp, at->pin);
			broker__clsact_forget(dp, at->ifindex, at->pin);
		}
	}
	atrec_set(at, NULL);
	if (rc < 0)
		PCN_ERR("BROKER-HOOK-DETACH", "cannot detach %s from ifindex %d (%s): %s", at->name, at->ifindex,
			pcn_hook_name(at->hook), strerror(-rc));
	return rc;
}

/* XDP attachment as one program of libxdp's multi-program dispatcher.
 *
 * The kernel runs one XDP program per netdev and mode. libxdp (xdp-tools,
 * xdp-loader, and the tools built on them) shares it: a small dispatcher
 * program sits at the hook and calls up to ten component programs, each
 * loaded as a freplace of one of its slots, in the order of their run
 * priority (lower first); after each, the dispatcher goes on to the next
 * only when the component's verdict is one of its "chain call actions",
 * else that verdict is the packet's. Adding or removing a component makes
 * a new dispatcher and swaps it in atomically; the components' links are
 * pinned by libxdp under /sys/fs/bpf/xdp/dispatch-<ifindex>-<id>/ so any
 * process can see and change the set. This file uses libxdp itself, so
 * the protocol (pins, locking, the dispatcher's version) is libxdp's own.
 *
 * Cubemesh's component is the generic netdev input program (the one that
 * looks the netdev up in pcn_netdev_in and its stack in pcn_tstack), not
 * the per-netdev specialized copy: it never needs replacing, so a change
 * of peer, of stack, or a broker restart leaves the dispatcher untouched
 * (a restart finds our component by name and adopts it). Its chain call
 * action is XDP_PASS: what the cube sends to the host stack goes on to the
 * programs after ours (lower priority = closer to the kernel); what it
 * redirects, drops or transmits ends there, as it would without them.
 */
#include "dataplane_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#ifdef CUBEMESH_HAVE_LIBXDP
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "pcn_layout.h"
#include "pcn_netdev_xdp.skel.h"

/* -1 not probed, 0 no, 1 yes. */
static int freplace_ok = -1;

bool broker__xdpd_available(void)
{
	return freplace_ok != 0;
}

/* The dispatcher's components are freplace (BPF_PROG_TYPE_EXT) programs.
 * Where the kernel refuses them (seen: EPERM on a 6.18 built without
 * ftrace), libxdp silently attaches a lone program instead of a dispatcher,
 * which would leave no room for anyone else; so ask the kernel first, with
 * our own program as the target, as libxdp's components will be. */
int broker__xdpd_probe(struct broker_dp *dp)
{
	char shared[PATH_MAX];
	struct pcn_netdev_xdp *s;
	int rc;

	if (freplace_ok >= 0)
		return freplace_ok;
	if (pcn_layout_shared(shared, sizeof(shared), dp->root, NULL))
		return -ENAMETOOLONG;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = shared);
	s = pcn_netdev_xdp__open_opts(&oo);
	if (!s)
		return -errno;
	bpf_program__set_type(s->progs.pcn_netdev_entry, BPF_PROG_TYPE_EXT);
	bpf_program__set_expected_attach_type(s->progs.pcn_netdev_entry, 0);
	rc = bpf_program__set_attach_target(s->progs.pcn_netdev_entry, dp->prog_xdp, BROKER_NETDEV_PROG_NAME);
	if (!rc)
		rc = pcn_netdev_xdp__load(s);
	pcn_netdev_xdp__destroy(s);
	freplace_ok = rc == 0;
	if (rc)
		PCN_INFO("BROKER-XDP-DISPATCHER", "this kernel refuses freplace programs (%s), which libxdp's "
			 "dispatcher is made of: XDP ports are attached directly", strerror(-rc));
	return freplace_ok;
}

static int quiet(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static enum xdp_attach_mode mode_of(enum pcn_hook hook)
{
	return hook == PCN_HOOK_XDP_DRV ? XDP_MODE_NATIVE : XDP_MODE_SKB;
}

static bool is_ours(const struct xdp_program *p)
{
	const char *n = xdp_program__name(p);

	return n && strncmp(n, BROKER_NETDEV_PROG_NAME, BPF_OBJ_NAME_LEN - 1) == 0;
}

/* The multiprog on ifindex, NULL when the hook is empty, or an error. */
static struct xdp_multiprog *get_mp(int ifindex, int *err)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	long e = libxdp_get_error(mp);

	*err = 0;
	if (e == -ENOENT || (!e && !mp))
		return NULL;
	if (e) {
		*err = (int)e;
		return NULL;
	}
	return mp;
}

static struct xdp_program *find_ours(struct xdp_multiprog *mp)
{
	for (struct xdp_program *p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
		if (is_ours(p))
			return p;
	return NULL;
}

static int add_ours(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	char shared[PATH_MAX];
	struct pcn_netdev_xdp *s;
	struct xdp_program *xp;
	int rc;

	if (pcn_layout_shared(shared, sizeof(shared), dp->root, NULL))
		return -ENAMETOOLONG;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = shared);
	s = pcn_netdev_xdp__open_opts(&oo);
	if (!s)
		return -errno;
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .obj = s->obj, .prog_name = BROKER_NETDEV_PROG_NAME);
	xp = xdp_program__create(&xo);
	rc = (int)libxdp_get_error(xp);
	if (!rc) {
		xdp_program__set_run_prio(xp, dp->xdp_prio);
		xdp_program__set_chain_call_enabled(xp, XDP_PASS, true);
		rc = xdp_program__attach(xp, ifindex, mode_of(hook), 0);
		xdp_program__close(xp);
	}
	pcn_netdev_xdp__destroy(s);
	return rc;
}

int broker__xdpd_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	libxdp_print_fn_t saved = libxdp_set_print(quiet);
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int rc;

	mp = get_mp(ifindex, &rc);
	if (rc)
		goto out;
	if (mp && xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && is_ours(p)) {
			rc = 1; /* ours, attached directly (an older broker): replaced so */
			goto out;
		}
		dp->blocker = p ? xdp_program__id(p) : 0;
		snprintf(dp->why, sizeof(dp->why),
			 "ifindex %d holds XDP program id %u (%s), not attached through libxdp's dispatcher: Cubemesh "
			 "does not replace it; load it with xdp-loader (or detach it) to share the hook", ifindex,
			 p ? xdp_program__id(p) : 0, p && xdp_program__name(p) ? xdp_program__name(p) : "?");
		rc = -EBUSY;
		goto out;
	}
	if (mp && xdp_multiprog__attach_mode(mp) != mode_of(hook)) {
		p = xdp_multiprog__main_prog(mp);
		dp->blocker = p ? xdp_program__id(p) : 0;
		snprintf(dp->why, sizeof(dp->why),
			 "ifindex %d holds libxdp's dispatcher (program id %u) in %s mode; a netdev has one XDP mode",
			 ifindex, p ? xdp_program__id(p) : 0,
			 xdp_multiprog__attach_mode(mp) == XDP_MODE_NATIVE ? "native (XDP_DRV)" : "generic (XDP_SKB)");
		rc = -EBUSY;
		goto out;
	}
	if (mp && find_ours(mp)) {
		rc = 0; /* adopted as it is: the generic program needs no change */
		goto out;
	}
	rc = add_ours(dp, ifindex, hook);
	if (rc == -EEXIST || rc == -EBUSY) {
		snprintf(dp->why, sizeof(dp->why),
			 "ifindex %d: libxdp cannot add a program to its XDP hook (%s); see xdp-loader status",
			 ifindex, strerror(-rc));
		rc = -EBUSY;
	}
out:
	if (mp)
		xdp_multiprog__close(mp);
	libxdp_set_print(saved);
	return rc;
}

int broker__xdpd_detach(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	libxdp_print_fn_t saved = libxdp_set_print(quiet);
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int rc;

	(void)dp;
	mp = get_mp(ifindex, &rc);
	if (rc || !mp)
		goto out;
	if (xdp_multiprog__is_legacy(mp)) {
		rc = 1; /* the direct path's to undo, if it is ours */
		goto out;
	}
	p = find_ours(mp);
	rc = p ? xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0) : 0;
	(void)hook;
out:
	if (mp)
		xdp_multiprog__close(mp);
	libxdp_set_print(saved);
	return rc;
}

#else /* no libxdp: direct attachment only */

bool broker__xdpd_available(void)
{
	return false;
}

int broker__xdpd_probe(struct broker_dp *dp)
{
	(void)dp;
	return 0;
}

int broker__xdpd_attach(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	(void)dp, (void)ifindex, (void)hook;
	return -EOPNOTSUPP;
}

int broker__xdpd_detach(struct broker_dp *dp, int ifindex, enum pcn_hook hook)
{
	(void)dp, (void)ifindex, (void)hook;
	return 1;
}

#endif

/* TC attachment through tcx links (kernel 6.6+), beside other owners'
 * programs on the same netdev.
 *
 * A tcx link is the netdev hook's entry in an ordered list of programs
 * that anyone may append to, before or after the others (BPF_F_BEFORE /
 * BPF_F_AFTER); a program's TC_ACT_UNSPEC (TCX_NEXT) hands the packet to
 * the next one, any other verdict ends the list, as a direct-action clsact
 * filter's does. The link goes with its last reference: the broker pins it
 * at <root>/shared/tcx_<ifindex>, so it outlives the broker as the pins
 * do, and a broker that restarts finds it and swaps the program inside it
 * (bpf_link_update: atomic, the link keeps its id and its place in the
 * list, other owners' links are not touched).
 *
 * Debian 12's libbpf (1.1) and its uapi headers predate tcx: the attach
 * type and flags are the kernel's numbers, passed through
 * bpf_link_create's generic path (it passes flags and the target ifindex).
 */
#include "dataplane_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"

/* include/uapi/linux/bpf.h of 6.6+. */
#define PCN_BPF_TCX_INGRESS 46
#define PCN_BPF_TCX_EGRESS 47
#define PCN_BPF_F_BEFORE (1U << 3)
#define PCN_BPF_F_AFTER (1U << 4)

/* The netdev input program's link: tcx_<ifindex>. Other programs of ours
 * (broker_dp_hook_attach) have links of their own names. */
static const char *port_pin(int ifindex, char *buf, size_t len)
{
	snprintf(buf, len, "tcx_%d", ifindex);
	return buf;
}

int broker__tcx_probe(void)
{
	__u32 cnt = 0;

	/* A query of lo's tcx ingress: EINVAL on kernels without tcx. */
	return bpf_prog_query(1, PCN_BPF_TCX_INGRESS, 0, NULL, NULL, &cnt) == 0;
}

int broker__tcx_link_has(const struct broker_dp *dp, const char *pin)
{
	char path[PATH_MAX];

	return pcn_layout_shared(path, sizeof(path), dp->root, pin) == 0 && access(path, F_OK) == 0;
}

int broker__tcx_has(const struct broker_dp *dp, int ifindex)
{
	char pin[32];

	return broker__tcx_link_has(dp, port_pin(ifindex, pin, sizeof(pin)));
}

int broker__tcx_attach(struct broker_dp *dp, int ifindex, int prog)
{
	char pin[32];

	return broker__tcx_link_attach(dp, ifindex, false, prog, port_pin(ifindex, pin, sizeof(pin)));
}

int broker__tcx_detach(struct broker_dp *dp, int ifindex)
{
	char pin[32];

	return broker__tcx_link_detach(dp, port_pin(ifindex, pin, sizeof(pin)));
}

int broker__tcx_link_attach(struct broker_dp *dp, int ifindex, bool egress, int prog, const char *pin)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = dp->tc_first ? PCN_BPF_F_BEFORE : PCN_BPF_F_AFTER);
	char path[PATH_MAX];
	int fd, rc;

	rc = pcn_layout_shared(path, sizeof(path), dp->root, pin);
	if (rc < 0)
		return rc;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		rc = bpf_link_update(fd, prog, NULL);
		close(fd);
		if (rc == 0)
			return 0;
		/* ENOLINK: the netdev went away (the link is defunct; a new
		 * netdev may have its ifindex). A new link, then. */
		PCN_DEBUG("BROKER-TCX", "ifindex %d: pinned link not usable (%s): a new one", ifindex,
			  strerror(-rc));
		unlink(path);
	}
	fd = bpf_link_create(prog, ifindex, egress ? PCN_BPF_TCX_EGRESS : PCN_BPF_TCX_INGRESS, &opts);
	if (fd < 0)
		return fd;
	rc = bpf_obj_pin(fd, path) < 0 ? -errno : 0;
	/* Unpinned, closing it detaches it: nothing half-made is left. */
	close(fd);
	return rc;
}

int broker__tcx_link_detach(struct broker_dp *dp, const char *pin)
{
	char path[PATH_MAX];
	int fd, rc = 0;

	if (pcn_layout_shared(path, sizeof(path), dp->root, pin) < 0)
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Detach now: another reference (bpftool, a benchmark) would keep an
	 * unpinned link attached. A defunct link (netdev gone) is no error. */
	if (bpf_link_detach(fd) < 0 && errno != ENOLINK && errno != ENOENT && errno != EINVAL)
		rc = -errno;
	close(fd);
	unlink(path);
	return rc;
}

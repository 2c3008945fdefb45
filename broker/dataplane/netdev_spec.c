/* The netdev input program specialized per peered netdev (bpf/pcn_netdev.bpf.c).
 *
 * The generic program looks the netdev up in pcn_netdev_in, looks its
 * ingress stack up in pcn_tstack, and tail-calls a slot it read from a map:
 * two hash lookups and an indirect jump per packet. A netdev peered with a
 * cube port gets its own copy of the program instead, loaded with the
 * instance's slot, the port and "has an ingress stack" as load-time
 * constants: without a stack that is no lookup and a direct jump. The copy
 * is pinned at <root>/shared/netdev_{xdp,tc}_<ifindex> so that it can be
 * found (benchmarks, bpftool) and so that it outlives the broker exactly as
 * the attachment does; a broker restart wires every port again and so
 * replaces each copy with a fresh one.
 *
 * Nothing here is kept in memory: whether a netdev is peered, and at which
 * hook, is read back from pcn_netdev_in and the pins, so a broker that
 * restarted answers broker_netdev_stack_changed like the one before it.
 */
#include "dataplane_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"
#include "pcn_netdev_tc.skel.h"
#include "pcn_netdev_xdp.skel.h"
#include "pcn_transparent_kern_user.h"

static int spec_path(const struct broker_dp *dp, int ifindex, bool tc, char *buf, size_t len)
{
	char pin[32];

	snprintf(pin, sizeof(pin), "netdev_%s_%d", tc ? "tc" : "xdp", ifindex);
	return pcn_layout_shared(buf, len, dp->root, pin);
}

/* Whether pcn_tstack holds an ingress position of netdev ifindex. Its keys
 * start with (parent, dir), the parent of a netdev's stack being its
 * ifindex (pcn_transparent_kern_user.h); only those two fields are read,
 * so the rest of the key may change without this code. Read from the
 * kernel, not from broker/topology/attach.c's memory: the pinned map is the truth
 * after a restart too. When in doubt (no map, error) the answer is yes:
 * the generic path is right with or without a stack. */
static bool has_ingress_stack(const struct broker_dp *dp, int ifindex)
{
	int fd = bpf_object__find_map_fd_by_name(dp->obj_xdp, PCN_MAP_TSTACK);
	int gen_fd = bpf_object__find_map_fd_by_name(dp->obj_xdp, "pcn_tgen");
	__u32 key[16], next[16]; /* larger than any key the map may have */
	__u32 parent = (__u32)ifindex, gen = 0;
	void *prev = NULL;

	if (fd < 0)
		return true;
	/* With generations of stacks (pcn_tgen: parent -> generation in use,
	 * the 4th field of the key), only the one in use counts: the other
	 * keeps the previous order. */
	if (gen_fd >= 0 && bpf_map_lookup_elem(gen_fd, &parent, &gen) < 0)
		gen = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (next[0] == parent && next[1] == PCN_TDIR_INGRESS && (gen_fd < 0 || next[3] == gen))
			return true;
		memcpy(key, next, sizeof(key));
		prev = key;
	}
	return errno != ENOENT;
}

/* Loads one specialized copy; returns a new fd of its program or -errno. */
static int load_copy(const struct broker_dp *dp, bool tc, uint32_t cube_index, uint32_t port, bool stack)
{
	char shared[PATH_MAX];
	int fd = -EINVAL, rc;

	if (pcn_layout_shared(shared, sizeof(shared), dp->root, NULL))
		return -ENAMETOOLONG;
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = shared);
	/* The two skeletons differ only in their types: same constants. */
	if (tc) {
		struct pcn_netdev_tc *s = pcn_netdev_tc__open_opts(&opts);

		if (!s)
			return -errno;
		s->rodata->pcn_nd_cube = cube_index;
		s->rodata->pcn_nd_port = port;
		s->rodata->pcn_nd_stack = stack;
		rc = pcn_netdev_tc__load(s);
		fd = rc < 0 ? rc : dup(bpf_program__fd(s->progs.pcn_netdev_entry));
		pcn_netdev_tc__destroy(s);
	} else {
		struct pcn_netdev_xdp *s = pcn_netdev_xdp__open_opts(&opts);

		if (!s)
			return -errno;
		s->rodata->pcn_nd_cube = cube_index;
		s->rodata->pcn_nd_port = port;
		s->rodata->pcn_nd_stack = stack;
		rc = pcn_netdev_xdp__load(s);
		fd = rc < 0 ? rc : dup(bpf_program__fd(s->progs.pcn_netdev_entry));
		pcn_netdev_xdp__destroy(s);
	}
	return fd == -1 ? -errno : fd;
}

int broker__nd_spec_load(struct broker_dp *dp, int ifindex, enum pcn_hook hook, uint32_t cube_index,
			 uint32_t port)
{
	bool tc = hook == PCN_HOOK_TC, stack = has_ingress_stack(dp, ifindex);
	char path[PATH_MAX];
	int fd, rc;

	rc = spec_path(dp, ifindex, tc, path, sizeof(path));
	if (rc < 0)
		return rc;
	fd = load_copy(dp, tc, cube_index, port, stack);
	if (fd < 0) {
		PCN_ERR("BROKER-NETDEV-SPEC", "cannot load the input program for ifindex %d: %s", ifindex,
			strerror(-fd));
		return fd;
	}
	rc = broker__pin_replace(fd, path);
	if (rc < 0) {
		PCN_ERR("BROKER-NETDEV-SPEC", "cannot pin %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	PCN_DEBUG("BROKER-NETDEV-SPEC", "ifindex %d: input program for cube %u port %u%s", ifindex, cube_index,
		  port, stack ? " (through its ingress stack)" : " (direct jump)");
	return fd;
}

void broker__nd_spec_unpin(struct broker_dp *dp, int ifindex)
{
	char path[PATH_MAX];

	if (spec_path(dp, ifindex, true, path, sizeof(path)) == 0)
		unlink(path);
	if (spec_path(dp, ifindex, false, path, sizeof(path)) == 0)
		unlink(path);
}

int broker_netdev_stack_changed(struct broker_dp *dp, int ifindex)
{
	struct pcn_netdev_val in;
	char path[PATH_MAX];
	enum pcn_hook hook;
	__u32 key = (__u32)ifindex;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (!dp || ifindex <= 0)
		return -EINVAL;
	/* Not peered: no specialized program to replace (the transparent
	 * stack's own entry program handles the netdev). */
	if (bpf_map_lookup_elem(dp->netdev_in, &key, &in) < 0)
		return 0;
	if (spec_path(dp, ifindex, true, path, sizeof(path)) == 0 && access(path, F_OK) == 0) {
		hook = PCN_HOOK_TC;
	} else if (spec_path(dp, ifindex, false, path, sizeof(path)) == 0 && access(path, F_OK) == 0 &&
		   bpf_xdp_query(ifindex, 0, &q) == 0) {
		hook = q.drv_prog_id ? PCN_HOOK_XDP_DRV : PCN_HOOK_XDP_SKB;
	} else {
		return 0;
	}
	/* Attaching again replaces our program atomically (XDP replace, tc
	 * filter replace): packets meet the old copy or the new one. */
	return broker_netdev_attach(dp, ifindex, hook, in.cube_index, in.port);
}

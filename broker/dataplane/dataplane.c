/* The broker's data plane: loading the netdev input programs (which creates
 * or reuses the pinned shared maps), the PatchPanel, the forwarding map and
 * the per-instance counters. Netdev attachments live in netdev.c.
 */
#include "dataplane_int.h"
#include "pcn_percpu.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "log.h"
#include "pcn_layout.h"
#include "pcn_netdev_tc.skel.h"
#include "pcn_netdev_xdp.skel.h"
#include "rmtree.h"

#define BPFFS_MOUNT "/sys/fs/bpf"

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* bpffs is not always mounted on this kind of host (docs/KERNEL.md); mount it
 * only where the standard place is meant, never over another path. */
static int ensure_bpffs(const char *root)
{
	size_t n = strlen(BPFFS_MOUNT);

	if (strncmp(root, BPFFS_MOUNT, n) != 0 || (root[n] != '/' && root[n] != '\0'))
		return 0;
	if (on_bpffs(BPFFS_MOUNT))
		return 0;
	if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700") < 0) {
		int rc = -errno;

		PCN_ERR("BROKER-BPFFS-MOUNT", "cannot mount bpffs at %s: %s", BPFFS_MOUNT, strerror(-rc));
		return rc;
	}
	PCN_INFO("BROKER-BPFFS-MOUNT", "mounted bpffs at %s", BPFFS_MOUNT);
	return 0;
}

/* mkdir -p, mode 0700: pins are root's business only. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(obj, name);

	if (fd < 0)
		PCN_ERR("BROKER-DP-LOAD", "netdev program has no map %s", name);
	return fd < 0 ? -ENOENT : fd;
}

/* Pins fd at path, replacing an older pin atomically: pin beside it, then
 * rename over it (bpffs supports rename), so there is never a moment with
 * no program at path. bpffs refuses names with a dot, hence "__new". */
int broker__pin_replace(int fd, const char *path)
{
	char tmp[PATH_MAX];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s__new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	rc = bpf_obj_pin(fd, tmp);
	if (rc < 0)
		return -errno;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	return 0;
}

/* Opens one build of the netdev program from its embedded ELF, with the
 * shared maps pinned by name under <root>/shared, loads it and pins the
 * program at <root>/shared/<pin_name>. */
static int load_netdev(const void *elf, size_t sz, const char *objname, const char *shared, const char *pin_name,
		       struct bpf_object **obj_out, int *prog_out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = objname, .pin_root_path = shared);
	char path[PATH_MAX];
	struct bpf_object *obj;
	struct bpf_program *prog;
	int rc;

	obj = bpf_object__open_mem(elf, sz, &opts);
	if (!obj) {
		rc = -errno;
		PCN_ERR("BROKER-DP-LOAD", "cannot open %s: %s", objname, strerror(-rc));
		return rc;
	}
	prog = bpf_object__find_program_by_name(obj, BROKER_NETDEV_PROG_NAME);
	if (!prog) {
		PCN_ERR("BROKER-DP-LOAD", "%s has no program %s", objname, BROKER_NETDEV_PROG_NAME);
		rc = -ENOENT;
		goto out;
	}
	rc = bpf_object__load(obj);
	if (rc < 0) {
		PCN_ERR("BROKER-DP-LOAD", "cannot load %s: %s", objname, strerror(-rc));
		goto out;
	}
	rc = pcn_path(path, sizeof(path), shared, pin_name, (const char *)NULL);
	if (rc)
		goto out;
	rc = broker__pin_replace(bpf_program__fd(prog), path);
	if (rc < 0) {
		PCN_ERR("BROKER-DP-PIN", "cannot pin %s: %s", path, strerror(-rc));
		goto out;
	}
	*obj_out = obj;
	*prog_out = bpf_program__fd(prog);
	obj = NULL;
out:
	bpf_object__close(obj);
	return rc;
}

int broker_dp_create(struct broker_dp **out, const char *bpffs_root)
{
	struct broker_dp *dp;
	char shared[PATH_MAX], cubes[PATH_MAX];
	const void *elf;
	size_t sz;
	int rc;

	if (!bpffs_root || bpffs_root[0] != '/')
		return -EINVAL;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	if (snprintf(dp->root, sizeof(dp->root), "%s", bpffs_root) >= (int)sizeof(dp->root) ||
	    pcn_layout_shared(shared, sizeof(shared), bpffs_root, NULL) ||
	    pcn_path(cubes, sizeof(cubes), bpffs_root, PCN_LAYOUT_CUBES, (const char *)NULL)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = ensure_bpffs(bpffs_root);
	if (rc < 0)
		goto out;
	if ((rc = mkdir_p(shared)) < 0 || (rc = mkdir_p(cubes)) < 0) {
		PCN_ERR("BROKER-DP-MKDIR", "cannot create %s: %s", shared, strerror(-rc));
		goto out;
	}

	elf = pcn_netdev_xdp__elf_bytes(&sz);
	rc = load_netdev(elf, sz, "pcn_netdev_xdp", shared, "netdev_xdp", &dp->obj_xdp, &dp->prog_xdp);
	if (rc < 0)
		goto out;
	elf = pcn_netdev_tc__elf_bytes(&sz);
	rc = load_netdev(elf, sz, "pcn_netdev_tc", shared, "netdev_tc", &dp->obj_tc, &dp->prog_tc);
	if (rc < 0)
		goto out;

	/* The maps shared by both builds are the same kernel objects (pinned by
	 * name), so either object's fd will do. */
	if ((rc = dp->pp_xdp = map_fd(dp->obj_xdp, PCN_MAP_PP_XDP)) < 0 ||
	    (rc = dp->pp_tc = map_fd(dp->obj_tc, PCN_MAP_PP_TC)) < 0 ||
	    (rc = dp->fwd = map_fd(dp->obj_xdp, PCN_MAP_FWD)) < 0 ||
	    (rc = dp->baked_gen = map_fd(dp->obj_xdp, PCN_MAP_BAKED_GEN)) < 0 ||
	    (rc = dp->netdev_in = map_fd(dp->obj_xdp, PCN_MAP_NETDEV_IN)) < 0 ||
	    (rc = dp->stats = map_fd(dp->obj_xdp, PCN_MAP_STATS)) < 0)
		goto out;
	rc = broker__policy_resolve(dp);
	if (rc < 0)
		goto out;
	PCN_INFO("BROKER-DP-READY", "data plane ready under %s", bpffs_root);
	*out = dp;
	dp = NULL;
	rc = 0;
out:
	broker_dp_destroy(dp);
	return rc;
}

void broker_dp_destroy(struct broker_dp *dp)
{
	if (!dp)
		return;
	bpf_object__close(dp->obj_xdp);
	bpf_object__close(dp->obj_tc);
	free(dp);
}

const char *broker_dp_root(const struct broker_dp *dp)
{
	return dp->root;
}

int broker_dp_flush(const char *bpffs_root)
{
	char failed[PATH_MAX];
	struct stat st;
	int rc;

	if (!bpffs_root || bpffs_root[0] != '/')
		return -EINVAL;
	if (lstat(bpffs_root, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A wrong argument here must never delete ordinary files. */
	if (!on_bpffs(bpffs_root))
		return -EINVAL;
	rc = broker_rmtree_report(bpffs_root, failed, sizeof(failed));
	if (rc) {
		PCN_WARN("BROKER-DP-FLUSH", "cannot remove %s: %s", failed, strerror(-rc));
		return rc;
	}
	PCN_INFO("BROKER-DP-FLUSH", "removed %s", bpffs_root);
	return 0;
}

static int pp_fd(const struct broker_dp *dp, enum pcn_hook hook)
{
	switch (hook) {
	case PCN_HOOK_TC:
		return dp->pp_tc;
	case PCN_HOOK_XDP_SKB:
	case PCN_HOOK_XDP_DRV:
		return dp->pp_xdp;
	}
	return -EINVAL;
}

int broker_pp_install(struct broker_dp *dp, enum pcn_hook hook, uint32_t index, const char *pin_path)
{
	int map = pp_fd(dp, hook);
	int prog, rc;

	if (map < 0)
		return map;
	if (index >= PCN_MAX_CUBES)
		return -ERANGE;
	prog = bpf_obj_get(pin_path);
	if (prog < 0) {
		rc = -errno;
		PCN_ERR("BROKER-PP-INSTALL", "cannot open program %s: %s", pin_path, strerror(-rc));
		return rc;
	}
	/* One update replaces the slot: a packet tail-calls either the old
	 * program or the new one, never an empty slot. */
	rc = bpf_map_update_elem(map, &index, &prog, BPF_ANY);
	if (rc < 0) {
		rc = -errno;
		/* A PROG_ARRAY takes only programs like its first one: same type,
		 * and on 6.18 the same expected_attach_type (libbpf gives SEC("xdp")
		 * BPF_XDP) and the same frags support. */
		if (rc == -EINVAL)
			PCN_ERR("BROKER-PP-INSTALL", "cannot install %s in slot %u: not a %s program like the netdev one "
				"(program type, attach type or xdp.frags differ)", pin_path, index,
				hook == PCN_HOOK_TC ? "tc" : "xdp");
		else
			PCN_ERR("BROKER-PP-INSTALL", "cannot install %s in slot %u: %s", pin_path, index,
				strerror(-rc));
	} else {
		PCN_DEBUG("BROKER-PP-INSTALL", "slot %u (%s) <- %s", index, hook == PCN_HOOK_TC ? "tc" : "xdp",
			  pin_path);
	}
	close(prog);
	return rc;
}

int broker_pp_remove(struct broker_dp *dp, enum pcn_hook hook, uint32_t index)
{
	int map = pp_fd(dp, hook);

	if (map < 0)
		return map;
	if (index >= PCN_MAX_CUBES)
		return -ERANGE;
	if (bpf_map_delete_elem(map, &index) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Writes one pcn_fwd entry and, if it changed, bumps the instance's
 * generation in pcn_baked_gen: a program whose wiring constants were read
 * at the old one goes back to reading pcn_fwd (bpf/pcn_baked.h) until its
 * runtime reloads it. Entry first, generation second. An unchanged entry
 * (a restarting broker wiring its ports again) keeps the constants valid. */
static int fwd_write(struct broker_dp *dp, uint32_t cube_index, uint32_t port, const struct pcn_fwd_val *val)
{
	__u32 key = pcn_fwd_slot(cube_index, port), gen = 0;
	struct pcn_fwd_val old;

	if (bpf_map_lookup_elem(dp->fwd, &key, &old) == 0 && memcmp(&old, val, sizeof(old)) == 0)
		return 0;
	if (bpf_map_update_elem(dp->fwd, &key, val, BPF_ANY) < 0)
		return -errno;
	if (bpf_map_lookup_elem(dp->baked_gen, &cube_index, &gen) < 0)
		return -errno;
	/* 0 is "no constants" (pcn_baked_gen_c): never a generation. */
	if (++gen == 0)
		gen = 1;
	if (bpf_map_update_elem(dp->baked_gen, &cube_index, &gen, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int broker_fwd_set(struct broker_dp *dp, uint32_t cube_index, uint32_t port, const struct pcn_fwd_val *val)
{
	if (cube_index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS || !val)
		return -EINVAL;
	return fwd_write(dp, cube_index, port, val);
}

/* pcn_fwd is an array (pcn_kern_user.h): its entries cannot be deleted, so
 * "no peer" is an entry of kind PCN_PEER_NONE. */
int broker_fwd_del(struct broker_dp *dp, uint32_t cube_index, uint32_t port)
{
	const struct pcn_fwd_val none = { .kind = PCN_PEER_NONE };
	__u32 key = pcn_fwd_slot(cube_index, port);
	struct pcn_fwd_val old;

	if (cube_index >= PCN_MAX_CUBES || port >= PCN_MAX_PORTS)
		return -ENOENT;
	if (bpf_map_lookup_elem(dp->fwd, &key, &old) < 0)
		return -errno;
	if (old.kind == PCN_PEER_NONE)
		return -ENOENT;
	return fwd_write(dp, cube_index, port, &none);
}

/* A per-CPU value array, one slot per possible CPU. */
int broker_stats_read(struct broker_dp *dp, uint32_t cube_index, struct pcn_cube_stats *out)
{
	if (cube_index >= PCN_MAX_CUBES)
		return -ERANGE;
	return pcn_percpu_sum_u64(dp->stats, &cube_index, sizeof(*out), out, sizeof(*out));
}

int broker_stats_reset(struct broker_dp *dp, uint32_t cube_index)
{
	if (cube_index >= PCN_MAX_CUBES)
		return -ERANGE;
	return pcn_percpu_reset(dp->stats, &cube_index, sizeof(struct pcn_cube_stats));
}

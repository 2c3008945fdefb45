/* The instance's wiring as load-time constants of its program
 * (bpf/pcn_baked.h): read from the shared pcn_fwd when the program is
 * loaded (baked_watch.c reloads it when the broker changes the wiring).
 *
 * The broker bumps pcn_baked_gen[instance] whenever it changes one of the
 * instance's pcn_fwd entries (broker/dataplane/dataplane.c). The program reads
 * pcn_fwd on every packet and uses a constant only as the target of a
 * direct jump to the very peer pcn_fwd names, so a stale program is slower
 * for a rewired hop, never wrong (bpf/pcn_baked.h).
 *
 * Part of loading: apply.c, reload.c and twin.c hand pcn__baked_prepare
 * to the loader as its pcn__load_opts.prepare hook.
 * Owns: nothing kept. Calls: fastpath.c's .rodata setters, libbpf.
 */
#include "pcn_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pcn_kern_user.h"

/* The load-time constants of bpf/pcn_baked.h. */
struct wiring {
	uint32_t gen;
	uint32_t kind[PCN_BAKED_PORTS], ifindex[PCN_BAKED_PORTS], cube[PCN_BAKED_PORTS], port[PCN_BAKED_PORTS];
};

static int map_at(const char *shared, const char *name)
{
	char path[PATH_MAX];
	int fd;

	int rc = pcn_path(path, sizeof(path), shared, name, (const char *)NULL);

	if (rc)
		return rc;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

uint32_t pcn__baked_gen(int fd, uint32_t index)
{
	uint32_t gen = 0;

	if (bpf_map_lookup_elem(fd, &index, &gen) < 0)
		gen = 0;
	return gen;
}

/* Reads the wiring of instance index: the generation before and after the
 * entries, so that a change in between is seen (gen 0: no constants). */
static void wiring_read(int gfd, int fwd_fd, uint32_t index, struct wiring *w)
{
	uint32_t before = pcn__baked_gen(gfd, index);

	memset(w, 0, sizeof(*w));
	for (uint32_t p = 0; p < PCN_BAKED_PORTS; p++) {
		struct pcn_fwd_val v = { 0 };
		uint32_t key = pcn_fwd_slot(index, p);

		if (bpf_map_lookup_elem(fwd_fd, &key, &v) < 0)
			return;
		w->kind[p] = v.kind;
		w->ifindex[p] = v.ifindex;
		w->cube[p] = v.cube_index;
		w->port[p] = v.port;
	}
	if (pcn__baked_gen(gfd, index) == before)
		w->gen = before;
}

/* A constant only objects built before 2026-11-26 have (pcn_baked.h then
 * used the peer's ifindex and port from constants while pcn_baked_gen
 * matched; an object given to pcn_reload may still be one): set when
 * present, so that such an object is not loaded with zeros there. */
static int rodata_set_old(struct bpf_object *obj, const char *name, const void *val, size_t len)
{
	int rc = pcn__rodata_set(obj, name, val, len);

	return rc == -ENOENT ? 0 : rc;
}

static int wiring_load(struct bpf_object *obj, const char *shared, uint32_t index)
{
	struct wiring w;
	int gfd, fwd_fd, rc;

	/* An object built without bpf/pcn_baked.h has nothing to set. */
	rc = pcn__rodata_get(obj, "pcn_baked_gen_c", &w.gen, sizeof(w.gen));
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	gfd = map_at(shared, PCN_MAP_BAKED_GEN);
	fwd_fd = map_at(shared, PCN_MAP_FWD);
	memset(&w, 0, sizeof(w));
	if (gfd >= 0 && fwd_fd >= 0 && index < PCN_MAX_CUBES)
		wiring_read(gfd, fwd_fd, index, &w);
	if (gfd >= 0)
		close(gfd);
	if (fwd_fd >= 0)
		close(fwd_fd);
	if ((rc = pcn__rodata_set(obj, "pcn_baked_kind", w.kind, sizeof(w.kind))) ||
	    (rc = pcn__rodata_set(obj, "pcn_baked_cube", w.cube, sizeof(w.cube))) ||
	    (rc = rodata_set_old(obj, "pcn_baked_ifindex", w.ifindex, sizeof(w.ifindex))) ||
	    (rc = rodata_set_old(obj, "pcn_baked_port", w.port, sizeof(w.port))))
		return rc;
	return pcn__rodata_set(obj, "pcn_baked_gen_c", &w.gen, sizeof(w.gen));
}

int pcn__baked_prepare(struct bpf_object *obj, const struct pcn__load_opts *o)
{
	return o->shared_pin_root ? wiring_load(obj, o->shared_pin_root, o->cube_index) : 0;
}

int pcn__baked_gen_open(const char *bpffs)
{
	char shared[PATH_MAX];

	if (pcn_layout_shared(shared, sizeof(shared), bpffs, NULL))
		return -ENAMETOOLONG;
	return map_at(shared, PCN_MAP_BAKED_GEN);
}

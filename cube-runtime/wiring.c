/* The instance's wiring as load-time constants of its program
 * (bpf/pcn_wire.h): read from the shared pcn_fwd when the program is
 * loaded, and the program reloaded when the broker changes the wiring.
 *
 * The broker bumps pcn_wire_gen[instance] whenever it changes one of the
 * instance's pcn_fwd entries (broker/dataplane.c). The program reads
 * pcn_fwd on every packet and uses a constant only as the target of a
 * direct jump to the very peer pcn_fwd names, so a stale program is slower
 * for a rewired hop, never wrong (bpf/pcn_wire.h). A
 * timer of each instance compares the two and reloads the entry program
 * (pcn_reload of program 0, make before break: the broker swaps the
 * PatchPanel slot) with the code it runs now: the cube's own object, or
 * the last code pcn_reload gave the entry. Micro-cubes (and the TC twin)
 * keep the constants they were loaded with and so read pcn_fwd after a
 * change; they are not reloaded behind the cube's back.
 *
 * Polling rather than a message from the broker: one array lookup per
 * instance and period, no protocol change, and a cube process that was
 * down when the wiring changed catches up by itself.
 *
 * Owns: inst->wiring, rt->wire_gen_fd. Calls: pcn__reload (reload.c),
 * pcn_timer_start, adopt.c's record; the loader calls it only through the
 * pcn__load_opts.prepare hook its callers set. Serving thread only.
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

/* How often each instance compares generations. */
#define WIRING_PERIOD_MS 200

/* The load-time constants of bpf/pcn_wire.h. */
struct wiring {
	uint32_t gen;
	uint32_t kind[PCN_WIRE_PORTS], ifindex[PCN_WIRE_PORTS], cube[PCN_WIRE_PORTS], port[PCN_WIRE_PORTS];
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

/* The current generation of instance index; 0 when unknown. */
static uint32_t gen_read(int fd, uint32_t index)
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
	uint32_t before = gen_read(gfd, index);

	memset(w, 0, sizeof(*w));
	for (uint32_t p = 0; p < PCN_WIRE_PORTS; p++) {
		struct pcn_fwd_val v = { 0 };
		uint32_t key = pcn_fwd_slot(index, p);

		if (bpf_map_lookup_elem(fwd_fd, &key, &v) < 0)
			return;
		w->kind[p] = v.kind;
		w->ifindex[p] = v.ifindex;
		w->cube[p] = v.cube_index;
		w->port[p] = v.port;
	}
	if (gen_read(gfd, index) == before)
		w->gen = before;
}

/* A constant only objects built before 2026-11-26 have (pcn_wire.h then
 * used the peer's ifindex and port from constants while pcn_wire_gen
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

	/* An object built without bpf/pcn_wire.h has nothing to set. */
	rc = pcn__rodata_get(obj, "pcn_wire_gen_c", &w.gen, sizeof(w.gen));
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	gfd = map_at(shared, PCN_MAP_WIRE_GEN);
	fwd_fd = map_at(shared, PCN_MAP_FWD);
	memset(&w, 0, sizeof(w));
	if (gfd >= 0 && fwd_fd >= 0 && index < PCN_MAX_CUBES)
		wiring_read(gfd, fwd_fd, index, &w);
	if (gfd >= 0)
		close(gfd);
	if (fwd_fd >= 0)
		close(fwd_fd);
	if ((rc = pcn__rodata_set(obj, "pcn_wire_kind", w.kind, sizeof(w.kind))) ||
	    (rc = pcn__rodata_set(obj, "pcn_wire_cube", w.cube, sizeof(w.cube))) ||
	    (rc = rodata_set_old(obj, "pcn_wire_ifindex", w.ifindex, sizeof(w.ifindex))) ||
	    (rc = rodata_set_old(obj, "pcn_wire_port", w.port, sizeof(w.port))))
		return rc;
	return pcn__rodata_set(obj, "pcn_wire_gen_c", &w.gen, sizeof(w.gen));
}

int pcn__wiring_prepare(struct bpf_object *obj, const struct pcn__load_opts *o)
{
	return o->shared_pin_root ? wiring_load(obj, o->shared_pin_root, o->cube_index) : 0;
}

/* The generation the pinned entry program of inst runs with, read from
 * its .rodata map in the kernel (at the offset inst->obj's BTF gives).
 * For an adopted program only: one lookup of a few syscalls, once. */
static int kernel_gen(const struct pcn_instance *inst, uint32_t *gen)
{
	struct bpf_prog_info pinfo = { 0 };
	uint32_t ids[32], plen = sizeof(pinfo), n;
	char path[PATH_MAX], *val = NULL;
	int fd, rc = -ENOENT;

	if (pcn_path(path, sizeof(path), inst->pin_dir, PCN_PIN_PROG, (const char *)NULL))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	pinfo.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pinfo.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(fd, &pinfo, &plen) < 0) {
		rc = -errno;
		goto out;
	}
	n = pinfo.nr_map_ids < sizeof(ids) / sizeof(ids[0]) ? pinfo.nr_map_ids : sizeof(ids) / sizeof(ids[0]);
	for (uint32_t i = 0; i < n && rc == -ENOENT; i++) {
		struct bpf_map_info minfo = { 0 };
		uint32_t mlen = sizeof(minfo), zero = 0;
		int mfd = bpf_map_get_fd_by_id(ids[i]);
		size_t nl;

		if (mfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(mfd, &minfo, &mlen) == 0 && (nl = strlen(minfo.name)) >= 7 &&
		    strcmp(minfo.name + nl - 7, ".rodata") == 0 && (val = malloc(minfo.value_size))) {
			size_t off = 0;

			rc = bpf_map_lookup_elem(mfd, &zero, val) < 0 ? -errno : 0;
			if (!rc)
				rc = pcn__rodata_offset(inst->obj, "pcn_wire_gen_c", sizeof(*gen), &off);
			if (!rc && off + sizeof(*gen) <= minfo.value_size)
				memcpy(gen, val + off, sizeof(*gen));
			else if (!rc)
				rc = -EINVAL;
			free(val);
		}
		close(mfd);
	}
out:
	close(fd);
	return rc;
}

void pcn__wiring_adopted(struct pcn_instance *inst)
{
	uint32_t gen = 0;

	/* Unknown stays 0: the first check then reloads, which is right if
	 * the wiring changed since and merely wasteful if not. */
	if (kernel_gen(inst, &gen) < 0)
		gen = 0;
	inst->wiring.adopted_obj = inst->obj;
	inst->wiring.adopted_gen = gen;
}

/* The timer: reloads the entry when the generation moved on. */
static void wiring_check(struct pcn_instance *inst, void *arg)
{
	const struct pcn_cube_desc *desc = inst->rt->desc;
	const void *(*bytes_fn)(size_t *) = inst->attach == PCN_ATTACH_TC ? desc->tc_object : desc->xdp_object;
	struct pcn_code code = { .kind = PCN_CODE_OBJECT };
	uint32_t loaded = 0, now;
	int rc;

	(void)arg;
	if (inst->wiring.adopted_obj && inst->wiring.adopted_obj == inst->obj)
		loaded = inst->wiring.adopted_gen;
	else if (!inst->obj || pcn__rodata_get(inst->obj, "pcn_wire_gen_c", &loaded, sizeof(loaded)) != 0)
		return;
	now = gen_read(inst->rt->wire_gen_fd, inst->index);
	if (now == loaded || now == 0)
		return;
	if (inst->reload.entry_code) {
		code.data = inst->reload.entry_code;
		code.len = inst->reload.entry_len;
	} else if (bytes_fn) {
		code.data = bytes_fn(&code.len);
	}
	/* The code it runs now: reload.c keeps it as it is. */
	rc = pcn__reload(inst, &code, 0, false);
	if (rc) {
		PCN_WARN("CUBE-WIRING-RELOAD", "instance %s: cannot reload with its new wiring (%s): its ports read "
			 "pcn_fwd meanwhile", inst->name, strerror(-rc));
		return;
	}
	/* From the cube's own object: a restarted process may adopt this
	 * program as it adopted the first (adopt.c records its id). */
	if (!inst->reload.entry_code)
		pcn__adopt_record_instance(inst, inst->loglevel);
	PCN_DEBUG("CUBE-WIRING-RELOAD", "instance %s: reloaded with wiring generation %u", inst->name, now);
}

int pcn__wiring_watch(struct pcn_instance *inst, const char *bpffs)
{
	struct pcn__runtime *rt = inst->rt;
	char shared[PATH_MAX];
	int rc;

	if (!rt->wire_gen_open) {
		if (pcn_layout_shared(shared, sizeof(shared), bpffs, NULL))
			return -ENAMETOOLONG;
		rc = map_at(shared, PCN_MAP_WIRE_GEN);
		if (rc < 0)
			return rc;
		rt->wire_gen_fd = rc;
		rt->wire_gen_open = true;
	}
	rc = pcn_timer_start(inst, WIRING_PERIOD_MS, wiring_check, NULL);
	return rc < 0 ? rc : 0;
}

void pcn__wiring_close(struct pcn__runtime *rt)
{
	if (rt->wire_gen_open)
		close(rt->wire_gen_fd);
	rt->wire_gen_open = false;
}

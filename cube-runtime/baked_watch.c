/* Reloading an instance's entry program when the broker changed its
 * wiring, so that its load-time constants (baked.c) follow.
 *
 * A timer of each instance compares pcn_baked_gen[instance] with the
 * generation its program was loaded with and reloads the entry program
 * (program 0, make before break: the broker swaps the PatchPanel slot)
 * with the code it runs now: the cube's own object, or the last code
 * pcn_reload gave the entry (reload.c keeps it). Micro-cubes (and the TC
 * twin) keep the constants they were loaded with and so read pcn_fwd after
 * a change; they are not reloaded behind the cube's back.
 *
 * Polling rather than a message from the broker: one array lookup per
 * instance and period, no protocol change, and a cube process that was
 * down when the wiring changed catches up by itself.
 *
 * Owns: inst->baked, rt->baked_gen_fd. Calls: reload.c (pcn__reload),
 * baked.c, timer.c, adopt.c's record, fastpath.c's .rodata readers.
 * Serving thread only.
 */
#include "pcn_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

/* How often each instance compares generations. */
#define WIRING_PERIOD_MS 200

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
				rc = pcn__rodata_offset(inst->obj, "pcn_baked_gen_c", sizeof(*gen), &off);
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

void pcn__baked_adopted(struct pcn_instance *inst)
{
	uint32_t gen = 0;

	/* Unknown stays 0: the first check then reloads, which is right if
	 * the wiring changed since and merely wasteful if not. */
	if (kernel_gen(inst, &gen) < 0)
		gen = 0;
	inst->baked.adopted_obj = inst->obj;
	inst->baked.adopted_gen = gen;
}

/* The timer: reloads the entry when the generation moved on. */
static void wiring_check(struct pcn_instance *inst, void *arg)
{
	const struct pcn_cube_desc *desc = inst->rt->desc;
	const void *(*bytes_fn)(size_t *) = inst->attach == PCN_HOOK_TC ? desc->tc_object : desc->xdp_object;
	struct pcn_code code = { .kind = PCN_CODE_OBJECT };
	uint32_t loaded = 0, now;
	int rc;

	(void)arg;
	if (inst->baked.adopted_obj && inst->baked.adopted_obj == inst->obj)
		loaded = inst->baked.adopted_gen;
	else if (!inst->obj || pcn__rodata_get(inst->obj, "pcn_baked_gen_c", &loaded, sizeof(loaded)) != 0)
		return;
	now = pcn__baked_gen(inst->rt->baked_gen_fd, inst->index);
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

int pcn__baked_watch(struct pcn_instance *inst, const char *bpffs)
{
	struct pcn__runtime *rt = inst->rt;
	int rc;

	if (!rt->baked_gen_open) {
		rc = pcn__baked_gen_open(bpffs);
		if (rc < 0)
			return rc;
		rt->baked_gen_fd = rc;
		rt->baked_gen_open = true;
	}
	rc = pcn_timer_start(inst, WIRING_PERIOD_MS, wiring_check, NULL);
	return rc < 0 ? rc : 0;
}

void pcn__baked_close(struct pcn__runtime *rt)
{
	if (rt->baked_gen_open)
		close(rt->baked_gen_fd);
	rt->baked_gen_open = false;
}

/* The TC twin of a transparent instance running at XDP.
 *
 * On a netdev, a transparent stack's egress pipeline runs at TC egress even
 * for XDP cubes: nothing at XDP sees what leaves a netdev. So such an
 * instance's TC build is loaded beside its XDP one, with the same constants
 * and the same instance maps (pinned in the instance's directory: counters
 * and state are one), and its program is pinned at <pin_dir>/prog_tc. The
 * broker puts it in the instance's slot of the TC PatchPanel before any
 * egress stack entry names that slot, and takes it out with the instance.
 *
 * Its micro-cubes cannot share the instance's arrays: a PROG_ARRAY takes
 * programs of the type of its first one only, and the XDP build owns those.
 * So the twin's arrays are its own, pinned beside them as pcn_uc_ingress_tc
 * and pcn_uc_egress_tc (ucube.c names them), and filled with the TC build's
 * micro-cubes here and at every reload (reload.c).
 *
 * Owns: <pin_dir>/prog_tc. Calls: the loader (fastpath.c, ucube.c),
 * baked.c's load hook (handed to the loader).
 */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

bool pcn__twin_wanted(const struct pcn_instance *inst)
{
	const struct pcn_cube_desc *d = inst->rt->desc;

	return d->kind == PCN_CUBE_TRANSPARENT && inst->attach != PCN_HOOK_TC && d->tc_object;
}

int pcn__twin_load(struct pcn_instance *inst, int loglevel, const char *bpffs, bool keep_pinned, char *pin,
		   size_t pin_len)
{
	const struct pcn_cube_desc *d = inst->rt->desc;
	char shared[PATH_MAX];
	struct bpf_object *obj = NULL;
	const void *bytes;
	size_t size = 0;
	int rc;

	pin[0] = '\0';
	if (!pcn__twin_wanted(inst))
		return 0;
	rc = pcn_path(pin, pin_len, inst->pin_dir, PCN_PIN_PROG_TC, (const char *)NULL);
	if (!rc)
		rc = pcn_layout_shared(shared, sizeof(shared), bpffs, NULL);
	if (rc)
		goto out;
	/* An adopted instance (unchanged program, restarted process) keeps
	 * its twin as well. */
	if (keep_pinned && access(pin, F_OK) == 0)
		return 0;
	bytes = d->tc_object(&size);
	struct pcn__load_opts o = {
		.shared_pin_root = shared,
		.pin_dir = inst->pin_dir,
		.cube_index = inst->index,
		.log_level = (uint32_t)loglevel,
		.object_name = d->service,
		.migrations = d->migrations,
		.twin = true,
		.prepare = pcn__baked_prepare,
	};
	rc = pcn__fastpath_load(&obj, bytes, size, &o);
	/* Micro-cubes before the entry is pinned for the broker: the entry
	 * never jumps into an empty slot. */
	if (!rc)
		rc = pcn__ucube_fill(obj);
	if (!rc)
		rc = pcn__fastpath_pin_prog(obj, pin);
	/* The pin keeps the program, the maps are the instance's pins. */
	bpf_object__close(obj);
out:
	if (rc) {
		PCN_ERR("CUBE-TWIN-LOAD", "instance %s: cannot load its TC build (its egress at TC): %s", inst->name,
			strerror(-rc));
		pin[0] = '\0';
	}
	return rc;
}

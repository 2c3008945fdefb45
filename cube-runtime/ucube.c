/* Micro-cubes (bpf/pcn_ucube.h): putting an object's micro-cube programs in
 * its program arrays, and the pin names of a TC twin's own arrays (twin.c).
 * Part of the loader: used by apply.c, reload.c and twin.c, and by
 * fastpath.c for pin names.
 * Owns: nothing kept. Calls: libbpf only. */
#include "pcn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

/* Which array and slot a program named pcn_uc_in_<k> / pcn_uc_eg_<k> goes
 * to; false for any other program. */
static bool ucube_slot(const char *name, bool *egress, uint32_t *slot)
{
	char *end;
	unsigned long k;

	if (strncmp(name, "pcn_uc_in_", 10) == 0)
		*egress = false;
	else if (strncmp(name, "pcn_uc_eg_", 10) == 0)
		*egress = true;
	else
		return false;
	k = strtoul(name + 10, &end, 10);
	if (*end || k == 0 || k >= 256)
		return false;
	*slot = (uint32_t)k;
	return true;
}

/* Each update replaces one slot atomically. */
int pcn__ucube_fill_slot(struct bpf_object *obj, int idx)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_map *arr;
		bool egress;
		uint32_t slot;
		int fd;

		if (!ucube_slot(bpf_program__name(prog), &egress, &slot))
			continue;
		if (idx >= 0 && (uint32_t)idx != (egress ? PCN_RELOAD_EGRESS + slot : slot))
			continue;
		arr = bpf_object__find_map_by_name(obj, egress ? "pcn_uc_egress" : "pcn_uc_ingress");
		if (!arr)
			return -ENOENT;
		fd = bpf_program__fd(prog);
		if (bpf_map_update_elem(bpf_map__fd(arr), &slot, &fd, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

int pcn__ucube_fill(struct bpf_object *obj)
{
	return pcn__ucube_fill_slot(obj, -1);
}

const char *pcn__twin_map_suffix(const struct pcn__load_opts *o, const char *map)
{
	return o->twin && strncmp(map, "pcn_uc_", 7) == 0 ? "_tc" : "";
}

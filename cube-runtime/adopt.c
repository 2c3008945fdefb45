/* Adoption of a pinned program by a restarted cube process: when the
 * instance's program was loaded from the very same object with the same
 * load-time constants, the new process takes the pinned program and maps
 * as they are, with no load and no verifier run, instead of loading a copy
 * and swapping it in.
 *
 * Beside the program pin, `pcn_prog_hash` (an array map: the only kind of
 * file bpffs holds) records what that program was loaded from: a hash of
 * the object bytes and constants, and the program's id. The id guards
 * against anything that re-pinned `prog` since (pcn_reload, an upgrade):
 * the check then fails and the instance is loaded as usual. */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#define HASH_PIN "pcn_prog_hash"

struct adopt_rec {
	uint64_t hash;    /* of the object bytes and load-time constants */
	uint32_t prog_id; /* the program pinned at <pin_dir>/prog then */
	uint32_t pad;
};

uint64_t pcn__object_hash(const void *bytes, size_t size, uint32_t cube_index, uint32_t log_level)
{
	const unsigned char *p = bytes;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
	uint32_t k[2] = { cube_index, log_level };

	for (size_t i = 0; i < size; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	for (size_t i = 0; i < sizeof(k); i++)
		h = (h ^ ((const unsigned char *)k)[i]) * 0x100000001b3ULL;
	return h;
}

static int pin_path(char *buf, size_t n, const char *dir, const char *name)
{
	return pcn_path(buf, n, dir, name, (const char *)NULL);
}

static int prog_id_at(const char *path, uint32_t *id)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(path), rc;

	if (fd < 0)
		return -errno;
	rc = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (!rc)
		*id = info.id;
	return rc;
}

int pcn__adopt(struct bpf_object **out, const void *bytes, size_t size, const struct pcn__load_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = o->object_name,
		    .pin_root_path = o->shared_pin_root);
	char path[PATH_MAX];
	struct adopt_rec rec;
	struct bpf_object *obj = NULL;
	struct bpf_map *map;
	uint32_t key = 0, id = 0;
	int fd, rc;

	if (!o->pin_dir || !o->shared_pin_root)
		return -ENOENT;
	rc = pin_path(path, sizeof(path), o->pin_dir, HASH_PIN);
	if (rc)
		return rc;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	rc = bpf_map_lookup_elem(fd, &key, &rec);
	close(fd);
	if (rc || rec.hash != pcn__object_hash(bytes, size, o->cube_index, o->log_level))
		return -ENOENT;
	rc = pin_path(path, sizeof(path), o->pin_dir, PCN_PIN_PROG);
	if (rc)
		return rc;
	if (prog_id_at(path, &id) || id != rec.prog_id)
		return -ENOENT;

	obj = bpf_object__open_mem(bytes, size, &oo);
	if (!obj)
		return -ENOENT;
	rc = pcn__fastpath_set_pins(obj, o);
	if (rc)
		goto out;
	/* Every map the program uses must still be pinned: its fd is what the
	 * control plane reads and writes. */
	bpf_object__for_each_map(map, obj) {
		const char *p = bpf_map__pin_path(map);

		if (bpf_map__is_internal(map))
			continue; /* .rodata, .bss: the program's own, never read here */
		if (!p) {
			rc = -ENOENT;
			goto out;
		}
		fd = bpf_obj_get(p);
		if (fd < 0) {
			rc = -ENOENT;
			goto out;
		}
		rc = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (rc)
			goto out;
	}
	*out = obj;
	obj = NULL;
out:
	bpf_object__close(obj);
	return rc;
}

int pcn__adopt_record(const char *pin_dir, const void *bytes, size_t size, uint32_t cube_index,
		      uint32_t log_level)
{
	struct adopt_rec rec = { .hash = pcn__object_hash(bytes, size, cube_index, log_level) };
	char path[PATH_MAX], prog[PATH_MAX];
	uint32_t key = 0;
	int fd, rc;

	rc = pin_path(path, sizeof(path), pin_dir, HASH_PIN);
	if (!rc)
		rc = pin_path(prog, sizeof(prog), pin_dir, PCN_PIN_PROG);
	if (!rc)
		rc = prog_id_at(prog, &rec.prog_id);
	if (rc)
		return rc;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, HASH_PIN, sizeof(key), sizeof(rec), 1, NULL);
		if (fd < 0)
			return -errno;
		if (bpf_obj_pin(fd, path)) {
			rc = -errno;
			close(fd);
			return rc;
		}
	}
	rc = bpf_map_update_elem(fd, &key, &rec, BPF_ANY) ? -errno : 0;
	close(fd);
	return rc;
}

/* The object bytes of the instance's hook. */
static const void *instance_bytes(const struct pcn_instance *inst, size_t *size)
{
	const struct pcn_cube_desc *d = inst->rt->desc;
	const void *(*fn)(size_t *) = inst->attach == PCN_HOOK_TC ? d->tc_object : d->xdp_object;

	*size = 0;
	return fn ? fn(size) : NULL;
}

int pcn__adopt_instance(struct pcn_instance *inst, const char *bpffs, int loglevel, struct bpf_object **out)
{
	char shared[PATH_MAX];
	const void *bytes;
	size_t size;
	int rc;

	bytes = instance_bytes(inst, &size);
	if (!bytes || pcn_layout_shared(shared, sizeof(shared), bpffs, NULL))
		return -ENOENT;
	struct pcn__load_opts o = {
		.shared_pin_root = shared,
		.pin_dir = inst->pin_dir,
		.cube_index = inst->index,
		.log_level = (uint32_t)loglevel,
		.object_name = inst->rt->desc->service,
	};
	rc = pcn__adopt(out, bytes, size, &o);
	if (rc == 0)
		PCN_INFO("CUBE-INSTANCE-ADOPTED", "instance %s: its pinned program and maps are unchanged: "
			 "adopted as they are", inst->name);
	return rc;
}

void pcn__adopt_record_instance(const struct pcn_instance *inst, int loglevel)
{
	const void *bytes;
	size_t size;
	int rc;

	bytes = instance_bytes(inst, &size);
	if (!bytes)
		return;
	rc = pcn__adopt_record(inst->pin_dir, bytes, size, inst->index, (uint32_t)loglevel);
	/* Without a record the next process just loads the program again. */
	if (rc)
		PCN_DEBUG("CUBE-ADOPT-RECORD", "instance %s: cannot record its program: %s", inst->name,
			  strerror(-rc));
}

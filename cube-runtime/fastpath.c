/* Loading an instance's fast path: load-time constants, pins, programs;
 * and the typed map access cube authors use. */
#include "pcn_int.h"
#include "pcn_percpu.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

/* The program every cube object exposes (bpf/pcn.h). */
#define PCN_ENTRY "pcn_entry"

static struct bpf_map *rodata_map(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);

		/* libbpf names it "<obj prefix>.rodata". */
		if (bpf_map__is_internal(map) && n >= 7 && strcmp(name + n - 7, ".rodata") == 0)
			return map;
	}
	return NULL;
}

/* Where variable `name` of len bytes lives in the object's .rodata: its
 * map, the map's current initial value (size bytes) and its offset there.
 * -ENOENT if the object has no such variable, -EINVAL if it has another
 * size. */
static int rodata_var(struct bpf_object *obj, const char *name, size_t len, struct bpf_map **map,
		      const char **cur, size_t *size, size_t *offset)
{
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	struct btf *btf;
	int id;

	btf = bpf_object__btf(obj);
	*map = rodata_map(obj);
	if (!btf || !*map)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	*size = 0;
	*cur = bpf_map__initial_value(*map, size);
	if (!*cur)
		return -ENOENT;
	vsi = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
			continue;
		if (vsi->size != len || vsi->offset + len > *size)
			return -EINVAL; /* the fast path declares it with another type */
		*offset = vsi->offset;
		return 0;
	}
	return -ENOENT;
}

int pcn__rodata_set_u32(struct bpf_object *obj, const char *name, uint32_t v)
{
	return pcn__rodata_set(obj, name, &v, sizeof(v));
}

int pcn__rodata_set(struct bpf_object *obj, const char *name, const void *v, size_t len)
{
	struct bpf_map *map;
	size_t size, offset;
	const char *cur;
	char *data;
	int rc = rodata_var(obj, name, len, &map, &cur, &size, &offset);

	if (rc)
		return rc;
	/* libbpf 1.1 hands out the initial value read-only: change a copy and
	 * set it back, the documented way. */
	data = malloc(size);
	if (!data)
		return -ENOMEM;
	memcpy(data, cur, size);
	memcpy(data + offset, v, len);
	rc = bpf_map__set_initial_value(map, data, size);
	free(data);
	return rc;
}

int pcn__rodata_offset(struct bpf_object *obj, const char *name, size_t len, size_t *offset)
{
	struct bpf_map *map;
	const char *cur;
	size_t size;

	return rodata_var(obj, name, len, &map, &cur, &size, offset);
}

int pcn__rodata_get(struct bpf_object *obj, const char *name, void *v, size_t len)
{
	struct bpf_map *map;
	size_t size, offset;
	const char *cur;
	int rc = rodata_var(obj, name, len, &map, &cur, &size, &offset);

	if (!rc)
		memcpy(v, cur + offset, len);
	return rc;
}

int pcn__mkdirs(const char *path)
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
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int pcn__unpin_dir(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* A cut path would unlink another file: skip it (rmdir then fails). */
		if (pcn_path(path, sizeof(path), dir, e->d_name, (const char *)NULL))
			rc = -ENAMETOOLONG;
		else if (unlink(path) && errno != ENOENT)
			rc = -errno;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT && !rc)
		rc = -errno;
	return rc;
}

/* Shared maps got a pin path from pin_root_path when the object was opened
 * (LIBBPF_PIN_BY_NAME); every other non-internal map is the instance's. */
static int set_pins(struct bpf_object *obj, const struct pcn__load_opts *o)
{
	struct bpf_map *map;
	int rc;

	bpf_object__for_each_map(map, obj) {
		char path[PATH_MAX];

		if (bpf_map__is_internal(map))
			continue;
		if (bpf_map__pin_path(map)) {
			if (!o->shared_pin_root) {
				rc = bpf_map__set_pin_path(map, NULL);
				if (rc)
					return rc;
			}
			continue;
		}
		if (!o->pin_dir)
			continue;
		/* A namespace's map is pinned where every instance naming
		 * that namespace finds it (tables.c). */
		rc = pcn__ns_pin_path(o->shared_pin_root, bpf_map__name(map), path, sizeof(path));
		if (rc < 0)
			return rc;
		if (rc == 0 && (size_t)snprintf(path, sizeof(path), "%s/%s%s", o->pin_dir, bpf_map__name(map),
						pcn__twin_map_suffix(o, bpf_map__name(map))) >= sizeof(path))
			return -ENAMETOOLONG;
		/* libbpf reuses what is pinned there (state learned by an
		 * earlier process survives), or creates the map and pins it. */
		rc = bpf_map__set_pin_path(map, path);
		if (rc)
			return rc;
	}
	return 0;
}

int pcn__fastpath_set_pins(struct bpf_object *obj, const struct pcn__load_opts *o)
{
	return set_pins(obj, o);
}

int pcn__fastpath_load(struct bpf_object **out, const void *bytes, size_t size,
		       const struct pcn__load_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = o->object_name,
		    .pin_root_path = o->shared_pin_root, .kernel_log_buf = o->log_buf,
		    .kernel_log_size = o->log_size);
	struct pcn__migration mig;
	struct bpf_object *obj;
	char nomsg[256];
	int rc;

	if (!bytes || !size)
		return -ENOENT;
	if (o->log_buf && o->log_size)
		o->log_buf[0] = '\0';
	obj = bpf_object__open_mem(bytes, size, &oo);
	if (!obj)
		return errno ? -errno : -EINVAL;
	if (!bpf_object__find_program_by_name(obj, PCN_ENTRY)) {
		PCN_ERR("CUBE-BPF-NOENTRY", "the fast path has no program %s", PCN_ENTRY);
		rc = -ENOENT;
		goto out;
	}
	rc = pcn__rodata_set_u32(obj, "pcn_cube_index", o->cube_index);
	if (!rc)
		rc = pcn__rodata_set_u32(obj, "pcn_log_level", o->log_level);
	if (!rc && o->prepare)
		rc = o->prepare(obj, o);
	if (rc) {
		PCN_ERR("CUBE-BPF-RODATA", "cannot set the load-time constants: %s", strerror(-rc));
		goto out;
	}
	rc = set_pins(obj, o);
	if (rc)
		goto out;
	if (o->pin_dir) {
		rc = pcn__mkdirs(o->pin_dir);
		if (rc)
			goto out;
	}
	/* Maps pinned by an older version with another layout: migrate or refuse. */
	rc = pcn__migrate_begin(obj, o, &mig, o->err_msg ? o->err_msg : nomsg,
				o->err_msg ? o->err_len : sizeof(nomsg));
	if (rc)
		goto out;
	rc = bpf_object__load(obj);
	rc = pcn__migrate_finish(&mig, rc ? NULL : obj, rc);
	if (rc)
		goto out;
	*out = obj;
	obj = NULL;
out:
	bpf_object__close(obj);
	return rc;
}

int pcn__fastpath_pin_prog(struct bpf_object *obj, const char *path)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, PCN_ENTRY);

	if (!prog)
		return -ENOENT;
	/* The PatchPanel still holds the old program: replacing the pin loses
	 * no packet, and the broker swaps the slot next. */
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return bpf_program__pin(prog, path);
}

/* ---- map access --------------------------------------------------------- */

static struct bpf_map *find_map(const struct pcn_instance *inst, const char *name)
{
	if (!inst || !inst->obj || !name)
		return NULL;
	return bpf_object__find_map_by_name(inst->obj, name);
}

int pcn_map_fd(const struct pcn_instance *inst, const char *map)
{
	struct bpf_map *m = find_map(inst, map);

	return m ? bpf_map__fd(m) : -ENOENT;
}

static int map_op_rc(int rc)
{
	/* libbpf 1.x returns -errno already; keep errno-style codes either way. */
	return rc < 0 ? rc : (rc ? -EIO : 0);
}

int pcn_map_lookup(const struct pcn_instance *inst, const char *map, const void *key, void *value)
{
	int fd = pcn_map_fd(inst, map);

	return fd < 0 ? fd : map_op_rc(bpf_map_lookup_elem(fd, key, value));
}

int pcn_map_update(const struct pcn_instance *inst, const char *map, const void *key,
		   const void *value, uint64_t flags)
{
	int fd = pcn_map_fd(inst, map);

	return fd < 0 ? fd : map_op_rc(bpf_map_update_elem(fd, key, value, flags));
}

int pcn_map_delete(const struct pcn_instance *inst, const char *map, const void *key)
{
	int fd = pcn_map_fd(inst, map);

	return fd < 0 ? fd : map_op_rc(bpf_map_delete_elem(fd, key));
}

int pcn_map_next_key(const struct pcn_instance *inst, const char *map, const void *key, void *next)
{
	int fd = pcn_map_fd(inst, map);

	return fd < 0 ? fd : map_op_rc(bpf_map_get_next_key(fd, key, next));
}

int pcn_map_clear(const struct pcn_instance *inst, const char *map)
{
	struct bpf_map *m = find_map(inst, map);
	char key[256];
	int fd, rc;

	if (!m)
		return -ENOENT;
	if (bpf_map__key_size(m) > sizeof(key))
		return -E2BIG;
	switch (bpf_map__type(m)) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
		break;
	default:
		return -EINVAL;
	}
	fd = bpf_map__fd(m);
	/* Always restart from the first key: deleting the current key would
	 * make get_next_key start over anyway on a hash map. */
	while ((rc = bpf_map_get_next_key(fd, NULL, key)) == 0) {
		rc = bpf_map_delete_elem(fd, key);
		if (rc && rc != -ENOENT)
			return rc;
	}
	return rc == -ENOENT ? 0 : rc;
}

int pcn_ncpus(void)
{
	return libbpf_num_possible_cpus();
}

int pcn_map_lookup_percpu(const struct pcn_instance *inst, const char *map, const void *key,
			  void *values)
{
	return pcn_map_lookup(inst, map, key, values);
}

int pcn_map_sum_u64(const struct pcn_instance *inst, const char *map, const void *key,
		    uint64_t *sums, size_t n)
{
	struct bpf_map *m = find_map(inst, map);

	if (!m)
		return -ENOENT;
	if (n > SIZE_MAX / sizeof(*sums))
		return -EINVAL;
	return pcn_percpu_sum_u64(bpf_map__fd(m), key, bpf_map__value_size(m), sums, n * sizeof(*sums));
}

/* Upgrades of a cube type: the map layouts a new binary announces when it
 * registers, the migration of pinned maps whose layout changed, and the
 * generic migration cubes may declare (pcn_map_migrate_copy). */
#include "pcn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

/* Big enough for any key or per-CPU value we copy (the kernel caps a map
 * value at KMALLOC_MAX_SIZE; fast-path maps are far below that). */
#define MIGRATE_KEY_MAX 512

static bool percpu_type(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool array_type(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* A table keyed by a small number may move between a hash and an array
 * (simpleforwarder's actions did, for the array's inlined lookup): same
 * per-CPU-ness, 4-byte keys. */
static bool types_convertible(const struct bpf_map_info *o, const struct bpf_map_info *n)
{
	if (o->type == n->type)
		return true;
	if (o->key_size != 4 || percpu_type(o->type) != percpu_type(n->type))
		return false;
	if (o->type == BPF_MAP_TYPE_HASH || o->type == BPF_MAP_TYPE_PERCPU_HASH)
		return array_type(n->type);
	return array_type(o->type) && (n->type == BPF_MAP_TYPE_HASH || n->type == BPF_MAP_TYPE_PERCPU_HASH);
}

static bool all_zero(const unsigned char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i])
			return false;
	return true;
}

int pcn_map_migrate_copy(int old_fd, int new_fd)
{
	struct bpf_map_info oi = { 0 }, ni = { 0 };
	uint32_t olen = sizeof(oi), nlen = sizeof(ni);
	size_t ostride, nstride, ncopy;
	unsigned char key[MIGRATE_KEY_MAX], next[MIGRATE_KEY_MAX];
	unsigned char *ov = NULL, *nv = NULL;
	int ncpus = 1, rc;
	bool first = true;

	if (bpf_obj_get_info_by_fd(old_fd, &oi, &olen) || bpf_obj_get_info_by_fd(new_fd, &ni, &nlen))
		return -errno;
	if (!types_convertible(&oi, &ni) || oi.key_size != ni.key_size || oi.key_size > MIGRATE_KEY_MAX)
		return -EINVAL; /* only values may change shape, and hash <-> array */
	if (percpu_type(oi.type)) {
		ncpus = libbpf_num_possible_cpus();
		if (ncpus < 0)
			return ncpus;
		/* The kernel lays each CPU's value out on 8 bytes. */
		ostride = (oi.value_size + 7) / 8 * 8;
		nstride = (ni.value_size + 7) / 8 * 8;
	} else {
		ostride = oi.value_size;
		nstride = ni.value_size;
	}
	ncopy = oi.value_size < ni.value_size ? oi.value_size : ni.value_size;
	ov = calloc((size_t)ncpus, ostride);
	nv = calloc((size_t)ncpus, nstride);
	if (!ov || !nv) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		rc = bpf_map_get_next_key(old_fd, first ? NULL : key, next);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc)
			goto out;
		first = false;
		memcpy(key, next, oi.key_size);
		rc = bpf_map_lookup_elem(old_fd, key, ov);
		if (rc == -ENOENT)
			continue; /* deleted by the fast path meanwhile */
		if (rc)
			goto out;
		memset(nv, 0, (size_t)ncpus * nstride);
		for (int c = 0; c < ncpus; c++)
			memcpy(nv + (size_t)c * nstride, ov + (size_t)c * ostride, ncopy);
		/* An array of fewer entries drops what no longer fits. */
		if (array_type(ni.type) && *(uint32_t *)key >= ni.max_entries)
			continue;
		/* Every index of an array exists: into a hash go the ones that
		 * hold something. */
		if (array_type(oi.type) && !array_type(ni.type) && all_zero(ov, (size_t)ncpus * ostride))
			continue;
		rc = bpf_map_update_elem(new_fd, key, nv, BPF_ANY);
		if (rc)
			goto out;
	}
out:
	free(ov);
	free(nv);
	return rc;
}

static pcn_migrate_cb find_migration(const struct pcn_map_migration *m, const char *name)
{
	for (; m && m->map; m++)
		if (strcmp(m->map, name) == 0)
			return m->migrate;
	return NULL;
}

static bool same_layout(const struct bpf_map_info *pinned, const struct bpf_map *map)
{
	return pinned->type == (uint32_t)bpf_map__type(map) && pinned->key_size == bpf_map__key_size(map) &&
	       pinned->value_size == bpf_map__value_size(map) &&
	       pinned->max_entries == bpf_map__max_entries(map) && pinned->map_flags == bpf_map__map_flags(map);
}

int pcn__migrate_begin(struct bpf_object *obj, const struct pcn__load_opts *o, struct pcn__migration *mig,
		       char *msg, size_t msglen)
{
	struct bpf_map *map;
	int rc = 0;

	memset(mig, 0, sizeof(*mig));
	bpf_object__for_each_map(map, obj) {
		const char *path = bpf_map__pin_path(map), *name = bpf_map__name(map);
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);
		struct pcn__migrating *m;
		pcn_migrate_cb cb;
		int fd;

		/* Only the instance's own maps: shared maps are pinned under
		 * the shared root, never in the instance's directory. */
		if (bpf_map__is_internal(map) || !path || !o->pin_dir ||
		    strncmp(path, o->pin_dir, strlen(o->pin_dir)) != 0)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* nothing pinned yet: a new instance */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || same_layout(&info, map)) {
			close(fd);
			continue; /* libbpf reuses the pin */
		}
		cb = find_migration(o->migrations, name);
		if (!cb) {
			snprintf(msg, msglen, "map %s is pinned with another layout (key %u, value %u, "
				 "%u entries; this fast path wants key %u, value %u, %u entries) and the cube "
				 "declares no migration for it", name, info.key_size, info.value_size,
				 info.max_entries, bpf_map__key_size(map), bpf_map__value_size(map),
				 bpf_map__max_entries(map));
			close(fd);
			rc = -EPROTO;
			goto fail;
		}
		m = realloc(mig->maps, (mig->n + 1) * sizeof(*m));
		if (!m) {
			close(fd);
			rc = -ENOMEM;
			goto fail;
		}
		mig->maps = m;
		m = &mig->maps[mig->n++];
		m->old_fd = fd;
		m->cb = cb;
		snprintf(m->name, sizeof(m->name), "%s", name);
		snprintf(m->path, sizeof(m->path), "%s", path);
		/* The old map stays alive through fd (and the running old
		 * program); the new one gets the pin when the object loads. */
		if (unlink(path)) {
			rc = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	pcn__migrate_finish(mig, NULL, rc);
	return rc;
}

int pcn__migrate_finish(struct pcn__migration *mig, struct bpf_object *obj, int load_rc)
{
	int rc = load_rc;

	for (size_t i = 0; i < mig->n; i++) {
		struct pcn__migrating *m = &mig->maps[i];
		struct bpf_map *map = obj ? bpf_object__find_map_by_name(obj, m->name) : NULL;

		if (rc == 0 && map) {
			rc = m->cb(m->old_fd, bpf_map__fd(map));
			if (rc)
				PCN_ERR("CUBE-MIGRATE-FAILED", "migrating map %s failed: %s", m->name,
					strerror(-rc));
			else
				PCN_INFO("CUBE-MIGRATED", "map %s migrated to its new layout", m->name);
		}
	}
	/* On any failure the old maps get their pins back: the old version
	 * keeps running on them and nothing changed. */
	for (size_t i = 0; i < mig->n; i++) {
		struct pcn__migrating *m = &mig->maps[i];

		if (rc) {
			unlink(m->path);
			if (bpf_obj_pin(m->old_fd, m->path))
				PCN_ERR("CUBE-MIGRATE-REPIN", "cannot pin %s back: %s", m->path, strerror(errno));
		}
		close(m->old_fd);
	}
	free(mig->maps);
	mig->maps = NULL;
	mig->n = 0;
	return rc;
}

int pcn__map_layouts(const struct pcn_cube_desc *d, struct pcn__map_layouts *out)
{
	const void *(*bytes_fn)(size_t *) = d->tc_object ? d->tc_object : d->xdp_object;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = d->service);
	struct bpf_object *obj;
	struct bpf_map *map;
	const void *bytes;
	size_t size = 0, n = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!bytes_fn)
		return 0;
	bytes = bytes_fn(&size);
	obj = bpf_object__open_mem(bytes, size, &oo);
	if (!obj)
		return errno ? -errno : -EINVAL;
	bpf_object__for_each_map(map, obj)
		n++;
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	out->p = calloc(n ? n : 1, sizeof(*out->p));
	if (!out->v || !out->p) {
		rc = -ENOMEM;
		goto out;
	}
	bpf_object__for_each_map(map, obj) {
		Cubemesh__MapLayout *l = &out->v[out->n];

		/* Shared maps are pinned by name (they have a pin path from
		 * the start): they are the framework's, not the cube's. */
		if (bpf_map__is_internal(map) || bpf_map__pin_path(map))
			continue;
		cubemesh__map_layout__init(l);
		l->name = strdup(bpf_map__name(map));
		if (!l->name) {
			rc = -ENOMEM;
			goto out;
		}
		l->type = bpf_map__type(map);
		l->key_size = bpf_map__key_size(map);
		l->value_size = bpf_map__value_size(map);
		l->max_entries = bpf_map__max_entries(map);
		l->has_migrates = 1;
		l->migrates = find_migration(d->migrations, l->name) != NULL;
		out->p[out->n] = l;
		out->n++;
	}
out:
	bpf_object__close(obj);
	if (rc)
		pcn__map_layouts_free(out);
	return rc;
}

void pcn__map_layouts_free(struct pcn__map_layouts *l)
{
	for (size_t i = 0; l->v && i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l->p);
	memset(l, 0, sizeof(*l));
}

bool pcn__ipc_live(const char *path)
{
	char line[PATH_MAX + 128];
	bool live = false;
	FILE *f;

	/* Connecting to find out would be simpler, but nng 1.5.2's listener
	 * does exactly that on a busy path, and a REP socket so probed stops
	 * answering on this machine: read the kernel's table instead. A
	 * listening socket has __SO_ACCEPTCON (0x10000) in Flags. */
	f = fopen("/proc/net/unix", "re");
	if (!f)
		return false;
	while (!live && fgets(line, sizeof(line), f)) {
		unsigned long flags;
		char p[PATH_MAX];
		size_t n;

		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %4095s", &flags, p) != 2)
			continue;
		n = strlen(p);
		if (n && p[n - 1] == '\n')
			p[n - 1] = '\0';
		live = (flags & 0x10000) && strcmp(p, path) == 0;
	}
	fclose(f);
	return live;
}

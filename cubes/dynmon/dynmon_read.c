/* Reading a user's map into samples, as Polycube's dynmon reads them: an
 * array (or a queue, a stack) gives its values in order, a hash map its
 * entries with their keys; per-CPU maps are summed over the CPUs. Values
 * and keys of 1, 2, 4 or 8 bytes are unsigned integers, anything else is
 * shown as the hex of its bytes (and cannot be exported as a number).
 *
 * swap-on-read: each read takes what the map holds out of it, so that the
 * next one returns what was counted since. Polycube swaps the program onto
 * a twin map; here, without a second program, each entry is taken out in
 * one atomic operation where the kernel has one: an array's 4- and 8-byte
 * values are exchanged with 0 through the array's mmap (the compat header
 * makes "array" maps mmapable), a hash map's entries are looked up and
 * deleted in one call. Per-CPU arrays and other value sizes are read then
 * zeroed: an update landing between the two is lost.
 * empty-on-read: read, then empty (arrays zeroed, entries deleted). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "dynmon_int.h"

static bool is_percpu(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_hash(uint32_t t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_int_size(uint32_t n)
{
	return n == 1 || n == 2 || n == 4 || n == 8;
}

static uint64_t to_u64(const void *p, uint32_t n)
{
	switch (n) {
	case 1: return *(const uint8_t *)p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static void to_hex(char *out, size_t outlen, const void *p, uint32_t n)
{
	const uint8_t *b = p;
	size_t used = (size_t)snprintf(out, outlen, "0x");

	for (uint32_t i = 0; i < n && used + 3 < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%02x", b[i]);
}

/* A value (ncpu values of stride bytes for a per-CPU map) into s. */
static void set_value(struct dm_sample *s, const struct dm_map *m, const uint8_t *v, int ncpu, size_t stride)
{
	s->numeric = is_int_size(m->value_size);
	if (!s->numeric) {
		to_hex(s->hex, sizeof(s->hex), v, m->value_size);
		return;
	}
	s->value = 0;
	for (int c = 0; c < ncpu; c++)
		s->value += to_u64(v + (size_t)c * stride, m->value_size);
}

static void set_key(struct dm_sample *s, const struct dm_map *m, const void *k)
{
	s->keyed = true;
	if (is_int_size(m->key_size))
		snprintf(s->key, sizeof(s->key), "%llu", (unsigned long long)to_u64(k, m->key_size));
	else {
		s->key[0] = '"';
		to_hex(s->key + 1, sizeof(s->key) - 2, k, m->key_size);
		strcat(s->key, "\"");
	}
}

/* An array's 4- or 8-byte values exchanged with 0 in place. */
static int swap_mmap(const struct dm_map *m, struct dm_sample *out, size_t n)
{
	size_t stride = (m->value_size + 7) & ~7u, len = stride * m->max_entries;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *base;

	len = (len + (size_t)page - 1) & ~((size_t)page - 1);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = base + i * stride;

		out[i].numeric = true;
		out[i].value = m->value_size == 8 ? __atomic_exchange_n((uint64_t *)p, 0, __ATOMIC_SEQ_CST)
						  : __atomic_exchange_n((uint32_t *)p, 0, __ATOMIC_SEQ_CST);
	}
	munmap(base, len);
	return 0;
}

static int read_array(const struct dm_map *m, bool swap, bool empty, struct dm_sample *out, size_t *n)
{
	int ncpu = is_percpu(m->type) ? pcn_ncpus() : 1;
	size_t stride = (m->value_size + 7) & ~7u, vlen = ncpu > 1 ? stride * (size_t)ncpu : m->value_size;
	uint8_t *v = calloc(1, vlen), *zero = calloc(1, vlen);
	int rc = 0;

	*n = m->max_entries < DM_MAX_SAMPLES ? m->max_entries : DM_MAX_SAMPLES;
	if (!v || !zero) {
		rc = -ENOMEM;
		goto out;
	}
	if (swap && m->type == BPF_MAP_TYPE_ARRAY && (m->flags & BPF_F_MMAPABLE) &&
	    (m->value_size == 8 || m->value_size == 4)) {
		rc = swap_mmap(m, out, *n);
		if (rc != -EPERM && rc != -EINVAL)
			goto out;
	}
	for (uint32_t i = 0; i < *n; i++) {
		if (bpf_map_lookup_elem(m->fd, &i, v)) {
			rc = -errno;
			goto out;
		}
		set_value(&out[i], m, v, ncpu, stride);
		if ((swap || empty) && bpf_map_update_elem(m->fd, &i, zero, BPF_ANY)) {
			rc = -errno;
			goto out;
		}
	}
out:
	free(v);
	free(zero);
	return rc;
}

static int read_hash(const struct dm_map *m, bool swap, bool empty, struct dm_sample *out, size_t *n)
{
	int ncpu = is_percpu(m->type) ? pcn_ncpus() : 1;
	size_t stride = (m->value_size + 7) & ~7u, vlen = ncpu > 1 ? stride * (size_t)ncpu : m->value_size;
	uint8_t *keys = malloc((size_t)m->key_size * DM_MAX_SAMPLES), *v = calloc(1, vlen);
	size_t nk = 0;
	int rc = 0;

	*n = 0;
	if (!keys || !v) {
		rc = -ENOMEM;
		goto out;
	}
	/* Keys first: deleting while walking would restart the walk. */
	while (nk < DM_MAX_SAMPLES &&
	       bpf_map_get_next_key(m->fd, nk ? keys + (nk - 1) * m->key_size : NULL, keys + nk * m->key_size) == 0)
		nk++;
	for (size_t i = 0; i < nk; i++) {
		uint8_t *k = keys + i * m->key_size;
		int r;

		if (swap) {
			r = bpf_map_lookup_and_delete_elem(m->fd, k, v);
			if (r && (errno == ENOTSUP || errno == EOPNOTSUPP || errno == EINVAL)) {
				r = bpf_map_lookup_elem(m->fd, k, v);
				if (!r)
					bpf_map_delete_elem(m->fd, k);
			}
		} else {
			r = bpf_map_lookup_elem(m->fd, k, v);
			if (!r && empty)
				bpf_map_delete_elem(m->fd, k);
		}
		if (r)
			continue; /* gone since the walk (LRU, the program) */
		set_key(&out[*n], m, k);
		set_value(&out[*n], m, v, ncpu, stride);
		(*n)++;
	}
out:
	free(keys);
	free(v);
	return rc;
}

/* Queues and stacks are read by popping, as Polycube does; a peek takes
 * the head only. */
static int read_queue(const struct dm_map *m, bool peek, struct dm_sample *out, size_t *n)
{
	uint8_t *v = calloc(1, m->value_size);

	*n = 0;
	if (!v)
		return -ENOMEM;
	while (*n < DM_MAX_SAMPLES) {
		if (peek ? bpf_map_lookup_elem(m->fd, NULL, v) : bpf_map_lookup_and_delete_elem(m->fd, NULL, v))
			break;
		set_value(&out[*n], m, v, 1, 0);
		(*n)++;
		if (peek)
			break;
	}
	free(v);
	return 0;
}

int dm_read(const struct dm_map *m, const struct dm_metric *c, enum dm_read_mode mode, struct dm_sample **out,
	    size_t *n)
{
	bool swap = mode == DM_READ_OPTIONS && c->swap, empty = mode == DM_READ_OPTIONS && c->empty;
	struct dm_sample *s = calloc(DM_MAX_SAMPLES, sizeof(*s));
	int rc;

	*n = 0;
	if (!s)
		return -ENOMEM;
	if (m->type == BPF_MAP_TYPE_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_ARRAY)
		rc = read_array(m, swap, empty, s, n);
	else if (is_hash(m->type))
		rc = read_hash(m, swap, empty, s, n);
	else if (m->type == BPF_MAP_TYPE_QUEUE || m->type == BPF_MAP_TYPE_STACK)
		rc = read_queue(m, mode == DM_READ_PEEK, s, n);
	else
		rc = -EOPNOTSUPP;
	if (rc) {
		free(s);
		*n = 0;
		return rc;
	}
	*out = s;
	return 0;
}

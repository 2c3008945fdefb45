/* Reading a user's map into samples, as Polycube's dynmon reads them: an
 * array (or a queue, a stack) gives its values in order, a hash map its
 * entries with their keys; per-CPU maps are summed over the CPUs. Keys
 * and values are decoded with their types from the code's BTF (the
 * kernel's copy of it): an integer (or an enum) is a number, a struct a
 * JSON object of its fields, an array a list, a char array a string, as
 * Polycube shows them; only integers are numbers OpenMetrics can export.
 * Per-CPU values that are not integers are listed per CPU. Without BTF,
 * 1, 2, 4 and 8 bytes are unsigned integers and anything else the hex of
 * its bytes.
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
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

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

static void hex_json(FILE *f, const uint8_t *b, size_t n)
{
	fputs("\"0x", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
	fputc('"', f);
}

static void json_string(FILE *f, const uint8_t *b, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n && b[i]; i++) {
		if (b[i] == '"' || b[i] == '\\')
			fprintf(f, "\\%c", b[i]);
		else if (b[i] < 0x20 || b[i] >= 0x7f)
			fprintf(f, "\\u%04x", b[i]);
		else
			fputc(b[i], f);
	}
	fputc('"', f);
}

/* Bits [off, off + bits) of p, little-endian, as an unsigned number. */
static uint64_t bits_at(const uint8_t *p, uint32_t off, uint32_t bits)
{
	uint64_t v = 0;
	size_t first = off / 8, last = (off + bits + 7) / 8;

	for (size_t i = first; i < last && i - first < 8; i++)
		v |= (uint64_t)p[i] << (8 * (i - first));
	v >>= off % 8;
	return bits >= 64 ? v : v & ((1ULL << bits) - 1);
}

/* The value of BTF type id at p (size bytes available) as JSON; -1 for a
 * type it cannot show (the caller shows the bytes). */
static int btf_json(const struct btf *btf, uint32_t id, const uint8_t *p, size_t size, FILE *f, int depth)
{
	const struct btf_type *t;
	int rid = btf__resolve_type(btf, id);

	if (rid < 0 || depth > 8 || !(t = btf__type_by_id(btf, (uint32_t)rid)))
		return -1;
	switch (btf_kind(t)) {
	case BTF_KIND_INT: {
		uint32_t enc = btf_int_encoding(t), n = t->size;
		uint64_t v = 0;

		if (n > 8 || n > size)
			return -1;
		memcpy(&v, p, n);
		if (enc & BTF_INT_BOOL)
			fputs(v ? "true" : "false", f);
		else if ((enc & BTF_INT_SIGNED) && n < 8 && (v >> (8 * n - 1)) & 1)
			fprintf(f, "%lld", (long long)(v | ~((1ULL << (8 * n)) - 1)));
		else if (enc & BTF_INT_SIGNED)
			fprintf(f, "%lld", (long long)v);
		else
			fprintf(f, "%llu", (unsigned long long)v);
		return 0;
	}
	case BTF_KIND_ENUM: {
		const struct btf_enum *e = btf_enum(t);
		int32_t v = 0;

		if (t->size != 4 || size < 4)
			return -1;
		memcpy(&v, p, 4);
		for (uint16_t i = 0; i < btf_vlen(t); i++)
			if (e[i].val == v) {
				fprintf(f, "\"%s\"", btf__name_by_offset(btf, e[i].name_off));
				return 0;
			}
		fprintf(f, "%d", v);
		return 0;
	}
	case BTF_KIND_PTR:
		if (size < 8)
			return -1;
		fprintf(f, "%llu", (unsigned long long)to_u64(p, 8));
		return 0;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		int eid = btf__resolve_type(btf, a->type);
		const struct btf_type *et = eid >= 0 ? btf__type_by_id(btf, (uint32_t)eid) : NULL;
		long esz = btf__resolve_size(btf, a->type);

		if (!et || esz <= 0 || (size_t)esz * a->nelems > size)
			return -1;
		/* A char array is a string (clang marks char as signed, not as
		 * CHAR: its name says it); uint8_t arrays stay lists. */
		if (btf_is_int(et) && et->size == 1 &&
		    ((btf_int_encoding(et) & BTF_INT_CHAR) || !strcmp(btf__name_by_offset(btf, et->name_off), "char"))) {
			json_string(f, p, a->nelems);
			return 0;
		}
		fputc('[', f);
		for (uint32_t i = 0; i < a->nelems; i++) {
			if (i)
				fputs(", ", f);
			if (btf_json(btf, a->type, p + (size_t)esz * i, (size_t)esz, f, depth + 1))
				hex_json(f, p + (size_t)esz * i, (size_t)esz);
		}
		fputc(']', f);
		return 0;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(t);

		if (t->size > size)
			return -1;
		fputc('{', f);
		for (uint16_t i = 0; i < btf_vlen(t); i++) {
			uint32_t off = btf_member_bit_offset(t, i), bits = btf_member_bitfield_size(t, i);
			const char *name = btf__name_by_offset(btf, m[i].name_off);

			fprintf(f, "%s\"%s\": ", i ? ", " : "", name && name[0] ? name : "_");
			if (bits)
				fprintf(f, "%llu", (unsigned long long)bits_at(p, off, bits));
			else if (off / 8 >= t->size ||
				 btf_json(btf, m[i].type, p + off / 8, t->size - off / 8, f, depth + 1))
				fputs("null", f);
		}
		fputc('}', f);
		return 0;
	}
	default:
		return -1;
	}
}

/* Whether BTF type id is an integer or an enum that fits in 8 bytes: a
 * number (also without BTF, by size). */
static bool scalar(const struct dm_map *m, uint32_t id, uint32_t size)
{
	const struct btf_type *t;
	int rid;

	if (!m->btf || !id)
		return is_int_size(size);
	rid = btf__resolve_type(m->btf, id);
	t = rid >= 0 ? btf__type_by_id(m->btf, (uint32_t)rid) : NULL;
	return t && (btf_is_int(t) || btf_is_enum(t)) && is_int_size(size) &&
	       !(btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_BOOL));
}

/* size bytes at p as JSON, with type id (malloc'd text). */
static char *json_of(const struct dm_map *m, uint32_t id, const uint8_t *p, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	if (!m->btf || !id || btf_json(m->btf, id, p, size, f, 0))
		hex_json(f, p, size);
	fclose(f);
	return text;
}

/* A value (ncpu values of stride bytes for a per-CPU map) into s: an
 * integer summed over the CPUs, anything else decoded (per CPU). */
static void set_value(struct dm_sample *s, const struct dm_map *m, const uint8_t *v, int ncpu, size_t stride)
{
	s->numeric = scalar(m, m->value_tid, m->value_size);
	if (s->numeric) {
		s->value = 0;
		for (int c = 0; c < ncpu; c++)
			s->value += to_u64(v + (size_t)c * stride, m->value_size);
		return;
	}
	if (ncpu <= 1) {
		s->text = json_of(m, m->value_tid, v, m->value_size);
		return;
	}
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (!f)
			return;
		fputc('[', f);
		for (int c = 0; c < ncpu; c++) {
			char *one = json_of(m, m->value_tid, v + (size_t)c * stride, m->value_size);

			fprintf(f, "%s%s", c ? ", " : "", one ? one : "null");
			free(one);
		}
		fputc(']', f);
		fclose(f);
		s->text = text;
	}
}

static void set_key(struct dm_sample *s, const struct dm_map *m, const void *k)
{
	s->keyed = true;
	if (scalar(m, m->key_tid, m->key_size)) {
		if (asprintf(&s->key, "%llu", (unsigned long long)to_u64(k, m->key_size)) < 0)
			s->key = NULL;
	} else {
		s->key = json_of(m, m->key_tid, k, m->key_size);
	}
}

void dm_samples_free(struct dm_sample *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].key);
		free(s[i].text);
	}
	free(s);
}

void dm_key_label(const struct dm_sample *s, char *buf, size_t len)
{
	const char *k = s->key ? s->key : "";
	size_t n = strlen(k);

	if (n >= 2 && k[0] == '"' && k[n - 1] == '"')
		snprintf(buf, len, "%.*s", (int)(n - 2), k + 1);
	else
		snprintf(buf, len, "%s", k);
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
	    (m->value_size == 8 || m->value_size == 4) && scalar(m, m->value_tid, m->value_size)) {
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
		dm_samples_free(s, *n);
		*n = 0;
		return rc;
	}
	*out = s;
	return 0;
}

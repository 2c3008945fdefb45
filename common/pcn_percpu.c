/* Per-CPU map values summed and reset from user space (pcn_percpu.h). */
#include "pcn_percpu.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* A zeroed buffer for one value per possible CPU, or NULL with *rc set. */
static unsigned char *percpu_alloc(size_t value_size, int *ncpus, int *rc)
{
	int n = libbpf_num_possible_cpus();
	unsigned char *buf;

	*rc = 0;
	if (n <= 0) {
		*rc = n < 0 ? n : -EINVAL;
		return NULL;
	}
	buf = calloc((size_t)n, pcn_percpu_stride(value_size));
	if (!buf)
		*rc = -ENOMEM;
	*ncpus = n;
	return buf;
}

int pcn_percpu_sum_u64(int fd, const void *key, size_t value_size, void *sum, size_t sum_size)
{
	size_t stride = pcn_percpu_stride(value_size);
	unsigned char *all;
	int ncpus, rc;

	if (!key || (!sum && sum_size) || !value_size || sum_size % sizeof(uint64_t) || sum_size > stride)
		return -EINVAL;
	all = percpu_alloc(value_size, &ncpus, &rc);
	if (!all)
		return rc;
	if (bpf_map_lookup_elem(fd, key, all) < 0) {
		rc = -errno;
		goto out;
	}
	/* memcpy, not a cast: sum is any struct of u64 counters. */
	for (size_t off = 0; off < sum_size; off += sizeof(uint64_t)) {
		uint64_t acc = 0, v;

		for (int c = 0; c < ncpus; c++) {
			memcpy(&v, all + (size_t)c * stride + off, sizeof(v));
			acc += v;
		}
		memcpy((unsigned char *)sum + off, &acc, sizeof(acc));
	}
out:
	free(all);
	return rc;
}

int pcn_percpu_reset(int fd, const void *key, size_t value_size)
{
	unsigned char *zeros;
	int ncpus, rc;

	if (!key || !value_size)
		return -EINVAL;
	zeros = percpu_alloc(value_size, &ncpus, &rc);
	if (!zeros)
		return rc;
	/* BPF_EXIST: a reset never creates a hash entry (an array's entries
	 * always exist: the same as BPF_ANY there). */
	if (bpf_map_update_elem(fd, key, zeros, BPF_EXIST) < 0)
		rc = -errno;
	free(zeros);
	return rc;
}

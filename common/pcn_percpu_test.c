/* Tests of the per-CPU helpers on real maps (root): every CPU's value is
 * added up at the kernel's 8-byte stride (a value size that is not a
 * multiple of 8 included), a sum is written only on success, a reset
 * zeros every CPU of one key and creates no hash entry, and a size past
 * the value is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pcn_percpu.h"

/* A value of 20 bytes (a, b, then a u32 c): the kernel lays it out every
 * 24 bytes per CPU. */
struct odd {
	uint64_t a;
	uint64_t b;
	uint32_t c;
};

#define ODD_SIZE 20
#define ODD_STRIDE 24
#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	assert_true(n > 0);
	return n;
}

/* Writes CPU c's value of key as { c+1, 1000*(c+1), 7 } (+ padding). */
static void fill_odd(int fd, uint32_t key)
{
	int n = ncpus();
	unsigned char *buf = calloc((size_t)n, ODD_STRIDE);

	assert_non_null(buf);
	for (int c = 0; c < n; c++) {
		struct odd v = { .a = (uint64_t)c + 1, .b = 1000 * ((uint64_t)c + 1), .c = 7 };

		memcpy(buf + (size_t)c * ODD_STRIDE, &v, ODD_SIZE);
	}
	assert_int_equal(bpf_map_update_elem(fd, &key, buf, BPF_ANY), 0);
	free(buf);
}

static void test_array_sum_and_reset(void **state)
{
	int n = ncpus(), fd;
	uint64_t tri = (uint64_t)n * (n + 1) / 2;
	uint64_t sum[3], first;
	uint32_t k0 = 0, k1 = 1, past = 4;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pcpu_arr", 4, ODD_SIZE, 4, NULL);
	assert_true(fd >= 0);
	fill_odd(fd, k0);
	fill_odd(fd, k1);

	/* Both whole counters, at the 24-byte stride: a stride of 20 would
	 * read the second CPU's a inside the first's padding. */
	assert_int_equal(pcn_percpu_sum_u64(fd, &k0, ODD_SIZE, sum, 2 * sizeof(uint64_t)), 0);
	assert_int_equal(sum[0], tri);
	assert_int_equal(sum[1], 1000 * tri);
	/* The first counter alone. */
	assert_int_equal(pcn_percpu_sum_u64(fd, &k0, ODD_SIZE, &first, sizeof(first)), 0);
	assert_int_equal(first, tri);
	/* Up to the stride (c and its padding as one u64) is allowed. */
	assert_int_equal(pcn_percpu_sum_u64(fd, &k0, ODD_SIZE, sum, sizeof(sum)), 0);
	assert_int_equal(sum[2], 7 * (uint64_t)n);

	/* Past the stride or not whole u64s: refused, nothing written. */
	{
		uint64_t big[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL };

		assert_int_equal(pcn_percpu_sum_u64(fd, &k0, ODD_SIZE, big, sizeof(big)), -EINVAL);
		assert_int_equal(pcn_percpu_sum_u64(fd, &k0, ODD_SIZE, big, 12), -EINVAL);
		for (int i = 0; i < 4; i++)
			assert_true(big[i] == SENTINEL);
	}
	/* A key past the end: the lookup's error, sum untouched. */
	sum[0] = SENTINEL;
	assert_int_equal(pcn_percpu_sum_u64(fd, &past, ODD_SIZE, sum, sizeof(uint64_t)), -ENOENT);
	assert_true(sum[0] == SENTINEL);

	/* Reset: every CPU of k0 is zero, k1 keeps its values. */
	assert_int_equal(pcn_percpu_reset(fd, &k0, ODD_SIZE), 0);
	assert_int_equal(pcn_percpu_sum_u64(fd, &k0, ODD_SIZE, sum, sizeof(sum)), 0);
	assert_true(sum[0] == 0 && sum[1] == 0 && sum[2] == 0);
	{
		unsigned char *raw = malloc((size_t)n * ODD_STRIDE);

		assert_non_null(raw);
		memset(raw, 0xff, (size_t)n * ODD_STRIDE);
		assert_int_equal(bpf_map_lookup_elem(fd, &k0, raw), 0);
		for (size_t i = 0; i < (size_t)n * ODD_STRIDE; i++)
			assert_int_equal(raw[i], 0);
		free(raw);
	}
	assert_int_equal(pcn_percpu_sum_u64(fd, &k1, ODD_SIZE, sum, 2 * sizeof(uint64_t)), 0);
	assert_int_equal(sum[0], tri);
	assert_int_equal(sum[1], 1000 * tri);
	assert_int_equal(pcn_percpu_reset(fd, &past, ODD_SIZE), -E2BIG);
	close(fd);
}

static void test_hash_missing_key(void **state)
{
	int n = ncpus(), fd;
	uint64_t *vals, sum[2] = { SENTINEL, SENTINEL };
	uint32_t there = 7, missing = 8, next;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "pcpu_hash", 4, 2 * sizeof(uint64_t), 8, NULL);
	assert_true(fd >= 0);
	vals = calloc((size_t)n, 2 * sizeof(uint64_t));
	assert_non_null(vals);
	for (int c = 0; c < n; c++) {
		vals[2 * c] = 1;
		vals[2 * c + 1] = 64;
	}
	assert_int_equal(bpf_map_update_elem(fd, &there, vals, BPF_ANY), 0);

	assert_int_equal(pcn_percpu_sum_u64(fd, &missing, sizeof(sum), sum, sizeof(sum)), -ENOENT);
	assert_true(sum[0] == SENTINEL && sum[1] == SENTINEL);
	assert_int_equal(pcn_percpu_sum_u64(fd, &there, sizeof(sum), sum, sizeof(sum)), 0);
	assert_int_equal(sum[0], n);
	assert_int_equal(sum[1], 64 * (uint64_t)n);

	/* A reset of a missing key creates no entry: the map still holds one. */
	assert_int_equal(pcn_percpu_reset(fd, &missing, sizeof(sum)), -ENOENT);
	assert_int_equal(bpf_map_get_next_key(fd, NULL, &next), 0);
	assert_int_equal(next, there);
	assert_int_equal(bpf_map_get_next_key(fd, &next, &next), -ENOENT);

	assert_int_equal(pcn_percpu_reset(fd, &there, sizeof(sum)), 0);
	assert_int_equal(pcn_percpu_sum_u64(fd, &there, sizeof(sum), sum, sizeof(sum)), 0);
	assert_true(sum[0] == 0 && sum[1] == 0);
	free(vals);
	close(fd);
}

static void test_refused(void **state)
{
	uint64_t sum = SENTINEL;
	uint32_t k = 0;
	int fd;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pcpu_one", 4, sizeof(uint64_t), 1, NULL);
	assert_true(fd >= 0);
	assert_int_equal(pcn_percpu_sum_u64(fd, NULL, sizeof(sum), &sum, sizeof(sum)), -EINVAL);
	assert_int_equal(pcn_percpu_sum_u64(fd, &k, sizeof(sum), NULL, sizeof(sum)), -EINVAL);
	assert_int_equal(pcn_percpu_sum_u64(fd, &k, 0, &sum, sizeof(sum)), -EINVAL);
	assert_int_equal(pcn_percpu_reset(fd, NULL, sizeof(sum)), -EINVAL);
	assert_int_equal(pcn_percpu_reset(fd, &k, 0), -EINVAL);
	assert_true(sum == SENTINEL);
	/* Nothing asked: nothing written, the lookup still checked. */
	assert_int_equal(pcn_percpu_sum_u64(fd, &k, sizeof(sum), NULL, 0), 0);
	close(fd);
	assert_int_equal(pcn_percpu_sum_u64(-1, &k, sizeof(sum), &sum, sizeof(sum)), -EBADF);
	assert_int_equal(pcn_percpu_reset(-1, &k, sizeof(sum)), -EBADF);
	assert_true(sum == SENTINEL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_array_sum_and_reset),
		cmocka_unit_test(test_hash_missing_key),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

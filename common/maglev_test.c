/* Maglev: shares, remap on removal, weights, determinism, measured over
 * 100,000 flow hashes through the default table (65,537 entries), as the
 * load balancers' fast paths use it (entry = table[hash % M]). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev.h"

#define FLOWS 100000u
#define M MAGLEV_M_DEFAULT

static uint16_t *table_new(void)
{
	uint16_t *t = calloc(M, sizeof(*t));

	assert_non_null(t);
	return t;
}

/* The flow hashes: fixed, so a failure reproduces. */
static uint32_t flow_hash(uint32_t i)
{
	return (uint32_t)maglev_mix64(0xf10f10ull * 1000003u + i);
}

/* Backend ids as the load balancers make them: an address and a port. */
static uint64_t id_of(uint32_t k)
{
	return ((uint64_t)(0x0a000001u + k) << 16) | 80u;
}

/* Fraction of the flows each backend gets (counts[] of n). */
static void spread(const uint16_t *t, size_t n, double *frac)
{
	uint32_t *c = calloc(n, sizeof(*c));

	assert_non_null(c);
	for (uint32_t i = 0; i < FLOWS; i++) {
		uint16_t e = t[flow_hash(i) % M];

		assert_true(e < n);
		c[e]++;
	}
	for (size_t k = 0; k < n; k++)
		frac[k] = (double)c[k] / FLOWS;
	free(c);
}

static void test_prime(void **state)
{
	(void)state;
	assert_true(maglev_is_prime(65537));
	assert_true(maglev_is_prime(251));
	assert_false(maglev_is_prime(65536));
	assert_false(maglev_is_prime(1));
	assert_false(maglev_is_prime(65535));
	uint16_t t[16];
	struct maglev_backend b = { .id = 1, .weight = 1 };

	assert_int_equal(maglev_build(&b, 1, 16, t), -EINVAL);
	assert_int_equal(maglev_build(&b, 1, 15, t), -EINVAL);
}

/* With N equal backends each gets 1/N of the flows within 1%. */
static void test_equal_shares(void **state)
{
	static const size_t ns[] = { 2, 3, 5, 10, 37 };
	uint16_t *t = table_new();

	(void)state;
	for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
		size_t n = ns[j];
		struct maglev_backend b[64];
		double frac[64];

		for (size_t k = 0; k < n; k++)
			b[k] = (struct maglev_backend){ .id = id_of((uint32_t)k), .weight = 1 };
		assert_int_equal(maglev_build(b, n, M, t), 0);
		spread(t, n, frac);
		for (size_t k = 0; k < n; k++) {
			if (frac[k] < 1.0 / n - 0.01 || frac[k] > 1.0 / n + 0.01)
				fail_msg("N=%zu: backend %zu gets %.4f, share %.4f", n, k, frac[k], 1.0 / n);
		}
	}
	free(t);
}

/* Removing one backend of N moves at most its own share + 1% of the
 * flows; and every flow that moves was the removed backend's or lands on
 * a backend that is still there (identity by id, not by position). */
static void test_remove_one(void **state)
{
	static const size_t ns[] = { 3, 5, 10, 37 };
	uint16_t *a = table_new(), *b2 = table_new();

	(void)state;
	for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
		size_t n = ns[j];
		for (size_t gone = 0; gone < n; gone += (n > 5 ? n / 3 : 1)) {
			struct maglev_backend b[64], r[64];
			size_t nr = 0;
			uint32_t moved = 0, moved_other = 0;

			for (size_t k = 0; k < n; k++) {
				b[k] = (struct maglev_backend){ .id = id_of((uint32_t)k), .weight = 1 };
				if (k != gone)
					r[nr++] = b[k];
			}
			assert_int_equal(maglev_build(b, n, M, a), 0);
			assert_int_equal(maglev_build(r, nr, M, b2), 0);
			for (uint32_t i = 0; i < FLOWS; i++) {
				uint32_t s = flow_hash(i) % M;
				uint64_t before = b[a[s]].id, after = r[b2[s]].id;

				assert_true(after != b[gone].id);
				if (before != after) {
					moved++;
					if (before != b[gone].id)
						moved_other++;
				}
			}
			double share = 1.0 / n, fm = (double)moved / FLOWS;
			if (fm > share + 0.01)
				fail_msg("N=%zu, removing %zu: %.4f moved, share %.4f", n, gone, fm, share);
			print_message("N=%zu remove %zu: moved %.4f (share %.4f, of others' flows %.4f)\n", n, gone,
				      fm, share, (double)moved_other / FLOWS);
		}
	}
	free(a);
	free(b2);
}

/* Weights 1:2:3 give 1/6, 2/6, 3/6 within 1%; weight 0 gets nothing;
 * doubling every weight changes nothing. */
static void test_weights(void **state)
{
	struct maglev_backend b[4] = {
		{ .id = id_of(0), .weight = 1 },
		{ .id = id_of(1), .weight = 2 },
		{ .id = id_of(2), .weight = 3 },
		{ .id = id_of(3), .weight = 0 },
	};
	uint16_t *t = table_new(), *t2 = table_new();
	double frac[4];

	(void)state;
	assert_int_equal(maglev_build(b, 4, M, t), 0);
	spread(t, 4, frac);
	for (int k = 0; k < 3; k++) {
		double want = (k + 1) / 6.0;

		if (frac[k] < want - 0.01 || frac[k] > want + 0.01)
			fail_msg("weight %d: %.4f, want %.4f", k + 1, frac[k], want);
	}
	assert_true(frac[3] == 0.0);
	for (int k = 0; k < 4; k++)
		b[k].weight *= 2;
	assert_int_equal(maglev_build(b, 4, M, t2), 0);
	assert_memory_equal(t, t2, M * sizeof(*t));

	/* Weight 100 against 1 (Polycube's scripts mix such): the light one
	 * still gets its ~1%. */
	struct maglev_backend h[2] = { { .id = id_of(0), .weight = 100 }, { .id = id_of(1), .weight = 1 } };
	assert_int_equal(maglev_build(h, 2, M, t), 0);
	spread(t, 2, frac);
	assert_true(frac[1] > 0.5 / 101 && frac[1] < 2.0 / 101);
	free(t);
	free(t2);
}

/* The table depends on the set, not the order it is given in: a process
 * rebuilding from its configuration writes the same table. */
static void test_order_independent(void **state)
{
	struct maglev_backend b[7], r[7];
	uint16_t *t = table_new(), *t2 = table_new();

	(void)state;
	for (int k = 0; k < 7; k++) {
		b[k] = (struct maglev_backend){ .id = id_of((uint32_t)k), .weight = (uint32_t)(k % 3 + 1) };
		r[6 - k] = b[k];
	}
	assert_int_equal(maglev_build(b, 7, M, t), 0);
	assert_int_equal(maglev_build(r, 7, M, t2), 0);
	for (uint32_t s = 0; s < M; s++)
		assert_int_equal(b[t[s]].id, r[t2[s]].id);
	free(t);
	free(t2);
}

static void test_empty_and_dup(void **state)
{
	struct maglev_backend b[2] = { { .id = 5, .weight = 0 }, { .id = 5, .weight = 1 } };
	uint16_t *t = table_new();

	(void)state;
	assert_int_equal(maglev_build(NULL, 0, M, t), 0);
	for (uint32_t s = 0; s < M; s++)
		assert_int_equal(t[s], MAGLEV_NONE);
	assert_int_equal(maglev_build(b, 1, M, t), 0); /* only weight 0 */
	assert_int_equal(t[0], MAGLEV_NONE);
	b[0].weight = 1;
	assert_int_equal(maglev_build(b, 2, M, t), -EINVAL);
	free(t);
}

/* Not asserted (the machine's speed varies): the build time for 1,000
 * backends, which a control plane pays on each change of a service. */
static void test_build_time_1000(void **state)
{
	struct maglev_backend *b = calloc(1000, sizeof(*b));
	uint16_t *t = table_new();
	struct timespec t0, t1;
	double frac_min = 1, frac_max = 0;
	uint32_t *c = calloc(1000, sizeof(*c));

	(void)state;
	assert_non_null(b);
	assert_non_null(c);
	for (uint32_t k = 0; k < 1000; k++)
		b[k] = (struct maglev_backend){ .id = id_of(k), .weight = 1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(maglev_build(b, 1000, M, t), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (uint32_t s = 0; s < M; s++) {
		assert_true(t[s] < 1000);
		c[t[s]]++;
	}
	for (uint32_t k = 0; k < 1000; k++) {
		double f = (double)c[k] / M;

		frac_min = f < frac_min ? f : frac_min;
		frac_max = f > frac_max ? f : frac_max;
	}
	print_message("maglev build, 1000 backends, M=%u: %.2f ms (entries per backend %.5f..%.5f)\n", M,
		      (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, frac_min, frac_max);
	free(b);
	free(c);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_equal_shares),
		cmocka_unit_test(test_remove_one),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_empty_and_dup),
		cmocka_unit_test(test_build_time_1000),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

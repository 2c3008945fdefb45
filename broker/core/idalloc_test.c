/* Tests of the id allocator, with the two ranges the broker uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "idalloc.h"
#include "pcn_kern_user.h"

/* PatchPanel slots: 1 .. PCN_MAX_CUBES - 1, slot 0 never handed out. */
static void test_slots_exhaustion(void **state)
{
	struct broker_idalloc a;

	assert_int_equal(broker_idalloc_init(&a, 1, PCN_MAX_CUBES - 1), 0);
	assert_false(broker_idalloc_used(&a, 0));
	for (int want = 1; want < PCN_MAX_CUBES; want++)
		assert_int_equal(broker_idalloc_get(&a), want);
	assert_int_equal(broker_idalloc_get(&a), -ENOSPC);
	assert_int_equal(a.used, PCN_MAX_CUBES - 1);
	/* Slot 0 and PCN_MAX_CUBES are outside: never allocated, never freeable. */
	assert_false(broker_idalloc_used(&a, 0));
	assert_int_equal(broker_idalloc_put(&a, 0), -ERANGE);
	assert_int_equal(broker_idalloc_put(&a, PCN_MAX_CUBES), -ERANGE);
	/* One freed slot is the one handed out next. */
	assert_int_equal(broker_idalloc_put(&a, 500), 0);
	assert_int_equal(broker_idalloc_get(&a), 500);
	assert_int_equal(broker_idalloc_get(&a), -ENOSPC);
	broker_idalloc_fini(&a);
}

/* Port numbers: 0 .. PCN_MAX_PORTS - 1. */
static void test_ports_reuse_lowest(void **state)
{
	struct broker_idalloc a;

	assert_int_equal(broker_idalloc_init(&a, 0, PCN_MAX_PORTS), 0);
	for (int want = 0; want < 10; want++)
		assert_int_equal(broker_idalloc_get(&a), want);
	assert_int_equal(broker_idalloc_put(&a, 7), 0);
	assert_int_equal(broker_idalloc_put(&a, 3), 0);
	assert_false(broker_idalloc_used(&a, 3));
	assert_int_equal(broker_idalloc_get(&a), 3);
	assert_int_equal(broker_idalloc_get(&a), 7);
	assert_int_equal(broker_idalloc_get(&a), 10);
	for (int want = 11; want < PCN_MAX_PORTS; want++)
		assert_int_equal(broker_idalloc_get(&a), want);
	assert_int_equal(broker_idalloc_get(&a), -ENOSPC);
	broker_idalloc_fini(&a);
}

/* A range whose end falls inside a 64-bit word: the bits past it are no ids. */
static void test_partial_word(void **state)
{
	struct broker_idalloc a;

	assert_int_equal(broker_idalloc_init(&a, 100, 70), 0);
	for (int want = 100; want < 170; want++)
		assert_int_equal(broker_idalloc_get(&a), want);
	assert_int_equal(broker_idalloc_get(&a), -ENOSPC);
	assert_false(broker_idalloc_used(&a, 170));
	assert_int_equal(broker_idalloc_reserve(&a, 170), -ERANGE);
	assert_int_equal(broker_idalloc_reserve(&a, 99), -ERANGE);
	broker_idalloc_fini(&a);
}

/* Ids restored from the datastore are taken exactly; get skips them. */
static void test_reserve(void **state)
{
	struct broker_idalloc a;

	assert_int_equal(broker_idalloc_init(&a, 1, PCN_MAX_CUBES - 1), 0);
	assert_int_equal(broker_idalloc_reserve(&a, 1), 0);
	assert_int_equal(broker_idalloc_reserve(&a, 3), 0);
	assert_int_equal(broker_idalloc_reserve(&a, PCN_MAX_CUBES - 1), 0);
	assert_int_equal(broker_idalloc_reserve(&a, 3), -EEXIST);
	assert_int_equal(broker_idalloc_reserve(&a, 0), -ERANGE);
	assert_int_equal(broker_idalloc_reserve(&a, PCN_MAX_CUBES), -ERANGE);
	assert_true(broker_idalloc_used(&a, 3));
	assert_int_equal(broker_idalloc_get(&a), 2);
	assert_int_equal(broker_idalloc_get(&a), 4);
	assert_int_equal(a.used, 5);
	broker_idalloc_fini(&a);
}

static void test_double_put(void **state)
{
	struct broker_idalloc a;

	assert_int_equal(broker_idalloc_init(&a, 0, PCN_MAX_PORTS), 0);
	assert_int_equal(broker_idalloc_get(&a), 0);
	assert_int_equal(broker_idalloc_put(&a, 0), 0);
	assert_int_equal(broker_idalloc_put(&a, 0), -ENOENT);
	assert_int_equal(broker_idalloc_put(&a, 5), -ENOENT);
	assert_int_equal(a.used, 0);
	/* A double put must not have corrupted the count: all ids still come out. */
	for (int want = 0; want < PCN_MAX_PORTS; want++)
		assert_int_equal(broker_idalloc_get(&a), want);
	assert_int_equal(broker_idalloc_get(&a), -ENOSPC);
	broker_idalloc_fini(&a);
}

static void test_init_and_fini(void **state)
{
	struct broker_idalloc a, zero;

	memset(&zero, 0, sizeof(zero));
	assert_int_equal(broker_idalloc_init(&a, 0, 0), -EINVAL);
	assert_int_equal(broker_idalloc_init(&a, 0x7fffffff, 2), -EINVAL);
	assert_int_equal(broker_idalloc_init(NULL, 0, 1), -EINVAL);
	/* A zeroed allocator (a struct not yet initialized) hands out nothing. */
	assert_int_equal(broker_idalloc_get(&zero), -ENOSPC);
	assert_false(broker_idalloc_used(&zero, 0));
	assert_int_equal(broker_idalloc_put(&zero, 0), -ERANGE);
	broker_idalloc_fini(&zero);
	broker_idalloc_fini(NULL);
	assert_int_equal(broker_idalloc_init(&a, 0, 1), 0);
	assert_int_equal(broker_idalloc_get(&a), 0);
	broker_idalloc_fini(&a);
	broker_idalloc_fini(&a); /* twice is harmless */
	assert_null(a.bits);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_exhaustion), cmocka_unit_test(test_ports_reuse_lowest),
		cmocka_unit_test(test_partial_word),     cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_double_put),       cmocka_unit_test(test_init_and_fini),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

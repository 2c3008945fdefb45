/* Timers (timer.c) kept in each instance's record: they run for the
 * instances of the runtime that runs them, each callback with its own
 * instance and argument, ids count per instance, a timer stopped from its
 * own callback runs no more, and an instance's timers go with
 * pcn_timer_stop(inst, 0) (what pcn__instance_free does). No root needed;
 * the sanitizer pass checks that nothing leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "pcn_int.h"

struct counter {
	struct pcn_instance *want; /* the instance the callback must get */
	int calls;
	int stop_id; /* > 0: the callback stops this timer of its instance */
};

static void count_cb(struct pcn_instance *inst, void *arg)
{
	struct counter *c = arg;

	assert_ptr_equal(inst, c->want);
	c->calls++;
	if (c->stop_id > 0)
		pcn_timer_stop(inst, c->stop_id);
}

/* Runs rt's timers for ms milliseconds, as the serving loop does. */
static void run_for(struct pcn__runtime *rt, int ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int wait = pcn__timers_run(rt, 5);
		struct timespec d = { 0, (long)wait * 1000000L };

		assert_true(wait >= 0 && wait <= 5);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= ms)
			break;
		nanosleep(&d, NULL);
	}
}

static void test_timers_per_instance(void **state)
{
	struct pcn__runtime *rt = calloc(1, sizeof(*rt));
	struct pcn_instance *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b)), *lone = calloc(1, sizeof(*lone));
	struct counter ca = { .want = a }, cb = { .want = b }, cl = { .want = lone }, once = { .want = a };
	int id;

	(void)state;
	assert_non_null(rt);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(lone);
	a->rt = b->rt = lone->rt = rt;
	a->next = b;
	rt->instances = a; /* lone is not the runtime's: its timers never run */

	assert_int_equal(pcn_timer_start(a, 0, count_cb, &ca), -EINVAL);
	assert_int_equal(pcn_timer_start(a, 10, NULL, &ca), -EINVAL);
	assert_int_equal(pcn_timer_start(NULL, 10, count_cb, &ca), -EINVAL);
	assert_int_equal(pcn_timer_start(a, 10, count_cb, &ca), 1);
	assert_int_equal(pcn_timer_start(b, 10, count_cb, &cb), 1); /* ids count per instance */
	assert_int_equal(pcn_timer_start(lone, 10, count_cb, &cl), 1);
	id = pcn_timer_start(a, 10, count_cb, &once);
	assert_int_equal(id, 2);
	once.stop_id = id;

	run_for(rt, 100);
	assert_true(ca.calls >= 3);
	assert_true(cb.calls >= 3);
	assert_int_equal(cl.calls, 0);
	/* Stopped from its own callback: ran once. */
	assert_int_equal(once.calls, 1);

	/* Stopping another instance's timer, or an id it does not have,
	 * leaves a's alone. */
	pcn_timer_stop(b, 2);
	pcn_timer_stop(lone, 0);
	assert_null(lone->timers.list);
	assert_non_null(a->timers.list);
	assert_non_null(b->timers.list);

	/* All of an instance's timers, as when it goes away. */
	pcn_timer_stop(a, 0);
	assert_null(a->timers.list);
	ca.calls = 0;
	cb.calls = 0;
	run_for(rt, 40);
	assert_int_equal(ca.calls, 0);
	assert_true(cb.calls >= 1);
	pcn_timer_stop(b, 0);
	assert_null(b->timers.list);
	free(lone);
	free(b);
	free(a);
	free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_per_instance),
	};

	pcn_log_init("cube_runtime_timer_test", PCN_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

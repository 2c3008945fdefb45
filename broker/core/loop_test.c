/* The job queues of loop.c: one at a time and in order per key, keys
 * independent, jobs started only from the loop, writes bounded in number and
 * bytes, and a deadline that expires waiting and running writes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/core.h"

static char order[64];
static struct broker_job *running[8];
static int n_running;
static char expired[64];

static void reset(void)
{
	memset(order, 0, sizeof(order));
	memset(expired, 0, sizeof(expired));
	memset(running, 0, sizeof(running));
	n_running = 0;
}

static void run_record(struct broker *b, struct broker_job *job)
{
	(void)b;
	strncat(order, job->arg, sizeof(order) - strlen(order) - 1);
	running[n_running++] = job;
}

static void run_and_finish(struct broker *b, struct broker_job *job)
{
	strncat(order, job->arg, sizeof(order) - strlen(order) - 1);
	broker_job_done(b, job);
}

static void expire_record(struct broker *b, struct broker_job *job)
{
	strncat(expired, job->arg, sizeof(expired) - strlen(expired) - 1);
	if (job->running)
		broker_job_done(b, job);
}

static void spin(struct broker *b)
{
	for (int i = 0; i < 5; i++)
		uv_run(b->loop, UV_RUN_NOWAIT);
}

static void setup_broker(struct broker *b)
{
	memset(b, 0, sizeof(*b));
	b->opts.write_timeout_ms = 10000;
	b->opts.write_queue_max = 64;
	b->opts.write_queue_bytes = 1 << 20;
	assert_int_equal(broker_loop_init(b), 0);
	reset();
}

static void teardown_broker(struct broker *b)
{
	broker_loop_fini(b);
	uv_run(b->loop, UV_RUN_DEFAULT); /* closes the handles */
}

static void test_one_key_in_order(void **state)
{
	struct broker b;

	(void)state;
	setup_broker(&b);
	broker_job_submit(&b, "svc", run_record, NULL, "1");
	broker_job_submit(&b, "svc", run_record, NULL, "2");
	broker_job_submit(&b, "svc", run_record, NULL, "3");
	assert_string_equal(order, ""); /* never inside submit */
	spin(&b);
	assert_string_equal(order, "1");
	broker_job_done(&b, running[0]);
	assert_string_equal(order, "1"); /* nor inside done */
	spin(&b);
	assert_string_equal(order, "12");
	broker_job_done(&b, running[1]);
	spin(&b);
	assert_string_equal(order, "123");
	broker_job_done(&b, running[2]);
	spin(&b);
	teardown_broker(&b);
}

static void test_keys_independent(void **state)
{
	struct broker b;

	(void)state;
	setup_broker(&b);
	broker_job_submit(&b, "a", run_record, NULL, "a");
	broker_job_submit(&b, "a", run_record, NULL, "A");
	broker_job_submit(&b, "b", run_and_finish, NULL, "b");
	broker_job_submit(&b, "b", run_and_finish, NULL, "B");
	spin(&b);
	/* a's first job holds a's queue only. */
	assert_non_null(strchr(order, 'a'));
	assert_non_null(strchr(order, 'b'));
	assert_non_null(strchr(order, 'B'));
	assert_null(strchr(order, 'A'));
	broker_job_done(&b, running[0]);
	spin(&b);
	assert_non_null(strchr(order, 'A'));
	broker_job_done(&b, running[1]);
	spin(&b);
	teardown_broker(&b);
}

static void test_write_bounds(void **state)
{
	struct broker b;

	(void)state;
	setup_broker(&b);
	b.opts.write_queue_max = 2;
	b.opts.write_queue_bytes = 1000;
	assert_int_equal(broker_job_submit_write(&b, "s", 400, run_record, expire_record, "1", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "s", 400, run_record, expire_record, "2", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "s", 1, run_record, expire_record, "3", NULL), -ENOBUFS);
	b.opts.write_queue_max = 10;
	assert_int_equal(broker_job_submit_write(&b, "s", 201, run_record, expire_record, "4", NULL), -ENOBUFS);
	assert_int_equal(broker_job_submit_write(&b, "s", 200, run_record, expire_record, "5", NULL), 0);
	/* Another key has bounds of its own; internal jobs are not bounded. */
	assert_int_equal(broker_job_submit_write(&b, "t", 1000, run_record, expire_record, "6", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "u", 1001, run_record, expire_record, "7", NULL), -ENOBUFS);
	broker_job_submit(&b, "s", run_record, NULL, "8");
	spin(&b);
	/* A finished write gives its room back. */
	for (int i = 0; i < n_running; i++)
		if (strcmp(running[i]->arg, "1") == 0)
			broker_job_done(&b, running[i]);
	assert_int_equal(broker_job_submit_write(&b, "s", 400, run_record, expire_record, "9", NULL), 0);
	teardown_broker(&b);
}

static void test_deadline(void **state)
{
	struct broker b;

	(void)state;
	setup_broker(&b);
	b.opts.write_timeout_ms = 100;
	/* "w" waits behind a job that never ends; "r" runs (on another key)
	 * and is never answered. */
	broker_job_submit(&b, "s", run_record, NULL, "h");
	assert_int_equal(broker_job_submit_write(&b, "s", 10, run_record, expire_record, "w", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "t", 10, run_record, expire_record, "r", NULL), 0);
	spin(&b);
	assert_non_null(strchr(order, 'h'));
	assert_non_null(strchr(order, 'r'));
	for (int i = 0; i < 100 && strlen(expired) < 2; i++)
		uv_run(b.loop, UV_RUN_ONCE);
	assert_int_equal(strlen(expired), 2);
	assert_non_null(strchr(expired, 'w'));
	assert_non_null(strchr(expired, 'r'));
	spin(&b);
	assert_null(strchr(order, 'w')); /* dropped while waiting: never ran */
	/* t's queue is free again; s's still holds h. */
	broker_job_submit(&b, "t", run_and_finish, NULL, "n");
	spin(&b);
	assert_non_null(strchr(order, 'n'));
	teardown_broker(&b);
}

static void run_release(struct broker *b, struct broker_job *job)
{
	strncat(order, job->arg, sizeof(order) - strlen(order) - 1);
	running[n_running++] = job;
	broker_job_release(b, job);
}

/* Runs only alone: started beside others, it gives its start back ("-"). */
static void run_alone(struct broker *b, struct broker_job *job)
{
	if (!broker_job_alone(job)) {
		strncat(order, "-", sizeof(order) - strlen(order) - 1);
		broker_job_hold(b, job);
		return;
	}
	run_record(b, job);
}

static void count_running(struct broker *b, struct broker_job *job, void *arg)
{
	(void)b;
	(void)job;
	(*(int *)arg)++;
}

/* Finishes the running job of arg (and forgets it: it is freed). */
static void done_of(struct broker *b, const char *arg)
{
	for (int i = 0; i < n_running; i++)
		if (running[i] && strcmp(running[i]->arg, arg) == 0) {
			struct broker_job *job = running[i];

			running[i] = NULL;
			broker_job_done(b, job);
			return;
		}
	fail_msg("%s is not running", arg);
}

/* Writes that release their queue run beside each other and may finish
 * in any order; a write that must run alone waits for every job before it
 * and holds back every job after it; other jobs run alone. */
static void test_pipelined_writes(void **state)
{
	struct broker b;
	int n = 0;

	(void)state;
	setup_broker(&b);
	assert_int_equal(broker_job_submit_write(&b, "s", 1, run_release, expire_record, "1", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "s", 1, run_release, expire_record, "2", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "s", 1, run_alone, expire_record, "3", NULL), 0);
	assert_int_equal(broker_job_submit_write(&b, "s", 1, run_release, expire_record, "4", NULL), 0);
	broker_job_submit(&b, "s", run_record, NULL, "5");
	spin(&b);
	assert_string_equal(order, "12-");
	broker_jobs_running(&b, count_running, &n);
	assert_int_equal(n, 2);
	done_of(&b, "2"); /* out of order */
	spin(&b);
	assert_string_equal(order, "12-");
	done_of(&b, "1");
	spin(&b);
	assert_string_equal(order, "12-3"); /* alone now, and 4 waits for it */
	done_of(&b, "3");
	spin(&b);
	assert_string_equal(order, "12-34"); /* 5 is no write: it waits for 4 */
	done_of(&b, "4");
	spin(&b);
	assert_string_equal(order, "12-345");
	done_of(&b, "5");
	spin(&b);
	n = 0;
	broker_jobs_running(&b, count_running, &n);
	assert_int_equal(n, 0);
	teardown_broker(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_key_in_order),
		cmocka_unit_test(test_keys_independent),
		cmocka_unit_test(test_write_bounds),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_pipelined_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

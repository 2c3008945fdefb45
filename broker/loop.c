/* The broker's event loop: work handed over from nng's threads, and the
 * queue of jobs that change state one at a time. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "broker.h"
#include "log.h"

struct broker_event {
	struct broker_event *next;
	void (*fn)(struct broker *, void *);
	void *arg;
};

uint64_t broker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void broker_post(struct broker *b, void (*fn)(struct broker *, void *), void *arg)
{
	struct broker_event *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		/* Nothing sane to do without memory; losing an event would leave a
		 * request hanging forever, so stop loudly. */
		PCN_ERR("BROKER-OOM", "out of memory posting an event");
		abort();
	}
	ev->fn = fn;
	ev->arg = arg;
	uv_mutex_lock(&b->post_lock);
	/* Prepend, reversed again when drained, to keep posting O(1). */
	ev->next = b->posted;
	b->posted = ev;
	uv_mutex_unlock(&b->post_lock);
	uv_async_send(&b->wake);
}

static void on_wake(uv_async_t *h)
{
	struct broker *b = h->data;
	struct broker_event *list, *rev = NULL;

	uv_mutex_lock(&b->post_lock);
	list = b->posted;
	b->posted = NULL;
	uv_mutex_unlock(&b->post_lock);
	while (list) {
		struct broker_event *n = list->next;
		list->next = rev;
		rev = list;
		list = n;
	}
	while (rev) {
		struct broker_event *n = rev->next;
		rev->fn(b, rev->arg);
		free(rev);
		rev = n;
	}
}

int broker_loop_init(struct broker *b)
{
	int rc;

	b->loop = uv_default_loop();
	rc = uv_mutex_init(&b->post_lock);
	if (rc)
		return rc;
	b->wake.data = b;
	return uv_async_init(b->loop, &b->wake, on_wake);
}

void broker_loop_fini(struct broker *b)
{
	uv_close((uv_handle_t *)&b->wake, NULL);
}

static void job_next(struct broker *b)
{
	while (!b->job_running && b->jobs) {
		struct broker_job *job = b->jobs;

		b->job_running = true;
		job->run(b, job);
		/* run may have finished synchronously (broker_job_done) and
		 * popped it already; the loop then goes on with the next. */
	}
}

void broker_job_submit(struct broker *b, broker_job_fn run, broker_job_fn free_fn, void *arg)
{
	struct broker_job *job = calloc(1, sizeof(*job));

	if (!job) {
		PCN_ERR("BROKER-OOM", "out of memory queueing a job");
		abort();
	}
	job->run = run;
	job->free_fn = free_fn;
	job->arg = arg;
	if (b->jobs_tail)
		b->jobs_tail->next = job;
	else
		b->jobs = job;
	b->jobs_tail = job;
	job_next(b);
}

void broker_job_done(struct broker *b)
{
	struct broker_job *job = b->jobs;

	if (!job || !b->job_running)
		return;
	b->jobs = job->next;
	if (!b->jobs)
		b->jobs_tail = NULL;
	b->job_running = false;
	if (job->free_fn)
		job->free_fn(b, job);
	free(job);
	job_next(b);
}

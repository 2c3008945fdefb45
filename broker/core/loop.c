/* The broker's event loop: work handed over from nng's threads, and the
 * queues of jobs that change state: one queue per key (a service), each run
 * one job at a time, so a cube that does not answer holds up only its own
 * service's writes. A client's write also has a deadline and counts
 * against its queue's bounds.
 *
 * Pipelining: a running client write that has sent its change and depends
 * on nothing after it may release its queue (broker_job_release): the next
 * write starts while it waits for its cube's answer. A write started so
 * (beside others) that finds it must run alone (broker_job_alone) holds the
 * queue (broker_job_hold): it starts again, and nothing after it starts,
 * once every job before it is done. Any other job starts only when none of
 * its queue runs, and runs alone. The running jobs of a queue are always
 * its first ones, started in order; they may finish in any order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "log.h"

struct broker_event {
	struct broker_event *next;
	void (*fn)(struct broker *, void *);
	void *arg;
	bool free_arg; /* broker_post_free: arg is free()d if fn never runs */
};

uint64_t broker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void post(struct broker *b, void (*fn)(struct broker *, void *), void *arg, bool free_arg)
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
	ev->free_arg = free_arg;
	uv_mutex_lock(&b->post_lock);
	if (b->loop_done) {
		/* The loop is gone (an nng thread noticed a pipe closing during
		 * the stop): nothing will run fn. */
		uv_mutex_unlock(&b->post_lock);
		if (free_arg)
			free(arg);
		free(ev);
		return;
	}
	/* Prepend, reversed again when drained, to keep posting O(1). */
	ev->next = b->posted;
	b->posted = ev;
	uv_mutex_unlock(&b->post_lock);
	uv_async_send(&b->wake);
}

void broker_post(struct broker *b, void (*fn)(struct broker *, void *), void *arg)
{
	post(b, fn, arg, false);
}

void broker_post_free(struct broker *b, void (*fn)(struct broker *, void *), void *arg)
{
	post(b, fn, arg, true);
}

static int jobs_init(struct broker *b);
static void jobs_fini(struct broker *b);

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
	rc = uv_async_init(b->loop, &b->wake, on_wake);
	if (rc)
		return rc;
	return jobs_init(b);
}

void broker_loop_fini(struct broker *b)
{
	uv_close((uv_handle_t *)&b->wake, NULL);
	jobs_fini(b);
	/* Events posted too late to run: their carriers are ours, and the
	 * arguments posted with broker_post_free. */
	uv_mutex_lock(&b->post_lock);
	b->loop_done = true;
	while (b->posted) {
		struct broker_event *n = b->posted->next;

		if (b->posted->free_arg)
			free(b->posted->arg);
		free(b->posted);
		b->posted = n;
	}
	uv_mutex_unlock(&b->post_lock);
}

/* ---- job queues --------------------------------------------------------- */

struct broker_jobq {
	struct broker_jobq *next;
	char key[BROKER_NAME_MAX];
	struct broker_job *head, *tail;
	unsigned n_running;       /* the first n_running jobs run */
	unsigned n_released;      /* of which have released the queue */
	bool hold;                /* the first waiting job runs alone: waits for n_running 0 */
	unsigned n_writes;        /* client writes queued (running or waiting) */
	size_t bytes;             /* and their bodies */
};

struct broker_jobs {
	struct broker_jobq *queues;
	uv_timer_t timer;         /* the earliest deadline */
	uint64_t armed_ms;        /* when it fires; 0: not armed */
	bool kick_posted;
	bool closing;
};

static void jobs_arm(struct broker *b);

static int jobs_init(struct broker *b)
{
	int rc;

	b->jobs = calloc(1, sizeof(*b->jobs));
	if (!b->jobs)
		return -ENOMEM;
	rc = uv_timer_init(b->loop, &b->jobs->timer);
	if (rc) {
		free(b->jobs);
		b->jobs = NULL;
		return rc;
	}
	b->jobs->timer.data = b;
	return 0;
}

static void jobs_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void job_free(struct broker *b, struct broker_job *job)
{
	if (job->free_fn)
		job->free_fn(b, job);
	free(job);
}

static void jobs_fini(struct broker *b)
{
	struct broker_jobs *js = b->jobs;

	if (!js)
		return;
	/* Jobs still queued at exit are dropped with their free_fn; their
	 * clients' connections are gone with the gateway already. */
	while (js->queues) {
		struct broker_jobq *q = js->queues;

		js->queues = q->next;
		while (q->head) {
			struct broker_job *j = q->head;

			q->head = j->next;
			job_free(b, j);
		}
		free(q);
	}
	js->closing = true;
	b->jobs = NULL;
	uv_timer_stop(&js->timer);
	js->timer.data = js;
	uv_close((uv_handle_t *)&js->timer, jobs_timer_closed);
}

static struct broker_jobq *queue_find(struct broker *b, const char *key, bool create)
{
	struct broker_jobq *q;

	for (q = b->jobs->queues; q; q = q->next)
		if (strncmp(q->key, key, sizeof(q->key) - 1) == 0)
			return q;
	if (!create)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		PCN_ERR("BROKER-OOM", "out of memory queueing a job");
		abort();
	}
	/* A key longer than a name is cut: two such keys share a queue,
	 * which costs only concurrency (the writes fail as unknown anyway). */
	snprintf(q->key, sizeof(q->key), "%s", key);
	q->next = b->jobs->queues;
	b->jobs->queues = q;
	return q;
}

static void queue_unlink(struct broker *b, struct broker_jobq *q, struct broker_job *job)
{
	struct broker_job *prev = NULL;

	for (struct broker_job *j = q->head; j; prev = j, j = j->next)
		if (j == job) {
			if (prev)
				prev->next = j->next;
			else
				q->head = j->next;
			if (q->tail == j)
				q->tail = prev;
			break;
		}
	if (job->is_write) {
		q->n_writes--;
		q->bytes -= job->bytes;
	}
	job->next = NULL;
	(void)b;
}

/* An empty queue goes: keys come from URLs, and a client could name many. */
static void queue_gc(struct broker *b, struct broker_jobq *q)
{
	if (q->head || q->n_running)
		return;
	for (struct broker_jobq **pp = &b->jobs->queues; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			free(q);
			return;
		}
}

/* The first job of q that does not run, if it may start now: alone, or a
 * write behind running writes that all released the queue. */
static struct broker_job *queue_next(struct broker_jobq *q)
{
	struct broker_job *job = q->head;

	for (unsigned i = 0; job && i < q->n_running; i++)
		job = job->next;
	if (!job)
		return NULL;
	if (!q->n_running) {
		q->hold = false;
		return job;
	}
	if (q->hold || !job->is_write || q->n_released != q->n_running)
		return NULL;
	return job;
}

/* Starts what may start in every queue. Runs from the loop only (posted),
 * never inside a submit or a done: a job's callback may be running inside
 * some other state change (a cube's model being swapped, its calls being
 * failed) that the next job must not see half done. */
static void jobs_kick(struct broker *b, void *arg)
{
	bool again = true;

	(void)arg;
	if (!b->jobs)
		return;
	b->jobs->kick_posted = false;
	while (again) {
		again = false;
		for (struct broker_jobq *q = b->jobs->queues; q; q = q->next) {
			struct broker_job *job = queue_next(q);

			if (!job)
				continue;
			q->n_running++;
			job->running = true;
			job->run(b, job);
			/* run may have changed the list of queues (finished
			 * synchronously, queued others): walk it again. */
			again = true;
			break;
		}
	}
	jobs_arm(b);
}

static void jobs_post_kick(struct broker *b)
{
	if (b->jobs->kick_posted)
		return;
	b->jobs->kick_posted = true;
	broker_post(b, jobs_kick, NULL);
}

static struct broker_job *job_new(broker_job_fn run, broker_job_fn free_fn, void *arg)
{
	struct broker_job *job = calloc(1, sizeof(*job));

	if (!job) {
		PCN_ERR("BROKER-OOM", "out of memory queueing a job");
		abort();
	}
	job->run = run;
	job->free_fn = free_fn;
	job->arg = arg;
	return job;
}

static void queue_append(struct broker *b, struct broker_jobq *q, struct broker_job *job)
{
	job->q = q;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	jobs_post_kick(b);
}

struct broker_job *broker_job_submit(struct broker *b, const char *key, broker_job_fn run, broker_job_fn free_fn,
				     void *arg)
{
	struct broker_job *job;

	if (!b->jobs)
		return NULL; /* stopping: nothing runs any more */
	job = job_new(run, free_fn, arg);
	queue_append(b, queue_find(b, key ? key : "", true), job);
	return job;
}

int broker_job_submit_write(struct broker *b, const char *key, size_t body_bytes, broker_job_fn run,
			    broker_job_fn expire, void *arg, struct broker_job **out)
{
	struct broker_jobq *q;
	struct broker_job *job;

	if (!b->jobs)
		return -ESHUTDOWN;
	q = queue_find(b, key ? key : "", false);
	if (q && (q->n_writes >= b->opts.write_queue_max || q->bytes + body_bytes > b->opts.write_queue_bytes))
		return -ENOBUFS;
	if (!q && body_bytes > b->opts.write_queue_bytes)
		return -ENOBUFS;
	if (!q)
		q = queue_find(b, key ? key : "", true);
	job = job_new(run, NULL, arg);
	job->is_write = true;
	job->bytes = body_bytes;
	job->expire = expire;
	job->deadline_ms = broker_now_ms() + b->opts.write_timeout_ms;
	q->n_writes++;
	q->bytes += body_bytes;
	queue_append(b, q, job);
	if (out)
		*out = job;
	jobs_arm(b);
	return 0;
}

void broker_job_done(struct broker *b, struct broker_job *job)
{
	struct broker_jobq *q;

	if (!job || !b->jobs)
		return;
	q = job->q;
	if (!job->running) {
		PCN_ERR("BROKER-JOB", "a job that is not running said it is done");
		return;
	}
	queue_unlink(b, q, job);
	q->n_running--;
	if (job->released)
		q->n_released--;
	job_free(b, job);
	if (q->head)
		jobs_post_kick(b);
	else
		queue_gc(b, q);
}

void broker_job_release(struct broker *b, struct broker_job *job)
{
	if (!job || !b->jobs || !job->running || job->released)
		return;
	job->released = true;
	job->q->n_released++;
	jobs_post_kick(b);
}

bool broker_job_alone(const struct broker_job *job)
{
	return job->q->n_running == 1;
}

void broker_job_hold(struct broker *b, struct broker_job *job)
{
	struct broker_jobq *q;

	if (!job || !b->jobs || !job->running || job->released) {
		PCN_ERR("BROKER-JOB", "a job that cannot wait asked to");
		return;
	}
	q = job->q;
	job->running = false;
	q->n_running--;
	q->hold = true;
	/* Started last (a job starts only from the loop, after the ones
	 * before it): it is the first waiting one again. */
	jobs_post_kick(b);
}

void broker_jobs_running(struct broker *b, void (*fn)(struct broker *, struct broker_job *, void *), void *arg)
{
	if (!b->jobs)
		return;
	for (struct broker_jobq *q = b->jobs->queues; q; q = q->next) {
		struct broker_job *j = q->head;

		for (unsigned i = 0; j && i < q->n_running; i++, j = j->next)
			fn(b, j, arg);
	}
}

/* ---- deadlines ----------------------------------------------------------- */

static struct broker_job *first_expired(struct broker *b, uint64_t now)
{
	for (struct broker_jobq *q = b->jobs->queues; q; q = q->next)
		for (struct broker_job *j = q->head; j; j = j->next)
			if (j->deadline_ms && j->deadline_ms <= now)
				return j;
	return NULL;
}

static void on_deadline(uv_timer_t *t)
{
	struct broker *b = t->data;
	struct broker_job *job;
	uint64_t now = broker_now_ms();

	b->jobs->armed_ms = 0;
	/* Each expiry may change the queues: look again from the start. */
	while ((job = first_expired(b, now))) {
		job->deadline_ms = 0;
		if (job->running) {
			/* It answers its client and calls broker_job_done. */
			job->expire(b, job);
			continue;
		}
		{
			struct broker_jobq *q = job->q;

			queue_unlink(b, q, job);
			job->expire(b, job);
			job_free(b, job);
			queue_gc(b, q);
		}
	}
	jobs_arm(b);
}

/* Arms the timer for the earliest deadline (writes of one queue share a
 * timeout, so each queue's first one is its earliest). */
static void jobs_arm(struct broker *b)
{
	struct broker_jobs *js = b->jobs;
	uint64_t next = 0, now;

	if (!js || js->closing)
		return;
	for (struct broker_jobq *q = js->queues; q; q = q->next)
		for (struct broker_job *j = q->head; j; j = j->next)
			if (j->deadline_ms) {
				if (!next || j->deadline_ms < next)
					next = j->deadline_ms;
				break;
			}
	if (!next) {
		if (js->armed_ms)
			uv_timer_stop(&js->timer);
		js->armed_ms = 0;
		return;
	}
	if (js->armed_ms && js->armed_ms <= next)
		return;
	now = broker_now_ms();
	js->armed_ms = next;
	uv_timer_start(&js->timer, on_deadline, next > now ? next - now : 0, 0);
}

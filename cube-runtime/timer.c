/* Timers that run on the runtime's serving thread, between requests and
 * packets in: a cube's periodic work (a reload, an aging pass) needs no
 * locking against its callbacks.
 * Owns: inst->timers (each instance's list). Calls: the timers' callbacks.
 * Serving thread only. */
#include "pcn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct pcn__timer {
	struct pcn__timer *next;
	int id;
	unsigned period_ms;
	uint64_t due_ms;
	pcn_timer_cb cb;
	void *arg;
	bool dead; /* stopped while the list was being run */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int pcn_timer_start(struct pcn_instance *inst, unsigned period_ms, pcn_timer_cb cb, void *arg)
{
	struct pcn__timer *t;

	if (!inst || !cb || period_ms == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->id = ++inst->timers.last_id;
	t->period_ms = period_ms;
	t->due_ms = mono_ms() + period_ms;
	t->cb = cb;
	t->arg = arg;
	t->next = inst->timers.list;
	inst->timers.list = t;
	return t->id;
}

static void sweep(struct pcn__inst_timers *ts)
{
	struct pcn__timer **pp = &ts->list;

	while (*pp) {
		struct pcn__timer *t = *pp;

		if (t->dead) {
			*pp = t->next;
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

void pcn_timer_stop(struct pcn_instance *inst, int id)
{
	if (!inst)
		return;
	for (struct pcn__timer *t = inst->timers.list; t; t = t->next)
		if (id == 0 || t->id == id)
			t->dead = true;
	if (!inst->timers.running)
		sweep(&inst->timers);
}

/* Runs inst's due timers; lowers *next to the earliest due time left. */
static void run_instance(struct pcn_instance *inst, uint64_t *next)
{
	uint64_t now = mono_ms();

	inst->timers.running = true;
	for (struct pcn__timer *t = inst->timers.list; t; t = t->next) {
		if (t->dead)
			continue;
		if (t->due_ms <= now) {
			t->cb(inst, t->arg);
			/* Periodic from the due time, not from now: no drift; but
			 * never a burst to catch up after a long callback. */
			t->due_ms += t->period_ms;
			now = mono_ms();
			if (t->due_ms < now)
				t->due_ms = now + t->period_ms;
		}
		if (!t->dead && t->due_ms < *next)
			*next = t->due_ms;
	}
	inst->timers.running = false;
	sweep(&inst->timers);
}

int pcn__timers_run(struct pcn__runtime *rt, int max_wait_ms)
{
	uint64_t now = mono_ms(), next = now + (uint64_t)max_wait_ms;

	/* A callback neither creates nor deletes instances (requests do,
	 * and none is served meanwhile): the list holds still. */
	for (struct pcn_instance *inst = rt->instances; inst; inst = inst->next)
		run_instance(inst, &next);
	now = mono_ms();
	return next > now ? (int)(next - now) : 0;
}

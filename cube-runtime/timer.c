/* Timers that run on the runtime's serving thread, between requests and
 * packets in: a cube's periodic work (a reload, an aging pass) needs no
 * locking against its callbacks. */
#include "pcn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct pcn__timer {
	struct pcn__timer *next;
	struct pcn_instance *inst;
	int id;
	unsigned period_ms;
	uint64_t due_ms;
	pcn_timer_cb cb;
	void *arg;
	bool dead; /* stopped while the list was being run */
};

/* One runtime per process, one serving thread: a plain list. */
static struct pcn__timer *timers;
static int next_id = 1;
static bool running;

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
	t->inst = inst;
	t->id = next_id++;
	t->period_ms = period_ms;
	t->due_ms = mono_ms() + period_ms;
	t->cb = cb;
	t->arg = arg;
	t->next = timers;
	timers = t;
	return t->id;
}

static void sweep(void)
{
	struct pcn__timer **pp = &timers;

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
	for (struct pcn__timer *t = timers; t; t = t->next)
		if (t->inst == inst && (id == 0 || t->id == id))
			t->dead = true;
	if (!running)
		sweep();
}

int pcn__timers_run(int max_wait_ms)
{
	uint64_t now = mono_ms(), next = now + (uint64_t)max_wait_ms;

	running = true;
	for (struct pcn__timer *t = timers; t; t = t->next) {
		if (t->dead)
			continue;
		if (t->due_ms <= now) {
			t->cb(t->inst, t->arg);
			/* Periodic from the due time, not from now: no drift; but
			 * never a burst to catch up after a long callback. */
			t->due_ms += t->period_ms;
			now = mono_ms();
			if (t->due_ms < now)
				t->due_ms = now + t->period_ms;
		}
		if (!t->dead && t->due_ms < next)
			next = t->due_ms;
	}
	running = false;
	sweep();
	now = mono_ms();
	return next > now ? (int)(next - now) : 0;
}

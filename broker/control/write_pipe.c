/* Which writes of a service run beside each other (loop.c's pipelining),
 * and what one computes on when others of its instance are in flight.
 *
 * A write that changes an existing instance's configuration and keeps its
 * ports is sent to the cube while the writes before it still wait for
 * their answers (the cube process answers its calls in order, and the
 * broker takes the answers in that order: broker_cube_call_ordered).
 * Writes of other instances neither read nor change what it computes and
 * commits. A write of an instance that has writes in flight is computed on
 * the candidate of the last of them (its base) and sent with the base's
 * number (ApplyConfig.after) for a cube process that checks it
 * (Register.ordered_apply; others get one write of an instance at a time):
 * the cube applies it only on top of that very change, so a write never
 * brings in a change the cube refused.
 *
 * When a write fails after it was sent (the cube refused it, it could not
 * be saved and was undone, its cube did not answer in time), the writes of
 * its instance sent after it were computed on a change that will not be:
 * they are doomed. Whatever the cube answers them (most likely stale-base,
 * 409), each is computed again when its answer comes, on what is then the
 * last change in flight before it or the committed configuration, and sent
 * again; no write of that instance starts meanwhile. A write the cube
 * refused as stale without being doomed (an undo or a replay of another
 * process came between) is computed again too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topology/topology.h"
#include "write_int.h"

struct scan {
	const struct write_req *self;
	const struct broker_instance *inst;
	bool found;       /* another write of inst runs */
	bool doomed;      /* one of them is doomed */
	bool past_self;   /* the scan reached self (queue order) */
	const struct write_req *base;
	bool doom;        /* doom those after self */
};

static void scan_one(struct broker *b, struct broker_job *job, void *arg)
{
	struct scan *c = arg;
	struct write_req *o = job->arg;

	(void)b;
	if (job->run != broker_write_run || !o)
		return;
	if (o == c->self) {
		c->past_self = true;
		return;
	}
	if (o->inst != c->inst)
		return;
	c->found = true;
	c->doomed |= o->doomed;
	if (!c->past_self && o->seq && !o->doomed)
		c->base = o;
	if (c->past_self && c->doom && o->seq)
		o->doomed = true;
}

/* broker_jobs_running walks each queue's running jobs in queue order. */
static void scan_running(struct broker *b, struct scan *c)
{
	broker_jobs_running(b, scan_one, c);
}

/* A write may run beside the running writes of its service when it
 * changes the configuration of an existing instance and leaves its ports
 * as they are (their numbers, peers and wires are the committed ones):
 * then what it computes and commits does not depend on the outcome of the
 * writes of other instances, nor theirs on its. Beside writes of its own
 * instance only for a cube that checks ApplyConfig.after, and none of them
 * doomed (they are sent again before it). */
bool broker_write_independent(struct broker *b, const struct write_req *w)
{
	struct scan c = { .self = w, .inst = w->inst };
	const struct broker_service *svc;

	if (!w->inst || !w->job->is_write || (w->t.kind == BROKER_T_INSTANCE && w->method == BROKER_DELETE))
		return false;
	scan_running(b, &c);
	if (!c.found)
		return true;
	svc = broker_service_find(b, w->inst->service);
	return svc && svc->ordered_apply && !c.doomed;
}

const struct write_req *broker_write_base(struct broker *b, const struct write_req *w)
{
	struct scan c = { .self = w, .inst = w->inst };

	if (!w->job)
		return NULL;
	scan_running(b, &c);
	return c.base;
}

void broker_write_doom_after(struct broker *b, const struct write_req *w)
{
	struct scan c = { .self = w, .inst = w->inst, .doom = true };

	if (w->inst && w->job)
		scan_running(b, &c);
}

/* Numbers are unique across the broker's restarts (a cube process keeps
 * the number of the last change it applied): they start from the clock. */
void broker_write_number(struct write_req *w, const struct write_req *base, Cubemesh__ApplyConfig *ac)
{
	static uint64_t last;
	struct timespec ts;

	if (!last) {
		clock_gettime(CLOCK_REALTIME, &ts);
		last = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	w->seq = ++last;
	ac->has_seq = 1;
	ac->seq = w->seq;
	if (base) {
		ac->has_after = 1;
		ac->after = base->seq;
	}
}

/* What w computed goes: its candidate, its port plan and the port
 * numbers it took. */
static void drop_candidate(struct write_req *w)
{
	if (w->inst)
		for (size_t i = 0; i < w->n_new; i++)
			broker_idalloc_put(&w->inst->port_ids, w->new_ids[i]);
	w->n_new = 0;
	lyd_free_all(w->cand);
	w->cand = NULL;
	free(w->cand_json);
	w->cand_json = NULL;
	free(w->plan.ports);
	memset(&w->plan, 0, sizeof(w->plan));
}

void broker_write_reset(struct broker *b, struct write_req *w)
{
	broker_write_doom_after(b, w);
	w->doomed = false;
	w->seq = 0;
	w->svc = NULL;
	drop_candidate(w);
}

bool broker_write_stale(const struct write_req *w, const struct broker_error *err)
{
	if (err->http_status == 503 || err->http_status == 504)
		return false; /* no answer: the transport's, not the cube's */
	return w->doomed || (err->http_status == 409 && strcmp(err->tag, "stale-base") == 0);
}

/* Writes of other services run meanwhile (loop.c): what they are about to
 * commit counts too, for what must be unique across services (an instance
 * name, a netdev's one peer). */
struct clash {
	const struct write_req *self;
	const char *name;   /* an instance being created */
	const char *peer;   /* a netdev being peered */
	const char *found;  /* the instance of the clashing write */
};


static void clash_check(struct broker *b, struct broker_job *job, void *arg)
{
	struct clash *c = arg;
	const struct write_req *o = job->arg;

	(void)b;
	if (job->run != broker_write_run || !o || o == c->self || !o->inst || c->found)
		return;
	if (c->name && o->creating && strcmp(o->inst->name, c->name) == 0)
		c->found = o->inst->name;
	for (size_t i = 0; c->peer && i < o->plan.n; i++)
		if (strcmp(o->plan.ports[i].peer, c->peer) == 0)
			c->found = o->inst->name;
}

/* Numbers the candidate's ports and checks their peers. */
int broker_write_plan_ports(struct broker *b, struct write_req *w, struct broker_error *err)
{
	struct broker_instance *inst = w->inst;
	int rc;

	rc = broker_config_ports(w->cand, broker_inst_collect_port, &w->plan);
	if (rc == -ENOENT)
		rc = 0; /* a transparent cube has no ports */
	if (rc || w->plan.err)
		return broker_error_set(err, 500, "operation-failed", NULL, "cannot read the ports");
	for (size_t i = 0; i < w->plan.n; i++) {
		struct broker_port *np = &w->plan.ports[i];
		struct broker_port *old = broker_inst_port(inst, np->name);

		for (size_t j = 0; j < i; j++)
			if (np->peer[0] && strcmp(np->peer, w->plan.ports[j].peer) == 0)
				return broker_error_set(err, 409, "data-exists", w->t.rest_path,
							"ports %s and %s cannot both be peered with %s",
							w->plan.ports[j].name, np->name, np->peer);
		if (old) {
			np->index = old->index;
		} else {
			int id = broker_idalloc_get(&inst->port_ids);

			if (id < 0)
				return broker_error_set(err, 409, "resource-denied", w->t.rest_path,
							"%s has %d ports already", inst->name, PCN_MAX_PORTS);
			np->index = (uint32_t)id;
			w->new_ids[w->n_new++] = (uint32_t)id;
		}
		if (np->peer[0] && (!old || strcmp(old->peer, np->peer) != 0)) {
			struct clash c = { .self = w, .peer = np->peer };

			rc = broker_topology_check_peer(b, inst, np->name, np->peer, err);
			if (rc)
				return rc;
			if (!strchr(np->peer, ':'))
				broker_jobs_running(b, clash_check, &c);
			if (c.found)
				return broker_error_set(err, 409, "data-exists", w->t.rest_path,
							"%s is being peered with a port of %s by a write in flight",
							np->peer, c.found);
		}
	}
	return 0;
}

const char *broker_write_creating(struct broker *b, const struct write_req *w, const char *name)
{
	struct clash c = { .self = w, .name = name };

	broker_jobs_running(b, clash_check, &c);
	return c.found;
}

bool broker_write_keeps_ports(const struct write_req *w)
{
	struct broker_instance *inst = w->inst;

	if (!w->cand || w->creating || w->n_new || w->plan.n != inst->n_ports)
		return false;
	for (size_t i = 0; i < w->plan.n; i++) {
		const struct broker_port *old = broker_inst_port(inst, w->plan.ports[i].name);

		if (!old || strcmp(old->peer, w->plan.ports[i].peer) != 0)
			return false;
	}
	return true;
}

/* w started beside other writes and must run alone: everything it took
 * is given back, and it runs again from the start once they are done. */
void broker_write_hold(struct broker *b, struct write_req *w)
{
	struct broker_job *job = w->job;

	drop_candidate(w);
	broker_target_fini(&w->t);
	memset(&w->t, 0, sizeof(w->t));
	w->inst = NULL;
	w->job = NULL;
	broker_job_hold(b, job);
}


/* An instance's live state, as its cube process reports it, cached for
 * GET: a read answers from the broker's configuration plus the state
 * fetched at most BROKER_STATE_TTL_MS ago. Reads that arrive while a fetch
 * is in flight wait for that one (no herd of calls to the cube); a
 * committed write, a rollback or the instance's end drops the cached state
 * (and detaches a fetch in flight, whose answer then caches nothing), so
 * that a read after a write's 2xx asks the cube again. The configuration
 * part of a read is never cached: it is the broker's committed one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "core/core.h"
#include "core/tables.h"
#include "model/model.h"
#include "log.h"

struct state_waiter {
	struct state_waiter *next;
	broker_state_cb cb;
	void *arg;
};

struct state_fetch {
	char name[BROKER_NAME_MAX];
	struct state_waiter *waiters, **tail;
};

/* The last answer of a read (broker_inst_read): a function of the
 * committed configuration, the node read, the broker's state of the
 * instance and the cube's; reused while all four are the same. */
struct read_memo {
	const struct lyd_node *config; /* a write's commit drops the memo: never a freed tree's reuse */
	enum broker_target_kind kind;
	char *xpath;
	char *bstate;
	char *state;
	char *out;
};

struct broker_inst_state {
	char *json;              /* NULL: none cached */
	uint64_t at_ms;          /* when the cube answered it */
	struct state_fetch *fetch; /* in flight for this instance, or NULL */
	struct read_memo memo;   /* memo.out NULL: none */
};

static void memo_clear(struct read_memo *m)
{
	free(m->xpath);
	free(m->bstate);
	free(m->state);
	free(m->out);
	memset(m, 0, sizeof(*m));
}

void broker_inst_state_drop(struct broker_instance *inst)
{
	if (!inst || !inst->state)
		return;
	free(inst->state->json);
	inst->state->json = NULL;
	inst->state->fetch = NULL; /* its answer is for the old configuration */
	memo_clear(&inst->state->memo);
}

void broker_inst_state_free(struct broker_instance *inst)
{
	broker_inst_state_drop(inst);
	if (inst)
		free(inst->state);
}

static void fetched(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct state_fetch *f = arg;
	struct broker_instance *inst = broker_instance_find(b, f->name);
	const char *json = NULL;

	if (!err && reply && reply->body_case == CUBEMESH__CUBE_REPLY__BODY_READ && reply->read->state_json)
		json = reply->read->state_json;
	if (inst && inst->state && inst->state->fetch == f) {
		inst->state->fetch = NULL;
		if (!err) {
			char *copy = strdup(json ? json : "");

			if (copy) {
				free(inst->state->json);
				inst->state->json = copy;
				inst->state->at_ms = broker_now_ms();
			}
		}
	}
	for (struct state_waiter *w = f->waiters, *next; w; w = next) {
		next = w->next;
		w->cb(b, w->arg, err, json);
		free(w);
	}
	free(f);
}

int broker_inst_state_get(struct broker *b, struct broker_instance *inst, broker_state_cb cb, void *arg)
{
	Cubemesh__CubeRequest creq = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ReadState rs = CUBEMESH__READ_STATE__INIT;
	struct broker_inst_state *st = inst->state;
	struct state_waiter *w;
	struct state_fetch *f;
	int rc;

	if (!st) {
		st = inst->state = calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
	}
	if (st->json && broker_now_ms() - st->at_ms <= BROKER_STATE_TTL_MS) {
		cb(b, arg, NULL, st->json);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	if (st->fetch) {
		*st->fetch->tail = w;
		st->fetch->tail = &w->next;
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(w);
		return -ENOMEM;
	}
	snprintf(f->name, sizeof(f->name), "%s", inst->name);
	f->waiters = w;
	f->tail = &w->next;
	rs.instance = inst->name;
	creq.body_case = CUBEMESH__CUBE_REQUEST__BODY_READ;
	creq.read = &rs;
	st->fetch = f;
	rc = broker_cube_call(b, broker_service_find(b, inst->service), &creq, fetched, f);
	if (rc) {
		st->fetch = NULL;
		free(w);
		free(f);
	}
	return rc;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* What a GET answered is built by libyang (the configuration duplicated,
 * both states parsed and merged into it, the node found and printed): most
 * of a read's cost, for an answer that changes only with its inputs. The
 * broker's state (a few counters, the ports' status) is built every time
 * and compared, like the cube's, so that the answer is always the one the
 * inputs of this read give. */
int broker_inst_read(struct broker *b, struct broker_instance *inst, const struct broker_target *t,
		     const char *state_json, const char **out, struct broker_error *err)
{
	struct broker_inst_state *st = inst->state;
	const char *states[2];
	size_t n = 0;
	char *bstate, *res = NULL;
	struct read_memo *m;
	int rc;

	if (!st) {
		st = inst->state = calloc(1, sizeof(*st));
		if (!st)
			return broker_error_set(err, 500, "operation-failed", NULL, "out of memory");
	}
	m = &st->memo;
	if (state_json && !state_json[0])
		state_json = NULL;
	bstate = broker_instance_state_json(b, inst);
	if (m->out && m->config == inst->config && m->kind == t->kind && same(m->xpath, t->xpath) &&
	    same(m->bstate, bstate) && same(m->state, state_json)) {
		free(bstate);
		*out = m->out;
		return 0;
	}
	if (bstate)
		states[n++] = bstate;
	if (state_json)
		states[n++] = state_json;
	rc = broker_config_read(b->models, t, inst->config, states, n, &res, err);
	memo_clear(m);
	if (rc) {
		free(bstate);
		return rc;
	}
	m->out = res;
	m->config = inst->config;
	m->kind = t->kind;
	m->bstate = bstate;
	m->xpath = t->xpath ? strdup(t->xpath) : NULL;
	m->state = state_json ? strdup(state_json) : NULL;
	if ((t->xpath && !m->xpath) || (state_json && !m->state)) {
		/* Not kept: the answer stands, the next read builds its own. */
		m->out = NULL;
		*out = res;
		memo_clear(m);
		m->out = res; /* freed with the next clear */
		m->config = NULL;
		return 0;
	}
	*out = m->out;
	return 0;
}

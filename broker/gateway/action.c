/* YANG actions over REST: POST on an action's path (".../fdb/flush") runs
 * it in the cube process that owns the instance. The broker checks the
 * target and the input here, so a cube only sees actions its model has.
 *
 * An action runs as a job of its service's write queue (core/loop.c), like
 * a write: it runs alone, once every earlier write of the service is
 * committed, and when the cube answers with a change of the configuration
 * (pcn_action_result's PUT), that write runs in the same job
 * (broker_instance_write_in) before anything else of the service. So an
 * action computing a new configuration from the one it has (firewall's
 * append, nat's next id) sees every change before it, and no change made
 * meanwhile is overwritten. The action counts against the queue's bounds
 * and deadline (503 when full, 504 when not done in time) like a write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "control/control.h"
#include "gateway/gateway.h"
#include "model/model.h"
#include "log.h"

struct action_ctx {
	struct broker_pending *pd; /* NULL once answered */
	struct broker_job *job;    /* the action's job; NULL once it ended or became the write's */
	bool calling;              /* the cube call is in flight: its callback frees */
	char path[256];            /* the action's schema path */
	char rest_path[256];       /* for messages */
	char service[64];
	char instance[64];
	char *target;              /* the data path with the keys */
	char *input;
	char *output;              /* the action's output, answered once its write is done */
};

static void action_free(struct action_ctx *ac)
{
	if (ac->pd)
		broker_pending_take(ac->pd);
	free(ac->target);
	free(ac->input);
	free(ac->output);
	free(ac);
}

/* Answers the client once (an error, the output, or 204). */
static void action_answer(struct action_ctx *ac, const struct broker_error *err, const char *out)
{
	h2o_req_t *req = ac->pd ? broker_pending_take(ac->pd) : NULL;

	ac->pd = NULL;
	if (!req)
		return;
	if (err)
		broker_reply_error(req, err);
	else if (out && out[0])
		broker_reply(req, 200, "application/json", out, strlen(out));
	else
		broker_reply(req, 204, NULL, NULL, 0);
}

/* The job's free_fn: it ended (done, expired waiting, dropped at stop). */
static void action_job_free(struct broker *b, struct broker_job *job)
{
	struct action_ctx *ac = job->arg;

	(void)b;
	if (!ac)
		return;
	ac->job = NULL;
	if (!ac->calling)
		action_free(ac);
}

/* Answers and ends the job (which frees ac, unless its call is in flight). */
static void action_end(struct broker *b, struct action_ctx *ac, const struct broker_error *err, const char *out)
{
	action_answer(ac, err, out);
	broker_job_done(b, ac->job);
}

/* The write an action asked for is done: the user gets its error, or the
 * action's output. */
static void action_write_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	struct action_ctx *ac = arg;

	(void)b;
	(void)status;
	action_answer(ac, err, ac->output);
	action_free(ac);
}

/* An action's write: PUT put_body at put_path below the instance, run in
 * the action's job. 0 when started (action_write_done answers). */
static int action_write(struct broker *b, struct action_ctx *ac, const Cubemesh__ActionReply *ar)
{
	struct broker_job *job = ac->job;
	char *path;
	int n;

	if (!ar->put_path || !ar->put_body || strstr(ar->put_path, "..") || ar->put_path[0] == '/')
		return -EINVAL;
	n = asprintf(&path, "/%s/%s/%s", ac->service, ac->instance, ar->put_path);
	if (n < 0)
		return -ENOMEM;
	if (ar->output_json && !(ac->output = strdup(ar->output_json))) {
		free(path);
		return -ENOMEM;
	}
	/* The job is the write's now: ac lives on as its done's arg. */
	ac->job = NULL;
	job->arg = NULL;
	broker_instance_write_in(b, job, path, (size_t)n, BROKER_PUT, ar->put_body, strlen(ar->put_body),
				 action_write_done, ac);
	free(path);
	return 0;
}

static void action_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct action_ctx *ac = arg;
	const Cubemesh__ActionReply *ar =
		!err && reply && reply->body_case == CUBEMESH__CUBE_REPLY__BODY_ACTION ? reply->action : NULL;
	struct broker_error werr;

	ac->calling = false;
	if (!ac->job) {
		/* Its deadline passed (answered 504, the queue went on): a
		 * change it asked for now would not be in order. */
		if (ar && ar->put_path)
			PCN_WARN("BROKER-ACTION-LATE", "%s on %s answered after its deadline: its change is dropped",
				 ac->rest_path, ac->instance);
		action_free(ac);
		return;
	}
	/* The action may have changed what a read shows (a reset, a flush). */
	broker_inst_state_drop(broker_instance_find(b, ac->instance));
	if (ar && ar->put_path) {
		/* The user's answer waits for the write. */
		if (action_write(b, ac, ar) == 0)
			return;
		broker_error_set(&werr, 500, "operation-failed", NULL, "the action's write is malformed");
		action_end(b, ac, &werr, NULL);
		return;
	}
	action_end(b, ac, err, ar ? ar->output_json : NULL);
}

/* The action's turn in its service's queue: every earlier write is done. */
static void action_run(struct broker *b, struct broker_job *job)
{
	Cubemesh__CubeRequest creq = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ActionRequest ar = CUBEMESH__ACTION_REQUEST__INIT;
	struct action_ctx *ac = job->arg;
	struct broker_instance *inst = broker_instance_find(b, ac->instance);
	struct broker_error err;
	int rc;

	/* Started beside writes still in flight (pipelined, core/loop.c),
	 * one of them may yet be undone: the action computes from what is
	 * in force, so it waits until it runs alone. */
	if (!broker_job_alone(job)) {
		broker_job_hold(b, job);
		return;
	}
	/* A write queued before the action may have deleted the instance,
	 * or the process gone since. */
	if (!inst || strcmp(inst->service, ac->service) != 0) {
		broker_error_set(&err, 404, "invalid-value", ac->rest_path, "no %s instance named %s", ac->service,
				 ac->instance);
		action_end(b, ac, &err, NULL);
		return;
	}
	if (broker_service_require_up(b, ac->service, &err)) {
		action_end(b, ac, &err, NULL);
		return;
	}
	ar.instance = ac->instance;
	ar.path = ac->path;
	ar.input_json = ac->input;
	ar.target = ac->target;
	creq.body_case = CUBEMESH__CUBE_REQUEST__BODY_ACTION;
	creq.action = &ar;
	ac->calling = true;
	rc = broker_cube_call(b, broker_service_find(b, ac->service), &creq, action_done, ac);
	if (rc) {
		ac->calling = false;
		broker_error_set(&err, 503, "resource-denied", ac->rest_path, "cannot reach %s: %s", ac->service,
				 strerror(-rc));
		action_end(b, ac, &err, NULL);
	}
}

/* The deadline passed, waiting or with the cube's answer still out: 504,
 * and nothing of it is written (action_done drops a late change). */
static void action_expire(struct broker *b, struct broker_job *job)
{
	struct action_ctx *ac = job->arg;
	struct broker_error err;

	if (job->running)
		broker_error_set(&err, 504, "operation-failed", ac->rest_path,
				 "the %s process did not answer the action in time; nothing was changed",
				 ac->service);
	else
		broker_error_set(&err, 504, "operation-failed", ac->rest_path,
				 "the action waited behind earlier writes to %s that its cube process has not "
				 "answered; nothing was changed", ac->service);
	PCN_WARN("BROKER-WRITE-TIMEOUT", "%s on %s: not done in time: 504", ac->rest_path, ac->instance);
	action_answer(ac, &err, NULL);
	if (job->running)
		broker_job_done(b, job); /* ac waits for its call (calling) */
	/* else loop.c frees the job, and ac with it */
}

/* An input body must be a JSON object (or absent) and an action without
 * input takes none. */
static int check_input(const struct broker_target *t, const char *body, size_t len, struct broker_error *err)
{
	const struct lysc_node_action *act = (const struct lysc_node_action *)t->snode;
	json_t *j;
	bool has_input;

	while (len && (body[len - 1] == ' ' || body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == '\t'))
		len--;
	if (!len)
		return 0;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return broker_error_set(err, 400, "malformed-message", t->rest_path, "the body is not a JSON object");
	}
	has_input = act->input.child != NULL;
	if (!has_input && json_object_size(j)) {
		json_decref(j);
		return broker_error_set(err, 400, "invalid-value", t->rest_path, "this action takes no input");
	}
	json_decref(j);
	return 0;
}

/* Queues ac's job in its service's write queue; 0, or err set. */
static int action_queue(struct broker *b, struct action_ctx *ac, size_t bytes, struct broker_error *err)
{
	int rc = broker_job_submit_write(b, ac->service, bytes, action_run, action_expire, ac, &ac->job);

	if (rc == -ESHUTDOWN)
		return broker_error_set(err, 503, "resource-denied", NULL, "the broker is stopping");
	if (rc) {
		PCN_WARN("BROKER-WRITE-QUEUE-FULL", "an action on %s refused: its queue is full", ac->service);
		return broker_error_set(err, 503, "resource-denied", NULL,
					"too many writes to %s are waiting (at most %u, or %zu bytes of bodies): "
					"retry later", ac->service, b->opts.write_queue_max, b->opts.write_queue_bytes);
	}
	ac->job->free_fn = action_job_free;
	return 0;
}

int broker_action_post(struct broker *b, h2o_req_t *req, const char *path, size_t len)
{
	struct broker_target t = { 0 };
	struct broker_instance *inst;
	struct action_ctx *ac = NULL;
	struct broker_error err;
	int handled = 1;

	if (broker_target_parse(b->models, path, len, &t, &err))
		goto out_not_mine; /* the write path reports it */
	if (t.kind != BROKER_T_ACTION)
		goto out_not_mine;
	handled = 0;
	inst = broker_instance_find(b, t.instance);
	if (!inst || strcmp(inst->service, t.service) != 0) {
		broker_error_set(&err, 404, "invalid-value", t.rest_path, "no %s instance named %s", t.service,
				 t.instance);
		goto fail;
	}
	if (broker_service_require_up(b, t.service, &err) || check_input(&t, req->entity.base, req->entity.len, &err))
		goto fail;
	ac = calloc(1, sizeof(*ac));
	if (!ac || !lysc_path(t.snode, LYSC_PATH_DATA, ac->path, sizeof(ac->path))) {
		broker_error_set(&err, 500, "operation-failed", t.rest_path, "cannot name the action");
		goto fail;
	}
	snprintf(ac->rest_path, sizeof(ac->rest_path), "%s", t.rest_path ? t.rest_path : "");
	snprintf(ac->service, sizeof(ac->service), "%s", t.service);
	snprintf(ac->instance, sizeof(ac->instance), "%s", inst->name);
	if ((t.xpath && !(ac->target = strdup(t.xpath))) ||
	    (req->entity.len && !(ac->input = strndup(req->entity.base, req->entity.len)))) {
		broker_error_set(&err, 500, "operation-failed", NULL, "out of memory");
		goto fail;
	}
	ac->pd = broker_pending_new(b, req);
	if (!ac->pd) {
		broker_error_set(&err, 500, "operation-failed", NULL, "out of memory");
		goto fail;
	}
	if (action_queue(b, ac, req->entity.len, &err)) {
		broker_pending_take(ac->pd);
		ac->pd = NULL;
		goto fail;
	}
	ac = NULL;
	PCN_INFO("BROKER-ACTION", "%s on %s", t.rest_path, t.service);
	goto out;
fail:
	broker_reply_error(req, &err);
out:
	if (ac)
		action_free(ac);
out_not_mine:
	broker_target_fini(&t);
	return handled;
}

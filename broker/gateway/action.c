/* YANG actions over REST: POST on an action's path (".../fdb/flush") runs
 * it in the cube process that owns the instance. The broker checks the
 * target and the input here, so a cube only sees actions its model has. */
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
	struct broker_pending *pd;
	char path[256];
	char service[64];
	char instance[64];
	char *output; /* the action's output, answered once its write is done */
};

/* The write an action asked for is done: the user gets its error, or the
 * action's output. */
static void action_write_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	struct action_ctx *ac = arg;
	h2o_req_t *req = broker_pending_take(ac->pd);

	(void)b;
	(void)status;
	if (req) {
		if (err)
			broker_reply_error(req, err);
		else if (ac->output && ac->output[0])
			broker_reply(req, 200, "application/json", ac->output, strlen(ac->output));
		else
			broker_reply(req, 204, NULL, NULL, 0);
	}
	free(ac->output);
	free(ac);
}

/* An action's write: PUT put_body at put_path below the instance, queued
 * like a user's write. 0 when queued (action_write_done answers). */
static int action_write(struct broker *b, struct action_ctx *ac, const Cubemesh__ActionReply *ar)
{
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
	broker_instance_write(b, path, (size_t)n, BROKER_PUT, ar->put_body, strlen(ar->put_body), action_write_done,
			      ac);
	free(path);
	return 0;
}

static void action_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct action_ctx *ac = arg;
	h2o_req_t *req;
	const char *out;

	/* The action may have changed what a read shows (a reset, a flush). */
	broker_inst_state_drop(broker_instance_find(b, ac->instance));
	if (!err && reply && reply->body_case == CUBEMESH__CUBE_REPLY__BODY_ACTION && reply->action->put_path) {
		struct broker_error werr;

		/* The user's answer waits for the write (the request stays
		 * pending in ac->pd). */
		if (action_write(b, ac, reply->action) == 0)
			return;
		req = broker_pending_take(ac->pd);
		broker_error_set(&werr, 500, "operation-failed", NULL, "the action's write is malformed");
		if (req)
			broker_reply_error(req, &werr);
		free(ac->output);
		free(ac);
		return;
	}
	req = broker_pending_take(ac->pd);
	if (req) {
		out = reply && reply->body_case == CUBEMESH__CUBE_REPLY__BODY_ACTION && reply->action->output_json
			      ? reply->action->output_json
			      : NULL;
		if (err)
			broker_reply_error(req, err);
		else if (out && out[0])
			broker_reply(req, 200, "application/json", out, strlen(out));
		else
			broker_reply(req, 204, NULL, NULL, 0);
	}
	free(ac);
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

int broker_action_post(struct broker *b, h2o_req_t *req, const char *path, size_t len)
{
	Cubemesh__CubeRequest creq = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ActionRequest ar = CUBEMESH__ACTION_REQUEST__INIT;
	struct broker_target t = { 0 };
	struct broker_instance *inst;
	struct action_ctx *ac = NULL;
	struct broker_error err;
	char *input = NULL;
	int rc, handled = 1;

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
	if (req->entity.len) {
		input = strndup(req->entity.base, req->entity.len);
		if (!input) {
			broker_error_set(&err, 500, "operation-failed", NULL, "out of memory");
			goto fail;
		}
	}
	snprintf(ac->service, sizeof(ac->service), "%s", t.service);
	snprintf(ac->instance, sizeof(ac->instance), "%s", inst->name);
	ar.instance = inst->name;
	ar.path = ac->path;
	ar.input_json = input;
	ar.target = t.xpath;
	creq.body_case = CUBEMESH__CUBE_REQUEST__BODY_ACTION;
	creq.action = &ar;
	ac->pd = broker_pending_new(b, req);
	rc = ac->pd ? broker_cube_call(b, broker_service_find(b, t.service), &creq, action_done, ac) : -ENOMEM;
	if (rc) {
		if (ac->pd)
			broker_pending_take(ac->pd);
		broker_error_set(&err, 503, "resource-denied", t.rest_path, "cannot reach %s: %s", t.service,
				 strerror(-rc));
		goto fail;
	}
	ac = NULL;
	PCN_INFO("BROKER-ACTION", "%s on %s", t.rest_path, t.service);
	goto out;
fail:
	broker_reply_error(req, &err);
out:
	free(ac);
	free(input);
out_not_mine:
	broker_target_fini(&t);
	return handled;
}

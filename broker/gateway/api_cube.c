/* The resources generated from each registered cube's YANG model:
 * /<service>/<instance>/<container|list|leaf>/... */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "control/control.h"
#include "gateway/gateway.h"
#include "model/model.h"
#include "log.h"

static int method_of(const h2o_req_t *req, enum broker_method *m)
{
	static const struct {
		const char *name;
		enum broker_method m;
	} tab[] = {
		{ "GET", BROKER_GET }, { "HEAD", BROKER_GET }, { "POST", BROKER_POST }, { "PUT", BROKER_PUT },
		{ "PATCH", BROKER_PATCH }, { "DELETE", BROKER_DELETE },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (h2o_memis(req->method.base, req->method.len, tab[i].name, strlen(tab[i].name))) {
			*m = tab[i].m;
			return 0;
		}
	return -EOPNOTSUPP;
}

/* The methods a resource of the model supports. Actions are POSTed (RFC
 * 8040 3.6), state is read only, a leaf is PATCHed with a bare value or
 * deleted, a key is read only (it names its entry, which is created or
 * deleted), the rest takes every method. */
static const char *allowed_methods(const struct broker_target *t)
{
	if (t->kind == BROKER_T_ACTION)
		return "POST, OPTIONS";
	if (t->kind == BROKER_T_SERVICE || !t->config)
		return "GET, HEAD, OPTIONS";
	if (t->kind == BROKER_T_LEAF)
		return lysc_is_key(t->snode) ? "GET, HEAD, OPTIONS" : "GET, HEAD, PATCH, DELETE, OPTIONS";
	return "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
}

/* 1 when the request was answered: a method the resource does not support
 * (405 with Allow) or OPTIONS. A path that names nothing is left to the
 * handlers, whose 404 says why. GET ?help describes any resource. */
static int check_method(struct broker *b, h2o_req_t *req, const char *path, size_t len, bool help)
{
	struct broker_target t;
	struct broker_error err;
	int answered;

	if (help && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
		return 0;
	if (broker_target_parse(b->models, path, len, &t, &err)) {
		if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
			broker_reply_error(req, &err);
			return 1;
		}
		return 0;
	}
	answered = broker_method_check(req, allowed_methods(&t));
	broker_target_fini(&t);
	return answered;
}

static void write_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	h2o_req_t *req = broker_pending_take(arg);

	(void)b;
	if (!req)
		return;
	if (err)
		broker_reply_error(req, err);
	else
		broker_reply(req, status, "application/json", NULL, 0);
}

struct read_ctx {
	struct broker_pending *pd;
	struct broker_target t;
};

/* The instance's configuration and its state (the cube's, cached for at
 * most BROKER_STATE_TTL_MS: control/inst_state.c). */
static void read_done(struct broker *b, void *arg, const struct broker_error *err, const char *state_json)
{
	struct read_ctx *rc = arg;
	struct broker_instance *inst = broker_instance_find(b, rc->t.instance);
	h2o_req_t *req = broker_pending_take(rc->pd);
	const char *out = NULL;
	struct broker_error rerr;

	if (!req)
		goto out;
	if (err) {
		broker_reply_error(req, err);
		goto out;
	}
	if (!inst || !inst->config) {
		broker_error_set(&rerr, 404, "invalid-value", rc->t.rest_path, "no instance %s", rc->t.instance);
		broker_reply_error(req, &rerr);
		goto out;
	}
	if (broker_inst_read(b, inst, &rc->t, state_json, &out, &rerr))
		broker_reply_error(req, &rerr);
	else
		broker_reply(req, 200, "application/json", out, strlen(out));
out:
	broker_target_fini(&rc->t);
	free(rc);
}

static void get_service(struct broker *b, h2o_req_t *req, const char *service)
{
	json_t *arr = json_array();

	for (struct broker_instance *i = b->instances; i; i = i->next)
		if (strcmp(i->service, service) == 0)
			json_array_append_new(arr, broker_instance_summary(b, i));
	broker_reply_json(req, 200, arr);
}

static void get_node(struct broker *b, h2o_req_t *req, const char *path, size_t len, bool help)
{
	struct broker_instance *inst;
	struct read_ctx *rc;
	struct broker_error err;
	int r;

	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		broker_error_set(&err, 500, "operation-failed", NULL, "out of memory");
		broker_reply_error(req, &err);
		return;
	}
	if (broker_target_parse(b->models, path, len, &rc->t, &err))
		goto fail;
	if (help) {
		char *out = NULL;

		if (broker_schema_help(b->models, &rc->t, &out, &err))
			goto fail;
		broker_reply(req, 200, "application/json", out, strlen(out));
		free(out);
		broker_target_fini(&rc->t);
		free(rc);
		return;
	}
	if (rc->t.kind == BROKER_T_SERVICE) {
		get_service(b, req, rc->t.service);
		broker_target_fini(&rc->t);
		free(rc);
		return;
	}
	inst = broker_instance_find(b, rc->t.instance);
	if (!inst || strcmp(inst->service, rc->t.service) != 0) {
		broker_error_set(&err, 404, "invalid-value", rc->t.rest_path, "no %s instance named %s",
				 rc->t.service, rc->t.instance);
		goto fail;
	}
	if (broker_service_require_up(b, rc->t.service, &err))
		goto fail;
	rc->pd = broker_pending_new(b, req);
	r = rc->pd ? broker_inst_state_get(b, inst, read_done, rc) : -ENOMEM;
	if (r) {
		if (rc->pd)
			broker_pending_take(rc->pd);
		broker_error_set(&err, 503, "resource-denied", rc->t.rest_path, "cannot reach %s: %s",
				 rc->t.service, strerror(-r));
		goto fail;
	}
	return;
fail:
	broker_reply_error(req, &err);
	broker_target_fini(&rc->t);
	free(rc);
}

int broker_api_cube(struct broker *b, h2o_req_t *req, const char *path, size_t len)
{
	char seg[BROKER_NAME_MAX + 1];
	struct broker_service_info info;
	struct broker_service *svc;
	struct broker_instance *inst;
	struct broker_error err;
	enum broker_method m;
	size_t sl = 0;
	bool help = false;

	while (sl + 1 < len && path[sl + 1] != '/' && sl < BROKER_NAME_MAX) {
		seg[sl] = path[sl + 1];
		sl++;
	}
	seg[sl] = '\0';
	if (req->query_at != SIZE_MAX) {
		const char *q = req->path.base + req->query_at + 1;
		size_t ql = req->path.len - req->query_at - 1;

		help = (ql >= 4 && memcmp(q, "help", 4) == 0);
	}
	if (broker_models_info(b->models, seg, &info) != 0) {
		inst = broker_instance_find(b, seg);
		if (inst) {
			/* /<name>/... without the service: send the client to the full path. */
			char *loc;
			int n = asprintf(&loc, "%s/%s%.*s", BROKER_API_PREFIX, inst->service,
					 (int)(req->path.len - strlen(BROKER_API_PREFIX)),
					 req->path.base + strlen(BROKER_API_PREFIX));

			if (n < 0) {
				broker_error_set(&err, 500, "operation-failed", NULL, "out of memory");
				broker_reply_error(req, &err);
				return 0;
			}
			h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, loc, strlen(loc));
			broker_reply(req, 308, "text/plain", loc, strlen(loc));
			free(loc);
			return 0;
		}
		svc = broker_service_find(b, seg);
		if (svc)
			broker_error_set(&err, 503, "resource-denied", NULL,
					 "the %s process has not registered since the broker started", seg);
		else
			broker_error_set(&err, 404, "invalid-value", NULL, "no service or instance named %s", seg);
		broker_reply_error(req, &err);
		return 0;
	}
	/* A live stream the service declared, not a node of its model. */
	if (broker_stream_get(b, req, path, len) == 0)
		return 0;
	if (check_method(b, req, path, len, help))
		return 0;
	if (method_of(req, &m)) {
		/* A path that names nothing, with a method nothing takes. */
		broker_error_set(&err, 405, "operation-not-supported", NULL, "method %.*s is not supported",
				 (int)(req->method.len > 16 ? 16 : req->method.len), req->method.base);
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
			       H2O_STRLIT("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"));
		broker_reply_error(req, &err);
		return 0;
	}
	if (m == BROKER_GET) {
		get_node(b, req, path, len, help);
		return 0;
	}
	/* A YANG action (POST on its path) runs in the cube; not a write. */
	if (m == BROKER_POST && broker_action_post(b, req, path, len) == 0)
		return 0;
	broker_instance_write(b, path, len, m, req->entity.base ? req->entity.base : "",
			      req->entity.base ? req->entity.len : 0, write_done, broker_pending_new(b, req));
	return 0;
}

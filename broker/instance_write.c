/* A write request on a cube resource, from the URL to the committed change.
 * See instance.c for the order of the steps and why. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "broker.h"
#include "instance_int.h"
#include "log.h"

struct write_req {
	char *path;
	size_t path_len;
	enum broker_method method;
	char *body;
	size_t body_len;
	broker_write_done done;
	void *arg;

	struct broker_target t;
	struct broker_instance *inst; /* existing, or new and not linked yet */
	bool creating;
	struct lyd_node *cand;        /* candidate config; NULL when deleting the instance */
	struct port_collect plan;     /* the ports after the change, with their numbers */
	uint32_t new_ids[PCN_MAX_PORTS];
	size_t n_new;
	bool index_taken;
};

static const char *const reserved_names[] = {
	"services", "cubes", "netdevs", "connect", "disconnect", "attach", "detach",
	"topology", "version", "metrics", "logs", NULL,
};

static int check_name(struct broker *b, const char *name, struct broker_error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n >= BROKER_NAME_MAX)
		return broker_error_set(err, 400, "invalid-value", NULL,
					"an instance name has 1 to %d characters", BROKER_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-' && name[i] != '.')
			return broker_error_set(err, 400, "invalid-value", NULL,
						"\"%s\" is not a valid instance name: use letters, digits, "
						"'_', '-' and '.'", name);
	for (int i = 0; reserved_names[i]; i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return broker_error_set(err, 400, "invalid-value", NULL,
						"\"%s\" is reserved by the API", name);
	if (broker_service_find(b, name))
		return broker_error_set(err, 400, "invalid-value", NULL,
					"\"%s\" is the name of a service", name);
	return 0;
}

static void write_finish(struct broker *b, struct write_req *w, const struct broker_error *err, int status)
{
	w->done(b, w->arg, err, status);
	if (err) {
		/* Give back what this request took. */
		if (w->inst)
			for (size_t i = 0; i < w->n_new; i++)
				broker_idalloc_put(&w->inst->port_ids, w->new_ids[i]);
		if (w->index_taken)
			broker_idalloc_put(&b->cube_ids, w->inst->index);
		lyd_free_all(w->cand);
		if (w->creating)
			broker_instance_free(w->inst);
	}
	broker_target_fini(&w->t);
	free(w->plan.ports);
	free(w->path);
	free(w->body);
	free(w);
	broker_job_done(b);
}

static void delete_done(struct broker *b, void *arg, const struct broker_error *err,
			Cubemesh__CubeReply *reply)
{
	struct write_req *w = arg;
	struct broker_instance *inst = w->inst;
	int rc;

	(void)reply;
	if (err) {
		write_finish(b, w, err, 0);
		return;
	}
	broker_chain_port_gone(b, inst, NULL);
	broker_attach_forget(b, inst);
	for (size_t i = 0; i < inst->n_ports; i++)
		broker_topology_unwire(b, inst, &inst->ports[i]);
	broker_pp_remove(b->dp, inst->hook, inst->index);
	broker_stats_reset(b->dp, inst->index);
	broker_chain_stats_reset(b, inst->index);
	broker_slowpath_reset(b, inst->index);
	broker_inst_remove_pins(b, inst);
	rc = broker_datastore_delete(b->ds, inst->service, inst->name);
	if (rc && rc != -ENOENT)
		PCN_ERR("BROKER-DS-WRITE", "cannot remove %s from the datastore: %s", inst->name, strerror(-rc));
	broker_idalloc_put(&b->cube_ids, inst->index);
	broker_inst_unlink(b, inst);
	PCN_INFO("BROKER-INSTANCE-DELETED", "deleted %s (%s, slot %u)", inst->name, inst->service, inst->index);
	broker_instance_free(inst);
	w->inst = NULL;
	write_finish(b, w, NULL, 204);
}

static bool plan_has(const struct port_collect *plan, const char *name)
{
	for (size_t i = 0; i < plan->n; i++)
		if (strcmp(plan->ports[i].name, name) == 0)
			return true;
	return false;
}

/* Applies the port plan to the data plane and to inst->ports. */
static void commit_ports(struct broker *b, struct write_req *w)
{
	struct broker_instance *inst = w->inst;
	struct broker_error err;

	/* Ports that are gone first: their netdevs may be taken by new ports. */
	for (size_t i = 0; i < inst->n_ports; i++)
		if (!plan_has(&w->plan, inst->ports[i].name)) {
			broker_attach_port_gone(b, inst, inst->ports[i].name);
			broker_chain_port_gone(b, inst, inst->ports[i].name);
			broker_topology_unwire(b, inst, &inst->ports[i]);
			broker_idalloc_put(&inst->port_ids, inst->ports[i].index);
		}
	for (size_t i = 0; i < w->plan.n; i++) {
		struct broker_port *np = &w->plan.ports[i];
		struct broker_port *old = broker_inst_port(inst, np->name);

		if (old && strcmp(old->peer, np->peer) == 0) {
			*np = *old;
			continue;
		}
		if (old) {
			broker_topology_unwire(b, inst, old);
			np->index = old->index;
		}
	}
	for (size_t i = 0; i < w->plan.n; i++) {
		struct broker_port *np = &w->plan.ports[i];
		struct broker_port *old = broker_inst_port(inst, np->name);

		if (np->peer[0] && !np->ifindex && (!old || strcmp(old->peer, np->peer) != 0 || !old->ifindex) &&
		    broker_topology_wire(b, inst, np, &err))
			PCN_WARN("BROKER-PORT-DOWN", "%s:%s stays DOWN: %s", inst->name, np->name, err.message);
	}
	free(inst->ports);
	inst->ports = w->plan.ports;
	inst->n_ports = w->plan.n;
	w->plan.ports = NULL;
	w->plan.n = w->plan.cap = 0;
}

static void apply_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct write_req *w = arg;
	struct broker_instance *inst = w->inst;
	int status;

	if (err) {
		write_finish(b, w, err, 0);
		return;
	}
	if (w->creating) {
		broker_inst_link(b, inst);
		inst->in_cube = true;
		w->creating = false;
		w->index_taken = false;
		PCN_INFO("BROKER-INSTANCE-CREATED", "created %s (%s, slot %u)", inst->name, inst->service,
			 inst->index);
	}
	w->n_new = 0;
	broker_inst_install_programs(b, inst, reply);
	commit_ports(b, w);
	broker_chain_peers_back(b, inst);
	lyd_free_all(inst->config);
	inst->config = w->cand;
	w->cand = NULL;
	broker_chain_cfg_apply(b, inst);
	if (broker_inst_persist(b, inst)) {
		struct broker_error perr;

		broker_error_set(&perr, 500, "operation-failed", w->t.rest_path,
				 "the change is applied but could not be saved in %s: it is lost if the "
				 "broker restarts", b->opts.state_dir);
		write_finish(b, w, &perr, 0);
		return;
	}
	status = w->method == BROKER_POST ? 201 : 200;
	write_finish(b, w, NULL, status);
}

/* Numbers the candidate's ports and checks their peers. */
static int plan_ports(struct broker *b, struct write_req *w, struct broker_error *err)
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
			rc = broker_topology_check_peer(b, inst, np->name, np->peer, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static void write_run(struct broker *b, struct broker_job *job)
{
	struct write_req *w = job->arg;
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ApplyConfig ac = CUBEMESH__APPLY_CONFIG__INIT;
	Cubemesh__PortInfo *pis[PCN_MAX_PORTS], pstore[PCN_MAX_PORTS];
	struct broker_service *svc;
	struct broker_error err;
	char *json = NULL;
	int rc;

	job->arg = NULL;
	rc = broker_target_parse(b->models, w->path, w->path_len, &w->t, &err);
	if (rc)
		goto fail;
	if (w->t.kind == BROKER_T_SERVICE) {
		broker_error_set(&err, 405, "operation-not-supported", w->t.rest_path,
				 "create an instance with POST /%s/<name>/", w->t.service);
		goto fail;
	}
	w->inst = broker_instance_find(b, w->t.instance);
	if (w->inst && strcmp(w->inst->service, w->t.service) != 0) {
		broker_error_set(&err, 409, "data-exists", w->t.rest_path,
				 "the name %s is taken by an instance of %s", w->t.instance, w->inst->service);
		w->inst = NULL;
		goto fail;
	}
	if (!w->inst) {
		if (w->t.kind != BROKER_T_INSTANCE || (w->method != BROKER_POST && w->method != BROKER_PUT)) {
			broker_error_set(&err, 404, "invalid-value", w->t.rest_path, "no %s instance named %s",
					 w->t.service, w->t.instance);
			goto fail;
		}
		if (check_name(b, w->t.instance, &err))
			goto fail;
	}
	if (broker_service_require_up(b, w->t.service, &err))
		goto fail;
	if (w->inst && !w->inst->config) {
		broker_error_set(&err, 503, "resource-denied", w->t.rest_path,
				 "%s is not restored yet", w->t.instance);
		goto fail;
	}
	rc = broker_config_apply(b->models, &w->t, w->method, w->inst ? w->inst->config : NULL, w->body,
				 w->body_len, &w->cand, &err);
	if (rc)
		goto fail;
	svc = broker_service_find(b, w->t.service);
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	req.apply = &ac;
	if (!w->cand) {
		ac.instance = w->inst->name;
		ac.op = CUBEMESH__APPLY_OP__APPLY_DELETE;
		ac.index = w->inst->index;
		ac.hook = (Cubemesh__Hook)w->inst->hook;
		rc = broker_cube_call(b, svc, &req, delete_done, w);
		if (rc) {
			broker_error_set(&err, 503, "resource-denied", w->t.rest_path, "cannot reach %s: %s",
					 svc->name, strerror(-rc));
			goto fail;
		}
		return;
	}
	if (!w->inst) {
		rc = broker_inst_new(&w->inst, w->t.service, w->t.instance);
		if (rc == 0)
			rc = broker_inst_make_uuid(w->inst->uuid);
		if (rc) {
			broker_error_set(&err, 500, "operation-failed", w->t.rest_path, "%s", strerror(-rc));
			goto fail;
		}
		w->creating = true;
		rc = broker_idalloc_get(&b->cube_ids);
		if (rc < 0) {
			broker_error_set(&err, 409, "resource-denied", w->t.rest_path,
					 "no free PatchPanel slot: %d instances exist", PCN_MAX_CUBES - 1);
			goto fail;
		}
		w->inst->index = (uint32_t)rc;
		w->index_taken = true;
		w->inst->hook = broker_inst_hook(w->cand);
	}
	if (plan_ports(b, w, &err))
		goto fail;
	rc = broker_inst_fill_apply(b, w->inst, w->cand, &ac, pis, pstore, w->plan.ports, w->plan.n, &json);
	ac.op = w->creating ? CUBEMESH__APPLY_OP__APPLY_CREATE : CUBEMESH__APPLY_OP__APPLY_UPDATE;
	if (rc == 0)
		rc = broker_cube_call(b, svc, &req, apply_done, w);
	free(json);
	if (rc) {
		broker_error_set(&err, 503, "resource-denied", w->t.rest_path, "cannot reach %s: %s", svc->name,
				 strerror(-rc));
		goto fail;
	}
	return;
fail:
	write_finish(b, w, &err, 0);
}

void broker_instance_write(struct broker *b, const char *path, size_t path_len, enum broker_method method,
			   const char *body, size_t body_len, broker_write_done done, void *arg)
{
	struct write_req *w = calloc(1, sizeof(*w));
	struct broker_error err;

	if (!w || !(w->path = malloc(path_len + 1)) || !(w->body = malloc(body_len + 1))) {
		if (w)
			free(w->path);
		free(w);
		broker_error_set(&err, 500, "operation-failed", NULL, "out of memory");
		done(b, arg, &err, 0);
		return;
	}
	memcpy(w->path, path, path_len);
	w->path[path_len] = '\0';
	w->path_len = path_len;
	memcpy(w->body, body, body_len);
	w->body[body_len] = '\0';
	w->body_len = body_len;
	w->method = method;
	w->done = done;
	w->arg = arg;
	broker_job_submit(b, write_run, NULL, w);
}

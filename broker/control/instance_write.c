/* A write request on a cube resource, from the URL to the committed change.
 * See instance.c for the order of the steps and why.
 *
 * Writes queue per service (loop.c). A write is applied by the cube, then
 * saved, then committed in the broker (the next write of the service runs
 * now) and answered once the datastore reports its record durable: writes
 * staged while a sync is in flight share the next one (group commit,
 * store/commit.c); a failed sync answers 500. A change that cannot be
 * saved is sent back out of the cube (its previous configuration applied
 * again) before the error is answered, so the API, the datastore and the
 * data plane never disagree. A write not done by its deadline is answered
 * 504 and leaves the broker's configuration as it was; if the cube may have
 * acted on it (it answers late, or never), the broker sends the cube that
 * configuration again (a "resync" job) once the call is over. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "control/control.h"
#include "core/core.h"
#include "dataplane/chainstats.h"
#include "dataplane/dataplane.h"
#include "model/model.h"
#include "slowpath/slowpath.h"
#include "store/datastore.h"
#include "topology/topology.h"
#include "instance_int.h"
#include "write_int.h"
#include "log.h"
#include "pcn_layout.h"

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
	/* The name becomes a bpffs directory: the layout's rule, nothing looser. */
	if (pcn_name_check(name))
		return broker_error_set(err, 400, "invalid-value", NULL,
					"\"%s\" is not a valid instance name: use letters, digits, '_' and '-' "
					"(bpffs refuses '.')", name);
	for (int i = 0; reserved_names[i]; i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return broker_error_set(err, 400, "invalid-value", NULL,
						"\"%s\" is reserved by the API", name);
	if (broker_service_find(b, name))
		return broker_error_set(err, 400, "invalid-value", NULL,
					"\"%s\" is the name of a service", name);
	return 0;
}

static void write_free(struct write_req *w)
{
	broker_target_fini(&w->t);
	free(w->cand_json);
	free(w->plan.ports);
	free(w->path);
	free(w->body);
	free(w);
}

static void write_finish(struct broker *b, struct write_req *w, const struct broker_error *err, int status)
{
	struct broker_job *job = w->job;

	if (err && w->seq)
		broker_write_doom_after(b, w);
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
	write_free(w);
	broker_job_done(b, job);
}

/* ---- committed writes, answered once durable ---------------------------- */

static void write_answer(struct broker *b, struct write_req *w)
{
	struct broker_error err;
	int rc = w->durable_rc;

	if (rc == -ENOENT && w->status == 204)
		rc = 0; /* the record of a deleted instance was gone already */
	if (rc) {
		broker_error_set(&err, 500, "operation-failed", w->t.rest_path,
				 "the change is applied but could not be made durable in %s (%s): a restart may "
				 "lose it", b->opts.state_dir, strerror(-rc));
		w->done(b, w->arg, &err, 0);
	} else {
		w->done(b, w->arg, NULL, w->status);
	}
	write_free(w);
}

/* The datastore's callback (broker_datastore_reap, on the loop). */
static void write_durable(void *arg, int rc)
{
	struct write_req *w = arg;

	w->durable = true;
	w->durable_rc = rc;
	if (w->committed)
		write_answer(w->b, w);
}

/* w is committed in the broker: the next write of its service may run
 * (it sees this one); the answer waits for the record's sync, which
 * covers every write staged before it (datastore.h). */
static void write_committed(struct broker *b, struct write_req *w, int status)
{
	struct broker_job *job = w->job;

	w->status = status;
	w->committed = true;
	w->job = NULL;
	if (w->durable)
		write_answer(b, w);
	broker_job_done(b, job);
}

/* Wakes the loop to reap what the commit thread finished; any thread. */
static void write_reap(struct broker *b, void *arg)
{
	(void)arg;
	broker_datastore_reap(b->ds);
}

void broker_write_durable_notify(void *b)
{
	broker_post(b, write_reap, NULL);
}

void broker_writes_drain(struct broker *b)
{
	if (b->ds)
		broker_datastore_drain(b->ds);
}

/* ---- writes whose outcome in the cube is unknown ------------------------ */

static struct write_late *late_new(struct write_req *w)
{
	bool slot_held = w->index_taken;

	/* The cube may hold a new instance in that slot: not reused before
	 * the cube has been told to forget it. */
	w->index_taken = false;
	return broker_write_late_new(w->svc, w->inst ? w->inst->name : w->t.instance,
				     w->inst ? w->inst->index : 0, w->inst ? w->inst->hook : 0, slot_held);
}

/* Stops waiting for w's call (answered 504 now); the call finishes into
 * broker_write_late_done (instance_resync.c). */
static void write_detach(struct broker *b, struct write_req *w)
{
	struct write_late *l;

	if (!w->svc)
		return;
	l = late_new(w);
	if (!l) {
		PCN_ERR("BROKER-OOM", "out of memory: %s may keep a change the broker does not know", w->t.instance);
		/* Nothing to rebind to: keep the call's arg valid by failing loudly. */
		abort();
	}
	if (broker_cube_call_rebind(w->svc, w, broker_write_late_done, l)) {
		/* No call in flight after all: only the resync is needed. */
		broker_write_late_queue(b, l);
	}
	w->svc = NULL;
}

/* A call of w failed. 504: the cube may act on it yet. */
static void write_call_failed(struct broker *b, struct write_req *w, const struct broker_error *err)
{
	if (broker_write_stale(w, err)) {
		broker_write_again(b, w);
		return;
	}
	if (err->http_status == 504) {
		struct write_late *l = late_new(w);

		if (l)
			broker_write_late_queue(b, l);
	}
	w->svc = NULL;
	write_finish(b, w, err, 0);
}

/* ---- saving, and undoing what cannot be saved --------------------------- */

static int save_error(struct broker *b, struct write_req *w, int rc, struct broker_error *err)
{
	switch (-rc) {
	case ENOSPC:
	case EDQUOT:
		return broker_error_set(err, 507, "resource-denied", w->t.rest_path,
					"no space left to save the change in %s: it was not applied",
					b->opts.state_dir);
	case EMFILE:
	case ENFILE:
		return broker_error_set(err, 503, "resource-denied", w->t.rest_path,
					"the broker has no file descriptor left to save the change: it was not "
					"applied; retry later");
	default:
		return broker_error_set(err, 500, "operation-failed", w->t.rest_path,
					"cannot save the change in %s (%s): it was not applied", b->opts.state_dir,
					strerror(-rc));
	}
}

/* The record of the instance as it will be once w is committed. */
static int save_candidate(struct broker *b, struct write_req *w)
{
	struct broker_record rec = { 0 };
	char *json = w->cand_json;
	int rc;

	/* The text the cube was sent is the candidate's print already. */
	w->cand_json = NULL;
	if (!json) {
		rc = broker_config_print(w->cand, &json);
		if (rc)
			return rc;
	}
	snprintf(rec.service, sizeof(rec.service), "%s", w->inst->service);
	snprintf(rec.name, sizeof(rec.name), "%s", w->inst->name);
	snprintf(rec.uuid, sizeof(rec.uuid), "%s", w->inst->uuid);
	rec.index = w->inst->index;
	rec.config_json = json;
	rec.n_ports = w->plan.n;
	rec.ports = calloc(w->plan.n ? w->plan.n : 1, sizeof(*rec.ports));
	if (!rec.ports) {
		free(json);
		return -ENOMEM;
	}
	for (size_t i = 0; i < w->plan.n; i++) {
		snprintf(rec.ports[i].name, sizeof(rec.ports[i].name), "%s", w->plan.ports[i].name);
		rec.ports[i].index = w->plan.ports[i].index;
	}
	rc = broker_datastore_put_async(b->ds, &rec, write_durable, w);
	free(rec.ports);
	free(json);
	return rc;
}

static void rollback_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct write_req *w = arg;
	struct broker_error serr = w->save_err;
	int rc = 0;

	if (err) {
		PCN_ERR("BROKER-WRITE-DESYNC", "%s could not be undone in %s after it could not be saved: %s",
			w->t.instance, w->svc->name, err->message);
		if (err->http_status == 504 || err->http_status == 503) {
			struct write_late *l = late_new(w);

			if (l)
				broker_write_late_queue(b, l);
		}
	} else if (!w->creating) {
		broker_inst_install_programs(b, w->inst, reply);
	}
	broker_inst_state_drop(w->inst);
	w->svc = NULL;
	/* The store keeps what it had: put replaces a record atomically, so a
	 * failed one left the old file (or none). A failure after its rename
	 * (the directory's fsync) is the exception: write the old one back. */
	if (w->creating)
		rc = broker_datastore_delete(b->ds, w->inst->service, w->inst->name);
	else if (w->cand && w->save_err.http_status == 500)
		rc = broker_inst_persist(b, w->inst);
	if (rc && rc != -ENOENT)
		PCN_WARN("BROKER-DS-WRITE", "the record of %s may not match it until the next write: %s",
			 w->inst->name, strerror(-rc));
	PCN_WARN("BROKER-WRITE-UNDONE", "%s: the change could not be saved and was undone: %s", w->inst->name,
		 serr.message);
	write_finish(b, w, &serr, 0);
}

/* Sends the cube the committed configuration of w's instance (nothing of
 * it for a create) and answers save_err once it is done. */
static void rollback(struct broker *b, struct write_req *w)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ApplyConfig ac = CUBEMESH__APPLY_CONFIG__INIT;
	Cubemesh__PortInfo *pis[PCN_MAX_PORTS], pstore[PCN_MAX_PORTS];
	struct broker_instance *inst = w->inst;
	char *json = NULL;
	int rc = 0;

	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	req.apply = &ac;
	if (w->creating) {
		ac.instance = inst->name;
		ac.op = CUBEMESH__APPLY_OP__APPLY_DELETE;
		ac.index = inst->index;
		ac.hook = (Cubemesh__Hook)inst->hook;
	} else {
		rc = broker_inst_fill_apply(b, inst, inst->config, &ac, pis, pstore, inst->ports, inst->n_ports,
					    &json);
		/* After a delete the cube has it no more: a replay recreates it
		 * (and adopts what is pinned); after an update it updates. */
		ac.op = !w->cand ? CUBEMESH__APPLY_OP__APPLY_CREATE : CUBEMESH__APPLY_OP__APPLY_UPDATE;
		if (ac.op == CUBEMESH__APPLY_OP__APPLY_CREATE) {
			ac.has_replay = 1;
			ac.replay = 1;
		}
	}
	if (rc == 0)
		rc = broker_cube_call(b, w->svc, &req, rollback_done, w);
	free(json);
	if (rc) {
		struct broker_error cerr;

		broker_error_set(&cerr, 503, "operation-failed", NULL, "cannot reach %s: %s", w->svc->name,
				 strerror(-rc));
		rollback_done(b, w, &cerr, NULL);
	}
}

static void delete_done(struct broker *b, void *arg, const struct broker_error *err,
			Cubemesh__CubeReply *reply)
{
	struct write_req *w = arg;
	struct broker_instance *inst = w->inst;
	int rc;

	(void)reply;
	if (err) {
		write_call_failed(b, w, err);
		return;
	}
	/* The record goes first: a delete the store cannot make is undone. */
	rc = broker_datastore_delete_async(b->ds, inst->service, inst->name, write_durable, w);
	if (rc) {
		PCN_ERR("BROKER-DS-WRITE", "cannot remove %s from the datastore: %s", inst->name, strerror(-rc));
		save_error(b, w, rc, &w->save_err);
		rollback(b, w);
		return;
	}
	w->svc = NULL;
	broker_chain_port_gone(b, inst, NULL);
	broker_attach_forget(b, inst);
	for (size_t i = 0; i < inst->n_ports; i++)
		broker_topology_unwire(b, inst, &inst->ports[i]);
	broker_pp_remove(b->dp, inst->hook, inst->index);
	broker_stats_reset(b->dp, inst->index);
	broker_chain_stats_reset(b, inst->index);
	broker_slowpath_reset(b, inst->index);
	broker_inst_remove_pins(b, inst);
	broker_idalloc_put(&b->cube_ids, inst->index);
	broker_inst_unlink(b, inst);
	PCN_INFO("BROKER-INSTANCE-DELETED", "deleted %s (%s, slot %u)", inst->name, inst->service, inst->index);
	broker_instance_free(inst);
	w->inst = NULL;
	write_committed(b, w, 204);
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
	int status, rc;

	if (err) {
		write_call_failed(b, w, err);
		return;
	}
	if (w->doomed) {
		/* Applied on top of a change that failed: computed again. */
		broker_write_again(b, w);
		return;
	}
	/* Durable before anything else commits: the record of the candidate
	 * is written first; if it cannot be, the cube is brought back. */
	rc = save_candidate(b, w);
	if (rc) {
		save_error(b, w, rc, &w->save_err);
		/* Those after it followed it in the cube: computed again, and
		 * never on it (no number: no base) while it is undone. */
		broker_write_doom_after(b, w);
		w->seq = 0;
		rollback(b, w);
		return;
	}
	w->svc = NULL;
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
	broker_inst_state_drop(inst);
	broker_chain_cfg_apply(b, inst);
	status = w->method == BROKER_POST ? 201 : 200;
	write_committed(b, w, status);
}

/* Computes w's candidate on top of what it follows (the write of its
 * instance in flight before it, or the committed configuration) and sends
 * it. again: w runs again (write_pipe.c), released already. */
static void write_apply(struct broker *b, struct write_req *w, bool again)
{
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ApplyConfig ac = CUBEMESH__APPLY_CONFIG__INIT;
	Cubemesh__PortInfo *pis[PCN_MAX_PORTS], pstore[PCN_MAX_PORTS];
	struct broker_job *job = w->job;
	const struct write_req *base = w->inst ? broker_write_base(b, w) : NULL;
	struct broker_service *svc;
	struct broker_error err;
	char *json = NULL;
	bool independent;
	int rc;

	rc = broker_config_apply(b->models, &w->t, w->method,
				 base ? base->cand : w->inst ? w->inst->config : NULL, w->body, w->body_len, &w->cand,
				 &err);
	if (rc)
		goto fail;
	if (!w->cand && !broker_job_alone(job))
		goto hold;
	svc = broker_service_find(b, w->t.service);
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	req.apply = &ac;
	if (!w->cand) {
		ac.instance = w->inst->name;
		ac.op = CUBEMESH__APPLY_OP__APPLY_DELETE;
		ac.index = w->inst->index;
		ac.hook = (Cubemesh__Hook)w->inst->hook;
		w->svc = svc;
		rc = broker_cube_call(b, svc, &req, delete_done, w);
		if (rc) {
			w->svc = NULL;
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
	if (broker_write_plan_ports(b, w, &err))
		goto fail;
	independent = broker_write_keeps_ports(w);
	if (!independent && !broker_job_alone(job))
		goto hold;
	rc = broker_inst_fill_apply(b, w->inst, w->cand, &ac, pis, pstore, w->plan.ports, w->plan.n, &json);
	ac.op = w->creating ? CUBEMESH__APPLY_OP__APPLY_CREATE : CUBEMESH__APPLY_OP__APPLY_UPDATE;
	broker_write_number(w, base, &ac);
	w->svc = svc;
	if (rc == 0)
		rc = broker_cube_call_ordered(b, svc, &req, apply_done, w);
	w->cand_json = json;
	if (rc) {
		w->svc = NULL;
		w->seq = 0;
		broker_error_set(&err, 503, "resource-denied", w->t.rest_path, "cannot reach %s: %s", svc->name,
				 strerror(-rc));
		goto fail;
	}
	/* Sent: the cube answers in order, and what runs next either touches
	 * other instances or follows this one (write_pipe.c). */
	if (independent && job->is_write)
		broker_job_release(b, job);
	return;
hold:
	if (!again) {
		broker_write_hold(b, w);
		return;
	}
	/* Computed again, it is no longer a change beside the others (never
	 * so far: its ports are the committed ones either way). */
	broker_error_set(&err, 503, "resource-denied", w->t.rest_path,
			 "a write before this one failed, and this one cannot follow the others now: retry");
fail:
	write_finish(b, w, &err, 0);
}

void broker_write_again(struct broker *b, struct write_req *w)
{
	broker_write_reset(b, w);
	write_apply(b, w, true);
}

void broker_write_run(struct broker *b, struct broker_job *job)
{
	struct write_req *w = job->arg;
	struct broker_error err;
	int rc;

	w->job = job;
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
	if (!broker_job_alone(job) && !broker_write_independent(b, w)) {
		broker_write_hold(b, w);
		return;
	}
	if (!w->inst) {
		if (w->t.kind != BROKER_T_INSTANCE || (w->method != BROKER_POST && w->method != BROKER_PUT)) {
			broker_error_set(&err, 404, "invalid-value", w->t.rest_path, "no %s instance named %s",
					 w->t.service, w->t.instance);
			goto fail;
		}
		if (check_name(b, w->t.instance, &err))
			goto fail;
		{
			const char *found = broker_write_creating(b, w, w->t.instance);

			if (found) {
				broker_error_set(&err, 409, "data-exists", w->t.rest_path,
						 "an instance named %s is being created", w->t.instance);
				goto fail;
			}
		}
	}
	if (broker_service_require_up(b, w->t.service, &err))
		goto fail;
	if (w->inst && !w->inst->config) {
		broker_error_set(&err, 503, "resource-denied", w->t.rest_path,
				 "%s is not restored yet", w->t.instance);
		goto fail;
	}
	write_apply(b, w, false);
	return;
fail:
	write_finish(b, w, &err, 0);
}

/* The deadline passed: waiting, the write is dropped; running, the broker
 * stops waiting for the cube (write_detach). Either way 504, and the
 * broker's configuration is the one before the write. */
static void write_expire(struct broker *b, struct broker_job *job)
{
	struct write_req *w = job->arg;
	struct broker_error err;
	uint64_t waited = broker_now_ms() - w->queued_ms;

	if (!job->running) {
		broker_error_set(&err, 504, "operation-failed", NULL,
				 "the write waited %llu ms behind earlier writes to the same service that its "
				 "cube process has not answered; nothing was changed",
				 (unsigned long long)waited);
		PCN_WARN("BROKER-WRITE-TIMEOUT", "a write to %.*s waited %llu ms in its queue: 504", (int)w->path_len,
			 w->path, (unsigned long long)waited);
		w->done(b, w->arg, &err, 0);
		write_free(w);
		return; /* loop.c frees the job */
	}
	broker_error_set(&err, 504, "operation-failed", w->t.rest_path,
			 "the %s process did not answer within %llu ms; the configuration stays as it was (the "
			 "cube gets it again when it answers)",
			 w->svc ? w->svc->name : w->t.service, (unsigned long long)waited);
	PCN_WARN("BROKER-WRITE-TIMEOUT", "%s: %s did not answer a write within %llu ms: 504, configuration kept",
		 w->t.instance, w->svc ? w->svc->name : w->t.service, (unsigned long long)waited);
	write_detach(b, w);
	write_finish(b, w, &err, 0);
}

/* The queue of a write: the service, the URL's first segment. */
static void write_key(const char *path, size_t len, char *key, size_t n)
{
	size_t i = 0, k = 0;

	while (i < len && path[i] == '/')
		i++;
	while (i < len && path[i] != '/' && k + 1 < n)
		key[k++] = path[i++];
	key[k] = '\0';
}

/* A write request, not queued yet; NULL when memory ran out (done has
 * answered 500 then). */
static struct write_req *write_new(struct broker *b, const char *path, size_t path_len, enum broker_method method,
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
		return NULL;
	}
	memcpy(w->path, path, path_len);
	w->path[path_len] = '\0';
	w->path_len = path_len;
	memcpy(w->body, body, body_len);
	w->body[body_len] = '\0';
	w->body_len = body_len;
	w->method = method;
	w->b = b;
	w->done = done;
	w->arg = arg;
	w->queued_ms = broker_now_ms();
	return w;
}

void broker_instance_write_in(struct broker *b, struct broker_job *job, const char *path, size_t path_len,
			      enum broker_method method, const char *body, size_t body_len, broker_write_done done,
			      void *arg)
{
	struct write_req *w;

	/* The job is the write's from now on (its deadline too). */
	job->free_fn = NULL;
	job->arg = NULL;
	w = write_new(b, path, path_len, method, body, body_len, done, arg);
	if (!w) {
		broker_job_done(b, job);
		return;
	}
	job->arg = w;
	job->run = broker_write_run;
	job->expire = write_expire;
	broker_write_run(b, job);
}

void broker_instance_write(struct broker *b, const char *path, size_t path_len, enum broker_method method,
			   const char *body, size_t body_len, broker_write_done done, void *arg)
{
	struct write_req *w = write_new(b, path, path_len, method, body, body_len, done, arg);
	struct broker_error err;
	char key[BROKER_NAME_MAX];
	int rc;

	if (!w)
		return;
	write_key(path, path_len, key, sizeof(key));
	rc = broker_job_submit_write(b, key, body_len, broker_write_run, write_expire, w, NULL);
	if (rc == -ESHUTDOWN) {
		broker_error_set(&err, 503, "resource-denied", NULL, "the broker is stopping");
		write_free(w);
		done(b, arg, &err, 0);
	} else if (rc) {
		/* Bounded: a cube that does not answer holds up at most this. */
		broker_error_set(&err, 503, "resource-denied", NULL,
				 "too many writes to %s are waiting (at most %u, or %zu bytes of bodies): retry later",
				 key, b->opts.write_queue_max, b->opts.write_queue_bytes);
		PCN_WARN("BROKER-WRITE-QUEUE-FULL", "a write to %s refused: its queue is full", key);
		write_free(w);
		done(b, arg, &err, 0);
	}
}

/* Instances: their lifecycle, and how a write request becomes a committed
 * change.
 *
 * A write runs as a job: validate against the model (broker_config_apply),
 * plan the ports, send the whole candidate config to the cube process, and
 * only when the cube has applied it install its programs, wire its ports,
 * commit and persist. An error at any step before the cube's answer leaves
 * everything as it was; the cube answers an error only after undoing its
 * own part.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libyang/libyang.h>

#include "control/control.h"
#include "control/inst_purge.h"
#include "core/core.h"
#include "dataplane/chainstats.h"
#include "dataplane/dataplane.h"
#include "dataplane/rmtree.h"
#include "model/model.h"
#include "store/datastore.h"
#include "topology/topology.h"
#include "instance_int.h"
#include "log.h"

void broker_instance_free(struct broker_instance *inst)
{
	if (!inst)
		return;
	broker_inst_state_free(inst);
	lyd_free_all(inst->config);
	free(inst->pending_json);
	free(inst->ports);
	broker_idalloc_fini(&inst->port_ids);
	free(inst);
}

void broker_inst_link(struct broker *b, struct broker_instance *inst)
{
	struct broker_instance **pp = &b->instances;

	while (*pp && strcmp((*pp)->name, inst->name) < 0)
		pp = &(*pp)->next;
	inst->next = *pp;
	*pp = inst;
}

void broker_inst_unlink(struct broker *b, struct broker_instance *inst)
{
	for (struct broker_instance **pp = &b->instances; *pp; pp = &(*pp)->next)
		if (*pp == inst) {
			*pp = inst->next;
			return;
		}
}

int broker_inst_make_uuid(char out[37])
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, 36);
	close(fd);
	if (n != 36)
		return -EIO;
	out[36] = '\0';
	return 0;
}

enum pcn_hook broker_inst_hook(const struct lyd_node *cfg)
{
	enum pcn_hook hook = PCN_HOOK_TC;

	/* The model's enumeration: anything else cannot be in a config. */
	pcn_hook_parse(broker_config_leaf(cfg, "type"), &hook);
	return hook;
}

struct broker_port *broker_inst_port(struct broker_instance *inst, const char *name)
{
	for (size_t i = 0; i < inst->n_ports; i++)
		if (strcmp(inst->ports[i].name, name) == 0)
			return &inst->ports[i];
	return NULL;
}

int broker_inst_new(struct broker_instance **out, const char *service, const char *name)
{
	struct broker_instance *inst = calloc(1, sizeof(*inst));
	int rc;

	if (!inst)
		return -ENOMEM;
	snprintf(inst->service, sizeof(inst->service), "%s", service);
	snprintf(inst->name, sizeof(inst->name), "%s", name);
	rc = broker_idalloc_init(&inst->port_ids, 0, PCN_MAX_PORTS);
	if (rc) {
		free(inst);
		return rc;
	}
	*out = inst;
	return 0;
}

/* Removes the instance's pin directory (its maps and program pins). */
void broker_inst_remove_pins(struct broker *b, const struct broker_instance *inst)
{
	char dir[512];

	/* Never a cut or climbing path: broker_rmtree would remove what it names. */
	if (pcn_layout_cube(dir, sizeof(dir), b->opts.bpffs_root, inst->service, inst->name, NULL)) {
		PCN_WARN("BROKER-PIN-LEFT", "%s: no pin directory can be named for %s", inst->name, inst->service);
		return;
	}
	if (broker_rmtree(dir))
		PCN_WARN("BROKER-PIN-LEFT", "could not remove every pin under %s", dir);
}

int broker_inst_persist(struct broker *b, const struct broker_instance *inst)
{
	struct broker_record rec = { 0 };
	char *json = NULL;
	int rc;

	rc = broker_config_print(inst->config, &json);
	if (rc)
		return rc;
	snprintf(rec.service, sizeof(rec.service), "%s", inst->service);
	snprintf(rec.name, sizeof(rec.name), "%s", inst->name);
	snprintf(rec.uuid, sizeof(rec.uuid), "%s", inst->uuid);
	rec.index = inst->index;
	rec.config_json = json;
	rec.n_ports = inst->n_ports;
	rec.ports = calloc(inst->n_ports ? inst->n_ports : 1, sizeof(*rec.ports));
	if (!rec.ports) {
		free(json);
		return -ENOMEM;
	}
	for (size_t i = 0; i < inst->n_ports; i++) {
		snprintf(rec.ports[i].name, sizeof(rec.ports[i].name), "%s", inst->ports[i].name);
		rec.ports[i].index = inst->ports[i].index;
	}
	rc = broker_datastore_put(b->ds, &rec);
	if (rc)
		PCN_ERR("BROKER-DS-WRITE", "cannot persist %s: %s", inst->name, strerror(-rc));
	free(rec.ports);
	free(json);
	return rc;
}

/* ---- the state the broker knows ---------------------------------------- */

static void port_uuid(const struct broker_instance *inst, const struct broker_port *p, char out[37])
{
	/* Stable across restarts without storing it: the instance's uuid with
	 * its last group carrying the port number. */
	snprintf(out, 37, "%.24s%012x", inst->uuid, p->index);
}

char *broker_instance_state_json(struct broker *b, const struct broker_instance *inst)
{
	json_t *entry = json_object(), *ports = json_array(), *root = json_object(), *list = json_array();
	char key[2 * BROKER_NAME_MAX + 2];
	char *out;

	(void)b;
	json_object_set_new(entry, "name", json_string(inst->name));
	json_object_set_new(entry, "uuid", json_string(inst->uuid));
	json_object_set_new(entry, "service-name", json_string(inst->service));
	json_object_set_new(entry, "tail-call-misses", broker_chain_stats_json(b, inst));
	if (broker_attach_parent(b, inst))
		json_object_set_new(entry, "parent", json_string(broker_attach_parent(b, inst)));
	for (size_t i = 0; i < inst->n_ports; i++) {
		json_t *p = json_object();
		char uuid[37];

		port_uuid(inst, &inst->ports[i], uuid);
		json_object_set_new(p, "name", json_string(inst->ports[i].name));
		json_object_set_new(p, "uuid", json_string(uuid));
		json_object_set_new(p, "status", json_string(broker_port_up(&inst->ports[i]) ? "UP" : "DOWN"));
		json_array_append_new(ports, p);
	}
	if (inst->n_ports)
		json_object_set_new(entry, "ports", ports);
	else
		json_decref(ports);
	json_array_append_new(list, entry);
	snprintf(key, sizeof(key), "%s:%s", inst->service, inst->service);
	json_object_set_new(root, key, list);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

json_t *broker_instance_summary(struct broker *b, const struct broker_instance *inst)
{
	char *state = broker_instance_state_json(b, inst);
	const char *states[1] = { state };
	struct broker_target t = { .kind = BROKER_T_INSTANCE };
	struct broker_error err;
	char *out = NULL;
	json_t *j = NULL;

	if (inst->config && state) {
		char xp[256];

		snprintf(t.service, sizeof(t.service), "%s", inst->service);
		snprintf(t.instance, sizeof(t.instance), "%s", inst->name);
		snprintf(xp, sizeof(xp), "/%s:%s[name='%s']", inst->service, inst->service, inst->name);
		t.xpath = xp;
		t.snode = inst->config->schema;
		t.config = 1;
		if (broker_config_read(b->models, &t, inst->config, states, 1, &out, &err) == 0)
			j = json_loads(out, 0, NULL);
		free(out);
	}
	if (!j) {
		/* The module is not loaded yet (the cube has not registered since the
		 * broker started): show what the datastore says. */
		j = json_object();
		json_object_set_new(j, "name", json_string(inst->name));
		json_object_set_new(j, "uuid", json_string(inst->uuid));
		json_object_set_new(j, "service-name", json_string(inst->service));
	}
	free(state);
	return j;
}

/* ---- restore and replay ------------------------------------------------- */

struct restore_ctx {
	struct broker *b;
	struct broker_purge_item *skipped; /* what load could not restore */
	size_t n_skipped, cap;
};

static int restore_one(void *arg, const struct broker_record *rec)
{
	struct restore_ctx *ctx = arg;
	struct broker *b = ctx->b;
	struct broker_instance *inst;
	int rc;

	/* The datastore bounds every number; what it cannot know is what the
	 * broker holds already. A refused record is set aside, and what it
	 * left in the kernel is removed after the walk (inst_purge.h). */
	if (broker_instance_find(b, rec->name)) {
		PCN_ERR("BROKER-DS-CONFLICT", "%s (%s): another service has an instance of that name: not "
			"restored", rec->name, rec->service);
		return BROKER_DS_REFUSE;
	}
	if (rec->n_ports > PCN_MAX_PORTS || broker_idalloc_used(&b->cube_ids, rec->index)) {
		PCN_ERR("BROKER-DS-CONFLICT", "%s claims slot %u, which is taken, or more ports than an "
			"instance may have: not restored", rec->name, rec->index);
		return BROKER_DS_REFUSE;
	}
	rc = broker_inst_new(&inst, rec->service, rec->name);
	if (rc)
		return rc;
	snprintf(inst->uuid, sizeof(inst->uuid), "%s", rec->uuid);
	inst->index = rec->index;
	inst->pending_json = strdup(rec->config_json ? rec->config_json : "{}");
	inst->ports = calloc(rec->n_ports ? rec->n_ports : 1, sizeof(*inst->ports));
	if (!inst->pending_json || !inst->ports) {
		broker_instance_free(inst);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rec->n_ports; i++) {
		snprintf(inst->ports[i].name, sizeof(inst->ports[i].name), "%s", rec->ports[i].name);
		inst->ports[i].index = rec->ports[i].index;
		if (broker_idalloc_reserve(&inst->port_ids, rec->ports[i].index)) {
			PCN_ERR("BROKER-DS-CONFLICT", "%s: port %s has number %u, out of range or taken: not "
				"restored", rec->name, rec->ports[i].name, rec->ports[i].index);
			broker_instance_free(inst);
			return BROKER_DS_REFUSE;
		}
	}
	inst->n_ports = rec->n_ports;
	if (broker_idalloc_reserve(&b->cube_ids, rec->index)) {
		PCN_ERR("BROKER-DS-CONFLICT", "%s claims slot %u, which is taken or out of range: not restored",
			rec->name, rec->index);
		broker_instance_free(inst);
		return BROKER_DS_REFUSE;
	}
	if (!broker_service_get(b, rec->service)) {
		broker_idalloc_put(&b->cube_ids, rec->index);
		broker_instance_free(inst);
		return -ENOMEM;
	}
	broker_inst_link(b, inst);
	PCN_INFO("BROKER-DS-RESTORED", "restored %s (%s, slot %u); it is replayed when %s registers",
		 inst->name, inst->service, inst->index, inst->service);
	return 0;
}

static void restore_skipped(void *arg, const struct broker_ds_skipped *sk)
{
	struct restore_ctx *ctx = arg;
	struct broker_purge_item *it;

	if (ctx->n_skipped == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 8;
		struct broker_purge_item *v = realloc(ctx->skipped, cap * sizeof(*v));

		if (!v) {
			PCN_ERR("BROKER-DS-PURGE", "out of memory: what %s/%s left in the kernel stays", sk->service,
				sk->name);
			return;
		}
		ctx->skipped = v;
		ctx->cap = cap;
	}
	it = &ctx->skipped[ctx->n_skipped++];
	memset(it, 0, sizeof(*it));
	snprintf(it->service, sizeof(it->service), "%s", sk->service);
	snprintf(it->name, sizeof(it->name), "%s", sk->name);
	it->foreign = !sk->set_aside;
}

int broker_instances_restore(struct broker *b)
{
	struct restore_ctx ctx = { .b = b };
	int rc;

	/* From now on committed writes are answered from the loop once their
	 * group is durable (instance_write.c). */
	broker_datastore_set_notify(b->ds, broker_write_durable_notify, b);
	rc = broker_datastore_load_ex(b->ds, restore_one, restore_skipped, &ctx);
	/* Only once every good record holds its slot: a purge never empties a
	 * slot a restored instance owns. */
	if (rc == 0)
		broker_inst_purge(b, ctx.skipped, ctx.n_skipped);
	free(ctx.skipped);
	return rc;
}

int broker_inst_fill_apply(struct broker *b, const struct broker_instance *inst, const struct lyd_node *cfg,
		      Cubemesh__ApplyConfig *ac, Cubemesh__PortInfo **pis, Cubemesh__PortInfo *pi_store,
		      const struct broker_port *ports, size_t n_ports, char **json)
{
	int rc = 0;

	(void)b;
	/* Both callers' arrays hold PCN_MAX_PORTS: never write past them. */
	if (n_ports > PCN_MAX_PORTS) {
		PCN_ERR("BROKER-PORTS-BOUND", "%s has %zu ports, more than %d: not sent", inst->name, n_ports,
			PCN_MAX_PORTS);
		return -E2BIG;
	}
	ac->instance = (char *)inst->name;
	ac->index = inst->index;
	ac->hook = (Cubemesh__Hook)inst->hook;
	if (cfg) {
		rc = broker_config_print(cfg, json);
		if (rc)
			return rc;
		ac->config_json = *json;
	}
	for (size_t i = 0; i < n_ports; i++) {
		Cubemesh__PortInfo *pi = &pi_store[i];

		cubemesh__port_info__init(pi);
		pi->name = (char *)ports[i].name;
		pi->index = ports[i].index;
		pi->peer = (char *)ports[i].peer;
		pi->has_up = 1;
		pi->up = broker_port_up(&ports[i]);
		pis[i] = pi;
	}
	ac->n_ports = n_ports;
	ac->ports = pis;
	return 0;
}

enum pcn_hook broker_inst_prog_hook(const struct broker_instance *inst, Cubemesh__Hook hook)
{
	return hook == CUBEMESH__HOOK__HOOK_TC ? PCN_HOOK_TC : inst->hook;
}

void broker_inst_install_programs(struct broker *b, struct broker_instance *inst, const Cubemesh__CubeReply *reply)
{
	if (!reply || reply->body_case != CUBEMESH__CUBE_REPLY__BODY_APPLY)
		return;
	for (size_t i = 0; i < reply->apply->n_programs; i++) {
		/* A transparent instance at XDP sends its TC build too (hook TC). */
		enum pcn_hook hook = broker_inst_prog_hook(inst, reply->apply->programs[i]->hook);
		int rc = broker_pp_install(b->dp, hook, inst->index, reply->apply->programs[i]->pin_path);

		if (rc)
			PCN_ERR("BROKER-PP-INSTALL", "cannot install %s in slot %u: %s",
				reply->apply->programs[i]->pin_path, inst->index, strerror(-rc));
	}
}

struct replay_ctx {
	struct broker_service *svc;
	unsigned gen;
	struct broker_instance *cur;
	struct broker_job *job;
};

static void replay_step(struct broker *b, struct replay_ctx *rc);

static void replay_end(struct broker *b, struct replay_ctx *rc, bool up)
{
	if (up && rc->gen == rc->svc->gen) {
		rc->svc->state = BROKER_SVC_UP;
		rc->svc->up_since_ms = broker_now_ms();
		PCN_INFO("BROKER-CUBE-UP", "%s is up: every instance replayed", rc->svc->name);
		broker_attach_parent_replayed(b, rc->svc->name);
		broker_upgrade_replayed(b, rc->svc);
	}
	broker_job_done(b, rc->job);
	free(rc);
}

static void replay_done_one(struct broker *b, void *arg, const struct broker_error *err,
			    Cubemesh__CubeReply *reply)
{
	struct replay_ctx *rc = arg;
	struct broker_instance *inst = rc->cur;

	if (err && rc->svc->aborting) {
		/* Failed by a new registration (or the process going): that
		 * registration replays everything again; this replay ends. */
		replay_end(b, rc, false);
		return;
	}
	if (err) {
		PCN_ERR("BROKER-REPLAY-FAILED", "replaying %s to %s failed: %s", inst->name, rc->svc->name,
			err->message);
		rc->svc->replay_failed = true;
	} else {
		broker_inst_install_programs(b, inst, reply);
		for (size_t i = 0; i < inst->n_ports; i++) {
			struct broker_error werr;

			if (inst->ports[i].peer[0] &&
			    broker_topology_wire(b, inst, &inst->ports[i], &werr))
				PCN_WARN("BROKER-REPLAY-WIRE", "%s:%s stays DOWN: %s", inst->name,
					 inst->ports[i].name, werr.message);
		}
		inst->in_cube = true;
	}
	rc->cur = inst->next;
	replay_step(b, rc);
}

static void replay_step(struct broker *b, struct replay_ctx *rc)
{
	for (; rc->cur; rc->cur = rc->cur->next) {
		struct broker_instance *inst = rc->cur;
		Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
		Cubemesh__ApplyConfig ac = CUBEMESH__APPLY_CONFIG__INIT;
		Cubemesh__PortInfo *pis[PCN_MAX_PORTS], pstore[PCN_MAX_PORTS];
		struct broker_error err;
		char *json = NULL;
		int r;

		if (rc->gen != rc->svc->gen)
			break; /* the process went away meanwhile */
		if (strcmp(inst->service, rc->svc->name) != 0)
			continue;
		if (!inst->config && inst->pending_json) {
			if (broker_config_parse(b->models, inst->service, inst->pending_json, &inst->config, &err)) {
				PCN_ERR("BROKER-DS-INVALID", "the stored config of %s does not fit the model of "
					"%s %s: %s; left out", inst->name, rc->svc->name, rc->svc->version,
					err.message);
				continue;
			}
			free(inst->pending_json);
			inst->pending_json = NULL;
			inst->hook = broker_inst_hook(inst->config);
			broker_inst_sync_peers(inst);
		}
		if (!inst->config)
			continue;
		ac.op = CUBEMESH__APPLY_OP__APPLY_CREATE;
		ac.has_replay = 1;
		ac.replay = 1;
		if (broker_inst_fill_apply(b, inst, inst->config, &ac, pis, pstore, inst->ports, inst->n_ports, &json))
			continue;
		req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
		req.apply = &ac;
		r = broker_cube_call(b, rc->svc, &req, replay_done_one, rc);
		free(json);
		if (r == 0)
			return; /* continues in replay_done_one */
		if (r == -ECANCELED) {
			replay_end(b, rc, false); /* see replay_done_one */
			return;
		}
	}
	replay_end(b, rc, true);
}

static void replay_run(struct broker *b, struct broker_job *job)
{
	struct replay_ctx *rc = job->arg;

	job->arg = NULL;
	rc->job = job;
	if (rc->gen != rc->svc->gen) {
		replay_end(b, rc, false);
		return;
	}
	rc->cur = b->instances;
	replay_step(b, rc);
}

void broker_instances_replay(struct broker *b, struct broker_service *svc)
{
	struct replay_ctx *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return;
	rc->svc = svc;
	rc->gen = svc->gen;
	/* Behind the writes to svc already queued; other services' writes
	 * do not wait for it. */
	broker_job_submit(b, svc->name, replay_run, NULL, rc);
}

/* ---- ports ------------------------------------------------------------- */

int broker_inst_collect_port(void *arg, const char *name, const char *peer)
{
	struct port_collect *pc = arg;

	if (pc->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 4;
		struct broker_port *np = realloc(pc->ports, cap * sizeof(*np));

		if (!np)
			return pc->err = -ENOMEM;
		pc->ports = np;
		pc->cap = cap;
	}
	memset(&pc->ports[pc->n], 0, sizeof(pc->ports[0]));
	snprintf(pc->ports[pc->n].name, sizeof(pc->ports[0].name), "%s", name);
	snprintf(pc->ports[pc->n].peer, sizeof(pc->ports[0].peer), "%s", peer ? peer : "");
	pc->n++;
	return 0;
}

void broker_inst_sync_peers(struct broker_instance *inst)
{
	struct port_collect pc = { 0 };

	broker_config_ports(inst->config, broker_inst_collect_port, &pc);
	for (size_t i = 0; i < pc.n; i++) {
		struct broker_port *p = broker_inst_port(inst, pc.ports[i].name);

		if (p)
			snprintf(p->peer, sizeof(p->peer), "%s", pc.ports[i].peer);
	}
	free(pc.ports);
}


/* Writes whose outcome in the cube is unknown: the broker answered 504
 * and kept its configuration; once the call is over (a late answer, or
 * none), a "resync" job on the service's queue sends the cube the
 * broker's configuration of that instance again, so the two converge.
 * instance_write.c hands such writes over here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "core/core.h"
#include "instance_int.h"
#include "log.h"

/* What is left of a write the broker stopped waiting for while its call
 * was in flight (or whose outcome is unknown): enough to bring the cube
 * back to the broker's configuration of that instance. */
struct write_late {
	struct broker_service *svc;
	unsigned gen;
	char name[BROKER_NAME_MAX];
	uint32_t index;
	enum pcn_hook hook;
	bool slot_held;               /* a create's slot, kept until the cube forgot it */
	unsigned tries;
	struct broker_job *job;
};

static void resync_run(struct broker *b, struct broker_job *job);

struct write_late *broker_write_late_new(struct broker_service *svc, const char *name, uint32_t index,
					 enum pcn_hook hook, bool slot_held)
{
	struct write_late *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->svc = svc;
	l->gen = svc->gen;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->index = index;
	l->hook = hook;
	l->slot_held = slot_held;
	return l;
}

void broker_write_late_queue(struct broker *b, struct write_late *l)
{
	broker_job_submit(b, l->svc->name, resync_run, NULL, l);
}


/* The call of a write that was answered 504 is over: whatever its result,
 * the cube may have applied the change; send it the broker's view. */
void broker_write_late_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct write_late *l = arg;

	(void)reply;
	PCN_WARN("BROKER-WRITE-LATE", "%s answered a write to %s after its deadline (%s): the broker kept its "
		 "configuration and sends it again", l->svc->name, l->name, err ? err->message : "applied");
	broker_write_late_queue(b, l);
}


static void resync_end(struct broker *b, struct write_late *l)
{
	if (l->slot_held)
		broker_idalloc_put(&b->cube_ids, l->index);
	broker_job_done(b, l->job);
	free(l);
}


static void resync_done(struct broker *b, void *arg, const struct broker_error *err, Cubemesh__CubeReply *reply)
{
	struct write_late *l = arg;
	struct broker_instance *inst = broker_instance_find(b, l->name);

	if (err && err->http_status == 504 && l->gen == l->svc->gen) {
		/* Still not answering: try again behind the writes queued since. */
		if (l->tries++ == 0)
			PCN_WARN("BROKER-WRITE-RESYNC", "%s still does not answer: %s is sent again later", l->svc->name,
				 l->name);
		broker_job_done(b, l->job);
		l->job = NULL;
		broker_write_late_queue(b, l);
		return;
	}
	if (err) {
		if (!l->svc->aborting && l->gen == l->svc->gen)
			PCN_ERR("BROKER-WRITE-DESYNC", "%s did not take the broker's configuration of %s back: %s; "
				"they may differ until %s restarts", l->svc->name, l->name, err->message, l->svc->name);
	} else {
		if (inst && strcmp(inst->service, l->svc->name) == 0 && inst->config) {
			broker_inst_install_programs(b, inst, reply);
			inst->in_cube = true;
		}
		PCN_INFO("BROKER-WRITE-RESYNCED", "%s has the broker's configuration of %s again", l->svc->name,
			 l->name);
	}
	resync_end(b, l);
}


static void resync_run(struct broker *b, struct broker_job *job)
{
	struct write_late *l = job->arg;
	struct broker_instance *inst = broker_instance_find(b, l->name);
	Cubemesh__CubeRequest req = CUBEMESH__CUBE_REQUEST__INIT;
	Cubemesh__ApplyConfig ac = CUBEMESH__APPLY_CONFIG__INIT;
	Cubemesh__PortInfo *pis[PCN_MAX_PORTS], pstore[PCN_MAX_PORTS];
	char *json = NULL;
	int rc;

	l->job = job;
	if (l->gen != l->svc->gen || l->svc->state == BROKER_SVC_DOWN) {
		/* Another process now: the registration's replay did it. */
		resync_end(b, l);
		return;
	}
	req.body_case = CUBEMESH__CUBE_REQUEST__BODY_APPLY;
	req.apply = &ac;
	if (inst && strcmp(inst->service, l->svc->name) == 0 && inst->config) {
		/* A replay: creates it if the cube deleted it, else updates. */
		rc = broker_inst_fill_apply(b, inst, inst->config, &ac, pis, pstore, inst->ports, inst->n_ports,
					    &json);
		ac.op = CUBEMESH__APPLY_OP__APPLY_CREATE;
		ac.has_replay = 1;
		ac.replay = 1;
	} else {
		/* The broker has no such instance of this service. */
		ac.instance = l->name;
		ac.op = CUBEMESH__APPLY_OP__APPLY_DELETE;
		ac.index = l->index;
		ac.hook = (Cubemesh__Hook)l->hook;
		rc = 0;
	}
	if (rc == 0)
		rc = broker_cube_call(b, l->svc, &req, resync_done, l);
	free(json);
	if (rc) {
		PCN_ERR("BROKER-WRITE-DESYNC", "cannot send %s its configuration of %s again: %s", l->svc->name,
			l->name, strerror(-rc));
		resync_end(b, l);
	}
}

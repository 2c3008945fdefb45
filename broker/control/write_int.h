/* The write requests of instance_write.c, shared with write_pipe.c (which
 * writes run beside each other). Not used elsewhere. */
#ifndef BROKER_WRITE_INT_H
#define BROKER_WRITE_INT_H

#include <libyang/libyang.h>

#include "control/control.h"
#include "core/core.h"
#include "model/model.h"
#include "instance_int.h"
#include "pcn_layout.h"

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
	char *cand_json;              /* cand as sent to the cube: its record's text too */
	struct port_collect plan;     /* the ports after the change, with their numbers */
	uint32_t new_ids[PCN_MAX_PORTS];
	size_t n_new;
	bool index_taken;

	struct broker_job *job;
	struct broker_service *svc;   /* the service called, while a call is in flight */
	uint64_t seq;                 /* the number of its Apply in flight (0: none) */
	bool doomed;                  /* computed on a change that failed: computed again at its answer */
	uint64_t queued_ms;
	struct broker_error save_err; /* answered once the undo is done */

	/* Group commit: a committed write frees its queue at once (the next
	 * write of the service runs) and is answered once the datastore says
	 * its record is durable; whichever comes last answers. */
	struct broker *b;
	bool committed, durable;
	int durable_rc;
	int status;
};
/* write_pipe.c, checks against the writes in flight: plan_ports numbers
 * the candidate's ports and checks their peers (0, or err set); creating
 * names the instance of a running write that creates name, or NULL. */
int broker_write_plan_ports(struct broker *b, struct write_req *w, struct broker_error *err);
const char *broker_write_creating(struct broker *b, const struct write_req *w, const char *name);

/* instance_write.c: a write job's run. */
void broker_write_run(struct broker *b, struct broker_job *job);

/* write_pipe.c. independent: w may run beside the running writes of its
 * service (it touches none of their instances, is no create, no delete of
 * an instance). keeps_ports: its candidate has the committed ports. hold:
 * gives back what w took and waits to run again alone (broker_job_hold). */
bool broker_write_independent(struct broker *b, const struct write_req *w);
bool broker_write_keeps_ports(const struct write_req *w);
void broker_write_hold(struct broker *b, struct write_req *w);
/* The write of w's instance in flight before it that w is computed on
 * (NULL: the committed configuration). */
const struct write_req *broker_write_base(struct broker *b, const struct write_req *w);
/* w failed, or is computed again: the writes of its instance sent after
 * it are doomed. */
void broker_write_doom_after(struct broker *b, const struct write_req *w);
/* Numbers w's Apply (ApplyConfig.seq), to follow base's (after). */
void broker_write_number(struct write_req *w, const struct write_req *base, Cubemesh__ApplyConfig *ac);
/* The cube's answer err to w means: compute w again (it is doomed, or
 * the cube says it followed a change that is not its last). */
bool broker_write_stale(const struct write_req *w, const struct broker_error *err);
/* Gives back w's candidate (dooming those after it) ... */
void broker_write_reset(struct broker *b, struct write_req *w);
/* ... and computes and sends it again (instance_write.c). */
void broker_write_again(struct broker *b, struct write_req *w);

#endif

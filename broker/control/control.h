/* The control plane of the broker: the registry of cube types and their
 * processes (registry.c), the nng connections to them (cubeconn.c), the
 * instances' life and writes (instance*.c, inst_purge.c), upgrades
 * (upgrade.c).
 *
 * May call: topology/, model/, store/, dataplane/, slowpath/ (counters),
 * core/. Nothing of the gateway: a write's answer goes back through a
 * callback.
 */
#ifndef BROKER_CONTROL_H
#define BROKER_CONTROL_H

#include <jansson.h>
#include <stdio.h>

#include "core/core.h"
#include "core/tables.h"
#include "cubemesh.pb-c.h"
#include "dataplane/dataplane.h"
#include "model/model.h"

/* cubeconn.c ------------------------------------------------------------ */
/* Starts listening for cube processes on <sock_dir>/broker.sock (root only). */
int broker_cubeconn_start(struct broker *b);
void broker_cubeconn_stop(struct broker *b);
/* Opens (or reopens) the REQ socket of svc toward svc->endpoint. */
int broker_cubeconn_dial(struct broker *b, struct broker_service *svc);
void broker_cubeconn_close(struct broker *b, struct broker_service *svc);

typedef void (*broker_call_cb)(struct broker *b, void *arg, const struct broker_error *err,
			       Cubemesh__CubeReply *reply);
/* Sends req to the cube process of svc; cb runs on the loop with either err
 * (transport failure, timeout, the process went away: 503; or the cube's own
 * error) or the reply (freed after cb returns). */
int broker_cube_call(struct broker *b, struct broker_service *svc, const Cubemesh__CubeRequest *req,
		     broker_call_cb cb, void *arg);
/* The same, waiting timeout_ms instead of opts.call_timeout_ms (err 504
 * when it passes), and refusing (err 502) a reply longer than max_reply
 * bytes unless max_reply is 0. */
int broker_cube_call_ms(struct broker *b, struct broker_service *svc, const Cubemesh__CubeRequest *req,
			unsigned timeout_ms, size_t max_reply, broker_call_cb cb, void *arg);
/* The same, with cb run in the order of the ordered calls toward svc (the
 * process answers in that order; nng's threads may hand two answers over
 * in the other). Pipelined writes (write_pipe.c). */
int broker_cube_call_ordered(struct broker *b, struct broker_service *svc, const Cubemesh__CubeRequest *req,
			     broker_call_cb cb, void *arg);
/* Fails every call in flight toward svc (it went away, or its model is
 * being replaced): each callback has run (err 503) when this returns, so
 * nothing a caller holds for a call outlives it. */
void broker_cube_calls_abort(struct broker *b, struct broker_service *svc);
/* Gives the call in flight toward svc whose arg is old_arg to cb/arg
 * instead (a write that stopped waiting for it). 0, or -ENOENT. */
int broker_cube_call_rebind(struct broker_service *svc, void *old_arg, broker_call_cb cb, void *arg);

/* cube_metrics.c, cube_metrics_merge.c: the cubes' part of GET /metrics -- */
/* done runs on the loop, possibly inside broker_cube_metrics_gather, with
 * the cubes' families as OpenMetrics text (no "# EOF"; NULL when there are
 * none or memory ran out); text is freed after done returns. */
typedef void (*broker_cm_done)(struct broker *b, void *arg, const char *text, size_t len);
/* Asks every up service that declared metrics, in parallel, each for at
 * most timeout_ms (a timeout counts in its metrics_timeouts); merges what
 * came back and calls done once. */
void broker_cube_metrics_gather(struct broker *b, unsigned timeout_ms, broker_cm_done done, void *arg);

/* What one process may put in a scrape: more is dropped. A reply longer
 * than BROKER_CM_MAX_REPLY is refused whole before it is unpacked (the
 * cube runtime stops at 65536 samples or 4 MiB of them). */
#define BROKER_CM_MAX_SAMPLES 65536
#define BROKER_CM_MAX_BYTES (8u << 20)
#define BROKER_CM_MAX_REPLY (6u << 20)
/* Why something a cube sent was dropped; each kind is logged once per
 * service (BROKER-METRICS-DROP). */
enum broker_cm_drop {
	BROKER_CM_BAD_NAME,
	BROKER_CM_RESERVED,
	BROKER_CM_BAD_TYPE,
	BROKER_CM_BAD_HELP,
	BROKER_CM_TYPE_CLASH,
	BROKER_CM_NAME_CLASH,
	BROKER_CM_BAD_LABEL,
	BROKER_CM_BAD_VALUE,
	BROKER_CM_DUPLICATE,
	BROKER_CM_TOO_MANY,
	BROKER_CM_UNKNOWN_INSTANCE,
	BROKER_CM_DROP_KINDS
};
struct broker_cm_source {
	const char *service;
	const Cubemesh__MetricsReply *reply; /* NULL: the process did not answer */
	unsigned warned;   /* in/out: kinds (1 << enum broker_cm_drop) logged already */
	uint64_t dropped;  /* out: samples dropped (added to) */
	size_t samples, bytes; /* the merge's own count against the bounds */
};
/* Checks the replies of srcs[0..n) and prints their families to out,
 * merged by name (one TYPE and HELP, samples together, labels service and
 * cube added, sorted). instance_ok says whether a service has an instance
 * of that name. 0 or -ENOMEM. */
int broker_cube_metrics_merge(struct broker_cm_source *srcs, size_t n,
			      bool (*instance_ok)(void *arg, const char *service, const char *instance), void *arg,
			      FILE *out);

/* registry.c ------------------------------------------------------------- */
struct broker_service *broker_service_get(struct broker *b, const char *name); /* find or create (DOWN) */
/* Handles one request from a cube process; fills reply. */
void broker_registry_handle(struct broker *b, Cubemesh__BrokerRequest *req, Cubemesh__BrokerReply *reply,
			    char *errbuf, size_t errlen);
void broker_service_lost(struct broker *b, struct broker_service *svc, unsigned gen);
const char *broker_svc_state_name(enum broker_svc_state s);
/* 503 unless the service's process is up. */
int broker_service_require_up(struct broker *b, const char *service, struct broker_error *err);

/* parent_info.c: b->parent_tell (core.h). */
struct broker_parent_info;
bool broker_parent_tell(struct broker *b, const struct broker_instance *inst, const char *parent,
			const struct broker_parent_info *info);

/* upgrade.c --------------------------------------------------------------- */
/* Before a registration changes anything: refuses (409, err) a process whose
 * maps do not fit the pinned ones without a declared migration, or whose
 * model does not fit a stored configuration; otherwise swaps the model in
 * and remembers a live older process to retire. */
int broker_upgrade_prepare(struct broker *b, const Cubemesh__Register *r, struct broker_error *err);
/* After the replay to the registered process: tells the older process (if
 * any, and if every instance came over) to exit. */
void broker_upgrade_replayed(struct broker *b, struct broker_service *svc);

/* instance.c ------------------------------------------------------------- */
/* Restores every instance from the datastore (at start). */
int broker_instances_restore(struct broker *b);
/* Replays every instance of svc to its (re)registered process, then marks it UP. */
void broker_instances_replay(struct broker *b, struct broker_service *svc);
/* Queues a write request (POST/PUT/PATCH/DELETE on a cube resource); done(b, arg, err, status) answers it. */
typedef void (*broker_write_done)(struct broker *b, void *arg, const struct broker_error *err, int status);
void broker_instance_write(struct broker *b, const char *path, size_t path_len, enum broker_method method,
			   const char *body, size_t body_len, broker_write_done done, void *arg);
/* The same write run now in job, the running job of path's service queue,
 * which its owner hands over: nothing else of the service runs between
 * what the job did (an action that computed the change) and the write.
 * The job keeps its deadline; its free_fn is dropped (arg is the caller's
 * until done). */
void broker_instance_write_in(struct broker *b, struct broker_job *job, const char *path, size_t path_len,
			      enum broker_method method, const char *body, size_t body_len, broker_write_done done,
			      void *arg);
/* The datastore's notifier (broker_datastore_set_notify, arg the broker):
 * committed writes are answered once their records are durable. */
void broker_write_durable_notify(void *b);
/* At stop, once no call is in flight: answers every committed write once
 * its record is durable (none is left to the loop's end). */
void broker_writes_drain(struct broker *b);
/* JSON (RFC 7951, module-qualified) of the state the broker itself knows: uuid, service-name, ports. */
char *broker_instance_state_json(struct broker *b, const struct broker_instance *inst);

/* inst_state.c: the cube's live state of an instance, for GET. A read is
 * answered from the committed configuration plus the state the cube gave
 * at most this long ago (reads during a fetch wait for it); a write drops
 * it. */
#define BROKER_STATE_TTL_MS 100
typedef void (*broker_state_cb)(struct broker *b, void *arg, const struct broker_error *err, const char *state_json);
/* cb(b, arg, err, state_json) runs on the loop, possibly inside this call
 * (a fresh cached state); state_json may be NULL (none), and lives for the
 * call. 0, or -errno with cb never called. */
int broker_inst_state_get(struct broker *b, struct broker_instance *inst, broker_state_cb cb, void *arg);
/* The JSON a GET of t answers: inst's committed configuration with the
 * broker's state and state_json (the cube's, may be NULL) merged in. *out
 * lives until the next read or drop of inst (the answer of the last read
 * is kept and given again while its inputs are the same). 0 or an error
 * (err set). */
int broker_inst_read(struct broker *b, struct broker_instance *inst, const struct broker_target *t,
		     const char *state_json, const char **out, struct broker_error *err);
/* Forgets the cached state and answer (a write changed the instance). */
void broker_inst_state_drop(struct broker_instance *inst);
void broker_inst_state_free(struct broker_instance *inst);
json_t *broker_instance_summary(struct broker *b, const struct broker_instance *inst);
void broker_instance_free(struct broker_instance *inst);

#endif

/* The broker process's own object and its event loop (loop.c): what every
 * folder of the broker shares. Each part (gateway, control, topology,
 * model, store, dataplane, slowpath) declares its functions in its own
 * header; struct broker only holds a pointer to each part's state.
 *
 * Threading: everything in struct broker is owned by the libuv loop thread.
 * nng completes its aios on its own threads; those callbacks only hand work
 * to the loop through broker_post() and never touch this state.
 *
 * May call: common/ only.
 */
#ifndef BROKER_CORE_H
#define BROKER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <uv.h>

#include "idalloc.h"
#include "pcn_layout.h"

#define BROKER_NAME_MAX 64
/* Bytes of a service's token (RegisterReply.token). */
#define BROKER_TOKEN_LEN 16

struct broker_opts {
	const char *http_addr;
	int http_port;
	const char *token;       /* bearer token; required when not on loopback */
	const char *state_dir;   /* datastore */
	const char *sock_dir;    /* nng ipc sockets */
	const char *bpffs_root;  /* pins */
	const char *yang_dir;    /* base models */
	size_t body_limit;       /* bytes */
	unsigned call_timeout_ms;
	int log_level;
	/* Write queues (loop.c), one per service: a write not answered this
	 * long after it arrived gets 504; a queue holding write_queue_max
	 * writes or write_queue_bytes of their bodies refuses more (503). */
	unsigned write_timeout_ms;
	unsigned write_queue_max;
	size_t write_queue_bytes;
	/* HTTP gateway guards (http.c) */
	const char **allow_origins; /* web origins whose pages may call the API (CORS); none by default */
	size_t n_allow_origins;
	const char **allow_hosts;   /* names accepted in Host besides the listening address */
	size_t n_allow_hosts;
	unsigned max_connections;   /* HTTP connections open at once; more are closed at accept */
	unsigned max_streams;       /* live streams (gateway/stream.c) at once; half of them per service */
	bool http2;                 /* h2c (Upgrade and prior knowledge); off by default */
};

struct broker;
struct broker_job;
struct broker_instance;
struct broker_parent_info;
typedef void (*broker_job_fn)(struct broker *b, struct broker_job *job);

/* A unit of work that changes state. Jobs of one key (a service) run one
 * at a time, in order, so that every write sees the result of the one
 * before (serializable per service), except writes that release their
 * queue (broker_job_release: the writes beside them touch other
 * instances); jobs of different keys do not wait for each other. A job
 * calls broker_job_done() when it has finished, possibly from a callback. */
struct broker_job {
	struct broker_job *next;
	struct broker_jobq *q;
	broker_job_fn run;
	broker_job_fn free_fn;    /* may be NULL */
	void *arg;
	/* A client's write: its body's size counts against the queue's bound,
	 * and at deadline_ms (0: none) expire runs instead of (waiting) or
	 * during (running) the job; a running job then calls broker_job_done. */
	size_t bytes;
	bool is_write;
	uint64_t deadline_ms;
	broker_job_fn expire;
	bool running;
	bool released;            /* broker_job_release: the next write may start */
};

struct broker {
	struct broker_opts opts;
	uv_loop_t *loop;
	uv_async_t wake;
	uv_signal_t sigint, sigterm;
	uv_mutex_t post_lock;
	struct broker_event *posted;
	bool loop_done;           /* broker_loop_fini ran: posts are dropped */
	bool stopping;

	struct broker_gateway *gw;        /* gateway/http.c */
	struct broker_topology *topo;     /* topology/ */

	nng_socket rep;           /* cube -> broker requests */
	bool rep_open;
	struct broker_rep_slot *rep_slots;

	struct broker_models *models;
	struct broker_datastore *ds;
	struct broker_dp *dp;
	struct broker_netmon *netmon;
	struct broker_slowpath *slowpath; /* slowpath.c */
	struct broker_logsink *logsink;   /* logsink.c */
	struct broker_idalloc cube_ids;

	struct broker_service *services;
	struct broker_instance *instances;

	struct broker_jobs *jobs;  /* loop.c: the per-key queues */

	uint64_t started_ms;
	/* Tells a transparent instance its parent (NULL: detached; info NULL
	 * then) and returns false when its process is not up to hear it.
	 * Topology calls it; control (parent_info.c) provides it, so that the
	 * topology does not call up into the cube connections. */
	bool (*parent_tell)(struct broker *b, const struct broker_instance *inst, const char *parent,
			    const struct broker_parent_info *info);
	/* broker_forbidden_log (tables.c): when it last spoke, and how many
	 * refusals it left unsaid since. */
	uint64_t forbidden_last_ms;
	unsigned forbidden_unsaid;
};

/* loop.c --------------------------------------------------------------- */
uint64_t broker_now_ms(void);
/* Runs fn(b, arg) on the loop thread soon. Safe from any thread. */
void broker_post(struct broker *b, void (*fn)(struct broker *, void *), void *arg);
/* The same for an arg that fn frees: if the loop ends first (the broker is
 * stopping), arg is free()d instead. */
void broker_post_free(struct broker *b, void (*fn)(struct broker *, void *), void *arg);
int broker_loop_init(struct broker *b);
void broker_loop_fini(struct broker *b);
/* Queues a job behind the jobs of the same key (a service name); it starts
 * on the loop soon after they are done, never inside this call. */
struct broker_job *broker_job_submit(struct broker *b, const char *key, broker_job_fn run, broker_job_fn free_fn,
				     void *arg);
/* A client's write of body_bytes: -ENOBUFS (nothing queued) when key's
 * queue already holds opts.write_queue_max writes or their bodies would pass
 * opts.write_queue_bytes; otherwise queued with a deadline of
 * opts.write_timeout_ms from now, at which expire(b, job) runs. */
int broker_job_submit_write(struct broker *b, const char *key, size_t body_bytes, broker_job_fn run,
			    broker_job_fn expire, void *arg, struct broker_job **out);
/* The running job is finished: frees it; the next job of its key starts soon. */
void broker_job_done(struct broker *b, struct broker_job *job);
/* Pipelining (loop.c): a running write that sent its change lets the next
 * write of its key start before it is done. */
void broker_job_release(struct broker *b, struct broker_job *job);
/* Whether the running job is the only one of its key running. */
bool broker_job_alone(const struct broker_job *job);
/* A running write that must run alone and is not (broker_job_alone), and
 * has not released its queue, gives its start back: it runs again from
 * the start once the jobs before it are done, and nothing after it starts
 * before it. */
void broker_job_hold(struct broker *b, struct broker_job *job);
/* Calls fn on every running job (for checks across keys). */
void broker_jobs_running(struct broker *b, void (*fn)(struct broker *, struct broker_job *, void *), void *arg);

#endif

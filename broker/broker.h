/* pcn-broker: shared state and the functions its files call on each other.
 *
 * Threading: everything in struct broker is owned by the libuv loop thread.
 * nng completes its aios on its own threads; those callbacks only hand work
 * to the loop through broker_post() and never touch this state.
 */
#ifndef BROKER_H
#define BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <jansson.h>
#include <nng/nng.h>
#include <uv.h>

#include "cubemesh.pb-c.h"
#include "dataplane.h"
#include "datastore.h"
#include "idalloc.h"
#include "model.h"
#include "pcn_kern_user.h"
#include "pcn_layout.h"
#include "slowpath.h"

#define BROKER_API_PREFIX "/polycube/v1"
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
	bool http2;                 /* h2c (Upgrade and prior knowledge); off by default */
};

enum broker_svc_state {
	BROKER_SVC_DOWN = 0,     /* known (from the datastore or a past registration), no process */
	BROKER_SVC_STARTING = 1, /* registered, configuration being replayed */
	BROKER_SVC_UP = 2,
};

struct broker_service {
	struct broker_service *next;
	char name[BROKER_NAME_MAX];
	char version[64];
	char description[256];
	char min_kernel[32];
	char endpoint[256];
	bool transparent;
	bool registered;          /* its module is in the models */
	uint32_t pid;
	enum broker_svc_state state;
	nng_socket req;           /* REQ dialed to the cube's endpoint */
	bool req_open;
	unsigned gen;             /* bumped at each registration: stale pipe events are ignored */
	unsigned registrations;
	uint64_t up_since_ms;
	struct broker_call *calls; /* in flight, aborted when the cube goes away */
	struct req_notify *notify; /* context of req's pipe callback */
	/* upgrade.c: the process being replaced while its successor takes
	 * the instances over (old_endpoint "" when none). */
	char old_endpoint[256];
	char old_version[64];
	uint32_t old_pid;
	bool replay_failed;       /* an instance was not taken over by this registration */
	bool aborting;            /* cubeconn.c: its calls are being failed; no new call starts */
	/* registry.c: the credential its processes get in RegisterReply and
	 * must show to install programs or send packets out (random, made
	 * when the broker first hears of the service; kept across its
	 * processes' restarts and upgrades, new at each broker start). */
	uint8_t token[BROKER_TOKEN_LEN];
};

struct broker_port {
	char name[BROKER_NAME_MAX];
	uint32_t index;
	char peer[128];           /* "" when unset */
	int ifindex;              /* > 0 while wired to a netdev */
	bool attached;            /* the input program is on that netdev */
	bool link_up;             /* that netdev's state, kept by the link monitor */
	bool cube_peer;           /* wired to another cube's port */
};

struct broker_instance {
	struct broker_instance *next;
	char name[BROKER_NAME_MAX];
	char service[BROKER_NAME_MAX];
	char uuid[37];
	uint32_t index;           /* PatchPanel slot */
	enum broker_hook hook;
	struct lyd_node *config;  /* committed config; NULL until the module is known */
	char *pending_json;       /* restored config text, parsed when the module registers */
	struct broker_port *ports;
	size_t n_ports;
	struct broker_idalloc port_ids;
	bool in_cube;             /* the cube process applied it since it registered */
};

struct broker;
struct broker_job;
typedef void (*broker_job_fn)(struct broker *b, struct broker_job *job);

/* A unit of work that changes state. Jobs of one key (a service) run one
 * at a time, in order, so that every write sees the result of the one
 * before (serializable per service); jobs of different keys do not wait for
 * each other. A job calls broker_job_done() when it has finished, possibly
 * from a callback. */
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
};

struct broker {
	struct broker_opts opts;
	uv_loop_t *loop;
	uv_async_t wake;
	uv_signal_t sigint, sigterm;
	uv_mutex_t post_lock;
	struct broker_event *posted;
	bool stopping;

	h2o_globalconf_t h2o_config;
	h2o_context_t h2o_ctx;
	h2o_accept_ctx_t accept_ctx;
	uv_tcp_t listener;

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
};

/* loop.c --------------------------------------------------------------- */
uint64_t broker_now_ms(void);
/* Runs fn(b, arg) on the loop thread soon. Safe from any thread. */
void broker_post(struct broker *b, void (*fn)(struct broker *, void *), void *arg);
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
/* Calls fn on every running job (for checks across keys). */
void broker_jobs_running(struct broker *b, void (*fn)(struct broker *, struct broker_job *, void *), void *arg);

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
/* Fails every call in flight toward svc (it went away, or its model is
 * being replaced): each callback has run (err 503) when this returns, so
 * nothing a caller holds for a call outlives it. */
void broker_cube_calls_abort(struct broker *b, struct broker_service *svc);
/* Gives the call in flight toward svc whose arg is old_arg to cb/arg
 * instead (a write that stopped waiting for it). 0, or -ENOENT. */
int broker_cube_call_rebind(struct broker_service *svc, void *old_arg, broker_call_cb cb, void *arg);

/* registry.c ------------------------------------------------------------- */
struct broker_service *broker_service_find(struct broker *b, const char *name);
struct broker_service *broker_service_get(struct broker *b, const char *name); /* find or create (DOWN) */
/* Handles one request from a cube process; fills reply. */
void broker_registry_handle(struct broker *b, Cubemesh__BrokerRequest *req, Cubemesh__BrokerReply *reply,
			    char *errbuf, size_t errlen);
void broker_service_lost(struct broker *b, struct broker_service *svc, unsigned gen);
const char *broker_svc_state_name(enum broker_svc_state s);
/* 503 unless the service's process is up. */
int broker_service_require_up(struct broker *b, const char *service, struct broker_error *err);
/* The registered service whose token is tok[0..len), or NULL (wrong length,
 * unknown). Compared in constant time. */
struct broker_service *broker_service_by_token(struct broker *b, const void *tok, size_t len);
/* Logs BROKER-CUBE-FORBIDDEN for a cube process that named an instance
 * not its service's (what: "install a program", "send a packet out"; svc
 * NULL: it showed no valid token), at most once a second with a count of
 * those left unsaid. */
void broker_forbidden_log(struct broker *b, const char *what, const char *svc, const char *instance,
			  const char *owner);

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
struct broker_instance *broker_instance_find(struct broker *b, const char *name);
/* Restores every instance from the datastore (at start). */
int broker_instances_restore(struct broker *b);
/* Replays every instance of svc to its (re)registered process, then marks it UP. */
void broker_instances_replay(struct broker *b, struct broker_service *svc);
/* Queues a write request (POST/PUT/PATCH/DELETE on a cube resource); done(b, arg, err, status) answers it. */
typedef void (*broker_write_done)(struct broker *b, void *arg, const struct broker_error *err, int status);
void broker_instance_write(struct broker *b, const char *path, size_t path_len, enum broker_method method,
			   const char *body, size_t body_len, broker_write_done done, void *arg);
/* JSON (RFC 7951, module-qualified) of the state the broker itself knows: uuid, service-name, ports. */
char *broker_instance_state_json(struct broker *b, const struct broker_instance *inst);
json_t *broker_instance_summary(struct broker *b, const struct broker_instance *inst);
void broker_instance_free(struct broker_instance *inst);

/* topology.c ------------------------------------------------------------- */
/* Checks that a port's peer can be wired (the netdev exists and is free). */
int broker_topology_check_peer(struct broker *b, const struct broker_instance *inst, const char *port,
			       const char *peer, struct broker_error *err);
/* Wires (peer set) or unwires (peer "") one port. */
int broker_topology_wire(struct broker *b, struct broker_instance *inst, struct broker_port *port,
			 struct broker_error *err);
void broker_topology_unwire(struct broker *b, struct broker_instance *inst, struct broker_port *port);
bool broker_port_up(const struct broker_port *port);
void broker_topology_link_event(void *arg, int ifindex, const char *ifname, enum broker_link_event ev);
json_t *broker_topology_json(struct broker *b, const char *ifname);

/* http.c ------------------------------------------------------------------ */
int broker_http_start(struct broker *b);
void broker_http_stop(struct broker *b);
/* Replies; body may be NULL. Takes a copy of body. */
void broker_reply(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
void broker_reply_json(h2o_req_t *req, int status, json_t *body); /* steals body */
void broker_reply_error(h2o_req_t *req, const struct broker_error *err);

/* A request answered later: survives the client going away. */
struct broker_pending {
	h2o_req_t *req;           /* NULL once the client is gone */
	struct broker *b;
	void *ref;                /* its marker in the request's pool */
	void *data;               /* the caller's */
};
struct broker_pending *broker_pending_new(struct broker *b, h2o_req_t *req);
/* Frees pd and returns its request, or NULL if the client went away. */
h2o_req_t *broker_pending_take(struct broker_pending *pd);

/* api_fixed.c / api_cube.c ------------------------------------------------ */
int broker_api_fixed(struct broker *b, h2o_req_t *req, const char *seg, const char *rest, size_t rest_len);
int broker_api_cube(struct broker *b, h2o_req_t *req, const char *path, size_t path_len);
/* allow: the methods a resource supports ("GET, HEAD, OPTIONS"). Answers
 * OPTIONS (204) and any other method (405), both with an Allow header, and
 * returns 1; 0 when the request's method is in allow and not OPTIONS. */
int broker_method_check(h2o_req_t *req, const char *allow);
/* logsink.c: fast-path and cube log lines, kept for GET /logs. start/stop
 * (activity) listen on <sock_dir>/logs.sock. */
int broker_logsink_start(struct broker *b);
void broker_logsink_stop(struct broker *b);
void broker_logsink_add(struct broker *b, int level, bool fastpath, const char *service, const char *cube,
			const char *message);
/* Malformed or refused messages received on logs.sock. */
uint64_t broker_logsink_rejected(struct broker *b);
/* GET /logs?service=&cube=&since= */
void broker_logs_get(struct broker *b, h2o_req_t *req);

/* action.c: answers a POST on a YANG action's path and returns 0; returns 1
 * (having answered nothing) when path names no action. */
int broker_action_post(struct broker *b, h2o_req_t *req, const char *path, size_t path_len);

/* chainstats.c ------------------------------------------------------------- */
struct pcn_chain_stats;
/* Missed tail calls of an instance by reason, summed over CPUs. */
int broker_chain_stats_read(struct broker *b, uint32_t cube_index, struct pcn_chain_stats *out);
int broker_chain_stats_reset(struct broker *b, uint32_t cube_index);
/* The instance's tail-call-misses container (RFC 7951 members, unqualified). */
json_t *broker_chain_stats_json(struct broker *b, const struct broker_instance *inst);
/* OpenMetrics lines of every instance's misses by reason (malloc'd), or NULL. */
char *broker_chain_metrics(struct broker *b);

/* chainwire.c ---------------------------------------------------------------- */
/* Points every wire into port `port` of gone (NULL: any of its ports) at the
 * empty slot 0 and marks those ports DOWN: gone's slot may be reused. */
void broker_chain_port_gone(struct broker *b, const struct broker_instance *gone, const char *port);
/* Wires again the ports whose peer names one of inst's ports. */
void broker_chain_peers_back(struct broker *b, struct broker_instance *inst);

/* attach.c ------------------------------------------------------------------- */
/* POST /attach (attach true) and /detach of a transparent cube. */
void broker_attach_post(struct broker *b, h2o_req_t *req, bool attach);
/* The netdev inst is attached to, or NULL. */
const char *broker_attach_parent(const struct broker_instance *inst);
/* Detaches inst (being deleted) from its stack, if any. */
void broker_attach_forget(struct broker *b, const struct broker_instance *inst);
/* The hook of the stack on netdev, or -ENOENT. */
int broker_attach_hook(const char *netdev, enum broker_hook *hook);
/* Before the broker attaches its netdev input program to netdev: ours
 * leaves the input hook. After the broker detached it: ours comes back. */
void broker_attach_netdev_peering(struct broker *b, const char *netdev);
void broker_attach_netdev_unpeered(struct broker *b, const char *netdev);
/* attach_port.c: the topology writes a port's wires through these, so a
 * cube port with a transparent stack keeps it in the way. slot_in: the slot
 * a packet entering (cube_index, port) is sent to (cube_index itself, or
 * the stack's entry); fwd_set: broker_fwd_set of the port's own entry. */
uint32_t broker_attach_port_slot_in(uint32_t cube_index, uint32_t port);
/* The stacks for GET /topology: [{"parent", "type", "stack": [names,
 * nearest the wire (a port's peer) first]}], only ifname's if not NULL. */
json_t *broker_attach_topology_json(const char *ifname);
/* The hook family of a transparent stack's entry slot: 0, or -ENOENT when
 * slot is none. */
int broker_attach_slot_hook(uint32_t slot, enum broker_hook *hook);
/* Before inst's port (NULL: every port) goes: its stack goes first. */
void broker_attach_port_gone(struct broker *b, const struct broker_instance *inst, const char *port);
int broker_attach_port_fwd_set(struct broker *b, uint32_t cube_index, uint32_t port, const struct pcn_fwd_val *v);
/* attach_parent.c: tells inst its parent netdev (NULL: detached), then
 * again whenever that netdev changes; gone: inst is being deleted. */
void broker_attach_parent_set(struct broker *b, const struct broker_instance *inst, const char *netdev);
void broker_attach_parent_gone(const struct broker_instance *inst);
/* chainresume.c: writes the instance's resume-long-chains into the fast
 * path's options; resume injects a packet that passed the hop limit into
 * (index, port). */
void broker_chain_cfg_apply(struct broker *b, const struct broker_instance *inst);
struct broker_inject;
int broker_chain_resume(struct broker *b, struct broker_inject *inj, uint32_t index, uint32_t port,
			const void *data, size_t len);
/* At start, after the instances: the stacks saved before (attach_store.c). */
void broker_attach_restore(struct broker *b);
int broker_attach_store_save(struct broker *b, json_t *stacks);
json_t *broker_attach_store_load(struct broker *b); /* NULL: none */

#endif

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

#include "core/core.h"
#include "cubemesh.pb-c.h"
#include "dataplane/dataplane.h"
#include "model/model.h"

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
	enum pcn_hook hook;
	struct lyd_node *config;  /* committed config; NULL until the module is known */
	char *pending_json;       /* restored config text, parsed when the module registers */
	struct broker_port *ports;
	size_t n_ports;
	struct broker_idalloc port_ids;
	bool in_cube;             /* the cube process applied it since it registered */
};

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
/* The instance in PatchPanel slot index, or NULL. */
struct broker_instance *broker_instance_by_index(struct broker *b, uint32_t index);
/* inst's port called name (inst may be NULL), or NULL. */
struct broker_port *broker_instance_port(const struct broker_instance *inst, const char *name);
/* The port a peer "cube:port" names, with its instance in *inst (may be
 * NULL); NULL (and *inst NULL) for a netdev's name, a malformed peer, or a
 * cube or port that does not exist. */
struct broker_port *broker_peer_port(struct broker *b, const char *peer, struct broker_instance **inst);
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

#endif

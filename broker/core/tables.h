/* What the broker knows exists: the cube types (services) with their
 * processes, and the instances with their ports, as data, with the
 * lookups every part needs (tables.c). Their life (registration,
 * creation, writes) is control/'s; who is wired to whom is topology/'s.
 *
 * May call: core/, common/.
 */
#ifndef BROKER_TABLES_H
#define BROKER_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "core/core.h"
#include "idalloc.h"
#include "pcn_layout.h"

struct lyd_node;
struct broker_call;
struct req_notify;

enum broker_svc_state {
	BROKER_SVC_DOWN = 0,     /* known (from the datastore or a past registration), no process */
	BROKER_SVC_STARTING = 1, /* registered, configuration being replayed */
	BROKER_SVC_UP = 2,
};

/* Stream names a service may declare (the cube runtime's PCN__STREAMS_MAX). */
#define BROKER_STREAMS_MAX 8

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
	/* registry.c: the live streams its process offers (Register.streams);
	 * gateway/stream.c: how many of them clients are reading now. */
	char streams[BROKER_STREAMS_MAX][BROKER_NAME_MAX];
	unsigned n_streams;
	unsigned streams_open;
	/* registry.c: the credential its processes get in RegisterReply and
	 * must show to install programs or send packets out (random, made
	 * when the broker first hears of the service; kept across its
	 * processes' restarts and upgrades, new at each broker start). */
	uint8_t token[BROKER_TOKEN_LEN];
	/* Its process checks ApplyConfig.after: writes of one instance may
	 * be pipelined (control/write_pipe.c). */
	bool ordered_apply;
	/* control/cube_metrics.c: its process has a metrics callback (its
	 * Register said so); scrapes it did not answer in time, samples of
	 * its that were dropped, and the kinds of drop logged already. */
	bool metrics;
	uint64_t metrics_timeouts;
	uint64_t metrics_dropped;
	unsigned metrics_warned;
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
	struct broker_inst_state *state; /* control/inst_state.c: the cube's state, cached */
};

struct broker_service *broker_service_find(struct broker *b, const char *name);
/* The registered service whose token is tok[0..len), or NULL (wrong length,
 * unknown). Compared in constant time. */
struct broker_service *broker_service_by_token(struct broker *b, const void *tok, size_t len);
/* Logs BROKER-CUBE-FORBIDDEN for a cube process that named an instance
 * not its service's (what: "install a program", "send a packet out"; svc
 * NULL: it showed no valid token), at most once a second with a count of
 * those left unsaid. */
void broker_forbidden_log(struct broker *b, const char *what, const char *svc, const char *instance,
			  const char *owner);
struct broker_instance *broker_instance_find(struct broker *b, const char *name);
/* The instance in PatchPanel slot index, or NULL. */
struct broker_instance *broker_instance_by_index(struct broker *b, uint32_t index);
/* inst's port called name (inst may be NULL), or NULL. */
struct broker_port *broker_instance_port(const struct broker_instance *inst, const char *name);
/* The port a peer "cube:port" names, with its instance in *inst (may be
 * NULL); NULL (and *inst NULL) for a netdev's name, a malformed peer, or a
 * cube or port that does not exist. */
struct broker_port *broker_peer_port(struct broker *b, const char *peer, struct broker_instance **inst);

#endif

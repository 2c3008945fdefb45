/* The cube author's API: what a cube's control plane is written against.
 *
 * A cube is a YANG model, a fast path (`<cube>.bpf.c`, built by
 * cubemesh_bpf into two embedded objects) and a table like this one:
 *
 *   static const struct pcn_config_handler hw_handlers[] = {
 *           { "/helloworld:helloworld/action", hw_set_action },
 *           { NULL },
 *   };
 *   static const struct pcn_cube_desc hw_desc = {
 *           .service = "helloworld", .version = "1.0.0", ...,
 *           .yang_module_name = "helloworld", .yang_module = helloworld_yang,
 *           .xdp_object = helloworld_xdp__elf_bytes,
 *           .tc_object = helloworld_tc__elf_bytes,
 *           .handlers = hw_handlers, .state = hw_state,
 *   };
 *   int main(int argc, char **argv) { return pcn_cube_main(&hw_desc, argc, argv); }
 *
 * The runtime registers the cube with pcn-broker, loads and pins the fast
 * path of each instance, diffs each new configuration against the current
 * one and calls the handlers of the nodes that changed. Callbacks run one at
 * a time on the runtime's thread: no locking is needed between them.
 *
 * Every function returns 0 (or a value >= 0) on success and a negative errno
 * on failure, unless it says otherwise.
 */
#ifndef PCN_CUBE_H
#define PCN_CUBE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "pcn_layout.h"

struct pcn_instance; /* one instance of the cube (a "hw1") */
struct pcn_parent_info; /* what a transparent instance is attached to */
struct pcn_node;     /* a configuration node, as a callback sees it */
struct pcn_state;    /* operational state being built for a read */
struct pcn_metrics;  /* OpenMetrics samples being collected for GET /metrics */
struct pcn_stream;   /* one HTTP client reading one live stream of one instance */

enum pcn_cube_kind {
	PCN_CUBE_STANDARD = 0,    /* has ports */
	PCN_CUBE_TRANSPARENT = 1, /* attached to a port or a netdev */
};

/* Where an instance's fast path runs (the YANG `type` leaf) is enum
 * pcn_hook of pcn_layout.h: PCN_HOOK_TC, PCN_HOOK_XDP_SKB, PCN_HOOK_XDP_DRV. */

/* What happened to a node. */
enum pcn_op {
	PCN_OP_CREATE = 0,  /* the node appeared (a leaf: with its default, too) */
	PCN_OP_REPLACE = 1, /* a leaf got another value */
	PCN_OP_DELETE = 2,  /* the node went away */
};

/* Called for each change of the node at `path`. On a list, the callback
 * sees the creation and deletion of entries; on a leaf, its create, replace
 * and delete. Return 0, or a negative errno (best through pcn_fail, which
 * also says why): the runtime then undoes the changes already applied, in
 * reverse order, by calling the same callbacks with the opposite operation,
 * and the user gets the error. An undo must not fail. */
typedef int (*pcn_config_cb)(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node);

struct pcn_config_handler {
	/* Schema path of the node, module-qualified on the first element,
	 * without list keys: "/helloworld:helloworld/action",
	 * "/simpleforwarder:simpleforwarder/actions/outport". */
	const char *path;
	pcn_config_cb cb;
};

/* Which way a packet goes through a port (the proto's Direction). */
enum pcn_direction {
	PCN_DIR_INGRESS = 0, /* into the instance, as if it had arrived on the port */
	PCN_DIR_EGRESS = 1,  /* out of the port, toward its peer */
};

/* A packet the fast path sent up with pcn_pkt_controller(_md) or
 * pcn_notify (then len is 0). Valid during the callback only. */
struct pcn_pkt {
	uint32_t port;          /* ingress port number (transparent cubes: the direction) */
	const char *port_name;  /* its name, or NULL if unknown */
	uint32_t reason;        /* the reason the fast path gave */
	uint32_t md[3];         /* the metadata it gave */
	const uint8_t *data;    /* the packet, up to PCN_SLOWPATH_SNAPLEN bytes */
	size_t len;
	uint32_t orig_len;      /* the packet's real length */
	enum pcn_direction direction; /* transparent cubes: the way it was going (else INGRESS) */
};

/* The slow path: called for each packet an instance sent up, in order, on
 * the runtime's thread like every other callback. */
typedef void (*pcn_pkt_in_cb)(struct pcn_instance *inst, const struct pcn_pkt *pkt);

/* Runs a YANG action on the instance (POST on its path). input_json is the
 * action's input (RFC 7951) or NULL when it has none. Return 0 or a
 * negative errno, best through pcn_fail. */
typedef int (*pcn_action_cb)(struct pcn_instance *inst, const char *input_json);

/* From inside an action callback only: the action's output (JSON, the
 * model's output leaves, e.g. {"id":3}; NULL for none) and, optionally, a
 * change of the instance's configuration the action stands for: the broker
 * PUTs put_body (JSON of the node, RFC 7951) at put_path (a REST path below
 * the instance, "chain/INGRESS") as one ordinary write (validated, applied
 * through the handlers, undone whole if one fails, persisted), then answers
 * the user with the output or the write's error. put_path and put_body go
 * together (both or neither). The last call of a callback counts. The
 * broker runs the action and that write in one turn of the service's write
 * queue: the callback sees every earlier write, and none comes between. */
int pcn_action_result(struct pcn_instance *inst, const char *output_json, const char *put_path,
		      const char *put_body);
/* From inside an action callback only: the action's data path with the
 * keys of the lists it is in ("/firewall:firewall[name='fw']/chain[name=
 * 'INGRESS']/append"), for an action on a list entry; NULL if the broker
 * did not say. */
const char *pcn_action_target(const struct pcn_instance *inst);

struct pcn_action_handler {
	/* Schema path of the action, module-qualified on the first element,
	 * without list keys: "/simplebridge:simplebridge/fdb/flush". */
	const char *path;
	pcn_action_cb cb;
};

/* Fills operational state (config false nodes) with pcn_state_set. */
typedef int (*pcn_state_cb)(struct pcn_instance *inst, struct pcn_state *st);

struct pcn_state_handler {
	const char *path; /* schema path of what the callback fills */
	pcn_state_cb cb;
};

/* A cube type, as its author describes it. Static storage: the runtime
 * keeps the pointer. */
struct pcn_cube_desc {
	const char *service;     /* "helloworld": the service name */
	const char *version;     /* "1.0.0" */
	const char *description; /* one line */
	const char *min_kernel;  /* "5.15" */
	enum pcn_cube_kind kind;
	const char *yang_module_name; /* "helloworld" */
	const char *yang_module;      /* the module text (cubemesh_embed) */
	/* The fast path built for each hook: the skeletons' __elf_bytes. */
	const void *(*xdp_object)(size_t *size);
	const void *(*tc_object)(size_t *size);
	const struct pcn_config_handler *handlers; /* ends with { NULL } */
	const struct pcn_state_handler *state;     /* ends with { NULL }; may be NULL */
	/* Optional. After the fast path is loaded, before the first handler. */
	int (*on_create)(struct pcn_instance *inst);
	/* Optional. When the instance is deleted; and after a failed create. */
	void (*on_destroy)(struct pcn_instance *inst);
	/* Optional. After every successful round of handlers, with the whole
	 * new configuration of the instance (its list entry): for state that is
	 * easiest rebuilt from the tree (e.g. entries naming ports that may
	 * appear later). A failure undoes the round like a handler's. */
	int (*on_applied)(struct pcn_instance *inst, const struct pcn_node *config);
	/* Optional. The slow path (see pcn_pkt_in_cb); without it packets sent
	 * up are counted and dropped. */
	pcn_pkt_in_cb pkt_in;
	/* Optional. The model's actions; ends with { NULL }. */
	const struct pcn_action_handler *actions;
	/* Optional. How to carry a pinned map into a new version of the fast
	 * path whose layout of that map changed (an upgrade, or a rollback);
	 * ends with { NULL }. A map whose layout changed without one makes
	 * the broker refuse the new version: the old one keeps running. */
	const struct pcn_map_migration *migrations;
	/* Optional, transparent cubes. When the instance is attached,
	 * detached (parent->name empty) or its parent netdev or cube port
	 * changes (MAC, addresses, MTU, state, the netdev a port is peered
	 * with); see pcn_parent. */
	void (*on_parent)(struct pcn_instance *inst, const struct pcn_parent_info *parent);
	/* Optional. The instance's own metrics for the gateway's GET
	 * /metrics: add them with pcn_metric_add. Called for each instance,
	 * on the runtime's thread, each time the broker is scraped; keep it
	 * quick (the broker waits for the whole process about 500 ms, then
	 * answers without its metrics). A non-zero return drops that
	 * instance's samples from this scrape. */
	int (*metrics)(struct pcn_instance *inst, struct pcn_metrics *m);
	/* Optional. Live byte streams an instance sends to HTTP clients
	 * (GET /<service>/<instance>/<name>), see pcn_stream_write; ends with
	 * { NULL }. on_stream_open runs when a client asks for one: 0
	 * accepts (it may write at once, e.g. a pcap file header), a
	 * negative errno refuses and the client gets its HTTP status
	 * (pcn_fail's table; -ENOENT 404, -EBUSY 409, -EAGAIN 503).
	 * on_stream_close runs once for each accepted stream when its client
	 * went away, its instance is being deleted (before on_destroy) or the
	 * process exits; s is freed when it returns. Both on the runtime's
	 * thread, like every callback. */
	const struct pcn_stream_desc *streams;
	int (*on_stream_open)(struct pcn_instance *inst, const char *name, struct pcn_stream *s);
	void (*on_stream_close)(struct pcn_instance *inst, struct pcn_stream *s);
};

/* Copies the entries of old_fd (the pinned map of the version before) into
 * new_fd (the new, empty map of the same name). Runs before the new
 * program replaces the old one in the PatchPanel: whatever the old program
 * writes in between is not carried. */
typedef int (*pcn_migrate_cb)(int old_fd, int new_fd);

struct pcn_map_migration {
	const char *map; /* the map's name in the fast path */
	pcn_migrate_cb migrate;
};

/* A migration for a map whose value grew or shrank at its end (same key):
 * copies every entry, each value cut or zero-extended; per-CPU maps CPU by
 * CPU. The type may also change between a hash and an array with 4-byte
 * keys (per-CPU to per-CPU): keys past the array's end are dropped, and an
 * array's all-zero entries do not go into a hash. */
int pcn_map_migrate_copy(int old_fd, int new_fd);

/* Runs the cube process: parses the command line (--socket-dir, --log-level,
 * --help, --version), registers with the broker, and serves it until
 * SIGTERM or SIGINT. Returns the process exit status. On exit the instances'
 * programs and maps stay pinned and keep forwarding: the data plane outlives
 * the process by design. */
int pcn_cube_main(const struct pcn_cube_desc *desc, int argc, char **argv);

/* ---- instances ---------------------------------------------------------- */

const char *pcn_instance_name(const struct pcn_instance *inst);
/* The instance's PatchPanel slot (pcn_cube_index in the fast path). */
uint32_t pcn_instance_index(const struct pcn_instance *inst);
enum pcn_hook pcn_instance_attach(const struct pcn_instance *inst);
/* The author's own data for this instance (NULL until set). The runtime
 * never frees it: free it in on_destroy. */
void *pcn_instance_priv(const struct pcn_instance *inst);
void pcn_instance_set_priv(struct pcn_instance *inst, void *priv);

/* The number of port `name` (what pcn_pkt_send takes), or -ENOENT. The
 * broker allocates port numbers; they are known from the last apply. */
int pcn_port_index(const struct pcn_instance *inst, const char *name);
/* The name of port number `index`, or NULL. */
const char *pcn_port_name(const struct pcn_instance *inst, uint32_t index);

/* Records why the current callback fails and returns err, for
 * `return pcn_fail(inst, -EINVAL, "port %s unknown", p);`. The message
 * reaches the REST client: -EINVAL gives 400, -EEXIST and -EBUSY 409,
 * -ENOENT 404, anything else 500. */
int pcn_fail(struct pcn_instance *inst, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the instance's maps (by their name in the fast path) ----------------- */

/* The map's fd, or -ENOENT if the fast path has no map of that name. */
int pcn_map_fd(const struct pcn_instance *inst, const char *map);
int pcn_map_lookup(const struct pcn_instance *inst, const char *map, const void *key, void *value);
/* flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST (linux/bpf.h); 0 is BPF_ANY. */
int pcn_map_update(const struct pcn_instance *inst, const char *map, const void *key,
		   const void *value, uint64_t flags);
int pcn_map_delete(const struct pcn_instance *inst, const char *map, const void *key);
/* The key after `key` (key NULL: the first), into next. -ENOENT at the end. */
int pcn_map_next_key(const struct pcn_instance *inst, const char *map, const void *key, void *next);
/* Deletes every entry of a hash map (array maps cannot shrink: -EINVAL). */
int pcn_map_clear(const struct pcn_instance *inst, const char *map);

/* Number of possible CPUs: the number of values a per-CPU lookup returns. */
int pcn_ncpus(void);
/* Per-CPU maps: values receives pcn_ncpus() values, each rounded up to 8
 * bytes as the kernel lays them out. */
int pcn_map_lookup_percpu(const struct pcn_instance *inst, const char *map, const void *key,
			  void *values);
/* Per-CPU maps whose value is n u64 counters: sums each over the CPUs. */
int pcn_map_sum_u64(const struct pcn_instance *inst, const char *map, const void *key,
		    uint64_t *sums, size_t n);

/* ---- the slow path -------------------------------------------------------- */

/* Sends a packet through port number `port` of the instance: EGRESS out of
 * the port toward its peer, INGRESS into the instance as if it had just
 * arrived on the port. The broker injects it; packets sent from a pkt_in
 * callback go in one batch when the callback's batch is done. -EINVAL for a
 * frame shorter than an Ethernet header or longer than 9000 bytes, -EAGAIN
 * when the queue to the broker is full (the packet is not sent). */
int pcn_send_packet_out(struct pcn_instance *inst, uint32_t port, enum pcn_direction dir,
			const void *data, size_t len);

/* ---- configuration nodes ------------------------------------------------ */

/* The node's value (a leaf's canonical text: "FORWARD", "42"), the new one
 * for create and replace, the old one for delete; NULL if not a leaf. */
const char *pcn_node_value(const struct pcn_node *node);
/* The value before a replace; NULL otherwise. */
const char *pcn_node_old_value(const struct pcn_node *node);
/* The value of an enumeration leaf as the model numbers it (DROP = 0, ...),
 * or -EINVAL if the node is not an enumeration leaf. */
int pcn_node_enum(const struct pcn_node *node);
/* The key `key` of the node's list entry, or of the nearest enclosing one
 * that has such a key: on "/simpleforwarder:simpleforwarder/actions/outport",
 * pcn_node_key(node, "inport"). NULL if none. */
const char *pcn_node_key(const struct pcn_node *node, const char *key);
/* The value of the child leaf `name` of a list entry or container, or NULL
 * (absent, or no such leaf). Defaults are present. */
const char *pcn_node_child(const struct pcn_node *node, const char *name);
/* Calls fn on each child named `name` of a list entry or container (the
 * entries of a list), in order; stops at the first non-zero return and
 * returns it. */
int pcn_node_foreach(const struct pcn_node *node, const char *name,
		     int (*fn)(const struct pcn_node *child, void *arg), void *arg);
/* The data path of the node, for messages: "/helloworld:helloworld[name='hw1']/action". */
const char *pcn_node_path(const struct pcn_node *node);

/* ---- operational state --------------------------------------------------- */

/* Sets the state leaf at `path` below the instance ("stats/forwarded") to
 * the printf-formatted value. */
int pcn_state_set(struct pcn_state *st, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- metrics on the gateway's GET /metrics -------------------------------- */

enum pcn_metric_type {
	PCN_METRIC_COUNTER = 0,
	PCN_METRIC_GAUGE = 1,
};
/* Adds one sample to what the metrics callback of desc returns.
 * name: [a-zA-Z_:][a-zA-Z0-9_:]*, up to 128 bytes, not starting with
 * "cubemesh_" (the broker's own families); a counter's name is given
 * without "_total" (the broker appends it; a name ending in "_total" or
 * "_created" is refused). help: one line of UTF-8. labels: NULL or
 * "key", "value", ... ended by NULL, at most 16 pairs (keys
 * [a-zA-Z_][a-zA-Z0-9_]* not starting with "__" and other than "service"
 * and "cube"; values any UTF-8 up to 1024 bytes, escaped by the broker).
 * value: a counter's is finite and >= 0; a gauge's may be +-Inf; NaN is
 * refused. Samples of one name across calls, instances and cube types are
 * one family, so must have the same type (help: the first one seen is
 * printed). The broker adds the labels service="<service>" and
 * cube="<instance>"; a second sample with the same labels in the same
 * instance is dropped. Returns 0, -EINVAL (a bad name, label or value: the
 * sample is skipped) or -ENOSPC (the reply reached its bound, 65536 samples
 * or 4 MiB per process: the sample is skipped). The broker checks all of
 * this again and drops what fails (BROKER-METRICS-DROP). */
int pcn_metric_add(struct pcn_metrics *m, const char *name, enum pcn_metric_type type, const char *help,
		   const char *const *labels, double value);

/* ---- live streams to HTTP clients ---------------------------------------- */

/* A stream an instance offers: GET /polycube/v1/<service>/<instance>/<name>
 * answers 200 with content_type (NULL: application/octet-stream) and then
 * the bytes the cube writes, chunked, for as long as both ends live. name
 * follows the rule of instance names and must not be a top-level node of
 * the model (the stream would hide it). */
struct pcn_stream_desc {
	const char *name;         /* "stream" */
	const char *content_type; /* "application/vnd.tcpdump.pcap" */
};

/* Queues len bytes for the client of s. Callable from any thread of the
 * process (e.g. a writer thread) from on_stream_open until on_stream_close
 * returns: remove s from wherever such a thread finds it in
 * on_stream_close, under the lock that thread holds while writing. Never
 * blocks: 0 (the bytes are queued whole), -EAGAIN when they do not fit in
 * the client's queue (PCN_STREAM_QUEUE bytes: a slow client; nothing is
 * queued, the caller counts a drop), -EPIPE when the client is gone or the
 * stream is ending (on_stream_close follows), -ENOMEM. Bytes are sent in
 * the order their writes returned 0; a client never sees part of a write
 * unless the stream is cut (a dropped connection). */
int pcn_stream_write(struct pcn_stream *s, const void *buf, size_t len);
#define PCN_STREAM_QUEUE (4u << 20)
/* The stream's name and instance's name (for logs). */
const char *pcn_stream_name(const struct pcn_stream *s);
/* Writes pcn_stream_write refused with -EAGAIN on this stream so far. */
uint64_t pcn_stream_drops(const struct pcn_stream *s);

/* ---- reloading the fast path (micro-cubes: bpf/pcn_ucube.h) ------------- */

/* New code for an instance: a BPF object (ELF bytes, built for the
 * instance's hook) or C source that cube-runtime compiles with clang for
 * that hook (it includes pcn.h as a cube's .bpf.c does). */
enum pcn_code_kind {
	PCN_CODE_OBJECT = 0,
	PCN_CODE_SOURCE = 1,
};
struct pcn_code {
	enum pcn_code_kind kind;
	const void *data;
	size_t len;
	/* A transparent instance at XDP also runs a TC build of its code (its
	 * egress pipeline at a netdev's TC egress: cube-runtime/twin.c), which
	 * a reload of the entry replaces too. From source the runtime compiles
	 * it; from an object it is this: the same code built for TC (e.g. the
	 * TC skeleton's __elf_bytes). Without it such a reload is refused
	 * (-EINVAL) rather than leave the two directions on different code. */
	const void *tc_data;
	size_t tc_len;
};
/* pcn_reload index of egress micro-cube k: PCN_RELOAD_EGRESS + k. */
#define PCN_RELOAD_EGRESS 256
/* Replaces program idx of the instance with the one of the same place in
 * code: 0 the entry (handle_rx, in the PatchPanel; and the TC twin's entry
 * of a transparent instance at XDP, see tc_data), k > 0 ingress micro-cube
 * k (pcn_uc_in_<k>), PCN_RELOAD_EGRESS + k egress micro-cube k. The new
 * object takes over the instance's pinned maps (their content stays) and is
 * verified and loaded before anything changes; then its program replaces
 * the old one in one atomic map update: no packet is lost, and a refused
 * program leaves the old one running. Load-time constants (index, log
 * level) are the instance's. Call it on the runtime's thread (a callback
 * or a timer).
 * Returns 0 or a negative errno; on failure pcn_reload_error says why, and
 * in a config handler the same text is already the request's error
 * message (as if by pcn_fail), so `return pcn_reload(...)` shows it to the
 * REST client; a pcn_fail of the handler's own replaces it.
 * In an update round that reloads the instance itself (a new loglevel or
 * slot), the runtime loads its program before the handlers run, with the
 * new constants; a handler's reload in the round is made with the new
 * constants too and wins (it replaces what it reloads; the entry the
 * runtime loaded goes into the PatchPanel only if no handler reloaded the
 * entry). Safe in any order, any number of times per round. */
int pcn_reload(struct pcn_instance *inst, const struct pcn_code *code, int idx);
/* pcn_reload of every program of code: micro-cubes first, then the entry. */
int pcn_reload_all(struct pcn_instance *inst, const struct pcn_code *code);
/* Why the instance's last pcn_reload / pcn_reload_all failed, "" if it
 * succeeded; valid until the next one. From source: clang's "error:" lines
 * (and the source line each quotes; file named code.bpf.c); a refused
 * program: "the kernel verifier refused ...: <its complaint> (at <source
 * line>)", the lines after the last instruction it checked, not its whole
 * log; else the step that failed and the errno's text. It quotes the code
 * it was given (give it a user's code: it quotes the user's lines). */
const char *pcn_reload_error(const struct pcn_instance *inst);
/* Successful reloads of the instance since this process created it. */
uint64_t pcn_reload_count(const struct pcn_instance *inst);

/* ---- timers --------------------------------------------------------------- */

typedef void (*pcn_timer_cb)(struct pcn_instance *inst, void *arg);
/* Calls cb(inst, arg) every period_ms on the runtime's thread, between
 * requests and packets in. Returns the timer's id (> 0). */
int pcn_timer_start(struct pcn_instance *inst, unsigned period_ms, pcn_timer_cb cb, void *arg);
/* Stops timer id of inst (0: all of inst's); the runtime stops them all
 * when the instance goes away. Safe from inside a timer callback. */
void pcn_timer_stop(struct pcn_instance *inst, int id);

/* ---- transparent cubes: the parent ------------------------------------- */

#define PCN_PARENT_MAX_ADDRS 8
/* The netdev or cube port a transparent instance is attached to, as the
 * broker last told it. A cube port ("cube:port") has no netdev of its own:
 * its MAC and IPv4 addresses are the port's mac / ip (or ipv4) leaves when
 * the cube's model has them (zero / none otherwise), its ifindex and MTU
 * those of the netdev it is peered with, 0 when it is peered with another
 * cube or with nothing (no netdev behind it), and up says whether it is
 * wired to a peer that is up. */
struct pcn_parent_info {
	char name[64];             /* netdev name or "cube:port"; "" when not attached */
	uint32_t ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	int up;                    /* up and running */
	size_t n_ipv4;
	uint32_t ipv4[PCN_PARENT_MAX_ADDRS];   /* network order */
	uint8_t prefix[PCN_PARENT_MAX_ADDRS];  /* prefix lengths */
};
/* Copies the instance's parent into *out: 0, or -ENOENT when it is not
 * attached (out->name is then ""). */
int pcn_parent(const struct pcn_instance *inst, struct pcn_parent_info *out);

#endif /* PCN_CUBE_H */

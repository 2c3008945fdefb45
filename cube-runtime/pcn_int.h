/* cube-runtime internals (pcn__*): shared by the runtime's files and its
 * tests, never by cube authors.
 *
 * Per-instance state lives in struct pcn_instance, one part per file that
 * keeps any (parent.c, reload.c, baked_watch.c, timer.c), written by
 * that file only and freed with the instance (pcn__instance_free);
 * per-process state in struct pcn__runtime. No file keeps a list of its
 * own keyed by instance.
 *
 * Layers, each calling those below it: runtime.c (the process, the
 * broker's requests) -> apply.c, action.c, state.c, parent.c, slowpath.c ->
 * baked_watch.c (a timer that reloads) -> reload.c -> twin.c, adopt.c ->
 * the loader (fastpath.c, ucube.c, upgrade.c, tables.c, and baked.c's
 * constants through the loader's hook) -> libbpf; yang.c
 * beside them for the configuration. Any of them may read the runtime's
 * record through its accessors (pcn__runtime_bpffs, pcn__slowpath_token)
 * and start timers (timer.c). The loader reaches back up only through
 * the hook its callers give it (pcn__load_opts.prepare). */
#ifndef PCN_INT_H
#define PCN_INT_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include <bpf/libbpf.h>
#include <libyang/libyang.h>
#include <nng/nng.h>

#include "cubemesh.pb-c.h"
#include "pcn_cube.h"
#include "pcn_layout.h"

/* Longest instance, port and service name the base model allows, plus NUL. */
#define PCN__NAME_MAX 64
/* pcn_reload_error's text: clang's first errors, the verifier's complaint. */
#define PCN__RELOAD_ERR_MAX 400

/* reload.c's part of an instance record. */
struct pcn__inst_reload {
	/* The object before the last reload, closed one reload later: a
	 * pcn_map_fd a caller still holds stays valid until then. */
	struct bpf_object *prev;
	uint64_t count; /* pcn_reload_count */
	/* What the cube's last pcn_reload of the entry gave it (a copy of the
	 * object, compiled if it was source); NULL: the cube's own object.
	 * baked_watch.c reloads the entry with it. */
	void *entry_code;
	size_t entry_len;
	/* The object apply.c loaded in the update round running now (a new
	 * log level or slot), NULL outside one: apply.c owns it, so a
	 * handler's reload in the round does not make it prev (it closes it
	 * at the round's end). entry_reloads counts reloads of the entry, for
	 * apply.c to tell whether a handler replaced the entry it loaded. */
	struct bpf_object *held;
	uint64_t entry_reloads;
	/* Why the last pcn_reload failed (pcn_reload_error), "" after one
	 * that succeeded. */
	char err[PCN__RELOAD_ERR_MAX];
};

/* baked_watch.c's part of an instance record. */
struct pcn__inst_baked {
	/* An adopted program (adopt.c) was not loaded from inst->obj, whose
	 * .rodata image says nothing of it: its generation, read from the
	 * kernel once, while inst->obj is still that object. */
	const struct bpf_object *adopted_obj;
	uint32_t adopted_gen;
};

/* timer.c's part of an instance record: its timers (pcn_timer_start). */
struct pcn__inst_timers {
	struct pcn__timer *list;
	int last_id;  /* ids are per instance, as pcn_timer_stop takes both */
	bool running; /* the list is being run: stopped timers are freed after */
};

struct pcn__port {
	char name[PCN__NAME_MAX];
	uint32_t index;
};

/* One instance. Touched only by the runtime's serving thread. */
struct pcn_instance {
	struct pcn__runtime *rt;
	struct pcn_instance *next;
	char name[PCN__NAME_MAX];
	uint32_t index;
	enum pcn_hook attach;
	int loglevel;           /* what pcn_log_level the loaded program has */
	struct lyd_node *tree;  /* current config: the instance's top-level list entry */
	uint64_t applied_seq;   /* the seq of the last change applied (pcn__apply), 0: none */
	struct pcn__port *ports;
	size_t n_ports;
	struct bpf_object *obj; /* the loaded fast path; NULL in config-only tests */
	char pin_dir[PATH_MAX]; /* <bpffs>/cubes/<svc>/<instance> */
	void *priv;
	/* Set by pcn_fail during a callback. */
	int err;
	char err_msg[400];

	/* What the files below keep per instance, each part written by the
	 * file named only; all zero is "nothing yet" (tests build instances
	 * with { 0 }). */
	/* parent.c: the parent the broker last named (a transparent cube);
	 * name "" while detached. */
	struct pcn_parent_info parent;
	struct pcn__inst_reload reload; /* reload.c */
	struct pcn__inst_baked baked; /* baked_watch.c */
	struct pcn__inst_timers timers; /* timer.c */
};

/* What a callback receives. `node` is the node in the full configuration
 * (the new one for create/replace, the old one for delete), so keys and
 * siblings that did not change are there too. */
struct pcn_node {
	enum pcn_op op;
	const struct lyd_node *node;
	const char *value;
	const char *old_value;
	char *path; /* built on demand by pcn_node_path */
};

struct pcn_state {
	struct lyd_node *entry; /* the instance's list entry in the state tree */
	int err;
};

/* One cube process. */
struct pcn__runtime {
	const struct pcn_cube_desc *desc;
	struct ly_ctx *ly;
	struct pcn_instance *instances;
	char socket_dir[PATH_MAX];
	char endpoint[PATH_MAX + 8];
	uint64_t started_ms;

	nng_socket rep; /* broker -> cube requests */
	nng_socket req; /* cube -> broker: Register */
	bool rep_open, req_open;

	/* Shared between the serving thread, the register thread and nng's
	 * pipe callbacks. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned broker_up_gen;   /* bumped on each new pipe to the broker */
	unsigned registered_gen;  /* the generation last registered */
	unsigned pipes;           /* pipes to the broker open now */
	uint64_t lost_ms;         /* when the last one closed; 0: none lost */
	nng_dialer dialer;        /* toward broker_url; redialed if it goes quiet */
	char broker_url[PATH_MAX + 16];
	char bpffs_root[PATH_MAX]; /* from RegisterReply; empty until then */
	bool stop;
	int exit_code;
	pthread_t reg_thread;
	bool reg_thread_started;

	/* slowpath.c: packets in (PULL, listened on) and out (PUSH to the
	 * broker), touched by the serving thread only. */
	struct pcn__slowpath *sp;

	/* baked_watch.c: pcn_baked_gen under this runtime's bpffs root,
	 * opened at the first instance's watch (serving thread only). */
	int baked_gen_fd;
	bool baked_gen_open;

	/* stream.c: live streams (NULL when the cube declares none). */
	struct pcn__streams *streams;
};

/* ---- yang.c: the runtime's libyang context and configuration trees ---- */

/* Creates a context holding the base modules and the cube's module. */
int pcn__yang_ctx_create(struct ly_ctx **out, const char *module_name, const char *module_text);
/* Parses an instance's whole config (RFC 7951, module-qualified) into *out
 * (its top-level list entry, with implicit defaults added). Empty or NULL
 * json gives a NULL tree. Sets *out only on success. */
int pcn__config_parse(struct ly_ctx *ctx, const char *json, struct lyd_node **out);
/* Diffs old against new (either may be NULL) and calls the handlers of
 * inst's cube for each change, then on_applied; on a failure undoes the
 * applied changes and returns the error (inst->err_msg says why). */
int pcn__config_dispatch(struct pcn_instance *inst, const struct lyd_node *old,
			 const struct lyd_node *new_tree);
/* A leaf's value in the tree, by relative path ("loglevel"), or NULL. */
const char *pcn__config_leaf(const struct lyd_node *tree, const char *path);

/* ---- state.c ---- */

/* Calls the state handlers of the instance whose path is under or above
 * `path` (NULL or "": all) and prints the result into *json (malloc'd). */
int pcn__state_read(struct pcn_instance *inst, const char *path, char **json);

/* ---- fastpath.c: loading, pinning, unloading ---- */

/* Writes v into the `const volatile` variable `name` of the object's
 * .rodata, found through BTF. Before load only. */
int pcn__rodata_set_u32(struct bpf_object *obj, const char *name, uint32_t v);
/* The same for a variable of any type, len bytes (its size in BTF). */
int pcn__rodata_set(struct bpf_object *obj, const char *name, const void *v, size_t len);
/* Reads it back: before load what was set, after load (the map is
 * mmapped) what the program runs with. */
int pcn__rodata_get(struct bpf_object *obj, const char *name, void *v, size_t len);
/* Its offset in the .rodata image (the same in the kernel's map). */
int pcn__rodata_offset(struct bpf_object *obj, const char *name, size_t len, size_t *offset);

/* ---- baked.c: the wiring as load-time constants (bpf/pcn_baked.h) ---- */

struct pcn__load_opts;
/* A pcn__load_opts.prepare hook: sets the object's pcn_baked_* constants
 * from pcn_fwd and pcn_baked_gen under o->shared_pin_root for instance
 * o->cube_index (before load; 0 if the object has none, or without a
 * shared root). */
int pcn__baked_prepare(struct bpf_object *obj, const struct pcn__load_opts *o);
/* Opens pcn_baked_gen under the bpffs root: its fd, or a negative errno. */
int pcn__baked_gen_open(const char *bpffs);
/* pcn_baked_gen[index] through fd; 0 when unknown. */
uint32_t pcn__baked_gen(int fd, uint32_t index);

/* ---- baked_watch.c: reloads when the wiring changed ---- */
/* Starts the instance's timer that reloads its entry program when the
 * broker changed its wiring. */
int pcn__baked_watch(struct pcn_instance *inst, const char *bpffs);
/* Closes what it keeps in the runtime (pcn__runtime_destroy). */
void pcn__baked_close(struct pcn__runtime *rt);
/* The instance's program was adopted (adopt.c): reads the generation it
 * runs with from the kernel (into inst->baked). */
void pcn__baked_adopted(struct pcn_instance *inst);

struct pcn__load_opts {
	const char *shared_pin_root; /* pin_root_path for shared maps; NULL: no pinning at all */
	const char *pin_dir;         /* private maps pinned here; NULL: not pinned */
	uint32_t cube_index;
	uint32_t log_level;
	const char *object_name;
	char *log_buf; /* the verifier's log on failure, may be NULL */
	size_t log_size;
	/* The cube's declared migrations (upgrade.c); may be NULL. */
	const struct pcn_map_migration *migrations;
	char *err_msg; /* why a pinned map cannot be taken over; may be NULL */
	size_t err_len;
	/* The TC twin of an XDP instance (twin.c): its micro-cube arrays are
	 * pinned as <name>_tc, a PROG_ARRAY taking one program type only. */
	bool twin;
	/* Set by the caller: more load-time constants, set after the loader's
	 * own (pcn_cube_index, pcn_log_level) and before pins and load; a
	 * failure fails the load. NULL: none. The loader knows nothing of
	 * what the caller sets (apply.c, reload.c, twin.c give baked.c's). */
	int (*prepare)(struct bpf_object *obj, const struct pcn__load_opts *o);
};
/* Opens the object bytes, sets the load-time constants, pins (or reuses
 * the pins of) its maps and loads it. *out set only on success. */
int pcn__fastpath_load(struct bpf_object **out, const void *bytes, size_t size,
		       const struct pcn__load_opts *opts);
/* ---- upgrade.c: map layouts and migrations ---- */

/* A pinned map being replaced by one of another layout. */
struct pcn__migrating {
	char name[64];
	char path[PATH_MAX];
	int old_fd;
	pcn_migrate_cb cb;
};
struct pcn__migration {
	struct pcn__migrating *maps;
	size_t n;
};
/* Before loading obj: for each instance map pinned with another layout,
 * takes the old map aside (keeps its fd, removes its pin) if the cube
 * declares a migration for it; -EPROTO with msg if it does not. */
int pcn__migrate_begin(struct bpf_object *obj, const struct pcn__load_opts *o, struct pcn__migration *mig,
		       char *msg, size_t msglen);
/* After loading (load_rc, obj NULL on failure): runs the migrations into
 * the new maps; on any failure pins the old maps back. Returns the result. */
int pcn__migrate_finish(struct pcn__migration *mig, struct bpf_object *obj, int load_rc);
/* The layouts of the fast path's instance maps, for Register. */
struct pcn__map_layouts {
	Cubemesh__MapLayout *v;
	Cubemesh__MapLayout **p;
	size_t n;
};
int pcn__map_layouts(const struct pcn_cube_desc *d, struct pcn__map_layouts *out);
/* Whether a process listens on the unix socket at path (an older process
 * of this cube during an upgrade), found without connecting to it. */
bool pcn__ipc_live(const char *path);
void pcn__map_layouts_free(struct pcn__map_layouts *l);

/* Sets the pin path of every map of obj as pcn__fastpath_load does. */
int pcn__fastpath_set_pins(struct bpf_object *obj, const struct pcn__load_opts *o);

/* ---- adopt.c: a restarted process takes unchanged pinned programs over ---- */

uint64_t pcn__object_hash(const void *bytes, size_t size, uint32_t cube_index, uint32_t log_level);
/* If <pin_dir>/prog was loaded from these very bytes and constants (and is
 * still the program recorded), opens the object without loading it, its
 * maps taken from their pins, into *out; -ENOENT otherwise (load it). */
int pcn__adopt(struct bpf_object **out, const void *bytes, size_t size, const struct pcn__load_opts *o);
/* Records what <pin_dir>/prog was just loaded from. */
int pcn__adopt_record(const char *pin_dir, const void *bytes, size_t size, uint32_t cube_index,
		      uint32_t log_level);
/* The same for an instance (its hook's object, its pins). */
int pcn__adopt_instance(struct pcn_instance *inst, const char *bpffs, int loglevel, struct bpf_object **out);
void pcn__adopt_record_instance(const struct pcn_instance *inst, int loglevel);

/* ---- ucube.c: the micro-cube program arrays (bpf/pcn_ucube.h) ---- */

/* Puts an object's micro-cube programs (pcn_uc_in_<k>, pcn_uc_eg_<k>) in its
 * pcn_uc_ingress / pcn_uc_egress arrays; objects without them: nothing. */
int pcn__ucube_fill(struct bpf_object *obj);
/* The same for one slot only: ingress micro-cube idx, or egress
 * idx - PCN_RELOAD_EGRESS (idx < 0: all, as pcn__ucube_fill). */
int pcn__ucube_fill_slot(struct bpf_object *obj, int idx);
/* "_tc" for a micro-cube array (pcn_uc_*) of a twin's object (o->twin),
 * "" for any other map: the pin name's suffix (twin.c says why). */
const char *pcn__twin_map_suffix(const struct pcn__load_opts *o, const char *map);

/* ---- twin.c: the TC build of a transparent instance at XDP ---- */

/* True for a transparent instance at XDP with a TC build. */
bool pcn__twin_wanted(const struct pcn_instance *inst);
/* Loads and pins it (<pin_dir>/prog_tc, into pin; "" when not wanted);
 * keep_pinned: an existing pin is kept as it is (adopted instance). */
int pcn__twin_load(struct pcn_instance *inst, int loglevel, const char *bpffs, bool keep_pinned, char *pin,
		   size_t pin_len);

/* Pins the object's pcn_entry at path, replacing an older pin. */
int pcn__fastpath_pin_prog(struct bpf_object *obj, const char *path);
/* Removes every pin in dir, then dir. */
int pcn__unpin_dir(const char *dir);
/* mkdir -p with mode 0700. */
int pcn__mkdirs(const char *path);

/* ---- apply.c: ApplyConfig, ReadState ---- */

struct pcn__apply_req {
	const char *instance;
	int op; /* CUBEMESH__APPLY_OP__* */
	uint32_t index;
	enum pcn_hook attach;
	const char *config_json;
	const struct pcn__port *ports;
	size_t n_ports;
	bool replay;
	uint64_t seq;   /* ApplyConfig.seq: the number of this change (0: none) */
	bool has_after; /* applied only if the instance's applied_seq is after */
	uint64_t after;
};

struct pcn__apply_res {
	char prog_pin[PATH_MAX]; /* non-empty: a program to install */
	char twin_pin[PATH_MAX]; /* non-empty: its TC twin, for the TC PatchPanel (twin.c) */
	enum pcn_hook attach;
	uint32_t http;           /* 0: derive from the error code */
	const char *tag;
	char msg[512];
};

int pcn__apply(struct pcn__runtime *rt, const struct pcn__apply_req *req, struct pcn__apply_res *res);
struct pcn_instance *pcn__instance_find(struct pcn__runtime *rt, const char *name);
/* Frees the instance's memory and closes its object, leaving its pins. */
void pcn__instance_free(struct pcn_instance *inst);

/* ---- slowpath.c: packets in and out ---- */

/* Listens on <socket_dir>/cube-<svc>-pkt.sock and dials the broker's
 * slowpath.sock. */
int pcn__slowpath_start(struct pcn__runtime *rt);
/* Waits up to timeout_ms for a request on rt->rep or packets; handles the
 * packets (pkt_in) itself. Returns 1 when a request may be waiting on rep. */
int pcn__slowpath_wait(struct pcn__runtime *rt, int timeout_ms);
/* Handles one PacketInBatch message body (also for tests). */
int pcn__slowpath_handle(struct pcn__runtime *rt, const void *buf, size_t len);
void pcn__slowpath_stop(struct pcn__runtime *rt);
/* The token of our registration (RegisterReply.token, at most
 * PCN__TOKEN_MAX bytes): packets out and ProgramInstall carry it. set keeps
 * a copy (any thread); get copies it into out and returns its length (0:
 * none yet). */
#define PCN__TOKEN_MAX 32
void pcn__slowpath_set_token(struct pcn__runtime *rt, const uint8_t *tok, size_t len);
size_t pcn__slowpath_token(struct pcn__runtime *rt, uint8_t out[PCN__TOKEN_MAX]);

/* The instance the serving thread works for (NULL: none), which tags the
 * process's log lines sent to the broker (slowpath.c). */
extern __thread const char *pcn__log_instance;

/* ---- stream.c: live streams to HTTP clients (pcn_stream_write) ---- */

/* Stream names a cube may declare (Register.streams); the broker keeps as
 * many. */
#define PCN__STREAMS_MAX 8

/* Listens on the stream socket beside rt->endpoint and starts the stream
 * thread, when the cube declares streams (0 and nothing otherwise). */
int pcn__streams_start(struct pcn__runtime *rt);
/* Runtime thread: calls on_stream_open / on_stream_close for what the
 * stream thread brought in. */
void pcn__streams_run(struct pcn__runtime *rt);
/* Readable when pcn__streams_run has work (the serving loop polls it); -1. */
int pcn__streams_fd(const struct pcn__runtime *rt);
/* The instance is being deleted: on_stream_close for each of its streams,
 * which then end once their queue is sent. Before on_destroy. */
void pcn__streams_instance_gone(struct pcn_instance *inst);
/* Joins the stream thread, on_stream_close for every open stream, frees. */
void pcn__streams_stop(struct pcn__runtime *rt);

/* ---- action.c: YANG actions ---- */

/* Runs the action handler for path on the instance. 0, or a negative errno
 * with msg filled. */
int pcn__action_run(struct pcn__runtime *rt, const char *instance, const char *path, const char *input_json,
		    char *msg, size_t msg_len);
/* What the last successful action left with pcn_action_result (each NULL
 * if nothing); the caller frees them. */
void pcn__action_take_result(char **output, char **put_path, char **put_body);
/* The data path of the next action (pcn_action_target); NULL if unknown. */
void pcn__action_set_target(const char *target);

/* ---- metrics.c: GET /metrics ---- */

/* Calls desc->metrics on every instance; out holds what they added (an
 * instance whose callback failed is left out). 0 or -ENOMEM (out empty).
 * Free out with pcn__metrics_reply_free either way. */
int pcn__metrics_collect(struct pcn__runtime *rt, Cubemesh__MetricsReply *out);
void pcn__metrics_reply_free(Cubemesh__MetricsReply *r);

/* ---- runtime.c: sockets and the process ---- */

/* Creates a runtime for desc serving under socket_dir. */
int pcn__runtime_create(struct pcn__runtime **out, const struct pcn_cube_desc *desc,
			const char *socket_dir);
/* Listens on the cube's socket, dials the broker, starts registering. */
int pcn__runtime_start(struct pcn__runtime *rt);
/* Serves broker requests until pcn__runtime_stop; returns the exit code. */
int pcn__runtime_run(struct pcn__runtime *rt);
/* Set by pcn_cube_main's signal handler: every runtime stops. */
extern volatile sig_atomic_t pcn__signalled;
/* Sets the stop flag (from any thread). */
void pcn__runtime_stop(struct pcn__runtime *rt);
/* Closes sockets and frees instances (their pins stay). Accepts NULL. */
void pcn__runtime_destroy(struct pcn__runtime *rt);

/* Waits up to timeout_ms for the broker's bpffs root; copies it. */
int pcn__runtime_bpffs(struct pcn__runtime *rt, char *buf, size_t n, int timeout_ms);

/* ---- reload.c, timer.c ---- */

/* pcn_reload (idx >= 0) or pcn_reload_all (idx -1); keep_code: a new
 * entry's code is kept in inst->reload as what the entry runs (the cube's
 * calls); false when the caller reloads with that very code or the cube's
 * own object (baked_watch.c). */
int pcn__reload(struct pcn_instance *inst, const struct pcn_code *code, int idx, bool keep_code);
/* Drops what reload.c keeps in inst->reload. */
void pcn__reload_forget(struct pcn_instance *inst);
/* apply.c: the verifier's complaint in its log (modified): the lines
 * after the last instruction it checked, and that instruction's source
 * line; what apply's 422 and pcn_reload_error say. */
void pcn__verifier_complaint(char *log, char *out, size_t len);
/* timer.c: runs the timers of rt's instances that are due; returns how
 * long (ms, at most max_wait_ms) the serving loop may wait before the next
 * one. */
int pcn__timers_run(struct pcn__runtime *rt, int max_wait_ms);
/* tables.c: for a map named "<ns>__<table>", the pin path in namespace
 * ns (its directory made) and 1; 0 for any other map. */
int pcn__ns_pin_path(const char *shared_root, const char *map, char *path, size_t n);
/* parent.c: a ParentInfo from the broker (kept in inst->parent, then
 * on_parent). */
int pcn__parent_handle(struct pcn__runtime *rt, const Cubemesh__ParentInfo *m);

#endif /* PCN_INT_H */

/* The broker's model layer: the libyang context holding the base models and
 * every registered cube module, the parsing of REST paths into data targets,
 * and the computation and printing of instance configurations.
 *
 * Everything here is single-threaded: the broker calls it from its loop.
 * libyang errors are kept in the context (LY_LOSTORE) and turned into a
 * struct broker_error at this boundary; nothing below prints on its own.
 *
 * May call: libyang, common/. A library (broker_model) that knows nothing
 * of struct broker.
 */
#ifndef BROKER_MODEL_H
#define BROKER_MODEL_H

#include <stddef.h>

struct lyd_node;
struct lysc_node;
struct ly_ctx;
struct lys_module;

/* An error as the REST API reports it. */
struct broker_error {
	int http_status; /* 400, 404, 405, 409, 413, 422, 500, 503 */
	char tag[32];    /* RESTCONF error-tag: invalid-value, unknown-element, missing-element,
			    data-exists, data-missing, operation-not-supported, access-denied,
			    malformed-message, too-big, operation-failed */
	char path[256];  /* data path shown in error-path, e.g. /helloworld/hw1/action */
	char message[512];
};

/* Fills err (may be NULL; path may be NULL) and returns the -errno matching
 * the status: EINVAL 400, ENOENT 404, EOPNOTSUPP 405, EEXIST 409, E2BIG 413,
 * EPROTO 422, EIO 500, EAGAIN 503. */
int broker_error_set(struct broker_error *err, int http_status, const char *tag, const char *path,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* RESTCONF body {"ietf-restconf:errors":{"error":[{...}]}}; malloc'd, NULL on ENOMEM. */
char *broker_error_json(const struct broker_error *err);

/* The registered cube modules. Each service has a libyang context of its
 * own (base models + its module): libyang 2.1 recompiles a context when such
 * a module is added, freeing the schema every existing tree points to, so a
 * shared context would break every instance tree at each registration.
 * Trees and targets of a service stay valid until broker_models_destroy. */
struct broker_models;

/* Creates the context; yang_dir holds cubemesh-base.yang and the other base
 * models. */
int broker_models_create(struct broker_models **out, const char *yang_dir);
/* Accepts NULL. Every lyd_node made from these models must be freed before. */
void broker_models_destroy(struct broker_models *m);

/* Loads a cube's module from its text. Returns 0 (also when the very same
 * text is already loaded), -EINVAL with err filled (parse error, module name
 * != service, no top-level list named like the service), -EEXIST if a
 * different text of that module is loaded. A rejected module leaves the
 * context as it was. */
int broker_models_add(struct broker_models *m, const char *service, const char *module_text,
		      struct broker_error *err);
/* Upgrade (or rollback): loads another text of a registered module into a
 * new context and re-parses there the service's instance configurations
 * trees[0..n) (names[] for messages). If one does not fit, -EEXIST (409) and
 * nothing changed; otherwise each trees[i] is replaced by its new tree and
 * the old context is freed. The same text as loaded: nothing to do. */
int broker_models_replace(struct broker_models *m, const char *service, const char *module_text,
			  struct lyd_node **trees, const char *const *names, size_t n, struct broker_error *err);

/* Strings live as long as the models. */
struct broker_service_info {
	const char *name, *version, *description, *min_kernel;
	int transparent;
};
int broker_models_info(struct broker_models *m, const char *service, struct broker_service_info *out);
/* The context holding only the base models. A service's context is
 * LYD_CTX(tree) of one of its trees, or t->snode->module->ctx. */
struct ly_ctx *broker_models_ctx(struct broker_models *m);

/* What a URL below the API prefix names. */
enum broker_target_kind {
	BROKER_T_SERVICE,
	BROKER_T_INSTANCE,
	BROKER_T_CONTAINER,
	BROKER_T_LIST,
	BROKER_T_ENTRY,
	BROKER_T_LEAF,
	BROKER_T_LEAFLIST,
	BROKER_T_ACTION,
};

struct broker_target {
	enum broker_target_kind kind;
	char service[64];
	char instance[64];             /* "" for BROKER_T_SERVICE */
	char *xpath;                   /* /helloworld:helloworld[name='hw1']/ports[name='port1'] (NULL for SERVICE) */
	char *rest_path;               /* /helloworld/hw1/ports/port1, for error-path */
	const struct lysc_node *snode; /* NULL for SERVICE */
	int config;                    /* 1 if the node is config true */
};

/* Parses the raw (percent-encoded) request path after "/polycube/v1",
 * without the query string. Each segment is decoded after splitting, so a key
 * may hold "/" (10.0.1.0%2F24). Keys follow the model's key order; a list
 * segment without all its keys is BROKER_T_LIST. 404 for an unknown service
 * or node (naming the valid children), 400 for a key of the wrong type.
 * init: fills t (call broker_target_fini after success). */
int broker_target_parse(struct broker_models *m, const char *path, size_t len, struct broker_target *t,
			struct broker_error *err);
/* fini: frees what parse allocated; safe on a zeroed target. */
void broker_target_fini(struct broker_target *t);

enum broker_method { BROKER_GET, BROKER_POST, BROKER_PUT, BROKER_PATCH, BROKER_DELETE };

/* Computes the candidate config of ONE instance after a write request
 * (RESTCONF as Polycube's API has it: README, "Using it"). cur: the
 * instance's current config or NULL if it does not exist; it is never
 * modified. On success *out is a new validated instance tree
 * (free with lyd_free_all), or NULL after the instance was deleted. On error
 * *out is untouched, err is filled and -errno returned. */
int broker_config_apply(struct broker_models *m, const struct broker_target *t, enum broker_method method,
			const struct lyd_node *cur, const char *body, size_t body_len, struct lyd_node **out,
			struct broker_error *err);

/* GET: prints the node t names, from config merged with state_jsons (RFC 7951
 * documents of config-false data of that instance). Plain JSON: no module
 * prefixes, defaults included, 64-bit numbers as JSON numbers. *out_json is
 * malloc'd. */
int broker_config_read(struct broker_models *m, const struct broker_target *t, const struct lyd_node *config,
		       const char *const *state_jsons, size_t n_state, char **out_json, struct broker_error *err);

/* Datastore/IPC form: RFC 7951 module-qualified JSON of one instance,
 * explicit values only. *out_json is malloc'd. */
int broker_config_print(const struct lyd_node *inst, char **out_json);
/* Parses that form back, validating it; *out is one instance tree. */
int broker_config_parse(struct broker_models *m, const char *service, const char *json, struct lyd_node **out,
			struct broker_error *err);

/* Help for pcnctl's `?`: a JSON array describing the children of the node t
 * names: [{"name","kind","type","config","keys","default","enum","description",
 * "init-only"}]. */
int broker_schema_help(struct broker_models *m, const struct broker_target *t, char **out_json,
		       struct broker_error *err);

/* The value of a leaf below the instance ("type", "ports[name='p1']/peer"),
 * or its default when unset; NULL if absent without default. The string
 * lives as long as the tree (or the models, for a default). */
const char *broker_config_leaf(const struct lyd_node *inst, const char *relpath);
/* Calls fn for each entry of the list `ports` (peer NULL if unset); stops at
 * and returns the first non-zero return of fn. */
int broker_config_ports(const struct lyd_node *inst, int (*fn)(void *arg, const char *name, const char *peer),
			void *arg);

/* openapi.c: adds to the jansson objects paths and schemas the OpenAPI 3.0
 * path items and component schemas of a registered service's resources
 * (what broker_target_parse resolves, with the methods the gateway allows
 * there). -ENOENT if the service has no model. */
struct json_t;
int broker_openapi_service(struct broker_models *m, const char *service, struct json_t *paths,
			   struct json_t *schemas);

#endif

/* Internals shared by the model layer's files (model.c, target.c, config*.c). */
#ifndef BROKER_MODEL_INT_H
#define BROKER_MODEL_INT_H

#include <stdbool.h>

#include <jansson.h>
#include <libyang/libyang.h>

#include "model.h"

/* The libyang context of a registered service, or NULL. */
struct ly_ctx *broker_model_svc_ctx(struct broker_models *m, const char *service);

/* The top-level list of a registered service, or NULL. */
const struct lysc_node *broker_model_top(struct broker_models *m, const char *service);

/* Fills err from the first error libyang stored in ctx (clearing them), with
 * status/tag as given and the error-path taken from libyang's data path when
 * it has one (else fallback_path). Returns -errno like broker_error_set. */
int broker_model_lyerr(struct ly_ctx *ctx, struct broker_error *err, int http_status, const char *tag,
		       const char *fallback_path);

/* Turns a libyang data path (/helloworld:helloworld[name='hw1']/action) into
 * the REST form (/helloworld/hw1/action) in buf. */
void broker_model_rest_path(const char *xpath, char *buf, size_t len);

/* True if the schema node carries the base:init-only extension. */
bool broker_model_init_only(const struct lysc_node *snode);

/* The schema's default of a leaf as a canonical string, or NULL. */
const char *broker_model_leaf_default(const struct lysc_node *snode);

/* Appends "'v'" (or "\"v\"" when v holds a quote) to an xpath predicate in
 * buf; -EINVAL if v holds both quotes. */
int broker_model_quote(char *buf, size_t len, const char *v);

/* Comma-separated list of the enum names of a leaf's type into buf ("" when
 * not an enumeration). */
void broker_model_enum_list(const struct lysc_node *snode, char *buf, size_t len);

/* Checks a value (JSON lexical form) against a leaf's type; fills err with
 * a user-facing message naming path. canonical (may be NULL) gets the value's
 * canonical form in libyang's dictionary (lydict_remove it), or NULL. */
int broker_model_check_value(struct ly_ctx *ctx, const struct lysc_node *snode, const char *value,
			     const char *path, const char **canonical, struct broker_error *err);

/* ---- model_json.c: JSON around libyang ---- */


/* Flags of broker_model_reshape. */
#define BROKER_RESHAPE_STATE 0x1   /* config false members are allowed (state from a cube) */
#define BROKER_RESHAPE_LENIENT 0x2 /* unknown members are dropped instead of refused */

/* Rewrites the members of a node's JSON object (parent: that node's schema;
 * NULL for a document whose members are top-level, module-qualified) into
 * strict RFC 7951: names qualified only where the module changes, values of
 * the JSON type libyang wants (30 or "30" for a uint32 both give 30, and "30"
 * for a uint64). Refuses unknown members (400), config false ones (405),
 * bad values (400), naming them with path (the REST path of parent). */
int broker_model_reshape(struct ly_ctx *ctx, const struct lysc_node *parent, json_t *in, unsigned flags,
			 const char *path, json_t **out, struct broker_error *err);
/* The model's spelling of value when snode's type is an enumeration (also
 * inside a union, a typedef or a leafref's target) and value names one of
 * its enums in another case ("forward" -> "FORWARD"); NULL when value is
 * spelled exactly so already, matches no enum, or matches two enums that
 * differ only in case (it then stays as given). */
const char *broker_model_enum_spelling(const struct lysc_node *snode, const char *value);
/* Reshapes one value of a leaf or leaf-list (snode) into RFC 7951; an enum
 * value takes the model's spelling. */
int broker_model_reshape_value(struct ly_ctx *ctx, const struct lysc_node *snode, json_t *in, unsigned flags,
			       const char *path, json_t **out, struct broker_error *err);

/* A term node's value as JSON: RFC 7951 (64-bit numbers as strings) when
 * rfc7951, else plain (every number a JSON number). */
json_t *broker_model_term_json(const struct lyd_node *term, bool rfc7951);
/* The same for a canonical string of a leaf's schema (defaults). */
json_t *broker_model_value_json(const struct lysc_node *snode, const char *canon, bool rfc7951);

#endif

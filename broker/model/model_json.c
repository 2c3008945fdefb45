/* JSON around libyang: the REST API takes and gives plain JSON (no module
 * prefixes, numbers as numbers), libyang wants strict RFC 7951. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_int.h"

/* Builds the JSON value of a canonical string for a base type. */
static json_t *value_json(LY_DATA_TYPE basetype, const char *canon, bool rfc7951)
{
	switch (basetype) {
	case LY_TYPE_INT8:
	case LY_TYPE_INT16:
	case LY_TYPE_INT32:
	case LY_TYPE_UINT8:
	case LY_TYPE_UINT16:
	case LY_TYPE_UINT32:
		return json_integer(strtoll(canon, NULL, 10));
	case LY_TYPE_INT64:
		return rfc7951 ? json_string(canon) : json_integer(strtoll(canon, NULL, 10));
	case LY_TYPE_UINT64: {
		if (rfc7951)
			return json_string(canon);
		unsigned long long v = strtoull(canon, NULL, 10);
		/* jansson's integers are signed 64-bit. */
		return v > INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v);
	}
	case LY_TYPE_DEC64:
		return rfc7951 ? json_string(canon) : json_real(strtod(canon, NULL));
	case LY_TYPE_BOOL:
		return json_boolean(!strcmp(canon, "true"));
	case LY_TYPE_EMPTY:
		return json_pack("[n]");
	default:
		return json_string(canon);
	}
}

json_t *broker_model_term_json(const struct lyd_node *term, bool rfc7951)
{
	const struct lyd_node_term *t = (const struct lyd_node_term *)term;
	const struct lysc_type *rt = t->value.realtype;

	return value_json(rt ? rt->basetype : LY_TYPE_STRING, lyd_get_value(term), rfc7951);
}

json_t *broker_model_value_json(const struct lysc_node *snode, const char *canon, bool rfc7951)
{
	const struct lysc_type *type = ((const struct lysc_node_leaf *)snode)->type;

	while (type->basetype == LY_TYPE_LEAFREF)
		type = ((const struct lysc_type_leafref *)type)->realtype;
	return value_json(type->basetype, canon, rfc7951);
}

/* The lexical form of a JSON scalar, as libyang would read it. */
static int scalar_text(json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (json_string_length(v) >= len)
			return -E2BIG;
		memcpy(buf, json_string_value(v), json_string_length(v) + 1);
		return (size_t)strlen(buf) == json_string_length(v) ? 0 : -EINVAL;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case JSON_REAL:
		/* 15 digits: what a decimal64 in a body meant, not its binary tail. */
		snprintf(buf, len, "%.15g", json_real_value(v));
		return 0;
	case JSON_TRUE:
		snprintf(buf, len, "true");
		return 0;
	case JSON_FALSE:
		snprintf(buf, len, "false");
		return 0;
	default:
		return -EINVAL;
	}
}

static const char *kind_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_NULL: return "null";
	default: return "a value";
	}
}

/* ---- enum values in any case ---------------------------------------------
 * Polycube's API takes "forward" for FORWARD, and users' polycubectl scripts
 * rely on it (capture=bidirectional, tcp). libyang does not: the value is
 * given the model's spelling before libyang sees it. */

struct enum_match {
	const char *exact; /* an enum spelled exactly so */
	const char *found; /* the one enum matching in another case */
	bool ambiguous;    /* two enums differing only in case match */
};

static void enum_scan(const struct lysc_type *type, const char *value, struct enum_match *mt, int depth)
{
	LY_ARRAY_COUNT_TYPE u;

	if (!type || depth > 8)
		return;
	switch (type->basetype) {
	case LY_TYPE_LEAFREF:
		enum_scan(((const struct lysc_type_leafref *)type)->realtype, value, mt, depth + 1);
		break;
	case LY_TYPE_UNION:
		LY_ARRAY_FOR(((const struct lysc_type_union *)type)->types, u)
		enum_scan(((const struct lysc_type_union *)type)->types[u], value, mt, depth + 1);
		break;
	case LY_TYPE_ENUM:
		LY_ARRAY_FOR(((const struct lysc_type_enum *)type)->enums, u)
		{
			const char *name = ((const struct lysc_type_enum *)type)->enums[u].name;

			if (!strcmp(name, value))
				mt->exact = name;
			else if (!strcasecmp(name, value)) {
				/* The same name in two members of a union is one enum. */
				if (mt->found && strcmp(mt->found, name))
					mt->ambiguous = true;
				mt->found = name;
			}
		}
		break;
	default:
		break;
	}
}

const char *broker_model_enum_spelling(const struct lysc_node *snode, const char *value)
{
	struct enum_match mt = { 0 };

	if (!snode || !value || !(snode->nodetype & LYD_NODE_TERM))
		return NULL;
	enum_scan(((const struct lysc_node_leaf *)snode)->type, value, &mt, 0);
	if (mt.exact || mt.ambiguous)
		return NULL;
	return mt.found;
}

int broker_model_reshape_value(struct ly_ctx *ctx, const struct lysc_node *snode, json_t *in, unsigned flags,
			       const char *path, json_t **out, struct broker_error *err)
{
	const char *spelled;
	char text[4096];
	const char *canon = NULL;
	const struct lysc_type *rt = NULL;
	LY_DATA_TYPE base = ((const struct lysc_node_leaf *)snode)->type->basetype;
	int rc;

	if (base == LY_TYPE_EMPTY) {
		/* [null] in RFC 7951; null and true are accepted too. */
		if (json_is_null(in) || json_is_true(in) || (json_is_array(in) && json_array_size(in) == 1 &&
							      json_is_null(json_array_get(in, 0)))) {
			*out = json_pack("[n]");
			return 0;
		}
		return broker_error_set(err, 400, "invalid-value", path, "%s takes no value ([null])", snode->name);
	}
	if (scalar_text(in, text, sizeof(text)))
		return broker_error_set(err, 400, "invalid-value", path, "%s wants a single value, not %s",
					snode->name, kind_name(in));
	if (json_is_string(in) && (spelled = broker_model_enum_spelling(snode, text)))
		snprintf(text, sizeof(text), "%s", spelled);
	rc = broker_model_check_value(ctx, snode, text, path, &canon, err);
	if (rc)
		return rc;
	/* The type the value resolved to: a union's member, a leafref's
	 * target (NULL ctx: this second look is silent). */
	if (lyd_value_validate(NULL, snode, text, strlen(text), NULL, &rt, NULL) == LY_SUCCESS && rt)
		base = rt->basetype;
	else if (base == LY_TYPE_LEAFREF)
		base = ((const struct lysc_type_leafref *)((const struct lysc_node_leaf *)snode)->type)->realtype->basetype;
	*out = value_json(base, canon ? canon : text, true);
	if (canon)
		lydict_remove(ctx, canon);
	(void)flags;
	return *out ? 0 : -ENOMEM;
}

/* Finds the schema node a member names: children of parent, or top-level
 * nodes of the module the member's prefix names. */
static const struct lysc_node *member_schema(struct ly_ctx *ctx, const struct lysc_node *parent, const char *key)
{
	const char *colon = strchr(key, ':');
	const char *name = colon ? colon + 1 : key;
	const struct lysc_node *c = NULL;
	char modname[128];

	if (colon) {
		if ((size_t)(colon - key) >= sizeof(modname))
			return NULL;
		memcpy(modname, key, colon - key);
		modname[colon - key] = '\0';
	}
	if (!parent) {
		const struct lys_module *mod = colon ? ly_ctx_get_module_implemented(ctx, modname) : NULL;
		return mod ? lys_find_child(NULL, mod, name, 0, 0, 0) : NULL;
	}
	while ((c = lys_getnext(c, parent, NULL, 0)))
		if (!strcmp(c->name, name) && (!colon || !strcmp(c->module->name, modname)))
			return c;
	return NULL;
}

static void valid_children(const struct lysc_node *parent, char *buf, size_t len)
{
	const struct lysc_node *c = NULL;
	size_t o = 0;

	buf[0] = '\0';
	while ((c = lys_getnext(c, parent, NULL, 0))) {
		if (!(c->flags & LYS_CONFIG_W))
			continue;
		int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", c->name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += n;
	}
}

static int reshape_member(struct ly_ctx *ctx, const struct lysc_node *s, json_t *v, unsigned flags,
			  const char *path, json_t **out, struct broker_error *err)
{
	json_t *arr = NULL, *item = NULL;
	int rc = 0;

	switch (s->nodetype) {
	case LYS_LEAF:
		return broker_model_reshape_value(ctx, s, v, flags, path, out, err);
	case LYS_CONTAINER:
		if (!json_is_object(v))
			return broker_error_set(err, 400, "invalid-value", path, "%s wants an object, not %s", s->name,
						kind_name(v));
		return broker_model_reshape(ctx, s, v, flags, path, out, err);
	case LYS_LEAFLIST:
	case LYS_LIST:
		break;
	default:
		/* anydata, anyxml: libyang takes them as they are. */
		*out = json_incref(v);
		return 0;
	}
	/* A single entry or value stands for a list of one. */
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < (json_is_array(v) ? json_array_size(v) : 1); i++) {
		json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
		if (s->nodetype == LYS_LIST) {
			if (!json_is_object(e)) {
				rc = broker_error_set(err, 400, "invalid-value", path, "entries of %s are objects, not %s",
						      s->name, kind_name(e));
				goto out;
			}
			rc = broker_model_reshape(ctx, s, e, flags, path, &item, err);
		} else {
			rc = broker_model_reshape_value(ctx, s, e, flags, path, &item, err);
		}
		if (rc)
			goto out;
		json_array_append_new(arr, item);
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	return rc;
}

int broker_model_reshape(struct ly_ctx *ctx, const struct lysc_node *parent, json_t *in, unsigned flags,
			 const char *path, json_t **out, struct broker_error *err)
{
	json_t *res = json_object();
	const char *key;
	json_t *v;
	int rc = 0;

	if (!res)
		return -ENOMEM;
	if (!json_is_object(in)) {
		rc = broker_error_set(err, 400, "invalid-value", path, "an object is needed here, not %s", kind_name(in));
		goto out;
	}
	json_object_foreach(in, key, v)
	{
		const struct lysc_node *s = member_schema(ctx, parent, key);
		char sub[512], kids[400];
		json_t *nv = NULL;

		snprintf(sub, sizeof(sub), "%s/%s", path ? path : "", s ? s->name : key);
		if (!s) {
			if (flags & BROKER_RESHAPE_LENIENT)
				continue;
			if (parent) {
				valid_children(parent, kids, sizeof(kids));
				rc = broker_error_set(err, 400, "unknown-element", sub, "unknown member \"%s\"; valid: %s",
						      key, kids);
			} else {
				rc = broker_error_set(err, 400, "unknown-element", sub,
						      "unknown top-level member \"%s\" (module-qualified names needed)", key);
			}
			goto out;
		}
		if (!(s->flags & LYS_CONFIG_W) && !(flags & BROKER_RESHAPE_STATE)) {
			rc = broker_error_set(err, 405, "operation-not-supported", sub, "%s is read-only", s->name);
			goto out;
		}
		rc = reshape_member(ctx, s, v, flags, sub, &nv, err);
		if (rc)
			goto out;
		/* RFC 7951: qualify where the module changes. */
		if (!parent || parent->module != s->module) {
			char qn[256];
			snprintf(qn, sizeof(qn), "%s:%s", s->module->name, s->name);
			json_object_set_new(res, qn, nv);
		} else {
			json_object_set_new(res, s->name, nv);
		}
	}
	*out = res;
	res = NULL;
out:
	json_decref(res);
	return rc;
}

/* OpenAPI 3.0 of a registered service's resources, walked from its compiled
 * YANG schema: one path per container, list, list entry, leaf, leaf-list
 * and action, as broker_target_parse (target.c) resolves them, with the
 * methods the gateway's cube layer allows there (gateway/api_cube.c), key
 * path parameters, and JSON schemas from the YANG types.
 *
 * Schemas: each container and list entry is one component
 * ("<service>.<node>.<node>"), referenced where it appears, so that the
 * document grows with the model and not with its depth squared. Types map
 * as the gateway prints and accepts them (plain JSON, 64-bit numbers as
 * numbers): leafref as its target's type, a union as anyOf (YANG takes the
 * first member that fits, members may overlap: oneOf would refuse a value
 * two members accept), patterns anchored (YANG patterns are whole-value
 * matches), config false as readOnly. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libyang/libyang.h>

#include "model_int.h"

#define OAPI_PATH_MAX 1024

struct walk {
	const char *service;
	json_t *paths, *schemas, *op_ids;
};

static json_t *type_schema(const struct lysc_type *t);

static void set_range(json_t *s, const struct lysc_range *r, LY_DATA_TYPE bt, uint8_t fd)
{
	size_t n = r ? LY_ARRAY_COUNT(r->parts) : 0;

	if (!n)
		return;
	/* The hull of the range's parts: JSON Schema has no union of intervals
	 * short of anyOf, and the gateway checks the exact range anyway. */
	if (bt == LY_TYPE_DEC64) {
		double scale = pow(10, fd);

		json_object_set_new(s, "minimum", json_real((double)r->parts[0].min_64 / scale));
		json_object_set_new(s, "maximum", json_real((double)r->parts[n - 1].max_64 / scale));
	} else if (bt == LY_TYPE_INT8 || bt == LY_TYPE_INT16 || bt == LY_TYPE_INT32 || bt == LY_TYPE_INT64) {
		json_object_set_new(s, "minimum", json_integer(r->parts[0].min_64));
		json_object_set_new(s, "maximum", json_integer(r->parts[n - 1].max_64));
	} else {
		json_object_set_new(s, "minimum", json_integer((json_int_t)r->parts[0].min_u64));
		/* uint64's top half does not fit a JSON integer here. */
		if (r->parts[n - 1].max_u64 <= INT64_MAX)
			json_object_set_new(s, "maximum", json_integer((json_int_t)r->parts[n - 1].max_u64));
	}
}

static void set_length(json_t *s, const struct lysc_range *r)
{
	size_t n = r ? LY_ARRAY_COUNT(r->parts) : 0;

	if (!n)
		return;
	json_object_set_new(s, "minLength", json_integer((json_int_t)r->parts[0].min_u64));
	if (r->parts[n - 1].max_u64 <= INT64_MAX)
		json_object_set_new(s, "maxLength", json_integer((json_int_t)r->parts[n - 1].max_u64));
}

/* A YANG (XSD) pattern as an ECMA-262 one: anchored (XSD patterns match
 * the whole value), and the Unicode classes the IETF types use (\p{N},
 * \p{L}, in ipv6 zone ids) spelled as ASCII ranges, which ECMA-262 without
 * its u flag does not know; the gateway checks the exact pattern. */
static json_t *anchored(const char *expr)
{
	size_t n = strlen(expr) * 4 + 8, o = 0;
	char *p = malloc(n);
	int depth = 0;
	json_t *j;

	if (!p)
		return NULL;
	o = (size_t)snprintf(p, n, "^(?:");
	for (const char *e = expr; *e; e++) {
		const char *rep = NULL;

		if (e[0] == '\\' && e[1]) {
			if (!strncmp(e, "\\p{N}", 5))
				rep = depth ? "0-9" : "[0-9]";
			else if (!strncmp(e, "\\p{L}", 5))
				rep = depth ? "a-zA-Z" : "[a-zA-Z]";
			if (rep) {
				o += (size_t)snprintf(p + o, n - o, "%s", rep);
				e += 4;
			} else {
				p[o++] = *e++;
				p[o++] = *e;
			}
			continue;
		}
		depth += *e == '[' ? 1 : *e == ']' && depth ? -1 : 0;
		p[o++] = *e;
	}
	snprintf(p + o, n - o, ")$");
	j = json_string(p);
	free(p);
	return j;
}

static json_t *string_schema(const struct lysc_type_str *t)
{
	json_t *s = json_pack("{s:s}", "type", "string");
	json_t *more = NULL;
	LY_ARRAY_COUNT_TYPE i;

	set_length(s, t->length);
	/* One pattern inline; each further one (all must match) in allOf, an
	 * invert-match one as a not. */
	LY_ARRAY_FOR(t->patterns, i) {
		const struct lysc_pattern *p = t->patterns[i];
		json_t *pj = anchored(p->expr);

		if (!pj)
			continue;
		if (!p->inverted && !json_object_get(s, "pattern")) {
			json_object_set_new(s, "pattern", pj);
			continue;
		}
		if (!more)
			more = json_array();
		if (p->inverted)
			json_array_append_new(more, json_pack("{s:{s:o}}", "not", "pattern", pj));
		else
			json_array_append_new(more, json_pack("{s:o}", "pattern", pj));
	}
	if (more)
		json_object_set_new(s, "allOf", more);
	return s;
}

static json_t *int_schema(const struct lysc_type_num *t, int64_t lo, uint64_t hi, bool sign)
{
	json_t *s = json_pack("{s:s}", "type", "integer");

	if (t->basetype == LY_TYPE_INT64 || t->basetype == LY_TYPE_UINT64)
		json_object_set_new(s, "format", json_string("int64"));
	else if (t->basetype == LY_TYPE_INT32)
		json_object_set_new(s, "format", json_string("int32"));
	if (t->range) {
		set_range(s, t->range, t->basetype, 0);
	} else {
		json_object_set_new(s, "minimum", json_integer(sign ? lo : 0));
		if (hi <= INT64_MAX)
			json_object_set_new(s, "maximum", json_integer((json_int_t)hi));
	}
	return s;
}

static json_t *type_schema(const struct lysc_type *t)
{
	LY_ARRAY_COUNT_TYPE i;
	json_t *s, *arr;

	switch (t->basetype) {
	case LY_TYPE_STRING:
		return string_schema((const struct lysc_type_str *)t);
	case LY_TYPE_BINARY:
		s = json_pack("{s:s, s:s}", "type", "string", "format", "byte");
		set_length(s, ((const struct lysc_type_bin *)t)->length);
		return s;
	case LY_TYPE_BOOL:
		return json_pack("{s:s}", "type", "boolean");
	case LY_TYPE_INT8:
		return int_schema((const void *)t, INT8_MIN, INT8_MAX, true);
	case LY_TYPE_INT16:
		return int_schema((const void *)t, INT16_MIN, INT16_MAX, true);
	case LY_TYPE_INT32:
		return int_schema((const void *)t, INT32_MIN, INT32_MAX, true);
	case LY_TYPE_INT64:
		return int_schema((const void *)t, INT64_MIN, INT64_MAX, true);
	case LY_TYPE_UINT8:
		return int_schema((const void *)t, 0, UINT8_MAX, false);
	case LY_TYPE_UINT16:
		return int_schema((const void *)t, 0, UINT16_MAX, false);
	case LY_TYPE_UINT32:
		return int_schema((const void *)t, 0, UINT32_MAX, false);
	case LY_TYPE_UINT64:
		return int_schema((const void *)t, 0, UINT64_MAX, false);
	case LY_TYPE_DEC64: {
		const struct lysc_type_dec *d = (const void *)t;

		s = json_pack("{s:s, s:s}", "type", "number", "format", "double");
		set_range(s, d->range, t->basetype, d->fraction_digits);
		return s;
	}
	case LY_TYPE_ENUM: {
		const struct lysc_type_enum *e = (const void *)t;

		arr = json_array();
		LY_ARRAY_FOR(e->enums, i)
			json_array_append_new(arr, json_string(e->enums[i].name));
		return json_pack("{s:s, s:o}", "type", "string", "enum", arr);
	}
	case LY_TYPE_BITS:
		return json_pack("{s:s, s:s}", "type", "string", "description", "space-separated bit names");
	case LY_TYPE_LEAFREF:
		return type_schema(((const struct lysc_type_leafref *)t)->realtype);
	case LY_TYPE_UNION: {
		const struct lysc_type_union *u = (const void *)t;

		arr = json_array();
		LY_ARRAY_FOR(u->types, i)
			json_array_append_new(arr, type_schema(u->types[i]));
		return json_pack("{s:o}", "anyOf", arr);
	}
	case LY_TYPE_EMPTY:
		/* RFC 7951 6.9: [null]. */
		return json_pack("{s:s, s:{s:b, s:[n]}, s:i, s:i}", "type", "array", "items", "nullable", 1, "enum",
				 "minItems", 1, "maxItems", 1);
	case LY_TYPE_IDENT:
	case LY_TYPE_INST:
	default:
		return json_pack("{s:s}", "type", "string");
	}
}

/* The schema of a leaf or leaf-list's value(s). */
static json_t *term_schema(const struct lysc_node *sn)
{
	const struct lysc_type *t = ((const struct lysc_node_leaf *)sn)->type;
	json_t *s = type_schema(t);
	const char *dflt;

	if (sn->nodetype == LYS_LEAFLIST)
		s = json_pack("{s:s, s:o}", "type", "array", "items", s);
	if (sn->dsc)
		json_object_set_new(s, "description", json_string(sn->dsc));
	if (!(sn->flags & LYS_CONFIG_W))
		json_object_set_new(s, "readOnly", json_true());
	if (sn->nodetype == LYS_LEAF && (dflt = broker_model_leaf_default(sn))) {
		json_t *d = broker_model_value_json(sn, dflt, false);

		if (d)
			json_object_set_new(s, "default", d);
	}
	return s;
}

/* "<service>.<a>.<b>" for the node at schema path a/b. */
static void comp_name(const struct walk *w, const struct lysc_node *sn, char *buf, size_t len)
{
	char tail[OAPI_PATH_MAX] = "";

	for (; sn; sn = lysc_data_parent(sn)) {
		char tmp[OAPI_PATH_MAX];

		snprintf(tmp, sizeof(tmp), ".%s%s", sn->name, tail);
		memcpy(tail, tmp, sizeof(tail));
	}
	/* The top node is named like the service: drop the repetition. */
	snprintf(buf, len, "%s%s", w->service, strchr(tail + 1, '.') ? strchr(tail + 1, '.') : "");
}

static json_t *ref_to(const struct walk *w, const struct lysc_node *sn)
{
	char name[OAPI_PATH_MAX], ref[OAPI_PATH_MAX + 32];

	comp_name(w, sn, name, sizeof(name));
	snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", ref);
}

/* The component of a container or list entry: its children's schemas. */
static void add_component(struct walk *w, const struct lysc_node *sn)
{
	const struct lysc_node *c = NULL;
	json_t *props = json_object(), *s;
	char name[OAPI_PATH_MAX];

	while ((c = lys_getnext(c, sn, NULL, 0))) {
		json_t *cs;

		if (c->nodetype & (LYS_LEAF | LYS_LEAFLIST))
			cs = term_schema(c);
		else if (c->nodetype == LYS_CONTAINER)
			cs = ref_to(w, c);
		else if (c->nodetype == LYS_LIST)
			cs = json_pack("{s:s, s:o}", "type", "array", "items", ref_to(w, c));
		else
			continue;
		json_object_set_new(props, c->name, cs);
	}
	s = json_pack("{s:s, s:o}", "type", "object", "properties", props);
	if (sn->dsc)
		json_object_set_new(s, "description", json_string(sn->dsc));
	if (!(sn->flags & LYS_CONFIG_W))
		json_object_set_new(s, "readOnly", json_true());
	comp_name(w, sn, name, sizeof(name));
	json_object_set_new(w->schemas, name, s);
}

static json_t *json_body(json_t *schema)
{
	return json_pack("{s:{s:{s:o}}}", "content", "application/json", "schema", schema);
}

static const char *verb_summary(const char *verb)
{
	if (!strcmp(verb, "get"))
		return "Read";
	if (!strcmp(verb, "post"))
		return "Create";
	if (!strcmp(verb, "put"))
		return "Replace";
	if (!strcmp(verb, "patch"))
		return "Change";
	return "Delete";
}

/* One operation of a node; schema is the node's (borrowed). */
static void add_op(struct walk *w, json_t *item, const char *verb, const char *path, const json_t *schema,
		   const char *dsc)
{
	char id[OAPI_PATH_MAX + 16], summary[OAPI_PATH_MAX + 16];
	json_t *op = json_object(), *resp = json_object();
	size_t o;

	o = (size_t)snprintf(id, sizeof(id), "%s", verb);
	for (const char *p = path; *p && o + 1 < sizeof(id); p++)
		id[o++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_';
	id[o] = '\0';
	/* Two paths that differ only in punctuation: keep ids unique. */
	for (int k = 2; json_object_get(w->op_ids, id); k++) {
		id[o] = '\0';
		snprintf(id + o, sizeof(id) - o, "_%d", k);
	}
	json_object_set_new(w->op_ids, id, json_true());
	snprintf(summary, sizeof(summary), "%s %s", verb_summary(verb), path);
	json_object_set_new(op, "operationId", json_string(id));
	json_object_set_new(op, "summary", json_string(summary));
	json_object_set_new(op, "tags", json_pack("[s]", w->service));
	if (dsc)
		json_object_set_new(op, "description", json_string(dsc));
	if (!strcmp(verb, "get")) {
		json_t *r = json_pack("{s:s}", "description", "The node's configuration and state");
		json_t *body = json_body(json_deep_copy(schema));

		json_object_update(r, body);
		json_decref(body);
		json_object_set_new(resp, "200", r);
	} else {
		if (strcmp(verb, "delete"))
			json_object_set_new(op, "requestBody", json_body(json_deep_copy(schema)));
		if (!strcmp(verb, "post") || !strcmp(verb, "put"))
			json_object_set_new(resp, "201", json_pack("{s:s}", "description", "Created"));
		if (strcmp(verb, "post"))
			json_object_set_new(resp, "200", json_pack("{s:s}", "description", "Done"));
		if (!strcmp(verb, "delete"))
			json_object_set_new(resp, "204", json_pack("{s:s}", "description", "Deleted"));
	}
	json_object_set_new(resp, "4XX", json_pack("{s:s}", "$ref", "#/components/responses/Error"));
	json_object_set_new(resp, "default", json_pack("{s:s}", "$ref", "#/components/responses/Error"));
	json_object_set_new(op, "responses", resp);
	json_object_set_new(item, verb, op);
}

/* A path item with the verbs allow lists ("get post put patch delete"). */
static void add_path(struct walk *w, const char *path, json_t *params, const char *allow, json_t *schema,
		     const char *dsc)
{
	json_t *item = json_object();
	char verbs[64], *save = NULL;

	if (json_array_size(params))
		json_object_set_new(item, "parameters", json_deep_copy(params));
	snprintf(verbs, sizeof(verbs), "%s", allow);
	for (char *v = strtok_r(verbs, " ", &save); v; v = strtok_r(NULL, " ", &save))
		add_op(w, item, v, path, schema, dsc);
	json_object_set_new(w->paths, path, item);
	json_decref(schema);
}

/* What gateway/api_cube.c's allowed_methods answers for the node. */
static const char *node_allow(const struct lysc_node *sn)
{
	if (!(sn->flags & LYS_CONFIG_W))
		return "get";
	if (sn->nodetype == LYS_LEAF)
		return lysc_is_key(sn) ? "get" : "get patch delete";
	return "get post put patch delete";
}

/* A key path parameter, named <list>_<key> (unique along a path: a list
 * named like an ancestor gets a counter). */
static void add_key_params(const struct lysc_node *list, json_t *params, char *path, size_t len)
{
	for (const struct lysc_node *k = lysc_node_child(list); k && lysc_is_key(k); k = k->next) {
		char pname[256];
		size_t o = strlen(path);

		snprintf(pname, sizeof(pname), "%s_%s", list->name, k->name);
		for (int n = 2; n < 100; n++) {
			char want[260];
			bool dup = false;
			size_t i;
			json_t *p;

			json_array_foreach(params, i, p)
				dup |= !strcmp(json_string_value(json_object_get(p, "name")), pname);
			if (!dup)
				break;
			snprintf(want, sizeof(want), "%s_%s%d", list->name, k->name, n);
			memcpy(pname, want, sizeof(pname));
			pname[sizeof(pname) - 1] = '\0';
		}
		snprintf(path + o, len - o, "/{%s}", pname);
		json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", pname, "in", "path",
							"required", 1, "schema", type_schema(((const struct lysc_node_leaf *)k)->type),
							"description", k->dsc ? k->dsc : k->name));
	}
}

static void walk_action(struct walk *w, const struct lysc_node *act, const char *path, json_t *params)
{
	const struct lysc_node_action *a = (const void *)act;
	json_t *item = json_object(), *op, *resp, *props = json_object(), *oprops = json_object();
	char id[OAPI_PATH_MAX + 16], summary[OAPI_PATH_MAX + 16];
	const struct lysc_node *c;
	size_t o = 0;

	LY_LIST_FOR(a->input.child, c)
		if (c->nodetype & (LYS_LEAF | LYS_LEAFLIST))
			json_object_set_new(props, c->name, term_schema(c));
	LY_LIST_FOR(a->output.child, c)
		if (c->nodetype & (LYS_LEAF | LYS_LEAFLIST))
			json_object_set_new(oprops, c->name, term_schema(c));
	o = (size_t)snprintf(id, sizeof(id), "action");
	for (const char *p = path; *p && o + 1 < sizeof(id); p++)
		id[o++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_';
	id[o] = '\0';
	snprintf(summary, sizeof(summary), "Run the action %s", act->name);
	resp = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "204", "description", "Done, no output", "4XX", "$ref",
			 "#/components/responses/Error", "default", "$ref", "#/components/responses/Error");
	json_object_set_new(resp, "200", json_pack("{s:s, s:{s:{s:{s:s, s:o}}}}", "description", "The output",
						   "content", "application/json", "schema", "type", "object",
						   "properties", oprops));
	op = json_pack("{s:s, s:s, s:[s], s:o}", "operationId", id, "summary", summary, "tags", w->service,
		       "responses", resp);
	if (act->dsc)
		json_object_set_new(op, "description", json_string(act->dsc));
	json_object_set_new(op, "requestBody",
			    json_pack("{s:b, s:{s:{s:{s:s, s:o}}}}", "required", 0, "content", "application/json",
				      "schema", "type", "object", "properties", props));
	if (json_array_size(params))
		json_object_set_new(item, "parameters", json_deep_copy(params));
	json_object_set_new(item, "post", op);
	json_object_set_new(w->paths, path, item);
}

/* The children of sn (a container, list entry or the instance) at path. */
static void walk_children(struct walk *w, const struct lysc_node *sn, const char *path, json_t *params)
{
	const struct lysc_node *c = NULL;
	char p[OAPI_PATH_MAX];

	while ((c = lys_getnext(c, sn, NULL, 0))) {
		snprintf(p, sizeof(p), "%s/%s", path, c->name);
		switch (c->nodetype) {
		case LYS_LEAF:
		case LYS_LEAFLIST:
			add_path(w, p, params, node_allow(c), term_schema(c), c->dsc);
			break;
		case LYS_CONTAINER:
			add_component(w, c);
			add_path(w, p, params, node_allow(c), ref_to(w, c), c->dsc);
			walk_children(w, c, p, params);
			break;
		case LYS_LIST: {
			json_t *sub;

			add_component(w, c);
			add_path(w, p, params, node_allow(c),
				 json_pack("{s:s, s:o}", "type", "array", "items", ref_to(w, c)), c->dsc);
			/* A keyless (state) list has no entries in a path. */
			if (!lysc_node_child(c) || !lysc_is_key(lysc_node_child(c)))
				break;
			sub = json_deep_copy(params);
			add_key_params(c, sub, p, sizeof(p));
			add_path(w, p, sub, node_allow(c), ref_to(w, c), c->dsc);
			walk_children(w, c, p, sub);
			json_decref(sub);
			break;
		}
		default:
			break;
		}
	}
	LY_LIST_FOR((const struct lysc_node *)lysc_node_actions(sn), c)
	{
		snprintf(p, sizeof(p), "%s/%s", path, c->name);
		walk_action(w, c, p, params);
	}
}

int broker_openapi_service(struct broker_models *m, const char *service, json_t *paths, json_t *schemas)
{
	const struct lysc_node *top = broker_model_top(m, service);
	struct walk w = { .service = service, .paths = paths, .schemas = schemas, .op_ids = json_object() };
	char p[OAPI_PATH_MAX];
	json_t *params = json_array(), *summary;

	if (!top) {
		json_decref(w.op_ids);
		json_decref(params);
		return -ENOENT;
	}
	/* /<service>: its instances, as GET /cubes lists them. */
	snprintf(p, sizeof(p), "/%s", service);
	summary = json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type", "object");
	add_path(&w, p, params, "get", summary, "The instances of the service");
	add_key_params(top, params, p, sizeof(p));
	add_component(&w, top);
	add_path(&w, p, params, node_allow(top), ref_to(&w, top), top->dsc);
	walk_children(&w, top, p, params);
	json_decref(params);
	json_decref(w.op_ids);
	return 0;
}

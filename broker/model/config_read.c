/* Reads of instance configs: the GET view (config + state, plain JSON),
 * the datastore form, pcnctl's help, and small accessors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

/* The children of a data node as a plain JSON object (no prefixes). */
static json_t *children_json(const struct lyd_node *n)
{
	json_t *obj = json_object();
	const struct lyd_node *c;

	LY_LIST_FOR(lyd_child(n), c)
	{
		const char *name;
		json_t *arr;

		if (!c->schema)
			continue; /* opaque */
		name = c->schema->name;
		switch (c->schema->nodetype) {
		case LYS_LEAF:
			json_object_set_new(obj, name, broker_model_term_json(c, false));
			break;
		case LYS_CONTAINER:
			json_object_set_new(obj, name, children_json(c));
			break;
		case LYS_LEAFLIST:
		case LYS_LIST:
			arr = json_object_get(obj, name);
			if (!arr) {
				arr = json_array();
				json_object_set_new(obj, name, arr);
			}
			json_array_append_new(arr, c->schema->nodetype == LYS_LIST ? children_json(c)
										   : broker_model_term_json(c, false));
			break;
		default:
			break;
		}
	}
	return obj;
}

/* Merges one state document of a cube into data. Numbers may come as JSON
 * numbers or strings; members the model does not know are dropped. */
static int merge_state(struct ly_ctx *ctx, struct lyd_node **data, const char *state, const char *rest,
		       struct broker_error *err)
{
	json_error_t jerr;
	json_t *j = json_loads(state, 0, &jerr), *r = NULL;
	struct lyd_node *st = NULL;
	char *text = NULL;
	int rc;

	if (!j)
		return broker_error_set(err, 500, "operation-failed", rest, "the cube's state is not JSON: %s",
					jerr.text);
	rc = broker_model_reshape(ctx, NULL, j, BROKER_RESHAPE_STATE | BROKER_RESHAPE_LENIENT, "", &r, err);
	if (rc) {
		err->http_status = 500;
		goto out;
	}
	text = json_dumps(r, JSON_COMPACT);
	ly_err_clean(ctx, NULL);
	if (!text || lyd_parse_data_mem(ctx, text, LYD_JSON, LYD_PARSE_ONLY, 0, &st) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 500, "operation-failed", rest);
		goto out;
	}
	if (st && lyd_merge_siblings(data, st, LYD_MERGE_DESTRUCT) != LY_SUCCESS) {
		st = NULL;
		rc = broker_model_lyerr(ctx, err, 500, "operation-failed", rest);
		goto out;
	}
	st = NULL;
out:
	lyd_free_all(st);
	json_decref(j);
	json_decref(r);
	free(text);
	return rc;
}

int broker_config_read(struct broker_models *m, const struct broker_target *t, const struct lyd_node *config,
		       const char *const *state_jsons, size_t n_state, char **out_json, struct broker_error *err)
{
	/* libyang hands its context out const; its error calls want it mutable. */
	struct ly_ctx *ctx = config ? (struct ly_ctx *)LYD_CTX(config) : NULL;
	struct lyd_node *data = NULL;
	struct ly_set *set = NULL;
	json_t *res = NULL;
	char *ipath = NULL;
	int rc = 0;

	if (t->kind == BROKER_T_ACTION)
		return broker_error_set(err, 405, "operation-not-supported", t->rest_path, "%s is an action: POST it",
					t->rest_path);
	if (!config)
		return broker_error_set(err, 404, "data-missing", t->rest_path, "no %s instance %s", t->service,
					t->instance[0] ? t->instance : "");
	if (lyd_dup_single(config, NULL, LYD_DUP_RECURSIVE | LYD_DUP_WITH_FLAGS, &data) != LY_SUCCESS ||
	    lyd_new_implicit_tree(data, LYD_IMPLICIT_NO_STATE, NULL) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 500, "operation-failed", t->rest_path);
		goto out;
	}
	for (size_t i = 0; i < n_state; i++) {
		if (!state_jsons[i])
			continue;
		rc = merge_state(ctx, &data, state_jsons[i], t->rest_path, err);
		if (rc)
			goto out;
	}
	ipath = t->kind == BROKER_T_SERVICE ? lyd_path(config, LYD_PATH_STD, NULL, 0) : strdup(t->xpath);
	if (!ipath || lyd_find_xpath(data, ipath, &set) != LY_SUCCESS) {
		rc = broker_error_set(err, 500, "operation-failed", t->rest_path, "cannot search %s", t->rest_path);
		goto out;
	}
	switch (t->kind) {
	case BROKER_T_LIST:
		res = json_array();
		for (uint32_t i = 0; i < set->count; i++)
			json_array_append_new(res, children_json(set->dnodes[i]));
		break;
	case BROKER_T_LEAFLIST:
		res = json_array();
		for (uint32_t i = 0; i < set->count; i++)
			json_array_append_new(res, broker_model_term_json(set->dnodes[i], false));
		break;
	case BROKER_T_LEAF:
		if (set->count) {
			res = broker_model_term_json(set->dnodes[0], false);
		} else if (broker_model_leaf_default(t->snode)) {
			res = broker_model_value_json(t->snode, broker_model_leaf_default(t->snode), false);
		}
		break;
	default:
		if (set->count)
			res = children_json(set->dnodes[0]);
		break;
	}
	if (!res) {
		rc = broker_error_set(err, 404, "data-missing", t->rest_path, "%s has no value", t->rest_path);
		goto out;
	}
	*out_json = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!*out_json)
		rc = -ENOMEM;
out:
	json_decref(res);
	ly_set_free(set, NULL);
	lyd_free_all(data);
	free(ipath);
	if (ctx)
		ly_err_clean(ctx, NULL);
	return rc;
}

int broker_config_print(const struct lyd_node *inst, char **out_json)
{
	if (!inst)
		return -EINVAL;
	if (lyd_print_mem(out_json, inst, LYD_JSON, LYD_PRINT_SHRINK | LYD_PRINT_WD_EXPLICIT) != LY_SUCCESS)
		return -ENOMEM;
	return 0;
}

int broker_config_parse(struct broker_models *m, const char *service, const char *json, struct lyd_node **out,
			struct broker_error *err)
{
	const struct lysc_node *top = broker_model_top(m, service);
	struct ly_ctx *ctx = top ? top->module->ctx : NULL;
	struct lyd_node *tree = NULL;
	int rc = 0;

	if (!top)
		return broker_error_set(err, 404, "invalid-value", NULL, "no service %s", service);
	ly_err_clean(ctx, NULL);
	if (lyd_parse_data_mem(ctx, json, LYD_JSON, LYD_PARSE_STRICT | LYD_PARSE_NO_STATE | LYD_PARSE_ONLY, 0,
			       &tree) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 400, "invalid-value", NULL);
		goto out;
	}
	if (!tree || tree->schema != top || tree->next) {
		rc = broker_error_set(err, 400, "invalid-value", NULL, "not one instance of %s", service);
		goto out;
	}
	if (lyd_validate_module(&tree, top->module, LYD_VALIDATE_NO_STATE, NULL) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 400, "invalid-value", NULL);
		goto out;
	}
	*out = tree;
	tree = NULL;
out:
	lyd_free_all(tree);
	return rc;
}

static const char *kind_of(const struct lysc_node *s)
{
	switch (s->nodetype) {
	case LYS_LEAF: return "leaf";
	case LYS_LEAFLIST: return "leaf-list";
	case LYS_LIST: return "list";
	case LYS_CONTAINER: return "container";
	case LYS_ACTION:
	case LYS_RPC: return "action";
	default: return "other";
	}
}

/* libyang's ly_data_type2str is data in a shared library, which a PIE
 * cannot reference from a static archive's text; names are spelled here. */
static const char *type_name(LY_DATA_TYPE t)
{
	static const char *const names[] = {
		[LY_TYPE_BINARY] = "binary",     [LY_TYPE_UINT8] = "uint8",
		[LY_TYPE_UINT16] = "uint16",     [LY_TYPE_UINT32] = "uint32",
		[LY_TYPE_UINT64] = "uint64",     [LY_TYPE_STRING] = "string",
		[LY_TYPE_BITS] = "bits",         [LY_TYPE_BOOL] = "boolean",
		[LY_TYPE_DEC64] = "decimal64",   [LY_TYPE_EMPTY] = "empty",
		[LY_TYPE_ENUM] = "enumeration",  [LY_TYPE_IDENT] = "identityref",
		[LY_TYPE_INST] = "instance-identifier", [LY_TYPE_LEAFREF] = "leafref",
		[LY_TYPE_UNION] = "union",       [LY_TYPE_INT8] = "int8",
		[LY_TYPE_INT16] = "int16",       [LY_TYPE_INT32] = "int32",
		[LY_TYPE_INT64] = "int64",
	};

	return (size_t)t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t] : "unknown";
}

static json_t *help_entry(const struct lysc_node *s)
{
	json_t *e = json_object();

	json_object_set_new(e, "name", json_string(s->name));
	json_object_set_new(e, "kind", json_string(kind_of(s)));
	if (s->nodetype & LYD_NODE_TERM) {
		const struct lysc_type *type = ((const struct lysc_node_leaf *)s)->type;
		char enums[512];
		json_object_set_new(e, "type", json_string(type_name(type->basetype)));
		broker_model_enum_list(s, enums, sizeof(enums));
		if (enums[0]) {
			json_t *arr = json_array();
			for (char *save = NULL, *tok = strtok_r(enums, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
				json_array_append_new(arr, json_string(tok));
			json_object_set_new(e, "enum", arr);
		}
		const char *dflt = broker_model_leaf_default(s);
		if (dflt)
			json_object_set_new(e, "default", broker_model_value_json(s, dflt, false));
		if (s->flags & LYS_MAND_TRUE)
			json_object_set_new(e, "mandatory", json_true());
	}
	if (s->nodetype != LYS_ACTION && s->nodetype != LYS_RPC)
		json_object_set_new(e, "config", json_boolean(s->flags & LYS_CONFIG_W));
	if (s->nodetype == LYS_LIST) {
		json_t *keys = json_array();
		for (const struct lysc_node *k = lysc_node_child(s); k && lysc_is_key(k); k = k->next)
			json_array_append_new(keys, json_string(k->name));
		json_object_set_new(e, "keys", keys);
	}
	if (lysc_is_key(s))
		json_object_set_new(e, "key", json_true());
	if (s->dsc)
		json_object_set_new(e, "description", json_string(s->dsc));
	if (broker_model_init_only(s))
		json_object_set_new(e, "init-only", json_true());
	return e;
}

int broker_schema_help(struct broker_models *m, const struct broker_target *t, char **out_json,
		       struct broker_error *err)
{
	const struct lysc_node *s = t->snode, *c = NULL;
	json_t *arr = json_array();

	if (t->kind == BROKER_T_SERVICE)
		s = broker_model_top(m, t->service);
	if (!s) {
		json_decref(arr);
		return broker_error_set(err, 404, "invalid-value", t->rest_path, "no such node");
	}
	if (t->kind == BROKER_T_LEAF || t->kind == BROKER_T_LEAFLIST) {
		json_array_append_new(arr, help_entry(s));
	} else if (t->kind == BROKER_T_ACTION) {
		const struct lysc_node_action *a = (const struct lysc_node_action *)s;
		LY_LIST_FOR(a->input.child, c)
		{
			json_array_append_new(arr, help_entry(c));
		}
	} else {
		while ((c = lys_getnext(c, s, NULL, 0)))
			json_array_append_new(arr, help_entry(c));
		LY_LIST_FOR((const struct lysc_node *)lysc_node_actions(s), c)
		{
			json_array_append_new(arr, help_entry(c));
		}
	}
	/* The object form tells a list (SERVICE, LIST) from one of its entries,
	 * which have the same children: pcnctl shows add/del only for a list. */
	{
		json_t *node = json_object();
		bool is_list = t->kind == BROKER_T_SERVICE || t->kind == BROKER_T_LIST;

		json_object_set_new(node, "name", json_string(s->name));
		json_object_set_new(node, "kind", json_string(is_list ? "list" : t->kind == BROKER_T_ENTRY ||
								    t->kind == BROKER_T_INSTANCE ? "entry" : kind_of(s)));
		if (is_list) {
			json_t *keys = json_array();

			for (const struct lysc_node *k = lysc_node_child(s); k && lysc_is_key(k); k = k->next)
				json_array_append_new(keys, json_string(k->name));
			json_object_set_new(node, "keys", keys);
		}
		if (s->dsc)
			json_object_set_new(node, "description", json_string(s->dsc));
		json_object_set_new(node, "children", arr);
		*out_json = json_dumps(node, JSON_COMPACT);
		json_decref(node);
	}
	return *out_json ? 0 : -ENOMEM;
}

const char *broker_config_leaf(const struct lyd_node *inst, const char *relpath)
{
	struct lyd_node *n = NULL;
	char spath[512];
	const char *slash;
	size_t o = 0;
	int depth = 0;

	if (!inst || !relpath)
		return NULL;
	/* An absent node is no error to keep: LY_LOSTORE would pile them up. */
	ly_err_clean((struct ly_ctx *)LYD_CTX(inst), NULL);
	if (lyd_find_path(inst, relpath, 0, &n) == LY_SUCCESS && n && (n->schema->nodetype & LYD_NODE_TERM)) {
		ly_err_clean((struct ly_ctx *)LYD_CTX(inst), NULL);
		return lyd_get_value(n);
	}
	ly_err_clean((struct ly_ctx *)LYD_CTX(inst), NULL);
	/* Unset: the default, if the parent is there. */
	slash = strrchr(relpath, '/');
	if (slash) {
		char ppath[512];
		snprintf(ppath, sizeof(ppath), "%.*s", (int)(slash - relpath), relpath);
		if (lyd_find_path(inst, ppath, 0, &n) != LY_SUCCESS)
			return NULL;
	}
	/* The schema path is the data path without predicates. */
	for (const char *p = relpath; *p && o + 1 < sizeof(spath); p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (!depth)
			spath[o++] = *p;
	}
	spath[o] = '\0';
	return broker_model_leaf_default(lys_find_path(NULL, inst->schema, spath, 0));
}

int broker_config_ports(const struct lyd_node *inst, int (*fn)(void *arg, const char *name, const char *peer),
			void *arg)
{
	const struct lyd_node *c;

	if (!inst)
		return -EINVAL;
	LY_LIST_FOR(lyd_child(inst), c)
	{
		struct lyd_node *peer = NULL;
		int rc;

		if (!c->schema || c->schema->nodetype != LYS_LIST || strcmp(c->schema->name, "ports"))
			continue;
		lyd_find_path(c, "peer", 0, &peer);
		rc = fn(arg, lyd_get_value(lyd_child(c)), peer ? lyd_get_value(peer) : NULL);
		if (rc)
			return rc;
	}
	return 0;
}

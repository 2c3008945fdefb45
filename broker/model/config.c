/* Write requests: the candidate configuration of one instance after a
 * POST, PUT, PATCH or DELETE, validated against the cube's model.
 *
 * The body is reshaped into strict RFC 7951 (model_json.c) and wrapped in the
 * path the URL names, so libyang parses one whole module-qualified document
 * into a fresh tree (the "edit"), never into a populated node. The edit is
 * then merged into a copy of the current config, so a failure anywhere
 * leaves the caller's tree untouched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

/* The xpath of a node's parent: up to the last '/' outside predicates. */
static char *parent_xpath(const char *xpath)
{
	size_t cut = 0;
	int depth = 0;
	char quote = 0;

	for (size_t i = 0; xpath[i]; i++) {
		char c = xpath[i];
		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '[') {
			depth++;
		} else if (c == ']') {
			depth--;
		} else if (c == '/' && !depth) {
			cut = i;
		}
	}
	return strndup(xpath, cut);
}

/* The JSON document from the top-level node down to x (a node of a fresh
 * tree made by lyd_new_path2), holding only the keys; *xobj is x's object. */
static json_t *skeleton_json(const struct lyd_node *x, json_t **xobj)
{
	json_t *obj = json_object(), *root, *pobj = NULL;
	const struct lyd_node *parent = lyd_parent(x);
	char name[256];

	if (x->schema->nodetype == LYS_LIST)
		for (const struct lyd_node *k = lyd_child(x); k && lysc_is_key(k->schema); k = k->next)
			json_object_set_new(obj, k->schema->name, broker_model_term_json(k, true));
	if (!parent || parent->schema->module != x->schema->module)
		snprintf(name, sizeof(name), "%s:%s", x->schema->module->name, x->schema->name);
	else
		snprintf(name, sizeof(name), "%s", x->schema->name);
	if (parent) {
		root = skeleton_json(parent, &pobj);
	} else {
		root = json_object();
		pobj = root;
	}
	json_object_set_new(pobj, name, x->schema->nodetype == LYS_LIST ? json_pack("[o]", obj) : obj);
	*xobj = obj;
	return root;
}

/* Checks the keys a body repeats against the URL's, and drops them: libyang
 * would add a second key leaf. */
static int strip_keys(json_t *content, json_t *xobj, const char *rest, struct broker_error *err)
{
	const char *k;
	json_t *urlv;

	json_object_foreach(xobj, k, urlv)
	{
		json_t *bv = json_object_get(content, k);
		if (!bv)
			continue;
		if (!json_equal(bv, urlv)) {
			char *a = json_dumps(bv, JSON_ENCODE_ANY), *b = json_dumps(urlv, JSON_ENCODE_ANY);
			int rc = broker_error_set(err, 400, "invalid-value", rest, "key %s is %s in the body but %s in the URL",
						  k, a ? a : "?", b ? b : "?");
			free(a);
			free(b);
			return rc;
		}
		json_object_del(content, k);
	}
	return 0;
}

/* Builds the edit tree: the URL's path with the body's content at its end. */
static int build_edit(struct broker_models *m, const struct broker_target *t, json_t *body, struct lyd_node **edit,
		      struct broker_error *err)
{
	struct ly_ctx *ctx = t->snode->module->ctx;
	struct lyd_node *sk = NULL, *x = NULL;
	json_t *doc = NULL, *xobj = NULL, *content = NULL, *wrap = NULL;
	char *xpath = NULL, *text = NULL;
	int whole = t->kind == BROKER_T_INSTANCE || t->kind == BROKER_T_ENTRY || t->kind == BROKER_T_CONTAINER;
	int rc;

	xpath = whole ? strdup(t->xpath) : parent_xpath(t->xpath);
	if (!xpath)
		return -ENOMEM;
	ly_err_clean(ctx, NULL);
	if (lyd_new_path2(NULL, ctx, xpath, NULL, 0, 0, 0, &sk, &x) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 400, "invalid-value", t->rest_path);
		goto out;
	}
	doc = skeleton_json(x, &xobj);
	if (whole) {
		rc = broker_model_reshape(ctx, t->snode, body, 0, t->rest_path, &content, err);
		if (!rc)
			rc = strip_keys(content, xobj, t->rest_path, err);
	} else {
		char qn[256];
		char *prest = strdup(t->rest_path);
		/* Name the member qualified: reshape accepts that, whatever module
		 * the parent is in. */
		snprintf(qn, sizeof(qn), "%s:%s", t->snode->module->name, t->snode->name);
		wrap = json_pack("{sO}", qn, body);
		if (prest && strrchr(prest, '/'))
			*strrchr(prest, '/') = '\0';
		rc = broker_model_reshape(ctx, lysc_data_parent(t->snode) ? lysc_data_parent(t->snode) : t->snode, wrap,
					  0, prest ? prest : t->rest_path, &content, err);
		free(prest);
	}
	if (rc)
		goto out;
	json_object_update(xobj, content);
	text = json_dumps(doc, JSON_COMPACT);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	ly_err_clean(ctx, NULL);
	if (lyd_parse_data_mem(ctx, text, LYD_JSON, LYD_PARSE_ONLY | LYD_PARSE_STRICT | LYD_PARSE_NO_STATE, 0, edit) !=
	    LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 400, "invalid-value", t->rest_path);
		goto out;
	}
	rc = 0;
out:
	lyd_free_all(sk);
	json_decref(doc);
	json_decref(content);
	json_decref(wrap);
	free(xpath);
	free(text);
	return rc;
}

/* True if n, or for a container anything below it, was set explicitly. */
static bool explicit_node(const struct lyd_node *n)
{
	const struct lyd_node *c;

	if (n->flags & LYD_DEFAULT)
		return false;
	if (n->schema->nodetype != LYS_CONTAINER || (n->schema->flags & LYS_PRESENCE))
		return true;
	LY_LIST_FOR(lyd_child(n), c)
	{
		if (explicit_node(c))
			return true;
	}
	return false;
}

static int find_explicit(struct lyd_node *tree, const char *xpath, struct ly_set **set)
{
	if (!tree) {
		*set = NULL;
		return ly_set_new(set) ? -ENOMEM : 0;
	}
	if (lyd_find_xpath(tree, xpath, set) != LY_SUCCESS)
		return -EINVAL;
	for (uint32_t i = (*set)->count; i-- > 0;)
		if (!explicit_node((*set)->dnodes[i]))
			ly_set_rm_index(*set, i, NULL);
	return 0;
}

/* The value of a leaf at the place of n in another tree, or its default. */
static const char *value_in(const struct lyd_node *tree, const struct lyd_node *n, bool *parent_there)
{
	char *path = lyd_path(n, LYD_PATH_STD, NULL, 0);
	char *ppath = lyd_parent(n) ? lyd_path(lyd_parent(n), LYD_PATH_STD, NULL, 0) : NULL;
	struct ly_set *set = NULL;
	const char *v = NULL;

	*parent_there = true;
	if (ppath && lyd_find_xpath(tree, ppath, &set) == LY_SUCCESS && !set->count)
		*parent_there = false;
	ly_set_free(set, NULL);
	set = NULL;
	if (*parent_there && path && lyd_find_xpath(tree, path, &set) == LY_SUCCESS && set->count)
		v = lyd_get_value(set->dnodes[0]);
	else
		v = broker_model_leaf_default(n->schema);
	ly_set_free(set, NULL);
	free(path);
	free(ppath);
	return v;
}

/* Refuses any change of an init-only leaf in an existing instance (or in
 * an existing entry below it): walks a's leaves and compares with b. */
static int check_init_only(const struct lyd_node *a, const struct lyd_node *b, bool a_is_cur,
			   struct broker_error *err)
{
	const struct lyd_node *n;

	LYD_TREE_DFS_BEGIN(a, n)
	{
		if (n->schema->nodetype == LYS_LEAF && broker_model_init_only(n->schema)) {
			bool there;
			const char *va = lyd_get_value(n), *vb = value_in(b, n, &there);
			if (there && (!vb || strcmp(va, vb))) {
				char *path = lyd_path(n, LYD_PATH_STD, NULL, 0);
				char rest[256];
				broker_model_rest_path(path, rest, sizeof(rest));
				free(path);
				return broker_error_set(err, 400, "invalid-value", rest,
							"%s is set only at creation (it is %s)", n->schema->name,
							a_is_cur ? va : (vb ? vb : "unset"));
			}
		}
		LYD_TREE_DFS_END(a, n);
	}
	return 0;
}

static bool partial_keys(const struct broker_target *t)
{
	size_t n = strlen(t->xpath);

	return t->kind == BROKER_T_LIST && n && t->xpath[n - 1] == ']';
}

/* POST on entries that exist is a conflict. */
static int check_absent(struct lyd_node *cand, struct lyd_node *edit, const struct broker_target *t,
			struct broker_error *err)
{
	struct ly_set *es = NULL;
	int rc = 0;

	if (lyd_find_xpath(edit, t->xpath, &es) != LY_SUCCESS)
		return -EINVAL;
	for (uint32_t i = 0; i < es->count && !rc; i++) {
		char *p = lyd_path(es->dnodes[i], LYD_PATH_STD, NULL, 0);
		struct ly_set *cs = NULL;
		if (p && !find_explicit(cand, p, &cs) && cs->count) {
			char rest[256];
			broker_model_rest_path(p, rest, sizeof(rest));
			rc = broker_error_set(err, 409, "data-exists", rest, "%s already exists", rest);
		}
		ly_set_free(cs, NULL);
		free(p);
	}
	ly_set_free(es, NULL);
	return rc;
}

/* PATCH changes what exists (RFC 8040, 4.6.1; Polycube's ports/<name>/peer
 * answers 404 for a port that is not there): a PATCH below a list entry
 * that does not exist is refused, not turned into the entry. Without this a
 * typo (ports/prot1/peer) created a port. */
static int check_entry_there(struct lyd_node *cand, const struct broker_target *t, struct broker_error *err)
{
	char *entry = strdup(t->xpath), *up;
	struct ly_set *set = NULL;
	size_t n;
	int rc = 0;

	/* Up to the nearest list entry: the last step with a predicate. */
	while (entry && (n = strlen(entry)) && entry[n - 1] != ']') {
		up = parent_xpath(entry);
		free(entry);
		entry = up;
	}
	if (!entry)
		return broker_error_set(err, 500, "operation-failed", t->rest_path, "out of memory");
	if (entry[0] && (!cand || (lyd_find_xpath(cand, entry, &set) == LY_SUCCESS && !set->count))) {
		char rest[512];

		broker_model_rest_path(entry, rest, sizeof(rest));
		rc = broker_error_set(err, 404, "data-missing", rest, "%s does not exist", rest);
	}
	ly_set_free(set, NULL);
	free(entry);
	return rc;
}

int broker_config_apply(struct broker_models *m, const struct broker_target *t, enum broker_method method,
			const struct lyd_node *cur, const char *body, size_t body_len, struct lyd_node **out,
			struct broker_error *err)
{
	struct ly_ctx *ctx = t->snode ? t->snode->module->ctx : NULL;
	struct lyd_node *cand = NULL, *edit = NULL;
	struct ly_set *set = NULL;
	json_t *jbody = NULL;
	int rc = 0;

	if (t->kind == BROKER_T_SERVICE || t->kind == BROKER_T_ACTION || method == BROKER_GET)
		return broker_error_set(err, 405, "operation-not-supported", t->rest_path, "%s is not configuration",
					t->rest_path);
	if (!t->config)
		return broker_error_set(err, 405, "operation-not-supported", t->rest_path, "%s is read-only",
					t->rest_path);
	if (!cur && (t->kind != BROKER_T_INSTANCE || method == BROKER_PATCH || method == BROKER_DELETE))
		return broker_error_set(err, 404, "data-missing", t->rest_path, "no %s instance %s", t->service,
					t->instance);
	if (cur && t->kind == BROKER_T_INSTANCE && method == BROKER_POST)
		return broker_error_set(err, 409, "data-exists", t->rest_path, "%s %s already exists", t->service,
					t->instance);
	if (t->kind == BROKER_T_LEAF && (method == BROKER_POST || method == BROKER_PUT))
		return broker_error_set(err, 405, "operation-not-supported", t->rest_path,
					"%s is a leaf: PATCH it with a bare value", t->snode->name);
	/* A key is the entry's name: PATCHing another value into it made a
	 * second entry, and deleting it leaves no entry. */
	if (t->kind == BROKER_T_LEAF && (method == BROKER_DELETE || method == BROKER_PATCH) && lysc_is_key(t->snode))
		return broker_error_set(err, 405, "operation-not-supported", t->rest_path,
					"%s is a key: create or delete the entry", t->snode->name);
	if (partial_keys(t) && method != BROKER_DELETE)
		return broker_error_set(err, 400, "missing-element", t->rest_path, "name every key of %s",
					t->snode->name);
	if (t->kind == BROKER_T_INSTANCE && method == BROKER_DELETE) {
		*out = NULL;
		return 0;
	}

	if (method != BROKER_DELETE) {
		json_error_t jerr;
		if (body && body_len) {
			/* A key given twice is refused, not "last wins": the
			 * writer meant one of them, and we cannot know which. */
			jbody = json_loadb(body, body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
			if (!jbody)
				return broker_error_set(err, 400, "malformed-message", t->rest_path,
							"the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
							jerr.column);
		} else if (t->kind == BROKER_T_LEAF || t->kind == BROKER_T_LEAFLIST || t->kind == BROKER_T_LIST) {
			return broker_error_set(err, 400, "malformed-message", t->rest_path, "a body is needed");
		} else {
			jbody = json_object();
		}
		rc = build_edit(m, t, jbody, &edit, err);
		if (rc)
			goto out;
	}

	if (cur && lyd_dup_single(cur, NULL, LYD_DUP_RECURSIVE | LYD_DUP_WITH_FLAGS, &cand) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 500, "operation-failed", t->rest_path);
		goto out;
	}
	rc = find_explicit(cand, t->xpath, &set);
	if (rc) {
		rc = broker_error_set(err, 500, "operation-failed", t->rest_path, "cannot search %s", t->xpath);
		goto out;
	}

	switch (method) {
	case BROKER_DELETE:
		if (!set->count) {
			rc = broker_error_set(err, 404, "data-missing", t->rest_path, "%s is not set", t->rest_path);
			goto out;
		}
		for (uint32_t i = 0; i < set->count; i++)
			lyd_free_tree(set->dnodes[i]);
		break;
	case BROKER_POST:
		if ((t->kind == BROKER_T_ENTRY || t->kind == BROKER_T_CONTAINER) && set->count) {
			rc = broker_error_set(err, 409, "data-exists", t->rest_path, "%s already exists", t->rest_path);
			goto out;
		}
		if (t->kind == BROKER_T_LIST && (rc = check_absent(cand, edit, t, err)))
			goto out;
		break;
	case BROKER_PUT:
		/* Replace: what the body does not say is gone. */
		if (t->kind == BROKER_T_INSTANCE) {
			lyd_free_all(cand);
			cand = NULL;
		} else {
			for (uint32_t i = 0; i < set->count; i++)
				lyd_free_tree(set->dnodes[i]);
		}
		break;
	case BROKER_PATCH:
		if (t->kind == BROKER_T_ENTRY && !set->count) {
			rc = broker_error_set(err, 404, "data-missing", t->rest_path, "%s does not exist", t->rest_path);
			goto out;
		}
		if (t->kind != BROKER_T_ENTRY && (rc = check_entry_there(cand, t, err)))
			goto out;
		break;
	default:
		break;
	}
	if (edit) {
		if (!cand) {
			cand = edit;
		} else if (lyd_merge_siblings(&cand, edit, LYD_MERGE_DESTRUCT) != LY_SUCCESS) {
			edit = NULL;
			rc = broker_model_lyerr(ctx, err, 400, "invalid-value", t->rest_path);
			goto out;
		}
		edit = NULL;
	}
	if (cur) {
		rc = check_init_only(cand, cur, false, err);
		if (!rc)
			rc = check_init_only(cur, cand, true, err);
		if (rc)
			goto out;
	}
	ly_err_clean(ctx, NULL);
	if (lyd_validate_module(&cand, cand->schema->module, LYD_VALIDATE_NO_STATE, NULL) != LY_SUCCESS) {
		rc = broker_model_lyerr(ctx, err, 400, "invalid-value", t->rest_path);
		goto out;
	}
	*out = cand;
	cand = NULL;
out:
	ly_set_free(set, NULL);
	lyd_free_all(edit);
	lyd_free_all(cand);
	json_decref(jbody);
	/* err has what mattered; LY_LOSTORE must not pile up the rest. */
	if (ctx)
		ly_err_clean(ctx, NULL);
	return rc;
}

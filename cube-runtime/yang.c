/* The runtime's libyang context, configuration trees and the diff that
 * turns a new configuration into calls of the author's handlers. */
#include "pcn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcn__yang_cubemesh_base.h"
#include "pcn__yang_cubemesh_standard_base.h"
#include "pcn__yang_cubemesh_transparent_base.h"

/* The base modules are compiled in, so a cube binary needs no YANG file at
 * run time; libyang asks for them when the cube's module imports them. */
static const struct {
	const char *name;
	const char *text;
} base_modules[] = {
	{ "cubemesh-base", pcn__yang_cubemesh_base },
	{ "cubemesh-standard-base", pcn__yang_cubemesh_standard_base },
	{ "cubemesh-transparent-base", pcn__yang_cubemesh_transparent_base },
};

static LY_ERR import_cb(const char *mod_name, const char *mod_rev, const char *submod_name,
			const char *submod_rev, void *user_data, LYS_INFORMAT *format,
			const char **module_data, void (**free_module_data)(void *, void *))
{
	if (submod_name)
		return LY_ENOTFOUND;
	for (size_t i = 0; i < sizeof(base_modules) / sizeof(base_modules[0]); i++) {
		if (strcmp(mod_name, base_modules[i].name) == 0) {
			*format = LYS_IN_YANG;
			*module_data = base_modules[i].text;
			*free_module_data = NULL;
			return LY_SUCCESS;
		}
	}
	return LY_ENOTFOUND;
}

int pcn__yang_ctx_create(struct ly_ctx **out, const char *module_name, const char *module_text)
{
	struct ly_ctx *ctx = NULL;
	struct lys_module *mod = NULL;
	int rc = -EINVAL;

	/* Errors are read back with ly_errmsg and logged by the caller, with
	 * context; libyang printing them to stderr itself would only repeat. */
	ly_log_options(LY_LOSTORE_LAST);
	if (ly_ctx_new(NULL, LY_CTX_NO_YANGLIBRARY | LY_CTX_DISABLE_SEARCHDIRS, &ctx) != LY_SUCCESS)
		return -ENOMEM;
	ly_ctx_set_module_imp_clb(ctx, import_cb, NULL);
	if (lys_parse_mem(ctx, module_text, LYS_IN_YANG, &mod) != LY_SUCCESS) {
		PCN_ERR("CUBE-YANG-BAD", "cannot load YANG module %s: %s", module_name,
			ly_errmsg(ctx) ? ly_errmsg(ctx) : "?");
		goto out;
	}
	if (strcmp(mod->name, module_name) != 0) {
		PCN_ERR("CUBE-YANG-BAD", "the embedded module is %s, the cube says %s", mod->name,
			module_name);
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	if (ctx)
		ly_ctx_destroy(ctx);
	return rc;
}

int pcn__config_parse(struct ly_ctx *ctx, const char *json, struct lyd_node **out)
{
	struct lyd_node *tree = NULL;

	if (!json || !json[0]) {
		*out = NULL;
		return 0;
	}
	/* The broker validated the config already: parse only, but strictly so
	 * that nothing is dropped silently. */
	if (lyd_parse_data_mem(ctx, json, LYD_JSON, LYD_PARSE_ONLY | LYD_PARSE_STRICT, 0, &tree) !=
	    LY_SUCCESS) {
		PCN_ERR("CUBE-CONFIG-PARSE", "cannot parse the configuration: %s",
			ly_errmsg(ctx) ? ly_errmsg(ctx) : "?");
		return -EINVAL;
	}
	if (!tree || tree->next || tree->schema->nodetype != LYS_LIST) {
		PCN_ERR("CUBE-CONFIG-PARSE", "the configuration is not one instance entry");
		lyd_free_all(tree);
		return -EINVAL;
	}
	/* Defaults made explicit, so that a leaf's default reaches its
	 * handler on create like any value. Only within the entry: the whole
	 * context's implicit nodes are none of the instance's business. */
	if (lyd_new_implicit_tree(tree, LYD_IMPLICIT_NO_STATE, NULL) != LY_SUCCESS) {
		lyd_free_all(tree);
		return -ENOMEM;
	}
	*out = tree;
	return 0;
}

const char *pcn__config_leaf(const struct lyd_node *tree, const char *path)
{
	struct lyd_node *match = NULL;

	if (!tree || lyd_find_path(tree, path, 0, &match) != LY_SUCCESS || !match)
		return NULL;
	if (!(match->schema->nodetype & LYD_NODE_TERM))
		return NULL;
	return lyd_get_value(match);
}

/* ---- dispatch ----------------------------------------------------------- */

struct applied {
	const struct pcn_config_handler *h;
	struct pcn_node n;
};

struct dispatch {
	struct pcn_instance *inst;
	const struct lyd_node *old;
	const struct lyd_node *new_tree;
	struct applied *done;
	size_t n_done, cap;
};

static const char *meta_value(const struct lyd_node *dn, const char *name)
{
	struct lyd_meta *m = lyd_find_meta(dn->meta, NULL, name);

	return m ? lyd_get_meta_value(m) : NULL;
}

static const struct pcn_config_handler *find_handler(const struct pcn_cube_desc *desc,
						     const struct lyd_node *dn)
{
	const struct pcn_config_handler *h;
	char path[512];

	if (!desc->handlers)
		return NULL;
	if (!lysc_path(dn->schema, LYSC_PATH_DATA, path, sizeof(path)))
		return NULL;
	for (h = desc->handlers; h->path; h++)
		if (strcmp(h->path, path) == 0)
			return h;
	return NULL;
}

/* The node of the full tree that diff node dn stands for. */
static const struct lyd_node *tree_node(const struct lyd_node *tree, const struct lyd_node *dn)
{
	struct lyd_node *match = NULL;
	char path[1024];

	if (!tree || !lyd_path(dn, LYD_PATH_STD, path, sizeof(path)))
		return NULL;
	if (lyd_find_path(tree, path, 0, &match) != LY_SUCCESS)
		return NULL;
	return match;
}

static void fail_default(struct pcn_instance *inst, int err, const struct pcn_node *n)
{
	if (inst->err_msg[0])
		return;
	snprintf(inst->err_msg, sizeof(inst->err_msg), "%.300s: %s", pcn_node_path(n), strerror(-err));
}

static int call_one(struct dispatch *d, const struct lyd_node *dn, enum pcn_op op)
{
	const struct pcn_config_handler *h = find_handler(d->inst->rt->desc, dn);
	struct applied a = { .h = h };
	int rc;

	if (!h || !h->cb)
		return 0;
	a.n.op = op;
	a.n.node = tree_node(op == PCN_OP_DELETE ? d->old : d->new_tree, dn);
	if (!a.n.node)
		a.n.node = dn; /* cannot happen with a diff of these trees; be safe */
	if (a.n.node->schema->nodetype & LYD_NODE_TERM)
		a.n.value = lyd_get_value(a.n.node);
	if (op == PCN_OP_REPLACE)
		a.n.old_value = meta_value(dn, "yang:orig-value");

	if (d->n_done == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct applied *p = realloc(d->done, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->done = p;
		d->cap = cap;
	}
	d->inst->err = 0;
	d->inst->err_msg[0] = '\0';
	rc = h->cb(d->inst, op, &a.n);
	if (rc) {
		if (rc > 0)
			rc = -EINVAL; /* a callback that forgot the sign still failed */
		fail_default(d->inst, rc, &a.n);
		PCN_DEBUG("CUBE-HANDLER-FAIL", "%s: %s", h->path, d->inst->err_msg);
		return rc;
	}
	d->done[d->n_done++] = a;
	return 0;
}

/* Calls handlers for dn and its subtree. A created subtree is announced
 * parent first (the entry, then its leaves); a deleted one children first,
 * so a leaf's handler never runs on an entry its list handler removed. */
static int visit(struct dispatch *d, const struct lyd_node *dn, const char *inherited)
{
	const char *op_s = meta_value(dn, "yang:operation");
	const struct lyd_node *c;
	enum pcn_op op = PCN_OP_CREATE;
	bool act = true;
	int rc;

	if (!op_s)
		op_s = inherited;
	if (!op_s || strcmp(op_s, "none") == 0)
		act = false;
	else if (strcmp(op_s, "create") == 0)
		op = PCN_OP_CREATE;
	else if (strcmp(op_s, "delete") == 0)
		op = PCN_OP_DELETE;
	else if (strcmp(op_s, "replace") == 0)
		op = PCN_OP_REPLACE;
	else
		act = false; /* lyd_diff_siblings produces nothing else */

	/* "replace" of a list entry (a move in an ordered-by-user list) says
	 * nothing about its children. */
	const char *child_inherit = act && op != PCN_OP_REPLACE ? op_s : NULL;

	if (act && op != PCN_OP_DELETE) {
		rc = call_one(d, dn, op);
		if (rc)
			return rc;
	}
	for (c = lyd_child(dn); c; c = c->next) {
		rc = visit(d, c, child_inherit);
		if (rc)
			return rc;
	}
	if (act && op == PCN_OP_DELETE)
		return call_one(d, dn, op);
	return 0;
}

/* Undoes the applied changes, last first, with the opposite operations. */
static void undo(struct dispatch *d)
{
	while (d->n_done) {
		struct applied *a = &d->done[--d->n_done];
		struct pcn_node n = a->n;
		int rc;

		switch (a->n.op) {
		case PCN_OP_CREATE:
			n.op = PCN_OP_DELETE;
			break;
		case PCN_OP_DELETE:
			n.op = PCN_OP_CREATE;
			break;
		case PCN_OP_REPLACE:
			/* The old node, so pcn_node_enum reads the old value too. */
			n.node = tree_node(d->old, a->n.node);
			if (!n.node)
				n.node = a->n.node;
			n.value = a->n.old_value;
			n.old_value = a->n.value;
			break;
		}
		rc = a->h->cb(d->inst, n.op, &n);
		if (rc)
			PCN_ERR("CUBE-UNDO-FAIL", "instance %s: undoing %s failed (%d): its state may be inconsistent",
				d->inst->name, a->h->path, rc);
	}
}

int pcn__config_dispatch(struct pcn_instance *inst, const struct lyd_node *old,
			 const struct lyd_node *new_tree)
{
	struct dispatch d = { .inst = inst, .old = old, .new_tree = new_tree };
	const struct pcn_cube_desc *desc = inst->rt->desc;
	struct lyd_node *diff = NULL;
	const struct lyd_node *dn;
	int rc = 0;

	inst->err = 0;
	inst->err_msg[0] = '\0';
	if (lyd_diff_siblings(old, new_tree, LYD_DIFF_DEFAULTS, &diff) != LY_SUCCESS) {
		snprintf(inst->err_msg, sizeof(inst->err_msg), "cannot diff the configuration");
		return -ENOMEM;
	}
	for (dn = diff; dn; dn = dn->next) {
		rc = visit(&d, dn, NULL);
		if (rc)
			goto out;
	}
	if (new_tree && desc->on_applied) {
		struct pcn_node n = { .op = PCN_OP_CREATE, .node = new_tree };

		inst->err_msg[0] = '\0';
		rc = desc->on_applied(inst, &n);
		if (rc) {
			if (rc > 0)
				rc = -EINVAL;
			fail_default(inst, rc, &n);
		}
	}
out:
	if (rc)
		undo(&d);
	free(d.done);
	lyd_free_all(diff);
	return rc;
}

/* ---- node accessors (pcn_cube.h) ---------------------------------------- */

const char *pcn_node_value(const struct pcn_node *node)
{
	return node ? node->value : NULL;
}

const char *pcn_node_old_value(const struct pcn_node *node)
{
	return node ? node->old_value : NULL;
}

int pcn_node_enum(const struct pcn_node *node)
{
	const struct lyd_node_term *t;

	if (!node || !node->node || !(node->node->schema->nodetype & LYD_NODE_TERM))
		return -EINVAL;
	t = (const struct lyd_node_term *)node->node;
	if (t->value.realtype->basetype != LY_TYPE_ENUM)
		return -EINVAL;
	/* An undo of a replace carries the old text while node may be a
	 * leaf of the new tree when the old one was not found: trust text. */
	if (node->value && strcmp(node->value, t->value.enum_item->name) != 0) {
		const struct lysc_type_enum *e = (const struct lysc_type_enum *)t->value.realtype;
		LY_ARRAY_COUNT_TYPE i;

		LY_ARRAY_FOR(e->enums, i)
			if (strcmp(e->enums[i].name, node->value) == 0)
				return e->enums[i].value;
		return -EINVAL;
	}
	return t->value.enum_item->value;
}

const char *pcn_node_key(const struct pcn_node *node, const char *key)
{
	const struct lyd_node *n, *c;

	if (!node || !key)
		return NULL;
	for (n = node->node; n; n = lyd_parent(n)) {
		if (n->schema->nodetype != LYS_LIST)
			continue;
		for (c = lyd_child(n); c && lysc_is_key(c->schema); c = c->next)
			if (strcmp(LYD_NAME(c), key) == 0)
				return lyd_get_value(c);
	}
	return NULL;
}

const char *pcn_node_child(const struct pcn_node *node, const char *name)
{
	const struct lyd_node *c;

	if (!node || !node->node || !name)
		return NULL;
	for (c = lyd_child(node->node); c; c = c->next)
		if ((c->schema->nodetype & LYD_NODE_TERM) && strcmp(LYD_NAME(c), name) == 0)
			return lyd_get_value(c);
	return NULL;
}

int pcn_node_foreach(const struct pcn_node *node, const char *name,
		     int (*fn)(const struct pcn_node *child, void *arg), void *arg)
{
	const struct lyd_node *c;
	int rc;

	if (!node || !node->node || !name || !fn)
		return -EINVAL;
	for (c = lyd_child(node->node); c; c = c->next) {
		struct pcn_node n = { .op = node->op, .node = c };

		if (strcmp(LYD_NAME(c), name) != 0)
			continue;
		if (c->schema->nodetype & LYD_NODE_TERM)
			n.value = lyd_get_value(c);
		rc = fn(&n, arg);
		if (rc)
			return rc;
	}
	return 0;
}

const char *pcn_node_path(const struct pcn_node *node)
{
	/* Per thread, so a callback can use it in a message without freeing. */
	static __thread char buf[512];

	if (!node || !node->node || !lyd_path(node->node, LYD_PATH_STD, buf, sizeof(buf)))
		return "?";
	return buf;
}

int pcn_fail(struct pcn_instance *inst, int err, const char *fmt, ...)
{
	va_list ap;

	if (err > 0)
		err = -err;
	if (err == 0)
		err = -EINVAL;
	inst->err = err;
	va_start(ap, fmt);
	vsnprintf(inst->err_msg, sizeof(inst->err_msg), fmt, ap);
	va_end(ap);
	return err;
}

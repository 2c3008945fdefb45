/* The libyang contexts of the broker: base models, cube modules, and the
 * conversion of libyang's errors into REST errors.
 *
 * Each service gets a libyang context of its own. libyang 2.1 recompiles a
 * context when a module importing cubemesh-base is added to it, which frees
 * every compiled schema node: every data tree and target made before would
 * dangle (seen with valgrind on 2.1.30). With one context per service, a
 * registration never touches the trees of the services already there. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libyang/libyang.h>

#include "log.h"
#include "model_int.h"
#include "pcn_layout.h"

struct broker_model_svc {
	struct broker_model_svc *next;
	char *name;
	char *text; /* the module text, to tell a re-registration from an upgrade */
	struct ly_ctx *ctx;
	const struct lys_module *mod;
	struct broker_service_info info;
};

struct broker_models {
	struct ly_ctx *ctx; /* the base models only */
	char *yang_dir;
	struct broker_model_svc *svcs;
};

static const char *const base_modules[] = {
	"cubemesh-base",
	"cubemesh-standard-base",
	"cubemesh-transparent-base",
};

int broker_error_set(struct broker_error *err, int http_status, const char *tag, const char *path,
		     const char *fmt, ...)
{
	int rc = pcn_http_errno(http_status);

	if (!err)
		return rc;
	err->http_status = http_status;
	snprintf(err->tag, sizeof(err->tag), "%s", tag ? tag : "operation-failed");
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return rc;
}

char *broker_error_json(const struct broker_error *err)
{
	json_t *e = json_object();
	json_t *root;
	char *s;

	json_object_set_new(e, "error-type", json_string("application"));
	json_object_set_new(e, "error-tag", json_string(err->tag));
	if (err->path[0])
		json_object_set_new(e, "error-path", json_string(err->path));
	json_object_set_new(e, "error-message", json_string(err->message));
	root = json_pack("{s:{s:[o]}}", "ietf-restconf:errors", "error", e);
	if (!root)
		return NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

void broker_model_rest_path(const char *xpath, char *buf, size_t len)
{
	size_t o = 0;
	const char *p = xpath;

	buf[0] = '\0';
	if (!xpath)
		return;
#define PUT(c)                       \
	do {                         \
		if (o + 1 < len) {   \
			buf[o++] = (c); \
			buf[o] = '\0';  \
		}                    \
	} while (0)
	while (*p) {
		if (*p == '/') {
			PUT('/');
			p++;
			/* Drop the module prefix of the node name. */
			const char *colon = NULL;
			for (const char *q = p; *q && *q != '/' && *q != '['; q++)
				if (*q == ':')
					colon = q;
			if (colon)
				p = colon + 1;
		} else if (*p == '[') {
			/* [k='v'] or [.='v'] becomes /v; [1] is dropped. */
			const char *q = p + 1;
			while (*q && *q != '\'' && *q != '"' && *q != ']')
				q++;
			if (*q == '\'' || *q == '"') {
				char quote = *q++;
				PUT('/');
				while (*q && *q != quote)
					PUT(*q++);
				if (*q)
					q++;
			}
			while (*q && *q != ']')
				q++;
			p = *q ? q + 1 : q;
		} else {
			PUT(*p);
			p++;
		}
	}
#undef PUT
}

int broker_model_lyerr(struct ly_ctx *ctx, struct broker_error *err, int http_status, const char *tag,
		       const char *fallback_path)
{
	const struct ly_err_item *e = ly_err_first(ctx);
	char path[256];
	int rc;

	/* The first error is the cause; later ones are its consequences. */
	while (e && e->level != LY_LLERR)
		e = e->next;
	if (!e) {
		rc = broker_error_set(err, http_status, tag, fallback_path, "invalid data");
		goto out;
	}
	if (e->path && e->path[0] == '/')
		broker_model_rest_path(e->path, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", fallback_path ? fallback_path : "");
	if (e->vecode == LYVE_DATA && e->msg && strstr(e->msg, "Mandatory"))
		tag = "missing-element";
	rc = broker_error_set(err, http_status, tag, path, "%s", e->msg ? e->msg : "invalid data");
out:
	ly_err_clean(ctx, NULL);
	return rc;
}

bool broker_model_init_only(const struct lysc_node *snode)
{
	LY_ARRAY_COUNT_TYPE u;

	if (!snode)
		return false;
	LY_ARRAY_FOR(snode->exts, u)
	{
		const struct lysc_ext *def = snode->exts[u].def;
		if (!strcmp(def->name, "init-only") && !strcmp(def->module->name, "cubemesh-base"))
			return true;
	}
	return false;
}

const char *broker_model_leaf_default(const struct lysc_node *snode)
{
	if (!snode || snode->nodetype != LYS_LEAF)
		return NULL;
	const struct lysc_node_leaf *leaf = (const struct lysc_node_leaf *)snode;
	if (!leaf->dflt)
		return NULL;
	return lyd_value_get_canonical(snode->module->ctx, leaf->dflt);
}

int broker_model_quote(char *buf, size_t len, const char *v)
{
	size_t o = strlen(buf);
	char q = strchr(v, '\'') ? '"' : '\'';

	if (q == '"' && strchr(v, '"'))
		return -EINVAL;
	if (snprintf(buf + o, len - o, "%c%s%c", q, v, q) >= (int)(len - o))
		return -E2BIG;
	return 0;
}

/* The type a leaf's value really has: a leafref's target type. */
static const struct lysc_type *real_type(const struct lysc_node *snode)
{
	const struct lysc_type *type = ((const struct lysc_node_leaf *)snode)->type;

	while (type && type->basetype == LY_TYPE_LEAFREF)
		type = ((const struct lysc_type_leafref *)type)->realtype;
	return type;
}

void broker_model_enum_list(const struct lysc_node *snode, char *buf, size_t len)
{
	const struct lysc_type *type;
	size_t o = 0;
	LY_ARRAY_COUNT_TYPE u;

	buf[0] = '\0';
	if (!(snode->nodetype & LYD_NODE_TERM))
		return;
	type = real_type(snode);
	if (!type || type->basetype != LY_TYPE_ENUM)
		return;
	const struct lysc_type_enum *en = (const struct lysc_type_enum *)type;
	LY_ARRAY_FOR(en->enums, u)
	{
		int n = snprintf(buf + o, len - o, "%s%s", u ? ", " : "", en->enums[u].name);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += n;
	}
}

int broker_model_check_value(struct ly_ctx *ctx, const struct lysc_node *snode, const char *value,
			     const char *path, const char **canonical, struct broker_error *err)
{
	LY_ERR lrc;
	char enums[384];

	ly_err_clean(ctx, NULL);
	if (canonical)
		*canonical = NULL;
	lrc = lyd_value_validate(ctx, snode, value, strlen(value), NULL, NULL, canonical);
	if (lrc == LY_SUCCESS || lrc == LY_EINCOMPLETE) {
		ly_err_clean(ctx, NULL);
		return 0;
	}
	broker_model_enum_list(snode, enums, sizeof(enums));
	if (enums[0]) {
		ly_err_clean(ctx, NULL);
		return broker_error_set(err, 400, "invalid-value", path, "\"%s\" is not one of %s", value, enums);
	}
	return broker_model_lyerr(ctx, err, 400, "invalid-value", path);
}

int broker_models_create(struct broker_models **out, const char *yang_dir)
{
	struct broker_models *m;
	int rc = 0;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->yang_dir = strdup(yang_dir);
	if (!m->yang_dir) {
		rc = -ENOMEM;
		goto out;
	}
	/* Keep every error in the context: they become REST errors here, and
	 * libyang must not print behind the logger's back. */
	ly_log_options(LY_LOSTORE);
	if (ly_ctx_new(yang_dir, 0, &m->ctx) != LY_SUCCESS) {
		PCN_ERR("BROKER-MODEL-CTX", "cannot create the libyang context on %s", yang_dir);
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sizeof(base_modules) / sizeof(base_modules[0]); i++) {
		if (!ly_ctx_load_module(m->ctx, base_modules[i], NULL, NULL)) {
			const struct ly_err_item *e = ly_err_first(m->ctx);
			PCN_ERR("BROKER-MODEL-BASE", "cannot load %s from %s: %s", base_modules[i], yang_dir,
				e && e->msg ? e->msg : "not found");
			rc = -ENOENT;
			goto out;
		}
	}
	ly_err_clean(m->ctx, NULL);
	*out = m;
	m = NULL;
out:
	broker_models_destroy(m);
	return rc;
}

void broker_models_destroy(struct broker_models *m)
{
	if (!m)
		return;
	while (m->svcs) {
		struct broker_model_svc *s = m->svcs;
		m->svcs = s->next;
		free(s->name);
		free(s->text);
		if (s->ctx)
			ly_ctx_destroy(s->ctx);
		free(s);
	}
	if (m->ctx)
		ly_ctx_destroy(m->ctx);
	free(m->yang_dir);
	free(m);
}

struct ly_ctx *broker_models_ctx(struct broker_models *m)
{
	return m->ctx;
}


static struct broker_model_svc *svc_find(struct broker_models *m, const char *service)
{
	for (struct broker_model_svc *s = m->svcs; s; s = s->next)
		if (!strcmp(s->name, service))
			return s;
	return NULL;
}

struct ly_ctx *broker_model_svc_ctx(struct broker_models *m, const char *service)
{
	struct broker_model_svc *s = svc_find(m, service);

	return s ? s->ctx : NULL;
}

const struct lysc_node *broker_model_top(struct broker_models *m, const char *service)
{
	struct broker_model_svc *s = svc_find(m, service);

	return s ? lys_find_child(NULL, s->mod, s->name, 0, LYS_LIST, 0) : NULL;
}

/* Skips blanks and YANG comments. */
static const char *skip_blank(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '/' && p[1] == '/') {
			p = strchr(p, '\n');
			if (!p)
				return "";
		} else if (p[0] == '/' && p[1] == '*') {
			p = strstr(p + 2, "*/");
			if (!p)
				return "";
			p += 2;
		} else {
			return p;
		}
	}
}

/* Reads the module's name from its first statement, without libyang, so a
 * wrongly named module never reaches the context. */
static int module_name_of(const char *text, char *name, size_t len)
{
	const char *p = skip_blank(text);
	size_t n = 0;

	if (strncmp(p, "module", 6) || !isspace((unsigned char)p[6]))
		return -EINVAL;
	p = skip_blank(p + 6);
	if (*p == '"' || *p == '\'')
		p++;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-' || p[n] == '.')
		n++;
	if (!n || n >= len)
		return -EINVAL;
	memcpy(name, p, n);
	name[n] = '\0';
	return 0;
}

/* Checks the compiled module's shape: a top-level list named like the
 * service, keyed by name, using the base grouping. */
static int check_shape(const struct lys_module *mod, const char *service, struct broker_error *err)
{
	const struct lysc_node *top = NULL, *s = NULL;

	while ((s = lys_getnext(s, NULL, mod->compiled, 0)))
		if (!strcmp(s->name, service))
			top = s;
	if (!top)
		return broker_error_set(err, 400, "invalid-value", NULL,
					"module %s has no top-level list named %s", mod->name, service);
	if (top->nodetype != LYS_LIST)
		return broker_error_set(err, 400, "invalid-value", NULL, "%s:%s is not a list", mod->name,
					service);
	const struct lysc_node *key = lysc_node_child(top);
	if (!key || !lysc_is_key(key) || strcmp(key->name, "name") || (key->next && lysc_is_key(key->next)))
		return broker_error_set(err, 400, "invalid-value", NULL,
					"list %s must be keyed by name alone (uses base:base-yang-module)", service);
	if (!lys_find_child(top, mod, "type", 0, LYS_LEAF, 0) || !lys_find_child(top, mod, "loglevel", 0, LYS_LEAF, 0))
		return broker_error_set(err, 400, "invalid-value", NULL,
					"list %s must use base:base-yang-module", service);
	return 0;
}

/* Creates the service's own context with the base models and its module. */
static int svc_load(struct broker_models *m, struct broker_model_svc *s, struct broker_error *err)
{
	struct lys_module *mod = NULL;
	int rc;

	if (ly_ctx_new(m->yang_dir, 0, &s->ctx) != LY_SUCCESS)
		return broker_error_set(err, 500, "operation-failed", NULL, "cannot create a libyang context");
	for (size_t i = 0; i < sizeof(base_modules) / sizeof(base_modules[0]); i++)
		if (!ly_ctx_load_module(s->ctx, base_modules[i], NULL, NULL))
			return broker_model_lyerr(s->ctx, err, 500, "operation-failed", NULL);
	if (lys_parse_mem(s->ctx, s->text, LYS_IN_YANG, &mod) != LY_SUCCESS) {
		const struct ly_err_item *e = ly_err_first(s->ctx);
		while (e && e->level != LY_LLERR)
			e = e->next;
		rc = broker_error_set(err, 400, "invalid-value", NULL, "module %s does not parse: %s", s->name,
				      e && e->msg ? e->msg : "unknown error");
		ly_err_clean(s->ctx, NULL);
		return rc;
	}
	s->mod = mod;
	return check_shape(mod, s->name, err);
}

static const struct lysc_node *broker_model_top_of(const struct lys_module *mod, const char *service)
{
	return lys_find_child(NULL, mod, service, 0, LYS_LIST, 0);
}

static const char *ext_arg(const struct lys_module *mod, const char *name)
{
	LY_ARRAY_COUNT_TYPE u;

	LY_ARRAY_FOR(mod->compiled->exts, u)
	{
		const struct lysc_ext_instance *e = &mod->compiled->exts[u];
		if (!strcmp(e->def->name, name) && !strcmp(e->def->module->name, "cubemesh-base"))
			return e->argument ? e->argument : "";
	}
	return "";
}

static int imports(const struct lys_module *mod, const char *name)
{
	LY_ARRAY_COUNT_TYPE u;

	LY_ARRAY_FOR(mod->parsed->imports, u)
	{
		if (!strcmp(mod->parsed->imports[u].name, name))
			return 1;
	}
	return 0;
}

int broker_models_add(struct broker_models *m, const char *service, const char *module_text,
		      struct broker_error *err)
{
	struct broker_model_svc *s;
	const struct lys_module *mod;
	char name[64];
	int rc;

	if (!service || !service[0] || strlen(service) >= 64 || !module_text)
		return broker_error_set(err, 400, "invalid-value", NULL, "a service name and a module are required");
	s = svc_find(m, service);
	if (s) {
		if (!strcmp(s->text, module_text))
			return 0;
		return broker_error_set(err, 409, "data-exists", NULL,
					"another version of module %s is already loaded", service);
	}
	if (module_name_of(module_text, name, sizeof(name)))
		return broker_error_set(err, 400, "invalid-value", NULL, "the text of %s is not a YANG module",
					service);
	if (strcmp(name, service))
		return broker_error_set(err, 400, "invalid-value", NULL, "module %s does not match service %s", name,
					service);
	if (ly_ctx_get_module_implemented(m->ctx, service))
		return broker_error_set(err, 400, "invalid-value", NULL, "module name %s is reserved", service);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->name = strdup(service);
	s->text = strdup(module_text);
	if (!s->name || !s->text) {
		rc = -ENOMEM;
		goto out;
	}
	rc = svc_load(m, s, err);
	if (rc)
		goto out;
	mod = s->mod;
	s->info.name = s->name;
	s->info.version = ext_arg(mod, "service-version");
	s->info.description = ext_arg(mod, "service-description");
	s->info.min_kernel = ext_arg(mod, "service-min-kernel-version");
	s->info.transparent = imports(mod, "cubemesh-transparent-base") &&
			      !lys_find_child(broker_model_top_of(mod, service), mod, "ports", 0, 0, 0);
	if (ext_arg(mod, "service-name")[0] && strcmp(ext_arg(mod, "service-name"), service))
		PCN_WARN("BROKER-MODEL-SVCNAME", "module %s declares service-name %s", service,
			 ext_arg(mod, "service-name"));
	s->next = m->svcs;
	m->svcs = s;
	PCN_INFO("BROKER-MODEL-ADD", "loaded module %s (version %s%s)", service, s->info.version,
		 s->info.transparent ? ", transparent" : "");
	s = NULL;
out:
	if (s) {
		free(s->name);
		free(s->text);
		if (s->ctx)
			ly_ctx_destroy(s->ctx);
		free(s);
	}
	return rc;
}

int broker_models_info(struct broker_models *m, const char *service, struct broker_service_info *out)
{
	struct broker_model_svc *s = svc_find(m, service);

	if (!s)
		return -ENOENT;
	*out = s->info;
	return 0;
}

static void svc_unlink(struct broker_models *m, struct broker_model_svc *s)
{
	for (struct broker_model_svc **pp = &m->svcs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

static void svc_free(struct broker_model_svc *s)
{
	free(s->name);
	free(s->text);
	if (s->ctx)
		ly_ctx_destroy(s->ctx);
	free(s);
}

int broker_models_replace(struct broker_models *m, const char *service, const char *module_text,
			  struct lyd_node **trees, const char *const *names, size_t n, struct broker_error *err)
{
	struct broker_model_svc *old = svc_find(m, service), *neu;
	struct lyd_node **fresh = NULL;
	size_t done = 0;
	int rc;

	if (!old || !strcmp(old->text, module_text))
		return broker_models_add(m, service, module_text, err);
	/* Load the new version in a context of its own while the old one is
	 * set aside: trees of the old context stay valid until the swap. */
	svc_unlink(m, old);
	rc = broker_models_add(m, service, module_text, err);
	if (rc)
		goto out;
	fresh = calloc(n ? n : 1, sizeof(*fresh));
	if (!fresh) {
		rc = -ENOMEM;
		goto out;
	}
	for (; done < n; done++) {
		struct broker_error perr;
		char *json = NULL;

		rc = broker_config_print(trees[done], &json);
		if (!rc)
			rc = broker_config_parse(m, service, json, &fresh[done], &perr);
		free(json);
		if (rc) {
			rc = broker_error_set(err, 409, "data-exists", NULL,
					      "the configuration of %s does not fit the new model of %s: %s",
					      names[done], service, rc == -ENOMEM ? "out of memory" : perr.message);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		lyd_free_all(trees[i]);
		trees[i] = fresh[i];
	}
	svc_free(old);
	old = NULL;
	PCN_INFO("BROKER-MODEL-UPGRADED", "module %s replaced; %zu instance configuration(s) carried over",
		 service, n);
out:
	if (old) {
		/* Refused: put the old version back as it was. */
		for (size_t i = 0; fresh && i < done; i++)
			lyd_free_all(fresh[i]);
		neu = svc_find(m, service);
		if (neu) {
			svc_unlink(m, neu);
			svc_free(neu);
		}
		old->next = m->svcs;
		m->svcs = old;
	}
	free(fresh);
	return rc;
}

/* REST path -> data target: /helloworld/hw1/ports/port1 names
 * /helloworld:helloworld[name='hw1']/ports[name='port1']. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "model_int.h"

#define XPATH_MAX 2048
#define SEG_MAX 512

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes one segment's %XX escapes (after splitting, so %2F stays inside
 * the segment). */
static int pct_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			if (!c)
				return -EINVAL;
			i += 2;
		}
		if (o + 1 >= len)
			return -E2BIG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

struct seg {
	const char *raw;
	size_t n;
};

/* Appends a then b to a growing string; -E2BIG past the limit. */
static int append(char *buf, size_t len, const char *a, const char *b)
{
	size_t o = strlen(buf);
	int n = snprintf(buf + o, len - o, "%s%s", a, b);

	return n < 0 || (size_t)n >= len - o ? -E2BIG : 0;
}

/* The children a segment may name below snode, for the 404 message. */
static void children_list(const struct lysc_node *snode, char *buf, size_t len)
{
	const struct lysc_node *c = NULL;
	size_t o = 0;

	buf[0] = '\0';
	while ((c = lys_getnext(c, snode, NULL, 0))) {
		int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", c->name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += n;
	}
	LY_LIST_FOR((const struct lysc_node *)lysc_node_actions(snode), c)
	{
		int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", c->name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += n;
	}
}

/* A child of snode by name; "mod:name" is accepted too. */
static const struct lysc_node *child_find(const struct lysc_node *snode, const char *name)
{
	const struct lysc_node *c = NULL;
	const char *colon = strchr(name, ':');
	size_t plen = 0;

	if (colon) {
		plen = colon - name;
		name = colon + 1;
	}
	while ((c = lys_getnext(c, snode, NULL, 0)))
		if (!strcmp(c->name, name) && (!plen || !strncmp(c->module->name, name - plen - 1, plen)))
			return c;
	LY_LIST_FOR((const struct lysc_node *)lysc_node_actions(snode), c)
	{
		if (!strcmp(c->name, name))
			return c;
	}
	return NULL;
}

/* Appends "/<raw segment>" to the REST path (kept percent-encoded, so a key
 * holding '/' stays one segment). */
static void append_seg(char *rest, const struct seg *sg)
{
	size_t o = strlen(rest);

	snprintf(rest + o, XPATH_MAX - o, "/%.*s", (int)sg->n, sg->raw);
}

/* Adds [key='value'] after checking value against the key's type. */
static int add_key(struct ly_ctx *ctx, const struct lysc_node *key, const char *value, char *xpath,
		   const char *rest, struct broker_error *err)
{
	char pred[SEG_MAX + 64];
	const char *spelled = broker_model_enum_spelling(key, value);
	int rc;

	/* A key typed by an enum, in any case: the entry is the model's. */
	if (spelled)
		value = spelled;
	rc = broker_model_check_value(ctx, key, value, rest, NULL, err);
	if (rc)
		return rc;
	snprintf(pred, sizeof(pred), "[%s=", key->name);
	if (broker_model_quote(pred, sizeof(pred), value))
		return broker_error_set(err, 400, "invalid-value", rest, "a key cannot hold both ' and \"");
	if (append(xpath, XPATH_MAX, pred, "]"))
		return broker_error_set(err, 413, "too-big", rest, "path too long");
	return 0;
}

int broker_target_parse(struct broker_models *m, const char *path, size_t len, struct broker_target *t,
			struct broker_error *err)
{
	struct ly_ctx *ctx;
	struct seg segs[64];
	size_t nseg = 0, i;
	char xpath[XPATH_MAX] = "", rest[XPATH_MAX] = "", val[SEG_MAX];
	const struct lysc_node *sn;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < len;) {
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		if (j > i) {
			if (nseg == sizeof(segs) / sizeof(segs[0]))
				return broker_error_set(err, 413, "too-big", NULL, "path too deep");
			segs[nseg].raw = path + i;
			segs[nseg].n = j - i;
			nseg++;
		}
		i = j + 1;
	}
	if (!nseg)
		return broker_error_set(err, 404, "invalid-value", "/", "no service named");

	if (pct_decode(segs[0].raw, segs[0].n, val, sizeof(val)) || strlen(val) >= sizeof(t->service))
		return broker_error_set(err, 400, "invalid-value", NULL, "bad service name in the path");
	append_seg(rest, &segs[0]);
	sn = broker_model_top(m, val);
	if (!sn)
		return broker_error_set(err, 404, "invalid-value", rest, "no service %s", val);
	memcpy(t->service, val, strlen(val) + 1);
	ctx = sn->module->ctx;
	t->kind = BROKER_T_SERVICE;
	t->config = 1;
	if (nseg == 1)
		goto done;

	if (pct_decode(segs[1].raw, segs[1].n, val, sizeof(val)) || strlen(val) >= sizeof(t->instance))
		return broker_error_set(err, 400, "invalid-value", rest, "bad instance name in the path");
	append_seg(rest, &segs[1]);
	snprintf(xpath, sizeof(xpath), "/%s:%s", sn->module->name, sn->name);
	rc = add_key(ctx, lysc_node_child(sn), val, xpath, rest, err);
	if (rc)
		return rc;
	memcpy(t->instance, val, strlen(val) + 1);
	t->kind = BROKER_T_INSTANCE;
	t->snode = sn;

	for (i = 2; i < nseg; i++) {
		const struct lysc_node *c;
		char where[XPATH_MAX];

		if (t->kind == BROKER_T_LEAF || t->kind == BROKER_T_LEAFLIST || t->kind == BROKER_T_ACTION ||
		    t->kind == BROKER_T_LIST)
			return broker_error_set(err, 404, "invalid-value", rest, "nothing below %s", rest);
		if (pct_decode(segs[i].raw, segs[i].n, val, sizeof(val)))
			return broker_error_set(err, 400, "invalid-value", rest, "bad escape in the path");
		c = child_find(sn, val);
		if (!c) {
			char kids[400];
			children_list(sn, kids, sizeof(kids));
			snprintf(where, sizeof(where), "%s", rest);
			append_seg(rest, &segs[i]);
			return broker_error_set(err, 404, "invalid-value", rest, "no %s in %s; valid: %s", val,
						where, kids);
		}
		append_seg(rest, &segs[i]);
		if (append(xpath, sizeof(xpath), "/", c->name))
			return broker_error_set(err, 413, "too-big", rest, "path too long");
		sn = c;
		switch (c->nodetype) {
		case LYS_CONTAINER:
			t->kind = BROKER_T_CONTAINER;
			break;
		case LYS_LEAF:
			t->kind = BROKER_T_LEAF;
			break;
		case LYS_LEAFLIST:
			t->kind = BROKER_T_LEAFLIST;
			break;
		case LYS_ACTION:
		case LYS_RPC:
			t->kind = BROKER_T_ACTION;
			break;
		case LYS_LIST: {
			const struct lysc_node *key;
			t->kind = BROKER_T_LIST;
			/* Keyless (config false) lists have no entry in a path. */
			for (key = lysc_node_child(c); key && lysc_is_key(key); key = key->next) {
				if (i + 1 >= nseg)
					break;
				i++;
				if (pct_decode(segs[i].raw, segs[i].n, val, sizeof(val)))
					return broker_error_set(err, 400, "invalid-value", rest, "bad escape in the path");
				append_seg(rest, &segs[i]);
				rc = add_key(ctx, key, val, xpath, rest, err);
				if (rc)
					return rc;
				if (!key->next || !lysc_is_key(key->next))
					t->kind = BROKER_T_ENTRY;
			}
			break;
		}
		default:
			return broker_error_set(err, 404, "invalid-value", rest, "%s cannot be addressed", c->name);
		}
	}

done:
	if (t->kind != BROKER_T_SERVICE)
		t->snode = sn;
	t->config = t->snode ? !!(t->snode->flags & LYS_CONFIG_W) : 1;
	if (t->kind == BROKER_T_ACTION)
		t->config = 0;
	if (t->kind != BROKER_T_SERVICE) {
		t->xpath = strdup(xpath);
		if (!t->xpath)
			goto nomem;
	}
	t->rest_path = strdup(rest);
	if (!t->rest_path)
		goto nomem;
	return 0;
nomem:
	broker_target_fini(t);
	return broker_error_set(err, 500, "operation-failed", NULL, "out of memory");
}

void broker_target_fini(struct broker_target *t)
{
	if (!t)
		return;
	free(t->xpath);
	free(t->rest_path);
	t->xpath = NULL;
	t->rest_path = NULL;
}

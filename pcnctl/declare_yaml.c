/* YAML <-> JSON for pcnctl's declarative commands, over libyaml (Debian's
 * libyaml-dev): the parser's events build a jansson tree, and the tree is
 * written back through the emitter's events, so quoting and escaping are
 * libyaml's, never ours. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "declare.h"

#define MAX_DEPTH 64

/* A plain (unquoted) scalar that YAML 1.2's core schema reads as a number. */
static bool looks_int(const char *s)
{
	const char *p = s;

	if (*p == '-' || *p == '+')
		p++;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return strlen(s) < 19;
}

static bool looks_typed(const char *s)
{
	static const char *const words[] = { "true", "false", "True", "False", "TRUE", "FALSE", "null",
					     "Null", "NULL", "~", "yes", "no", "on", "off", "Yes", "No", "On",
					     "Off", "YES", "NO", "ON", "OFF", "y", "n", "" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	if (looks_int(s))
		return true;
	/* Floats, hex, octal: quoted too, whatever a reader makes of them. */
	return strspn(s, "0123456789.+-eExXoO_") == strlen(s) && strpbrk(s, "0123456789");
}

static json_t *scalar_json(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_string(v);
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		return json_true();
	if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		return json_false();
	if (!strcmp(v, "null") || !strcmp(v, "~") || !strcmp(v, "Null") || !strcmp(v, "NULL") || !*v)
		return json_null();
	if (looks_int(v))
		return json_integer(strtoll(v, NULL, 10));
	return json_string(v);
}

struct frame {
	json_t *node;
	char *key; /* a mapping's pending key, or NULL */
	size_t plen; /* length of the path up to this node */
};

struct loader {
	yaml_parser_t p;
	struct frame st[MAX_DEPTH];
	int depth;
	char path[1024];
	json_t *root, *lines;
	char *err;
	size_t errlen;
};

/* The path of the child about to be added to the top frame. */
static void child_path(struct loader *l, char *out, size_t n)
{
	struct frame *f = &l->st[l->depth - 1];

	if (json_is_array(f->node))
		snprintf(out, n, "%.*s/%zu", (int)f->plen, l->path, json_array_size(f->node));
	else
		snprintf(out, n, "%.*s/%s", (int)f->plen, l->path, f->key ? f->key : "");
}

/* Adds v (a new reference) under the top frame or as the root. */
static int add_node(struct loader *l, json_t *v, size_t line, const char *path)
{
	json_object_set_new(l->lines, path[0] ? path : "/", json_integer((json_int_t)line));
	if (l->depth == 0) {
		l->root = v;
		return 0;
	}
	struct frame *f = &l->st[l->depth - 1];

	if (json_is_array(f->node))
		return json_array_append_new(f->node, v) ? -ENOMEM : 0;
	if (json_object_get(f->node, f->key)) {
		snprintf(l->err, l->errlen, "line %zu: %s: the key is repeated", line, path);
		json_decref(v);
		return -EINVAL;
	}
	json_object_set_new(f->node, f->key, v);
	free(f->key);
	f->key = NULL;
	return 0;
}

static int on_event(struct loader *l, yaml_event_t *ev)
{
	size_t line = ev->start_mark.line + 1;
	char path[1024];

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		snprintf(l->err, l->errlen, "line %zu: aliases (*name) are not accepted", line);
		return -EINVAL;
	case YAML_SCALAR_EVENT: {
		if (ev->data.scalar.anchor || (ev->data.scalar.tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					       ev->data.scalar.tag[0] == '!')) {
			snprintf(l->err, l->errlen, "line %zu: anchors and tags are not accepted", line);
			return -EINVAL;
		}
		if (l->depth && json_is_object(l->st[l->depth - 1].node) && !l->st[l->depth - 1].key) {
			l->st[l->depth - 1].key = strdup((const char *)ev->data.scalar.value);
			return l->st[l->depth - 1].key ? 0 : -ENOMEM;
		}
		if (l->depth)
			child_path(l, path, sizeof(path));
		else
			path[0] = 0;
		return add_node(l, scalar_json(ev), line, path);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		json_t *v = ev->type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
		int rc;

		if (l->depth && json_is_object(l->st[l->depth - 1].node) && !l->st[l->depth - 1].key) {
			json_decref(v);
			snprintf(l->err, l->errlen, "line %zu: a mapping key must be a plain value", line);
			return -EINVAL;
		}
		if (l->depth >= MAX_DEPTH) {
			json_decref(v);
			snprintf(l->err, l->errlen, "line %zu: nested too deep", line);
			return -EINVAL;
		}
		if (l->depth)
			child_path(l, path, sizeof(path));
		else
			path[0] = 0;
		json_incref(v);
		rc = add_node(l, v, line, path);
		if (rc) {
			json_decref(v);
			return rc;
		}
		snprintf(l->path, sizeof(l->path), "%s", path);
		l->st[l->depth++] = (struct frame){ .node = v, .plen = strlen(path) };
		json_decref(v);
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		l->depth--;
		free(l->st[l->depth].key);
		l->st[l->depth].key = NULL;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (l->root) {
			snprintf(l->err, l->errlen, "line %zu: one document per file", line);
			return -EINVAL;
		}
		return 0;
	default:
		return 0;
	}
}

int pcnctl_yaml_load(const char *text, size_t len, json_t **out, json_t **lines, char *err, size_t errlen)
{
	struct loader l = { .err = err, .errlen = errlen };
	yaml_event_t ev;
	int rc = 0;
	bool done = false;

	*out = NULL;
	*lines = NULL;
	if (!yaml_parser_initialize(&l.p))
		return -ENOMEM;
	l.lines = json_object();
	yaml_parser_set_input_string(&l.p, (const unsigned char *)text, len);
	while (!done && !rc) {
		if (!yaml_parser_parse(&l.p, &ev)) {
			if (l.p.context)
				snprintf(err, errlen, "line %zu: %s (%s started at line %zu)", l.p.problem_mark.line + 1,
					 l.p.problem ? l.p.problem : "YAML syntax error", l.p.context,
					 l.p.context_mark.line + 1);
			else
				snprintf(err, errlen, "line %zu: %s", l.p.problem_mark.line + 1,
					 l.p.problem ? l.p.problem : "YAML syntax error");
			rc = -EINVAL;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&l, &ev);
		yaml_event_delete(&ev);
	}
	while (l.depth > 0)
		free(l.st[--l.depth].key);
	yaml_parser_delete(&l.p);
	if (rc) {
		json_decref(l.root);
		json_decref(l.lines);
		return rc;
	}
	*out = l.root ? l.root : json_object();
	*lines = l.lines;
	return 0;
}

/* ---- emitter ------------------------------------------------------------ */

static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, bool typed_ok)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), typed_ok || !looks_typed(s), 1,
				     YAML_ANY_SCALAR_STYLE);
	return emit(e, &ev);
}

static int emit_node(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;
	char buf[64];
	int rc = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *c;

		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if ((rc = emit(e, &ev)))
			return rc;
		json_object_foreach((json_t *)v, k, c) {
			if ((rc = emit_scalar(e, k, false)) || (rc = emit_node(e, c)))
				return rc;
		}
		yaml_mapping_end_event_initialize(&ev);
		return emit(e, &ev);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *c;
		bool flat = true;

		/* A list of plain values (a stack, a wire) reads best on one line. */
		json_array_foreach(v, i, c) flat = flat && !json_is_object(c) && !json_is_array(c);
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     flat ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
		if ((rc = emit(e, &ev)))
			return rc;
		json_array_foreach(v, i, c) {
			if ((rc = emit_node(e, c)))
				return rc;
		}
		yaml_sequence_end_event_initialize(&ev);
		return emit(e, &ev);
	}
	case JSON_STRING:
		return emit_scalar(e, json_string_value(v), false);
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(e, buf, true);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return emit_scalar(e, buf, true);
	case JSON_TRUE:
		return emit_scalar(e, "true", true);
	case JSON_FALSE:
		return emit_scalar(e, "false", true);
	default:
		return emit_scalar(e, "null", true);
	}
}

int pcnctl_yaml_dump(FILE *f, const json_t *doc, const char *comment)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int rc;

	if (comment)
		fprintf(f, "%s", comment);
	if (!yaml_emitter_initialize(&e))
		return -ENOMEM;
	yaml_emitter_set_output_file(&e, f);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, 100);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	rc = emit(&e, &ev);
	if (!rc) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		rc = emit(&e, &ev);
	}
	if (!rc)
		rc = emit_node(&e, doc);
	if (!rc) {
		yaml_document_end_event_initialize(&ev, 1);
		rc = emit(&e, &ev);
	}
	if (!rc) {
		yaml_stream_end_event_initialize(&ev);
		rc = emit(&e, &ev);
	}
	yaml_emitter_flush(&e);
	yaml_emitter_delete(&e);
	return rc;
}

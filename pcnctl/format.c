/* pcnctl: output formatting (see format.h). */
#include "format.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ scalars */

static bool is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* A scalar as text: strings bare unless that would hide something (empty,
 * edge spaces, control characters), where they are JSON-quoted. Returns a
 * malloc'ed string, or NULL on ENOMEM. */
static char *scalar_str(const json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		bool quote = n == 0 || s[0] == ' ' || s[n - 1] == ' ';

		for (size_t i = 0; i < n && !quote; i++)
			quote = (unsigned char)s[i] < 0x20;
		if (!quote)
			return strdup(s);
	}
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static void put_scalar(FILE *out, const json_t *v)
{
	char *s = scalar_str(v);

	fputs(s ? s : "?", out);
	free(s);
}

/* ------------------------------------------------------------------- tables */

/* A table of text cells, row 0 being the header. Cells are owned. */
struct table {
	size_t ncols, nrows;
	char **cells;  /* nrows * ncols, NULL for an empty cell */
};

static char **cell(struct table *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

static void table_print(FILE *out, struct table *t, int indent)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));

	if (!w)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (*cell(t, r, c) && strlen(*cell(t, r, c)) > w[c])
				w[c] = strlen(*cell(t, r, c));
	for (size_t r = 0; r < t->nrows; r++) {
		size_t last = 0;

		/* Trailing empty cells would only leave trailing blanks. */
		for (size_t c = 0; c < t->ncols; c++)
			if (*cell(t, r, c) && **cell(t, r, c))
				last = c;
		fprintf(out, "%*s", indent, "");
		for (size_t c = 0; c <= last; c++) {
			const char *s = *cell(t, r, c) ? *cell(t, r, c) : "";

			if (c == last)
				fputs(s, out);
			else
				fprintf(out, "%-*s  ", (int)w[c], s);
		}
		fputc('\n', out);
	}
	free(w);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* ------------------------------------------------------------- YAML-ish text */

static bool is_flat_object(const json_t *v)
{
	const char *k;
	json_t *m;

	if (!json_is_object(v))
		return false;
	json_object_foreach((json_t *)v, k, m)
		if (!is_scalar(m))
			return false;
	return true;
}

static bool is_table(const json_t *a)
{
	size_t i;
	json_t *e;

	if (!json_array_size(a))
		return false;
	json_array_foreach(a, i, e)
		if (!is_flat_object(e))
			return false;
	return true;
}

/* Prints an array of flat objects as a table; columns in order of first appearance. */
static void print_table(FILE *out, const json_t *a, int indent)
{
	json_t *cols = json_array();
	struct table t = { 0 };
	size_t i, c;
	const char *k;
	json_t *e, *m;

	if (!cols)
		return;
	json_array_foreach(a, i, e)
		json_object_foreach(e, k, m) {
			bool seen = false;

			for (c = 0; c < json_array_size(cols) && !seen; c++)
				seen = !strcmp(json_string_value(json_array_get(cols, c)), k);
			if (!seen)
				json_array_append_new(cols, json_string(k));
		}
	t.ncols = json_array_size(cols);
	t.nrows = json_array_size(a) + 1;
	t.cells = calloc(t.ncols * t.nrows, sizeof(*t.cells));
	if (!t.cells)
		goto out;
	for (c = 0; c < t.ncols; c++)
		*cell(&t, 0, c) = strdup(json_string_value(json_array_get(cols, c)));
	json_array_foreach(a, i, e)
		for (c = 0; c < t.ncols; c++) {
			m = json_object_get(e, json_string_value(json_array_get(cols, c)));
			if (m)
				*cell(&t, i + 1, c) = scalar_str(m);
		}
	table_print(out, &t, indent);
out:
	table_free(&t);
	json_decref(cols);
}

static void print_node(FILE *out, const json_t *v, int indent);

/* Prints an object's members. With dash, the first line is a list item:
 * "- first: x" at indent - 2, the others aligned under it. */
static void print_object(FILE *out, const json_t *o, int indent, bool dash)
{
	const char *k;
	json_t *m;

	json_object_foreach((json_t *)o, k, m) {
		if (dash)
			fprintf(out, "%*s- ", indent - 2, "");
		else
			fprintf(out, "%*s", indent, "");
		dash = false;
		fprintf(out, "%s:", k);
		if (is_scalar(m)) {
			fputc(' ', out);
			put_scalar(out, m);
			fputc('\n', out);
		} else if (json_is_object(m) && !json_object_size(m)) {
			fputs(" {}\n", out);
		} else if (json_is_array(m) && !json_array_size(m)) {
			fputs(" []\n", out);
		} else if (json_is_array(m) && !is_table(m)) {
			/* A leaf-list reads best on one line. */
			bool scalars = true;
			size_t i;
			json_t *e;

			json_array_foreach(m, i, e)
				scalars = scalars && is_scalar(e);
			if (scalars) {
				fputs(" [", out);
				json_array_foreach(m, i, e) {
					fputs(i ? ", " : "", out);
					put_scalar(out, e);
				}
				fputs("]\n", out);
			} else {
				fputc('\n', out);
				print_node(out, m, indent + 2);
			}
		} else {
			fputc('\n', out);
			print_node(out, m, indent + 2);
		}
	}
	if (dash) /* an empty object as a list item */
		fprintf(out, "%*s- {}\n", indent - 2, "");
}

static void print_node(FILE *out, const json_t *v, int indent)
{
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		print_object(out, v, indent, false);
	} else if (json_is_array(v)) {
		if (is_table(v)) {
			print_table(out, v, indent);
			return;
		}
		json_array_foreach(v, i, e) {
			if (json_is_object(e)) {
				print_object(out, e, indent + 2, true);
			} else if (json_is_array(e)) {
				fprintf(out, "%*s-\n", indent, "");
				print_node(out, e, indent + 2);
			} else {
				fprintf(out, "%*s- ", indent, "");
				put_scalar(out, e);
				fputc('\n', out);
			}
		}
	} else {
		fprintf(out, "%*s", indent, "");
		put_scalar(out, v);
		fputc('\n', out);
	}
}

void pcnctl_print_text(FILE *out, const json_t *v)
{
	if (v)
		print_node(out, v, 0);
}

void pcnctl_print_json(FILE *out, const json_t *v)
{
	if (v && !json_dumpf(v, out, JSON_INDENT(2) | JSON_ENCODE_ANY))
		fputc('\n', out);
}

/* --------------------------------------------------------------------- help */

static const char *str_member(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* "a b c" from an array of strings (or one string), joined by sep and each
 * wrapped in pre/post. Returns a malloc'ed string, "" for nothing, NULL on ENOMEM. */
static char *join(const json_t *a, const char *sep, const char *pre, const char *post)
{
	char *s = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&s, &len);
	json_t *e;

	if (!f)
		return NULL;
	if (json_is_string(a))
		fprintf(f, "%s%s%s", pre, json_string_value(a), post);
	json_array_foreach(a, i, e) {
		fprintf(f, "%s%s", i ? sep : "", pre);
		put_scalar(f, e);
		fputs(post, f);
	}
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

/* YANG keywords, in whatever case the broker spells them. */
static bool kind_is(const json_t *e, const char *kind)
{
	const char *k = str_member(e, "kind");

	return k && !strcasecmp(k, kind);
}

static bool is_action(const json_t *e)
{
	return kind_is(e, "action") || kind_is(e, "rpc");
}

static void help_table(FILE *out, const json_t *children)
{
	static const char *const hdr[] = { "NAME", "KIND", "TYPE", "ACCESS", "DEFAULT",
					   "DESCRIPTION" };
	struct table t = { .ncols = 6, .nrows = json_array_size(children) + 1 };
	size_t i;
	json_t *e;

	t.cells = calloc(t.ncols * t.nrows, sizeof(*t.cells));
	if (!t.cells)
		return;
	for (size_t c = 0; c < t.ncols; c++)
		*cell(&t, 0, c) = strdup(hdr[c]);
	json_array_foreach(children, i, e) {
		const char *kind = str_member(e, "kind"), *type = str_member(e, "type");
		const json_t *keys = json_object_get(e, "keys"), *en = json_object_get(e, "enum");
		const json_t *def = json_object_get(e, "default"), *cfg = json_object_get(e, "config");
		char *tmp;

		*cell(&t, i + 1, 0) = strdup(str_member(e, "name") ? str_member(e, "name") : "?");
		/* A list shows its keys, which are what add, del and show take. */
		tmp = json_array_size(keys) || json_is_string(keys) ? join(keys, " ", "<", ">")
								     : NULL;
		if (tmp && asprintf(cell(&t, i + 1, 1), "%s %s", kind ? kind : "list", tmp) < 0)
			*cell(&t, i + 1, 1) = NULL;
		else if (!tmp)
			*cell(&t, i + 1, 1) = kind ? strdup(kind) : NULL;
		free(tmp);
		tmp = json_array_size(en) ? join(en, "|", "", "") : NULL;
		*cell(&t, i + 1, 2) = tmp ? tmp : type ? strdup(type) : NULL;
		/* Access means nothing for an action: it is invoked, not stored. */
		if (!is_action(e))
			*cell(&t, i + 1, 3) =
				strdup(json_is_true(json_object_get(e, "key"))	      ? "key"
				       : json_is_true(json_object_get(e, "init-only")) ? "init-only"
				       : json_is_false(cfg)			      ? "read-only"
										      : "read-write");
		*cell(&t, i + 1, 4) = def && !json_is_null(def) ? scalar_str(def) : NULL;
		*cell(&t, i + 1, 5) = str_member(e, "description")
					      ? strdup(str_member(e, "description"))
					      : NULL;
	}
	table_print(out, &t, 0);
	table_free(&t);
}

static bool writable(const json_t *e)
{
	return !json_is_false(json_object_get(e, "config")) &&
	       !json_is_true(json_object_get(e, "init-only"));
}

/* The keys of the node when the broker says it is a list. A bare array of
 * children cannot tell a list from one of its entries (both have the same
 * leaves), so only the object form {"kind": "list", "keys": [...]} counts.
 * Returns "<k1> <k2>", or NULL. */
static char *list_keys(const json_t *node)
{
	const json_t *keys = json_object_get(node, "keys");

	if (!node || !kind_is(node, "list") || !(json_array_size(keys) || json_is_string(keys)))
		return NULL;
	return join(keys, " ", "<", ">");
}

/* The commands that apply at this node, derived from what its children are. */
static void help_commands(FILE *out, const json_t *node, const json_t *children, const char *w)
{
	char *keys = list_keys(node);
	bool any_set = false;
	size_t i;
	json_t *e;

	fputs("\nCommands:\n", out);
	if (keys) {
		fprintf(out, "  pcnctl %s add %s [<leaf>=<value> ...]\n", w, keys);
		fprintf(out, "  pcnctl %s del %s\n", w, keys);
		fprintf(out, "  pcnctl %s show [%s]\n", w, keys);
		fprintf(out, "  pcnctl %s %s set <leaf>=<value> ...\n", w, keys);
		goto out;
	}
	fprintf(out, "  pcnctl %s show\n", w);
	json_array_foreach(children, i, e) {
		const char *name = str_member(e, "name");

		if (!name)
			continue;
		if (kind_is(e, "leaf") && writable(e) && !any_set) {
			fprintf(out, "  pcnctl %s set <leaf>=<value> ...\n", w);
			any_set = true;
		} else if (kind_is(e, "list")) {
			char *lk = join(json_object_get(e, "keys"), " ", "<", ">");
			const char *k = lk && *lk ? lk : "<key>";

			if (writable(e)) {
				fprintf(out, "  pcnctl %s %s add %s [<leaf>=<value> ...]\n", w, name, k);
				fprintf(out, "  pcnctl %s %s del %s\n", w, name, k);
			}
			fprintf(out, "  pcnctl %s %s show [%s]\n", w, name, k);
			free(lk);
		} else if (is_action(e)) {
			/* An action is a POST of its input, which add sends. */
			fprintf(out, "  pcnctl %s %s add [<input>=<value> ...]\n", w, name);
		}
	}
out:
	free(keys);
}

void pcnctl_print_help(FILE *out, const json_t *help, const char *words)
{
	const json_t *children = help, *node = NULL, *verbs;
	const char *desc;

	if (json_is_object(help)) {
		node = help;
		children = json_object_get(help, "children");
	}
	if (node && (desc = str_member(node, "description")))
		fprintf(out, "%s\n\n", desc);
	if (json_array_size(children))
		help_table(out, children);
	help_commands(out, node, children, words ? words : "");
	/* The broker may name the verbs itself; it knows the node's kind. */
	verbs = node ? json_object_get(node, "verbs") : NULL;
	if (json_array_size(verbs)) {
		char *v = join(verbs, ", ", "", "");

		fprintf(out, "\nVerbs allowed here: %s\n", v ? v : "?");
		free(v);
	}
}

/* -------------------------------------------------------------------- errors */

static const char *reason(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 422: return "Unprocessable Entity";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "";
	}
}

/* The RESTCONF error list, with or without the module prefix. */
static json_t *restconf_errors(json_t *doc)
{
	json_t *errs = json_object_get(doc, "ietf-restconf:errors");

	if (!errs)
		errs = json_object_get(doc, "errors");
	errs = json_object_get(errs, "error");
	return json_is_array(errs) ? errs : NULL;
}

void pcnctl_print_error(FILE *err, long status, const char *body)
{
	json_t *doc = body && *body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
	json_t *errs = restconf_errors(doc), *e;
	bool printed = false;
	size_t i;

	json_array_foreach(errs, i, e) {
		const char *msg = str_member(e, "error-message"), *path = str_member(e, "error-path");
		const char *tag = str_member(e, "error-tag");

		if (!msg && !tag)
			continue;
		fprintf(err, "Error: %s\n", msg ? msg : tag);
		if (path)
			fprintf(err, "  at %s\n", path);
		printed = true;
	}
	if (!printed) {
		const char *r = reason(status);
		size_t n = body ? strcspn(body, "\n") : 0;

		fprintf(err, "Error: HTTP %ld%s%s", status, *r ? " " : "", r);
		if (n)
			fprintf(err, ": %.*s", (int)(n > 200 ? 200 : n), body);
		fputc('\n', err);
	}
	json_decref(doc);
}

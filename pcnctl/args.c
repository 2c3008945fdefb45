/* pcnctl: words -> request (see args.h for the rule). */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- requests */

/* A growable string; a failed append is remembered, checked once at the end. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static void sb_segment(struct sbuf *b, const char *word)
{
	char *e = pcnctl_escape_segment(word);

	if (!e) {
		b->oom = true;
		return;
	}
	sb_add(b, e);
	sb_add(b, "/");
	free(e);
}

char *pcnctl_escape_segment(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-._~", *c)) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = '\0';
	return out;
}

enum verb { VERB_NONE, VERB_ADD, VERB_DEL, VERB_SET, VERB_SHOW };

static enum verb verb_of(const char *w)
{
	if (!strcmp(w, "add"))
		return VERB_ADD;
	if (!strcmp(w, "del"))
		return VERB_DEL;
	if (!strcmp(w, "set"))
		return VERB_SET;
	if (!strcmp(w, "show"))
		return VERB_SHOW;
	return VERB_NONE;
}

/* The fixed resources whose body pcnctl builds from positional words. */
static const struct fixed_cmd {
	const char *word;
	const char *arg1, *arg2;  /* JSON member names of the two positionals */
	bool options;             /* extra k=v members allowed */
} fixed_cmds[] = {
	{ "connect", "peer1", "peer2", false },
	{ "disconnect", "peer1", "peer2", false },
	{ "attach", "cube", "port", true },
	{ "detach", "cube", "port", false },
};

static const struct fixed_cmd *fixed_of(const char *w)
{
	for (size_t i = 0; i < sizeof(fixed_cmds) / sizeof(fixed_cmds[0]); i++)
		if (!strcmp(w, fixed_cmds[i].word))
			return &fixed_cmds[i];
	return NULL;
}

/* The fixed resources that are only read. */
static bool is_fixed_get(const char *w)
{
	static const char *const words[] = { "services", "cubes", "netdevs", "topology",
					      "version", "metrics" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(w, words[i]))
			return true;
	return false;
}

/* The words after a verb, split into list keys and k=v pairs (kv is a JSON
 * object of strings, in the order given). */
struct split {
	const char **keys;
	int nkeys;
	json_t *kv;
	bool stdin_ok;        /* in: a pair with no value ("rules=") means stdin */
	const char *from_stdin; /* out: that pair */
};

static int split_args(struct split *sp, int n, char *const *w, char *err, size_t errlen)
{
	sp->nkeys = 0;
	sp->keys = calloc(n > 0 ? (size_t)n : 1, sizeof(*sp->keys));
	sp->kv = json_object();
	if (!sp->keys || !sp->kv)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(w[i], '=');
		char *key;
		json_t *val;
		int rc;

		if (!eq) {
			sp->keys[sp->nkeys++] = w[i];
			continue;
		}
		if (eq == w[i]) {
			set_err(err, errlen, "'%s': a name is missing before '='", w[i]);
			return -EINVAL;
		}
		if (!eq[1] && sp->stdin_ok) {
			sp->from_stdin = w[i];
			continue;
		}
		if (!eq[1]) {
			set_err(err, errlen, "'%s': a value is missing after '='", w[i]);
			return -EINVAL;
		}
		key = strndup(w[i], (size_t)(eq - w[i]));
		if (!key)
			return -ENOMEM;
		if (json_object_get(sp->kv, key)) {
			set_err(err, errlen, "'%s' is given twice", key);
			free(key);
			return -EINVAL;
		}
		/* json_string fails on invalid UTF-8 too: say so rather than OOM. */
		val = json_string(eq + 1);
		if (!val) {
			free(key);
			set_err(err, errlen, "'%s' is not valid UTF-8", w[i]);
			return -EINVAL;
		}
		rc = json_object_set_new(sp->kv, key, val);
		free(key);
		if (rc)
			return -ENOMEM;
	}
	return 0;
}

static void split_fini(struct split *sp)
{
	free(sp->keys);
	json_decref(sp->kv);
}

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int build_fixed(struct pcnctl_request *r, const struct fixed_cmd *fc, int n,
		       char *const *w, char *err, size_t errlen)
{
	struct split sp = { 0 };
	struct sbuf path = { 0 };
	json_t *body = NULL;
	int ret;

	ret = split_args(&sp, n, w, err, errlen);
	if (ret)
		goto out;
	if (sp.nkeys != 2) {
		set_err(err, errlen, "usage: pcnctl %s <%s> <%s>%s", fc->word, fc->arg1, fc->arg2,
			fc->options ? " [position=auto|first|last | before=<cube> | after=<cube>]"
				    : "");
		ret = -EINVAL;
		goto out;
	}
	if (json_object_size(sp.kv) && !fc->options) {
		set_err(err, errlen, "%s takes no k=v options", fc->word);
		ret = -EINVAL;
		goto out;
	}
	if (json_object_get(sp.kv, fc->arg1) || json_object_get(sp.kv, fc->arg2)) {
		set_err(err, errlen, "give %s and %s as plain words, not k=v", fc->arg1, fc->arg2);
		ret = -EINVAL;
		goto out;
	}
	/* The two positionals come first in the body, as the API shows them. */
	body = json_pack("{s:s, s:s}", fc->arg1, sp.keys[0], fc->arg2, sp.keys[1]);
	if (!body) {
		set_err(err, errlen, "arguments are not valid UTF-8");
		ret = -EINVAL;
		goto out;
	}
	if (json_object_update(body, sp.kv)) {
		ret = -ENOMEM;
		goto out;
	}
	r->body = dump(body);
	sb_segment(&path, fc->word);
	r->method = "POST";
	r->path = path.s;
	path.s = NULL;
	if (!r->body || path.oom)
		ret = -ENOMEM;
out:
	json_decref(body);
	free(path.s);
	split_fini(&sp);
	return ret;
}

/* Builds a model request: path words, then the verb and its arguments. */
static int build_model(struct pcnctl_request *r, int npath, char *const *w, enum verb verb,
		       int nargs, char *const *args, bool help, char *err, size_t errlen)
{
	struct split sp = { 0 };
	struct sbuf path = { 0 }, words = { 0 };
	int ret = 0;

	/* No verb, and k=v pairs (only) after at least three path words: an
	 * action with its input, as polycubectl takes it (see action_only).
	 * Fewer path words ("hw1 action=FORWARD") stay an error. */
	if (verb == VERB_NONE && !help && nargs == 0) {
		int first = -1, all = 1;

		for (int i = 0; i < npath; i++)
			if (strchr(w[i], '=')) {
				if (first < 0)
					first = i;
			} else if (first >= 0) {
				all = 0;
			}
		if (first >= 3 && all) {
			nargs = npath - first;
			args = w + first;
			npath = first;
			verb = VERB_ADD;
			r->action_only = true;
		}
		if (first < 0 && npath >= 3)
			r->maybe_action = true;
	}
	for (int i = 0; i < npath; i++) {
		if (strchr(w[i], '=')) {
			set_err(err, errlen, "'%s': k=v pairs go after a verb (add, set)", w[i]);
			ret = -EINVAL;
			goto out;
		}
		sb_segment(&path, w[i]);
		if (i)
			sb_add(&words, " ");
		sb_add(&words, w[i]);
	}
	sp.stdin_ok = !help && (verb == VERB_ADD || verb == VERB_SET);
	ret = split_args(&sp, nargs, args, err, errlen);
	if (ret)
		goto out;
	r->body_from_stdin = sp.from_stdin != NULL;

	if (help) {
		/* Help on a list entry names it by its keys, as show would. */
		for (int i = 0; i < sp.nkeys; i++) {
			sb_segment(&path, sp.keys[i]);
			sb_add(&words, " ");
			sb_add(&words, sp.keys[i]);
		}
		sb_add(&path, "?help");
		r->method = "GET";
		r->help = true;
		goto done;
	}

	switch (verb) {
	case VERB_NONE:
	case VERB_SHOW:
	case VERB_DEL:
		if (json_object_size(sp.kv)) {
			set_err(err, errlen, "%s takes no k=v pairs",
				verb == VERB_DEL ? "del" : "show");
			ret = -EINVAL;
			goto out;
		}
		for (int i = 0; i < sp.nkeys; i++)
			sb_segment(&path, sp.keys[i]);
		r->method = verb == VERB_DEL ? "DELETE" : "GET";
		break;
	case VERB_ADD:
		for (int i = 0; i < sp.nkeys; i++)
			sb_segment(&path, sp.keys[i]);
		r->method = "POST";
		r->body = dump(sp.kv);
		if (!r->body)
			ret = -ENOMEM;
		break;
	case VERB_SET:
		if (sp.nkeys) {
			set_err(err, errlen,
				"set takes k=v pairs only ('%s'); name list entries before the verb",
				sp.keys[0]);
			ret = -EINVAL;
			goto out;
		}
		if (!json_object_size(sp.kv) && !sp.from_stdin) {
			set_err(err, errlen, "set needs at least one k=v pair");
			ret = -EINVAL;
			goto out;
		}
		r->method = "PATCH";
		if (json_object_size(sp.kv) == 1 && !sp.from_stdin) {
			/* One leaf: PATCH the leaf itself with a bare JSON value. */
			const char *k = json_object_iter_key(json_object_iter(sp.kv));

			sb_segment(&path, k);
			r->body = dump(json_object_get(sp.kv, k));
		} else {
			r->body = dump(sp.kv);
		}
		if (!r->body)
			ret = -ENOMEM;
		break;
	}
done:
	if (path.oom || words.oom) {
		ret = -ENOMEM;
		goto out;
	}
	r->path = path.s;
	r->words = words.s;
	path.s = words.s = NULL;
out:
	free(path.s);
	free(words.s);
	split_fini(&sp);
	return ret;
}

int pcnctl_request_create(struct pcnctl_request **out, int nwords, char *const *words,
			  char *err, size_t errlen)
{
	struct pcnctl_request *r = calloc(1, sizeof(*r));
	char **w = calloc(nwords > 0 ? (size_t)nwords : 1, sizeof(*w));
	const struct fixed_cmd *fc;
	bool help = false;
	int n = 0, v, ret = 0;

	if (!r || !w) {
		ret = -ENOMEM;
		goto out;
	}
	/* "?" may be typed anywhere: drop it and remember help was asked. */
	for (int i = 0; i < nwords; i++) {
		if (!strcmp(words[i], "?"))
			help = true;
		else
			w[n++] = words[i];
	}
	if (n == 0) {
		if (help) {
			r->local_help = true;
			goto out;
		}
		set_err(err, errlen, "no command given");
		ret = -EINVAL;
		goto out;
	}

	fc = fixed_of(w[0]);
	/* The fixed resources have no model, so the broker has no help on them. */
	if (help && (fc || is_fixed_get(w[0]))) {
		r->local_help = true;
		goto out;
	}
	if (fc) {
		ret = build_fixed(r, fc, n - 1, w + 1, err, errlen);
		goto out;
	}

	for (v = 0; v < n && verb_of(w[v]) == VERB_NONE; v++)
		;
	if (v == 0) {
		if (help) {
			r->local_help = true;
			goto out;
		}
		set_err(err, errlen, "'%s' needs a path before it (e.g. pcnctl <cube> %s ...)",
			w[0], w[0]);
		ret = -EINVAL;
		goto out;
	}
	if (v == n)
		ret = build_model(r, n, w, VERB_NONE, 0, NULL, help, err, errlen);
	else
		ret = build_model(r, v, w, verb_of(w[v]), n - v - 1, w + v + 1, help, err, errlen);
out:
	free(w);
	if (ret) {
		pcnctl_request_destroy(r);
		return ret;
	}
	*out = r;
	return 0;
}

void pcnctl_request_destroy(struct pcnctl_request *req)
{
	if (!req)
		return;
	free(req->path);
	free(req->body);
	free(req->words);
	free(req);
}

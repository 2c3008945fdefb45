/* Completion from the broker's OpenAPI document (completion.h). The path
 * templates of the document are the model's tree: /<svc>/{<svc>_name} is
 * an instance, a literal segment below it a container, list, leaf or
 * action, a {param} segment a list key. pcnctl's words walk that tree as
 * args.c turns them into a path, so the candidates are the words args.c
 * would accept there. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "args.h"
#include "completion.h"
#include "http.h"
#include "opts.h"

#define TPL_MAX 2048

static const char *const commands[] = { "connect", "disconnect", "attach", "detach", "cubes", "services",
					"topology", "netdevs", "version", "logs", "export", "diff", "apply" };
static const char *const options[] = { "--json", "--output", "--verbose", "--url", "--token", "--help",
				       "--version", "--follow", "--service" };

static void add(json_t *out, const char *cur, const char *word)
{
	size_t i;
	json_t *v;

	if (strncmp(word, cur, strlen(cur)))
		return;
	json_array_foreach(out, i, v)
		if (!strcmp(json_string_value(v), word))
			return;
	json_array_append_new(out, json_string(word));
}

static const json_t *paths_of(const json_t *api)
{
	return json_object_get(api, "paths");
}

/* A member reached through a chain of keys, or NULL. */
static const json_t *dig(const json_t *j, const char *const *keys, size_t n)
{
	for (size_t i = 0; j && i < n; i++)
		j = json_object_get(j, keys[i]);
	return j;
}

/* The schema a path's GET answers with (application/json), or NULL. */
static const json_t *get_schema(const json_t *item)
{
	static const char *const k[] = { "get", "responses", "200", "content", "application/json", "schema" };

	return dig(item, k, 6);
}

/* A leaf or leaf-list: a GET schema that is a value, not an object, a
 * reference to one (a container or entry) or a list of them. */
static bool is_leaf(const json_t *item)
{
	const json_t *s = get_schema(item);
	const char *type;

	if (!s || json_object_get(s, "$ref"))
		return false;
	type = json_string_value(json_object_get(s, "type"));
	if (type && !strcmp(type, "object"))
		return false;
	if (type && !strcmp(type, "array") && json_object_get(json_object_get(s, "items"), "$ref"))
		return false;
	return true;
}

static bool is_action(const json_t *item)
{
	const char *id = json_string_value(json_object_get(json_object_get(item, "post"), "operationId"));

	return id && !strncmp(id, "action", 6) && !json_object_get(item, "get");
}

/* The literal children of template t (one segment deeper) through fn, and
 * whether a {param} child exists (t is a list whose entries follow). */
static bool each_child(const json_t *api, const char *t, void (*fn)(void *arg, const char *seg, const json_t *item),
		       void *arg)
{
	size_t tl = strlen(t);
	bool param = false;
	const char *p;
	json_t *item;

	json_object_foreach((json_t *)paths_of(api), p, item) {
		const char *seg = p + tl + 1;

		if (strncmp(p, t, tl) || p[tl] != '/' || !*seg || strchr(seg, '/'))
			continue;
		if (seg[0] == '{')
			param = true;
		else if (fn)
			fn(arg, seg, item);
	}
	return param;
}

/* The template of t's {param} child ("t/{ports_name}"), in buf. */
static bool param_child(const json_t *api, const char *t, char *buf, size_t n)
{
	size_t tl = strlen(t);
	const char *p;
	json_t *item;

	json_object_foreach((json_t *)paths_of(api), p, item) {
		if (!strncmp(p, t, tl) && p[tl] == '/' && p[tl + 1] == '{' && !strchr(p + tl + 1, '/')) {
			snprintf(buf, n, "%s", p);
			return true;
		}
	}
	return false;
}

struct cand {
	json_t *out;
	const char *cur;
	bool leaves_only, writable_only, kv;
};

static void child_cand(void *arg, const char *seg, const json_t *item)
{
	struct cand *c = arg;
	char w[256];

	if (c->leaves_only && !is_leaf(item))
		return;
	if (c->writable_only && !json_object_get(item, "patch"))
		return;
	snprintf(w, sizeof(w), "%s%s", seg, c->kv ? "=" : "");
	add(c->out, c->cur, w);
}

/* The values a leaf's schema lists: enums (also inside anyOf), booleans. */
static void schema_values(const json_t *s, json_t *out, const char *cur, const char *key)
{
	char w[512];
	size_t i;
	json_t *v;

	if (!s)
		return;
	json_array_foreach(json_object_get(s, "enum"), i, v) {
		if (json_is_string(v)) {
			snprintf(w, sizeof(w), "%s=%s", key, json_string_value(v));
			add(out, cur, w);
		}
	}
	if (json_is_string(json_object_get(s, "type")) && !strcmp(json_string_value(json_object_get(s, "type")), "boolean")) {
		snprintf(w, sizeof(w), "%s=true", key);
		add(out, cur, w);
		snprintf(w, sizeof(w), "%s=false", key);
		add(out, cur, w);
	}
	json_array_foreach(json_object_get(s, "anyOf"), i, v)
		schema_values(v, out, cur, key);
}

/* key=value candidates below template t: the writable leaves (k=), or,
 * when cur holds '=', the values of that leaf. For an action, its input. */
static void kv_cands(const json_t *api, const char *t, json_t *out, const char *cur, bool writable_only)
{
	const json_t *item = json_object_get(paths_of(api), t);
	const char *eq = strchr(cur, '=');
	char key[256];

	if (is_action(item)) {
		static const char *const pk[] = { "post", "requestBody", "content", "application/json", "schema",
						   "properties" };
		const json_t *props = dig(item, pk, 6);
		const char *k;
		json_t *s;

		json_object_foreach((json_t *)props, k, s) {
			snprintf(key, sizeof(key), "%s", k);
			if (eq && (size_t)(eq - cur) == strlen(k) && !strncmp(cur, k, strlen(k)))
				schema_values(s, out, cur, key);
			else if (!eq) {
				strncat(key, "=", sizeof(key) - strlen(key) - 1);
				add(out, cur, key);
			}
		}
		return;
	}
	if (eq) {
		char p[TPL_MAX];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - cur), cur);
		snprintf(p, sizeof(p), "%s/%s", t, key);
		item = json_object_get(paths_of(api), p);
		if (item && is_leaf(item))
			schema_values(get_schema(item), out, cur, key);
		return;
	}
	struct cand c = { .out = out, .cur = cur, .leaves_only = true, .writable_only = writable_only, .kv = true };
	each_child(api, t, child_cand, &c);
}

/* The service of instance name, from GET /cubes, or NULL. */
static const char *service_of(const json_t *cubes, const char *name)
{
	const char *svc;
	json_t *arr, *e;
	size_t i;

	json_object_foreach((json_t *)cubes, svc, arr)
		json_array_foreach(arr, i, e)
			if (json_is_string(json_object_get(e, "name")) &&
			    !strcmp(json_string_value(json_object_get(e, "name")), name))
				return svc;
	return NULL;
}

/* A service has /<svc>/{<svc>_name} in the document. */
static bool is_service(const json_t *api, const char *name)
{
	char p[TPL_MAX];

	snprintf(p, sizeof(p), "/%s/{%s_name}", name, name);
	return json_object_get(paths_of(api), p) != NULL;
}

static void first_words(const json_t *api, const json_t *cubes, json_t *out, const char *cur, bool services,
			bool instances)
{
	const char *p, *svc;
	json_t *item, *arr, *e;
	size_t i;

	if (services)
		json_object_foreach((json_t *)paths_of(api), p, item) {
			char name[256];

			if (sscanf(p, "/%255[^/]", name) == 1 && is_service(api, name))
				add(out, cur, name);
		}
	if (instances)
		json_object_foreach((json_t *)cubes, svc, arr)
			json_array_foreach(arr, i, e)
				if (json_is_string(json_object_get(e, "name")))
					add(out, cur, json_string_value(json_object_get(e, "name")));
}

/* The live keys of the list at concrete path c: each entry's member named
 * by the template param ({ports_name} -> "name"). */
static void live_keys(pcnctl_complete_get get, void *arg, const char *c, const char *param_tpl, json_t *out,
		      const char *cur)
{
	const char *brace = strrchr(param_tpl, '{'), *us;
	char key[256];
	json_t *list, *e;
	size_t i;

	if (!get || !brace)
		return;
	/* {<list>_<key>}: the list's name is the template's previous segment. */
	{
		const char *prev_end = brace - 1, *prev = prev_end;

		while (prev > param_tpl && prev[-1] != '/')
			prev--;
		us = brace + 1 + (size_t)(prev_end - prev) + 1;
	}
	if (us >= param_tpl + strlen(param_tpl))
		return;
	snprintf(key, sizeof(key), "%.*s", (int)(strlen(us) - 1), us);
	list = get(arg, c);
	json_array_foreach(list, i, e) {
		json_t *v = json_object_get(e, key);
		char w[256];

		if (json_is_string(v))
			add(out, cur, json_string_value(v));
		else if (json_is_integer(v)) {
			snprintf(w, sizeof(w), "%lld", (long long)json_integer_value(v));
			add(out, cur, w);
		}
	}
	json_decref(list);
}

static void add_names(json_t *list, json_t *out, const char *cur, const char *prefix)
{
	char w[512];
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const json_t *nm = json_is_string(e) ? e : json_object_get(e, "name");

		if (json_is_string(nm)) {
			snprintf(w, sizeof(w), "%s%s", prefix, json_string_value(nm));
			add(out, cur, w);
		}
	}
}

/* A wire's end: <instance>:<port> (the instance's live ports once its
 * name and ':' are typed), or a netdev when netdevs. */
static void peer_cands(const json_t *cubes, pcnctl_complete_get get, void *arg, json_t *out, const char *cur,
		       bool netdevs)
{
	const char *colon = strchr(cur, ':'), *svc, *name;
	json_t *arr, *e, *list;
	char path[600], pre[300];
	size_t i;

	if (colon) {
		snprintf(pre, sizeof(pre), "%.*s", (int)(colon - cur), cur);
		svc = service_of(cubes, pre);
		if (!svc || !get)
			return;
		snprintf(path, sizeof(path), "/%s/%s/ports", svc, pre);
		strncat(pre, ":", sizeof(pre) - strlen(pre) - 1);
		list = get(arg, path);
		add_names(list, out, cur, pre);
		json_decref(list);
		return;
	}
	json_object_foreach((json_t *)cubes, svc, arr)
		json_array_foreach(arr, i, e)
			if ((name = json_string_value(json_object_get(e, "name")))) {
				snprintf(pre, sizeof(pre), "%s:", name);
				add(out, cur, pre);
			}
	if (netdevs && get) {
		list = get(arg, "/netdevs");
		add_names(list, out, cur, "");
		json_decref(list);
	}
}

/* connect|disconnect <cube:port> <netdev|cube:port>;
 * attach|detach <cube> <netdev|cube:port> [position=...|before=c|after=c]. */
static void wire_cands(const json_t *api, const json_t *cubes, pcnctl_complete_get get, void *arg,
		       char *const *words, int n, json_t *out, const char *cur)
{
	bool att = !strcmp(words[0], "attach") || !strcmp(words[0], "detach");

	if (att && n == 1) {
		first_words(api, cubes, out, cur, false, true);
	} else if (n == 1 || n == 2) {
		peer_cands(cubes, get, arg, out, cur, n == 2);
	} else if (!strcmp(words[0], "attach") && n == 3) {
		static const char *const pos[] = { "position=auto", "position=first", "position=last" };
		const char *sel = !strncmp(cur, "before=", 7) ? "before=" : !strncmp(cur, "after=", 6) ? "after=" : NULL;

		if (sel) {
			const char *svc;
			json_t *arr;

			json_object_foreach((json_t *)cubes, svc, arr)
				add_names(arr, out, cur, sel);
			return;
		}
		for (size_t i = 0; i < 3; i++)
			add(out, cur, pos[i]);
		add(out, cur, "before=");
		add(out, cur, "after=");
	}
}

json_t *pcnctl_complete(const json_t *api, const json_t *cubes, pcnctl_complete_get get, void *arg,
			char *const *words, int n, const char *cur)
{
	json_t *out = json_array();
	char t[TPL_MAX], c[TPL_MAX];
	const char *svc, *mode = NULL;
	int after_mode = 0;

	if (n == 0) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			add(out, cur, commands[i]);
		first_words(api, cubes, out, cur, true, true);
		return out;
	}
	if (!strcmp(words[0], "connect") || !strcmp(words[0], "disconnect") || !strcmp(words[0], "attach") ||
	    !strcmp(words[0], "detach")) {
		wire_cands(api, cubes, get, arg, words, n, out, cur);
		return out;
	}
	if (!strcmp(words[0], "services")) {
		if (n == 1)
			first_words(api, cubes, out, cur, true, false);
		return out;
	}
	if (!strcmp(words[0], "cubes") || !strcmp(words[0], "topology") || !strcmp(words[0], "logs")) {
		if (n == 1)
			first_words(api, cubes, out, cur, false, true);
		return out;
	}
	if (is_service(api, words[0])) {
		/* <svc> add <name> k=v...: the instance's writable leaves. */
		if (n == 1)
			add(out, cur, "add");
		else if (n >= 3 && !strcmp(words[1], "add")) {
			snprintf(t, sizeof(t), "/%s/{%s_name}", words[0], words[0]);
			kv_cands(api, t, out, cur, true);
		}
		return out;
	}
	svc = service_of(cubes, words[0]);
	if (!svc)
		return out;
	snprintf(t, sizeof(t), "/%s/{%s_name}", svc, svc);
	snprintf(c, sizeof(c), "/%s/%s", svc, words[0]);
	for (int i = 1; i < n; i++) {
		const char *w = words[i];
		char next[TPL_MAX];

		if (mode) {
			after_mode++;
			continue;
		}
		if (!strcmp(w, "add") || !strcmp(w, "del") || !strcmp(w, "set") || !strcmp(w, "show")) {
			mode = w;
			continue;
		}
		if (strchr(w, '=')) {
			mode = "kv";
			continue;
		}
		if (snprintf(next, sizeof(next), "%s/%s", t, w) >= (int)sizeof(next))
			return out;
		if (json_object_get(paths_of(api), next)) {
			memcpy(t, next, sizeof(t));
		} else if (param_child(api, t, next, sizeof(next))) {
			memcpy(t, next, sizeof(t));
		} else {
			return out; /* a word the model does not have here */
		}
		char *esc = pcnctl_escape_segment(w);

		if (!esc)
			return out;
		strncat(c, "/", sizeof(c) - strlen(c) - 1);
		strncat(c, esc, sizeof(c) - strlen(c) - 1);
		free(esc);
	}
	if (mode && !strcmp(mode, "add")) {
		/* <list> add <key> k=v: the entry's leaves once its key is typed. */
		char entry[TPL_MAX];

		if (after_mode >= 1 && param_child(api, t, entry, sizeof(entry)))
			kv_cands(api, entry, out, cur, true);
		return out;
	}
	if (mode && (!strcmp(mode, "set") || !strcmp(mode, "kv"))) {
		kv_cands(api, t, out, cur, !is_action(json_object_get(paths_of(api), t)));
		return out;
	}
	if (mode)
		return out;
	if (is_action(json_object_get(paths_of(api), t))) {
		kv_cands(api, t, out, cur, false);
		return out;
	}
	{
		struct cand cd = { .out = out, .cur = cur };
		const json_t *item = json_object_get(paths_of(api), t);
		char entry[TPL_MAX];

		if (param_child(api, t, entry, sizeof(entry))) {
			live_keys(get, arg, c, entry, out, cur);
			if (json_object_get(item, "post"))
				add(out, cur, "add");
		} else {
			each_child(api, t, child_cand, &cd);
		}
		add(out, cur, "show");
		if (json_object_get(item, "patch") && !is_leaf(item))
			add(out, cur, "set");
		if (json_object_get(item, "delete"))
			add(out, cur, "del");
	}
	return out;
}

/* ---- the command: cache, HTTP, the line --------------------------------- */

struct fetch {
	const char *url;
	struct pcnctl_http_opts hopts;
};

static json_t *fetch_json(void *arg, const char *path)
{
	struct fetch *f = arg;
	struct pcnctl_response res = { 0 };
	char *url, err[256];
	json_t *j = NULL;

	if (asprintf(&url, "%s%s", f->url, path[0] == '/' ? path + 1 : path) < 0)
		return NULL;
	if (!pcnctl_http_request("GET", url, NULL, &f->hopts, &res, err, sizeof(err)) && res.status == 200)
		j = json_loads(res.body, 0, NULL);
	pcnctl_response_fini(&res);
	free(url);
	return j;
}

/* The cache file of this user and URL: in $XDG_RUNTIME_DIR, else /tmp. */
static void cache_path(const char *url, char *buf, size_t n)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	unsigned long h = 5381;

	for (const char *p = url; *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(buf, n, "%s/pcnctl-complete-%u-%08lx.json", dir && *dir ? dir : "/tmp", (unsigned)getuid(),
		 h & 0xffffffffUL);
}

/* The cached {"api":..., "cubes":...} if fresh and this user's own file. */
static json_t *cache_read(const char *path, long ttl)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	json_t *j = NULL;
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_uid != getuid() || (st.st_mode & 077) || time(NULL) - st.st_mtime >= ttl ||
	    !(f = fdopen(fd, "r"))) {
		close(fd);
		return NULL;
	}
	j = json_loadf(f, 0, NULL);
	fclose(f);
	return j;
}

static void cache_write(const char *path, const json_t *j)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (json_dumpfd(j, fd, JSON_COMPACT) || close(fd) || rename(tmp, path))
		unlink(tmp);
}

int pcnctl_complete_main(const char *line)
{
	char *copy = strdup(line), *save = NULL, **argv = NULL, cache[4200], err[256];
	const char *cur = "";
	struct pcnctl_opts o;
	struct fetch f = { 0 };
	json_t *data = NULL, *out = NULL;
	const char *ttl_s = getenv("PCNCTL_COMPLETE_TTL");
	long ttl = ttl_s ? strtol(ttl_s, NULL, 10) : 10;
	int argc = 0, cap = 8;
	size_t len = strlen(line), i;
	json_t *v;

	argv = calloc((size_t)cap, sizeof(*argv));
	if (!copy || !argv)
		goto out;
	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (argc + 1 >= cap) {
			char **nv = realloc(argv, (size_t)(cap *= 2) * sizeof(*argv));

			if (!nv)
				goto out;
			argv = nv;
		}
		argv[argc++] = w;
	}
	/* The word under the cursor is not typed whole yet. */
	if (argc > 1 && len && !strchr(" \t\n", line[len - 1]))
		cur = argv[--argc];
	if (argc < 1)
		goto out;
	if (!strcmp(argv[argc - 1], "-o") || !strcmp(argv[argc - 1], "--output")) {
		const char *fmts[] = { "table", "json", "yaml" };

		for (size_t k = 0; k < 3; k++)
			if (!strncmp(fmts[k], cur, strlen(cur)))
				printf("%s\n", fmts[k]);
		goto out;
	}
	if (cur[0] == '-') {
		for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++)
			if (!strncmp(options[k], cur, strlen(cur)))
				printf("%s\n", options[k]);
		goto out;
	}
	if (pcnctl_opts_init(&o, argc, argv, err, sizeof(err)))
		goto out;
	f.url = o.url;
	f.hopts.token = o.token;
	f.hopts.timeout_s = 3;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cache_path(o.url, cache, sizeof(cache));
	if (ttl > 0)
		data = cache_read(cache, ttl);
	if (!data) {
		json_t *api = fetch_json(&f, "openapi.json"), *cubes = fetch_json(&f, "cubes");

		if (api && cubes) {
			data = json_pack("{s:o, s:o}", "api", api, "cubes", cubes);
			if (ttl > 0)
				cache_write(cache, data);
		} else {
			json_decref(api);
			json_decref(cubes);
		}
	}
	if (data) {
		out = pcnctl_complete(json_object_get(data, "api"), json_object_get(data, "cubes"), fetch_json, &f,
				      o.words, o.nwords, cur);
		json_array_foreach(out, i, v)
			printf("%s\n", json_string_value(v));
	}
	curl_global_cleanup();
	pcnctl_opts_fini(&o);
out:
	json_decref(out);
	json_decref(data);
	free(argv);
	free(copy);
	return 0;
}

/* pcnctl export | diff -f FILE | apply -f FILE: the mesh as one YAML file.
 *
 * export  GET /cubes and /topology, written as YAML (declare_plan.c says the
 *         shape).
 * diff    the steps apply would send, one line each; exit 0 when there are
 *         none, 1 when there are some (as diff(1)).
 * apply   sends them in dependency order. The file is checked whole first
 *         (YAML syntax, shape, services the broker runs, names it refers
 *         to); the broker has no dry run, so a value its models refuse is
 *         found when its step is sent: apply then undoes what it sent (the
 *         plan from the mesh as it is now back to the mesh before) and exits
 *         1. Either way the error names the file's line and path. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "declare.h"
#include "format.h"
#include "http.h"

enum { X_OK = 0, X_HTTP = 1, X_USAGE = 2, X_UNREACHABLE = 3 };

struct ctx {
	const struct pcnctl_opts *o;
	struct pcnctl_http_opts h;
	const json_t *lines;
	char errpath[512]; /* the error-path of the last refusal, or "" */
};

/* ---- checking the file --------------------------------------------------- */

static long line_of(const json_t *lines, const char *path)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		json_t *l = json_object_get(lines, p[0] ? p : "/");
		char *slash;

		if (l)
			return (long)json_integer_value(l);
		if (!p[0] || !(slash = strrchr(p, '/')))
			return 0;
		*slash = 0;
	}
}

static int bad(const json_t *lines, char *err, size_t n, const char *path, const char *why)
{
	snprintf(err, n, "line %ld: %s: %s", line_of(lines, path), path[0] ? path : "/", why);
	return -EINVAL;
}

static bool only_keys(const json_t *o, const char *const *allowed, const char **extra)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		bool ok = false;

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, k);
		if (!ok) {
			*extra = k;
			return false;
		}
	}
	return true;
}

static const char *sv(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const json_t *service_of(const json_t *services, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(services, i, s) if (name && !strcmp(sv(s, "name") ? sv(s, "name") : "", name)) return s;
	return NULL;
}

/* "cube:port" of the file: 0, or why not. */
static const char *endpoint_check(const json_t *cubes, const char *ep)
{
	const char *c = ep ? strchr(ep, ':') : NULL;
	size_t i, j;
	json_t *cube, *port;

	if (!c)
		return "a wire joins two cube ports, each \"cube:port\"";
	json_array_foreach(cubes, i, cube) {
		if (strncmp(sv(cube, "name"), ep, (size_t)(c - ep)) || sv(cube, "name")[c - ep])
			continue;
		json_array_foreach(json_object_get(cube, "ports"), j, port) if (!strcmp(sv(port, "name"), c + 1)) return NULL;
		return "no such port in the file";
	}
	return "no such cube in the file";
}

int pcnctl_mesh_check(const json_t *want, const json_t *lines, const json_t *services, char *err, size_t n)
{
	static const char *const top_keys[] = { "cubes", "connections", "attachments", NULL };
	static const char *const cube_keys[] = { "name", "service", "type", "config", "ports", NULL };
	const json_t *cubes = json_object_get(want, "cubes");
	json_t *names = json_object(), *stacked = json_object(), *c, *p, *a, *m;
	const char *extra;
	char path[512], why[512];
	size_t i, j;
	int rc = -EINVAL;

	if (!json_is_object(want)) {
		bad(lines, err, n, "", "the file must be a mapping (cubes, connections, attachments)");
		goto out;
	}
	if (!only_keys(want, top_keys, &extra)) {
		snprintf(path, sizeof(path), "/%s", extra);
		bad(lines, err, n, path, "unknown key (cubes, connections, attachments)");
		goto out;
	}
	if (cubes && !json_is_array(cubes)) {
		bad(lines, err, n, "/cubes", "a list of cubes");
		goto out;
	}
	json_array_foreach(cubes, i, c) {
		const json_t *svc;
		json_t *ports = json_object_get(c, "ports"), *pnames;

		snprintf(path, sizeof(path), "/cubes/%zu", i);
		if (!json_is_object(c)) {
			bad(lines, err, n, path, "a cube is a mapping (name, service, type, config, ports)");
			goto out;
		}
		if (!only_keys(c, cube_keys, &extra)) {
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", extra);
			bad(lines, err, n, path, "unknown key (name, service, type, config, ports)");
			goto out;
		}
		if (!sv(c, "name") || !sv(c, "name")[0] || strchr(sv(c, "name"), '/') || strchr(sv(c, "name"), ':')) {
			strcat(path, "/name");
			bad(lines, err, n, path, "a name (text without '/' or ':') is required");
			goto out;
		}
		if (json_object_get(names, sv(c, "name"))) {
			strcat(path, "/name");
			bad(lines, err, n, path, "two cubes have this name");
			goto out;
		}
		json_object_set_new(names, sv(c, "name"), json_true());
		if (!(svc = service_of(services, sv(c, "service")))) {
			snprintf(why, sizeof(why), "no service \"%s\" runs here", sv(c, "service") ? sv(c, "service") : "");
			strcat(path, "/service");
			bad(lines, err, n, path, why);
			goto out;
		}
		if (sv(svc, "state") && strcmp(sv(svc, "state"), "running")) {
			snprintf(why, sizeof(why), "service \"%s\" is %s, not running", sv(c, "service"), sv(svc, "state"));
			strcat(path, "/service");
			bad(lines, err, n, path, why);
			goto out;
		}
		if (json_object_get(c, "type") && !json_is_string(json_object_get(c, "type"))) {
			strcat(path, "/type");
			bad(lines, err, n, path, "the hook: TC, XDP_SKB or XDP_DRV");
			goto out;
		}
		if (json_object_get(c, "config") && !json_is_object(json_object_get(c, "config"))) {
			strcat(path, "/config");
			bad(lines, err, n, path, "the settings are a mapping");
			goto out;
		}
		if (ports && (!json_is_array(ports) || !strcmp(sv(svc, "kind") ? sv(svc, "kind") : "", "transparent"))) {
			strcat(path, "/ports");
			bad(lines, err, n, path,
			    json_is_array(ports) ? "a transparent cube has no ports (attach it)" : "a list of ports");
			goto out;
		}
		pnames = json_object();
		json_array_foreach(ports, j, p) {
			snprintf(path, sizeof(path), "/cubes/%zu/ports/%zu", i, j);
			if (!json_is_object(p) || !sv(p, "name") || !sv(p, "name")[0] ||
			    json_object_get(pnames, sv(p, "name")) ||
			    (json_object_get(p, "peer") && !json_is_string(json_object_get(p, "peer")))) {
				json_decref(pnames);
				bad(lines, err, n, path, "a port has a name of its own, a netdev peer (text) and settings");
				goto out;
			}
			json_object_set_new(pnames, sv(p, "name"), json_true());
		}
		json_decref(pnames);
	}
	json_array_foreach(cubes, i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, p) {
			const char *peer = sv(p, "peer");
			char cube[256];

			snprintf(cube, sizeof(cube), "%.*s", peer && strchr(peer, ':') ? (int)(strchr(peer, ':') - peer) : 0,
				 peer ? peer : "");
			if (peer && json_object_get(names, cube)) {
				snprintf(path, sizeof(path), "/cubes/%zu/ports/%zu/peer", i, j);
				bad(lines, err, n, path, "a wire to a cube's port goes in connections");
				goto out;
			}
		}
	}
	if (json_object_get(want, "connections") && !json_is_array(json_object_get(want, "connections"))) {
		bad(lines, err, n, "/connections", "a list of [cube:port, cube:port]");
		goto out;
	}
	json_array_foreach(json_object_get(want, "connections"), i, a) {
		const char *why2;

		snprintf(path, sizeof(path), "/connections/%zu", i);
		if (!json_is_array(a) || json_array_size(a) != 2) {
			bad(lines, err, n, path, "a wire is [cube:port, cube:port]");
			goto out;
		}
		for (j = 0; j < 2; j++) {
			if ((why2 = endpoint_check(cubes, json_string_value(json_array_get(a, j))))) {
				snprintf(path, sizeof(path), "/connections/%zu/%zu", i, j);
				bad(lines, err, n, path, why2);
				goto out;
			}
		}
	}
	if (json_object_get(want, "attachments") && !json_is_array(json_object_get(want, "attachments"))) {
		bad(lines, err, n, "/attachments", "a list of {parent, stack}");
		goto out;
	}
	json_array_foreach(json_object_get(want, "attachments"), i, a) {
		static const char *const att_keys[] = { "parent", "stack", NULL };
		const char *parent = sv(a, "parent");

		snprintf(path, sizeof(path), "/attachments/%zu", i);
		if (!json_is_object(a) || !only_keys(a, att_keys, &extra) || !parent || !parent[0] ||
		    !json_is_array(json_object_get(a, "stack"))) {
			bad(lines, err, n, path, "an attachment is {parent: <netdev or cube:port>, stack: [cubes]}");
			goto out;
		}
		if (strchr(parent, ':')) {
			char cube[256];

			snprintf(cube, sizeof(cube), "%.*s", (int)(strchr(parent, ':') - parent), parent);
			if (json_object_get(names, cube) && endpoint_check(cubes, parent)) {
				strcat(path, "/parent");
				bad(lines, err, n, path, endpoint_check(cubes, parent));
				goto out;
			}
		}
		json_array_foreach(json_object_get(a, "stack"), j, m) {
			size_t k;
			const json_t *cube = NULL, *svc;
			json_t *x;

			snprintf(path, sizeof(path), "/attachments/%zu/stack/%zu", i, j);
			json_array_foreach(cubes, k, x) if (json_string_value(m) && !strcmp(sv(x, "name"), json_string_value(m))) cube = x;
			svc = cube ? service_of(services, sv(cube, "service")) : NULL;
			if (!cube || strcmp(sv(svc, "kind") ? sv(svc, "kind") : "", "transparent")) {
				bad(lines, err, n, path, "not a transparent cube of the file");
				goto out;
			}
			if (json_object_get(stacked, json_string_value(m))) {
				bad(lines, err, n, path, "a cube is attached once");
				goto out;
			}
			json_object_set_new(stacked, json_string_value(m), json_true());
		}
	}
	rc = 0;
out:
	json_decref(names);
	json_decref(stacked);
	return rc;
}

/* ---- HTTP ---------------------------------------------------------------- */

/* One request; 0 with *out the parsed answer (when asked), or an exit status
 * with the error printed. */
static int call(struct ctx *x, const char *method, const char *path, const json_t *body, json_t **out)
{
	struct pcnctl_response res = { 0 };
	char *url = NULL, *text = NULL, err[512];
	int rc, status = X_OK;

	if (out)
		*out = NULL;
	if (asprintf(&url, "%s%s/", x->o->url, path) < 0)
		return X_HTTP;
	if (body)
		text = json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
	rc = pcnctl_http_request(method, url, text, &x->h, &res, err, sizeof(err));
	free(text);
	free(url);
	if (rc == -EHOSTUNREACH || rc == -EIO) {
		fprintf(stderr, "pcnctl: cannot reach the broker at %s: %s\n", x->o->url, err);
		status = X_UNREACHABLE;
	} else if (rc) {
		fprintf(stderr, "pcnctl: %s\n", rc == -ENOMEM ? strerror(ENOMEM) : err);
		status = X_HTTP;
	} else if (res.status < 200 || res.status >= 300) {
		json_t *doc = json_loads(res.body, 0, NULL), *errs = json_object_get(doc, "ietf-restconf:errors");

		errs = json_object_get(errs ? errs : json_object_get(doc, "errors"), "error");
		snprintf(x->errpath, sizeof(x->errpath), "%s", sv(json_array_get(errs, 0), "error-path") ? sv(json_array_get(errs, 0), "error-path") : "");
		json_decref(doc);
		pcnctl_print_error(stderr, res.status, res.body);
		status = X_HTTP;
	} else if (out && !(*out = json_loads(res.body, JSON_DECODE_ANY, NULL))) {
		fprintf(stderr, "pcnctl: %s %s: the answer is not JSON\n", method, path);
		status = X_HTTP;
	}
	pcnctl_response_fini(&res);
	return status;
}

static int current(struct ctx *x, json_t **mesh)
{
	json_t *cubes, *topo;
	int rc = call(x, "GET", "cubes", NULL, &cubes);

	if (rc)
		return rc;
	if ((rc = call(x, "GET", "topology", NULL, &topo))) {
		json_decref(cubes);
		return rc;
	}
	*mesh = pcnctl_mesh_from_api(cubes, topo);
	json_decref(cubes);
	json_decref(topo);
	return 0;
}

/* ---- the commands --------------------------------------------------------- */

static int load_file(struct ctx *x, const char *file, json_t **want, json_t **lines)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char *text = NULL, err[1024];
	size_t len = 0, cap = 0, got;
	json_t *services = NULL;
	int rc;

	if (!f) {
		fprintf(stderr, "pcnctl: %s: %s\n", file, strerror(errno));
		return X_USAGE;
	}
	do {
		if (len + 4096 > cap) {
			char *t = realloc(text, cap = cap * 2 + 8192);

			if (!t || cap > (64u << 20)) {
				free(t ? t : text);
				fprintf(stderr, "pcnctl: %s: too large\n", file);
				if (f != stdin)
					fclose(f);
				return X_USAGE;
			}
			text = t;
		}
		got = fread(text + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	if (f != stdin)
		fclose(f);
	text[len] = 0;
	rc = pcnctl_yaml_load(text, len, want, lines, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "pcnctl: %s: %s\nnothing was changed\n", file, err);
		return X_USAGE;
	}
	if ((rc = call(x, "GET", "services", NULL, &services)))
		goto fail;
	/* A service that is not running (a broker just restarted, a cube
	 * process restarting) shows its instances without their settings: a
	 * plan made from that would rewrite them. Wait for it instead. */
	{
		size_t i;
		json_t *s;

		json_array_foreach(services, i, s) {
			if (json_integer_value(json_object_get(s, "instances")) > 0 && sv(s, "state") &&
			    strcmp(sv(s, "state"), "running")) {
				fprintf(stderr, "pcnctl: service %s is %s, not running: try again once it runs\n"
						"nothing was changed\n",
					sv(s, "name"), sv(s, "state"));
				rc = X_UNREACHABLE;
				goto fail;
			}
		}
	}
	if (pcnctl_mesh_check(*want, *lines, services, err, sizeof(err))) {
		fprintf(stderr, "pcnctl: %s: %s\nnothing was changed\n", file, err);
		rc = X_USAGE;
		goto fail;
	}
	json_decref(services);
	return 0;
fail:
	json_decref(services);
	json_decref(*want);
	json_decref(*lines);
	*want = *lines = NULL;
	return rc;
}

static void print_step(FILE *f, const json_t *s, bool verbose)
{
	fprintf(f, "%s %s\n", sv(s, "op"), sv(s, "what"));
	if (verbose) {
		char *b = json_object_get(s, "body") ? json_dumps(json_object_get(s, "body"), JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

		fprintf(f, "    %s /%s%s%s\n", sv(s, "method"), sv(s, "path"), b ? " " : "", b ? b : "");
		free(b);
	}
}

/* Runs steps; the index of the first refused one in *failed (-1 if none). */
static int run(struct ctx *x, const json_t *steps, bool quiet, long *failed)
{
	size_t i;
	json_t *s;

	*failed = -1;
	json_array_foreach(steps, i, s) {
		int rc;

		if (!quiet)
			print_step(stdout, s, x->o->verbose);
		fflush(stdout);
		rc = call(x, sv(s, "method"), sv(s, "path"), json_object_get(s, "body"), NULL);
		if (rc) {
			*failed = (long)i;
			return rc;
		}
	}
	return 0;
}

/* The file's path of what the broker refused: the step's source, and below
 * it the part of the error-path under the step's own path
 * ("/router/r1/ports/p1/ip" of the step "router/r1/ports/p1" at
 * "/cubes/1/ports/0" is "/cubes/1/ports/0/ip"; a cube's leaves are under its
 * "config"). */
static void refused_at(const struct ctx *x, const json_t *s, char *out, size_t n)
{
	const char *src = sv(s, "src"), *path = sv(s, "path"), *ep = x->errpath;
	size_t plen = strlen(path);
	bool cube = !strncmp(src, "/cubes/", 7) && !strchr(src + 7, '/');

	snprintf(out, n, "%s", src);
	if (ep[0] != '/' || strncmp(ep + 1, path, plen) || (ep[1 + plen] && ep[1 + plen] != '/') || !ep[1 + plen] ||
	    !ep[2 + plen])
		return;
	if (cube)
		snprintf(out, n, "%s/config%s", src, ep + 1 + plen);
	else
		snprintf(out, n, "%s%s", src, ep + 1 + plen);
}

static int cmd_export(struct ctx *x)
{
	json_t *mesh;
	int rc = current(x, &mesh);

	if (rc)
		return rc;
	rc = x->o->json ? (pcnctl_print_json(stdout, mesh), 0)
			: pcnctl_yaml_dump(stdout, mesh, "# The mesh, from pcnctl export: pcnctl apply -f <this file> makes a mesh match it.\n");
	json_decref(mesh);
	return rc ? X_HTTP : X_OK;
}

static int cmd_diff_apply(struct ctx *x, const char *file, bool apply)
{
	json_t *want = NULL, *lines = NULL, *cur = NULL, *steps = NULL;
	long failed;
	int rc = load_file(x, file, &want, &lines);

	if (rc)
		return rc;
	x->lines = lines;
	if ((rc = current(x, &cur)))
		goto out;
	steps = pcnctl_mesh_plan(cur, want);
	if (!apply) {
		size_t i;
		json_t *s;

		if (x->o->json)
			pcnctl_print_json(stdout, steps);
		else
			json_array_foreach(steps, i, s) print_step(stdout, s, x->o->verbose);
		rc = json_array_size(steps) ? X_HTTP : X_OK;
		goto out;
	}
	if (!json_array_size(steps)) {
		printf("nothing to change\n");
		goto out;
	}
	rc = run(x, steps, false, &failed);
	if (rc && failed >= 0) {
		const json_t *s = json_array_get(steps, (size_t)failed);
		json_t *now = NULL, *back = NULL;
		long bfail;

		if (sv(s, "src")[0]) {
			char where[1024];

			refused_at(x, s, where, sizeof(where));
			fprintf(stderr, "pcnctl: %s: line %ld: %s: refused (above)\n", file, line_of(lines, where), where);
		}
		/* Undo: the plan from the mesh as it is now to the mesh before. */
		if (current(x, &now) == 0) {
			back = pcnctl_mesh_plan(now, cur);
			if (run(x, back, true, &bfail) == 0)
				fprintf(stderr, "pcnctl: undone: the %zu step(s) sent before were reverted; nothing was changed\n",
					(size_t)failed);
			else
				fprintf(stderr, "pcnctl: the undo failed too: the mesh is partly applied (pcnctl diff -f %s)\n",
					file);
		}
		json_decref(now);
		json_decref(back);
	}
out:
	json_decref(want);
	json_decref(lines);
	json_decref(cur);
	json_decref(steps);
	return rc;
}

int pcnctl_declare_run(const struct pcnctl_opts *o)
{
	struct ctx x = { .o = o, .h = { .token = o->token, .trace = NULL } };
	const char *cmd = o->nwords ? o->words[0] : "";
	bool export = !strcmp(cmd, "export"), apply = !strcmp(cmd, "apply");
	int rc;

	if (!export && !apply && strcmp(cmd, "diff"))
		return -1;
	/* "-f FILE": -f is also logs' --follow, which opts.c has taken. */
	if (export ? o->nwords != 1 : o->nwords != 2) {
		fprintf(stderr, "pcnctl: usage: pcnctl export | pcnctl diff -f FILE | pcnctl apply -f FILE (FILE may be -)\n");
		return X_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "pcnctl: cannot initialise libcurl\n");
		return X_HTTP;
	}
	rc = export ? cmd_export(&x) : cmd_diff_apply(&x, o->words[1], apply);
	curl_global_cleanup();
	return rc;
}

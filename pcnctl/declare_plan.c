/* The mesh as data, and the plan from one mesh to another.
 *
 * A mesh (what `pcnctl export` writes and `apply -f` reads):
 *   cubes:       [{name, service, type, config: {...}, ports: [{name, peer, <leaves>}]}]
 *   connections: [["br1:p2", "r1:p1"], ...]   cube-to-cube wires, once each
 *   attachments: [{parent: "br1:p1" | "<netdev>", stack: [t1, t2]}]  in order
 * A port's peer is a netdev; a peer that is another cube's port is a wire.
 *
 * The plan runs in dependency order: detach, disconnect, unpeer, delete
 * ports, delete instances (the reverse of creation); then create instances
 * (with their settings), change settings, create ports, peer, connect,
 * attach. Equal values are compared as text ("5" and 5, "true" and true
 * are the same value: the broker coerces both), lists without order, so
 * that an applied file leaves nothing to do. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "declare.h"

/* ---- values ------------------------------------------------------------- */

static bool scalar_text(const json_t *v, char *buf, size_t n)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, n, "%s", json_string_value(v));
		return true;
	case JSON_INTEGER:
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	case JSON_REAL:
		snprintf(buf, n, "%.17g", json_real_value(v));
		return true;
	case JSON_TRUE:
		snprintf(buf, n, "true");
		return true;
	case JSON_FALSE:
		snprintf(buf, n, "false");
		return true;
	case JSON_NULL:
		buf[0] = 0;
		return true;
	default:
		return false;
	}
}

static bool same(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;

		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v) {
			if (!same(v, json_object_get(b, k)))
				return false;
		}
		return true;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t i, j, n = json_array_size(a);
		json_t *x;

		if (n != json_array_size(b))
			return false;
		/* Lists of entries compare without order: the broker answers
		 * in key order, a hand-written file in any. */
		json_array_foreach(a, i, x) {
			bool found = false;

			for (j = 0; j < n && !found; j++)
				found = same(x, json_array_get(b, j));
			if (!found)
				return false;
		}
		return true;
	}
	if (json_is_object(a) || json_is_object(b) || json_is_array(a) || json_is_array(b))
		return false;
	char ta[512], tb[512];

	scalar_text(a, ta, sizeof(ta));
	scalar_text(b, tb, sizeof(tb));
	return !strcmp(ta, tb);
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static json_t *find_named(const json_t *arr, const char *name, size_t *idx)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (!strcmp(str(v, "name"), name)) {
			if (idx)
				*idx = i;
			return v;
		}
	}
	return NULL;
}

/* ---- the mesh of the API's answers -------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(str(*(json_t *const *)a, "name"), str(*(json_t *const *)b, "name"));
}

static int by_text(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *sx = json_is_string(x) ? json_string_value(x) : json_is_array(x) ? json_string_value(json_array_get(x, 0)) : str(x, "parent");
	const char *sy = json_is_string(y) ? json_string_value(y) : json_is_array(y) ? json_string_value(json_array_get(y, 0)) : str(y, "parent");

	return strcmp(sx ? sx : "", sy ? sy : "");
}

static json_t *sorted(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr), i;
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *out = json_array();

	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), cmp);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(arr);
	return out;
}

/* "cube:port" when the part before ':' is a cube of the mesh. */
static bool is_wire(const json_t *cubes_by_name, const char *peer)
{
	const char *c = strchr(peer, ':');
	char name[256];

	if (!c || (size_t)(c - peer) >= sizeof(name))
		return false;
	snprintf(name, sizeof(name), "%.*s", (int)(c - peer), peer);
	return json_object_get(cubes_by_name, name) != NULL;
}

json_t *pcnctl_mesh_from_api(const json_t *api_cubes, const json_t *topology)
{
	json_t *mesh = json_object(), *cubes = json_array(), *wires = json_array(), *att = json_array();
	json_t *names = json_object(), *seen = json_object();
	const char *svc;
	json_t *items, *item, *t;
	size_t i, j;

	json_object_foreach((json_t *)api_cubes, svc, items) {
		json_array_foreach(items, i, item) json_object_set_new(names, str(item, "name"), json_true());
	}
	json_object_foreach((json_t *)api_cubes, svc, items) {
		json_array_foreach(items, i, item) {
			json_t *c = json_object(), *cfg = json_deep_copy(item), *ports = json_array(), *p;
			const char *name = str(item, "name");

			json_object_set_new(c, "name", json_string(name));
			json_object_set_new(c, "service", json_string(svc));
			if (json_object_get(item, "type"))
				json_object_set(c, "type", json_object_get(item, "type"));
			/* The state leaves every cube has (config false in the
			 * base models), and what has its own place in the file. */
			for (const char *const *k = (const char *const[]){ "name", "uuid", "service-name", "type",
									 "tail-call-misses", "parent", "ports", NULL };
			     *k; k++)
				json_object_del(cfg, *k);
			json_object_set_new(c, "config", cfg);
			json_array_foreach(json_object_get(item, "ports"), j, p) {
				json_t *port = json_deep_copy(p);
				const char *peer = str(p, "peer");
				char key[1300];

				json_object_del(port, "uuid");
				json_object_del(port, "status");
				json_object_del(port, "peer");
				if (peer[0] && !is_wire(names, peer)) {
					json_object_set_new(port, "peer", json_string(peer));
				} else if (peer[0]) {
					char self[600];

					snprintf(self, sizeof(self), "%s:%s", name, str(p, "name"));
					/* Once per wire: the pair in name order. */
					snprintf(key, sizeof(key), "%s|%s", strcmp(self, peer) < 0 ? self : peer,
						 strcmp(self, peer) < 0 ? peer : self);
					if (!json_object_get(seen, key)) {
						json_object_set_new(seen, key, json_true());
						json_array_append_new(wires, json_pack("[ss]", strcmp(self, peer) < 0 ? self : peer,
										    strcmp(self, peer) < 0 ? peer : self));
					}
				}
				json_array_append_new(ports, port);
			}
			if (json_array_size(ports))
				json_object_set_new(c, "ports", ports);
			else
				json_decref(ports);
			json_array_append_new(cubes, c);
		}
	}
	json_array_foreach(json_object_get(topology, "transparent"), i, t) {
		const char *parent = str(t, "parent");
		json_t *prev = NULL, *a;
		size_t k;

		/* A parent with a TC and an XDP stack: one entry, TC first. */
		json_array_foreach(att, k, a) if (!strcmp(str(a, "parent"), parent)) prev = a;
		if (prev)
			json_array_extend(json_object_get(prev, "stack"), json_object_get(t, "stack"));
		else
			json_array_append_new(att, json_pack("{s:s,s:O}", "parent", parent, "stack",
							     json_object_get(t, "stack")));
	}
	json_object_set_new(mesh, "cubes", sorted(cubes, by_name));
	json_object_set_new(mesh, "connections", sorted(wires, by_text));
	json_object_set_new(mesh, "attachments", sorted(att, by_text));
	json_decref(names);
	json_decref(seen);
	return mesh;
}

/* ---- the plan ------------------------------------------------------------ */

struct plan {
	json_t *steps;
	const json_t *cur, *want;
	json_t *fresh; /* names of the cubes (re)created: nothing of theirs is current */
};

static void step(struct plan *p, const char *op, const char *method, const char *path, json_t *body, const char *src,
		 const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void step(struct plan *p, const char *op, const char *method, const char *path, json_t *body, const char *src,
		 const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	json_array_append_new(p->steps, json_pack("{s:s,s:s,s:s,s:o*,s:s,s:s}", "op", op, "method", method, "path",
						  path, "body", body, "what", what, "src", src ? src : ""));
}

static const json_t *cube_of(const json_t *mesh, const char *name, size_t *idx)
{
	return find_named(json_object_get(mesh, "cubes"), name, idx);
}

static bool is_fresh(const struct plan *p, const char *cube)
{
	return json_object_get(p->fresh, cube) != NULL;
}

/* The cube part of "cube:port", or the whole name. */
static void cube_part(const char *ep, char *out, size_t n)
{
	const char *c = strchr(ep, ':');

	snprintf(out, n, "%.*s", c ? (int)(c - ep) : (int)strlen(ep), ep);
}

static const json_t *stack_of(const json_t *mesh, const char *parent, size_t *idx)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(mesh, "attachments"), i, a) {
		if (!strcmp(str(a, "parent"), parent)) {
			if (idx)
				*idx = i;
			return json_object_get(a, "stack");
		}
	}
	return NULL;
}

/* A stack is rebuilt when it differs in order, or when its parent's cube or
 * one of its members is (re)created. */
static bool stack_kept(const struct plan *p, const json_t *a)
{
	const json_t *w = stack_of(p->want, str(a, "parent"), NULL), *s = json_object_get(a, "stack");
	char cube[256];
	size_t i;
	json_t *m;

	if (!w || json_array_size(w) != json_array_size(s))
		return false;
	cube_part(str(a, "parent"), cube, sizeof(cube));
	if (strchr(str(a, "parent"), ':') && is_fresh(p, cube))
		return false;
	json_array_foreach(s, i, m) {
		if (strcmp(json_string_value(m) ? json_string_value(m) : "", json_string_value(json_array_get(w, i)) ? json_string_value(json_array_get(w, i)) : "") ||
		    is_fresh(p, json_string_value(m)))
			return false;
	}
	return true;
}

static bool has_wire(const json_t *mesh, const json_t *wire)
{
	size_t i;
	json_t *w;

	json_array_foreach(json_object_get(mesh, "connections"), i, w) {
		const char *a = json_string_value(json_array_get(w, 0)), *b = json_string_value(json_array_get(w, 1));
		const char *x = json_string_value(json_array_get(wire, 0)), *y = json_string_value(json_array_get(wire, 1));

		if (a && b && x && y && ((!strcmp(a, x) && !strcmp(b, y)) || (!strcmp(a, y) && !strcmp(b, x))))
			return true;
	}
	return false;
}

static bool wire_kept(const struct plan *p, const json_t *wire)
{
	char c0[256], c1[256];

	cube_part(json_string_value(json_array_get(wire, 0)), c0, sizeof(c0));
	cube_part(json_string_value(json_array_get(wire, 1)), c1, sizeof(c1));
	return !is_fresh(p, c0) && !is_fresh(p, c1) && has_wire(p->want, wire) && has_wire(p->cur, wire);
}

/* A port's settings: everything but its name and peer. */
static json_t *port_config(const json_t *port)
{
	json_t *c = json_deep_copy(port);

	json_object_del(c, "name");
	json_object_del(c, "peer");
	return c;
}

static void plan_deletes(struct plan *p)
{
	const json_t *cubes = json_object_get(p->cur, "cubes");
	char path[1024];
	size_t i, j;
	json_t *a, *c, *port;

	json_array_foreach(json_object_get(p->cur, "attachments"), i, a) {
		const json_t *s = json_object_get(a, "stack");

		if (stack_kept(p, a))
			continue;
		for (j = json_array_size(s); j-- > 0;)
			step(p, "delete", "POST", "detach", json_pack("{s:O,s:O}", "cube", json_array_get(s, j), "port",
								      json_object_get(a, "parent")),
			     NULL, "attachment %s on %s", json_string_value(json_array_get(s, j)), str(a, "parent"));
	}
	json_array_foreach(json_object_get(p->cur, "connections"), i, a) {
		if (wire_kept(p, a))
			continue;
		step(p, "delete", "POST", "disconnect", json_pack("{s:O,s:O}", "peer1", json_array_get(a, 0), "peer2",
								  json_array_get(a, 1)),
		     NULL, "connection %s <-> %s", json_string_value(json_array_get(a, 0)),
		     json_string_value(json_array_get(a, 1)));
	}
	/* Ports and instances, the last created first. */
	for (i = json_array_size(cubes); i-- > 0;) {
		const json_t *w;

		c = json_array_get(cubes, i);
		w = cube_of(p->want, str(c, "name"), NULL);
		if (!w || is_fresh(p, str(c, "name")))
			continue;
		json_t *ports = json_object_get(c, "ports");

		for (j = json_array_size(ports); j-- > 0;) {
			const json_t *wp;

			port = json_array_get(ports, j);
			wp = find_named(json_object_get(w, "ports"), str(port, "name"), NULL);
			snprintf(path, sizeof(path), "%s/%s/ports/%s", str(c, "service"), str(c, "name"), str(port, "name"));
			if (!wp) {
				step(p, "delete", "DELETE", path, NULL, NULL, "port %s:%s", str(c, "name"), str(port, "name"));
			} else if (json_object_get(port, "peer") && !json_object_get(wp, "peer")) {
				snprintf(path + strlen(path), sizeof(path) - strlen(path), "/peer");
				step(p, "delete", "DELETE", path, NULL, NULL, "peer of %s:%s (%s)", str(c, "name"),
				     str(port, "name"), str(port, "peer"));
			}
		}
	}
	for (i = json_array_size(cubes); i-- > 0;) {
		c = json_array_get(cubes, i);
		if (cube_of(p->want, str(c, "name"), NULL) && !is_fresh(p, str(c, "name")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", str(c, "service"), str(c, "name"));
		step(p, "delete", "DELETE", path, NULL, NULL, "instance %s (%s)", str(c, "name"), str(c, "service"));
	}
}

/* The keys of want's object that differ from cur's, as one body (or NULL). */
static json_t *changed(const json_t *cur, const json_t *want, char *keys, size_t n)
{
	json_t *body = json_object(), *v;
	const char *k;

	keys[0] = 0;
	json_object_foreach((json_t *)want, k, v) {
		if (same(v, json_object_get(cur, k)))
			continue;
		json_object_set(body, k, v);
		snprintf(keys + strlen(keys), n - strlen(keys), "%s%s", keys[0] ? ", " : "", k);
	}
	if (!json_object_size(body)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

static void plan_creates(struct plan *p)
{
	const json_t *cubes = json_object_get(p->want, "cubes");
	char path[1024], src[128], keys[512];
	size_t i, j, ci;
	json_t *c, *port, *a;

	json_array_foreach(cubes, i, c) {
		const json_t *cur = cube_of(p->cur, str(c, "name"), NULL);
		json_t *cfg = json_object_get(c, "config");

		snprintf(path, sizeof(path), "%s/%s", str(c, "service"), str(c, "name"));
		snprintf(src, sizeof(src), "/cubes/%zu", i);
		if (!cur || is_fresh(p, str(c, "name"))) {
			json_t *body = cfg ? json_deep_copy(cfg) : json_object();

			if (json_object_get(c, "type"))
				json_object_set(body, "type", json_object_get(c, "type"));
			step(p, "create", "POST", path, body, src, "instance %s (%s)", str(c, "name"), str(c, "service"));
			continue;
		}
		json_t *body = cfg ? changed(json_object_get(cur, "config"), cfg, keys, sizeof(keys)) : NULL;

		if (body) {
			snprintf(src, sizeof(src), "/cubes/%zu/config", i);
			step(p, "update", "PATCH", path, body, src, "instance %s: %s", str(c, "name"), keys);
		}
	}
	json_array_foreach(cubes, i, c) {
		const json_t *cur = is_fresh(p, str(c, "name")) ? NULL : cube_of(p->cur, str(c, "name"), NULL);

		json_array_foreach(json_object_get(c, "ports"), j, port) {
			const json_t *cp = cur ? find_named(json_object_get(cur, "ports"), str(port, "name"), NULL) : NULL;
			json_t *pc = port_config(port);

			snprintf(path, sizeof(path), "%s/%s/ports/%s", str(c, "service"), str(c, "name"), str(port, "name"));
			snprintf(src, sizeof(src), "/cubes/%zu/ports/%zu", i, j);
			if (!cp) {
				step(p, "create", "POST", path, pc, src, "port %s:%s", str(c, "name"), str(port, "name"));
				continue;
			}
			json_t *cpc = port_config(cp), *body = changed(cpc, pc, keys, sizeof(keys));

			if (body)
				step(p, "update", "PATCH", path, body, src, "port %s:%s: %s", str(c, "name"), str(port, "name"),
				     keys);
			json_decref(cpc);
			json_decref(pc);
		}
	}
	json_array_foreach(cubes, i, c) {
		const json_t *cur = is_fresh(p, str(c, "name")) ? NULL : cube_of(p->cur, str(c, "name"), NULL);

		json_array_foreach(json_object_get(c, "ports"), j, port) {
			const json_t *cp = cur ? find_named(json_object_get(cur, "ports"), str(port, "name"), NULL) : NULL;

			if (!json_object_get(port, "peer") || (cp && !strcmp(str(cp, "peer"), str(port, "peer"))))
				continue;
			snprintf(path, sizeof(path), "%s/%s/ports/%s/peer", str(c, "service"), str(c, "name"),
				 str(port, "name"));
			snprintf(src, sizeof(src), "/cubes/%zu/ports/%zu/peer", i, j);
			step(p, cp && json_object_get(cp, "peer") ? "update" : "create", "PATCH", path,
			     json_deep_copy(json_object_get(port, "peer")), src, "peer of %s:%s: %s", str(c, "name"),
			     str(port, "name"), str(port, "peer"));
		}
	}
	json_array_foreach(json_object_get(p->want, "connections"), i, a) {
		if (wire_kept(p, a))
			continue;
		snprintf(src, sizeof(src), "/connections/%zu", i);
		step(p, "create", "POST", "connect", json_pack("{s:O,s:O}", "peer1", json_array_get(a, 0), "peer2",
							       json_array_get(a, 1)),
		     src, "connection %s <-> %s", json_string_value(json_array_get(a, 0)),
		     json_string_value(json_array_get(a, 1)));
	}
	json_array_foreach(json_object_get(p->want, "attachments"), i, a) {
		size_t ci2;

		if (stack_of(p->cur, str(a, "parent"), &ci2) &&
		    stack_kept(p, json_array_get(json_object_get(p->cur, "attachments"), ci2)))
			continue;
		json_array_foreach(json_object_get(a, "stack"), ci, c) {
			snprintf(src, sizeof(src), "/attachments/%zu/stack/%zu", i, ci);
			step(p, "create", "POST", "attach", json_pack("{s:O,s:O,s:s}", "cube", c, "port",
								      json_object_get(a, "parent"), "position", "last"),
			     src, "attachment %s on %s", json_string_value(c), str(a, "parent"));
		}
	}
}

json_t *pcnctl_mesh_plan(const json_t *cur, const json_t *want)
{
	struct plan p = { .steps = json_array(), .cur = cur, .want = want, .fresh = json_object() };
	size_t i;
	json_t *c;

	/* A cube whose service or hook changes is made again: the hook is
	 * chosen at creation only. */
	json_array_foreach(json_object_get(want, "cubes"), i, c) {
		const json_t *o = cube_of(cur, str(c, "name"), NULL);

		if (!o || strcmp(str(o, "service"), str(c, "service")) ||
		    (json_object_get(c, "type") && !same(json_object_get(c, "type"), json_object_get(o, "type"))))
			json_object_set_new(p.fresh, str(c, "name"), json_true());
	}
	json_array_foreach(json_object_get(cur, "cubes"), i, c) {
		if (!cube_of(want, str(c, "name"), NULL))
			json_object_set_new(p.fresh, str(c, "name"), json_true());
	}
	plan_deletes(&p);
	plan_creates(&p);
	json_decref(p.fresh);
	return p.steps;
}

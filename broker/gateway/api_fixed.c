/* The fixed resources of the API: /, services, cubes, netdevs, connect,
 * disconnect, attach, detach, topology, version, metrics, logs: one table
 * (fixed_routes, at the end) routes them and answers 405/OPTIONS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "dataplane/chainstats.h"
#include "dataplane/dataplane.h"
#include "gateway/gateway.h"
#include "model/model.h"
#include "slowpath/slowpath.h"
#include "topology/topology.h"
#include "log.h"
#include "ipc.h"

static bool is_post(h2o_req_t *req)
{
	return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
}

/* A method a resource does not support is a 405 naming the ones it does
 * (RFC 9110 15.5.6), on every resource; OPTIONS answers with the same list
 * (RFC 8040 4.1). HEAD goes with GET: h2o sends the headers of the GET
 * without its body. */
int broker_method_check(h2o_req_t *req, const char *allow)
{
	const char *p = allow;
	size_t n = strlen(allow);
	struct broker_error err;

	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, n);
		broker_reply(req, 204, NULL, NULL, 0);
		return 1;
	}
	while (*p) {
		size_t len = strcspn(p, ", ");

		if (len && h2o_memis(req->method.base, req->method.len, p, len))
			return 0;
		p += len;
		p += strspn(p, ", ");
	}
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, n);
	broker_error_set(&err, 405, "operation-not-supported", NULL, "%.*s is not supported here: use %s",
			 (int)(req->method.len > 16 ? 16 : req->method.len), req->method.base, allow);
	broker_reply_error(req, &err);
	return 1;
}

#define ALLOW_GET "GET, HEAD, OPTIONS"
#define ALLOW_POST "POST, OPTIONS"

static void reply_404(h2o_req_t *req, const char *what, const char *name)
{
	struct broker_error err;

	broker_error_set(&err, 404, "invalid-value", NULL, "no %s named %s", what, name);
	broker_reply_error(req, &err);
}

/* The second path segment ("" when absent), URL-decoding nothing: names here
 * have no reserved characters. */
static void sub_segment(const char *rest, size_t len, char *out, size_t n)
{
	size_t i = 0;

	while (len && *rest == '/') {
		rest++;
		len--;
	}
	while (i < len && rest[i] != '/' && i + 1 < n) {
		out[i] = rest[i];
		i++;
	}
	out[i] = '\0';
}

static json_t *service_json(struct broker *b, const struct broker_service *s)
{
	json_t *j = json_object();
	unsigned n = 0;

	for (struct broker_instance *i = b->instances; i; i = i->next)
		n += strcmp(i->service, s->name) == 0;
	json_object_set_new(j, "name", json_string(s->name));
	json_object_set_new(j, "version", json_string(s->version));
	json_object_set_new(j, "description", json_string(s->description));
	json_object_set_new(j, "min-kernel", json_string(s->min_kernel));
	json_object_set_new(j, "kind", json_string(s->transparent ? "transparent" : "standard"));
	json_object_set_new(j, "state", json_string(broker_svc_state_name(s->state)));
	json_object_set_new(j, "pid", json_integer(s->pid));
	json_object_set_new(j, "registrations", json_integer(s->registrations));
	/* upgrade.c: a new process is taking the instances over from this one
	 * (make before break): from its registration until every instance is
	 * replayed to it and the old one is told to exit. */
	if (s->old_endpoint[0])
		json_object_set_new(j, "upgrading-from", json_string(s->old_version));
	json_object_set_new(j, "instances", json_integer(n));
	return j;
}

static void get_services(struct broker *b, h2o_req_t *req, const char *name)
{
	json_t *arr;

	if (name[0]) {
		struct broker_service *s = broker_service_find(b, name);

		if (!s)
			return reply_404(req, "service", name);
		return broker_reply_json(req, 200, service_json(b, s));
	}
	arr = json_array();
	for (struct broker_service *s = b->services; s; s = s->next)
		json_array_append_new(arr, service_json(b, s));
	broker_reply_json(req, 200, arr);
}

static void get_cubes(struct broker *b, h2o_req_t *req, const char *name)
{
	json_t *root;

	if (name[0]) {
		struct broker_instance *i = broker_instance_find(b, name);

		if (!i)
			return reply_404(req, "instance", name);
		return broker_reply_json(req, 200, broker_instance_summary(b, i));
	}
	root = json_object();
	for (struct broker_instance *i = b->instances; i; i = i->next) {
		json_t *arr = json_object_get(root, i->service);

		if (!arr) {
			arr = json_array();
			json_object_set_new(root, i->service, arr);
		}
		json_array_append_new(arr, broker_instance_summary(b, i));
	}
	broker_reply_json(req, 200, root);
}

static void get_netdevs(struct broker *b, h2o_req_t *req, const char *name)
{
	json_t *out = NULL;
	int rc;

	(void)b;
	rc = name[0] ? broker_netdev_get(name, &out) : broker_netdevs_list(&out);
	if (rc == -ENOENT || rc == -ENODEV)
		return reply_404(req, "netdev", name);
	if (rc) {
		struct broker_error err;

		broker_error_set(&err, 500, "operation-failed", NULL, "cannot list netdevs: %s", strerror(-rc));
		return broker_reply_error(req, &err);
	}
	broker_reply_json(req, 200, out);
}

/* ---- POST /connect and /disconnect ---------------------------------------
 * Each is one or two writes of a port's peer leaf, so they go through the
 * same validation, cube apply, and datastore as a PATCH would. */

struct multi {
	struct broker_pending *pd;
	int remaining;
	int status;
	struct broker_error err;
	bool failed;
};

static void multi_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	struct multi *m = arg;
	h2o_req_t *req;

	(void)b;
	if (err && !m->failed) {
		m->failed = true;
		m->err = *err;
	}
	if (!err)
		m->status = status;
	if (--m->remaining > 0)
		return;
	req = broker_pending_take(m->pd);
	if (req) {
		if (m->failed)
			broker_reply_error(req, &m->err);
		else
			broker_reply(req, 200, "application/json", NULL, 0);
	}
	free(m);
}

#define NOT_A_PORT 1

struct port_seek {
	const char *name;
	char list[160]; /* the ports there are, for the message */
	size_t len;
};

static int port_seek_one(void *arg, const char *name, const char *peer)
{
	struct port_seek *ps = arg;
	int n;

	(void)peer;
	if (strcmp(name, ps->name) == 0)
		return 1;
	if (ps->len < sizeof(ps->list)) {
		n = snprintf(ps->list + ps->len, sizeof(ps->list) - ps->len, "%s%s", ps->len ? ", " : "", name);
		ps->len += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* The REST path of the peer leaf of "cube:port" in out: 0, NOT_A_PORT (peer
 * names no cube port: a netdev, whose names hold no ':'), or an error set in
 * err. Both names are checked and the path is never cut: cut short, the path
 * of one port's peer became the path of the whole ports list, and DELETE
 * removed them all. */
static int port_path(struct broker *b, const char *where, const char *peer, char *out, size_t n,
		     struct broker_error *err)
{
	const char *colon = strchr(peer, ':'), *port;
	char cube[PCN_NAME_MAX];
	struct broker_instance *inst;
	size_t clen;
	int len;

	if (!colon)
		return NOT_A_PORT;
	clen = (size_t)(colon - peer);
	port = colon + 1;
	if (clen == 0 || clen >= sizeof(cube))
		return broker_error_set(err, 400, "invalid-value", where,
					"\"%.80s\" does not start with an instance name (1 to %d characters)", peer,
					PCN_NAME_MAX - 1);
	memcpy(cube, peer, clen);
	cube[clen] = '\0';
	if (pcn_name_check(cube))
		return broker_error_set(err, 400, "invalid-value", where, "\"%s\" is not an instance name", cube);
	if (strnlen(port, PCN_NAME_MAX) >= PCN_NAME_MAX || pcn_component_check(port))
		return broker_error_set(err, 400, "invalid-value", where,
					"\"%.80s\" is not a port name: 1 to %d letters, digits, '_', '-' and '.'", port,
					PCN_NAME_MAX - 1);
	inst = broker_instance_find(b, cube);
	if (!inst)
		return broker_error_set(err, 404, "invalid-value", where, "no instance named %s", cube);
	/* Connect and disconnect act on ports that exist: the write of a
	 * missing port's peer would create the port (a typo changed the
	 * configuration), and one peer written before the other is refused
	 * leaves half a connection. Both are checked before either write; the
	 * write itself refuses a PATCH below a missing entry, for a port
	 * deleted in between. An instance whose model is not loaded yet has no
	 * config to look in: its write answers for it. */
	if (inst->config) {
		struct port_seek ps = { .name = port };

		if (broker_config_ports(inst->config, port_seek_one, &ps) != 1)
			return broker_error_set(err, 404, "invalid-value", where, "%s has no port named %s (%s%s)",
						cube, port, ps.len ? "its ports: " : "it has no ports", ps.list);
	}
	len = snprintf(out, n, "/%s/%s/ports/%s/peer", inst->service, inst->name, port);
	if (len < 0 || (size_t)len >= n)
		return broker_error_set(err, 400, "invalid-value", where, "the path of %.80s is too long", peer);
	return 0;
}

/* A JSON string holding s, escaped by jansson (never formatted by hand: a
 * '"' or '\' in s must stay inside the value). NULL when out of memory. */
static char *json_string_text(const char *s)
{
	json_t *v = json_string(s);
	char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	json_decref(v);
	return text;
}

static void post_connect(struct broker *b, h2o_req_t *req, bool connect)
{
	const char *where = connect ? "/connect" : "/disconnect";
	const char *p[2];
	/* "/<service>/<instance>/ports/<port>/peer": three names and 15 bytes. */
	char paths[2][3 * PCN_NAME_MAX + 16];
	char *body[2] = { NULL, NULL };
	bool is_port[2];
	struct broker_error err;
	json_error_t jerr;
	json_t *j;
	struct multi *m;

	j = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		broker_error_set(&err, 400, "malformed-message", where,
				 "the body must be {\"peer1\": \"cube:port\", \"peer2\": \"netdev or cube:port\"}%s%s",
				 j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return broker_reply_error(req, &err);
	}
	p[0] = json_string_value(json_object_get(j, "peer1"));
	p[1] = json_string_value(json_object_get(j, "peer2"));
	if (!p[0] || !p[1]) {
		broker_error_set(&err, 400, "missing-element", where, "peer1 and peer2 are both needed");
		json_decref(j);
		return broker_reply_error(req, &err);
	}
	for (int i = 0; i < 2; i++) {
		int rc = port_path(b, where, p[i], paths[i], sizeof(paths[i]), &err);

		is_port[i] = rc == 0;
		if (rc < 0) {
			json_decref(j);
			return broker_reply_error(req, &err);
		}
	}
	if (!is_port[0] && !is_port[1]) {
		broker_error_set(&err, 400, "invalid-value", where,
				 "at least one peer must be a cube port, written cube:port");
		json_decref(j);
		return broker_reply_error(req, &err);
	}
	for (int i = 0; connect && i < 2; i++) {
		if (is_port[i] && !(body[i] = json_string_text(p[1 - i]))) {
			free(body[0]);
			json_decref(j);
			broker_error_set(&err, 500, "operation-failed", where, "out of memory");
			return broker_reply_error(req, &err);
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(body[0]);
		free(body[1]);
		json_decref(j);
		broker_error_set(&err, 500, "operation-failed", where, "out of memory");
		return broker_reply_error(req, &err);
	}
	m->pd = broker_pending_new(b, req);
	m->remaining = is_port[0] + is_port[1];
	for (int i = 0; i < 2; i++) {
		if (!is_port[i])
			continue;
		if (connect)
			broker_instance_write(b, paths[i], strlen(paths[i]), BROKER_PATCH, body[i], strlen(body[i]),
					      multi_done, m);
		else
			broker_instance_write(b, paths[i], strlen(paths[i]), BROKER_DELETE, "", 0, multi_done, m);
		free(body[i]);
	}
	json_decref(j);
}

/* ---- POST /cubes: several instances at once ------------------------------ */
static void post_cubes(struct broker *b, h2o_req_t *req)
{
	struct broker_error err;
	json_error_t jerr;
	json_t *j, *item;
	struct multi *m;
	size_t idx;

	j = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_array(j) || json_array_size(j) == 0) {
		broker_error_set(&err, 400, "malformed-message", "/cubes",
				 "the body must be a non-empty array of {\"service-name\": ..., \"name\": ..., ...}%s%s",
				 j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return broker_reply_error(req, &err);
	}
	json_array_foreach(j, idx, item) {
		const char *svc, *name;

		if (!json_is_object(item) || !json_is_string(json_object_get(item, "service-name")) ||
		    !json_is_string(json_object_get(item, "name"))) {
			broker_error_set(&err, 400, "missing-element", "/cubes",
					 "item %zu needs service-name and name", idx);
			json_decref(j);
			return broker_reply_error(req, &err);
		}
		/* Each becomes one step of the path below: "hw/ports" would
		 * address another resource than an instance. */
		svc = json_string_value(json_object_get(item, "service-name"));
		name = json_string_value(json_object_get(item, "name"));
		if (pcn_name_check(svc) || pcn_name_check(name)) {
			broker_error_set(&err, 400, "invalid-value", "/cubes",
					 "item %zu: \"%.80s\" / \"%.80s\" is not a service and instance name "
					 "(1 to %d letters, digits, '_' and '-')",
					 idx, svc, name, PCN_NAME_MAX - 1);
			json_decref(j);
			return broker_reply_error(req, &err);
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		json_decref(j);
		broker_error_set(&err, 500, "operation-failed", "/cubes", "out of memory");
		return broker_reply_error(req, &err);
	}
	m->pd = broker_pending_new(b, req);
	m->remaining = (int)json_array_size(j);
	json_array_foreach(j, idx, item) {
		/* Two checked names: "/<service>/<name>" always fits. */
		char path[2 * PCN_NAME_MAX + 2], *body;
		json_t *cfg = json_deep_copy(item);

		snprintf(path, sizeof(path), "/%s/%s", json_string_value(json_object_get(item, "service-name")),
			 json_string_value(json_object_get(item, "name")));
		json_object_del(cfg, "service-name");
		body = json_dumps(cfg, JSON_COMPACT);
		json_decref(cfg);
		broker_instance_write(b, path, strlen(path), BROKER_POST, body ? body : "{}",
				      body ? strlen(body) : 2, multi_done, m);
		free(body);
	}
	json_decref(j);
}

/* ---- GET /metrics ---------------------------------------------------------- */
/* How long a scrape waits for the cubes' own metrics: a cube process that
 * is slow, stopped or busy is absent from the answer rather than holding
 * it (counted in cubemesh_cube_metrics_timeouts_total). */
#define METRICS_CUBE_TIMEOUT_MS 500

/* The broker's families, then the cubes' (cubes: their merged text). */
static void metrics_reply(struct broker *b, h2o_req_t *req, const char *cubes, size_t cubes_len)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "cubemesh_cube_rx_packets", "Packets that entered the instance",
		  offsetof(struct pcn_cube_stats, rx_packets) },
		{ "cubemesh_cube_tx_netdev_packets", "Packets sent out of a netdev",
		  offsetof(struct pcn_cube_stats, tx_netdev) },
		{ "cubemesh_cube_tx_cube_packets", "Packets handed to another cube",
		  offsetof(struct pcn_cube_stats, tx_cube) },
		{ "cubemesh_cube_pass_packets", "Packets passed to the host stack",
		  offsetof(struct pcn_cube_stats, pass) },
		{ "cubemesh_cube_drop_verdict_packets", "Packets the cube's code dropped",
		  offsetof(struct pcn_cube_stats, drop_verdict) },
		{ "cubemesh_cube_drop_no_peer_packets", "Packets sent to a port with no peer",
		  offsetof(struct pcn_cube_stats, drop_no_peer) },
		{ "cubemesh_cube_missed_tail_calls", "Tail calls into an empty PatchPanel slot",
		  offsetof(struct pcn_cube_stats, drop_tail_call) },
	};
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *chain;

#define EMIT(...)                                                                                  \
	do {                                                                                       \
		int need_ = snprintf(NULL, 0, __VA_ARGS__);                                        \
		if (len + (size_t)need_ + 1 > cap) {                                               \
			cap = (len + (size_t)need_ + 1) * 2;                                       \
			buf = realloc(buf, cap);                                                   \
		}                                                                                  \
		len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__);                        \
	} while (0)

	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		EMIT("# TYPE %s counter\n# HELP %s %s.\n", counters[c].name, counters[c].name, counters[c].help);
		for (struct broker_instance *i = b->instances; i; i = i->next) {
			struct pcn_cube_stats st;

			if (broker_stats_read(b->dp, i->index, &st))
				continue;
			EMIT("%s_total{service=\"%s\",cube=\"%s\"} %llu\n", counters[c].name, i->service, i->name,
			     (unsigned long long)*(const __u64 *)((const char *)&st + counters[c].off));
		}
	}
	EMIT("# TYPE cubemesh_service_up gauge\n# HELP cubemesh_service_up 1 when the cube's process is "
	     "registered and replayed.\n");
	for (struct broker_service *s = b->services; s; s = s->next)
		EMIT("cubemesh_service_up{service=\"%s\"} %d\n", s->name, s->state == BROKER_SVC_UP);
	EMIT("# TYPE cubemesh_service_registrations counter\n# HELP cubemesh_service_registrations "
	     "Registrations of the cube's process (restarts + 1).\n");
	for (struct broker_service *s = b->services; s; s = s->next)
		EMIT("cubemesh_service_registrations_total{service=\"%s\"} %u\n", s->name, s->registrations);
	chain = broker_chain_metrics(b);
	if (chain)
		EMIT("%s", chain);
	free(chain);
	chain = broker_slowpath_metrics(b);
	if (chain)
		EMIT("%s", chain);
	free(chain);
	EMIT("# TYPE cubemesh_cube_metrics_timeouts counter\n# HELP cubemesh_cube_metrics_timeouts Scrapes "
	     "the cube's process did not answer within %d ms (its metrics were absent).\n",
	     METRICS_CUBE_TIMEOUT_MS);
	for (struct broker_service *s = b->services; s; s = s->next)
		if (s->metrics)
			EMIT("cubemesh_cube_metrics_timeouts_total{service=\"%s\"} %llu\n", s->name,
			     (unsigned long long)s->metrics_timeouts);
	EMIT("# TYPE cubemesh_cube_metrics_dropped counter\n# HELP cubemesh_cube_metrics_dropped Samples of "
	     "the cube's process the broker refused (BROKER-METRICS-DROP).\n");
	for (struct broker_service *s = b->services; s; s = s->next)
		if (s->metrics)
			EMIT("cubemesh_cube_metrics_dropped_total{service=\"%s\"} %llu\n", s->name,
			     (unsigned long long)s->metrics_dropped);
	if (cubes && cubes_len)
		EMIT("%.*s", (int)cubes_len, cubes);
	EMIT("# EOF\n");
#undef EMIT
	broker_reply(req, 200, "application/openmetrics-text; version=1.0.0; charset=utf-8", buf, len);
	free(buf);
}

static void metrics_done(struct broker *b, void *arg, const char *text, size_t len)
{
	h2o_req_t *req = broker_pending_take(arg);

	if (req)
		metrics_reply(b, req, text, len);
}

/* Asynchronous: the cubes are asked first (each within
 * METRICS_CUBE_TIMEOUT_MS). */
static void get_metrics(struct broker *b, h2o_req_t *req)
{
	struct broker_pending *pd = broker_pending_new(b, req);

	if (!pd) {
		metrics_reply(b, req, NULL, 0);
		return;
	}
	broker_cube_metrics_gather(b, METRICS_CUBE_TIMEOUT_MS, metrics_done, pd);
}

static void get_root(h2o_req_t *req)
{
	static const char *const links[] = { "services", "cubes", "netdevs", "connect", "disconnect", "attach",
					     "detach", "topology", "version", "metrics" };
	json_t *arr = json_array(), *root = json_object();

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		char href[128];
		json_t *l = json_object();

		snprintf(href, sizeof(href), "%s/%s/", BROKER_API_PREFIX, links[i]);
		json_object_set_new(l, "rel", json_string(links[i]));
		json_object_set_new(l, "href", json_string(href));
		json_array_append_new(arr, l);
	}
	json_object_set_new(root, "links", arr);
	broker_reply_json(req, 200, root);
}

/* The value of `key` in the query string (URL-decoding nothing: names have
 * no reserved characters), or "" when absent. */
static void query_arg(h2o_req_t *req, const char *key, char *out, size_t n)
{
	const char *q, *end;
	size_t kl = strlen(key);

	out[0] = '\0';
	if (req->query_at == SIZE_MAX)
		return;
	q = req->path.base + req->query_at + 1;
	end = req->path.base + req->path.len;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - q) > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			size_t vl = (size_t)(stop - q) - kl - 1;

			if (vl >= n)
				vl = n - 1;
			memcpy(out, q + kl + 1, vl);
			out[vl] = '\0';
			return;
		}
		q = stop + 1;
	}
}

/* GET /logs?service=&cube=&since= */
static void logs_get(struct broker *b, h2o_req_t *req)
{
	char service[BROKER_NAME_MAX], cube[BROKER_NAME_MAX], since_s[32];

	query_arg(req, "service", service, sizeof(service));
	query_arg(req, "cube", cube, sizeof(cube));
	query_arg(req, "since", since_s, sizeof(since_s));
	broker_reply_json(req, 200, broker_logsink_read(b, service, cube, strtoull(since_s, NULL, 10)));
}

/* POST /attach (attach true) and /detach of a transparent cube. */
void broker_attach_post(struct broker *b, h2o_req_t *req, bool attach)
{
	struct broker_error err;
	json_error_t jerr;
	json_t *j = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, JSON_REJECT_DUPLICATES,
			       &jerr);

	if (!j || !json_is_object(j)) {
		broker_error_set(&err, 400, "malformed-message", attach ? "/attach" : "/detach",
				 "the body must be {\"cube\": ..., \"port\": netdev, \"position\": "
				 "first|last|before|after|auto, \"other\": cube}");
		json_decref(j);
		broker_reply_error(req, &err);
		return;
	}
	if (broker_attach_json(b, j, attach, &err))
		broker_reply_error(req, &err);
	else
		broker_reply(req, 200, "application/json", NULL, 0);
	json_decref(j);
}

static void route_root(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	get_root(req);
}

static void route_services(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	get_services(b, req, name);
}

static void route_cubes(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	if (is_post(req))
		post_cubes(b, req);
	else
		get_cubes(b, req, name);
}

static void route_netdevs(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	get_netdevs(b, req, name);
}

static void route_connect(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	post_connect(b, req, strcmp(seg, "connect") == 0);
}

static void route_attach(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	broker_attach_post(b, req, strcmp(seg, "attach") == 0);
}

static void route_topology(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	broker_reply_json(req, 200, broker_topology_json(b, name[0] ? name : NULL));
}

static void route_version(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	json_t *v = json_object();

	json_object_set_new(v, "name", json_string("cubemesh"));
	json_object_set_new(v, "version", json_string(CUBEMESH_VERSION));
	json_object_set_new(v, "protocol-version", json_integer(PCN_PROTOCOL_VERSION));
	broker_reply_json(req, 200, v);
}

static void route_metrics(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	get_metrics(b, req);
}

static void route_logs(struct broker *b, h2o_req_t *req, const char *seg, const char *name)
{
	logs_get(b, req);
}

/* The fixed routes, one line each: the dispatcher and the 405/OPTIONS
 * answers read the same line, so a route cannot be served under one list
 * of methods and advertised under another. allow is the collection's
 * (/<seg>), item_allow the one of /<seg>/<name>; NULL item_allow: the
 * resource has nothing below it and a longer path is a 404. Every other
 * first segment is a service name (api_cube.c). */
static const struct fixed_route {
	const char *seg;
	const char *allow;
	const char *item_allow;
	void (*handler)(struct broker *b, h2o_req_t *req, const char *seg, const char *name);
} fixed_routes[] = {
	{ "", ALLOW_GET, NULL, route_root },
	{ "services", ALLOW_GET, ALLOW_GET, route_services },
	{ "cubes", "GET, HEAD, POST, OPTIONS", ALLOW_GET, route_cubes },
	{ "netdevs", ALLOW_GET, ALLOW_GET, route_netdevs },
	{ "connect", ALLOW_POST, NULL, route_connect },
	{ "disconnect", ALLOW_POST, NULL, route_connect },
	{ "attach", ALLOW_POST, NULL, route_attach },
	{ "detach", ALLOW_POST, NULL, route_attach },
	{ "topology", ALLOW_GET, ALLOW_GET, route_topology },
	{ "topology.svg", ALLOW_GET, NULL, broker_topology_svg_get },
	{ "version", ALLOW_GET, NULL, route_version },
	{ "metrics", ALLOW_GET, NULL, route_metrics },
	{ "logs", ALLOW_GET, NULL, route_logs },
	{ "openapi.json", ALLOW_GET, NULL, broker_openapi_get },
};

static const struct fixed_route *fixed_route_seg(const char *seg)
{
	for (size_t i = 0; i < sizeof(fixed_routes) / sizeof(fixed_routes[0]); i++)
		if (strcmp(seg, fixed_routes[i].seg) == 0)
			return &fixed_routes[i];
	return NULL;
}

int broker_fixed_route(const char *seg, const char *rest, size_t rest_len, const char **allow, char *name,
		       size_t n)
{
	const struct fixed_route *r = fixed_route_seg(seg);
	size_t i = 0;

	if (!r)
		return -ENOENT;
	sub_segment(rest, rest_len, name, n);
	/* What follows the name: only slashes may. */
	while (i < rest_len && rest[i] == '/')
		i++;
	while (i < rest_len && rest[i] != '/')
		i++;
	while (i < rest_len && rest[i] == '/')
		i++;
	if (i < rest_len || (name[0] && !r->item_allow))
		return -ENOTDIR;
	*allow = name[0] ? r->item_allow : r->allow;
	return 0;
}

int broker_api_fixed(struct broker *b, h2o_req_t *req, const char *seg, const char *rest, size_t rest_len)
{
	char name[BROKER_NAME_MAX + 1];
	struct broker_error err;
	const char *allow;
	int rc = broker_fixed_route(seg, rest, rest_len, &allow, name, sizeof(name));

	if (rc == -ENOENT)
		return -ENOENT;
	if (rc) {
		/* /version/x was the version: a path that names nothing is a
		 * 404, as it is below a cube. */
		broker_error_set(&err, 404, "invalid-value", NULL, "no resource /%s%.*s", seg,
				 (int)(rest_len > 80 ? 80 : rest_len), rest);
		broker_reply_error(req, &err);
		return 0;
	}
	if (!broker_method_check(req, allow))
		fixed_route_seg(seg)->handler(b, req, seg, name);
	return 0;
}

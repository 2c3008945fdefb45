/* The HTTP gateway: h2o on the broker's libuv loop. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "gateway/gateway.h"
#include "model/model.h"
#include "log.h"

struct broker_handler {
	h2o_handler_t super;
	struct broker *b;
};

/* Lives in the request's pool: tells the pending request its client left. */
struct pending_ref {
	struct broker_pending *pd;
};

static void pending_ref_dispose(void *p)
{
	struct pending_ref *ref = p;

	if (ref->pd)
		ref->pd->req = NULL;
}

struct broker_pending *broker_pending_new(struct broker *b, h2o_req_t *req)
{
	struct broker_pending *pd = calloc(1, sizeof(*pd));
	struct pending_ref *ref;

	if (!pd)
		return NULL;
	ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), pending_ref_dispose);
	ref->pd = pd;
	pd->req = req;
	pd->b = b;
	pd->ref = ref;
	return pd;
}

h2o_req_t *broker_pending_take(struct broker_pending *pd)
{
	h2o_req_t *req = pd->req;

	/* The request is alive, so its pool and ref are too: detach before
	 * answering, since the answer may dispose the pool at once. */
	if (req)
		((struct pending_ref *)pd->ref)->pd = NULL;
	free(pd);
	return req;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 507: return "Insufficient Storage";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void broker_reply(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
	req->res.status = status;
	req->res.reason = reason_phrase(status);
	if (content_type)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
			       strlen(content_type));
	if (!body || status == 204) {
		body = "";
		len = 0;
	}
	req->res.content_length = len;
	h2o_send_inline(req, body, len);
}

void broker_reply_json(h2o_req_t *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_INDENT(2) | JSON_ENCODE_ANY);

	json_decref(body);
	if (!s) {
		broker_reply(req, 500, "text/plain", "cannot encode the answer\n", 25);
		return;
	}
	broker_reply(req, status, "application/json", s, strlen(s));
	free(s);
}

void broker_reply_error(h2o_req_t *req, const struct broker_error *err)
{
	char *s = broker_error_json(err);

	/* Every 503 of the broker is passing (a cube restarting, a full write
	 * queue, no fd left): say when to come back. */
	if (err->http_status == 503)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));

	if (!s) {
		broker_reply(req, err->http_status, "text/plain", err->message, strlen(err->message));
		return;
	}
	broker_reply(req, err->http_status, "application/json", s, strlen(s));
	free(s);
}

/* The gateway's guards. The API reprograms the kernel, so the one client it
 * must never obey is a web page the user happens to have open: a browser
 * sends "simple" cross-origin requests (text/plain or form bodies, no
 * preflight) and, through DNS rebinding, same-origin ones to a name the
 * attacker controls. Hence: a write's body must be declared JSON (a page
 * cannot send that type cross-origin without a CORS preflight, which is
 * refused), a request carrying an Origin not allowed is refused, and Host
 * must name this gateway. */

static bool lc_equal(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Every byte compared whatever the input: the time depends on the token's
 * length only, never on how much of it a guess got right. */
static bool token_matches(const char *token, const char *got, size_t got_len)
{
	static const char scheme[] = "Bearer ";
	size_t slen = sizeof(scheme) - 1, want = slen + strlen(token);
	unsigned char diff = got_len != want;

	for (size_t i = 0; i < want; i++) {
		unsigned char g = i < got_len ? (unsigned char)got[i] : 0;
		unsigned char w = i < slen ? (unsigned char)scheme[i] : (unsigned char)token[i - slen];

		diff |= g ^ w;
	}
	return diff == 0;
}

static bool authorized(struct broker *b, h2o_req_t *req)
{
	ssize_t i;

	if (!b->opts.token)
		return true;
	i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i < 0)
		return false;
	return token_matches(b->opts.token, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
}

static bool is_method(h2o_req_t *req, const char *m)
{
	return lc_equal(req->method.base, req->method.len, m);
}

static bool is_read_method(h2o_req_t *req)
{
	return is_method(req, "GET") || is_method(req, "HEAD") || is_method(req, "OPTIONS");
}

/* application/json or application/yang-data+json, parameters allowed. */
static bool json_media_type(const char *v, size_t len)
{
	size_t end = 0;

	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (end < len && v[end] != ';')
		end++;
	while (end && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	return lc_equal(v, end, "application/json") || lc_equal(v, end, "application/yang-data+json");
}

/* A write with a body must declare it JSON. A bodiless one (DELETE, an
 * action without input) needs no Content-Type, but one naming another type
 * (an empty form) is refused all the same. A browser's bodiless
 * cross-origin POST carries an Origin, refused before this. */
static int check_content_type(h2o_req_t *req, struct broker_error *err)
{
	ssize_t i;
	size_t len;

	if (is_read_method(req))
		return 0;
	i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
	if (i < 0) {
		if (!req->entity.base || req->entity.len == 0)
			return 0;
		return broker_error_set(err, 415, "invalid-value", NULL,
					"a request body needs Content-Type: application/json (or "
					"application/yang-data+json)");
	}
	len = req->headers.entries[i].value.len;
	if (json_media_type(req->headers.entries[i].value.base, len))
		return 0;
	return broker_error_set(err, 415, "invalid-value", NULL,
				"Content-Type '%.*s' is not accepted: send application/json (or "
				"application/yang-data+json)",
				(int)(len > 64 ? 64 : len), req->headers.entries[i].value.base);
}

static bool is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 || strcmp(addr, "localhost") == 0;
}

static bool is_wildcard(const char *addr)
{
	return strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0;
}

/* The address the listener is bound to, as given to uv. */
static const char *listen_addr(const struct broker *b)
{
	return strcmp(b->opts.http_addr, "localhost") == 0 ? "127.0.0.1" : b->opts.http_addr;
}

/* Host (or :authority) without port and brackets, lower case, into out;
 * false when it is not host[:port]. The port is not compared: forwarding
 * or a proxy changes it, and a rebinding attack is in the name. */
static bool host_name(const char *v, size_t len, char *out, size_t n)
{
	const char *end = v + len, *h = v, *hend, *p;
	size_t hl;

	if (len && v[0] == '[') {
		h = v + 1;
		hend = memchr(h, ']', len - 1);
		if (!hend)
			return false;
		p = hend + 1;
	} else {
		hend = memchr(v, ':', len);
		if (!hend)
			hend = end;
		p = hend;
	}
	if (p < end) {
		if (*p != ':' || p + 1 == end)
			return false;
		for (p++; p < end; p++)
			if (*p < '0' || *p > '9')
				return false;
	}
	hl = (size_t)(hend - h);
	if (hl == 0 || hl >= n)
		return false;
	for (size_t i = 0; i < hl; i++) {
		char c = (char)tolower((unsigned char)h[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
		      (c == ':' && h != v)))
			return false;
		out[i] = c;
	}
	out[hl] = '\0';
	if (hl > 1 && out[hl - 1] == '.') /* "localhost." is "localhost" */
		out[hl - 1] = '\0';
	return true;
}

/* Both IP literals of the same address, whatever their spelling. */
static bool same_ip(const char *a, const char *b)
{
	unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
		return memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
		return memcmp(x, y, 16) == 0;
	return false;
}

static bool is_ip_literal(const char *s)
{
	unsigned char x[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, x) == 1 || inet_pton(AF_INET6, s, x) == 1;
}

/* Host names this gateway: its address; localhost, 127.0.0.1 or ::1 when it
 * listens on loopback (or everywhere); any IP literal when it listens
 * everywhere (a literal cannot be rebound); a --allow-host name. A request
 * without Host (HTTP/1.0) is accepted on loopback only, where no name was
 * resolved to reach it. */
static bool host_allowed(struct broker *b, h2o_req_t *req)
{
	const char *addr = listen_addr(b);
	bool local = is_loopback(addr) || is_wildcard(addr);
	h2o_iovec_t a = req->input.authority;
	char name[256];

	/* h2o puts the host's own "default:65535" in place of a missing Host. */
	if (!a.base || !a.len || a.base == req->hostconf->authority.hostport.base)
		return is_loopback(addr);
	if (!host_name(a.base, a.len, name, sizeof(name)))
		return false;
	if (strcmp(name, addr) == 0 || same_ip(name, addr))
		return true;
	if (local && (strcmp(name, "localhost") == 0 || same_ip(name, "127.0.0.1") || same_ip(name, "::1")))
		return true;
	if (is_wildcard(addr) && is_ip_literal(name))
		return true;
	for (size_t i = 0; i < b->opts.n_allow_hosts; i++)
		if (strcasecmp(name, b->opts.allow_hosts[i]) == 0)
			return true;
	return false;
}

/* The configured origin that the request's Origin names, NULL if none. */
static const char *allowed_origin(struct broker *b, const char *v, size_t len)
{
	for (size_t i = 0; i < b->opts.n_allow_origins; i++)
		if (lc_equal(v, len, b->opts.allow_origins[i]))
			return b->opts.allow_origins[i];
	return NULL;
}

/* 0 to go on; 1 when the request was answered (refused, or a preflight). */
static int check_origin(struct broker *b, h2o_req_t *req)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
	struct broker_error err;
	const char *origin;
	size_t len;

	if (i < 0)
		return 0;
	len = req->headers.entries[i].value.len;
	origin = allowed_origin(b, req->headers.entries[i].value.base, len);
	if (!origin) {
		broker_error_set(&err, 403, "access-denied", NULL,
				 "requests from the web origin '%.*s' are refused (a trusted one may be allowed "
				 "with --allow-origin)",
				 (int)(len > 128 ? 128 : len), req->headers.entries[i].value.base);
		broker_reply_error(req, &err);
		return 1;
	}
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, origin,
		       strlen(origin));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Origin"));
	if (!is_method(req, "OPTIONS"))
		return 0;
	/* The preflight of a write (or of a request with Authorization). */
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0, NULL,
			      H2O_STRLIT("GET, POST, PUT, PATCH, DELETE"));
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL,
			      H2O_STRLIT("Authorization, Content-Type, Accept"));
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, NULL,
			      H2O_STRLIT("600"));
	broker_reply(req, 204, NULL, NULL, 0);
	return 1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct broker *b = ((struct broker_handler *)self)->b;
	size_t plen = strlen(BROKER_API_PREFIX), len;
	const char *path = req->path.base;
	char seg[BROKER_NAME_MAX + 1];
	size_t sl = 0;
	struct broker_error err;

	len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	PCN_DEBUG("BROKER-HTTP-REQ", "%.*s %.*s", (int)req->method.len, req->method.base, (int)req->path.len,
		  req->path.base);
	if (!host_allowed(b, req)) {
		broker_error_set(&err, 421, "access-denied", NULL,
				 "Host '%.*s' does not name this gateway (another name may be allowed with "
				 "--allow-host)",
				 (int)(req->input.authority.len > 128 ? 128 : req->input.authority.len),
				 req->input.authority.base ? req->input.authority.base : "");
		broker_reply_error(req, &err);
		return 0;
	}
	if (check_origin(b, req))
		return 0;
	/* The page's assets (no data: the page reads the API like any
	 * client, token included) are served before the token is asked. */
	if (broker_ui_serve(b, req, path, len) == 0)
		return 0;
	if (!authorized(b, req)) {
		broker_error_set(&err, 401, "access-denied", NULL, "a bearer token is required");
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
			       H2O_STRLIT("Bearer"));
		broker_reply_error(req, &err);
		return 0;
	}
	if (len < plen || memcmp(path, BROKER_API_PREFIX, plen) != 0 || (len > plen && path[plen] != '/')) {
		broker_error_set(&err, 404, "invalid-value", NULL, "the API lives under %s/", BROKER_API_PREFIX);
		broker_reply_error(req, &err);
		return 0;
	}
	path += plen;
	len -= plen;
	while (len && *path == '/') {
		path++;
		len--;
	}
	while (sl < len && path[sl] != '/' && sl < BROKER_NAME_MAX) {
		seg[sl] = path[sl];
		sl++;
	}
	seg[sl] = '\0';
	if (req->entity.base && req->entity.len > b->opts.body_limit) {
		broker_error_set(&err, 413, "too-big", NULL, "the body has %zu bytes; the limit is %zu",
				 req->entity.len, b->opts.body_limit);
		broker_reply_error(req, &err);
		return 0;
	}
	if (check_content_type(req, &err)) {
		broker_reply_error(req, &err);
		return 0;
	}
	if (broker_api_fixed(b, req, seg, path + sl, len - sl) == 0)
		return 0;
	/* The cube layer wants the path with its leading '/'. */
	broker_api_cube(b, req, path - 1, len + 1);
	return 0;
}

/* The gateway's state, owned by struct broker (b->gw). Connections are
 * counted so that HTTP alone can never take the broker to EMFILE: a write
 * accepted then finds the descriptors it needs to be saved. */
struct broker_gateway {
	h2o_globalconf_t h2o_config;
	h2o_context_t h2o_ctx;
	h2o_accept_ctx_t accept_ctx;
	uv_tcp_t listener;
	struct {
		unsigned open;
		unsigned max;
		unsigned long refused; /* in the current burst */
	} conns;
};

struct http_conn {
	uv_tcp_t tcp; /* first: the close callback gets its address */
	struct broker *b;
};

static void on_conn_closed(uv_handle_t *h)
{
	struct broker_gateway *gw = ((struct http_conn *)h)->b->gw;

	gw->conns.open--;
	if (gw->conns.refused && gw->conns.open < gw->conns.max) {
		PCN_INFO("BROKER-HTTP-CONNCAP-END", "accepting connections again; %lu refused while %u were open",
			 gw->conns.refused, gw->conns.max);
		gw->conns.refused = 0;
	}
	free(h);
}

static void refuse_conn(struct broker_gateway *gw, uv_stream_t *listener)
{
	uv_tcp_t *t = malloc(sizeof(*t));

	/* Accepted to be closed at once: left in the backlog, the client would
	 * hang instead of seeing its connection end. */
	if (!t)
		return;
	uv_tcp_init(listener->loop, t);
	uv_accept(listener, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
	if (gw->conns.refused++ == 0)
		PCN_WARN("BROKER-HTTP-CONNCAP", "%u HTTP connections are open (--max-connections): closing new "
			 "ones until some end", gw->conns.max);
}

static void on_accept(uv_stream_t *listener, int status)
{
	struct broker *b = listener->data;
	struct broker_gateway *gw = b->gw;
	struct http_conn *conn;
	h2o_socket_t *sock;

	if (status != 0)
		return;
	if (gw->conns.open >= gw->conns.max) {
		refuse_conn(gw, listener);
		return;
	}
	conn = malloc(sizeof(*conn));
	if (!conn) {
		refuse_conn(gw, listener);
		return;
	}
	conn->b = b;
	uv_tcp_init(listener->loop, &conn->tcp);
	if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
		uv_close((uv_handle_t *)&conn->tcp, (uv_close_cb)free);
		return;
	}
	gw->conns.open++;
	sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_conn_closed);
	h2o_accept(&b->gw->accept_ctx, sock);
}

/* The cap, lowered if the open-files limit could not hold it with room for
 * the broker's own descriptors (datastore, sockets, pins). */
static unsigned conn_cap(const struct broker *b)
{
	struct rlimit rl;
	unsigned cap = b->opts.max_connections ? b->opts.max_connections : 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && cap > rl.rlim_cur / 2) {
		unsigned lower = (unsigned)(rl.rlim_cur / 2) ? (unsigned)(rl.rlim_cur / 2) : 1;

		PCN_WARN("BROKER-HTTP-CONNCAP-LIMIT", "--max-connections %u lowered to %u: the open-files limit is "
			 "%llu", cap, lower, (unsigned long long)rl.rlim_cur);
		cap = lower;
	}
	return cap;
}

int broker_http_start(struct broker *b)
{
	struct sockaddr_storage ss;
	struct broker_handler *h;
	h2o_hostconf_t *host;
	h2o_pathconf_t *pc;
	const char *addr = listen_addr(b);
	int rc;

	if (!is_loopback(addr) && !b->opts.token) {
		PCN_ERR("BROKER-HTTP-NOTOKEN", "refusing to serve the API on %s without a token: anyone who "
			"reaches it could reprogram the kernel. Set --token (or PCN_TOKEN)", addr);
		return -EPERM;
	}
	/* Lives as long as the process: h2o's connections and timers point
	 * into it until the loop stops. */
	b->gw = calloc(1, sizeof(*b->gw));
	if (!b->gw)
		return -ENOMEM;
	if (strchr(addr, ':'))
		rc = uv_ip6_addr(addr, b->opts.http_port, (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(addr, b->opts.http_port, (struct sockaddr_in *)&ss);
	if (rc) {
		PCN_ERR("BROKER-HTTP-ADDR", "bad listen address %s: %s", addr, uv_strerror(rc));
		return rc;
	}
	h2o_config_init(&b->gw->h2o_config);
	/* h2o refuses what is far too big on its own (and bounds the memory a
	 * body takes); on_req answers the rest with a RESTCONF error. */
	b->gw->h2o_config.max_request_entity_size = b->opts.body_limit * 4;
	/* HTTP/2 in clear (Upgrade: h2c, or the PRI preface) is a second parser
	 * exposed to whoever reaches the port: only on request. */
	b->gw->h2o_config.http1.upgrade_to_http2 = b->opts.http2;
	b->gw->conns.max = conn_cap(b);
	host = h2o_config_register_host(&b->gw->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	pc = h2o_config_register_path(host, "/", 0);
	h = (struct broker_handler *)h2o_create_handler(pc, sizeof(*h));
	h->super.on_req = on_req;
	h->b = b;
	h2o_context_init(&b->gw->h2o_ctx, b->loop, &b->gw->h2o_config);
	b->gw->accept_ctx.ctx = &b->gw->h2o_ctx;
	b->gw->accept_ctx.hosts = b->gw->h2o_config.hosts;

	uv_tcp_init(b->loop, &b->gw->listener);
	b->gw->listener.data = b;
	rc = uv_tcp_bind(&b->gw->listener, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&b->gw->listener, 128, on_accept);
	if (rc) {
		PCN_ERR("BROKER-HTTP-LISTEN", "cannot listen on %s:%d: %s", addr, b->opts.http_port,
			uv_strerror(rc));
		return rc;
	}
	PCN_INFO("BROKER-HTTP-LISTEN", "REST API on http://%s%s%s:%d%s/%s", strchr(addr, ':') ? "[" : "", addr,
		 strchr(addr, ':') ? "]" : "", b->opts.http_port, BROKER_API_PREFIX,
		 b->opts.token ? " (bearer token required)" : "");
	PCN_DEBUG("BROKER-HTTP-GUARDS", "at most %u connections; HTTP/2 %s; %zu allowed origin(s), %zu extra host "
		  "name(s)", b->gw->conns.max, b->opts.http2 ? "on" : "off", b->opts.n_allow_origins,
		  b->opts.n_allow_hosts);
	return 0;
}

void broker_http_stop(struct broker *b)
{
	if (b->gw && uv_is_active((uv_handle_t *)&b->gw->listener))
		uv_close((uv_handle_t *)&b->gw->listener, NULL);
}

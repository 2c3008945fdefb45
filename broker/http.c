/* The HTTP gateway: h2o on the broker's libuv loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
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
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
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

	if (!s) {
		broker_reply(req, err->http_status, "text/plain", err->message, strlen(err->message));
		return;
	}
	broker_reply(req, err->http_status, "application/json", s, strlen(s));
	free(s);
}

static bool authorized(struct broker *b, h2o_req_t *req)
{
	ssize_t i;
	char want[300];

	if (!b->opts.token)
		return true;
	i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i < 0)
		return false;
	snprintf(want, sizeof(want), "Bearer %s", b->opts.token);
	return req->headers.entries[i].value.len == strlen(want) &&
	       memcmp(req->headers.entries[i].value.base, want, strlen(want)) == 0;
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
	if (broker_api_fixed(b, req, seg, path + sl, len - sl) == 0)
		return 0;
	/* The cube layer wants the path with its leading '/'. */
	broker_api_cube(b, req, path - 1, len + 1);
	return 0;
}

static void on_accept(uv_stream_t *listener, int status)
{
	struct broker *b = listener->data;
	uv_tcp_t *conn;
	h2o_socket_t *sock;

	if (status != 0)
		return;
	conn = h2o_mem_alloc(sizeof(*conn));
	uv_tcp_init(listener->loop, conn);
	if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
		uv_close((uv_handle_t *)conn, (uv_close_cb)free);
		return;
	}
	sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
	h2o_accept(&b->accept_ctx, sock);
}

static bool is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 || strcmp(addr, "localhost") == 0;
}

int broker_http_start(struct broker *b)
{
	struct sockaddr_storage ss;
	struct broker_handler *h;
	h2o_hostconf_t *host;
	h2o_pathconf_t *pc;
	const char *addr = strcmp(b->opts.http_addr, "localhost") == 0 ? "127.0.0.1" : b->opts.http_addr;
	int rc;

	if (!is_loopback(addr) && !b->opts.token) {
		PCN_ERR("BROKER-HTTP-NOTOKEN", "refusing to serve the API on %s without a token: anyone who "
			"reaches it could reprogram the kernel. Set --token (or PCN_TOKEN)", addr);
		return -EPERM;
	}
	if (strchr(addr, ':'))
		rc = uv_ip6_addr(addr, b->opts.http_port, (struct sockaddr_in6 *)&ss);
	else
		rc = uv_ip4_addr(addr, b->opts.http_port, (struct sockaddr_in *)&ss);
	if (rc) {
		PCN_ERR("BROKER-HTTP-ADDR", "bad listen address %s: %s", addr, uv_strerror(rc));
		return rc;
	}
	h2o_config_init(&b->h2o_config);
	/* h2o refuses what is far too big on its own (and bounds the memory a
	 * body takes); on_req answers the rest with a RESTCONF error. */
	b->h2o_config.max_request_entity_size = b->opts.body_limit * 4;
	host = h2o_config_register_host(&b->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	pc = h2o_config_register_path(host, "/", 0);
	h = (struct broker_handler *)h2o_create_handler(pc, sizeof(*h));
	h->super.on_req = on_req;
	h->b = b;
	h2o_context_init(&b->h2o_ctx, b->loop, &b->h2o_config);
	b->accept_ctx.ctx = &b->h2o_ctx;
	b->accept_ctx.hosts = b->h2o_config.hosts;

	uv_tcp_init(b->loop, &b->listener);
	b->listener.data = b;
	rc = uv_tcp_bind(&b->listener, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&b->listener, 128, on_accept);
	if (rc) {
		PCN_ERR("BROKER-HTTP-LISTEN", "cannot listen on %s:%d: %s", addr, b->opts.http_port,
			uv_strerror(rc));
		return rc;
	}
	PCN_INFO("BROKER-HTTP-LISTEN", "REST API on http://%s%s%s:%d%s/%s", strchr(addr, ':') ? "[" : "", addr,
		 strchr(addr, ':') ? "]" : "", b->opts.http_port, BROKER_API_PREFIX,
		 b->opts.token ? " (bearer token required)" : "");
	return 0;
}

void broker_http_stop(struct broker *b)
{
	if (uv_is_active((uv_handle_t *)&b->listener))
		uv_close((uv_handle_t *)&b->listener, NULL);
}

/* Live streams: GET /<service>/<instance>/<stream> relays the bytes the
 * instance's process writes (pcn_stream_write, cube-runtime/stream.c) to
 * the HTTP client as they come, chunked, at the client's pace.
 *
 * The broker connects to the process's stream socket (the endpoint's
 * path with ".stream"; only in the socket directory, only a root peer),
 * sends "<instance> <stream>\n" and reads one line back: "OK <content
 * type>" starts the response, "ERR <errno> <message>" is answered as the
 * cube's refusals are (404, 409, ...). Then each read from the socket is
 * one h2o_send, and the next read starts only when h2o has written it
 * (proceed): a slow client stops the reads, the cube's queue for it fills
 * and its writes get -EAGAIN; the broker holds at most one buffer per
 * stream. Either end going away closes the other: the cube's EOF (the
 * instance deleted, the process gone) ends the response cleanly, the
 * client's leaving (h2o's stop, or seen on its socket while the stream is
 * idle) closes the socket and the cube calls on_stream_close.
 *
 * Streams count against --max-streams (and half of it per service): a
 * client beyond gets 503, so that readers cannot pin every connection and
 * descriptor of the broker. They hold an HTTP connection too, counted by
 * --max-connections. h2o's request timeout does not apply once the
 * request is read: an idle stream stays open.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "control/control.h"
#include "gateway/gateway.h"
#include "log.h"

#define ANSWER_TIMEOUT_MS 10000 /* the cube's on_stream_open runs on its busy thread */
#define PEEK_MS 1000            /* how often an idle stream looks for its client */
#define STREAM_BUF 65536
#define ANSWER_LINE_MAX 512

struct gw_stream {
	h2o_generator_t gen; /* first: h2o hands it back */
	struct broker *b;
	struct broker_pending *pd; /* until the answer line */
	h2o_req_t *req;            /* while the response runs */
	uv_pipe_t pipe;
	uv_connect_t conn_req;
	uv_write_t write_req;
	uv_timer_t timer;
	int handles;               /* open uv handles; freed at 0 */
	bool started, sending, closing;
	char service[BROKER_NAME_MAX];
	char instance[BROKER_NAME_MAX];
	char name[BROKER_NAME_MAX];
	char hello[2 * BROKER_NAME_MAX + 2];
	char line[ANSWER_LINE_MAX];
	size_t line_len;
	char buf[STREAM_BUF];
	size_t buf_len;
};

static unsigned max_total(const struct broker *b)
{
	return b->opts.max_streams ? b->opts.max_streams : 16;
}

static unsigned open_total(const struct broker *b)
{
	unsigned n = 0;

	for (const struct broker_service *s = b->services; s; s = s->next)
		n += s->streams_open;
	return n;
}

static void handle_closed(uv_handle_t *h)
{
	struct gw_stream *gs = h->data;

	if (--gs->handles == 0)
		free(gs);
}

/* Ends the broker's side: the socket (the cube sees EOF), the timer, the
 * count. The caller has answered the client or h2o has let it go. */
static void finish(struct gw_stream *gs)
{
	struct broker_service *svc;

	if (gs->closing)
		return;
	gs->closing = true;
	svc = broker_service_find(gs->b, gs->service);
	if (svc && svc->streams_open)
		svc->streams_open--;
	if (gs->pd) {
		broker_pending_take(gs->pd);
		gs->pd = NULL;
	}
	uv_close((uv_handle_t *)&gs->pipe, handle_closed);
	uv_close((uv_handle_t *)&gs->timer, handle_closed);
}

/* Before the response started: answers the client (if still there). */
static void fail(struct gw_stream *gs, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct gw_stream *gs, int status, const char *fmt, ...)
{
	struct broker_error err;
	h2o_req_t *req = gs->pd ? broker_pending_take(gs->pd) : NULL;
	char msg[400];
	va_list ap;

	gs->pd = NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (req) {
		broker_error_set(&err, status, pcn_http_tag(status), NULL, "%s", msg);
		broker_reply_error(req, &err);
	}
	PCN_DEBUG("BROKER-STREAM-REFUSED", "%s/%s/%s: %d %s", gs->service, gs->instance, gs->name, status, msg);
	finish(gs);
}

/* The client went away (h2o disposes of the request). */
static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct gw_stream *gs = (struct gw_stream *)gen;

	(void)req;
	gs->req = NULL;
	PCN_DEBUG("BROKER-STREAM-END", "%s/%s/%s: the client left", gs->service, gs->instance, gs->name);
	finish(gs);
}

static void send_final(struct gw_stream *gs, h2o_send_state_t st)
{
	h2o_req_t *req = gs->req;

	gs->req = NULL;
	finish(gs);
	/* Last: the request may be disposed of inside. */
	if (req)
		h2o_send(req, NULL, 0, st);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct gw_stream *gs = h->data;

	(void)suggested;
	if (!gs->started)
		*buf = uv_buf_init(gs->line + gs->line_len, (unsigned)(sizeof(gs->line) - gs->line_len));
	else
		*buf = uv_buf_init(gs->buf, sizeof(gs->buf));
}

static void send_buf(struct gw_stream *gs)
{
	h2o_iovec_t v = h2o_iovec_init(gs->buf, gs->buf_len);

	/* No read until h2o has written this (proceed): the client's pace. */
	uv_read_stop((uv_stream_t *)&gs->pipe);
	gs->sending = true;
	h2o_send(gs->req, &v, gs->buf_len ? 1 : 0, H2O_SEND_STATE_IN_PROGRESS);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_timer(uv_timer_t *t);

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct gw_stream *gs = (struct gw_stream *)gen;

	(void)req;
	gs->sending = false;
	gs->buf_len = 0;
	if (!gs->closing && uv_read_start((uv_stream_t *)&gs->pipe, on_alloc, on_read))
		send_final(gs, H2O_SEND_STATE_ERROR);
}

/* A content type the cube gave: printable ASCII, else a neutral one. */
static const char *content_type(const char *v)
{
	size_t n = strlen(v);

	if (!n || n > 127)
		return "application/octet-stream";
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return "application/octet-stream";
	return v;
}

/* The answer line is in gs->line[0..nl); what follows it, rest bytes,
 * is the stream's first data. */
static void on_answer(struct gw_stream *gs, size_t nl, size_t rest)
{
	h2o_req_t *req;
	const char *ct;

	gs->line[nl] = '\0';
	if (strncmp(gs->line, "ERR ", 4) == 0) {
		char *end;
		long e = strtol(gs->line + 4, &end, 10);
		int status = pcn_errno_http(e > 0 && e < 4096 ? -(int)e : -EIO);

		fail(gs, status, "%s: %s", gs->instance, *end == ' ' ? end + 1 : "refused");
		return;
	}
	if (strncmp(gs->line, "OK ", 3) != 0) {
		fail(gs, 502, "the %s process answered the stream request with garbage", gs->service);
		return;
	}
	req = broker_pending_take(gs->pd);
	gs->pd = NULL;
	if (!req) {
		finish(gs);
		return;
	}
	ct = content_type(gs->line + 3);
	memcpy(gs->buf, gs->line + nl + 1, rest);
	gs->buf_len = rest;
	gs->started = true;
	gs->req = req;
	gs->gen.proceed = on_proceed;
	gs->gen.stop = on_stop;
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = SIZE_MAX; /* chunked */
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct, strlen(ct));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
			      H2O_STRLIT("nosniff"));
	h2o_start_response(req, &gs->gen);
	/* From now on the timer looks for a client gone while idle. */
	uv_timer_start(&gs->timer, on_timer, PEEK_MS, PEEK_MS);
	PCN_INFO("BROKER-STREAM-START", "%s/%s/%s: streaming (%s)", gs->service, gs->instance, gs->name, ct);
	send_buf(gs);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct gw_stream *gs = s->data;
	char *nl;

	(void)buf;
	if (gs->closing || n == 0)
		return;
	if (!gs->started) {
		if (n < 0) {
			fail(gs, 503, "the %s process closed the stream before answering", gs->service);
			return;
		}
		gs->line_len += (size_t)n;
		nl = memchr(gs->line, '\n', gs->line_len);
		if (nl)
			on_answer(gs, (size_t)(nl - gs->line), gs->line_len - (size_t)(nl - gs->line) - 1);
		else if (gs->line_len == sizeof(gs->line))
			fail(gs, 502, "the %s process's answer to the stream request is too long", gs->service);
		return;
	}
	if (n < 0) {
		/* The cube ended it (EOF: the instance deleted, the process
		 * exiting): the response ends cleanly; an error cuts it. */
		PCN_INFO("BROKER-STREAM-END", "%s/%s/%s: the cube ended the stream (%s)", gs->service,
			 gs->instance, gs->name, n == UV_EOF ? "EOF" : uv_strerror((int)n));
		send_final(gs, n == UV_EOF ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_ERROR);
		return;
	}
	gs->buf_len = (size_t)n;
	send_buf(gs);
}

/* Before the answer: its deadline. After: an idle stream looks at its
 * client's socket, since h2o reads nothing from it while responding and
 * would only learn of a client gone at the next write. */
static void on_timer(uv_timer_t *t)
{
	struct gw_stream *gs = t->data;
	h2o_socket_t *sock;
	char c;
	ssize_t r;
	int fd;

	if (gs->closing)
		return;
	if (!gs->started) {
		fail(gs, 504, "the %s process did not answer the stream request in %d ms", gs->service,
		     ANSWER_TIMEOUT_MS);
		return;
	}
	if (gs->sending || !gs->req || !gs->req->conn->callbacks->get_socket)
		return;
	sock = gs->req->conn->callbacks->get_socket(gs->req->conn);
	fd = sock ? h2o_socket_get_fd(sock) : -1;
	if (fd < 0)
		return;
	r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		PCN_DEBUG("BROKER-STREAM-END", "%s/%s/%s: the client left (idle)", gs->service, gs->instance,
			  gs->name);
		send_final(gs, H2O_SEND_STATE_ERROR);
	}
}

static void on_hello_written(uv_write_t *w, int status)
{
	struct gw_stream *gs = w->data;

	if (status && !gs->closing)
		fail(gs, 503, "cannot ask the %s process for the stream: %s", gs->service, uv_strerror(status));
}

static bool peer_is_root(uv_pipe_t *p)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	uv_os_fd_t fd;

	return uv_fileno((uv_handle_t *)p, &fd) == 0 &&
	       getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && cr.uid == 0;
}

static void on_connect(uv_connect_t *c, int status)
{
	struct gw_stream *gs = c->data;
	uv_buf_t b;

	if (gs->closing)
		return;
	if (status) {
		fail(gs, 503, "the %s process serves no streams now: %s", gs->service, uv_strerror(status));
		return;
	}
	if (!peer_is_root(&gs->pipe)) {
		PCN_WARN("BROKER-STREAM-PEER", "the stream socket of %s is not a root process's: refused", gs->service);
		fail(gs, 503, "the %s process's stream socket is not trusted", gs->service);
		return;
	}
	b = uv_buf_init(gs->hello, (unsigned)strlen(gs->hello));
	gs->write_req.data = gs;
	if (uv_write(&gs->write_req, (uv_stream_t *)&gs->pipe, &b, 1, on_hello_written) ||
	    uv_read_start((uv_stream_t *)&gs->pipe, on_alloc, on_read))
		fail(gs, 503, "cannot ask the %s process for the stream", gs->service);
}

/* base is the stream socket's name beside the socket sockname. */
static bool stream_of(const char *base, const char *sockname)
{
	size_t n = strlen(sockname);

	return n > 5 && strncmp(base, sockname, n - 5) == 0 && strcmp(base + n - 5, ".stream") == 0;
}

/* The stream socket of svc's process: beside its endpoint, in the socket
 * directory, named for the service (and its pid, during an upgrade): the
 * endpoint a process registered never leads the broker elsewhere. */
static int stream_path(const struct broker *b, const struct broker_service *svc, char *out, size_t n)
{
	char want[PCN_COMPONENT_MAX + 1], dir[PATH_MAX], real_ep[PATH_MAX], real_sd[PATH_MAX];
	int rc = pcn_sock_stream(out, n, svc->endpoint);
	const char *base;
	size_t dl;

	if (rc)
		return rc;
	base = strrchr(out, '/') + 1;
	dl = (size_t)(base - 1 - out);
	/* The same directory, however either was spelled. */
	if (dl >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, out, dl);
	dir[dl] = '\0';
	if (!realpath(dir, real_ep) || !realpath(b->opts.sock_dir, real_sd) || strcmp(real_ep, real_sd) != 0)
		return -EACCES;
	if (pcn_sock_cube(want, sizeof(want), PCN_SOCK_CUBE, svc->name, 0) == 0 && stream_of(base, want))
		return 0;
	if (pcn_sock_cube(want, sizeof(want), PCN_SOCK_CUBE_PID, svc->name, (int)svc->pid) == 0 &&
	    stream_of(base, want))
		return 0;
	return -EACCES;
}

int broker_stream_get(struct broker *b, h2o_req_t *req, const char *path, size_t len)
{
	char seg[3][BROKER_NAME_MAX], sock[PATH_MAX];
	struct broker_service *svc;
	struct broker_instance *inst;
	struct broker_error err;
	struct gw_stream *gs;
	unsigned per_svc;
	size_t i = 0;
	bool found = false;
	int rc;

	/* Exactly /<service>/<instance>/<stream>. */
	for (int k = 0; k < 3; k++) {
		size_t l = 0;

		if (i >= len || path[i] != '/')
			return 1;
		for (i++; i < len && path[i] != '/'; i++, l++) {
			if (l + 1 >= BROKER_NAME_MAX)
				return 1;
			seg[k][l] = path[i];
		}
		seg[k][l] = '\0';
	}
	if (i != len)
		return 1;
	svc = broker_service_find(b, seg[0]);
	for (unsigned k = 0; svc && k < svc->n_streams; k++)
		found |= strcmp(svc->streams[k], seg[2]) == 0;
	if (!found)
		return 1;
	if (broker_method_check(req, "GET, OPTIONS"))
		return 0;
	inst = broker_instance_find(b, seg[1]);
	if (!inst || strcmp(inst->service, svc->name) != 0) {
		broker_error_set(&err, 404, "invalid-value", NULL, "no %s instance named %s", svc->name, seg[1]);
		broker_reply_error(req, &err);
		return 0;
	}
	if (broker_service_require_up(b, svc->name, &err)) {
		broker_reply_error(req, &err);
		return 0;
	}
	per_svc = (max_total(b) + 1) / 2;
	if (open_total(b) >= max_total(b) || svc->streams_open >= per_svc) {
		PCN_WARN("BROKER-STREAM-CAP", "a stream of %s/%s refused: %u streams open (%u of %s; at most %u, "
			 "%u per service: --max-streams)", seg[1], seg[2], open_total(b), svc->streams_open,
			 svc->name, max_total(b), per_svc);
		if (svc->streams_open >= per_svc)
			broker_error_set(&err, 503, "resource-denied", NULL,
					 "too many live streams of %s are open: %u, the most one service may have "
					 "(half of --max-streams %u)", svc->name, svc->streams_open, max_total(b));
		else
			broker_error_set(&err, 503, "resource-denied", NULL,
					 "too many live streams are open: %u, the most the broker allows "
					 "(--max-streams)", open_total(b));
		broker_reply_error(req, &err);
		return 0;
	}
	rc = stream_path(b, svc, sock, sizeof(sock));
	if (rc) {
		PCN_WARN("BROKER-STREAM-PATH", "%s registered the endpoint %s, which has no stream socket the "
			 "broker trusts (%s)", svc->name, svc->endpoint, strerror(-rc));
		broker_error_set(&err, 503, "resource-denied", NULL, "the %s process serves no streams", svc->name);
		broker_reply_error(req, &err);
		return 0;
	}
	gs = calloc(1, sizeof(*gs));
	if (!gs || !(gs->pd = broker_pending_new(b, req))) {
		free(gs);
		broker_error_set(&err, 503, "resource-denied", NULL, "out of memory");
		broker_reply_error(req, &err);
		return 0;
	}
	gs->b = b;
	snprintf(gs->service, sizeof(gs->service), "%s", svc->name);
	snprintf(gs->instance, sizeof(gs->instance), "%s", inst->name);
	snprintf(gs->name, sizeof(gs->name), "%s", seg[2]);
	snprintf(gs->hello, sizeof(gs->hello), "%s %s\n", inst->name, seg[2]);
	uv_pipe_init(b->loop, &gs->pipe, 0);
	uv_timer_init(b->loop, &gs->timer);
	gs->pipe.data = gs->timer.data = gs->conn_req.data = gs;
	gs->handles = 2;
	svc->streams_open++;
	uv_timer_start(&gs->timer, on_timer, ANSWER_TIMEOUT_MS, PEEK_MS);
	uv_pipe_connect(&gs->conn_req, &gs->pipe, sock, on_connect);
	return 0;
}

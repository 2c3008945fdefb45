/* nng sockets between the broker and the cube processes.
 *
 * broker.sock (REP, a few contexts) takes the cube processes' requests;
 * each service has a REQ socket dialed to its process for the broker's
 * requests (apply, read). aio callbacks run on nng's threads and only post
 * to the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control/control.h"
#include "core/core.h"
#include "model/model.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include "log.h"
#include "ipc.h"

#define REP_SLOTS 4

enum slot_state { SLOT_RECV, SLOT_SEND };

struct broker_rep_slot {
	struct broker *b;
	nng_ctx ctx;
	nng_aio *aio;
	enum slot_state state;
	nng_msg *msg;
};

static void rep_handle(struct broker *b, void *arg);

static void rep_cb(void *arg)
{
	struct broker_rep_slot *s = arg;
	int rv = nng_aio_result(s->aio);

	if (s->state == SLOT_SEND) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(s->aio));
		s->state = SLOT_RECV;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv != 0) {
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	s->msg = nng_aio_get_msg(s->aio);
	broker_post(s->b, rep_handle, s);
}

static void rep_handle(struct broker *b, void *arg)
{
	struct broker_rep_slot *s = arg;
	Cubemesh__BrokerReply reply = CUBEMESH__BROKER_REPLY__INIT;
	Cubemesh__Status status = CUBEMESH__STATUS__INIT;
	Cubemesh__BrokerRequest *req = NULL;
	char errbuf[512] = "";
	nng_msg *out = NULL;
	int rc;

	reply.status = &status;
	rc = pcn_ipc_unpack(&cubemesh__broker_request__descriptor, nng_msg_body(s->msg),
			     nng_msg_len(s->msg), (ProtobufCMessage **)&req);
	if (rc) {
		PCN_WARN("BROKER-IPC-BAD", "rejected a malformed request from a cube process (%zu bytes)",
			 nng_msg_len(s->msg));
		status.code = -EBADMSG;
		status.message = "malformed request";
	} else {
		reply.status = &status;
		broker_registry_handle(b, req, &reply, errbuf, sizeof(errbuf));
		if (reply.status->code && !reply.status->message)
			reply.status->message = errbuf;
	}
	nng_msg_free(s->msg);
	s->msg = NULL;
	rc = pcn_ipc_pack((const ProtobufCMessage *)&reply, &out);
	if (req)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	if (rc) {
		s->state = SLOT_RECV;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	s->state = SLOT_SEND;
	nng_aio_set_msg(s->aio, out);
	nng_ctx_send(s->ctx, s->aio);
}

/* Only root may talk to the broker: the socket's directory is 0700 already,
 * and this closes any pipe whose peer is not root anyway. */
static void rep_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	if (ev == NNG_PIPE_EV_ADD_PRE && !pcn_ipc_peer_is_root(p)) {
		PCN_WARN("BROKER-PEER-DENIED", "refused a connection from a non-root process");
		nng_pipe_close(p);
	}
}

int broker_cubeconn_start(struct broker *b)
{
	char url[512], path[512];
	int rv;

	if (mkdir(b->opts.sock_dir, 0700) && errno != EEXIST)
		return -errno;
	chmod(b->opts.sock_dir, 0700);
	snprintf(path, sizeof(path), "%s/" PCN_SOCK_BROKER, b->opts.sock_dir);
	unlink(path); /* a stale socket from a broker that was killed */
	pcn_ipc_url(url, sizeof(url), b->opts.sock_dir, PCN_SOCK_BROKER);
	rv = nng_rep0_open(&b->rep);
	if (rv)
		return pcn_ipc_errno(rv);
	b->rep_open = true;
	/* A peer announcing a huge frame is dropped before nng allocates it. */
	rv = pcn_ipc_cap(b->rep);
	if (rv)
		return rv;
	nng_pipe_notify(b->rep, NNG_PIPE_EV_ADD_PRE, rep_pipe_cb, b);
	rv = nng_listen(b->rep, url, NULL, 0);
	if (rv) {
		PCN_ERR("BROKER-LISTEN", "cannot listen on %s: %s", url, nng_strerror(rv));
		return pcn_ipc_errno(rv);
	}
	chmod(path, 0600);
	b->rep_slots = calloc(REP_SLOTS, sizeof(*b->rep_slots));
	if (!b->rep_slots)
		return -ENOMEM;
	for (int i = 0; i < REP_SLOTS; i++) {
		struct broker_rep_slot *s = &b->rep_slots[i];

		s->b = b;
		if ((rv = nng_aio_alloc(&s->aio, rep_cb, s)) || (rv = nng_ctx_open(&s->ctx, b->rep)))
			return pcn_ipc_errno(rv);
		s->state = SLOT_RECV;
		nng_ctx_recv(s->ctx, s->aio);
	}
	PCN_INFO("BROKER-NNG-LISTEN", "cube processes connect to %s", url);
	return 0;
}

void broker_cubeconn_stop(struct broker *b)
{
	if (b->rep_open) {
		nng_close(b->rep);
		b->rep_open = false;
	}
	if (b->rep_slots) {
		for (int i = 0; i < REP_SLOTS; i++)
			if (b->rep_slots[i].aio)
				nng_aio_free(b->rep_slots[i].aio);
		free(b->rep_slots);
		b->rep_slots = NULL;
	}
	for (struct broker_service *svc = b->services; svc; svc = svc->next)
		broker_cubeconn_close(b, svc);
}

/* ---- broker -> cube calls ---------------------------------------------- */

/* What a REQ socket's pipe callback needs; one per dial, freed when the
 * socket is closed (nng_close waits for running callbacks). */
struct req_notify {
	struct broker *b;
	struct broker_service *svc;
	unsigned gen;
	/* Set before we close the socket ourselves: the pipe's end is then
	 * ours, and the event it raises is stale (a new registration or a
	 * loss already bumped gen) or comes during shutdown, when no loop
	 * pass is left to run it and free its argument. */
	bool closing;
};

struct lost_event {
	struct broker_service *svc;
	unsigned gen;
};

static void lost_handle(struct broker *b, void *arg)
{
	struct lost_event *ev = arg;

	broker_service_lost(b, ev->svc, ev->gen);
	free(ev);
}

/* The cube's process went away: its ipc connection closed. */
static void req_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct req_notify *n = arg;
	struct lost_event *le;

	if (ev != NNG_PIPE_EV_REM_POST || __atomic_load_n(&n->closing, __ATOMIC_ACQUIRE))
		return;
	le = malloc(sizeof(*le));
	if (!le)
		return;
	le->svc = n->svc;
	le->gen = n->gen;
	broker_post_free(n->b, lost_handle, le);
}

int broker_cubeconn_dial(struct broker *b, struct broker_service *svc)
{
	struct req_notify *n;
	int rv;

	broker_cubeconn_close(b, svc);
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->b = b;
	n->svc = svc;
	n->gen = svc->gen;
	rv = nng_req0_open(&svc->req);
	if (rv) {
		free(n);
		return pcn_ipc_errno(rv);
	}
	svc->req_open = true;
	svc->notify = n;
	rv = pcn_ipc_cap(svc->req);
	if (rv) {
		broker_cubeconn_close(b, svc);
		return rv;
	}
	/* A request is never re-sent to a new process: it may not be idempotent,
	 * and the new process gets the whole configuration replayed anyway. */
	nng_socket_set_ms(svc->req, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_pipe_notify(svc->req, NNG_PIPE_EV_REM_POST, req_pipe_cb, n);
	rv = nng_dial(svc->req, svc->endpoint, NULL, NNG_FLAG_NONBLOCK);
	if (rv) {
		PCN_ERR("BROKER-DIAL", "cannot dial %s for %s: %s", svc->endpoint, svc->name, nng_strerror(rv));
		broker_cubeconn_close(b, svc);
		return pcn_ipc_errno(rv);
	}
	return 0;
}

void broker_cubeconn_close(struct broker *b, struct broker_service *svc)
{
	if (svc->notify)
		__atomic_store_n(&svc->notify->closing, true, __ATOMIC_RELEASE);
	if (svc->req_open) {
		nng_close(svc->req);
		svc->req_open = false;
	}
	free(svc->notify);
	svc->notify = NULL;
}

enum call_state { CALL_SEND, CALL_RECV };

struct broker_call {
	struct broker_call *next;
	struct broker *b;
	struct broker_service *svc;
	nng_aio *aio;
	nng_ctx ctx;
	enum call_state state;
	int result;
	nng_msg *reply;
	broker_call_cb cb;
	void *arg;
	unsigned timeout_ms;
	size_t max_reply;  /* 0: PCN_IPC_MAX_MSG only */
	bool posted;  /* call_complete is queued on the loop */
	bool aborted; /* its callback ran already (broker_cube_calls_abort) */
	/* broker_cube_call_ordered: delivered in the order sent, among the
	 * ordered calls of its service; ready: answered, waiting for an
	 * earlier one. */
	bool ordered, ready;
	uint64_t order;
};

static void call_complete(struct broker *b, void *arg);

static void call_aio_cb(void *arg)
{
	struct broker_call *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->state == CALL_SEND) {
		if (rv) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			c->result = rv;
			c->posted = true;
			broker_post(c->b, call_complete, c);
			return;
		}
		c->state = CALL_RECV;
		/* After nng_aio_stop this fails at once without a callback. */
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	c->result = rv;
	if (!rv)
		c->reply = nng_aio_get_msg(c->aio);
	c->posted = true;
	broker_post(c->b, call_complete, c);
}

static void call_free(struct broker_call *c)
{
	if (c->reply)
		nng_msg_free(c->reply);
	nng_ctx_close(c->ctx);
	nng_aio_free(c->aio);
	free(c);
}

static void call_unlink(struct broker_call *c)
{
	for (struct broker_call **pp = &c->svc->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void call_deliver(struct broker *b, struct broker_call *c);

/* The earliest ordered call of svc still in flight or waiting. */
static struct broker_call *ordered_first(struct broker_service *svc)
{
	struct broker_call *first = NULL;

	for (struct broker_call *c = svc->calls; c; c = c->next)
		if (c->ordered && (!first || c->order < first->order))
			first = c;
	return first;
}

static void call_complete(struct broker *b, void *arg)
{
	struct broker_call *c = arg, *f;
	struct broker_service *svc = c->svc;

	if (c->aborted) {
		/* Failed already, synchronously: only the memory is left. */
		call_free(c);
		return;
	}
	if (!c->ordered) {
		call_deliver(b, c);
		return;
	}
	/* nng's threads may post two answers in either order; the cube
	 * answered them in the order they were sent, and so they are given
	 * to their callers. */
	c->ready = true;
	while ((f = ordered_first(svc)) && f->ready)
		call_deliver(b, f);
}

static void call_deliver(struct broker *b, struct broker_call *c)
{
	Cubemesh__CubeReply *reply = NULL;
	struct broker_error err;
	const struct broker_error *errp = NULL;

	call_unlink(c);
	if (c->result == NNG_ETIMEDOUT) {
		/* It may still act on it: 504, so callers know the outcome is unknown. */
		broker_error_set(&err, 504, "operation-failed", NULL,
				 "the %s process did not answer within %u ms", c->svc->name, c->timeout_ms);
		errp = &err;
	} else if (c->result) {
		broker_error_set(&err, 503, "operation-failed", NULL,
				 "the %s process did not answer (%s); it may be restarting",
				 c->svc->name, nng_strerror(c->result));
		errp = &err;
	} else if (c->max_reply && nng_msg_len(c->reply) > c->max_reply) {
		/* Refused before it is unpacked: a small message can unpack
		 * into many times its size of structures. */
		broker_error_set(&err, 502, "operation-failed", NULL,
				 "the %s process sent a reply of %zu bytes, more than %zu", c->svc->name,
				 nng_msg_len(c->reply), c->max_reply);
		errp = &err;
	} else if (pcn_ipc_unpack(&cubemesh__cube_reply__descriptor, nng_msg_body(c->reply),
				   nng_msg_len(c->reply), (ProtobufCMessage **)&reply)) {
		broker_error_set(&err, 500, "operation-failed", NULL, "the %s process sent a malformed reply",
				 c->svc->name);
		errp = &err;
	} else if (reply->status->code) {
		const Cubemesh__Status *st = reply->status;

		broker_error_set(&err, st->has_http_status && st->http_status ? (int)st->http_status : 500,
				 st->error_tag ? st->error_tag : "operation-failed", st->error_path, "%s",
				 st->message ? st->message : strerror(-st->code));
		errp = &err;
	}
	c->cb(b, c->arg, errp, errp ? NULL : reply);
	if (reply)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)reply, NULL);
	call_free(c);
}

int broker_cube_call(struct broker *b, struct broker_service *svc, const Cubemesh__CubeRequest *req,
		     broker_call_cb cb, void *arg)
{
	return broker_cube_call_ms(b, svc, req, b->opts.call_timeout_ms, 0, cb, arg);
}

int broker_cube_call_ordered(struct broker *b, struct broker_service *svc, const Cubemesh__CubeRequest *req,
			     broker_call_cb cb, void *arg)
{
	static uint64_t order;
	int rc = broker_cube_call_ms(b, svc, req, b->opts.call_timeout_ms, 0, cb, arg);

	/* The call just made is the first of the list. */
	if (rc == 0) {
		svc->calls->ordered = true;
		svc->calls->order = ++order;
	}
	return rc;
}

int broker_cube_call_ms(struct broker *b, struct broker_service *svc, const Cubemesh__CubeRequest *req,
			unsigned timeout_ms, size_t max_reply, broker_call_cb cb, void *arg)
{
	struct broker_call *c;
	nng_msg *msg = NULL;
	int rv;

	if (!svc->req_open)
		return -ENOTCONN;
	if (svc->aborting)
		return -ECANCELED; /* a callback of broker_cube_calls_abort calling again */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->b = b;
	c->svc = svc;
	c->cb = cb;
	c->arg = arg;
	rv = pcn_ipc_pack((const ProtobufCMessage *)req, &msg);
	if (rv)
		goto fail;
	if ((rv = nng_aio_alloc(&c->aio, call_aio_cb, c)) || (rv = nng_ctx_open(&c->ctx, svc->req))) {
		rv = pcn_ipc_errno(rv);
		goto fail;
	}
	c->timeout_ms = timeout_ms;
	c->max_reply = max_reply;
	nng_aio_set_timeout(c->aio, (nng_duration)timeout_ms);
	nng_aio_set_msg(c->aio, msg);
	c->state = CALL_SEND;
	c->next = svc->calls;
	svc->calls = c;
	nng_ctx_send(c->ctx, c->aio);
	return 0;
fail:
	if (msg)
		nng_msg_free(msg);
	if (c->aio)
		nng_aio_free(c->aio);
	free(c);
	return rv;
}

/* Synchronous: a caller may free what the calls' callbacks hold right
 * after (an upgrade frees the old model's context, and a write in flight
 * holds a tree of it: cancelling and letting the completion run later freed
 * that tree after its context). nng_aio_stop waits for nng's callback, so
 * afterwards either call_complete is posted (it only frees, c->aborted) or
 * nothing more happens to c. */
void broker_cube_calls_abort(struct broker *b, struct broker_service *svc)
{
	struct broker_call *c;
	bool was = svc->aborting;

	svc->aborting = true;
	while ((c = svc->calls)) {
		struct broker_error err;

		svc->calls = c->next;
		nng_aio_stop(c->aio);
		if (c->reply) {
			nng_msg_free(c->reply);
			c->reply = NULL;
		}
		broker_error_set(&err, 503, "operation-failed", NULL,
				 "the %s process went away or is being replaced before it answered",
				 svc->name);
		c->cb(b, c->arg, &err, NULL);
		/* A ready call's completion ran already (it waited for an
		 * earlier one): nothing else frees it. */
		if (c->posted && !c->ready)
			c->aborted = true;
		else
			call_free(c);
	}
	svc->aborting = was;
}

int broker_cube_call_rebind(struct broker_service *svc, void *old_arg, broker_call_cb cb, void *arg)
{
	for (struct broker_call *c = svc->calls; c; c = c->next)
		if (c->arg == old_arg) {
			c->cb = cb;
			c->arg = arg;
			return 0;
		}
	return -ENOENT;
}

/* The cube's slow path: PacketInBatch from the broker to the author's
 * pkt_in callback, and pcn_send_packet_out back to the broker.
 *
 * Both sockets are one-way streams. The broker PUSHes packets to our PULL
 * (listened on cube-<svc>-pkt.sock, so the broker finds it from the socket
 * directory alone); we PUSH packets out to the broker's slowpath.sock. The
 * serving thread polls the request socket and the packet socket together,
 * so pkt_in runs on the same thread as every other callback and authors
 * need no locks.
 */
#include "pcn_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "pcn_kern_user.h"
#include "ipc.h"

/* Packets out per PacketOutBatch; a callback that sends more flushes early. */
#define SP_OUT_BATCH 256
/* Batches queued toward a slow broker before sends fail with -EAGAIN. */
#define SP_SENDBUF 64
/* The longest frame a cube may send out. */
#define SP_MAX_FRAME 9000
/* Packet batches queued from the broker before it must drop. */
#define SP_RECVBUF 64
/* Packet messages handled per wakeup, so requests are not starved. */
#define SP_IN_PER_TURN 64

/* The instance the serving thread works for now, so that control-plane log
 * lines can be followed per cube (GET /logs?cube=). */
__thread const char *pcn__log_instance;

struct pcn__slowpath {
	nng_socket pull, push, logs;
	bool pull_open, push_open, logs_open;
	const char *service;
	int pull_fd;
	bool in_batch; /* inside a PacketInBatch: packets out wait for its end */
	size_t n_out;
	Cubemesh__PacketOut out[SP_OUT_BATCH];
	Cubemesh__PacketOut *out_ptrs[SP_OUT_BATCH];
	uint8_t *out_data[SP_OUT_BATCH];
	uint64_t bad_messages; /* malformed or unauthorised packet messages */
	uint64_t no_instance;  /* packets for an instance we do not have */
	uint64_t unhandled;    /* packets for a cube without pkt_in */
	uint64_t out_lost;     /* packets out the broker could not take */
	/* The out_lost the broker last got (it rides on PacketOutBatch, for
	 * GET /metrics); UINT64_MAX: tell it again. report_again is set on
	 * nng's thread when a broker connects (it may be a new one). */
	uint64_t out_lost_reported;
	atomic_bool report_again;
	/* Our registration's token (runtime.c sets it from its register
	 * thread); the broker serves no packet out without it. */
	pthread_mutex_t token_mu;
	uint8_t token[PCN__TOKEN_MAX];
	size_t token_len;
	uint64_t forbidden_logged_ms; /* CUBE-SP-FORBIDDEN, once a second */
	uint64_t forbidden_unsaid;
};

static uint64_t now_ms_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pcn__slowpath_set_token(struct pcn__runtime *rt, const uint8_t *tok, size_t len)
{
	struct pcn__slowpath *sp = rt->sp;

	if (!sp || len > sizeof(sp->token))
		return;
	pthread_mutex_lock(&sp->token_mu);
	if (len)
		memcpy(sp->token, tok, len);
	sp->token_len = len;
	pthread_mutex_unlock(&sp->token_mu);
	/* Reports sent before (without a token) were not taken: again. */
	atomic_store(&sp->report_again, true);
}

size_t pcn__slowpath_token(struct pcn__runtime *rt, uint8_t out[PCN__TOKEN_MAX])
{
	struct pcn__slowpath *sp = rt->sp;
	size_t len;

	if (!sp)
		return 0;
	pthread_mutex_lock(&sp->token_mu);
	len = sp->token_len;
	memcpy(out, sp->token, len);
	pthread_mutex_unlock(&sp->token_mu);
	return len;
}

/* Listens for packets in on cube-<svc>-pkt.sock and sets pull_fd. */
static int sp_listen(struct pcn__runtime *rt, bool quiet)
{
	char name[PCN__NAME_MAX + 16], url[PATH_MAX + 32], path[PATH_MAX + 32];
	struct pcn__slowpath *sp = rt->sp;
	int rc;

	pcn_sock_cube(name, sizeof(name), PCN_SOCK_CUBE_PKT, rt->desc->service, 0);
	rc = pcn_ipc_url(url, sizeof(url), rt->socket_dir, name);
	if (rc)
		return rc;
	/* Never let nng probe a live older process's socket (upgrade.c). */
	if (snprintf(path, sizeof(path), "%s/%s", rt->socket_dir, name) < (int)sizeof(path) && pcn__ipc_live(path))
		return -EADDRINUSE;
	rc = pcn_ipc_errno(nng_listen(sp->pull, url, NULL, 0));
	if (rc) {
		if (!quiet)
			PCN_ERR("CUBE-SP-LISTEN", "cannot listen on %s: %s", url, strerror(-rc));
		return rc;
	}
	if (snprintf(path, sizeof(path), "%s/%s", rt->socket_dir, name) < (int)sizeof(path))
		chmod(path, 0600);
	return pcn_ipc_errno(nng_socket_get_int(sp->pull, NNG_OPT_RECVFD, &sp->pull_fd));
}

static void logs_open(struct pcn__runtime *rt);

/* A broker (maybe a restarted one, which knows nothing yet) connected. */
static void on_push_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct pcn__slowpath *sp = arg;

	(void)p;
	(void)ev;
	atomic_store(&sp->report_again, true);
}

int pcn__slowpath_start(struct pcn__runtime *rt)
{
	char url[PATH_MAX + 32];
	struct pcn__slowpath *sp;
	int rc;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	rt->sp = sp;
	pthread_mutex_init(&sp->token_mu, NULL);
	sp->pull_fd = -1;
	sp->service = rt->desc->service;
	sp->out_lost_reported = UINT64_MAX;
	rc = pcn_ipc_errno(nng_pull0_open(&sp->pull));
	if (rc)
		return rc;
	sp->pull_open = true;
	rc = pcn_ipc_cap(sp->pull);
	if (rc)
		return rc;
	/* Room for bursts; beyond it the broker's sends fail and it counts
	 * the drops (queue_full) instead of waiting for us. */
	nng_socket_set_int(sp->pull, NNG_OPT_RECVBUF, SP_RECVBUF);
	rc = sp_listen(rt, true);
	if (rc == -EADDRINUSE) {
		/* An older process of this cube still has it: we are its
		 * upgrade. pcn__slowpath_wait listens once it has exited; the
		 * broker's PUSH redials by itself. */
		PCN_INFO("CUBE-SP-LATER", "the slow-path socket is another %s process's: taken over "
			 "when it exits", rt->desc->service);
		rc = 0;
	} else if (rc) {
		PCN_ERR("CUBE-SP-LISTEN", "cannot listen for packets in: %s", strerror(-rc));
	}
	if (rc)
		return rc;

	rc = pcn_ipc_url(url, sizeof(url), rt->socket_dir, PCN_SOCK_SLOWPATH);
	if (rc)
		return rc;
	rc = pcn_ipc_errno(nng_push0_open(&sp->push));
	if (rc)
		return rc;
	sp->push_open = true;
	pcn_ipc_cap(sp->push);
	nng_socket_set_int(sp->push, NNG_OPT_SENDBUF, SP_SENDBUF);
	nng_socket_set_ms(sp->push, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(sp->push, NNG_OPT_RECONNMAXT, 1000);
	nng_pipe_notify(sp->push, NNG_PIPE_EV_ADD_POST, on_push_pipe, sp);
	rc = pcn_ipc_errno(nng_dial(sp->push, url, NULL, NNG_FLAG_NONBLOCK));
	if (!rc)
		logs_open(rt);
	return rc;
}

/* Every log line of the process also goes to the broker's log sink (one
 * LogRecord per message; log lines are few). Non-blocking: a line the
 * broker cannot take is lost, never waited for. Runs under the logger's
 * lock, on any thread: nng sockets are thread-safe, and nothing here logs. */
static void log_to_broker(enum pcn_log_level level, const char *line, void *arg)
{
	struct pcn__slowpath *sp = arg;
	Cubemesh__LogRecord rec = CUBEMESH__LOG_RECORD__INIT;
	Cubemesh__LogRecord *recs[1] = { &rec };
	Cubemesh__LogBatch batch = CUBEMESH__LOG_BATCH__INIT;
	uint8_t buf[1024];
	size_t len;

	rec.level = (uint32_t)level;
	rec.service = (char *)sp->service;
	rec.instance = (char *)pcn__log_instance;
	rec.message = (char *)line;
	rec.has_source = 1;
	rec.source = CUBEMESH__LOG_SOURCE__LOG_CONTROL;
	batch.n_records = 1;
	batch.records = recs;
	len = cubemesh__log_batch__get_packed_size(&batch);
	if (len > sizeof(buf))
		return;
	cubemesh__log_batch__pack(&batch, buf);
	nng_send(sp->logs, buf, len, NNG_FLAG_NONBLOCK);
}

static void logs_open(struct pcn__runtime *rt)
{
	struct pcn__slowpath *sp = rt->sp;
	char url[PATH_MAX + 32];

	if (pcn_ipc_url(url, sizeof(url), rt->socket_dir, PCN_SOCK_LOGS) || nng_push0_open(&sp->logs))
		return;
	sp->logs_open = true;
	pcn_ipc_cap(sp->logs);
	sp->service = rt->desc->service;
	nng_socket_set_int(sp->logs, NNG_OPT_SENDBUF, SP_SENDBUF);
	nng_socket_set_ms(sp->logs, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(sp->logs, NNG_OPT_RECONNMAXT, 1000);
	if (nng_dial(sp->logs, url, NULL, NNG_FLAG_NONBLOCK) == 0)
		pcn_log_set_sink(log_to_broker, sp);
}

void pcn__slowpath_stop(struct pcn__runtime *rt)
{
	struct pcn__slowpath *sp = rt->sp;

	if (!sp)
		return;
	if (sp->logs_open) {
		pcn_log_set_sink(NULL, NULL);
		nng_close(sp->logs);
	}
	if (sp->pull_open)
		nng_close(sp->pull);
	if (sp->push_open)
		nng_close(sp->push);
	for (size_t i = 0; i < sp->n_out; i++)
		free(sp->out_data[i]);
	pthread_mutex_destroy(&sp->token_mu);
	free(sp);
	rt->sp = NULL;
}

/* Sends the packets out waiting in sp as one batch, with the count of
 * those lost so far; with report, even when there are none. */
static int flush_out(struct pcn__slowpath *sp, bool report)
{
	Cubemesh__PacketOutBatch batch = CUBEMESH__PACKET_OUT_BATCH__INIT;
	uint64_t lost = sp->out_lost;
	uint8_t token[PCN__TOKEN_MAX];
	nng_msg *msg = NULL;
	int rc = 0;

	if (!sp->n_out && !report)
		return 0;
	pthread_mutex_lock(&sp->token_mu);
	batch.token.len = sp->token_len;
	memcpy(token, sp->token, sp->token_len);
	pthread_mutex_unlock(&sp->token_mu);
	batch.has_token = batch.token.len > 0;
	batch.token.data = token;
	batch.n_packets = sp->n_out;
	batch.packets = sp->out_ptrs;
	batch.has_out_lost = batch.has_pid = 1;
	batch.out_lost = lost;
	batch.pid = (uint32_t)getpid();
	batch.service = (char *)sp->service;
	rc = pcn_ipc_pack(&batch.base, &msg);
	if (!rc) {
		rc = pcn_ipc_errno(nng_sendmsg(sp->push, msg, NNG_FLAG_NONBLOCK));
		if (rc)
			nng_msg_free(msg);
	}
	if (!rc)
		sp->out_lost_reported = lost;
	if (rc && sp->n_out) {
		/* Said at the first loss and then every 2^16: a flood of
		 * warnings would only add to the load that caused them. */
		if ((sp->out_lost >> 16) != ((sp->out_lost + sp->n_out) >> 16) || !sp->out_lost)
			PCN_WARN("CUBE-SP-OUT-LOST", "the broker's queue is full: %llu packets out lost so far",
				 (unsigned long long)(sp->out_lost + sp->n_out));
		sp->out_lost += sp->n_out;
	}
	for (size_t i = 0; i < sp->n_out; i++)
		free(sp->out_data[i]);
	sp->n_out = 0;
	return rc;
}

int pcn_send_packet_out(struct pcn_instance *inst, uint32_t port, enum pcn_direction dir,
			const void *data, size_t len)
{
	struct pcn__slowpath *sp = inst && inst->rt ? inst->rt->sp : NULL;
	Cubemesh__PacketOut *po;
	uint8_t *copy;

	if (!sp || !sp->push_open)
		return -ENOTCONN;
	if (!data || len < 14 || len > SP_MAX_FRAME || (dir != PCN_DIR_INGRESS && dir != PCN_DIR_EGRESS))
		return -EINVAL;
	if (sp->n_out == SP_OUT_BATCH && flush_out(sp, false))
		return -EAGAIN;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	po = &sp->out[sp->n_out];
	cubemesh__packet_out__init(po);
	po->instance = inst->name;
	po->port = port;
	po->direction = dir == PCN_DIR_EGRESS ? CUBEMESH__DIRECTION__DIR_EGRESS : CUBEMESH__DIRECTION__DIR_INGRESS;
	po->data.data = copy;
	po->data.len = len;
	sp->out_data[sp->n_out] = copy;
	sp->out_ptrs[sp->n_out] = po;
	sp->n_out++;
	/* Inside a batch of packets in, the whole batch's packets out leave
	 * together; alone, right away. */
	return sp->in_batch ? 0 : flush_out(sp, false);
}

/* True when batch carries our registration's token: it comes from the
 * broker, not from another container that shares the socket directory.
 * Compared in constant time. */
static bool from_broker(struct pcn__slowpath *sp, const Cubemesh__PacketInBatch *batch)
{
	uint8_t diff = 0;
	bool ok;

	pthread_mutex_lock(&sp->token_mu);
	ok = sp->token_len && batch->has_token && batch->token.len == sp->token_len;
	for (size_t i = 0; ok && i < sp->token_len; i++)
		diff |= sp->token[i] ^ batch->token.data[i];
	pthread_mutex_unlock(&sp->token_mu);
	return ok && !diff;
}

/* Logs a refused batch at most once a second, with the count since. */
static void log_forbidden(struct pcn__slowpath *sp)
{
	uint64_t now = now_ms_mono();

	if (sp->forbidden_logged_ms && now - sp->forbidden_logged_ms < 1000) {
		sp->forbidden_unsaid++;
		return;
	}
	PCN_WARN("CUBE-SP-FORBIDDEN", "refused a packet batch without this service's token: not from the "
		 "broker (%llu more in the last second not logged)", (unsigned long long)sp->forbidden_unsaid);
	sp->forbidden_logged_ms = now;
	sp->forbidden_unsaid = 0;
}

/* check: refuse a batch that does not carry our token (the socket's path;
 * tests hand batches in directly). */
static int handle(struct pcn__runtime *rt, const void *buf, size_t len, bool check)
{
	struct pcn__slowpath *sp = rt->sp;
	Cubemesh__PacketInBatch *batch = NULL;
	int rc;

	rc = pcn_ipc_unpack(&cubemesh__packet_in_batch__descriptor, buf, len, (ProtobufCMessage **)&batch);
	if (rc) {
		if (sp)
			sp->bad_messages++;
		PCN_WARN("CUBE-SP-BAD", "malformed packet batch from the broker (%zu bytes)", len);
		return rc;
	}
	if (check && (!sp || !from_broker(sp, batch))) {
		if (sp) {
			sp->bad_messages++;
			log_forbidden(sp);
		}
		protobuf_c_message_free_unpacked(&batch->base, NULL);
		return -EACCES;
	}
	if (sp)
		sp->in_batch = true;
	for (size_t i = 0; i < batch->n_packets; i++) {
		const Cubemesh__PacketIn *p = batch->packets[i];
		struct pcn_instance *inst = p->instance ? pcn__instance_find(rt, p->instance) : NULL;
		struct pcn_pkt pkt = {
			.port = p->port,
			.reason = p->reason,
			.data = p->data.data,
			.len = p->data.len,
			.orig_len = p->orig_len,
			.direction = p->has_direction && p->direction == CUBEMESH__DIRECTION__DIR_EGRESS
					     ? PCN_DIR_EGRESS
					     : PCN_DIR_INGRESS,
		};

		if (!inst) {
			if (sp)
				sp->no_instance++;
			continue;
		}
		if (!rt->desc->pkt_in) {
			if (sp)
				sp->unhandled++;
			continue;
		}
		for (size_t k = 0; k < p->n_metadata && k < 3; k++)
			pkt.md[k] = p->metadata[k];
		pkt.port_name = pcn_port_name(inst, p->port);
		pcn__log_instance = inst->name;
		rt->desc->pkt_in(inst, &pkt);
		pcn__log_instance = NULL;
	}
	if (sp) {
		sp->in_batch = false;
		flush_out(sp, false);
	}
	protobuf_c_message_free_unpacked(&batch->base, NULL);
	return 0;
}

int pcn__slowpath_handle(struct pcn__runtime *rt, const void *buf, size_t len)
{
	return handle(rt, buf, len, false);
}

static void drain_packets(struct pcn__runtime *rt)
{
	struct pcn__slowpath *sp = rt->sp;

	for (int k = 0; k < SP_IN_PER_TURN; k++) {
		nng_msg *msg;

		if (nng_recvmsg(sp->pull, &msg, NNG_FLAG_NONBLOCK))
			break;
		/* Only the broker (root, and holding our token) may hand us
		 * packets. */
		if (!pcn_ipc_peer_is_root(nng_msg_get_pipe(msg)))
			sp->bad_messages++;
		else
			handle(rt, nng_msg_body(msg), nng_msg_len(msg), true);
		nng_msg_free(msg);
	}
}

/* Tells the broker about packets out lost since its last report (an empty
 * batch), so that /metrics has them even when no packet follows; and the
 * count so far to a broker that just connected. Never blocks: a report
 * that does not go is tried again at the next wait. */
static void report_lost(struct pcn__slowpath *sp)
{
	if (!sp || !sp->push_open)
		return;
	if (atomic_exchange(&sp->report_again, false))
		sp->out_lost_reported = UINT64_MAX;
	if (sp->out_lost_reported != sp->out_lost && !sp->in_batch)
		flush_out(sp, true);
}

int pcn__slowpath_wait(struct pcn__runtime *rt, int timeout_ms)
{
	struct pollfd pfd[3];
	int rep_fd, n = 0, rc, sfd = pcn__streams_fd(rt);

	if (nng_socket_get_int(rt->rep, NNG_OPT_RECVFD, &rep_fd))
		return 1; /* cannot poll: let the caller's receive wait instead */
	if (rt->sp && rt->sp->pull_open && rt->sp->pull_fd < 0 && sp_listen(rt, true) == 0)
		PCN_INFO("CUBE-SP-TAKEN", "the slow-path socket is ours now");
	pfd[n++] = (struct pollfd){ .fd = rep_fd, .events = POLLIN };
	if (rt->sp && rt->sp->pull_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = rt->sp->pull_fd, .events = POLLIN };
	report_lost(rt->sp);
	/* Wakes the loop for stream callbacks (stream.c); handled by the caller. */
	if (sfd >= 0)
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc <= 0)
		return 0;
	if (n > 1 && pfd[1].fd != sfd && (pfd[1].revents & POLLIN))
		drain_packets(rt);
	return (pfd[0].revents & POLLIN) ? 1 : 0;
}

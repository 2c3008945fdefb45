/* The log sink: fast-path pcn_log lines (from slowpath.c) and the cube
 * processes' own log lines (LogBatch on <sock_dir>/logs.sock), kept in a
 * bounded ring so that GET /logs can show them per service and per cube,
 * and be followed by asking again from the `next` it returned:
 *
 *   GET /polycube/v1/logs?service=helloworld&cube=hw1&since=120
 *   -> {"next": 131, "lines": [{"seq", "time", "level", "source",
 *       "service", "cube", "message"}, ...]}
 *
 * Every line also goes to the broker's own log (stderr), as before. The
 * broker's own lines come here too (service "pcn-broker", source
 * "broker"), through the logger's sink: they are written on whatever thread
 * logged them, so the ring has a lock; nothing under it logs, so a line
 * never recurses or waits for another.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <jansson.h>
#include <uv.h>

#include "core/core.h"
#include "slowpath/slowpath.h"
#include "log.h"
#include "ipc.h"

/* Lines kept; older ones are overwritten. */
#define LS_LINES 2048
/* Lines one GET returns at most. */
#define LS_PAGE 500
/* Messages taken from logs.sock per loop iteration. */
#define LS_PER_TURN 256
/* Records one LogBatch may carry (a cube sends one per batch): a batch
 * must not flush the whole ring by itself. Beyond it, counted rejected. */
#define LS_RECORDS_MAX 64
/* The service the broker's own lines are filed under. */
#define LS_BROKER_SERVICE "pcn-broker"

/* Where a line came from (its "source" in GET /logs). */
enum ls_source {
	LS_CONTROL,  /* a cube process's control plane */
	LS_FASTPATH, /* pcn_log in a fast path */
	LS_BROKER,   /* the broker itself */
};

static const char *const ls_source_names[] = { "control", "fastpath", "broker" };

struct ls_line {
	uint64_t seq;
	uint64_t time_ms;
	int level;
	enum ls_source source;
	char service[BROKER_NAME_MAX];
	char cube[BROKER_NAME_MAX];
	char message[256];
};

struct broker_logsink {
	struct broker *b;
	nng_socket pull;
	bool pull_open;
	uv_poll_t poll;
	bool polling;
	uint64_t next_seq; /* of the next line; the first line is 1 */
	uint64_t bad;      /* malformed messages on logs.sock */
	bool sink_set;     /* the broker's lines come here */
	pthread_mutex_t mu; /* lines and next_seq: the sink writes from any thread */
	struct ls_line lines[LS_LINES];
};

static void ls_add(struct broker_logsink *ls, int level, enum ls_source source, const char *service,
		   const char *cube, const char *message)
{
	struct ls_line *l;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&ls->mu);
	l = &ls->lines[ls->next_seq % LS_LINES];
	clock_gettime(CLOCK_REALTIME, &ts);
	l->seq = ls->next_seq++;
	l->time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Callers check the level; a bad one must not reach the output. */
	l->level = level >= PCN_LOG_TRACE && level < PCN_LOG_OFF ? level : PCN_LOG_INFO;
	l->source = source;
	/* Shown as JSON strings, which must be UTF-8: a bad byte (or a cut
	 * in the middle of a character) would turn the whole string null. */
	pcn_log_utf8_copy(l->service, sizeof(l->service), service);
	pcn_log_utf8_copy(l->cube, sizeof(l->cube), cube);
	pcn_log_utf8_copy(l->message, sizeof(l->message), message);
	pthread_mutex_unlock(&ls->mu);
}

void broker_logsink_add(struct broker *b, int level, bool fastpath, const char *service, const char *cube,
			const char *message)
{
	if (b->logsink)
		ls_add(b->logsink, level, fastpath ? LS_FASTPATH : LS_CONTROL, service, cube, message);
}

/* The logger's sink: a line of the broker's ("ID: text"). Runs under the
 * logger's lock on the thread that logged. Fast-path lines are also
 * written to the broker's log (CUBE-FASTPATH-LOG) but are in the ring
 * already, under their cube. */
static void ls_broker_line(enum pcn_log_level level, const char *line, void *arg)
{
	static const char fp[] = "CUBE-FASTPATH-LOG: ";

	if (strncmp(line, fp, sizeof(fp) - 1) == 0)
		return;
	ls_add(arg, (int)level, LS_BROKER, LS_BROKER_SERVICE, "", line);
}

uint64_t broker_logsink_rejected(struct broker *b)
{
	return b->logsink ? b->logsink->bad : 0;
}

static void on_pull(uv_poll_t *h, int status, int events)
{
	struct broker_logsink *ls = h->data;

	(void)events;
	if (status < 0)
		return;
	for (int k = 0; k < LS_PER_TURN; k++) {
		Cubemesh__LogBatch *batch = NULL;
		nng_msg *msg;

		if (nng_recvmsg(ls->pull, &msg, NNG_FLAG_NONBLOCK))
			break;
		if (!pcn_ipc_peer_is_root(nng_msg_get_pipe(msg)) ||
		    pcn_ipc_unpack(&cubemesh__log_batch__descriptor, nng_msg_body(msg), nng_msg_len(msg),
				    (ProtobufCMessage **)&batch)) {
			ls->bad++;
			nng_msg_free(msg);
			continue;
		}
		nng_msg_free(msg);
		for (size_t i = 0; i < batch->n_records; i++) {
			const Cubemesh__LogRecord *r = batch->records[i];

			/* A level that names none (common/log.h) or a batch
			 * longer than any cube sends: refused, counted. */
			if (r->level >= PCN_LOG_OFF || i >= LS_RECORDS_MAX) {
				ls->bad++;
				continue;
			}
			broker_logsink_add(ls->b, (int)r->level, r->has_source && r->source == CUBEMESH__LOG_SOURCE__LOG_FASTPATH,
					   r->service, r->instance, r->message);
		}
		protobuf_c_message_free_unpacked(&batch->base, NULL);
	}
}

int broker_logsink_start(struct broker *b)
{
	struct broker_logsink *ls;
	char url[512], path[PATH_MAX];
	int fd, rc;

	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	ls->b = b;
	ls->next_seq = 1;
	pthread_mutex_init(&ls->mu, NULL);
	b->logsink = ls;
	pcn_log_set_sink(ls_broker_line, ls);
	ls->sink_set = true;
	rc = pcn_ipc_url(url, sizeof(url), b->opts.sock_dir, PCN_SOCK_LOGS);
	if (!rc)
		rc = pcn_ipc_errno(nng_pull0_open(&ls->pull));
	if (rc)
		goto fail;
	ls->pull_open = true;
	rc = pcn_ipc_cap(ls->pull);
	if (!rc)
		rc = pcn_ipc_errno(nng_listen(ls->pull, url, NULL, 0));
	if (rc) {
		PCN_ERR("BROKER-LOGS-LISTEN", "cannot listen on %s: %s", url, strerror(-rc));
		goto fail;
	}
	if (snprintf(path, sizeof(path), "%s/" PCN_SOCK_LOGS, b->opts.sock_dir) < (int)sizeof(path))
		chmod(path, 0600);
	rc = pcn_ipc_errno(nng_socket_get_int(ls->pull, NNG_OPT_RECVFD, &fd));
	if (!rc)
		rc = uv_poll_init(b->loop, &ls->poll, fd);
	if (rc)
		goto fail;
	ls->poll.data = ls;
	ls->polling = true;
	rc = uv_poll_start(&ls->poll, UV_READABLE, on_pull);
	if (rc)
		goto fail;
	return 0;
fail:
	broker_logsink_stop(b);
	return rc;
}

static void free_on_close(uv_handle_t *h)
{
	struct broker_logsink *ls = h->data;

	pthread_mutex_destroy(&ls->mu);
	free(ls);
}

void broker_logsink_stop(struct broker *b)
{
	struct broker_logsink *ls = b->logsink;

	if (!ls)
		return;
	/* Once this returns no line is being written through the sink. */
	if (ls->sink_set)
		pcn_log_set_sink(NULL, NULL);
	b->logsink = NULL;
	if (ls->pull_open)
		nng_close(ls->pull);
	if (ls->polling) {
		uv_close((uv_handle_t *)&ls->poll, free_on_close);
	} else {
		pthread_mutex_destroy(&ls->mu);
		free(ls);
	}
}

json_t *broker_logsink_read(struct broker *b, const char *service, const char *cube, uint64_t since)
{
	struct broker_logsink *ls = b->logsink;
	json_t *out = json_object(), *lines = json_array();
	uint64_t first, seq;
	size_t n = 0;

	seq = 1;
	if (ls) {
		pthread_mutex_lock(&ls->mu);
		seq = ls->next_seq;
		first = ls->next_seq > LS_LINES ? ls->next_seq - LS_LINES : 1;
		if (since < first)
			since = first;
		for (seq = since; seq < ls->next_seq && n < LS_PAGE; seq++) {
			const struct ls_line *l = &ls->lines[seq % LS_LINES];
			json_t *j;

			if ((service[0] && strcmp(service, l->service) != 0) || (cube[0] && strcmp(cube, l->cube) != 0))
				continue;
			j = json_object();
			json_object_set_new(j, "seq", json_integer((json_int_t)l->seq));
			json_object_set_new(j, "time", json_integer((json_int_t)l->time_ms));
			json_object_set_new(j, "level", json_string(pcn_log_level_name((enum pcn_log_level)l->level)));
			json_object_set_new(j, "source", json_string(ls_source_names[l->source]));
			json_object_set_new(j, "service", json_string(l->service));
			json_object_set_new(j, "cube", json_string(l->cube));
			json_object_set_new(j, "message", json_string(l->message));
			json_array_append_new(lines, j);
			n++;
		}
		pthread_mutex_unlock(&ls->mu);
	}
	json_object_set_new(out, "next", json_integer((json_int_t)seq));
	json_object_set_new(out, "lines", lines);
	return out;
}

/* Live streams to HTTP clients (pcn_stream_write; docs/DESIGN.md, "Live
 * streams").
 *
 * The broker's gateway connects to <socket dir>/cube-<service>.stream (a
 * unix stream socket beside the endpoint, 0600 in the 0700 directory, and
 * only a root peer is served), sends "<instance> <stream>\n" and reads
 * back one line, "OK <content type>\n" or "ERR <errno> <message>\n", then
 * the stream's bytes until either end closes.
 *
 * Threads. A stream thread of this file accepts, reads the request line
 * and writes the queued bytes, never blocking (non-blocking sockets, one
 * poll). The cube's callbacks (on_stream_open, on_stream_close) run on the
 * runtime's thread, in pcn__streams_run, which the stream thread wakes
 * through an eventfd the serving loop polls. pcn_stream_write, from any
 * thread, only copies into the stream's bounded queue under the lock.
 *
 * Life of a stream: HELLO (reading the request line; the stream thread's
 * alone) -> OPENING (the runtime thread calls on_stream_open) -> OPEN ->
 * FINISH (the cube is done with it: the rest of the queue is flushed, then
 * EOF) or DEAD (the broker's end went away and the runtime thread called
 * on_stream_close). Only the stream thread closes and frees a stream
 * (pcn__streams_stop after joining it): an fd is never closed while
 * another thread may poll it.
 */
#include "pcn_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STREAMS_MAX 64           /* clients of one process at once; the broker caps lower */
#define HELLO_MAX 160
#define HELLO_TIMEOUT_MS 2000    /* the broker sends its line at once */
#define FINISH_TIMEOUT_MS 10000  /* flushing the rest after the end */
#define CHUNK_MIN 65536
#define IOV_MAX_SEND 16

struct chunk {
	struct chunk *next;
	size_t off, len, cap;
	char data[];
};

enum st_state { ST_HELLO, ST_OPENING, ST_OPEN, ST_FINISH, ST_DEAD };

struct pcn_stream {
	struct pcn_stream *next;
	struct pcn__streams *ss;
	int fd;
	enum st_state state;
	bool gone;   /* the broker's end closed: on_stream_close is owed (runtime thread) */
	bool opened; /* on_stream_open accepted and on_stream_close has not run */
	bool busy;   /* the runtime thread is in a callback for it */
	uint64_t deadline_ms;
	char hello[HELLO_MAX];
	size_t hello_len;
	char instance[PCN__NAME_MAX];
	char name[PCN__NAME_MAX];
	char head[600]; /* the answer line, sent before the queue */
	size_t head_len, head_off;
	struct chunk *q, *q_tail;
	size_t q_bytes;
	uint64_t drops;
};

struct pcn__streams {
	struct pcn__runtime *rt;
	pthread_mutex_t lock;
	int listen_fd;
	int wake_st; /* eventfd: wakes the stream thread */
	int wake_rt; /* eventfd: wakes the runtime thread */
	pthread_t thread;
	bool thread_started;
	bool stop;
	struct pcn_stream *list;
	unsigned n;
	char path[PATH_MAX];
	dev_t dev; /* the socket file we bound, so that we remove only it */
	ino_t ino;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wake(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		PCN_DEBUG("CUBE-STREAM-WAKE", "eventfd: %s", strerror(errno));
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static void queue_free(struct pcn_stream *s)
{
	struct chunk *c, *next;

	for (c = s->q; c; c = next) {
		next = c->next;
		free(c);
	}
	s->q = s->q_tail = NULL;
	s->q_bytes = 0;
}

/* ---- the cube's API ------------------------------------------------------ */

int pcn_stream_write(struct pcn_stream *s, const void *buf, size_t len)
{
	struct pcn__streams *ss;
	struct chunk *c;
	bool kick = false;
	int rc = 0;

	if (!s || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	ss = s->ss;
	pthread_mutex_lock(&ss->lock);
	if (s->gone || (s->state != ST_OPENING && s->state != ST_OPEN)) {
		rc = -EPIPE;
	} else if (len > PCN_STREAM_QUEUE - s->q_bytes) {
		s->drops++;
		rc = -EAGAIN;
	} else {
		c = s->q_tail;
		if (!c || c->cap - c->len < len) {
			size_t cap = len > CHUNK_MIN ? len : CHUNK_MIN;

			c = malloc(sizeof(*c) + cap);
			if (!c) {
				rc = -ENOMEM;
				goto out;
			}
			c->next = NULL;
			c->off = c->len = 0;
			c->cap = cap;
			if (s->q_tail)
				s->q_tail->next = c;
			else
				s->q = c;
			s->q_tail = c;
		}
		/* The stream thread may be sending the bytes before c->len
		 * from this chunk right now, never those after. */
		memcpy(c->data + c->len, buf, len);
		c->len += len;
		kick = s->q_bytes == 0 && s->state == ST_OPEN;
		s->q_bytes += len;
	}
out:
	pthread_mutex_unlock(&ss->lock);
	if (kick)
		wake(ss->wake_st);
	return rc;
}

const char *pcn_stream_name(const struct pcn_stream *s)
{
	return s ? s->name : NULL;
}

uint64_t pcn_stream_drops(const struct pcn_stream *s)
{
	uint64_t d;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->ss->lock);
	d = s->drops;
	pthread_mutex_unlock(&s->ss->lock);
	return d;
}

/* ---- the stream thread ---------------------------------------------------- */

static void stream_free(struct pcn__streams *ss, struct pcn_stream *s)
{
	struct pcn_stream **pp;

	for (pp = &ss->list; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	ss->n--;
	if (s->fd >= 0)
		close(s->fd);
	queue_free(s);
	free(s);
}

/* The broker's end went away (or spoke out of turn). Called with the lock. */
static void stream_gone(struct pcn__streams *ss, struct pcn_stream *s)
{
	switch (s->state) {
	case ST_HELLO:
	case ST_FINISH:
		/* Nobody else holds it. */
		stream_free(ss, s);
		break;
	case ST_OPENING:
	case ST_OPEN:
		if (!s->gone) {
			s->gone = true;
			wake(ss->wake_rt);
		}
		break;
	default:
		break;
	}
}

static bool peer_is_root(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && cr.uid == 0;
}

static void accept_all(struct pcn__streams *ss)
{
	for (;;) {
		int fd = accept4(ss->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct pcn_stream *s;

		if (fd < 0)
			return;
		if (!peer_is_root(fd)) {
			PCN_WARN("CUBE-STREAM-PEER", "refused a stream client not running as root");
			close(fd);
			continue;
		}
		if (ss->n >= STREAMS_MAX || !(s = calloc(1, sizeof(*s)))) {
			PCN_WARN("CUBE-STREAM-MAX", "%u streams are open: refusing another", ss->n);
			close(fd);
			continue;
		}
		s->ss = ss;
		s->fd = fd;
		s->state = ST_HELLO;
		s->deadline_ms = mono_ms() + HELLO_TIMEOUT_MS;
		s->next = ss->list;
		ss->list = s;
		ss->n++;
	}
}

/* Reads the request line: "<instance> <stream>\n", both names by the rule. */
static void read_hello(struct pcn__streams *ss, struct pcn_stream *s)
{
	ssize_t r = read(s->fd, s->hello + s->hello_len, sizeof(s->hello) - 1 - s->hello_len);
	char *nl, *sp;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		stream_gone(ss, s);
		return;
	}
	s->hello_len += (size_t)r;
	s->hello[s->hello_len] = '\0';
	nl = memchr(s->hello, '\n', s->hello_len);
	if (!nl) {
		if (s->hello_len >= sizeof(s->hello) - 1)
			stream_gone(ss, s);
		return;
	}
	*nl = '\0';
	sp = strchr(s->hello, ' ');
	if (!sp || nl + 1 != s->hello + s->hello_len) {
		stream_gone(ss, s);
		return;
	}
	*sp = '\0';
	if (pcn_name_check(s->hello) || pcn_name_check(sp + 1)) {
		stream_gone(ss, s);
		return;
	}
	/* pcn_name_check: shorter than PCN_NAME_MAX (== PCN__NAME_MAX). */
	memcpy(s->instance, s->hello, strlen(s->hello) + 1);
	memcpy(s->name, sp + 1, strlen(sp + 1) + 1);
	s->state = ST_OPENING;
	wake(ss->wake_rt);
}

/* Nothing goes out while OPENING: the answer line is not known yet. */
static bool has_output(const struct pcn_stream *s)
{
	return (s->state == ST_OPEN || s->state == ST_FINISH) && (s->head_off < s->head_len || s->q_bytes);
}

/* Sends what is queued (the answer line first) without blocking; called
 * with the lock, which it drops around the system call. */
static void flush(struct pcn__streams *ss, struct pcn_stream *s)
{
	struct iovec iov[IOV_MAX_SEND];
	struct msghdr mh = { .msg_iov = iov };
	size_t n = 0;
	ssize_t w;

	if (!has_output(s))
		return;
	if (s->head_off < s->head_len)
		iov[n++] = (struct iovec){ s->head + s->head_off, s->head_len - s->head_off };
	for (struct chunk *c = s->q; c && n < IOV_MAX_SEND; c = c->next)
		if (c->len > c->off)
			iov[n++] = (struct iovec){ c->data + c->off, c->len - c->off };
	if (!n)
		return;
	mh.msg_iovlen = n;
	/* The bytes named are not touched by writers (they append after
	 * c->len) and the chunks are freed by this thread only. */
	pthread_mutex_unlock(&ss->lock);
	w = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	pthread_mutex_lock(&ss->lock);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			stream_gone(ss, s);
		return;
	}
	if (s->head_off < s->head_len) {
		size_t h = s->head_len - s->head_off;

		h = (size_t)w < h ? (size_t)w : h;
		s->head_off += h;
		w -= (ssize_t)h;
	}
	while (w > 0 && s->q) {
		struct chunk *c = s->q;
		size_t k = c->len - c->off;

		k = (size_t)w < k ? (size_t)w : k;
		c->off += k;
		s->q_bytes -= k;
		w -= (ssize_t)k;
		if (c->off == c->len) {
			s->q = c->next;
			if (!s->q)
				s->q_tail = NULL;
			free(c);
		}
	}
}

static void *stream_main(void *arg)
{
	struct pcn__streams *ss = arg;
	struct pollfd pfd[STREAMS_MAX + 2];
	struct pcn_stream *who[STREAMS_MAX + 2];

	pthread_mutex_lock(&ss->lock);
	while (!ss->stop) {
		uint64_t now = mono_ms(), next = now + 1000;
		struct pcn_stream *s, *nx;
		nfds_t n = 0;

		for (s = ss->list; s; s = nx) {
			bool expired = (s->state == ST_HELLO || s->state == ST_FINISH) && now >= s->deadline_ms;

			nx = s->next;
			if (s->state == ST_FINISH && !has_output(s))
				stream_free(ss, s); /* all sent: the broker reads EOF */
			else if (s->state == ST_DEAD || expired)
				stream_free(ss, s);
		}
		pfd[n] = (struct pollfd){ .fd = ss->listen_fd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = ss->wake_st, .events = POLLIN };
		who[n++] = NULL;
		for (s = ss->list; s && n < STREAMS_MAX + 2; s = s->next) {
			short ev = 0;

			if (s->gone)
				continue;
			if (s->state != ST_FINISH)
				ev |= POLLIN;
			if (has_output(s))
				ev |= POLLOUT;
			if (s->state == ST_HELLO || s->state == ST_FINISH)
				next = s->deadline_ms < next ? s->deadline_ms : next;
			pfd[n] = (struct pollfd){ .fd = s->fd, .events = ev };
			who[n++] = s;
		}
		pthread_mutex_unlock(&ss->lock);
		poll(pfd, n, (int)(next > now ? next - now : 0));
		pthread_mutex_lock(&ss->lock);
		if (pfd[1].revents & POLLIN)
			drain(ss->wake_st);
		/* Streams are freed by this thread only, so who[] is still good;
		 * those freed below are not looked at again. */
		for (nfds_t i = 2; i < n; i++) {
			short re = pfd[i].revents;

			s = who[i];
			if (!re || s->gone || s->state == ST_DEAD)
				continue;
			if (s->state == ST_HELLO && (re & POLLIN)) {
				read_hello(ss, s);
				continue;
			}
			if (re & (POLLERR | POLLHUP | POLLNVAL)) {
				stream_gone(ss, s);
				continue;
			}
			if (re & POLLIN) {
				char c[64];
				ssize_t r = read(s->fd, c, sizeof(c));

				/* EOF, or bytes the broker never sends after its line. */
				if (r >= 0 || (errno != EAGAIN && errno != EINTR)) {
					stream_gone(ss, s);
					continue;
				}
			}
			if (re & POLLOUT)
				flush(ss, s);
		}
		if (pfd[0].revents & POLLIN)
			accept_all(ss);
	}
	pthread_mutex_unlock(&ss->lock);
	return NULL;
}

/* ---- the runtime's thread ------------------------------------------------- */

static const struct pcn_stream_desc *stream_desc(const struct pcn_cube_desc *d, const char *name)
{
	for (const struct pcn_stream_desc *sd = d->streams; sd && sd->name; sd++)
		if (strcmp(sd->name, name) == 0)
			return sd;
	return NULL;
}

/* Calls on_stream_open for s (the lock is not held); the answer line. */
static void do_open(struct pcn__streams *ss, struct pcn_stream *s)
{
	struct pcn__runtime *rt = ss->rt;
	const struct pcn_cube_desc *d = rt->desc;
	struct pcn_instance *inst = pcn__instance_find(rt, s->instance);
	const struct pcn_stream_desc *sd = stream_desc(d, s->name);
	char msg[400] = "";
	int rc = 0;

	if (!inst) {
		rc = -ENOENT;
		snprintf(msg, sizeof(msg), "no %s instance named %s", d->service, s->instance);
	} else if (!sd || !d->on_stream_open) {
		rc = -ENOENT;
		snprintf(msg, sizeof(msg), "%s has no stream %s", s->instance, s->name);
	}
	if (!rc) {
		pthread_mutex_lock(&ss->lock);
		s->head_len = (size_t)snprintf(s->head, sizeof(s->head), "OK %s\n",
					       sd->content_type ? sd->content_type : "application/octet-stream");
		pthread_mutex_unlock(&ss->lock);
		inst->err = 0;
		inst->err_msg[0] = '\0';
		pcn__log_instance = inst->name;
		rc = d->on_stream_open(inst, s->name, s);
		pcn__log_instance = NULL;
		if (rc > 0)
			rc = 0;
		if (rc)
			snprintf(msg, sizeof(msg), "%s", inst->err_msg[0] ? inst->err_msg : strerror(-rc));
	}
	pthread_mutex_lock(&ss->lock);
	s->busy = false;
	if (!rc) {
		s->opened = true;
		s->state = ST_OPEN;
		PCN_INFO("CUBE-STREAM-OPEN", "instance %s: stream %s opened", s->instance, s->name);
	} else {
		/* What on_stream_open wrote before refusing is not sent. */
		queue_free(s);
		for (char *p = msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		s->head_off = 0;
		s->head_len = (size_t)snprintf(s->head, sizeof(s->head), "ERR %d %s\n", -rc, msg);
		if (s->head_len >= sizeof(s->head))
			s->head_len = sizeof(s->head) - 1;
		s->head[s->head_len - 1] = '\n';
		s->state = s->gone ? ST_DEAD : ST_FINISH;
		s->deadline_ms = mono_ms() + FINISH_TIMEOUT_MS;
		PCN_DEBUG("CUBE-STREAM-REFUSED", "instance %s: stream %s refused: %s", s->instance, s->name, msg);
	}
	pthread_mutex_unlock(&ss->lock);
	wake(ss->wake_st);
}

/* Calls on_stream_close for s (the lock is not held); then the stream ends:
 * flushed (finish) or dropped. */
static void do_close(struct pcn__streams *ss, struct pcn_stream *s, bool finish)
{
	struct pcn__runtime *rt = ss->rt;
	struct pcn_instance *inst = pcn__instance_find(rt, s->instance);
	uint64_t drops;

	if (inst && rt->desc->on_stream_close) {
		pcn__log_instance = inst->name;
		rt->desc->on_stream_close(inst, s);
		pcn__log_instance = NULL;
	}
	pthread_mutex_lock(&ss->lock);
	drops = s->drops;
	s->busy = false;
	s->opened = false;
	if (finish && !s->gone) {
		s->state = ST_FINISH;
		s->deadline_ms = mono_ms() + FINISH_TIMEOUT_MS;
	} else {
		s->state = ST_DEAD;
	}
	/* Before the unlock: once the lock is released the stream thread may
	 * free s (ST_DEAD, or ST_FINISH flushed). */
	PCN_INFO("CUBE-STREAM-CLOSED", "instance %s: stream %s closed (%s); %llu writes found its queue full",
		 s->instance, s->name, finish ? "the instance is deleted" : "the client left",
		 (unsigned long long)drops);
	pthread_mutex_unlock(&ss->lock);
	wake(ss->wake_st);
}

/* The next stream needing the runtime thread, marked busy; NULL if none.
 * inst: only its streams, to be finished (instance deleted). */
static struct pcn_stream *next_work(struct pcn__streams *ss, const char *inst, bool *open)
{
	struct pcn_stream *s;

	pthread_mutex_lock(&ss->lock);
	for (s = ss->list; s; s = s->next) {
		if (s->busy)
			continue;
		if (inst) {
			if (s->opened && strcmp(s->instance, inst) == 0)
				break;
			continue;
		}
		if (s->state == ST_OPENING && !s->gone) {
			*open = true;
			break;
		}
		if (s->gone && (s->state == ST_OPENING || s->state == ST_OPEN)) {
			if (s->opened) {
				*open = false;
				break;
			}
			s->state = ST_DEAD;
			wake(ss->wake_st);
		}
	}
	if (s)
		s->busy = true;
	pthread_mutex_unlock(&ss->lock);
	return s;
}

void pcn__streams_run(struct pcn__runtime *rt)
{
	struct pcn__streams *ss = rt->streams;
	struct pcn_stream *s;
	bool open = false;

	if (!ss)
		return;
	drain(ss->wake_rt);
	while ((s = next_work(ss, NULL, &open))) {
		if (open)
			do_open(ss, s);
		else
			do_close(ss, s, false);
	}
}

void pcn__streams_instance_gone(struct pcn_instance *inst)
{
	struct pcn__streams *ss = inst->rt ? inst->rt->streams : NULL;
	struct pcn_stream *s;
	bool open;

	if (!ss)
		return;
	while ((s = next_work(ss, inst->name, &open)))
		do_close(ss, s, true);
}

int pcn__streams_fd(const struct pcn__runtime *rt)
{
	return rt->streams ? rt->streams->wake_rt : -1;
}

int pcn__streams_start(struct pcn__runtime *rt)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pcn__streams *ss;
	struct stat st;
	int rc;

	if (!rt->desc->streams || !rt->desc->streams[0].name)
		return 0;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->rt = rt;
	ss->listen_fd = ss->wake_st = ss->wake_rt = -1;
	pthread_mutex_init(&ss->lock, NULL);
	rt->streams = ss;
	rc = pcn_sock_stream(ss->path, sizeof(ss->path), rt->endpoint);
	if (rc)
		return rc;
	ss->wake_st = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ss->wake_rt = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ss->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ss->wake_st < 0 || ss->wake_rt < 0 || ss->listen_fd < 0)
		return -errno;
	/* pcn_sock_stream made sure it fits. */
	memcpy(sa.sun_path, ss->path, strlen(ss->path) + 1);
	/* The endpoint beside it is ours (runtime.c chose it so that no live
	 * process holds it): a socket left here is a dead process's. */
	unlink(ss->path);
	if (bind(ss->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(ss->path, 0600) ||
	    listen(ss->listen_fd, 16)) {
		rc = -errno;
		PCN_ERR("CUBE-STREAM-LISTEN", "cannot listen on %s: %s", ss->path, strerror(-rc));
		return rc;
	}
	if (lstat(ss->path, &st) == 0) {
		ss->dev = st.st_dev;
		ss->ino = st.st_ino;
	}
	if (pthread_create(&ss->thread, NULL, stream_main, ss))
		return -EAGAIN;
	ss->thread_started = true;
	PCN_DEBUG("CUBE-STREAM-LISTEN", "live streams on %s", ss->path);
	return 0;
}

void pcn__streams_stop(struct pcn__runtime *rt)
{
	struct pcn__streams *ss = rt->streams;

	if (!ss)
		return;
	if (ss->thread_started) {
		pthread_mutex_lock(&ss->lock);
		ss->stop = true;
		pthread_mutex_unlock(&ss->lock);
		wake(ss->wake_st);
		pthread_join(ss->thread, NULL);
	}
	/* The process exits: each open stream's client is gone too. */
	while (ss->list) {
		struct pcn_stream *s = ss->list;

		if (s->opened) {
			struct pcn_instance *inst = pcn__instance_find(rt, s->instance);

			if (inst && rt->desc->on_stream_close)
				rt->desc->on_stream_close(inst, s);
		}
		stream_free(ss, s);
	}
	if (ss->listen_fd >= 0) {
		struct stat st;

		close(ss->listen_fd);
		/* Unless a new process of the service, started as this one
		 * let go of its endpoint, bound its own there already. */
		if (ss->ino && lstat(ss->path, &st) == 0 && st.st_dev == ss->dev && st.st_ino == ss->ino)
			unlink(ss->path);
	}
	if (ss->wake_st >= 0)
		close(ss->wake_st);
	if (ss->wake_rt >= 0)
		close(ss->wake_rt);
	pthread_mutex_destroy(&ss->lock);
	free(ss);
	rt->streams = NULL;
}

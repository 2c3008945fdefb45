/* packetcapture's writer thread (see pc_writer.h).
 *
 * The thread waits on the ring buffer's epoll fd itself and consumes under
 * the writer's mutex, so that a configuration change (another file, a
 * stream opening) waits at most for one batch, never for a poll timeout.
 * Records are gathered in a 1 MiB buffer: one write(2) per batch or per
 * MiB, after every batch so that a reader sees the packets within a poll
 * period (10 ms). */

#include "pc_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "log.h"
#include "packetcapture_shared.h"

/* The fast path submits without a wakeup: the thread drains the ring on
 * this period. */
#define PC_POLL_MS 10
#define PC_FILE_BUF (1u << 20)

static int64_t mono_to_real(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000 + ((int64_t)r.tv_nsec - m.tv_nsec);
}

void pc_writer_header(uint32_t snaplen, struct pc_pcap_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = PC_PCAP_MAGIC_NS;
	h->version_major = 2;
	h->version_minor = 4;
	h->snaplen = snaplen;
	h->linktype = PC_LINKTYPE_ETHERNET;
}

/* Writes the buffer out. */
static void flush_buf(struct pc_writer *w)
{
	size_t off = 0;

	while (w->fd >= 0 && off < w->olen) {
		ssize_t n = write(w->fd, w->obuf + off, w->olen - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->errors++;
			break;
		}
		off += (size_t)n;
	}
	w->olen = 0;
}

static void out(struct pc_writer *w, const void *p, size_t n)
{
	if (w->olen + n > PC_FILE_BUF)
		flush_buf(w);
	memcpy(w->obuf + w->olen, p, n); /* n <= 16 + 65535 < PC_FILE_BUF */
	w->olen += n;
}

static void close_file(struct pc_writer *w)
{
	flush_buf(w);
	if (w->fd >= 0 && close(w->fd))
		w->errors++;
	w->fd = -1;
	w->fsize = 0;
	w->cur_path[0] = '\0';
}

/* path -> path.1 -> ... -> path.<files> (the oldest falls off). */
static void rotate_names(const struct pc_wcfg *c)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];

	if (c->files == 0) {
		unlink(c->path);
		return;
	}
	for (unsigned i = c->files; i >= 1; i--) {
		snprintf(to, sizeof(to), "%s.%u", c->path, i);
		if (i == 1)
			snprintf(from, sizeof(from), "%s", c->path);
		else
			snprintf(from, sizeof(from), "%s.%u", c->path, i - 1);
		rename(from, to); /* ENOENT for the ones not there yet */
	}
}

/* Opens cfg.path for a new capture; an existing non-empty file (another
 * run's, or this one's before a restart of the process) is rotated away. */
static int open_file(struct pc_writer *w)
{
	struct pc_pcap_hdr h;
	struct stat st;
	int fd;

	if (lstat(w->cfg.path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		rotate_names(&w->cfg);
	/* O_NOFOLLOW: a symlink planted in the capture directory does not
	 * redirect a root-owned write. */
	fd = open(w->cfg.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	w->fd = fd;
	w->olen = 0;
	pc_writer_header(w->cfg.snaplen, &h);
	out(w, &h, sizeof(h));
	w->fsize = sizeof(h);
	snprintf(w->cur_path, sizeof(w->cur_path), "%s", w->cfg.path);
	return 0;
}

static void to_file(struct pc_writer *w, const struct pc_pcap_rec *r, const void *data)
{
	size_t n = sizeof(*r) + r->caplen;
	int rc;

	if (!w->cfg.path[0])
		return;
	if (w->fd >= 0 && w->cfg.limit && w->fsize + n > w->cfg.limit && w->fsize > sizeof(struct pc_pcap_hdr)) {
		close_file(w);
		rotate_names(&w->cfg);
		w->rotations++;
	}
	if (w->fd < 0) {
		rc = open_file(w);
		if (rc) {
			if (!w->errors++)
				PCN_ERR("PCAP-FILE", "cannot open %s: %s", w->cfg.path, strerror(-rc));
			return;
		}
	}
	out(w, r, sizeof(*r));
	out(w, data, r->caplen);
	w->fsize += n;
	w->written++;
	w->written_bytes += n;
}

static void to_streams(struct pc_writer *w, const struct pc_pcap_rec *r, const void *data)
{
	size_t n = sizeof(*r) + r->caplen;
	bool built = false;

	for (int i = 0; i < PC_MAX_STREAMS; i++) {
		int rc;

		if (!w->streams[i] || !w->sink)
			continue;
		if (!built) {
			memcpy(w->scratch, r, sizeof(*r));
			memcpy(w->scratch + sizeof(*r), data, r->caplen);
			built = true;
		}
		rc = w->sink(w->streams[i], w->scratch, n);
		if (rc == -EAGAIN)
			w->stream_drops++;
		else if (rc < 0)
			w->streams[i] = NULL; /* gone: its close callback follows */
	}
}

/* Network mode keeps the last packet only: the broker reads an
 * instance's whole state at once and caches it, so a queue taken from by
 * each read (Polycube's) would lose packets to any read of stats. The
 * live stream has them all. */
static void to_last(struct pc_writer *w, const struct pc_rec *rec, uint64_t ts, const void *data)
{
	struct pc_qpkt *p = w->last;

	if (!p || p->caplen < rec->caplen) {
		p = realloc(w->last, sizeof(*p) + rec->caplen);
		if (!p)
			return;
		w->last = p;
	}
	p->ts_ns = ts;
	p->len = rec->len;
	p->caplen = rec->caplen;
	memcpy(p->data, data, rec->caplen);
}

static int on_record(void *arg, void *data, size_t size)
{
	struct pc_writer *w = arg;
	const struct pc_rec *rec = data;
	struct pc_pcap_rec r;
	uint64_t ts;

	if (size < sizeof(*rec) || rec->caplen > size - sizeof(*rec) || rec->caplen > PC_MAX_CAPLEN)
		return 0;
	ts = rec->ts_ns + (uint64_t)w->mono_to_real;
	r.ts_sec = (uint32_t)(ts / 1000000000);
	r.ts_frac = (uint32_t)(ts % 1000000000);
	r.caplen = rec->caplen;
	r.len = rec->len;
	if (w->netmode)
		to_last(w, rec, ts, rec + 1);
	else
		to_file(w, &r, rec + 1);
	to_streams(w, &r, rec + 1);
	return 0;
}

void pc_writer_flush(struct pc_writer *w)
{
	pthread_mutex_lock(&w->mu);
	flush_buf(w);
	pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
	struct pc_writer *w = arg;
	struct epoll_event ev;

	while (!w->stop) {
		int n = epoll_wait(w->epfd, &ev, 1, PC_POLL_MS);

		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&w->mu);
		w->mono_to_real = mono_to_real();
		if (ring_buffer__consume(w->rb) > 0)
			flush_buf(w);
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

int pc_writer_start(struct pc_writer *w, int ring_fd, pc_sink_fn sink)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->epfd = -1;
	w->fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	w->sink = sink;
	w->mono_to_real = mono_to_real();
	w->obuf = malloc(PC_FILE_BUF);
	w->scratch = malloc(sizeof(struct pc_pcap_rec) + PC_MAX_CAPLEN);
	if (!w->obuf || !w->scratch) {
		rc = -ENOMEM;
		goto fail;
	}
	w->rb = ring_buffer__new(ring_fd, on_record, w, NULL);
	if (!w->rb) {
		rc = -errno ? -errno : -EINVAL;
		goto fail;
	}
	w->epfd = ring_buffer__epoll_fd(w->rb);
	rc = pthread_create(&w->thr, NULL, run, w);
	if (rc) {
		rc = -rc;
		goto fail;
	}
	w->started = true;
	return 0;
fail:
	ring_buffer__free(w->rb);
	w->rb = NULL;
	free(w->obuf);
	free(w->scratch);
	w->obuf = NULL;
	w->scratch = NULL;
	pthread_mutex_destroy(&w->mu);
	return rc;
}

void pc_writer_stop(struct pc_writer *w)
{
	if (!w->started)
		return;
	w->stop = true;
	pthread_join(w->thr, NULL);
	w->mono_to_real = mono_to_real();
	ring_buffer__consume(w->rb);
	close_file(w);
	ring_buffer__free(w->rb);
	free(w->last);
	w->last = NULL;
	free(w->obuf);
	free(w->scratch);
	pthread_mutex_destroy(&w->mu);
	w->started = false;
}

void pc_writer_configure(struct pc_writer *w, const struct pc_wcfg *cfg, bool netmode)
{
	pthread_mutex_lock(&w->mu);
	if (strcmp(cfg->path, w->cfg.path) || cfg->snaplen != w->cfg.snaplen || netmode != w->netmode)
		close_file(w);
	w->cfg = *cfg;
	w->netmode = netmode;
	pthread_mutex_unlock(&w->mu);
}

int pc_writer_stream_add(struct pc_writer *w, void *stream)
{
	int rc = -ENOSPC;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < PC_MAX_STREAMS; i++)
		if (!w->streams[i]) {
			w->streams[i] = stream;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void pc_writer_stream_del(struct pc_writer *w, void *stream)
{
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < PC_MAX_STREAMS; i++)
		if (w->streams[i] == stream)
			w->streams[i] = NULL;
	pthread_mutex_unlock(&w->mu);
}

struct pc_qpkt *pc_writer_last(struct pc_writer *w)
{
	struct pc_qpkt *p = NULL;

	pthread_mutex_lock(&w->mu);
	if (w->last) {
		p = malloc(sizeof(*p) + w->last->caplen);
		if (p)
			memcpy(p, w->last, sizeof(*p) + w->last->caplen);
	}
	pthread_mutex_unlock(&w->mu);
	return p;
}

/* packetcapture's writer: a thread per instance that drains the fast
 * path's ring buffer (libbpf ring_buffer) and writes each record as a
 * classic pcap record (nanosecond timestamps, LINKTYPE_ETHERNET) to the
 * instance's file, rotated by size, and to every open live stream; in
 * network mode (Polycube's networkmode) not to the file: the streams, and
 * the last packet kept for the API. */
#ifndef PC_WRITER_H
#define PC_WRITER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PC_PCAP_MAGIC_NS 0xa1b23c4du
#define PC_LINKTYPE_ETHERNET 1
#define PC_MAX_STREAMS 16

/* Classic pcap's file header and record header (host byte order, as the
 * magic says). */
struct pc_pcap_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};
struct pc_pcap_rec {
	uint32_t ts_sec, ts_frac, caplen, len;
};

/* Writes a live stream's bytes: 0, -EAGAIN (that record is lost for this
 * stream, counted) or another negative errno (the stream is gone). */
typedef int (*pc_sink_fn)(void *stream, const void *buf, size_t len);

/* What the file side does (set with pc_writer_configure). */
struct pc_wcfg {
	char path[PATH_MAX]; /* "" : no file (network mode, or none chosen) */
	uint32_t snaplen;
	uint64_t limit; /* rotate once the file would grow past it (bytes) */
	unsigned files; /* rotated files kept: path.1 .. path.<files> */
};

/* The last packet captured in network mode, for the API. */
struct pc_qpkt {
	uint64_t ts_ns; /* realtime */
	uint32_t len, caplen;
	uint8_t data[];
};

struct pc_writer {
	pthread_t thr;
	bool started;
	volatile bool stop;
	pthread_mutex_t mu;
	struct ring_buffer *rb;
	int epfd;
	struct pc_wcfg cfg;
	bool netmode;
	int fd; /* open file (lazily, at the first record), or -1 */
	uint8_t *obuf; /* records not written yet */
	size_t olen;
	uint64_t fsize;
	int64_t mono_to_real; /* ns to add to a CLOCK_MONOTONIC time */
	pc_sink_fn sink;
	void *streams[PC_MAX_STREAMS];
	uint8_t *scratch; /* one pcap record for the streams */
	struct pc_qpkt *last;
	/* counters */
	uint64_t written, written_bytes, stream_drops, errors, rotations;
	char cur_path[PATH_MAX]; /* the file being written, "" if none */
};

/* ring_fd: the instance's pc_ring (dup'ed: the caller keeps its own). */
int pc_writer_start(struct pc_writer *w, int ring_fd, pc_sink_fn sink);
/* Drains what is left, closes the file and frees everything. */
void pc_writer_stop(struct pc_writer *w);
/* New file settings: the current file, if they differ, is closed; the
 * next record opens the new one (an existing non-empty file is rotated
 * away first, never overwritten). */
void pc_writer_configure(struct pc_writer *w, const struct pc_wcfg *cfg, bool netmode);
/* The file's header for this snaplen. */
void pc_writer_header(uint32_t snaplen, struct pc_pcap_hdr *h);
int pc_writer_stream_add(struct pc_writer *w, void *stream);
void pc_writer_stream_del(struct pc_writer *w, void *stream);
/* A copy of the last packet captured in network mode, or NULL. free() it. */
struct pc_qpkt *pc_writer_last(struct pc_writer *w);
/* Writes buffered records out now (the tests and a capture turned off). */
void pc_writer_flush(struct pc_writer *w);

#endif /* PC_WRITER_H */

/* Internals shared by the slow-path files (slowpath.c: the ring and the
 * batches up; slowpath_out.c: packets out). Not for the rest of the broker. */
#ifndef BROKER_SLOWPATH_INT_H
#define BROKER_SLOWPATH_INT_H

#include <linux/if_packet.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <bpf/libbpf.h>
#include <nng/nng.h>
#include <uv.h>

#include "core/tables.h"
#include "cubemesh.pb-c.h"
#include "dataplane/inject.h"
#include "slowpath/slowpath.h"
#include "slowpath_procs.h"

/* Packets per PacketInBatch, and records consumed per loop iteration (so a
 * flood cannot hold the loop: the rest waits for the next iteration). */
#define SP_BATCH 256
#define SP_RECORDS_PER_TURN 4096
/* Batches a PUSH socket holds for a slow cube before sends fail. */
#define SP_SENDBUF 64
/* A batch this full leaves at once; a smaller one waits up to
 * SP_LINGER_MS for more, so that under load batches grow and messages
 * (~17k/s over ipc here) stop being the limit. */
#define SP_FLUSH_AT 64
#define SP_LINGER_MS 1
/* Messages taken from the PULL socket per loop iteration. */
#define SP_OUT_PER_TURN 256
/* Frames out to netdevs sent with one sendmmsg. */
#define SP_MMSG 64
/* The longest frame out a cube may send (as cube-runtime/slowpath.c). */
#define SP_MAX_FRAME 9000

/* Packets of one service waiting for the end of this turn. */
struct sp_svc {
	struct sp_svc *next;
	char name[BROKER_NAME_MAX];
	nng_socket push;
	bool open;
	size_t n;
	Cubemesh__PacketIn msgs[SP_BATCH];
	Cubemesh__PacketIn *ptrs[SP_BATCH];
	uint32_t md[SP_BATCH][3];
	/* The batch owns what it sends: an instance deleted before the
	 * flush takes its name with it. */
	char inst[SP_BATCH][BROKER_NAME_MAX];
	uint8_t data[SP_BATCH][PCN_SLOWPATH_SNAPLEN];
};

struct broker_slowpath {
	struct broker *b;
	struct ring_buffer *rb;
	uv_poll_t ring_poll;
	bool ring_polling;
	uv_timer_t linger; /* flushes batches that did not fill */
	bool linger_init;
	nng_socket pull;
	bool pull_open;
	uv_poll_t pull_poll;
	bool pull_polling;
	int pkt_fd; /* AF_PACKET, for egress out of netdevs */
	struct broker_inject *inj; /* into instances (inject.c) */
	/* Frames out to netdevs waiting for one sendmmsg (they point into the
	 * PacketOutBatch being handled, sent before it is freed). */
	unsigned n_mm;
	struct mmsghdr mm[SP_MMSG];
	struct iovec iov[SP_MMSG];
	struct sockaddr_ll sll[SP_MMSG];
	struct broker_sp_counters *mm_ctr[SP_MMSG];
	unsigned turn_records;
	struct sp_svc *svcs;
	struct broker_sp_counters ctr[PCN_MAX_CUBES];
	struct broker_sp_global g;
	struct broker_sp_procs procs; /* what each cube process reports (slowpath_procs.c) */
};

/* uv_poll callback of slowpath.sock: PacketOutBatch from the cubes. */
void broker__sp_on_pull(uv_poll_t *h, int status, int events);

#endif /* BROKER_SLOWPATH_INT_H */

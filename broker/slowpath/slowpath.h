/* The broker's slow path: the demultiplexer of packets up and out
 * (slowpath.c, slowpath_out.c) and its counters, what each cube process
 * reports of its side (slowpath_procs.c), long chains resumed through it
 * (chainresume.c), and the log sink (logsink.c).
 *
 * May call: topology/ (a stack's entry slot), dataplane/ (the injector),
 * model/, core/ (the tables). */
#ifndef BROKER_SLOWPATH_H
#define BROKER_SLOWPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;

/* Per instance (by PatchPanel index), kept by the broker. */
struct broker_sp_counters {
	uint64_t up;               /* records read from the ring for it */
	uint64_t to_cube;          /* handed to its cube process */
	uint64_t drop_cube_down;   /* dropped: the process was down */
	uint64_t drop_queue_full;  /* dropped: the process's queue was full */
	uint64_t drop_no_instance; /* dropped: no instance has that index any more */
	uint64_t out;              /* packets sent out for it */
	uint64_t out_errors;       /* packets out refused (bad port, no peer, short frame, send error) */
};

/* For the whole broker. */
struct broker_sp_global {
	uint64_t batches_up;    /* PacketInBatch messages sent */
	uint64_t log_lines;     /* fast-path log lines received */
	uint64_t bad_records;   /* ring records that made no sense */
	uint64_t bad_messages;  /* malformed or unauthorised messages on slowpath.sock */
	uint64_t out_no_target; /* packets out for an unknown instance */
	uint64_t out_forbidden; /* packets out for another service's instance, or without a token */
	uint64_t csum_completed; /* frames up whose TCP/UDP checksum was left to offload, completed */
};

/* start/stop (activity): opens the ring pinned by the data plane and
 * <sock_dir>/slowpath.sock, and polls both on the broker's loop. stop
 * closes them; the memory goes in the uv close callbacks. */
int broker_slowpath_start(struct broker *b);
void broker_slowpath_stop(struct broker *b);
int broker_slowpath_counters(struct broker *b, uint32_t index, struct broker_sp_counters *out);
/* Zeroes an index's counters (when the index is given to a new instance). */
void broker_slowpath_reset(struct broker *b, uint32_t index);
/* Completes the TCP/UDP checksum of a whole frame (len bytes) left to
 * offload (the pseudo-header sum in the field): 1 if it did (slowpath.c). */
int broker_sp_csum_complete(uint8_t *frame, size_t len);
int broker_slowpath_global(struct broker *b, struct broker_sp_global *out);
/* OpenMetrics text (without # EOF) of the slow-path counters; malloc'd, or
 * NULL. */
char *broker_slowpath_metrics(struct broker *b);

/* logsink.c: fast-path and cube log lines, kept for GET /logs. start/stop
 * (activity) listen on <sock_dir>/logs.sock. */
int broker_logsink_start(struct broker *b);
void broker_logsink_stop(struct broker *b);
void broker_logsink_add(struct broker *b, int level, bool fastpath, const char *service, const char *cube,
			const char *message);
/* Malformed or refused messages received on logs.sock. */
uint64_t broker_logsink_rejected(struct broker *b);
/* For GET /logs: {"next": seq, "lines": [...]}, at most a page of the
 * lines from seq since on, of service and cube ("" : any). */
struct json_t;
struct json_t *broker_logsink_read(struct broker *b, const char *service, const char *cube, uint64_t since);

/* chainresume.c: writes the instance's resume-long-chains into the fast
 * path's options; resume injects a packet that passed the hop limit into
 * (index, port). */
struct broker_instance;
void broker_chain_cfg_apply(struct broker *b, const struct broker_instance *inst);
struct broker_inject;
int broker_chain_resume(struct broker *b, struct broker_inject *inj, uint32_t index, uint32_t port,
			const void *data, size_t len);

#endif /* BROKER_SLOWPATH_H */

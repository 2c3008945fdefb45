/* The broker's slow-path demultiplexer (slowpath.c) and its counters. */
#ifndef BROKER_SLOWPATH_H
#define BROKER_SLOWPATH_H

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
};

/* start/stop (activity): opens the ring pinned by the data plane and
 * <sock_dir>/slowpath.sock, and polls both on the broker's loop. stop
 * closes them; the memory goes in the uv close callbacks. */
int broker_slowpath_start(struct broker *b);
void broker_slowpath_stop(struct broker *b);
int broker_slowpath_counters(struct broker *b, uint32_t index, struct broker_sp_counters *out);
/* Zeroes an index's counters (when the index is given to a new instance). */
void broker_slowpath_reset(struct broker *b, uint32_t index);
int broker_slowpath_global(struct broker *b, struct broker_sp_global *out);
/* OpenMetrics text (without # EOF) of the slow-path counters; malloc'd, or
 * NULL. */
char *broker_slowpath_metrics(struct broker *b);

#endif /* BROKER_SLOWPATH_H */

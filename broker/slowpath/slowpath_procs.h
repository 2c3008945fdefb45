/* Per cube process slow-path reports (slowpath_procs.c). */
#ifndef BROKER_SLOWPATH_PROCS_H
#define BROKER_SLOWPATH_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Processes remembered at once; more than any real mesh runs. */
#define BROKER_SP_PROCS 64
/* Longest service name kept (BROKER_NAME_MAX; this header stands alone so
 * that its test links nothing else). */
#define BROKER_SP_SERVICE_MAX 64

struct broker_sp_proc {
	bool used;
	char service[BROKER_SP_SERVICE_MAX];
	uint32_t pid;
	uint64_t out_lost; /* its latest report */
	uint64_t heard;    /* broker_sp_procs.clock at that report */
};

/* Caller's storage, zeroed to init; nothing to fini. */
struct broker_sp_procs {
	uint64_t clock;
	struct broker_sp_proc procs[BROKER_SP_PROCS];
};

/* Records the latest count of a process (service, pid). */
void broker_sp_procs_report(struct broker_sp_procs *t, const char *service, uint32_t pid, uint64_t out_lost);

/* Whether the process still counts (a process that exited is left out of
 * /metrics). */
typedef bool (*broker_sp_proc_live_fn)(const char *service, uint32_t pid, void *arg);

/* Writes the OpenMetrics family cubemesh_cube_slowpath_out_lost_packets,
 * one series per live process labelled service and pid. live NULL: all. */
void broker_sp_procs_metrics(FILE *f, const struct broker_sp_procs *t, broker_sp_proc_live_fn live, void *arg);

#endif /* BROKER_SLOWPATH_PROCS_H */

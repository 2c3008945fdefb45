/* The slow path's counters in OpenMetrics text, for GET /metrics. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tables.h"
#include "dataplane/dataplane.h"
#include "slowpath/slowpath.h"
#include "slowpath/slowpath_procs.h"
#include "slowpath_int.h"

static const struct {
	const char *name, *help;
	size_t off;
	const char *reason; /* a drop counter: its reason label */
} inst_counters[] = {
	{ "cubemesh_slowpath_up_packets", "Packets read from the slow-path ring for the instance",
	  offsetof(struct broker_sp_counters, up), NULL },
	{ "cubemesh_slowpath_to_cube_packets", "Slow-path packets handed to the instance's cube process",
	  offsetof(struct broker_sp_counters, to_cube), NULL },
	{ "cubemesh_slowpath_out_packets", "Packets the cube process sent out for the instance",
	  offsetof(struct broker_sp_counters, out), NULL },
	{ "cubemesh_slowpath_dropped_packets", NULL, offsetof(struct broker_sp_counters, drop_cube_down),
	  "cube_down" },
	{ "cubemesh_slowpath_dropped_packets", NULL, offsetof(struct broker_sp_counters, drop_queue_full),
	  "queue_full" },
	{ "cubemesh_slowpath_dropped_packets", NULL, offsetof(struct broker_sp_counters, drop_no_instance),
	  "no_instance" },
	{ "cubemesh_slowpath_dropped_packets", NULL, offsetof(struct broker_sp_counters, out_errors),
	  "out_error" },
};

static const struct {
	const char *name, *help;
	size_t off;
} fp_counters[] = {
	{ "cubemesh_cube_to_slowpath_packets", "Packets and notifications the fast path sent to the slow path",
	  offsetof(struct pcn_cube_stats, to_slowpath) },
	{ "cubemesh_cube_slowpath_ring_full_packets", "Slow-path records the fast path lost: the ring was full",
	  offsetof(struct pcn_cube_stats, drop_ring_full) },
	{ "cubemesh_cube_log_lost_lines", "Fast-path log lines lost: the ring was full",
	  offsetof(struct pcn_cube_stats, log_lost) },
};

/* A process's series is shown while it is its service's process (or the
 * one an upgrade is replacing). */
static bool proc_live(const char *service, uint32_t pid, void *arg)
{
	struct broker_service *s = broker_service_find(arg, service);

	return s && (pid == s->pid || (s->old_endpoint[0] && pid == s->old_pid));
}

char *broker_slowpath_metrics(struct broker *b)
{
	struct broker_sp_global g;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (size_t c = 0; c < sizeof(fp_counters) / sizeof(fp_counters[0]); c++) {
		fprintf(f, "# TYPE %s counter\n# HELP %s %s.\n", fp_counters[c].name, fp_counters[c].name,
			fp_counters[c].help);
		for (struct broker_instance *i = b->instances; i; i = i->next) {
			struct pcn_cube_stats st;

			if (broker_stats_read(b->dp, i->index, &st))
				continue;
			fprintf(f, "%s_total{service=\"%s\",cube=\"%s\"} %llu\n", fp_counters[c].name, i->service,
				i->name, (unsigned long long)*(const __u64 *)((const char *)&st + fp_counters[c].off));
		}
	}
	for (size_t c = 0; c < sizeof(inst_counters) / sizeof(inst_counters[0]); c++) {
		/* The drop counters share one family, told apart by reason. */
		if (c == 0 || strcmp(inst_counters[c].name, inst_counters[c - 1].name) != 0)
			fprintf(f, "# TYPE %s counter\n# HELP %s %s.\n", inst_counters[c].name, inst_counters[c].name,
				inst_counters[c].help ? inst_counters[c].help
						      : "Slow-path packets dropped by the broker, by reason");
		for (struct broker_instance *i = b->instances; i; i = i->next) {
			struct broker_sp_counters sc;
			unsigned long long v;

			if (broker_slowpath_counters(b, i->index, &sc))
				continue;
			v = *(const uint64_t *)((const char *)&sc + inst_counters[c].off);
			if (inst_counters[c].reason)
				fprintf(f, "%s_total{service=\"%s\",cube=\"%s\",reason=\"%s\"} %llu\n",
					inst_counters[c].name, i->service, i->name, inst_counters[c].reason, v);
			else
				fprintf(f, "%s_total{service=\"%s\",cube=\"%s\"} %llu\n", inst_counters[c].name,
					i->service, i->name, v);
		}
	}
	if (b->slowpath)
		broker_sp_procs_metrics(f, &b->slowpath->procs, proc_live, b);
	/* Restarts as operators count them: registrations after the first. */
	fprintf(f, "# TYPE cubemesh_service_restarts counter\n# HELP cubemesh_service_restarts "
		   "Times the cube's process came back (registrations after the first).\n");
	for (struct broker_service *s = b->services; s; s = s->next)
		fprintf(f, "cubemesh_service_restarts_total{service=\"%s\"} %u\n", s->name,
			s->registrations ? s->registrations - 1 : 0);
	if (!broker_slowpath_global(b, &g)) {
		fprintf(f, "# TYPE cubemesh_slowpath_batches counter\n# HELP cubemesh_slowpath_batches "
			   "PacketInBatch messages sent to cube processes.\n"
			   "cubemesh_slowpath_batches_total %llu\n",
			(unsigned long long)g.batches_up);
		fprintf(f, "# TYPE cubemesh_fastpath_log_lines counter\n# HELP cubemesh_fastpath_log_lines "
			   "Fast-path log lines received.\ncubemesh_fastpath_log_lines_total %llu\n",
			(unsigned long long)g.log_lines);
		fprintf(f, "# TYPE cubemesh_slowpath_out_unknown_instance_packets counter\n"
			   "# HELP cubemesh_slowpath_out_unknown_instance_packets Packets out naming no instance.\n"
			   "cubemesh_slowpath_out_unknown_instance_packets_total %llu\n",
			(unsigned long long)g.out_no_target);
		fprintf(f, "# TYPE cubemesh_slowpath_out_refused_packets counter\n"
			   "# HELP cubemesh_slowpath_out_refused_packets Packets out a cube process may not send: "
			   "for another service's instance, or without a registration token.\n"
			   "cubemesh_slowpath_out_refused_packets_total %llu\n",
			(unsigned long long)g.out_forbidden);
		fprintf(f, "# TYPE cubemesh_slowpath_csum_completed_packets counter\n"
			   "# HELP cubemesh_slowpath_csum_completed_packets Packets up whose TCP/UDP checksum the "
			   "sending host had left to offload, completed before the cube's slow path got them.\n"
			   "cubemesh_slowpath_csum_completed_packets_total %llu\n",
			(unsigned long long)g.csum_completed);
		fprintf(f, "# TYPE cubemesh_wire_rejected_messages counter\n# HELP cubemesh_wire_rejected_messages "
			   "Malformed or refused messages received, by socket.\n"
			   "cubemesh_wire_rejected_messages_total{socket=\"slowpath\"} %llu\n"
			   "cubemesh_wire_rejected_messages_total{socket=\"ring\"} %llu\n"
			   "cubemesh_wire_rejected_messages_total{socket=\"logs\"} %llu\n",
			(unsigned long long)g.bad_messages, (unsigned long long)g.bad_records,
			(unsigned long long)broker_logsink_rejected(b));
	}
	fclose(f);
	return text;
}

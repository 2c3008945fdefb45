/* What each cube process reports about its own side of the slow path: the
 * packets out it could not hand to the broker because its queue toward us
 * was full (cube-runtime/slowpath.c counts them and logs CUBE-SP-OUT-LOST).
 * They ride on PacketOutBatch.out_lost, so they reach us with the next
 * batch that does get through, or with an empty batch the process sends
 * when it has something new to report.
 *
 * One entry per (service, pid), in a fixed table: the least recently heard
 * process gives its place up when the table is full, so memory stays
 * bounded whatever the restarts.
 */
#include <stdio.h>
#include <string.h>

#include "slowpath_procs.h"

void broker_sp_procs_report(struct broker_sp_procs *t, const char *service, uint32_t pid, uint64_t out_lost)
{
	struct broker_sp_proc *slot = NULL, *unused = NULL, *oldest = NULL;

	if (!service || !*service)
		return;
	t->clock++;
	for (size_t i = 0; i < BROKER_SP_PROCS && !slot; i++) {
		struct broker_sp_proc *p = &t->procs[i];

		if (!p->used) {
			if (!unused)
				unused = p;
		} else if (p->pid == pid && strcmp(p->service, service) == 0) {
			slot = p;
		} else if (!oldest || p->heard < oldest->heard) {
			oldest = p;
		}
	}
	if (!slot) {
		slot = unused ? unused : oldest;
		memset(slot, 0, sizeof(*slot));
		slot->used = true;
		slot->pid = pid;
		snprintf(slot->service, sizeof(slot->service), "%s", service);
	}
	slot->out_lost = out_lost;
	slot->heard = t->clock;
}

void broker_sp_procs_metrics(FILE *f, const struct broker_sp_procs *t, broker_sp_proc_live_fn live, void *arg)
{
	fputs("# TYPE cubemesh_cube_slowpath_out_lost_packets counter\n"
	      "# HELP cubemesh_cube_slowpath_out_lost_packets Packets out a cube process could not hand to "
	      "the broker: its queue toward the broker was full.\n",
	      f);
	for (size_t i = 0; i < BROKER_SP_PROCS; i++) {
		const struct broker_sp_proc *p = &t->procs[i];

		if (!p->used || (live && !live(p->service, p->pid, arg)))
			continue;
		fprintf(f, "cubemesh_cube_slowpath_out_lost_packets_total{service=\"%s\",pid=\"%u\"} %llu\n",
			p->service, p->pid, (unsigned long long)p->out_lost);
	}
}

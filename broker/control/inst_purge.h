/* What a record the broker could not restore leaves in the kernel.
 *
 * The data plane outlives the broker: an instance's program sits in its
 * PatchPanel slot, its netdevs run input programs that jump there, other
 * ports' wires lead there, and its maps and program are pinned under
 * <bpffs>/cubes/<service>/<name>. When its record is set aside at start
 * (corrupt, past a bound, in conflict), nothing in the broker names that
 * slot any more, and the next instance created would get it and receive
 * the old instance's traffic. So the broker adopts what the pins show and
 * removes it; what it cannot remove keeps its slot reserved.
 *
 * Called once at start, after the records are restored and before any
 * cube process or client is served. Loop thread only.
 */
#ifndef BROKER_INST_PURGE_H
#define BROKER_INST_PURGE_H

#include <stdbool.h>
#include <stddef.h>

#include "control/control.h"
#include "store/datastore.h"

/* One record load could not restore (broker_datastore_load_ex). */
struct broker_purge_item {
	char service[BROKER_NAME_MAX];
	char name[BROKER_NAME_MAX];
	bool foreign; /* left in place (another format, unreadable): hold its slots, touch nothing */
};

/* For each set-aside record, and for each pin directory under
 * <bpffs>/cubes that no restored instance and no item names: finds the
 * PatchPanel slots holding a program pinned in its directory, detaches the
 * netdev input programs that enter those slots, points other ports' wires
 * into them at slot 0, empties its own pcn_fwd entries and the slots,
 * resets their counters and removes the pins (BROKER-DS-PURGE, one line
 * per thing removed). A slot is reserved in b->cube_ids, so no new
 * instance gets it, whenever a step fails and for foreign records
 * (BROKER-DS-SLOT-HELD). Remembers each name purged, for
 * broker_inst_purge_forget. Returns how many slots stay reserved. */
int broker_inst_purge(struct broker *b, const struct broker_purge_item *items, size_t n_items);

/* A cube process that outlived the broker may still hold a purged
 * instance. Called when svc registers, before its replay is queued:
 * queues (on svc's key, so ahead of the replay) an APPLY_DELETE of each
 * name purged for svc (BROKER-DS-FORGET), unless an instance of that name
 * exists again. A name is forgotten once a process acknowledged it. */
void broker_inst_purge_forget(struct broker *b, struct broker_service *svc);

#endif

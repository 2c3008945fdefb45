/* Helpers shared by instance.c (lifecycle, replay) and instance_write.c
 * (write requests). Not used elsewhere. */
#ifndef BROKER_INSTANCE_INT_H
#define BROKER_INSTANCE_INT_H

#include "control/control.h"

/* Ports read out of a config tree. */
struct port_collect {
	struct broker_port *ports;
	size_t n, cap;
	int err;
};
int broker_inst_collect_port(void *arg, const char *name, const char *peer);

int broker_inst_new(struct broker_instance **out, const char *service, const char *name);
void broker_inst_link(struct broker *b, struct broker_instance *inst);
void broker_inst_unlink(struct broker *b, struct broker_instance *inst);
int broker_inst_make_uuid(char out[37]);
enum pcn_hook broker_inst_hook(const struct lyd_node *cfg);
struct broker_port *broker_inst_port(struct broker_instance *inst, const char *name);
/* Copies the committed peer of each port from the config into inst->ports. */
void broker_inst_sync_peers(struct broker_instance *inst);
void broker_inst_remove_pins(struct broker *b, const struct broker_instance *inst);
int broker_inst_persist(struct broker *b, const struct broker_instance *inst);
int broker_inst_fill_apply(struct broker *b, const struct broker_instance *inst, const struct lyd_node *cfg,
			   Cubemesh__ApplyConfig *ac, Cubemesh__PortInfo **pis, Cubemesh__PortInfo *pi_store,
			   const struct broker_port *ports, size_t n_ports, char **json);
void broker_inst_install_programs(struct broker *b, struct broker_instance *inst,
				  const Cubemesh__CubeReply *reply);
/* The PatchPanel a program of inst goes into: its hook's, or TC for the TC
 * build (the egress twin, cube-runtime/twin.c) of a transparent instance
 * at XDP. */
enum pcn_hook broker_inst_prog_hook(const struct broker_instance *inst, Cubemesh__Hook hook);

/* instance_resync.c: a write the broker stopped waiting for. new returns
 * NULL without memory; queue puts its resync job on the service's queue;
 * done is the call callback that queues it once the late call is over. */
struct write_late;
struct write_late *broker_write_late_new(struct broker_service *svc, const char *name, uint32_t index,
					 enum pcn_hook hook, bool slot_held);
void broker_write_late_queue(struct broker *b, struct write_late *l);
void broker_write_late_done(struct broker *b, void *arg, const struct broker_error *err,
			    Cubemesh__CubeReply *reply);

#endif

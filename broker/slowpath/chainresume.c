/* Long chains resumed through the slow path (§VI-G): an instance whose
 * resume-long-chains is on hands the packets that would pass the kernel's
 * tail-call limit to the ring (PCN_SP_RESUME); the broker injects each into
 * the port it was going to, where it starts with a fresh hop count. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dataplane/inject.h"
#include "model/model.h"
#include "slowpath/slowpath.h"
#include "topology/topology.h"
#include "log.h"
#include "pcn_chain_kern_user.h"

void broker_chain_cfg_apply(struct broker *b, const struct broker_instance *inst)
{
	const char *v = inst->config ? broker_config_leaf(inst->config, "resume-long-chains") : NULL;
	struct pcn_chain_cfg cfg = { .resume = v && strcmp(v, "true") == 0 };
	char path[PATH_MAX];
	int fd;

	if (pcn_layout_shared(path, sizeof(path), b->opts.bpffs_root, PCN_MAP_CHAIN_CFG))
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return; /* no fast path pinned it yet: nothing can read it either */
	if (bpf_map_update_elem(fd, &inst->index, &cfg, BPF_ANY) < 0)
		PCN_WARN("BROKER-CHAIN-CFG", "cannot set resume-long-chains of %s: %s", inst->name, strerror(errno));
	close(fd);
}

int broker_chain_resume(struct broker *b, struct broker_inject *inj, uint32_t index, uint32_t port,
			const void *data, size_t len)
{
	struct broker_instance *inst;
	enum pcn_hook hook;

	inst = broker_instance_by_index(b, index);
	/* The peer may be a transparent stack's entry slot (attach_port.c). */
	if (!inst && inj && broker_attach_slot_hook(b, index, &hook) == 0)
		return broker_inject(inj, hook, index, port, data, len);
	if (!inst || !inj)
		return -ENOENT;
	return broker_inject(inj, inst->hook, index, port, data, len);
}

/* simplebridge: the control plane and slow path of a learning switch.
 *
 * The fast path learns and forwards known unicast by itself; this process
 * sets the aging time, reads the filtering database (forgetting what aged
 * out), empties it on `flush`, and floods what the fast path sends up
 * (broadcast, multicast, unknown destinations) out of every other port. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bpf.h>

#include "pcn_cube.h"
#include "pcn_kern_user.h"
#include "simplebridge_shared.h"
#include "simplebridge_tc.skel.h"
#include "simplebridge_xdp.skel.h"
#include "simplebridge_yang.h"

#define SIMPLEBRIDGE_FDB "simplebridge_fdb"
#define SIMPLEBRIDGE_CFG "simplebridge_cfg"

/* The clock bpf_ktime_get_ns() reads. */
static uint64_t simplebridge_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int simplebridge_set_aging(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct simplebridge_cfg cfg = { .aging_ns = SIMPLEBRIDGE_DEFAULT_AGING_NS };
	uint32_t zero = 0;
	int rc;

	if (op != PCN_OP_DELETE)
		cfg.aging_ns = strtoull(pcn_node_value(node), NULL, 10) * 1000000000ull;
	rc = pcn_map_update(inst, SIMPLEBRIDGE_CFG, &zero, &cfg, BPF_ANY);
	if (rc)
		return pcn_fail(inst, rc, "cannot set the aging time: %s", strerror(-rc));
	return 0;
}

static uint64_t simplebridge_aging_ns(struct pcn_instance *inst)
{
	struct simplebridge_cfg cfg = { 0 };
	uint32_t zero = 0;

	if (pcn_map_lookup(inst, SIMPLEBRIDGE_CFG, &zero, &cfg) || !cfg.aging_ns)
		return SIMPLEBRIDGE_DEFAULT_AGING_NS;
	return cfg.aging_ns;
}

/* Lists the fdb; entries older than the aging time are deleted on the way
 * (the fast path already ignores them), so the map does not fill up with
 * hosts that left. */
static int simplebridge_read_fdb(struct pcn_instance *inst, struct pcn_state *st)
{
	struct simplebridge_fdb_key key, next, *prev = NULL;
	uint64_t now = simplebridge_now_ns(), aging = simplebridge_aging_ns(inst);
	int rc = 0;

	while (pcn_map_next_key(inst, SIMPLEBRIDGE_FDB, prev, &next) == 0) {
		struct simplebridge_fdb_val v;
		const char *port;
		char mac[18], path[96];
		uint64_t age;

		key = next;
		prev = &key;
		if (pcn_map_lookup(inst, SIMPLEBRIDGE_FDB, &key, &v))
			continue;
		age = now > v.seen_ns ? now - v.seen_ns : 0;
		port = pcn_port_name(inst, v.port);
		if (age > aging || !port) {
			pcn_map_delete(inst, SIMPLEBRIDGE_FDB, &key);
			continue;
		}
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", key.addr[0], key.addr[1], key.addr[2],
			 key.addr[3], key.addr[4], key.addr[5]);
		snprintf(path, sizeof(path), "fdb/entry[address='%s']/port", mac);
		rc = pcn_state_set(st, path, "%s", port);
		snprintf(path, sizeof(path), "fdb/entry[address='%s']/age", mac);
		if (!rc)
			rc = pcn_state_set(st, path, "%" PRIu64, (uint64_t)(age / 1000000000ull));
		if (rc)
			break;
	}
	return rc;
}

/* Floods a frame the fast path sent up out of every port but the one it
 * came in on. */
static void simplebridge_pkt_in(struct pcn_instance *inst, const struct pcn_pkt *pkt)
{
	if (pkt->reason != SIMPLEBRIDGE_REASON_FLOOD || pkt->len != pkt->orig_len)
		return; /* a frame cut at the snap length cannot be sent again */
	for (uint32_t p = 0; p < PCN_MAX_PORTS; p++) {
		if (p == pkt->port || !pcn_port_name(inst, p))
			continue;
		pcn_send_packet_out(inst, p, PCN_DIR_EGRESS, pkt->data, pkt->len);
	}
}

/* The `flush` action: forget every learned entry. */
static int simplebridge_flush(struct pcn_instance *inst, const char *input_json)
{
	int rc;

	(void)input_json;
	rc = pcn_map_clear(inst, SIMPLEBRIDGE_FDB);
	if (rc)
		return pcn_fail(inst, rc, "cannot flush the fdb: %s", strerror(-rc));
	return 0;
}

static const struct pcn_action_handler simplebridge_actions[] = {
	{ "/simplebridge:simplebridge/fdb/flush", simplebridge_flush },
	{ NULL },
};

static const struct pcn_config_handler simplebridge_handlers[] = {
	{ "/simplebridge:simplebridge/fdb/aging-time", simplebridge_set_aging },
	{ NULL },
};

static const struct pcn_state_handler simplebridge_state[] = {
	{ "/simplebridge:simplebridge/fdb/entry", simplebridge_read_fdb },
	{ NULL },
};

const struct pcn_cube_desc simplebridge_desc = {
	.service = "simplebridge",
	.version = "1.0.0",
	.description = "A learning switch: MAC learning in the fast path, flooding in the slow path",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "simplebridge",
	.yang_module = simplebridge_yang,
	.xdp_object = simplebridge_xdp__elf_bytes,
	.tc_object = simplebridge_tc__elf_bytes,
	.handlers = simplebridge_handlers,
	.state = simplebridge_state,
	.pkt_in = simplebridge_pkt_in,
	.actions = simplebridge_actions,
};

#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&simplebridge_desc, argc, argv);
}
#endif

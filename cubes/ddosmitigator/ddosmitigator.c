/* ddosmitigator control plane: the blacklists (map entries keyed by
 * address), their drop counters and the instance's drop rate. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bpf.h>

#include "ddosmitigator_tc.skel.h"
#include "ddosmitigator_xdp.skel.h"
#include "ddosmitigator_yang.h"
#include "pcn_cube.h"

/* For pps: the total at the previous read. */
struct ddosmitigator {
	uint64_t last_pkts, last_ms, pps;
};

static uint64_t ddosmitigator_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int ddosmitigator_on_create(struct pcn_instance *inst)
{
	struct ddosmitigator *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->last_ms = ddosmitigator_now_ms();
	pcn_instance_set_priv(inst, d);
	return 0;
}

static void ddosmitigator_on_destroy(struct pcn_instance *inst)
{
	free(pcn_instance_priv(inst));
	pcn_instance_set_priv(inst, NULL);
}

static int ddosmitigator_set(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node, const char *map)
{
	const char *ip = pcn_node_key(node, "ip");
	struct in_addr a;
	uint64_t *zeros;
	int rc;

	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return pcn_fail(inst, -EINVAL, "not an IPv4 address: %s", ip ? ip : "(none)");
	if (op == PCN_OP_DELETE) {
		rc = pcn_map_delete(inst, map, &a.s_addr);
		return rc && rc != -ENOENT ? pcn_fail(inst, rc, "cannot remove %s: %s", ip, strerror(-rc)) : 0;
	}
	if (op != PCN_OP_CREATE)
		return 0;
	zeros = calloc((size_t)pcn_ncpus(), sizeof(*zeros));
	if (!zeros)
		return pcn_fail(inst, -ENOMEM, "out of memory");
	rc = pcn_map_update(inst, map, &a.s_addr, zeros, BPF_NOEXIST);
	free(zeros);
	return rc && rc != -EEXIST ? pcn_fail(inst, rc, "cannot blacklist %s: %s", ip, strerror(-rc)) : 0;
}

static int ddosmitigator_set_src(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	return ddosmitigator_set(inst, op, node, "ddosmitigator_src");
}

static int ddosmitigator_set_dst(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	return ddosmitigator_set(inst, op, node, "ddosmitigator_dst");
}

/* Sets <list>[ip=...]/drop-pkts of every entry of map; adds them to *total. */
static int ddosmitigator_read_list(struct pcn_instance *inst, struct pcn_state *st, const char *map,
				   const char *list, uint64_t *total)
{
	uint32_t key, next;
	char ip[INET_ADDRSTRLEN], path[96];
	uint64_t n;
	int rc;

	for (rc = pcn_map_next_key(inst, map, NULL, &next); rc == 0; rc = pcn_map_next_key(inst, map, &key, &next)) {
		key = next;
		if (pcn_map_sum_u64(inst, map, &key, &n, 1))
			continue; /* removed meanwhile */
		*total += n;
		if (!st)
			continue;
		inet_ntop(AF_INET, &key, ip, sizeof(ip));
		snprintf(path, sizeof(path), "%s[ip='%s']/drop-pkts", list, ip);
		if (pcn_state_set(st, path, "%" PRIu64, n))
			return -EINVAL;
	}
	return rc == -ENOENT ? 0 : rc;
}

static int ddosmitigator_read_src(struct pcn_instance *inst, struct pcn_state *st)
{
	uint64_t total = 0;

	return ddosmitigator_read_list(inst, st, "ddosmitigator_src", "blacklist-src", &total);
}

static int ddosmitigator_read_dst(struct pcn_instance *inst, struct pcn_state *st)
{
	uint64_t total = 0;

	return ddosmitigator_read_list(inst, st, "ddosmitigator_dst", "blacklist-dst", &total);
}

static int ddosmitigator_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	struct ddosmitigator *d = pcn_instance_priv(inst);
	uint64_t pkts = 0, now = ddosmitigator_now_ms();
	int rc;

	rc = ddosmitigator_read_list(inst, NULL, "ddosmitigator_src", NULL, &pkts);
	if (!rc)
		rc = ddosmitigator_read_list(inst, NULL, "ddosmitigator_dst", NULL, &pkts);
	if (rc)
		return rc;
	/* A rate over at least a second: reads closer together reuse it. A
	 * deleted entry takes its count away: the rate never goes negative. */
	if (d && now - d->last_ms >= 1000) {
		d->pps = pkts > d->last_pkts ? (pkts - d->last_pkts) * 1000 / (now - d->last_ms) : 0;
		d->last_pkts = pkts;
		d->last_ms = now;
	}
	rc = pcn_state_set(st, "stats/pkts", "%" PRIu64, pkts);
	if (!rc)
		rc = pcn_state_set(st, "stats/pps", "%" PRIu64, d ? d->pps : 0);
	return rc;
}

static const struct pcn_config_handler ddosmitigator_handlers[] = {
	{ "/ddosmitigator:ddosmitigator/blacklist-src", ddosmitigator_set_src },
	{ "/ddosmitigator:ddosmitigator/blacklist-dst", ddosmitigator_set_dst },
	{ NULL },
};

static const struct pcn_state_handler ddosmitigator_state[] = {
	{ "/ddosmitigator:ddosmitigator/stats", ddosmitigator_read_stats },
	{ "/ddosmitigator:ddosmitigator/blacklist-src", ddosmitigator_read_src },
	{ "/ddosmitigator:ddosmitigator/blacklist-dst", ddosmitigator_read_dst },
	{ NULL },
};

static const struct pcn_cube_desc ddosmitigator_desc = {
	.service = "ddosmitigator",
	.version = "1.0.0",
	.description = "Drops the packets of blacklisted source and destination addresses",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "ddosmitigator",
	.yang_module = ddosmitigator_yang,
	.xdp_object = ddosmitigator_xdp__elf_bytes,
	.tc_object = ddosmitigator_tc__elf_bytes,
	.handlers = ddosmitigator_handlers,
	.state = ddosmitigator_state,
	.on_create = ddosmitigator_on_create,
	.on_destroy = ddosmitigator_on_destroy,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&ddosmitigator_desc, argc, argv);
}

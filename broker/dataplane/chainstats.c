/* Chaining counters: the missed tail calls of each instance by reason
 * (bpf/pcn_chain_kern_user.h), read from the pinned pcn_chain_stats map for
 * /metrics and for each instance's state (tail-call-misses). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/tables.h"
#include "dataplane/chainstats.h"
#include "pcn_chain_kern_user.h"
#include "pcn_kern_user.h"
#include "pcn_percpu.h"

/* The map is pinned by the first object that declares it (the netdev input
 * program the broker loads at start), so it is always there once the data
 * plane is up. Opened per call: reads are rare (REST), and a broker whose
 * pins were flushed and remade never holds a stale fd. */
static int chain_map_open(struct broker *b)
{
	char path[PATH_MAX];
	int fd;

	int rc = pcn_layout_shared(path, sizeof(path), b->opts.bpffs_root, PCN_MAP_CHAIN_STATS);

	if (rc)
		return rc;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int broker_chain_stats_read(struct broker *b, uint32_t cube_index, struct pcn_chain_stats *out)
{
	int fd, rc;

	if (cube_index >= PCN_MAX_CUBES)
		return -ERANGE;
	fd = chain_map_open(b);
	if (fd < 0)
		return fd;
	rc = pcn_percpu_sum_u64(fd, &cube_index, sizeof(*out), out, sizeof(*out));
	close(fd);
	return rc;
}

int broker_chain_stats_reset(struct broker *b, uint32_t cube_index)
{
	int fd, rc;

	if (cube_index >= PCN_MAX_CUBES)
		return -ERANGE;
	fd = chain_map_open(b);
	if (fd < 0)
		return fd;
	rc = pcn_percpu_reset(fd, &cube_index, sizeof(struct pcn_chain_stats));
	close(fd);
	return rc;
}

json_t *broker_chain_stats_json(struct broker *b, const struct broker_instance *inst)
{
	struct pcn_chain_stats st = { 0 };
	json_t *o = json_object();
	char num[24];

	/* No map (data plane not up): zeros, so the container is always there. */
	(void)broker_chain_stats_read(b, inst->index, &st);
	for (int r = 0; r < PCN_MISS_REASONS; r++) {
		if (!pcn_miss_reason_names[r])
			continue;
		/* RFC 7951: a uint64 is a JSON string. */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)st.miss[r]);
		json_object_set_new(o, pcn_miss_reason_names[r], json_string(num));
	}
	return o;
}

char *broker_chain_metrics(struct broker *b)
{
	static const char name[] = "cubemesh_cube_missed_tail_calls_by_reason";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "# TYPE %s counter\n# HELP %s Missed tail calls of the instance, by reason.\n", name, name);
	for (struct broker_instance *i = b->instances; i; i = i->next) {
		struct pcn_chain_stats st;

		if (broker_chain_stats_read(b, i->index, &st))
			continue;
		for (int r = 0; r < PCN_MISS_REASONS; r++)
			if (pcn_miss_reason_names[r])
				fprintf(f, "%s_total{service=\"%s\",cube=\"%s\",reason=\"%s\"} %llu\n", name,
					i->service, i->name, pcn_miss_reason_names[r],
					(unsigned long long)st.miss[r]);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

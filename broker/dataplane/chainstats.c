/* Chaining counters: the missed tail calls of each instance by reason
 * (bpf/pcn_chain_kern_user.h), read from the pinned pcn_chain_stats map for
 * /metrics and for each instance's state (tail-call-misses). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
 * plane is up. Its fd is kept between reads (a GET of an instance reads it,
 * and opening it was a tenth of that GET's cost); a stat of the pin tells
 * whether the pin still names the map the fd holds, so that a broker whose
 * pins were flushed and remade never reads a stale map. One cache per
 * process, for the bpffs root it was opened under. */
static struct {
	int fd; /* 0: none (never a map's fd: stdin) */
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];
} chain_map;

static void chain_map_forget(void)
{
	if (chain_map.fd > 0)
		close(chain_map.fd);
	chain_map.fd = 0;
}

static int chain_map_open(struct broker *b)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	int rc = pcn_layout_shared(path, sizeof(path), b->opts.bpffs_root, PCN_MAP_CHAIN_STATS);

	if (rc)
		return rc;
	if (stat(path, &st)) {
		chain_map_forget();
		return -errno;
	}
	if (chain_map.fd > 0 && chain_map.dev == st.st_dev && chain_map.ino == st.st_ino &&
	    strcmp(chain_map.path, path) == 0)
		return chain_map.fd;
	chain_map_forget();
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	/* The pin may have been replaced between the stat and the open: the
	 * fd is the newer map then, and the next stat opens it again. */
	chain_map.fd = fd;
	chain_map.dev = st.st_dev;
	chain_map.ino = st.st_ino;
	snprintf(chain_map.path, sizeof(chain_map.path), "%s", path);
	return fd;
}

int broker_chain_stats_read(struct broker *b, uint32_t cube_index, struct pcn_chain_stats *out)
{
	int fd;

	if (cube_index >= PCN_MAX_CUBES)
		return -ERANGE;
	fd = chain_map_open(b);
	if (fd < 0)
		return fd;
	return pcn_percpu_sum_u64(fd, &cube_index, sizeof(*out), out, sizeof(*out));
}

int broker_chain_stats_reset(struct broker *b, uint32_t cube_index)
{
	int fd;

	if (cube_index >= PCN_MAX_CUBES)
		return -ERANGE;
	fd = chain_map_open(b);
	if (fd < 0)
		return fd;
	return pcn_percpu_reset(fd, &cube_index, sizeof(struct pcn_chain_stats));
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

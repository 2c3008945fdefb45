/* streamtest: a test-only cube for live streams (tests/integration/
 * cube_stream.sh). Two streams per instance, written from a writer thread
 * of its own, as a capture's writer would:
 *   records  `count` records "%08u streamtest\n" (one pcn_stream_write
 *            each, retried while the queue is full: none lost), then idle;
 *   flood    a 64 KiB block each millisecond, dropped (counted) when the
 *            client's queue is full.
 * stats: streams opened, on_stream_close calls, open now, drops, bytes
 * queued. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcn_cube.h"
#include "streamtest_tc.skel.h"
#include "streamtest_xdp.skel.h"
/* Built twice: as streamtest, and as streamtwo (ST_TWO) for a second
 * service. */
#ifdef ST_TWO
#include "streamtwo_yang.h"
#define ST_SERVICE "streamtwo"
#define ST_YANG streamtwo_yang
#else
#include "streamtest_yang.h"
#define ST_SERVICE "streamtest"
#define ST_YANG streamtest_yang
#endif

struct st_stats {
	struct st_stats *next; /* st_all */
	uint64_t opened, closed, drops, written;
	uint32_t count;
};

/* One open stream, as the writer thread finds it. */
struct st_ent {
	struct st_ent *next;
	struct pcn_stream *s;
	struct st_stats *stats;
	bool flood;
	uint32_t next_rec, count;
};

/* The writer thread and the callbacks share the list and the stats. */
static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static struct st_ent *st_list;
/* Every instance's stats: an instance outlives the process (no
 * on_destroy at exit), and its memory stays reachable until then. */
static struct st_stats *st_all;

static struct st_stats *st_priv(struct pcn_instance *inst)
{
	struct st_stats *p = pcn_instance_priv(inst);

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (p) {
			p->count = 1000;
			pthread_mutex_lock(&st_lock);
			p->next = st_all;
			st_all = p;
			pthread_mutex_unlock(&st_lock);
			pcn_instance_set_priv(inst, p);
		}
	}
	return p;
}

static void *st_writer(void *arg)
{
	static char block[65536];
	const struct timespec ms = { 0, 1000000 };

	(void)arg;
	memset(block, 'f', sizeof(block));
	for (;;) {
		pthread_mutex_lock(&st_lock);
		for (struct st_ent *e = st_list; e; e = e->next) {
			if (e->flood) {
				int rc = pcn_stream_write(e->s, block, sizeof(block));

				if (rc == -EAGAIN)
					e->stats->drops++;
				else if (rc == 0)
					e->stats->written += sizeof(block);
				continue;
			}
			/* At most 2000 records a round: the lock is short. */
			for (int k = 0; k < 2000 && e->next_rec < e->count; k++) {
				char rec[32];
				int n = snprintf(rec, sizeof(rec), "%08u streamtest\n", e->next_rec);
				int rc = pcn_stream_write(e->s, rec, (size_t)n);

				if (rc == -EAGAIN) {
					e->stats->drops++;
					break; /* the same record next round */
				}
				if (rc)
					break;
				e->stats->written += (uint64_t)n;
				e->next_rec++;
			}
		}
		pthread_mutex_unlock(&st_lock);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

static int st_set_count(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct st_stats *p = st_priv(inst);

	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&st_lock);
	p->count = op == PCN_OP_DELETE ? 1000 : (uint32_t)strtoul(pcn_node_value(node), NULL, 10);
	pthread_mutex_unlock(&st_lock);
	return 0;
}

static int st_open(struct pcn_instance *inst, const char *name, struct pcn_stream *s)
{
	struct st_stats *p = st_priv(inst);
	struct st_ent *e = calloc(1, sizeof(*e));

	if (!p || !e) {
		free(e);
		return -ENOMEM;
	}
	e->s = s;
	e->stats = p;
	e->flood = strcmp(name, "flood") == 0;
	pthread_mutex_lock(&st_lock);
	e->count = p->count;
	e->next = st_list;
	st_list = e;
	p->opened++;
	pthread_mutex_unlock(&st_lock);
	PCN_INFO("STREAMTEST-OPEN", "%s: %s opened", pcn_instance_name(inst), name);
	return 0;
}

static void st_close(struct pcn_instance *inst, struct pcn_stream *s)
{
	struct st_ent **pp, *e = NULL;

	pthread_mutex_lock(&st_lock);
	for (pp = &st_list; *pp; pp = &(*pp)->next)
		if ((*pp)->s == s) {
			e = *pp;
			*pp = e->next;
			e->stats->closed++;
			break;
		}
	pthread_mutex_unlock(&st_lock);
	PCN_INFO("STREAMTEST-CLOSE", "%s: %s closed, %" PRIu64 " writes refused", pcn_instance_name(inst),
		 pcn_stream_name(s), pcn_stream_drops(s));
	free(e);
}

static void st_destroy(struct pcn_instance *inst)
{
	struct st_stats *p = pcn_instance_priv(inst);

	/* Its streams were closed before this. */
	pthread_mutex_lock(&st_lock);
	for (struct st_stats **pp = &st_all; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&st_lock);
	free(p);
	pcn_instance_set_priv(inst, NULL);
}

static int st_read(struct pcn_instance *inst, struct pcn_state *st)
{
	struct st_stats *p = st_priv(inst), c;
	int rc;

	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&st_lock);
	c = *p;
	pthread_mutex_unlock(&st_lock);
	rc = pcn_state_set(st, "stats/opened", "%" PRIu64, c.opened);
	if (!rc)
		rc = pcn_state_set(st, "stats/closed", "%" PRIu64, c.closed);
	if (!rc)
		rc = pcn_state_set(st, "stats/open", "%" PRIu64, c.opened - c.closed);
	if (!rc)
		rc = pcn_state_set(st, "stats/drops", "%" PRIu64, c.drops);
	if (!rc)
		rc = pcn_state_set(st, "stats/written", "%" PRIu64, c.written);
	return rc;
}

static const struct pcn_config_handler st_handlers[] = {
	{ "/" ST_SERVICE ":" ST_SERVICE "/count", st_set_count },
	{ NULL },
};

static const struct pcn_state_handler st_state[] = {
	{ "/" ST_SERVICE ":" ST_SERVICE "/stats", st_read },
	{ NULL },
};

static const struct pcn_stream_desc st_streams[] = {
	{ "records", "text/plain" },
	{ "flood", NULL },
	{ NULL },
};

static const struct pcn_cube_desc st_desc = {
	.service = ST_SERVICE,
	.version = "1.0.0",
	.description = "Live stream test cube",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = ST_SERVICE,
	.yang_module = ST_YANG,
	.xdp_object = streamtest_xdp__elf_bytes,
	.tc_object = streamtest_tc__elf_bytes,
	.handlers = st_handlers,
	.state = st_state,
	.on_destroy = st_destroy,
	.streams = st_streams,
	.on_stream_open = st_open,
	.on_stream_close = st_close,
};

int main(int argc, char **argv)
{
	pthread_t t;

	if (pthread_create(&t, NULL, st_writer, NULL))
		return 1;
	pthread_detach(t);
	return pcn_cube_main(&st_desc, argc, argv);
}

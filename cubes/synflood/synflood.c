/* synflood control plane: sums the fast path's per-CPU counters, turns
 * them into per-second rates and the half-open ratio on a one-second timer,
 * keeps the parent's IPv4 addresses in the fast path (for deliverratio),
 * and resets the counters on request. What each leaf means is in
 * yang/synflood.yang. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bpf.h>

#include "pcn_cube.h"
#include "pcn_percpu.h"
#include "synflood_shared.h"
#include "synflood_tc.skel.h"
#include "synflood_xdp.skel.h"
#include "synflood_yang.h"

#define SYNFLOOD_TICK_MS 1000

/* Indexes of struct synflood_ctr's counters. */
enum { C_SYN, C_SYNACK, C_RST, C_EST, C_IPV4, C_IPV4_LOCAL };

/* An instance's figures from the last tick. */
struct synflood {
	struct synflood *next;
	uint64_t last[2][SYNFLOOD_NCTR]; /* totals at the last tick, per direction */
	uint64_t last_ms;                /* monotonic time of the last tick */
	int primed;                      /* last[] holds a reading */
	uint64_t syn_rate, synack_rate, rst_rate, halfopen, lastupdate;
};

/* Every instance's data: on_destroy runs when an instance is deleted, not
 * when the process exits while its instances live on in the kernel. */
static struct synflood *synflood_all;

__attribute__((destructor)) static void synflood_free_all(void)
{
	while (synflood_all) {
		struct synflood *s = synflood_all;

		synflood_all = s->next;
		free(s);
	}
}

static uint64_t synflood_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Both directions' totals over every CPU. */
static int synflood_read(struct pcn_instance *inst, uint64_t c[2][SYNFLOOD_NCTR])
{
	for (uint32_t dir = 0; dir < 2; dir++) {
		int rc = pcn_map_sum_u64(inst, "synflood_ctr", &dir, c[dir], SYNFLOOD_NCTR);

		if (rc)
			return rc;
	}
	return 0;
}

/* Increase of a counter since the last tick; a reset in between makes the
 * counter smaller, and then all of it is new. */
static uint64_t synflood_delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

static void synflood_tick(struct pcn_instance *inst, void *arg)
{
	struct synflood *s = pcn_instance_priv(inst);
	uint64_t c[2][SYNFLOOD_NCTR], d[SYNFLOOD_NCTR] = { 0 }, now = synflood_ms(CLOCK_MONOTONIC), dt;

	(void)arg;
	if (!s || synflood_read(inst, c))
		return;
	dt = now - s->last_ms;
	/* The first reading (a new instance, or this process taking over one
	 * that kept counting) is only a baseline. */
	if (s->primed && dt > 0) {
		for (size_t i = 0; i < SYNFLOOD_NCTR; i++)
			for (int dir = 0; dir < 2; dir++)
				d[i] += synflood_delta(c[dir][i], s->last[dir][i]);
		s->syn_rate = d[C_SYN] * 1000 / dt;
		s->synack_rate = d[C_SYNACK] * 1000 / dt;
		s->rst_rate = d[C_RST] * 1000 / dt;
		s->halfopen = d[C_SYN] > d[C_EST] ? (d[C_SYN] - d[C_EST]) * 1000 / d[C_SYN] : 0;
		s->lastupdate = synflood_ms(CLOCK_REALTIME);
	}
	memcpy(s->last, c, sizeof(s->last));
	s->last_ms = now;
	s->primed = 1;
}

/* The parent's IPv4 addresses into the fast path (none when detached). */
static void synflood_on_parent(struct pcn_instance *inst, const struct pcn_parent_info *parent)
{
	struct synflood_addrs a = { 0 };
	uint32_t zero = 0;
	int rc;

	for (size_t i = 0; parent->name[0] && i < parent->n_ipv4 && i < SYNFLOOD_MAX_ADDRS; i++)
		a.addr[a.n++] = parent->ipv4[i];
	rc = pcn_map_update(inst, "synflood_addrs", &zero, &a, BPF_ANY);
	if (rc)
		PCN_WARN("SYNFLOOD-ADDRS", "%s: cannot set the parent's addresses: %s", pcn_instance_name(inst),
			 strerror(-rc));
}

static int synflood_on_create(struct pcn_instance *inst)
{
	struct synflood *s = calloc(1, sizeof(*s));
	struct pcn_parent_info p;
	int rc;

	if (!s)
		return -ENOMEM;
	s->next = synflood_all;
	synflood_all = s;
	pcn_instance_set_priv(inst, s);
	pcn_parent(inst, &p); /* "" when detached: no addresses */
	synflood_on_parent(inst, &p);
	synflood_tick(inst, NULL);
	rc = pcn_timer_start(inst, SYNFLOOD_TICK_MS, synflood_tick, NULL);
	return rc < 0 ? rc : 0;
}

static void synflood_on_destroy(struct pcn_instance *inst)
{
	struct synflood *s = pcn_instance_priv(inst), **pp;

	for (pp = &synflood_all; s && *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
	pcn_instance_set_priv(inst, NULL);
}

static uint64_t synflood_permille(uint64_t num, uint64_t den)
{
	return den ? num * 1000 / den : 0;
}

static int synflood_set_dir(struct pcn_state *st, const char *dir, const uint64_t *c)
{
	static const char *const names[] = { "syn", "synack", "rst", "established", "ipv4" };
	char path[64];
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "stats/%s/%s", dir, names[i]);
		rc = pcn_state_set(st, path, "%" PRIu64, c[i]);
	}
	return rc;
}

static int synflood_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	struct synflood *s = pcn_instance_priv(inst);
	const uint64_t *in, *eg;
	uint64_t c[2][SYNFLOOD_NCTR], syn, est;
	int rc = synflood_read(inst, c);

	if (rc)
		return rc;
	in = c[SYNFLOOD_DIR_INGRESS];
	eg = c[SYNFLOOD_DIR_EGRESS];
	syn = in[C_SYN] + eg[C_SYN];
	est = in[C_EST] + eg[C_EST];
#define SET(leaf, v)                                                                               \
	do {                                                                                       \
		if (!rc)                                                                           \
			rc = pcn_state_set(st, "stats/" leaf, "%" PRIu64, (uint64_t)(v));          \
	} while (0)
	SET("tcpattemptfails", syn > est ? syn - est : 0);
	SET("tcpoutrsts", eg[C_RST]);
	SET("deliverratio", synflood_permille(in[C_IPV4_LOCAL], in[C_IPV4]));
	SET("responseratio", synflood_permille(eg[C_IPV4], in[C_IPV4]));
	SET("lastupdate", s ? s->lastupdate : 0);
	SET("syn", syn);
	SET("synack", in[C_SYNACK] + eg[C_SYNACK]);
	SET("rst", in[C_RST] + eg[C_RST]);
	SET("established", est);
	SET("syn-rate", s ? s->syn_rate : 0);
	SET("synack-rate", s ? s->synack_rate : 0);
	SET("rst-rate", s ? s->rst_rate : 0);
	SET("halfopen-ratio", s ? s->halfopen : 0);
#undef SET
	if (!rc)
		rc = synflood_set_dir(st, "ingress", in);
	if (!rc)
		rc = synflood_set_dir(st, "egress", eg);
	return rc;
}

/* The same figures on the gateway's GET /metrics: the raw counters per
 * direction (the model's stats/ingress and stats/egress; its syn, synack,
 * rst and established are their sums), and what the model derives from
 * them as gauges, ratios as fractions (the model's per mille / 1000). */
static int synflood_metrics(struct pcn_instance *inst, struct pcn_metrics *m)
{
	static const struct {
		const char *name, *help;
		int idx;
	} ctrs[] = {
		{ "synflood_syn_packets", "TCP segments with SYN and without ACK (connection attempts)", C_SYN },
		{ "synflood_synack_packets", "TCP segments with SYN and ACK (attempts accepted)", C_SYNACK },
		{ "synflood_rst_packets", "TCP segments with RST", C_RST },
		{ "synflood_established_handshakes", "Handshakes seen completing (the client's first ACK)", C_EST },
		{ "synflood_ipv4_packets", "IPv4 packets", C_IPV4 },
	};
	static const char *const dirs[2] = { [SYNFLOOD_DIR_INGRESS] = "ingress", [SYNFLOOD_DIR_EGRESS] = "egress" };
	struct synflood *s = pcn_instance_priv(inst);
	uint64_t c[2][SYNFLOOD_NCTR], syn, est;
	int rc = synflood_read(inst, c);

	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(ctrs) / sizeof(ctrs[0]); i++)
		for (int dir = 0; dir < 2; dir++) {
			const char *const labels[] = { "direction", dirs[dir], NULL };

			pcn_metric_add(m, ctrs[i].name, PCN_METRIC_COUNTER, ctrs[i].help, labels,
				       (double)c[dir][ctrs[i].idx]);
		}
	syn = c[0][C_SYN] + c[1][C_SYN];
	est = c[0][C_EST] + c[1][C_EST];
#define GAUGE(name, help, v) pcn_metric_add(m, "synflood_" name, PCN_METRIC_GAUGE, help, NULL, (double)(v))
	GAUGE("tcp_attempt_fails", "SYNs (both directions) whose handshake did not complete (syn - established)",
	      syn > est ? syn - est : 0);
	GAUGE("deliver_ratio", "Of the IPv4 packets received, the share addressed to the parent",
	      synflood_permille(c[SYNFLOOD_DIR_INGRESS][C_IPV4_LOCAL], c[SYNFLOOD_DIR_INGRESS][C_IPV4]) / 1000.0);
	GAUGE("response_ratio", "IPv4 packets sent out through the parent per IPv4 packet received",
	      synflood_permille(c[SYNFLOOD_DIR_EGRESS][C_IPV4], c[SYNFLOOD_DIR_INGRESS][C_IPV4]) / 1000.0);
	GAUGE("syn_rate", "SYNs per second, both directions, over the last second", s ? s->syn_rate : 0);
	GAUGE("synack_rate", "SYN-ACKs per second, both directions, over the last second", s ? s->synack_rate : 0);
	GAUGE("rst_rate", "RSTs per second, both directions, over the last second", s ? s->rst_rate : 0);
	GAUGE("halfopen_ratio", "Of the SYNs of the last second, the share whose handshake did not complete in it",
	      (s ? s->halfopen : 0) / 1000.0);
#undef GAUGE
	return 0;
}

/* reset-stats: every counter to 0 on every CPU, and the handshakes in
 * flight forgotten (their ACK would count a handshake whose SYN was
 * before the reset). The next tick takes the zeros as new totals. */
static int synflood_reset(struct pcn_instance *inst, const char *input_json)
{
	int fd = pcn_map_fd(inst, "synflood_ctr"), rc = fd < 0 ? fd : 0;

	(void)input_json;
	for (uint32_t dir = 0; !rc && dir < 2; dir++)
		rc = pcn_percpu_reset(fd, &dir, sizeof(struct synflood_ctr));
	if (!rc) {
		rc = pcn_map_clear(inst, "synflood_hs");
		if (rc == -ENOENT)
			rc = 0;
	}
	return rc ? pcn_fail(inst, rc, "cannot reset the counters: %s", strerror(-rc)) : 0;
}

static const struct pcn_config_handler synflood_handlers[] = {
	{ NULL },
};

static const struct pcn_state_handler synflood_state[] = {
	{ "/synflood:synflood/stats", synflood_read_stats },
	{ NULL },
};

static const struct pcn_action_handler synflood_actions[] = {
	{ "/synflood:synflood/reset-stats", synflood_reset },
	{ NULL },
};

const struct pcn_cube_desc synflood_desc = {
	.service = "synflood",
	.version = "2.0.0",
	.description = "Counts TCP SYNs, SYN-ACKs, RSTs and half-open handshakes on its parent",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "synflood",
	.yang_module = synflood_yang,
	.xdp_object = synflood_xdp__elf_bytes,
	.tc_object = synflood_tc__elf_bytes,
	.handlers = synflood_handlers,
	.state = synflood_state,
	.actions = synflood_actions,
	.on_create = synflood_on_create,
	.on_destroy = synflood_on_destroy,
	.on_parent = synflood_on_parent,
	.metrics = synflood_metrics,
};

/* synflood_test builds this file without main and drives synflood_desc. */
#ifndef PCN_CUBE_NO_MAIN
int main(int argc, char **argv)
{
	return pcn_cube_main(&synflood_desc, argc, argv);
}
#endif

/* tucubetest control plane: a transparent cube that reloads its egress
 * micro-cube 1 on a timer, with code A or code B, from the precompiled
 * objects or from its C source. At XDP the egress pipeline at TC runs in
 * the TC twin, whose micro-cube arrays are its own: a reload must replace
 * the micro-cube there too, as the egress counters show. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pcn_cube.h"
#include "tucubetest_b_tc.skel.h"
#include "tucubetest_b_xdp.skel.h"
#include "tucubetest_src.h"
#include "tucubetest_tc.skel.h"
#include "tucubetest_xdp.skel.h"
#include "tucubetest_yang.h"

/* Put in front of the source for code B. */
#define TUCUBETEST_B_PREFIX "#define TUCUBETEST_CODE_B 1\n"

struct tucubetest {
	int timer; /* 0: no reloads */
	bool from_source;
	bool without_tc; /* an object without its TC build: must be refused at XDP */
	bool code_b;
	char *src_b; /* the source of code B, made once */
	size_t src_b_len;
	uint64_t errors;
};

/* The code a reload loads: the instance's hook's object and its TC build
 * (the twin's), or the source. */
static int tucubetest_code(struct tucubetest *t, const struct pcn_instance *inst, struct pcn_code *code)
{
	bool tc = pcn_instance_attach(inst) == PCN_ATTACH_TC;

	memset(code, 0, sizeof(*code));
	if (t->from_source && !t->code_b) {
		code->kind = PCN_CODE_SOURCE;
		code->data = tucubetest_src;
		code->len = tucubetest_src_len;
	} else if (t->from_source) {
		if (!t->src_b) {
			size_t n = strlen(TUCUBETEST_B_PREFIX);

			t->src_b = malloc(n + tucubetest_src_len);
			if (!t->src_b)
				return -ENOMEM;
			memcpy(t->src_b, TUCUBETEST_B_PREFIX, n);
			memcpy(t->src_b + n, tucubetest_src, tucubetest_src_len);
			t->src_b_len = n + tucubetest_src_len;
		}
		code->kind = PCN_CODE_SOURCE;
		code->data = t->src_b;
		code->len = t->src_b_len;
	} else if (t->code_b) {
		code->data = tc ? tucubetest_b_tc__elf_bytes(&code->len) : tucubetest_b_xdp__elf_bytes(&code->len);
		if (!t->without_tc)
			code->tc_data = tucubetest_b_tc__elf_bytes(&code->tc_len);
	} else {
		code->data = tc ? tucubetest_tc__elf_bytes(&code->len) : tucubetest_xdp__elf_bytes(&code->len);
		if (!t->without_tc)
			code->tc_data = tucubetest_tc__elf_bytes(&code->tc_len);
	}
	return 0;
}

static void tucubetest_tick(struct pcn_instance *inst, void *arg)
{
	struct tucubetest *t = arg;
	struct pcn_code code;
	int rc = tucubetest_code(t, inst, &code);

	if (!rc)
		rc = pcn_reload(inst, &code, PCN_RELOAD_EGRESS + 1);
	if (rc) {
		t->errors++;
		PCN_WARN("TUCUBETEST-RELOAD", "%s: reload failed: %s", pcn_instance_name(inst), strerror(-rc));
	}
}

static int tucubetest_on_create(struct pcn_instance *inst)
{
	struct tucubetest *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pcn_instance_set_priv(inst, t);
	return 0;
}

static void tucubetest_on_destroy(struct pcn_instance *inst)
{
	struct tucubetest *t = pcn_instance_priv(inst);

	if (t)
		free(t->src_b);
	free(t);
	pcn_instance_set_priv(inst, NULL);
}

static int tucubetest_set_period(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct tucubetest *t = pcn_instance_priv(inst);
	unsigned long ms = op == PCN_OP_DELETE ? 0 : strtoul(pcn_node_value(node), NULL, 10);
	int id;

	if (t->timer)
		pcn_timer_stop(inst, t->timer);
	t->timer = 0;
	if (ms == 0)
		return 0;
	id = pcn_timer_start(inst, (unsigned)ms, tucubetest_tick, t);
	if (id < 0)
		return pcn_fail(inst, id, "cannot start the reload timer: %s", strerror(-id));
	t->timer = id;
	return 0;
}

static int tucubetest_set_from(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct tucubetest *t = pcn_instance_priv(inst);

	t->from_source = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "SOURCE") == 0;
	t->without_tc = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "OBJECT-WITHOUT-TC") == 0;
	return 0;
}

static int tucubetest_set_code(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct tucubetest *t = pcn_instance_priv(inst);

	t->code_b = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "B") == 0;
	return 0;
}

static int tucubetest_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	static const char *const leaf[4] = { "stats/ingress-packets", "stats/egress-a", "stats/egress-b",
					     "stats/egress-handler" };
	struct tucubetest *t = pcn_instance_priv(inst);
	int rc = 0;

	for (uint32_t k = 0; !rc && k < 4; k++) {
		uint64_t n = 0;

		rc = pcn_map_sum_u64(inst, "tucubetest_pkts", &k, &n, 1);
		if (!rc)
			rc = pcn_state_set(st, leaf[k], "%" PRIu64, n);
	}
	if (!rc)
		rc = pcn_state_set(st, "stats/reloads", "%" PRIu64, pcn_reload_count(inst));
	if (!rc)
		rc = pcn_state_set(st, "stats/reload-errors", "%" PRIu64, t ? t->errors : 0);
	return rc;
}

static const struct pcn_config_handler tucubetest_handlers[] = {
	{ "/tucubetest:tucubetest/reload-period-ms", tucubetest_set_period },
	{ "/tucubetest:tucubetest/reload-from", tucubetest_set_from },
	{ "/tucubetest:tucubetest/code", tucubetest_set_code },
	{ NULL },
};

static const struct pcn_state_handler tucubetest_state[] = {
	{ "/tucubetest:tucubetest/stats", tucubetest_read_stats },
	{ NULL },
};

static const struct pcn_cube_desc tucubetest_desc = {
	.service = "tucubetest",
	.version = "1.0.0",
	.description = "Test cube: a transparent cube that reloads its egress micro-cube on a timer",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "tucubetest",
	.yang_module = tucubetest_yang,
	.xdp_object = tucubetest_xdp__elf_bytes,
	.tc_object = tucubetest_tc__elf_bytes,
	.handlers = tucubetest_handlers,
	.state = tucubetest_state,
	.on_create = tucubetest_on_create,
	.on_destroy = tucubetest_on_destroy,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&tucubetest_desc, argc, argv);
}

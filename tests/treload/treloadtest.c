/* treloadtest control plane: a transparent cube that reloads its whole fast
 * path, or its egress micro-cube alone, on a timer, with code A or code B,
 * from the precompiled objects or from its C source. At XDP a reload must
 * replace the TC twin too (the egress pipeline at TC), the micro-cube in the
 * twin's own arrays as well: the egress counters say which code ran there. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pcn_cube.h"
#include "treloadtest_b_tc.skel.h"
#include "treloadtest_b_xdp.skel.h"
#include "treloadtest_src.h"
#include "treloadtest_tc.skel.h"
#include "treloadtest_xdp.skel.h"
#include "treloadtest_yang.h"

/* Put in front of the source for code B. */
#define TRELOADTEST_B_PREFIX "#define TRELOADTEST_CODE_B 1\n"

struct treloadtest {
	int timer; /* 0: no reloads */
	bool from_source;
	bool uc_only; /* reload egress micro-cube 1 alone, not the whole fast path */
	bool without_tc; /* an object without its TC build: must be refused at XDP */
	bool code_b;
	char *src_b; /* the source of code B, made once */
	size_t src_b_len;
	uint64_t errors;
};

/* The code a reload loads: the instance's hook's object and its TC build
 * (the twin's), or the source. */
static int treloadtest_code(struct treloadtest *t, const struct pcn_instance *inst, struct pcn_code *code)
{
	bool tc = pcn_instance_attach(inst) == PCN_HOOK_TC;

	memset(code, 0, sizeof(*code));
	if (t->from_source && !t->code_b) {
		code->kind = PCN_CODE_SOURCE;
		code->data = treloadtest_src;
		code->len = treloadtest_src_len;
	} else if (t->from_source) {
		if (!t->src_b) {
			size_t n = strlen(TRELOADTEST_B_PREFIX);

			t->src_b = malloc(n + treloadtest_src_len);
			if (!t->src_b)
				return -ENOMEM;
			memcpy(t->src_b, TRELOADTEST_B_PREFIX, n);
			memcpy(t->src_b + n, treloadtest_src, treloadtest_src_len);
			t->src_b_len = n + treloadtest_src_len;
		}
		code->kind = PCN_CODE_SOURCE;
		code->data = t->src_b;
		code->len = t->src_b_len;
	} else if (t->code_b) {
		code->data = tc ? treloadtest_b_tc__elf_bytes(&code->len) : treloadtest_b_xdp__elf_bytes(&code->len);
		if (!t->without_tc)
			code->tc_data = treloadtest_b_tc__elf_bytes(&code->tc_len);
	} else {
		code->data = tc ? treloadtest_tc__elf_bytes(&code->len) : treloadtest_xdp__elf_bytes(&code->len);
		if (!t->without_tc)
			code->tc_data = treloadtest_tc__elf_bytes(&code->tc_len);
	}
	return 0;
}

static void treloadtest_tick(struct pcn_instance *inst, void *arg)
{
	struct treloadtest *t = arg;
	struct pcn_code code;
	int rc = treloadtest_code(t, inst, &code);

	if (!rc)
		rc = t->uc_only ? pcn_reload(inst, &code, PCN_RELOAD_EGRESS + 1) : pcn_reload_all(inst, &code);
	if (rc) {
		t->errors++;
		PCN_WARN("TRELOADTEST-RELOAD", "%s: reload failed: %s", pcn_instance_name(inst), strerror(-rc));
	}
}

static int treloadtest_on_create(struct pcn_instance *inst)
{
	struct treloadtest *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pcn_instance_set_priv(inst, t);
	return 0;
}

static void treloadtest_on_destroy(struct pcn_instance *inst)
{
	struct treloadtest *t = pcn_instance_priv(inst);

	if (t)
		free(t->src_b);
	free(t);
	pcn_instance_set_priv(inst, NULL);
}

static int treloadtest_set_period(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct treloadtest *t = pcn_instance_priv(inst);
	unsigned long ms = op == PCN_OP_DELETE ? 0 : strtoul(pcn_node_value(node), NULL, 10);
	int id;

	if (t->timer)
		pcn_timer_stop(inst, t->timer);
	t->timer = 0;
	if (ms == 0)
		return 0;
	id = pcn_timer_start(inst, (unsigned)ms, treloadtest_tick, t);
	if (id < 0)
		return pcn_fail(inst, id, "cannot start the reload timer: %s", strerror(-id));
	t->timer = id;
	return 0;
}

static int treloadtest_set_from(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct treloadtest *t = pcn_instance_priv(inst);

	t->from_source = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "SOURCE") == 0;
	t->without_tc = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "OBJECT-WITHOUT-TC") == 0;
	return 0;
}

static int treloadtest_set_program(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct treloadtest *t = pcn_instance_priv(inst);

	t->uc_only = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "EGRESS-MICRO-CUBE") == 0;
	return 0;
}

static int treloadtest_set_code(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct treloadtest *t = pcn_instance_priv(inst);

	t->code_b = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "B") == 0;
	return 0;
}

static int treloadtest_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	static const char *const leaf[5] = { "stats/ingress-packets", "stats/egress-a", "stats/egress-b",
					     "stats/egress-uc-a", "stats/egress-uc-b" };
	struct treloadtest *t = pcn_instance_priv(inst);
	int rc = 0;

	for (uint32_t k = 0; !rc && k < 5; k++) {
		uint64_t n = 0;

		rc = pcn_map_sum_u64(inst, "treloadtest_pkts", &k, &n, 1);
		if (!rc)
			rc = pcn_state_set(st, leaf[k], "%" PRIu64, n);
	}
	if (!rc)
		rc = pcn_state_set(st, "stats/reloads", "%" PRIu64, pcn_reload_count(inst));
	if (!rc)
		rc = pcn_state_set(st, "stats/reload-errors", "%" PRIu64, t ? t->errors : 0);
	return rc;
}

static const struct pcn_config_handler treloadtest_handlers[] = {
	{ "/treloadtest:treloadtest/reload-period-ms", treloadtest_set_period },
	{ "/treloadtest:treloadtest/reload-from", treloadtest_set_from },
	{ "/treloadtest:treloadtest/code", treloadtest_set_code },
	{ "/treloadtest:treloadtest/reload-program", treloadtest_set_program },
	{ NULL },
};

static const struct pcn_state_handler treloadtest_state[] = {
	{ "/treloadtest:treloadtest/stats", treloadtest_read_stats },
	{ NULL },
};

static const struct pcn_cube_desc treloadtest_desc = {
	.service = "treloadtest",
	.version = "1.0.0",
	.description = "Test cube: a transparent cube that reloads its fast path or a micro-cube on a timer",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_TRANSPARENT,
	.yang_module_name = "treloadtest",
	.yang_module = treloadtest_yang,
	.xdp_object = treloadtest_xdp__elf_bytes,
	.tc_object = treloadtest_tc__elf_bytes,
	.handlers = treloadtest_handlers,
	.state = treloadtest_state,
	.on_create = treloadtest_on_create,
	.on_destroy = treloadtest_on_destroy,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&treloadtest_desc, argc, argv);
}

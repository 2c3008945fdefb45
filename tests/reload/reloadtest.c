/* reloadtest control plane: arms the fast path (a map the reloads must
 * keep) and reloads the whole fast path on a timer, from the precompiled
 * object or from its own C source, counting successes and failures. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "pcn_cube.h"
#include "reloadtest_src.h"
#include "reloadtest_tc.skel.h"
#include "reloadtest_xdp.skel.h"
#include "reloadtest_yang.h"

struct reloadtest {
	int timer;          /* 0: no reloads */
	bool from_source;
	uint64_t errors;
};

static void reloadtest_tick(struct pcn_instance *inst, void *arg)
{
	struct reloadtest *rt = arg;
	struct pcn_code code = { .kind = PCN_CODE_OBJECT };
	int rc;

	if (rt->from_source) {
		code.kind = PCN_CODE_SOURCE;
		code.data = reloadtest_src;
		code.len = reloadtest_src_len;
	} else if (pcn_instance_attach(inst) == PCN_HOOK_TC) {
		code.data = reloadtest_tc__elf_bytes(&code.len);
	} else {
		code.data = reloadtest_xdp__elf_bytes(&code.len);
	}
	rc = pcn_reload_all(inst, &code);
	if (rc) {
		rt->errors++;
		PCN_WARN("RELOADTEST-RELOAD", "%s: reload failed: %s", pcn_instance_name(inst), strerror(-rc));
	}
}

static int reloadtest_on_create(struct pcn_instance *inst)
{
	struct reloadtest *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	pcn_instance_set_priv(inst, rt);
	return 0;
}

static void reloadtest_on_destroy(struct pcn_instance *inst)
{
	free(pcn_instance_priv(inst));
	pcn_instance_set_priv(inst, NULL);
}

static int reloadtest_set_armed(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	uint32_t zero = 0, v = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "true") == 0;
	int rc = pcn_map_update(inst, "reloadtest_armed", &zero, &v, BPF_ANY);

	return rc ? pcn_fail(inst, rc, "cannot arm: %s", strerror(-rc)) : 0;
}

static int reloadtest_set_period(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct reloadtest *rt = pcn_instance_priv(inst);
	unsigned long ms = op == PCN_OP_DELETE ? 0 : strtoul(pcn_node_value(node), NULL, 10);
	int id;

	if (rt->timer)
		pcn_timer_stop(inst, rt->timer);
	rt->timer = 0;
	if (ms == 0)
		return 0;
	id = pcn_timer_start(inst, (unsigned)ms, reloadtest_tick, rt);
	if (id < 0)
		return pcn_fail(inst, id, "cannot start the reload timer: %s", strerror(-id));
	rt->timer = id;
	return 0;
}

static int reloadtest_set_from(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	struct reloadtest *rt = pcn_instance_priv(inst);

	rt->from_source = op != PCN_OP_DELETE && strcmp(pcn_node_value(node), "SOURCE") == 0;
	return 0;
}

/* Reloads in the update round itself (leaf reload-in-round). */
static int reloadtest_set_in_round(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *node)
{
	static const char bad_src[] = "#include \"pcn.h\"\nint oops(void) { return undeclared_thing; }\n";
	struct reloadtest *rt = pcn_instance_priv(inst);
	unsigned long n = op == PCN_OP_DELETE ? 0 : strtoul(pcn_node_value(node), NULL, 10);
	struct pcn_code code = { .kind = PCN_CODE_OBJECT };
	int rc;

	if (n == 99) {
		code.kind = PCN_CODE_SOURCE;
		code.data = bad_src;
		code.len = sizeof(bad_src) - 1;
		return pcn_reload_all(inst, &code); /* its message is the request's */
	}
	if (pcn_instance_attach(inst) == PCN_HOOK_TC)
		code.data = reloadtest_tc__elf_bytes(&code.len);
	else
		code.data = reloadtest_xdp__elf_bytes(&code.len);
	for (unsigned long i = 0; i < n % 100; i++) {
		rc = pcn_reload_all(inst, &code);
		if (rc) {
			rt->errors++;
			return pcn_fail(inst, rc, "reload %lu in the round: %s", i + 1, pcn_reload_error(inst));
		}
	}
	return n >= 100 ? pcn_fail(inst, -EINVAL, "failing the round after %lu reloads", n % 100) : 0;
}

static int reloadtest_read_stats(struct pcn_instance *inst, struct pcn_state *st)
{
	struct reloadtest *rt = pcn_instance_priv(inst);
	uint32_t zero = 0;
	uint64_t fwd = 0;
	int rc;

	rc = pcn_map_sum_u64(inst, "reloadtest_fwd", &zero, &fwd, 1);
	if (rc)
		return rc;
	rc = pcn_state_set(st, "stats/forwarded", "%" PRIu64, fwd);
	if (!rc) {
		uint64_t hits = 0;

		pcn_map_lookup(inst, "rtns__hits", &zero, &hits);
		rc = pcn_state_set(st, "stats/ns-hits", "%" PRIu64, hits);
	}
	if (!rc)
		rc = pcn_state_set(st, "stats/reloads", "%" PRIu64, pcn_reload_count(inst));
	if (!rc)
		rc = pcn_state_set(st, "stats/reload-errors", "%" PRIu64, rt ? rt->errors : 0);
	return rc;
}

static const struct pcn_config_handler reloadtest_handlers[] = {
	{ "/reloadtest:reloadtest/armed", reloadtest_set_armed },
	{ "/reloadtest:reloadtest/reload-period-ms", reloadtest_set_period },
	{ "/reloadtest:reloadtest/reload-from", reloadtest_set_from },
	{ "/reloadtest:reloadtest/reload-in-round", reloadtest_set_in_round },
	{ NULL },
};

static const struct pcn_state_handler reloadtest_state[] = {
	{ "/reloadtest:reloadtest/stats", reloadtest_read_stats },
	{ NULL },
};

static const struct pcn_cube_desc reloadtest_desc = {
	.service = "reloadtest",
	.version = "1.0.0",
	.description = "Test cube: reloads its fast path on a timer",
	.min_kernel = "5.15",
	.kind = PCN_CUBE_STANDARD,
	.yang_module_name = "reloadtest",
	.yang_module = reloadtest_yang,
	.xdp_object = reloadtest_xdp__elf_bytes,
	.tc_object = reloadtest_tc__elf_bytes,
	.handlers = reloadtest_handlers,
	.state = reloadtest_state,
	.on_create = reloadtest_on_create,
	.on_destroy = reloadtest_on_destroy,
};

int main(int argc, char **argv)
{
	return pcn_cube_main(&reloadtest_desc, argc, argv);
}

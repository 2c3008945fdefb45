/* ApplyConfig semantics on a real fast path in a private bpffs: what a
 * failed create or update leaves (nothing, and the old program), when a
 * new program is handed to the PatchPanel, the verifier's refusal as a
 * 422. Needs root (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <bpf/bpf.h>

#include "pcnrt_bad_xdp.skel.h"
#include "pcnrt_test_tc.skel.h"
#include "rt_test_helloworld_yang.h"
#include "testdata/cube_testutil.h"

static int created, destroyed;

static int t_action(struct pcn_instance *inst, enum pcn_op op, const struct pcn_node *n)
{
	uint32_t zero = 0, v = op == PCN_OP_DELETE ? 0 : (uint32_t)pcn_node_enum(n);

	if (op != PCN_OP_DELETE && strcmp(pcn_node_value(n), "SLOWPATH") == 0)
		return pcn_fail(inst, -EINVAL, "no SLOWPATH here");
	return pcn_map_update(inst, "rt_test_verdict", &zero, &v, 0);
}

static int t_create(struct pcn_instance *inst)
{
	created++;
	return 0;
}

static void t_destroy(struct pcn_instance *inst)
{
	destroyed++;
}

static const struct pcn_config_handler t_handlers[] = {
	{ "/helloworld:helloworld/action", t_action },
	{ NULL },
};

static const struct pcn_cube_desc t_desc = {
	.service = "helloworld",
	.version = "1",
	.yang_module_name = "helloworld",
	.yang_module = rt_test_helloworld_yang,
	/* XDP gets the object the verifier refuses. */
	.xdp_object = pcnrt_bad_xdp__elf_bytes,
	.tc_object = pcnrt_test_tc__elf_bytes,
	.handlers = t_handlers,
	.on_create = t_create,
	.on_destroy = t_destroy,
};

#define HW1(extra) "{\"helloworld:helloworld\":[{\"name\":\"hw1\"" extra "}]}"

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	*state = h;
	created = destroyed = 0;
	if (cube_harness_init(h, &t_desc))
		cube_harness_fini(h);
	return 0;
}

static int teardown(void **state)
{
	cube_harness_fini(*state);
	free(*state);
	return 0;
}

static int apply(struct cube_harness *h, int op, enum pcn_hook at, const char *json)
{
	return cube_harness_apply(h, op, "hw1", at, json, NULL);
}

/* The id of the program pinned for hw1, or 0 if none. */
static uint32_t prog_id(struct cube_harness *h)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/cubes/helloworld/hw1/prog", h->bpffs);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

static uint32_t verdict(struct cube_harness *h)
{
	uint32_t zero = 0, v = 0xffff;

	assert_int_equal(pcn_map_lookup(cube_harness_instance(h, "hw1"), "rt_test_verdict", &zero, &v), 0);
	return v;
}

static void test_verifier_refusal_is_422(void **state)
{
	struct cube_harness *h = *state;
	char dir[128];
	struct stat sb;

	if (!h->rt)
		skip();
	assert_int_not_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, PCN_HOOK_XDP_SKB, HW1("")), 0);
	assert_int_equal(h->res.http, 422);
	assert_non_null(strstr(h->res.msg, "the kernel verifier refused the fast path: "));
	/* The verifier's own words, not just "permission denied". */
	assert_non_null(strstr(h->res.msg, "invalid access to packet"));
	assert_non_null(strstr(h->res.msg, "rt_bad.bpf.c:10"));
	assert_null(cube_harness_instance(h, "hw1"));
	assert_int_equal(created, 0);
	snprintf(dir, sizeof(dir), "%s/cubes/helloworld/hw1", h->bpffs);
	assert_int_not_equal(stat(dir, &sb), 0);
}

static void test_failed_update_keeps_the_old(void **state)
{
	struct cube_harness *h = *state;
	uint32_t first;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, PCN_HOOK_TC, HW1(",\"action\":\"FORWARD\"")), 0);
	assert_int_equal(created, 1);
	first = prog_id(h);
	assert_true(first > 0);

	/* A new log level needs a new program, but the action is refused:
	 * the old program stays pinned and the action stays FORWARD. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, PCN_HOOK_TC,
			       HW1(",\"action\":\"SLOWPATH\",\"loglevel\":\"DEBUG\"")),
			 -EINVAL);
	assert_string_equal(h->res.msg, "no SLOWPATH here");
	assert_string_equal(h->res.prog_pin, "");
	assert_int_equal(prog_id(h), first);
	assert_int_equal(verdict(h), 2);

	/* The same log level change alone goes through: a new program. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, PCN_HOOK_TC,
			       HW1(",\"action\":\"FORWARD\",\"loglevel\":\"DEBUG\"")),
			 0);
	assert_true(h->res.prog_pin[0] != '\0');
	assert_int_not_equal(prog_id(h), first);
	assert_int_equal(verdict(h), 2);
}

static void test_replay_of_a_live_instance(void **state)
{
	struct cube_harness *h = *state;
	uint32_t first;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, PCN_HOOK_TC, HW1(",\"action\":\"FORWARD\"")), 0);
	first = prog_id(h);
	/* A restarted broker replays what this process already runs: no new
	 * instance, same state, but a program for the PatchPanel. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, PCN_HOOK_TC, HW1(",\"action\":\"FORWARD\"")), 0);
	assert_int_equal(created, 1);
	assert_true(h->res.prog_pin[0] != '\0');
	assert_int_not_equal(prog_id(h), first);
	assert_int_equal(verdict(h), 2);

	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_DELETE, PCN_HOOK_TC, NULL), 0);
	assert_int_equal(destroyed, 1);
	assert_int_equal(prog_id(h), 0);
	/* Deleting what is gone is not an error. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_DELETE, PCN_HOOK_TC, NULL), 0);
	/* Nor is an update of an unknown instance silently a create. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, PCN_HOOK_TC, HW1("")), -ENOENT);
}

/* An update with its after: applied only on top of that very change. */
static int apply_seq(struct cube_harness *h, uint64_t seq, bool has_after, uint64_t after, const char *json)
{
	struct pcn__apply_req req = {
		.instance = "hw1",
		.op = CUBEMESH__APPLY_OP__APPLY_UPDATE,
		.index = 7,
		.attach = PCN_HOOK_TC,
		.config_json = json,
		.seq = seq,
		.has_after = has_after,
		.after = after,
	};

	return pcn__apply(h->rt, &req, &h->res);
}

static void test_pipelined_update_follows_its_base(void **state)
{
	struct cube_harness *h = *state;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, PCN_HOOK_TC, HW1(",\"action\":\"FORWARD\"")), 0);
	assert_int_equal(cube_harness_instance(h, "hw1")->applied_seq, 0);
	assert_int_equal(apply_seq(h, 10, false, 0, HW1(",\"action\":\"DROP\"")), 0);
	assert_int_equal(cube_harness_instance(h, "hw1")->applied_seq, 10);
	/* 11 follows 10: applied. */
	assert_int_equal(apply_seq(h, 11, true, 10, HW1(",\"action\":\"FORWARD\"")), 0);
	assert_int_equal(verdict(h), 2);
	/* 12 is refused (the cube's own reason): 13, computed on 12, is
	 * refused as stale and changes nothing. */
	assert_int_equal(apply_seq(h, 12, true, 11, HW1(",\"action\":\"SLOWPATH\"")), -EINVAL);
	assert_int_equal(apply_seq(h, 13, true, 12, HW1(",\"action\":\"SLOWPATH\",\"loglevel\":\"DEBUG\"")),
			 -ESTALE);
	assert_int_equal(h->res.http, 409);
	assert_string_equal(h->res.tag, "stale-base");
	assert_int_equal(verdict(h), 2);
	assert_int_equal(cube_harness_instance(h, "hw1")->applied_seq, 11);
	/* Computed again on 11: applied. A change of no number (a replay,
	 * an undo) leaves nothing to follow. */
	assert_int_equal(apply_seq(h, 14, true, 11, HW1(",\"action\":\"DROP\",\"loglevel\":\"DEBUG\"")), 0);
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, PCN_HOOK_TC, HW1(",\"action\":\"DROP\"")), 0);
	assert_int_equal(apply_seq(h, 15, true, 14, HW1(",\"action\":\"FORWARD\"")), -ESTALE);
	assert_int_equal(apply_seq(h, 0, true, 0, HW1(",\"action\":\"FORWARD\"")), -ESTALE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipelined_update_follows_its_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verifier_refusal_is_422, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_update_keeps_the_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_of_a_live_instance, setup, teardown),
	};

	pcn_log_init("cube_runtime_apply_test", PCN_LOG_CRITICAL);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

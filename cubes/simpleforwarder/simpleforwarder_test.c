/* simpleforwarder's control plane against its real fast path: the action
 * table in the kernel follows the configuration, including actions that
 * name a port created only later. Needs root (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>

#include "simpleforwarder_shared.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc simpleforwarder_desc;

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	*state = h;
	cube_harness_init(h, &simpleforwarder_desc);
	return 0;
}

static int teardown(void **state)
{
	cube_harness_fini(*state);
	free(*state);
	return 0;
}

/* The entry for port number `port`, or -ENOENT. */
static int entry(struct cube_harness *h, uint32_t port, struct simplefwd_action *a)
{
	struct pcn_instance *inst = cube_harness_instance(h, "sf1");

	assert_non_null(inst);
	return pcn_map_lookup(inst, "simplefwd_actions", &port, a);
}

/* Port `port` has no action: the array's entry is zeros, which drops. */
static void assert_no_action(struct cube_harness *h, uint32_t port)
{
	struct simplefwd_action a;

	assert_int_equal(entry(h, port, &a), 0);
	assert_int_equal(a.action, SIMPLEFWD_ACTION_DROP);
	assert_int_equal(a.outport, 0);
}

#define SF1(ports, actions)                                                        \
	"{\"simpleforwarder:simpleforwarder\":[{\"name\":\"sf1\",\"ports\":[" ports \
	"],\"actions\":[" actions "]}]}"

static void test_actions_follow_ports(void **state)
{
	struct cube_harness *h = *state;
	static const char *const p1[] = { "p1", NULL };
	static const char *const p1p2[] = { "p1", "p2", NULL };
	struct simplefwd_action a;

	if (!h->rt)
		skip();
	/* FORWARD to p2, which does not exist yet: no action (the fast path
	 * drops), and no error either. */
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "sf1", PCN_HOOK_TC,
					    SF1("{\"name\":\"p1\"}",
						"{\"inport\":\"p1\",\"action\":\"FORWARD\",\"outport\":\"p2\"}"),
					    p1),
			 0);
	assert_no_action(h, 0);

	/* p2 appears: the waiting action now resolves. */
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "sf1", PCN_HOOK_TC,
					    SF1("{\"name\":\"p1\"},{\"name\":\"p2\"}",
						"{\"inport\":\"p1\",\"action\":\"FORWARD\",\"outport\":\"p2\"}"),
					    p1p2),
			 0);
	assert_int_equal(entry(h, 0, &a), 0);
	assert_int_equal(a.action, SIMPLEFWD_ACTION_FORWARD);
	assert_int_equal(a.outport, 1);

	/* A second action, and the default action of an entry is DROP. */
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "sf1", PCN_HOOK_TC,
					    SF1("{\"name\":\"p1\"},{\"name\":\"p2\"}",
						"{\"inport\":\"p1\",\"action\":\"FORWARD\",\"outport\":\"p2\"},"
						"{\"inport\":\"p2\"}"),
					    p1p2),
			 0);
	assert_int_equal(entry(h, 1, &a), 0);
	assert_int_equal(a.action, SIMPLEFWD_ACTION_DROP);

	/* Removing p1's action clears its entry only. */
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "sf1", PCN_HOOK_TC,
					    SF1("{\"name\":\"p1\"},{\"name\":\"p2\"}",
						"{\"inport\":\"p2\",\"action\":\"SLOWPATH\"}"),
					    p1p2),
			 0);
	assert_no_action(h, 0);
	assert_int_equal(entry(h, 1, &a), 0);
	assert_int_equal(a.action, SIMPLEFWD_ACTION_SLOWPATH);
}

/* The kernel's id of the instance's map: the same id is the same map. */
static uint32_t map_id(struct cube_harness *h)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = pcn_map_fd(cube_harness_instance(h, "sf1"), "simplefwd_actions");

	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static void test_table_survives_process_restart(void **state)
{
	struct cube_harness *h = *state;
	static const char *const p1p2[] = { "p1", "p2", NULL };
	const char *cfg = SF1("{\"name\":\"p1\"},{\"name\":\"p2\"}",
			      "{\"inport\":\"p1\",\"action\":\"FORWARD\",\"outport\":\"p2\"}");
	struct simplefwd_action a;
	uint32_t id;

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "sf1", PCN_HOOK_TC, cfg,
					    p1p2),
			 0);
	id = map_id(h);
	/* The process goes away (its pins stay) and a new one gets the
	 * configuration replayed: same maps, a fresh program to install. */
	pcn__runtime_destroy(h->rt);
	assert_int_equal(pcn__runtime_create(&h->rt, &simpleforwarder_desc, "/nonexistent"), 0);
	snprintf(h->rt->bpffs_root, sizeof(h->rt->bpffs_root), "%s", h->bpffs);
	struct pcn__apply_req req = {
		.instance = "sf1", .op = CUBEMESH__APPLY_OP__APPLY_CREATE, .index = 7,
		.attach = PCN_HOOK_TC, .config_json = cfg, .replay = true,
	};
	struct pcn__port ports[2] = { { "p1", 0 }, { "p2", 1 } };
	req.ports = ports;
	req.n_ports = 2;
	assert_int_equal(pcn__apply(h->rt, &req, &h->res), 0);
	assert_true(h->res.prog_pin[0] != '\0');
	assert_int_equal(entry(h, 0, &a), 0);
	assert_int_equal(a.outport, 1);
	assert_int_equal(map_id(h), id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_actions_follow_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_survives_process_restart, setup, teardown),
	};

	pcn_log_init("simpleforwarder_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* helloworld's control plane against its real fast path: the action the
 * user sets is what the kernel map holds, the counters the user reads are
 * what the program counted. Needs root (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <sys/stat.h>

#include "helloworld_shared.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc helloworld_desc;

static const char *const two_ports[] = { "port1", "port2", NULL };

#define HW1(extra) "{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"ports\":[{\"name\":\"port1\"}," \
		   "{\"name\":\"port2\"}]" extra "}]}"

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	*state = h;
	cube_harness_init(h, &helloworld_desc);
	return 0;
}

static int teardown(void **state)
{
	cube_harness_fini(*state);
	free(*state);
	return 0;
}

static uint32_t action_in_kernel(struct cube_harness *h)
{
	struct pcn_instance *inst = cube_harness_instance(h, "hw1");
	uint32_t zero = 0, v = 0xffff;

	assert_non_null(inst);
	assert_int_equal(pcn_map_lookup(inst, "helloworld_action", &zero, &v), 0);
	return v;
}

static void test_action_and_stats(void **state)
{
	struct cube_harness *h = *state;
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 2);
	char *json = NULL, prog[128];
	int fd;

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "hw1", PCN_HOOK_TC, HW1(""),
					    two_ports),
			 0);
	/* The default action, DROP, was written though nobody gave it. */
	assert_int_equal(action_in_kernel(h), HELLOWORLD_ACTION_DROP);

	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "hw1", PCN_HOOK_TC,
					    HW1(",\"action\":\"FORWARD\""), two_ports),
			 0);
	assert_int_equal(action_in_kernel(h), HELLOWORLD_ACTION_FORWARD);

	/* Two packets through the pinned program: both forwarded (and then
	 * dropped for want of a peer, which is the broker's business). */
	snprintf(prog, sizeof(prog), "%s/cubes/helloworld/hw1/prog", h->bpffs);
	fd = bpf_obj_get(prog);
	assert_true(fd >= 0);
	assert_int_equal(bpf_prog_test_run_opts(fd, &run), 0);
	close(fd);

	assert_int_equal(pcn__state_read(cube_harness_instance(h, "hw1"), NULL, &json), 0);
	assert_string_equal(json, "{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"stats\":"
				  "{\"forwarded\":\"2\",\"dropped\":\"0\",\"slowpath\":\"0\",\"slowpath-received\":\"0\"}}]}");
	free(json);
}

static void test_create_returns_program(void **state)
{
	struct cube_harness *h = *state;
	char prog[128];
	struct stat sb;

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "hw1", PCN_HOOK_XDP_SKB,
					    HW1(",\"type\":\"XDP_SKB\""), two_ports),
			 0);
	snprintf(prog, sizeof(prog), "%s/cubes/helloworld/hw1/prog", h->bpffs);
	assert_string_equal(h->res.prog_pin, prog);
	assert_int_equal(h->res.attach, PCN_HOOK_XDP_SKB);
	assert_int_equal(stat(prog, &sb), 0);

	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_DELETE, "hw1", PCN_HOOK_XDP_SKB,
					    NULL, NULL),
			 0);
	assert_null(cube_harness_instance(h, "hw1"));
	assert_int_not_equal(stat(prog, &sb), 0);
}

static void test_third_port_refused(void **state)
{
	struct cube_harness *h = *state;
	static const char *const three[] = { "port1", "port2", "port3", NULL };
	char dir[128];
	struct stat sb;

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "hw1", PCN_HOOK_TC,
					    "{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"ports\":["
					    "{\"name\":\"port1\"},{\"name\":\"port2\"},{\"name\":\"port3\"}]}]}",
					    three),
			 -EINVAL);
	assert_string_equal(h->res.msg, "helloworld has at most 2 ports (3 given)");
	/* A create that failed leaves nothing behind. */
	assert_null(cube_harness_instance(h, "hw1"));
	snprintf(dir, sizeof(dir), "%s/cubes/helloworld/hw1", h->bpffs);
	assert_int_not_equal(stat(dir, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_action_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_returns_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_third_port_refused, setup, teardown),
	};

	pcn_log_init("helloworld_test", PCN_LOG_WARN);
	pcn_log_route_libbpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

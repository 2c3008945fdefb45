/* simplebridge's control plane against its real fast path (root; skips
 * otherwise): a frame run through the program is learned on its port and
 * shows in the fdb; flush empties it; entries older than aging-time are
 * gone; the slow path takes well-formed batches and refuses garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>

#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc simplebridge_desc;

static const char *const three_ports[] = { "pa", "pb", "pc", NULL };

#define SB1(extra) "{\"simplebridge:simplebridge\":[{\"name\":\"sb1\",\"ports\":[{\"name\":\"pa\"}," \
		   "{\"name\":\"pb\"},{\"name\":\"pc\"}]" extra "}]}"

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	*state = h;
	cube_harness_init(h, &simplebridge_desc);
	return 0;
}

static int teardown(void **state)
{
	cube_harness_fini(*state);
	free(*state);
	return 0;
}

static char *read_state(struct cube_harness *h)
{
	char *json = NULL;

	assert_int_equal(pcn__state_read(cube_harness_instance(h, "sb1"), NULL, &json), 0);
	return json;
}

/* Runs a broadcast frame from 02:00:00:00:00:01 through the fast path (it
 * arrives on port 0: the metadata map starts zeroed). */
static void run_frame(struct cube_harness *h)
{
	unsigned char pkt[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
	char prog[160];
	int fd;

	snprintf(prog, sizeof(prog), "%s/cubes/simplebridge/sb1/prog", h->bpffs);
	fd = bpf_obj_get(prog);
	assert_true(fd >= 0);
	assert_int_equal(bpf_prog_test_run_opts(fd, &run), 0);
	close(fd);
}

static void test_learn_flush_age(void **state)
{
	struct cube_harness *h = *state;
	char *json;

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "sb1", PCN_HOOK_TC, SB1(""),
					    three_ports),
			 0);
	json = read_state(h);
	assert_null(strstr(json, "02:00:00:00:00:01"));
	free(json);

	run_frame(h);
	json = read_state(h);
	assert_non_null(strstr(json, "\"address\":\"02:00:00:00:00:01\",\"port\":\"pa\""));
	free(json);

	assert_int_equal(pcn__action_run(h->rt, "sb1", "/simplebridge:simplebridge/fdb/flush", NULL, (char[64]){ 0 }, 64),
			 0);
	json = read_state(h);
	assert_null(strstr(json, "02:00:00:00:00:01"));
	free(json);

	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, "sb1", PCN_HOOK_TC,
					    SB1(",\"fdb\":{\"aging-time\":1}"), three_ports),
			 0);
	run_frame(h);
	json = read_state(h);
	assert_non_null(strstr(json, "02:00:00:00:00:01"));
	free(json);
	usleep(1500 * 1000);
	json = read_state(h);
	assert_null(strstr(json, "02:00:00:00:00:01"));
	free(json);
}

static void test_unknown_action(void **state)
{
	struct cube_harness *h = *state;
	char msg[128];

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "sb1", PCN_HOOK_TC, SB1(""),
					    three_ports),
			 0);
	assert_int_equal(pcn__action_run(h->rt, "sb1", "/simplebridge:simplebridge/fdb/nothing", NULL, msg,
					 sizeof(msg)),
			 -EOPNOTSUPP);
	assert_int_equal(pcn__action_run(h->rt, "nosuch", "/simplebridge:simplebridge/fdb/flush", NULL, msg,
					 sizeof(msg)),
			 -ENOENT);
}

static void test_packet_batches(void **state)
{
	struct cube_harness *h = *state;
	unsigned char frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06 };
	Cubemesh__PacketIn p = CUBEMESH__PACKET_IN__INIT, q = CUBEMESH__PACKET_IN__INIT;
	Cubemesh__PacketIn *ps[2] = { &p, &q };
	Cubemesh__PacketInBatch b = CUBEMESH__PACKET_IN_BATCH__INIT;
	uint8_t buf[512], junk[100];
	size_t len;

	if (!h->rt)
		skip();
	assert_int_equal(cube_harness_apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, "sb1", PCN_HOOK_TC, SB1(""),
					    three_ports),
			 0);
	p.instance = "sb1";
	p.reason = 1;
	p.data.data = frame;
	p.data.len = sizeof(frame);
	p.orig_len = sizeof(frame);
	q = p;
	q.instance = "nosuch";
	b.n_packets = 2;
	b.packets = ps;
	len = cubemesh__packet_in_batch__pack(&b, buf);
	/* No broker here: the flood cannot be sent, and that is not an error. */
	assert_int_equal(pcn__slowpath_handle(h->rt, buf, len), 0);
	/* Every truncation: refused, or (cut between the two packets) a shorter
	 * valid batch; never a crash. A cut inside the first packet is refused. */
	for (size_t cut = 1; cut < len; cut++)
		pcn__slowpath_handle(h->rt, buf, cut);
	assert_true(pcn__slowpath_handle(h->rt, buf, 5) < 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	assert_true(pcn__slowpath_handle(h->rt, junk, sizeof(junk)) < 0);
	assert_int_equal(pcn_send_packet_out(cube_harness_instance(h, "sb1"), 1, PCN_DIR_EGRESS, frame, 10),
			 -ENOTCONN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learn_flush_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_batches, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the cached state of an instance (control/inst_state.c), against
 * the fake cube process of fakecube_test.c, which counts the ReadState
 * requests it answers: reads during a fetch share it (one request for
 * twenty), a read within BROKER_STATE_TTL_MS asks nothing, a committed
 * write or the TTL's end makes the next read ask again; the answer of a
 * read is kept while its inputs are the same, and only then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control.h"
#include "core/core.h"
#include "core/tables.h"
#include "model/model.h"

#include "control/fakecube_test.h"

static struct broker *B;

static int group_setup(void **state)
{
	(void)state;
	B = tb_start();
	if (!B)
		tb_stop();
	return B ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tb_stop();
	return 0;
}

struct got {
	int n, errors;
};

static void on_state(struct broker *b, void *arg, const struct broker_error *err, const char *json)
{
	struct got *g = arg;

	(void)b, (void)json;
	g->n++;
	g->errors += err != NULL;
}

/* Runs the loop until g has n answers (2 s at most). */
static void wait_for(struct got *g, int n)
{
	for (int i = 0; i < 200 && g->n < n; i++)
		tb_run_ms(10);
	assert_int_equal(g->n, n);
}

static void test_reads_share_a_fetch_and_a_write_drops_it(void **state)
{
	struct broker_instance *inst;
	struct got g = { 0 };
	char msg[256];
	unsigned reads;

	(void)state;
	assert_int_equal(tb_write(BROKER_POST, "/helloworld/st1", "{}", msg, sizeof(msg)), 201);
	inst = broker_instance_find(B, "st1");
	assert_non_null(inst);

	/* Twenty reads while the cube takes 50 ms to answer: one request. */
	tb_cube_read_delay(50);
	reads = tb_cube_reads();
	for (int i = 0; i < 20; i++)
		assert_int_equal(broker_inst_state_get(B, inst, on_state, &g), 0);
	assert_int_equal(g.n, 0);
	wait_for(&g, 20);
	assert_int_equal(g.errors, 0);
	assert_int_equal(tb_cube_reads(), reads + 1);

	/* Fresh: answered inside the call, nothing asked. */
	tb_cube_read_delay(0);
	assert_int_equal(broker_inst_state_get(B, inst, on_state, &g), 0);
	assert_int_equal(g.n, 21);
	assert_int_equal(tb_cube_reads(), reads + 1);

	/* A committed write drops it: the next read asks the cube. */
	assert_int_equal(tb_write(BROKER_PATCH, "/helloworld/st1/action", "\"FORWARD\"", msg, sizeof(msg)), 200);
	assert_int_equal(broker_inst_state_get(B, inst, on_state, &g), 0);
	wait_for(&g, 22);
	assert_int_equal(tb_cube_reads(), reads + 2);

	/* Past the TTL it asks again. */
	tb_run_ms(BROKER_STATE_TTL_MS + 30);
	assert_int_equal(broker_inst_state_get(B, inst, on_state, &g), 0);
	wait_for(&g, 23);
	assert_int_equal(tb_cube_reads(), reads + 3);

	/* A fetch in flight when the instance goes: its readers still hear. */
	tb_cube_read_delay(50);
	tb_run_ms(BROKER_STATE_TTL_MS + 30);
	assert_int_equal(broker_inst_state_get(B, inst, on_state, &g), 0);
	assert_int_equal(tb_write(BROKER_DELETE, "/helloworld/st1", NULL, msg, sizeof(msg)), 204);
	wait_for(&g, 24);
	tb_cube_read_delay(0);
}

/* GET's answer (broker_inst_read) is kept while its inputs are the same,
 * and is never an answer to other inputs: another state of the cube, a
 * committed write, another node of the instance. */
static void test_read_answer_kept_while_its_inputs_are(void **state)
{
	static const char st5[] = "{\"helloworld:helloworld\":[{\"name\":\"rk\",\"stats\":{\"forwarded\":\"5\"}}]}";
	static const char st6[] = "{\"helloworld:helloworld\":[{\"name\":\"rk\",\"stats\":{\"forwarded\":\"6\"}}]}";
	struct broker_instance *inst;
	struct broker_target t, leaf;
	struct broker_error err;
	const char *a, *b;
	char msg[256];

	(void)state;
	assert_int_equal(tb_write(BROKER_POST, "/helloworld/rk", "{}", msg, sizeof(msg)), 201);
	inst = broker_instance_find(B, "rk");
	assert_non_null(inst);
	assert_int_equal(broker_target_parse(B->models, "/helloworld/rk", 14, &t, &err), 0);
	assert_int_equal(broker_target_parse(B->models, "/helloworld/rk/action", 21, &leaf, &err), 0);

	assert_int_equal(broker_inst_read(B, inst, &t, st5, &a, &err), 0);
	assert_non_null(strstr(a, "\"forwarded\":5}"));
	assert_non_null(strstr(a, "\"action\":\"DROP\""));
	/* The same inputs: the very answer kept, not built again. */
	assert_int_equal(broker_inst_read(B, inst, &t, st5, &b, &err), 0);
	assert_ptr_equal(a, b);
	/* Another state of the cube, another node: built for it. */
	assert_int_equal(broker_inst_read(B, inst, &t, st6, &a, &err), 0);
	assert_non_null(strstr(a, "\"forwarded\":6}"));
	assert_int_equal(broker_inst_read(B, inst, &leaf, st6, &a, &err), 0);
	assert_string_equal(a, "\"DROP\"");
	/* A committed write: its value at once. */
	assert_int_equal(tb_write(BROKER_PATCH, "/helloworld/rk/action", "\"FORWARD\"", msg, sizeof(msg)), 200);
	assert_int_equal(broker_inst_read(B, inst, &leaf, st6, &a, &err), 0);
	assert_string_equal(a, "\"FORWARD\"");
	assert_int_equal(broker_inst_read(B, inst, &t, st6, &a, &err), 0);
	assert_non_null(strstr(a, "\"action\":\"FORWARD\""));
	broker_target_fini(&t);
	broker_target_fini(&leaf);
	assert_int_equal(tb_write(BROKER_DELETE, "/helloworld/rk", NULL, msg, sizeof(msg)), 204);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_share_a_fetch_and_a_write_drops_it),
		cmocka_unit_test(test_read_answer_kept_while_its_inputs_are),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "inst_state_test needs root (bpffs pins)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

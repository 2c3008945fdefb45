/* Tests of an instance's life in the broker (control/instance*.c), driven
 * through the broker's write queue with a fake cube process on the other
 * end of a real nng socket (fakecube_test.c): a create takes a PatchPanel
 * slot and port numbers, writes the record and joins the instance list; a
 * delete gives all of it back; a create the cube refuses leaves nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control.h"
#include "core/core.h"
#include "store/datastore.h"
#include "pcn_layout.h"

#include "control/fakecube_test.h"

enum { OP_CREATE = 0, OP_UPDATE = 1, OP_DELETE = 2 }; /* Cubemesh__ApplyOp */

static struct broker *B;

static int group_setup(void **state)
{
	/* cmocka runs no group teardown after a failed setup. */
	B = tb_start();
	if (!B)
		tb_stop();
	return B ? 0 : -1;
}

static int group_teardown(void **state)
{
	tb_stop();
	return 0;
}

/* What the datastore holds for one instance, read back from its files. */
struct rec_seek {
	const char *name;
	bool found;
	uint32_t index;
	size_t n_ports;
	char ports[8][64];
	uint32_t port_index[8];
};

static int rec_one(void *arg, const struct broker_record *rec)
{
	struct rec_seek *s = arg;

	if (strcmp(rec->name, s->name) != 0)
		return 0;
	s->found = true;
	s->index = rec->index;
	s->n_ports = rec->n_ports;
	for (size_t i = 0; i < rec->n_ports && i < 8; i++) {
		snprintf(s->ports[i], sizeof(s->ports[i]), "%s", rec->ports[i].name);
		s->port_index[i] = rec->ports[i].index;
	}
	return 0;
}

static bool record(const char *name, struct rec_seek *s)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	assert_int_equal(broker_datastore_load(B->ds, rec_one, s), 0);
	return s->found;
}

static size_t n_instances(void)
{
	size_t n = 0;

	for (struct broker_instance *i = B->instances; i; i = i->next)
		n++;
	return n;
}

static void post(const char *path, const char *body, int want)
{
	char msg[256];
	int got = tb_write(BROKER_POST, path, body, msg, sizeof(msg));

	if (got != want)
		fail_msg("POST %s: %d (%s), want %d", path, got, msg, want);
}

static void del(const char *path, int want)
{
	char msg[256];
	int got = tb_write(BROKER_DELETE, path, NULL, msg, sizeof(msg));

	if (got != want)
		fail_msg("DELETE %s: %d (%s), want %d", path, got, msg, want);
}

/* The instance's pin directory, which the broker removes at delete. */
static bool pins_dir(const struct broker_instance *i, const char *service, const char *name)
{
	char dir[512];

	assert_int_equal(pcn_layout_cube(dir, sizeof(dir), tb_bpffs_root(), service, name, NULL), 0);
	return access(dir, F_OK) == 0;
}

static void test_create_delete(void **state)
{
	struct broker_instance *a, *c;
	struct rec_seek r;
	unsigned creates = tb_cube_applies(OP_CREATE), deletes = tb_cube_applies(OP_DELETE);
	uint32_t a_slot, b_slot, used = B->cube_ids.used;
	size_t n = n_instances();

	post("/helloworld/ia", "{\"ports\":[{\"name\":\"p1\"},{\"name\":\"p2\"}]}", 201);
	a = broker_instance_find(B, "ia");
	assert_non_null(a);
	assert_string_equal(a->service, "helloworld");
	assert_int_equal(n_instances(), n + 1);
	assert_int_equal(tb_cube_applies(OP_CREATE), creates + 1);
	/* A slot of its own, taken; ports numbered from 0, taken. */
	a_slot = a->index;
	assert_true(a_slot >= 1 && a_slot < PCN_MAX_CUBES);
	assert_true(broker_idalloc_used(&B->cube_ids, a_slot));
	assert_int_equal(B->cube_ids.used, used + 1);
	assert_int_equal(a->n_ports, 2);
	assert_string_equal(a->ports[0].name, "p1");
	assert_string_equal(a->ports[1].name, "p2");
	assert_int_equal(a->ports[0].index, 0);
	assert_int_equal(a->ports[1].index, 1);
	assert_true(broker_idalloc_used(&a->port_ids, 0) && broker_idalloc_used(&a->port_ids, 1));
	assert_int_equal(a->port_ids.used, 2);
	assert_int_equal(strlen(a->uuid), 36);
	assert_true(pins_dir(a, "helloworld", "ia")); /* the fake cube's */
	/* The record says the same. */
	assert_true(record("ia", &r));
	assert_int_equal(r.index, a_slot);
	assert_int_equal(r.n_ports, 2);
	assert_string_equal(r.ports[0], "p1");
	assert_int_equal(r.port_index[1], 1);

	/* A second instance: another slot. */
	post("/helloworld/ib", "{}", 201);
	b_slot = broker_instance_find(B, "ib")->index;
	assert_int_not_equal(b_slot, a_slot);
	assert_int_equal(B->cube_ids.used, used + 2);
	/* The name is taken, in any service. */
	post("/helloworld/ia", "{}", 409);
	post("/transparenthelloworld/ia", "{}", 409);
	assert_int_equal(tb_cube_applies(OP_CREATE), creates + 2);

	/* Delete gives everything back: slot, record, list entry, pins. */
	del("/helloworld/ia", 204);
	assert_null(broker_instance_find(B, "ia"));
	assert_int_equal(tb_cube_applies(OP_DELETE), deletes + 1);
	assert_false(broker_idalloc_used(&B->cube_ids, a_slot));
	assert_int_equal(B->cube_ids.used, used + 1);
	assert_false(record("ia", &r));
	assert_false(pins_dir(NULL, "helloworld", "ia"));
	assert_int_equal(n_instances(), n + 1);
	del("/helloworld/ia", 404);
	/* The freed slot is the next one handed out. */
	post("/helloworld/ic", "{}", 201);
	c = broker_instance_find(B, "ic");
	assert_non_null(c);
	assert_int_equal(c->index, a_slot);
	del("/helloworld/ic", 204);
	del("/helloworld/ib", 204);
	assert_int_equal(B->cube_ids.used, used);
	assert_int_equal(n_instances(), n);
}

/* Ports added and removed by later writes: a removed port's number is
 * released, a new one never takes a number in use. */
static void test_port_ids(void **state)
{
	struct broker_instance *i;
	struct rec_seek r;
	char msg[256];
	uint32_t p2;

	post("/helloworld/ip", "{\"ports\":[{\"name\":\"p1\"},{\"name\":\"p2\"}]}", 201);
	i = broker_instance_find(B, "ip");
	p2 = i->ports[1].index;
	assert_int_equal(tb_write(BROKER_DELETE, "/helloworld/ip/ports/p1", NULL, msg, sizeof(msg)), 200);
	assert_int_equal(i->n_ports, 1);
	assert_false(broker_idalloc_used(&i->port_ids, 0));
	assert_int_equal(i->port_ids.used, 1);
	assert_int_equal(tb_write(BROKER_POST, "/helloworld/ip/ports/p3", "{}", msg, sizeof(msg)), 201);
	assert_int_equal(i->n_ports, 2);
	for (size_t k = 0; k < i->n_ports; k++) {
		if (strcmp(i->ports[k].name, "p3") == 0) {
			assert_int_not_equal(i->ports[k].index, p2);
			assert_true(broker_idalloc_used(&i->port_ids, i->ports[k].index));
		}
	}
	assert_int_equal(i->port_ids.used, 2);
	assert_true(record("ip", &r));
	assert_int_equal(r.n_ports, 2);
	del("/helloworld/ip", 204);
}

/* The cube refuses the create: its status reaches the caller, and the
 * broker keeps no slot, record, list entry or pins; the name can be used
 * again once the cube agrees. */
static void test_refused_create(void **state)
{
	uint32_t used = B->cube_ids.used;
	unsigned creates = tb_cube_applies(OP_CREATE);
	size_t n = n_instances();
	struct rec_seek r;
	char msg[256];

	tb_cube_refuse(400);
	assert_int_equal(tb_write(BROKER_POST, "/helloworld/ir", "{\"ports\":[{\"name\":\"p1\"}]}", msg,
				  sizeof(msg)),
			 400);
	tb_cube_refuse(0);
	assert_non_null(strstr(msg, "fake cube refuses ir"));
	assert_int_equal(tb_cube_applies(OP_CREATE), creates);
	assert_null(broker_instance_find(B, "ir"));
	assert_int_equal(n_instances(), n);
	assert_int_equal(B->cube_ids.used, used);
	assert_false(record("ir", &r));
	assert_false(pins_dir(NULL, "helloworld", "ir"));
	/* Nothing is left that would stop the same create now. */
	post("/helloworld/ir", "{\"ports\":[{\"name\":\"p1\"}]}", 201);
	assert_int_equal(B->cube_ids.used, used + 1);
	del("/helloworld/ir", 204);
	assert_int_equal(B->cube_ids.used, used);
}

/* The cube refuses an update: the instance keeps its ports, their numbers
 * and its record; the number the refused port was given is free again. */
static void test_refused_update(void **state)
{
	struct broker_instance *i;
	struct rec_seek r;
	char msg[256];
	unsigned updates;

	post("/helloworld/iu", "{\"ports\":[{\"name\":\"p1\"}]}", 201);
	i = broker_instance_find(B, "iu");
	updates = tb_cube_applies(OP_UPDATE);
	tb_cube_refuse(409);
	assert_int_equal(tb_write(BROKER_POST, "/helloworld/iu/ports/p2", "{}", msg, sizeof(msg)), 409);
	tb_cube_refuse(0);
	assert_int_equal(tb_cube_applies(OP_UPDATE), updates);
	assert_ptr_equal(broker_instance_find(B, "iu"), i);
	assert_int_equal(i->n_ports, 1);
	assert_string_equal(i->ports[0].name, "p1");
	assert_int_equal(i->port_ids.used, 1);
	assert_false(broker_idalloc_used(&i->port_ids, 1));
	assert_true(record("iu", &r));
	assert_int_equal(r.n_ports, 1);
	/* Accepted now: the port gets the number the refused one had. */
	assert_int_equal(tb_write(BROKER_POST, "/helloworld/iu/ports/p2", "{}", msg, sizeof(msg)), 201);
	assert_int_equal(i->n_ports, 2);
	assert_int_equal(i->ports[1].index, 1);
	del("/helloworld/iu", 204);
}

/* Refused before the cube is asked: a name of the API's, a body the model
 * refuses, an unknown service. Nothing is taken. */
static void test_refused_by_broker(void **state)
{
	uint32_t used = B->cube_ids.used;
	unsigned creates = tb_cube_applies(OP_CREATE);
	size_t n = n_instances();

	post("/helloworld/version", "{}", 400);
	post("/helloworld/iz", "{\"nosuchleaf\":1}", 400);
	post("/nosuchservice/iz", "{}", 404);
	assert_int_equal(tb_cube_applies(OP_CREATE), creates);
	assert_int_equal(B->cube_ids.used, used);
	assert_int_equal(n_instances(), n);
}

/* broker_instance_write_in: a job of the service's queue that hands itself
 * over to a write (an action's PUT, gateway/action.c) keeps its turn: a
 * write that arrives while the job runs comes after the handed-over one
 * and sees it, and the job's free_fn is no longer the job's to run. */
static struct {
	bool ran, done, later_done, later_first;
	int status, later_status;
	unsigned freed;
} H;

static void ho_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	(void)b;
	(void)arg;
	H.status = err ? err->http_status : status;
	H.done = true;
}

static void ho_later_done(struct broker *b, void *arg, const struct broker_error *err, int status)
{
	(void)b;
	(void)arg;
	H.later_status = err ? err->http_status : status;
	H.later_done = true;
	H.later_first = !H.done;
}

static void ho_free(struct broker *b, struct broker_job *job)
{
	(void)b;
	(void)job;
	H.freed++;
}

static void ho_expire(struct broker *b, struct broker_job *job)
{
	(void)b;
	(void)job;
	fail_msg("the job expired");
}

static void ho_run(struct broker *b, struct broker_job *job)
{
	static const char path[] = "/helloworld/ih", drop[] = "{\"action\":\"DROP\"}",
			  fwd[] = "{\"action\":\"FORWARD\"}";

	H.ran = true;
	/* A client's write arriving now: it queues behind this job. */
	broker_instance_write(b, path, strlen(path), BROKER_PATCH, drop, strlen(drop), ho_later_done,
			      NULL);
	broker_instance_write_in(b, job, path, strlen(path), BROKER_PATCH, fwd, strlen(fwd), ho_done,
				 NULL);
}

static void test_write_in(void **state)
{
	struct broker_job *job = NULL;
	char *json = NULL;

	post("/helloworld/ih", "{}", 201);
	memset(&H, 0, sizeof(H));
	assert_int_equal(broker_job_submit_write(B, "helloworld", 0, ho_run, ho_expire, NULL, &job), 0);
	job->free_fn = ho_free;
	for (int i = 0; i < 500 && !(H.done && H.later_done); i++)
		tb_run_ms(10);
	assert_true(H.ran && H.done && H.later_done);
	assert_int_equal(H.status, 200);
	assert_int_equal(H.later_status, 200);
	assert_false(H.later_first);
	assert_int_equal(H.freed, 0);
	/* The later write is the one in force. */
	assert_int_equal(broker_config_print(broker_instance_find(B, "ih")->config, &json), 0);
	if (!strstr(json, "\"DROP\""))
		fail_msg("the handed-over write came last: %s", json);
	free(json);
	del("/helloworld/ih", 204);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_delete),
		cmocka_unit_test(test_write_in),
		cmocka_unit_test(test_port_ids),
		cmocka_unit_test(test_refused_create),
		cmocka_unit_test(test_refused_update),
		cmocka_unit_test(test_refused_by_broker),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "instance_test needs root (bpffs pins)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* REST path parsing: what each URL names, and the errors users see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "model.h"
#include "model_testutil.h"

static int setup(void **state)
{
	*state = mt_models();
	return 0;
}

static int teardown(void **state)
{
	broker_models_destroy(*state);
	return 0;
}

static int parse(struct broker_models *m, const char *path, struct broker_target *t, struct broker_error *err)
{
	return broker_target_parse(m, path, strlen(path), t, err);
}

static void test_service(void **state)
{
	struct broker_target t;
	struct broker_error err;

	assert_int_equal(parse(*state, "/helloworld", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_SERVICE);
	assert_string_equal(t.service, "helloworld");
	assert_string_equal(t.instance, "");
	assert_null(t.xpath);
	assert_null(t.snode);
	assert_string_equal(t.rest_path, "/helloworld");
	broker_target_fini(&t);
	assert_int_equal(parse(*state, "/helloworld/", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_SERVICE);
	broker_target_fini(&t);
}

static void test_instance(void **state)
{
	struct broker_target t;
	struct broker_error err;
	const char *paths[] = { "/helloworld/hw1", "/helloworld/hw1/" };

	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(parse(*state, paths[i], &t, &err), 0);
		assert_int_equal(t.kind, BROKER_T_INSTANCE);
		assert_string_equal(t.instance, "hw1");
		assert_string_equal(t.xpath, "/helloworld:helloworld[name='hw1']");
		assert_string_equal(t.rest_path, "/helloworld/hw1");
		assert_string_equal(t.snode->name, "helloworld");
		assert_int_equal(t.config, 1);
		broker_target_fini(&t);
	}
}

static void test_nodes(void **state)
{
	struct broker_target t;
	struct broker_error err;

	assert_int_equal(parse(*state, "/helloworld/hw1/stats/", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_CONTAINER);
	assert_int_equal(t.config, 0);
	assert_string_equal(t.xpath, "/helloworld:helloworld[name='hw1']/stats");
	broker_target_fini(&t);

	assert_int_equal(parse(*state, "/helloworld/hw1/action", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_LEAF);
	assert_int_equal(t.config, 1);
	assert_string_equal(t.xpath, "/helloworld:helloworld[name='hw1']/action");
	assert_string_equal(t.rest_path, "/helloworld/hw1/action");
	broker_target_fini(&t);

	assert_int_equal(parse(*state, "/helloworld/hw1/ports", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_LIST);
	broker_target_fini(&t);

	assert_int_equal(parse(*state, "/helloworld/hw1/ports/port1/", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_ENTRY);
	assert_string_equal(t.xpath, "/helloworld:helloworld[name='hw1']/ports[name='port1']");
	assert_string_equal(t.rest_path, "/helloworld/hw1/ports/port1");
	broker_target_fini(&t);

	assert_int_equal(parse(*state, "/helloworld/hw1/ports/port1/status", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_LEAF);
	assert_int_equal(t.config, 0);
	broker_target_fini(&t);

	assert_int_equal(parse(*state, "/router-test/r1/tags", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_LEAFLIST);
	broker_target_fini(&t);

	assert_int_equal(parse(*state, "/router-test/r1/flush", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_ACTION);
	broker_target_fini(&t);
}

static void test_two_keys(void **state)
{
	struct broker_target t;
	struct broker_error err;

	assert_int_equal(parse(*state, "/router-test/r1/route/10.0.1.0%2F24/0.0.0.0/", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_ENTRY);
	assert_string_equal(t.xpath, "/router-test:router-test[name='r1']/route[network='10.0.1.0/24'][nexthop='0.0.0.0']");
	assert_string_equal(t.rest_path, "/router-test/r1/route/10.0.1.0%2F24/0.0.0.0");
	broker_target_fini(&t);

	/* Lower-case escapes, and a leaf below a two-key entry. */
	assert_int_equal(parse(*state, "/router-test/r1/route/10.0.1.0%2f24/10.0.0.1/pathcost", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_LEAF);
	assert_string_equal(t.xpath,
			    "/router-test:router-test[name='r1']/route[network='10.0.1.0/24'][nexthop='10.0.0.1']/pathcost");
	broker_target_fini(&t);

	/* One key of two: the list, filtered. */
	assert_int_equal(parse(*state, "/router-test/r1/route/10.0.1.0%2F24", &t, &err), 0);
	assert_int_equal(t.kind, BROKER_T_LIST);
	broker_target_fini(&t);
}

static void test_escapes(void **state)
{
	struct broker_target t;
	struct broker_error err;

	assert_int_equal(parse(*state, "/helloworld/hw%2D1/ports/p%2e1", &t, &err), 0);
	assert_string_equal(t.instance, "hw-1");
	assert_string_equal(t.xpath, "/helloworld:helloworld[name='hw-1']/ports[name='p.1']");
	broker_target_fini(&t);
	/* The port name pattern refuses a space. */
	assert_int_equal(parse(*state, "/helloworld/hw1/ports/p%20x", &t, &err), -EINVAL);
	assert_int_equal(err.http_status, 400);
	assert_string_equal(err.path, "/helloworld/hw1/ports/p%20x");
	assert_int_equal(parse(*state, "/simpleforwarder/s%31/ports/p%5F1", &t, &err), 0);
	assert_string_equal(t.instance, "s1");
	assert_string_equal(t.xpath, "/simpleforwarder:simpleforwarder[name='s1']/ports[name='p_1']");
	broker_target_fini(&t);
	assert_int_equal(parse(*state, "/helloworld/hw%zz", &t, &err), -EINVAL);
	assert_int_equal(err.http_status, 400);
}

static void test_unknown(void **state)
{
	struct broker_target t;
	struct broker_error err;

	assert_int_equal(parse(*state, "/nosuch/x", &t, &err), -ENOENT);
	assert_int_equal(err.http_status, 404);
	assert_non_null(strstr(err.message, "nosuch"));

	assert_int_equal(parse(*state, "/helloworld/hw1/bogus/", &t, &err), -ENOENT);
	assert_int_equal(err.http_status, 404);
	assert_string_equal(err.path, "/helloworld/hw1/bogus");
	assert_non_null(strstr(err.message, "bogus"));
	assert_non_null(strstr(err.message, "action"));
	assert_non_null(strstr(err.message, "ports"));

	assert_int_equal(parse(*state, "/helloworld/hw1/action/more", &t, &err), -ENOENT);
	assert_int_equal(err.http_status, 404);
}

static void test_bad_key(void **state)
{
	struct broker_target t;
	struct broker_error err;

	assert_int_equal(parse(*state, "/router-test/r1/route/10.0.1.300%2F24/0.0.0.0", &t, &err), -EINVAL);
	assert_int_equal(err.http_status, 400);
	assert_string_equal(err.tag, "invalid-value");
	assert_int_equal(parse(*state, "/router-test/r1/route/10.0.1.0%2F24/banana", &t, &err), -EINVAL);
	assert_int_equal(err.http_status, 400);
	/* An instance name outside the base pattern. */
	assert_int_equal(parse(*state, "/helloworld/a%20b", &t, &err), -EINVAL);
	assert_int_equal(err.http_status, 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service),   cmocka_unit_test(test_instance), cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_two_keys),  cmocka_unit_test(test_escapes),  cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_bad_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* GET views (config merged with state), the datastore form, help, accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libyang/libyang.h>

#include "model.h"
#include "model_testutil.h"

struct fx {
	struct broker_models *m;
	struct lyd_node *hw1;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct broker_error err;

	f->m = mt_models();
	if (mt_apply(f->m, "/helloworld/hw1/", BROKER_POST, NULL,
		     "{\"action\":\"FORWARD\",\"ports\":[{\"name\":\"p1\",\"peer\":\"veth1\"},{\"name\":\"p2\"}]}", &f->hw1,
		     &err))
		fail_msg("setup hw1: %s", err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lyd_free_all(f->hw1);
	broker_models_destroy(f->m);
	free(f);
	return 0;
}

static char *read_state(struct fx *f, const char *path, const char *const *states, size_t n, int want_status)
{
	struct broker_target t;
	struct broker_error err = { 0 };
	char *json = NULL;
	int rc;

	mt_target(f->m, path, &t);
	rc = broker_config_read(f->m, &t, f->hw1, states, n, &json, &err);
	broker_target_fini(&t);
	if (want_status) {
		assert_int_not_equal(rc, 0);
		assert_int_equal(err.http_status, want_status);
		return NULL;
	}
	if (rc)
		fail_msg("read %s: %d %s", path, err.http_status, err.message);
	return json;
}

static const char *broker_state =
	"{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"uuid\":\"0f5f6b6a-8d3c-4f5e-9a51-0c3b9b1d2e3f\","
	"\"service-name\":\"helloworld\",\"ports\":[{\"name\":\"p1\",\"status\":\"UP\"},{\"name\":\"p2\",\"status\":\"DOWN\"}]}]}";
/* A cube that sends numbers as numbers and as strings, and a member the model lacks. */
static const char *cube_state =
	"{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"stats\":{\"forwarded\":\"3\",\"dropped\":4,\"slowpath\":0},\"junk\":1}]}";

static void test_instance_merged(void **state)
{
	struct fx *f = *state;
	const char *states[] = { broker_state, cube_state };
	char *s = read_state(f, "/helloworld/hw1", states, 2, 0);
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "uuid")), "0f5f6b6a-8d3c-4f5e-9a51-0c3b9b1d2e3f");
	assert_string_equal(json_string_value(json_object_get(j, "type")), "TC");
	assert_string_equal(json_string_value(json_object_get(j, "loglevel")), "INFO");
	assert_string_equal(json_string_value(json_object_get(j, "action")), "FORWARD");
	assert_string_equal(json_string_value(json_object_get(j, "service-name")), "helloworld");
	json_t *stats = json_object_get(j, "stats");
	assert_true(json_is_integer(json_object_get(stats, "forwarded")));
	assert_int_equal(json_integer_value(json_object_get(stats, "forwarded")), 3);
	assert_int_equal(json_integer_value(json_object_get(stats, "dropped")), 4);
	json_t *ports = json_object_get(j, "ports");
	assert_int_equal(json_array_size(ports), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "status")), "UP");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "peer")), "veth1");
	assert_null(json_object_get(j, "junk"));
	/* No module prefixes anywhere. */
	assert_null(strstr(s, "helloworld:"));
	json_decref(j);
	free(s);

	s = read_state(f, "/helloworld/hw1/stats/forwarded", states, 2, 0);
	assert_string_equal(s, "3");
	free(s);
	s = read_state(f, "/helloworld/hw1/stats", states, 2, 0);
	assert_string_equal(s, "{\"forwarded\":3,\"dropped\":4,\"slowpath\":0}");
	free(s);
	s = read_state(f, "/helloworld/hw1/ports/p2", states, 2, 0);
	assert_string_equal(s, "{\"name\":\"p2\",\"status\":\"DOWN\"}");
	free(s);
}

static void test_leaf_and_list(void **state)
{
	struct fx *f = *state;
	char *s;

	s = read_state(f, "/helloworld/hw1/action/", NULL, 0, 0);
	assert_string_equal(s, "\"FORWARD\"");
	free(s);
	s = read_state(f, "/helloworld/hw1/loglevel", NULL, 0, 0);
	assert_string_equal(s, "\"INFO\"");
	free(s);
	s = read_state(f, "/helloworld/hw1/ports", NULL, 0, 0);
	assert_string_equal(s, "[{\"name\":\"p1\",\"peer\":\"veth1\"},{\"name\":\"p2\"}]");
	free(s);
	s = read_state(f, "/helloworld/hw1/ports/p1/peer", NULL, 0, 0);
	assert_string_equal(s, "\"veth1\"");
	free(s);
}

static void test_absent(void **state)
{
	struct fx *f = *state;

	read_state(f, "/helloworld/hw1/uuid", NULL, 0, 404);
	read_state(f, "/helloworld/hw1/stats", NULL, 0, 404);
	read_state(f, "/helloworld/hw1/ports/p9", NULL, 0, 404);
	read_state(f, "/helloworld/hw1/ports/p2/peer", NULL, 0, 404);

	struct broker_target t;
	struct broker_error err;
	char *json = NULL;
	mt_target(f->m, "/helloworld/hw7", &t);
	assert_int_equal(broker_config_read(f->m, &t, NULL, NULL, 0, &json, &err), -ENOENT);
	assert_int_equal(err.http_status, 404);
	broker_target_fini(&t);
}

static void test_bad_state(void **state)
{
	struct fx *f = *state;
	const char *states[] = { "{not json" };

	read_state(f, "/helloworld/hw1", states, 1, 500);
	states[0] = "{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"stats\":{\"forwarded\":\"many\"}}]}";
	read_state(f, "/helloworld/hw1", states, 1, 500);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct broker_error err;
	struct lyd_node *back = NULL;
	char *a = mt_print(f->hw1), *b;

	assert_non_null(strstr(a, "\"helloworld:helloworld\""));
	assert_null(strstr(a, "\"type\"")); /* defaults stay implicit */
	assert_int_equal(broker_config_parse(f->m, "helloworld", a, &back, &err), 0);
	b = mt_print(back);
	assert_string_equal(a, b);
	assert_string_equal(broker_config_leaf(back, "loglevel"), "INFO");
	free(b);
	lyd_free_all(back);

	back = NULL;
	assert_int_equal(broker_config_parse(f->m, "helloworld", "{\"helloworld:helloworld\":[{\"name\":\"x\",\"action\":\"FLY\"}]}",
					     &back, &err), -EINVAL);
	assert_null(back);
	assert_int_equal(broker_config_parse(f->m, "helloworld", "{\"helloworld:helloworld\":[{\"name\":\"x\",\"uuid\":\"0f5f6b6a-8d3c-4f5e-9a51-0c3b9b1d2e3f\"}]}",
					     &back, &err), -EINVAL);
	assert_int_equal(broker_config_parse(f->m, "helloworld", "{\"helloworld:helloworld\":[{\"name\":\"x\"},{\"name\":\"y\"}]}",
					     &back, &err), -EINVAL);
	assert_int_equal(broker_config_parse(f->m, "nosuch", a, &back, &err), -ENOENT);
	free(a);
}

static int collect(void *arg, const char *name, const char *peer)
{
	char *buf = arg;

	strcat(buf, name);
	strcat(buf, "=");
	strcat(buf, peer ? peer : "-");
	strcat(buf, ";");
	return 0;
}

static void test_accessors(void **state)
{
	struct fx *f = *state;
	char buf[128] = "";

	assert_int_equal(broker_config_ports(f->hw1, collect, buf), 0);
	assert_string_equal(buf, "p1=veth1;p2=-;");
	assert_string_equal(broker_config_leaf(f->hw1, "type"), "TC");
	assert_string_equal(broker_config_leaf(f->hw1, "ports[name='p1']/peer"), "veth1");
	assert_null(broker_config_leaf(f->hw1, "ports[name='p2']/peer"));
	assert_null(broker_config_leaf(f->hw1, "ports[name='p9']/peer"));
	assert_null(broker_config_leaf(f->hw1, "nosuch"));
}

static void test_help(void **state)
{
	struct fx *f = *state;
	struct broker_target t;
	struct broker_error err;
	char *s = NULL;
	json_t *j, *e;
	size_t i;

	mt_target(f->m, "/helloworld/hw1", &t);
	assert_int_equal(broker_schema_help(f->m, &t, &s, &err), 0);
	broker_target_fini(&t);
	json_t *node = json_loads(s, 0, NULL);
	assert_true(json_is_object(node));
	assert_string_equal(json_string_value(json_object_get(node, "kind")), "entry");
	j = json_object_get(node, "children");
	assert_true(json_is_array(j));
	bool seen_type = false, seen_ports = false;
	json_array_foreach(j, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		if (!strcmp(name, "type")) {
			seen_type = true;
			assert_true(json_is_true(json_object_get(e, "init-only")));
			assert_string_equal(json_string_value(json_object_get(e, "default")), "TC");
			assert_int_equal(json_array_size(json_object_get(e, "enum")), 3);
			assert_string_equal(json_string_value(json_object_get(e, "type")), "enumeration");
		} else if (!strcmp(name, "ports")) {
			seen_ports = true;
			assert_string_equal(json_string_value(json_object_get(e, "kind")), "list");
			assert_string_equal(json_string_value(json_array_get(json_object_get(e, "keys"), 0)), "name");
		} else if (!strcmp(name, "uuid")) {
			assert_true(json_is_false(json_object_get(e, "config")));
		}
	}
	assert_true(seen_type && seen_ports);
	json_decref(node);
	free(s);

	/* A list says it is one, with its keys: pcnctl then offers add/del. */
	mt_target(f->m, "/helloworld/hw1/ports", &t);
	assert_int_equal(broker_schema_help(f->m, &t, &s, &err), 0);
	broker_target_fini(&t);
	node = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(node, "kind")), "list");
	assert_string_equal(json_string_value(json_array_get(json_object_get(node, "keys"), 0)), "name");
	json_decref(node);
	free(s);

	mt_target(f->m, "/router-test/r1/flush", &t);
	assert_int_equal(broker_schema_help(f->m, &t, &s, &err), 0);
	broker_target_fini(&t);
	assert_non_null(strstr(s, "\"what\""));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance_merged), cmocka_unit_test(test_leaf_and_list),
		cmocka_unit_test(test_absent),          cmocka_unit_test(test_bad_state),
		cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

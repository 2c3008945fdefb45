/* Module registration, service info, and REST errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libyang/libyang.h>

#include "model.h"
#include "model_int.h"
#include "model_testutil.h"

static char *yang_text(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.yang", dir, name);
	char *t = mt_read_file(path);
	assert_non_null(t);
	return t;
}

static void test_add(void **state)
{
	struct broker_models *m = NULL;
	struct broker_error err;
	struct broker_service_info info;
	char *hw = yang_text(CUBEMESH_YANG_DIR, "helloworld");

	assert_int_equal(broker_models_create(&m, CUBEMESH_YANG_DIR), 0);
	assert_int_equal(broker_models_info(m, "helloworld", &info), -ENOENT);
	assert_int_equal(broker_models_add(m, "helloworld", hw, &err), 0);
	/* The very same text again (a cube process restarting). */
	assert_int_equal(broker_models_add(m, "helloworld", hw, &err), 0);
	assert_int_equal(broker_models_info(m, "helloworld", &info), 0);
	assert_string_equal(info.name, "helloworld");
	assert_string_equal(info.version, "1.0");
	assert_string_equal(info.description, "Helloworld Service");
	assert_string_equal(info.min_kernel, "4.14.0");
	assert_int_equal(info.transparent, 0);

	/* Another text of the same module: an upgrade, not supported yet. */
	char *hw2 = strdup(hw);
	*strstr(hw2, "\"1.0\"") = '\0';
	char *changed = NULL;
	assert_true(asprintf(&changed, "%s\"1.1\"%s", hw2, strstr(hw, "\"1.0\"") + 5) > 0);
	assert_int_equal(broker_models_add(m, "helloworld", changed, &err), -EEXIST);
	assert_int_equal(err.http_status, 409);
	assert_int_equal(broker_models_info(m, "helloworld", &info), 0);
	assert_string_equal(info.version, "1.0");
	free(changed);
	free(hw2);

	/* Registered under another service's name. */
	assert_int_equal(broker_models_add(m, "bridge", hw, &err), -EINVAL);
	assert_non_null(strstr(err.message, "helloworld"));
	assert_int_equal(broker_models_info(m, "bridge", &info), -ENOENT);
	free(hw);
	broker_models_destroy(m);
}

static void test_add_rejects(void **state)
{
	struct broker_models *m = NULL;
	struct broker_error err;
	struct broker_service_info info;

	assert_int_equal(broker_models_create(&m, CUBEMESH_YANG_DIR), 0);
	assert_int_equal(broker_models_add(m, "bad", "module bad { namespace urn:bad; prefix b; leaf x { type nosuchtype; } }", &err),
			 -EINVAL);
	assert_int_equal(err.http_status, 400);
	assert_non_null(strstr(err.message, "does not parse"));
	assert_int_equal(broker_models_add(m, "bad", "not yang at all", &err), -EINVAL);
	/* No top-level list named like the service. */
	assert_int_equal(broker_models_add(m, "nolist", "module nolist { namespace urn:nl; prefix n; container nolist { leaf x { type string; } } }",
					   &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "not a list"));
	assert_int_equal(broker_models_add(m, "nolist2", "module nolist2 { namespace urn:nl2; prefix n; leaf x { type string; } }", &err),
			 -EINVAL);
	/* A list that does not use the base grouping. */
	assert_int_equal(broker_models_add(m, "nobase", "module nobase { namespace urn:nb; prefix n; list nobase { key name; leaf name { type string; } } }",
					   &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "base-yang-module"));
	/* A base model's name. */
	assert_int_equal(broker_models_add(m, "cubemesh-base", "module cubemesh-base { namespace urn:x; prefix x; }", &err), -EINVAL);
	assert_int_equal(broker_models_info(m, "bad", &info), -ENOENT);
	assert_int_equal(broker_models_info(m, "nobase", &info), -ENOENT);
	broker_models_destroy(m);
}

static void test_transparent(void **state)
{
	struct broker_models *m = mt_models();
	struct broker_service_info info;

	assert_int_equal(broker_models_info(m, "transparent-test", &info), 0);
	assert_int_equal(info.transparent, 1);
	assert_string_equal(info.version, "0.2");
	assert_string_equal(info.min_kernel, "");
	assert_int_equal(broker_models_info(m, "simpleforwarder", &info), 0);
	assert_int_equal(info.transparent, 0);
	broker_models_destroy(m);
}

/* libyang recompiles a context when some modules are added to it; the
 * trees made before must survive another service registering. */
static void test_trees_survive_registration(void **state)
{
	struct broker_models *m = NULL;
	struct broker_error err;
	struct lyd_node *hw = NULL;
	char *text = yang_text(CUBEMESH_YANG_DIR, "helloworld"), *before, *after;

	assert_int_equal(broker_models_create(&m, CUBEMESH_YANG_DIR), 0);
	assert_int_equal(broker_models_add(m, "helloworld", text, &err), 0);
	free(text);
	assert_int_equal(mt_apply(m, "/helloworld/hw1", BROKER_POST, NULL, "{\"action\":\"FORWARD\"}", &hw, &err), 0);
	struct broker_target t;
	mt_target(m, "/helloworld/hw1/action", &t);
	before = mt_read(m, "/helloworld/hw1", hw);

	text = yang_text(CUBEMESH_YANG_DIR, "simpleforwarder");
	assert_int_equal(broker_models_add(m, "simpleforwarder", text, &err), 0);
	free(text);
	text = yang_text(CUBEMESH_TESTDATA_DIR, "router-test");
	assert_int_equal(broker_models_add(m, "router-test", text, &err), 0);
	free(text);

	after = mt_read(m, "/helloworld/hw1", hw);
	assert_string_equal(before, after);
	/* A target parsed before still works. */
	char *json = NULL;
	assert_int_equal(broker_config_read(m, &t, hw, NULL, 0, &json, &err), 0);
	assert_string_equal(json, "\"FORWARD\"");
	free(json);
	broker_target_fini(&t);
	free(before);
	free(after);
	lyd_free_all(hw);
	broker_models_destroy(m);
}

static void test_error_json(void **state)
{
	struct broker_error err;
	int rc = broker_error_set(&err, 400, "invalid-value", "/helloworld/hw1/action", "\"%s\" is not one of %s", "FLY",
				  "DROP, SLOWPATH, FORWARD");
	char *s = broker_error_json(&err);

	assert_int_equal(rc, -EINVAL);
	assert_string_equal(s, "{\"ietf-restconf:errors\":{\"error\":[{\"error-type\":\"application\",\"error-tag\":"
			       "\"invalid-value\",\"error-path\":\"/helloworld/hw1/action\",\"error-message\":"
			       "\"\\\"FLY\\\" is not one of DROP, SLOWPATH, FORWARD\"}]}}");
	free(s);
	assert_int_equal(broker_error_set(&err, 404, NULL, NULL, "x"), -ENOENT);
	assert_string_equal(err.tag, "operation-failed");
	assert_string_equal(err.path, "");
	assert_int_equal(broker_error_set(NULL, 405, "t", NULL, "x"), -EOPNOTSUPP);
	assert_int_equal(broker_error_set(&err, 409, "t", NULL, "x"), -EEXIST);
	assert_int_equal(broker_error_set(&err, 413, "t", NULL, "x"), -E2BIG);
	assert_int_equal(broker_error_set(&err, 503, "t", NULL, "x"), -EAGAIN);
	assert_int_equal(broker_error_set(&err, 500, "t", NULL, "x"), -EIO);
}

static void test_rest_path(void **state)
{
	char buf[256];

	broker_model_rest_path("/router-test:router-test[name='r1']/route[network='10.0.1.0/24'][nexthop=\"0.0.0.0\"]/pathcost",
			       buf, sizeof(buf));
	assert_string_equal(buf, "/router-test/r1/route/10.0.1.0/24/0.0.0.0/pathcost");
	broker_model_rest_path("/helloworld:helloworld[name='hw1']/ports[1]/peer", buf, sizeof(buf));
	assert_string_equal(buf, "/helloworld/hw1/ports/peer");
	broker_model_rest_path("/a:b[c='d']", buf, 6);
	assert_string_equal(buf, "/b/d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),        cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_transparent), cmocka_unit_test(test_trees_survive_registration),
		cmocka_unit_test(test_error_json), cmocka_unit_test(test_rest_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

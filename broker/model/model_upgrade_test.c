/* broker_models_replace: another version of a registered module, with the
 * stored instance configurations carried over, or refused untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "model.h"
#include "model_int.h"
#include "model_testutil.h"

/* text with the first `from` replaced by `to` (malloc'd). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t pre, from_len = strlen(from), to_len = strlen(to), tail;
	char *out;

	assert_non_null(at);
	/* Offsets, not asprintf with `at`: GCC 12 at -O3 takes `at` for a
	 * pointer into `out` (-Wdangling-pointer, a false positive). */
	pre = (size_t)(at - text);
	tail = strlen(text) - pre - from_len;
	out = malloc(pre + to_len + tail + 1);
	assert_non_null(out);
	memcpy(out, text, pre);
	memcpy(out + pre, to, to_len);
	memcpy(out + pre + to_len, text + pre + from_len, tail + 1);
	return out;
}

static void test_replace(void **state)
{
	struct broker_models *m = NULL;
	struct broker_service_info info;
	struct broker_error err;
	struct lyd_node *tree = NULL, *before;
	const char *names[] = { "hw1" };
	char *v1 = mt_read_file(CUBEMESH_YANG_DIR "/helloworld.yang");
	char *json;

	(void)state;
	assert_non_null(v1);
	/* 1.1: a new state leaf and another version: every config still fits. */
	char *v11a = replaced(v1, "base:service-version \"1.0\";", "base:service-version \"1.1\";");
	char *v11 = replaced(v11a, "      leaf forwarded {",
			     "      leaf bytes { type uint64; }\n      leaf forwarded {");
	/* 2.0: FORWARD is gone from the enumeration: hw1's config does not fit. */
	char *v2 = replaced(v11, "      enum FORWARD { description \"Send the packet out of the other port.\"; }\n",
			    "");

	assert_int_equal(broker_models_create(&m, CUBEMESH_YANG_DIR), 0);
	assert_int_equal(broker_models_add(m, "helloworld", v1, &err), 0);
	assert_int_equal(broker_config_parse(m, "helloworld",
					     "{\"helloworld:helloworld\":[{\"name\":\"hw1\",\"action\":\"FORWARD\"}]}",
					     &tree, &err), 0);

	/* The same text: nothing to do, the tree is left alone. */
	before = tree;
	assert_int_equal(broker_models_replace(m, "helloworld", v1, &tree, names, 1, &err), 0);
	assert_ptr_equal(tree, before);

	/* An upgrade that fits: a new tree, in the new context. */
	assert_int_equal(broker_models_replace(m, "helloworld", v11, &tree, names, 1, &err), 0);
	assert_ptr_not_equal(tree, before);
	assert_ptr_equal(LYD_CTX(tree), broker_model_svc_ctx(m, "helloworld"));
	assert_int_equal(broker_models_info(m, "helloworld", &info), 0);
	assert_string_equal(info.version, "1.1");
	json = mt_print(tree);
	assert_non_null(strstr(json, "FORWARD"));
	free(json);

	/* One that does not fit: refused, naming the instance; nothing changed. */
	before = tree;
	assert_int_equal(broker_models_replace(m, "helloworld", v2, &tree, names, 1, &err), -EEXIST);
	assert_int_equal(err.http_status, 409);
	assert_non_null(strstr(err.message, "hw1"));
	assert_ptr_equal(tree, before);
	assert_ptr_equal(LYD_CTX(tree), broker_model_svc_ctx(m, "helloworld"));
	assert_int_equal(broker_models_info(m, "helloworld", &info), 0);
	assert_string_equal(info.version, "1.1");
	json = mt_print(tree);
	assert_non_null(strstr(json, "FORWARD"));
	free(json);

	/* Rolling back is the same operation. */
	assert_int_equal(broker_models_replace(m, "helloworld", v1, &tree, names, 1, &err), 0);
	assert_int_equal(broker_models_info(m, "helloworld", &info), 0);
	assert_string_equal(info.version, "1.0");

	/* A module that does not parse: refused, the loaded one stays. */
	assert_int_equal(broker_models_replace(m, "helloworld", "module helloworld {", &tree, names, 1, &err),
			 -EINVAL);
	assert_int_equal(broker_models_info(m, "helloworld", &info), 0);
	assert_string_equal(info.version, "1.0");

	lyd_free_all(tree);
	broker_models_destroy(m);
	free(v1);
	free(v11a);
	free(v11);
	free(v2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

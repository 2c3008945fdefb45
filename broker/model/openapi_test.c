/* Unit tests of the OpenAPI paths and schemas walked from a model
 * (openapi.c), on the test module router-test and enum-test: paths and
 * their verbs, key parameters, and the JSON schemas of the YANG types. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model.h"
#include "model_testutil.h"

#define R "/router-test/{router-test_name}"

struct doc {
	struct broker_models *m;
	json_t *paths, *schemas;
};

static int setup(void **state)
{
	struct doc *d = calloc(1, sizeof(*d));
	struct broker_error err;
	char *text = mt_read_file(CUBEMESH_TESTDATA_DIR "/enum-test.yang");

	d->m = mt_models();
	assert_non_null(text);
	assert_int_equal(broker_models_add(d->m, "enum-test", text, &err), 0);
	free(text);
	d->paths = json_object();
	d->schemas = json_object();
	assert_int_equal(broker_openapi_service(d->m, "router-test", d->paths, d->schemas), 0);
	assert_int_equal(broker_openapi_service(d->m, "enum-test", d->paths, d->schemas), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct doc *d = *state;

	json_decref(d->paths);
	json_decref(d->schemas);
	broker_models_destroy(d->m);
	free(d);
	return 0;
}

/* The verbs of a path, sorted as written: "get patch delete". */
static void verbs(const json_t *paths, const char *path, char *buf, size_t n)
{
	static const char *const all[] = { "get", "post", "put", "patch", "delete" };
	const json_t *item = json_object_get(paths, path);

	buf[0] = '\0';
	if (!item)
		fail_msg("no path %s", path);
	for (size_t i = 0; i < 5; i++)
		if (json_object_get(item, all[i]))
			snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? " " : "", all[i]);
}

static void expect_verbs(const json_t *paths, const char *path, const char *want)
{
	char got[64];

	verbs(paths, path, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s: verbs '%s', want '%s'", path, got, want);
}

/* The schema GET answers with at path. */
static const json_t *get_schema(const json_t *paths, const char *path)
{
	const json_t *s = json_object_get(json_object_get(paths, path), "get");

	s = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(s, "responses"), "200"),
							    "content"), "application/json"), "schema");
	if (!s)
		fail_msg("%s: no GET schema", path);
	return s;
}

static void test_paths_and_verbs(void **state)
{
	struct doc *d = *state;

	expect_verbs(d->paths, "/router-test", "get");
	expect_verbs(d->paths, R, "get post put patch delete");
	/* A key names its entry: read only; a leaf: PATCH and DELETE. */
	expect_verbs(d->paths, R "/name", "get");
	expect_verbs(d->paths, R "/mtu", "get patch delete");
	expect_verbs(d->paths, R "/tags", "get post put patch delete");
	/* A two-key list: the list, then the entry with both keys. */
	expect_verbs(d->paths, R "/route", "get post put patch delete");
	expect_verbs(d->paths, R "/route/{route_network}/{route_nexthop}", "get post put patch delete");
	expect_verbs(d->paths, R "/route/{route_network}/{route_nexthop}/interface", "get patch delete");
	assert_null(json_object_get(d->paths, R "/route/{route_network}"));
	/* State: GET only, and its entries by key. */
	expect_verbs(d->paths, R "/arp", "get post put patch delete");
	expect_verbs(d->paths, R "/arp/entry", "get");
	expect_verbs(d->paths, R "/arp/entry/{entry_address}/mac", "get");
	/* An action: POST with its input. */
	expect_verbs(d->paths, R "/flush", "post");
	assert_non_null(json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(
		json_object_get(json_object_get(json_object_get(d->paths, R "/flush"), "post"), "requestBody"),
		"content"), "application/json"), "schema"), "properties"), "what"));
}

static void test_key_parameters(void **state)
{
	struct doc *d = *state;
	const json_t *params =
		json_object_get(json_object_get(d->paths, R "/route/{route_network}/{route_nexthop}"), "parameters");
	const json_t *p;

	assert_int_equal(json_array_size(params), 3);
	p = json_array_get(params, 1);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "route_network");
	assert_string_equal(json_string_value(json_object_get(p, "in")), "path");
	assert_true(json_is_true(json_object_get(p, "required")));
	/* inet:ipv4-prefix: a string with its pattern, anchored. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "schema"), "type")), "string");
	assert_int_equal(strncmp(json_string_value(json_object_get(json_object_get(p, "schema"), "pattern")), "^(?:", 4),
			 0);
}

static void test_types(void **state)
{
	struct doc *d = *state;
	const json_t *s;

	s = get_schema(d->paths, R "/mtu");
	assert_string_equal(json_string_value(json_object_get(s, "type")), "integer");
	assert_int_equal(json_integer_value(json_object_get(s, "minimum")), 68);
	assert_int_equal(json_integer_value(json_object_get(s, "maximum")), 9000);
	assert_int_equal(json_integer_value(json_object_get(s, "default")), 1500);
	assert_string_equal(json_string_value(json_object_get(s, "description")), "MTU of every port.");
	s = get_schema(d->paths, R "/budget");
	assert_string_equal(json_string_value(json_object_get(s, "format")), "int64");
	s = get_schema(d->paths, R "/enabled");
	assert_string_equal(json_string_value(json_object_get(s, "type")), "boolean");
	assert_true(json_is_true(json_object_get(s, "default")));
	s = get_schema(d->paths, R "/tags");
	assert_string_equal(json_string_value(json_object_get(s, "type")), "array");
	/* A leafref: its target's type (ports/name, a string). */
	s = get_schema(d->paths, R "/route/{route_network}/{route_nexthop}/interface");
	assert_string_equal(json_string_value(json_object_get(s, "type")), "string");
	/* An enum, and a union of a number and an enum. */
	s = get_schema(d->paths, "/enum-test/{enum-test_name}/capture");
	assert_int_equal(json_array_size(json_object_get(s, "enum")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "enum"), 0)), "INGRESS");
	s = json_object_get(get_schema(d->paths, "/enum-test/{enum-test_name}/limit"), "anyOf");
	assert_int_equal(json_array_size(s), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(s, 0), "maximum")), 65535);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(s, 1), "enum"), 0)),
			    "UNLIMITED");
}

static void test_components(void **state)
{
	struct doc *d = *state;
	const json_t *entry = json_object_get(d->schemas, "router-test.arp.entry");
	const json_t *inst = json_object_get(d->schemas, "router-test");

	/* Config false: readOnly; a container or list: a reference. */
	assert_non_null(entry);
	assert_true(json_is_true(json_object_get(entry, "readOnly")));
	assert_non_null(inst);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(inst, "properties"), "arp"),
							      "$ref")),
			    "#/components/schemas/router-test.arp");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(
				    inst, "properties"), "route"), "items"), "$ref")),
			    "#/components/schemas/router-test.route");
	/* The GET of an entry refers to its component. */
	assert_string_equal(json_string_value(json_object_get(get_schema(d->paths, R "/arp/entry/{entry_address}"),
							      "$ref")),
			    "#/components/schemas/router-test.arp.entry");
	/* A service without a model: nothing added. */
	assert_int_equal(broker_openapi_service(d->m, "nosuch", d->paths, d->schemas), -2 /* -ENOENT */);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_and_verbs),
		cmocka_unit_test(test_key_parameters),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_components),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

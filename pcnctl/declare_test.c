/* Unit tests of pcnctl's declarative part: YAML in and out (types, quoting,
 * lines of nodes and of errors), the mesh of API answers, and the order of
 * a plan. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "declare.h"

static json_t *load(const char *text, json_t **lines)
{
	char err[256];
	json_t *doc, *l;

	assert_int_equal(pcnctl_yaml_load(text, strlen(text), &doc, &l, err, sizeof(err)), 0);
	if (lines)
		*lines = l;
	else
		json_decref(l);
	return doc;
}

/* Plain scalars get YAML's types, quoted ones stay text; every node's line. */
static void test_yaml_types_and_lines(void **state)
{
	(void)state;
	json_t *lines, *doc = load("a: 5\nb: '5'\nc: true\nd: x\ne:\n  - 1\n  - y\n", &lines);

	assert_true(json_is_integer(json_object_get(doc, "a")));
	assert_string_equal(json_string_value(json_object_get(doc, "b")), "5");
	assert_true(json_is_true(json_object_get(doc, "c")));
	assert_string_equal(json_string_value(json_object_get(doc, "d")), "x");
	assert_int_equal(json_integer_value(json_object_get(lines, "/e/1")), 7);
	assert_int_equal(json_integer_value(json_object_get(lines, "/c")), 3);
	json_decref(doc);
	json_decref(lines);
}

static void test_yaml_errors(void **state)
{
	(void)state;
	static const char *const bad[] = { "a: [1\n", "a: 1\na: 2\n", "a: &x 1\nb: *x\n", "a: 1\n---\nb: 2\n" };
	char err[256];
	json_t *doc, *lines;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pcnctl_yaml_load(bad[i], strlen(bad[i]), &doc, &lines, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "line "));
	}
}

/* What export writes reads back as the same values: "10.0.0.1", "true" and
 * "" stay text. */
static void test_yaml_round_trip(void **state)
{
	(void)state;
	json_t *in = json_pack("{s:s,s:s,s:s,s:i,s:b,s:[ss]}", "ip", "10.0.0.1", "t", "true", "e", "", "n", 7, "b", 1,
			       "w", "br1:p1", "r1:p1");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(pcnctl_yaml_dump(f, in, "# c\n"), 0);
	fclose(f);
	json_t *out = load(buf, NULL);

	assert_true(json_equal(in, out));
	json_decref(in);
	json_decref(out);
	free(buf);
}

static const char *step_what(json_t *steps, size_t i)
{
	return json_string_value(json_object_get(json_array_get(steps, i), "what"));
}

/* From nothing: instances, ports, peers, wires, then attachments; back to
 * nothing: the reverse. A mesh against itself: no step. */
static void test_plan_order(void **state)
{
	(void)state;
	json_t *want = load("cubes:\n"
			    "- {name: t1, service: th}\n"
			    "- name: br1\n  service: sb\n  config: {loglevel: INFO}\n"
			    "  ports: [{name: p1, peer: veth1}, {name: p2}]\n"
			    "- name: r1\n  service: router\n  ports: [{name: q, ip: 10.0.0.1/24}]\n"
			    "connections: [[br1:p2, r1:q]]\n"
			    "attachments: [{parent: br1:p1, stack: [t1]}]\n",
			    NULL);
	json_t *empty = json_object(), *steps = pcnctl_mesh_plan(empty, want);
	static const char *const up[] = { "instance t1 (th)", "instance br1 (sb)", "instance r1 (router)",
					  "port br1:p1", "port br1:p2", "port r1:q", "peer of br1:p1: veth1",
					  "connection br1:p2 <-> r1:q", "attachment t1 on br1:p1" };

	assert_int_equal(json_array_size(steps), sizeof(up) / sizeof(up[0]));
	for (size_t i = 0; i < json_array_size(steps); i++)
		assert_string_equal(step_what(steps, i), up[i]);
	json_decref(steps);

	steps = pcnctl_mesh_plan(want, want);
	assert_int_equal(json_array_size(steps), 0);
	json_decref(steps);

	steps = pcnctl_mesh_plan(want, empty);
	static const char *const down[] = { "attachment t1 on br1:p1", "connection br1:p2 <-> r1:q",
					    "instance r1 (router)", "instance br1 (sb)", "instance t1 (th)" };
	assert_int_equal(json_array_size(steps), sizeof(down) / sizeof(down[0]));
	for (size_t i = 0; i < json_array_size(steps); i++)
		assert_string_equal(step_what(steps, i), down[i]);
	json_decref(steps);
	json_decref(want);
	json_decref(empty);
}

/* GET /cubes and /topology: state leaves out, a wire once, the stack. */
static void test_mesh_from_api(void **state)
{
	(void)state;
	json_t *cubes = json_loads("{\"sb\":[{\"name\":\"b\",\"uuid\":\"u\",\"type\":\"TC\",\"service-name\":\"sb\","
				   "\"tail-call-misses\":{},\"loglevel\":\"INFO\",\"ports\":["
				   "{\"name\":\"p1\",\"uuid\":\"u1\",\"status\":\"UP\",\"peer\":\"veth1\"},"
				   "{\"name\":\"p2\",\"peer\":\"a:x\"}]},"
				   "{\"name\":\"a\",\"ports\":[{\"name\":\"x\",\"peer\":\"b:p2\"}]}]}",
				   0, NULL);
	json_t *topo = json_loads("{\"transparent\":[{\"parent\":\"b:p1\",\"stack\":[\"t\"]}]}", 0, NULL);
	json_t *mesh = pcnctl_mesh_from_api(cubes, topo);
	char *text = json_dumps(mesh, JSON_COMPACT | JSON_SORT_KEYS);

	assert_string_equal(text,
			    "{\"attachments\":[{\"parent\":\"b:p1\",\"stack\":[\"t\"]}],"
			    "\"connections\":[[\"a:x\",\"b:p2\"]],"
			    "\"cubes\":[{\"config\":{},\"name\":\"a\",\"ports\":[{\"name\":\"x\"}],\"service\":\"sb\"},"
			    "{\"config\":{\"loglevel\":\"INFO\"},\"name\":\"b\",\"ports\":[{\"name\":\"p1\",\"peer\":"
			    "\"veth1\"},{\"name\":\"p2\"}],\"service\":\"sb\",\"type\":\"TC\"}]}");
	free(text);
	json_decref(mesh);
	json_decref(cubes);
	json_decref(topo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_types_and_lines), cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_yaml_round_trip),     cmocka_unit_test(test_plan_order),
		cmocka_unit_test(test_mesh_from_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

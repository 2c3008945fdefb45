/* Tests of the gateway's fixed routes (api_fixed.c): each is found under
 * its first segment with the methods that its 405 and OPTIONS answers
 * list, a service's name is left to the cube layer, and a path deeper than
 * a resource names nothing (GET /version/x is a 404, not the version). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "gateway/gateway.h"

#define GET "GET, HEAD, OPTIONS"
#define POST "POST, OPTIONS"

/* The route of "/<seg><rest>": its return, and allow and name when found. */
static int find(const char *seg, const char *rest, const char **allow, char *name, size_t n)
{
	*allow = NULL;
	name[0] = '\0';
	return broker_fixed_route(seg, rest, strlen(rest), allow, name, n);
}

static void test_each_fixed_route(void **state)
{
	/* The collections, as tests/integration/api_defects.sh sees them. */
	static const struct {
		const char *seg, *allow;
	} want[] = {
		{ "", GET },           { "version", GET },     { "services", GET }, { "cubes", "GET, HEAD, POST, OPTIONS" },
		{ "topology", GET },   { "netdevs", GET },     { "metrics", GET },  { "logs", GET },
		{ "connect", POST },   { "disconnect", POST }, { "attach", POST },  { "detach", POST },
	};
	char name[64];
	const char *allow;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(find(want[i].seg, "", &allow, name, sizeof(name)), 0);
		assert_non_null(allow);
		assert_string_equal(allow, want[i].allow);
		assert_string_equal(name, "");
		/* A trailing slash is the same resource (the root's links
		 * end with one; pcnctl sends "version/"). */
		assert_int_equal(find(want[i].seg, "/", &allow, name, sizeof(name)), 0);
		assert_string_equal(allow, want[i].allow);
		assert_string_equal(name, "");
	}
}

/* /services/<name>, /cubes/<name>, /netdevs/<name>, /topology/<name>: one
 * entry, read only (POST is on the collection of cubes alone). */
static void test_items(void **state)
{
	static const char *const segs[] = { "services", "cubes", "netdevs", "topology" };
	char name[64];
	const char *allow;

	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		assert_int_equal(find(segs[i], "/hw1", &allow, name, sizeof(name)), 0);
		assert_string_equal(allow, GET);
		assert_string_equal(name, "hw1");
		assert_int_equal(find(segs[i], "//hw1//", &allow, name, sizeof(name)), 0);
		assert_string_equal(name, "hw1");
	}
}

/* Any other first segment is a service's (helloworld, bridge, ...) or a
 * typo, both for the cube layer: not found here, case included. */
static void test_unknown_segments(void **state)
{
	static const char *const segs[] = { "helloworld", "Version", "versions", "versio", "cube", "connects",
					    "logs2",      "metric",  "attached", "top",    " " };
	char name[64];
	const char *allow;

	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		assert_int_equal(find(segs[i], "", &allow, name, sizeof(name)), -ENOENT);
		assert_null(allow);
		assert_int_equal(find(segs[i], "/hw1/ports", &allow, name, sizeof(name)), -ENOENT);
	}
}

/* A path below a resource that has nothing below it, or two levels below
 * one that has entries, names nothing: -ENOTDIR, which the dispatcher
 * answers with a 404 (before the method: DELETE /version/x is a 404 too). */
static void test_extra_segments(void **state)
{
	static const struct {
		const char *seg, *rest;
	} deep[] = {
		{ "version", "/x" },       { "version", "/x/" },     { "metrics", "/x" },
		{ "logs", "/hw1" },        { "connect", "/x" },      { "disconnect", "/a/b" },
		{ "attach", "/x" },        { "detach", "/x" },       { "services", "/helloworld/x" },
		{ "cubes", "/hw1/ports" }, { "netdevs", "/lo/x/" },  { "topology", "/hw1//x" },
	};
	char name[64];
	const char *allow;

	for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++) {
		assert_int_equal(find(deep[i].seg, deep[i].rest, &allow, name, sizeof(name)), -ENOTDIR);
		assert_null(allow);
	}
}

/* A name longer than the buffer is cut, never overflowing it. */
static void test_long_name(void **state)
{
	char name[8], rest[300];
	const char *allow;

	rest[0] = '/';
	memset(rest + 1, 'a', sizeof(rest) - 2);
	rest[sizeof(rest) - 1] = '\0';
	assert_int_equal(find("cubes", rest, &allow, name, sizeof(name)), 0);
	assert_int_equal(strlen(name), sizeof(name) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_fixed_route), cmocka_unit_test(test_items),
		cmocka_unit_test(test_unknown_segments), cmocka_unit_test(test_extra_segments),
		cmocka_unit_test(test_long_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

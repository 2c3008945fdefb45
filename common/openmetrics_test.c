/* OpenMetrics names, UTF-8, escapes and numbers (openmetrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openmetrics.h"

static void test_names(void **state)
{
	char long_name[PCN_OM_NAME_MAX + 2];

	assert_true(pcn_om_name_ok("a"));
	assert_true(pcn_om_name_ok("_a:b_9"));
	assert_true(pcn_om_name_ok(":x"));
	assert_false(pcn_om_name_ok(""));
	assert_false(pcn_om_name_ok(NULL));
	assert_false(pcn_om_name_ok("9a"));
	assert_false(pcn_om_name_ok("a-b"));
	assert_false(pcn_om_name_ok("a b"));
	assert_false(pcn_om_name_ok("a\n"));
	assert_false(pcn_om_name_ok("\xc3\xa9"));
	memset(long_name, 'a', sizeof(long_name));
	long_name[PCN_OM_NAME_MAX] = '\0';
	assert_true(pcn_om_name_ok(long_name));
	long_name[PCN_OM_NAME_MAX] = 'a';
	long_name[PCN_OM_NAME_MAX + 1] = '\0';
	assert_false(pcn_om_name_ok(long_name));

	assert_true(pcn_om_label_ok("direction"));
	assert_true(pcn_om_label_ok("_x"));
	assert_false(pcn_om_label_ok("__name__"));
	assert_false(pcn_om_label_ok("a:b"));
	assert_false(pcn_om_label_ok("1a"));
	assert_false(pcn_om_label_ok(""));
}

static void test_utf8(void **state)
{
	assert_true(pcn_om_utf8_ok("", 10));
	assert_true(pcn_om_utf8_ok("plain \"quoted\"\n", 100));
	assert_true(pcn_om_utf8_ok("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 100)); /* e-acute, euro, emoji */
	assert_false(pcn_om_utf8_ok("\xff", 10));
	assert_false(pcn_om_utf8_ok("\xc3", 10));           /* truncated */
	assert_false(pcn_om_utf8_ok("\xc0\x80", 10));       /* overlong NUL */
	assert_false(pcn_om_utf8_ok("\xe0\x80\xaf", 10));   /* overlong */
	assert_false(pcn_om_utf8_ok("\xed\xa0\x80", 10));   /* surrogate */
	assert_false(pcn_om_utf8_ok("\xf4\x90\x80\x80", 10)); /* past U+10FFFF */
	assert_true(pcn_om_utf8_ok("abcd", 4));
	assert_false(pcn_om_utf8_ok("abcde", 4));
	assert_false(pcn_om_utf8_ok("abc\xc3\xa9", 4));     /* the last character crosses the bound */
	assert_false(pcn_om_utf8_ok(NULL, 4));
}

static char *print(void (*fn)(FILE *, double), double v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, v);
	fclose(f);
	return buf;
}

static void value(FILE *f, double v)
{
	pcn_om_value(f, v);
}

static void test_values(void **state)
{
	static const struct {
		double v;
		const char *s;
	} cases[] = {
		{ 0, "0" },	     { 42, "42" },		 { -7, "-7" },
		{ 0.25, "0.25" },    { 0.1, "0.1" },		 { 1e20, "1e+20" },
		{ 9007199254740991.0, "9007199254740991" }, { 1.0 / 3, "0.33333333333333331" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = print(value, cases[i].v);

		assert_string_equal(s, cases[i].s);
		free(s);
	}
	{
		char *a = print(value, NAN), *b = print(value, INFINITY), *c = print(value, -INFINITY);

		assert_string_equal(a, "NaN");
		assert_string_equal(b, "+Inf");
		assert_string_equal(c, "-Inf");
		free(a);
		free(b);
		free(c);
	}
}

static void test_escape(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	pcn_om_escape(f, "a\"b\\c\nd}");
	fclose(f);
	assert_string_equal(buf, "a\\\"b\\\\c\\nd}");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* pcn_log_utf8_copy: what another process's log line becomes before it is
 * kept and shown as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "log.h"

#define FFFD "\xef\xbf\xbd"

static void test_utf8_copy(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain ascii", "plain ascii" },
		{ "", "" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d" },
		{ "bad \xff byte", "bad " FFFD " byte" },
		{ "stray \x80\x80", "stray " FFFD FFFD },
		{ "cut \xc3", "cut " FFFD },
		{ "cut \xe2\x82", "cut " FFFD FFFD },
		{ "overlong \xc0\xaf \xe0\x80\xaf", "overlong " FFFD FFFD " " FFFD FFFD FFFD },
		{ "surrogate \xed\xa0\x80", "surrogate " FFFD FFFD FFFD },
		{ "too high \xf4\x90\x80\x80", "too high " FFFD FFFD FFFD FFFD },
		{ "max \xf4\x8f\xbf\xbf", "max \xf4\x8f\xbf\xbf" },
		{ "tab\tnewline\n", "tab\tnewline\n" },
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = pcn_log_utf8_copy(out, sizeof(out), cases[i].in);

		assert_string_equal(out, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
	}
	assert_int_equal(pcn_log_utf8_copy(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "");
}

/* The copy is bounded and never ends inside a character. */
static void test_utf8_copy_bounds(void **state)
{
	char out[6];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(pcn_log_utf8_copy(out, sizeof(out), "abcdefgh"), 5);
	assert_string_equal(out, "abcde");
	/* "ab€": 2 + 3 bytes fit in 6 with the NUL; "abc€" does not. */
	assert_int_equal(pcn_log_utf8_copy(out, sizeof(out), "ab\xe2\x82\xac"), 5);
	assert_string_equal(out, "ab\xe2\x82\xac");
	assert_int_equal(pcn_log_utf8_copy(out, sizeof(out), "abc\xe2\x82\xac"), 3);
	assert_string_equal(out, "abc");
	/* A replacement that does not fit is left out as well. */
	assert_int_equal(pcn_log_utf8_copy(out, sizeof(out), "abcd\xff"), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(pcn_log_utf8_copy(out, 1, "abc"), 0);
	assert_string_equal(out, "");
	assert_int_equal(pcn_log_utf8_copy(NULL, 8, "abc"), 0);
}

static void test_level_names(void **state)
{
	(void)state;
	assert_string_equal(pcn_log_level_name(PCN_LOG_CRITICAL), "CRITICAL");
	assert_string_equal(pcn_log_level_name((enum pcn_log_level)99), "?");
	assert_int_equal(pcn_log_level_parse("warning"), PCN_LOG_WARN);
	assert_int_equal(pcn_log_level_parse("loud"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_copy),
		cmocka_unit_test(test_utf8_copy_bounds),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

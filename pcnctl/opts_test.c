/* Unit tests of pcnctl's global options: where they may appear, the environment. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

/* Splits a line at spaces; "\ " keeps a space inside a word. */
static int split_line(const char *line, char **words, int max, char *store)
{
	int n = 0;
	char *p = store;

	strcpy(store, line);
	while (*p && n < max) {
		char *w = p, *o = p;

		while (*p && *p != ' ') {
			if (p[0] == '\\' && p[1] == ' ')
				p++;
			*o++ = *p++;
		}
		if (*p)
			p++;
		*o = '\0';
		words[n++] = w;
	}
	return n;
}

static int opts_of(struct pcnctl_opts *o, const char *line, char *err)
{
	static char store[256];
	char *argv[32] = { "pcnctl" };
	int n = split_line(line, argv + 1, 31, store);

	return pcnctl_opts_init(o, n + 1, argv, err, 256);
}

static void test_opts_defaults(void **state)
{
	struct pcnctl_opts o;
	char err[256];

	unsetenv("PCN_URL");
	unsetenv("PCN_TOKEN");
	assert_int_equal(opts_of(&o, "hw1 show", err), 0);
	assert_string_equal(o.url, PCNCTL_DEFAULT_URL);
	assert_null(o.token);
	assert_false(o.json);
	assert_false(o.verbose);
	assert_int_equal(o.nwords, 2);
	assert_string_equal(o.words[0], "hw1");
	assert_string_equal(o.words[1], "show");
	pcnctl_opts_fini(&o);
	pcnctl_opts_fini(NULL);
}

static void test_opts_anywhere(void **state)
{
	struct pcnctl_opts o;
	char err[256];

	unsetenv("PCN_URL");
	assert_int_equal(opts_of(&o, "-v hw1 --url http://h:1/api show -j --token=abc", err), 0);
	assert_string_equal(o.url, "http://h:1/api/");
	assert_string_equal(o.token, "abc");
	assert_true(o.json);
	assert_true(o.verbose);
	assert_int_equal(o.nwords, 2);
	pcnctl_opts_fini(&o);

	assert_int_equal(opts_of(&o, "hw1 ports add -- -p1 ?", err), 0);
	assert_int_equal(o.nwords, 5);
	assert_string_equal(o.words[3], "-p1");
	pcnctl_opts_fini(&o);
}

static void test_opts_env(void **state)
{
	struct pcnctl_opts o;
	char err[256];

	setenv("PCN_URL", "http://10.0.0.1:9000/polycube/v1", 1);
	setenv("PCN_TOKEN", "sekret", 1);
	assert_int_equal(opts_of(&o, "cubes", err), 0);
	assert_string_equal(o.url, "http://10.0.0.1:9000/polycube/v1/");
	assert_string_equal(o.token, "sekret");
	pcnctl_opts_fini(&o);
	/* The command line wins over the environment. */
	assert_int_equal(opts_of(&o, "--url=http://x/ --token t2 cubes", err), 0);
	assert_string_equal(o.url, "http://x/");
	assert_string_equal(o.token, "t2");
	pcnctl_opts_fini(&o);
	unsetenv("PCN_URL");
	unsetenv("PCN_TOKEN");
}

static void test_opts_errors(void **state)
{
	struct pcnctl_opts o;
	char err[256];

	assert_int_equal(opts_of(&o, "cubes --url", err), -EINVAL);
	assert_non_null(strstr(err, "--url needs a value"));
	assert_int_equal(opts_of(&o, "cubes --frobnicate", err), -EINVAL);
	assert_non_null(strstr(err, "unknown option '--frobnicate'"));
	assert_int_equal(opts_of(&o, "--token", err), -EINVAL);
	assert_int_equal(opts_of(&o, "--help", err), 0);
	assert_true(o.help);
	pcnctl_opts_fini(&o);
	assert_int_equal(opts_of(&o, "-V", err), 0);
	assert_true(o.version);
	pcnctl_opts_fini(&o);
}

/* -o table|json|yaml (and --output=): the last of -o and -j wins. */
static void test_opts_output(void **state)
{
	struct pcnctl_opts o;
	char err[256];

	(void)state;
	assert_int_equal(opts_of(&o, "hw1 -o yaml", err), 0);
	assert_true(o.yaml);
	assert_false(o.json);
	assert_int_equal(o.nwords, 1);
	pcnctl_opts_fini(&o);
	assert_int_equal(opts_of(&o, "-o yaml hw1 -j", err), 0);
	assert_true(o.json);
	assert_false(o.yaml);
	pcnctl_opts_fini(&o);
	assert_int_equal(opts_of(&o, "--output=json hw1", err), 0);
	assert_true(o.json);
	pcnctl_opts_fini(&o);
	assert_int_equal(opts_of(&o, "-j --output table hw1", err), 0);
	assert_false(o.json);
	assert_false(o.yaml);
	pcnctl_opts_fini(&o);
	assert_int_equal(opts_of(&o, "hw1 -o xml", err), -EINVAL);
	assert_non_null(strstr(err, "-o takes table, json or yaml"));
	assert_int_equal(opts_of(&o, "hw1 -o", err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_output),
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_opts_anywhere),
		cmocka_unit_test(test_opts_env),
		cmocka_unit_test(test_opts_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of pcnctl logs: the command line, the request, the printing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"
#include "opts.h"

/* One command line and what it must parse to: rc 0 (a logs command with
 * that cube, service, follow), 1 (another command), or -EINVAL with
 * want_err in the message. */
struct tcase {
	const char *line;
	int rc;
	const char *cube, *service;
	bool follow;
	const char *want_err;
};

static const struct tcase cases[] = {
	{ "logs", 0, NULL, NULL, false, NULL },
	{ "logs hw1", 0, "hw1", NULL, false, NULL },
	{ "logs hw1 --follow", 0, "hw1", NULL, true, NULL },
	{ "logs -f hw1", 0, "hw1", NULL, true, NULL },
	{ "logs --service helloworld", 0, NULL, "helloworld", false, NULL },
	{ "logs --service=pcn-broker -f", 0, NULL, "pcn-broker", true, NULL },
	{ "-j logs hw1 --service helloworld", 0, "hw1", "helloworld", false, NULL },
	{ "logs hw1 hw2", -EINVAL, NULL, NULL, false, "one cube at most" },
	{ "hw1 show", 1, NULL, NULL, false, NULL },
	{ "hw1 show --follow", -EINVAL, NULL, NULL, false, "--follow only goes with 'pcnctl logs'" },
	{ "cubes --service helloworld", -EINVAL, NULL, NULL, false, "--service only goes with" },
	/* A cube named "logs" is still reached by its service: helloworld logs show. */
	{ "helloworld logs show", 1, NULL, NULL, false, NULL },
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		char store[256], err[256] = "", *argv[16] = { "pcnctl" }, *p;
		struct pcnctl_logs l;
		struct pcnctl_opts o;
		int argc = 1, rc;

		snprintf(store, sizeof(store), "%s", c->line);
		for (p = strtok(store, " "); p && argc < 16; p = strtok(NULL, " "))
			argv[argc++] = p;
		assert_int_equal(pcnctl_opts_init(&o, argc, argv, err, sizeof(err)), 0);
		rc = pcnctl_logs_parse(&l, &o, err, sizeof(err));
		if (rc != c->rc)
			fail_msg("'%s': rc %d, want %d (%s)", c->line, rc, c->rc, err);
		if (c->want_err && !strstr(err, c->want_err))
			fail_msg("'%s': message '%s' lacks '%s'", c->line, err, c->want_err);
		if (rc == 0) {
			assert_true((l.cube == NULL) == (c->cube == NULL));
			if (c->cube)
				assert_string_equal(l.cube, c->cube);
			assert_true((l.service == NULL) == (c->service == NULL));
			if (c->service)
				assert_string_equal(l.service, c->service);
			assert_int_equal(l.follow, c->follow);
		}
		pcnctl_opts_fini(&o);
	}
}

static void test_missing_service_value(void **state)
{
	char *argv[] = { "pcnctl", "logs", "--service" }, err[256] = "";
	struct pcnctl_opts o;

	(void)state;
	assert_int_equal(pcnctl_opts_init(&o, 3, argv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--service needs a value"));
}

static void test_path(void **state)
{
	struct pcnctl_logs all = { 0 }, one = { .cube = "hw1", .service = "helloworld" };
	struct pcnctl_logs odd = { .cube = "a b" };
	char *p;

	(void)state;
	p = pcnctl_logs_path(&all, 0);
	assert_string_equal(p, "logs?since=0");
	free(p);
	p = pcnctl_logs_path(&one, 131);
	assert_string_equal(p, "logs?since=131&service=helloworld&cube=hw1");
	free(p);
	/* Values are escaped: a space cannot end the query. */
	p = pcnctl_logs_path(&odd, 2);
	assert_string_equal(p, "logs?since=2&cube=a%20b");
	free(p);
}

/* What pcnctl_logs_print writes for body (malloc'd); *n the return value. */
static char *printed(const char *body, bool json, uint64_t *next, int *n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	*n = pcnctl_logs_print(f, body, json, next);
	fclose(f);
	return text;
}

static const char page[] =
	"{\"next\": 12, \"lines\": ["
	"{\"seq\": 10, \"time\": 1764109801123, \"level\": \"INFO\", \"source\": \"fastpath\","
	" \"service\": \"helloworld\", \"cube\": \"hw1\", \"message\": \"hello from hw1\"},"
	"{\"seq\": 11, \"time\": 1764109802005, \"level\": \"WARN\", \"source\": \"broker\","
	" \"service\": \"pcn-broker\", \"cube\": \"\", \"message\": \"BROKER-X: y\"}]}";

static void test_print_text(void **state)
{
	uint64_t next = 0;
	char *text;
	int n;

	(void)state;
	text = printed(page, false, &next, &n);
	assert_int_equal(n, 2);
	assert_int_equal(next, 12);
	assert_string_equal(text, "2025-11-25T22:30:01.123Z INFO helloworld/hw1 fastpath: hello from hw1\n"
				  "2025-11-25T22:30:02.005Z WARN pcn-broker broker: BROKER-X: y\n");
	free(text);
}

static void test_print_json(void **state)
{
	uint64_t next = 0;
	char *text;
	int n;

	(void)state;
	text = printed(page, true, &next, &n);
	assert_int_equal(n, 2);
	/* One object per line, as the broker sent it. */
	assert_non_null(strstr(text, "{\"seq\":10,\"time\":1764109801123,\"level\":\"INFO\""));
	assert_non_null(strstr(text, "\"message\":\"BROKER-X: y\"}\n"));
	free(text);
}

static void test_print_refuses_other_bodies(void **state)
{
	static const char *const bad[] = { "", "[]", "{\"lines\": []}", "{\"next\": 3}", "not json",
					   "{\"next\": -1, \"lines\": []}" };
	uint64_t next = 77;
	char *text;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = printed(bad[i], false, &next, &n);
		assert_int_equal(n, -EINVAL);
		assert_int_equal(next, 77);
		assert_string_equal(text, "");
		free(text);
	}
	text = printed("{\"next\": 5, \"lines\": []}", false, &next, &n);
	assert_int_equal(n, 0);
	assert_int_equal(next, 5);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_missing_service_value),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_print_text),
		cmocka_unit_test(test_print_json),
		cmocka_unit_test(test_print_refuses_other_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

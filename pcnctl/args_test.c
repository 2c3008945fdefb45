/* Unit tests of pcnctl's translation: words -> method, path, body. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/* One command line and the request it must become (method NULL: usage error,
 * and err must contain want_err). */
struct tcase {
	const char *line;
	const char *method;
	const char *path;
	const char *body;
	const char *want_err;
};

/* A command that must translate, and one that must be refused. */
#define OK(line, method, path, body) { line, method, path, body, NULL }
#define BAD(line, err) { line, NULL, NULL, NULL, err }

static const struct tcase cases[] = {
	/* The examples of the README and of Polycube's API. */
	OK("helloworld add hw1 type=XDP_DRV", "POST", "helloworld/hw1/", "{\"type\":\"XDP_DRV\"}"),
	OK("hw1 ports add port1 peer=veth1", "POST", "hw1/ports/port1/", "{\"peer\":\"veth1\"}"),
	OK("hw1 set action=FORWARD", "PATCH", "hw1/action/", "\"FORWARD\""),
	OK("hw1 set a=1 b=2", "PATCH", "hw1/", "{\"a\":\"1\",\"b\":\"2\"}"),
	OK("hw1 ports port1 set peer=veth2", "PATCH", "hw1/ports/port1/peer/", "\"veth2\""),
	OK("hw1 show", "GET", "hw1/", NULL),
	OK("hw1 ports show", "GET", "hw1/ports/", NULL),
	OK("hw1 action show", "GET", "hw1/action/", NULL),
	OK("hw1 ports show port1", "GET", "hw1/ports/port1/", NULL),
	OK("hw1 del", "DELETE", "hw1/", NULL),
	/* polycubectl's action with input (sent once the broker says it is one). */
	OK("fw1 chain INGRESS append l4proto=ICMP action=FORWARD", "POST", "fw1/chain/INGRESS/append/",
	   "{\"l4proto\":\"ICMP\",\"action\":\"FORWARD\"}"),
	OK("helloworld del hw1", "DELETE", "helloworld/hw1/", NULL),
	OK("hw1 ports del port1", "DELETE", "hw1/ports/port1/", NULL),
	OK("r1 route add 10.0.1.0/24 0.0.0.0 interface=p1", "POST", "r1/route/10.0.1.0%2F24/0.0.0.0/",
	  "{\"interface\":\"p1\"}"),
	OK("r1 route del 10.0.1.0/24 0.0.0.0", "DELETE", "r1/route/10.0.1.0%2F24/0.0.0.0/", NULL),
	OK("connect br1:port1 veth1", "POST", "connect/",
	  "{\"peer1\":\"br1:port1\",\"peer2\":\"veth1\"}"),
	OK("disconnect br1:port1 veth1", "POST", "disconnect/",
	  "{\"peer1\":\"br1:port1\",\"peer2\":\"veth1\"}"),
	OK("attach fw0 r1:port2", "POST", "attach/", "{\"cube\":\"fw0\",\"port\":\"r1:port2\"}"),
	OK("attach fw0 r1:port2 position=first", "POST", "attach/",
	  "{\"cube\":\"fw0\",\"port\":\"r1:port2\",\"position\":\"first\"}"),
	OK("attach fw0 r1:port2 after=nat0", "POST", "attach/",
	  "{\"cube\":\"fw0\",\"port\":\"r1:port2\",\"after\":\"nat0\"}"),
	OK("detach fw0 r1:port2", "POST", "detach/", "{\"cube\":\"fw0\",\"port\":\"r1:port2\"}"),
	OK("cubes", "GET", "cubes/", NULL),
	OK("services", "GET", "services/", NULL),
	OK("services show helloworld", "GET", "services/helloworld/", NULL),
	OK("services helloworld", "GET", "services/helloworld/", NULL),
	OK("topology", "GET", "topology/", NULL),
	OK("netdevs", "GET", "netdevs/", NULL),
	OK("version", "GET", "version/", NULL),
	/* Words that are not verbs are path words; no verb means show. */
	OK("hw1", "GET", "hw1/", NULL),
	OK("hw1 ports port1", "GET", "hw1/ports/port1/", NULL),
	OK("br1 fdb flush add", "POST", "br1/fdb/flush/", "{}"),
	OK("helloworld add hw1", "POST", "helloworld/hw1/", "{}"),
	/* Only the first verb is one; later verb-like words are keys or values. */
	OK("hw1 ports add show", "POST", "hw1/ports/show/", "{}"),
	OK("hw1 set note=a=b", "PATCH", "hw1/note/", "\"a=b\""),
	/* Escaping of every segment, path words included. */
	OK("my\\ cube show", "GET", "my%20cube/", NULL),
	OK("hw1 ports add p%1 peer=x", "POST", "hw1/ports/p%251/", "{\"peer\":\"x\"}"),
	OK("hw1 set desc=\"quoted\"", "PATCH", "hw1/desc/", "\"\\\"quoted\\\"\""),
	/* Help, with "?" anywhere. */
	OK("hw1 ?", "GET", "hw1/?help", NULL),
	OK("? hw1 ports", "GET", "hw1/ports/?help", NULL),
	OK("hw1 ports add ?", "GET", "hw1/ports/?help", NULL),
	OK("hw1 ports show port1 ?", "GET", "hw1/ports/port1/?help", NULL),
	OK("hw1 set action=FLY ?", "GET", "hw1/?help", NULL),
	/* Usage errors. */
	BAD("add hw1", "needs a path"),
	BAD("show", "needs a path"),
	BAD("set a=1", "needs a path"),
	BAD("hw1 show action=", "value is missing"),
	BAD("connect a b x=", "value is missing"),
	BAD("hw1 set =FORWARD", "name is missing"),
	BAD("hw1 set", "at least one"),
	BAD("hw1 set port1 peer=x", "k=v pairs only"),
	BAD("hw1 set a=1 a=2", "given twice"),
	BAD("hw1 action=FORWARD", "after a verb"),
	BAD("fw1 chain INGRESS append l4proto=ICMP x", "after a verb"),
	BAD("hw1 show a=1", "show takes no k=v"),
	BAD("hw1 del force=1", "del takes no k=v"),
	BAD("connect br1:port1", "usage: pcnctl connect <peer1> <peer2>"),
	BAD("connect a b c", "usage: pcnctl connect"),
	BAD("connect a b x=1", "takes no k=v"),
	BAD("attach fw0", "usage: pcnctl attach <cube> <port>"),
	BAD("attach fw0 r1:p cube=x", "plain words"),
	BAD("detach fw0 r1:p position=first", "takes no k=v"),
};

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

static void test_translation_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct pcnctl_request *req = NULL;
		char store[256], err[256] = "";
		char *words[32];
		int n = split_line(c->line, words, 32, store);
		int rc = pcnctl_request_create(&req, n, words, err, sizeof(err));

		print_message("case: pcnctl %s\n", c->line);
		if (!c->method) {
			assert_int_equal(rc, -EINVAL);
			assert_null(req);
			if (!strstr(err, c->want_err))
				fail_msg("error '%s' lacks '%s'", err, c->want_err);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_non_null(req);
		assert_false(req->local_help);
		assert_string_equal(req->method, c->method);
		assert_string_equal(req->path, c->path);
		if (c->body)
			assert_string_equal(req->body, c->body);
		else
			assert_null(req->body);
		assert_int_equal(req->help, strstr(c->path, "?help") != NULL);
		pcnctl_request_destroy(req);
	}
}

static void test_help_words(void **state)
{
	char *w[] = { "hw1", "ports", "add", "?" };
	struct pcnctl_request *req = NULL;

	assert_int_equal(pcnctl_request_create(&req, 4, w, NULL, 0), 0);
	assert_string_equal(req->words, "hw1 ports");
	pcnctl_request_destroy(req);
}

static void test_local_help(void **state)
{
	char *cases_local[][2] = { { "?", NULL },       { "connect", "?" }, { "?", "add" },
				   { "services", "?" }, { "?", "cubes" },   { "attach", "?" } };

	for (size_t i = 0; i < sizeof(cases_local) / sizeof(cases_local[0]); i++) {
		struct pcnctl_request *req = NULL;
		int n = cases_local[i][1] ? 2 : 1;

		assert_int_equal(pcnctl_request_create(&req, n, cases_local[i], NULL, 0), 0);
		assert_true(req->local_help);
		assert_null(req->method);
		pcnctl_request_destroy(req);
	}
}

/* polycubectl's "k=<<<TEXT": a pair with no value after add, set or an
 * action's path words; main.c reads the body from stdin. */
static void test_body_from_stdin(void **state)
{
	static const struct {
		const char *line, *method, *path;
		bool from_stdin;
	} c[] = {
		{ "fw1 chain INGRESS batch rules=", "POST", "fw1/chain/INGRESS/batch/", true },
		{ "hw1 set action=", "PATCH", "hw1/", true },
		{ "hw1 ports add p1 peer=", "POST", "hw1/ports/p1/", true },
		{ "fw1 chain INGRESS append l4proto=ICMP", "POST", "fw1/chain/INGRESS/append/", false },
		{ "hw1 set action=X", "PATCH", "hw1/action/", false },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct pcnctl_request *req = NULL;
		char store[256], *words[32];
		int n = split_line(c[i].line, words, 32, store);

		print_message("case: pcnctl %s\n", c[i].line);
		assert_int_equal(pcnctl_request_create(&req, n, words, NULL, 0), 0);
		assert_string_equal(req->method, c[i].method);
		assert_string_equal(req->path, c[i].path);
		assert_int_equal(req->body_from_stdin, c[i].from_stdin);
		pcnctl_request_destroy(req);
	}
}

static void test_no_words(void **state)
{
	struct pcnctl_request *req = NULL;
	char err[64];

	assert_int_equal(pcnctl_request_create(&req, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_null(req);
	pcnctl_request_destroy(NULL);
}

static void test_escape(void **state)
{
	char *s = pcnctl_escape_segment("a/b c:d~e_f.g-h");

	assert_string_equal(s, "a%2Fb%20c%3Ad~e_f.g-h");
	free(s);
	s = pcnctl_escape_segment("\xc3\xa9");
	assert_string_equal(s, "%C3%A9");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translation_table),
		cmocka_unit_test(test_help_words),
		cmocka_unit_test(test_local_help),
		cmocka_unit_test(test_body_from_stdin),
		cmocka_unit_test(test_no_words),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of pcnctl's output: what a user sees for a given JSON answer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

enum what { TEXT, JSON, HELP, ERROR };

/* Runs one printer on the JSON text and returns what it wrote (malloc'ed). */
static char *render(enum what w, const char *json, long status)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *v = NULL;

	assert_non_null(f);
	if (w != ERROR) {
		v = json_loads(json, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
	}
	switch (w) {
	case TEXT: pcnctl_print_text(f, v); break;
	case JSON: pcnctl_print_json(f, v); break;
	case HELP: pcnctl_print_help(f, v, "hw1"); break;
	case ERROR: pcnctl_print_error(f, status, json); break;
	}
	fclose(f);
	json_decref(v);
	return buf;
}

static void expect(enum what w, const char *json, long status, const char *want)
{
	char *got = render(w, json, status);

	if (strcmp(got, want))
		fail_msg("for %s\n--- got:\n%s--- want:\n%s---", json, got, want);
	free(got);
}

static void test_scalars(void **state)
{
	expect(TEXT, "\"FORWARD\"", 0, "FORWARD\n");
	expect(TEXT, "30", 0, "30\n");
	expect(TEXT, "true", 0, "true\n");
	expect(TEXT, "{\"a\": \"\", \"b\": null, \"c\": \" x\", \"d\": 1.5}", 0,
	       "a: \"\"\nb: null\nc: \" x\"\nd: 1.5\n");
	expect(TEXT, "{\"s\": \"two\\nlines\"}", 0, "s: \"two\\nlines\"\n");
}

static void test_empty(void **state)
{
	expect(TEXT, "{}", 0, "");
	expect(TEXT, "[]", 0, "");
	expect(TEXT, "{\"ports\": [], \"opts\": {}}", 0, "ports: []\nopts: {}\n");
}

/* An instance as the broker returns it: nested container, a table of ports. */
static void test_instance(void **state)
{
	expect(TEXT,
	       "{\"name\": \"hw1\", \"type\": \"TC\", \"action\": \"DROP\","
	       " \"stats\": {\"pkts\": 12, \"bytes\": 840},"
	       " \"ports\": [{\"name\": \"port1\", \"status\": \"UP\", \"peer\": \"veth1\"},"
	       "             {\"name\": \"p2\", \"status\": \"DOWN\"}]}",
	       0,
	       "name: hw1\n"
	       "type: TC\n"
	       "action: DROP\n"
	       "stats:\n"
	       "  pkts: 12\n"
	       "  bytes: 840\n"
	       "ports:\n"
	       "  name   status  peer\n"
	       "  port1  UP      veth1\n"
	       "  p2     DOWN\n");
}

/* Columns come from every row, in order of first appearance. */
static void test_table_columns(void **state)
{
	expect(TEXT, "[{\"a\": 1}, {\"b\": \"long value\", \"a\": 22}]", 0,
	       "a   b\n"
	       "1\n"
	       "22  long value\n");
}

/* GET /cubes: {"svc": [instances]} — instances with ports are not flat. */
static void test_cubes(void **state)
{
	expect(TEXT,
	       "{\"helloworld\": [{\"name\": \"hw1\", \"ports\": [{\"name\": \"p1\"}]},"
	       "                 {\"name\": \"hw2\", \"tags\": [\"a\", \"b\"]}],"
	       " \"bridge\": [{\"name\": \"br1\", \"type\": \"TC\"}]}",
	       0,
	       "helloworld:\n"
	       "  - name: hw1\n"
	       "    ports:\n"
	       "      name\n"
	       "      p1\n"
	       "  - name: hw2\n"
	       "    tags: [a, b]\n"
	       "bridge:\n"
	       "  name  type\n"
	       "  br1   TC\n");
}

static void test_mixed_list(void **state)
{
	expect(TEXT, "[\"x\", {}, [1]]", 0, "- x\n- {}\n-\n  - 1\n");
}

static void test_json(void **state)
{
	expect(JSON, "{\"b\":1,\"a\":[\"x\"]}", 0, "{\n  \"b\": 1,\n  \"a\": [\n    \"x\"\n  ]\n}\n");
	expect(JSON, "\"FORWARD\"", 0, "\"FORWARD\"\n");
}

static void test_errors(void **state)
{
	expect(ERROR,
	       "{\"ietf-restconf:errors\": {\"error\": [{\"error-type\": \"application\","
	       " \"error-tag\": \"invalid-value\", \"error-path\": \"/helloworld/hw1/action\","
	       " \"error-message\": \"\\\"FLY\\\" is not one of DROP, SLOWPATH, FORWARD\"}]}}",
	       400,
	       "Error: \"FLY\" is not one of DROP, SLOWPATH, FORWARD\n"
	       "  at /helloworld/hw1/action\n");
	expect(ERROR,
	       "{\"ietf-restconf:errors\": {\"error\": [{\"error-tag\": \"data-missing\"},"
	       " {\"error-message\": \"second\"}]}}",
	       404, "Error: data-missing\nError: second\n");
	expect(ERROR, "", 503, "Error: HTTP 503 Service Unavailable\n");
	expect(ERROR, "<html>oops\nmore</html>", 502, "Error: HTTP 502: <html>oops\n");
	expect(ERROR, "{\"other\": 1}", 404, "Error: HTTP 404 Not Found: {\"other\": 1}\n");
}

static const char *help_json =
	"[{\"name\": \"name\", \"kind\": \"leaf\", \"type\": \"string\", \"config\": true,"
	"  \"init-only\": true, \"description\": \"Name of the cube\"},"
	" {\"name\": \"uuid\", \"kind\": \"leaf\", \"type\": \"string\", \"config\": false},"
	" {\"name\": \"action\", \"kind\": \"leaf\", \"type\": \"enumeration\", \"config\": true,"
	"  \"enum\": [\"DROP\", \"SLOWPATH\", \"FORWARD\"], \"default\": \"DROP\","
	"  \"description\": \"What to do with packets\"},"
	" {\"name\": \"ports\", \"kind\": \"list\", \"keys\": [\"name\"], \"config\": true},"
	" {\"name\": \"reset\", \"kind\": \"action\"}]";

static void test_help(void **state)
{
	expect(HELP, help_json, 0,
	       "NAME    KIND         TYPE                   ACCESS      DEFAULT  DESCRIPTION\n"
	       "name    leaf         string                 init-only            Name of the cube\n"
	       "uuid    leaf         string                 read-only\n"
	       "action  leaf         DROP|SLOWPATH|FORWARD  read-write  DROP     What to do with packets\n"
	       "ports   list <name>                         read-write\n"
	       "reset   action\n"
	       "\n"
	       "Commands:\n"
	       "  pcnctl hw1 show\n"
	       "  pcnctl hw1 set <leaf>=<value> ...\n"
	       "  pcnctl hw1 ports add <name> [<leaf>=<value> ...]\n"
	       "  pcnctl hw1 ports del <name>\n"
	       "  pcnctl hw1 ports show [<name>]\n"
	       "  pcnctl hw1 reset add [<input>=<value> ...]\n");
}

/* The object form: the node is itself a list, and the broker names the verbs. */
static void test_help_list_node(void **state)
{
	expect(HELP,
	       "{\"kind\": \"list\", \"keys\": [\"name\"], \"description\": \"Ports\","
	       " \"verbs\": [\"add\", \"del\", \"show\"],"
	       " \"children\": [{\"name\": \"peer\", \"kind\": \"leaf\", \"type\": \"string\"}]}",
	       0,
	       "Ports\n"
	       "\n"
	       "NAME  KIND  TYPE    ACCESS      DEFAULT  DESCRIPTION\n"
	       "peer  leaf  string  read-write\n"
	       "\n"
	       "Commands:\n"
	       "  pcnctl hw1 add <name> [<leaf>=<value> ...]\n"
	       "  pcnctl hw1 del <name>\n"
	       "  pcnctl hw1 show [<name>]\n"
	       "  pcnctl hw1 <name> set <leaf>=<value> ...\n"
	       "\n"
	       "Verbs allowed here: add, del, show\n");
}

/* Key leaves are marked, kinds come in any case; an array alone does not say
 * whether the node is a list or an entry, so no list commands are guessed. */
static void test_help_keys_marked(void **state)
{
	expect(HELP,
	       "[{\"name\": \"name\", \"kind\": \"LEAF\", \"type\": \"string\", \"key\": true},"
	       " {\"name\": \"peer\", \"kind\": \"Leaf\", \"type\": \"string\"},"
	       " {\"name\": \"flush\", \"kind\": \"rpc\"}]",
	       0,
	       "NAME   KIND  TYPE    ACCESS      DEFAULT  DESCRIPTION\n"
	       "name   LEAF  string  key\n"
	       "peer   Leaf  string  read-write\n"
	       "flush  rpc\n"
	       "\n"
	       "Commands:\n"
	       "  pcnctl hw1 show\n"
	       "  pcnctl hw1 set <leaf>=<value> ...\n"
	       "  pcnctl hw1 flush add [<input>=<value> ...]\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_instance),
		cmocka_unit_test(test_table_columns),
		cmocka_unit_test(test_cubes),
		cmocka_unit_test(test_mixed_list),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_help_list_node),
		cmocka_unit_test(test_help_keys_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of pcnctl's completion against a small OpenAPI document shaped
 * as the broker writes it (broker/model/openapi.c): the words offered at
 * each point of a command line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "completion.h"

#define LEAF(t, verbs) "{" verbs "\"get\":{\"responses\":{\"200\":{\"content\":{\"application/json\":{\"schema\":" t "}}}}}}"
#define REF "{\"$ref\":\"#/components/schemas/x\"}"
#define PATCH "\"patch\":{},\"delete\":{},"

static const char *doc =
	"{\"paths\":{"
	"\"/fw\":" LEAF("{\"type\":\"array\",\"items\":{\"type\":\"object\"}}", "") ","
	"\"/fw/{fw_name}\":" LEAF(REF, "\"post\":{}," PATCH) ","
	"\"/fw/{fw_name}/name\":" LEAF("{\"type\":\"string\"}", "") ","
	"\"/fw/{fw_name}/type\":" LEAF("{\"type\":\"string\",\"enum\":[\"TC\",\"XDP_SKB\"]}", PATCH) ","
	"\"/fw/{fw_name}/enabled\":" LEAF("{\"anyOf\":[{\"type\":\"boolean\"}]}", PATCH) ","
	"\"/fw/{fw_name}/stats\":" LEAF(REF, "") ","
	"\"/fw/{fw_name}/stats/pkts\":" LEAF("{\"type\":\"integer\",\"readOnly\":true}", "") ","
	"\"/fw/{fw_name}/ports\":" LEAF("{\"type\":\"array\",\"items\":" REF "}", "\"post\":{}," PATCH) ","
	"\"/fw/{fw_name}/ports/{ports_name}\":" LEAF(REF, "\"post\":{}," PATCH) ","
	"\"/fw/{fw_name}/ports/{ports_name}/name\":" LEAF("{\"type\":\"string\"}", "") ","
	"\"/fw/{fw_name}/ports/{ports_name}/peer\":" LEAF("{\"type\":\"string\"}", PATCH) ","
	"\"/fw/{fw_name}/reset\":{\"post\":{\"operationId\":\"action_fw_reset\",\"requestBody\":{\"content\":"
	"{\"application/json\":{\"schema\":{\"type\":\"object\",\"properties\":{\"force\":{\"type\":\"boolean\"}}}}}}}},"
	"\"/services\":{}, \"/cubes\":{}"
	"}}";

static json_t *fake_get(void *arg, const char *path)
{
	int *calls = arg;

	(*calls)++;
	if (!strcmp(path, "/fw/f1/ports"))
		return json_loads("[{\"name\":\"p1\",\"peer\":\"veth0\"},{\"name\":\"p2\"}]", 0, NULL);
	if (!strcmp(path, "/netdevs"))
		return json_loads("[{\"name\":\"eth0\"},{\"name\":\"veth0\"}]", 0, NULL);
	return NULL;
}

/* The candidates for a line ("f1 ports" with cur) as one "a b c" string. */
static char *complete(const char *line, const char *cur)
{
	json_t *api = json_loads(doc, 0, NULL), *cubes = json_loads("{\"fw\":[{\"name\":\"f1\"}]}", 0, NULL), *out, *v;
	char *copy = strdup(line), *words[16], *save = NULL, *s = calloc(1, 4096);
	int n = 0, calls = 0;
	size_t i;

	assert_non_null(api);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	out = pcnctl_complete(api, cubes, fake_get, &calls, words, n, cur);
	json_array_foreach(out, i, v) {
		strcat(s, i ? " " : "");
		strcat(s, json_string_value(v));
	}
	json_decref(out);
	json_decref(api);
	json_decref(cubes);
	free(copy);
	return s;
}

static void expect(const char *line, const char *cur, const char *want)
{
	char *got = complete(line, cur);

	if (strcmp(got, want))
		fail_msg("'%s' + '%s': got '%s', want '%s'", line, cur, got, want);
	free(got);
}

/* Contains each space-separated word of want, and none of unwanted. */
static void expect_has(const char *line, const char *cur, const char *want, const char *unwanted)
{
	char *got = complete(line, cur), buf[512], *save = NULL, pad[4200];

	snprintf(pad, sizeof(pad), " %s ", got);
	snprintf(buf, sizeof(buf), "%s", want);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char needle[256];

		snprintf(needle, sizeof(needle), " %s ", w);
		if (!strstr(pad, needle))
			fail_msg("'%s' + '%s': '%s' lacks %s", line, cur, got, w);
	}
	snprintf(buf, sizeof(buf), "%s", unwanted);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char needle[256];

		snprintf(needle, sizeof(needle), " %s ", w);
		if (strstr(pad, needle))
			fail_msg("'%s' + '%s': '%s' has %s", line, cur, got, w);
	}
	free(got);
}

static void test_first_word(void **state)
{
	(void)state;
	expect_has("", "", "connect attach cubes services fw f1 logs", "services/");
	expect("", "f", "fw f1");
	expect("services", "", "fw");
	expect("cubes", "", "f1");
}

static void test_service(void **state)
{
	(void)state;
	expect("fw", "", "add");
	/* fw add NAME k=v: the instance's writable leaves only. */
	expect("fw add f2", "", "type= enabled=");
	expect("fw add f2", "type=X", "type=XDP_SKB");
}

static void test_inside_instance(void **state)
{
	(void)state;
	expect_has("f1", "", "type enabled stats ports reset name show set del", "pkts peer");
	expect("f1", "st", "stats");
	expect("f1 stats", "", "pkts show");
	/* A list: its live keys, then add. */
	expect("f1 ports", "", "p1 p2 add show set del");
	expect("f1 ports", "p", "p1 p2");
	expect_has("f1 ports p1", "", "name peer show set del", "p1 add");
	expect("f1 nosuch", "", "");
}

static void test_values(void **state)
{
	(void)state;
	expect("f1 set", "", "type= enabled=");
	expect("f1 set", "type=", "type=TC type=XDP_SKB");
	expect("f1 set", "enabled=t", "enabled=true");
	expect("f1 set type=TC", "en", "enabled=");
	expect("f1 ports p1 set", "", "peer=");
	expect("f1 ports add p3", "", "peer=");
	/* An action: its input. */
	expect("f1 reset", "", "force=");
	expect("f1 reset", "force=", "force=true force=false");
}

static void test_wires(void **state)
{
	(void)state;
	/* connect <cube:port> <netdev|cube:port>: the instance, then its ports. */
	expect("connect", "", "f1:");
	expect("connect", "f1:", "f1:p1 f1:p2");
	expect("connect f1:p1", "", "f1: eth0 veth0");
	expect("disconnect f1:p1", "v", "veth0");
	expect("attach", "", "f1");
	expect("attach f1", "", "f1: eth0 veth0");
	expect("attach f1 eth0", "", "position=auto position=first position=last before= after=");
	expect("attach f1 eth0", "before=", "before=f1");
	expect("detach f1 eth0", "", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_word),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_inside_instance),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_wires),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

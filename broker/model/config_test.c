/* Write requests: what a user's POST/PUT/PATCH/DELETE does to an instance,
 * and the errors they get back, with the current tree left untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyang/libyang.h>

#include "model.h"
#include "model_testutil.h"

struct fx {
	struct broker_models *m;
	struct lyd_node *hw1; /* helloworld hw1 with ports p1 (peer veth1) and p2 */
	struct lyd_node *r1;  /* router-test r1 with port p1 */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct broker_error err;

	f->m = mt_models();
	if (mt_apply(f->m, "/helloworld/hw1/", BROKER_POST, NULL,
		     "{\"ports\":[{\"name\":\"p1\",\"peer\":\"veth1\"},{\"name\":\"p2\"}]}", &f->hw1, &err))
		fail_msg("setup hw1: %s", err.message);
	if (mt_apply(f->m, "/router-test/r1", BROKER_POST, NULL, "{\"ports\":[{\"name\":\"p1\"}]}", &f->r1, &err))
		fail_msg("setup r1: %s", err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lyd_free_all(f->hw1);
	lyd_free_all(f->r1);
	broker_models_destroy(f->m);
	free(f);
	return 0;
}

/* Applies a request that must fail with status; checks cur is unchanged. */
static struct broker_error expect_fail(struct broker_models *m, const char *path, int method,
				       const struct lyd_node *cur, const char *body, int status)
{
	struct broker_error err = { 0 };
	struct lyd_node *out = (struct lyd_node *)0x1;
	char *before = cur ? mt_print(cur) : NULL, *after;
	int rc = mt_apply(m, path, method, cur, body, &out, &err);

	if (rc == 0)
		fail_msg("%s %s: succeeded, wanted %d", path, body ? body : "", status);
	if (err.http_status != status)
		fail_msg("%s %s: got %d (%s), wanted %d", path, body ? body : "", err.http_status, err.message, status);
	assert_ptr_equal(out, (struct lyd_node *)0x1);
	if (cur) {
		after = mt_print(cur);
		assert_string_equal(before, after);
		free(after);
		/* libyang keeps every error (LY_LOSTORE): none may be left behind. */
		assert_null(ly_err_first(LYD_CTX(cur)));
	}
	free(before);
	return err;
}

static struct lyd_node *expect_ok(struct broker_models *m, const char *path, int method, const struct lyd_node *cur,
				  const char *body)
{
	struct broker_error err = { 0 };
	struct lyd_node *out = NULL;

	if (mt_apply(m, path, method, cur, body, &out, &err))
		fail_msg("%s %s: %d %s (%s)", path, body ? body : "", err.http_status, err.message, err.path);
	return out;
}

static void test_create_defaults(void **state)
{
	struct fx *f = *state;
	struct lyd_node *hw = expect_ok(f->m, "/helloworld/hw9", BROKER_POST, NULL, NULL);
	char *s = mt_read(f->m, "/helloworld/hw9", hw);

	assert_string_equal(s, "{\"name\":\"hw9\",\"type\":\"TC\",\"loglevel\":\"INFO\","
			       "\"resume-long-chains\":false,\"action\":\"DROP\"}");
	free(s);
	/* The datastore form keeps explicit values only. */
	s = mt_print(hw);
	assert_string_equal(s, "{\"helloworld:helloworld\":[{\"name\":\"hw9\"}]}");
	free(s);
	assert_string_equal(broker_config_leaf(hw, "type"), "TC");
	lyd_free_all(hw);

	/* A body naming the same key, and module-prefixed members. */
	hw = expect_ok(f->m, "/helloworld/hw8/", BROKER_PUT, NULL,
		       "{\"name\":\"hw8\",\"helloworld:type\":\"XDP_DRV\",\"loglevel\":\"DEBUG\"}");
	assert_string_equal(broker_config_leaf(hw, "type"), "XDP_DRV");
	lyd_free_all(hw);
}

static void test_duplicate(void **state)
{
	struct fx *f = *state;
	struct broker_error err = expect_fail(f->m, "/helloworld/hw1", BROKER_POST, f->hw1, "{}", 409);

	assert_string_equal(err.tag, "data-exists");
	expect_fail(f->m, "/helloworld/hw1/ports/p1", BROKER_POST, f->hw1, "{}", 409);
}

static void test_patch_leaf(void **state)
{
	struct fx *f = *state;
	struct lyd_node *hw = expect_ok(f->m, "/helloworld/hw1/action", BROKER_PATCH, f->hw1, "\"FORWARD\"");
	char *s = mt_read(f->m, "/helloworld/hw1/action/", hw);

	assert_string_equal(s, "\"FORWARD\"");
	free(s);
	/* The original is not touched. */
	s = mt_read(f->m, "/helloworld/hw1/action", f->hw1);
	assert_string_equal(s, "\"DROP\"");
	free(s);
	lyd_free_all(hw);

	/* PATCH of the instance merges. */
	hw = expect_ok(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"action\":\"SLOWPATH\"}");
	assert_string_equal(broker_config_leaf(hw, "action"), "SLOWPATH");
	assert_string_equal(broker_config_leaf(hw, "ports[name='p1']/peer"), "veth1");
	lyd_free_all(hw);
}

static void test_bad_enum(void **state)
{
	struct fx *f = *state;
	struct broker_error err = expect_fail(f->m, "/helloworld/hw1/action", BROKER_PATCH, f->hw1, "\"FLY\"", 400);

	assert_string_equal(err.message, "\"FLY\" is not one of DROP, SLOWPATH, FORWARD");
	assert_string_equal(err.path, "/helloworld/hw1/action");
	assert_string_equal(err.tag, "invalid-value");
	err = expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"loglevel\":\"LOUD\"}", 400);
	assert_non_null(strstr(err.message, "TRACE, DEBUG, INFO"));
	assert_string_equal(err.path, "/helloworld/hw1/loglevel");
}

static void test_bad_values(void **state)
{
	struct fx *f = *state;
	struct broker_error err;

	err = expect_fail(f->m, "/router-test/r1/router-id", BROKER_PATCH, f->r1, "\"10.0.0.256\"", 400);
	assert_string_equal(err.path, "/router-test/r1/router-id");
	err = expect_fail(f->m, "/router-test/r1/mtu", BROKER_PATCH, f->r1, "20", 400);
	assert_non_null(strstr(err.message, "range"));
	expect_fail(f->m, "/router-test/r1/mtu", BROKER_PATCH, f->r1, "\"abc\"", 400);
	expect_fail(f->m, "/router-test/r1/mtu", BROKER_PATCH, f->r1, "{\"x\":1}", 400);
	expect_fail(f->m, "/router-test/r1/enabled", BROKER_PATCH, f->r1, "\"maybe\"", 400);
}

static void test_unknown_member(void **state)
{
	struct fx *f = *state;
	struct broker_error err = expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"colour\":\"red\"}", 400);

	assert_string_equal(err.tag, "unknown-element");
	assert_non_null(strstr(err.message, "colour"));
	assert_string_equal(err.path, "/helloworld/hw1/colour");
	err = expect_fail(f->m, "/helloworld/hw1/ports/p1", BROKER_PATCH, f->hw1, "{\"speed\":1}", 400);
	assert_non_null(strstr(err.message, "speed"));
	assert_non_null(strstr(err.message, "peer"));
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct broker_error err = expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"action\":", 400);

	assert_string_equal(err.tag, "malformed-message");
	expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "not json", 400);
	/* Not an object where one is needed. */
	err = expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "[1,2]", 400);
	assert_string_equal(err.tag, "invalid-value");
	expect_fail(f->m, "/helloworld/hw2", BROKER_POST, NULL, "\"FORWARD\"", 400);
}

static void test_missing_key(void **state)
{
	struct fx *f = *state;
	struct broker_error err;

	/* A route entry without its nexthop key. */
	err = expect_fail(f->m, "/router-test/r1/route", BROKER_POST, f->r1,
			  "[{\"network\":\"10.0.1.0/24\",\"interface\":\"p1\"}]", 400);
	assert_non_null(strstr(err.message, "nexthop"));
	/* A port without a name. */
	expect_fail(f->m, "/helloworld/hw1/ports", BROKER_POST, f->hw1, "[{\"peer\":\"x\"}]", 400);
	/* A mandatory leaf missing. */
	err = expect_fail(f->m, "/router-test/r1/route/10.0.1.0%2F24/0.0.0.0", BROKER_POST, f->r1, "{}", 400);
	assert_non_null(strstr(err.message, "interface"));
}

static void test_init_only(void **state)
{
	struct fx *f = *state;
	struct broker_error err;
	struct lyd_node *hw;

	err = expect_fail(f->m, "/helloworld/hw1/type", BROKER_PATCH, f->hw1, "\"XDP_DRV\"", 400);
	assert_string_equal(err.path, "/helloworld/hw1/type");
	assert_non_null(strstr(err.message, "type"));
	expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"type\":\"XDP_SKB\"}", 400);
	/* Re-stating the same value is no change. */
	hw = expect_ok(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"type\":\"TC\"}");
	lyd_free_all(hw);

	/* An XDP instance: PUT without type would change it to TC. */
	hw = expect_ok(f->m, "/helloworld/x1", BROKER_POST, NULL, "{\"type\":\"XDP_SKB\"}");
	expect_fail(f->m, "/helloworld/x1", BROKER_PUT, hw, "{\"action\":\"FORWARD\"}", 400);
	expect_fail(f->m, "/helloworld/x1/type", BROKER_DELETE, hw, NULL, 400);
	lyd_free_all(hw);
}

static void test_config_false(void **state)
{
	struct fx *f = *state;
	struct broker_error err;

	err = expect_fail(f->m, "/helloworld/hw1/uuid", BROKER_PATCH, f->hw1, "\"0f5f6b6a-8d3c-4f5e-9a51-0c3b9b1d2e3f\"", 405);
	assert_string_equal(err.tag, "operation-not-supported");
	expect_fail(f->m, "/helloworld/hw1/ports/p1/status", BROKER_PATCH, f->hw1, "\"UP\"", 405);
	expect_fail(f->m, "/helloworld/hw1/stats/forwarded", BROKER_PATCH, f->hw1, "3", 405);
	expect_fail(f->m, "/helloworld/hw1/stats", BROKER_DELETE, f->hw1, NULL, 405);
	/* And inside a body. */
	err = expect_fail(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"stats\":{\"forwarded\":3}}", 405);
	assert_string_equal(err.path, "/helloworld/hw1/stats");
}

static void test_leaf_methods(void **state)
{
	struct fx *f = *state;

	expect_fail(f->m, "/helloworld/hw1/action", BROKER_POST, f->hw1, "\"FORWARD\"", 405);
	expect_fail(f->m, "/helloworld/hw1/action", BROKER_PUT, f->hw1, "\"FORWARD\"", 405);
	expect_fail(f->m, "/helloworld/hw1/ports/p1/name", BROKER_DELETE, f->hw1, NULL, 405);
	/* Unset leaf: nothing to delete. */
	expect_fail(f->m, "/helloworld/hw1/action", BROKER_DELETE, f->hw1, NULL, 404);
	expect_fail(f->m, "/helloworld/hw1/ports/p2/peer", BROKER_DELETE, f->hw1, NULL, 404);
}

static void test_delete(void **state)
{
	struct fx *f = *state;
	struct lyd_node *hw;

	expect_fail(f->m, "/helloworld/hw1/ports/p7", BROKER_DELETE, f->hw1, NULL, 404);
	expect_fail(f->m, "/helloworld/hw1/ports/p7", BROKER_PATCH, f->hw1, "{\"peer\":\"x\"}", 404);
	expect_fail(f->m, "/helloworld/hw5", BROKER_DELETE, NULL, NULL, 404);
	expect_fail(f->m, "/helloworld/hw5/action", BROKER_PATCH, NULL, "\"DROP\"", 404);

	hw = expect_ok(f->m, "/helloworld/hw1/ports/p1/", BROKER_DELETE, f->hw1, NULL);
	assert_null(broker_config_leaf(hw, "ports[name='p1']/peer"));
	char *s = mt_read(f->m, "/helloworld/hw1/ports", hw);
	assert_string_equal(s, "[{\"name\":\"p2\"}]");
	free(s);
	lyd_free_all(hw);

	hw = (struct lyd_node *)0x1;
	struct broker_error err;
	assert_int_equal(mt_apply(f->m, "/helloworld/hw1", BROKER_DELETE, f->hw1, NULL, &hw, &err), 0);
	assert_null(hw);
}

static void test_list_post(void **state)
{
	struct fx *f = *state;
	struct lyd_node *r = expect_ok(f->m, "/router-test/r1/route/", BROKER_POST, f->r1,
				       "[{\"network\":\"10.0.1.0/24\",\"nexthop\":\"0.0.0.0\",\"interface\":\"p1\"},"
				       "{\"network\":\"10.0.2.0/24\",\"nexthop\":\"10.0.0.1\",\"interface\":\"p1\",\"pathcost\":\"7\"}]");
	char *s = mt_read(f->m, "/router-test/r1/route", r);

	assert_string_equal(s, "[{\"network\":\"10.0.1.0/24\",\"nexthop\":\"0.0.0.0\",\"interface\":\"p1\",\"pathcost\":1},"
			       "{\"network\":\"10.0.2.0/24\",\"nexthop\":\"10.0.0.1\",\"interface\":\"p1\",\"pathcost\":7}]");
	free(s);
	/* Again: they exist. */
	expect_fail(f->m, "/router-test/r1/route", BROKER_POST, r,
		    "[{\"network\":\"10.0.1.0/24\",\"nexthop\":\"0.0.0.0\",\"interface\":\"p1\"}]", 409);
	/* A leafref to a port that does not exist. */
	struct broker_error err = expect_fail(f->m, "/router-test/r1/route/10.0.3.0%2F24/0.0.0.0", BROKER_POST, r,
					      "{\"interface\":\"p9\"}", 400);
	assert_non_null(strstr(err.message, "p9"));
	/* Entry by its URL, and a leaf below a two-key entry. */
	struct lyd_node *r2 = expect_ok(f->m, "/router-test/r1/route/10.0.1.0%2F24/0.0.0.0/pathcost", BROKER_PATCH, r, "5");
	assert_string_equal(broker_config_leaf(r2, "route[network='10.0.1.0/24'][nexthop='0.0.0.0']/pathcost"), "5");
	lyd_free_all(r2);
	/* One key of two cannot create. */
	expect_fail(f->m, "/router-test/r1/route/10.0.1.0%2F24", BROKER_POST, r, "[]", 400);
	/* ... but deletes what matches. */
	r2 = expect_ok(f->m, "/router-test/r1/route/10.0.1.0%2F24", BROKER_DELETE, r, NULL);
	s = mt_read(f->m, "/router-test/r1/route", r2);
	assert_non_null(strstr(s, "10.0.2.0/24"));
	assert_null(strstr(s, "10.0.1.0/24"));
	free(s);
	lyd_free_all(r2);
	lyd_free_all(r);
}

static void test_key_mismatch(void **state)
{
	struct fx *f = *state;
	struct broker_error err = expect_fail(f->m, "/helloworld/hw1/ports/p1", BROKER_PATCH, f->hw1,
					      "{\"name\":\"p2\",\"peer\":\"x\"}", 400);

	assert_non_null(strstr(err.message, "p2"));
	expect_fail(f->m, "/helloworld/hw3", BROKER_POST, NULL, "{\"name\":\"hw4\"}", 400);
	expect_fail(f->m, "/router-test/r1/route/10.0.1.0%2F24/0.0.0.0", BROKER_POST, f->r1,
		    "{\"nexthop\":\"1.1.1.1\",\"interface\":\"p1\"}", 400);
	/* The same key in the body is fine. */
	struct lyd_node *hw = expect_ok(f->m, "/helloworld/hw1/ports/p1", BROKER_PATCH, f->hw1,
					"{\"name\":\"p1\",\"peer\":\"veth9\"}");
	assert_string_equal(broker_config_leaf(hw, "ports[name='p1']/peer"), "veth9");
	lyd_free_all(hw);
}

static void test_number_coercion(void **state)
{
	struct fx *f = *state;
	struct lyd_node *r;

	expect_fail(f->m, "/router-test/r1/mtu", BROKER_PATCH, f->r1, "30", 400); /* below 68 */
	r = expect_ok(f->m, "/router-test/r1/mtu", BROKER_PATCH, f->r1, "1400");
	assert_string_equal(broker_config_leaf(r, "mtu"), "1400");
	lyd_free_all(r);
	r = expect_ok(f->m, "/router-test/r1/mtu", BROKER_PATCH, f->r1, "\"1400\"");
	assert_string_equal(broker_config_leaf(r, "mtu"), "1400");
	lyd_free_all(r);
	r = expect_ok(f->m, "/router-test/r1", BROKER_PATCH, f->r1, "{\"budget\":30,\"enabled\":\"false\"}");
	assert_string_equal(broker_config_leaf(r, "budget"), "30");
	assert_string_equal(broker_config_leaf(r, "enabled"), "false");
	char *s = mt_read(f->m, "/router-test/r1/budget", r);
	assert_string_equal(s, "30");
	free(s);
	lyd_free_all(r);
	r = expect_ok(f->m, "/router-test/r1", BROKER_PATCH, f->r1, "{\"budget\":\"18446744073709551615\",\"enabled\":true}");
	assert_string_equal(broker_config_leaf(r, "budget"), "18446744073709551615");
	lyd_free_all(r);
}

static void test_leaflist(void **state)
{
	struct fx *f = *state;
	struct lyd_node *r = expect_ok(f->m, "/router-test/r1/tags", BROKER_PUT, f->r1, "[\"a\",\"b\"]");
	char *s = mt_read(f->m, "/router-test/r1/tags", r);

	assert_string_equal(s, "[\"a\",\"b\"]");
	free(s);
	struct lyd_node *r2 = expect_ok(f->m, "/router-test/r1/tags", BROKER_PUT, r, "[\"c\"]");
	s = mt_read(f->m, "/router-test/r1/tags", r2);
	assert_string_equal(s, "[\"c\"]");
	free(s);
	lyd_free_all(r2);
	lyd_free_all(r);
}

static void test_container(void **state)
{
	struct fx *f = *state;
	struct lyd_node *r = expect_ok(f->m, "/router-test/r1/arp", BROKER_PATCH, f->r1, "{\"timeout\":60}");
	char *s = mt_read(f->m, "/router-test/r1/arp", r);

	assert_string_equal(s, "{\"timeout\":60}");
	free(s);
	expect_fail(f->m, "/router-test/r1/arp", BROKER_POST, r, "{\"timeout\":61}", 409);
	struct lyd_node *r2 = expect_ok(f->m, "/router-test/r1/arp", BROKER_DELETE, r, NULL);
	s = mt_read(f->m, "/router-test/r1/arp/timeout", r2);
	assert_string_equal(s, "300");
	free(s);
	lyd_free_all(r2);
	lyd_free_all(r);
}

static void test_not_config(void **state)
{
	struct fx *f = *state;

	expect_fail(f->m, "/router-test/r1/flush", BROKER_POST, f->r1, "{}", 405);
	expect_fail(f->m, "/helloworld", BROKER_POST, NULL, "{}", 405);
}

static void test_transparent(void **state)
{
	struct fx *f = *state;
	struct lyd_node *t = expect_ok(f->m, "/transparent-test/t1", BROKER_POST, NULL, "{\"enabled\":true}");
	char *s = mt_read(f->m, "/transparent-test/t1", t);
	int n = 0;

	assert_string_equal(s, "{\"name\":\"t1\",\"type\":\"TC\",\"loglevel\":\"INFO\","
			       "\"resume-long-chains\":false,\"enabled\":true}");
	free(s);
	assert_int_equal(broker_config_ports(t, NULL, &n), 0); /* no ports: fn never runs */
	expect_fail(f->m, "/transparent-test/t1", BROKER_PATCH, t, "{\"parent\":\"r1:p1\"}", 405);
	expect_fail(f->m, "/transparent-test/t1", BROKER_PATCH, t, "{\"ports\":[]}", 400);
	lyd_free_all(t);
}

/* PATCH changes what exists: below an entry that is not there it is a 404
 * naming the entry, and nothing is created. */
static void test_patch_missing_entry(void **state)
{
	struct fx *f = *state;
	struct broker_error err;
	struct lyd_node *hw;

	err = expect_fail(f->m, "/helloworld/hw1/ports/nosuchport/peer", BROKER_PATCH, f->hw1, "\"veth9\"", 404);
	assert_string_equal(err.tag, "data-missing");
	assert_string_equal(err.path, "/helloworld/hw1/ports/nosuchport");
	err = expect_fail(f->m, "/router-test/r1/route/10.0.9.0%2F24/0.0.0.0/pathcost", BROKER_PATCH, f->r1, "3",
			  404);
	/* broker_model_rest_path does not escape a key's '/'. */
	assert_non_null(strstr(err.path, "/router-test/r1/route/10.0.9.0"));
	assert_non_null(strstr(err.message, "does not exist"));
	/* A key is not PATCHed: another value made a second entry. */
	expect_fail(f->m, "/helloworld/hw1/ports/p1/name", BROKER_PATCH, f->hw1, "\"p9\"", 405);
	/* An existing entry's leaf, and a whole list merged, still work. */
	hw = expect_ok(f->m, "/helloworld/hw1/ports/p2/peer", BROKER_PATCH, f->hw1, "\"veth2\"");
	assert_string_equal(broker_config_leaf(hw, "ports[name='p2']/peer"), "veth2");
	lyd_free_all(hw);
	hw = expect_ok(f->m, "/helloworld/hw1/ports", BROKER_PATCH, f->hw1, "[{\"name\":\"p3\"}]");
	assert_non_null(broker_config_leaf(hw, "ports[name='p3']/name"));
	lyd_free_all(hw);
}

/* Enum values in any case take the model's spelling, in bodies, bare leaf
 * values, leaf-lists, unions, nested lists and list keys in the URL; two
 * enums differing only in case leave the value as given. */
static void test_enum_case(void **state)
{
	struct fx *f = *state;
	struct broker_error err = { 0 };
	struct lyd_node *e, *e2;
	char *text = mt_read_file(CUBEMESH_TESTDATA_DIR "/enum-test.yang"), *s;

	assert_non_null(text);
	if (broker_models_add(f->m, "enum-test", text, &err))
		fail_msg("adding enum-test: %s", err.message);
	free(text);
	e = expect_ok(f->m, "/enum-test/e1", BROKER_POST, NULL,
		      "{\"capture\":\"bidirectional\",\"limit\":\"unlimited\",\"protos\":[\"tcp\",\"Udp\"],"
		      "\"note\":\"tcp\",\"rule\":[{\"proto\":\"icmp\",\"action\":\"pass\","
		      "\"match\":[{\"dir\":\"in\",\"port\":80}]}]}");
	s = mt_read(f->m, "/enum-test/e1", e);
	assert_non_null(strstr(s, "\"capture\":\"BIDIRECTIONAL\""));
	assert_non_null(strstr(s, "\"limit\":\"UNLIMITED\""));
	assert_non_null(strstr(s, "\"protos\":[\"TCP\",\"UDP\"]"));
	assert_non_null(strstr(s, "\"note\":\"tcp\"")); /* a string is not an enum */
	assert_non_null(strstr(s, "\"rule\":[{\"proto\":\"ICMP\",\"action\":\"PASS\","
				  "\"match\":[{\"dir\":\"IN\",\"port\":80}]}]"));
	free(s);
	/* A bare value, and a key in the URL in another case. */
	e2 = expect_ok(f->m, "/enum-test/e1/capture/", BROKER_PATCH, e, "\"Ingress\"");
	assert_string_equal(broker_config_leaf(e2, "capture"), "INGRESS");
	lyd_free_all(e2);
	e2 = expect_ok(f->m, "/enum-test/e1/rule/icmp/action/", BROKER_PATCH, e, "\"drop\"");
	assert_string_equal(broker_config_leaf(e2, "rule[proto='ICMP']/action"), "DROP");
	s = mt_read(f->m, "/enum-test/e1/rule/Icmp/match/in/80/", e2);
	assert_string_equal(s, "{\"dir\":\"IN\",\"port\":80}");
	free(s);
	lyd_free_all(e2);
	/* An entry created by its key in the URL; the body's key agrees in
	 * any case. */
	e2 = expect_ok(f->m, "/enum-test/e1/rule/udp/", BROKER_POST, e, "{\"proto\":\"uDP\",\"action\":\"Pass\"}");
	assert_string_equal(broker_config_leaf(e2, "rule[proto='UDP']/action"), "PASS");
	lyd_free_all(e2);
	e2 = expect_ok(f->m, "/enum-test/e1/rule/icmp/", BROKER_DELETE, e, NULL);
	assert_null(broker_config_leaf(e2, "rule[proto='ICMP']/action"));
	lyd_free_all(e2);
	/* A union keeps its other members. */
	e2 = expect_ok(f->m, "/enum-test/e1/limit/", BROKER_PATCH, e, "5");
	assert_string_equal(broker_config_leaf(e2, "limit"), "5");
	lyd_free_all(e2);
	/* "up" and "UP" are two enums: "Up" matches both and stays as given. */
	err = expect_fail(f->m, "/enum-test/e1/mode/", BROKER_PATCH, e, "\"Up\"", 400);
	assert_non_null(strstr(err.message, "\"Up\" is not one of up, UP, Down"));
	e2 = expect_ok(f->m, "/enum-test/e1/mode/", BROKER_PATCH, e, "\"UP\"");
	assert_string_equal(broker_config_leaf(e2, "mode"), "UP");
	lyd_free_all(e2);
	e2 = expect_ok(f->m, "/enum-test/e1/mode/", BROKER_PATCH, e, "\"up\"");
	assert_string_equal(broker_config_leaf(e2, "mode"), "up");
	lyd_free_all(e2);
	e2 = expect_ok(f->m, "/enum-test/e1/mode/", BROKER_PATCH, e, "\"DOWN\"");
	assert_string_equal(broker_config_leaf(e2, "mode"), "Down");
	lyd_free_all(e2);
	/* A word that is no enum in any case is still refused. */
	expect_fail(f->m, "/enum-test/e1/capture/", BROKER_PATCH, e, "\"sideways\"", 400);
	/* The shipped models: helloworld's action (a typedef) and the base's
	 * loglevel (a typedef in another module). */
	e2 = expect_ok(f->m, "/helloworld/hw1", BROKER_PATCH, f->hw1, "{\"action\":\"forward\",\"loglevel\":\"debug\"}");
	assert_string_equal(broker_config_leaf(e2, "action"), "FORWARD");
	assert_string_equal(broker_config_leaf(e2, "loglevel"), "DEBUG");
	lyd_free_all(e2);
	lyd_free_all(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_defaults), cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_patch_leaf),      cmocka_unit_test(test_bad_enum),
		cmocka_unit_test(test_bad_values),      cmocka_unit_test(test_unknown_member),
		cmocka_unit_test(test_malformed),       cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_init_only),       cmocka_unit_test(test_config_false),
		cmocka_unit_test(test_leaf_methods),    cmocka_unit_test(test_delete),
		cmocka_unit_test(test_list_post),       cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_number_coercion), cmocka_unit_test(test_leaflist),
		cmocka_unit_test(test_container),       cmocka_unit_test(test_not_config),
		cmocka_unit_test(test_transparent),     cmocka_unit_test(test_enum_case),
		cmocka_unit_test(test_patch_missing_entry),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

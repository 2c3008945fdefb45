/* pbforwarder's rule compiler: the table the fast path scans, from the
 * model's rules. No BPF, no root. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pbforwarder_rules.h"

/* The instance has ports p1 (0) and p2 (1). */
static int ports(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "p1") == 0)
		return 0;
	if (strcmp(name, "p2") == 0)
		return 1;
	return -ENOENT;
}

static struct pbf_compiled cp;
static char err[160];

static int compile(const struct pbf_rule_text *in, size_t n)
{
	err[0] = '\0';
	return pbf_compile(in, n, ports, NULL, &cp, err, sizeof(err));
}

/* Rules come out sorted by id (numerically: 10 after 9), whatever the
 * configuration's order; each leaf set is a flag and its value in the
 * fast path's byte order. */
static void test_sorted_by_id_with_values(void **state)
{
	const struct pbf_rule_text in[] = {
		{ .id = "10", .action = "FORWARD", .out_port = "p2", .src_ip = "10.0.0.1", .dst_ip = "10.0.0.2",
		  .l4_proto = "UDP", .dst_port = "53" },
		{ .id = "9", .src_mac = "02:00:00:00:00:0a", .vlan = "100", .in_port = "p2" },
		{ .id = "4294967295", .action = "SLOWPATH", .dst_mac = "FF:FF:FF:FF:FF:FF", .l4_proto = "TCP",
		  .src_port = "80" },
	};
	const unsigned char mac9[8] = { 0x02, 0, 0, 0, 0, 0x0a, 0, 0 };
	const unsigned char bcast[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0 };
	const struct pbf_rule *r;

	(void)state;
	assert_int_equal(compile(in, 3), 0);
	assert_int_equal(cp.n, 3);
	assert_int_equal(cp.unresolved, 0);

	r = &cp.rules[0];
	assert_int_equal(r->id, 9);
	assert_int_equal(r->flags, PBF_M_SRC_MAC | PBF_M_VLAN | PBF_M_IN_PORT);
	assert_memory_equal(&r->src_mac, mac9, 8);
	assert_int_equal(r->vlan, 100);
	assert_int_equal(r->in_port, 1);
	assert_int_equal(r->action, PBF_ACTION_DROP); /* the model's default */

	r = &cp.rules[1];
	assert_int_equal(r->id, 10);
	assert_int_equal(r->flags, PBF_M_SRC_IP | PBF_M_DST_IP | PBF_M_L4PROTO | PBF_M_DST_PORT);
	assert_int_equal(r->src_ip, inet_addr("10.0.0.1"));
	assert_int_equal(r->dst_ip, inet_addr("10.0.0.2"));
	assert_int_equal(r->l4proto, IPPROTO_UDP);
	assert_int_equal(r->dst_port, htons(53));
	assert_int_equal(r->action, PBF_ACTION_FORWARD);
	assert_int_equal(r->out_port, 1);

	r = &cp.rules[2];
	assert_int_equal(r->id, UINT32_MAX);
	assert_int_equal(r->flags, PBF_M_DST_MAC | PBF_M_L4PROTO | PBF_M_SRC_PORT);
	assert_memory_equal(&r->dst_mac, bcast, 8);
	assert_int_equal(r->l4proto, IPPROTO_TCP);
	assert_int_equal(r->src_port, htons(80));
	assert_int_equal(r->action, PBF_ACTION_SLOWPATH);
}

/* A rule whose in_port is not a port cannot match: left out. A FORWARD to
 * a port that is not there yet still matches, and drops: what it matches
 * must not fall through to a later rule. */
static void test_unknown_ports(void **state)
{
	const struct pbf_rule_text in[] = {
		{ .id = "1", .in_port = "p3", .action = "FORWARD", .out_port = "p1" },
		{ .id = "2", .action = "FORWARD", .out_port = "p3" },
		{ .id = "3", .action = "FORWARD", .out_port = "p1" },
	};

	(void)state;
	assert_int_equal(compile(in, 3), 0);
	assert_int_equal(cp.n, 2);
	assert_int_equal(cp.unresolved, 2);
	assert_int_equal(cp.rules[0].id, 2);
	assert_int_equal(cp.rules[0].action, PBF_ACTION_DROP);
	assert_int_equal(cp.rules[1].id, 3);
	assert_int_equal(cp.rules[1].action, PBF_ACTION_FORWARD);
	assert_int_equal(cp.rules[1].out_port, 0);
}

/* What Polycube refuses, and values the model would not let through. */
static void test_refused(void **state)
{
	static const struct {
		struct pbf_rule_text t;
		const char *why;
	} bad[] = {
		{ { .id = "1", .action = "FORWARD" }, "FORWARD needs out_port" },
		{ { .id = "1", .action = "FORWARD", .out_port = "" }, "FORWARD needs out_port" },
		{ { .id = "1", .dst_port = "53" }, "need l4_proto" },
		{ { .id = "1", .src_port = "53" }, "need l4_proto" },
		{ { .id = "1", .action = "REJECT" }, "unknown action REJECT" },
		{ { .id = "1", .src_mac = "02:00:00:00:00" }, "bad src_mac" },
		{ { .id = "1", .dst_mac = "02:00:00:00:00:00:00" }, "bad dst_mac" },
		{ { .id = "1", .vlan = "4096" }, "vlan 4096" },
		{ { .id = "1", .src_ip = "10.0.0" }, "bad src_ip" },
		{ { .id = "1", .dst_ip = "10.0.0.256" }, "bad dst_ip" },
		{ { .id = "1", .l4_proto = "ICMP" }, "unknown l4_proto" },
		{ { .id = "1", .l4_proto = "UDP", .dst_port = "65536" }, "bad dst_port" },
		{ { .id = "-1" }, "not a number" },
		{ { .id = NULL }, "not a number" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(compile(&bad[i].t, 1), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].why);
	}
}

static void test_at_most_max_rules(void **state)
{
	struct pbf_rule_text *in = calloc(PBF_MAX_RULES + 1, sizeof(*in));
	char (*ids)[12] = calloc(PBF_MAX_RULES + 1, sizeof(*ids));

	(void)state;
	assert_non_null(in);
	assert_non_null(ids);
	for (size_t i = 0; i <= PBF_MAX_RULES; i++) {
		/* Given in decreasing order: sorting has work to do. */
		snprintf(ids[i], sizeof(ids[i]), "%zu", 1000 - i);
		in[i].id = ids[i];
	}
	assert_int_equal(compile(in, PBF_MAX_RULES), 0);
	assert_int_equal(cp.n, PBF_MAX_RULES);
	for (size_t i = 1; i < cp.n; i++)
		assert_true(cp.rules[i - 1].id < cp.rules[i].id);
	assert_int_equal(compile(in, PBF_MAX_RULES + 1), -EINVAL);
	assert_non_null(strstr(err, "at most 256"));
	free(in);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_by_id_with_values),
		cmocka_unit_test(test_unknown_ports),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_at_most_max_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

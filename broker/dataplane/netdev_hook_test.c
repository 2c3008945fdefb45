/* broker_dp_hook_attach/detach (netdev_hook.c) on a real veth pair: a
 * program of ours other than a port's input program (a transparent
 * stack's entries) beside other owners' programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane_int.h"
#include "dp_testutil.h"

#define TCX_EGRESS 47

struct fx {
	char root[256];
	char a[IF_NAMESIZE], b[IF_NAMESIZE];
	int ifa;
	struct broker_dp *dp;
};

static int setup_policy(void **state, const char *tc)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	broker_dp_policy("tc-attach", tc);
	broker_dp_policy("xdp-attach", "direct");
	dpt_root(f->root, sizeof(f->root), "hk");
	dpt_veth_names(f->a, f->b, "hk");
	broker_dp_flush(f->root);
	if (dpt_veth_add(f->a, f->b) < 0 || dpt_sh("ip link set %s up && ip link set %s up", f->a, f->b) != 0)
		return -1;
	f->ifa = (int)if_nametoindex(f->a);
	return f->ifa > 0 && broker_dp_create(&f->dp, f->root) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	return setup_policy(state, "auto");
}

static int setup_clsact(void **state)
{
	return setup_policy(state, "clsact");
}

static int teardown(void **state)
{
	struct fx *f = *state;

	broker_dp_policy("tc-attach", "auto");
	broker_dp_policy("xdp-attach", "auto");
	if (!f)
		return 0;
	dpt_veth_del(f->a);
	broker_dp_destroy(f->dp);
	broker_dp_flush(f->root);
	free(f);
	return 0;
}

/* A program named name returning verdict (XDP or TC); its fd. */
static int prog_named(bool xdp, const char *name, int verdict)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = verdict },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = xdp ? BPF_XDP : 0);

	return bpf_prog_load(xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS, name, "GPL", insns, 2, &opts);
}

static uint32_t xdp_at(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	return bpf_xdp_query(ifindex, 0, &q) == 0 ? q.skb_prog_id : 0;
}

static uint32_t pinned_link_id(const char *path)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(path);

	memset(&info, 0, sizeof(info));
	if (fd < 0)
		return 0;
	bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	return info.id;
}

/* What GET /netdevs shows under cubemesh-attach.t.<dir>.attach, or "". */
static const char *shown(int ifindex, const char *dir, char *buf, size_t len)
{
	json_t *o = broker__hookat_json(ifindex, NULL);
	const char *s = json_string_value(json_object_get(json_object_get(json_object_get(o, "t"), dir), "attach"));

	snprintf(buf, len, "%s", s ? s : "");
	json_decref(o);
	return buf;
}

/* tcx: a link of our own at egress, pinned by its name; attaching again
 * (a restarted broker) swaps the program inside the same link; detach
 * takes the link only, not the netdev input program's. */
static void test_tcx_egress(void **state)
{
	struct fx *f = *state;
	const struct broker_hookat at = { .ifindex = f->ifa, .hook = PCN_HOOK_TC, .egress = true, .pin = "t_eg",
					  .tc_prio = 0xcbf, .name = "pcn_teg", .label = "t" };
	char path[PATH_MAX], buf[16];
	int p1 = prog_named(false, "pcn_teg", TC_ACT_UNSPEC), p2 = prog_named(false, "pcn_teg", TC_ACT_UNSPEC);
	uint32_t id, cnt = 0;

	assert_true(p1 >= 0 && p2 >= 0);
	snprintf(path, sizeof(path), "%s/shared/t_eg", f->root);
	assert_int_equal(broker_dp_hook_attach(f->dp, &at, p1), 0);
	id = pinned_link_id(path);
	assert_true(id > 0);
	assert_string_equal(shown(f->ifa, "egress", buf, sizeof(buf)), "tcx");
	assert_string_equal(shown(f->ifa, "ingress", buf, sizeof(buf)), "");
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_int_equal(broker_dp_hook_attach(f->dp, &at, p2), 0);
	assert_int_equal(pinned_link_id(path), id);
	assert_int_equal(bpf_prog_query(f->ifa, TCX_EGRESS, 0, NULL, NULL, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_false(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
	assert_int_equal(broker_dp_hook_detach(f->dp, &at), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(bpf_prog_query(f->ifa, TCX_EGRESS, 0, NULL, NULL, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_string_equal(shown(f->ifa, "egress", buf, sizeof(buf)), "");
	snprintf(path, sizeof(path), "%s/shared/tcx_%d", f->root, f->ifa);
	assert_true(pinned_link_id(path) > 0);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	close(p1);
	close(p2);
}

/* clsact: the qdisc one of our filters made stays while any filter of
 * ours is on it (the input program's gone, the stack's egress one there),
 * and goes with the last. */
static void test_clsact_shared_qdisc(void **state)
{
	struct fx *f = *state;
	const struct broker_hookat at = { .ifindex = f->ifa, .hook = PCN_HOOK_TC, .egress = true, .pin = "t_eg",
					  .tc_prio = 0xcbf, .name = "pcn_teg", .label = "t" };
	int p = prog_named(false, "pcn_teg", TC_ACT_UNSPEC);
	char buf[16];

	assert_true(p >= 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_int_equal(broker_dp_hook_attach(f->dp, &at, p), 0);
	assert_string_equal(shown(f->ifa, "egress", buf, sizeof(buf)), "clsact");
	assert_true(dpt_sh_grep("pcn_teg", "tc filter show dev %s egress", f->a));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_true(dpt_sh_grep("pcn_teg", "tc filter show dev %s egress", f->a));
	assert_int_equal(broker_dp_hook_detach(f->dp, &at), 0);
	assert_false(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
	close(p);
}

/* XDP: another owner's program is never replaced (-EBUSY naming it) nor
 * detached; ours is replaced atomically, and detach takes only a program
 * of its name. */
static void test_xdp(void **state)
{
	struct fx *f = *state;
	const struct broker_hookat at = { .ifindex = f->ifa, .hook = PCN_HOOK_XDP_SKB, .pin = "t_in",
					  .tc_prio = 0xcbf, .name = "pcn_tin", .label = "t" };
	int theirs = prog_named(true, "other_xdp", XDP_PASS), o1 = prog_named(true, "pcn_tin", XDP_PASS),
	    o2 = prog_named(true, "pcn_tin", XDP_PASS);
	char want[64], buf[16];

	assert_true(theirs >= 0 && o1 >= 0 && o2 >= 0);
	assert_int_equal(bpf_xdp_attach(f->ifa, theirs, XDP_FLAGS_SKB_MODE, NULL), 0);
	assert_int_equal(broker_dp_hook_attach(f->dp, &at, o1), -EBUSY);
	snprintf(want, sizeof(want), "program id %u (other_xdp)", dpt_prog_id(theirs));
	assert_non_null(strstr(broker_netdev_why(f->dp), want));
	assert_int_equal(xdp_at(f->ifa), dpt_prog_id(theirs));
	assert_string_equal(shown(f->ifa, "ingress", buf, sizeof(buf)), "");
	assert_int_equal(broker_dp_hook_detach(f->dp, &at), 0);
	assert_int_equal(xdp_at(f->ifa), dpt_prog_id(theirs));
	assert_int_equal(bpf_xdp_detach(f->ifa, XDP_FLAGS_SKB_MODE, NULL), 0);

	assert_int_equal(broker_dp_hook_attach(f->dp, &at, o1), 0);
	assert_int_equal(xdp_at(f->ifa), dpt_prog_id(o1));
	assert_string_equal(shown(f->ifa, "ingress", buf, sizeof(buf)), "direct");
	assert_int_equal(broker_dp_hook_attach(f->dp, &at, o2), 0);
	assert_int_equal(xdp_at(f->ifa), dpt_prog_id(o2));
	/* The port's input program takes over from ours (both Cubemesh's). */
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 3, 1), 0);
	assert_int_not_equal(xdp_at(f->ifa), dpt_prog_id(o2));
	assert_string_equal(shown(f->ifa, "ingress", buf, sizeof(buf)), "");
	assert_int_equal(broker_dp_hook_detach(f->dp, &at), 0);
	assert_true(xdp_at(f->ifa) > 0); /* not ours to take */
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_int_equal(xdp_at(f->ifa), 0);
	close(theirs);
	close(o1);
	close(o2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcx_egress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clsact_shared_qdisc, setup_clsact, teardown),
		cmocka_unit_test_setup_teardown(test_xdp, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "netdev_hook_test needs root (veths, bpffs)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

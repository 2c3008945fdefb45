/* broker_netdev_attach/detach on a real veth pair, for each hook. The veth
 * and the bpffs root are this process's own and go in teardown, whatever
 * the test did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane_int.h"
#include "dp_testutil.h"

struct fx {
	char root[256];
	char a[IF_NAMESIZE], b[IF_NAMESIZE];
	int ifa;
	struct broker_dp *dp;
	int netdev_in;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[PATH_MAX];

	if (!f)
		return -1;
	*state = f;
	f->netdev_in = -1;
	dpt_root(f->root, sizeof(f->root), "nd");
	dpt_veth_names(f->a, f->b, "nd");
	broker_dp_flush(f->root);
	if (dpt_veth_add(f->a, f->b) < 0 || dpt_sh("ip link set %s up && ip link set %s up", f->a, f->b) != 0)
		return -1;
	f->ifa = if_nametoindex(f->a);
	if (f->ifa <= 0 || broker_dp_create(&f->dp, f->root) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/shared/pcn_netdev_in", f->root);
	f->netdev_in = bpf_obj_get(path);
	return f->netdev_in < 0 ? -1 : 0;
}

/* The tests written for clsact filters and XDP attached directly (the
 * broker's --tc-attach clsact / --xdp-attach direct, and older kernels). */
static int setup_legacy(void **state)
{
	broker_dp_policy("tc-attach", "clsact");
	broker_dp_policy("xdp-attach", "direct");
	return setup(state);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	broker_dp_policy("tc-attach", "auto");
	broker_dp_policy("tc-order", "first");
	broker_dp_policy("xdp-attach", "auto");
	if (!f)
		return 0;
	dpt_veth_del(f->a);
	if (f->netdev_in >= 0)
		close(f->netdev_in);
	broker_dp_destroy(f->dp);
	broker_dp_flush(f->root);
	free(f);
	return 0;
}

/* 1 if pcn_netdev_in has an entry for ifindex with that cube and port. */
static int entry_is(struct fx *f, int ifindex, uint32_t cube, uint32_t port)
{
	struct pcn_netdev_val v;
	uint32_t key = ifindex;

	if (bpf_map_lookup_elem(f->netdev_in, &key, &v) < 0)
		return 0;
	return v.cube_index == cube && v.port == port;
}

static int has_entry(struct fx *f, int ifindex)
{
	struct pcn_netdev_val v;
	uint32_t key = ifindex;

	return bpf_map_lookup_elem(f->netdev_in, &key, &v) == 0;
}

/* Runs the program pinned at path once on a 64-byte frame: its verdict. */
static int run_pinned(const char *path)
{
	uint8_t frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame), .repeat = 1);
	int fd = bpf_obj_get(path), rc;

	if (fd < 0)
		return -errno;
	rc = bpf_prog_test_run_opts(fd, &o);
	close(fd);
	return rc < 0 ? rc : (int)o.retval;
}

static uint32_t pinned_id(const char *path)
{
	int fd = bpf_obj_get(path);
	uint32_t id = fd < 0 ? 0 : dpt_prog_id(fd);

	if (fd >= 0)
		close(fd);
	return id;
}

/* The copy of the input program made for a netdev without an ingress stack
 * jumps straight to its instance's slot: with that slot empty it drops and
 * counts the miss on the instance (the generic program knows no netdev
 * with the test run's ifindex and passes). Once the netdev has a stack the
 * copy is rebuilt (a new program) to go through the stack first; it still
 * knows its instance, whose slot the stack ends in (the test run's ifindex
 * has no stack: straight there). Detach removes it. */
static void test_specialized(void **state)
{
	struct fx *f = *state;
	uint32_t key[4] = { (uint32_t)f->ifa, 0 /* PCN_TDIR_INGRESS */, 0, 0 }, slot = 7;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct pcn_cube_stats st;
	char path[PATH_MAX], tstack[PATH_MAX];
	uint64_t before;
	uint32_t before_id;
	int fd;

	snprintf(path, sizeof(path), "%s/shared/netdev_xdp_%d", f->root, f->ifa);
	snprintf(tstack, sizeof(tstack), "%s/shared/pcn_tstack", f->root);
	assert_int_equal(broker_netdev_stack_changed(f->dp, f->ifa), 0); /* not peered: nothing */
	assert_int_not_equal(access(path, F_OK), 0);

	/* IPv6 autoconfiguration would send frames of its own through the
	 * program and move the counter this test checks. */
	assert_int_equal(dpt_sh("for d in %s %s; do sysctl -qw net.ipv6.conf.$d.disable_ipv6=1 || exit 1; done", f->a,
				f->b), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 5, 0), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(bpf_xdp_query(f->ifa, 0, &q), 0);
	assert_int_equal(q.skb_prog_id, pinned_id(path));
	assert_int_equal(broker_stats_read(f->dp, 5, &st), 0);
	before = st.drop_tail_call;
	assert_int_equal(run_pinned(path), XDP_DROP);
	assert_int_equal(broker_stats_read(f->dp, 5, &st), 0);
	assert_int_equal(st.drop_tail_call, before + 1);

	fd = bpf_obj_get(tstack);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, key, &slot, BPF_ANY), 0);
	before_id = pinned_id(path);
	assert_int_equal(broker_netdev_stack_changed(f->dp, f->ifa), 0);
	assert_int_equal(bpf_xdp_query(f->ifa, 0, &q), 0);
	assert_int_equal(q.skb_prog_id, pinned_id(path));
	assert_int_not_equal(q.skb_prog_id, before_id);
	assert_int_equal(run_pinned(path), XDP_DROP);
	assert_int_equal(bpf_map_delete_elem(fd, key), 0);
	close(fd);

	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_tc(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_true(entry_is(f, f->ifa, 3, 1));
	assert_true(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
	assert_true(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	/* Again (another port, or the broker restarted): replaced, not stacked. */
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 4, 2), 0);
	assert_true(entry_is(f, f->ifa, 4, 2));
	assert_int_equal(dpt_sh("test $(tc filter show dev %s ingress | grep -c pcn_netdev_entr) -eq 1", f->a), 0);

	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_false(has_entry(f, f->ifa));
	assert_false(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	/* We created the clsact qdisc: it goes too. */
	assert_false(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
}

static void test_tc_keeps_foreign_qdisc(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dpt_sh("tc qdisc add dev %s clsact", f->a), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_true(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_false(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	assert_true(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
}

static void test_tc_qdisc_marker_survives_restart(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	/* The broker restarts between attach and detach. */
	broker_dp_destroy(f->dp);
	f->dp = NULL;
	assert_true(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_false(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
}

static void test_xdp_skb(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 5, 0), 0);
	assert_true(entry_is(f, f->ifa, 5, 0));
	assert_true(dpt_sh_grep("xdpgeneric", "ip link show dev %s", f->a));
	/* The other mode is taken: the kernel allows one per netdev. */
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 5, 0), -EBUSY);
	assert_true(entry_is(f, f->ifa, 5, 0));
	/* Re-attach by a new broker run (new program id): ours, replaced. */
	broker_dp_destroy(f->dp);
	f->dp = NULL;
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 6, 1), 0);
	assert_true(entry_is(f, f->ifa, 6, 1));

	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_false(dpt_sh_grep("xdp", "ip link show dev %s", f->a));
	assert_false(has_entry(f, f->ifa));
}

static void test_xdp_drv(void **state)
{
	struct fx *f = *state;
	int rc;

	/* Peer b has no XDP program and GRO off: a warning, still attached. */
	dpt_sh("ethtool -K %s gro off", f->b);
	assert_true(dpt_attach_logs(f->dp, f->ifa, PCN_HOOK_XDP_DRV, "BROKER-XDP-VETH-GRO", &rc));
	assert_int_equal(rc, 0);
	assert_true(dpt_sh_grep("prog/xdp ", "ip -d link show dev %s", f->a));
	assert_false(dpt_sh_grep("xdpgeneric", "ip link show dev %s", f->a));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_false(dpt_sh_grep("xdp", "ip link show dev %s", f->a));

	/* With GRO on at the peer, no warning. */
	assert_int_equal(dpt_sh("ethtool -K %s gro on", f->b), 0);
	assert_false(dpt_attach_logs(f->dp, f->ifa, PCN_HOOK_XDP_DRV, "BROKER-XDP-VETH-GRO", &rc));
	assert_int_equal(rc, 0);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_false(dpt_sh_grep("xdp", "ip link show dev %s", f->a));
}

static void test_xdp_foreign_busy(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/cubes/foreign", f->root);
	fd = dpt_prog_pin(true, XDP_PASS, path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_xdp_attach(f->ifa, fd, XDP_FLAGS_SKB_MODE, NULL), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 1, 0), -EBUSY);
	assert_false(has_entry(f, f->ifa));
	/* Detach leaves a program that is not ours alone. */
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_true(dpt_sh_grep("xdpgeneric", "ip link show dev %s", f->a));
	assert_int_equal(bpf_xdp_detach(f->ifa, XDP_FLAGS_SKB_MODE, NULL), 0);
	close(fd);
}

static void test_detach_gone_netdev(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	dpt_veth_del(f->a);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_false(has_entry(f, f->ifa));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), -ENODEV);
	assert_false(has_entry(f, f->ifa));
}

static void test_bad_args(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, 0, PCN_HOOK_TC, 1, 0), -EINVAL);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, (enum pcn_hook)7, 1, 0), -EINVAL);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, PCN_MAX_CUBES, 0), -EINVAL);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 1, PCN_MAX_PORTS), -EINVAL);
	assert_false(has_entry(f, f->ifa));
}

/* The id of the link pinned at path, 0 if none. */
static uint32_t link_id(const char *path)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(path);

	memset(&info, 0, sizeof(info));
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		info.id = 0;
	close(fd);
	return info.id;
}

/* tcx: a pinned link; attaching again (another port, a restarted broker)
 * swaps the program inside the same link; a foreign tcx program keeps its
 * place; detach takes the link and nothing else. */
static void test_tcx(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];
	uint32_t id;

	snprintf(path, sizeof(path), "%s/shared/tcx_%d", f->root, f->ifa);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	id = link_id(path);
	assert_true(id > 0);
	assert_false(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
	broker_dp_destroy(f->dp);
	f->dp = NULL;
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 4, 2), 0);
	assert_true(entry_is(f, f->ifa, 4, 2));
	assert_int_equal(link_id(path), id);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(dpt_sh("bpftool link show id %u >/dev/null 2>&1", id) == 0, 0);
}

/* The programs at ifindex's tcx ingress, in the order they run. */
static uint32_t tcx_ids(int ifindex, uint32_t *ids, uint32_t n)
{
	uint32_t cnt = n;

	if (bpf_prog_query(ifindex, 46 /* BPF_TCX_INGRESS */, 0, NULL, ids, &cnt) < 0)
		return 0;
	return cnt;
}

/* --tc-order: Cubemesh's link before another owner's (first, the default)
 * or after it (last); theirs stays attached whatever Cubemesh does. */
static void test_tcx_order(void **state)
{
	struct fx *f = *state;
	LIBBPF_OPTS(bpf_link_create_opts, o);
	char path[PATH_MAX];
	uint32_t ids[8], theirs;
	int prog, link;

	snprintf(path, sizeof(path), "%s/cubes/foreign_tc", f->root);
	prog = dpt_prog_pin(false, -1 /* TC_ACT_UNSPEC: the next program */, path);
	assert_true(prog >= 0);
	theirs = dpt_prog_id(prog);
	link = bpf_link_create(prog, f->ifa, 46, &o);
	assert_true(link >= 0);

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_int_equal(tcx_ids(f->ifa, ids, 8), 2);
	assert_int_not_equal(ids[0], theirs);
	assert_int_equal(ids[1], theirs);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_int_equal(tcx_ids(f->ifa, ids, 8), 1);
	assert_int_equal(ids[0], theirs);

	broker_dp_destroy(f->dp);
	assert_int_equal(broker_dp_policy("tc-order", "last"), 0);
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_int_equal(tcx_ids(f->ifa, ids, 8), 2);
	assert_int_equal(ids[0], theirs);
	assert_int_not_equal(ids[1], theirs);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_int_equal(tcx_ids(f->ifa, ids, 8), 1);
	close(link);
	close(prog);
}

static void test_policy_values(void **state)
{
	(void)state;
	assert_int_equal(broker_dp_policy("tc-attach", "tcx"), 0);
	assert_int_equal(broker_dp_policy("tc-attach", "bogus"), -EINVAL);
	assert_int_equal(broker_dp_policy("tc-order", "middle"), -EINVAL);
	assert_int_equal(broker_dp_policy("xdp-priority", "1001"), -EINVAL);
	assert_int_equal(broker_dp_policy("xdp-priority", ""), -EINVAL);
	assert_int_equal(broker_dp_policy("xdp-priority", "20"), 0);
	assert_int_equal(broker_dp_policy("xdp-attach", "direct"), 0);
	assert_int_equal(broker_dp_policy("nope", "auto"), -EINVAL);
	assert_int_equal(broker_dp_policy("tc-attach", "auto"), 0);
	assert_int_equal(broker_dp_policy("xdp-attach", "auto"), 0);
}

/* Moving from clsact to tcx (a broker of another policy attached there):
 * the filter goes once the link is in, and back. */
static void test_tcx_clsact_switch(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/shared/tcx_%d", f->root, f->ifa);
	broker_dp_destroy(f->dp);
	broker_dp_policy("tc-attach", "clsact");
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_true(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	broker_dp_destroy(f->dp);
	broker_dp_policy("tc-attach", "auto");
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_true(link_id(path) > 0);
	/* The filter goes; the qdisc we made stays until detach. */
	assert_false(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	broker_dp_destroy(f->dp);
	broker_dp_policy("tc-attach", "clsact");
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 3, 1), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_true(dpt_sh_grep("pcn_netdev_entr", "tc filter show dev %s ingress", f->a));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
	assert_false(dpt_sh_grep("clsact", "tc qdisc show dev %s", f->a));
}

/* XDP through libxdp's dispatcher: attached once, adopted untouched by a
 * restarted broker (same dispatcher program), removed by detach. */
static void test_xdp_dispatcher(void **state)
{
	struct fx *f = *state;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	uint32_t disp;

	if (!f->dp->xdpd) {
		/* The kernel refuses freplace programs (logged by the broker as
		 * BROKER-XDP-DISPATCHER): libxdp has no dispatcher to offer. */
		skip();
	}
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 5, 0), 0);
	assert_int_equal(bpf_xdp_query(f->ifa, 0, &q), 0);
	disp = q.skb_prog_id;
	assert_true(disp > 0);
	assert_true(dpt_sh_grep("pcn_netdev_entry", "xdp-loader status %s", f->a));
	broker_dp_destroy(f->dp);
	f->dp = NULL;
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 6, 1), 0);
	assert_true(entry_is(f, f->ifa, 6, 1));
	assert_int_equal(bpf_xdp_query(f->ifa, 0, &q), 0);
	assert_int_equal(q.skb_prog_id, disp);
	/* The other mode is taken. */
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 5, 0), -EBUSY);
	assert_non_null(strstr(broker_netdev_why(f->dp), "dispatcher"));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_int_equal(bpf_xdp_query(f->ifa, 0, &q), 0);
	assert_int_equal(q.skb_prog_id, 0);
}

/* A program attached without the dispatcher: refused, with its id. */
static void test_xdp_dispatcher_foreign(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX], want[32];
	int fd;

	snprintf(path, sizeof(path), "%s/cubes/foreign", f->root);
	fd = dpt_prog_pin(true, XDP_PASS, path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_xdp_attach(f->ifa, fd, XDP_FLAGS_SKB_MODE, NULL), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 1, 0), -EBUSY);
	snprintf(want, sizeof(want), "program id %u ", dpt_prog_id(fd));
	assert_non_null(strstr(broker_netdev_why(f->dp), want));
	assert_false(has_entry(f, f->ifa));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_true(dpt_sh_grep("xdpgeneric", "ip link show dev %s", f->a));
	assert_int_equal(bpf_xdp_detach(f->ifa, XDP_FLAGS_SKB_MODE, NULL), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tc, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_specialized, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_tc_keeps_foreign_qdisc, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_tc_qdisc_marker_survives_restart, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_skb, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_drv, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_foreign_busy, setup_legacy, teardown),
		cmocka_unit_test_setup_teardown(test_tcx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcx_clsact_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcx_order, setup, teardown),
		cmocka_unit_test(test_policy_values),
		cmocka_unit_test_setup_teardown(test_xdp_dispatcher, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xdp_dispatcher_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_gone_netdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

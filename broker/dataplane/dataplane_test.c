/* broker_dp: loading and reusing the shared maps, flush, PatchPanel,
 * forwarding map, counters. Real kernel objects under a bpffs root of this
 * test process, removed in teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane.h"
#include "dp_testutil.h"

static char root[256];

static int setup(void **state)
{
	dpt_root(root, sizeof(root), "dp");
	broker_dp_flush(root);
	return 0;
}

static int teardown(void **state)
{
	return broker_dp_flush(root);
}

/* The kernel id of the object pinned at <root>/shared/<name>, or 0. */
static uint32_t pinned_id(const char *name)
{
	char path[PATH_MAX];
	union {
		struct bpf_map_info map;
		struct bpf_prog_info prog;
	} info;
	uint32_t len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/shared/%s", root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		info.map.id = 0;
	close(fd);
	/* id is the first field of both info structs. */
	return info.map.id;
}

static int open_shared(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/shared/%s", root, name);
	return bpf_obj_get(path);
}

static void test_create_reuses_pinned_maps(void **state)
{
	struct broker_dp *dp = NULL;
	uint32_t fwd1, ppx1, ppt1, prog1, prog2;
	struct stat st;
	char path[PATH_MAX];

	assert_int_equal(broker_dp_create(&dp, root), 0);
	assert_non_null(dp);
	assert_string_equal(broker_dp_root(dp), root);
	fwd1 = pinned_id("pcn_fwd");
	ppx1 = pinned_id("pcn_pp_xdp");
	ppt1 = pinned_id("pcn_pp_tc");
	prog1 = pinned_id("netdev_xdp");
	assert_int_not_equal(fwd1, 0);
	assert_int_not_equal(ppx1, 0);
	assert_int_not_equal(ppt1, 0);
	assert_int_not_equal(prog1, 0);
	assert_int_not_equal(pinned_id("netdev_tc"), 0);
	snprintf(path, sizeof(path), "%s/cubes", root);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	broker_dp_destroy(dp);

	/* A second broker run: same maps, a new program under the same pin. */
	dp = NULL;
	assert_int_equal(broker_dp_create(&dp, root), 0);
	assert_int_equal(pinned_id("pcn_fwd"), fwd1);
	assert_int_equal(pinned_id("pcn_pp_xdp"), ppx1);
	assert_int_equal(pinned_id("pcn_pp_tc"), ppt1);
	prog2 = pinned_id("netdev_xdp");
	assert_int_not_equal(prog2, 0);
	assert_int_not_equal(prog2, prog1);
	broker_dp_destroy(dp);
	broker_dp_destroy(NULL);

	assert_int_equal(broker_dp_flush(root), 0);
	assert_int_equal(stat(root, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* Flushing nothing is fine; flushing outside bpffs is refused. */
	assert_int_equal(broker_dp_flush(root), 0);
	assert_int_equal(broker_dp_flush("/tmp"), -EINVAL);
	assert_int_equal(broker_dp_flush("relative"), -EINVAL);
}

static void test_create_rejects_bad_root(void **state)
{
	struct broker_dp *dp = NULL;

	assert_int_equal(broker_dp_create(&dp, "relative/path"), -EINVAL);
	assert_null(dp);
}

static uint32_t slot_prog_id(int map, uint32_t index)
{
	uint32_t id = 0;

	if (bpf_map_lookup_elem(map, &index, &id) < 0)
		return 0;
	return id;
}

static void test_patchpanel(void **state)
{
	struct broker_dp *dp = NULL;
	char p1[PATH_MAX], p2[PATH_MAX], pt[PATH_MAX];
	int fd1 = -1, fd2 = -1, fdt = -1, ppx = -1, ppt = -1;

	assert_int_equal(broker_dp_create(&dp, root), 0);
	snprintf(p1, sizeof(p1), "%s/cubes/p1", root);
	snprintf(p2, sizeof(p2), "%s/cubes/p2", root);
	snprintf(pt, sizeof(pt), "%s/cubes/pt", root);
	fd1 = dpt_prog_pin(true, XDP_PASS, p1);
	fd2 = dpt_prog_pin(true, XDP_DROP, p2);
	fdt = dpt_prog_pin(false, 0, pt);
	assert_true(fd1 >= 0 && fd2 >= 0 && fdt >= 0);
	ppx = open_shared("pcn_pp_xdp");
	ppt = open_shared("pcn_pp_tc");
	assert_true(ppx >= 0 && ppt >= 0);

	assert_int_equal(broker_pp_install(dp, PCN_HOOK_XDP_SKB, 5, p1), 0);
	assert_int_equal(slot_prog_id(ppx, 5), dpt_prog_id(fd1));
	/* Replace in place; XDP_DRV shares the XDP array. */
	assert_int_equal(broker_pp_install(dp, PCN_HOOK_XDP_DRV, 5, p2), 0);
	assert_int_equal(slot_prog_id(ppx, 5), dpt_prog_id(fd2));
	assert_int_equal(slot_prog_id(ppt, 5), 0);

	assert_int_equal(broker_pp_install(dp, PCN_HOOK_TC, 7, pt), 0);
	assert_int_equal(slot_prog_id(ppt, 7), dpt_prog_id(fdt));
	/* An XDP program does not go in the TC array. */
	assert_int_equal(broker_pp_install(dp, PCN_HOOK_TC, 8, p1), -EINVAL);
	assert_int_equal(broker_pp_install(dp, PCN_HOOK_XDP_SKB, PCN_MAX_CUBES, p1), -ERANGE);
	assert_int_equal(broker_pp_install(dp, PCN_HOOK_XDP_SKB, 6, "/sys/fs/bpf/no-such-pin-dp"), -ENOENT);

	assert_int_equal(broker_pp_remove(dp, PCN_HOOK_XDP_SKB, 5), 0);
	assert_int_equal(slot_prog_id(ppx, 5), 0);
	assert_int_equal(broker_pp_remove(dp, PCN_HOOK_XDP_SKB, 5), 0);
	assert_int_equal(broker_pp_remove(dp, PCN_HOOK_TC, 7), 0);
	assert_int_equal(slot_prog_id(ppt, 7), 0);

	/* The PatchPanel outlives the broker: an entry stays after destroy. */
	assert_int_equal(broker_pp_install(dp, PCN_HOOK_XDP_SKB, 9, p1), 0);
	broker_dp_destroy(dp);
	assert_int_equal(slot_prog_id(ppx, 9), dpt_prog_id(fd1));

	close(fd1);
	close(fd2);
	close(fdt);
	close(ppx);
	close(ppt);
}

static void test_fwd(void **state)
{
	struct broker_dp *dp = NULL;
	struct pcn_fwd_val v = { .kind = PCN_PEER_CUBE, .cube_index = 3, .port = 1 }, got;
	uint32_t k = pcn_fwd_slot(2, 4);
	int map;

	assert_int_equal(broker_dp_create(&dp, root), 0);
	map = open_shared("pcn_fwd");
	assert_true(map >= 0);
	assert_int_equal(broker_fwd_set(dp, 2, 4, &v), 0);
	assert_int_equal(bpf_map_lookup_elem(map, &k, &got), 0);
	assert_memory_equal(&got, &v, sizeof(v));
	v = (struct pcn_fwd_val){ .kind = PCN_PEER_NETDEV, .ifindex = 1 };
	assert_int_equal(broker_fwd_set(dp, 2, 4, &v), 0);
	assert_int_equal(bpf_map_lookup_elem(map, &k, &got), 0);
	assert_int_equal(got.kind, PCN_PEER_NETDEV);
	assert_int_equal(got.ifindex, 1);
	assert_int_equal(broker_fwd_set(dp, PCN_MAX_CUBES, 0, &v), -EINVAL);
	assert_int_equal(broker_fwd_del(dp, 2, 4), 0);
	/* An array: the entry stays, saying "no peer". */
	assert_int_equal(bpf_map_lookup_elem(map, &k, &got), 0);
	assert_int_equal(got.kind, PCN_PEER_NONE);
	assert_int_equal(broker_fwd_del(dp, 2, 4), -ENOENT);
	close(map);
	broker_dp_destroy(dp);
}

static void test_stats(void **state)
{
	struct broker_dp *dp = NULL;
	struct pcn_cube_stats *v, sum;
	int n = libbpf_num_possible_cpus(), map;
	uint32_t idx = 11;

	assert_true(n > 0);
	assert_int_equal(broker_dp_create(&dp, root), 0);
	map = open_shared("pcn_cube_stats");
	assert_true(map >= 0);
	v = calloc(n, sizeof(*v));
	assert_non_null(v);
	/* What the fast path would have counted on each CPU. */
	for (int i = 0; i < n; i++) {
		v[i].rx_packets = 10 + i;
		v[i].drop_tail_call = 1;
	}
	assert_int_equal(bpf_map_update_elem(map, &idx, v, BPF_ANY), 0);
	assert_int_equal(broker_stats_read(dp, idx, &sum), 0);
	assert_int_equal(sum.rx_packets, 10 * n + n * (n - 1) / 2);
	assert_int_equal(sum.drop_tail_call, n);
	assert_int_equal(sum.pass, 0);
	assert_int_equal(broker_stats_reset(dp, idx), 0);
	assert_int_equal(broker_stats_read(dp, idx, &sum), 0);
	assert_int_equal(sum.rx_packets, 0);
	assert_int_equal(sum.drop_tail_call, 0);
	assert_int_equal(broker_stats_read(dp, PCN_MAX_CUBES, &sum), -ERANGE);
	free(v);
	close(map);
	broker_dp_destroy(dp);
}

/* Runs the netdev input program once on a frame "from" ifindex 1 (lo) and
 * returns its XDP verdict. */
static int run_netdev_xdp(void)
{
	unsigned char frame[64] = { 0 };
	struct xdp_md ctx = { .data_end = sizeof(frame), .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));
	int fd = open_shared("netdev_xdp"), rc;

	if (fd < 0)
		return -1;
	rc = bpf_prog_test_run_opts(fd, &opts);
	close(fd);
	return rc < 0 ? rc : (int)opts.retval;
}

/* The pieces together, as a packet sees them: the netdev input program
 * finds the netdev's entry, jumps through the PatchPanel slot installed by
 * broker_pp_install, and a miss is counted on the instance. */
static void test_packet_path(void **state)
{
	struct broker_dp *dp = NULL;
	struct pcn_cube_stats st;
	char path[PATH_MAX];
	uint32_t lo = 1;
	struct pcn_netdev_val in = { .cube_index = 12, .port = 0 };
	int map, fd;

	assert_int_equal(broker_dp_create(&dp, root), 0);
	snprintf(path, sizeof(path), "%s/cubes/tx", root);
	fd = dpt_prog_pin(true, XDP_TX, path);
	assert_true(fd >= 0);
	map = open_shared("pcn_netdev_in");
	assert_true(map >= 0);

	/* Not peered: the netdev keeps working (host stack). */
	assert_int_equal(run_netdev_xdp(), XDP_PASS);
	/* Peered with an instance that has no program yet: dropped, counted. */
	assert_int_equal(bpf_map_update_elem(map, &lo, &in, BPF_ANY), 0);
	assert_int_equal(broker_stats_reset(dp, 12), 0);
	assert_int_equal(run_netdev_xdp(), XDP_DROP);
	assert_int_equal(broker_stats_read(dp, 12, &st), 0);
	assert_int_equal(st.drop_tail_call, 1);
	/* Installed: the instance's program decides. */
	assert_int_equal(broker_pp_install(dp, PCN_HOOK_XDP_DRV, 12, path), 0);
	assert_int_equal(run_netdev_xdp(), XDP_TX);
	assert_int_equal(broker_pp_remove(dp, PCN_HOOK_XDP_DRV, 12), 0);
	assert_int_equal(run_netdev_xdp(), XDP_DROP);

	close(map);
	close(fd);
	broker_dp_destroy(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_reuses_pinned_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects_bad_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patchpanel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

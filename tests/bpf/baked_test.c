/* The wiring as load-time constants (bpf/pcn_baked.h), through
 * BPF_PROG_TEST_RUN: helloworld (FORWARD, in on port 0, out on port 1) is
 * loaded with port 1 wired, as constants, to simpleforwarder. The
 * constants only pick the jump; where the packet goes is what pcn_fwd says
 * now: simpleforwarder while pcn_fwd agrees with them, another
 * simpleforwarder once pcn_fwd names that one, nowhere (dropped for want
 * of a peer) once it says port 1 has none, out of a netdev once it says
 * so, all while the broker's generation is still the constants' own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "bpf_test_util.h"
#include "helloworld_shared.h"

#include "pcn_netdev_tc.skel.h"
#include "pcn_netdev_xdp.skel.h"
#include "test_helloworld_tc.skel.h"
#include "test_helloworld_xdp.skel.h"
#include "test_simpleforwarder_tc.skel.h"
#include "test_simpleforwarder_xdp.skel.h"

enum { HW = 3, SF = 5, SF2 = 6, GEN = 7 };

struct hook {
	const void *(*netdev_elf)(size_t *sz);
	const void *(*hw_elf)(size_t *sz);
	const void *(*sf_elf)(size_t *sz);
};

static const struct hook hook_xdp = { pcn_netdev_xdp__elf_bytes, test_helloworld_xdp__elf_bytes,
				      test_simpleforwarder_xdp__elf_bytes };
static const struct hook hook_tc = { pcn_netdev_tc__elf_bytes, test_helloworld_tc__elf_bytes,
				     test_simpleforwarder_tc__elf_bytes };

/* helloworld with port 1 -> simpleforwarder port 2 as constants of GEN. */
static int load_wired_hw(struct bpf_object **out, const void *elf, size_t sz, struct bpf_object *share)
{
	uint32_t kind[4] = { 0, PCN_PEER_CUBE }, cube[4] = { 0, SF }, gen = GEN;
	struct bpf_object *obj;
	int err = t_obj_open(&obj, "helloworld", elf, sz, HW, 2, share);

	if (err)
		return err;
	if ((err = t_obj_set_rodata(obj, "pcn_baked_kind", kind, sizeof(kind))) ||
	    (err = t_obj_set_rodata(obj, "pcn_baked_cube", cube, sizeof(cube))) ||
	    (err = t_obj_set_rodata(obj, "pcn_baked_gen_c", &gen, sizeof(gen))) || (err = bpf_object__load(obj))) {
		bpf_object__close(obj);
		return err;
	}
	*out = obj;
	return 0;
}

/* Port 1 of helloworld wired to *peer in pcn_fwd. */
static void set_peer(struct bpf_object *nd, const struct pcn_fwd_val *peer)
{
	uint32_t key = pcn_fwd_slot(HW, 1);

	assert_int_equal(bpf_map_update_elem(t_map_fd(nd, PCN_MAP_FWD), &key, peer, BPF_ANY), 0);
}

/* One frame into helloworld's port 0; the counters of both afterwards. */
static void send_one(struct bpf_object *nd, struct bpf_object *hw, const uint8_t *frame, size_t len,
		     uint32_t *ret, struct pcn_cube_stats *st_sf, struct pcn_cube_stats *st_hw)
{
	struct pcn_pkt_md md = { .in_port = 0 };

	assert_int_equal(t_percpu_set(t_map_fd(nd, PCN_MAP_MD), 0, &md, sizeof(md)), 0);
	assert_int_equal(t_run(t_prog_fd(hw, "pcn_entry"), frame, len, ret), 0);
	assert_int_equal(t_percpu_sum_u64(t_map_fd(nd, PCN_MAP_STATS), SF, st_sf, sizeof(*st_sf)), 0);
	assert_int_equal(t_percpu_sum_u64(t_map_fd(nd, PCN_MAP_STATS), HW, st_hw, sizeof(*st_hw)), 0);
}

static void run_case(const struct hook *h)
{
	struct bpf_object *nd = NULL, *hw = NULL, *sf = NULL, *sf2 = NULL;
	struct pcn_fwd_val none = { .kind = PCN_PEER_NONE };
	struct pcn_fwd_val to_sf = { .kind = PCN_PEER_CUBE, .cube_index = SF, .port = 2 };
	struct pcn_fwd_val to_sf2 = { .kind = PCN_PEER_CUBE, .cube_index = SF2, .port = 2 };
	struct pcn_fwd_val to_lo = { .kind = PCN_PEER_NETDEV, .ifindex = 1 };
	struct pcn_cube_stats st_sf, st_sf2, st_hw;
	uint32_t key, val, ret, action = HELLOWORLD_ACTION_FORWARD, zero = 0;
	uint8_t frame[128];
	size_t len = t_icmp_frame(frame, sizeof(frame)), sz;
	const void *elf;
	int pp, fd, err;

	assert_true(t_pin_cpu() >= 0);
	elf = h->netdev_elf(&sz);
	err = t_obj_load(&nd, "pcn_netdev", elf, sz, 0, 2, NULL);
	if (err == -EPERM || err == -EACCES) {
		print_message("BPF not permitted here (%s): skipping\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	elf = h->sf_elf(&sz);
	assert_int_equal(t_obj_load(&sf, "simplefwd", elf, sz, SF, 2, nd), 0);
	assert_int_equal(t_obj_load(&sf2, "simplefwd", elf, sz, SF2, 2, nd), 0);
	elf = h->hw_elf(&sz);
	assert_int_equal(load_wired_hw(&hw, elf, sz, nd), 0);

	pp = t_map_fd(nd, h == &hook_xdp ? PCN_MAP_PP_XDP : PCN_MAP_PP_TC);
	key = SF;
	fd = t_prog_fd(sf, "pcn_entry");
	assert_int_equal(bpf_map_update_elem(pp, &key, &fd, BPF_ANY), 0);
	key = SF2;
	fd = t_prog_fd(sf2, "pcn_entry");
	assert_int_equal(bpf_map_update_elem(pp, &key, &fd, BPF_ANY), 0);
	key = HW;
	fd = t_prog_fd(hw, "pcn_entry");
	assert_int_equal(bpf_map_update_elem(pp, &key, &fd, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(t_map_fd(hw, "helloworld_action"), &zero, &action, BPF_ANY), 0);
	/* The broker's generation is the constants' own: before pcn_baked.h
	 * read pcn_fwd on every packet, the constants alone decided then, and
	 * the rewired cases below failed. */
	key = HW;
	val = GEN;
	assert_int_equal(bpf_map_update_elem(t_map_fd(nd, PCN_MAP_BAKED_GEN), &key, &val, BPF_ANY), 0);

	/* pcn_fwd agrees with the constants: into simpleforwarder. */
	set_peer(nd, &to_sf);
	send_one(nd, hw, frame, len, &ret, &st_sf, &st_hw);
	assert_int_equal(st_sf.rx_packets, 1);
	assert_int_equal(st_hw.tx_cube, 1);
	assert_int_equal(st_hw.drop_no_peer, 0);

	/* pcn_fwd names another cube: into that one, not the constant's. */
	set_peer(nd, &to_sf2);
	send_one(nd, hw, frame, len, &ret, &st_sf, &st_hw);
	assert_int_equal(t_percpu_sum_u64(t_map_fd(nd, PCN_MAP_STATS), SF2, &st_sf2, sizeof(st_sf2)), 0);
	assert_int_equal(st_sf.rx_packets, 1);
	assert_int_equal(st_sf2.rx_packets, 1);
	assert_int_equal(st_hw.tx_cube, 2);

	/* pcn_fwd says no peer: dropped, whatever the constants say. */
	set_peer(nd, &none);
	send_one(nd, hw, frame, len, &ret, &st_sf, &st_hw);
	assert_int_equal(st_sf.rx_packets, 1);
	assert_int_equal(st_hw.drop_no_peer, 1);

	/* pcn_fwd says a netdev: redirected there, counted as sent out of
	 * one by the verdict. */
	set_peer(nd, &to_lo);
	send_one(nd, hw, frame, len, &ret, &st_sf, &st_hw);
	assert_int_equal(ret, h == &hook_xdp ? XDP_REDIRECT : TC_ACT_REDIRECT);
	assert_int_equal(st_sf.rx_packets, 1);
	assert_int_equal(st_hw.tx_netdev, 1);
	assert_int_equal(st_hw.tx_cube, 2);

	bpf_object__close(hw);
	bpf_object__close(sf2);
	bpf_object__close(sf);
	bpf_object__close(nd);
}

static void test_xdp(void **state)
{
	(void)state;
	run_case(&hook_xdp);
}

static void test_tc(void **state)
{
	(void)state;
	run_case(&hook_tc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xdp),
		cmocka_unit_test(test_tc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

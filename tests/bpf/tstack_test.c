/* Transparent stacks through BPF_PROG_TEST_RUN, XDP and TC: the generation
 * a packet starts with picks the order it walks (pcn_tgen), and it keeps
 * walking that generation after the broker flipped to the other one; a
 * cube port's stack entered by pcn_tport_entry ends where pcn_tport says
 * (into the cube; out to the port's peer).
 *
 * Nothing is pinned and nothing is attached (as in fastpath_test.c): the
 * stack entry object (pcn_tnetdev) creates the pcn_* maps and the cubes
 * share them by fd. Instances: transparenthelloworld at T1 and T2,
 * helloworld at HW; the port stack's entries at slots SIN and SEG. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "bpf_test_util.h"
#include "pcn_transparent_kern_user.h"

#include "pcn_tnetdev_tc.skel.h"
#include "pcn_tnetdev_xdp.skel.h"
#include "test_helloworld_tc.skel.h"
#include "test_helloworld_xdp.skel.h"
#include "test_transparenthelloworld_tc.skel.h"
#include "test_transparenthelloworld_xdp.skel.h"

enum { T1 = 3, T2 = 4, HW = 5, SIN = 7, SEG = 8 };
enum { LEVEL_INFO = 2 };

struct hook {
	const char *name;
	const void *(*tnetdev_elf)(size_t *sz);
	const void *(*hw_elf)(size_t *sz);
	const void *(*th_elf)(size_t *sz);
	uint32_t ok, drop, redirect;
	uint32_t next; /* a stack's end on to the host: the hook's next program */
};

static const struct hook hook_xdp = {
	.name = "xdp",
	.tnetdev_elf = pcn_tnetdev_xdp__elf_bytes,
	.hw_elf = test_helloworld_xdp__elf_bytes,
	.th_elf = test_transparenthelloworld_xdp__elf_bytes,
	.ok = XDP_PASS, .drop = XDP_DROP, .redirect = XDP_REDIRECT, .next = XDP_PASS,
};

static const struct hook hook_tc = {
	.name = "tc",
	.tnetdev_elf = pcn_tnetdev_tc__elf_bytes,
	.hw_elf = test_helloworld_tc__elf_bytes,
	.th_elf = test_transparenthelloworld_tc__elf_bytes,
	.ok = TC_ACT_OK, .drop = TC_ACT_SHOT, .redirect = TC_ACT_REDIRECT, .next = (uint32_t)TC_ACT_UNSPEC,
};

struct fixture {
	const struct hook *hook;
	struct bpf_object *tnetdev, *t1, *t2, *hw;
	int pp, md, tmd, stats, tstack, tgen, tport;
	uint32_t lo;
	uint8_t frame[128];
	size_t len;
};

static struct fixture *fixture_up(void **state)
{
	const struct hook *h = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	struct {
		struct bpf_object **obj;
		uint32_t slot;
	} inst[] = { { &f->t1, T1 }, { &f->t2, T2 }, { &f->hw, HW } };
	const void *elf;
	size_t sz;
	int err, fd;

	assert_non_null(f);
	f->hook = h;
	*state = f;
	f->lo = if_nametoindex("lo");
	assert_int_not_equal(f->lo, 0);
	assert_true(t_pin_cpu() >= 0);
	f->len = t_icmp_frame(f->frame, sizeof(f->frame));
	assert_true(f->len > 0);

	elf = h->tnetdev_elf(&sz);
	err = t_obj_load(&f->tnetdev, "pcn_tnetdev", elf, sz, 0, LEVEL_INFO, NULL);
	if (err == -EPERM || err == -EACCES) {
		print_message("BPF not permitted here (%s): skipping\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	elf = h->th_elf(&sz);
	assert_int_equal(t_obj_load(&f->t1, "thw", elf, sz, T1, LEVEL_INFO, f->tnetdev), 0);
	assert_int_equal(t_obj_load(&f->t2, "thw", elf, sz, T2, LEVEL_INFO, f->tnetdev), 0);
	elf = h->hw_elf(&sz);
	assert_int_equal(t_obj_load(&f->hw, "helloworld", elf, sz, HW, LEVEL_INFO, f->tnetdev), 0);
	assert_false(t_any_pin_in_default_root());

	f->pp = t_map_fd(f->tnetdev, h == &hook_xdp ? PCN_MAP_PP_XDP : PCN_MAP_PP_TC);
	f->md = t_map_fd(f->tnetdev, PCN_MAP_MD);
	f->tmd = t_map_fd(f->tnetdev, "pcn_tmd");
	f->stats = t_map_fd(f->tnetdev, PCN_MAP_STATS);
	f->tstack = t_map_fd(f->tnetdev, PCN_MAP_TSTACK);
	f->tgen = t_map_fd(f->tnetdev, PCN_MAP_TGEN);
	f->tport = t_map_fd(f->tnetdev, PCN_MAP_TPORT);
	assert_true(f->pp >= 0 && f->md >= 0 && f->tmd >= 0 && f->stats >= 0 && f->tstack >= 0 &&
		    f->tgen >= 0 && f->tport >= 0);
	/* The cubes must really use the entry object's maps, not copies. */
	assert_int_equal(t_map_id(t_map_fd(f->t2, PCN_MAP_TSTACK)), t_map_id(f->tstack));
	assert_int_equal(t_map_id(t_map_fd(f->t1, "pcn_tmd")), t_map_id(f->tmd));

	for (size_t i = 0; i < sizeof(inst) / sizeof(inst[0]); i++) {
		fd = t_prog_fd(*inst[i].obj, "pcn_entry");
		assert_int_equal(bpf_map_update_elem(f->pp, &inst[i].slot, &fd, BPF_ANY), 0);
	}
	fd = t_prog_fd(f->tnetdev, "pcn_tport_entry");
	assert_int_equal(bpf_map_update_elem(f->pp, &(uint32_t){ SIN }, &fd, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->pp, &(uint32_t){ SEG }, &fd, BPF_ANY), 0);
	return f;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	/* The last fd of the PatchPanel empties it: nothing stays loaded. */
	bpf_object__close(f->hw);
	bpf_object__close(f->t2);
	bpf_object__close(f->t1);
	bpf_object__close(f->tnetdev);
	free(f);
	*state = NULL;
	return 0;
}

static void stack_set(const struct fixture *f, uint32_t parent, uint32_t dir, uint32_t gen, uint32_t pos,
		      uint32_t slot)
{
	struct pcn_tstack_key k = { .parent = parent, .dir = dir, .pos = pos, .gen = gen };

	assert_int_equal(bpf_map_update_elem(f->tstack, &k, &slot, BPF_ANY), 0);
}

/* Zeroes the counters of every instance and the metadata of this CPU. */
static void clean(const struct fixture *f, uint32_t md_cube)
{
	static const uint32_t all[] = { 0, T1, T2, HW, SIN, SEG };
	struct pcn_pkt_md md = { .cube_index = md_cube };
	struct pcn_tmd tmd = { 0 };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_int_equal(t_percpu_set(f->stats, all[i], &(struct pcn_cube_stats){ 0 },
					      sizeof(struct pcn_cube_stats)), 0);
	assert_int_equal(t_percpu_set(f->md, 0, &md, sizeof(md)), 0);
	assert_int_equal(t_percpu_set(f->tmd, 0, &tmd, sizeof(tmd)), 0);
}

static uint64_t rx(const struct fixture *f, uint32_t cube)
{
	struct pcn_cube_stats s;

	assert_int_equal(t_percpu_sum_u64(f->stats, cube, &s, sizeof(s)), 0);
	return s.rx_packets;
}

static uint32_t run(const struct fixture *f, struct bpf_object *obj, const char *prog)
{
	uint32_t retval = 0xdead;

	assert_int_equal(t_run(t_prog_fd(obj, prog), f->frame, f->len, &retval), 0);
	return retval;
}

/* lo's ingress stack is [T1] in generation 0 and [T2, T1] in generation 1,
 * T2 dropping: the generation in pcn_tgen decides which a packet meets. */
static void test_generation(void **state)
{
	struct fixture *f = fixture_up(state);
	uint32_t gen, drop = 1;

	assert_int_equal(bpf_map_update_elem(t_map_fd(f->t2, "transparenthelloworld_action"), &(uint32_t){ 0 },
					     &drop, BPF_ANY), 0);
	stack_set(f, f->lo, PCN_TDIR_INGRESS, 0, 0, T1);
	stack_set(f, f->lo, PCN_TDIR_INGRESS, 1, 0, T2);
	stack_set(f, f->lo, PCN_TDIR_INGRESS, 1, 1, T1);

	gen = 0;
	assert_int_equal(bpf_map_update_elem(f->tgen, &f->lo, &gen, BPF_ANY), 0);
	clean(f, 0);
	assert_int_equal(run(f, f->tnetdev, "pcn_tin"), f->hook->next);
	assert_int_equal(rx(f, T1), 1);
	assert_int_equal(rx(f, T2), 0);

	gen = 1;
	assert_int_equal(bpf_map_update_elem(f->tgen, &f->lo, &gen, BPF_ANY), 0);
	clean(f, 0);
	assert_int_equal(run(f, f->tnetdev, "pcn_tin"), f->hook->drop);
	assert_int_equal(rx(f, T2), 1);
	assert_int_equal(rx(f, T1), 0);
}

/* A packet that entered generation 1 at position 0 (T1) goes on in
 * generation 1 after pcn_tgen flipped to 0: T1 hands it to T2 (1's
 * position 1), not to what generation 0 has there (nothing: the host). */
static void test_walk_keeps_generation(void **state)
{
	struct fixture *f = fixture_up(state);
	struct pcn_tmd tmd = { .parent = f->lo, .dir = PCN_TDIR_INGRESS, .pos = 0, .gen = 1 };
	uint32_t gen = 0;

	stack_set(f, f->lo, PCN_TDIR_INGRESS, 0, 0, T1);
	stack_set(f, f->lo, PCN_TDIR_INGRESS, 1, 0, T1);
	stack_set(f, f->lo, PCN_TDIR_INGRESS, 1, 1, T2);
	assert_int_equal(bpf_map_update_elem(f->tgen, &f->lo, &gen, BPF_ANY), 0);
	clean(f, T1);
	assert_int_equal(t_percpu_set(f->tmd, 0, &tmd, sizeof(tmd)), 0);
	assert_int_equal(run(f, f->t1, "pcn_entry"), f->hook->next);
	assert_int_equal(rx(f, T1), 1);
	assert_int_equal(rx(f, T2), 1);
}

/* HW's port 0 with the stack [T1]: in by SIN, through T1 into HW (which
 * drops: helloworld's default); out by SEG, through T1 to lo (a redirect). */
static void test_port_stack(void **state)
{
	struct fixture *f = fixture_up(state);
	uint32_t parent = pcn_tparent_port(HW, 0);
	struct pcn_tport_val in = { .parent = parent, .dir = PCN_TDIR_INGRESS, .owner = HW,
				    .next = { .kind = PCN_PEER_CUBE, .cube_index = HW, .port = 0 } };
	struct pcn_tport_val eg = { .parent = parent, .dir = PCN_TDIR_EGRESS, .owner = HW,
				    .next = { .kind = PCN_PEER_NETDEV, .ifindex = f->lo } };
	struct pcn_cube_stats s;

	assert_int_equal(bpf_map_update_elem(f->tport, &(uint32_t){ SIN }, &in, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->tport, &(uint32_t){ SEG }, &eg, BPF_ANY), 0);
	stack_set(f, parent, PCN_TDIR_INGRESS, 0, 0, T1);
	stack_set(f, parent, PCN_TDIR_EGRESS, 0, 0, T1);

	clean(f, SIN);
	assert_int_equal(run(f, f->tnetdev, "pcn_tport_entry"), f->hook->drop);
	assert_int_equal(rx(f, T1), 1);
	assert_int_equal(t_percpu_sum_u64(f->stats, HW, &s, sizeof(s)), 0);
	assert_int_equal(s.rx_packets, 1);
	assert_int_equal(s.drop_verdict, 1);

	clean(f, SEG);
	assert_int_equal(run(f, f->tnetdev, "pcn_tport_entry"), f->hook->redirect);
	assert_int_equal(rx(f, T1), 1);
	assert_int_equal(rx(f, HW), 0);

	/* No pcn_tport entry (detached meanwhile): dropped, counted. */
	assert_int_equal(bpf_map_delete_elem(f->tport, &(uint32_t){ SEG }), 0);
	clean(f, SEG);
	assert_int_equal(run(f, f->tnetdev, "pcn_tport_entry"), f->hook->drop);
	assert_int_equal(t_percpu_sum_u64(f->stats, SEG, &s, sizeof(s)), 0);
	assert_int_equal(s.drop_tail_call, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "generation_xdp", test_generation, NULL, fixture_teardown, (void *)&hook_xdp },
		{ "generation_tc", test_generation, NULL, fixture_teardown, (void *)&hook_tc },
		{ "walk_keeps_generation_xdp", test_walk_keeps_generation, NULL, fixture_teardown,
		  (void *)&hook_xdp },
		{ "walk_keeps_generation_tc", test_walk_keeps_generation, NULL, fixture_teardown,
		  (void *)&hook_tc },
		{ "port_stack_xdp", test_port_stack, NULL, fixture_teardown, (void *)&hook_xdp },
		{ "port_stack_tc", test_port_stack, NULL, fixture_teardown, (void *)&hook_tc },
	};

	return cmocka_run_group_tests_name("bpf_tstack", tests, NULL, NULL);
}

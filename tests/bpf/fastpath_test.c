/* Fast-path tests: helloworld, simpleforwarder and the netdev input program,
 * built for XDP and for TC, run through BPF_PROG_TEST_RUN on a real
 * Ethernet/IPv4/ICMP frame, as a table of wirings with the verdict and the
 * exact counters each must produce.
 *
 * Nothing is pinned and nothing is attached: the objects are loaded with
 * their pin paths removed and made to share the pcn_* maps by fd, which is
 * what pinning by name does in the real mesh. Instances: helloworld at
 * PatchPanel slot HW, simpleforwarder at SF, and slot EMPTY left empty. */
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
#include "pcn_chain_kern_user.h"
#include "helloworld_shared.h"
#include "simpleforwarder_shared.h"

#include "pcn_netdev_tc.skel.h"
#include "pcn_netdev_xdp.skel.h"
#include "test_helloworld_tc.skel.h"
#include "test_helloworld_xdp.skel.h"
#include "test_simpleforwarder_tc.skel.h"
#include "test_simpleforwarder_xdp.skel.h"

enum { HW = 3, HW_TRACE = 4, SF = 5, EMPTY = 9 };

/* pcn_log_level values (common/log.h). */
enum { LEVEL_TRACE = 0, LEVEL_INFO = 2 };

/* Stands for the ifindex of "lo" in a table row (known only at run time). */
#define LO 0xfffffffeu

enum verdict { V_OK = 1, V_DROP, V_REDIRECT };
enum entry { E_NETDEV, E_HW, E_SF };

struct hook {
	const char *name;
	const void *(*netdev_elf)(size_t *sz);
	const void *(*hw_elf)(size_t *sz);
	const void *(*sf_elf)(size_t *sz);
	uint32_t act[V_REDIRECT + 1]; /* enum verdict -> the hook's code */
};

static const struct hook hook_xdp = {
	.name = "xdp",
	.netdev_elf = pcn_netdev_xdp__elf_bytes,
	.hw_elf = test_helloworld_xdp__elf_bytes,
	.sf_elf = test_simpleforwarder_xdp__elf_bytes,
	.act = { [V_OK] = XDP_PASS, [V_DROP] = XDP_DROP, [V_REDIRECT] = XDP_REDIRECT },
};

static const struct hook hook_tc = {
	.name = "tc",
	.netdev_elf = pcn_netdev_tc__elf_bytes,
	.hw_elf = test_helloworld_tc__elf_bytes,
	.sf_elf = test_simpleforwarder_tc__elf_bytes,
	/* A packet passed on goes to the hook's next program (tcx), then on
	 * to the host: TC_ACT_UNSPEC, not TC_ACT_OK, which ends the list. */
	.act = { [V_OK] = TC_ACT_UNSPEC, [V_DROP] = TC_ACT_SHOT, [V_REDIRECT] = TC_ACT_REDIRECT },
};

/* One pcn_fwd entry: (cube, port) -> netdev `to` or cube `to`:`to_port`. */
struct wire {
	uint32_t cube, port, kind, to, to_port;
};

struct sf_rule {
	uint32_t port;
	struct simplefwd_action a;
};

struct want_stats {
	uint32_t cube; /* 0: unused row slot (no instance sits at slot 0 here) */
	struct pcn_cube_stats s;
};

struct row {
	const char *what;
	enum entry entry;
	uint32_t in_port; /* md->in_port before a cube entry runs */
	uint32_t hw_action;
	struct sf_rule sf[2]; /* .a.action 0 with port 0 and outport 0: unused */
	int has_netdev_in;    /* pcn_netdev_in[lo] = netdev_in */
	struct pcn_netdev_val netdev_in;
	struct wire wires[3]; /* .kind 0: unused */
	enum verdict want;
	struct want_stats stats[2];
	struct helloworld_stats hw; /* helloworld's own counters afterwards */
	int check_md;               /* compare md on this CPU with want_md */
	struct pcn_pkt_md md;
};

#define NETDEV(c, p, ifx) { .cube = (c), .port = (p), .kind = PCN_PEER_NETDEV, .to = (ifx) }
#define CUBE(c, p, tc, tp) { .cube = (c), .port = (p), .kind = PCN_PEER_CUBE, .to = (tc), .to_port = (tp) }

static const struct row rows[] = {
	{ .what = "helloworld DROP drops", .entry = E_HW, .in_port = 0,
	  .hw_action = HELLOWORLD_ACTION_DROP, .wires = { NETDEV(HW, 1, LO) }, .want = V_DROP,
	  .stats = { { HW, { .rx_packets = 1, .drop_verdict = 1 } } }, .hw = { .dropped = 1 } },
	{ .what = "helloworld SLOWPATH sends a copy up and drops", .entry = E_HW,
	  .hw_action = HELLOWORLD_ACTION_SLOWPATH, .wires = { NETDEV(HW, 1, LO) }, .want = V_DROP,
	  .stats = { { HW, { .rx_packets = 1, .drop_verdict = 1, .to_slowpath = 1 } } }, .hw = { .slowpath = 1 },
	  .check_md = 1, .md = { .cube_index = HW, .reason = 1 } },
	{ .what = "helloworld FORWARD port 0 -> netdev on port 1 redirects", .entry = E_HW,
	  .in_port = 0, .hw_action = HELLOWORLD_ACTION_FORWARD, .wires = { NETDEV(HW, 1, LO) },
	  .want = V_REDIRECT, .stats = { { HW, { .rx_packets = 1, .tx_netdev = 1 } } },
	  .hw = { .forwarded = 1 }, .check_md = 1,
	  .md = { .cube_index = HW, .in_port = 0, .out_ifindex = LO } },
	{ .what = "helloworld FORWARD port 1 -> unwired port 0 drops", .entry = E_HW, .in_port = 1,
	  .hw_action = HELLOWORLD_ACTION_FORWARD, .wires = { NETDEV(HW, 1, LO) }, .want = V_DROP,
	  .stats = { { HW, { .rx_packets = 1, .drop_no_peer = 1, .drop_verdict = 1 } } },
	  .hw = { .forwarded = 1 } },
	{ .what = "helloworld FORWARD into a cube peer reaches it", .entry = E_HW, .in_port = 0,
	  .hw_action = HELLOWORLD_ACTION_FORWARD, .wires = { CUBE(HW, 1, SF, 2) }, .want = V_DROP,
	  .stats = { { HW, { .rx_packets = 1, .tx_cube = 1 } },
		     { SF, { .rx_packets = 1, .drop_verdict = 1 } } },
	  .hw = { .forwarded = 1 }, .check_md = 1,
	  .md = { .cube_index = SF, .in_port = 2, .hops = 1 } },
	{ .what = "helloworld FORWARD into an empty PatchPanel slot drops", .entry = E_HW,
	  .in_port = 0, .hw_action = HELLOWORLD_ACTION_FORWARD, .wires = { CUBE(HW, 1, EMPTY, 0) },
	  .want = V_DROP,
	  .stats = { { HW, { .rx_packets = 1, .drop_tail_call = 1, .drop_verdict = 1 } },
		     { EMPTY, { 0 } } },
	  .hw = { .forwarded = 1 }, .check_md = 1, .md = { .cube_index = HW, .in_port = 0 } },
	{ .what = "helloworld -> simpleforwarder -> netdev redirects", .entry = E_HW, .in_port = 0,
	  .hw_action = HELLOWORLD_ACTION_FORWARD,
	  .sf = { { 2, { SIMPLEFWD_ACTION_FORWARD, 3 } } },
	  .wires = { CUBE(HW, 1, SF, 2), NETDEV(SF, 3, LO) }, .want = V_REDIRECT,
	  .stats = { { HW, { .rx_packets = 1, .tx_cube = 1 } },
		     { SF, { .rx_packets = 1, .tx_netdev = 1 } } },
	  .hw = { .forwarded = 1 }, .check_md = 1,
	  .md = { .cube_index = SF, .in_port = 2, .out_ifindex = LO, .hops = 1 } },

	{ .what = "simpleforwarder port without an action drops", .entry = E_SF, .in_port = 4,
	  .sf = { { 2, { SIMPLEFWD_ACTION_FORWARD, 3 } } }, .wires = { NETDEV(SF, 3, LO) },
	  .want = V_DROP, .stats = { { SF, { .rx_packets = 1, .drop_verdict = 1 } } } },
	{ .what = "simpleforwarder DROP drops", .entry = E_SF, .in_port = 1,
	  .sf = { { 1, { SIMPLEFWD_ACTION_DROP, 3 } } }, .wires = { NETDEV(SF, 3, LO) },
	  .want = V_DROP, .stats = { { SF, { .rx_packets = 1, .drop_verdict = 1 } } } },
	{ .what = "simpleforwarder SLOWPATH sends a copy up and drops", .entry = E_SF,
	  .in_port = 1, .sf = { { 1, { SIMPLEFWD_ACTION_SLOWPATH, 0 } } }, .want = V_DROP,
	  .stats = { { SF, { .rx_packets = 1, .drop_verdict = 1, .to_slowpath = 1 } } }, .check_md = 1,
	  .md = { .cube_index = SF, .in_port = 1, .reason = 1 } },
	{ .what = "simpleforwarder FORWARD per port: port 2 -> netdev", .entry = E_SF, .in_port = 2,
	  .sf = { { 2, { SIMPLEFWD_ACTION_FORWARD, 3 } }, { 6, { SIMPLEFWD_ACTION_FORWARD, 7 } } },
	  .wires = { NETDEV(SF, 3, LO) }, .want = V_REDIRECT,
	  .stats = { { SF, { .rx_packets = 1, .tx_netdev = 1 } } } },
	{ .what = "simpleforwarder FORWARD per port: port 6 -> unwired port 7", .entry = E_SF,
	  .in_port = 6,
	  .sf = { { 2, { SIMPLEFWD_ACTION_FORWARD, 3 } }, { 6, { SIMPLEFWD_ACTION_FORWARD, 7 } } },
	  .wires = { NETDEV(SF, 3, LO) }, .want = V_DROP,
	  .stats = { { SF, { .rx_packets = 1, .drop_no_peer = 1, .drop_verdict = 1 } } } },
	{ .what = "simpleforwarder -> helloworld -> netdev redirects", .entry = E_SF, .in_port = 8,
	  .hw_action = HELLOWORLD_ACTION_FORWARD, .sf = { { 8, { SIMPLEFWD_ACTION_FORWARD, 9 } } },
	  .wires = { CUBE(SF, 9, HW, 0), NETDEV(HW, 1, LO) }, .want = V_REDIRECT,
	  .stats = { { SF, { .rx_packets = 1, .tx_cube = 1 } },
		     { HW, { .rx_packets = 1, .tx_netdev = 1 } } },
	  .hw = { .forwarded = 1 } },

	{ .what = "netdev program passes packets of an unknown netdev", .entry = E_NETDEV,
	  .hw_action = HELLOWORLD_ACTION_FORWARD, .wires = { NETDEV(HW, 1, LO) }, .want = V_OK,
	  .stats = { { HW, { 0 } } } },
	{ .what = "netdev program enters helloworld on its port", .entry = E_NETDEV,
	  .in_port = 7, /* stale metadata the netdev program must overwrite */
	  .hw_action = HELLOWORLD_ACTION_DROP, .has_netdev_in = 1, .netdev_in = { HW, 1 },
	  .want = V_DROP, .stats = { { HW, { .rx_packets = 1, .drop_verdict = 1 } } },
	  .hw = { .dropped = 1 }, .check_md = 1, .md = { .cube_index = HW, .in_port = 1 } },
	{ .what = "netdev program -> helloworld -> netdev redirects", .entry = E_NETDEV,
	  .hw_action = HELLOWORLD_ACTION_FORWARD, .has_netdev_in = 1, .netdev_in = { HW, 1 },
	  .wires = { NETDEV(HW, 0, LO) }, .want = V_REDIRECT,
	  .stats = { { HW, { .rx_packets = 1, .tx_netdev = 1 } } }, .hw = { .forwarded = 1 } },
	{ .what = "netdev program into an empty slot drops and counts it there",
	  .entry = E_NETDEV, .has_netdev_in = 1, .netdev_in = { EMPTY, 0 }, .want = V_DROP,
	  .stats = { { EMPTY, { .drop_tail_call = 1 } }, { HW, { 0 } } } },
};

struct fixture {
	const struct hook *hook;
	struct bpf_object *netdev, *hw, *sf;
	int pp, fwd, netdev_in, md, stats, hw_action, hw_stats, sf_actions;
	int cpu;
	uint32_t lo;
};

static uint32_t lo_fix(const struct fixture *f, uint32_t v)
{
	return v == LO ? f->lo : v;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	/* Closing the last fd of the PatchPanel empties it, which releases the
	 * programs it held: nothing stays loaded. */
	bpf_object__close(f->sf);
	bpf_object__close(f->hw);
	bpf_object__close(f->netdev);
	free(f);
	*state = NULL;
	return 0;
}

/* Loads the three objects of one hook and wires the PatchPanel; skips the
 * test when this process may not use BPF. */
static struct fixture *fixture_up(void **state)
{
	const struct hook *h = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	const void *elf;
	size_t sz;
	uint32_t slot;
	int fd, err;

	assert_non_null(f);
	f->hook = h;
	*state = f;
	f->lo = if_nametoindex("lo");
	assert_int_not_equal(f->lo, 0);
	f->cpu = t_pin_cpu();
	assert_true(f->cpu >= 0);

	elf = h->netdev_elf(&sz);
	err = t_obj_load(&f->netdev, "pcn_netdev", elf, sz, 0, LEVEL_INFO, NULL);
	if (err == -EPERM || err == -EACCES) {
		print_message("BPF not permitted here (%s): skipping\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	elf = h->hw_elf(&sz);
	assert_int_equal(t_obj_load(&f->hw, "helloworld", elf, sz, HW, LEVEL_INFO, f->netdev), 0);
	elf = h->sf_elf(&sz);
	assert_int_equal(t_obj_load(&f->sf, "simplefwd", elf, sz, SF, LEVEL_INFO, f->netdev), 0);
	assert_false(t_any_pin_in_default_root());

	f->pp = t_map_fd(f->netdev, h == &hook_xdp ? PCN_MAP_PP_XDP : PCN_MAP_PP_TC);
	f->fwd = t_map_fd(f->netdev, PCN_MAP_FWD);
	f->netdev_in = t_map_fd(f->netdev, PCN_MAP_NETDEV_IN);
	f->md = t_map_fd(f->netdev, PCN_MAP_MD);
	f->stats = t_map_fd(f->netdev, PCN_MAP_STATS);
	f->hw_action = t_map_fd(f->hw, "helloworld_action");
	f->hw_stats = t_map_fd(f->hw, "helloworld_stats");
	f->sf_actions = t_map_fd(f->sf, "simplefwd_actions");
	assert_true(f->pp >= 0 && f->fwd >= 0 && f->netdev_in >= 0 && f->md >= 0 &&
		    f->stats >= 0 && f->hw_action >= 0 && f->hw_stats >= 0 && f->sf_actions >= 0);
	/* The cube must really use the netdev object's maps, not copies. */
	assert_int_equal(t_map_id(t_map_fd(f->hw, PCN_MAP_FWD)), t_map_id(f->fwd));
	assert_int_equal(t_map_id(t_map_fd(f->sf, PCN_MAP_STATS)), t_map_id(f->stats));

	slot = HW;
	fd = t_prog_fd(f->hw, "pcn_entry");
	assert_int_equal(bpf_map_update_elem(f->pp, &slot, &fd, BPF_ANY), 0);
	slot = SF;
	fd = t_prog_fd(f->sf, "pcn_entry");
	assert_int_equal(bpf_map_update_elem(f->pp, &slot, &fd, BPF_ANY), 0);
	return f;
}

/* Puts the maps in the state a row describes, from a clean slate. */
static void row_setup(const struct fixture *f, const struct row *r)
{
	static const struct pcn_cube_stats zero_stats;
	static const struct helloworld_stats zero_hw;
	static const uint32_t cubes[] = { HW, SF, EMPTY };
	struct pcn_pkt_md md = { .in_port = r->in_port, .hops = 5, .reason = 9 };
	uint32_t zero = 0, key;
	size_t i;

	/* pcn_fwd is an array: "no peer" is an entry of kind PCN_PEER_NONE. */
	for (i = 0; i < sizeof(cubes) / sizeof(cubes[0]); i++)
		for (key = 0; key < 8; key++) {
			static const struct pcn_fwd_val none;
			uint32_t slot = pcn_fwd_slot(cubes[i], key);

			assert_int_equal(bpf_map_update_elem(f->fwd, &slot, &none, BPF_ANY), 0);
		}
	assert_int_equal(t_hash_clear(f->netdev_in), 0);
	/* simplefwd_actions is an array too: "no action" is an entry of zeros. */
	for (key = 0; key < PCN_MAX_PORTS; key++) {
		static const struct simplefwd_action no_action;

		assert_int_equal(bpf_map_update_elem(f->sf_actions, &key, &no_action, BPF_ANY), 0);
	}
	for (i = 0; i < sizeof(cubes) / sizeof(cubes[0]); i++)
		assert_int_equal(t_percpu_set(f->stats, cubes[i], &zero_stats, sizeof(zero_stats)), 0);
	assert_int_equal(t_percpu_set(f->hw_stats, 0, &zero_hw, sizeof(zero_hw)), 0);
	/* Stale hops/reason from a previous packet: a cube entry keeps what its
	 * caller set, so only rows entering through a cube start with them clean. */
	if (r->entry != E_NETDEV) {
		md.hops = 0;
		md.reason = 0;
	}
	assert_int_equal(t_percpu_set(f->md, 0, &md, sizeof(md)), 0);
	assert_int_equal(bpf_map_update_elem(f->hw_action, &zero, &r->hw_action, BPF_ANY), 0);

	for (i = 0; i < sizeof(r->sf) / sizeof(r->sf[0]); i++) {
		const struct sf_rule *s = &r->sf[i];

		if (!s->port && !s->a.action && !s->a.outport)
			continue;
		assert_int_equal(bpf_map_update_elem(f->sf_actions, &s->port, &s->a, BPF_ANY), 0);
	}
	if (r->has_netdev_in) {
		key = f->lo;
		assert_int_equal(bpf_map_update_elem(f->netdev_in, &key, &r->netdev_in, BPF_ANY), 0);
	}
	for (i = 0; i < sizeof(r->wires) / sizeof(r->wires[0]); i++) {
		const struct wire *w = &r->wires[i];
		uint32_t k = pcn_fwd_slot(w->cube, w->port);
		struct pcn_fwd_val v = { .kind = w->kind };

		if (!w->kind)
			continue;
		if (w->kind == PCN_PEER_NETDEV) {
			v.ifindex = lo_fix(f, w->to);
		} else {
			v.cube_index = w->to;
			v.port = w->to_port;
		}
		assert_int_equal(bpf_map_update_elem(f->fwd, &k, &v, BPF_ANY), 0);
	}
}

static void row_check(const struct fixture *f, const struct row *r, uint32_t retval)
{
	struct helloworld_stats hw;
	struct pcn_pkt_md md;
	size_t i;

	print_message("[%s] %s\n", f->hook->name, r->what);
	assert_int_equal(retval, f->hook->act[r->want]);
	for (i = 0; i < sizeof(r->stats) / sizeof(r->stats[0]); i++) {
		const struct want_stats *w = &r->stats[i];
		struct pcn_cube_stats got;

		if (!w->cube)
			continue;
		assert_int_equal(t_percpu_sum_u64(f->stats, w->cube, &got, sizeof(got)), 0);
		assert_int_equal(got.rx_packets, w->s.rx_packets);
		assert_int_equal(got.tx_netdev, w->s.tx_netdev);
		assert_int_equal(got.tx_cube, w->s.tx_cube);
		assert_int_equal(got.drop_verdict, w->s.drop_verdict);
		assert_int_equal(got.drop_no_peer, w->s.drop_no_peer);
		assert_int_equal(got.drop_tail_call, w->s.drop_tail_call);
		assert_int_equal(got.pass, w->s.pass);
		assert_int_equal(got.to_slowpath, w->s.to_slowpath);
	}
	assert_int_equal(t_percpu_sum_u64(f->hw_stats, 0, &hw, sizeof(hw)), 0);
	assert_int_equal(hw.forwarded, r->hw.forwarded);
	assert_int_equal(hw.dropped, r->hw.dropped);
	assert_int_equal(hw.slowpath, r->hw.slowpath);
	if (r->check_md) {
		assert_int_equal(t_percpu_get(f->md, 0, f->cpu, &md, sizeof(md)), 0);
		assert_int_equal(md.cube_index, r->md.cube_index);
		assert_int_equal(md.in_port, r->md.in_port);
		assert_int_equal(md.hops, r->md.hops);
		assert_int_equal(md.reason, r->md.reason);
		if (r->md.out_ifindex)
			assert_int_equal(md.out_ifindex, lo_fix(f, r->md.out_ifindex));
	}
}

static void test_rows(void **state)
{
	struct fixture *f = fixture_up(state);
	uint8_t frame[128];
	size_t len = t_icmp_frame(frame, sizeof(frame)), i;

	assert_true(len > 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct bpf_object *obj = r->entry == E_NETDEV ? f->netdev
					 : r->entry == E_HW   ? f->hw
							      : f->sf;
		const char *prog = r->entry == E_NETDEV ? "pcn_netdev_entry" : "pcn_entry";
		uint32_t retval = 0xdead;

		row_setup(f, r);
		assert_int_equal(t_run(t_prog_fd(obj, prog), frame, len, &retval), 0);
		row_check(f, r, retval);
	}
}

/* A wiring loop (helloworld's port 1 wired back into helloworld) does not
 * hang the CPU: pcn_pkt_send stops it at PCN_MAX_HOPS (32: the kernel's
 * tail-call limit of 33 on 6.18, less the netdev input program's jump that
 * a real packet has already spent), and the refused hop is a drop counted
 * as drop_tail_call (and as hop-limit in pcn_chain_stats). */
static void test_tail_call_loop(void **state)
{
	struct fixture *f = fixture_up(state);
	static const struct row loop = { .entry = E_HW, .hw_action = HELLOWORLD_ACTION_FORWARD,
					 .wires = { CUBE(HW, 1, HW, 0) } };
	struct pcn_cube_stats got;
	struct pcn_pkt_md md;
	uint8_t frame[128];
	size_t len = t_icmp_frame(frame, sizeof(frame));
	uint32_t retval = 0xdead;

	row_setup(f, &loop);
	assert_int_equal(t_run(t_prog_fd(f->hw, "pcn_entry"), frame, len, &retval), 0);
	assert_int_equal(retval, f->hook->act[V_DROP]);
	assert_int_equal(t_percpu_sum_u64(f->stats, HW, &got, sizeof(got)), 0);
	assert_int_equal(got.rx_packets, PCN_MAX_HOPS + 1);
	assert_int_equal(got.tx_cube, PCN_MAX_HOPS);
	assert_int_equal(got.drop_tail_call, 1);
	assert_int_equal(got.drop_verdict, 1);
	assert_int_equal(t_percpu_get(f->md, 0, f->cpu, &md, sizeof(md)), 0);
	assert_int_equal(md.hops, PCN_MAX_HOPS);
}

/* With pcn_log_level at TRACE the pcn_log lines are no longer pruned: the
 * program must still load (bpf_printk is accepted in both hooks) and
 * behave the same, counting under its own index. */
static void test_log_trace(void **state)
{
	struct fixture *f = fixture_up(state);
	static const struct row fwd = { .entry = E_HW, .hw_action = HELLOWORLD_ACTION_FORWARD,
					.wires = { NETDEV(HW_TRACE, 1, LO) } };
	struct bpf_object *obj = NULL;
	struct pcn_cube_stats got;
	uint8_t frame[128];
	size_t len = t_icmp_frame(frame, sizeof(frame)), sz;
	const void *elf = f->hook->hw_elf(&sz);
	uint32_t retval = 0xdead;
	int err;

	err = t_obj_load(&obj, "hw_trace", elf, sz, HW_TRACE, LEVEL_TRACE, f->netdev);
	assert_int_equal(err, 0);
	row_setup(f, &fwd);
	assert_int_equal(t_percpu_set(f->stats, HW_TRACE, &(struct pcn_cube_stats){ 0 },
				      sizeof(got)),
			 0);
	/* Its private action map is its own: FORWARD must be set there. */
	err = bpf_map_update_elem(t_map_fd(obj, "helloworld_action"), &(uint32_t){ 0 },
				  &fwd.hw_action, BPF_ANY);
	if (!err)
		err = t_run(t_prog_fd(obj, "pcn_entry"), frame, len, &retval);
	if (!err)
		err = t_percpu_sum_u64(f->stats, HW_TRACE, &got, sizeof(got));
	bpf_object__close(obj);
	assert_int_equal(err, 0);
	assert_int_equal(retval, f->hook->act[V_REDIRECT]);
	assert_int_equal(got.rx_packets, 1);
	assert_int_equal(got.tx_netdev, 1);
}

int main(void)
{
	/* Named per hook, so a failure says which build of the fast path broke. */
	const struct CMUnitTest tests[] = {
		{ "rows_xdp", test_rows, NULL, fixture_teardown, (void *)&hook_xdp },
		{ "rows_tc", test_rows, NULL, fixture_teardown, (void *)&hook_tc },
		{ "tail_call_loop_xdp", test_tail_call_loop, NULL, fixture_teardown,
		  (void *)&hook_xdp },
		{ "tail_call_loop_tc", test_tail_call_loop, NULL, fixture_teardown,
		  (void *)&hook_tc },
		{ "log_trace_xdp", test_log_trace, NULL, fixture_teardown, (void *)&hook_xdp },
		{ "log_trace_tc", test_log_trace, NULL, fixture_teardown, (void *)&hook_tc },
	};

	return cmocka_run_group_tests_name("bpf_fastpath", tests, NULL, NULL);
}

/* broker_netmon on a real loop: a veth of this process going up, down,
 * renamed and deleted is reported, and stop leaves the loop empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"
#include "dp_testutil.h"

#define MAX_EV 64

struct seen {
	int ifindex; /* only events of this link are recorded */
	int n;
	enum broker_link_event ev[MAX_EV];
	char name[MAX_EV][IF_NAMESIZE];
};

static char va[IF_NAMESIZE], vb[IF_NAMESIZE], vr[IF_NAMESIZE];

static int setup(void **state)
{
	dpt_veth_names(va, vb, "nm");
	/* The renamed end: same prefix, different last letter. */
	snprintf(vr, sizeof(vr), "%s", va);
	vr[strlen(vr) - 1] = 'r';
	dpt_veth_del(vr);
	return dpt_veth_add(va, vb);
}

static int teardown(void **state)
{
	dpt_veth_del(va);
	dpt_veth_del(vr);
	return 0;
}

static void on_link(void *arg, int ifindex, const char *ifname, enum broker_link_event ev)
{
	struct seen *s = arg;

	if (ifindex != s->ifindex || s->n == MAX_EV)
		return;
	s->ev[s->n] = ev;
	snprintf(s->name[s->n], IF_NAMESIZE, "%s", ifname);
	s->n++;
}

static void on_timer(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* Runs the loop until s has `want` events or 3 s pass. */
static void run_until(uv_loop_t *loop, struct seen *s, int want)
{
	uv_timer_t t;
	int expired = 0;

	uv_timer_init(loop, &t);
	t.data = &expired;
	uv_timer_start(&t, on_timer, 3000, 0);
	while (s->n < want && !expired)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

static void test_up_down_rename_delete(void **state)
{
	struct broker_netmon *nm = NULL;
	struct seen s = { 0 };
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	s.ifindex = if_nametoindex(va);
	assert_true(s.ifindex > 0);
	assert_int_equal(broker_netmon_start(&nm, &loop, on_link, &s), 0);

	/* Up and running needs both ends up. */
	assert_int_equal(dpt_sh("ip link set %s up && ip link set %s up", va, vb), 0);
	run_until(&loop, &s, 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0], BROKER_LINK_UP);
	assert_string_equal(s.name[0], va);

	assert_int_equal(dpt_sh("ip link set %s down", va), 0);
	run_until(&loop, &s, 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ev[1], BROKER_LINK_DOWN);

	/* A change that is not up/down (MTU) is not an event. */
	assert_int_equal(dpt_sh("ip link set %s mtu 1400", va), 0);
	assert_int_equal(dpt_sh("ip link set %s name %s", va, vr), 0);
	run_until(&loop, &s, 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.ev[2], BROKER_LINK_DOWN);
	assert_string_equal(s.name[2], vr);

	assert_int_equal(dpt_sh("ip link del %s", vr), 0);
	run_until(&loop, &s, 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ev[3], BROKER_LINK_DELETED);
	assert_string_equal(s.name[3], vr);

	broker_netmon_stop(nm);
	broker_netmon_stop(NULL);
	/* The close callback frees it; then nothing is left on the loop. */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_start_rejects_bad_args(void **state)
{
	struct broker_netmon *nm = NULL;
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(broker_netmon_start(&nm, &loop, NULL, NULL), -EINVAL);
	assert_int_equal(broker_netmon_start(&nm, NULL, on_link, NULL), -EINVAL);
	assert_null(nm);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_up_down_rename_delete, setup, teardown),
		cmocka_unit_test(test_start_rejects_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

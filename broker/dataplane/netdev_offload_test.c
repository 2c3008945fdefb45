/* Offloads turned off on a veth's other end while an XDP port is peered with
 * it (netdev_offload.c), on a real veth whose other end is in a namespace
 * of this test's own: what is turned off for each hook, what GET /netdevs
 * shows, that exactly what was on comes back on detach, also through a
 * broker restart, and that a setting the user made is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane.h"
#include "dp_testutil.h"

struct fx {
	char root[256];
	char a[IF_NAMESIZE], b[IF_NAMESIZE];
	char ns[32];
	int ifa;
	struct broker_dp *dp;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	dpt_root(f->root, sizeof(f->root), "ofl");
	dpt_veth_names(f->a, f->b, "of");
	snprintf(f->ns, sizeof(f->ns), "cmtofl%d", (int)getpid());
	broker_dp_flush(f->root);
	dpt_sh("ip netns del %s 2>/dev/null", f->ns);
	if (dpt_veth_add(f->a, f->b) < 0 ||
	    dpt_sh("ip netns add %s && ip link set %s netns %s && ip -n %s link set %s up && ip link set %s up", f->ns,
		   f->b, f->ns, f->ns, f->b, f->a) != 0)
		return -1;
	f->ifa = if_nametoindex(f->a);
	return f->ifa <= 0 || broker_dp_create(&f->dp, f->root) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	dpt_veth_del(f->a);
	dpt_sh("ip netns del %s 2>/dev/null", f->ns);
	broker_dp_destroy(f->dp);
	broker_dp_flush(f->root);
	free(f);
	return 0;
}

/* 1 if the far end's feature reads state ("on"/"off"). */
static int far(struct fx *f, const char *feature, const char *state)
{
	char needle[96];

	snprintf(needle, sizeof(needle), "%s: %s", feature, state);
	return dpt_sh_grep(needle, "ip netns exec %s ethtool -k %s", f->ns, f->b);
}

/* 1 if GET /netdevs/<a> lists feature as turned off by Cubemesh. */
static int claimed(struct fx *f, const char *feature)
{
	json_t *o = NULL, *list, *v;
	size_t i;
	int found = 0;

	if (broker_netdev_get(f->a, &o) < 0)
		return -1;
	list = json_object_get(json_object_get(o, "peer-offload"), "turned-off-by-cubemesh");
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), feature) == 0)
			found = 1;
	json_decref(o);
	return found;
}

static void drv_turns_checksum_off_and_back(void **state)
{
	struct fx *f = *state;

	assert_true(far(f, "tx-checksum-ip-generic", "on"));
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 0), 0);
	assert_true(far(f, "tx-checksumming", "off"));
	assert_int_equal(claimed(f, "tx-checksum-ip-generic"), 1);
	/* Attaching again (a stack change, a restart) keeps what was on. */
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 1), 0);
	assert_int_equal(claimed(f, "tx-checksum-ip-generic"), 1);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_true(far(f, "tx-checksum-ip-generic", "on"));
	assert_true(far(f, "tx-checksumming", "on"));
	assert_int_equal(claimed(f, "tx-checksum-ip-generic"), 0);
}

static void skb_turns_segmentation_off_and_back(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_SKB, 2, 0), 0);
	assert_true(far(f, "tx-tcp-segmentation", "off"));
	assert_true(far(f, "tx-checksumming", "on")); /* generic XDP keeps the checksum state */
	assert_int_equal(claimed(f, "tx-tcp-segmentation"), 1);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_SKB), 0);
	assert_true(far(f, "tx-tcp-segmentation", "on"));
}

static void tc_changes_nothing(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_TC, 2, 0), 0);
	assert_true(far(f, "tx-checksumming", "on"));
	assert_true(far(f, "tx-tcp-segmentation", "on"));
	assert_int_equal(claimed(f, "tx-checksum-ip-generic"), 0);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_TC), 0);
}

/* The broker restarts while the port is peered: the new one still knows
 * what to give back (bpffs), and shows it once it attached again. */
static void restore_after_restart(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 0), 0);
	assert_true(far(f, "tx-checksumming", "off"));
	broker_dp_destroy(f->dp);
	f->dp = NULL;
	assert_int_equal(broker_dp_create(&f->dp, f->root), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 0), 0);
	assert_int_equal(claimed(f, "tx-checksum-ip-generic"), 1);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_true(far(f, "tx-checksum-ip-generic", "on"));
}

/* What the user had off stays off, and is not claimed. */
static void user_setting_left_alone(void **state)
{
	struct fx *f = *state;

	assert_int_equal(dpt_sh("ip netns exec %s ethtool -K %s tx-checksum-ip-generic off", f->ns, f->b), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 0), 0);
	assert_true(far(f, "tx-checksum-sctp", "off"));
	assert_int_equal(claimed(f, "tx-checksum-ip-generic"), 0);
	assert_int_equal(claimed(f, "tx-checksum-sctp"), 1);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_true(far(f, "tx-checksum-ip-generic", "off"));
	assert_true(far(f, "tx-checksum-sctp", "on"));
}

/* The veth deleted while peered: detach is clean and forgets it. */
static void veth_gone(void **state)
{
	struct fx *f = *state;

	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 0), 0);
	dpt_veth_del(f->a);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_int_equal(dpt_sh("test -z \"$(ls -A %s/shared/txoff 2>/dev/null)\"", f->root), 0);
}

/* The far end's namespace has no name and no process: only this test's
 * descriptor keeps it. The broker cannot enter it: the attach works, the
 * offload stays on, and GET /netdevs says why (the log has the command). */
static void namespace_out_of_reach(void **state)
{
	struct fx *f = *state;
	char path[64];
	json_t *o = NULL, *po;
	int nsfd;

	snprintf(path, sizeof(path), "/run/netns/%s", f->ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(nsfd >= 0);
	assert_int_equal(dpt_sh("ip netns del %s", f->ns), 0);
	assert_int_equal(broker_netdev_attach(f->dp, f->ifa, PCN_HOOK_XDP_DRV, 2, 0), 0);
	assert_int_equal(dpt_sh_grep("tx-checksumming: on", "nsenter --net=/proc/%d/fd/%d ethtool -k %s",
				     (int)getpid(), nsfd, f->b), 1);
	assert_int_equal(broker_netdev_get(f->a, &o), 0);
	po = json_object_get(o, "peer-offload");
	assert_non_null(po);
	assert_int_equal(json_array_size(json_object_get(po, "turned-off-by-cubemesh")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(po, "error")), "cannot open"));
	json_decref(o);
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_int_equal(broker_netdev_get(f->a, &o), 0);
	assert_null(json_object_get(o, "peer-offload"));
	json_decref(o);
	close(nsfd);
}

/* Attaches at hook (asserting it succeeds); 1 if the log has needle. */
static int attach_logs(struct fx *f, enum pcn_hook hook, const char *needle)
{
	int rc, has = dpt_attach_logs(f->dp, f->ifa, hook, needle, &rc);

	assert_int_equal(rc, 0);
	return has;
}

/* The GRO warning reads GRO on the far end in its namespace: none when it
 * is on, one naming it when it is off. */
static void gro_read_in_the_peer_namespace(void **state)
{
	struct fx *f = *state;
	char needle[64];

	snprintf(needle, sizeof(needle), "peer %s is in another namespace", f->b);
	assert_int_equal(dpt_sh("ip netns exec %s ethtool -K %s gro on", f->ns, f->b), 0);
	assert_false(attach_logs(f, PCN_HOOK_XDP_DRV, "BROKER-XDP-VETH-GRO"));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
	assert_int_equal(dpt_sh("ip netns exec %s ethtool -K %s gro off", f->ns, f->b), 0);
	assert_true(attach_logs(f, PCN_HOOK_XDP_DRV, needle));
	assert_int_equal(broker_netdev_detach(f->dp, f->ifa, PCN_HOOK_XDP_DRV), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(drv_turns_checksum_off_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(skb_turns_segmentation_off_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(tc_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(restore_after_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(user_setting_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(veth_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(namespace_out_of_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(gro_read_in_the_peer_namespace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

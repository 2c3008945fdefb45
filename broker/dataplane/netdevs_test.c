/* GET /netdevs data: listing, one netdev, name/ifindex lookups, status. */
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
#include <unistd.h>

#include "dataplane.h"
#include "dp_testutil.h"

static char va[IF_NAMESIZE], vb[IF_NAMESIZE];

static int setup(void **state)
{
	dpt_veth_names(va, vb, "ls");
	return dpt_veth_add(va, vb);
}

static int teardown(void **state)
{
	dpt_veth_del(va);
	return 0;
}

/* Operstate follows carrier through the kernel's linkwatch work, a moment
 * after `ip link set up` returns: poll for up to two seconds. */
static int is_up_settled(int ifindex, int want)
{
	int rc = -1;

	for (int i = 0; i < 200; i++) {
		rc = broker_netdev_is_up(ifindex);
		if (rc == want)
			break;
		usleep(10 * 1000);
	}
	return rc;
}

static json_t *find(json_t *arr, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			return o;
	}
	return NULL;
}

static void test_list_has_lo_and_veth(void **state)
{
	json_t *arr = NULL, *lo, *a;

	assert_int_equal(broker_netdevs_list(&arr), 0);
	assert_true(json_is_array(arr));
	lo = find(arr, "lo");
	assert_non_null(lo);
	assert_int_equal(json_integer_value(json_object_get(lo, "ifindex")), 1);
	assert_string_equal(json_string_value(json_object_get(lo, "status")), "UP");
	assert_string_equal(json_string_value(json_object_get(lo, "type")), "loopback");
	assert_string_equal(json_string_value(json_object_get(lo, "mac")), "00:00:00:00:00:00");
	assert_int_equal(json_integer_value(json_object_get(lo, "mtu")), 65536);

	a = find(arr, va);
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "type")), "veth");
	assert_string_equal(json_string_value(json_object_get(a, "status")), "DOWN");
	assert_int_equal(json_integer_value(json_object_get(a, "ifindex")), if_nametoindex(va));
	assert_int_equal(strlen(json_string_value(json_object_get(a, "mac"))), 17);
	json_decref(arr);
}

static void test_get_and_status(void **state)
{
	json_t *o = NULL;
	int ifindex = if_nametoindex(va);
	char mac[32];

	assert_int_equal(broker_netdev_ifindex(va), ifindex);
	assert_int_equal(broker_netdev_ifindex("cmt-no-such"), -ENODEV);
	assert_int_equal(broker_netdev_ifindex(""), -ENODEV);
	assert_int_equal(broker_netdev_is_up(ifindex), 0);
	/* One end up is not enough: a veth has carrier only with both up. */
	assert_int_equal(dpt_sh("ip link set %s up", va), 0);
	usleep(50 * 1000);
	assert_int_equal(broker_netdev_is_up(ifindex), 0);
	assert_int_equal(dpt_sh("ip link set %s up && ip link set %s address 02:00:00:00:00:2a mtu 1400", vb, va), 0);
	assert_int_equal(is_up_settled(ifindex, 1), 1);
	assert_int_equal(broker_netdev_is_up(1), 1);
	assert_int_equal(broker_netdev_is_up(0x7ffffff0), -ENODEV);

	assert_int_equal(broker_netdev_get(va, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), va);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "UP");
	snprintf(mac, sizeof(mac), "%s", json_string_value(json_object_get(o, "mac")));
	assert_string_equal(mac, "02:00:00:00:00:2a");
	assert_int_equal(json_integer_value(json_object_get(o, "mtu")), 1400);
	json_decref(o);
	o = NULL;
	assert_int_equal(broker_netdev_get("cmt-no-such", &o), -ENOENT);
	assert_null(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_has_lo_and_veth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_and_status, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* rtnl.c: a veth pair made, brought up with an alias, its sysctl written
 * and deleted over rtnetlink, each effect read back from /sys and
 * /proc/sys, not from the code under test. */
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

#include "dp_testutil.h"
#include "rtnl.h"

static char va[IF_NAMESIZE], vb[IF_NAMESIZE];

/* The first line of a file, without its newline; "" if unreadable. */
static const char *read_line(const char *dir, const char *name, const char *leaf)
{
	static char buf[512];
	char path[256];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, leaf);
	f = fopen(path, "r");
	if (!f)
		return buf;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int setup(void **state)
{
	(void)state;
	dpt_veth_names(va, vb, "rtnl");
	dpt_veth_del(va); /* a leftover of a killed run */
	return 0;
}

/* Runs after a failed test too: the pair never outlives the test. */
static int teardown(void **state)
{
	(void)state;
	dpt_veth_del(va);
	return 0;
}

static void test_veth_life(void **state)
{
	const char *alias = "/sys/fs/bpf/a b;'$(x)'";
	unsigned long flags;
	int ia, ib;

	(void)state;
	assert_int_equal(broker_rtnl_veth_add(va, vb), 0);
	ia = (int)if_nametoindex(va);
	ib = (int)if_nametoindex(vb);
	assert_true(ia > 0 && ib > 0);
	/* b is a's peer: a's iflink is b's index. */
	assert_int_equal(atoi(read_line("/sys/class/net", va, "iflink")), ib);
	assert_string_equal(read_line("/sys/class/net", va, "ifalias"), "");
	/* Exclusive: an existing name is an error, not a replacement. */
	assert_int_equal(broker_rtnl_veth_add(va, vb), -EEXIST);
	assert_int_equal((int)if_nametoindex(va), ia);

	assert_int_equal(broker_sysctl_netdev("ipv6", va, "disable_ipv6", "1"), 0);
	assert_string_equal(read_line("/proc/sys/net/ipv6/conf", va, "disable_ipv6"), "1");
	assert_string_equal(read_line("/proc/sys/net/ipv6/conf", vb, "disable_ipv6"), "0");

	flags = strtoul(read_line("/sys/class/net", va, "flags"), NULL, 16);
	assert_false(flags & IFF_UP);
	assert_int_equal(broker_rtnl_link_up(va, alias), 0);
	assert_int_equal(broker_rtnl_link_up(vb, NULL), 0);
	flags = strtoul(read_line("/sys/class/net", va, "flags"), NULL, 16);
	assert_true(flags & IFF_UP);
	flags = strtoul(read_line("/sys/class/net", vb, "flags"), NULL, 16);
	assert_true(flags & IFF_UP);
	/* Byte for byte: no shell ever read it. */
	assert_string_equal(read_line("/sys/class/net", va, "ifalias"), alias);

	assert_int_equal(broker_rtnl_link_del(va), 0);
	assert_int_equal(if_nametoindex(va), 0);
	assert_int_equal(if_nametoindex(vb), 0);
	assert_int_equal(broker_rtnl_link_del(va), -ENODEV);
}

static void test_refusals(void **state)
{
	(void)state;
	/* The kernel's errno for a link that is not there. */
	assert_int_equal(broker_rtnl_link_up(va, NULL), -ENODEV);
	assert_int_equal(broker_rtnl_link_del(va), -ENODEV);
	assert_int_equal(broker_sysctl_netdev("ipv6", va, "disable_ipv6", "1"), -ENOENT);
	/* Names the kernel could not take, or that would name another file,
	 * never leave the process. */
	assert_int_equal(broker_rtnl_veth_add("", vb), -EINVAL);
	assert_int_equal(broker_rtnl_veth_add(va, "sixteen-chars-xx"), -EINVAL);
	assert_int_equal(if_nametoindex(va), 0);
	assert_int_equal(broker_rtnl_link_del("sixteen-chars-xx"), -EINVAL);
	assert_int_equal(broker_sysctl_netdev("ipv6", "..", "disable_ipv6", "1"), -EINVAL);
	assert_int_equal(broker_sysctl_netdev("ipv6", "all/../lo", "disable_ipv6", "1"), -EINVAL);
	assert_int_equal(broker_sysctl_netdev("ipv6", "lo", "../../ipv4/ip_forward", "1"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_veth_life, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

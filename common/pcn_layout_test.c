/* Tests of the layout paths: safe components join, every unsafe one (empty,
 * ".", "..", '/', a refused character, too long) is -EINVAL, a path that does
 * not fit is -ENAMETOOLONG, and a refused path never leaves a cut one behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pcn_layout.h"

#define ROOT "/sys/fs/bpf/cubemesh"

/* Names that must never become a path component, whatever the rule. */
static const char *const unsafe[] = {
	"", ".", "..", "a/b", "/", "../etc", "a b", "a\\b", "a@b", "a:b", "a\nb", "caf\xc3\xa9", "*", "a'b",
};

static void test_name_check(void **state)
{
	static const char *const good[] = { "a", "hw1", "web-1", "x_y", "ABC", "0" };
	static const char *const bad[] = { "web.1", "a..b", ".x", "x.", "1.0" };
	char longest[PCN_NAME_MAX], too_long[PCN_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(pcn_name_check(good[i]), 0);
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		assert_int_equal(pcn_name_check(unsafe[i]), -EINVAL);
	/* bpffs refuses a dot anywhere in a name. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pcn_name_check(bad[i]), -EINVAL);
	assert_int_equal(pcn_name_check(NULL), -EINVAL);
	memset(longest, 'n', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_int_equal(pcn_name_check(longest), 0);
	memset(too_long, 'n', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(pcn_name_check(too_long), -EINVAL);
}

static void test_component_check(void **state)
{
	char c[PCN_COMPONENT_MAX + 2];

	(void)state;
	assert_int_equal(pcn_component_check("prog"), 0);
	assert_int_equal(pcn_component_check("attachments.json"), 0);
	assert_int_equal(pcn_component_check("a..b"), 0); /* one step, not a climb */
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		assert_int_equal(pcn_component_check(unsafe[i]), -EINVAL);
	assert_int_equal(pcn_component_check(NULL), -EINVAL);
	memset(c, 'c', PCN_COMPONENT_MAX);
	c[PCN_COMPONENT_MAX] = '\0';
	assert_int_equal(pcn_component_check(c), 0);
	c[PCN_COMPONENT_MAX] = 'c';
	c[PCN_COMPONENT_MAX + 1] = '\0';
	assert_int_equal(pcn_component_check(c), -EINVAL);
}

static void test_path_safe(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(pcn_path(buf, sizeof(buf), ROOT, "shared", "pcn_fwd", (const char *)NULL), 0);
	assert_string_equal(buf, ROOT "/shared/pcn_fwd");
	assert_int_equal(pcn_path(buf, sizeof(buf), NULL, "cubes", "hw", (const char *)NULL), 0);
	assert_string_equal(buf, "cubes/hw");
	assert_int_equal(pcn_path(buf, sizeof(buf), "", "a", (const char *)NULL), 0);
	assert_string_equal(buf, "a");
	assert_int_equal(pcn_path(buf, sizeof(buf), ROOT, (const char *)NULL), 0);
	assert_string_equal(buf, ROOT);
	assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", "hw1", NULL), 0);
	assert_string_equal(buf, ROOT "/cubes/helloworld/hw1");
	assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", "hw1", PCN_PIN_PROG), 0);
	assert_string_equal(buf, ROOT "/cubes/helloworld/hw1/prog");
	assert_int_equal(pcn_layout_shared(buf, sizeof(buf), ROOT, NULL), 0);
	assert_string_equal(buf, ROOT "/shared");
	assert_int_equal(pcn_layout_shared(buf, sizeof(buf), ROOT, "netdev_xdp_7"), 0);
	assert_string_equal(buf, ROOT "/shared/netdev_xdp_7");
	assert_int_equal(pcn_layout_record(buf, sizeof(buf), "helloworld", "hw1", NULL), 0);
	assert_string_equal(buf, "helloworld@hw1.json");
	assert_int_equal(pcn_layout_record(buf, sizeof(buf), "my_svc-2.0", "hw1", ".tmp"), 0);
	assert_string_equal(buf, "my_svc-2.0@hw1.json.tmp");
}

static void test_path_unsafe(void **state)
{
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		strcpy(buf, "untouched");
		assert_int_equal(pcn_path(buf, sizeof(buf), ROOT, "cubes", unsafe[i], "prog", (const char *)NULL),
				 -EINVAL);
		assert_string_equal(buf, "");
		strcpy(buf, "untouched");
		assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", unsafe[i], NULL), -EINVAL);
		assert_string_equal(buf, "");
		assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, unsafe[i], "hw1", NULL), -EINVAL);
		assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", "hw1", unsafe[i]), -EINVAL);
		assert_int_equal(pcn_layout_shared(buf, sizeof(buf), ROOT, unsafe[i]), -EINVAL);
		assert_int_equal(pcn_layout_record(buf, sizeof(buf), unsafe[i], "hw1", NULL), -EINVAL);
		assert_int_equal(pcn_layout_record(buf, sizeof(buf), "helloworld", unsafe[i], NULL), -EINVAL);
	}
	/* A name with a dot is a fine file name but not a pin directory. */
	assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", "web.1", NULL), -EINVAL);
	assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", "a..b", NULL), -EINVAL);
	/* An unsafe component is refused even when the path would not fit anyway. */
	assert_int_equal(pcn_path(buf, 4, ROOT, "..", (const char *)NULL), -EINVAL);
}

static void test_path_too_long(void **state)
{
	char buf[32], name[PCN_NAME_MAX];

	(void)state;
	/* Exactly fits: 31 characters and the NUL. */
	assert_int_equal(pcn_path(buf, sizeof(buf), "/r", "0123456789", "0123456789", "012345",
				  (const char *)NULL),
			 0);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	/* One more byte: refused, and nothing cut is left in buf. */
	assert_int_equal(pcn_path(buf, sizeof(buf), "/r", "0123456789", "0123456789", "0123456",
				  (const char *)NULL),
			 -ENAMETOOLONG);
	assert_string_equal(buf, "");
	assert_int_equal(pcn_path(buf, sizeof(buf), "/a-root-longer-than-the-buffer-itself", (const char *)NULL),
			 -ENAMETOOLONG);
	assert_string_equal(buf, "");
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(pcn_layout_cube(buf, sizeof(buf), ROOT, "helloworld", name, NULL), -ENAMETOOLONG);
	assert_string_equal(buf, "");
	assert_int_equal(pcn_layout_record(buf, sizeof(buf), "helloworld", name, NULL), -ENAMETOOLONG);
	assert_string_equal(buf, "");
	assert_int_equal(pcn_layout_record(buf, sizeof("a@b.json"), "a", "b", NULL), 0);
	assert_int_equal(pcn_layout_record(buf, sizeof("a@b.json"), "a", "b", ".tmp"), -ENAMETOOLONG);
	assert_int_equal(pcn_path(buf, 0, ROOT, (const char *)NULL), -ENAMETOOLONG);
}

static void test_hooks(void **state)
{
	enum pcn_hook h = PCN_HOOK_TC;

	(void)state;
	assert_string_equal(pcn_hook_name(PCN_HOOK_XDP_DRV), "XDP_DRV");
	assert_string_equal(pcn_hook_name((enum pcn_hook)7), "?");
	assert_int_equal(pcn_hook_parse("xdp_skb", &h), 0);
	assert_int_equal(h, PCN_HOOK_XDP_SKB);
	assert_int_equal(pcn_hook_parse("XDP", &h), -EINVAL);
	assert_int_equal(pcn_hook_parse(NULL, &h), -EINVAL);
	assert_int_equal(h, PCN_HOOK_XDP_SKB);
}

static void test_peer_split(void **state)
{
	char cube[PCN_NAME_MAX] = "x", port[PCN_NAME_MAX] = "y";
	char big[PCN_NAME_MAX + 8];

	(void)state;
	assert_int_equal(pcn_peer_split("veth1", cube, sizeof(cube), port, sizeof(port)), 0);
	assert_string_equal(cube, "x");
	assert_int_equal(pcn_peer_split("br1:port2", cube, sizeof(cube), port, sizeof(port)), 1);
	assert_string_equal(cube, "br1");
	assert_string_equal(port, "port2");
	assert_int_equal(pcn_peer_split("", cube, sizeof(cube), port, sizeof(port)), -EINVAL);
	assert_int_equal(pcn_peer_split(":p", cube, sizeof(cube), port, sizeof(port)), -EINVAL);
	assert_int_equal(pcn_peer_split("c:", cube, sizeof(cube), port, sizeof(port)), -EINVAL);
	assert_int_equal(pcn_peer_split("a:b:c", cube, sizeof(cube), port, sizeof(port)), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[2] = ':';
	assert_int_equal(pcn_peer_split(big, cube, sizeof(cube), port, sizeof(port)), -EINVAL);
	assert_int_equal(pcn_peer_split("br1:p", cube, 3, port, sizeof(port)), -EINVAL);
}

static void test_errors(void **state)
{
	(void)state;
	assert_int_equal(pcn_errno_http(-EINVAL), 400);
	assert_int_equal(pcn_errno_http(-EBUSY), 409);
	assert_int_equal(pcn_errno_http(-EOPNOTSUPP), 500);
	assert_int_equal(pcn_errno_http(-12345), 500);
	assert_int_equal(pcn_http_errno(409), -EEXIST);
	assert_int_equal(pcn_http_errno(405), -EOPNOTSUPP);
	assert_int_equal(pcn_http_errno(418), -EIO);
	/* Both ways agree on every status the table names. */
	for (int st = 400; st < 600; st++)
		if (pcn_http_errno(st) != -EIO && st != 405)
			assert_int_equal(pcn_errno_http(pcn_http_errno(st)), st);
	assert_string_equal(pcn_http_tag(404), "data-missing");
	assert_string_equal(pcn_http_tag(500), "operation-failed");
}

static void test_sock_names(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(pcn_sock_cube(buf, sizeof(buf), PCN_SOCK_CUBE, "router", 0), 0);
	assert_string_equal(buf, "cube-router.sock");
	assert_int_equal(pcn_sock_cube(buf, sizeof(buf), PCN_SOCK_CUBE_PKT, "router", 0), 0);
	assert_string_equal(buf, "cube-router-pkt.sock");
	assert_int_equal(pcn_sock_cube(buf, sizeof(buf), PCN_SOCK_CUBE_PID, "router", 42), 0);
	assert_string_equal(buf, "cube-router-42.sock");
	assert_int_equal(pcn_sock_cube(buf, 8, PCN_SOCK_CUBE, "router", 0), -ENAMETOOLONG);
}

/* A cube's stream socket is its endpoint's with ".stream"; nothing else
 * (another scheme, not a cube's socket, no ".sock") gives one. */
static void test_sock_stream(void **state)
{
	char buf[128], longurl[160];

	(void)state;
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), "ipc:///run/cubemesh/cube-router.sock"), 0);
	assert_string_equal(buf, "/run/cubemesh/cube-router.stream");
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), "ipc:///run/cubemesh/cube-router-42.sock"), 0);
	assert_string_equal(buf, "/run/cubemesh/cube-router-42.stream");
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), "tcp://127.0.0.1:1/cube-x.sock"), -EINVAL);
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), "ipc:///run/cubemesh/broker.sock"), -EINVAL);
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), "ipc:///run/cubemesh/cube-x"), -EINVAL);
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), "ipc://cube-x.sock"), -EINVAL);
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), NULL), -EINVAL);
	assert_string_equal(buf, "");
	assert_int_equal(pcn_sock_stream(buf, 8, "ipc:///run/cubemesh/cube-router.sock"), -ENAMETOOLONG);
	/* Longer than a unix socket address holds (108). */
	snprintf(longurl, sizeof(longurl), "ipc:///%0100d/cube-r.sock", 0);
	assert_int_equal(pcn_sock_stream(buf, sizeof(buf), longurl), -ENAMETOOLONG);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),     cmocka_unit_test(test_component_check),
		cmocka_unit_test(test_path_safe),      cmocka_unit_test(test_path_unsafe),
		cmocka_unit_test(test_path_too_long),  cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_peer_split),     cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sock_names),     cmocka_unit_test(test_sock_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* bridge_frame: VLAN membership of access and trunk ports, the frame each
 * port is sent (tag added, removed, kept), MAC text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "bridge_frame.h"

static void access_port(void **state)
{
	struct bridge_port p;

	(void)state;
	bridge_port_access(&p, 10);
	assert_int_equal(p.mode, BRIDGE_PORT_ACCESS);
	assert_int_equal(p.pvid, 10);
	assert_true(bridge_port_has_vlan(&p, 10));
	assert_false(bridge_port_has_vlan(&p, 1));
	assert_false(bridge_port_has_vlan(&p, 11));
	assert_false(bridge_port_wants_tag(&p, 10));
}

static void trunk_port(void **state)
{
	const uint16_t allowed[] = { 10, 20, 4094 };
	struct bridge_port p;

	(void)state;
	bridge_port_trunk(&p, allowed, 3, 1);
	assert_int_equal(p.mode, BRIDGE_PORT_TRUNK);
	assert_true(bridge_port_has_vlan(&p, 1));
	assert_true(bridge_port_has_vlan(&p, 10));
	assert_true(bridge_port_has_vlan(&p, 20));
	assert_true(bridge_port_has_vlan(&p, 4094));
	assert_false(bridge_port_has_vlan(&p, 30));
	assert_false(bridge_port_has_vlan(&p, 0));
	assert_false(bridge_port_has_vlan(&p, 4095));
	assert_false(bridge_port_wants_tag(&p, 1)); /* native: untagged */
	assert_true(bridge_port_wants_tag(&p, 10));

	/* Native VLAN off: no untagged VLAN at all, 1 is not a member. */
	bridge_port_trunk(&p, allowed, 3, 0);
	assert_false(bridge_port_has_vlan(&p, 1));
	assert_true(bridge_port_wants_tag(&p, 10));
}

static void flood_lists(void **state)
{
	static struct bridge_port ports[40];
	const uint16_t allowed[] = { 10, 20 };
	struct bridge_flood fl;

	(void)state;
	memset(ports, 0, sizeof(ports));
	bridge_port_access(&ports[0], 10);
	bridge_port_access(&ports[2], 20);
	bridge_port_trunk(&ports[3], allowed, 2, 1);
	bridge_port_access(&ports[5], 10);
	bridge_flood_list(ports, 40, 10, &fl);
	assert_int_equal(fl.n, 3);
	assert_int_equal(fl.slow, 0);
	assert_int_equal(fl.e[0].port, 0);
	assert_int_equal(fl.e[0].tagged, 0);
	assert_int_equal(fl.e[1].port, 3);
	assert_int_equal(fl.e[1].tagged, 1);
	assert_int_equal(fl.e[2].port, 5);
	bridge_flood_list(ports, 40, 1, &fl); /* the trunk's native VLAN only */
	assert_int_equal(fl.n, 1);
	assert_int_equal(fl.e[0].port, 3);
	assert_int_equal(fl.e[0].tagged, 0);
	bridge_flood_list(ports, 40, 30, &fl);
	assert_int_equal(fl.n, 0);
	assert_int_equal(fl.slow, 0);
	/* More ports than the fast path floods: the slow path takes the VLAN. */
	for (int i = 0; i < 40; i++)
		bridge_port_access(&ports[i], 7);
	bridge_flood_list(ports, 40, 7, &fl);
	assert_int_equal(fl.n, 0);
	assert_int_equal(fl.slow, 1);
	bridge_flood_list(ports, BRIDGE_FLOOD_FAST, 7, &fl);
	assert_int_equal(fl.n, BRIDGE_FLOOD_FAST);
	assert_int_equal(fl.slow, 0);
}

static const uint8_t untagged[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06, 0xaa, 0xbb,
};
static const uint8_t tagged20[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x14, 0x08, 0x06, 0xaa, 0xbb,
};

static void frames(void **state)
{
	uint8_t out[64];
	size_t n;

	(void)state;
	/* untagged -> tagged */
	n = bridge_frame_for_port(untagged, sizeof(untagged), 1, 20, out);
	assert_int_equal(n, sizeof(tagged20));
	assert_memory_equal(out, tagged20, n);
	/* tagged -> untagged */
	n = bridge_frame_for_port(tagged20, sizeof(tagged20), 0, 20, out);
	assert_int_equal(n, sizeof(untagged));
	assert_memory_equal(out, untagged, n);
	/* tagged -> tagged (another VLAN id is written as given) */
	n = bridge_frame_for_port(tagged20, sizeof(tagged20), 1, 20, out);
	assert_int_equal(n, sizeof(tagged20));
	assert_memory_equal(out, tagged20, n);
	/* untagged stays untagged */
	n = bridge_frame_for_port(untagged, sizeof(untagged), 0, 1, out);
	assert_int_equal(n, sizeof(untagged));
	assert_memory_equal(out, untagged, n);
	/* a 4094 tag keeps its 12 bits */
	n = bridge_frame_for_port(untagged, sizeof(untagged), 1, 4094, out);
	assert_int_equal(out[14], 0x0f);
	assert_int_equal(out[15], 0xfe);
	/* too short to be a frame */
	assert_int_equal(bridge_frame_for_port(untagged, 13, 1, 20, out), 0);
	assert_int_equal(bridge_frame_for_port(tagged20, 16, 0, 20, out), 0);
}

static void macs(void **state)
{
	uint8_t mac[6];
	char text[18];

	(void)state;
	assert_int_equal(bridge_mac_parse("C5:13:2d:36:27:9B", mac), 0);
	bridge_mac_format(mac, text);
	assert_string_equal(text, "c5:13:2d:36:27:9b");
	assert_int_not_equal(bridge_mac_parse("c5:13:2d:36:27", mac), 0);
	assert_int_not_equal(bridge_mac_parse("c5:13:2d:36:27:9b:00", mac), 0);
	assert_int_not_equal(bridge_mac_parse("c5-13-2d-36-27-9b", mac), 0);
	assert_int_not_equal(bridge_mac_parse(NULL, mac), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(access_port),
		cmocka_unit_test(trunk_port),
		cmocka_unit_test(flood_lists),
		cmocka_unit_test(frames),
		cmocka_unit_test(macs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

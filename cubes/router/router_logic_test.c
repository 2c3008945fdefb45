/* router_logic: prefixes, the interface of a next hop, the routing table
 * the configuration makes (costs, connected and local entries, longest
 * prefix), and the frames the slow path builds (checksums verified). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "router_logic.h"

static uint32_t A(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(router_parse_addr(s, &a), 0);
	return a;
}

static void test_parse(void **state)
{
	uint32_t a;
	uint8_t l, mac[6];
	char buf[24];

	(void)state;
	assert_int_equal(router_parse_prefix("10.0.1.254/24", &a, &l), 0);
	assert_int_equal(a, A("10.0.1.254"));
	assert_int_equal(l, 24);
	assert_int_equal(router_parse_prefix("10.0.1.254", &a, &l), -EINVAL);
	assert_int_equal(router_parse_prefix("10.0.1.254/33", &a, &l), -EINVAL);
	assert_int_equal(router_parse_prefix("10.0.1.254/", &a, &l), -EINVAL);
	assert_int_equal(router_parse_prefix("10.0.1/24", &a, &l), -EINVAL);
	assert_int_equal(router_parse_prefix("0.0.0.0/0", &a, &l), 0);
	assert_int_equal(l, 0);
	assert_int_equal(router_mask(0), 0);
	assert_int_equal(router_mask(24), htonl(0xffffff00));
	assert_int_equal(router_mask(32), 0xffffffff);
	router_fmt_prefix(buf, sizeof(buf), A("10.0.3.0"), 24);
	assert_string_equal(buf, "10.0.3.0/24");
	assert_int_equal(router_parse_mac("02:AB:cd:00:11:ff", mac), 0);
	assert_memory_equal(mac, "\x02\xab\xcd\x00\x11\xff", 6);
	assert_int_equal(router_parse_mac("02:ab:cd:00:11", mac), -EINVAL);
	assert_int_equal(router_parse_mac("02:ab:cd:00:11:ff:00", mac), -EINVAL);
}

static void test_mac_generate(void **state)
{
	uint8_t a[6], b[6], c[6];

	(void)state;
	router_mac_generate("r1", "port1", a);
	router_mac_generate("r1", "port1", b);
	router_mac_generate("r1", "port2", c);
	assert_memory_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	assert_int_equal(a[0], 0x02); /* locally administered unicast */
}

/* Three ports: p0 10.0.1.254/24 with secondary 10.10.0.1/16, p1
 * 10.0.2.254/24, p2 without address; slot 3 unused. */
static void three_ports(struct router_iface *ifs)
{
	memset(ifs, 0, 4 * sizeof(*ifs));
	ifs[0].valid = ifs[0].has_ip = true;
	strcpy(ifs[0].name, "p0");
	ifs[0].ip = (struct router_addr){ A("10.0.1.254"), 24 };
	ifs[0].nsec = 1;
	ifs[0].sec[0] = (struct router_addr){ A("10.10.0.1"), 16 };
	ifs[1].valid = ifs[1].has_ip = true;
	strcpy(ifs[1].name, "p1");
	ifs[1].ip = (struct router_addr){ A("10.0.2.254"), 24 };
	ifs[2].valid = true;
	strcpy(ifs[2].name, "p2");
}

static void test_iface_for(void **state)
{
	struct router_iface ifs[4];
	uint32_t src = 0;

	(void)state;
	three_ports(ifs);
	assert_int_equal(router_iface_for(ifs, 4, A("10.0.2.7"), &src), 1);
	assert_int_equal(src, A("10.0.2.254"));
	assert_int_equal(router_iface_for(ifs, 4, A("10.0.1.1"), &src), 0);
	assert_int_equal(src, A("10.0.1.254"));
	/* The secondary network answers with the secondary address. */
	assert_int_equal(router_iface_for(ifs, 4, A("10.10.5.5"), &src), 0);
	assert_int_equal(src, A("10.10.0.1"));
	assert_int_equal(router_iface_for(ifs, 4, A("10.0.3.1"), NULL), -ENOENT);
	/* A port gone is not a candidate. */
	ifs[1].valid = false;
	assert_int_equal(router_iface_for(ifs, 4, A("10.0.2.7"), NULL), -ENOENT);
}

static void test_rtable(void **state)
{
	struct router_iface ifs[4];
	struct router_rtable t = { 0 };
	const struct router_rt_entry *e;
	struct router_rt_entry r = { .net = A("10.0.3.77"), .len = 24, .port = 1, .nexthop = A("10.0.2.2"), .cost = 5 };

	(void)state;
	three_ports(ifs);
	assert_int_equal(router_rtable_connected(&t, ifs, 4), 0);
	/* 3 addresses: a LOCAL /32 and a connected network each. */
	assert_int_equal(t.n, 6);
	e = router_rtable_find(&t, A("10.0.1.0"), 24);
	assert_non_null(e);
	assert_true(e->connected);
	assert_int_equal(e->port, 0);
	e = router_rtable_find(&t, A("10.10.0.1"), 32);
	assert_non_null(e);
	assert_int_equal(e->flags, ROUTER_RT_LOCAL);

	/* Static: stored masked; the cheaper of two routes to a prefix wins. */
	assert_int_equal(router_rtable_add(&t, &r), 0);
	e = router_rtable_find(&t, A("10.0.3.0"), 24);
	assert_non_null(e);
	assert_int_equal(e->net, A("10.0.3.0"));
	r.nexthop = A("10.0.1.9");
	r.port = 0;
	r.cost = 2;
	assert_int_equal(router_rtable_add(&t, &r), 0);
	assert_int_equal(router_rtable_find(&t, A("10.0.3.0"), 24)->nexthop, A("10.0.1.9"));
	r.nexthop = A("10.0.2.3");
	r.cost = 9;
	assert_int_equal(router_rtable_add(&t, &r), 0);
	assert_int_equal(router_rtable_find(&t, A("10.0.3.0"), 24)->nexthop, A("10.0.1.9"));
	/* A static route never replaces a connected one (cost 0) ... */
	r = (struct router_rt_entry){ .net = A("10.0.2.0"), .len = 24, .port = 0, .nexthop = A("10.0.1.9"), .cost = 0 };
	assert_int_equal(router_rtable_add(&t, &r), 0);
	assert_true(router_rtable_find(&t, A("10.0.2.0"), 24)->connected);
	/* ... nor a LOCAL /32. */
	r = (struct router_rt_entry){ .net = A("10.0.2.254"), .len = 32, .port = 0, .nexthop = A("10.0.1.9") };
	assert_int_equal(router_rtable_add(&t, &r), 0);
	assert_int_equal(router_rtable_find(&t, A("10.0.2.254"), 32)->flags, ROUTER_RT_LOCAL);

	/* Longest prefix: a default route, a /16, a /24 inside it. */
	r = (struct router_rt_entry){ .net = 0, .len = 0, .port = 1, .nexthop = A("10.0.2.1"), .cost = 1 };
	assert_int_equal(router_rtable_add(&t, &r), 0);
	assert_int_equal(router_rtable_lpm(&t, A("8.8.8.8"))->len, 0);
	assert_int_equal(router_rtable_lpm(&t, A("10.10.9.9"))->len, 16);
	assert_int_equal(router_rtable_lpm(&t, A("10.0.3.4"))->len, 24);
	assert_int_equal(router_rtable_lpm(&t, A("10.0.1.254"))->flags, ROUTER_RT_LOCAL);
	router_rtable_free(&t);
	assert_null(router_rtable_lpm(&t, A("10.0.3.4")));
}

static const uint8_t port_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t host_mac[6] = { 2, 0, 0, 0, 0, 9 };

/* An Ethernet + IPv4 + ICMP echo request from 10.0.1.1 to dst, 8 bytes of
 * payload. */
static size_t echo_request(uint8_t *f, const char *dst, uint8_t ttl)
{
	uint8_t *ip = f + 14, *icmp = ip + 20;
	uint32_t s = A("10.0.1.1"), d = A(dst);

	memset(f, 0, 64);
	memcpy(f, port_mac, 6);
	memcpy(f + 6, host_mac, 6);
	f[12] = 8;
	ip[0] = 0x45;
	ip[3] = 36;
	ip[8] = ttl;
	ip[9] = 1;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	memcpy(ip + 10, &(uint16_t){ router_csum(ip, 20) }, 2);
	icmp[0] = 8;
	memcpy(icmp + 4, "\x12\x34\x00\x01" "abcdefgh", 12);
	memcpy(icmp + 2, &(uint16_t){ router_csum(icmp, 16) }, 2);
	return 50;
}

static void test_frames(void **state)
{
	uint8_t req[128], out[256];
	uint8_t *ip = out + 14, *icmp = ip + 20;
	size_t n;

	(void)state;
	assert_int_equal(router_csum("\x45\x00\x00\x1c", 4), htons(~(0x4500 + 0x001c) & 0xffff));

	n = router_build_arp_request(out, port_mac, A("10.0.1.254"), A("10.0.1.7"));
	assert_int_equal(n, 42);
	assert_memory_equal(out, "\xff\xff\xff\xff\xff\xff", 6);
	assert_memory_equal(out + 6, port_mac, 6);
	assert_memory_equal(out + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	assert_memory_equal(out + 28, &(uint32_t){ A("10.0.1.254") }, 4);
	assert_memory_equal(out + 38, &(uint32_t){ A("10.0.1.7") }, 4);

	/* Echo reply: addresses swapped, TTL 64, both checksums right. */
	n = echo_request(req, "10.0.1.254", 5);
	assert_int_equal(router_build_echo_reply(out, sizeof(out), req, n, port_mac), 50);
	assert_memory_equal(out, port_mac, 6);
	assert_memory_equal(ip + 12, &(uint32_t){ A("10.0.1.254") }, 4);
	assert_memory_equal(ip + 16, &(uint32_t){ A("10.0.1.1") }, 4);
	assert_int_equal(ip[8], 64);
	assert_int_equal(router_csum(ip, 20), 0);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(router_csum(icmp, 16), 0);
	assert_memory_equal(icmp + 4, "\x12\x34\x00\x01" "abcdefgh", 12);
	/* Not an echo request: nothing. */
	req[14 + 20] = 0;
	assert_int_equal(router_build_echo_reply(out, sizeof(out), req, n, port_mac), 0);

	/* Time exceeded about a TTL 1 echo: from the port's address, the
	 * header and 8 bytes quoted. */
	n = echo_request(req, "10.0.3.1", 1);
	n = router_build_icmp_error(out, sizeof(out), req, n, 11, 0, A("10.0.1.254"), port_mac);
	assert_int_equal(n, 14 + 20 + 8 + 28);
	assert_memory_equal(ip + 12, &(uint32_t){ A("10.0.1.254") }, 4);
	assert_memory_equal(ip + 16, &(uint32_t){ A("10.0.1.1") }, 4);
	assert_int_equal(router_csum(ip, 20), 0);
	assert_int_equal(icmp[0], 11);
	assert_int_equal(router_csum(icmp, 8 + 28), 0);
	assert_memory_equal(icmp + 8, req + 14, 28);
	/* Never about an ICMP error ... */
	memcpy(req, out, n);
	assert_int_equal(router_build_icmp_error(out, sizeof(out), req, n, 3, 0, A("10.0.1.254"), port_mac), 0);
	/* ... nor about a multicast source or a non-first fragment. */
	n = echo_request(req, "10.0.3.1", 1);
	req[14 + 12] = 224;
	assert_int_equal(router_build_icmp_error(out, sizeof(out), req, n, 3, 0, A("10.0.1.254"), port_mac), 0);
	n = echo_request(req, "10.0.3.1", 1);
	req[14 + 7] = 8;
	assert_int_equal(router_build_icmp_error(out, sizeof(out), req, n, 3, 0, A("10.0.1.254"), port_mac), 0);
	/* Not IPv4: nothing. */
	n = echo_request(req, "10.0.3.1", 1);
	req[12] = 0x86;
	assert_int_equal(router_build_icmp_error(out, sizeof(out), req, n, 3, 0, A("10.0.1.254"), port_mac), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),     cmocka_unit_test(test_mac_generate),
		cmocka_unit_test(test_iface_for), cmocka_unit_test(test_rtable),
		cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

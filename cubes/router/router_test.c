/* router's control plane against its real fast path (root; skips
 * otherwise), one frame at a time through BPF_PROG_TEST_RUN: a routed
 * frame leaves with the next hop's MAC, the port's MAC, TTL - 1 and a
 * right checksum (the incremental update's carries included); the router answers
 * ARP for its own addresses on the port they are on, and learns the
 * asker; a wrong destination MAC, TTL 1 and an unroutable destination are
 * not forwarded (the last two counted); a static route's interface comes
 * from its next hop, deleting it stops that traffic, and an apply keeps
 * what the fast path learned. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "pcn_kern_user.h"
#include "router_int.h"
#include "router_logic.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc router_desc;

static const char *const two_ports[] = { "p1", "p2", NULL };

#define P1MAC "02:00:00:00:01:fe"
#define NHMAC "02:00:00:00:02:01"
#define R1(extra)                                                                                    \
	"{\"router:router\":[{\"name\":\"r1\",\"ports\":[{\"name\":\"p1\",\"ip\":\"10.0.1.254/24\","  \
	"\"mac\":\"" P1MAC "\"},{\"name\":\"p2\",\"ip\":\"10.0.2.254/24\"}],"                         \
	"\"arp-table\":[{\"address\":\"10.0.2.1\",\"mac\":\"" NHMAC "\",\"interface\":\"p2\"}]" extra \
	"}]}"
#define ROUTE9 ",\"route\":[{\"network\":\"10.0.9.0/24\",\"nexthop\":\"10.0.2.1\"}]"

static int setup(void **state)
{
	struct cube_harness *h = calloc(1, sizeof(*h));

	*state = h;
	if (cube_harness_init(h, &router_desc)) {
		cube_harness_fini(h);
		h->rt = NULL;
	}
	return 0;
}

static int teardown(void **state)
{
	struct cube_harness *h = *state;

	if (h->rt)
		cube_harness_fini(h);
	router_free_all();
	free(h);
	return 0;
}

static int apply(struct cube_harness *h, int op, const char *json)
{
	return cube_harness_apply(h, op, "r1", PCN_HOOK_XDP_DRV, json, two_ports);
}

/* Both ports are wired to a netdev (lo), so a frame sent out of either
 * gets XDP_REDIRECT. The harness's instance has slot 7. */
static void wire_ports(struct cube_harness *h)
{
	struct pcn_fwd_val peer = { .kind = PCN_PEER_NETDEV, .ifindex = 1 };
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/shared/pcn_fwd", h->bpffs);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	for (uint32_t port = 0; port < 2; port++) {
		uint32_t key = pcn_fwd_slot(7, port);

		assert_int_equal(bpf_map_update_elem(fd, &key, &peer, BPF_ANY), 0);
	}
	close(fd);
}

/* Runs frame (arriving on p1: the metadata map starts zeroed) through the
 * program once; out gets the frame as the program left it. The verdict. */
static int run(struct cube_harness *h, const uint8_t *frame, size_t len, uint8_t *out)
{
	char prog[160];
	int fd;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = 128, .repeat = 1);

	snprintf(prog, sizeof(prog), "%s/cubes/router/r1/prog", h->bpffs);
	fd = bpf_obj_get(prog);
	assert_true(fd >= 0);
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	close(fd);
	return (int)opts.retval;
}

static uint32_t A(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(router_parse_addr(s, &a), 0);
	return a;
}

/* UDP from 10.0.1.1 to dst with ttl and IP id, to dst_mac. 64 bytes. */
static size_t udp_frame(uint8_t *f, const char *dst_mac, const char *dst, uint8_t ttl, uint16_t id)
{
	uint8_t *ip = f + 14;
	uint32_t s = A("10.0.1.1"), d = A(dst);

	memset(f, 0, 64);
	assert_int_equal(router_parse_mac(dst_mac, f), 0);
	memcpy(f + 6, "\x02\x00\x00\x00\x01\x01", 6);
	f[12] = 8;
	ip[0] = 0x45;
	ip[3] = 50;
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[8] = ttl;
	ip[9] = 17;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	memcpy(ip + 10, &(uint16_t){ router_csum(ip, 20) }, 2);
	return 64;
}

/* Not inlined: gcc 12 then takes strstr over the result for a pointer into
 * this frame (-Wdangling-pointer). */
static __attribute__((noinline)) char *state_of(struct cube_harness *h)
{
	char *json = NULL;

	assert_int_equal(pcn__state_read(cube_harness_instance(h, "r1"), NULL, &json), 0);
	return json;
}

/* The MAC the state shows for port p2 (generated). */
static void p2_mac(struct cube_harness *h, uint8_t mac[6])
{
	static const char key[] = "\"name\":\"p2\",\"mac\":\"";
	char *json = state_of(h), text[18] = "";
	const char *at = strstr(json, key);

	if (at)
		snprintf(text, sizeof(text), "%s", at + strlen(key));
	free(json);
	assert_int_equal(router_parse_mac(text, mac), 0);
}

static void test_forward(void **state)
{
	struct cube_harness *h = *state;
	uint8_t f[64], out[128], mac2[6], nh[6];

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, R1("")), 0);
	wire_ports(h);
	p2_mac(h, mac2);
	assert_int_equal(mac2[0], 0x02);
	router_parse_mac(NHMAC, nh);
	/* A sample of IP ids, and every id whose checksum makes the update
	 * carry (out of the TTL's byte, and around the end); both ends of
	 * the TTL. */
	for (unsigned id = 0; id < 65536; id++) {
		uint8_t ttl = id & 1 ? 255 : 2;
		uint16_t check;

		udp_frame(f, P1MAC, "10.0.2.1", ttl, (uint16_t)id);
		memcpy(&check, f + 14 + 10, 2);
		check = ntohs(check);
		if (id % 251 && (check >> 8) != 0xff)
			continue;
		assert_int_equal(run(h, f, sizeof(f), out), XDP_REDIRECT);
		assert_memory_equal(out, nh, 6);
		assert_memory_equal(out + 6, mac2, 6);
		assert_int_equal(out[14 + 8], ttl - 1);
		assert_int_equal(router_csum(out + 14, 20), 0);
		/* Nothing else changed. */
		assert_memory_equal(out + 12, f + 12, 2 + 8);
		assert_memory_equal(out + 14 + 9, f + 14 + 9, 1);
		assert_memory_equal(out + 14 + 12, f + 14 + 12, 64 - 14 - 12);
	}
}

static void test_arp(void **state)
{
	struct cube_harness *h = *state;
	uint8_t req[64] = { 0 }, out[128], p1mac[6];
	char *json;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, R1("")), 0);
	wire_ports(h);
	router_parse_mac(P1MAC, p1mac);
	memset(req, 0xff, 6);
	memcpy(req + 6, "\x02\x00\x00\x00\x01\x01", 6);
	memcpy(req + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(req + 22, "\x02\x00\x00\x00\x01\x01", 6);
	memcpy(req + 28, &(uint32_t){ A("10.0.1.1") }, 4);
	memcpy(req + 38, &(uint32_t){ A("10.0.1.254") }, 4);
	assert_int_equal(run(h, req, 60, out), XDP_REDIRECT);
	assert_memory_equal(out, "\x02\x00\x00\x00\x01\x01", 6);
	assert_memory_equal(out + 6, p1mac, 6);
	assert_memory_equal(out + 20, "\x00\x02", 2); /* reply */
	assert_memory_equal(out + 22, p1mac, 6);
	assert_memory_equal(out + 28, &(uint32_t){ A("10.0.1.254") }, 4);
	assert_memory_equal(out + 32, "\x02\x00\x00\x00\x01\x01", 6);
	assert_memory_equal(out + 38, &(uint32_t){ A("10.0.1.1") }, 4);
	json = state_of(h);
	assert_non_null(strstr(json, "{\"address\":\"10.0.1.1\",\"mac\":\"02:00:00:00:01:01\",\"interface\":\"p1\"}"));
	free(json);
	/* p2's address is not answered on p1. */
	memcpy(req + 38, &(uint32_t){ A("10.0.2.254") }, 4);
	assert_int_equal(run(h, req, 60, out), XDP_DROP);
	/* A gratuitous ARP (for its own address) of a known host with a new
	 * MAC updates it; one of an unknown host is not learned. */
	memcpy(req + 6, "\x02\x00\x00\x00\x01\x02", 6);
	memcpy(req + 22, "\x02\x00\x00\x00\x01\x02", 6);
	memcpy(req + 38, &(uint32_t){ A("10.0.1.1") }, 4);
	assert_int_equal(run(h, req, 60, out), XDP_DROP);
	memcpy(req + 28, &(uint32_t){ A("10.0.1.3") }, 4);
	memcpy(req + 38, &(uint32_t){ A("10.0.1.3") }, 4);
	assert_int_equal(run(h, req, 60, out), XDP_DROP);
	json = state_of(h);
	assert_non_null(strstr(json, "{\"address\":\"10.0.1.1\",\"mac\":\"02:00:00:00:01:02\",\"interface\":\"p1\"}"));
	assert_null(strstr(json, "10.0.1.3"));
	free(json);
	/* An apply keeps what was learned. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, R1(ROUTE9)), 0);
	json = state_of(h);
	assert_non_null(strstr(json, "\"address\":\"10.0.1.1\""));
	free(json);
}

static void test_not_forwarded(void **state)
{
	struct cube_harness *h = *state;
	uint8_t f[64], out[128], nh[6];
	char *json;

	if (!h->rt)
		skip();
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_CREATE, R1("")), 0);
	wire_ports(h);
	router_parse_mac(NHMAC, nh);
	udp_frame(f, "02:00:00:00:99:99", "10.0.2.1", 64, 1);
	assert_int_equal(run(h, f, sizeof(f), out), XDP_DROP);
	udp_frame(f, P1MAC, "10.0.2.1", 1, 1);
	assert_int_equal(run(h, f, sizeof(f), out), XDP_DROP);
	udp_frame(f, P1MAC, "10.0.9.5", 64, 1);
	assert_int_equal(run(h, f, sizeof(f), out), XDP_DROP);
	json = state_of(h);
	assert_non_null(strstr(json, "\"unreachable\":\"1\""));
	assert_non_null(strstr(json, "\"ttl-exceeded\":\"1\""));
	free(json);

	/* A static route: its interface from the next hop; then deleted. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, R1(ROUTE9)), 0);
	json = state_of(h);
	assert_non_null(strstr(json, "{\"network\":\"10.0.9.0/24\",\"nexthop\":\"10.0.2.1\",\"interface\":\"p2\"}"));
	assert_non_null(strstr(json, "{\"network\":\"10.0.1.0/24\",\"nexthop\":\"local\",\"interface\":\"p1\""));
	free(json);
	assert_int_equal(run(h, f, sizeof(f), out), XDP_REDIRECT);
	assert_memory_equal(out, nh, 6);
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE, R1("")), 0);
	assert_int_equal(run(h, f, sizeof(f), out), XDP_DROP);
	json = state_of(h);
	assert_non_null(strstr(json, "\"unreachable\":\"2\""));
	free(json);

	/* A next hop on no port's network, or a port that does not exist. */
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       R1(",\"route\":[{\"network\":\"10.0.9.0/24\",\"nexthop\":\"10.0.7.1\"}]")),
			 -EINVAL);
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       R1(",\"route\":[{\"network\":\"10.0.9.0/24\",\"nexthop\":\"10.0.2.1\",\"interface\":\"p7\"}]")),
			 -EINVAL);
	assert_int_equal(apply(h, CUBEMESH__APPLY_OP__APPLY_UPDATE,
			       R1(",\"route\":[{\"network\":\"10.0.9.0/24\",\"nexthop\":\"10.0.2.254\"}]")),
			 -EINVAL);
	/* Refused changes left the table as it was. */
	assert_int_equal(run(h, f, sizeof(f), out), XDP_DROP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_forwarded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* nat's control plane against its real fast path, at TC and at XDP:
 * frames run through the loaded program (BPF_PROG_TEST_RUN) in the
 * direction each would take, and what comes out is checked field by field
 * and against checksums recomputed here from scratch (IP, and TCP/UDP
 * with their pseudo header, ICMP over its message): an outgoing UDP, TCP
 * and echo request masqueraded, their replies translated back, an ICMP
 * port unreachable for the UDP flow translated inside and out, port
 * forwarding, the natting-table. Needs root (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "nat_shared.h"
#include "pcn_percpu.h"
#include "pcn_transparent_kern_user.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc nat_desc;
#include "nat_cp.h"

#define EXT "203.0.113.1"
#define IN_HOST "10.0.0.1"
#define OUT_HOST "198.51.100.7"

struct t_ctx {
	struct cube_harness h;
	enum pcn_hook hook;
	int prog, tmd;
};

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static int setup_hook(void **state, enum pcn_hook hook)
{
	struct t_ctx *t = calloc(1, sizeof(*t));
	struct pcn_parent_info p = { .name = "r1:p2", .n_ipv4 = 1, .prefix = { 24 } };
	char path[256], shared[200];
	struct pcn_instance *inst;

	*state = t;
	t->prog = t->tmd = -1;
	t->hook = hook;
	if (cube_harness_init(&t->h, &nat_desc) || !t->h.rt)
		return 0;
	/* masquerade on; port forwarding of EXT:8080/tcp to IN_HOST:80 */
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_CREATE, "n1", hook,
					    "{\"nat:nat\":[{\"name\":\"n1\",\"rule\":{"
					    "\"masquerade\":{\"enabled\":true},"
					    "\"port-forwarding\":{\"entry\":[{\"id\":0,\"external-ip\":\"" EXT "\","
					    "\"external-port\":8080,\"proto\":\"TCP\",\"internal-ip\":\"" IN_HOST "\","
					    "\"internal-port\":80}]}}}]}",
					    NULL),
			 0);
	inst = cube_harness_instance(&t->h, "n1");
	p.ipv4[0] = ip4(EXT);
	nat_desc.on_parent(inst, &p);
	snprintf(path, sizeof(path), "%s/cubes/nat/n1/prog", t->h.bpffs);
	t->prog = bpf_obj_get(path);
	assert_true(t->prog >= 0);
	assert_int_equal(pcn_layout_shared(shared, sizeof(shared), t->h.bpffs, NULL), 0);
	snprintf(path, sizeof(path), "%s/pcn_tmd", shared);
	t->tmd = bpf_obj_get(path);
	assert_true(t->tmd >= 0);
	return 0;
}

static int setup_tc(void **state) { return setup_hook(state, PCN_HOOK_TC); }
static int setup_xdp(void **state) { return setup_hook(state, PCN_HOOK_XDP_DRV); }

static int teardown(void **state)
{
	struct t_ctx *t = *state;

	if (t->prog >= 0)
		close(t->prog);
	if (t->tmd >= 0)
		close(t->tmd);
	cube_harness_fini(&t->h);
	free(t);
	return 0;
}

/* Runs frame f (len bytes) through the program in direction dir; the
 * result replaces f. */
static void run(struct t_ctx *t, unsigned char *f, size_t len, uint32_t dir)
{
	int n = libbpf_num_possible_cpus();
	size_t stride = pcn_percpu_stride(sizeof(struct pcn_tmd));
	char *v = calloc((size_t)n, stride);
	unsigned char out[256];
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f, .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out));

	assert_non_null(v);
	for (int i = 0; i < n; i++)
		((struct pcn_tmd *)(v + (size_t)i * stride))->dir = dir;
	assert_int_equal(bpf_map_update_elem(t->tmd, &zero, v, BPF_ANY), 0);
	free(v);
	assert_int_equal(bpf_prog_test_run_opts(t->prog, &opts), 0);
	assert_int_equal(opts.data_size_out, len);
	memcpy(f, out, len);
}

/* ---- checksums from scratch ---------------------------------------------- */

static uint32_t sum16(const void *p, size_t len, uint32_t s)
{
	const unsigned char *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		s += (uint32_t)(b[len - 1] << 8);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* 1 when the IP header at ip sums right. */
static int ip_ok(const unsigned char *ip)
{
	return fold(sum16(ip, (size_t)(ip[0] & 15) * 4, 0)) == 0xffff;
}

/* 1 when the L4 segment at l4 (len bytes, protocol proto) of the IP header
 * ip sums right: TCP/UDP with the pseudo header, ICMP alone. */
static int l4_ok(const unsigned char *ip, const unsigned char *l4, size_t len, int proto)
{
	uint32_t s = 0;

	if (proto != IPPROTO_ICMP) {
		s = sum16(ip + 12, 8, 0);
		s += (uint32_t)proto + (uint32_t)len;
	}
	return fold(sum16(l4, len, s)) == 0xffff;
}

/* Sets the checksums of a frame built here. */
static void fill_csums(unsigned char *f, size_t len)
{
	unsigned char *ip = f + ETH_HLEN, *l4 = ip + 20;
	size_t l4len = len - ETH_HLEN - 20;
	uint32_t s = 0;
	uint16_t c;
	int proto = ip[9];
	size_t off = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;

	ip[10] = ip[11] = 0;
	c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (unsigned char)(c >> 8);
	ip[11] = (unsigned char)c;
	l4[off] = l4[off + 1] = 0;
	if (proto != IPPROTO_ICMP)
		s = sum16(ip + 12, 8, 0) + (uint32_t)proto + (uint32_t)l4len;
	c = (uint16_t)~fold(sum16(l4, l4len, s));
	if (proto == IPPROTO_UDP && !c)
		c = 0xffff;
	l4[off] = (unsigned char)(c >> 8);
	l4[off + 1] = (unsigned char)c;
}

/* An Ethernet + IPv4 frame of proto from src to dst with l4 (len bytes). */
static size_t frame(unsigned char *f, int proto, const char *src, const char *dst, const void *l4, size_t len)
{
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = (uint8_t)proto };

	ip.tot_len = htons((uint16_t)(sizeof(ip) + len));
	ip.saddr = ip4(src);
	ip.daddr = ip4(dst);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + ETH_HLEN, &ip, sizeof(ip));
	memcpy(f + ETH_HLEN + sizeof(ip), l4, len);
	fill_csums(f, ETH_HLEN + sizeof(ip) + len);
	return ETH_HLEN + sizeof(ip) + len;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The frame's addresses and ports are these, and every checksum holds. */
static void expect(const unsigned char *f, size_t len, const char *src, unsigned sport, const char *dst,
		   unsigned dport)
{
	const unsigned char *ip = f + ETH_HLEN, *l4 = ip + 20;

	assert_int_equal(get32(ip + 12), ip4(src));
	assert_int_equal(get32(ip + 16), ip4(dst));
	if (ip[9] != IPPROTO_ICMP) {
		assert_int_equal(get16(l4), sport);
		assert_int_equal(get16(l4 + 2), dport);
	}
	assert_true(ip_ok(ip));
	assert_true(l4_ok(ip, l4, len - ETH_HLEN - 20, ip[9]));
}

static unsigned udp_out(struct t_ctx *t, uint16_t sport, uint16_t dport, unsigned char *f, size_t *len)
{
	struct udphdr uh = { .source = htons(sport), .dest = htons(dport), .len = htons(8 + 5) };
	unsigned char seg[13];

	memcpy(seg, &uh, 8);
	memcpy(seg + 8, "hello", 5);
	*len = frame(f, IPPROTO_UDP, IN_HOST, OUT_HOST, seg, sizeof(seg));
	run(t, f, *len, NAT_DIR_OUT);
	return get16(f + ETH_HLEN + 20);
}

static void test_udp_masquerade(void **state)
{
	struct t_ctx *t = *state;
	unsigned char f[256], r[256];
	size_t len;
	unsigned eport, eport2;
	char *json = NULL;

	if (t->prog < 0)
		skip();
	eport = udp_out(t, 5000, 53, f, &len);
	expect(f, len, EXT, eport, OUT_HOST, 53);
	assert_true(eport >= 1024);
	/* The same flow keeps its port; another flow gets another one. */
	assert_int_equal(udp_out(t, 5000, 53, f, &len), eport);
	eport2 = udp_out(t, 5001, 53, f, &len);
	assert_int_not_equal(eport2, eport);

	/* The reply comes back to the inside host. */
	{
		struct udphdr uh = { .source = htons(53), .dest = htons((uint16_t)eport), .len = htons(8 + 3) };
		unsigned char seg[11];

		memcpy(seg, &uh, 8);
		memcpy(seg + 8, "ans", 3);
		len = frame(r, IPPROTO_UDP, OUT_HOST, EXT, seg, sizeof(seg));
		run(t, r, len, NAT_DIR_IN);
		expect(r, len, OUT_HOST, 53, IN_HOST, 5000);
	}

	/* Port unreachable from OUT_HOST about the flow's datagram as it
	 * left (EXT:eport -> OUT_HOST:53): inner and outer translated. */
	{
		unsigned char msg[8 + 20 + 8], inner[ETH_HLEN + 20 + 13];
		size_t ilen;

		udp_out(t, 5000, 53, inner, &ilen);
		memset(msg, 0, 8);
		msg[0] = 3; /* destination unreachable */
		msg[1] = 3; /* port */
		memcpy(msg + 8, inner + ETH_HLEN, 28);
		len = frame(r, IPPROTO_ICMP, OUT_HOST, EXT, msg, sizeof(msg));
		run(t, r, len, NAT_DIR_IN);
		expect(r, len, OUT_HOST, 0, IN_HOST, 0);
		/* inner: IN_HOST:5000 -> OUT_HOST:53, its IP checksum right */
		assert_int_equal(get32(r + ETH_HLEN + 28 + 12), ip4(IN_HOST));
		assert_int_equal(get32(r + ETH_HLEN + 28 + 16), ip4(OUT_HOST));
		assert_int_equal(get16(r + ETH_HLEN + 48), 5000);
		assert_int_equal(get16(r + ETH_HLEN + 50), 53);
		assert_true(ip_ok(r + ETH_HLEN + 28));
	}

	/* The natting-table has the flow, from the inside. */
	assert_int_equal(pcn__state_read(cube_harness_instance(&t->h, "n1"), NULL, &json), 0);
	assert_non_null(strstr(json, "\"internal-src\":\"" IN_HOST "\",\"internal-dst\":\"" OUT_HOST
				     "\",\"internal-sport\":5000,\"internal-dport\":53,\"proto\":\"udp\","
				     "\"originating-rule\":\"masquerade\",\"external-ip\":\"" EXT "\""));
	free(json);
}

static void test_tcp_and_echo(void **state)
{
	struct t_ctx *t = *state;
	unsigned char f[256];
	struct tcphdr th = { .source = htons(40000), .dest = htons(443), .doff = 5, .syn = 1 };
	unsigned char echo[8 + 4] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g' };
	size_t len;
	unsigned eport, id;

	if (t->prog < 0)
		skip();
	len = frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th));
	run(t, f, len, NAT_DIR_OUT);
	eport = get16(f + ETH_HLEN + 20);
	expect(f, len, EXT, eport, OUT_HOST, 443);
	/* SYN-ACK back */
	th.source = htons(443);
	th.dest = htons((uint16_t)eport);
	th.ack = 1;
	len = frame(f, IPPROTO_TCP, OUT_HOST, EXT, &th, sizeof(th));
	run(t, f, len, NAT_DIR_IN);
	expect(f, len, OUT_HOST, 443, IN_HOST, 40000);

	/* An echo request gets an id of its own; the reply gets it back. */
	len = frame(f, IPPROTO_ICMP, IN_HOST, OUT_HOST, echo, sizeof(echo));
	run(t, f, len, NAT_DIR_OUT);
	expect(f, len, EXT, 0, OUT_HOST, 0);
	id = get16(f + ETH_HLEN + 24);
	/* Time exceeded on the way, quoting the request as it left (the new
	 * id): back to the inside host, quoting its own id, checksums right. */
	{
		unsigned char msg[8 + 20 + sizeof(echo)], e[256];
		const unsigned char *in;

		memset(msg, 0, 8);
		msg[0] = 11; /* time exceeded */
		memcpy(msg + 8, f + ETH_HLEN, 20 + sizeof(echo));
		len = frame(e, IPPROTO_ICMP, "192.0.2.1", EXT, msg, sizeof(msg));
		run(t, e, len, NAT_DIR_IN);
		expect(e, len, "192.0.2.1", 0, IN_HOST, 0);
		in = e + ETH_HLEN + 28;
		assert_int_equal(get32(in + 12), ip4(IN_HOST));
		assert_int_equal(get32(in + 16), ip4(OUT_HOST));
		assert_int_equal(get16(in + 24), 0x1234);
		assert_true(ip_ok(in));
		assert_true(l4_ok(in, in + 20, sizeof(echo), IPPROTO_ICMP));
	}
	echo[0] = 0;
	echo[4] = (unsigned char)(id >> 8);
	echo[5] = (unsigned char)id;
	len = frame(f, IPPROTO_ICMP, OUT_HOST, EXT, echo, sizeof(echo));
	run(t, f, len, NAT_DIR_IN);
	expect(f, len, OUT_HOST, 0, IN_HOST, 0);
	assert_int_equal(get16(f + ETH_HLEN + 24), 0x1234);
}

static void test_port_forwarding(void **state)
{
	struct t_ctx *t = *state;
	unsigned char f[256];
	struct tcphdr th = { .source = htons(33333), .dest = htons(8080), .doff = 5, .syn = 1 };
	size_t len;

	if (t->prog < 0)
		skip();
	len = frame(f, IPPROTO_TCP, OUT_HOST, EXT, &th, sizeof(th));
	run(t, f, len, NAT_DIR_IN);
	expect(f, len, OUT_HOST, 33333, IN_HOST, 80);
	/* The inside host refuses it with an ICMP error quoting the segment
	 * as it got it: the error leaves from EXT, quoting OUT_HOST:33333 ->
	 * EXT:8080 with the quoted IP and TCP checksums right. */
	{
		unsigned char msg[8 + 40], e[256];
		const unsigned char *in;

		memset(msg, 0, 8);
		msg[0] = 3; /* destination unreachable */
		msg[1] = 1; /* host */
		memcpy(msg + 8, f + ETH_HLEN, 40);
		len = frame(e, IPPROTO_ICMP, IN_HOST, OUT_HOST, msg, sizeof(msg));
		run(t, e, len, NAT_DIR_OUT);
		expect(e, len, EXT, 0, OUT_HOST, 0);
		in = e + ETH_HLEN + 28;
		assert_int_equal(get32(in + 12), ip4(OUT_HOST));
		assert_int_equal(get32(in + 16), ip4(EXT));
		assert_int_equal(get16(in + 20), 33333);
		assert_int_equal(get16(in + 22), 8080);
		assert_true(ip_ok(in));
		assert_true(l4_ok(in, in + 20, 20, IPPROTO_TCP));
	}
	/* The server's answer leaves from EXT:8080. */
	th.source = htons(80);
	th.dest = htons(33333);
	th.ack = 1;
	len = frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th));
	run(t, f, len, NAT_DIR_OUT);
	expect(f, len, EXT, 8080, OUT_HOST, 33333);
	/* Another port of EXT is not forwarded, and nothing else is
	 * translated coming in. */
	th.source = htons(33333);
	th.dest = htons(8081);
	th.ack = 0;
	len = frame(f, IPPROTO_TCP, OUT_HOST, EXT, &th, sizeof(th));
	run(t, f, len, NAT_DIR_IN);
	expect(f, len, OUT_HOST, 33333, EXT, 8081);
}

/* Timeouts: the sweep removes both entries of a UDP flow idle past its
 * timeout and of a TCP flow closed by a FIN, and keeps a TCP flow that is
 * only idle; the natting-table says so, and a late reply is no longer
 * translated. */
static void test_timeouts(void **state)
{
	struct t_ctx *t = *state;
	struct pcn_instance *inst;
	unsigned char f[256];
	struct tcphdr th = { .source = htons(40001), .dest = htons(443), .doff = 5, .syn = 1 };
	size_t len;
	unsigned eport;
	char *json = NULL;

	if (t->prog < 0)
		skip();
	inst = cube_harness_instance(&t->h, "n1");
	eport = udp_out(t, 6000, 53, f, &len);
	len = frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th));
	run(t, f, len, NAT_DIR_OUT);
	th.source = htons(40002);
	len = frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th));
	run(t, f, len, NAT_DIR_OUT);
	th.syn = 0;
	th.fin = 1;
	th.ack = 1;
	run(t, f, frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th)), NAT_DIR_OUT);
	/* 40003: opened, closed, then opened again on the same tuple. */
	th.source = htons(40003);
	th.fin = 0;
	th.ack = 0;
	th.syn = 1;
	run(t, f, frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th)), NAT_DIR_OUT);
	th.syn = 0;
	th.fin = 1;
	th.ack = 1;
	run(t, f, frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th)), NAT_DIR_OUT);
	th.fin = 0;
	th.ack = 0;
	th.syn = 1;
	run(t, f, frame(f, IPPROTO_TCP, IN_HOST, OUT_HOST, &th, sizeof(th)), NAT_DIR_OUT);
	usleep(1300 * 1000);
	nat__sweep(inst, NULL);
	assert_int_equal(pcn__state_read(inst, NULL, &json), 0);
	assert_null(strstr(json, "\"internal-sport\":6000"));
	assert_null(strstr(json, "\"internal-sport\":40002"));
	assert_non_null(strstr(json, "\"internal-sport\":40001"));
	assert_non_null(strstr(json, "\"internal-sport\":40003"));
	free(json);
	{
		struct udphdr uh = { .source = htons(53), .dest = htons((uint16_t)eport), .len = htons(8) };

		len = frame(f, IPPROTO_UDP, OUT_HOST, EXT, &uh, sizeof(uh));
		run(t, f, len, NAT_DIR_IN);
		expect(f, len, OUT_HOST, 53, EXT, eport);
	}
}

/* The actions answer as Polycube's do and stand for a change of the
 * configuration (the broker writes it): append a PUT of the next entry,
 * enable/disable one of the enabled leaf. */
static void test_actions(void **state)
{
	struct t_ctx *t = *state;
	char msg[256], *out = NULL, *path = NULL, *body = NULL;

	if (t->prog < 0)
		skip();
	assert_int_equal(pcn__action_run(t->h.rt, "n1", "/nat:nat/rule/port-forwarding/append",
					 "{\"external-ip\":\"" EXT "\",\"external-port\":\"9090\","
					 "\"internal-ip\":\"" IN_HOST "\",\"internal-port\":90,\"proto\":\"udp\"}",
					 msg, sizeof(msg)),
			 0);
	pcn__action_take_result(&out, &path, &body);
	assert_string_equal(out, "{\"id\":1}");
	assert_string_equal(path, "rule/port-forwarding/entry/1");
	assert_string_equal(body, "{\"id\":1,\"external-ip\":\"" EXT "\",\"internal-ip\":\"" IN_HOST
				  "\",\"external-port\":9090,\"internal-port\":90,\"proto\":\"udp\"}");
	free(out);
	free(path);
	free(body);
	assert_int_equal(pcn__action_run(t->h.rt, "n1", "/nat:nat/rule/snat/append",
					 "{\"internal-net\":\"10.0.0.0/24\",\"external-ip\":\"" EXT "\"}", msg,
					 sizeof(msg)),
			 0);
	pcn__action_take_result(&out, &path, &body);
	assert_string_equal(out, "{\"id\":0}");
	assert_string_equal(path, "rule/snat/entry/0");
	assert_string_equal(body, "{\"id\":0,\"internal-net\":\"10.0.0.0/24\",\"external-ip\":\"" EXT "\"}");
	free(out);
	free(path);
	free(body);
	assert_int_not_equal(pcn__action_run(t->h.rt, "n1", "/nat:nat/rule/snat/append",
					     "{\"internal-net\":\"nonsense\",\"external-ip\":\"" EXT "\"}", msg,
					     sizeof(msg)),
			     0);
	assert_int_equal(pcn__action_run(t->h.rt, "n1", "/nat:nat/rule/masquerade/disable", NULL, msg, sizeof(msg)),
			 0);
	pcn__action_take_result(&out, &path, &body);
	assert_string_equal(out, "{\"result\":true}");
	assert_string_equal(path, "rule/masquerade");
	assert_string_equal(body, "{\"enabled\":false}");
	free(out);
	free(path);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_masquerade, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_and_echo, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_port_forwarding, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_udp_masquerade, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_and_echo, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_port_forwarding, setup_xdp, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup_tc, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup_tc, teardown),
	};

	/* Short timeouts for test_timeouts (read at each sweep). */
	setenv("NAT_UDP_TIMEOUT", "1", 1);
	setenv("NAT_TCP_CLOSING_TIMEOUT", "1", 1);

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* synflood's control plane against its real fast path: frames of a
 * handshake, an RST, a SYN flood's leftovers and a later fragment run
 * through the pinned program in the direction each would take, and the
 * state the user reads says what the model promises. IPv4 and IPv6. Needs
 * root (skips otherwise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include "pcn_percpu.h"
#include "pcn_transparent_kern_user.h"
#include "synflood_shared.h"
#include "testdata/cube_testutil.h"

extern const struct pcn_cube_desc synflood_desc;

#define SF1 "{\"synflood:synflood\":[{\"name\":\"sf1\"}]}"

enum { SYN = 1, SYNACK, ACK, RST };

struct t_ctx {
	struct cube_harness h;
	int prog, tmd;
};

static int setup(void **state)
{
	struct t_ctx *t = calloc(1, sizeof(*t));
	char path[256], shared[200];

	*state = t;
	t->prog = t->tmd = -1;
	if (cube_harness_init(&t->h, &synflood_desc) || !t->h.rt)
		return 0;
	assert_int_equal(cube_harness_apply(&t->h, CUBEMESH__APPLY_OP__APPLY_CREATE, "sf1", PCN_HOOK_TC, SF1, NULL),
			 0);
	snprintf(path, sizeof(path), "%s/cubes/synflood/sf1/prog", t->h.bpffs);
	t->prog = bpf_obj_get(path);
	assert_true(t->prog >= 0);
	assert_int_equal(pcn_layout_shared(shared, sizeof(shared), t->h.bpffs, NULL), 0);
	snprintf(path, sizeof(path), "%s/pcn_tmd", shared);
	t->tmd = bpf_obj_get(path);
	assert_true(t->tmd >= 0);
	return 0;
}

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

/* The transparent wrapper takes the direction from this CPU's pcn_tmd:
 * set it on every CPU, then run the frame once. */
static void run(struct t_ctx *t, const void *frame, size_t len, uint32_t dir)
{
	int n = libbpf_num_possible_cpus();
	size_t stride = pcn_percpu_stride(sizeof(struct pcn_tmd));
	char *v = calloc((size_t)n, stride);
	uint32_t zero = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len);

	assert_non_null(v);
	for (int i = 0; i < n; i++)
		((struct pcn_tmd *)(v + (size_t)i * stride))->dir = dir;
	assert_int_equal(bpf_map_update_elem(t->tmd, &zero, v, BPF_ANY), 0);
	free(v);
	assert_int_equal(bpf_prog_test_run_opts(t->prog, &opts), 0);
}

static void tcp_flags(struct tcphdr *th, int kind, uint16_t sport, uint16_t dport)
{
	memset(th, 0, sizeof(*th));
	th->source = htons(sport);
	th->dest = htons(dport);
	th->doff = 5;
	th->syn = kind == SYN || kind == SYNACK;
	th->ack = kind == SYNACK || kind == ACK;
	th->rst = kind == RST;
}

/* An IPv4 TCP segment src:sport -> dst:dport; frag: a later fragment.
 * Headers are built aligned and copied in (the IP header of a frame sits
 * at offset 14). */
static void v4(struct t_ctx *t, uint32_t dir, int kind, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport, int frag)
{
	unsigned char f[sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr)] = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_TCP };
	struct tcphdr th;

	ip.tot_len = htons(sizeof(f) - sizeof(eth));
	ip.frag_off = frag ? htons(100) : 0;
	inet_pton(AF_INET, src, &ip.saddr);
	inet_pton(AF_INET, dst, &ip.daddr);
	tcp_flags(&th, kind, sport, dport);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + sizeof(eth), &ip, sizeof(ip));
	memcpy(f + sizeof(eth) + sizeof(ip), &th, sizeof(th));
	run(t, f, sizeof(f), dir);
}

static void v6(struct t_ctx *t, uint32_t dir, int kind, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport)
{
	unsigned char f[sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct tcphdr)] = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IPV6) };
	struct ipv6hdr ip = { .version = 6, .nexthdr = IPPROTO_TCP, .hop_limit = 64 };
	struct tcphdr th;

	ip.payload_len = htons(sizeof(struct tcphdr));
	inet_pton(AF_INET6, src, &ip.saddr);
	inet_pton(AF_INET6, dst, &ip.daddr);
	tcp_flags(&th, kind, sport, dport);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + sizeof(eth), &ip, sizeof(ip));
	memcpy(f + sizeof(eth) + sizeof(ip), &th, sizeof(th));
	run(t, f, sizeof(f), dir);
}

static char *stats(struct t_ctx *t)
{
	char *json = NULL;

	assert_int_equal(pcn__state_read(cube_harness_instance(&t->h, "sf1"), NULL, &json), 0);
	return json;
}

/* json holds each of the NULL-terminated fragments. */
static void has(const char *json, ...)
{
	va_list ap;
	const char *frag;

	va_start(ap, json);
	while ((frag = va_arg(ap, const char *))) {
		if (!strstr(json, frag))
			fail_msg("%s not in %s", frag, json);
	}
	va_end(ap);
}

static void test_handshakes_v4(void **state)
{
	struct t_ctx *t = *state;
	struct pcn_parent_info p = { .name = "veth0", .n_ipv4 = 1 };
	char *json;

	if (t->prog < 0)
		skip();
	inet_pton(AF_INET, "10.0.0.2", &p.ipv4[0]);
	synflood_desc.on_parent(cube_harness_instance(&t->h, "sf1"), &p);

	/* A connection to the host: SYN in, SYN-ACK out, ACK in, more ACKs. */
	v4(t, SYNFLOOD_DIR_INGRESS, SYN, "10.0.0.1", 1000, "10.0.0.2", 80, 0);
	v4(t, SYNFLOOD_DIR_EGRESS, SYNACK, "10.0.0.2", 80, "10.0.0.1", 1000, 0);
	v4(t, SYNFLOOD_DIR_INGRESS, ACK, "10.0.0.1", 1000, "10.0.0.2", 80, 0);
	v4(t, SYNFLOOD_DIR_INGRESS, ACK, "10.0.0.1", 1000, "10.0.0.2", 80, 0);
	json = stats(t);
	has(json, "\"tcpattemptfails\":\"0\"", "\"established\":\"1\"", "\"deliverratio\":\"1000\"",
	    "\"responseratio\":\"333\"",
	    "\"ingress\":{\"syn\":\"1\",\"synack\":\"0\",\"rst\":\"0\",\"established\":\"1\",\"ipv4\":\"3\"}",
	    "\"egress\":{\"syn\":\"0\",\"synack\":\"1\",\"rst\":\"0\",\"established\":\"0\",\"ipv4\":\"1\"}", NULL);
	free(json);

	/* An ACK the wrong way (the server's) completes nothing; a flood's
	 * SYNs answered and never acknowledged are failed attempts; the
	 * host's RST is counted as sent; a later fragment is no segment. */
	v4(t, SYNFLOOD_DIR_INGRESS, SYN, "10.0.0.9", 2000, "10.0.0.2", 80, 0);
	v4(t, SYNFLOOD_DIR_EGRESS, SYNACK, "10.0.0.2", 80, "10.0.0.9", 2000, 0);
	v4(t, SYNFLOOD_DIR_EGRESS, ACK, "10.0.0.2", 80, "10.0.0.9", 2000, 0);
	v4(t, SYNFLOOD_DIR_INGRESS, SYN, "10.0.0.9", 2001, "10.0.0.2", 80, 0);
	v4(t, SYNFLOOD_DIR_EGRESS, RST, "10.0.0.2", 80, "10.0.0.9", 2001, 0);
	v4(t, SYNFLOOD_DIR_INGRESS, SYN, "10.0.0.9", 2002, "10.0.0.7", 80, 1);
	json = stats(t);
	has(json, "\"tcpattemptfails\":\"2\"", "\"tcpoutrsts\":\"1\"", "\"syn\":\"3\"", "\"synack\":\"2\"",
	    "\"rst\":\"1\"", "\"established\":\"1\"", NULL);
	free(json);

	/* reset-stats: all to 0, and the handshake in flight forgotten. */
	assert_int_equal(synflood_desc.actions[0].cb(cube_harness_instance(&t->h, "sf1"), NULL), 0);
	v4(t, SYNFLOOD_DIR_INGRESS, ACK, "10.0.0.9", 2000, "10.0.0.2", 80, 0);
	json = stats(t);
	has(json, "\"tcpattemptfails\":\"0\"", "\"tcpoutrsts\":\"0\"", "\"syn\":\"0\"", "\"established\":\"0\"",
	    "\"ingress\":{\"syn\":\"0\",\"synack\":\"0\",\"rst\":\"0\",\"established\":\"0\",\"ipv4\":\"1\"}", NULL);
	free(json);
}

static void test_handshake_v6_outbound(void **state)
{
	struct t_ctx *t = *state;
	char *json;

	if (t->prog < 0)
		skip();
	/* The host connects out: SYN out, SYN-ACK in, ACK out. */
	v6(t, SYNFLOOD_DIR_EGRESS, SYN, "fd00::2", 40000, "fd00::1", 443);
	v6(t, SYNFLOOD_DIR_INGRESS, SYNACK, "fd00::1", 443, "fd00::2", 40000);
	v6(t, SYNFLOOD_DIR_EGRESS, ACK, "fd00::2", 40000, "fd00::1", 443);
	/* and one to another port is refused. */
	v6(t, SYNFLOOD_DIR_EGRESS, SYN, "fd00::2", 40001, "fd00::1", 444);
	v6(t, SYNFLOOD_DIR_INGRESS, RST, "fd00::1", 444, "fd00::2", 40001);
	json = stats(t);
	has(json, "\"tcpattemptfails\":\"1\"", "\"tcpoutrsts\":\"0\"", "\"deliverratio\":\"0\"",
	    "\"responseratio\":\"0\"",
	    "\"egress\":{\"syn\":\"2\",\"synack\":\"0\",\"rst\":\"0\",\"established\":\"1\",\"ipv4\":\"0\"}",
	    "\"ingress\":{\"syn\":\"0\",\"synack\":\"1\",\"rst\":\"1\",\"established\":\"0\",\"ipv4\":\"0\"}", NULL);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshakes_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_v6_outbound, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
